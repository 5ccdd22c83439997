// File: scan_routes.h (internal to api/)
// Content protection routes (docs/api.md#content-protection): explain a
// text with POST /v1/scan, and read or set the tenant's policy.
#pragma once

#include "api/api.h"
#include "auth/auth.h"

namespace cs::api_internal {

struct ScanRouteDeps {
  ContentGuard* content = nullptr;  // null when messaging is not configured
  JsonLimits json_limits;
};

Result<HttpResponse> ScanText(const ScanRouteDeps& d, const HttpRequest& req, const Principal& p);
Result<HttpResponse> GetContentPolicy(const ScanRouteDeps& d, const Principal& p);
Result<HttpResponse> PutContentPolicy(const ScanRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor);
Result<HttpResponse> ResetContentPolicy(const ScanRouteDeps& d, const Principal& p, const AuditActor& actor);

}  // namespace cs::api_internal
