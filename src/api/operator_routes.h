// File: operator_routes.h (internal to api/)
// Operators' login, second factor, sessions and password
// (docs/api.md#operators, docs/operators.md), and their administration.
// The session travels in the `cs_session` cookie (HttpOnly, SameSite=Strict,
// Secure over TLS); state-changing requests carry X-CSRF-Token.
#pragma once

#include <optional>
#include <string>

#include "api/api.h"
#include "auth/auth.h"
#include "operators/operators.h"

namespace cs::api_internal {

constexpr std::string_view kSessionCookie = "cs_session";

struct OperatorRouteDeps {
  OperatorService* operators = nullptr;
  JsonLimits json_limits;
  std::string public_base_url;  // invitation links are built on it
};

// The session token in the request's cookie, if any.
std::optional<SecretString> SessionCookie(const HttpRequest& req);

// Public: the steps before a session exists.
Result<HttpResponse> Login(const OperatorRouteDeps& d, const HttpRequest& req);
Result<HttpResponse> CompleteMfa(const OperatorRouteDeps& d, const HttpRequest& req);
Result<HttpResponse> AcceptInvitation(const OperatorRouteDeps& d, const HttpRequest& req);

// The operator's own session.
Result<HttpResponse> Logout(const OperatorRouteDeps& d, const HttpRequest& req);
Result<HttpResponse> CurrentSession(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p);
Result<HttpResponse> ListOwnSessions(const OperatorRouteDeps& d, const Principal& p);
Result<HttpResponse> EndOwnSession(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                   const std::string& id);
Result<HttpResponse> Reauthenticate(const OperatorRouteDeps& d, const HttpRequest& req);
Result<HttpResponse> ChangePassword(const OperatorRouteDeps& d, const HttpRequest& req);

// Administration (operators:manage).
Result<HttpResponse> CreateOperator(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                    const AuditActor& actor);
Result<HttpResponse> ListOperators(const OperatorRouteDeps& d, const Principal& p);
Result<HttpResponse> GetOperator(const OperatorRouteDeps& d, const Principal& p, const std::string& id);
Result<HttpResponse> SetOperatorRoles(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor, const std::string& id);
// Grants (SEC-10): by a DPO for another operator, or break-glass for oneself.
Result<HttpResponse> CreateGrant(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                 const AuditActor& actor, bool break_glass);
Result<HttpResponse> ListGrants(const OperatorRouteDeps& d, const Principal& p);
Result<HttpResponse> RevokeGrant(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                 const std::string& id);
Result<HttpResponse> ReviewGrant(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                 const std::string& id);
// `action`: "disable", "enable", "reset-mfa" or "invite".
Result<HttpResponse> OperatorAction(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                    const std::string& id, const std::string& action);

}  // namespace cs::api_internal
