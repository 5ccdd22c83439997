// The HTTP API of a running `consentry serve`, over real sockets.
#include <gtest/gtest.h>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("api");
    a_ = CreateTenantWithKey(dir_, "tenant-a", "admin,messages:send,messages:read");
    b_ = CreateTenantWithKey(dir_, "tenant-b", "admin");
    narrow_ = CreateTenantWithKey(dir_, "tenant-c", "messages:read");
    server_ = std::make_unique<ServerProcess>(dir_);
    ASSERT_TRUE(server_->started());
  }
  int port() const { return server_->port(); }

  std::string dir_;
  Credentials a_, b_, narrow_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(HttpApiTest, HealthReadinessAndMetricsArePublic) {
  HttpReply h = Call(port(), "GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_NE(h.body.find("\"status\":\"ok\""), std::string::npos);
  HttpReply r = Call(port(), "GET", "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"status\":\"ready\",\"schema_version\":"), std::string::npos) << r.body;
  Call(port(), "GET", "/v1/me", a_.token);
  HttpReply m = Call(port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(m.body.find("consentry_http_requests_total{method=\"GET\",route=\"/v1/me\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("# TYPE consentry_http_request_duration_seconds histogram"), std::string::npos);
}

TEST_F(HttpApiTest, EveryResponseCarriesARequestIdAndSafeHeaders) {
  HttpReply fresh = Call(port(), "GET", "/healthz");
  EXPECT_EQ(fresh.Header("x-request-id").size(), 28u);
  EXPECT_EQ(fresh.Header("cache-control"), "no-store");
  EXPECT_EQ(fresh.Header("x-content-type-options"), "nosniff");
  // A client's own id is never reused: it could carry personal data into the logs.
  HttpReply supplied = Call(port(), "GET", "/nope", "", "", {{"X-Request-Id", "trace-42"}});
  EXPECT_NE(supplied.Header("x-request-id"), "trace-42");
  EXPECT_NE(supplied.Header("x-request-id"), fresh.Header("x-request-id"));
  EXPECT_NE(supplied.body.find("\"request_id\":\"" + supplied.Header("x-request-id") + "\""), std::string::npos);
}

// covers: B-28, TEN-02
TEST_F(HttpApiTest, UnknownRevokedAndExpiredKeysGetTheSame401) {
  auto probe = [&](const std::string& token) {
    return WithoutRequestIds(Call(port(), "GET", "/v1/me", token).raw);
  };
  std::string missing = WithoutRequestIds(Exchange(port(), BuildRequest("GET", "/v1/me"))->raw);
  std::string unknown = probe("csk_0123456789abcdef01234567_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  std::string garbage = probe("hello");
  // (Trailing spaces are optional whitespace in HTTP and never reach us; a leading one does.)
  std::string padded = probe(" " + a_.token);
  EXPECT_NE(missing.find("HTTP/1.1 401"), std::string::npos);
  EXPECT_EQ(unknown, missing);
  EXPECT_EQ(garbage, missing);
  EXPECT_EQ(padded, missing);
  // Revocation by another process (the CLI) takes effect on the next request.
  ASSERT_EQ(Call(port(), "GET", "/v1/me", a_.token).status, 200);
  CliResult rv = RunConsentry({"apikey", "revoke", "--data-dir", dir_, "--tenant", a_.tenant_id, a_.key_id});
  ASSERT_EQ(rv.exit_code, 0) << rv.err;
  EXPECT_EQ(probe(a_.token), missing);
  // Two Authorization headers are refused the same way.
  std::string twice = WithoutRequestIds(
      Exchange(port(), BuildRequest("GET", "/v1/me",
                                    {{"Authorization", "Bearer " + b_.token}, {"Authorization", "Bearer " + b_.token}}))
          ->raw);
  EXPECT_EQ(twice, missing);
}

TEST_F(HttpApiTest, ScopesAreEnforced) {
  HttpReply r = Call(port(), "GET", "/v1/apikeys", narrow_.token);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.ErrorCode(), "insufficient_scope");
  EXPECT_EQ(Call(port(), "GET", "/v1/me", narrow_.token).status, 200);
  EXPECT_EQ(Call(port(), "GET", "/v1/apikeys", a_.token).status, 200);
}

// covers: A-03, TEN-02, B-27
TEST_F(HttpApiTest, AnotherTenantsObjectIsByteIdenticalToAMissingOne) {
  auto get = [&](const std::string& method, const std::string& path, const std::string& token) {
    return WithoutRequestIds(Call(port(), method, path, token).raw);
  };
  EXPECT_EQ(Call(port(), "GET", "/v1/apikeys/" + a_.key_id, a_.token).status, 200);
  std::string foreign = get("GET", "/v1/apikeys/" + a_.key_id, b_.token);
  std::string missing = get("GET", "/v1/apikeys/key_000000000000000000000000", b_.token);
  std::string malformed = get("GET", "/v1/apikeys/KEY_X", b_.token);
  EXPECT_NE(foreign.find("HTTP/1.1 404"), std::string::npos) << foreign;
  EXPECT_EQ(foreign, missing);
  EXPECT_EQ(malformed, missing);
  // Nor can tenant B revoke or rotate it.
  EXPECT_EQ(get("DELETE", "/v1/apikeys/" + a_.key_id, b_.token), missing);
  EXPECT_EQ(get("POST", "/v1/apikeys/" + a_.key_id + "/rotate", b_.token), missing);
  EXPECT_EQ(Call(port(), "GET", "/v1/me", a_.token).status, 200);
}

TEST_F(HttpApiTest, KeysAreCreatedRotatedAndRevokedThroughTheApi) {
  HttpReply created = Call(port(), "POST", "/v1/apikeys", a_.token,
                           R"({"name":"helpdesk","scopes":["messages:read"],"expires_in_days":10})");
  ASSERT_EQ(created.status, 201) << created.body;
  JsonValue key = *ParseJson(created.body);
  std::string token = key.Find("token")->as_string();
  std::string id = key.Find("id")->as_string();
  EXPECT_EQ(created.Header("location"), "/v1/apikeys/" + id);
  EXPECT_EQ(Call(port(), "GET", "/v1/me", token).status, 200);
  // The token is never shown again.
  HttpReply got = Call(port(), "GET", "/v1/apikeys/" + id, a_.token);
  EXPECT_EQ(got.body.find(token), std::string::npos);
  EXPECT_EQ(got.body.find("\"token\""), std::string::npos);

  HttpReply rotated = Call(port(), "POST", "/v1/apikeys/" + id + "/rotate", a_.token, R"({"overlap_seconds":0})");
  ASSERT_EQ(rotated.status, 201) << rotated.body;
  std::string new_token = ParseJson(rotated.body)->Find("token")->as_string();
  std::string new_id = ParseJson(rotated.body)->Find("id")->as_string();
  EXPECT_EQ(Call(port(), "GET", "/v1/me", token).status, 401);  // overlap 0: the old key stopped
  EXPECT_EQ(Call(port(), "GET", "/v1/me", new_token).status, 200);

  HttpReply revoked = Call(port(), "DELETE", "/v1/apikeys/" + new_id, a_.token);
  EXPECT_EQ(revoked.status, 200);
  EXPECT_NE(revoked.body.find("\"state\":\"revoked\""), std::string::npos);
  EXPECT_EQ(Call(port(), "GET", "/v1/me", new_token).status, 401);
}

// covers: SEC-06 — an admin key cannot mint or renew scopes it does not hold.
TEST_F(HttpApiTest, KeysCannotGrantScopesTheyDoNotHold) {
  EXPECT_EQ(Call(port(), "POST", "/v1/apikeys", a_.token, R"({"name":"x","scopes":["bogus"]})").ErrorCode(),
            "invalid_scope");
  HttpReply escalate = Call(port(), "POST", "/v1/apikeys", a_.token, R"({"name":"x","scopes":["audit:read"]})");
  EXPECT_EQ(escalate.status, 403);
  EXPECT_EQ(escalate.ErrorCode(), "insufficient_scope");
  HttpReply narrow = Call(port(), "POST", "/v1/apikeys", b_.token, R"({"name":"y","scopes":["admin"]})");
  ASSERT_EQ(narrow.status, 201);
  // b_ holds only admin: it cannot rotate a key of its tenant that has more.
  CliResult wide = RunConsentry({"apikey", "create", "--data-dir", dir_, "--tenant", b_.tenant_id, "--name", "wide",
                                 "--scope", "admin,audit:read", "--json"});
  ASSERT_EQ(wide.exit_code, 0);
  std::string wide_id = wide.Json().Find("id")->as_string();
  EXPECT_EQ(Call(port(), "POST", "/v1/apikeys/" + wide_id + "/rotate", b_.token, "{}").status, 403);
}

TEST_F(HttpApiTest, AKeyIsRotatedOnlyOnce) {
  HttpReply created = Call(port(), "POST", "/v1/apikeys", a_.token, R"({"name":"r","scopes":["messages:read"]})");
  std::string id = ParseJson(created.body)->Find("id")->as_string();
  EXPECT_EQ(Call(port(), "POST", "/v1/apikeys/" + id + "/rotate", a_.token, "{}").status, 201);
  HttpReply again = Call(port(), "POST", "/v1/apikeys/" + id + "/rotate", a_.token, "{}");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.ErrorCode(), "conflict");
}

TEST_F(HttpApiTest, RotationOverlapKeepsBothKeysWorking) {
  HttpReply created = Call(port(), "POST", "/v1/apikeys", a_.token, R"({"name":"x","scopes":["messages:read"]})");
  std::string token = ParseJson(created.body)->Find("token")->as_string();
  std::string id = ParseJson(created.body)->Find("id")->as_string();
  HttpReply rotated = Call(port(), "POST", "/v1/apikeys/" + id + "/rotate", a_.token, "");
  ASSERT_EQ(rotated.status, 201) << rotated.body;
  EXPECT_EQ(Call(port(), "GET", "/v1/me", token).status, 200);
  EXPECT_EQ(Call(port(), "GET", "/v1/me", ParseJson(rotated.body)->Find("token")->as_string()).status, 200);
}

TEST_F(HttpApiTest, UnknownRoutesAndWrongMethodsAreDistinct) {
  HttpReply missing = Call(port(), "GET", "/v0/apikeys", a_.token);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.ErrorCode(), "not_found");
  HttpReply method = Call(port(), "PATCH", "/v1/apikeys", a_.token);
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.Header("allow"), "GET, POST");
}

// covers: C-11, B-39
TEST_F(HttpApiTest, PersonalDataInTheUrlIsRefused) {
  EXPECT_EQ(Call(port(), "GET", "/v1/me?phone=%2B4917612345678", a_.token).ErrorCode(), "sensitive_data_in_url");
  EXPECT_EQ(Call(port(), "GET", "/v1/subjects/+4917612345678", a_.token).ErrorCode(), "sensitive_data_in_url");
  EXPECT_EQ(Call(port(), "GET", "/v1/me?api_key=" + a_.token).ErrorCode(), "sensitive_data_in_url");
}

TEST(HttpDurabilityTest, AcknowledgedWritesSurviveSigkill) {
  std::string dir = MakeTempDir("kill");
  Credentials admin = CreateTenantWithKey(dir, "durable", "admin,messages:read");
  std::vector<std::string> ids;
  {
    ServerProcess server(dir);
    ASSERT_TRUE(server.started());
    for (int i = 0; i < 20; ++i) {
      HttpReply r = Call(server.port(), "POST", "/v1/apikeys", admin.token,
                         R"({"name":"k)" + std::to_string(i) + R"(","scopes":["messages:read"]})");
      ASSERT_EQ(r.status, 201);
      ids.push_back(ParseJson(r.body)->Find("id")->as_string());
    }
    server.Kill();  // SIGKILL right after the last acknowledgement
  }
  ServerProcess again(dir);
  ASSERT_TRUE(again.started());
  for (const auto& id : ids) EXPECT_EQ(Call(again.port(), "GET", "/v1/apikeys/" + id, admin.token).status, 200);
}

TEST(HttpShutdownTest, SigtermStopsCleanly) {
  std::string dir = MakeTempDir("term");
  ServerProcess server(dir);
  ASSERT_TRUE(server.started());
  EXPECT_EQ(Call(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_NE(server.Stderr().find("\"event\":\"server_stopped\""), std::string::npos);
}

TEST(DemoTest, DemoModePrintsAWorkingKey) {
  std::string dir = MakeTempDir("demo");
  ServerProcess server(dir, {}, {"--demo", "--sandbox-listen", "127.0.0.1:0"});  // parallel tests: no fixed port
  ASSERT_TRUE(server.started());
  std::string out = server.Stdout();
  size_t at = out.find("csk_");
  ASSERT_NE(at, std::string::npos) << out;
  std::string token = out.substr(at, 72);
  EXPECT_NE(out.find("Demo tenant: ten_"), std::string::npos);
  EXPECT_EQ(Call(server.port(), "GET", "/v1/me", token).status, 200);
}

// After `scripts/demo`, the admin commands a newcomer tries next work with
// nothing set: they find the demo's master key as `serve --demo` does.
TEST(DemoTest, AdminCommandsAfterTheDemoFindItsMasterKey) {
  std::string dir = MakeTempDir("demo_admin");
  {
    ServerProcess server(dir, {}, {"--demo", "--sandbox-listen", "127.0.0.1:0"});  // parallel tests: no fixed port
    ASSERT_TRUE(server.started());
    EXPECT_EQ(server.Stop(), 0);
  }
  CliResult keys = RunConsentry({"keys", "status", "--data-dir", dir, "--json"});
  EXPECT_EQ(keys.exit_code, 0) << keys.out << keys.err;
  CliResult backup = RunConsentry({"backup", "create", "--data-dir", dir, "--json"});
  EXPECT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  const std::string exported = dir + ".ledger.jsonl";
  CliResult audit = RunConsentry({"audit", "export", "--data-dir", dir, "--out", exported, "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  // The summary is printed, not nothing.
  JsonValue summary = audit.Json();
  EXPECT_TRUE(summary.Find("ok")->as_bool());
  EXPECT_GT(summary.Find("entries")->as_int(), 0);
  EXPECT_EQ(summary.Find("out")->as_string(), exported);
  EXPECT_NE(ReadFile(exported).find("\"type\":\"entry\""), std::string::npos);
  // A gateway started without --demo still refuses the key beside the data.
  CliResult plain = RunConsentry({"serve", "--data-dir", dir, "--listen", "127.0.0.1:0"});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("master_key_missing"), std::string::npos) << plain.err;
}

}  // namespace
}  // namespace cs::testing
