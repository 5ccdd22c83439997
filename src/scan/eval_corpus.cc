#include "scan/eval_corpus.h"

#include <algorithm>
#include <array>
#include <random>
#include <string_view>

#include "scan/lexicon.h"
#include "scan/validators.h"

namespace cs::scan {

namespace {

using Rng = std::mt19937_64;

size_t Pick(Rng& rng, size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
template <typename C>
const auto& PickFrom(Rng& rng, const C& c) {
  return c[Pick(rng, c.size())];
}
std::string Pad(int v, size_t width) {
  std::string s = std::to_string(v);
  return s.size() >= width ? s : std::string(width - s.size(), '0') + s;
}

bool Chance(Rng& rng, double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

std::string Digits(Rng& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Pick(rng, 10)));
  return s;
}

std::string Group(std::string_view digits, const std::vector<size_t>& sizes, char sep) {
  std::string out;
  size_t pos = 0;
  for (size_t k = 0; k < sizes.size() && pos < digits.size(); ++k) {
    if (k > 0) out.push_back(sep);
    out.append(digits.substr(pos, sizes[k]));
    pos += sizes[k];
  }
  if (pos < digits.size()) out.append(digits.substr(pos));
  return out;
}

// --- Values -----------------------------------------------------------------

std::string CardNumber(Rng& rng, bool valid) {
  struct Brand {
    const char* prefix;
    size_t length;
  };
  static const std::array<Brand, 10> kBrands = {{{"4", 16},
                                                 {"4", 16},
                                                 {"51", 16},
                                                 {"55", 16},
                                                 {"2221", 16},
                                                 {"34", 15},
                                                 {"37", 15},
                                                 {"6011", 16},
                                                 {"3530", 16},
                                                 {"36", 14}}};
  const Brand& b = PickFrom(rng, kBrands);
  std::string d = b.prefix + Digits(rng, b.length - std::string_view(b.prefix).size() - 1);
  char check = LuhnCheckDigit(d);
  if (!valid) check = static_cast<char>('0' + ((check - '0' + 1 + Pick(rng, 9)) % 10));
  d.push_back(check);
  const size_t style = Pick(rng, 4);
  if (style == 0) return d;
  const char sep = style == 1 ? ' ' : style == 2 ? '-' : ' ';
  if (b.length == 15) return Group(d, {4, 6, 5}, sep);
  if (b.length == 14) return Group(d, {4, 6, 4}, sep);
  return Group(d, {4, 4, 4, 4}, sep);
}

std::string IbanNumber(Rng& rng, bool valid, bool* grouped) {
  static const std::array<std::pair<const char*, int>, 24> kCountries = {{
      {"DE", 22}, {"FR", 27}, {"IT", 27}, {"ES", 24}, {"NL", 18}, {"BE", 16}, {"AT", 20}, {"PT", 25},
      {"IE", 22}, {"LU", 20}, {"FI", 18}, {"GB", 22}, {"CH", 21}, {"PL", 28}, {"SE", 24}, {"DK", 18},
      {"GR", 27}, {"HR", 21}, {"SI", 19}, {"SK", 24}, {"CZ", 24}, {"HU", 28}, {"RO", 24}, {"MT", 31},
  }};
  const auto& [cc, length] = PickFrom(rng, kCountries);
  std::string bban;
  const bool letters = std::string_view(cc) == "GB" || std::string_view(cc) == "NL" ||
                       std::string_view(cc) == "IE" || std::string_view(cc) == "MT" || std::string_view(cc) == "RO";
  for (int i = 0; i < length - 4; ++i) {
    if (letters && i < 4) {
      bban.push_back(static_cast<char>('A' + Pick(rng, 26)));
    } else {
      bban.push_back(static_cast<char>('0' + Pick(rng, 10)));
    }
  }
  // Check digits: 98 - (BBAN + country + "00") mod 97.
  int rem = 0;
  auto feed = [&rem](char c) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    }
  };
  for (char c : bban) feed(c);
  feed(cc[0]);
  feed(cc[1]);
  feed('0');
  feed('0');
  int check = 98 - rem;
  if (!valid) check = (check + 1 + static_cast<int>(Pick(rng, 90))) % 97 + 2;
  std::string iban = std::string(cc) + Pad(check % 100, 2) + bban;
  *grouped = Chance(rng, 0.5);
  if (!*grouped) return iban;
  std::string out;
  for (size_t i = 0; i < iban.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back(' ');
    out.push_back(iban[i]);
  }
  return out;
}

std::string Email(Rng& rng) {
  static const std::array<const char*, 16> kNames = {"anna",  "marco", "julie", "jonas",  "lucia", "pierre",
                                                     "sofia", "tom",   "elena", "hannes", "chloe", "diego",
                                                     "m.rossi", "j-dupont", "kim_lee", "o.brien"};
  static const std::array<const char*, 14> kDomains = {
      "gmail.com",  "outlook.fr", "web.de",       "libero.it", "yahoo.es", "example.co.uk", "mail-box.eu",
      "posteo.de",  "orange.fr",  "tiscali.it",   "telefonica.net", "proton.me", "uni-muenchen.de", "icloud.com"};
  std::string local = PickFrom(rng, kNames);
  const size_t style = Pick(rng, 4);
  if (style == 1) local += std::to_string(1970 + Pick(rng, 40));
  if (style == 2) local += "+shop";
  if (style == 3) local += "." + std::string(PickFrom(rng, kNames));
  std::string domain = PickFrom(rng, kDomains);
  if (Chance(rng, 0.2)) {
    for (char& c : local) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return local + "@" + domain;
}

std::string Phone(Rng& rng) {
  const auto d = [&](size_t n) { return Digits(rng, n); };
  const auto nz = [&]() { return std::string(1, static_cast<char>('2' + Pick(rng, 8))); };
  switch (Pick(rng, 44)) {
    case 0: return "+33 6 " + d(2) + " " + d(2) + " " + d(2) + " " + d(2);
    case 1: return "06 " + d(2) + " " + d(2) + " " + d(2) + " " + d(2);
    case 2: return "07." + d(2) + "." + d(2) + "." + d(2) + "." + d(2);
    case 3: return "+49 151 " + d(8);
    case 4: return "0151 " + d(8);
    case 5: return "030 " + d(7);
    case 6: return "+49 (0)89 " + d(7);
    case 7: return "+39 347 " + d(3) + " " + d(4);
    case 8: return "3" + d(2) + " " + d(3) + " " + d(4);
    case 9: return "+34 6" + d(2) + " " + d(2) + " " + d(2) + " " + d(2);
    case 10: return "6" + d(2) + " " + d(3) + " " + d(3);
    case 11: return "+44 7700 " + d(6);
    case 12: return "07700 " + d(6);
    case 13: return "(" + nz() + d(2) + ") " + nz() + d(2) + "-" + d(4);
    case 14: return nz() + d(2) + "-" + nz() + d(2) + "-" + d(4);
    case 15: return "+1 " + nz() + d(2) + " " + nz() + d(2) + " " + d(4);
    case 16: return "+55 11 9" + d(4) + "-" + d(4);
    case 17: return "(21) 9" + d(4) + "-" + d(4);
    case 18: return "+91 9" + d(4) + " " + d(5);
    case 19: return "9" + d(4) + " " + d(5);
    case 20: return "06-" + d(8);
    case 21: return "0470 " + d(2) + " " + d(2) + " " + d(2);
    case 22: return "0033 6" + d(8);
    case 23: return "+48 5" + d(2) + " " + d(3) + " " + d(3);
    // Formats the detector was not written against, kept to measure it honestly.
    case 24: return "0664 " + d(7);                                        // Austria
    case 25: return "070-" + d(3) + " " + d(2) + " " + d(2);               // Sweden
    case 26: return "087 " + d(3) + " " + d(4);                            // Ireland
    case 27: return "+30 69" + d(1) + " " + d(3) + " " + d(4);             // Greece
    case 28: return "+45 " + d(2) + " " + d(2) + " " + d(2) + " " + d(2);  // Denmark
    case 29: return "91" + d(1) + " " + d(3) + " " + d(3);                 // Portugal
    case 30: return "+1 (" + nz() + d(2) + ") " + nz() + d(2) + "-" + d(4);
    case 31: return "1-800-" + nz() + d(2) + "-" + d(4);
    case 32: return "020 " + d(4) + " " + d(4);                            // London
    case 33: return "+44 (0)20 " + d(4) + " " + d(4);
    case 34: return "(030) " + d(8);
    case 35: return "0176/" + d(8);
    case 36: return "079 " + d(3) + " " + d(2) + " " + d(2);               // Switzerland
    case 37: return "+32 470 " + d(2) + " " + d(2) + " " + d(2);
    case 38: return "+91-9" + d(4) + "-" + d(5);
    case 39: return "11 9" + d(4) + "-" + d(4);                            // Brazil without parentheses
    case 40: return "+33 (0)6 " + d(2) + " " + d(2) + " " + d(2) + " " + d(2);
    case 41: return "0" + std::string(1, static_cast<char>('6' + Pick(rng, 2))) + d(8);  // bare French mobile
    case 42: return "+" + std::string("4915") + d(9);                     // bare international
    default: return nz() + d(2) + "." + nz() + d(2) + "." + d(4);          // US with dots
  }
}

std::string NationalId(Rng& rng) {
  static constexpr std::string_view kDniLetters = "TRWAGMYFPDXBNJZSQVHLCKE";
  switch (Pick(rng, 5)) {
    case 0: {  // French NIR, grouped as on the card
      std::string n = std::string(1, Chance(rng, 0.5) ? '1' : '2') + Digits(rng, 2);
      n += Pad(static_cast<int>(1 + Pick(rng, 12)), 2);
      n += Digits(rng, 8);
      long long v = std::stoll(n);
      n += Pad(static_cast<int>(97 - v % 97), 2);
      if (Chance(rng, 0.5)) return n;
      return n.substr(0, 1) + " " + n.substr(1, 2) + " " + n.substr(3, 2) + " " + n.substr(5, 2) + " " +
             n.substr(7, 3) + " " + n.substr(10, 3) + " " + n.substr(13, 2);
    }
    case 1: {  // Italian codice fiscale
      static constexpr std::string_view kMonths = "ABCDEHLMPRST";
      static constexpr std::array<int, 26> kOdd = {1,  0,  5,  7,  9,  13, 15, 17, 19, 21, 2,  4,  18,
                                                   20, 11, 3,  6,  8,  12, 14, 16, 10, 22, 25, 24, 23};
      std::string cf;
      for (int i = 0; i < 6; ++i) cf.push_back(static_cast<char>('A' + Pick(rng, 26)));
      cf += Digits(rng, 2);
      cf.push_back(kMonths[Pick(rng, 12)]);
      cf += Pad(static_cast<int>(1 + Pick(rng, 28) + (Chance(rng, 0.5) ? 40 : 0)), 2);
      cf.push_back(static_cast<char>('A' + Pick(rng, 26)));
      cf += Digits(rng, 3);
      int sum = 0;
      for (size_t i = 0; i < 15; ++i) {
        const char c = cf[i];
        const int v = (c >= '0' && c <= '9') ? c - '0' : c - 'A';
        sum += (i % 2 == 0) ? kOdd[static_cast<size_t>(v)] : v;
      }
      cf.push_back(static_cast<char>('A' + sum % 26));
      return cf;
    }
    case 2: {  // Spanish DNI
      std::string n = Digits(rng, 8);
      return n + (Chance(rng, 0.3) ? "-" : "") + kDniLetters[static_cast<size_t>(std::stoi(n) % 23)];
    }
    case 3: {  // Spanish NIE
      const size_t prefix = Pick(rng, 3);
      std::string n = Digits(rng, 7);
      const int value = static_cast<int>(prefix) * 10000000 + std::stoi(n);
      return std::string(1, static_cast<char>('X' + prefix)) + n + kDniLetters[static_cast<size_t>(value % 23)];
    }
    default: {  // German tax id: one digit twice, the rest once, then the check digit
      for (;;) {
        std::string digits = "0123456789";
        std::shuffle(digits.begin(), digits.end(), rng);
        if (digits[0] == '0') continue;
        digits[9] = digits[Pick(rng, 9)];
        digits.push_back(GermanTaxIdCheckDigit(digits));
        return digits;
      }
    }
  }
}

std::string BirthDate(Rng& rng, std::string_view language) {
  const int year = 1940 + static_cast<int>(Pick(rng, 66));
  const int month = 1 + static_cast<int>(Pick(rng, 12));
  const int day = 1 + static_cast<int>(Pick(rng, 28));
  static const std::array<const char*, 12> kEn = {"January", "February", "March",     "April",   "May",      "June",
                                                  "July",    "August",   "September", "October", "November", "December"};
  static const std::array<const char*, 12> kFr = {"janvier", "février", "mars",      "avril",   "mai",      "juin",
                                                  "juillet", "août",    "septembre", "octobre", "novembre", "décembre"};
  static const std::array<const char*, 12> kDe = {"Januar", "Februar", "März",      "April",   "Mai",      "Juni",
                                                  "Juli",   "August",  "September", "Oktober", "November", "Dezember"};
  static const std::array<const char*, 12> kIt = {"gennaio", "febbraio", "marzo",     "aprile",  "maggio",   "giugno",
                                                  "luglio",  "agosto",   "settembre", "ottobre", "novembre", "dicembre"};
  static const std::array<const char*, 12> kEs = {"enero", "febrero", "marzo",      "abril",   "mayo",      "junio",
                                                  "julio", "agosto",  "septiembre", "octubre", "noviembre", "diciembre"};
  const size_t m = static_cast<size_t>(month - 1);
  switch (Pick(rng, 4)) {
    case 0: return Pad(day, 2) + "/" + Pad(month, 2) + "/" + Pad(year, 4);
    case 1: return Pad(day, 2) + "." + Pad(month, 2) + "." + Pad(year, 4);
    case 2: return Pad(year, 4) + "-" + Pad(month, 2) + "-" + Pad(day, 2);
    default: break;
  }
  if (language == "en") return std::string(kEn[m]) + " " + std::to_string(day) + ", " + std::to_string(year);
  if (language == "fr") return std::to_string(day) + " " + kFr[m] + " " + std::to_string(year);
  if (language == "de") return std::to_string(day) + ". " + kDe[m] + " " + std::to_string(year);
  if (language == "it") return std::to_string(day) + " " + kIt[m] + " " + std::to_string(year);
  return std::to_string(day) + " de " + kEs[m] + " de " + std::to_string(year);
}

// --- Sentences ----------------------------------------------------------------

struct Template {
  const char* language;
  const char* text;  // "{}" is where the value goes
};

const std::vector<Template>& Templates(FindingType type) {
  static const std::vector<Template> kCard = {
      {"en", "Here is my card number {} can you charge it?"}, {"en", "card: {} exp 09/27"},
      {"en", "{}"},                                           {"fr", "Voici ma carte {} merci de débiter"},
      {"fr", "mon numéro de carte est le {}."},               {"de", "Meine Kreditkarte: {}, bitte belasten"},
      {"de", "Kartennummer {} gültig bis 11/26"},             {"it", "il numero della carta è {} grazie"},
      {"it", "Carta {}"},                                     {"es", "Mi tarjeta es {} ¿puede cobrar?"},
      {"es", "tarjeta {}, caduca 03/28"},
  };
  static const std::vector<Template> kIban = {
      {"en", "Please refund to {} thanks"},     {"en", "IBAN: {}"},
      {"fr", "Mon RIB : {}, merci"},            {"fr", "remboursez sur le compte {} svp"},
      {"de", "Bitte überweisen auf {} danke"},  {"de", "IBAN {} (Sparkasse)"},
      {"it", "Il mio IBAN è {}."},              {"it", "bonifico su {} grazie"},
      {"es", "Mi IBAN es {} gracias"},          {"es", "cuenta {}"},
  };
  static const std::vector<Template> kEmail = {
      {"en", "you can email me at {} anytime"}, {"en", "my address is {}."},
      {"fr", "écrivez-moi à {} svp"},           {"fr", "mail : {}"},
      {"de", "Meine E-Mail: {}, danke"},        {"de", "schreib an {}"},
      {"it", "la mia email è {}"},              {"it", "scrivimi a {} grazie"},
      {"es", "mi correo es {}"},                {"es", "escríbeme a {}!"},
  };
  static const std::vector<Template> kPhone = {
      {"en", "call me on {} after 6pm"},      {"en", "my number is {}"},
      {"en", "reach me at {} please"},        {"en", "new phone: {}"},
      {"fr", "appelez-moi au {} svp"},        {"fr", "mon portable : {}"},
      {"fr", "{} c'est mon numéro"},          {"de", "ruf mich an unter {}"},
      {"de", "Meine Handynummer ist {}"},     {"de", "Tel. {}"},
      {"it", "chiamami al {} grazie"},        {"it", "il mio cellulare è {}"},
      {"es", "llámame al {} por favor"},      {"es", "mi móvil: {}"},
      {"es", "{} es mi teléfono"},
  };
  static const std::vector<Template> kNationalId = {
      {"fr", "mon numéro de sécu {}"},       {"fr", "NIR : {}"},
      {"it", "codice fiscale {}"},           {"it", "CF: {} grazie"},
      {"es", "mi DNI es {}"},                {"es", "NIE {}"},
      {"de", "Steuer-ID: {}"},               {"de", "meine Steueridentifikationsnummer ist {}"},
      {"en", "my ID number is {}"},
  };
  static const std::vector<Template> kDob = {
      {"en", "date of birth: {}"},         {"en", "I was born on {}"},
      {"en", "DOB {}"},                    {"fr", "je suis né le {}"},
      {"fr", "date de naissance : {}"},    {"de", "geboren am {}"},
      {"de", "Geburtsdatum: {}"},          {"it", "sono nato il {}"},
      {"it", "data di nascita {}"},        {"es", "nací el... fecha de nacimiento: {}"},
      {"es", "nacida el {}"},
  };
  static const std::vector<Template> kHealth = {
      {"en", "I was told I have {} last week"}, {"fr", "on m'a parlé de {} hier"},
      {"de", "Thema {} beim Arzt"},             {"it", "mi hanno parlato di {}"},
      {"es", "me hablaron de {} ayer"},
  };
  switch (type) {
    case FindingType::kCard: return kCard;
    case FindingType::kIban: return kIban;
    case FindingType::kEmail: return kEmail;
    case FindingType::kPhone: return kPhone;
    case FindingType::kNationalId: return kNationalId;
    case FindingType::kDob: return kDob;
    case FindingType::kHealth: return kHealth;
  }
  return kCard;
}

LabelledMessage Fill(const Template& t, const std::string& value, FindingType type) {
  LabelledMessage m;
  m.kind = LabelledMessage::Kind::kPositive;
  std::string_view text = t.text;
  const size_t at = text.find("{}");
  m.text = std::string(text.substr(0, at)) + value + std::string(text.substr(at + 2));
  m.spans.push_back(LabelledSpan{type, at, at + value.size()});
  return m;
}

LabelledMessage Decoy(Rng& rng) {
  LabelledMessage m;
  m.kind = LabelledMessage::Kind::kDecoy;
  const auto d = [&](size_t n) { return Digits(rng, n); };
  const auto nz = [&](size_t n) { return std::string(1, static_cast<char>('1' + Pick(rng, 9))) + Digits(rng, n - 1); };
  bool grouped = false;
  switch (Pick(rng, 30)) {
    case 0: m.decoy = "order_number"; m.text = "Order #" + nz(8) + " has shipped"; break;
    case 1: m.decoy = "order_number"; m.text = "Bestellnummer " + nz(10) + " ist unterwegs"; break;
    case 2: m.decoy = "order_number"; m.text = "commande n° " + nz(4) + "-" + d(6) + " expédiée"; break;
    case 3: m.decoy = "order_number"; m.text = "il tuo ordine " + nz(9) + " è in consegna"; break;
    case 4: m.decoy = "order_number"; m.text = "pedido " + nz(10) + " enviado"; break;
    case 5: m.decoy = "tracking_number"; m.text = "tracking 1Z" + d(3) + "AA" + d(10) + " via UPS"; break;
    case 6: m.decoy = "tracking_number"; m.text = "Sendung JJD" + d(18) + " zugestellt"; break;
    case 7: m.decoy = "tracking_number"; m.text = "suivi 9400 " + d(4) + " " + d(4) + " " + d(4) + " " + d(4) + " " + d(2); break;
    case 8: m.decoy = "tracking_number"; m.text = "spedizione LX" + d(9) + "CN"; break;
    case 9: m.decoy = "luhn_failing_card"; m.text = "number " + CardNumber(rng, false) + " declined"; break;
    case 10: m.decoy = "bad_iban"; m.text = "IBAN " + IbanNumber(rng, false, &grouped) + " wrong?"; break;
    case 11: m.decoy = "price"; m.text = "Total: " + nz(1) + "." + d(3) + "." + d(3) + " EUR"; break;
    case 12: m.decoy = "price"; m.text = "Preis " + nz(3) + "," + d(2) + " € inkl. MwSt"; break;
    case 13: m.decoy = "date"; m.text = "your appointment is on " + std::to_string(10 + Pick(rng, 18)) + "/0" + std::to_string(1 + Pick(rng, 9)) + "/2027 at 10:30"; break;
    case 14: m.decoy = "time"; m.text = "open " + std::to_string(8 + Pick(rng, 3)) + ":00-18:30, Sat 9:00-12:00"; break;
    case 15: m.decoy = "handle"; m.text = "follow @" + std::string(Pick(rng, 2) ? "shop" : "brand") + "_" + d(3) + " on Instagram"; break;
    case 16: m.decoy = "invalid_email"; m.text = "send it to admin@localhost or to user@"; break;
    case 17: m.decoy = "invoice_number"; m.text = "Rechnung RE-2024-" + d(6) + " anbei"; break;
    case 18: m.decoy = "random_16_digits"; m.text = "code " + std::string(1, static_cast<char>('7' + Pick(rng, 3))) + d(15); break;
    case 19: m.decoy = "version"; m.text = "update to iOS " + std::to_string(15 + Pick(rng, 4)) + "." + std::to_string(Pick(rng, 9)) + "." + std::to_string(Pick(rng, 9)); break;
    case 20: m.decoy = "postcode"; m.text = d(5) + " Paris, " + d(5) + " München"; break;
    case 22: m.decoy = "isbn"; m.text = "ISBN 978-3-" + d(2) + "-" + d(6) + "-" + d(1); break;
    case 23: m.decoy = "ean_barcode"; m.text = "EAN 40" + d(11); break;
    case 24: m.decoy = "customer_number"; m.text = "Kundennummer 0" + d(9) + ", bitte angeben"; break;
    case 25: m.decoy = "ticket_number"; m.text = "ticket 2024-" + d(6) + " closed"; break;
    case 26: m.decoy = "quantity"; m.text = "we have " + nz(4) + " units in stock and " + nz(3) + " on order"; break;
    case 27: m.decoy = "price"; m.text = "R$ " + nz(1) + "." + d(3) + "." + d(3) + ",00 à vista"; break;
    case 28: m.decoy = "booking_reference"; m.text = "booking " + nz(10) + " confirmed for 2 guests"; break;
    default: m.decoy = "ip_address"; m.text = "server 192.168." + std::to_string(Pick(rng, 255)) + "." + std::to_string(Pick(rng, 255)); break;
  }
  return m;
}

LabelledMessage Plain(Rng& rng) {
  static const std::array<const char*, 20> kChat = {
      "Hi, is my order on its way? Thanks!",
      "Bonjour, je voudrais changer l'adresse de livraison svp",
      "Hallo, wann kommt mein Paket an?",
      "Ciao, posso spostare l'appuntamento a domani pomeriggio?",
      "Hola, ¿tienen la talla M en azul?",
      "ok perfect, see you tomorrow at 10",
      "Merci beaucoup, très bon service 👍",
      "Danke, alles angekommen",
      "Grazie mille!",
      "¿A qué hora abren el sábado?",
      "Can I return the shoes if they don't fit?",
      "Le colis est arrivé abîmé, que faire ?",
      "Ich möchte meine Bestellung stornieren.",
      "Il pacco non è ancora arrivato, potete controllare?",
      "Quiero cambiar mi cita para el martes",
      "yes please send the invoice by email",
      "STOP",
      "the blue one, 2 pieces",
      "Is there a store in Lyon or Marseille?",
      "Wie lange dauert die Rückerstattung?",
  };
  LabelledMessage m;
  m.kind = LabelledMessage::Kind::kPlain;
  m.text = PickFrom(rng, kChat);
  return m;
}

}  // namespace

std::vector<LabelledMessage> GenerateEvaluationSet(uint64_t seed, size_t positives_per_type, size_t decoys,
                                                   size_t plain) {
  Rng rng(seed);
  std::vector<LabelledMessage> set;
  const auto& health = HealthTerms();
  for (int k = 0; k < kFindingTypeCount; ++k) {
    const auto type = static_cast<FindingType>(k);
    const auto& templates = Templates(type);
    for (size_t i = 0; i < positives_per_type; ++i) {
      const Template& t = PickFrom(rng, templates);
      std::string value;
      bool grouped = false;
      switch (type) {
        case FindingType::kCard: value = CardNumber(rng, true); break;
        case FindingType::kIban: value = IbanNumber(rng, true, &grouped); break;
        case FindingType::kEmail: value = Email(rng); break;
        case FindingType::kPhone: value = Phone(rng); break;
        case FindingType::kNationalId: value = NationalId(rng); break;
        case FindingType::kDob: value = BirthDate(rng, t.language); break;
        case FindingType::kHealth: value = std::string(PickFrom(rng, health)); break;
      }
      set.push_back(Fill(t, value, type));
    }
  }
  for (size_t i = 0; i < decoys; ++i) set.push_back(Decoy(rng));
  for (size_t i = 0; i < plain; ++i) set.push_back(Plain(rng));
  std::shuffle(set.begin(), set.end(), rng);
  return set;
}

double TypeScore::Precision() const {
  const size_t flagged = true_positives + false_positives;
  return flagged == 0 ? 1.0 : static_cast<double>(true_positives) / static_cast<double>(flagged);
}

double TypeScore::Recall() const {
  const size_t labelled = true_positives + false_negatives;
  return labelled == 0 ? 1.0 : static_cast<double>(true_positives) / static_cast<double>(labelled);
}

EvaluationReport Evaluate(const Scanner& scanner, const std::vector<LabelledMessage>& set) {
  EvaluationReport report;
  for (const LabelledMessage& m : set) {
    const std::vector<Finding> found = scanner.Scan(m.text);
    if (m.kind == LabelledMessage::Kind::kDecoy) {
      ++report.decoys;
      if (!found.empty()) ++report.decoys_flagged;
    } else if (m.kind == LabelledMessage::Kind::kPlain) {
      ++report.plain;
      if (!found.empty()) ++report.plain_flagged;
    }
    std::vector<bool> matched(m.spans.size(), false);
    for (const Finding& f : found) {
      bool hit = false;
      for (size_t k = 0; k < m.spans.size(); ++k) {
        const LabelledSpan& s = m.spans[k];
        if (!matched[k] && s.type == f.type && s.start == f.start && s.end == f.end) {
          matched[k] = hit = true;
          break;
        }
      }
      TypeScore& score = report.per_type[static_cast<int>(f.type)];
      if (hit) {
        ++score.true_positives;
      } else {
        ++score.false_positives;
        if (report.examples.size() < 40) {
          report.examples.push_back("false " + std::string(TypeName(f.type)) + " [" +
                                    m.text.substr(f.start, f.end - f.start) + "] in: " + m.text);
        }
      }
    }
    for (size_t k = 0; k < m.spans.size(); ++k) {
      if (matched[k]) continue;
      ++report.per_type[static_cast<int>(m.spans[k].type)].false_negatives;
      if (report.examples.size() < 40) {
        report.examples.push_back("missed " + std::string(TypeName(m.spans[k].type)) + " in: " + m.text);
      }
    }
  }
  return report;
}

}  // namespace cs::scan
