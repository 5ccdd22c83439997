// File: oauth_routes.h (internal to api/)
// OAuth 2.0 client credentials (docs/api.md#oauth-20-client-credentials):
// the token and revocation endpoints in RFC 6749/7009's own shapes, and
// the administration of clients.
#pragma once

#include <string>

#include "api/api.h"
#include "auth/oauth.h"

namespace cs::api_internal {

struct OAuthRouteDeps {
  OAuthService* oauth = nullptr;
  JsonLimits json_limits;
};

// POST /oauth/token and POST /oauth/revoke: form-encoded bodies, client
// authentication by HTTP Basic or in the body, RFC 6749 §5.2 errors.
HttpResponse TokenEndpoint(const OAuthRouteDeps& d, const HttpRequest& req);
HttpResponse RevocationEndpoint(const OAuthRouteDeps& d, const HttpRequest& req);

Result<HttpResponse> CreateOAuthClient(const OAuthRouteDeps& d, const HttpRequest& req, const Principal& p,
                                       const AuditActor& actor);
Result<HttpResponse> ListOAuthClients(const OAuthRouteDeps& d, const Principal& p);
Result<HttpResponse> RotateOAuthClient(const OAuthRouteDeps& d, const HttpRequest& req, const Principal& p,
                                       const AuditActor& actor, const std::string& id);
Result<HttpResponse> RevokeOAuthClient(const OAuthRouteDeps& d, const Principal& p, const AuditActor& actor,
                                       const std::string& id);

}  // namespace cs::api_internal
