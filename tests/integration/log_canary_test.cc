// No phone number, message text, key or token in logs or metrics: plant
// canaries in every input a client controls, then scan every log line.
#include <gtest/gtest.h>

#include <sstream>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

constexpr char kPhone[] = "+4915799912345";
constexpr char kPhoneDigits[] = "4915799912345";
constexpr char kText[] = "CanaryText-9Zq7";

// covers: AUD-05, B-23, B-39
TEST(LogCanaryTest, LogsAndMetricsNeverCarryPersonalDataOrSecrets) {
  std::string dir = MakeTempDir("canary");
  Credentials admin = CreateTenantWithKey(dir, "canary", "admin,messages:read");
  ServerProcess server(dir, {"CONSENTRY_LOG_LEVEL=debug"});
  ASSERT_TRUE(server.started());
  int port = server.port();
  const std::string fake_token = "csk_0123456789abcdef01234567_" + std::string(43, 'Q');
  std::vector<std::string> secrets = {kPhone, kPhoneDigits, kText, admin.token, fake_token,
                                      admin.token.substr(admin.token.size() - 43)};

  // A key created over the API: its token must appear nowhere but in the answer.
  HttpReply created = Call(port, "POST", "/v1/apikeys", admin.token,
                           std::string(R"({"name":"n","scopes":["messages:read"]})"));
  ASSERT_EQ(created.status, 201);
  secrets.push_back(ParseJson(created.body)->Find("token")->as_string());

  // Canaries in every place a client controls.
  Call(port, "GET", std::string("/v1/me?phone=") + kPhone, admin.token);
  Call(port, "GET", std::string("/v1/me?note=") + kText, admin.token);
  Call(port, "GET", std::string("/v1/subjects/") + kPhone, admin.token);
  Call(port, "GET", std::string("/v1/") + kText, admin.token);
  Call(port, "GET", "/v1/me", fake_token);
  Call(port, "GET", "/v1/me", "", "", {{"Authorization", std::string("Basic ") + kText}});
  Call(port, "GET", "/healthz", "", "", {{"X-Request-Id", kText}, {"X-Phone", kPhone}, {"User-Agent", kText}});
  Call(port, "GET", "/healthz", "", "", {{"X-Request-Id", std::string("a\r\nX: ") + kText}});
  Call(port, "POST", "/v1/apikeys", admin.token,
       std::string(R"({"name":")") + kText + R"(","scopes":["messages:read"],")" + kPhone + R"(":")" + kText + "\"}");
  Call(port, "POST", "/v1/apikeys", admin.token, std::string(R"({"name":")") + kPhone + R"(","scopes":["nope"]})");
  Call(port, "POST", "/v1/apikeys", admin.token, std::string("{\"name\":\"") + kText + "\n2025-01-01 INFO forged");
  Call(port, std::string(kText), "/healthz");
  Exchange(port, std::string("GET /") + kPhone + " HTTP/1.1\r\nHost: x\r\nBad" + kText + "\r\n\r\n");
  Exchange(port, std::string(kText) + "\r\n\r\n");
  HttpReply metrics = Call(port, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  ASSERT_EQ(server.Stop(), 0);

  std::string logs = server.Stderr() + server.Stdout();
  ASSERT_NE(logs.find("\"event\":\"http_request\""), std::string::npos);
  for (const auto& s : secrets) {
    EXPECT_EQ(logs.find(s), std::string::npos) << "found in logs: " << s;
    EXPECT_EQ(metrics.body.find(s), std::string::npos) << "found in metrics: " << s;
  }
  // Every line is one JSON object: nothing forged a second entry.
  std::istringstream lines(server.Stderr());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_TRUE(ParseJson(line).ok()) << line;
  }
  EXPECT_GE(count, 15);
  // covers: AUD-04 — nor does the audit ledger, whatever was planted.
  CliResult ledger = RunConsentry({"audit", "export", "--data-dir", dir, "--format", "jsonl"});
  ASSERT_EQ(ledger.exit_code, 0) << ledger.err;
  EXPECT_NE(ledger.out.find("auth.failure"), std::string::npos);
  for (const auto& s : secrets) EXPECT_EQ(ledger.out.find(s), std::string::npos) << "found in audit: " << s;
  // Tokens never reach the disk; only their hashes do.
  std::string disk = ReadTree(dir);
  for (size_t i = 3; i < secrets.size(); ++i) EXPECT_EQ(disk.find(secrets[i]), std::string::npos);
}

}  // namespace
}  // namespace cs::testing
