#include "messaging/url_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/client.h"
#include "http/http.h"

namespace cs {
namespace {

std::string Code(std::string_view url, const UrlPolicy& policy = {}) {
  Status s = CheckOutboundUrl(url, policy);
  return s.ok() ? "ok" : s.machine_code();
}

// covers: B-30, B-31, B-34
TEST(UrlGuardTest, RefusesLocalPrivateAndObfuscatedAddresses) {
  for (const char* url : {
           "https://127.0.0.1/hook", "https://[::1]/hook", "https://0x7f000001/hook", "https://2130706433/hook",
           "https://017700000001/hook", "https://127.1/hook", "https://[::ffff:127.0.0.1]/hook", "https://10.0.0.1/",
           "https://0.0.0.0/", "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/",
           "https://metadata.google.internal/computeMetadata/v1/", "https://192.168.1.10:8443/", "https://172.16.0.1/",
           "https://100.64.0.1/", "https://[fe80::1]/", "https://localhost/", "https://api.localhost/",
           "https://[64:ff9b::a00:1]/", "https://intranet/",
       }) {
    EXPECT_EQ(Code(url), "url_not_allowed") << url;
  }
}

// covers: B-34
TEST(UrlGuardTest, RefusesOtherSchemesAndOddUrls) {
  std::string long_url = "https://example.com/" + std::string(2100, 'a');
  for (const std::string& url : {std::string("http://example.com/hook"), std::string("file:///etc/passwd"),
                                 std::string("gopher://example.com/"), std::string("ftp://example.com/"),
                                 std::string("dict://example.com:11211/"), std::string("https://user:pass@example.com/"),
                                 std::string("https://xn--pple-43d.com/"), std::string("https://аpple.com/"), long_url,
                                 std::string("https://example.com/a b")}) {
    EXPECT_EQ(Code(url), "url_not_allowed") << url;
  }
  EXPECT_EQ(Code("https://hooks.example.com/whatsapp?x=1"), "ok");
  EXPECT_EQ(Code("https://93.184.216.34/hook"), "ok");
  EXPECT_EQ(Code("https://[2606:2800:220:1:248:1893:25c8:1946]/hook"), "ok");
}

TEST(UrlGuardTest, AllowListIsExplicitPerHostAndPort) {
  UrlPolicy policy{{"127.0.0.1:9000", "localhost"}};
  EXPECT_EQ(Code("http://127.0.0.1:9000/hook", policy), "ok");
  EXPECT_EQ(Code("http://127.0.0.1:9001/hook", policy), "url_not_allowed");
  EXPECT_EQ(Code("http://localhost:1234/hook", policy), "ok");
  EXPECT_TRUE(IsAllowListed("http://localhost:1234/x", policy));
  EXPECT_FALSE(IsAllowListed("http://10.0.0.1/x", policy));
}

TEST(UrlGuardTest, ClassifiesResolvedAddresses) {
  for (const char* a : {"127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00:ec2::254", "::ffff:10.0.0.1", "0.0.0.0",
                        "224.0.0.1", "255.255.255.255", "fe80::1", "not-an-address"}) {
    EXPECT_FALSE(IsPublicAddress(a)) << a;
  }
  for (const char* a : {"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"}) EXPECT_TRUE(IsPublicAddress(a)) << a;
}

// covers: B-32, B-33
// A name that resolves to a loopback address is refused at connection
// time, before any packet reaches the listener; a redirect is never followed.
TEST(UrlGuardTest, TheClientDialsOnlyCheckedAddressesAndFollowsNoRedirect) {
  std::atomic<int> hits{0};
  HttpServerOptions o;
  auto server = CreateHttpServer(
      o,
      [&](const HttpRequest&) {
        ++hits;
        HttpResponse r;
        r.status = 302;
        r.headers.emplace_back("Location", "http://169.254.169.254/latest/meta-data");
        return r;
      },
      nullptr);
  ASSERT_TRUE(server.ok());
  std::thread t([&] { (*server)->Run(); });
  const std::string port = std::to_string((*server)->port());

  HttpClientOptions guarded;
  guarded.allow_address = [](std::string_view a) { return IsPublicAddress(a); };
  auto client = CreateHttpClient(guarded);
  auto refused = client->Send("POST", "http://localhost:" + port + "/hook", {}, "{}");
  EXPECT_EQ(refused.status().machine_code(), "url_not_allowed");
  EXPECT_EQ(hits.load(), 0);

  auto plain = CreateHttpClient(HttpClientOptions{});
  auto redirected = plain->Send("POST", "http://127.0.0.1:" + port + "/hook", {}, "{}");
  ASSERT_TRUE(redirected.ok());
  EXPECT_EQ(redirected->status, 302);
  EXPECT_EQ(hits.load(), 1);
  (*server)->Stop();
  t.join();
}

// A refused oversized answer must not poison the next exchange (bytes of
// it left in the read buffer would be parsed as the next answer).
TEST(HttpClientTest, AnOversizedAnswerDoesNotBreakTheNextExchange) {
  HttpServerOptions o;
  o.max_body_bytes = 1 << 20;
  auto server = CreateHttpServer(
      o,
      [](const HttpRequest& req) {
        HttpResponse r;
        r.body = req.path == "/big" ? std::string(200000, 'x') : "{\"ok\":true}";
        return r;
      },
      nullptr);
  ASSERT_TRUE(server.ok());
  std::thread t([&] { (*server)->Run(); });
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  HttpClientOptions co;
  co.max_response_bytes = 64 << 10;
  auto client = CreateHttpClient(co);
  // Declared larger than the cap: refused before the body is read.
  EXPECT_EQ(client->Send("GET", base + "/big", {}, "").status().machine_code(), "upstream_response_too_large");
  for (int i = 0; i < 3; ++i) {
    auto small = client->Send("GET", base + "/small", {}, "");
    ASSERT_TRUE(small.ok()) << small.status().ToString();
    EXPECT_EQ(small->body, "{\"ok\":true}");
  }
  (*server)->Stop();
  t.join();
}

}  // namespace
}  // namespace cs
