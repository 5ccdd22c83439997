#include "common/strings.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

TEST(HexTest, RoundTrips) {
  std::string bytes("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001feff");
  EXPECT_EQ(HexDecode("0001FEff"), bytes);
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(Base64UrlTest, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

// covers: B-16
TEST(Utf8Test, RejectsEveryMalformedClass) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\x80"));                  // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));          // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));          // UTF-8 encoded surrogate
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("ok\xe2\x82"));            // truncated at end
}

TEST(StringsTest, ParsesOnlyPlainNonNegativeIntegers) {
  EXPECT_EQ(ParseNonNegativeInt("0"), 0);
  EXPECT_EQ(ParseNonNegativeInt("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(ParseNonNegativeInt("9223372036854775808").has_value());
  EXPECT_FALSE(ParseNonNegativeInt("-1").has_value());
  EXPECT_FALSE(ParseNonNegativeInt(" 1").has_value());
  EXPECT_FALSE(ParseNonNegativeInt("").has_value());
}

TEST(StringsTest, SplitsTrimsLowersAndFormatsTime) {
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(TrimAscii("  x y \t"), "x y");
  EXPECT_EQ(AsciiLower("AbC-Ü"), "abc-Ü");
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1700000000123), "2023-11-14T22:13:20.123Z");
}

TEST(StringsTest, ParsesRfc3339) {
  EXPECT_EQ(ParseRfc3339Millis("2023-11-14T22:13:20.123Z"), 1700000000123);
  EXPECT_EQ(ParseRfc3339Millis("2023-11-14T23:13:20+01:00"), 1700000000000);
  EXPECT_EQ(ParseRfc3339Millis("2023-11-14T22:13:20.1Z"), 1700000000100);
  EXPECT_FALSE(ParseRfc3339Millis("2023-11-14 22:13:20Z").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("2023-13-14T22:13:20Z").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("2023-11-14T22:13:20").has_value());
  EXPECT_FALSE(ParseRfc3339Millis("1700000000000").has_value());
}

}  // namespace
}  // namespace cs
