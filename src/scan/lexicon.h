// File: lexicon.h
// The word lists behind the scanner, in English, French, German, Italian
// and Spanish. Curated by hand: each entry should be specific enough that
// its presence in a chat is worth a flag or a decision (docs/scan.md says
// how to propose changes). All entries are lower case UTF-8.
// Thread-safety: immutable data.
#pragma once

#include <string_view>
#include <vector>

namespace cs::scan {

// Terms that suggest health information (possible PHI): conditions,
// treatments, medicines, examinations.
const std::vector<std::string_view>& HealthTerms();

// Words that introduce a date of birth ("born", "né le", "geboren am").
const std::vector<std::string_view>& BirthKeywords();

// Month names and abbreviations; MonthNumber returns 1-12, or 0.
int MonthNumber(std::string_view lower_word);

// Words just before a number that make it a phone number ("call", "tel")
// or something else ("order", "invoice", "tracking"): used only for bare
// digit runs and national formats, never for "+"-prefixed numbers.
bool IsPhoneContextWord(std::string_view lower_word);
bool IsNotPhoneContextWord(std::string_view lower_word);
// Units or currencies just after a number that make it an amount.
bool IsAmountUnitWord(std::string_view lower_word);

}  // namespace cs::scan
