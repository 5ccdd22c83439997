#include "scan/validators.h"

#include <array>
#include <cstdint>
#include <string>

namespace cs::scan {

namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

int PrefixNumber(std::string_view digits, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

}  // namespace

char LuhnCheckDigit(std::string_view body) {
  int sum = 0;
  bool twice = true;  // the check digit itself is not doubled, so the last body digit is
  for (size_t i = body.size(); i-- > 0;) {
    int d = body[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool LuhnValid(std::string_view digits) {
  if (!AllDigits(digits) || digits.size() < 2) return false;
  return LuhnCheckDigit(digits.substr(0, digits.size() - 1)) == digits.back();
}

std::optional<std::string_view> CardBrand(std::string_view digits) {
  if (!AllDigits(digits)) return std::nullopt;
  const size_t n = digits.size();
  if (n < 12 || n > 19) return std::nullopt;
  const int p1 = digits[0] - '0';
  const int p2 = PrefixNumber(digits, 2);
  const int p3 = PrefixNumber(digits, 3);
  const int p4 = PrefixNumber(digits, 4);
  const int p6 = PrefixNumber(digits, 6);
  // 13-digit Visa numbers are no longer issued, and EAN-13 barcodes starting
  // with 4 (GS1 Germany) would otherwise pass one time in ten.
  if (p1 == 4 && (n == 16 || n == 19)) return "visa";
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n == 16) return "mastercard";
  if ((p2 == 34 || p2 == 37) && n == 15) return "amex";
  if (p4 >= 2200 && p4 <= 2204 && n >= 16) return "mir";
  if ((p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925)) && n >= 16) {
    return "discover";
  }
  if (p4 >= 3528 && p4 <= 3589 && n >= 16) return "jcb";
  if (((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) && n >= 14) return "diners";
  if (p2 == 62 && n >= 16) return "unionpay";
  if ((p2 == 50 || (p2 >= 56 && p2 <= 69)) && n >= 13) return "maestro";
  return std::nullopt;
}

namespace {
struct IbanEntry {
  const char* code;
  int length;
};
const IbanEntry* FindIbanCountry(std::string_view cc) {
  // ISO 13616 registry (SWIFT, release 2024): every country, SEPA or not.
  static constexpr std::array<IbanEntry, 89> kLengths = {{
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27},
      {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27},
      {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28},
      {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28},
      {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MN", 20}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23},
      {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
      {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
      {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
  }};
  if (cc.size() != 2) return nullptr;
  for (const IbanEntry& e : kLengths) {
    if (cc[0] == e.code[0] && cc[1] == e.code[1]) return &e;
  }
  return nullptr;
}
}  // namespace

int IbanLength(std::string_view cc) {
  const IbanEntry* e = FindIbanCountry(cc);
  return e == nullptr ? 0 : e->length;
}

std::string_view IbanCountry(std::string_view cc) {
  const IbanEntry* e = FindIbanCountry(cc);
  return e == nullptr ? std::string_view() : std::string_view(e->code, 2);
}


bool IbanValid(std::string_view compact) {
  if (compact.size() < 15 || compact.size() > 34) return false;
  if (IbanLength(compact.substr(0, 2)) != static_cast<int>(compact.size())) return false;
  if (compact[2] < '0' || compact[2] > '9' || compact[3] < '0' || compact[3] > '9') return false;
  // Move the first four characters to the end, letters become 10..35, mod 97.
  int rem = 0;
  auto feed = [&rem](char c) -> bool {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
    return true;
  };
  for (size_t i = 4; i < compact.size(); ++i) {
    if (!feed(compact[i])) return false;
  }
  for (size_t i = 0; i < 4; ++i) {
    if (!feed(compact[i])) return false;
  }
  return rem == 1;
}

bool FrenchNirValid(std::string_view nir) {
  if (nir.size() != 15) return false;
  std::string digits(nir);
  // Corsica: departments 2A and 2B count as 19 and 18 for the key.
  int64_t corsica_offset = 0;
  if (digits[6] == 'A' || digits[6] == 'B') {
    if (digits[5] != '2') return false;
    corsica_offset = digits[6] == 'A' ? 1000000 : 2000000;
    digits[6] = '0';
  }
  if (!AllDigits(digits)) return false;
  const int sex = digits[0] - '0';
  if (sex != 1 && sex != 2 && sex != 3 && sex != 4 && sex != 7 && sex != 8) return false;
  const int month = PrefixNumber(std::string_view(digits).substr(3), 2);
  if (month == 0 || (month > 12 && month < 20)) return false;
  int64_t n = 0;
  for (size_t i = 0; i < 13; ++i) n = n * 10 + (digits[i] - '0');
  n -= corsica_offset;
  const int key = PrefixNumber(std::string_view(digits).substr(13), 2);
  return key >= 1 && key <= 97 && 97 - static_cast<int>(n % 97) == key;
}

bool ItalianCodiceFiscaleValid(std::string_view cf) {
  if (cf.size() != 16) return false;
  static constexpr std::string_view kOmocodia = "LMNPQRSTUV";
  static constexpr std::string_view kMonths = "ABCDEHLMPRST";
  static constexpr std::array<int, 26> kOdd = {1,  0,  5,  7,  9,  13, 15, 17, 19, 21, 2,  4,  18,
                                               20, 11, 3,  6,  8,  12, 14, 16, 10, 22, 25, 24, 23};
  // Positions 0-5, 8, 11 and 15 are letters; the rest digits or their
  // omocodia substitutes.
  for (size_t i = 0; i < 16; ++i) {
    const char c = cf[i];
    const bool letter_slot = i < 6 || i == 8 || i == 11 || i == 15;
    if (letter_slot) {
      if (c < 'A' || c > 'Z') return false;
    } else if (!((c >= '0' && c <= '9') || kOmocodia.find(c) != std::string_view::npos)) {
      return false;
    }
  }
  if (kMonths.find(cf[8]) == std::string_view::npos) return false;
  int sum = 0;
  for (size_t i = 0; i < 15; ++i) {
    const char c = cf[i];
    const int v = (c >= '0' && c <= '9') ? c - '0' : c - 'A';
    sum += (i % 2 == 0) ? kOdd[static_cast<size_t>(v)] : v;
  }
  return cf[15] == static_cast<char>('A' + sum % 26);
}

bool SpanishDniValid(std::string_view dni) {
  static constexpr std::string_view kLetters = "TRWAGMYFPDXBNJZSQVHLCKE";
  if (dni.size() != 9 || !AllDigits(dni.substr(0, 8))) return false;
  const int n = PrefixNumber(dni, 8);
  return dni[8] == kLetters[static_cast<size_t>(n % 23)];
}

bool SpanishNieValid(std::string_view nie) {
  if (nie.size() != 9) return false;
  const char first = nie[0];
  if (first != 'X' && first != 'Y' && first != 'Z') return false;
  std::string as_dni(nie);
  as_dni[0] = static_cast<char>('0' + (first - 'X'));
  return SpanishDniValid(as_dni);
}

bool GermanTaxIdValid(std::string_view digits) {
  if (digits.size() != 11 || !AllDigits(digits) || digits[0] == '0') return false;
  // Among the first ten digits exactly one repeats (twice, or three times
  // but never three in a row); every other digit appears at most once.
  std::array<int, 10> count{};
  for (size_t i = 0; i < 10; ++i) ++count[static_cast<size_t>(digits[i] - '0')];
  int repeated = 0;
  int repeated_digit = -1;
  for (int d = 0; d < 10; ++d) {
    if (count[static_cast<size_t>(d)] > 3) return false;
    if (count[static_cast<size_t>(d)] >= 2) {
      ++repeated;
      repeated_digit = d;
    }
  }
  if (repeated != 1) return false;
  if (count[static_cast<size_t>(repeated_digit)] == 3) {
    for (size_t i = 0; i + 2 < 10; ++i) {
      if (digits[i] == digits[i + 1] && digits[i] == digits[i + 2]) return false;
    }
  }
  return digits[10] == GermanTaxIdCheckDigit(digits.substr(0, 10));
}

char GermanTaxIdCheckDigit(std::string_view first_ten) {
  int product = 10;
  for (char c : first_ten) {
    int sum = (c - '0' + product) % 10;
    if (sum == 0) sum = 10;
    product = (sum * 2) % 11;
  }
  int check = 11 - product;
  if (check == 10) check = 0;
  return static_cast<char>('0' + check);
}

bool ValidDate(int year, int month, int day) {
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return false;
  static constexpr std::array<int, 12> kDays = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[static_cast<size_t>(month - 1)]) return false;
  if (month == 2 && day == 29) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (!leap) return false;
  }
  return true;
}

}  // namespace cs::scan
