// File: strings.h
// Small string helpers shared by every module: encodings, UTF-8 checks,
// ASCII case folding and splitting. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cs {

// Returns lowercase hexadecimal of `bytes`.
std::string HexEncode(std::string_view bytes);
// Returns the bytes of lowercase or uppercase hex, or nullopt on odd length or a bad digit.
std::optional<std::string> HexDecode(std::string_view hex);
// Returns unpadded base64url (RFC 4648 §5) of `bytes`.
std::string Base64UrlEncode(std::string_view bytes);

// Returns true when `text` is well-formed UTF-8 (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF, no truncated sequence).
bool IsValidUtf8(std::string_view text);

// Returns `text` with ASCII letters lowercased; other bytes unchanged.
std::string AsciiLower(std::string_view text);
// Returns `text` without leading and trailing ASCII whitespace.
std::string_view TrimAscii(std::string_view text);
// Splits on `sep`; empty pieces are kept.
std::vector<std::string> Split(std::string_view text, char sep);
// Joins with `sep`.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Parses a non-negative decimal integer that fits in int64 (no sign, no spaces).
std::optional<int64_t> ParseNonNegativeInt(std::string_view text);

// True when `text` is one or more ASCII digits.
bool IsAsciiDigits(std::string_view text);

// True for a gateway id: `prefix` (e.g. "msg_") then 24 lowercase hex characters.
bool IsPrefixedHexId(std::string_view id, std::string_view prefix);

// Parses RFC 3339 date-time ("2026-11-22T10:00:00Z", optional fraction and
// ±HH:MM offset) to unix milliseconds; nullopt when malformed.
std::optional<int64_t> ParseRfc3339Millis(std::string_view text);

// Returns RFC 3339 UTC time with millisecond precision for unix milliseconds.
std::string FormatRfc3339Millis(int64_t unix_millis);

}  // namespace cs
