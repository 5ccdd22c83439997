// File: sha256.h
// SHA-256 through OpenSSL's EVP interface, over one or several pieces
// without concatenating them first. Uses a per-thread digest context, so it
// is cheap enough for hashing every audit entry. Thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace cs {

// Returns the 32-byte SHA-256 of the concatenation of `pieces`.
std::string Sha256(std::initializer_list<std::string_view> pieces);

}  // namespace cs
