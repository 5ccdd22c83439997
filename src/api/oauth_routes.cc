// OAuth 2.0 routes (oauth_routes.h).
#include "api/oauth_routes.h"

#include <openssl/evp.h>

#include "common/json_writer.h"
#include "common/strings.h"

namespace cs::api_internal {

namespace {

// RFC 6749 §5.2: {"error","error_description"}, never cached.
HttpResponse OAuthError(int status, std::string_view error, std::string_view description) {
  JsonWriter w;
  w.BeginObject().Key("error").String(error).Key("error_description").String(description).EndObject();
  HttpResponse r = JsonResponse(status, w.Take());
  r.error_code = std::string(error);
  r.headers.emplace_back("Pragma", "no-cache");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"consentry\"");
  return r;
}

std::string Base64Decode(std::string_view text) {
  std::string out(3 * ((text.size() + 3) / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;
  out.resize(len);
  return out;
}

// The form and the client's credentials (HTTP Basic, or client_id and
// client_secret in the body: RFC 6749 §2.3.1).
struct ClientRequest {
  std::map<std::string, std::string> form;
  std::string client_id;
  SecretString secret;
};

std::optional<HttpResponse> ReadClientRequest(const HttpRequest& req, ClientRequest& out) {
  const std::string* type = req.Header("content-type");
  if (type == nullptr || AsciiLower(TrimAscii(std::string_view(*type).substr(0, type->find(';')))) !=
                             "application/x-www-form-urlencoded") {
    return OAuthError(400, "invalid_request", "send the request as application/x-www-form-urlencoded");
  }
  Result<std::vector<std::pair<std::string, std::string>>> pairs = ParseQuery(req.body);
  if (!pairs.ok()) return OAuthError(400, "invalid_request", "the form cannot be read");
  for (auto& [k, v] : *pairs) {
    if (!out.form.emplace(k, v).second) return OAuthError(400, "invalid_request", "a parameter is repeated");
  }
  if (const std::string* auth = req.Header("authorization");
      auth != nullptr && AsciiLower(std::string_view(*auth).substr(0, 6)) == "basic ") {
    const std::string decoded = Base64Decode(TrimAscii(std::string_view(*auth).substr(6)));
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return OAuthError(401, "invalid_client", "client authentication failed");
    Result<std::vector<std::pair<std::string, std::string>>> id = ParseQuery("i=" + decoded.substr(0, colon));
    Result<std::vector<std::pair<std::string, std::string>>> secret = ParseQuery("s=" + decoded.substr(colon + 1));
    if (!id.ok() || !secret.ok() || id->empty() || secret->empty()) {
      return OAuthError(401, "invalid_client", "client authentication failed");
    }
    out.client_id = (*id)[0].second;
    out.secret = SecretString(std::move((*secret)[0].second));
    if (out.form.count("client_secret") > 0) {
      return OAuthError(400, "invalid_request", "use one way of client authentication");
    }
  } else {
    out.client_id = out.form["client_id"];
    out.secret = SecretString(out.form["client_secret"]);
  }
  out.form.erase("client_secret");
  return std::nullopt;
}

std::string ClientJson(const OAuthClientRecord& c) {
  JsonWriter w;
  w.BeginObject().Key("client_id").String(c.id).Key("name").String(c.name).Key("scopes").BeginArray();
  for (const std::string& s : c.scopes) w.String(s);
  w.EndArray().Key("revoked").Bool(c.revoked_at_ms.has_value());
  if (c.previous_until_ms > 0) w.Key("previous_secret_until").String(FormatRfc3339Millis(c.previous_until_ms));
  w.Key("created_at").String(FormatRfc3339Millis(c.created_at_ms)).EndObject();
  return w.Take();
}

std::string CreatedJson(const CreatedClient& c) {
  JsonWriter w;
  w.BeginObject().Key("client").Raw(ClientJson(c.client));
  w.Key("client_secret").String(InsecureSecretAccess::Get(c.secret)).EndObject();
  return w.Take();
}

Result<OAuthService*> Service(const OAuthRouteDeps& d) {
  if (d.oauth == nullptr) return Unavailable("oauth_unavailable", "OAuth clients are not enabled on this gateway");
  return d.oauth;
}

}  // namespace

HttpResponse TokenEndpoint(const OAuthRouteDeps& d, const HttpRequest& req) {
  if (d.oauth == nullptr) return OAuthError(503, "temporarily_unavailable", "OAuth is not enabled on this gateway");
  ClientRequest cr;
  if (std::optional<HttpResponse> bad = ReadClientRequest(req, cr)) return *bad;
  if (cr.form["grant_type"] != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type", "only grant_type=client_credentials is served");
  }
  std::vector<std::string> scopes;
  for (const std::string& s : Split(cr.form["scope"], ' ')) {
    if (!s.empty()) scopes.push_back(s);
  }
  Result<IssuedToken> token = d.oauth->IssueToken(cr.client_id, cr.secret, scopes);
  if (!token.ok()) {
    const Status& s = token.status();
    if (s.machine_code() == "invalid_client") return OAuthError(401, "invalid_client", "client authentication failed");
    if (s.machine_code() == "invalid_scope") return OAuthError(400, "invalid_scope", s.message());
    return StatusResponse(s, req.request_id);
  }
  JsonWriter w;
  w.BeginObject().Key("access_token").String(InsecureSecretAccess::Get(token->access_token));
  w.Key("token_type").String("Bearer").Key("expires_in").Int(token->expires_in_s);
  w.Key("scope").String(Join(token->scopes, " ")).EndObject();
  HttpResponse r = JsonResponse(200, w.Take());
  r.headers.emplace_back("Pragma", "no-cache");
  return r;
}

HttpResponse RevocationEndpoint(const OAuthRouteDeps& d, const HttpRequest& req) {
  if (d.oauth == nullptr) return OAuthError(503, "temporarily_unavailable", "OAuth is not enabled on this gateway");
  ClientRequest cr;
  if (std::optional<HttpResponse> bad = ReadClientRequest(req, cr)) return *bad;
  Status s = d.oauth->RevokeToken(cr.client_id, cr.secret, SecretString(cr.form["token"]));
  if (s.machine_code() == "invalid_client") return OAuthError(401, "invalid_client", "client authentication failed");
  if (!s.ok()) return StatusResponse(s, req.request_id);
  return JsonResponse(200, "{}");
}

Result<HttpResponse> CreateOAuthClient(const OAuthRouteDeps& d, const HttpRequest& req, const Principal& p,
                                       const AuditActor& actor) {
  CS_ASSIGN_OR_RETURN(OAuthService * oauth, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(std::string name, r.RequiredString("name"));
  CS_ASSIGN_OR_RETURN(auto scopes, r.OptionalStringArray("scopes"));
  CS_RETURN_IF_ERROR(r.Finish());
  // A client can only be given what the caller holds (no escalation).
  for (const std::string& s : scopes.value_or(std::vector<std::string>())) {
    if (!p.HasScope(s)) return PermissionDenied("insufficient_scope", "a client cannot be given the scope " + s);
  }
  CS_ASSIGN_OR_RETURN(CreatedClient c, oauth->Create(actor, p.tenant_id, name, scopes.value_or(std::vector<std::string>())));
  return JsonResponse(201, CreatedJson(c));
}

Result<HttpResponse> ListOAuthClients(const OAuthRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(OAuthService * oauth, Service(d));
  CS_ASSIGN_OR_RETURN(std::vector<OAuthClientRecord> all, oauth->List(p.tenant_id));
  return ListResponse("clients", all, ClientJson);
}

Result<HttpResponse> RotateOAuthClient(const OAuthRouteDeps& d, const HttpRequest& req, const Principal& p,
                                       const AuditActor& actor, const std::string& id) {
  CS_ASSIGN_OR_RETURN(OAuthService * oauth, Service(d));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits, /*empty_as_object=*/true));
  ObjectReader& r = body.reader();
  CS_ASSIGN_OR_RETURN(auto overlap, r.OptionalInt("overlap_seconds"));
  CS_RETURN_IF_ERROR(r.Finish());
  if (overlap && *overlap < 0) return InvalidArgument("invalid_overlap", "overlap_seconds must be 0 or more");
  CS_ASSIGN_OR_RETURN(CreatedClient c, oauth->RotateSecret(actor, p.tenant_id, id, overlap ? *overlap * 1000 : -1));
  return JsonResponse(200, CreatedJson(c));
}

Result<HttpResponse> RevokeOAuthClient(const OAuthRouteDeps& d, const Principal& p, const AuditActor& actor,
                                       const std::string& id) {
  CS_ASSIGN_OR_RETURN(OAuthService * oauth, Service(d));
  CS_RETURN_IF_ERROR(oauth->Revoke(actor, p.tenant_id, id));
  return JsonResponse(200, R"({"revoked":true})");
}

}  // namespace cs::api_internal
