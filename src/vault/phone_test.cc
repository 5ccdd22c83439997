#include "vault/phone.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

std::string N(std::string_view in, std::optional<std::string> cc = std::nullopt) {
  auto r = NormalizePhone(in, PhoneNormalization{std::move(cc)});
  return r.ok() ? *r : r.status().machine_code();
}

// covers: B-26, I-01
TEST(NormalizePhoneTest, TheSamePersonAlwaysGivesTheSameNumber) {
  const std::string expected = "+491712345678";
  for (std::string_view form :
       {"+491712345678", "+49 171 2345678", "+49-171-234-5678", "+49 (0)171 2345678", "0049 171 2345678",
        "0049(0)1712345678", "491712345678", "+49.171.234.56.78", "+49/171/2345678",
        "\xef\xbc\x8b\xef\xbc\x94\xef\xbc\x99\xef\xbc\x91\xef\xbc\x97\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"
        "\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98",                         // full-width
        "+\xd9\xa4\xd9\xa9\xd9\xa1\xd9\xa7\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7\xd9\xa8",  // Arabic-Indic
        "+49\xc2\xa0" "171\xe2\x80\x93" "2345678"}) {                                // NBSP, en dash
    EXPECT_EQ(N(form), expected) << form;
  }
  EXPECT_EQ(N("0171 2345678", "49"), expected);
  EXPECT_EQ(N("(0171) 2345678", "49"), expected);
  EXPECT_EQ(N("+49 171 2345678", "49"), expected);  // international stays international
  EXPECT_EQ(N("+1 (555) 123-4567"), "+15551234567");
  // A NANP tenant: the national form and the international one are the same person.
  EXPECT_EQ(N("(555) 123-4567", "1"), "+15551234567");
  EXPECT_EQ(N("555-123-4567", "1"), N("+1 555 123 4567", "1"));
}

TEST(NormalizePhoneTest, RefusesWhatIsNotAPhoneNumber) {
  for (std::string_view bad : {"", "+49 171 CALL ME", "+49 171 234567x", "++491712345678", "+49+1712345678",
                               "+1234567", "+1234567890123456", "+0491712345678", "0171 2345678",
                               "+49 (171 2345678", "+49 171) 2345678", "+49 ((171)) 2345678", "\xff\xfe",
                               "tel:+491712345678", "+49\n1712345678"}) {
    EXPECT_EQ(N(bad), "invalid_phone") << bad;
  }
}

TEST(NormalizePhoneTest, AcceptsTheE164Bounds) {
  EXPECT_EQ(N("+12345678"), "+12345678");                  // 8 digits
  EXPECT_EQ(N("+123456789012345"), "+123456789012345");    // 15 digits
}

}  // namespace
}  // namespace cs
