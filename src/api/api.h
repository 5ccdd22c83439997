// File: api.h
// The gateway's HTTP API: routing, authentication, scope checks, strict
// body decoding and the one Status → HTTP mapping. Handlers are thin: they
// decode, call a module (auth/, store/), and encode.
//
// Route inventory and permission matrix: docs/api.md. Public (no
// credentials) routes are exactly /healthz, /readyz and /metrics; the route
// inventory test fails if another public route appears (S-09).
//
// Thread-safety: Handle() is called concurrently from HTTP worker threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/oauth.h"
#include "env/env.h"
#include "http/http.h"
#include "json/json.h"
#include "metrics/metrics.h"
#include "limits/rate_limiter.h"
#include "store/store.h"
#include "tenants/tenants.h"

namespace cs {

// The services the routes call (not owned; defined in messaging/, vault/, consent/).
class ChannelService;
class ConsentService;
class ContentGuard;
class ErasureService;
class HistoryService;
class MediaService;
class MessageService;
class OperatorService;
class SubscriberService;
class TenantKeyring;
class WebhookReceiver;

struct GatewayApiDeps {
  // Not owned. Only for readiness (/readyz): everything the API reads of
  // tenants' data it reads through the services below.
  Store* store = nullptr;
  ApiKeyService* api_keys = nullptr;   // not owned
  TenantService* tenants = nullptr;    // not owned
  OperatorService* operators = nullptr;  // not owned; null: operators cannot log in (no master key)
  OAuthService* oauth = nullptr;         // not owned; null: no OAuth clients
  AuditReader* audit_log = nullptr;    // not owned: the audit API reads through it
  MetricsRegistry* metrics = nullptr;  // not owned
  AuditSink* audit = nullptr;          // not owned: reads, refusals and failures are recorded here
  const Clock* clock = nullptr;        // not owned
  JsonLimits json_limits;
  // Request rate limits (SEC-09, TEN-06): per API key or operator, per
  // tenant, per source address on the login steps, and for bulk reads per
  // tenant. A rate of 0 is no limit.
  struct Limits {
    RateLimit principal;
    RateLimit tenant;
    RateLimit address;
    RateLimit bulk;
  } limits;
  std::string version;
  // The WhatsApp path; when null, its routes answer as if nothing were configured.
  MessageService* messages = nullptr;   // not owned
  MediaService* media = nullptr;        // not owned; null: media answers 503
  ChannelService* channels = nullptr;   // not owned
  WebhookReceiver* webhooks = nullptr;  // not owned
  SubscriberService* subscribers = nullptr;  // not owned
  ConsentService* consent = nullptr;         // not owned
  TenantKeyring* keyring = nullptr;          // not owned
  ContentGuard* content = nullptr;           // not owned: content protection (docs/scan.md)
  ErasureService* erasures = nullptr;        // not owned: subject erasure (docs/erasure.md)
  HistoryService* history = nullptr;         // not owned: conversation history (docs/retention.md)
  std::vector<std::string> allowed_graph_urls;  // for channels created through the API
  std::string public_base_url;                  // http.public_base_url: base of media download links
};

// Describes one route for the inventory (docs/api.md and tests).
struct RouteInfo {
  std::string method;
  std::string pattern;   // e.g. "/v1/apikeys/{id}"
  std::string scope;     // required scope; "" for any authenticated key
  bool is_public = false;
  // How a caller proves itself: "api_key" (Authorization: Bearer csk_…),
  // "api_key_or_session" (that, or an operator's session cookie),
  // "session" (an operator's session only), "none" (public),
  // "meta_signature" (X-Hub-Signature-256 over the body), "verify_token"
  // (the webhook GET handshake), "signed_link_or_api_key" (media links).
  std::string auth = "api_key";
  // An operator must have re-authenticated within the last minutes (SEC-08).
  bool sensitive = false;
};

class GatewayApi {
 public:
  virtual ~GatewayApi() = default;
  // Answers one request. Never throws.
  virtual HttpResponse Handle(const HttpRequest& request) = 0;
  // Whether `request` may be handled on a thread that serves sockets
  // (HttpServerOptions::runs_inline): webhook deliveries and sends, which
  // wait for their commit without holding a thread, and the probes.
  virtual bool RunsInline(const HttpRequest& request) const = 0;
  // Returns every route, in registration order.
  virtual std::vector<RouteInfo> Routes() const = 0;
  // Records audit events the API holds back (counts of suppressed
  // authentication failures). Call about once a second and before shutdown;
  // on failure the counts are kept for the next call.
  virtual Status FlushPendingAudit() = 0;
};

std::unique_ptr<GatewayApi> CreateGatewayApi(GatewayApiDeps deps);

// Returns an API key as the JSON object of docs/api.md, never with its hash.
// `token` is included when non-empty (creation and rotation answers only).
std::string ApiKeyJson(const ApiKeyRecord& key, int64_t now_ms, std::string_view token = {});

// Returns the HTTP status for `status`: by machine code first (the
// vocabulary of docs/errors.md), then by canonical code.
int HttpStatusFor(const Status& status);

// The answer of every messaging route on a gateway serving without messaging
// (no master key): 409 "no_channel", one sentence for all of them.
Status MessagingDisabled();

// Returns the error response for `status`. Internal errors answer a fixed
// message (the detail goes to the log only), so nothing internal leaks.
HttpResponse StatusResponse(const Status& status, const std::string& request_id);

// Checks a request's URL for personal data or secrets: a query parameter
// named like a credential or a phone field, or any path segment or query
// value that looks like a phone number. Returns invalid_argument
// "sensitive_data_in_url" (C-11, B-39), or the query parsing refusals.
// Paging parameters (after, limit, seq, tree_size, old_size, new_size) must be
// plain non-negative integers and are exempt from the phone heuristic.
Status CheckUrl(const HttpRequest& request);

// Returns 200 {"<key>":[item…]} with each item rendered by `to_json`.
template <typename T, typename ToJson>
HttpResponse ListResponse(std::string_view key, const std::vector<T>& items, ToJson to_json) {
  std::string body = "{\"" + std::string(key) + "\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body += ',';
    body += to_json(items[i]);
  }
  body += "]}";
  return JsonResponse(200, std::move(body));
}

// Decodes a JSON request body: refuses a wrong Content-Type (415
// unsupported_media_type), then applies ParseJson under `limits`. An empty
// body decodes as {} when `empty_as_object`.
Result<JsonValue> DecodeJsonBody(const HttpRequest& request, const JsonLimits& limits, bool empty_as_object);

// A request's JSON object body and the reader a route takes its fields from
// (Finish() refuses what nobody asked for): the one way a route reads its
// body. invalid_type when the body is not an object.
class JsonObjectBody {
 public:
  static Result<JsonObjectBody> Decode(const HttpRequest& request, const JsonLimits& limits,
                                       bool empty_as_object = false);
  ObjectReader& reader() { return *reader_; }
  const JsonValue& value() const { return *value_; }

 private:
  std::unique_ptr<JsonValue> value_;  // the reader points into it: stable across moves
  std::optional<ObjectReader> reader_;
};

}  // namespace cs
