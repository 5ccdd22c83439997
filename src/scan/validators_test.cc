// covers: CHAN-04, SEN-05 (the validators behind each finding)
#include "scan/validators.h"

#include <gtest/gtest.h>

namespace cs::scan {
namespace {

TEST(LuhnTest, AcceptsValidAndRejectsOneDigitOff) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid("41111111111111a1"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_EQ(LuhnCheckDigit("411111111111111"), '1');
  EXPECT_EQ(LuhnCheckDigit("37828224631000"), '5');
}

TEST(CardBrandTest, KnowsPrefixesAndLengths) {
  EXPECT_EQ(CardBrand("4111111111111111"), "visa");
  EXPECT_EQ(CardBrand("5500000000000004"), "mastercard");
  EXPECT_EQ(CardBrand("2223003122003222"), "mastercard");
  EXPECT_EQ(CardBrand("378282246310005"), "amex");
  EXPECT_EQ(CardBrand("6011111111111117"), "discover");
  EXPECT_EQ(CardBrand("3530111333300000"), "jcb");
  EXPECT_EQ(CardBrand("30569309025904"), "diners");
  // An Amex prefix with a Visa length, and numbers no issuer uses.
  EXPECT_EQ(CardBrand("3782822463100050"), std::nullopt);
  EXPECT_EQ(CardBrand("1000000000000008"), std::nullopt);
  EXPECT_EQ(CardBrand("9400100000000000"), std::nullopt);
}

TEST(IbanTest, ChecksCountryLengthAndMod97) {
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_TRUE(IbanValid("FR1420041010050500013M02606"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(IbanValid("NO9386011117947"));
  EXPECT_FALSE(IbanValid("DE89370400440532013001"));   // checksum
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));    // length
  EXPECT_FALSE(IbanValid("QQ89370400440532013000"));   // country
  EXPECT_EQ(IbanLength("FR"), 27);
  EXPECT_EQ(IbanLength("MT"), 31);
  EXPECT_EQ(IbanLength("US"), 0);
}

TEST(NationalIdTest, FrenchNir) {
  EXPECT_TRUE(FrenchNirValid("184017645108964"));
  EXPECT_TRUE(FrenchNirValid("295037505612301"));
  EXPECT_FALSE(FrenchNirValid("184017645108965"));  // key
  EXPECT_FALSE(FrenchNirValid("584017645108964"));  // sex digit
  EXPECT_FALSE(FrenchNirValid("184157645108964"));  // month 15
}

TEST(NationalIdTest, FrenchNirCorsica) {
  // 2A counts as 19 for the key: 1850519010010 mod 97 = 11, so the key is 86.
  EXPECT_TRUE(FrenchNirValid("185052A01001086"));
  EXPECT_FALSE(FrenchNirValid("185052B01001086"));
}

TEST(NationalIdTest, ItalianCodiceFiscale) {
  EXPECT_TRUE(ItalianCodiceFiscaleValid("RSSMRA85T10A562S"));
  EXPECT_FALSE(ItalianCodiceFiscaleValid("RSSMRA85T10A562T"));  // check letter
  EXPECT_FALSE(ItalianCodiceFiscaleValid("RSSMRA85Z10A562S"));  // Z is not a month
  // Omocodia: digits replaced by letters keep the code valid when the check letter follows.
  EXPECT_TRUE(ItalianCodiceFiscaleValid("RSSMRA85T10A56NH"));
}

TEST(NationalIdTest, SpanishDniAndNie) {
  EXPECT_TRUE(SpanishDniValid("12345678Z"));
  EXPECT_FALSE(SpanishDniValid("12345678A"));
  EXPECT_TRUE(SpanishNieValid("X1234567L"));
  EXPECT_TRUE(SpanishNieValid("Y0000000Z"));
  EXPECT_FALSE(SpanishNieValid("X1234567A"));
}

TEST(NationalIdTest, GermanTaxId) {
  EXPECT_TRUE(GermanTaxIdValid("86095742719"));
  EXPECT_FALSE(GermanTaxIdValid("86095742718"));  // check digit
  EXPECT_FALSE(GermanTaxIdValid("06095742719"));  // leading zero
  EXPECT_FALSE(GermanTaxIdValid("12345678903"));  // no repeated digit
}

TEST(DateTest, Calendar) {
  EXPECT_TRUE(ValidDate(2000, 2, 29));
  EXPECT_FALSE(ValidDate(1900, 2, 29));
  EXPECT_FALSE(ValidDate(1985, 4, 31));
  EXPECT_FALSE(ValidDate(1899, 12, 31));
}

}  // namespace
}  // namespace cs::scan
