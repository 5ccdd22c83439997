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
// The same into `out` (32 bytes), without allocating: for the verifier's
// hot loop, which hashes millions of entries.
void Sha256Into(std::initializer_list<std::string_view> pieces, char* out);

// Incremental SHA-256 over this thread's digest context. One hasher at a
// time per thread (it is a stack object used within one function).
class Sha256Hasher {
 public:
  Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::string_view bytes);
  // Returns the digest; the hasher must not be used afterwards.
  std::string Final();
};

}  // namespace cs
