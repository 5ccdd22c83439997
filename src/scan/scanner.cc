// The scanner: one Hyperscan pass finds candidates, validators decide.
// Hyperscan stays inside this file (docs/architecture.md: heavy headers
// live in the one module that needs them).
#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "scan/lexicon.h"
#include "scan/scan.h"
#include "scan/validators.h"

namespace cs::scan {

namespace {

// Pattern ids. Literal lists take a range each: id - base indexes the list.
enum : unsigned {
  kNumeric = 1,
  kEmail = 2,
  kIban = 3,
  kCodiceFiscale = 4,
  kDni = 5,
  kNie = 6,
  kBirthBase = 1000,
  kHealthBase = 2000,
};

int Priority(FindingType t) {
  switch (t) {
    case FindingType::kCard: return 0;
    case FindingType::kNationalId: return 1;
    case FindingType::kIban: return 2;
    case FindingType::kEmail: return 3;
    case FindingType::kPhone: return 4;
    case FindingType::kDob: return 5;
    case FindingType::kHealth: return 6;
  }
  return 7;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
// Bytes of multi-byte UTF-8 characters count as word characters: most of
// them, in these languages, are letters ("é", "ß").
bool IsWordByte(char c) { return IsAlnum(c) || static_cast<unsigned char>(c) >= 0x80; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool IsNumberSeparator(char c) { return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')'; }

// --- Normalisation -------------------------------------------------------
// Non-ASCII digits, spaces and dashes are read as their ASCII forms so a
// card typed in full-width digits or a phone number grouped with
// non-breaking spaces is still found. `origin` maps each byte of the
// normalised text back to the start of its character in the caller's text.

struct Prepared {
  std::string_view original;
  std::string buffer;
  std::vector<uint32_t> origin;  // empty when the caller's text is used as it is
  size_t original_size = 0;

  // Computed on each call: a stored view into `buffer` would dangle if the struct moved.
  std::string_view text() const { return origin.empty() ? original : std::string_view(buffer); }

  size_t Start(size_t i) const { return origin.empty() ? i : origin[i]; }
  size_t End(size_t i) const { return origin.empty() ? i : (i < origin.size() ? origin[i] : original_size); }
};

// Returns the ASCII replacement of the character at `p` and its byte
// length, or 0.
char AsciiEquivalent(std::string_view t, size_t p, size_t* length) {
  const auto b = [&](size_t k) { return p + k < t.size() ? static_cast<unsigned char>(t[p + k]) : 0u; };
  const unsigned b0 = b(0);
  if (b0 == 0xC2 && b(1) == 0xA0) {
    *length = 2;
    return ' ';
  }
  if ((b0 == 0xD9 && b(1) >= 0xA0 && b(1) <= 0xA9) || (b0 == 0xDB && b(1) >= 0xB0 && b(1) <= 0xB9)) {
    *length = 2;
    return static_cast<char>('0' + (b(1) & 0x0F));
  }
  if (b0 == 0xE0 && (b(1) == 0xA5 || b(1) == 0xA7) && b(2) >= 0xA6 && b(2) <= 0xAF) {
    *length = 3;  // Devanagari and Bengali digits
    return static_cast<char>('0' + (b(2) - 0xA6));
  }
  if (b0 == 0xEF && b(1) == 0xBC) {
    const unsigned c = b(2);
    *length = 3;
    if (c >= 0x90 && c <= 0x99) return static_cast<char>('0' + (c - 0x90));  // full-width digits
    if (c == 0x8B) return '+';
    if (c == 0x8D) return '-';
    if (c == 0x8E) return '.';
    if (c == 0xA0) return '@';
  }
  if (b0 == 0xE2 && b(1) == 0x80) {
    const unsigned c = b(2);
    *length = 3;
    if (c == 0xAF || c == 0x89 || c == 0x87 || c == 0x8A) return ' ';  // narrow, thin, figure, hair spaces
    if (c >= 0x90 && c <= 0x93) return '-';                           // hyphens and dashes
  }
  if (b0 == 0xE3 && b(1) == 0x80 && b(2) == 0x80) {
    *length = 3;
    return ' ';  // ideographic space
  }
  return 0;
}

Prepared Prepare(std::string_view text) {
  Prepared out;
  out.original = text;
  out.original_size = text.size();
  size_t first = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0xC2) {
      size_t len = 0;
      if (AsciiEquivalent(text, i, &len) != 0) {
        first = i;
        break;
      }
    }
  }
  if (first == text.size()) return out;
  out.buffer.reserve(text.size());
  out.origin.reserve(text.size());
  for (size_t i = 0; i < first; ++i) {
    out.buffer.push_back(text[i]);
    out.origin.push_back(static_cast<uint32_t>(i));
  }
  for (size_t i = first; i < text.size();) {
    size_t len = 0;
    char ascii = static_cast<unsigned char>(text[i]) >= 0xC2 ? AsciiEquivalent(text, i, &len) : 0;
    if (ascii != 0) {
      out.buffer.push_back(ascii);
      out.origin.push_back(static_cast<uint32_t>(i));
      i += len;
    } else {
      out.buffer.push_back(text[i]);
      out.origin.push_back(static_cast<uint32_t>(i));
      ++i;
    }
  }
  return out;
}

// --- Numbers ---------------------------------------------------------------

struct DigitGroup {
  size_t start = 0;
  size_t end = 0;
  char sep = 0;  // the separator before this group (first char of it), 0 for the first
  size_t sep_len = 0;
  size_t Size() const { return end - start; }
};

struct NumberToken {
  size_t start = 0;  // includes a leading '+' or '('
  size_t end = 0;
  bool plus = false;
  bool paren = false;  // starts with '(' or contains one
  bool glued = false;  // a letter touches either end
  std::vector<DigitGroup> groups;
};

size_t SeparatorRunBefore(std::string_view t, size_t pos) {
  size_t k = 0;
  while (k < 2 && pos > k && IsNumberSeparator(t[pos - k - 1])) ++k;
  return k;
}

NumberToken ExtractNumber(std::string_view t, size_t digit_pos) {
  size_t s = digit_pos;
  while (s > 0 && IsDigit(t[s - 1])) --s;
  for (;;) {
    size_t k = SeparatorRunBefore(t, s);
    // Separators join digit groups; try the longest run that has a digit before it.
    size_t joined = 0;
    for (size_t kk = k; kk >= 1; --kk) {
      if (s >= kk + 1 && IsDigit(t[s - kk - 1])) {
        joined = kk;
        break;
      }
    }
    if (joined == 0) break;
    s -= joined + 1;
    while (s > 0 && IsDigit(t[s - 1])) --s;
  }
  NumberToken tok;
  tok.start = s;
  size_t i = s;
  for (;;) {
    DigitGroup g;
    g.start = i;
    while (i < t.size() && IsDigit(t[i])) ++i;
    g.end = i;
    if (!tok.groups.empty()) {
      g.sep = t[tok.groups.back().end];
      g.sep_len = g.start - tok.groups.back().end;
    }
    tok.groups.push_back(g);
    size_t k = 0;
    while (k < 2 && i + k < t.size() && IsNumberSeparator(t[i + k])) ++k;
    size_t joined = 0;
    for (size_t kk = k; kk >= 1; --kk) {
      if (i + kk < t.size() && IsDigit(t[i + kk])) {
        joined = kk;
        break;
      }
    }
    if (joined == 0) break;
    for (size_t q = i; q < i + joined; ++q) {
      if (t[q] == '(' || t[q] == ')') tok.paren = true;
    }
    i += joined;
  }
  tok.end = i;
  if (tok.start > 0 && t[tok.start - 1] == '(') {
    tok.paren = true;
    --tok.start;
  }
  if (tok.start > 0 && t[tok.start - 1] == '+') {
    tok.plus = true;
    --tok.start;
  }
  tok.glued = (tok.start > 0 && IsAlpha(t[tok.start - 1])) || (tok.end < t.size() && IsAlpha(t[tok.end]));
  return tok;
}

std::string GroupDigits(std::string_view t, const NumberToken& tok, size_t i, size_t j) {
  std::string d;
  for (size_t g = i; g <= j; ++g) d.append(t.substr(tok.groups[g].start, tok.groups[g].Size()));
  return d;
}

// The lower-cased words just before a number (at most three, back to the
// previous digit), nearest first. Fixed capacity: this runs for every
// number in every message.
struct WordList {
  std::array<std::string, 3> words;
  size_t count = 0;
  size_t size() const { return count; }
  void push_back(std::string w) { words[count++] = std::move(w); }
  void emplace_back(const char* w) { words[count++] = w; }
  const std::string* begin() const { return words.data(); }
  const std::string* end() const { return words.data() + count; }
};

WordList WordsBefore(std::string_view t, size_t pos) {
  WordList words;
  size_t i = pos;
  const size_t limit = pos > 48 ? pos - 48 : 0;
  while (i > limit && words.size() < words.words.size()) {
    while (i > limit && !IsWordByte(t[i - 1]) && t[i - 1] != '#' && !IsDigit(t[i - 1])) --i;
    if (i == limit || IsDigit(t[i - 1])) break;
    if (t[i - 1] == '#') {
      words.emplace_back("#");
      --i;
      continue;
    }
    size_t e = i;
    while (i > limit && (IsWordByte(t[i - 1]) && !IsDigit(t[i - 1]))) --i;
    std::string w(t.substr(i, e - i));
    for (char& c : w) c = Lower(c);
    words.push_back(std::move(w));
  }
  return words;
}

std::string WordAfter(std::string_view t, size_t pos) {
  size_t i = pos;
  while (i < t.size() && t[i] == ' ') ++i;
  size_t s = i;
  while (i < t.size() && i - s < 12 && t[i] != ' ' && t[i] != ',' && t[i] != '.' && t[i] != '\n') ++i;
  std::string w(t.substr(s, i - s));
  for (char& c : w) c = Lower(c);
  return w;
}

bool SameSeparators(const NumberToken& tok, size_t i, size_t j, std::string_view allowed) {
  char sep = 0;
  for (size_t g = i + 1; g <= j; ++g) {
    const DigitGroup& grp = tok.groups[g];
    if (grp.sep_len != 1 || allowed.find(grp.sep) == std::string_view::npos) return false;
    if (sep != 0 && grp.sep != sep) return false;
    sep = grp.sep;
  }
  return true;
}

std::vector<size_t> GroupSizes(const NumberToken& tok, size_t i, size_t j) {
  std::vector<size_t> sizes;
  for (size_t g = i; g <= j; ++g) sizes.push_back(tok.groups[g].Size());
  return sizes;
}

bool CardGrouping(const std::vector<size_t>& sizes) {
  if (sizes.size() == 1) return true;
  if (sizes == std::vector<size_t>{4, 6, 5} || sizes == std::vector<size_t>{4, 6, 4}) return true;
  for (size_t k = 0; k + 1 < sizes.size(); ++k) {
    if (sizes[k] != 4) return false;
  }
  return sizes.back() >= 1 && sizes.back() <= 4;
}

bool IsDateShape(std::string_view t, const NumberToken& tok) {
  if (tok.groups.size() != 3 || tok.plus || tok.paren) return false;
  if (!SameSeparators(tok, 0, 2, "./-")) return false;
  const auto num = [&](size_t g) {
    int v = 0;
    for (size_t k = tok.groups[g].start; k < tok.groups[g].end; ++k) v = v * 10 + (t[k] - '0');
    return v;
  };
  const size_t a = tok.groups[0].Size(), b = tok.groups[1].Size(), c = tok.groups[2].Size();
  if (a == 4 && b <= 2 && c <= 2) return ValidDate(num(0), num(1), num(2));
  if (a <= 2 && b <= 2 && (c == 4 || c == 2)) {
    int y = num(2);
    if (c == 2) y += 1900;
    return ValidDate(y, num(1), num(0)) || ValidDate(y, num(0), num(1)) || ValidDate(y + 100, num(1), num(0));
  }
  return false;
}

struct CountryCodeLength {
  int code;
  int min_nsn;
  int max_nsn;
};

// ITU-T E.164 country codes (the ones used in the EU, UK, US, Brazil,
// India and their neighbours have precise national lengths; the rest a
// generous range). Returns the number of digits of the code, or 0.
size_t CountryCodeDigits(std::string_view d, int* min_nsn, int* max_nsn) {
  static constexpr std::array<CountryCodeLength, 48> kKnown = {{
      {1, 10, 10},  {7, 10, 10},  {20, 8, 10},  {27, 9, 9},   {30, 10, 10}, {31, 9, 9},   {32, 8, 9},
      {33, 9, 9},   {34, 9, 9},   {36, 8, 9},   {39, 6, 11},  {40, 9, 9},   {41, 9, 9},   {43, 4, 13},
      {44, 9, 10},  {45, 8, 8},   {46, 7, 9},   {47, 8, 8},   {48, 9, 9},   {49, 6, 13},  {51, 8, 9},
      {52, 10, 10}, {54, 10, 11}, {55, 10, 11}, {56, 9, 9},   {57, 10, 10}, {61, 9, 9},   {62, 8, 12},
      {63, 10, 10}, {64, 8, 10},  {65, 8, 8},   {66, 8, 9},   {81, 9, 10},  {82, 8, 10},  {86, 10, 11},
      {90, 10, 10}, {91, 10, 10}, {351, 9, 9},  {352, 6, 11}, {353, 7, 9},  {354, 7, 7},  {356, 8, 8},
      {357, 8, 8},  {358, 5, 10}, {359, 8, 9},  {370, 8, 8},  {371, 8, 8},  {372, 7, 8},
  }};
  static constexpr std::array<int, 12> kMoreThreeDigit = {373, 380, 381, 385, 386, 420, 421, 423, 212, 213, 216, 971};
  const auto prefix = [&](size_t n) {
    int v = 0;
    for (size_t k = 0; k < n && k < d.size(); ++k) v = v * 10 + (d[k] - '0');
    return v;
  };
  for (size_t n = 1; n <= 3; ++n) {
    const int p = prefix(n);
    for (const CountryCodeLength& c : kKnown) {
      if (c.code == p) {
        *min_nsn = c.min_nsn;
        *max_nsn = c.max_nsn;
        return n;
      }
    }
    if (n == 3) {
      for (int c : kMoreThreeDigit) {
        if (c == p) {
          *min_nsn = 6;
          *max_nsn = 12;
          return 3;
        }
      }
    }
  }
  // Any other assigned code: three digits, generous national lengths.
  if (d.size() >= 3 && d[0] != '0') {
    *min_nsn = 6;
    *max_nsn = 12;
    return (d[0] == '2' || d[0] == '3' || d[0] == '4' || d[0] == '5' || d[0] == '6' || d[0] == '8' || d[0] == '9') ? 3
                                                                                                                   : 0;
  }
  return 0;
}

// Returns "international", "national" or "" for a whole number token.
std::string_view PhoneForm(std::string_view t, const NumberToken& tok, const std::string& d) {
  const size_t n = d.size();
  const size_t g = tok.groups.size();
  if (tok.glued) return "";
  // Every group joined by one or two of " -./()": "(0)" after the country code is allowed.
  if (tok.plus || (n > 2 && d[0] == '0' && d[1] == '0' && d[2] != '0')) {
    std::string_view rest = tok.plus ? std::string_view(d) : std::string_view(d).substr(2);
    int min_nsn = 0, max_nsn = 0;
    const size_t cc = CountryCodeDigits(rest, &min_nsn, &max_nsn);
    if (cc == 0) return "";
    size_t nsn = rest.size() - cc;
    // "+49 (0)30 1234567": the trunk zero written after the code does not count.
    if (nsn > 0 && rest[cc] == '0' && tok.paren) --nsn;
    if (static_cast<int>(nsn) < min_nsn || static_cast<int>(nsn) > max_nsn || rest.size() > 15) return "";
    if (!tok.plus && tok.groups.size() == 1 && n < 11) return "";
    return "international";
  }
  if (IsDateShape(t, tok)) return "";
  const WordList before = WordsBefore(t, tok.start);
  for (const std::string& w : before) {
    if (IsNotPhoneContextWord(w)) return "";
  }
  if (IsAmountUnitWord(WordAfter(t, tok.end))) return "";
  const bool formatted = g > 1;
  // Thousands separators with dots are amounts ("1.299.000"), not numbers to call.
  if (formatted && SameSeparators(tok, 0, g - 1, ".") && d[0] != '0') {
    bool thousands = tok.groups[0].Size() <= 3;
    for (size_t k = 1; k < g; ++k) thousands = thousands && tok.groups[k].Size() == 3;
    if (thousands) return "";
  }
  bool context = false;
  for (const std::string& w : before) context = context || IsPhoneContextWord(w);
  const std::vector<size_t> sizes = GroupSizes(tok, 0, g - 1);
  const auto shape = [&](std::initializer_list<size_t> s) { return sizes == std::vector<size_t>(s); };
  // Trunk prefix 0: most of Europe, the UK, Brazil, India.
  if (d[0] == '0' && n >= 9 && n <= 12 && d[1] != '0') {
    if (formatted || n >= 10) return "national";
  }
  if (tok.paren && n >= 9 && n <= 12) return "national";  // "(212) 555-0142", "(11) 91234-5678"
  if (!formatted) {
    return (context && d[0] != '0' && n >= 8 && n <= 11) ? "national" : "";
  }
  if (n == 10 && (shape({3, 3, 4}) || shape({3, 7}) || shape({3, 4, 3}) || shape({3, 3, 2, 2}))) return "national";
  if (n == 11 && d[0] == '1' && shape({1, 3, 3, 4})) return "national";  // 1-800-555-0199
  if (n == 9 && (shape({3, 2, 2, 2}) || shape({3, 3, 3}) || shape({2, 3, 2, 2}))) return "national";
  if (n == 8 && (shape({2, 2, 2, 2}) || shape({4, 4})) && SameSeparators(tok, 0, g - 1, " -")) return "national";
  if (n == 10 && shape({5, 5}) && d[0] >= '6') return "national";  // India
  if ((n == 10 || n == 11) && (shape({2, 4, 4}) || shape({2, 5, 4}))) return "national";  // Brazil
  if (context && n >= 8 && n <= 12) return "national";
  return "";
}

struct Candidate {
  Finding finding;
  int priority = 0;
};

void AddFinding(std::vector<Candidate>* out, FindingType type, size_t start, size_t end, std::string_view detail) {
  Candidate c;
  c.finding.type = type;
  c.finding.start = start;
  c.finding.end = end;
  c.finding.detail = detail;
  c.priority = Priority(type);
  out->push_back(std::move(c));
}

// True when the number continues an IBAN-shaped start ("NL83 ABNA 0417…",
// "CH62 5843…"): its digits are a bank account, reported (if the checksum
// holds) by the IBAN detector and never as a card or a phone number.
bool ContinuesIban(std::string_view t, const NumberToken& tok) {
  size_t i = tok.start;
  if (tok.glued && i >= 4 && IsAlpha(t[i - 1])) return false;  // handled as glued
  for (int chunk = 0; chunk < 2; ++chunk) {
    if (i == 0 || (t[i - 1] != ' ' && t[i - 1] != '-')) {
      // "CH62" glued to the digits: the token itself starts inside the IBAN.
      break;
    }
    --i;
    size_t e = i;
    while (i > 0 && IsAlnum(t[i - 1])) --i;
    std::string_view word = t.substr(i, e - i);
    if (word.size() == 4 && IsAlpha(word[0]) && IsAlpha(word[1]) && IsDigit(word[2]) && IsDigit(word[3])) return true;
    if (word.size() != 4) return false;
  }
  return false;
}

bool IsIpv4(const NumberToken& tok, std::string_view t) {
  if (tok.groups.size() != 4 || !SameSeparators(tok, 0, 3, ".")) return false;
  for (const DigitGroup& g : tok.groups) {
    if (g.Size() > 3) return false;
    int v = 0;
    for (size_t k = g.start; k < g.end; ++k) v = v * 10 + (t[k] - '0');
    if (v > 255) return false;
  }
  return true;
}

void ClassifyNumber(std::string_view t, const NumberToken& tok, std::vector<Candidate>* out) {
  const size_t g = tok.groups.size();
  if (ContinuesIban(t, tok) || IsIpv4(tok, t)) return;
  // Digits glued to two letters and two digits before them ("CH62 5843…" read
  // from "62"): the same IBAN case.
  if (tok.start >= 2 && IsAlpha(t[tok.start - 1]) && IsAlpha(t[tok.start - 2]) && tok.groups[0].Size() == 2) return;
  // Cards: the whole token, or without one short leading group or up to two
  // trailing ones (an expiry date or CVV typed right after the number).
  if (!tok.plus) {
    bool found = false;
    for (size_t i = 0; i <= std::min<size_t>(1, g - 1) && !found; ++i) {
      if (i == 1 && (tok.groups[0].Size() > 3 || tok.glued)) break;
      for (size_t j = g; j-- > i && j + 3 > g && !found;) {
        const bool left_edge = i == 0, right_edge = j == g - 1;
        if ((left_edge && tok.start > 0 && IsAlpha(t[tok.start - 1])) ||
            (right_edge && tok.end < t.size() && IsAlpha(t[tok.end]))) {
          continue;
        }
        std::string d = GroupDigits(t, tok, i, j);
        if (d.size() < 13 || d.size() > 19) continue;
        if (i < j && (!SameSeparators(tok, i, j, " -.") || !CardGrouping(GroupSizes(tok, i, j)))) continue;
        std::optional<std::string_view> brand = CardBrand(d);
        if (!brand || !LuhnValid(d)) continue;
        AddFinding(out, FindingType::kCard, tok.groups[i].start, tok.groups[j].end, *brand);
        found = true;
      }
    }
    if (found) return;
  }
  std::string d = GroupDigits(t, tok, 0, g - 1);
  const size_t digits_start = tok.groups.front().start;
  if (!tok.plus && !tok.paren && !tok.glued && (g == 1 || SameSeparators(tok, 0, g - 1, " "))) {
    if (d.size() == 15 && FrenchNirValid(d)) {
      AddFinding(out, FindingType::kNationalId, digits_start, tok.end, "fr_nir");
      return;
    }
    if (d.size() == 11 && GermanTaxIdValid(d)) {
      AddFinding(out, FindingType::kNationalId, digits_start, tok.end, "de_tax_id");
      return;
    }
  }
  std::string_view form = PhoneForm(t, tok, d);
  if (!form.empty()) AddFinding(out, FindingType::kPhone, tok.start, tok.end, form);
}

// --- Text patterns ---------------------------------------------------------

bool BoundaryBefore(std::string_view t, size_t pos) { return pos == 0 || !IsWordByte(t[pos - 1]); }
bool BoundaryAfter(std::string_view t, size_t pos) { return pos >= t.size() || !IsWordByte(t[pos]); }

void ExtractEmail(std::string_view t, size_t at, std::vector<Candidate>* out) {
  const auto local_char = [](char c) {
    return IsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
  };
  size_t s = at;
  while (s > 0 && local_char(t[s - 1]) && at - s < 64) --s;
  while (s < at && (t[s] == '.' || t[s] == '\'')) ++s;
  if (s == at || (s > 0 && (t[s - 1] == '@' || static_cast<unsigned char>(t[s - 1]) >= 0x80))) return;
  for (size_t k = s; k + 1 < at; ++k) {
    if (t[k] == '.' && t[k + 1] == '.') return;
  }
  if (t[at - 1] == '.') return;
  size_t e = at + 1;
  while (e < t.size() && (IsAlnum(t[e]) || t[e] == '.' || t[e] == '-') && e - at < 255) ++e;
  while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
  // Labels: at least two, none empty or edged with '-', an alphabetic TLD.
  std::string_view domain = t.substr(at + 1, e - at - 1);
  size_t labels = 0, label_start = 0;
  for (size_t k = 0; k <= domain.size(); ++k) {
    if (k == domain.size() || domain[k] == '.') {
      std::string_view label = domain.substr(label_start, k - label_start);
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return;
      ++labels;
      if (k == domain.size()) {
        if (label.size() < 2) return;
        for (char c : label) {
          if (!IsAlpha(c)) return;
        }
      }
      label_start = k + 1;
    }
  }
  if (labels < 2) return;
  if (e < t.size() && (t[e] == '@' || static_cast<unsigned char>(t[e]) >= 0x80)) return;
  AddFinding(out, FindingType::kEmail, s, e, "");
}

void ExtractIban(std::string_view t, size_t start, std::vector<Candidate>* out) {
  if (!BoundaryBefore(t, start)) return;
  std::string compact;
  compact.push_back(Upper(t[start]));
  compact.push_back(Upper(t[start + 1]));
  const int length = IbanLength(compact);
  if (length == 0) return;
  size_t i = start + 2;
  while (i < t.size() && static_cast<int>(compact.size()) < length) {
    if (IsAlnum(t[i])) {
      compact.push_back(Upper(t[i]));
      ++i;
    } else if ((t[i] == ' ' || t[i] == '-') && i + 1 < t.size() && IsAlnum(t[i + 1]) && IsAlnum(t[i - 1])) {
      ++i;
    } else {
      break;
    }
  }
  if (static_cast<int>(compact.size()) != length || !BoundaryAfter(t, i)) return;
  if (!IbanValid(compact)) return;
  AddFinding(out, FindingType::kIban, start, i, IbanCountry(compact.substr(0, 2)));
}

void ExtractFixedId(std::string_view t, size_t start, size_t end, FindingType type, std::string_view scheme,
                    bool (*valid)(std::string_view), std::vector<Candidate>* out) {
  if (!BoundaryBefore(t, start) || !BoundaryAfter(t, end)) return;
  std::string compact;
  for (size_t k = start; k < end; ++k) {
    if (t[k] != ' ' && t[k] != '-') compact.push_back(Upper(t[k]));
  }
  if (valid(compact)) AddFinding(out, type, start, end, scheme);
}

// A date at `p` in one of the written forms; returns its end, or 0.
size_t ParseDate(std::string_view t, size_t p) {
  const auto read_int = [&](size_t* i, size_t max_digits, int* v) {
    size_t s = *i;
    *v = 0;
    while (*i < t.size() && IsDigit(t[*i]) && *i - s < max_digits) *v = *v * 10 + (t[(*i)++] - '0');
    return *i - s;
  };
  const auto read_word = [&](size_t* i) {
    std::string w;
    while (*i < t.size() && (IsAlpha(t[*i]) || static_cast<unsigned char>(t[*i]) >= 0x80)) w.push_back(Lower(t[(*i)++]));
    return w;
  };
  const auto skip = [&](size_t* i, std::string_view chars) {
    while (*i < t.size() && chars.find(t[*i]) != std::string_view::npos) ++(*i);
  };
  const auto year_of = [](int y, size_t digits) { return digits == 2 ? (y > 30 ? 1900 + y : 2000 + y) : y; };
  size_t i = p;
  if (IsDigit(t[i])) {
    int a = 0, b = 0, c = 0;
    size_t na = read_int(&i, 4, &a);
    if (i < t.size() && (t[i] == '.' || t[i] == '/' || t[i] == '-') && i + 1 < t.size() && IsDigit(t[i + 1])) {
      const char sep = t[i++];
      size_t nb = read_int(&i, 2, &b);
      if (nb == 0 || i >= t.size() || t[i] != sep) return 0;
      ++i;
      size_t nc = read_int(&i, 4, &c);
      if (i < t.size() && IsDigit(t[i])) return 0;
      if (na == 4 && nc <= 2 && ValidDate(a, b, c)) return i;
      if (na <= 2 && (nc == 4 || nc == 2) && (ValidDate(year_of(c, nc), b, a) || ValidDate(year_of(c, nc), a, b))) {
        return i;
      }
      return 0;
    }
    // "12 March 1985", "12. März 1985", "12 de marzo de 1985", "1er mars 1985", "3rd May 1990"
    if (na > 2) return 0;
    size_t j = i;
    std::string suffix = read_word(&j);
    if (suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th" || suffix == "er") i = j;
    skip(&i, ".º° ");
    size_t w = i;
    std::string word = read_word(&w);
    if (word == "de") {
      skip(&w, " ");
      word = read_word(&w);
    }
    const int month = MonthNumber(word);
    if (month == 0) return 0;
    i = w;
    skip(&i, ". ,");
    size_t k = i;
    if (read_word(&k) == "de") {
      i = k;
      skip(&i, " ");
    }
    size_t ny = read_int(&i, 4, &c);
    if (ny != 4 || (i < t.size() && IsDigit(t[i])) || !ValidDate(c, month, a)) return 0;
    return i;
  }
  // "March 12, 1985"
  std::string word = read_word(&i);
  const int month = MonthNumber(word);
  if (month == 0) return 0;
  skip(&i, ". ");
  int day = 0, year = 0;
  if (read_int(&i, 2, &day) == 0) return 0;
  size_t j = i;
  std::string suffix = read_word(&j);
  if (suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th") i = j;
  skip(&i, ", ");
  if (read_int(&i, 4, &year) != 4 || (i < t.size() && IsDigit(t[i]))) return 0;
  return ValidDate(year, month, day) ? i : 0;
}

void ExtractBirthDate(std::string_view t, size_t kw_start, size_t kw_end, std::vector<Candidate>* out) {
  if (!BoundaryBefore(t, kw_start)) return;
  if (t[kw_end - 1] != '.' && !BoundaryAfter(t, kw_end)) return;
  const size_t limit = std::min(t.size(), kw_end + 40);
  for (size_t p = kw_end; p < limit; ++p) {
    const char c = t[p];
    if (c == '\n' || c == '!' || c == '?') return;
    if (IsDigit(c)) {
      size_t end = ParseDate(t, p);
      if (end != 0 && BoundaryAfter(t, end)) AddFinding(out, FindingType::kDob, p, end, "");
      return;
    }
    if (IsAlpha(c) && BoundaryBefore(t, p)) {
      size_t end = ParseDate(t, p);
      if (end != 0 && BoundaryAfter(t, end)) {
        AddFinding(out, FindingType::kDob, p, end, "");
        return;
      }
    }
  }
}

// --- Hyperscan -------------------------------------------------------------

struct DatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
struct ScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};
using Database = std::unique_ptr<hs_database_t, DatabaseDeleter>;
using Scratch = std::unique_ptr<hs_scratch_t, ScratchDeleter>;

std::string EscapeLiteral(std::string_view lit) {
  std::string out;
  for (char c : lit) {
    if (IsAlnum(c) || static_cast<unsigned char>(c) >= 0x80) {
      out.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

struct ScanContext {
  std::string_view text;
  std::vector<Candidate>* out;
  size_t numeric_covered = 0;  // numbers before this offset were already classified
  size_t last_email_at = SIZE_MAX;
};

}  // namespace

struct Scanner::Impl {
  Database db;
  std::mutex mu;
  std::vector<Scratch> pool;  // guarded by mu
  std::vector<size_t> birth_lengths;
  std::vector<size_t> health_lengths;

  Scratch Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!pool.empty()) {
        Scratch s = std::move(pool.back());
        pool.pop_back();
        return s;
      }
    }
    hs_scratch_t* raw = nullptr;
    if (hs_alloc_scratch(db.get(), &raw) != HS_SUCCESS) return nullptr;
    return Scratch(raw);
  }
  void Return(Scratch s) {
    std::lock_guard<std::mutex> lock(mu);
    pool.push_back(std::move(s));
  }

  static int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to, unsigned int /*flags*/,
                     void* ctx_ptr) {
    auto* ctx = static_cast<ScanContext*>(ctx_ptr);
    const std::string_view t = ctx->text;
    const size_t end = static_cast<size_t>(to);
    switch (id) {
      case kNumeric:
        if (end > ctx->numeric_covered) {
          NumberToken tok = ExtractNumber(t, end - 1);
          ctx->numeric_covered = tok.end;
          ClassifyNumber(t, tok, ctx->out);
        }
        return 0;
      case kEmail:
        if (end - 2 != ctx->last_email_at) {
          ctx->last_email_at = end - 2;
          ExtractEmail(t, end - 2, ctx->out);
        }
        return 0;
      case kIban:
        ExtractIban(t, end - 4, ctx->out);
        return 0;
      case kCodiceFiscale:
        ExtractFixedId(t, end - 16, end, FindingType::kNationalId, "it_cf", &ItalianCodiceFiscaleValid, ctx->out);
        return 0;
      case kDni:
      case kNie: {
        // Variable length (an optional separator before the letter): find the start.
        size_t want_digits = id == kDni ? 8 : 7;
        size_t s = end - 1;
        if (s > 0 && (t[s - 1] == ' ' || t[s - 1] == '-')) --s;
        size_t digits = 0;
        while (s > 0 && IsDigit(t[s - 1]) && digits < want_digits) {
          --s;
          ++digits;
        }
        if (id == kNie) {
          if (s > 0 && (t[s - 1] == ' ' || t[s - 1] == '-')) --s;
          if (s == 0) return 0;
          --s;
        }
        ExtractFixedId(t, s, end, FindingType::kNationalId, id == kDni ? "es_dni" : "es_nie",
                       id == kDni ? &SpanishDniValid : &SpanishNieValid, ctx->out);
        return 0;
      }
      default:
        return 0;
    }
  }
};

Scanner::Scanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scanner::~Scanner() = default;

namespace {

struct LiteralHit {
  unsigned id;
  size_t end;
};

struct FullContext {
  ScanContext base;
  std::vector<LiteralHit> literals;
};

int OnAnyMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void* ctx_ptr) {
  auto* ctx = static_cast<FullContext*>(ctx_ptr);
  if (id >= kBirthBase) {
    ctx->literals.push_back(LiteralHit{id, static_cast<size_t>(to)});
    return 0;
  }
  return Scanner::Impl::OnMatch(id, from, to, flags, &ctx->base);
}

}  // namespace

Result<std::unique_ptr<Scanner>> Scanner::Create() {
  if (hs_valid_platform() != HS_SUCCESS) {
    return FailedPrecondition("scanner_unsupported_cpu", "this CPU lacks SSSE3, which Hyperscan needs");
  }
  std::vector<std::string> expressions = {
      // Seven or more digits joined by up to two of " -./()" each: every
      // number long enough to be a card, a phone number or an identifier.
      R"(\d(?:[ .\-/()]{0,2}\d){6})",
      R"(@[A-Za-z0-9])",
      R"([A-Za-z]{2}\d{2})",
      R"([A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z])",
      R"(\d{8}[ \-]?[A-Za-z])",
      R"([XYZxyz][ \-]?\d{7}[ \-]?[A-Za-z])",
  };
  std::vector<unsigned> ids = {kNumeric, kEmail, kIban, kCodiceFiscale, kDni, kNie};
  std::vector<unsigned> flags(expressions.size(), 0);
  auto impl = std::make_unique<Impl>();
  const auto& birth = BirthKeywords();
  for (size_t k = 0; k < birth.size(); ++k) {
    expressions.push_back(EscapeLiteral(birth[k]));
    ids.push_back(kBirthBase + static_cast<unsigned>(k));
    flags.push_back(HS_FLAG_CASELESS);
    impl->birth_lengths.push_back(birth[k].size());
  }
  const auto& health = HealthTerms();
  for (size_t k = 0; k < health.size(); ++k) {
    expressions.push_back(EscapeLiteral(health[k]));
    ids.push_back(kHealthBase + static_cast<unsigned>(k));
    flags.push_back(HS_FLAG_CASELESS);
    impl->health_lengths.push_back(health[k].size());
  }
  std::vector<const char*> c_expressions;
  for (const std::string& e : expressions) c_expressions.push_back(e.c_str());
  hs_database_t* raw = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(c_expressions.data(), flags.data(), ids.data(), static_cast<unsigned>(expressions.size()),
                       HS_MODE_BLOCK, nullptr, &raw, &error) != HS_SUCCESS) {
    std::string message = error != nullptr && error->message != nullptr ? error->message : "unknown error";
    if (error != nullptr) {
      message += " (expression " + std::to_string(error->expression) + ")";
      hs_free_compile_error(error);
    }
    return Internal("pattern database does not compile: " + message);
  }
  impl->db.reset(raw);
  // One scratch up front proves the database usable before serving.
  Scratch first = impl->Borrow();
  if (!first) return Internal("cannot allocate Hyperscan scratch");
  impl->Return(std::move(first));
  return std::unique_ptr<Scanner>(new Scanner(std::move(impl)));
}

std::vector<Finding> Scanner::Scan(std::string_view text) const {
  std::vector<Finding> findings;
  if (text.empty()) return findings;
  Prepared prepared = Prepare(text);
  const std::string_view t = prepared.text();
  std::vector<Candidate> candidates;
  FullContext ctx{ScanContext{t, &candidates}, {}};
  Scratch scratch = impl_->Borrow();
  if (!scratch) return findings;
  hs_scan(impl_->db.get(), t.data(), static_cast<unsigned>(t.size()), 0, scratch.get(), &OnAnyMatch, &ctx);
  impl_->Return(std::move(scratch));

  for (const LiteralHit& hit : ctx.literals) {
    if (hit.id >= kHealthBase) {
      const size_t len = impl_->health_lengths[hit.id - kHealthBase];
      const size_t start = hit.end - len;
      size_t end = hit.end;
      if (!BoundaryBefore(t, start)) continue;
      if (end < t.size() && Lower(t[end]) == 's') ++end;  // plurals
      if (!BoundaryAfter(t, end)) continue;
      AddFinding(&candidates, FindingType::kHealth, start, end, "");
    } else {
      const size_t len = impl_->birth_lengths[hit.id - kBirthBase];
      ExtractBirthDate(t, hit.end - len, hit.end, &candidates);
    }
  }
  if (candidates.empty()) return findings;

  // Overlaps: the more sensitive type wins, then the longer span.
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    return (a.finding.end - a.finding.start) > (b.finding.end - b.finding.start);
  });
  // Accepted spans by start: they never overlap, so only the neighbours of
  // a new span can (linear in the findings, whatever the text holds).
  std::map<size_t, Finding> accepted;
  for (Candidate& c : candidates) {
    auto next = accepted.lower_bound(c.finding.start);
    if (next != accepted.end() && next->second.start < c.finding.end) continue;
    if (next != accepted.begin() && std::prev(next)->second.end > c.finding.start) continue;
    accepted.emplace(c.finding.start, std::move(c.finding));
  }
  findings.reserve(accepted.size());
  for (auto& [start, f] : accepted) findings.push_back(std::move(f));
  for (Finding& f : findings) {
    f.start = prepared.Start(f.start);
    f.end = prepared.End(f.end);
  }
  return findings;
}

std::string_view TypeName(FindingType type) {
  switch (type) {
    case FindingType::kCard: return "card";
    case FindingType::kIban: return "iban";
    case FindingType::kEmail: return "email";
    case FindingType::kPhone: return "phone";
    case FindingType::kDob: return "dob";
    case FindingType::kNationalId: return "national_id";
    case FindingType::kHealth: return "health";
  }
  return "unknown";
}

bool ParseType(std::string_view name, FindingType* type) {
  for (int k = 0; k < kFindingTypeCount; ++k) {
    const auto t = static_cast<FindingType>(k);
    if (TypeName(t) == name) {
      *type = t;
      return true;
    }
  }
  return false;
}

std::string Mask(std::string_view text, const std::vector<Finding>& findings) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.start < pos || f.end > text.size()) continue;
    out.append(text.substr(pos, f.start - pos));
    // Count the value's letters and digits (a non-ASCII digit is one).
    std::vector<std::pair<size_t, size_t>> chars;  // [start, length) of each letter or digit
    for (size_t i = f.start; i < f.end;) {
      size_t len = 1;
      const unsigned char b = static_cast<unsigned char>(text[i]);
      if (b >= 0xC0) {
        len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
        if (i + len > f.end) len = f.end - i;
        size_t ascii_len = 0;
        char ascii = AsciiEquivalent(text, i, &ascii_len);
        if (ascii != 0 && IsDigit(ascii)) chars.emplace_back(i, len);
      } else if (IsAlnum(static_cast<char>(b))) {
        chars.emplace_back(i, 1);
      }
      i += len;
    }
    size_t keep_head = 0, keep_tail = 0;
    if (f.type == FindingType::kCard) {
      keep_tail = 4;
      keep_head = chars.size() >= 16 ? 6 : 0;
    } else if (f.type == FindingType::kIban) {
      keep_head = 2;
      keep_tail = 4;
    }
    size_t next = 0;
    for (size_t i = f.start; i < f.end;) {
      if (next < chars.size() && chars[next].first == i) {
        const bool keep = next < keep_head || next + keep_tail >= chars.size();
        if (keep) {
          out.append(text.substr(i, chars[next].second));
        } else {
          out.push_back('*');
        }
        i += chars[next].second;
        ++next;
      } else {
        out.push_back(text[i]);
        ++i;
      }
    }
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace cs::scan
