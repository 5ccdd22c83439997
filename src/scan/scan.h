// File: scan.h
// Content protection: finds card numbers, IBANs, e-mail addresses, phone
// numbers, dates of birth, national identifiers and health terms in free
// text (REQUIREMENTS CHAN-04, SEN-05, B-38; docs/scan.md).
//
// One Hyperscan database, compiled once, finds candidates in a single pass;
// every candidate is then checked by a validator (Luhn and brand, mod-97,
// the check digits of each national identifier, a real calendar date, the
// numbering plans) so that look-alikes such as order and tracking numbers
// are not reported. Offsets are UTF-8 byte offsets into the caller's text,
// end exclusive, even when the text used full-width or other non-ASCII
// digits or non-breaking spaces (those are read as ASCII for matching).
//
// Findings never carry the matched value: callers that need it slice their
// own text, so nothing here can leak it into a log.
//
// Thread-safety: a Scanner is immutable after Create and safe for
// concurrent Scan calls; each call borrows Hyperscan scratch from a pool.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs::scan {

enum class FindingType { kCard, kIban, kEmail, kPhone, kDob, kNationalId, kHealth };
inline constexpr int kFindingTypeCount = 7;

// "card", "iban", "email", "phone", "dob", "national_id", "health".
std::string_view TypeName(FindingType type);
// The inverse of TypeName; false for an unknown name.
bool ParseType(std::string_view name, FindingType* type);

struct Finding {
  FindingType type = FindingType::kCard;
  size_t start = 0;  // UTF-8 byte offset, inclusive
  size_t end = 0;    // UTF-8 byte offset, exclusive
  // What kind within the type, never the value: the card brand ("visa"),
  // the IBAN country ("FR"), the identifier scheme ("fr_nir", "it_cf",
  // "es_dni", "es_nie", "de_tax_id"), the phone form ("international",
  // "national"); empty for the others. Always static storage.
  std::string_view detail;
};

class Scanner {
 public:
  // Compiles the pattern database; fails only if Hyperscan refuses it or
  // the CPU lacks the instructions it needs (SSSE3).
  static Result<std::unique_ptr<Scanner>> Create();
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Returns the findings in `text`, sorted by start, never overlapping
  // (where two detectors claim the same bytes the more sensitive type
  // wins: card, national_id, iban, email, phone, dob, health).
  // Invalid UTF-8 is scanned as bytes.
  std::vector<Finding> Scan(std::string_view text) const;

  struct Impl;

 private:
  explicit Scanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Returns `text` with every finding in `findings` masked. Card numbers
// keep at most their first six and last four digits (PCI DSS 3.4.1), and
// only the last four when shorter than 16 digits; IBANs keep their country
// code and last four characters; every other type has each letter and
// digit replaced by '*'. Separators stay, so the result reads naturally
// ("4111 11** **** 1111"); a masked non-ASCII digit becomes one '*'.
std::string Mask(std::string_view text, const std::vector<Finding>& findings);

}  // namespace cs::scan
