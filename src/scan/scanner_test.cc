// covers: CHAN-04, SEN-05, B-38 (detection and masking of sensitive identifiers)
#include <gtest/gtest.h>

#include "scan/scan.h"

namespace cs::scan {
namespace {

class ScannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = Scanner::Create();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scanner_ = std::move(*s).release();
  }
  static void TearDownTestSuite() {
    std::unique_ptr<Scanner> owned(scanner_);
    scanner_ = nullptr;
  }
  // "type:matched text" for each finding, in order.
  static std::vector<std::string> Found(std::string_view text) {
    std::vector<std::string> out;
    for (const Finding& f : scanner_->Scan(text)) {
      out.push_back(std::string(TypeName(f.type)) + ":" + std::string(text.substr(f.start, f.end - f.start)));
    }
    return out;
  }
  using V = std::vector<std::string>;
  static Scanner* scanner_;
};
Scanner* ScannerTest::scanner_ = nullptr;

TEST_F(ScannerTest, CardsInEveryUsualFormat) {
  EXPECT_EQ(Found("my card is 4111 1111 1111 1111 thanks"), V{"card:4111 1111 1111 1111"});
  EXPECT_EQ(Found("4111-1111-1111-1111"), V{"card:4111-1111-1111-1111"});
  EXPECT_EQ(Found("4111.1111.1111.1111."), V{"card:4111.1111.1111.1111"});
  EXPECT_EQ(Found("carte:4111111111111111"), V{"card:4111111111111111"});
  EXPECT_EQ(Found("amex 3782 822463 10005"), V{"card:3782 822463 10005"});
  EXPECT_EQ(Found("Karte 5500 0000 0000 0004 Ablauf 12/27"), V{"card:5500 0000 0000 0004"});
  // A CVV typed right after the number does not hide the card.
  EXPECT_EQ(Found("4111 1111 1111 1111 123"), V{"card:4111 1111 1111 1111"});
}

TEST_F(ScannerTest, CardLookAlikesAreNotCards) {
  EXPECT_EQ(Found("4111 1111 1111 1112"), V{});                    // fails Luhn
  EXPECT_EQ(Found("order 1000 0000 0000 0008 shipped"), V{});      // Luhn-valid, no issuer
  EXPECT_EQ(Found("tracking 9400 1000 0000 0000 0000 00"), V{});   // 22-digit parcel number
  EXPECT_EQ(Found("ref AB4111111111111111"), V{});                 // part of a longer code
  EXPECT_EQ(Found("4111 111 1111 11111"), V{});                    // not a card's grouping
}

TEST_F(ScannerTest, CardBoundariesAndUnicode) {
  EXPECT_EQ(Found("4111111111111111"), V{"card:4111111111111111"});
  EXPECT_EQ(Found("«4111111111111111»"), V{"card:4111111111111111"});
  EXPECT_EQ(Found("carte n°4111 1111 1111 1111, merci"), V{"card:4111 1111 1111 1111"});
  // Full-width digits and non-breaking spaces are read as ASCII; offsets
  // still point into the caller's bytes.
  const std::string full_width = "卡号 ４１１１１１１１１１１１１１１１ 谢谢";
  std::vector<Finding> f = scanner_->Scan(full_width);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, FindingType::kCard);
  EXPECT_EQ(full_width.substr(f[0].start, f[0].end - f[0].start), "４１１１１１１１１１１１１１１１");
  EXPECT_EQ(Found("4111\u00a01111\u00a01111\u00a01111"), V{"card:4111\u00a01111\u00a01111\u00a01111"});
}

TEST_F(ScannerTest, Ibans) {
  EXPECT_EQ(Found("IBAN: DE89 3704 0044 0532 0130 00."), V{"iban:DE89 3704 0044 0532 0130 00"});
  EXPECT_EQ(Found("virement sur FR1420041010050500013M02606 svp"), V{"iban:FR1420041010050500013M02606"});
  EXPECT_EQ(Found("gb82 west 1234 5698 7654 32"), V{"iban:gb82 west 1234 5698 7654 32"});
  EXPECT_EQ(Found("NO93 8601 1117 947 and more"), V{"iban:NO93 8601 1117 947"});
  EXPECT_EQ(Found("DE89 3704 0044 0532 0130 01"), V{});  // checksum
  EXPECT_EQ(Found("XDE89370400440532013000"), V{});       // glued to a letter
}

TEST_F(ScannerTest, Emails) {
  EXPECT_EQ(Found("write to jane.doe+shop@example.co.uk today"), V{"email:jane.doe+shop@example.co.uk"});
  EXPECT_EQ(Found("(mario@posta.it)"), V{"email:mario@posta.it"});
  EXPECT_EQ(Found("end: ana@correo.es."), V{"email:ana@correo.es"});
  EXPECT_EQ(Found("follow @brand on insta"), V{});
  EXPECT_EQ(Found("root@localhost"), V{});
  EXPECT_EQ(Found("a@b.c"), V{});
  EXPECT_EQ(Found("x@-bad-.com"), V{});
}

TEST_F(ScannerTest, PhonesInternationalAndNational) {
  EXPECT_EQ(Found("call +33 6 12 34 56 78"), V{"phone:+33 6 12 34 56 78"});
  EXPECT_EQ(Found("+4915123456789"), V{"phone:+4915123456789"});
  EXPECT_EQ(Found("tel 0049 30 1234567"), V{"phone:0049 30 1234567"});
  EXPECT_EQ(Found("+49 (0)30 1234567"), V{"phone:+49 (0)30 1234567"});
  EXPECT_EQ(Found("appelez le 06 12 34 56 78"), V{"phone:06 12 34 56 78"});
  EXPECT_EQ(Found("ruf an: 0151 23456789"), V{"phone:0151 23456789"});
  EXPECT_EQ(Found("UK 07700 900123"), V{"phone:07700 900123"});
  EXPECT_EQ(Found("US (212) 555-0142"), V{"phone:(212) 555-0142"});
  EXPECT_EQ(Found("or 212-555-0142"), V{"phone:212-555-0142"});
  EXPECT_EQ(Found("cellulare 347 123 4567"), V{"phone:347 123 4567"});
  EXPECT_EQ(Found("móvil 612 34 56 78"), V{"phone:612 34 56 78"});
  EXPECT_EQ(Found("India 98765 43210"), V{"phone:98765 43210"});
  EXPECT_EQ(Found("Brasil (11) 91234-5678"), V{"phone:(11) 91234-5678"});
  EXPECT_EQ(Found("call me 2125550142"), V{"phone:2125550142"});
  EXPECT_EQ(Found("+١٢١٢٥٥٥٠١٤٢"), V{"phone:+١٢١٢٥٥٥٠١٤٢"});  // Arabic-Indic digits
}

TEST_F(ScannerTest, PhoneLookAlikes) {
  EXPECT_EQ(Found("Order #48213377 has shipped"), V{});
  EXPECT_EQ(Found("Bestellnummer 4012888812"), V{});
  EXPECT_EQ(Found("commande n° 2023 558812"), V{});
  EXPECT_EQ(Found("total 1.299.000 EUR"), V{});
  EXPECT_EQ(Found("appointment on 12/03/2024 at 10:30"), V{});
  EXPECT_EQ(Found("4829173650"), V{});  // a bare number with nothing to say it is a phone
  EXPECT_EQ(Found("tracking 1Z999AA10123456784"), V{});
  EXPECT_EQ(Found("+999 12"), V{});
}

TEST_F(ScannerTest, NationalIdentifiers) {
  EXPECT_EQ(Found("NIR 1 84 01 76 451 089 64"), V{"national_id:1 84 01 76 451 089 64"});
  EXPECT_EQ(Found("CF: RSSMRA85T10A562S"), V{"national_id:RSSMRA85T10A562S"});
  EXPECT_EQ(Found("cf rssmra85t10a562s"), V{"national_id:rssmra85t10a562s"});
  EXPECT_EQ(Found("DNI 12345678Z"), V{"national_id:12345678Z"});
  EXPECT_EQ(Found("DNI 12345678-Z"), V{"national_id:12345678-Z"});
  EXPECT_EQ(Found("NIE X-1234567-L"), V{"national_id:X-1234567-L"});
  EXPECT_EQ(Found("Steuer-ID 86095742719"), V{"national_id:86095742719"});
  EXPECT_EQ(Found("DNI 12345678A"), V{});
  EXPECT_EQ(Found("RSSMRA85T10A562T"), V{});
  EXPECT_EQ(Found("1 84 01 76 451 089 65"), V{});
}

TEST_F(ScannerTest, DatesOfBirthNeedTheirContext) {
  EXPECT_EQ(Found("date of birth: 12/03/1985"), V{"dob:12/03/1985"});
  EXPECT_EQ(Found("Je suis née le 3 mars 1990."), V{"dob:3 mars 1990"});
  EXPECT_EQ(Found("geboren am 12. März 1985"), V{"dob:12. März 1985"});
  EXPECT_EQ(Found("nato il 1985-03-12 a Roma"), V{"dob:1985-03-12"});
  EXPECT_EQ(Found("fecha de nacimiento: 12 de marzo de 1985"), V{"dob:12 de marzo de 1985"});
  EXPECT_EQ(Found("I was born on March 12, 1985"), V{"dob:March 12, 1985"});
  EXPECT_EQ(Found("your appointment is on 12/03/1985"), V{});
  EXPECT_EQ(Found("born 31/02/1985"), V{});  // no such day
}

TEST_F(ScannerTest, HealthTerms) {
  EXPECT_EQ(Found("I have diabetes and need insulin"), (V{"health:diabetes", "health:insulin"}));
  EXPECT_EQ(Found("Ich bin schwanger"), V{"health:schwanger"});
  EXPECT_EQ(Found("ma chimiothérapie commence"), V{"health:chimiothérapie"});
  EXPECT_EQ(Found("Antidepressivi"), V{"health:Antidepressivi"});  // any case
  EXPECT_EQ(Found("antidepressivi"), V{"health:antidepressivi"});
  EXPECT_EQ(Found("the diabetesfoo"), V{});     // inside a word
  EXPECT_EQ(Found("prescriptions"), V{"health:prescriptions"});
}

TEST_F(ScannerTest, OverlapsGoToTheMoreSensitiveType) {
  // A card number also looks like a long number: reported once, as a card.
  std::vector<Finding> f = scanner_->Scan("card 4111111111111111");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, FindingType::kCard);
  EXPECT_EQ(f[0].detail, "visa");
}

TEST_F(ScannerTest, ManyFindingsInOneMessage) {
  EXPECT_EQ(Found("Card 4111 1111 1111 1111, IBAN DE89370400440532013000, mail a@example.org, tel +44 20 7946 "
                  "0958"),
            (V{"card:4111 1111 1111 1111", "iban:DE89370400440532013000", "email:a@example.org",
               "phone:+44 20 7946 0958"}));
}

TEST_F(ScannerTest, MaskKeepsAtMostBinAndLastFour) {
  const std::string text = "pay with 4111 1111 1111 1111 please";
  EXPECT_EQ(Mask(text, scanner_->Scan(text)), "pay with 4111 11** **** 1111 please");
  const std::string amex = "3782 822463 10005";
  EXPECT_EQ(Mask(amex, scanner_->Scan(amex)), "**** ****** *0005");
  const std::string iban = "IBAN DE89 3704 0044 0532 0130 00";
  EXPECT_EQ(Mask(iban, scanner_->Scan(iban)), "IBAN DE** **** **** **** **30 00");
  const std::string mixed = "mail jane@example.org, NIE X1234567L";
  EXPECT_EQ(Mask(mixed, scanner_->Scan(mixed)), "mail ****@*******.***, NIE *********");
  const std::string wide = "４１１１１１１１１１１１１１１１";
  EXPECT_EQ(Mask(wide, scanner_->Scan(wide)), "４１１１１１******１１１１");
}

TEST_F(ScannerTest, EmptyAndBinaryInput) {
  EXPECT_TRUE(scanner_->Scan("").empty());
  const std::string bytes("\xff\xfe\x00\x01 4111111111111111 \xc3", 24);
  EXPECT_EQ(scanner_->Scan(bytes).size(), 1u);
}

}  // namespace
}  // namespace cs::scan
