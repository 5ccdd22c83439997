#include "consent/keywords.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

// covers: B-18, CONS-01, CONS-05
TEST(KeywordsTest, StrictOnOptInLiberalOnOptOut) {
  struct Case {
    const char* text;
    ReplyIntent intent;
  } cases[] = {
      {"YES", ReplyIntent::kAffirm},
      {"yes", ReplyIntent::kAffirm},
      {"\xEF\xBC\xB9\xEF\xBC\xA5\xEF\xBC\xB3", ReplyIntent::kAffirm},  // ＹＥＳ full-width
      {"Ja\xE2\x80\x8B", ReplyIntent::kAffirm},                          // Ja + zero-width space
      {" Oui ", ReplyIntent::kAffirm},
      {"SÌ", ReplyIntent::kAffirm},
      {"Sí", ReplyIntent::kAffirm},
      {"SIM", ReplyIntent::kAffirm},
      {"Y\xD0\x95S", ReplyIntent::kNone},          // YЕS with a Cyrillic Е
      {"\xF0\x9F\x91\x8D", ReplyIntent::kNone},    // 👍
      {"yes please", ReplyIntent::kNone},
      {"ja?", ReplyIntent::kNone},
      {"yes!", ReplyIntent::kNone},
      {"", ReplyIntent::kNone},
      {"Hello, when does my order arrive?", ReplyIntent::kNone},
      {"NO", ReplyIntent::kDecline},
      {"nein", ReplyIntent::kDecline},
      {"Nein.", ReplyIntent::kDecline},
      {" no! ", ReplyIntent::kDecline},
      {"NÃO", ReplyIntent::kDecline},
      {"n\xC3\xA2o", ReplyIntent::kDecline},                       // nâo: another diacritic
      {"\xEF\xBC\xAE\xEF\xBC\xAF", ReplyIntent::kDecline},     // ＮＯ full-width
      {"Ne\xE2\x80\x8Bin", ReplyIntent::kDecline},                // zero-width space inside
      {"non...", ReplyIntent::kDecline},
      {"no thanks, but tell me more", ReplyIntent::kNone},       // a decline is whole, never a first word
      {"STOP", ReplyIntent::kOptOut},
      {"STOP!", ReplyIntent::kOptOut},
      {" stop ", ReplyIntent::kOptOut},
      {"Stopp.", ReplyIntent::kOptOut},
      {"\xEF\xBC\xB3\xEF\xBC\xB4\xEF\xBC\xAF\xEF\xBC\xB0", ReplyIntent::kOptOut},  // ＳＴＯＰ
      {"S T O P", ReplyIntent::kOptOut},
      {"stop please", ReplyIntent::kOptOut},
      {"ARRÊT", ReplyIntent::kOptOut},
      {"Abmelden", ReplyIntent::kOptOut},
      {"UNSUBSCRIBE", ReplyIntent::kOptOut},
      {"basta!", ReplyIntent::kOptOut},
      {"BAJA", ReplyIntent::kOptOut},
      {"st\xE2\x80\x8Bop", ReplyIntent::kOptOut},  // zero-width space inside
      {"stopping by later", ReplyIntent::kNone},
  };
  for (const Case& c : cases) EXPECT_EQ(ClassifyReply(c.text).intent, c.intent) << c.text;
  EXPECT_EQ(ClassifyReply("Ja").language, "de");
  EXPECT_EQ(ClassifyReply("stopp").language, "de");
  EXPECT_EQ(ClassifyReply("Confirm", "CONSENTRY_CONFIRM:marketing").intent, ReplyIntent::kAffirm);
  EXPECT_EQ(ClassifyReply("Confirm", "CONSENTRY_CONFIRM:marketing").purpose, "marketing");
  EXPECT_EQ(ClassifyReply("No thanks", "CONSENTRY_DECLINE:orders").intent, ReplyIntent::kDecline);
  EXPECT_EQ(ClassifyReply("Confirm", "CONSENTRY_CONFIRM:").intent, ReplyIntent::kNone);
  EXPECT_EQ(ClassifyReply("Stop promotions", "CONSENTRY_STOP").intent, ReplyIntent::kOptOut);
  EXPECT_EQ(ClassifyReply("\xC3\x28").intent, ReplyIntent::kNone);  // invalid UTF-8
}

TEST(KeywordsTest, ConfirmsTheOptOutInTheSubjectsLanguage) {
  EXPECT_NE(OptOutConfirmation("de", "Shop").find("keine Werbenachrichten"), std::string::npos);
  EXPECT_NE(OptOutConfirmation("xx", "Shop").find("no longer receive"), std::string::npos);
  EXPECT_NE(OptOutConfirmation("fr", "Boutique").find("Boutique"), std::string::npos);
}

}  // namespace
// covers: CONS-07 (the footer's own word works: replying with it opts out)
TEST(OptOutFooterTest, EveryLanguagesFooterNamesAWordThatOptsOut) {
  for (const char* language : {"en", "de", "fr", "it", "es", "pt"}) {
    const std::string footer = OptOutFooter(language);
    // The word the footer asks for is the one in capitals.
    std::string word;
    for (char c : footer) {
      if (c >= 'A' && c <= 'Z') {
        word.push_back(c);
      } else if (word.size() > 1) {
        break;
      } else {
        word.clear();
      }
    }
    ASSERT_GT(word.size(), 1u) << language;
    const ReplyMeaning m = ClassifyReply(word);
    EXPECT_EQ(m.intent, ReplyIntent::kOptOut) << language << ": " << word;
  }
  EXPECT_EQ(OptOutFooter("xx"), OptOutFooter("en"));
}

}  // namespace cs
