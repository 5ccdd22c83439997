#include "operators/operators.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/totp.h"
#include "common/strings.h"
#include "store/sqlite/sqlite_store.h"
#include "vault/keys.h"

namespace cs {
namespace {

// The password every test operator sets.
const SecretString kPassword("violet otter lamp");

class OperatorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = ::testing::TempDir() + "/consentry_operators_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    SqliteOptions o;
    o.path = dir_ + "/consentry.db";
    o.synchronous_full = false;
    auto store = OpenSqliteStore(o);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate().ok());
    ASSERT_TRUE(store_->tenants().Create(Tenant{"ten_a", "Acme", 1, std::nullopt, std::nullopt}).ok());
    ASSERT_TRUE(store_->tenants().Create(Tenant{"ten_b", "Other", 1, std::nullopt, std::nullopt}).ok());
    auto master = random_.Bytes(32);
    ASSERT_TRUE(master.ok());
    kms_ = CreateLocalKms(SecretString(*master), random_);
    keyring_ = std::make_unique<TenantKeyring>(*store_, *kms_, random_, clock_);
    SessionPolicy policy;
    policy.password_cost = PasswordCost{1024, 1, 1};  // the rules are what is tested here, not the cost
    ops_ = std::make_unique<OperatorService>(*store_, *keyring_, ledger_, clock_, random_, policy);
  }

  // An operator who accepted the invitation: returns its id.
  std::string Invited(const std::string& login, std::vector<std::string> roles = {"agent"},
                      const std::string& tenant = "ten_a") {
    Result<Invitation> inv = ops_->Create(admin_, OperatorSpec{tenant, login, "Ana", std::move(roles)});
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    if (!inv.ok()) return "";
    Result<OperatorRecord> op = ops_->AcceptInvitation(inv->token, kPassword);
    EXPECT_TRUE(op.ok()) << op.status().ToString();
    return inv->op.id;
  }

  // The authenticator app: the secret from the enrolment URI.
  static SecretString SecretOf(const MfaEnrolment& e) {
    std::string uri(InsecureSecretAccess::Get(e.otpauth_uri));
    std::string b32 = uri.substr(uri.find("secret=") + 7);
    b32 = b32.substr(0, b32.find('&'));
    return SecretString(Base32Decode(b32));
  }

  SecretString CodeNow(const SecretString& secret) {
    return SecretString(TotpCode(secret, clock_.NowUnixMillis() / 1000 / kTotpStepSeconds));
  }

  // A full login at first contact: enrols, returns the session (and the secret).
  LoggedIn FirstLogin(const std::string& login, SecretString* secret_out = nullptr) {
    Result<PasswordStep> step = ops_->Login(login, kPassword, "10.0.0.1", "test", nullptr);
    EXPECT_TRUE(step.ok()) << step.status().ToString();
    if (!step.ok() || !step->enrolment) return {};
    SecretString secret = SecretOf(*step->enrolment);
    Result<LoggedIn> in = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
    EXPECT_TRUE(in.ok()) << in.status().ToString();
    if (secret_out != nullptr) *secret_out = SecretString(std::string(InsecureSecretAccess::Get(secret)));
    return in.ok() ? std::move(in).value() : LoggedIn{};
  }

  std::string dir_;
  FakeClock clock_{1'800'000'000'000};
  CryptoRandom random_;
  AuditLedger ledger_{clock_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Kms> kms_;
  std::unique_ptr<TenantKeyring> keyring_;
  std::unique_ptr<OperatorService> ops_;
  AuditActor admin_{"operator", "cli:test", "cli", ""};
};

// covers: SEC-07, S-01, S-07
TEST_F(OperatorsTest, AnInvitedOperatorSetsAPasswordThenMustEnrolASecondFactor) {
  Result<Invitation> inv = ops_->Create(admin_, OperatorSpec{"ten_a", "Ana@Example.org", "Ana", {"agent"}});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(inv->op.login, "ana@example.org");
  EXPECT_EQ(inv->op.state, "invited");
  // Nobody can log in before the invitation is accepted.
  EXPECT_EQ(ops_->Login("ana@example.org", kPassword, "10.0.0.1", "", nullptr).status().machine_code(), "login_failed");
  // A weak password is refused and the link still works.
  EXPECT_EQ(ops_->AcceptInvitation(inv->token, SecretString("password1234")).status().machine_code(), "weak_password");
  EXPECT_EQ(ops_->AcceptInvitation(inv->token, SecretString("acme violet")).status().machine_code(), "weak_password");
  ASSERT_TRUE(ops_->AcceptInvitation(inv->token, kPassword).ok());
  // Once only.
  EXPECT_EQ(ops_->AcceptInvitation(inv->token, kPassword).status().machine_code(), "invitation_invalid");

  // The password alone opens nothing: the step's token is refused everywhere (S-01).
  Result<PasswordStep> step = ops_->Login("ana@example.org", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  ASSERT_TRUE(step->enrolment.has_value());
  EXPECT_EQ(ops_->Authenticate(step->token).status().machine_code(), "mfa_required");
  EXPECT_NE(step->enrolment->qr_svg.find("<svg"), std::string::npos);
  const SecretString secret = SecretOf(*step->enrolment);
  EXPECT_EQ(ops_->CompleteMfa(step->token, SecretString("000000"), nullptr).status().machine_code(), "mfa_failed");
  Result<LoggedIn> in = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->recovery_codes.size(), 10u);
  // The password step's token is dead; the new one works (S-10).
  EXPECT_NE(InsecureSecretAccess::Get(in->token), InsecureSecretAccess::Get(step->token));
  EXPECT_FALSE(ops_->Authenticate(step->token).ok());
  Result<SessionPrincipal> p = ops_->Authenticate(in->token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->op.tenant_id, "ten_a");
  EXPECT_EQ(p->permissions, (std::vector<std::string>{"consent:read", "content:scan", "messages:read", "messages:send"}));
}

// covers: S-07
TEST_F(OperatorsTest, AnInvitationExpiresAfterADay) {
  Result<Invitation> inv = ops_->Create(admin_, OperatorSpec{"ten_a", "bo@acme.test", "Bo", {"auditor"}});
  ASSERT_TRUE(inv.ok());
  clock_.AdvanceMillis(24 * 3'600'000);
  EXPECT_EQ(ops_->AcceptInvitation(inv->token, kPassword).status().machine_code(), "invitation_invalid");
  Result<Invitation> again = ops_->Reinvite(admin_, "ten_a", inv->op.id);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(ops_->AcceptInvitation(again->token, kPassword).ok());
  EXPECT_EQ(ops_->Reinvite(admin_, "ten_a", inv->op.id).status().machine_code(), "operator_active");
}

// A code works once: not for a second login in the same step, nor in
// another process (the store decides), nor for re-authentication (S-08).
// covers: S-08, SEC-07
TEST_F(OperatorsTest, ATotpCodeIsRefusedWhenReplayedWithinItsStep) {
  Invited("cy@acme.test");
  SecretString secret;
  LoggedIn first = FirstLogin("cy@acme.test", &secret);
  ASSERT_FALSE(InsecureSecretAccess::Get(first.token).empty());
  const SecretString used = CodeNow(secret);  // the code the enrolment used
  Result<PasswordStep> step = ops_->Login("cy@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->enrolment.has_value());
  EXPECT_EQ(ops_->CompleteMfa(step->token, used, nullptr).status().machine_code(), "mfa_failed");
  OperatorService other(*store_, *keyring_, ledger_, clock_, random_, ops_->policy());  // another process
  EXPECT_EQ(other.CompleteMfa(step->token, used, nullptr).status().machine_code(), "mfa_failed");
  clock_.AdvanceMillis(30'000);
  EXPECT_TRUE(ops_->CompleteMfa(step->token, CodeNow(secret), nullptr).ok());
}

// covers: SEC-07
TEST_F(OperatorsTest, ARecoveryCodeWorksOnce) {
  Invited("di@acme.test");
  LoggedIn first = FirstLogin("di@acme.test");
  ASSERT_EQ(first.recovery_codes.size(), 10u);
  const SecretString code(std::string(InsecureSecretAccess::Get(first.recovery_codes[3])));
  Result<PasswordStep> step = ops_->Login("di@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  ASSERT_TRUE(ops_->CompleteMfa(step->token, code, nullptr).ok());
  step = ops_->Login("di@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(ops_->CompleteMfa(step->token, code, nullptr).status().machine_code(), "mfa_failed");
}

// covers: SEC-08, S-11
TEST_F(OperatorsTest, SessionsEndWhenIdleAndAtTheirLifetime) {
  Invited("ed@acme.test");
  SecretString secret;
  LoggedIn in = FirstLogin("ed@acme.test", &secret);
  clock_.AdvanceMillis(14 * 60'000);
  ASSERT_TRUE(ops_->Authenticate(in.token).ok());  // activity keeps it alive
  clock_.AdvanceMillis(14 * 60'000);
  ASSERT_TRUE(ops_->Authenticate(in.token).ok());
  clock_.AdvanceMillis(15 * 60'000);
  EXPECT_EQ(ops_->Authenticate(in.token).status().machine_code(), "session_expired");  // idle

  clock_.AdvanceMillis(60'000);
  Result<PasswordStep> step = ops_->Login("ed@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  Result<LoggedIn> again = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  for (int i = 0; i < 8 * 6; ++i) {  // busy all day, a request every ten minutes
    ASSERT_TRUE(ops_->Authenticate(again->token).ok()) << i;
    clock_.AdvanceMillis(10 * 60'000);
  }
  EXPECT_EQ(ops_->Authenticate(again->token).status().machine_code(), "session_expired");  // 8 hours
  // The wall clock set back does not revive it (F-19 is the clock's; the record is gone).
  clock_.JumpWallMillis(-3 * 3'600'000);
  EXPECT_FALSE(ops_->Authenticate(again->token).ok());
}

// covers: SEC-08, S-12, S-13
TEST_F(OperatorsTest, LogoutDisablingAndAPasswordChangeEndSessions) {
  const std::string id = Invited("fa@acme.test");
  SecretString secret;
  LoggedIn a = FirstLogin("fa@acme.test", &secret);
  clock_.AdvanceMillis(30'000);
  Result<PasswordStep> step = ops_->Login("fa@acme.test", kPassword, "10.0.0.2", "other browser", nullptr);
  ASSERT_TRUE(step.ok());
  Result<LoggedIn> b = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ops_->Sessions("ten_a", id)->size(), 2u);
  // A password change needs the current one, and ends every other session.
  EXPECT_EQ(ops_->ChangePassword(a.token, SecretString("wrong password!"), SecretString("new violet otter")).machine_code(),
            "reauth_failed");
  ASSERT_TRUE(ops_->ChangePassword(a.token, kPassword, SecretString("new violet otter")).ok());
  EXPECT_TRUE(ops_->Authenticate(a.token).ok());
  EXPECT_FALSE(ops_->Authenticate(b->token).ok());
  // Logout ends this one.
  ASSERT_TRUE(ops_->Logout(a.token).ok());
  EXPECT_EQ(ops_->Authenticate(a.token).status().machine_code(), "session_expired");
  // Disabling ends them all at once, and the login stops working.
  clock_.AdvanceMillis(30'000);
  step = ops_->Login("fa@acme.test", SecretString("new violet otter"), "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  Result<LoggedIn> c = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ops_->SetEnabled(admin_, "ten_a", id, false).ok());
  EXPECT_FALSE(ops_->Authenticate(c->token).ok());
  EXPECT_EQ(ops_->Login("fa@acme.test", SecretString("new violet otter"), "10.0.0.1", "", nullptr).status().machine_code(),
            "login_failed");
}

// covers: S-05
TEST_F(OperatorsTest, GuessingSlowsDownWithoutTellingWhichLoginsExist) {
  Invited("gu@acme.test");
  int64_t retry = 0;
  auto attempt = [&](const std::string& login, const std::string& source) {
    retry = 0;
    return ops_->Login(login, SecretString("not the password"), source, "", &retry).status().machine_code();
  };
  // The same answers for a real login and an unknown one.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(attempt("gu@acme.test", "10.0.0.9"), "login_failed");
    EXPECT_EQ(attempt("nobody", "10.0.0.8"), "login_failed");
  }
  EXPECT_EQ(attempt("gu@acme.test", "10.0.0.9"), "login_failed");  // the sixth failure sets the delay
  EXPECT_EQ(attempt("gu@acme.test", "10.0.0.9"), "login_throttled");
  EXPECT_GE(retry, 1000);
  EXPECT_EQ(attempt("nobody", "10.0.0.8"), "login_failed");
  EXPECT_EQ(attempt("nobody", "10.0.0.8"), "login_throttled");
  // Each further failure waits twice as long, up to fifteen minutes.
  int64_t last = 0;
  for (int i = 0; i < 15; ++i) {
    clock_.AdvanceMillis(retry);
    attempt("gu@acme.test", "10.0.0.9");
    attempt("gu@acme.test", "10.0.0.9");
    EXPECT_GE(retry, last);
    last = retry;
  }
  EXPECT_LE(last, 15 * 60'000);
  EXPECT_GE(last, 8 * 60'000);
  // The owner, from their own address, is not locked out by the guesser.
  Result<PasswordStep> owner = ops_->Login("gu@acme.test", kPassword, "192.0.2.7", "", &retry);
  EXPECT_TRUE(owner.ok()) << owner.status().ToString();
}

// covers: SEC-06
TEST_F(OperatorsTest, RolesAreClosedAndGrantTheirPermissions) {
  EXPECT_EQ(ops_->Create(admin_, OperatorSpec{"ten_a", "h1@acme.test", "H", {"root"}}).status().machine_code(), "invalid_role");
  EXPECT_EQ(ops_->Create(admin_, OperatorSpec{"ten_a", "h2@acme.test", "H", {}}).status().machine_code(), "invalid_role");
  EXPECT_EQ(ops_->Create(admin_, OperatorSpec{"ten_a", "no spaces", "H", {"agent"}}).status().machine_code(),
            "invalid_login");
  EXPECT_EQ(PermissionsOfRoles({"auditor"}), (std::vector<std::string>{"audit:read"}));
  EXPECT_EQ(PermissionsOfRoles({"admin"}),
            (std::vector<std::string>{"admin", "operators:manage", "subscribers:manage", "templates:manage"}));
  // Admins read no content by default; auditors no messages.
  for (const char* role : {"admin", "auditor"}) {
    const std::vector<std::string> p = PermissionsOfRoles({role});
    EXPECT_EQ(std::count(p.begin(), p.end(), "messages:read"), 0) << role;
  }
  const std::string id = Invited("h3@acme.test", {"agent"});
  Result<OperatorRecord> changed = ops_->SetRoles(admin_, "ten_a", id, {"supervisor", "agent"});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->roles, (std::vector<std::string>{"agent", "supervisor"}));
  // Logins are unique across tenants; another tenant's operator is not found.
  EXPECT_EQ(ops_->Create(admin_, OperatorSpec{"ten_b", "h3@acme.test", "H", {"agent"}}).status().machine_code(), "conflict");
  EXPECT_EQ(ops_->Get("ten_b", id).status().code(), StatusCode::kNotFound);
}

// covers: SEC-07
TEST_F(OperatorsTest, AnMfaResetEndsSessionsAndEnrolsAgain) {
  const std::string id = Invited("iv@acme.test");
  LoggedIn in = FirstLogin("iv@acme.test");
  ASSERT_TRUE(ops_->ResetMfa(admin_, "ten_a", id).ok());
  EXPECT_FALSE(ops_->Authenticate(in.token).ok());
  clock_.AdvanceMillis(30'000);
  Result<PasswordStep> step = ops_->Login("iv@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->enrolment.has_value());
  // The old recovery codes are gone with it.
  EXPECT_EQ(ops_->CompleteMfa(step->token, in.recovery_codes[0], nullptr).status().machine_code(), "mfa_failed");
}

// covers: SEC-08
TEST_F(OperatorsTest, ReauthenticationIsRecentOnlyForAFewMinutes) {
  Invited("ja@acme.test");
  SecretString secret;
  LoggedIn in = FirstLogin("ja@acme.test", &secret);
  EXPECT_TRUE(ops_->Authenticate(in.token)->recently_verified);
  clock_.AdvanceMillis(5 * 60'000);
  EXPECT_FALSE(ops_->Authenticate(in.token)->recently_verified);
  EXPECT_EQ(ops_->Reauthenticate(in.token, SecretString("wrong")).machine_code(), "reauth_failed");
  ASSERT_TRUE(ops_->Reauthenticate(in.token, kPassword).ok());
  EXPECT_TRUE(ops_->Authenticate(in.token)->recently_verified);
  clock_.AdvanceMillis(5 * 60'000);
  ASSERT_TRUE(ops_->Reauthenticate(in.token, CodeNow(secret)).ok());
  EXPECT_TRUE(ops_->Authenticate(in.token)->recently_verified);
}

// Nothing an operator types or is given is stored in clear: not the
// password, not the TOTP secret, not a session, invitation or recovery code.
// covers: SEC-07, SEC-08
TEST_F(OperatorsTest, NoCredentialIsStoredInClear) {
  Result<Invitation> inv = ops_->Create(admin_, OperatorSpec{"ten_a", "ka@acme.test", "Ka", {"dpo"}});
  ASSERT_TRUE(inv.ok());
  const std::string invitation(InsecureSecretAccess::Get(inv->token));
  ASSERT_TRUE(ops_->AcceptInvitation(inv->token, kPassword).ok());
  Result<PasswordStep> step = ops_->Login("ka@acme.test", kPassword, "10.0.0.1", "", nullptr);
  ASSERT_TRUE(step.ok() && step->enrolment);
  const SecretString secret = SecretOf(*step->enrolment);
  const std::string secret_b32 = Base32(InsecureSecretAccess::Get(secret));
  Result<LoggedIn> in = ops_->CompleteMfa(step->token, CodeNow(secret), nullptr);
  ASSERT_TRUE(in.ok());
  store_.reset();  // everything on disk
  std::string disk;
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    std::ifstream file(f.path(), std::ios::binary);
    std::stringstream ss;
    ss << file.rdbuf();
    disk += ss.str();
  }
  ASSERT_FALSE(disk.empty());
  std::vector<std::string> canaries = {std::string(InsecureSecretAccess::Get(kPassword)), invitation,
                                       std::string(InsecureSecretAccess::Get(in->token)),
                                       std::string(InsecureSecretAccess::Get(step->token)),
                                       std::string(InsecureSecretAccess::Get(secret)), secret_b32};
  for (const SecretString& c : in->recovery_codes) canaries.emplace_back(InsecureSecretAccess::Get(c));
  for (const std::string& canary : canaries) EXPECT_EQ(disk.find(canary), std::string::npos) << canary;
}

// A DPO gives an auditor the right to read consents for two hours, with a
// reason; it ends by itself, its use is noted for the review, and its end
// is named when the permission is asked for again (SEC-10).
// covers: SEC-10
TEST_F(OperatorsTest, AGrantGivesPermissionsForATimeWithAReason) {
  const std::string dpo = Invited("dpo@acme.test", {"dpo"});
  const std::string auditor = Invited("aud@acme.test", {"auditor"});
  LoggedIn in = FirstLogin("aud@acme.test");
  EXPECT_EQ(ops_->Authenticate(in.token)->permissions, (std::vector<std::string>{"audit:read"}));
  GrantSpec spec{auditor, {"consent:read"}, 2 * 3'600'000, "legal_obligation", "court order 4711 for one subject"};
  // Not for oneself, not administrator rights, not without a reason, not for days.
  GrantSpec self = spec;
  self.operator_id = dpo;
  EXPECT_EQ(ops_->Grant(admin_, "ten_a", dpo, self).status().machine_code(), "forbidden");
  GrantSpec admin = spec;
  admin.permissions = {"operators:manage"};
  EXPECT_EQ(ops_->Grant(admin_, "ten_a", dpo, admin).status().machine_code(), "invalid_grant");
  GrantSpec vague = spec;
  vague.reason_text = "because";
  EXPECT_EQ(ops_->Grant(admin_, "ten_a", dpo, vague).status().machine_code(), "invalid_grant");
  GrantSpec week = spec;
  week.duration_ms = 7 * 24 * 3'600'000LL;
  EXPECT_EQ(ops_->Grant(admin_, "ten_a", dpo, week).status().machine_code(), "invalid_grant");

  Result<GrantRecord> g = ops_->Grant(admin_, "ten_a", dpo, spec);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Result<SessionPrincipal> p = ops_->Authenticate(in.token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->permissions, (std::vector<std::string>{"audit:read", "consent:read"}));
  EXPECT_EQ(p->granted, (std::vector<std::string>{"consent:read"}));
  ops_->NoteGrantUse("ten_a", auditor, "consent:read");
  EXPECT_EQ(ops_->Grants("ten_a")->front().last_used_ms, clock_.NowUnixMillis());
  for (int i = 0; i < 12; ++i) {  // two hours of work: the session lives on, the grant does not
    clock_.AdvanceMillis(10 * 60'000);
    ASSERT_TRUE(ops_->Authenticate(in.token).ok()) << i;
  }
  p = ops_->Authenticate(in.token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->permissions, (std::vector<std::string>{"audit:read"}));
  EXPECT_EQ(p->expired, (std::vector<std::string>{"consent:read"}));
  // The grant itself is reviewed by someone else than its holder.
  EXPECT_EQ(ops_->ReviewGrant(admin_, "ten_a", g->id, auditor).status().machine_code(), "forbidden");
  EXPECT_TRUE(ops_->ReviewGrant(admin_, "ten_a", g->id, dpo).ok());
}

// covers: SEC-10
TEST_F(OperatorsTest, BreakGlassLastsAnHourAndIsFlaggedForReview) {
  const std::string agent = Invited("brk@acme.test", {"agent"});
  GrantSpec spec{agent, {"dsar:manage"}, 2 * 3'600'000, "incident", "customer asks for erasure during outage"};
  EXPECT_EQ(ops_->BreakGlass(admin_, "ten_a", spec).status().machine_code(), "invalid_grant");  // over an hour
  spec.duration_ms = 3'600'000;
  Result<GrantRecord> g = ops_->BreakGlass(admin_, "ten_a", spec);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->break_glass);
  EXPECT_FALSE(g->reviewed_at_ms.has_value());
  ASSERT_TRUE(ops_->RevokeGrant(admin_, "ten_a", g->id).ok());
  EXPECT_TRUE(ops_->Grants("ten_a")->front().revoked_at_ms.has_value());
}

}  // namespace
}  // namespace cs
