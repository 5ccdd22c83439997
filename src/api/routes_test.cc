#include <gtest/gtest.h>

#include <set>

#include "api/api.h"

namespace cs {
namespace {

// covers: S-09, A-01, A-02
// The public surface is exactly the documented list; every other route
// refuses a request without credentials before doing anything else (the API
// is built here without a store or key service: touching them would crash).
TEST(RouteInventoryTest, OnlyTheDocumentedRoutesArePublic) {
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(GatewayApiDeps{});
  std::set<std::string> public_routes;
  size_t private_routes = 0;
  for (const RouteInfo& route : api->Routes()) {
    if (route.is_public) {
      public_routes.insert(route.method + " " + route.pattern);
      continue;
    }
    ++private_routes;
    HttpRequest request;
    request.method = route.method;
    request.path = route.pattern;  // "{id}" stands in for any id
    request.target = route.pattern;
    request.request_id = "req_test";
    HttpResponse response = api->Handle(request);
    EXPECT_EQ(response.status, 401) << route.method << " " << route.pattern;
    EXPECT_EQ(response.error_code, "unauthenticated");
  }
  EXPECT_EQ(public_routes, (std::set<std::string>{"GET /healthz", "GET /readyz", "GET /metrics"}));
  EXPECT_GE(private_routes, 7u);
}

// Every admin route requires the admin scope (the permission matrix of docs/api.md).
TEST(RouteInventoryTest, KeyManagementNeedsTheAdminScope) {
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(GatewayApiDeps{});
  for (const RouteInfo& route : api->Routes()) {
    if (route.pattern.rfind("/v1/apikeys", 0) == 0) {
      EXPECT_EQ(route.scope, "admin") << route.pattern;
    }
  }
}

}  // namespace
}  // namespace cs
