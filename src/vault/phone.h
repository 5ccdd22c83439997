// File: phone.h
// Phone-number normalisation to E.164, the first step of pseudonymisation:
// the same person must always give the same number, whatever way it was
// typed (REQUIREMENTS B-26, I-01). Rules: docs/formats/phone-numbers.md.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cs {

struct PhoneNormalization {
  // Country calling code (e.g. "49", "1") of the tenant's numbering plan.
  // When set, a number without "+" or "00" is national: its trunk 0 (if any)
  // is dropped and this code put first ("0171 2345678" → +49171…, and with
  // "1", "(555) 123-4567" → +1555…). When unset, such a number is read as
  // international without its "+", and one with a trunk 0 is refused.
  std::optional<std::string> default_country_code;
};

// Returns "+" followed by 8 to 15 digits, the first not 0, or
// kInvalidArgument "invalid_phone". Accepts spaces, dashes, dots, slashes and
// parentheses as separators (Unicode spaces and dashes too), a leading "+"
// or "00", the "(0)" trunk marker after a country code, a missing "+" on a
// full international number, and non-ASCII decimal digits (Arabic-Indic,
// Extended Arabic-Indic, Devanagari, Bengali, full-width). Letters and any
// other character are refused.
Result<std::string> NormalizePhone(std::string_view input, const PhoneNormalization& options = {});

}  // namespace cs
