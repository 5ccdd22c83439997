// The /v1 API, health, readiness and metrics endpoints.
#include <functional>

#include "api/api.h"
#include "api/router.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace cs {

namespace {

struct Context {
  const HttpRequest& request;
  const std::map<std::string, std::string>& params;
  const Principal* principal;  // null on public routes
};

using Handler = std::function<Result<HttpResponse>(const Context&)>;

struct RouteSpec {
  std::string scope;  // "" = any authenticated key
  bool is_public = false;
  Handler handler;
};

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The key id in a path is checked for shape first: anything else is simply
// not found, with the same answer a well-formed missing id gets.
bool IsKeyId(std::string_view id) {
  if (id.size() != 28 || id.substr(0, 4) != "key_") return false;
  for (char c : id.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

class GatewayApiImpl final : public GatewayApi {
 public:
  explicit GatewayApiImpl(GatewayApiDeps deps) : deps_(std::move(deps)) {
    using namespace std::placeholders;
    Public("GET", "/healthz", [this](const Context& c) { return Healthz(c); });
    Public("GET", "/readyz", [this](const Context& c) { return Readyz(c); });
    Public("GET", "/metrics", [this](const Context& c) { return Metrics(c); });
    Private("GET", "/v1/me", "", [this](const Context& c) { return Me(c); });
    Private("GET", "/v1/tenant", "", [this](const Context& c) { return GetTenant(c); });
    Private("GET", "/v1/apikeys", "admin", [this](const Context& c) { return ListKeys(c); });
    Private("POST", "/v1/apikeys", "admin", [this](const Context& c) { return CreateKey(c); });
    Private("GET", "/v1/apikeys/{id}", "admin", [this](const Context& c) { return GetKey(c); });
    Private("DELETE", "/v1/apikeys/{id}", "admin", [this](const Context& c) { return RevokeKey(c); });
    Private("POST", "/v1/apikeys/{id}/rotate", "admin", [this](const Context& c) { return RotateKey(c); });
  }

  HttpResponse Handle(const HttpRequest& request) override {
    HttpResponse response = Route(request);
    if (response.status >= 400 && response.error_code.empty()) response.error_code = "unknown";
    return response;
  }

  std::vector<RouteInfo> Routes() const override {
    std::vector<RouteInfo> out;
    for (const auto& e : router_.entries()) {
      out.push_back({e.method, e.pattern, e.payload.scope, e.payload.is_public});
    }
    return out;
  }

 private:
  void Public(std::string method, std::string pattern, Handler h) {
    router_.Add(std::move(method), std::move(pattern), RouteSpec{"", true, std::move(h)});
  }
  void Private(std::string method, std::string pattern, std::string scope, Handler h) {
    router_.Add(std::move(method), std::move(pattern), RouteSpec{std::move(scope), false, std::move(h)});
  }

  HttpResponse Route(const HttpRequest& request) {
    const std::string& rid = request.request_id;
    if (Status url = CheckUrl(request); !url.ok()) return StatusResponse(url, rid);
    auto match = router_.Find(request.method, request.path);
    using Outcome = api_internal::Router<RouteSpec>::Outcome;
    if (match.outcome == Outcome::kNotFound) {
      return ErrorResponse(404, "not_found", "no such resource", rid);
    }
    if (match.outcome == Outcome::kMethodNotAllowed) {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "this resource does not allow " + request.method, rid);
      r.headers.emplace_back("Allow", Join(match.allowed, ", "));
      r.route = match.pattern;
      return r;
    }
    const RouteSpec& spec = *match.payload;
    std::optional<Principal> principal;
    if (!spec.is_public) {
      auto p = Authenticate(request);
      if (!p.ok()) {
        HttpResponse r = StatusResponse(p.status(), rid);
        r.route = match.pattern;
        return r;
      }
      principal = std::move(p).value();
      if (!spec.scope.empty() && !principal->HasScope(spec.scope)) {
        HttpResponse r = ErrorResponse(403, "insufficient_scope", "this API key lacks the scope " + spec.scope, rid);
        r.route = match.pattern;
        r.tenant_id = principal->tenant_id;
        return r;
      }
    }
    Context ctx{request, match.params, principal ? &*principal : nullptr};
    Result<HttpResponse> result = spec.handler(ctx);
    HttpResponse r = result.ok() ? std::move(result).value() : StatusResponse(result.status(), rid);
    r.route = match.pattern;
    if (principal) r.tenant_id = principal->tenant_id;
    return r;
  }

  Result<Principal> Authenticate(const HttpRequest& request) {
    if (request.HeaderCount("authorization") != 1) {
      return Unauthenticated("missing, invalid, expired or revoked credentials");
    }
    std::string_view value = *request.Header("authorization");
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size() || AsciiLower(value.substr(0, kScheme.size())) != kScheme) {
      return Unauthenticated("missing, invalid, expired or revoked credentials");
    }
    return deps_.api_keys->Authenticate(value.substr(kScheme.size()));
  }

  int64_t Now() const { return deps_.clock->NowUnixMillis(); }

  // --- public ---
  Result<HttpResponse> Healthz(const Context&) {
    JsonWriter w;
    w.BeginObject().Key("status").String("ok").Key("version").String(deps_.version).EndObject();
    return Json(200, w.Take());
  }

  Result<HttpResponse> Readyz(const Context&) {
    Status ping = deps_.store->Ping();
    Result<MigrationStatus> migrations = ping.ok() ? deps_.store->GetMigrationStatus() : Result<MigrationStatus>(ping);
    if (!migrations.ok()) return Unavailable("storage_unavailable", "the store is not reachable");
    if (migrations->current_version != migrations->latest_version) {
      return Unavailable("storage_unavailable", "schema migrations are pending (run consentry migrate)");
    }
    JsonWriter w;
    w.BeginObject().Key("status").String("ready");
    w.Key("schema_version").Int(migrations->current_version).EndObject();
    return Json(200, w.Take());
  }

  Result<HttpResponse> Metrics(const Context&) {
    HttpResponse r = Json(200, deps_.metrics->RenderPrometheus());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }

  // --- /v1 ---
  Result<HttpResponse> Me(const Context& c) {
    JsonWriter w;
    w.BeginObject();
    w.Key("tenant_id").String(c.principal->tenant_id);
    w.Key("key_id").String(c.principal->key_id);
    w.Key("scopes").BeginArray();
    for (const auto& s : c.principal->scopes) w.String(s);
    w.EndArray();
    w.Key("expires_at").String(FormatRfc3339Millis(c.principal->expires_at_ms));
    w.EndObject();
    return Json(200, w.Take());
  }

  Result<HttpResponse> GetTenant(const Context& c) {
    CS_ASSIGN_OR_RETURN(Tenant t, deps_.store->tenants().Get(c.principal->tenant_id));
    JsonWriter w;
    w.BeginObject().Key("id").String(t.id).Key("name").String(t.name);
    w.Key("created_at").String(FormatRfc3339Millis(t.created_at_ms)).EndObject();
    return Json(200, w.Take());
  }

  Result<HttpResponse> ListKeys(const Context& c) {
    CS_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, deps_.store->api_keys().List(c.principal->tenant_id));
    int64_t now = Now();
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& k : keys) w.Raw(ApiKeyJson(k, now));
    w.EndArray().EndObject();
    return Json(200, w.Take());
  }

  Result<HttpResponse> CreateKey(const Context& c) {
    CS_ASSIGN_OR_RETURN(JsonValue body, DecodeJsonBody(c.request, deps_.json_limits, false));
    CS_ASSIGN_OR_RETURN(ObjectReader reader, ObjectReader::Create(body));
    CS_ASSIGN_OR_RETURN(std::string name, reader.RequiredString("name"));
    CS_ASSIGN_OR_RETURN(auto scopes, reader.OptionalStringArray("scopes"));
    CS_ASSIGN_OR_RETURN(auto ttl, reader.OptionalInt("expires_in_days"));
    CS_RETURN_IF_ERROR(reader.Finish());
    if (!scopes) return InvalidArgument("missing_field", "body.scopes is required");
    CS_ASSIGN_OR_RETURN(IssuedKey issued, deps_.api_keys->Create(c.principal->tenant_id, name, *scopes, ttl));
    HttpResponse r = Json(201, ApiKeyJson(issued.record, Now(), InsecureSecretAccess::Get(issued.token)));
    r.headers.emplace_back("Location", "/v1/apikeys/" + issued.record.id);
    return r;
  }

  Result<HttpResponse> GetKey(const Context& c) {
    const std::string& id = c.params.at("id");
    if (!IsKeyId(id)) return NotFound("no such API key");
    CS_ASSIGN_OR_RETURN(ApiKeyRecord k, deps_.store->api_keys().Get(c.principal->tenant_id, id));
    return Json(200, ApiKeyJson(k, Now()));
  }

  Result<HttpResponse> RevokeKey(const Context& c) {
    const std::string& id = c.params.at("id");
    if (!IsKeyId(id)) return NotFound("no such API key");
    CS_RETURN_IF_ERROR(deps_.api_keys->Revoke(c.principal->tenant_id, id));
    return GetKey(c);
  }

  Result<HttpResponse> RotateKey(const Context& c) {
    const std::string& id = c.params.at("id");
    if (!IsKeyId(id)) return NotFound("no such API key");
    CS_ASSIGN_OR_RETURN(JsonValue body, DecodeJsonBody(c.request, deps_.json_limits, true));
    CS_ASSIGN_OR_RETURN(ObjectReader reader, ObjectReader::Create(body));
    CS_ASSIGN_OR_RETURN(auto overlap, reader.OptionalInt("overlap_seconds"));
    CS_RETURN_IF_ERROR(reader.Finish());
    CS_ASSIGN_OR_RETURN(IssuedKey issued, deps_.api_keys->Rotate(c.principal->tenant_id, id, overlap));
    HttpResponse r = Json(201, ApiKeyJson(issued.record, Now(), InsecureSecretAccess::Get(issued.token)));
    r.headers.emplace_back("Location", "/v1/apikeys/" + issued.record.id);
    return r;
  }

  GatewayApiDeps deps_;
  api_internal::Router<RouteSpec> router_;
};

}  // namespace

std::string ApiKeyJson(const ApiKeyRecord& k, int64_t now_ms, std::string_view token) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(k.id).Key("tenant_id").String(k.tenant_id).Key("name").String(k.name);
  w.Key("scopes").BeginArray();
  for (const auto& s : k.scopes) w.String(s);
  w.EndArray();
  std::string_view state = k.revoked_at_ms ? "revoked" : now_ms >= k.expires_at_ms ? "expired" : "active";
  w.Key("state").String(state);
  w.Key("created_at").String(FormatRfc3339Millis(k.created_at_ms));
  w.Key("expires_at").String(FormatRfc3339Millis(k.expires_at_ms));
  if (k.revoked_at_ms) w.Key("revoked_at").String(FormatRfc3339Millis(*k.revoked_at_ms));
  else w.Key("revoked_at").Null();
  if (k.rotated_from) w.Key("rotated_from").String(*k.rotated_from);
  else w.Key("rotated_from").Null();
  // The token exists only in the creation or rotation answer; the gateway keeps its hash.
  if (!token.empty()) w.Key("token").String(token);
  w.EndObject();
  return w.Take();
}

std::unique_ptr<GatewayApi> CreateGatewayApi(GatewayApiDeps deps) {
  return std::make_unique<GatewayApiImpl>(std::move(deps));
}

}  // namespace cs
