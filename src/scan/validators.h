// File: validators.h
// The checks that turn a pattern match into a finding: check digits,
// registries and calendars. Inputs are already stripped of separators.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace cs::scan {

// Luhn (ISO/IEC 7812-1) over ASCII digits.
bool LuhnValid(std::string_view digits);
// The digit that, appended to `body` (ASCII digits), makes it Luhn-valid.
char LuhnCheckDigit(std::string_view body);

// The card brand whose issuer prefix and length fit `digits` ("visa",
// "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "mir",
// "maestro"), or nullopt. Does not check Luhn.
std::optional<std::string_view> CardBrand(std::string_view digits);

// The registered IBAN length of a country (ISO 13616 registry), or 0.
int IbanLength(std::string_view country_code);
// The registry's own spelling of `country_code` (static storage), or empty.
std::string_view IbanCountry(std::string_view country_code);
// `compact` is upper-case letters and digits only: country, length and
// the mod-97 check (ISO 7064).
bool IbanValid(std::string_view compact);

// French NIR (numéro de sécurité sociale), 15 characters including the
// two-digit key; Corsican departments may be written 2A or 2B.
bool FrenchNirValid(std::string_view compact);
// Italian codice fiscale, 16 upper-case characters, with omocodia letters.
bool ItalianCodiceFiscaleValid(std::string_view compact);
// Spanish DNI (8 digits and a letter) or NIE (X, Y or Z, 7 digits, a letter).
bool SpanishDniValid(std::string_view compact);
bool SpanishNieValid(std::string_view compact);
// German Steuerliche Identifikationsnummer, 11 digits (digit-frequency rule
// and ISO 7064 MOD 11,10 check digit).
bool GermanTaxIdValid(std::string_view digits);
// Its ISO 7064 MOD 11,10 check digit over the first ten digits.
char GermanTaxIdCheckDigit(std::string_view first_ten);

// True for a real calendar date between 1900-01-01 and 2100-12-31.
bool ValidDate(int year, int month, int day);

}  // namespace cs::scan
