// Malformed HTTP, limits, timeouts and bad JSON against the real server:
// each gets its documented answer, and nothing already stored changes.
#include <gtest/gtest.h>

#include <thread>

#include "testing/http_client.h"
#include "testing/process.h"

namespace cs::testing {
namespace {

class HttpLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<std::string>(MakeTempDir("limits"));
    admin_ = std::make_unique<Credentials>(CreateTenantWithKey(*dir_, "limits", "admin"));
    server_ = std::make_unique<ServerProcess>(*dir_, std::vector<std::string>{"CONSENTRY_HTTP_MAX_BODY_BYTES=4096", "CONSENTRY_HTTP_MAX_WEBHOOK_BODY_BYTES=16384", "CONSENTRY_HTTP_MAX_HEADER_BYTES=2048",
                                        "CONSENTRY_HTTP_IDLE_TIMEOUT_MS=400", "CONSENTRY_HTTP_READ_TIMEOUT_MS=700",
                                        "CONSENTRY_JSON_MAX_DEPTH=8"});
  }
  static void TearDownTestSuite() {
    server_.reset();
    admin_.reset();
    dir_.reset();
  }
  void SetUp() override { ASSERT_TRUE(server_->started()); }
  static int port() { return server_->port(); }
  static std::string token() { return admin_->token; }

  static size_t KeyCount() {
    HttpReply r = Call(port(), "GET", "/v1/apikeys", token());
    auto v = ParseJson(r.body);
    return v.ok() && v->Find("data") ? v->Find("data")->as_array().size() : 0;
  }

  // Sends raw bytes and expects an error answer with `status`/`code`, then a closed connection.
  static void ExpectRefusedAndClosed(const std::string& raw, int status, const std::string& code) {
    HttpConnection c(port());
    ASSERT_TRUE(c.connected());
    c.Send(raw);
    auto reply = c.Read(5000);
    ASSERT_TRUE(reply.has_value()) << raw.substr(0, 80);
    EXPECT_EQ(reply->status, status) << reply->raw;
    EXPECT_EQ(reply->ErrorCode(), code) << reply->raw;
    EXPECT_FALSE(reply->Header("x-request-id").empty());
    EXPECT_TRUE(c.WaitClosed(3000));
  }

  static std::unique_ptr<std::string> dir_;
  static std::unique_ptr<Credentials> admin_;
  static std::unique_ptr<ServerProcess> server_;
};

std::unique_ptr<std::string> HttpLimitsTest::dir_;
std::unique_ptr<Credentials> HttpLimitsTest::admin_;
std::unique_ptr<ServerProcess> HttpLimitsTest::server_;

TEST_F(HttpLimitsTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpConnection c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(BuildRequest("GET", "/healthz")));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  // Pipelined: two requests in one write, two answers in order.
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/healthz") + BuildRequest("GET", "/nope")));
  EXPECT_EQ(c.Read()->status, 200);
  EXPECT_EQ(c.Read()->status, 404);
}

TEST_F(HttpLimitsTest, MalformedRequestsGet400AndAClosedConnection) {
  ExpectRefusedAndClosed("GARBAGE\r\n\r\n", 400, "malformed_request");
  ExpectRefusedAndClosed("GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400, "malformed_request");
  ExpectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "malformed_request");
}

// covers: W-07, B-40
TEST_F(HttpLimitsTest, SmugglingShapesAreRefused) {
  ExpectRefusedAndClosed(
      "POST /v1/apikeys HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
      "malformed_request");
  ExpectRefusedAndClosed("POST /v1/apikeys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                         400, "malformed_request");
  ExpectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n", 400, "malformed_request");
}

// covers: W-08
TEST_F(HttpLimitsTest, OversizedBodyIsRefusedFromTheHeaderBeforeItIsSent) {
  HttpConnection c(port());
  // Announce 1 MiB but send none of it: the answer must come anyway.
  c.Send("POST /v1/apikeys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token() +
         "\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n");
  auto r = c.Read(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->ErrorCode(), "payload_too_large");
}

// Meta's webhook route has its own, larger limit; every other route keeps the API's.
TEST_F(HttpLimitsTest, TheWebhookRouteHasItsOwnBodyLimit) {
  auto announce = [&](const std::string& path, size_t length) {
    HttpConnection c(port());
    c.Send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(length) + "\r\n\r\n");
    return c.Read(3000);
  };
  // Above the API's 4 KiB but within the webhook's 16 KiB: read, then judged (no such channel).
  HttpConnection within(port());
  within.Send("POST /webhooks/whatsapp/chn_000000000000000000000000 HTTP/1.1\r\nHost: x\r\n"
              "Content-Type: application/json\r\nContent-Length: 8000\r\n\r\n" + std::string(8000, ' '));
  auto read = within.Read(3000);
  ASSERT_TRUE(read.has_value());
  EXPECT_NE(read->status, 413) << read->raw;
  auto too_big = announce("/webhooks/whatsapp/chn_000000000000000000000000", 20000);
  ASSERT_TRUE(too_big.has_value());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("16384 bytes"), std::string::npos) << too_big->body;
  auto api = announce("/v1/apikeys", 8000);
  ASSERT_TRUE(api.has_value());
  EXPECT_EQ(api->status, 413);
  EXPECT_NE(api->body.find("4096 bytes"), std::string::npos) << api->body;
}

TEST_F(HttpLimitsTest, OversizedChunkedBodyIsRefusedWhileStreaming) {
  size_t before = KeyCount();
  HttpConnection c(port());
  c.Send("POST /v1/apikeys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token() +
         "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string chunk(1024, ' ');
  std::optional<HttpReply> r;
  for (int i = 0; i < 64 && !r; ++i) {
    if (!c.Send("400\r\n" + chunk + "\r\n")) break;
  }
  r = c.Read(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(KeyCount(), before);
}

TEST_F(HttpLimitsTest, OversizedHeadersGet431) {
  ExpectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n", 431,
                         "headers_too_large");
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 300; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  ExpectRefusedAndClosed(many + "\r\n", 431, "headers_too_large");
}

TEST_F(HttpLimitsTest, IdleConnectionsAreClosed) {
  HttpConnection c(port());
  ASSERT_TRUE(c.connected());
  EXPECT_TRUE(c.WaitClosed(3000));  // idle timeout 400 ms
}

// covers: F-23
TEST_F(HttpLimitsTest, SlowlorisIsCutOffAtTheReadTimeout) {
  HttpConnection c(port());
  c.Send("GET /healthz HTTP/1.1\r\n");
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  // Keep trickling header bytes faster than the idle timeout; the read timeout still ends it.
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!c.Send("X-Slow-" + std::to_string(i) + ": 1\r\n")) {
      closed = true;
      break;
    }
    closed = c.WaitClosed(100);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(Call(port(), "GET", "/healthz").status, 200);  // still serving others
}

TEST_F(HttpLimitsTest, BadJsonBodiesGetTheirOwnCodeAndStoreNothing) {
  size_t before = KeyCount();
  ASSERT_GE(before, 1u);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"name\":", "invalid_json"},
      {"{\"name\":\"a\xed\xa0\x80\",\"scopes\":[\"admin\"]}", "invalid_utf8"},
      {"{\"name\":\"a\",\"scopes\":[\"admin\"],\"x\":[[[[[[[[[1]]]]]]]]]}", "json_too_deep"},
      {"{\"name\":\"a\",\"name\":\"b\",\"scopes\":[\"admin\"]}", "ambiguous_input"},
      {"{\"name\":\"a\",\"scopes\":[\"admin\"],\"role\":\"owner\"}", "unknown_field"},
      {"{\"name\":{\"$gt\":\"\"},\"scopes\":[\"admin\"]}", "invalid_type"},
      {"{\"name\":\"a\",\"scopes\":[\"admin\"],\"expires_in_days\":\"1\"}", "invalid_type"},
      {"{\"name\":\"a\",\"scopes\":[\"admin\"],\"expires_in_days\":99999999999999999999}", "invalid_number"},
      {"{\"scopes\":[\"admin\"]}", "missing_field"},
      {"[]", "invalid_type"},
  };
  for (const auto& [body, code] : cases) {
    HttpReply r = Call(port(), "POST", "/v1/apikeys", token(), body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.ErrorCode(), code) << body;
  }
  auto text = Exchange(port(), BuildRequest("POST", "/v1/apikeys",
                                            {{"Authorization", "Bearer " + token()}, {"Content-Type", "text/plain"}},
                                            R"({"name":"a","scopes":["admin"]})"));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->status, 415);
  EXPECT_EQ(text->ErrorCode(), "unsupported_media_type");
  EXPECT_EQ(KeyCount(), before);
}

}  // namespace
}  // namespace cs::testing
