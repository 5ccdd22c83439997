#include "vault/aead.h"

#include <gtest/gtest.h>

#include <set>

namespace cs {
namespace {

AeadKey Key(char fill, uint32_t version) { return std::move(AeadKey::Create(SecretString(std::string(32, fill)), version)).value(); }

const FieldBinding kHere{"ten_a", "sub_1", "msg_1", "text"};

std::string CodeOf(const Result<SecretString>& r) { return r.ok() ? "ok" : r.status().machine_code(); }

TEST(AeadTest, RoundTripsAndUsesAFreshNonceEachTime) {
  CryptoRandom random;
  AeadKey key = Key('k', 7);
  auto a = Seal(key, "Bonjour, votre commande est prête", kHere, random);
  auto b = Seal(key, "Bonjour, votre commande est prête", kHere, random);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find("Bonjour"), std::string::npos);
  EXPECT_EQ(*CiphertextKeyVersion(*a), 7u);
  auto opened = Open(key, *a, kHere);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(InsecureSecretAccess::Get(*opened), "Bonjour, votre commande est prête");
  auto empty = Seal(key, "", kHere, random);
  EXPECT_EQ(InsecureSecretAccess::Get(*Open(key, *empty, kHere)), "");
}

// covers: SEC-02
TEST(AeadTest, AMovedCiphertextDoesNotDecrypt) {
  CryptoRandom random;
  AeadKey key = Key('k', 1);
  std::string c = *Seal(key, "secret", kHere, random);
  EXPECT_EQ(CodeOf(Open(key, c, {"ten_b", "sub_1", "msg_1", "text"})), "integrity_error");
  EXPECT_EQ(CodeOf(Open(key, c, {"ten_a", "sub_2", "msg_1", "text"})), "integrity_error");
  EXPECT_EQ(CodeOf(Open(key, c, {"ten_a", "sub_1", "msg_2", "text"})), "integrity_error");
  EXPECT_EQ(CodeOf(Open(key, c, {"ten_a", "sub_1", "msg_1", "caption"})), "integrity_error");
  // Length-prefixed binding: shifting characters between parts is not the same place.
  EXPECT_EQ(CodeOf(Open(key, c, {"ten_as", "ub_1", "msg_1", "text"})), "integrity_error");
}

// covers: SEC-02
TEST(AeadTest, EveryFlippedOrMissingByteIsAClearError) {
  CryptoRandom random;
  AeadKey key = Key('k', 1);
  std::string c = *Seal(key, "a 200-byte field would do just as well", kHere, random);
  std::set<std::string> codes;
  for (size_t i = 0; i < c.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 7) {
      std::string bad = c;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      std::string code = CodeOf(Open(key, bad, kHere));
      EXPECT_NE(code, "ok") << "byte " << i;
      codes.insert(code);
    }
  }
  EXPECT_EQ(codes, (std::set<std::string>{"integrity_error", "malformed_ciphertext", "wrong_key_version"}));
  for (size_t n = 0; n < c.size(); ++n) EXPECT_NE(CodeOf(Open(key, c.substr(0, n), kHere)), "ok") << n;
  EXPECT_EQ(CodeOf(Open(key, c + "x", kHere)), "integrity_error");
}

TEST(AeadTest, TheWrongKeyOrVersionIsRefused) {
  CryptoRandom random;
  std::string c = *Seal(Key('k', 1), "secret", kHere, random);
  EXPECT_EQ(CodeOf(Open(Key('k', 2), c, kHere)), "wrong_key_version");
  EXPECT_EQ(CodeOf(Open(Key('x', 1), c, kHere)), "integrity_error");
  EXPECT_EQ(AeadKey::Create(SecretString(std::string(16, 'k')), 1).status().machine_code(), "invalid_key");
}

}  // namespace
}  // namespace cs
