// File: keywords.h
// What a subject's reply means for consent (REQUIREMENTS CONS-01, CONS-05,
// B-18): strict on opt-in, liberal on opt-out.
//
// Text is first normalised with Unicode NFKC case folding (ICU), which also
// removes default-ignorable characters, so "ＹＥＳ" and "Ja" + zero-width
// space read as "yes" and "ja". Then:
// - affirm: the whole reply must be exactly one word of the table (no
//   punctuation, no extra words): "yes please", "ja?", "👍" and homoglyphs
//   like Cyrillic "YЕS" are not consent.
// - decline: as liberal as an opt-out, but whole: punctuation, symbols,
//   spaces and diacritics are dropped, and what remains must be a decline
//   word ("Nein.", " NO! ", "nâo").
// - opt-out: punctuation, symbols and spaces are dropped, and the reply is
//   an opt-out if what remains is a stop word, or if its first word is an
//   unambiguous stop word ("STOP!", " stop ", "Stopp.", "ＳＴＯＰ",
//   "stop please").
// Button payloads CONSENTRY_CONFIRM:<purpose>, CONSENTRY_DECLINE:<purpose>
// and CONSENTRY_STOP are matched exactly; a confirm or decline button names
// the one purpose it answers for.
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>

namespace cs {

enum class ReplyIntent { kNone, kAffirm, kDecline, kOptOut };

struct ReplyMeaning {
  ReplyIntent intent = ReplyIntent::kNone;
  std::string language;  // "en", "de", "fr", "it", "es", "pt" when a keyword matched
  std::string purpose;   // from a confirm/decline button: the purpose it answers for
};

// Returns NFKC_Casefold(text) with surrounding white space removed; invalid
// UTF-8 gives "".
std::string NormalizeReply(std::string_view text);

// Classifies a reply's text (or a button's title) and its button payload.
ReplyMeaning ClassifyReply(std::string_view text, std::string_view button_payload = {});

// The opt-out confirmation sent after a withdrawal, in `language` (English
// when unknown). Non-promotional; names the business.
std::string OptOutConfirmation(std::string_view language, std::string_view business_name);

// The opt-out footer appended to every automated free-form reply the gateway
// writes itself (CONS-07), in `language` (English when unknown). The word it
// asks for is one ClassifyReply reads as an opt-out in that language.
std::string OptOutFooter(std::string_view language);

}  // namespace cs
