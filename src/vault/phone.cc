#include "vault/phone.h"

#include <cstdint>

#include "common/strings.h"

namespace cs {

namespace {

Status Invalid(std::string_view why) {
  return InvalidArgument("invalid_phone", "not a valid phone number: " + std::string(why));
}

// Decodes one UTF-8 code point at `i` (input already validated as UTF-8).
uint32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

// Returns the ASCII digit for a decimal digit of a supported script, or -1.
int DigitValue(uint32_t cp) {
  static constexpr uint32_t kZeros[] = {'0', 0x0660, 0x06F0, 0x0966, 0x09E6, 0xFF10};
  for (uint32_t zero : kZeros) {
    if (cp >= zero && cp <= zero + 9) return static_cast<int>(cp - zero);
  }
  return -1;
}

bool IsSeparator(uint32_t cp) {
  switch (cp) {
    case ' ': case '\t': case '-': case '.': case '/':
    case 0x00A0: case 0x2009: case 0x202F: case 0x3000:           // no-break, thin, ideographic spaces
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2212:  // dashes, minus
    case 0xFF0D: case 0xFF0E: case 0xFF0F:                         // full-width - . /
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::string> NormalizePhone(std::string_view input, const PhoneNormalization& options) {
  if (input.empty() || input.size() > 64) return Invalid("empty or too long");
  if (!IsValidUtf8(input)) return Invalid("not UTF-8");
  // One pass to a skeleton of '+', digits and parentheses; everything else is refused.
  std::string skeleton;
  for (size_t i = 0; i < input.size();) {
    uint32_t cp = NextCodePoint(input, i);
    int digit = DigitValue(cp);
    if (digit >= 0) {
      skeleton.push_back(static_cast<char>('0' + digit));
    } else if (cp == '+' || cp == 0xFF0B) {
      skeleton.push_back('+');
    } else if (cp == '(' || cp == ')' || cp == 0xFF08 || cp == 0xFF09) {
      skeleton.push_back(cp == '(' || cp == 0xFF08 ? '(' : ')');
    } else if (!IsSeparator(cp)) {
      return Invalid("it contains a character that is not a digit or a separator");
    }
  }
  std::string digits;
  bool international = false;
  size_t pos = 0;
  if (!skeleton.empty() && skeleton[0] == '+') {
    international = true;
    pos = 1;
  } else if (skeleton.rfind("00", 0) == 0) {
    international = true;  // 00 is the international call prefix of most countries
    pos = 2;
  }
  int depth = 0;
  for (; pos < skeleton.size(); ++pos) {
    char c = skeleton[pos];
    if (c == '+') return Invalid("'+' can only come first");
    if (c == '(') {
      // "(0)" after a country code is the national trunk prefix: drop it.
      if (international && skeleton.compare(pos, 3, "(0)") == 0 && !digits.empty()) {
        pos += 2;
        continue;
      }
      if (++depth > 1) return Invalid("nested parentheses");
      continue;  // "(030)" style area-code grouping: the parentheses are separators
    }
    if (c == ')') {
      if (--depth < 0) return Invalid("unbalanced parenthesis");
      continue;
    }
    digits.push_back(c);
  }
  if (depth != 0) return Invalid("unbalanced parenthesis");
  if (!international) {
    if (options.default_country_code) {
      // National form: the trunk 0 (if any) goes, the tenant's country code comes first.
      digits = *options.default_country_code + (!digits.empty() && digits[0] == '0' ? digits.substr(1) : digits);
    } else if (!digits.empty() && digits[0] == '0') {
      return Invalid("a national number needs a country code");
    }
    // Without a default country: a full international number written without '+'.
  }
  if (digits.size() < 8 || digits.size() > 15) return Invalid("E.164 numbers have 8 to 15 digits");
  if (digits[0] == '0') return Invalid("country codes do not start with 0");
  return "+" + digits;
}

}  // namespace cs
