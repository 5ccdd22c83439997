#include <gtest/gtest.h>

#include "auth/auth.h"

namespace cs {
namespace {

TEST(ScopesTest, NormalizesAndRefusesUnknownScopes) {
  auto s = NormalizeScopes({"messages:send", "admin", "messages:send"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (std::vector<std::string>{"admin", "messages:send"}));
  EXPECT_EQ(NormalizeScopes({"Admin"}).status().machine_code(), "invalid_scope");
  EXPECT_EQ(NormalizeScopes({"*"}).status().machine_code(), "invalid_scope");
}

TEST(ScopesTest, ValidatesNames) {
  EXPECT_TRUE(ValidateName("Shop – Zürich", "name").ok());
  EXPECT_FALSE(ValidateName(std::string(101, 'a'), "name").ok());
  EXPECT_TRUE(ValidateName(std::string(100, 'a'), "name").ok());
  EXPECT_FALSE(ValidateName("bad\x7f", "name").ok());
  EXPECT_FALSE(ValidateName("\xff", "name").ok());
}

}  // namespace
}  // namespace cs
