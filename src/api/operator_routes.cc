// Operators' routes (operator_routes.h).
#include "api/operator_routes.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/strings.h"

namespace cs::api_internal {

namespace {

Result<OperatorService*> Service(const OperatorRouteDeps& d) {
  if (d.operators == nullptr) {
    return Unavailable("operators_unavailable", "operators need the vault's master key (docs/operators.md)");
  }
  return d.operators;
}

std::string OperatorJson(const OperatorRecord& op) {
  JsonWriter w;
  w.BeginObject().Key("id").String(op.id).Key("login").String(op.login).Key("display_name").String(op.display_name);
  w.Key("roles").BeginArray();
  for (const std::string& r : op.roles) w.String(r);
  w.EndArray().Key("permissions").BeginArray();
  for (const std::string& p : PermissionsOfRoles(op.roles)) w.String(p);
  w.EndArray().Key("state").String(op.state).Key("mfa_enrolled").Bool(op.mfa_enrolled);
  w.Key("created_at").String(FormatRfc3339Millis(op.created_at_ms)).EndObject();
  return w.Take();
}

std::string SessionJson(const SessionRecord& s) {
  JsonWriter w;
  w.BeginObject().Key("id").String(s.id).Key("created_at").String(FormatRfc3339Millis(s.created_at_ms));
  w.Key("last_seen_at").String(FormatRfc3339Millis(s.last_seen_ms));
  w.Key("expires_at").String(FormatRfc3339Millis(s.expires_at_ms)).Key("user_agent").String(s.user_agent).EndObject();
  return w.Take();
}

// HttpOnly (no script reads it), SameSite=Strict (no other site sends it),
// Secure whenever the gateway is reached over TLS.
std::string CookieHeader(const HttpRequest& req, const OperatorRouteDeps& d, std::string_view value, int64_t max_age_s) {
  const bool secure = req.tls || d.public_base_url.rfind("https://", 0) == 0;
  return std::string(kSessionCookie) + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(max_age_s) + (secure ? "; Secure" : "");
}

HttpResponse Throttled(const Status& s, int64_t retry_after_ms, const std::string& request_id) {
  HttpResponse r = ErrorResponse(429, s.machine_code(), s.message(), request_id);
  r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (retry_after_ms + 999) / 1000)));
  return r;
}

std::string InvitationJson(const OperatorRouteDeps& d, const Invitation& inv) {
  JsonWriter w;
  w.BeginObject().Key("operator").Raw(OperatorJson(inv.op));
  w.Key("invitation_token").String(InsecureSecretAccess::Get(inv.token));
  if (!d.public_base_url.empty()) {
    w.Key("invitation_url").String(d.public_base_url + "/console/#/invitation/" +
                                   std::string(InsecureSecretAccess::Get(inv.token)));
  }
  w.Key("expires_at").String(FormatRfc3339Millis(inv.expires_at_ms)).EndObject();
  return w.Take();
}

const std::string* UserAgent(const HttpRequest& req) { return req.Header("user-agent"); }

// Where a login step came from, for its audit entry (as for every API request).
AuditActor RequestActor(const HttpRequest& req) {
  return AuditActor{"anonymous", "", req.remote_address.empty() ? "api" : "api " + req.remote_address, req.request_id};
}

}  // namespace

std::optional<SecretString> SessionCookie(const HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "cookie") continue;
    for (const std::string& part : Split(value, ';')) {
      std::string_view p = TrimAscii(part);
      const size_t eq = p.find('=');
      if (eq != std::string_view::npos && p.substr(0, eq) == kSessionCookie) {
        return SecretString(std::string(p.substr(eq + 1)));
      }
    }
  }
  return std::nullopt;
}

Result<HttpResponse> Login(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string login, r.RequiredString("login"));
  CS_ASSIGN_OR_RETURN(std::string password, r.RequiredString("password"));
  CS_RETURN_IF_ERROR(r.Finish());
  const std::string* agent = UserAgent(req);
  int64_t retry_after_ms = 0;
  Result<PasswordStep> step = ops->Login(login, SecretString(std::move(password)), req.remote_address,
                                         agent != nullptr ? *agent : "", &retry_after_ms, RequestActor(req));
  if (step.status().machine_code() == "login_throttled") return Throttled(step.status(), retry_after_ms, req.request_id);
  CS_RETURN_IF_ERROR(step.status());
  JsonWriter w;
  w.BeginObject();
  if (step->enrolment) {
    w.Key("state").String("mfa_enrollment_required").Key("enrollment").BeginObject();
    w.Key("otpauth_uri").String(InsecureSecretAccess::Get(step->enrolment->otpauth_uri));
    w.Key("qr_svg").String(step->enrolment->qr_svg).EndObject();
  } else {
    w.Key("state").String("mfa_required");
  }
  w.EndObject();
  HttpResponse resp = JsonResponse(200, w.Take());
  resp.headers.emplace_back("Set-Cookie", CookieHeader(req, d, InsecureSecretAccess::Get(step->token),
                                                       ops->policy().mfa_step_ms / 1000));
  return resp;
}

Result<HttpResponse> CompleteMfa(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  std::optional<SecretString> token = SessionCookie(req);
  if (!token) return Status(StatusCode::kUnauthenticated, "session_expired", "log in again (POST /v1/auth/login)");
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string code, r.RequiredString("code"));
  CS_RETURN_IF_ERROR(r.Finish());
  int64_t retry_after_ms = 0;
  Result<LoggedIn> in = ops->CompleteMfa(*token, SecretString(std::move(code)), &retry_after_ms, RequestActor(req));
  if (in.status().machine_code() == "login_throttled") return Throttled(in.status(), retry_after_ms, req.request_id);
  CS_RETURN_IF_ERROR(in.status());
  JsonWriter w;
  w.BeginObject().Key("operator").Raw(OperatorJson(in->op)).Key("tenant_id").String(in->op.tenant_id);
  w.Key("session").Raw(SessionJson(in->session));
  w.Key("csrf_token").String(InsecureSecretAccess::Get(in->csrf));
  if (!in->recovery_codes.empty()) {
    w.Key("recovery_codes").BeginArray();
    for (const SecretString& c : in->recovery_codes) w.String(InsecureSecretAccess::Get(c));
    w.EndArray();
  }
  w.EndObject();
  HttpResponse resp = JsonResponse(200, w.Take());
  resp.headers.emplace_back("Set-Cookie", CookieHeader(req, d, InsecureSecretAccess::Get(in->token),
                                                       ops->policy().absolute_ms / 1000));
  return resp;
}

Result<HttpResponse> AcceptInvitation(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string token, r.RequiredString("token"));
  CS_ASSIGN_OR_RETURN(std::string password, r.RequiredString("password"));
  CS_RETURN_IF_ERROR(r.Finish());
  CS_ASSIGN_OR_RETURN(OperatorRecord op,
                      ops->AcceptInvitation(SecretString(std::move(token)), SecretString(std::move(password))));
  JsonWriter w;
  w.BeginObject().Key("operator").Raw(OperatorJson(op)).Key("next").String("POST /v1/auth/login").EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> Logout(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  if (std::optional<SecretString> token = SessionCookie(req)) CS_RETURN_IF_ERROR(ops->Logout(*token));
  HttpResponse resp = JsonResponse(200, R"({"logged_out":true})");
  resp.headers.emplace_back("Set-Cookie", CookieHeader(req, d, "", 0));
  return resp;
}

Result<HttpResponse> CurrentSession(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  std::optional<SecretString> token = SessionCookie(req);
  if (!token) return Status(StatusCode::kUnauthenticated, "session_expired", "log in again");
  CS_ASSIGN_OR_RETURN(SessionPrincipal s, ops->Authenticate(*token));
  JsonWriter w;
  w.BeginObject().Key("operator").Raw(OperatorJson(s.op)).Key("tenant_id").String(p.tenant_id);
  w.Key("session").Raw(SessionJson(s.session)).Key("csrf_token").String(InsecureSecretAccess::Get(s.csrf));
  w.Key("recently_verified").Bool(s.recently_verified).EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> ListOwnSessions(const OperatorRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(std::vector<SessionRecord> all, ops->Sessions(p.tenant_id, p.operator_id));
  return ListResponse("sessions", all, SessionJson);
}

Result<HttpResponse> EndOwnSession(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                   const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_RETURN_IF_ERROR(ops->EndSession(actor, p.tenant_id, p.operator_id, id));
  return JsonResponse(200, R"({"ended":true})");
}

Result<HttpResponse> Reauthenticate(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  std::optional<SecretString> token = SessionCookie(req);
  if (!token) return Status(StatusCode::kUnauthenticated, "session_expired", "log in again");
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto password, r.OptionalString("password"));
  CS_ASSIGN_OR_RETURN(auto code, r.OptionalString("code"));
  CS_RETURN_IF_ERROR(r.Finish());
  if (password.has_value() == code.has_value()) {
    return InvalidArgument("invalid_field", "give either the password or a code from the authenticator app");
  }
  CS_RETURN_IF_ERROR(ops->Reauthenticate(*token, SecretString(password ? std::move(*password) : std::move(*code))));
  return JsonResponse(200, R"({"verified":true})");
}

Result<HttpResponse> ChangePassword(const OperatorRouteDeps& d, const HttpRequest& req) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  std::optional<SecretString> token = SessionCookie(req);
  if (!token) return Status(StatusCode::kUnauthenticated, "session_expired", "log in again");
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string current, r.RequiredString("current_password"));
  CS_ASSIGN_OR_RETURN(std::string next, r.RequiredString("new_password"));
  CS_RETURN_IF_ERROR(r.Finish());
  CS_RETURN_IF_ERROR(ops->ChangePassword(*token, SecretString(std::move(current)), SecretString(std::move(next))));
  return JsonResponse(200, R"({"changed":true,"other_sessions_ended":true})");
}

Result<HttpResponse> CreateOperator(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                    const AuditActor& actor) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  OperatorSpec spec;
  spec.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(spec.login, r.RequiredString("login"));
  CS_ASSIGN_OR_RETURN(spec.display_name, r.RequiredString("display_name"));
  CS_ASSIGN_OR_RETURN(auto roles, r.OptionalStringArray("roles"));
  CS_RETURN_IF_ERROR(r.Finish());
  spec.roles = roles.value_or(std::vector<std::string>());
  CS_ASSIGN_OR_RETURN(Invitation inv, ops->Create(actor, spec));
  return JsonResponse(201, InvitationJson(d, inv));
}

Result<HttpResponse> ListOperators(const OperatorRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(std::vector<OperatorRecord> all, ops->List(p.tenant_id));
  return ListResponse("operators", all, OperatorJson);
}

Result<HttpResponse> GetOperator(const OperatorRouteDeps& d, const Principal& p, const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(OperatorRecord op, ops->Get(p.tenant_id, id));
  return JsonResponse(200, OperatorJson(op));
}

Result<HttpResponse> SetOperatorRoles(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor, const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto roles, r.OptionalStringArray("roles"));
  CS_RETURN_IF_ERROR(r.Finish());
  if (!roles) return InvalidArgument("missing_field", "body.roles is required");
  if (p.operator_id == id) {
    return PermissionDenied("forbidden", "operators cannot change their own roles; ask another administrator");
  }
  CS_ASSIGN_OR_RETURN(OperatorRecord op, ops->SetRoles(actor, p.tenant_id, id, *roles));
  return JsonResponse(200, OperatorJson(op));
}

Result<HttpResponse> OperatorAction(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                    const std::string& id, const std::string& action) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  if (action == "invite") {
    CS_ASSIGN_OR_RETURN(Invitation inv, ops->Reinvite(actor, p.tenant_id, id));
    return JsonResponse(200, InvitationJson(d, inv));
  }
  if (p.operator_id == id && action == "disable") {
    return PermissionDenied("forbidden", "operators cannot disable themselves");
  }
  Result<OperatorRecord> op = action == "disable"   ? ops->SetEnabled(actor, p.tenant_id, id, false)
                              : action == "enable"  ? ops->SetEnabled(actor, p.tenant_id, id, true)
                                                    : ops->ResetMfa(actor, p.tenant_id, id);
  CS_RETURN_IF_ERROR(op.status());
  return JsonResponse(200, OperatorJson(*op));
}

namespace {

std::string GrantJson(const GrantRecord& g) {
  JsonWriter w;
  w.BeginObject().Key("id").String(g.id).Key("operator_id").String(g.operator_id).Key("permissions").BeginArray();
  for (const std::string& p : g.permissions) w.String(p);
  w.EndArray().Key("reason").BeginObject().Key("category").String(g.reason_category);
  w.Key("text").String(g.reason_text).EndObject();
  w.Key("granted_by").String(g.granted_by).Key("break_glass").Bool(g.break_glass);
  w.Key("created_at").String(FormatRfc3339Millis(g.created_at_ms));
  w.Key("expires_at").String(FormatRfc3339Millis(g.expires_at_ms));
  w.Key("revoked_at");
  g.revoked_at_ms ? w.String(FormatRfc3339Millis(*g.revoked_at_ms)) : w.Null();
  w.Key("last_used_at");
  g.last_used_ms ? w.String(FormatRfc3339Millis(*g.last_used_ms)) : w.Null();
  w.Key("reviewed_at");
  g.reviewed_at_ms ? w.String(FormatRfc3339Millis(*g.reviewed_at_ms)) : w.Null();
  w.Key("reviewed_by").String(g.reviewed_by).EndObject();
  return w.Take();
}

}  // namespace

Result<HttpResponse> CreateGrant(const OperatorRouteDeps& d, const HttpRequest& req, const Principal& p,
                                 const AuditActor& actor, bool break_glass) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  GrantSpec spec;
  if (break_glass) {
    spec.operator_id = p.operator_id;
  } else {
    CS_ASSIGN_OR_RETURN(spec.operator_id, r.RequiredString("operator_id"));
  }
  CS_ASSIGN_OR_RETURN(auto perms, r.OptionalStringArray("permissions"));
  CS_ASSIGN_OR_RETURN(auto minutes, r.OptionalInt("minutes"));
  CS_ASSIGN_OR_RETURN(const JsonValue* reason, r.OptionalObject("reason"));
  CS_RETURN_IF_ERROR(r.Finish());
  if (!perms || reason == nullptr) return InvalidArgument("missing_field", "permissions and reason are required");
  CS_ASSIGN_OR_RETURN(ObjectReader rr, ObjectReader::Create(*reason, "body.reason"));
  CS_ASSIGN_OR_RETURN(spec.reason_category, rr.RequiredString("category"));
  CS_ASSIGN_OR_RETURN(spec.reason_text, rr.RequiredString("text"));
  CS_RETURN_IF_ERROR(rr.Finish());
  spec.permissions = *perms;
  spec.duration_ms = minutes.value_or(60) * 60'000;
  Result<GrantRecord> g = break_glass ? ops->BreakGlass(actor, p.tenant_id, spec)
                                      : ops->Grant(actor, p.tenant_id, p.operator_id, spec);
  CS_RETURN_IF_ERROR(g.status());
  return JsonResponse(201, GrantJson(*g));
}

Result<HttpResponse> ListGrants(const OperatorRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(std::vector<GrantRecord> all, ops->Grants(p.tenant_id));
  return ListResponse("grants", all, GrantJson);
}

Result<HttpResponse> RevokeGrant(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                 const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_RETURN_IF_ERROR(ops->RevokeGrant(actor, p.tenant_id, id));
  return JsonResponse(200, R"({"revoked":true})");
}

Result<HttpResponse> ReviewGrant(const OperatorRouteDeps& d, const Principal& p, const AuditActor& actor,
                                 const std::string& id) {
  CS_ASSIGN_OR_RETURN(OperatorService * ops, Service(d));
  CS_ASSIGN_OR_RETURN(GrantRecord g, ops->ReviewGrant(actor, p.tenant_id, id, p.is_operator() ? p.operator_id : p.key_id));
  return JsonResponse(200, GrantJson(g));
}

}  // namespace cs::api_internal
