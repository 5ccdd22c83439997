// The WhatsApp routes of messaging_routes.h.
#include "api/messaging_routes.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/strings.h"
#include "env/env.h"
#include "http/client.h"
#include "messaging/channels.h"
#include "messaging/forwarding.h"
#include "messaging/history.h"
#include "messaging/media.h"
#include "messaging/sending.h"
#include "messaging/webhooks.h"
#include "vault/erasure.h"
#include "vault/keyring.h"
#include "vault/keys.h"
#include "whatsapp/wire.h"

namespace cs::api_internal {

namespace {

bool IsVersion(std::string_view s) {
  if (s.size() < 4 || s[0] != 'v') return false;
  size_t dot = s.find('.');
  return dot != std::string_view::npos && IsAsciiDigits(s.substr(1, dot - 1)) && IsAsciiDigits(s.substr(dot + 1));
}

std::string Header(const HttpRequest& req, std::string_view name) {
  const std::string* h = req.Header(name);
  return h != nullptr ? *h : "";
}

// Reads the endpoint, throughput and secrets of a channel body into `spec`
// (absent fields keep the values already in it), and checks the base URL
// against messaging.allowed_graph_urls when the body names one, or always
// when `check_default` (a new channel's default URL must be allowed too).
Status ReadChannelEndpoint(const MessagingRouteDeps& d, ObjectReader& reader, ChannelSpec& spec, bool check_default) {
  CS_ASSIGN_OR_RETURN(auto base, reader.OptionalString("graph_base_url"));
  CS_ASSIGN_OR_RETURN(auto version, reader.OptionalString("graph_version"));
  CS_ASSIGN_OR_RETURN(std::string token, reader.RequiredString("access_token"));
  CS_ASSIGN_OR_RETURN(std::string secret, reader.RequiredString("app_secret"));
  CS_ASSIGN_OR_RETURN(std::string verify, reader.RequiredString("verify_token"));
  CS_ASSIGN_OR_RETURN(auto throughput, reader.OptionalInt("throughput_per_second"));
  if (base) spec.graph_base_url = *base;
  if (version) spec.graph_version = *version;
  if (throughput) spec.throughput_per_second = *throughput;
  std::string normalized = spec.graph_base_url;
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  if ((base || check_default) &&
      std::find(d.allowed_graph_urls.begin(), d.allowed_graph_urls.end(), normalized) == d.allowed_graph_urls.end()) {
    return PermissionDenied("forbidden", "graph_base_url is not in messaging.allowed_graph_urls");
  }
  spec.access_token = SecretString(std::move(token));
  spec.app_secret = SecretString(std::move(secret));
  spec.verify_token = SecretString(std::move(verify));
  return Status::Ok();
}

// Gives a deferred answer: `produce` runs on the socket thread that writes
// the answer, or first on a worker when it may wait (`waits`).
void GiveAnswer(const HttpRespond& respond, const std::function<void(std::function<void()>)>& offload,
                std::function<HttpResponse()> produce, bool waits) {
  if (waits && offload) {
    offload([respond, produce = std::move(produce)] {
      HttpResponse r;
      try {
        r = produce();
      } catch (...) {
        // As on a socket thread (the server's Answer): a bug, answered without details.
        r = ErrorResponse(500, "internal_error", "internal error", "");
      }
      respond([r = std::move(r)] { return r; });
    });
    return;
  }
  respond(std::move(produce));
}

// POST /v1/messages's answer: 202 with the message, or the refusal.
HttpResponse SendAnswer(const Result<SendResult>& result, const std::string& request_id) {
  if (!result.ok()) return StatusResponse(result.status(), request_id);
  HttpResponse r = JsonResponse(202, MessageJson(result->message, nullptr));
  r.headers.emplace_back("Location", "/v1/messages/" + result->message.id);
  if (result->replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

// A Graph-compatible send's answer, in Meta's success or error shape.
HttpResponse GraphSendAnswer(const Result<SendResult>& result) {
  if (!result.ok()) {
    const Status& s = result.status();
    const std::string& m = s.machine_code();
    if (m == "template_required") return GraphRefusalResponse(131047, s);
    if (s.code() == StatusCode::kNotFound || m == "no_channel") {
      return GraphErrorResponse(100, "Unsupported post request. Object with ID does not exist or cannot be loaded");
    }
    if (m == "idempotency_key_reuse" || m == "invalid_idempotency_key") return GraphRefusalResponse(100, s);
    if (s.code() == StatusCode::kPermissionDenied) {
      // No consent covers the send (CONS-03): Meta's "access denied", with our code in the details.
      return GraphRefusalResponse(131005, s);
    }
    if (m == "optout_affordance_missing") return GraphRefusalResponse(100, s);
    // Content protection (CHAN-04): Meta's "parameter value is not valid", our code first.
    if (m == "sensitive_identifier" || m == "channel_not_permitted_for_phi") {
      return GraphRefusalResponse(131009, s);
    }
    if (m == "media_unscannable") return GraphRefusalResponse(131053, s);
    if (m == "unknown_message_reference" || m == "referenced_message_failed" || m == "reference_unavailable") {
      return GraphRefusalResponse(131009, s);
    }
    if (s.code() == StatusCode::kUnavailable) {
      HttpResponse r = GraphErrorResponse(2, "Service temporarily unavailable", 503);
      r.headers.emplace_back("Retry-After", "5");
      r.log_detail = s.ToString();
      return r;
    }
    if (s.code() == StatusCode::kInvalidArgument) return GraphErrorResponse(whatsapp::GraphCodeFor(s), s.message());
    HttpResponse r = GraphErrorResponse(1, "An unknown error occurred", 500);
    r.log_detail = s.ToString();
    return r;
  }
  const SendResult& sent = *result;
  HttpResponse ok;
  if (sent.message.kind == "mark_read") {
    ok = JsonResponse(200, R"({"success":true})");
    if (sent.replayed) ok.headers.emplace_back("Idempotent-Replayed", "true");
    return ok;
  }
  JsonWriter w;
  w.BeginObject().Key("messaging_product").String("whatsapp");
  w.Key("contacts").BeginArray().BeginObject();
  if (!sent.parsed.wa_id.empty()) {
    w.Key("input").String(sent.parsed.to_input).Key("wa_id").String(sent.parsed.wa_id);
  } else {
    w.Key("input").String(sent.parsed.recipient_user_id).Key("user_id").String(sent.parsed.recipient_user_id);
  }
  w.EndObject().EndArray();
  // The id is the gateway's message id: the message is queued, and Meta's
  // wamid does not exist yet. Status events for it use the same id.
  w.Key("messages").BeginArray().BeginObject().Key("id").String(sent.message.id);
  if (!sent.parsed.free_form && sent.message.kind == "message") w.Key("message_status").String("accepted");
  w.EndObject().EndArray().EndObject();
  ok = JsonResponse(200, whatsapp::MetaEscape(w.str()));
  if (sent.replayed) ok.headers.emplace_back("Idempotent-Replayed", "true");
  return ok;
}

// Sends, and answers in `shape`: later, once committed, without holding a
// thread (the route and tenant set here, as the router would); or at once
// where the request cannot be deferred (handlers called directly).
HttpResponse SendNowOrLater(const MessagingRouteDeps& d, const HttpRequest& req, const SendRequest& sr,
                            std::string route, std::string tenant,
                            std::function<HttpResponse(const Result<SendResult>&)> shape) {
  if (!req.defer) return shape(d.messages->Send(sr));
  HttpRespond respond = req.defer();
  d.messages->SendAsync(sr, [respond, offload = req.offload, route = std::move(route), tenant = std::move(tenant),
                             shape = std::move(shape)](std::function<Result<SendResult>()> result, bool waits) {
    GiveAnswer(
        respond, offload,
        [result = std::move(result), route, tenant, shape] {
          HttpResponse r = shape(result());
          r.route = route;
          r.tenant_id = tenant;
          return r;
        },
        waits);
  });
  return HttpResponse{};  // ignored: deferred
}

}  // namespace

Result<HttpResponse> SendMessage(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                 const AuditActor& actor) {
  if (d.messages == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonValue body, DecodeJsonBody(req, d.json_limits, false));
  if (!body.is_object()) return InvalidArgument("invalid_type", "body must be a JSON object");
  // The native body is a Graph message body, plus an optional channel_id;
  // messaging_product may be left out.
  JsonValue::Object graph;
  std::string channel_id;
  bool has_product = false;
  for (const auto& [key, value] : body.as_object()) {
    if (key == "channel_id") {
      if (!value.is_string()) return InvalidArgument("invalid_type", "body.channel_id must be a string");
      channel_id = value.as_string();
      continue;
    }
    has_product = has_product || key == "messaging_product";
    graph.emplace_back(key, value);
  }
  if (!has_product) graph.insert(graph.begin(), {"messaging_product", JsonValue::MakeString("whatsapp")});
  JsonValue graph_body = JsonValue::MakeObject(std::move(graph));
  if (!channel_id.empty() && !IsPrefixedHexId(channel_id, "chn_")) return NotFound("no such channel");
  SendRequest sr;
  sr.tenant_id = p.tenant_id;
  sr.actor = actor;
  sr.channel_id = channel_id;
  sr.body = &graph_body;
  if (req.HeaderCount("idempotency-key") > 1) return InvalidArgument("ambiguous_input", "Idempotency-Key is repeated");
  sr.idempotency_key = Header(req, "idempotency-key");
  if (req.Header("idempotency-key") != nullptr && sr.idempotency_key.empty()) {
    return InvalidArgument("invalid_idempotency_key", "Idempotency-Key must not be empty");
  }
  const std::string rid = req.request_id;
  return SendNowOrLater(d, req, sr, "/v1/messages", p.tenant_id,
                        [rid](const Result<SendResult>& result) { return SendAnswer(result, rid); });
}

Result<HttpResponse> GetMessage(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                const std::string& id) {
  if (d.messages == nullptr || !IsPrefixedHexId(id, "msg_")) return NotFound("no such message");
  std::vector<StatusEventRecord> events;
  CS_ASSIGN_OR_RETURN(MessageRecord m, d.messages->Get(p.tenant_id, actor, id, &events));
  // Meta's id embeds the number: only a key that may read numbers sees it
  // (the admin scope stands in for MIN-02's pii:phone:read), and never after
  // the subject's erasure.
  std::optional<std::string> wamid;
  if (p.HasScope("admin")) {
    CS_ASSIGN_OR_RETURN(wamid, d.messages->OpenWamid(m));
  }
  return JsonResponse(200, MessageJson(m, &events, wamid.value_or("")));
}

Result<HttpResponse> GetHistoryPolicy(const MessagingRouteDeps& d, const Principal& p) {
  if (d.history == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(std::optional<HistoryPolicy> policy, d.history->Get(p.tenant_id));
  return JsonResponse(200, HistoryPolicyJson(policy));
}

Result<HttpResponse> PutHistoryPolicy(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor) {
  if (d.history == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& reader = body.reader();
  HistoryPolicy policy;
  policy.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(policy.retention_days, reader.RequiredInt("retention_days"));
  CS_ASSIGN_OR_RETURN(policy.purpose, reader.RequiredString("purpose"));
  CS_ASSIGN_OR_RETURN(policy.legal_basis, reader.RequiredString("legal_basis"));
  CS_RETURN_IF_ERROR(reader.Finish());
  CS_ASSIGN_OR_RETURN(HistoryPolicy stored, d.history->Enable(actor, policy));
  return JsonResponse(200, HistoryPolicyJson(stored));
}

Result<HttpResponse> DeleteHistoryPolicy(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor) {
  if (d.history == nullptr) return MessagingDisabled();
  CS_RETURN_IF_ERROR(d.history->Disable(actor, p.tenant_id));
  return JsonResponse(200, HistoryPolicyJson(std::nullopt));
}

Result<HttpResponse> ReadConversation(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor, const std::string& subject) {
  if (d.history == nullptr) return MessagingDisabled();
  if (!IsSubjectPseudonym(subject)) return NotFound("no such subject");
  int limit = 100;
  CS_ASSIGN_OR_RETURN(auto params, ParseQuery(req.query));
  for (const auto& [name, value] : params) {
    if (name != "limit") return InvalidArgument("unknown_field", "unknown query parameter \"" + name.substr(0, 40) + "\"");
    std::optional<int64_t> v = ParseNonNegativeInt(value);
    if (!v || *v < 1 || *v > 500) return InvalidArgument("invalid_type", "limit must be between 1 and 500");
    limit = static_cast<int>(*v);
  }
  CS_ASSIGN_OR_RETURN(std::vector<HistoryService::Item> items, d.history->Read(actor, p.tenant_id, subject, limit));
  CS_ASSIGN_OR_RETURN(std::optional<HistoryPolicy> policy, d.history->Get(p.tenant_id));
  JsonWriter w;
  w.BeginObject().Key("subject").String(subject).Key("history").Raw(HistoryPolicyJson(policy));
  w.Key("data").BeginArray();
  for (const HistoryService::Item& it : items) {
    w.BeginObject().Key("direction").String(it.direction).Key("id").String(it.id).Key("type").String(it.type);
    if (!it.state.empty()) w.Key("state").String(it.state);
    w.Key("time").String(FormatRfc3339Millis(it.at_ms));
    // The message object exactly as stored (Meta's shape), or null once purged.
    if (it.body) {
      w.Key("message").Raw(*it.body);
    } else {
      w.Key("message").Null();
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> CreateChannel(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor) {
  if (d.channels == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& reader = body.reader();
  ChannelSpec spec;
  spec.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(spec.phone_number_id, reader.RequiredString("phone_number_id"));
  CS_ASSIGN_OR_RETURN(spec.waba_id, reader.RequiredString("waba_id"));
  CS_ASSIGN_OR_RETURN(auto display, reader.OptionalString("display_phone_number"));
  if (display) spec.display_phone_number = *display;
  CS_RETURN_IF_ERROR(ReadChannelEndpoint(d, reader, spec, /*check_default=*/true));
  CS_RETURN_IF_ERROR(reader.Finish());
  CS_ASSIGN_OR_RETURN(Channel c, d.channels->Create(actor, spec));
  HttpResponse r = JsonResponse(201, ChannelJson(c));
  r.headers.emplace_back("Location", "/v1/channels/" + c.id);
  return r;
}

Result<HttpResponse> ListChannels(const MessagingRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(std::vector<Channel> all, d.channels->List(p.tenant_id));
  return ListResponse("channels", all, ChannelJson);
}

Result<HttpResponse> UpdateChannel(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                   const AuditActor& actor, const std::string& id) {
  if (d.channels == nullptr || !IsPrefixedHexId(id, "chn_")) return NotFound("no such channel");
  CS_ASSIGN_OR_RETURN(Channel current, d.channels->Get(p.tenant_id, id));
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& reader = body.reader();
  ChannelSpec spec;
  spec.tenant_id = p.tenant_id;
  spec.graph_base_url = current.graph_base_url;
  spec.graph_version = current.graph_version;
  spec.throughput_per_second = current.throughput_per_second;
  // The stored endpoint is kept unless the body names another one, which
  // must then be allowed.
  CS_RETURN_IF_ERROR(ReadChannelEndpoint(d, reader, spec, /*check_default=*/false));
  CS_ASSIGN_OR_RETURN(auto overlap, reader.OptionalInt("app_secret_overlap_seconds"));
  if (overlap) spec.app_secret_overlap_seconds = *overlap;
  CS_RETURN_IF_ERROR(reader.Finish());
  CS_ASSIGN_OR_RETURN(Channel updated, d.channels->Update(actor, id, spec));
  return JsonResponse(200, ChannelJson(updated));
}

Result<HttpResponse> ResumeChannel(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                   const std::string& id) {
  if (d.channels == nullptr || !IsPrefixedHexId(id, "chn_")) return NotFound("no such channel");
  CS_ASSIGN_OR_RETURN(Channel c, d.channels->Get(p.tenant_id, id));
  if (!c.paused_reason.empty()) CS_RETURN_IF_ERROR(d.channels->SetPaused(actor, c, ""));
  CS_ASSIGN_OR_RETURN(c, d.channels->Get(p.tenant_id, id));
  return JsonResponse(200, ChannelJson(c));
}

Result<HttpResponse> CreateSubscriber(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                                      const AuditActor& actor) {
  if (d.subscribers == nullptr) return MessagingDisabled();
  CS_ASSIGN_OR_RETURN(JsonObjectBody body, JsonObjectBody::Decode(req, d.json_limits));
  ObjectReader& reader = body.reader();
  SubscriberSpec spec;
  spec.tenant_id = p.tenant_id;
  CS_ASSIGN_OR_RETURN(spec.url, reader.RequiredString("url"));
  CS_ASSIGN_OR_RETURN(auto events, reader.OptionalStringArray("events"));
  CS_ASSIGN_OR_RETURN(auto secret, reader.OptionalString("secret"));
  CS_ASSIGN_OR_RETURN(auto clear, reader.OptionalBool("clear_phone_numbers"));
  CS_ASSIGN_OR_RETURN(auto content, reader.OptionalBool("include_content"));
  CS_ASSIGN_OR_RETURN(auto sale_or_sharing, reader.OptionalBool("sale_or_sharing"));
  CS_RETURN_IF_ERROR(reader.Finish());
  if (events) spec.events = *events;
  if (secret) spec.secret = SecretString(*secret);
  spec.clear_phone_numbers = clear.value_or(false);
  spec.include_content = content.value_or(false);
  spec.sale_or_sharing = sale_or_sharing.value_or(false);
  // Clear numbers leave the pseudonymisation boundary: only a key that may
  // read numbers may ask for them (MIN-02's pii:phone:read is not a scope
  // yet, so the admin scope stands in).
  if (spec.clear_phone_numbers && !p.HasScope("admin")) {
    return PermissionDenied("insufficient_scope", "clear_phone_numbers needs the admin scope");
  }
  CS_ASSIGN_OR_RETURN(CreatedSubscriber created, d.subscribers->Create(actor, spec));
  std::string json = SubscriberJson(created.subscriber);
  json.pop_back();
  JsonWriter w;
  w.String(InsecureSecretAccess::Get(created.secret));
  json += ",\"secret\":" + w.str() + "}";
  HttpResponse r = JsonResponse(201, json);
  r.headers.emplace_back("Location", "/v1/subscribers/" + created.subscriber.id);
  return r;
}

Result<HttpResponse> ListSubscribers(const MessagingRouteDeps& d, const Principal& p) {
  CS_ASSIGN_OR_RETURN(std::vector<Subscriber> all, d.subscribers->List(p.tenant_id));
  return ListResponse("subscribers", all, SubscriberJson);
}

Result<HttpResponse> DeleteSubscriber(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                      const std::string& id) {
  if (d.subscribers == nullptr || !IsPrefixedHexId(id, "sbs_")) return NotFound("no such subscriber");
  CS_RETURN_IF_ERROR(d.subscribers->Delete(actor, p.tenant_id, id));
  HttpResponse r = JsonResponse(204, "");
  return r;
}

Result<HttpResponse> DeadLetters(const MessagingRouteDeps& d, const Principal& p, const std::string& id) {
  if (!IsPrefixedHexId(id, "sbs_")) return NotFound("no such subscriber");
  CS_ASSIGN_OR_RETURN(std::vector<OutboxEntry> dead, d.subscribers->DeadLetters(p.tenant_id, id, 1000));
  JsonWriter w;
  w.BeginObject().Key("dead_letters").BeginArray();
  for (const OutboxEntry& e : dead) {
    w.BeginObject().Key("id").String(e.id).Key("field").String(e.field).Key("attempts").Int(e.attempts);
    w.Key("last_error").String(e.last_error).Key("created_at").String(FormatRfc3339Millis(e.created_at_ms)).EndObject();
  }
  w.EndArray().EndObject();
  return JsonResponse(200, w.Take());
}

Result<HttpResponse> RetryDeadLetter(const MessagingRouteDeps& d, const Principal& p, const AuditActor& actor,
                                     const std::string& id, const std::string& event_id) {
  if (d.subscribers == nullptr || !IsPrefixedHexId(id, "sbs_") || !IsPrefixedHexId(event_id, "evt_")) return NotFound("no such dead letter");
  CS_RETURN_IF_ERROR(d.subscribers->Get(p.tenant_id, id).status());
  CS_RETURN_IF_ERROR(d.subscribers->Requeue(actor, p.tenant_id, event_id));
  return JsonResponse(202, R"({"requeued":true})");
}

std::optional<GraphPath> MatchGraphPath(std::string_view path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> seg = Split(path.substr(1), '/');
  if (!seg.empty() && IsVersion(seg[0])) seg.erase(seg.begin());
  if (seg.empty() || seg.size() > 2 || !IsAsciiDigits(seg[0]) || seg[0].size() > 32) return std::nullopt;
  if (seg.size() == 1) return GraphPath{seg[0], ""};  // a media object
  if (seg[1] != "messages" && seg[1] != "marketing_messages" && seg[1] != "media") return std::nullopt;
  return GraphPath{seg[0], seg[1]};
}

namespace {

// Meta's envelope for `e`, with a fresh fbtrace_id; `error_code` goes to the access log.
HttpResponse GraphEnvelope(const whatsapp::GraphError& e, std::string error_code) {
  HttpResponse r = JsonResponse(e.http_status, whatsapp::GraphErrorBody(e, NewRequestId().substr(4, 11)));
  r.error_code = std::move(error_code);
  return r;
}

}  // namespace

HttpResponse GraphRefusalResponse(int code, const Status& refusal) {
  const std::string& m = refusal.machine_code();
  whatsapp::GraphError e = whatsapp::MakeGraphError(code, m + ": " + refusal.message());
  e.gateway_code = m;
  return GraphEnvelope(e, m);
}

HttpResponse GraphErrorResponse(int code, std::string details, int http_status_override) {
  whatsapp::GraphError e = whatsapp::MakeGraphError(code, std::move(details));
  if (http_status_override != 0) e.http_status = http_status_override;
  return GraphEnvelope(e, "graph_" + std::to_string(code));
}

namespace {

// Maps a MediaService refusal to Meta's error shape.
HttpResponse MediaErrorResponse(const Status& s) {
  const std::string& m = s.machine_code();
  if (m == "media_unsupported" || m == "media_too_large" || m == "media_content_mismatch" ||
      m == "media_unscannable") {
    return GraphRefusalResponse(131053, s);
  }
  // Content protection (CHAN-04), as for messages: "parameter value is not valid", our code first.
  if (m == "sensitive_identifier" || m == "channel_not_permitted_for_phi") {
    return GraphRefusalResponse(131009, s);
  }
  if (s.code() == StatusCode::kNotFound) {
    return GraphErrorResponse(100, "Unsupported request: the object does not exist, cannot be loaded due to missing "
                                   "permissions, or does not support this operation");
  }
  if (s.code() == StatusCode::kInvalidArgument) return GraphErrorResponse(100, s.message());
  HttpResponse r = s.code() == StatusCode::kUnavailable
                       ? GraphErrorResponse(2, "Service temporarily unavailable: " + m, 503)
                       : GraphErrorResponse(1, "An unknown error occurred", 500);
  if (r.status == 503) r.headers.emplace_back("Retry-After", "5");
  r.log_detail = s.ToString();
  return r;
}

HttpResponse MetaAnswer(const MediaAnswer& a) {
  HttpResponse r = JsonResponse(a.http_status, a.body);
  if (a.http_status != 200) r.error_code = "upstream_" + std::to_string(a.http_status);
  return r;
}

// POST /{version}/{phone_number_id}/media: multipart as Meta takes it (spec §3, §9).
HttpResponse GraphMediaUpload(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                              const AuditActor& actor, const GraphPath& path) {
  Result<whatsapp::MediaUploadForm> form = whatsapp::ReadMediaUploadForm(req);
  if (!form.ok()) return GraphErrorResponse(100, form.status().message());
  MediaUpload upload;
  upload.phone_number_id = path.phone_number_id;
  upload.mime_type = form->mime_type;
  upload.filename = form->filename;
  upload.bytes = form->bytes;
  Result<MediaAnswer> answer = d.media->Upload(actor, p.tenant_id, upload);
  if (!answer.ok()) return MediaErrorResponse(answer.status());
  return MetaAnswer(*answer);
}

// GET or DELETE /{version}/{media_id}.
HttpResponse GraphMediaObject(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                              const AuditActor& actor, const GraphPath& path) {
  Result<MediaAnswer> answer = NotFound("");
  if (req.method == "GET") {
    // The configured public address; else what the client called (trusting Host).
    const std::string* host = req.Header("host");
    const std::string base = !d.public_base_url.empty()
                                 ? d.public_base_url
                                 : std::string(req.tls ? "https://" : "http://") + (host != nullptr ? *host : "localhost");
    answer = d.media->Describe(actor, p.tenant_id, path.phone_number_id, base);
  } else if (req.method == "DELETE") {
    answer = d.media->Delete(actor, p.tenant_id, path.phone_number_id);
  } else {
    return GraphErrorResponse(100, "Unsupported method for this object");
  }
  if (!answer.ok()) return MediaErrorResponse(answer.status());
  return MetaAnswer(*answer);
}

}  // namespace

HttpResponse DownloadMedia(const MessagingRouteDeps& d, const HttpRequest& req, const Principal* principal,
                           const AuditActor& actor, const std::string& media_id) {
  if (d.media == nullptr) return ErrorResponse(503, "messaging_disabled", "messaging is not enabled", req.request_id);
  std::string tenant = principal != nullptr ? principal->tenant_id : "";
  if (principal == nullptr) {
    std::string expires, signature;
    if (auto q = ParseQuery(req.query); q.ok()) {
      for (const auto& [k, v] : *q) {
        if (k == "tenant") tenant = v;
        if (k == "expires") expires = v;
        if (k == "signature") signature = v;
      }
    }
    auto exp = ParseNonNegativeInt(expires);
    if (tenant.empty() || !exp || !d.media->CheckLink(tenant, media_id, *exp, signature)) {
      // Expired and forged links look alike, as Meta's do. The caller records
      // the refusal like a refused key (log_detail is never sent).
      HttpResponse r = ErrorResponse(404, "not_found",
                                     "no such media, or the link has expired; ask GET /{media-id} for a new one",
                                     req.request_id);
      r.log_detail = "link_invalid";
      return r;
    }
  }
  Result<MediaDownload> file = d.media->Download(actor, tenant, media_id);
  if (!file.ok()) {
    const Status& s = file.status();
    const std::string& m = s.machine_code();
    HttpResponse r;
    if (s.code() == StatusCode::kNotFound) {
      r = ErrorResponse(404, "not_found", "no such media, or Meta no longer holds it", req.request_id);
    } else if (m == "media_quarantined") {
      r = ErrorResponse(422, m, s.message(), req.request_id);
    } else if (m == "media_busy" || m == "audit_unavailable" || m == "storage_unavailable" ||
               m == "extractor_unavailable") {
      r = ErrorResponse(503, m, s.message(), req.request_id);
      r.headers.emplace_back("Retry-After", "5");
    } else if (m.rfind("upstream_", 0) == 0 || m == "channel_token_invalid") {
      r = ErrorResponse(502, m, s.message(), req.request_id);  // Meta's side: the message names no internals
    } else {
      r = ErrorResponse(500, "internal", "the download failed; quote the request id to the operator", req.request_id);
    }
    r.log_detail = s.ToString();
    return r;
  }
  HttpResponse r = JsonResponse(200, std::move(file->bytes));
  r.content_type = file->content_type;
  r.headers.emplace_back("Cache-Control", "no-store");  // personal data: no shared caches
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Disposition", "attachment");
  r.tenant_id = tenant;
  return r;
}

HttpResponse GraphCall(const MessagingRouteDeps& d, const HttpRequest& req, const Principal& p,
                       const AuditActor& actor, const GraphPath& path) {
  if (path.is_media_object() || path.edge == "media") {
    if (d.media == nullptr) return GraphErrorResponse(2, "Messaging is not enabled on this gateway", 503);
    if (path.is_media_object()) return GraphMediaObject(d, req, p, actor, path);
    if (req.method != "POST") return GraphErrorResponse(100, "Unsupported method for this edge");
    return GraphMediaUpload(d, req, p, actor, path);
  }
  if (req.method != "POST") return GraphErrorResponse(100, "Unsupported method for this edge");
  if (d.messages == nullptr) return GraphErrorResponse(2, "Messaging is not enabled on this gateway", 503);
  // SDKs send JSON; some omit or vary the content type, so it is not enforced here.
  Result<JsonValue> body = ParseJson(req.body, d.json_limits);
  if (!body.ok()) return GraphErrorResponse(100, "The request body is not valid JSON: " + body.status().machine_code());
  if (path.edge == "marketing_messages") {
    const JsonValue* type = body->Find("type");
    if (type == nullptr || !type->is_string() || type->as_string() != "template") {
      return GraphErrorResponse(100, "The marketing messages API only sends templates");
    }
  }
  SendRequest sr;
  sr.tenant_id = p.tenant_id;
  sr.actor = actor;
  sr.phone_number_id = path.phone_number_id;
  sr.body = &*body;
  if (req.HeaderCount("idempotency-key") > 1) return GraphErrorResponse(100, "Idempotency-Key is repeated");
  sr.idempotency_key = Header(req, "idempotency-key");
  if (req.Header("idempotency-key") != nullptr && sr.idempotency_key.empty()) {
    return GraphErrorResponse(100, "Idempotency-Key must not be empty");
  }
  return SendNowOrLater(d, req, sr, "/{version}/{phone_number_id}/" + path.edge, p.tenant_id, GraphSendAnswer);
}

std::optional<std::string> MatchWebhookPath(std::string_view path) {
  constexpr std::string_view kPrefix = "/webhooks/whatsapp/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view id = path.substr(kPrefix.size());
  return std::string(id);
}

namespace {

// The HTTP status of a refused delivery or handshake.
int WebhookHttpStatus(const Status& refusal) {
  switch (refusal.code()) {
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    default: return 503;  // nothing was committed: Meta delivers it again
  }
}

// A webhook delivery's answer: 200 (empty) once committed, Meta-retriable otherwise.
HttpResponse WebhookAnswer(const WebhookOutcome& o, const std::string& request_id) {
  if (!o.accepted()) {
    const int status = WebhookHttpStatus(o.refusal);
    HttpResponse r = ErrorResponse(status, o.error_code,
                                   status == 401 ? "the webhook signature is missing, malformed or wrong"
                                                 : "temporarily unavailable; retry later",
                                   request_id);
    r.error_code = o.error_code;
    if (status == 503) r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  HttpResponse r = JsonResponse(200, "");
  r.content_type = "text/plain";
  if (!o.error_code.empty()) r.log_detail = "quarantined: " + o.error_code;
  return r;
}

}  // namespace

HttpResponse Webhook(const MessagingRouteDeps& d, const HttpRequest& req, const std::string& channel_id) {
  if (d.webhooks == nullptr || !IsPrefixedHexId(channel_id, "chn_")) {
    return ErrorResponse(404, "not_found", "no such resource", req.request_id);
  }
  if (req.method == "GET") {
    Result<std::vector<std::pair<std::string, std::string>>> q = ParseQuery(req.query);
    if (!q.ok()) return ErrorResponse(403, "verification_failed", "verification failed", req.request_id);
    std::string mode, token, challenge;
    for (const auto& [k, v] : *q) {
      if (k == "hub.mode") mode = v;
      else if (k == "hub.verify_token") token = v;
      else if (k == "hub.challenge") challenge = v;
    }
    WebhookOutcome o = d.webhooks->Verify(channel_id, mode, token, challenge);
    if (!o.accepted()) {
      // W-02: nothing of the request is reflected.
      HttpResponse r = ErrorResponse(WebhookHttpStatus(o.refusal), o.error_code, "verification failed", req.request_id);
      r.error_code = o.error_code;
      return r;
    }
    HttpResponse r = JsonResponse(200, o.body);
    r.content_type = "text/plain";
    return r;
  }
  if (req.method != "POST") {
    HttpResponse r = ErrorResponse(405, "method_not_allowed", "use GET or POST", req.request_id);
    r.headers.emplace_back("Allow", "GET, POST");
    return r;
  }
  if (req.HeaderCount("x-hub-signature-256") > 1) {
    return ErrorResponse(401, "signature_malformed", "X-Hub-Signature-256 is repeated", req.request_id);
  }
  if (req.defer) {
    // The 200 waits for the group commit (F-01) without holding a worker:
    // the answer is written when the committer is done.
    HttpRespond respond = req.defer();
    d.webhooks->ReceiveAsync(channel_id, req.Header("x-hub-signature-256"), req.body, d.json_limits,
                             [respond, offload = req.offload, rid = req.request_id](
                                 std::function<WebhookOutcome()> outcome, bool waits) {
                               GiveAnswer(
                                   respond, offload,
                                   [outcome = std::move(outcome), rid] {
                                     HttpResponse r = WebhookAnswer(outcome(), rid);
                                     r.route = "/webhooks/whatsapp/{channel_id}";
                                     return r;
                                   },
                                   waits);
                             });
    return HttpResponse{};  // ignored: deferred
  }
  return WebhookAnswer(d.webhooks->Receive(channel_id, req.Header("x-hub-signature-256"), req.body, d.json_limits),
                       req.request_id);
}

}  // namespace cs::api_internal
