#include "auth/passwords.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

// Cheap parameters for the rules; one test keeps the real ones.
const PasswordCost kTestCost{1024, 1, 1};

std::string Code(const Status& s) { return s.ok() ? "" : s.machine_code(); }

// covers: S-02, SEC-07
TEST(PasswordsTest, LengthRulesWithoutCompositionRules) {
  EXPECT_EQ(Code(CheckNewPassword(SecretString("violet-otte"), {})), "weak_password");  // 11
  EXPECT_EQ(Code(CheckNewPassword(SecretString("violet-otter"), {})), "");             // 12, no digit, no capital
  EXPECT_EQ(Code(CheckNewPassword(SecretString("lowercase only words here"), {})), "");
  // Characters, not bytes: twelve accented letters are twelve.
  EXPECT_EQ(Code(CheckNewPassword(SecretString("éèêëàâäôöûüç"), {})), "");
  std::string unicode;
  for (int i = 0; i < 32; ++i) unicode += "Grüße 🌍" + std::to_string(i % 10);  // 8 characters each: 256
  EXPECT_EQ(Code(CheckNewPassword(SecretString(unicode), {})), "");
  EXPECT_EQ(Code(CheckNewPassword(SecretString(unicode + "!"), {})), "weak_password");  // 257
  std::string long128;
  for (int i = 0; i < 16; ++i) long128 += "Grüße🌍" + std::to_string(i % 10);
  EXPECT_EQ(Code(CheckNewPassword(SecretString(long128), {})), "");
}

// covers: S-03
TEST(PasswordsTest, CommonRepeatedSequentialAndContextPasswordsAreRefused) {
  for (const char* weak : {"winniethepooh", "password1234", "1234dragon!!!", "aaaaaaaaaaaa", "abcabcabcabc",
                           "qwertyuiopasdf", "123456789012", "zyxwvutsrqpo"}) {
    EXPECT_EQ(Code(CheckNewPassword(SecretString(weak), {})), "weak_password") << weak;
  }
  EXPECT_EQ(Code(CheckNewPassword(SecretString("consentry2026!"), {"consentry"})), "weak_password");
  EXPECT_EQ(Code(CheckNewPassword(SecretString("acme-gmbh-2026"), {"ACME-GmbH"})), "weak_password");
  EXPECT_EQ(Code(CheckNewPassword(SecretString("ana.lopez2026"), {"ana.lopez"})), "weak_password");
  // The same words inside a long password are fine.
  EXPECT_EQ(Code(CheckNewPassword(SecretString("acme-gmbh violet otter lamp"), {"acme-gmbh"})), "");
  // Invalid UTF-8 is refused, not guessed at.
  EXPECT_EQ(Code(CheckNewPassword(SecretString(std::string("violet-otter\xff", 13)), {})), "weak_password");
}

// covers: S-02
TEST(PasswordsTest, TheWholePasswordIsHashedAndNormalised) {
  CryptoRandom random;
  std::string a(100, 'x'), b(100, 'x');
  b[90] = 'y';
  Result<std::string> hash = HashPassword(SecretString(a), random, kTestCost);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(*VerifyPassword(SecretString(a), *hash));
  EXPECT_FALSE(*VerifyPassword(SecretString(b), *hash));  // no truncation
  // NFKC: full-width letters are the letters.
  Result<std::string> ascii = HashPassword(SecretString("violet-otter"), random, kTestCost);
  ASSERT_TRUE(ascii.ok());
  EXPECT_TRUE(*VerifyPassword(SecretString("ｖｉｏｌｅｔ－ｏｔｔｅｒ"), *ascii));
  // Two hashes of one password differ (salted).
  EXPECT_NE(*HashPassword(SecretString(a), random, kTestCost), *hash);
  EXPECT_EQ(VerifyPassword(SecretString(a), "$2y$10$bcrypt").status().machine_code(), "invalid_hash");
}

TEST(PasswordsTest, TheProductionCostIsRecordedAndOlderHashesAreRehashed) {
  CryptoRandom random;
  Result<std::string> hash = HashPassword(SecretString("violet-otter"), random);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << *hash;
  EXPECT_FALSE(PasswordNeedsRehash(*hash));
  EXPECT_TRUE(PasswordNeedsRehash(*HashPassword(SecretString("violet-otter"), random, kTestCost)));
}

}  // namespace
}  // namespace cs
