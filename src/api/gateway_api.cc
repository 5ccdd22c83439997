// The /v1 API, health, readiness and metrics endpoints.
#include <chrono>
#include <functional>
#include <mutex>
#include <utility>

#include "api/api.h"
#include "api/consent_routes.h"
#include "api/scan_routes.h"
#include "api/messaging_routes.h"
#include "api/oauth_routes.h"
#include "api/operator_routes.h"
#include "api/router.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "json/json.h"

namespace cs {

namespace {

struct Context {
  const HttpRequest& request;
  const std::map<std::string, std::string>& params;
  const Principal* principal;  // null on public routes
};

using Handler = std::function<Result<HttpResponse>(const Context&)>;

// Who may call a route.
enum class Caller {
  kKeyOrOperator,  // an API key or an operator's session
  kOperator,       // an operator's session only (the console's own routes: S-01)
};

struct RouteSpec {
  std::string scope;  // "" = any authenticated caller
  bool is_public = false;
  Handler handler;
  Caller caller = Caller::kKeyOrOperator;
  // An operator must have given the password or a code within the last
  // minutes (SEC-08): exports, key operations, operator changes, erasure.
  bool sensitive = false;
  // A bulk read (exports, a whole conversation): its own, lower limit (SEC-09).
  bool bulk = false;
};

// The key id in a path is checked for shape first: anything else is simply
// not found, with the same answer a well-formed missing id gets.
bool IsKeyId(std::string_view id) { return IsPrefixedHexId(id, "key_"); }

// Ids, pseudonyms and action names: 1-128 of [A-Za-z0-9._:-].
bool IsIdentifier(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (char ch : v) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || ch == '.' || ch == ':';
    if (!ok) return false;
  }
  return true;
}

class GatewayApiImpl final : public GatewayApi {
 public:
  explicit GatewayApiImpl(GatewayApiDeps deps) : deps_(std::move(deps)) {
    if (deps_.clock == nullptr) deps_.clock = &RealClock();  // time is always read through a Clock
    using namespace std::placeholders;
    md_.messages = deps_.messages;
    md_.media = deps_.media;
    md_.channels = deps_.channels;
    md_.webhooks = deps_.webhooks;
    md_.subscribers = deps_.subscribers;
    md_.history = deps_.history;
    cd_.consent = deps_.consent;
    cd_.messages = deps_.messages;
    cd_.keyring = deps_.keyring;
    cd_.erasures = deps_.erasures;
    cd_.subscribers = deps_.subscribers;
    cd_.tenants = deps_.tenants;
    cd_.clock = deps_.clock;
    cd_.json_limits = deps_.json_limits;
    sd_.content = deps_.content;
    sd_.json_limits = deps_.json_limits;
    md_.json_limits = deps_.json_limits;
    md_.allowed_graph_urls = deps_.allowed_graph_urls;
    md_.public_base_url = deps_.public_base_url;
    od_.operators = deps_.operators;
    od_.json_limits = deps_.json_limits;
    od_.public_base_url = deps_.public_base_url;
    oad_.oauth = deps_.oauth;
    oad_.json_limits = deps_.json_limits;
    Public("GET", "/healthz", [this](const Context& c) { return Healthz(c); });
    Public("GET", "/readyz", [this](const Context& c) { return Readyz(c); });
    Public("GET", "/metrics", [this](const Context& c) { return Metrics(c); });
    Private("GET", "/v1/me", "", [this](const Context& c) { return Me(c); });
    Private("GET", "/v1/tenant", "", [this](const Context& c) { return GetTenant(c); });
    RegisterOperatorRoutes();
    Private("GET", "/v1/apikeys", "admin", [this](const Context& c) { return ListKeys(c); });
    Sensitive("POST", "/v1/apikeys", "admin", [this](const Context& c) { return CreateKey(c); });
    Private("GET", "/v1/apikeys/{id}", "admin", [this](const Context& c) { return GetKey(c); });
    Sensitive("DELETE", "/v1/apikeys/{id}", "admin", [this](const Context& c) { return RevokeKey(c); });
    Sensitive("POST", "/v1/apikeys/{id}/rotate", "admin", [this](const Context& c) { return RotateKey(c); });
    Private("GET", "/v1/audit/events", "audit:read", [this](const Context& c) { return SearchAudit(c); });
    Sensitive("GET", "/v1/audit/export", "audit:read", [this](const Context& c) { return ExportAudit(c); }, /*bulk=*/true);
    Private("GET", "/v1/audit/tree-heads", "audit:read", [this](const Context& c) { return TreeHeads(c); });
    Private("GET", "/v1/audit/proof", "audit:read", [this](const Context& c) { return Proof(c); });
    Private("GET", "/v1/subjects/{subject}/access-log", "audit:read",
            [this](const Context& c) { return AccessLog(c); });
    Private("POST", "/v1/messages", "messages:send", [this](const Context& c) {
      return api_internal::SendMessage(md_, c.request, *c.principal, Actor(c));
    });
    // A signed link from GET /{media-id} needs no key (some SDKs send none
    // to hosts they do not know, spec §9); without one, an API key.
    Public("GET", "/v1/media/{id}/download", [this](const Context& c) { return DownloadMedia(c); });
    Private("GET", "/v1/messages/{id}", "messages:read", [this](const Context& c) {
      return api_internal::GetMessage(md_, *c.principal, Actor(c), c.params.at("id"));
    });
    Private("GET", "/v1/channels", "admin", [this](const Context& c) { return api_internal::ListChannels(md_, *c.principal); });
    Private("POST", "/v1/channels", "admin", [this](const Context& c) {
      return api_internal::CreateChannel(md_, c.request, *c.principal, Actor(c));
    });
    Private("POST", "/v1/channels/{id}/credentials", "admin", [this](const Context& c) {
      return api_internal::UpdateChannel(md_, c.request, *c.principal, Actor(c), c.params.at("id"));
    });
    Private("POST", "/v1/channels/{id}/resume", "admin", [this](const Context& c) {
      return api_internal::ResumeChannel(md_, *c.principal, Actor(c), c.params.at("id"));
    });
    Private("GET", "/v1/purposes", "consent:read", [this](const Context& c) { return api_internal::ListPurposes(cd_, *c.principal); });
    Private("POST", "/v1/purposes", "admin", [this](const Context& c) {
      return api_internal::DefinePurpose(cd_, c.request, *c.principal, Actor(c));
    });
    Private("GET", "/v1/templates", "consent:read",
            [this](const Context& c) { return api_internal::ListTemplates(cd_, *c.principal); });
    Private("POST", "/v1/templates", "templates:manage", [this](const Context& c) {
      return api_internal::RegisterTemplate(cd_, c.request, *c.principal, Actor(c));
    });
    Private("GET", "/v1/notices", "consent:read", [this](const Context& c) { return api_internal::ListNotices(cd_, *c.principal); });
    Private("POST", "/v1/notices", "admin", [this](const Context& c) {
      return api_internal::PublishNotice(cd_, c.request, *c.principal, Actor(c));
    });
    Private("POST", "/v1/privacy/sale-sharing/opt-out", "consent:write", [this](const Context& c) {
      return api_internal::SaleSharingChoiceRoute(cd_, c.request, *c.principal, Actor(c), true);
    });
    Private("POST", "/v1/privacy/sale-sharing/opt-in", "consent:write", [this](const Context& c) {
      return api_internal::SaleSharingChoiceRoute(cd_, c.request, *c.principal, Actor(c), false);
    });
    Private("GET", "/v1/privacy/sale-sharing", "consent:read",
            [this](const Context& c) { return api_internal::SaleSharingInventory(cd_, *c.principal); });
    Private("POST", "/v1/consents", "consent:write", [this](const Context& c) {
      return api_internal::RegisterConsent(cd_, c.request, *c.principal, Actor(c));
    });
    Private("POST", "/v1/consents/withdraw", "consent:write", [this](const Context& c) {
      return api_internal::WithdrawConsent(cd_, c.request, *c.principal, Actor(c));
    });
    Private("GET", "/v1/subjects/{subject}/consents", "consent:read", [this](const Context& c) -> Result<HttpResponse> {
      const std::string& subject = c.params.at("subject");
      if (!IsIdentifier(subject)) return NotFound("no such subject");
      CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "consent.read", "subject:" + subject, subject));
      return api_internal::SubjectConsents(cd_, c.request, *c.principal, subject, false);
    });
    // CONS-06's evidence export: the same proof, printable on request.
    Sensitive("GET", "/v1/subjects/{subject}/consents/evidence", "consent:read", [this](const Context& c) -> Result<HttpResponse> {
      const std::string& subject = c.params.at("subject");
      if (!IsIdentifier(subject)) return NotFound("no such subject");
      CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "consent.evidence_export", "subject:" + subject, subject));
      return api_internal::SubjectConsents(cd_, c.request, *c.principal, subject, true);
    }, /*bulk=*/true);
    Private("GET", "/v1/conversation-history", "admin",
            [this](const Context& c) { return api_internal::GetHistoryPolicy(md_, *c.principal); });
    Private("PUT", "/v1/conversation-history", "admin", [this](const Context& c) {
      return api_internal::PutHistoryPolicy(md_, c.request, *c.principal, Actor(c));
    });
    Private("DELETE", "/v1/conversation-history", "admin", [this](const Context& c) {
      return api_internal::DeleteHistoryPolicy(md_, *c.principal, Actor(c));
    });
    Bulk("GET", "/v1/subjects/{subject}/conversation", "messages:read", [this](const Context& c) {
      return api_internal::ReadConversation(md_, c.request, *c.principal, Actor(c), c.params.at("subject"));
    });
    Sensitive("POST", "/v1/erasures", "dsar:manage", [this](const Context& c) {
      return api_internal::EraseSubject(cd_, c.request, *c.principal, Actor(c));
    });
    Private("GET", "/v1/erasures/{id}", "dsar:manage", [this](const Context& c) -> Result<HttpResponse> {
      const std::string& id = c.params.at("id");
      if (!IsIdentifier(id)) return NotFound("no such erasure");
      CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "erasure.read", "erasure:" + id, ""));
      return api_internal::GetErasure(cd_, *c.principal, id);
    });
    Private("POST", "/v1/scan", "content:scan", [this](const Context& c) -> Result<HttpResponse> {
      // The text itself is never recorded: only that a scan was asked for.
      CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "content.scan", "content:scan", ""));
      return api_internal::ScanText(sd_, c.request, *c.principal);
    });
    Private("GET", "/v1/scan/policy", "admin",
            [this](const Context& c) { return api_internal::GetContentPolicy(sd_, *c.principal); });
    Private("PUT", "/v1/scan/policy", "admin", [this](const Context& c) {
      return api_internal::PutContentPolicy(sd_, c.request, *c.principal, Actor(c));
    });
    Private("DELETE", "/v1/scan/policy", "admin", [this](const Context& c) {
      return api_internal::ResetContentPolicy(sd_, *c.principal, Actor(c));
    });
    Private("GET", "/v1/subscribers", "subscribers:manage",
            [this](const Context& c) { return api_internal::ListSubscribers(md_, *c.principal); });
    Private("POST", "/v1/subscribers", "subscribers:manage", [this](const Context& c) {
      return api_internal::CreateSubscriber(md_, c.request, *c.principal, Actor(c));
    });
    Private("DELETE", "/v1/subscribers/{id}", "subscribers:manage", [this](const Context& c) {
      return api_internal::DeleteSubscriber(md_, *c.principal, Actor(c), c.params.at("id"));
    });
    Private("GET", "/v1/subscribers/{id}/dead-letters", "subscribers:manage", [this](const Context& c) {
      return api_internal::DeadLetters(md_, *c.principal, c.params.at("id"));
    });
    Private("POST", "/v1/subscribers/{id}/dead-letters/{event_id}/retry", "subscribers:manage",
            [this](const Context& c) {
              return api_internal::RetryDeadLetter(md_, *c.principal, Actor(c), c.params.at("id"),
                                                   c.params.at("event_id"));
            });
  }

  HttpResponse Handle(const HttpRequest& request) override {
    HttpResponse response = Route(request);
    if (response.status >= 400 && response.error_code.empty()) response.error_code = "unknown";
    return response;
  }

  bool RunsInline(const HttpRequest& request) const override {
    if (api_internal::MatchWebhookPath(request.path)) return true;
    if (request.method == "GET") return request.path == "/healthz" || request.path == "/metrics";
    if (request.method != "POST") return false;
    if (request.path == "/v1/messages") return true;
    std::optional<api_internal::GraphPath> graph = api_internal::MatchGraphPath(request.path);
    return graph && (graph->edge == "messages" || graph->edge == "marketing_messages");
  }

  Status FlushPendingAudit() override {
    int64_t pending = 0;
    {
      std::lock_guard<std::mutex> lock(auth_failures_mu_);
      pending = std::exchange(auth_failures_suppressed_, 0);
    }
    if (pending == 0) return Status::Ok();
    if (deps_.audit == nullptr) return Unavailable("audit_unavailable", "no audit sink");
    AuditEvent burst{
        .actor = AuditActor::System(),
        .action = "auth.failure.suppressed",
        .resource = "api",
        .outcome = "unauthenticated"
    };
    JsonWriter w;
    w.BeginObject().Key("count").Int(pending).EndObject();
    burst.details = w.Take();
    Status s = deps_.audit->Record(std::move(burst));
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(auth_failures_mu_);
      auth_failures_suppressed_ += pending;  // kept for the next flush, never dropped
    }
    return s;
  }

  std::vector<RouteInfo> Routes() const override {
    std::vector<RouteInfo> out;
    for (const auto& e : router_.entries()) {
      if (e.pattern == "/v1/media/{id}/download") {
        // Public to the router, but never open: a signed link, or an API key with messages:read.
        out.push_back({e.method, e.pattern, "messages:read", false, "signed_link_or_api_key"});
        continue;
      }
      const char* auth = e.payload.is_public                            ? "none"
                         : e.payload.caller == Caller::kOperator ? "session"
                                                                 : "api_key_or_session";
      out.push_back({e.method, e.pattern, e.payload.scope, e.payload.is_public, auth, e.payload.sensitive});
    }
    // Routes outside the router: matched before the URL check (their paths
    // hold Meta's numeric ids and the handshake's challenge by design).
    for (const char* edge : {"messages", "marketing_messages", "media"}) {
      out.push_back({"POST", std::string("/{version}/{phone_number_id}/") + edge, "messages:send", false, "api_key"});
    }
    out.push_back({"GET", "/{version}/{media_id}", "messages:read", false, "api_key"});
    out.push_back({"DELETE", "/{version}/{media_id}", "messages:send", false, "api_key"});
    out.push_back({"GET", "/webhooks/whatsapp/{channel_id}", "", false, "verify_token"});
    out.push_back({"POST", "/webhooks/whatsapp/{channel_id}", "", false, "meta_signature"});
    return out;
  }

 private:
  void Public(std::string method, std::string pattern, Handler h) {
    router_.Add(std::move(method), std::move(pattern), RouteSpec{"", true, std::move(h)});
  }
  void Private(std::string method, std::string pattern, std::string scope, Handler h) {
    router_.Add(std::move(method), std::move(pattern), RouteSpec{std::move(scope), false, std::move(h)});
  }
  // Only an operator's session, never an API key.
  void OperatorOnly(std::string method, std::string pattern, std::string scope, Handler h) {
    router_.Add(std::move(method), std::move(pattern),
                RouteSpec{std::move(scope), false, std::move(h), Caller::kOperator, false});
  }
  // A route whose operator callers must have re-authenticated recently.
  void Sensitive(std::string method, std::string pattern, std::string scope, Handler h, bool bulk = false) {
    router_.Add(std::move(method), std::move(pattern),
                RouteSpec{std::move(scope), false, std::move(h), Caller::kKeyOrOperator, true, bulk});
  }
  // A bulk read: the tenant's lower limit for exports applies too.
  void Bulk(std::string method, std::string pattern, std::string scope, Handler h) {
    router_.Add(std::move(method), std::move(pattern),
                RouteSpec{std::move(scope), false, std::move(h), Caller::kKeyOrOperator, false, true});
  }

  void RegisterOperatorRoutes() {
    namespace ai = api_internal;
    Public("POST", "/v1/auth/login", [this](const Context& c) { return ai::Login(od_, c.request); });
    Public("POST", "/v1/auth/mfa", [this](const Context& c) { return ai::CompleteMfa(od_, c.request); });
    Public("POST", "/v1/invitations/accept", [this](const Context& c) { return ai::AcceptInvitation(od_, c.request); });
    OperatorOnly("POST", "/v1/auth/logout", "", [this](const Context& c) { return ai::Logout(od_, c.request); });
    OperatorOnly("GET", "/v1/auth/session", "",
                 [this](const Context& c) { return ai::CurrentSession(od_, c.request, *c.principal); });
    OperatorOnly("GET", "/v1/auth/sessions", "", [this](const Context& c) { return ai::ListOwnSessions(od_, *c.principal); });
    OperatorOnly("DELETE", "/v1/auth/sessions/{id}", "", [this](const Context& c) {
      return ai::EndOwnSession(od_, *c.principal, Actor(c), c.params.at("id"));
    });
    OperatorOnly("POST", "/v1/auth/reauthenticate", "", [this](const Context& c) { return ai::Reauthenticate(od_, c.request); });
    OperatorOnly("POST", "/v1/auth/password", "", [this](const Context& c) { return ai::ChangePassword(od_, c.request); });
    // OAuth 2.0 client credentials (SEC-05): the endpoints speak RFC 6749/7009.
    Public("POST", "/oauth/token", [this](const Context& c) -> Result<HttpResponse> {
      return api_internal::TokenEndpoint(oad_, c.request);
    });
    Public("POST", "/oauth/revoke", [this](const Context& c) -> Result<HttpResponse> {
      return api_internal::RevocationEndpoint(oad_, c.request);
    });
    Private("GET", "/v1/oauth/clients", "admin",
            [this](const Context& c) { return ai::ListOAuthClients(oad_, *c.principal); });
    Sensitive("POST", "/v1/oauth/clients", "admin", [this](const Context& c) {
      return ai::CreateOAuthClient(oad_, c.request, *c.principal, Actor(c));
    });
    Sensitive("POST", "/v1/oauth/clients/{id}/rotate", "admin", [this](const Context& c) {
      return ai::RotateOAuthClient(oad_, c.request, *c.principal, Actor(c), c.params.at("id"));
    });
    Sensitive("DELETE", "/v1/oauth/clients/{id}", "admin", [this](const Context& c) {
      return ai::RevokeOAuthClient(oad_, *c.principal, Actor(c), c.params.at("id"));
    });
    // Time-bound grants and break-glass (SEC-10).
    Private("GET", "/v1/grants", "grants:manage", [this](const Context& c) { return ai::ListGrants(od_, *c.principal); });
    Sensitive("POST", "/v1/grants", "grants:manage", [this](const Context& c) {
      return ai::CreateGrant(od_, c.request, *c.principal, Actor(c), /*break_glass=*/false);
    });
    Sensitive("DELETE", "/v1/grants/{id}", "grants:manage", [this](const Context& c) {
      return ai::RevokeGrant(od_, *c.principal, Actor(c), c.params.at("id"));
    });
    Private("POST", "/v1/grants/{id}/review", "grants:manage", [this](const Context& c) {
      return ai::ReviewGrant(od_, *c.principal, Actor(c), c.params.at("id"));
    });
    router_.Add("POST", "/v1/break-glass",
                RouteSpec{"", false, [this](const Context& c) {
                            return ai::CreateGrant(od_, c.request, *c.principal, Actor(c), /*break_glass=*/true);
                          },
                          Caller::kOperator, /*sensitive=*/true});
    Private("GET", "/v1/operators", "operators:manage",
            [this](const Context& c) { return ai::ListOperators(od_, *c.principal); });
    Sensitive("POST", "/v1/operators", "operators:manage", [this](const Context& c) {
      return ai::CreateOperator(od_, c.request, *c.principal, Actor(c));
    });
    Private("GET", "/v1/operators/{id}", "operators:manage",
            [this](const Context& c) { return ai::GetOperator(od_, *c.principal, c.params.at("id")); });
    Sensitive("PUT", "/v1/operators/{id}/roles", "operators:manage", [this](const Context& c) {
      return ai::SetOperatorRoles(od_, c.request, *c.principal, Actor(c), c.params.at("id"));
    });
    for (const char* action : {"disable", "enable", "reset-mfa", "invite"}) {
      Sensitive("POST", std::string("/v1/operators/{id}/") + action, "operators:manage", [this, action](const Context& c) {
        return ai::OperatorAction(od_, *c.principal, Actor(c), c.params.at("id"), action);
      });
    }
  }

  HttpResponse Route(const HttpRequest& request) {
    const std::string& rid = request.request_id;
    if (std::optional<std::string> channel = api_internal::MatchWebhookPath(request.path)) {
      HttpResponse r = api_internal::Webhook(md_, request, *channel);
      r.route = "/webhooks/whatsapp/{channel_id}";
      return r;
    }
    if (std::optional<api_internal::GraphPath> graph = api_internal::MatchGraphPath(request.path)) {
      return RouteGraph(request, *graph);
    }
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
    if (spec.is_public && request.method == "POST") {
      // The login steps: guessing from one address is slowed before any work.
      if (int64_t wait = limiter_.Take("address:" + request.remote_address, deps_.limits.address); wait > 0) {
        return RateLimited("address", wait, match.pattern, rid);
      }
    }
    if (!spec.is_public) {
      auto p = Authenticate(request);
      if (!p.ok()) {
        Status recorded = p.status().code() == StatusCode::kUnauthenticated
                              ? RecordAuthFailure(request, match.pattern)
                              : Status::Ok();
        HttpResponse r = StatusResponse(recorded.ok() ? p.status() : recorded, rid);
        r.route = match.pattern;
        return r;
      }
      principal = std::move(p).value();
      if (std::optional<HttpResponse> limited = Limit(*principal, false, match.pattern, rid)) return *limited;
      Status refused = CheckCaller(request, spec, *principal);
      if (!refused.ok()) {
        Status recorded = Record(request, *principal, "authz.denied", "route:" + request.method + " " + match.pattern,
                                 "", refused.machine_code());
        HttpResponse r = StatusResponse(recorded.ok() ? refused : recorded, rid);
        r.route = match.pattern;
        r.tenant_id = principal->tenant_id;
        return r;
      }
      // Bulk reads count against their lower limit once they are allowed.
      if (spec.bulk) {
        if (std::optional<HttpResponse> limited = Limit(*principal, true, match.pattern, rid)) return *limited;
      }
    }
    Context ctx{request, match.params, principal ? &*principal : nullptr};
    Result<HttpResponse> result = spec.handler(ctx);
    HttpResponse r = result.ok() ? std::move(result).value() : StatusResponse(result.status(), rid);
    r.route = match.pattern;
    if (principal) r.tenant_id = principal->tenant_id;
    return r;
  }

  // A Graph-compatible call: the SDK's access token is the integration's
  // API key; answers and errors are in Meta's shape (190 for a bad token).
  HttpResponse RouteGraph(const HttpRequest& request, const api_internal::GraphPath& graph) {
    const std::string pattern =
        graph.is_media_object() ? "/{version}/{media_id}" : "/{version}/{phone_number_id}/" + graph.edge;
    // Reading a medium is reading messages; everything else sends.
    const std::string scope = graph.is_media_object() && request.method == "GET" ? "messages:read" : "messages:send";
    // Only the query is checked: the path's numeric id is Meta's number id.
    // Only the query is copied: the body may be a 100 MiB upload.
    HttpRequest query_only;
    query_only.path = "/";
    query_only.query = request.query;
    if (Status url = CheckUrl(query_only); !url.ok()) {
      HttpResponse r = api_internal::GraphErrorResponse(100, url.message());
      r.route = pattern;
      return r;
    }
    auto p = Authenticate(request);
    if (!p.ok()) {
      Status recorded = p.status().code() == StatusCode::kUnauthenticated ? RecordAuthFailure(request, pattern)
                                                                          : Status::Ok();
      HttpResponse r = recorded.ok() && p.status().code() == StatusCode::kUnauthenticated
                           ? api_internal::GraphErrorResponse(190, "Invalid OAuth access token")
                           : api_internal::GraphErrorResponse(2, "Service temporarily unavailable", 503);
      if (r.status == 401) {
        r.error_code = "unauthenticated";
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
      }
      r.route = pattern;
      return r;
    }
    if (std::optional<HttpResponse> limited = Limit(*p, false, pattern, request.request_id)) {
      HttpResponse r = api_internal::GraphErrorResponse(4, "Application request limit reached", 429);
      r.headers = limited->headers;
      r.error_code = "rate_limited";
      r.route = pattern;
      r.tenant_id = p->tenant_id;
      return r;
    }
    HttpResponse r;
    if (!p->HasScope(scope)) {
      Status recorded = Record(request, *p, "authz.denied", "route:" + request.method + " " + pattern, "",
                               "insufficient_scope");
      r = recorded.ok() ? api_internal::GraphErrorResponse(10, "The API key lacks the scope " + scope)
                        : api_internal::GraphErrorResponse(2, "Service temporarily unavailable", 503);
    } else {
      r = api_internal::GraphCall(md_, request, *p, ActorOf(request, &*p), graph);
    }
    r.route = pattern;
    r.tenant_id = p->tenant_id;
    return r;
  }

  Result<HttpResponse> DownloadMedia(const Context& c) {
    // "med_<Meta's id>": a bare long number would read like a phone number in the URL.
    const std::string& param = c.params.at("id");
    if (param.rfind("med_", 0) != 0 || !IsAsciiDigits(std::string_view(param).substr(4))) {
      return Status(StatusCode::kNotFound, "not_found", "no such media");
    }
    const std::string id = param.substr(4);
    if (c.request.Header("authorization") == nullptr) {
      HttpResponse r = api_internal::DownloadMedia(md_, c.request, nullptr, ActorOf(c.request, nullptr), id);
      if (r.log_detail == "link_invalid") {
        // A forged or stale link is a refused credential: on the record (AUD-01), floods aggregated.
        CS_RETURN_IF_ERROR(RecordAuthFailure(c.request, "/v1/media/{id}/download"));
      }
      return r;
    }
    auto p = Authenticate(c.request);
    if (!p.ok()) {
      if (p.status().code() == StatusCode::kUnauthenticated) {
        CS_RETURN_IF_ERROR(RecordAuthFailure(c.request, "/v1/media/{id}/download"));
      }
      return p.status();
    }
    if (!p->HasScope("messages:read")) {
      CS_RETURN_IF_ERROR(Record(c.request, *p, "authz.denied", "route:GET /v1/media/{id}/download", "",
                                "insufficient_scope"));
      return Status(StatusCode::kPermissionDenied, "insufficient_scope", "this API key lacks the scope messages:read");
    }
    return api_internal::DownloadMedia(md_, c.request, &*p, ActorOf(c.request, &*p), id);
  }

  // 429 with the wait, counted on /metrics; nothing else happens (SEC-09).
  HttpResponse RateLimited(std::string_view which, int64_t wait_ms, const std::string& route, const std::string& rid) {
    HttpResponse r = ErrorResponse(429, "rate_limited",
                                   "too many requests; wait Retry-After seconds (limits: docs/operators.md#rate-limits)",
                                   rid);
    r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, (wait_ms + 999) / 1000)));
    r.route = route;
    if (deps_.metrics != nullptr) deps_.metrics->Add("consentry_rate_limited_total", {{"limit", std::string(which)}});
    return r;
  }

  // The caller's own bucket, then its tenant's (or, for `bulk`, the
  // tenant's bulk bucket alone): one tenant's flood is refused at its own
  // limit, before it takes anything from the others.
  std::optional<HttpResponse> Limit(const Principal& p, bool bulk, const std::string& route, const std::string& rid) {
    if (bulk) {
      if (int64_t wait = limiter_.Take("bulk:" + p.tenant_id, deps_.limits.bulk); wait > 0) {
        HttpResponse r = RateLimited("bulk", wait, route, rid);
        r.tenant_id = p.tenant_id;
        return r;
      }
      return std::nullopt;
    }
    const std::string who = p.is_operator() ? "operator:" + p.operator_id : "key:" + p.key_id;
    if (int64_t wait = limiter_.Take(who, deps_.limits.principal); wait > 0) {
      HttpResponse r = RateLimited(p.is_operator() ? "operator" : "key", wait, route, rid);
      r.tenant_id = p.tenant_id;
      return r;
    }
    if (int64_t wait = limiter_.Take("tenant:" + p.tenant_id, deps_.limits.tenant); wait > 0) {
      HttpResponse r = RateLimited("tenant", wait, route, rid);
      r.tenant_id = p.tenant_id;
      return r;
    }
    return std::nullopt;
  }

  // After authentication: the kind of caller, the permission, the CSRF
  // token of a session, a recent re-authentication where the route asks.
  Status CheckCaller(const HttpRequest& request, const RouteSpec& spec, const Principal& p) {
    if (spec.caller == Caller::kOperator && !p.is_operator()) {
      return PermissionDenied("session_required", "this route is for operators logged in to the console, not API keys");
    }
    if (p.is_operator() && request.method != "GET" && request.method != "HEAD") {
      // SameSite=Strict keeps other sites' requests from carrying the
      // cookie; the token is the second defence (CSRF, ASVS 3.5).
      std::optional<SecretString> token = api_internal::SessionCookie(request);
      const std::string* sent = request.Header("x-csrf-token");
      if (!token || sent == nullptr || !CsrfTokenFor(*token).ConstantTimeEquals(*sent)) {
        return PermissionDenied("csrf_failed", "send the session's csrf_token in X-CSRF-Token");
      }
    }
    if (!spec.scope.empty() && !p.HasScope(spec.scope)) {
      if (std::binary_search(p.expired_scopes.begin(), p.expired_scopes.end(), spec.scope)) {
        return PermissionDenied("grant_expired", "the grant that gave " + spec.scope + " has expired");
      }
      return PermissionDenied("insufficient_scope", std::string(p.is_operator() ? "your roles do not grant "
                                                                                : "this API key lacks the scope ") +
                                                        spec.scope);
    }
    if (p.is_operator() && std::binary_search(p.granted_scopes.begin(), p.granted_scopes.end(), spec.scope)) {
      deps_.operators->NoteGrantUse(p.tenant_id, p.operator_id, spec.scope);  // for the periodic review (SEC-10)
    }
    if (spec.sensitive && p.is_operator() && !p.recently_verified) {
      return PermissionDenied("reauth_required",
                              "confirm with your password or a code first: POST /v1/auth/reauthenticate");
    }
    return Status::Ok();
  }

  Result<Principal> Authenticate(const HttpRequest& request) {
    if (request.HeaderCount("authorization") == 0 && deps_.operators != nullptr) {
      if (std::optional<SecretString> token = api_internal::SessionCookie(request)) {
        CS_ASSIGN_OR_RETURN(SessionPrincipal s, deps_.operators->Authenticate(*token));
        Principal p;
        p.tenant_id = s.op.tenant_id;
        p.operator_id = s.op.id;
        p.scopes = std::move(s.permissions);
        p.expires_at_ms = s.session.expires_at_ms;
        p.recently_verified = s.recently_verified;
        p.granted_scopes = std::move(s.granted);
        p.expired_scopes = std::move(s.expired);
        return p;
      }
    }
    if (request.HeaderCount("authorization") != 1) {
      return Unauthenticated("missing, invalid, expired or revoked credentials");
    }
    std::string_view value = *request.Header("authorization");
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size() || AsciiLower(value.substr(0, kScheme.size())) != kScheme) {
      return Unauthenticated("missing, invalid, expired or revoked credentials");
    }
    const std::string_view token = value.substr(kScheme.size());
    if (deps_.oauth != nullptr && OAuthService::IsAccessToken(token)) return deps_.oauth->Authenticate(token);
    return deps_.api_keys->Authenticate(token);
  }

  int64_t Now() const { return deps_.clock->NowUnixMillis(); }

  static AuditActor ActorOf(const HttpRequest& request, const Principal* principal) {
    AuditActor a;
    a.type = principal == nullptr ? "anonymous" : principal->is_operator() ? "operator" : "integration";
    a.id = principal == nullptr ? "" : principal->is_operator() ? principal->operator_id : principal->key_id;
    a.source = request.remote_address.empty() ? "api" : "api " + request.remote_address;
    a.request_id = request.request_id;
    return a;
  }

  // Records an event that describes no data change. A failure to record is
  // returned as audit_unavailable: the caller refuses its operation (AUD-07).
  Status Record(const HttpRequest& request, const Principal& principal, std::string action, std::string resource,
                std::string subject = "", std::string outcome = "success", std::string details = "{}") {
    if (deps_.audit == nullptr) return Unavailable("audit_unavailable", "no audit sink");
    AuditEvent e{
        .tenant_id = principal.tenant_id,
        .actor = ActorOf(request, &principal),
        .action = std::move(action),
        .subject = std::move(subject),
        .resource = std::move(resource),
        .outcome = std::move(outcome),
        .details = std::move(details)
    };
    return deps_.audit->Record(std::move(e));
  }

  // At most kAuthFailuresPerSecond failures a second are recorded one by one;
  // beyond that they are counted and recorded as one "auth.failure.suppressed"
  // entry per second, so a credential-stuffing flood cannot fill the audit
  // queue (and lock everyone else out with audit_unavailable) or grow the
  // ledger without bound.
  static constexpr int kAuthFailuresPerSecond = 100;

  Status RecordAuthFailure(const HttpRequest& request, const std::string& pattern) {
    if (deps_.audit == nullptr) return Unavailable("audit_unavailable", "no audit sink");
    bool new_second = false;
    {
      std::lock_guard<std::mutex> lock(auth_failures_mu_);
      const int64_t second = deps_.clock->MonotonicNanos() / 1'000'000'000;
      if (second != auth_failure_second_) {
        auth_failure_second_ = second;
        auth_failures_this_second_ = 0;
        new_second = true;
      }
      if (++auth_failures_this_second_ > kAuthFailuresPerSecond) {
        ++auth_failures_suppressed_;
        return Status::Ok();
      }
    }
    if (new_second) CS_RETURN_IF_ERROR(FlushPendingAudit());
    AuditEvent e{
        .actor = ActorOf(request, nullptr),
        .action = "auth.failure",
        .resource = "route:" + request.method + " " + pattern,
        .outcome = "unauthenticated"
    };
    // The public key id of a well-formed token tells which key is being guessed at; nothing else is kept.
    const std::string* header = request.Header("authorization");
    if (header && header->size() >= 7 + 29) {
      std::string_view token = std::string_view(*header).substr(7);
      if (token.substr(0, 4) == "csk_" && IsKeyId("key_" + std::string(token.substr(4, 24)))) {
        JsonWriter w;
        w.BeginObject().Key("key_id").String("key_" + std::string(token.substr(4, 24))).EndObject();
        e.details = w.Take();
      }
    }
    return deps_.audit->Record(std::move(e));
  }

  // A well-formed id that exists in another tenant is a cross-tenant attempt
  // (B-27): recorded in the system stream, which only operators read (in
  // either tenant's stream it would tell one tenant about the other), and
  // still answered exactly like a missing object.
  Status RecordIfForeignKey(const Context& c, const std::string& id) {
    Result<std::string> other = deps_.api_keys->OwnerOf(id);
    if (!other.ok() || *other == c.principal->tenant_id) return Status::Ok();
    if (deps_.audit == nullptr) return Unavailable("audit_unavailable", "no audit sink");
    JsonWriter w;
    w.BeginObject().Key("caller_tenant").String(c.principal->tenant_id);
    w.Key("target_tenant").String(*other).EndObject();
    AuditEvent e{
        .actor = ActorOf(c.request, c.principal),
        .action = "authz.cross_tenant_attempt",
        .resource = "apikey:" + id,
        .outcome = "not_found",
        .details = w.Take()
    };
    return deps_.audit->Record(std::move(e));
  }

  // Looks up a key of the caller's tenant; a foreign one is recorded and not found.
  Result<ApiKeyRecord> OwnKey(const Context& c, const std::string& id) {
    if (!IsKeyId(id)) return NotFound("no such API key");
    auto k = deps_.api_keys->Get(c.principal->tenant_id, id);
    if (!k.ok() && k.status().code() == StatusCode::kNotFound) CS_RETURN_IF_ERROR(RecordIfForeignKey(c, id));
    return k;
  }

  AuditActor Actor(const Context& c) const { return ActorOf(c.request, c.principal); }

  // A key can only hand out what it holds: `admin` manages keys, it does not
  // mint scopes it lacks (no escalation through key creation or rotation).
  static Status RequireHeldScopes(const Context& c, const std::vector<std::string>& scopes) {
    for (const auto& scope : scopes) {
      if (!c.principal->HasScope(scope)) {
        return PermissionDenied("insufficient_scope", "cannot grant a scope this API key does not hold");
      }
    }
    return Status::Ok();
  }

  // --- public ---
  Result<HttpResponse> Healthz(const Context&) {
    JsonWriter w;
    w.BeginObject().Key("status").String("ok").Key("version").String(deps_.version).EndObject();
    return JsonResponse(200, w.Take());
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
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> Metrics(const Context&) {
    HttpResponse r = JsonResponse(200, deps_.metrics->RenderPrometheus());
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
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> GetTenant(const Context& c) {
    CS_ASSIGN_OR_RETURN(Tenant t, deps_.tenants->Get(c.principal->tenant_id));
    JsonWriter w;
    w.BeginObject().Key("id").String(t.id).Key("name").String(t.name);
    w.Key("created_at").String(FormatRfc3339Millis(t.created_at_ms)).EndObject();
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> ListKeys(const Context& c) {
    CS_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, deps_.api_keys->List(c.principal->tenant_id));
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "apikey.list", "apikey:*"));
    int64_t now = Now();
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& k : keys) w.Raw(ApiKeyJson(k, now));
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> CreateKey(const Context& c) {
    CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(c.request, deps_.json_limits));
    ObjectReader& reader = body.reader();
    CS_ASSIGN_OR_RETURN(std::string name, reader.RequiredString("name"));
    CS_ASSIGN_OR_RETURN(auto scopes, reader.OptionalStringArray("scopes"));
    CS_ASSIGN_OR_RETURN(auto ttl, reader.OptionalInt("expires_in_days"));
    CS_RETURN_IF_ERROR(reader.Finish());
    if (!scopes) return InvalidArgument("missing_field", "body.scopes is required");
    CS_RETURN_IF_ERROR(NormalizeScopes(*scopes).status());  // unknown names are 400 invalid_scope, not 403
    CS_RETURN_IF_ERROR(RequireHeldScopes(c, *scopes));
    CS_ASSIGN_OR_RETURN(IssuedKey issued,
                        deps_.api_keys->Create(Actor(c), c.principal->tenant_id, name, *scopes, ttl));
    HttpResponse r = JsonResponse(201, ApiKeyJson(issued.record, Now(), InsecureSecretAccess::Get(issued.token)));
    r.headers.emplace_back("Location", "/v1/apikeys/" + issued.record.id);
    return r;
  }

  Result<HttpResponse> GetKey(const Context& c) {
    const std::string& id = c.params.at("id");
    CS_ASSIGN_OR_RETURN(ApiKeyRecord k, OwnKey(c, id));
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "apikey.read", "apikey:" + id));
    return JsonResponse(200, ApiKeyJson(k, Now()));
  }

  Result<HttpResponse> RevokeKey(const Context& c) {
    const std::string& id = c.params.at("id");
    CS_RETURN_IF_ERROR(OwnKey(c, id).status());
    CS_RETURN_IF_ERROR(deps_.api_keys->Revoke(Actor(c), c.principal->tenant_id, id));
    CS_ASSIGN_OR_RETURN(ApiKeyRecord k, OwnKey(c, id));
    return JsonResponse(200, ApiKeyJson(k, Now()));
  }

  Result<HttpResponse> RotateKey(const Context& c) {
    const std::string& id = c.params.at("id");
    CS_ASSIGN_OR_RETURN(ApiKeyRecord current, OwnKey(c, id));
    CS_RETURN_IF_ERROR(RequireHeldScopes(c, current.scopes));
    CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(c.request, deps_.json_limits, /*empty_as_object=*/true));
    ObjectReader& reader = body.reader();
    CS_ASSIGN_OR_RETURN(auto overlap, reader.OptionalInt("overlap_seconds"));
    CS_RETURN_IF_ERROR(reader.Finish());
    CS_ASSIGN_OR_RETURN(IssuedKey issued, deps_.api_keys->Rotate(Actor(c), c.principal->tenant_id, id, overlap));
    HttpResponse r = JsonResponse(201, ApiKeyJson(issued.record, Now(), InsecureSecretAccess::Get(issued.token)));
    r.headers.emplace_back("Location", "/v1/apikeys/" + issued.record.id);
    return r;
  }

  // --- /v1/audit (scope audit:read; always limited to the caller's tenant) ---

  struct AuditParams {
    AuditQuery query;
    std::string format = "jsonl";
    int64_t tree_size = 0;
    int64_t seq = 0;
  };

  // Reads the audit query parameters a route allows; anything else is unknown_field.
  static Result<AuditParams> ParseAuditParams(const HttpRequest& request, std::initializer_list<std::string_view> allowed,
                                              int default_limit, int max_limit) {
    AuditParams p;
    p.query.limit = default_limit;
    CS_ASSIGN_OR_RETURN(auto params, ParseQuery(request.query));
    for (const auto& [name, value] : params) {
      bool ok = false;
      for (auto a : allowed) ok = ok || a == name;
      if (!ok) return InvalidArgument("unknown_field", "unknown query parameter \"" + name.substr(0, 40) + "\"");
      // "since"/"until", not "from"/"to": those names are reserved for phone
      // numbers and refused in URLs (CheckUrl).
      if (name == "since" || name == "until") {
        auto ms = ParseRfc3339Millis(value);
        if (!ms) return InvalidArgument("invalid_type", name + " must be an RFC 3339 date-time");
        (name == "since" ? p.query.from_ms : p.query.to_ms) = *ms;
      } else if (name == "after") {
        p.query.after_seq = *ParseNonNegativeInt(value);
      } else if (name == "limit") {
        int64_t v = *ParseNonNegativeInt(value);
        if (v < 1 || v > max_limit) {
          return InvalidArgument("invalid_type", "limit must be between 1 and " + std::to_string(max_limit));
        }
        p.query.limit = static_cast<int>(v);
      } else if (name == "tree_size") {
        p.tree_size = *ParseNonNegativeInt(value);
      } else if (name == "seq") {
        p.seq = *ParseNonNegativeInt(value);
      } else if (name == "format") {
        if (value != "jsonl" && value != "syslog") return InvalidArgument("invalid_type", "format must be jsonl or syslog");
        p.format = value;
      } else if (name == "action" || name == "actor" || name == "subject") {
        // Ids and pseudonyms only: anything else could put personal data (an
        // e-mail address, a name) into the permanent ledger via the record of this search.
        if (!IsIdentifier(value)) {
          return InvalidArgument("invalid_type", name + " must be 1-128 characters of [A-Za-z0-9._:-]");
        }
        (name == "action" ? p.query.action : name == "actor" ? p.query.actor_id : p.query.subject) = value;
      }
    }
    return p;
  }

  static void WriteNextAfter(JsonWriter& w, const std::vector<AuditRecord>& page, int limit) {
    w.Key("next_after");
    if (static_cast<int>(page.size()) == limit && !page.empty()) w.Int(page.back().seq);
    else w.Null();
  }

  Result<HttpResponse> SearchAudit(const Context& c) {
    CS_ASSIGN_OR_RETURN(AuditParams p, ParseAuditParams(c.request, {"action", "actor", "subject", "since", "until",
                                                                    "after", "limit"}, 100, 1000));
    p.query.tenant_id = c.principal->tenant_id;
    CS_RETURN_IF_ERROR(deps_.audit->Flush());
    CS_ASSIGN_OR_RETURN(std::vector<AuditRecord> page, deps_.audit_log->Search(p.query));
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "audit.search", "audit:events", p.query.subject.value_or("")));
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& r : page) w.Raw(AuditRecordJson(r));
    w.EndArray();
    WriteNextAfter(w, page, p.query.limit);
    w.EndObject();
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> ExportAudit(const Context& c) {
    CS_ASSIGN_OR_RETURN(AuditParams p, ParseAuditParams(c.request, {"format", "since", "until", "after", "limit"},
                                                        1000, 10000));
    p.query.tenant_id = c.principal->tenant_id;
    CS_RETURN_IF_ERROR(deps_.audit->Flush());
    CS_ASSIGN_OR_RETURN(std::vector<AuditRecord> page, deps_.audit_log->Search(p.query));
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "audit.export", "audit:events"));
    HttpResponse r;
    r.content_type = p.format == "jsonl" ? "application/x-ndjson" : "text/plain; charset=utf-8";
    for (const auto& e : page) {
      r.body += p.format == "jsonl" ? AuditRecordJson(e) : AuditRecordSyslog(e, "");
      r.body += '\n';
    }
    if (static_cast<int>(page.size()) == p.query.limit && !page.empty()) {
      r.headers.emplace_back("X-Next-After", std::to_string(page.back().seq));
    }
    return r;
  }

  Result<HttpResponse> TreeHeads(const Context& c) {
    CS_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, deps_.audit_log->TreeHeads());
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "audit.tree_heads", "audit:tree_heads"));
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& h : heads) w.Raw(TreeHeadJson(h));
    w.EndArray().EndObject();
    return JsonResponse(200, w.Take());
  }

  // GET /v1/audit/proof?seq=N[&tree_size=M]: the sequence number travels as
  // a query parameter because long digit runs in a path are refused as
  // possible phone numbers.
  Result<HttpResponse> Proof(const Context& c) {
    CS_ASSIGN_OR_RETURN(AuditParams p, ParseAuditParams(c.request, {"seq", "tree_size"}, 1, 1));
    if (p.seq <= 0) return InvalidArgument("missing_field", "seq is required");
    const std::optional<int64_t> seq = p.seq;
    auto proof = ProveInclusion(*deps_.store, *seq, p.tree_size);
    // Another tenant's entry is answered like a missing one.
    if (proof.ok() && proof->entry.tenant_id != c.principal->tenant_id) return NotFound("no such audit entry");
    if (!proof.ok()) return proof.status();
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "audit.proof", "audit:" + std::to_string(*seq)));
    JsonWriter w;
    w.BeginObject();
    w.Key("entry").Raw(AuditRecordJson(proof->entry));
    w.Key("leaf_index").Int(*seq - 1);
    w.Key("tree_size").Int(proof->tree_size);
    w.Key("path").BeginArray();
    for (const auto& h : proof->path) w.String(HexEncode(h));
    w.EndArray();
    w.Key("tree_head").Raw(TreeHeadJson(proof->head));
    w.EndObject();
    return JsonResponse(200, w.Take());
  }

  Result<HttpResponse> AccessLog(const Context& c) {
    const std::string& subject = c.params.at("subject");
    if (!IsIdentifier(subject)) return NotFound("no such subject");
    CS_ASSIGN_OR_RETURN(AuditParams p, ParseAuditParams(c.request, {"since", "until", "after", "limit"}, 1000, 1000));
    p.query.tenant_id = c.principal->tenant_id;
    p.query.subject = subject;
    CS_RETURN_IF_ERROR(deps_.audit->Flush());
    CS_ASSIGN_OR_RETURN(std::vector<AuditRecord> page, deps_.audit_log->Search(p.query));
    // Reading someone's access history is itself an access to their data.
    CS_RETURN_IF_ERROR(Record(c.request, *c.principal, "audit.access_log", "subject:" + subject, subject));
    JsonWriter w;
    w.BeginObject().Key("subject").String(subject).Key("data").BeginArray();
    for (const auto& r : page) {
      w.BeginObject();
      w.Key("seq").Int(r.seq).Key("time").String(FormatRfc3339Millis(r.ts_ms));
      w.Key("actor_type").String(r.actor_type).Key("actor_id").String(r.actor_id);
      w.Key("action").String(r.action).Key("purpose").String(r.purpose).Key("resource").String(r.resource);
      w.Key("outcome").String(r.outcome).Key("request_id").String(r.request_id);
      w.EndObject();
    }
    w.EndArray();
    WriteNextAfter(w, page, p.query.limit);
    w.EndObject();
    return JsonResponse(200, w.Take());
  }

  GatewayApiDeps deps_;
  api_internal::MessagingRouteDeps md_;
  api_internal::ConsentRouteDeps cd_;
  api_internal::ScanRouteDeps sd_;
  api_internal::OperatorRouteDeps od_;
  api_internal::OAuthRouteDeps oad_;
  RateLimiter limiter_{deps_.clock != nullptr ? *deps_.clock : RealClock()};
  api_internal::Router<RouteSpec> router_;
  std::mutex auth_failures_mu_;
  int64_t auth_failure_second_ = 0;       // guarded by auth_failures_mu_
  int auth_failures_this_second_ = 0;     // guarded by auth_failures_mu_
  int64_t auth_failures_suppressed_ = 0;  // guarded by auth_failures_mu_
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
