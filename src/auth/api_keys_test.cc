#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "auth/auth.h"
#include "common/secret.h"
#include "store/sqlite/sqlite_store.h"

namespace cs {
namespace {

class ApiKeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/consentry_auth_" + std::to_string(getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = OpenSqliteStore({dir + "/db", 5000, true, 2});
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 0, std::nullopt, std::nullopt}).ok());
    ASSERT_TRUE(store_->tenants().Create({"ten_b", "B", 0, std::nullopt, std::nullopt}).ok());
    service_ = std::make_unique<ApiKeyService>(*store_, clock_, random_, policy_, ledger_);
  }

  IssuedKey MustCreate(const std::string& tenant, std::vector<std::string> scopes = {"messages:send"},
                       std::optional<int64_t> ttl = std::nullopt) {
    auto k = service_->Create(actor_, tenant, "crm", scopes, ttl);
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return std::move(k).value();
  }

  static std::string Token(const IssuedKey& k) { return std::string(InsecureSecretAccess::Get(k.token)); }

  FakeClock clock_{1'700'000'000'000};
  AuditLedger ledger_{clock_};
  AuditActor actor_{"operator", "cli:test", "cli", ""};
  CryptoRandom random_;
  ApiKeyPolicy policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiKeyService> service_;
};

TEST_F(ApiKeyServiceTest, IssuedTokenAuthenticatesAsItsTenantWithItsScopes) {
  IssuedKey k = MustCreate("ten_a", {"messages:send", "admin", "admin"});
  std::string token = Token(k);
  EXPECT_EQ(token.size(), 4u + 24u + 1u + 43u);
  EXPECT_EQ(token.rfind("csk_", 0), 0u);
  auto p = service_->Authenticate(token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->tenant_id, "ten_a");
  EXPECT_EQ(p->key_id, k.record.id);
  // `admin` keeps the template registration it always had (templates:manage).
  EXPECT_EQ(p->scopes, (std::vector<std::string>{"admin", "messages:send", "templates:manage"}));
  EXPECT_TRUE(p->HasScope("admin"));
  EXPECT_FALSE(p->HasScope("audit:read"));
}

TEST_F(ApiKeyServiceTest, OnlyAHashOfTheSecretIsStored) {
  IssuedKey k = MustCreate("ten_a");
  std::string token = Token(k);
  std::string secret = token.substr(token.size() - 43);
  auto stored = store_->api_keys().Get("ten_a", k.record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->secret_hash, Sha256Hex(secret));
  EXPECT_EQ(stored->secret_hash.find(secret), std::string::npos);
}

// covers: B-28
TEST_F(ApiKeyServiceTest, EveryBadCredentialGetsTheSameAnswer) {
  IssuedKey k = MustCreate("ten_a", {"messages:send"}, 1);
  std::string token = Token(k);
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string wrong_secret = token;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  std::string unknown_id = token;
  unknown_id[5] = unknown_id[5] == 'a' ? 'b' : 'a';
  const std::vector<std::string> bad = {"", "csk_", " " + token, token + " ", upper, wrong_secret, unknown_id,
                                        "Bearer " + token, token.substr(0, token.size() - 1)};
  std::string expected = Unauthenticated("missing, invalid, expired or revoked credentials").ToString();
  for (const auto& t : bad) {
    EXPECT_EQ(service_->Authenticate(t).status().ToString(), expected) << t.size();
  }
  clock_.AdvanceMillis(86'400'000);  // exactly at expiry: no longer valid
  EXPECT_EQ(service_->Authenticate(token).status().ToString(), expected);
}

TEST_F(ApiKeyServiceTest, RevocationTakesEffectImmediately) {
  IssuedKey k = MustCreate("ten_a");
  ASSERT_TRUE(service_->Authenticate(Token(k)).ok());
  ASSERT_TRUE(service_->Revoke(actor_, "ten_a", k.record.id).ok());
  EXPECT_EQ(service_->Authenticate(Token(k)).status().code(), StatusCode::kUnauthenticated);
  // Another tenant cannot revoke it, and gets the answer a missing key gets.
  IssuedKey other = MustCreate("ten_a");
  EXPECT_EQ(service_->Revoke(actor_, "ten_b", other.record.id).ToString(), service_->Revoke(actor_, "ten_b", "key_x").ToString());
  EXPECT_TRUE(service_->Authenticate(Token(other)).ok());
}

TEST_F(ApiKeyServiceTest, RotationKeepsTheOldKeyForTheOverlapOnly) {
  IssuedKey old = MustCreate("ten_a", {"admin", "audit:read"}, 30);
  auto rotated = service_->Rotate(actor_, "ten_a", old.record.id, 60);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->record.scopes, old.record.scopes);
  EXPECT_EQ(rotated->record.rotated_from, old.record.id);
  EXPECT_NE(Token(*rotated), Token(old));
  clock_.AdvanceMillis(59'999);
  EXPECT_TRUE(service_->Authenticate(Token(old)).ok());
  EXPECT_TRUE(service_->Authenticate(Token(*rotated)).ok());
  clock_.AdvanceMillis(1);
  EXPECT_FALSE(service_->Authenticate(Token(old)).ok());
  EXPECT_TRUE(service_->Authenticate(Token(*rotated)).ok());
  EXPECT_EQ(service_->Rotate(actor_, "ten_a", old.record.id, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Rotate(actor_, "ten_b", rotated->record.id, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Rotate(actor_, "ten_a", rotated->record.id, 99'999'999).status().machine_code(), "invalid_overlap");
}

// covers: SEC-03
TEST_F(ApiKeyServiceTest, ALineageNeverHasMoreThanTwoLiveKeys) {
  IssuedKey first = MustCreate("ten_a");
  auto second = service_->Rotate(actor_, "ten_a", first.record.id, 3600);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(service_->Authenticate(Token(first)).ok());
  auto third = service_->Rotate(actor_, "ten_a", second->record.id, 3600);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(service_->Authenticate(Token(first)).ok());  // superseded twice: stopped now
  EXPECT_TRUE(service_->Authenticate(Token(*second)).ok());
  EXPECT_TRUE(service_->Authenticate(Token(*third)).ok());
  // Forking a lineage is refused: a rotated key cannot be rotated again.
  EXPECT_EQ(service_->Rotate(actor_, "ten_a", second->record.id, 60).status().machine_code(), "conflict");
}

TEST_F(ApiKeyServiceTest, CreationValidatesItsInput) {
  EXPECT_EQ(service_->Create(actor_, "ten_a", "crm", {"messages:sendx"}, {}).status().machine_code(), "invalid_scope");
  EXPECT_EQ(service_->Create(actor_, "ten_a", "crm", {}, {}).status().machine_code(), "invalid_scope");
  EXPECT_EQ(service_->Create(actor_, "ten_a", "", {"admin"}, {}).status().machine_code(), "invalid_name");
  EXPECT_EQ(service_->Create(actor_, "ten_a", "a\nb", {"admin"}, {}).status().machine_code(), "invalid_name");
  EXPECT_EQ(service_->Create(actor_, "ten_a", "crm", {"admin"}, 366).status().machine_code(), "invalid_ttl");
  EXPECT_EQ(service_->Create(actor_, "ten_a", "crm", {"admin"}, 0).status().machine_code(), "invalid_ttl");
  EXPECT_EQ(service_->Create(actor_, "ten_zz", "crm", {"admin"}, {}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->api_keys().List("ten_a")->empty());
}

// covers: AUD-01, AUD-07
TEST_F(ApiKeyServiceTest, EveryKeyChangeCommitsWithItsAuditEntry) {
  IssuedKey k = MustCreate("ten_a", {"admin"});
  auto rotated = service_->Rotate(actor_, "ten_a", k.record.id, 0);
  ASSERT_TRUE(rotated.ok());
  ASSERT_TRUE(service_->Revoke(actor_, "ten_a", rotated->record.id).ok());
  EXPECT_FALSE(service_->Revoke(actor_, "ten_b", k.record.id).ok());           // refused: no entry
  EXPECT_FALSE(service_->Create(actor_, "ten_a", "x", {"nope"}, {}).ok());    // refused: no entry
  auto entries = store_->audit().Query({});
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> actions;
  for (const auto& e : *entries) {
    actions.push_back(e.action + " " + e.resource);
    EXPECT_EQ(e.tenant_id, "ten_a");
    EXPECT_EQ(e.actor_id, "cli:test");
    // The token or its hash never reaches the ledger.
    EXPECT_EQ(e.details.find(Token(k).substr(33)), std::string::npos);
    EXPECT_EQ(e.details.find(k.record.secret_hash), std::string::npos);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"apikey.create apikey:" + k.record.id,
                                               "apikey.rotate apikey:" + k.record.id,
                                               "apikey.create apikey:" + rotated->record.id,
                                               "apikey.revoke apikey:" + rotated->record.id}));
}

TEST_F(ApiKeyServiceTest, KeysExpireByDefault) {
  IssuedKey k = MustCreate("ten_a");
  EXPECT_EQ(k.record.expires_at_ms - k.record.created_at_ms, policy_.default_ttl_days * 86'400'000);
}

}  // namespace
}  // namespace cs
