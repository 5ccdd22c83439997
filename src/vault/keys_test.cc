#include "vault/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "vault/phone.h"

namespace cs {
namespace {

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string WriteKeyFile(const std::string& content, mode_t mode) {
  std::string path = ::testing::TempDir() + "/consentry_master_" + std::to_string(getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::ofstream(path, std::ios::trunc) << content;
  chmod(path.c_str(), mode);
  return path;
}

// covers: F-09
TEST(MasterKeyTest, LoadsFromTheEnvironmentOrAStrictFile) {
  auto from_env = LoadMasterKey({std::nullopt, kHex});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->size(), 32u);
  auto from_file = LoadMasterKey({WriteKeyFile(kHex + "\n", 0600), std::nullopt});
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_TRUE(from_file->ConstantTimeEquals(InsecureSecretAccess::Get(*from_env)));
}

TEST(MasterKeyTest, RefusesToStartWithoutAGoodKey) {
  EXPECT_EQ(LoadMasterKey({}).status().machine_code(), "master_key_missing");
  EXPECT_EQ(LoadMasterKey({"/nonexistent/key", std::nullopt}).status().machine_code(), "master_key_missing");
  EXPECT_EQ(LoadMasterKey({WriteKeyFile(kHex, 0644), std::nullopt}).status().machine_code(), "insecure_key_file");
  EXPECT_EQ(LoadMasterKey({std::nullopt, kHex.substr(2)}).status().machine_code(), "master_key_invalid");
  EXPECT_EQ(LoadMasterKey({std::nullopt, "zz" + kHex.substr(2)}).status().machine_code(), "master_key_invalid");
  // The error never echoes the key.
  EXPECT_EQ(LoadMasterKey({std::nullopt, kHex.substr(1)}).status().message().find(kHex.substr(1)), std::string::npos);
}

TEST(LocalKmsTest, WrapsBoundToTheirContext) {
  CryptoRandom random;
  auto kms = CreateLocalKms(std::move(LoadMasterKey({std::nullopt, kHex})).value(), random);
  SecretString dek(std::string(32, 'd'));
  auto wrapped = kms->Wrap(dek, "tenant:ten_a:subject:sub_1");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->find(std::string(32, 'd')), std::string::npos);
  auto back = kms->Unwrap(*wrapped, "tenant:ten_a:subject:sub_1");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->ConstantTimeEquals(std::string(32, 'd')));
  EXPECT_EQ(kms->Unwrap(*wrapped, "tenant:ten_a:subject:sub_2").status().machine_code(), "integrity_error");
  auto other = CreateLocalKms(SecretString(std::string(32, 'm')), random);
  EXPECT_EQ(other->Unwrap(*wrapped, "tenant:ten_a:subject:sub_1").status().machine_code(), "integrity_error");
  EXPECT_NE(kms->key_id(), other->key_id());
  EXPECT_EQ(kms->key_id().find(kHex.substr(0, 8)), std::string::npos);
}

// covers: MIN-02, B-26
// covers: SEC-03
TEST(LocalKmsTest, DuringARotationTheNewKeyWrapsAndBothUnwrap) {
  CryptoRandom random;
  auto old_kms = CreateLocalKms(SecretString(std::string(32, 'o')), random);
  auto new_only = CreateLocalKms(SecretString(std::string(32, 'n')), random);
  auto rotating = CreateLocalKms(SecretString(std::string(32, 'n')), random, SecretString(std::string(32, 'o')));
  EXPECT_EQ(rotating->key_id(), new_only->key_id());
  EXPECT_EQ(rotating->previous_key_id(), old_kms->key_id());
  EXPECT_EQ(new_only->previous_key_id(), "");
  const std::string before = *old_kms->Wrap(SecretString("tenant key"), "tenant:t:content:1");
  EXPECT_EQ(InsecureSecretAccess::Get(*rotating->Unwrap(before, "tenant:t:content:1")), "tenant key");
  EXPECT_FALSE(new_only->Unwrap(before, "tenant:t:content:1").ok());
  EXPECT_FALSE(rotating->Unwrap(before, "tenant:t:pepper:1").ok());  // still bound to its context
  const std::string after = *rotating->Wrap(SecretString("tenant key"), "tenant:t:content:1");
  EXPECT_TRUE(new_only->Unwrap(after, "tenant:t:content:1").ok());
  EXPECT_FALSE(old_kms->Unwrap(after, "tenant:t:content:1").ok());
  // The same key given twice is no rotation.
  EXPECT_EQ(CreateLocalKms(SecretString(std::string(32, 'n')), random, SecretString(std::string(32, 'n')))
                ->previous_key_id(),
            "");
}

TEST(PseudonymTest, SamePersonSameTenantSamePseudonymOtherwiseUnrelated) {
  SecretString pepper_a(std::string(32, 'a'));
  SecretString pepper_b(std::string(32, 'b'));
  std::string one = SubjectPseudonym(pepper_a, *NormalizePhone("+49 (0)171 2345678"));
  std::string two = SubjectPseudonym(pepper_a, *NormalizePhone("0049-171-234-5678"));
  EXPECT_EQ(one, two);
  EXPECT_EQ(one.size(), 4u + 64u);
  EXPECT_EQ(one.rfind("sub_", 0), 0u);
  EXPECT_NE(one, SubjectPseudonym(pepper_b, "+491712345678"));
  EXPECT_NE(one, SubjectPseudonym(pepper_a, "+491712345679"));
  EXPECT_EQ(one.find("491712345678"), std::string::npos);
}

}  // namespace
}  // namespace cs
