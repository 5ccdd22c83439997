#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "api/api.h"

namespace cs {
namespace {

class RecordingSink final : public AuditSink {
 public:
  Status Record(AuditEvent event) override {
    events.push_back(std::move(event));
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::vector<AuditEvent> events;
};

// covers: S-09, A-01, A-02
// The public surface is exactly the documented list; every other route
// refuses a request without credentials before doing anything else (the API
// is built here without a store or key service: touching them would crash).
TEST(RouteInventoryTest, OnlyTheDocumentedRoutesArePublic) {
  RecordingSink sink;
  GatewayApiDeps deps;
  deps.audit = &sink;
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(deps);
  std::set<std::string> public_routes;
  std::set<std::string> meta_routes;
  size_t private_routes = 0;
  for (const RouteInfo& route : api->Routes()) {
    if (route.is_public) {
      EXPECT_EQ(route.auth, "none");
      public_routes.insert(route.method + " " + route.pattern);
      continue;
    }
    if (route.auth != "api_key" && route.auth != "api_key_or_session" && route.auth != "session") {
      // Meta's webhook proves itself by signature or verify token, not a key.
      meta_routes.insert(route.method + " " + route.pattern + " " + route.auth);
      continue;
    }
    ++private_routes;
    HttpRequest request;
    request.method = route.method;
    // "{id}" stands in for any id; Graph paths need their numeric shape.
    std::string path = route.pattern;
    if (path.rfind("/{version}/{phone_number_id}/", 0) == 0) {
      path = "/v23.0/100000000000002/" + path.substr(std::string("/{version}/{phone_number_id}/").size());
    }
    if (path == "/{version}/{media_id}") path = "/v23.0/1234567890123456";
    request.path = path;
    request.target = path;
    request.request_id = "req_test";
    HttpResponse response = api->Handle(request);
    EXPECT_EQ(response.status, 401) << route.method << " " << route.pattern;
    EXPECT_EQ(response.error_code, "unauthenticated");
  }
  // The steps before an operator has a session: they prove themselves by
  // password and code, throttled (docs/operators.md).
  EXPECT_EQ(public_routes, (std::set<std::string>{"GET /healthz", "GET /readyz", "GET /metrics", "POST /v1/auth/login",
                                                  "POST /v1/auth/mfa", "POST /v1/invitations/accept",
                                                  "POST /oauth/token", "POST /oauth/revoke"}));
  EXPECT_EQ(meta_routes, (std::set<std::string>{"GET /webhooks/whatsapp/{channel_id} verify_token",
                                                "POST /webhooks/whatsapp/{channel_id} meta_signature",
                                                "GET /v1/media/{id}/download signed_link_or_api_key"}));
  EXPECT_GE(private_routes, 12u);
  // covers: AUD-01 — every refused credential left an audit event.
  ASSERT_EQ(sink.events.size(), private_routes);
  for (const auto& e : sink.events) {
    EXPECT_EQ(e.action, "auth.failure");
    EXPECT_EQ(e.outcome, "unauthenticated");
  }
}

// A flood of bad credentials is recorded one by one up to a rate, then as a
// count, so it cannot fill the audit queue.
TEST(RouteInventoryTest, AuthenticationFailureFloodsAreAggregated) {
  RecordingSink sink;
  FakeClock clock(1'800'000'000'000);  // on a second boundary
  GatewayApiDeps deps;
  deps.audit = &sink;
  deps.clock = &clock;
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(deps);
  HttpRequest request;
  request.method = "GET";
  request.path = request.target = "/v1/me";
  request.request_id = "req_test";
  auto next_second = [&] { clock.AdvanceMillis(1000); };
  for (int i = 0; i < 250; ++i) ASSERT_EQ(api->Handle(request).status, 401);
  EXPECT_EQ(sink.events.size(), 100u);
  next_second();
  ASSERT_EQ(api->Handle(request).status, 401);
  ASSERT_EQ(sink.events.size(), 102u);
  EXPECT_EQ(sink.events[100].action, "auth.failure.suppressed");
  EXPECT_EQ(sink.events[100].details, R"({"count":150})");
  EXPECT_EQ(sink.events[101].action, "auth.failure");
  // A flood that stops is still counted: the server flushes pending counts every second and at shutdown.
  next_second();
  sink.events.clear();
  for (int i = 0; i < 150; ++i) ASSERT_EQ(api->Handle(request).status, 401);
  ASSERT_TRUE(api->FlushPendingAudit().ok());
  ASSERT_EQ(sink.events.size(), 101u);
  EXPECT_EQ(sink.events.back().action, "auth.failure.suppressed");
  EXPECT_EQ(sink.events.back().details, R"({"count":50})");
}

// The permission matrix of docs/api.md: key management needs admin, audit data audit:read (AUD-08).
TEST(RouteInventoryTest, KeyManagementNeedsAdminAndAuditNeedsAuditRead) {
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(GatewayApiDeps{});
  for (const RouteInfo& route : api->Routes()) {
    if (route.pattern.rfind("/v1/apikeys", 0) == 0) {
      EXPECT_EQ(route.scope, "admin") << route.pattern;
    }
    if (route.pattern.rfind("/v1/audit", 0) == 0 || route.pattern.find("access-log") != std::string::npos) {
      EXPECT_EQ(route.scope, "audit:read") << route.pattern;
    }
  }
}

}  // namespace
}  // namespace cs
