// Reply classification (keywords.h). ICU stays inside this file.
#include "consent/keywords.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <array>

namespace cs {

namespace {

struct Word {
  const char* text;  // already NFKC-casefolded
  const char* language;
};

constexpr std::array kAffirm = {
    Word{"yes", "en"}, Word{"ja", "de"}, Word{"oui", "fr"}, Word{"sì", "it"}, Word{"si", "it"},
    Word{"sí", "es"},  Word{"sim", "pt"},
};

constexpr std::array kDecline = {
    Word{"no", "en"}, Word{"nein", "de"}, Word{"non", "fr"}, Word{"não", "pt"}, Word{"nao", "pt"},
};

// Whole-message stop words: any of these alone is an opt-out.
constexpr std::array kStop = {
    Word{"stop", "en"},        Word{"unsubscribe", "en"}, Word{"optout", "en"},    Word{"end", "en"},
    Word{"quit", "en"},        Word{"cancel", "en"},      Word{"stopp", "de"},     Word{"abmelden", "de"},
    Word{"austragen", "de"},   Word{"abbestellen", "de"}, Word{"arrêt", "fr"},     Word{"arret", "fr"},
    Word{"arrêter", "fr"},     Word{"désabonner", "fr"},  Word{"desabonner", "fr"}, Word{"basta", "it"},
    Word{"disiscrivi", "it"},  Word{"baja", "es"},        Word{"parar", "pt"},     Word{"sair", "pt"},
    Word{"cancelar", "pt"},
};

// Unambiguous enough to count as the first word of a longer reply.
constexpr std::array kStopPrefix = {
    Word{"stop", "en"},     Word{"unsubscribe", "en"}, Word{"stopp", "de"}, Word{"abmelden", "de"},
    Word{"arrêt", "fr"},    Word{"basta", "it"},       Word{"baja", "es"},
};

template <size_t N>
const Word* Find(const std::array<Word, N>& table, std::string_view s) {
  for (const Word& w : table) {
    if (s == w.text) return &w;
  }
  return nullptr;
}

// Longer than any word of the tables, in code points: past it, the letters
// of a reply or of its first word can no longer match one.
constexpr int32_t kLongestWord = 16;

// Keeps letters and digits only; returns the first run of them in `first`.
// Both stop growing past kLongestWord (a longer result matches no word), so
// a long chat message costs a scan, not a copy.
std::string LettersOnly(const icu::UnicodeString& u, std::string& first) {
  icu::UnicodeString kept, head;
  bool in_first = true, started = false;
  for (int32_t i = 0; i < u.length();) {
    UChar32 c = u.char32At(i);
    bool alnum = u_isalnum(c);
    if (alnum) {
      if (kept.countChar32() <= kLongestWord) kept.append(c);
      if (in_first && head.countChar32() <= kLongestWord) head.append(c);
      started = true;
    } else if (started) {
      in_first = false;
      if (kept.countChar32() > kLongestWord) break;  // neither can match any more
    }
    i += U16_LENGTH(c);
  }
  head.toUTF8String(first);
  std::string out;
  kept.toUTF8String(out);
  return out;
}

// `s` without its diacritics ("não" → "nao"): canonical decomposition, then
// every non-spacing mark dropped. `s` is short (LettersOnly bounds it).
std::string WithoutMarks(const std::string& s) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
  if (U_FAILURE(err)) return s;
  icu::UnicodeString decomposed = nfd->normalize(icu::UnicodeString::fromUTF8(s), err);
  if (U_FAILURE(err)) return s;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    if (u_charType(c) != U_NON_SPACING_MARK) kept.append(c);
    i += U16_LENGTH(c);
  }
  std::string out;
  kept.toUTF8String(out);
  return out;
}

}  // namespace

std::string NormalizeReply(std::string_view text) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(err);
  if (U_FAILURE(err)) return "";
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString out = nfkc_cf->normalize(in, err);
  if (U_FAILURE(err)) return "";
  out.trim();
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

ReplyMeaning ClassifyReply(std::string_view text, std::string_view button_payload) {
  constexpr std::string_view kConfirm = "CONSENTRY_CONFIRM:";
  constexpr std::string_view kDeclineButton = "CONSENTRY_DECLINE:";
  if (button_payload.substr(0, kConfirm.size()) == kConfirm && button_payload.size() > kConfirm.size()) {
    return {ReplyIntent::kAffirm, "", std::string(button_payload.substr(kConfirm.size()))};
  }
  if (button_payload.substr(0, kDeclineButton.size()) == kDeclineButton && button_payload.size() > kDeclineButton.size()) {
    return {ReplyIntent::kDecline, "", std::string(button_payload.substr(kDeclineButton.size()))};
  }
  if (button_payload == "CONSENTRY_STOP") return {ReplyIntent::kOptOut, "", ""};
  std::string norm = NormalizeReply(text);
  if (norm.empty()) return {};
  // Strict: the whole reply is one word of the table.
  if (const Word* w = Find(kAffirm, norm)) return {ReplyIntent::kAffirm, w->language, ""};
  // Liberal: punctuation, case, width and spacing do not matter. A decline
  // as well (B-18): a false decline only ends a request the subject can
  // make again, while a decline that goes unread leaves it hanging.
  std::string first;
  std::string letters = LettersOnly(icu::UnicodeString::fromUTF8(norm), first);
  if (const Word* w = Find(kDecline, letters)) return {ReplyIntent::kDecline, w->language, ""};
  if (const Word* w = Find(kDecline, WithoutMarks(letters))) return {ReplyIntent::kDecline, w->language, ""};
  if (const Word* w = Find(kStop, letters)) return {ReplyIntent::kOptOut, w->language, ""};
  if (const Word* w = Find(kStopPrefix, first)) return {ReplyIntent::kOptOut, w->language, ""};
  return {};
}

std::string OptOutConfirmation(std::string_view language, std::string_view business) {
  const std::string b(business);
  if (language == "de") return "Sie erhalten keine Werbenachrichten mehr von " + b + " über WhatsApp.";
  if (language == "fr") return "Vous ne recevrez plus de messages promotionnels de " + b + " sur WhatsApp.";
  if (language == "it") return "Non riceverai più messaggi promozionali da " + b + " su WhatsApp.";
  if (language == "es") return "Ya no recibirás mensajes promocionales de " + b + " por WhatsApp.";
  if (language == "pt") return "Você não receberá mais mensagens promocionais de " + b + " pelo WhatsApp.";
  return "You will no longer receive promotional messages from " + b + " on WhatsApp.";
}

std::string OptOutFooter(std::string_view language) {
  if (language == "de") return "Antworten Sie STOPP, um keine Nachrichten mehr zu erhalten.";
  if (language == "fr") return "Répondez STOP pour ne plus recevoir de messages.";
  if (language == "it") return "Rispondi BASTA per non ricevere più messaggi.";
  if (language == "es") return "Responde BAJA para dejar de recibir mensajes.";
  if (language == "pt") return "Responda SAIR para não receber mais mensagens.";
  return "Reply STOP to stop receiving messages.";
}

}  // namespace cs
