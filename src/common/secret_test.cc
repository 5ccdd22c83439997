#include "common/secret.h"

#include <gtest/gtest.h>

#include <sstream>

namespace cs {
namespace {

TEST(SecretStringTest, NeverPrintsItsValue) {
  SecretString s("cs_supersecret");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
}

TEST(SecretStringTest, ComparesAndMoves) {
  SecretString a("token-value");
  EXPECT_TRUE(a.ConstantTimeEquals("token-value"));
  EXPECT_FALSE(a.ConstantTimeEquals("token-valuE"));
  EXPECT_FALSE(a.ConstantTimeEquals("token"));
  SecretString b = std::move(a);
  EXPECT_EQ(InsecureSecretAccess::Get(b), "token-value");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from secrets are wiped
}

}  // namespace
}  // namespace cs
