// Operators through the real binary: invitation, password, enrolment of
// the second factor, the session cookie, CSRF, re-authentication, logout;
// every role against every route (the permission matrix of
// docs/operators.md); no credential in logs, audit or on disk.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "auth/totp.h"
#include "common/secret.h"
#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

const char kPassword[] = "violet otter lamp";

struct Session {
  std::string cookie;  // "cs_session=…"
  std::string csrf;
  std::string secret;  // the TOTP secret (raw bytes)
};

std::string CookieOf(const HttpReply& r) {
  const std::string set = r.Header("set-cookie");
  return set.substr(0, set.find(';'));
}

std::string CodeNow(const std::string& secret) {
  const int64_t step = static_cast<int64_t>(std::time(nullptr)) / kTotpStepSeconds;
  return TotpCode(SecretString(secret), step);
}

HttpReply Send(int port, const std::string& method, const std::string& path, const Session& s,
               const std::string& body = "", bool with_csrf = true) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Cookie", s.cookie}};
  if (with_csrf) headers.emplace_back("X-CSRF-Token", s.csrf);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  auto reply = Exchange(port, BuildRequest(method, path, headers, body));
  return reply ? *reply : HttpReply{};
}

class OperatorsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("operators");
    // Every test operator logs in from 127.0.0.1, and the matrix reads in bulk: those limits are raised.
    server_ = std::make_unique<ServerProcess>(dir_, std::vector<std::string>{"CONSENTRY_LIMITS_ADDRESS_PER_MINUTE=6000",
                                                                                 "CONSENTRY_LIMITS_BULK_PER_MINUTE=6000"},
                                              std::vector<std::string>{"--demo", "--sandbox-listen", "127.0.0.1:0"});
    ASSERT_TRUE(server_->started());
    token_ = After(server_->Stdout(), "csk_", "csk_");
    ASSERT_FALSE(token_.empty());
  }
  int port() const { return server_->port(); }

  // Invited by the CLI, password set over HTTP: the invitation token.
  void Invite(const std::string& login, const std::string& role) {
    CliResult created = RunConsentry({"operator", "create", "--data-dir", dir_, "--tenant", "demo", "--login", login,
                                      "--role", role, "--json"});
    ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
    const std::string token = created.Json().Find("invitation_token")->as_string();
    invitations_.push_back(token);
    HttpReply accepted = Call(port(), "POST", "/v1/invitations/accept", "",
                              R"({"token":")" + token + R"(","password":")" + kPassword + R"("})");
    ASSERT_EQ(accepted.status, 200) << accepted.body;
  }

  // Both factors, enrolling at the first login.
  Session LogIn(const std::string& login, const std::string& known_secret = "") {
    Session s;
    HttpReply step = Call(port(), "POST", "/v1/auth/login", "",
                          R"({"login":")" + login + R"(","password":")" + kPassword + R"("})");
    EXPECT_EQ(step.status, 200) << step.body;
    EXPECT_NE(step.Header("set-cookie").find("HttpOnly; SameSite=Strict"), std::string::npos) << step.Header("set-cookie");
    s.cookie = CookieOf(step);
    s.secret = known_secret;
    if (Result<JsonValue> body = ParseJson(step.body); body.ok() && body->Find("enrollment")) {
      std::string uri = body->Find("enrollment")->Find("otpauth_uri")->as_string();
      std::string b32 = uri.substr(uri.find("secret=") + 7);
      s.secret = Base32Decode(b32.substr(0, b32.find('&')));
    }
    HttpReply mfa = Send(port(), "POST", "/v1/auth/mfa", s, R"({"code":")" + CodeNow(s.secret) + R"("})", false);
    EXPECT_EQ(mfa.status, 200) << mfa.body;
    s.cookie = CookieOf(mfa);
    s.csrf = After(mfa.body, R"("csrf_token":")");
    return s;
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string token_;
  std::vector<std::string> invitations_;
};

// covers: S-01, S-10, S-12, SEC-07, SEC-08
TEST_F(OperatorsHttpTest, AnOperatorLogsInWithBothFactorsAndTheSessionDiesAtLogout) {
  Invite("ana@acme.test", "admin");
  HttpReply step = Call(port(), "POST", "/v1/auth/login", "", R"({"login":"ana@acme.test","password":"violet otter lamp"})");
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_NE(step.body.find(R"("state":"mfa_enrollment_required")"), std::string::npos);
  EXPECT_NE(step.body.find("otpauth://totp/Consentry:ana%40acme.test?secret="), std::string::npos);
  EXPECT_NE(step.body.find("<svg"), std::string::npos);
  // The password alone opens nothing (S-01).
  Session half;
  half.cookie = CookieOf(step);
  EXPECT_EQ(Send(port(), "GET", "/v1/operators", half).ErrorCode(), "mfa_required");
  // A wrong password and an unknown login answer alike.
  HttpReply wrong = Call(port(), "POST", "/v1/auth/login", "", R"({"login":"ana@acme.test","password":"not it at all"})");
  HttpReply unknown = Call(port(), "POST", "/v1/auth/login", "", R"({"login":"zed@acme.test","password":"not it at all"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.ErrorCode(), "login_failed");
  EXPECT_EQ(unknown.ErrorCode(), "login_failed");
  EXPECT_EQ(After(wrong.body, R"("message":")"), After(unknown.body, R"("message":")"));

  Session s = LogIn("ana@acme.test");
  ASSERT_FALSE(s.csrf.empty());
  EXPECT_NE(s.cookie, half.cookie);  // a new token after the second factor (S-10)
  EXPECT_EQ(Send(port(), "GET", "/v1/operators", half).status, 401);
  HttpReply listed = Send(port(), "GET", "/v1/operators", s);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find("ana@acme.test"), std::string::npos);
  // A state-changing request without the CSRF token is refused.
  const std::string invite = R"({"login":"bo@acme.test","display_name":"Bo","roles":["agent"]})";
  EXPECT_EQ(Send(port(), "POST", "/v1/operators", s, invite, false).ErrorCode(), "csrf_failed");
  HttpReply created = Send(port(), "POST", "/v1/operators", s, invite);
  EXPECT_EQ(created.status, 201) << created.body;
  // The console's own routes refuse API keys (S-01).
  EXPECT_EQ(Call(port(), "GET", "/v1/auth/session", token_).ErrorCode(), "session_required");
  EXPECT_EQ(Send(port(), "GET", "/v1/auth/session", s).status, 200);
  // Logout ends it on the server (S-12).
  EXPECT_EQ(Send(port(), "POST", "/v1/auth/logout", s).status, 200);
  EXPECT_EQ(Send(port(), "GET", "/v1/operators", s).ErrorCode(), "session_expired");

  // Everything was audited, by operator id.
  HttpReply audit = Call(port(), "GET", "/v1/audit/events?action=auth.login&limit=100", token_);
  EXPECT_NE(audit.body.find(R"("outcome":"login_failed")"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find(R"("actor_type":"operator")"), std::string::npos) << audit.body;
  // With the request id and the source, as every API request's entry.
  EXPECT_NE(audit.body.find(R"("source":"api 127.0.0.1")"), std::string::npos) << audit.body;
  EXPECT_EQ(audit.body.find(R"("request_id":"")"), std::string::npos) << audit.body;

  // No password, TOTP secret, session or invitation token anywhere: not in
  // the logs, not in the audit, not on disk.
  const std::string logs = server_->Stderr() + server_->Stdout();
  EXPECT_EQ(server_->Stop(), 0);
  const std::string disk = ReadTree(dir_);
  CliResult exported = RunConsentry({"audit", "export", "--data-dir", dir_});
  std::vector<std::string> canaries = {kPassword, s.cookie.substr(s.cookie.find('=') + 1),
                                       half.cookie.substr(half.cookie.find('=') + 1), s.csrf, s.secret};
  for (const std::string& t : invitations_) canaries.push_back(t);
  for (const std::string& canary : canaries) {
    ASSERT_FALSE(canary.empty());
    EXPECT_EQ(logs.find(canary), std::string::npos) << canary;
    EXPECT_EQ(disk.find(canary), std::string::npos) << canary;
    EXPECT_EQ(exported.out.find(canary), std::string::npos) << canary;
  }
}

// Every role against every route: a route a role may use is never refused
// for want of a permission, and a route it may not use always is. The
// table is the documented matrix (docs/operators.md#roles), written out
// here on its own, so a permission a role gains or loses fails the build.
// covers: SEC-06, A-01
TEST_F(OperatorsHttpTest, EveryRoleAgainstEveryRouteMatchesTheMatrix) {
  const std::map<std::string, std::set<std::string>> kAllowed = {
      {"GET /v1/me", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"GET /v1/tenant", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"GET /v1/auth/session", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"GET /v1/auth/sessions", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"DELETE /v1/auth/sessions/{id}", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"POST /v1/auth/reauthenticate", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"POST /v1/auth/password", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"GET /v1/grants", {"dpo"}},
      {"POST /v1/grants", {"dpo"}},
      {"DELETE /v1/grants/{id}", {"dpo"}},
      {"POST /v1/grants/{id}/review", {"dpo"}},
      {"POST /v1/break-glass", {"admin", "agent", "auditor", "dpo", "supervisor"}},
      {"GET /v1/operators", {"admin"}},
      {"POST /v1/operators", {"admin"}},
      {"GET /v1/operators/{id}", {"admin"}},
      {"PUT /v1/operators/{id}/roles", {"admin"}},
      {"POST /v1/operators/{id}/disable", {"admin"}},
      {"POST /v1/operators/{id}/enable", {"admin"}},
      {"POST /v1/operators/{id}/reset-mfa", {"admin"}},
      {"POST /v1/operators/{id}/invite", {"admin"}},
      {"GET /v1/oauth/clients", {"admin"}},
      {"POST /v1/oauth/clients", {"admin"}},
      {"POST /v1/oauth/clients/{id}/rotate", {"admin"}},
      {"DELETE /v1/oauth/clients/{id}", {"admin"}},
      {"GET /v1/apikeys", {"admin"}},
      {"POST /v1/apikeys", {"admin"}},
      {"GET /v1/apikeys/{id}", {"admin"}},
      {"DELETE /v1/apikeys/{id}", {"admin"}},
      {"POST /v1/apikeys/{id}/rotate", {"admin"}},
      {"GET /v1/audit/events", {"auditor", "dpo"}},
      {"GET /v1/audit/export", {"auditor", "dpo"}},
      {"GET /v1/audit/tree-heads", {"auditor", "dpo"}},
      {"GET /v1/audit/proof", {"auditor", "dpo"}},
      {"GET /v1/subjects/{subject}/access-log", {"auditor", "dpo"}},
      {"POST /v1/messages", {"agent", "supervisor"}},
      {"GET /v1/messages/{id}", {"agent", "supervisor"}},
      {"GET /v1/subjects/{subject}/conversation", {"agent", "supervisor"}},
      {"GET /v1/channels", {"admin"}},
      {"POST /v1/channels", {"admin"}},
      {"POST /v1/channels/{id}/credentials", {"admin"}},
      {"POST /v1/channels/{id}/resume", {"admin"}},
      {"GET /v1/purposes", {"agent", "dpo", "supervisor"}},
      {"POST /v1/purposes", {"admin"}},
      {"GET /v1/templates", {"agent", "dpo", "supervisor"}},
      {"POST /v1/templates", {"admin", "supervisor"}},
      {"GET /v1/notices", {"agent", "dpo", "supervisor"}},
      {"POST /v1/notices", {"admin"}},
      {"POST /v1/privacy/sale-sharing/opt-out", {"dpo"}},
      {"POST /v1/privacy/sale-sharing/opt-in", {"dpo"}},
      {"GET /v1/privacy/sale-sharing", {"agent", "dpo", "supervisor"}},
      {"POST /v1/consents", {"dpo"}},
      {"POST /v1/consents/withdraw", {"dpo"}},
      {"GET /v1/subjects/{subject}/consents", {"agent", "dpo", "supervisor"}},
      {"GET /v1/subjects/{subject}/consents/evidence", {"agent", "dpo", "supervisor"}},
      {"GET /v1/conversation-history", {"admin"}},
      {"PUT /v1/conversation-history", {"admin"}},
      {"DELETE /v1/conversation-history", {"admin"}},
      {"POST /v1/erasures", {"dpo"}},
      {"GET /v1/erasures/{id}", {"dpo"}},
      {"POST /v1/scan", {"agent", "supervisor"}},
      {"GET /v1/scan/policy", {"admin"}},
      {"PUT /v1/scan/policy", {"admin"}},
      {"DELETE /v1/scan/policy", {"admin"}},
      {"GET /v1/subscribers", {"admin"}},
      {"POST /v1/subscribers", {"admin"}},
      {"DELETE /v1/subscribers/{id}", {"admin"}},
      {"GET /v1/subscribers/{id}/dead-letters", {"admin"}},
      {"POST /v1/subscribers/{id}/dead-letters/{event_id}/retry", {"admin"}},
  };
  // Every route an operator's session can reach is in the table, and no other.
  CliResult routes = RunConsentry({"routes", "--json"});
  ASSERT_EQ(routes.exit_code, 0);
  std::set<std::string> session_routes;
  const JsonValue inventory = routes.Json();
  for (const JsonValue& r : inventory.Find("routes")->as_array()) {
    const std::string auth = r.Find("auth")->as_string();
    if (auth == "api_key_or_session" || auth == "session") {
      session_routes.insert(r.Find("method")->as_string() + " " + r.Find("pattern")->as_string());
    }
  }
  session_routes.erase("POST /v1/auth/logout");  // ends the session: exercised above
  std::set<std::string> tabled;
  for (const auto& [route, roles] : kAllowed) tabled.insert(route);
  EXPECT_EQ(session_routes, tabled);

  const std::vector<std::string> roles = {"admin", "agent", "auditor", "dpo", "supervisor"};
  std::map<std::string, Session> sessions;
  for (const std::string& role : roles) {
    Invite(role + "@acme.test", role);
    sessions[role] = LogIn(role + "@acme.test");
    ASSERT_FALSE(sessions[role].csrf.empty()) << role;
  }
  for (const auto& [route, allowed] : kAllowed) {
    const std::string method = route.substr(0, route.find(' '));
    std::string path = route.substr(route.find(' ') + 1);
    for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"{id}", "x_000000000000000000000000"}, {"{subject}", "sub_000000000000000000000000"},
             {"{event_id}", "evt_000000000000000000000000"}}) {
      for (size_t at; (at = path.find(from)) != std::string::npos;) path.replace(at, from.size(), to);
    }
    for (const std::string& role : roles) {
      HttpReply r = Send(port(), method, path, sessions[role], method == "GET" || method == "DELETE" ? "" : "{}");
      const bool refused = r.status == 403 && r.ErrorCode() == "insufficient_scope";
      EXPECT_EQ(refused, allowed.count(role) == 0) << role << " " << route << " → " << r.status << " " << r.body;
      EXPECT_NE(r.status, 401) << role << " " << route << " → " << r.body;
      if (!refused) {
        EXPECT_NE(r.status, 403) << role << " " << route << " → " << r.body;
      }
    }
  }
}

}  // namespace
}  // namespace cs::testing

namespace cs::testing {
namespace {

// One tenant floods; another sends as usual and is never refused: each
// tenant has its own bucket, and the flood is refused at its own limit
// with 429 rate_limited and Retry-After, doing nothing (SEC-09, TEN-06).
// covers: SEC-09, TEN-06
TEST(RateLimitTest, OneTenantsFloodIsRefusedAndAnotherTenantsSendsGoOn) {
  const std::string dir = MakeTempDir("limits");
  ServerProcess server(dir,
                       {"CONSENTRY_LIMITS_TENANT_PER_SECOND=20", "CONSENTRY_LIMITS_TENANT_BURST=20",
                        "CONSENTRY_LIMITS_KEY_PER_SECOND=1000", "CONSENTRY_LIMITS_KEY_BURST=1000"},
                       {"--demo", "--sandbox-listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.started());
  const std::string out = server.Stdout();
  const std::string demo_key = After(out, "csk_", "csk_");
  const int sandbox = std::atoi(After(out.substr(out.find("Sandbox:")), "http://127.0.0.1:").c_str());
  Credentials flooder = CreateTenantWithKey(dir, "flooder", "messages:send,messages:read");
  // The demo tenant's customer writes: free-form replies are allowed.
  ASSERT_EQ(Call(sandbox, "POST", "/_sandbox/inbound", "", R"({"from":"4917612345678","type":"text","text":{"body":"hi"}})").status,
            200);
  ASSERT_TRUE(WaitFor([&] {
    return Call(server.port(), "POST", "/v1/messages", demo_key,
                R"({"to":"+4917612345678","text":{"body":"first"}})").status == 202;
  }));

  std::atomic<int> limited{0}, other{0};
  std::string retry_after;
  std::mutex mu;
  std::vector<std::thread> flood;
  for (int t = 0; t < 3; ++t) {
    flood.emplace_back([&] {
      for (int i = 0; i < 60; ++i) {
        HttpReply r = Call(server.port(), "GET", "/v1/messages/msg_000000000000000000000000", flooder.token);
        if (r.status == 429 && r.ErrorCode() == "rate_limited") {
          ++limited;
          std::lock_guard lock(mu);
          retry_after = r.Header("retry-after");
        } else if (r.status != 404) {
          ++other;
        }
      }
    });
  }
  int sent = 0, refused = 0;
  for (int i = 0; i < 15; ++i) {
    HttpReply r = Call(server.port(), "POST", "/v1/messages", demo_key,
                       R"({"to":"+4917612345678","text":{"body":"reply )" + std::to_string(i) + R"("}})");
    if (r.status == 202) ++sent;
    if (r.status == 429) ++refused;
  }
  for (std::thread& t : flood) t.join();
  EXPECT_GT(limited.load(), 100);  // 180 requests against a bucket of 20 refilled at 20/s
  EXPECT_EQ(other.load(), 0);
  EXPECT_FALSE(retry_after.empty());
  EXPECT_EQ(sent, 15);
  EXPECT_EQ(refused, 0);
  HttpReply metrics = Call(server.port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find(R"(consentry_rate_limited_total{limit="tenant"})"), std::string::npos);
}

}  // namespace
}  // namespace cs::testing

namespace cs::testing {
namespace {

// An integration with a client id and secret gets a token from
// /oauth/token (HTTP Basic, a form, RFC 6749's answers), uses it as a
// bearer token with the scopes it asked for, and revokes it (RFC 7009).
// covers: SEC-05, S-16
TEST(OAuthHttpTest, ClientCredentialsOverHttp) {
  const std::string dir = MakeTempDir("oauth");
  ServerProcess server(dir, {}, {"--demo", "--sandbox-listen", "127.0.0.1:0"});
  ASSERT_TRUE(server.started());
  const std::string key = After(server.Stdout(), "csk_", "csk_");
  HttpReply created = Call(server.port(), "POST", "/v1/oauth/clients", key,
                           R"({"name":"crm","scopes":["messages:read","consent:read"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = After(created.body, R"("client_id":")");
  const std::string secret = After(created.body, R"("client_secret":")");
  ASSERT_FALSE(secret.empty());
  auto token_request = [&](const std::string& credentials, const std::string& form) {
    auto r = Exchange(server.port(), BuildRequest("POST", "/oauth/token",
                                                  {{"Authorization", "Basic " + Base64(credentials)},
                                                   {"Content-Type", "application/x-www-form-urlencoded"}},
                                                  form));
    return r ? *r : HttpReply{};
  };
  HttpReply wrong = token_request(id + ":ocs_wrong", "grant_type=client_credentials");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find(R"("error":"invalid_client")"), std::string::npos) << wrong.body;
  EXPECT_EQ(token_request(id + ":" + secret, "grant_type=password").status, 400);
  EXPECT_NE(token_request(id + ":" + secret, "grant_type=client_credentials&scope=admin").body.find("invalid_scope"),
            std::string::npos);
  HttpReply issued = token_request(id + ":" + secret, "grant_type=client_credentials&scope=consent:read");
  ASSERT_EQ(issued.status, 200) << issued.body;
  EXPECT_NE(issued.body.find(R"("token_type":"Bearer","expires_in":900,"scope":"consent:read")"), std::string::npos)
      << issued.body;
  const std::string token = After(issued.body, R"("access_token":")");
  HttpReply me = Call(server.port(), "GET", "/v1/me", token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.body.find(R"("scopes":["consent:read"])"), std::string::npos) << me.body;
  EXPECT_EQ(Call(server.port(), "GET", "/v1/messages/msg_000000000000000000000000", token).ErrorCode(),
            "insufficient_scope");
  auto revoked = Exchange(server.port(), BuildRequest("POST", "/oauth/revoke",
                                                      {{"Content-Type", "application/x-www-form-urlencoded"}},
                                                      "client_id=" + id + "&client_secret=" + secret + "&token=" + token));
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->status, 200);
  EXPECT_EQ(Call(server.port(), "GET", "/v1/me", token).status, 401);
  // Neither the secret nor the token is in the logs or on disk.
  const std::string logs = server.Stderr() + server.Stdout();
  EXPECT_EQ(server.Stop(), 0);
  const std::string disk = ReadTree(dir);
  for (const std::string& canary : {secret, token}) {
    EXPECT_EQ(logs.find(canary), std::string::npos);
    EXPECT_EQ(disk.find(canary), std::string::npos);
  }
}

}  // namespace
}  // namespace cs::testing
