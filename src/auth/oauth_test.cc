#include "auth/oauth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"

namespace cs {
namespace {

class OAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/consentry_oauth_" + std::to_string(getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto store = OpenSqliteStore({dir + "/db", 5000, true, 2});
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 0, std::nullopt, std::nullopt}).ok());
    oauth_ = std::make_unique<OAuthService>(*store_, clock_, random_, ledger_);
  }

  CreatedClient Client(std::vector<std::string> scopes = {"consent:read", "messages:send"}) {
    Result<CreatedClient> c = oauth_->Create(actor_, "ten_a", "crm", scopes);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  static SecretString Copy(const SecretString& s) { return SecretString(std::string(InsecureSecretAccess::Get(s))); }
  std::string Code(const Status& s) { return s.ok() ? "" : s.machine_code(); }

  FakeClock clock_{1'800'000'000'000};
  AuditLedger ledger_{clock_};
  AuditActor actor_{"operator", "cli:test", "cli", ""};
  CryptoRandom random_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OAuthService> oauth_;
};

// covers: SEC-05, S-16
TEST_F(OAuthTest, ClientCredentialsGiveAShortLivedTokenWithTheScopesAskedFor) {
  CreatedClient c = Client();
  Result<IssuedToken> all = oauth_->IssueToken(c.client.id, c.secret, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->scopes, (std::vector<std::string>{"consent:read", "messages:send"}));
  EXPECT_EQ(all->expires_in_s, 900);
  Result<IssuedToken> narrow = oauth_->IssueToken(c.client.id, c.secret, {"consent:read"});
  ASSERT_TRUE(narrow.ok());
  Result<Principal> p = oauth_->Authenticate(InsecureSecretAccess::Get(narrow->access_token));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->tenant_id, "ten_a");
  EXPECT_EQ(p->key_id, c.client.id);
  EXPECT_TRUE(p->HasScope("consent:read"));
  EXPECT_FALSE(p->HasScope("messages:send"));  // only what the token was given (S-16)
  // A scope the client never registered is refused.
  EXPECT_EQ(Code(oauth_->IssueToken(c.client.id, c.secret, {"admin"}).status()), "invalid_scope");
  // Fifteen minutes, then the token is dead.
  clock_.AdvanceMillis(15 * 60'000);
  EXPECT_FALSE(oauth_->Authenticate(InsecureSecretAccess::Get(narrow->access_token)).ok());
}

// covers: SEC-05
TEST_F(OAuthTest, AWrongSecretAnUnknownClientAndARevokedOneLookAlike) {
  CreatedClient c = Client();
  EXPECT_EQ(Code(oauth_->IssueToken(c.client.id, SecretString("ocs_wrong"), {}).status()), "invalid_client");
  EXPECT_EQ(Code(oauth_->IssueToken("ocl_000000000000000000000000", c.secret, {}).status()), "invalid_client");
  Result<IssuedToken> t = oauth_->IssueToken(c.client.id, c.secret, {});
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(oauth_->Revoke(actor_, "ten_a", c.client.id).ok());
  // Revoking the client ends its tokens at once.
  EXPECT_FALSE(oauth_->Authenticate(InsecureSecretAccess::Get(t->access_token)).ok());
  EXPECT_EQ(Code(oauth_->IssueToken(c.client.id, c.secret, {}).status()), "invalid_client");
}

// covers: SEC-05, SEC-03
TEST_F(OAuthTest, ARotatedSecretKeepsWorkingForItsOverlapOnly) {
  CreatedClient c = Client();
  Result<CreatedClient> rotated = oauth_->RotateSecret(actor_, "ten_a", c.client.id, 3'600'000);
  ASSERT_TRUE(rotated.ok());
  EXPECT_TRUE(oauth_->IssueToken(c.client.id, c.secret, {}).ok());
  EXPECT_TRUE(oauth_->IssueToken(c.client.id, rotated->secret, {}).ok());
  clock_.AdvanceMillis(3'600'000);
  EXPECT_EQ(Code(oauth_->IssueToken(c.client.id, c.secret, {}).status()), "invalid_client");
  EXPECT_TRUE(oauth_->IssueToken(c.client.id, rotated->secret, {}).ok());
  // A second rotation without overlap ends the previous secret at once.
  Result<CreatedClient> again = oauth_->RotateSecret(actor_, "ten_a", c.client.id, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Code(oauth_->IssueToken(c.client.id, rotated->secret, {}).status()), "invalid_client");
}

// covers: SEC-05
TEST_F(OAuthTest, AClientRevokesItsOwnToken) {
  CreatedClient c = Client();
  CreatedClient other = Client();
  Result<IssuedToken> t = oauth_->IssueToken(c.client.id, c.secret, {});
  ASSERT_TRUE(t.ok());
  // Another client cannot end it; the answer says nothing.
  EXPECT_TRUE(oauth_->RevokeToken(other.client.id, other.secret, t->access_token).ok());
  EXPECT_TRUE(oauth_->Authenticate(InsecureSecretAccess::Get(t->access_token)).ok());
  EXPECT_TRUE(oauth_->RevokeToken(c.client.id, c.secret, t->access_token).ok());
  EXPECT_FALSE(oauth_->Authenticate(InsecureSecretAccess::Get(t->access_token)).ok());
}

}  // namespace
}  // namespace cs
