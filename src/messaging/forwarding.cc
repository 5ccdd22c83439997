// Subscribers and the Forwarder (docs/forwarding.md).
#include <chrono>
#include <random>

#include "common/json_writer.h"
#include "common/strings.h"
#include "http/client.h"
#include "messaging/forwarding.h"
#include "messaging/provider_ids.h"

namespace cs {

namespace {

void Metadata(JsonWriter& w, const whatsapp::WebhookMetadata& where) {
  w.Key("messaging_product").String("whatsapp");
  w.Key("metadata").BeginObject().Key("display_phone_number").String(where.display_phone_number);
  w.Key("phone_number_id").String(where.phone_number_id).EndObject();
}

}  // namespace

std::string SubscriberJson(const Subscriber& sb) {
  JsonWriter w;
  w.BeginObject().Key("id").String(sb.id).Key("url").String(sb.url);
  w.Key("events").BeginArray();
  for (const std::string& e : sb.events) w.String(e);
  w.EndArray();
  w.Key("clear_phone_numbers").Bool(sb.clear_phone_numbers).Key("include_content").Bool(sb.include_content);
  w.Key("sale_or_sharing").Bool(sb.sale_or_sharing);
  w.Key("created_at").String(FormatRfc3339Millis(sb.created_at_ms)).EndObject();
  return w.Take();
}

std::string ForwardedMessageValue(const whatsapp::InboundMessage& msg, const ForwardedIds& ids, const Subscriber& sb,
                                  std::string_view content_findings) {
  const bool clear = sb.clear_phone_numbers;
  const std::string& who = clear && !msg.from.empty() ? msg.from : ids.subject;
  JsonWriter w;
  w.BeginObject();
  Metadata(w, msg.where);
  w.Key("contacts").BeginArray().BeginObject();
  const bool username = clear && !msg.username.empty();
  if ((sb.include_content && !msg.profile_name.empty()) || username) {
    w.Key("profile").BeginObject();
    if (sb.include_content && !msg.profile_name.empty()) w.Key("name").String(msg.profile_name);
    if (username) w.Key("username").String(msg.username);
    w.EndObject();
  }
  // A user known only by a business-scoped id has no wa_id at Meta either.
  if (!clear || !msg.from.empty()) w.Key("wa_id").String(who);
  if (!msg.from_user_id.empty()) {
    w.Key("user_id").String(clear ? msg.from_user_id : ids.subject);
    if (clear && !msg.from_parent_user_id.empty()) w.Key("parent_user_id").String(msg.from_parent_user_id);
  }
  w.EndObject().EndArray();
  w.Key("messages").BeginArray().BeginObject();
  if (!clear || !msg.from.empty()) w.Key("from").String(who);
  if (!msg.from_user_id.empty()) {
    w.Key("from_user_id").String(clear ? msg.from_user_id : ids.subject);
    if (clear && !msg.from_parent_user_id.empty()) w.Key("from_parent_user_id").String(msg.from_parent_user_id);
  }
  w.Key("id").String(ids.message_id);
  if (clear) w.Key("wamid").String(msg.id);
  w.Key("timestamp").String(std::to_string(msg.timestamp));
  w.Key("type").String(msg.type);
  Result<JsonValue> raw = ParseJson(msg.raw_json);
  if (raw.ok() && raw->is_object()) {
    for (const auto& [key, value] : raw->as_object()) {
      if (key == "from" || key == "id" || key == "timestamp" || key == "type" || key == "from_user_id" ||
          key == "from_parent_user_id") {
        continue;
      }
      // Content (the type's payload, referral, anything new) only when allowed;
      // context (a reply's target id) and errors are metadata.
      if (!sb.include_content && key != "context" && key != "errors") continue;
      if (!clear && (key == "system" || key == "identity")) {
        // These carry the subject's own (new) number and identity: content
        // does not include them unless numbers may be seen.
        if (key == "system" && value.is_object()) {
          const JsonValue* type = value.Find("type");
          w.Key("system").BeginObject().Key("type").String(type != nullptr && type->is_string() ? type->as_string() : "");
          w.EndObject();
        }
        continue;
      }
      if (key == "context" && value.is_object()) {
        // The quoted message under the gateway's id; who wrote it under the
        // pseudonym when it was the customer.
        w.Key("context").BeginObject();
        for (const auto& [k, v] : value.as_object()) {
          if (k == "id" && v.is_string()) {
            auto it = ids.wamids.find(v.as_string());
            w.Key("id").String(it != ids.wamids.end() ? it->second : std::string());
            if (clear) w.Key("wamid").String(v.as_string());
          } else if (k == "from" && v.is_string() && !clear && !msg.from.empty() && v.as_string() == msg.from) {
            w.Key("from").String(ids.subject);
          } else {
            w.Key(k).Raw(ToJson(clear ? v : ReplaceWamids(v, ids.wamids)));
          }
        }
        w.EndObject();
        continue;
      }
      // Any other id of Meta's inside (a reaction's message_id…) only in
      // clear: for the others it becomes the gateway's id.
      w.Key(key).Raw(ToJson(clear ? value : ReplaceWamids(value, ids.wamids)));
    }
  }
  if (!content_findings.empty()) w.Key("consentry").BeginObject().Key("findings").Raw(content_findings).EndObject();
  w.EndObject().EndArray().EndObject();
  return w.Take();
}

std::string ForwardedStatusValue(const whatsapp::StatusUpdate& st, const MessageRecord& m, const Subscriber& sb) {
  const bool clear = sb.clear_phone_numbers;
  JsonWriter w;
  w.BeginObject();
  Metadata(w, st.where);
  w.Key("statuses").BeginArray().BeginObject();
  // The id the company knows: the gateway's message id, as the send answered.
  w.Key("id").String(m.id);
  if (clear) w.Key("wamid").String(st.id);
  w.Key("status").String(st.status).Key("timestamp").String(std::to_string(st.timestamp));
  if (!st.recipient_id.empty() || st.recipient_user_id.empty()) {
    w.Key("recipient_id").String(clear && !st.recipient_id.empty() ? st.recipient_id : m.subject);
  }
  if (!st.recipient_user_id.empty()) w.Key("recipient_user_id").String(clear ? st.recipient_user_id : m.subject);
  Result<JsonValue> raw = ParseJson(st.raw_json);
  if (raw.ok() && raw->is_object()) {
    for (const auto& [key, value] : raw->as_object()) {
      if (key == "pricing" || key == "conversation" || key == "errors") w.Key(key).Raw(ToJson(ReplaceWamids(value, {})));
      // The caller's own callback data goes back; the gateway's reconciliation tag does not.
      if (key == "biz_opaque_callback_data" && value.is_string() && value.as_string().rfind("cs:msg_", 0) != 0) {
        w.Key(key).String(value.as_string());
      }
    }
  }
  w.EndObject().EndArray().EndObject();
  return w.Take();
}

DispatchFailure MakeDispatchFailure(const std::string& gateway_code, int provider_code, std::string_view provider_body) {
  DispatchFailure f;
  f.gateway_code = gateway_code;
  if (provider_code != 0) {
    // Meta refused it: Meta's own code, title and details, as Meta's status would carry them.
    f.code = provider_code;
    whatsapp::GraphError e = whatsapp::MakeGraphError(provider_code);
    f.title = e.title;
    f.details = e.title;
    Result<JsonValue> body = ParseJson(provider_body);
    if (body.ok() && body->is_object()) {
      if (const JsonValue* error = body->Find("error"); error != nullptr && error->is_object()) {
        if (const JsonValue* data = error->Find("error_data"); data != nullptr && data->is_object()) {
          const JsonValue* details = data->Find("details");
          if (details != nullptr && details->is_string() && !details->as_string().empty()) f.details = details->as_string();
        }
      }
    }
    return f;
  }
  // The gateway's own reasons, under the closest of Meta's codes (SDKs branch on them).
  if (gateway_code == "consent_required") {
    f.code = 131005;
    f.details = "consent_required: the subject's consent for this message's purpose ended before it could be sent";
  } else if (gateway_code == "expired") {
    f.code = 131026;
    f.details = "expired: the message could not be sent within its validity (messaging.valid_for)";
  } else if (gateway_code == "reference_failed") {
    f.code = 131009;
    f.details = "reference_failed: the message this one replies or reacts to was never accepted by Meta";
  } else if (gateway_code == "reference_unavailable") {
    f.code = 131009;
    f.details = "reference_unavailable: the message this one refers to is no longer known (erased, or its id was lost)";
  } else {
    f.code = 131000;
    f.details = gateway_code + ": the message could not be sent";
  }
  f.title = whatsapp::MakeGraphError(f.code).title;
  return f;
}

std::string ForwardedFailureValue(const Channel& channel, const MessageRecord& m, const DispatchFailure& f,
                                  const std::string& to, int64_t at_ms, const Subscriber& sb) {
  JsonWriter w;
  w.BeginObject();
  Metadata(w, whatsapp::WebhookMetadata{channel.waba_id, channel.phone_number_id, channel.display_phone_number});
  w.Key("statuses").BeginArray().BeginObject();
  w.Key("id").String(m.id).Key("status").String("failed").Key("timestamp").String(std::to_string(at_ms / 1000));
  w.Key("recipient_id").String(sb.clear_phone_numbers && !to.empty() ? to : m.subject);
  w.Key("errors").BeginArray().BeginObject();
  w.Key("code").Int(f.code).Key("title").String(f.title).Key("message").String(f.title);
  w.Key("error_data").BeginObject().Key("details").String(f.details).EndObject();
  w.Key("href").String("https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/");
  w.EndObject().EndArray();
  w.Key("consentry").BeginObject().Key("code").String(f.gateway_code).EndObject();
  w.EndObject().EndArray().EndObject();
  return w.Take();
}

std::string ForwardedPreferenceValue(const whatsapp::UserPreference& p, const std::string& subject, const Subscriber& sb) {
  JsonWriter w;
  w.BeginObject();
  Metadata(w, p.where);
  w.Key("user_preferences").BeginArray().BeginObject();
  w.Key("wa_id").String(sb.clear_phone_numbers ? p.wa_id : subject);
  w.Key("category").String(p.category).Key("value").String(p.value).Key("timestamp").Int(p.timestamp);
  w.EndObject().EndArray().EndObject();
  return w.Take();
}

Result<CreatedSubscriber> SubscriberService::Create(const AuditActor& actor, const SubscriberSpec& spec) {
  CS_RETURN_IF_ERROR(CheckOutboundUrl(spec.url, policy_));
  std::vector<std::string> events = spec.events;
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  if (events.empty()) return InvalidArgument("invalid_field", "events must name at least one of messages, statuses, preferences");
  for (const std::string& e : events) {
    if (e != "messages" && e != "statuses" && e != "preferences") {
      return InvalidArgument("invalid_field", "events may hold messages, statuses and preferences only");
    }
  }
  CreatedSubscriber out;
  if (spec.secret.empty()) {
    CS_ASSIGN_OR_RETURN(std::string bytes, random_.Bytes(32));
    out.secret = SecretString(HexEncode(bytes));
  } else {
    if (spec.secret.size() < 16 || spec.secret.size() > 256) {
      return InvalidArgument("invalid_field", "secret must be 16-256 characters");
    }
    out.secret = SecretString(std::string(InsecureSecretAccess::Get(spec.secret)));
  }
  Subscriber& sb = out.subscriber;
  CS_ASSIGN_OR_RETURN(sb.id, NewId(random_, "sbs", 12));
  sb.tenant_id = spec.tenant_id;
  sb.url = spec.url;
  sb.events = events;
  sb.clear_phone_numbers = spec.clear_phone_numbers;
  sb.include_content = spec.include_content;
  sb.sale_or_sharing = spec.sale_or_sharing;
  sb.created_at_ms = clock_.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(sb.secret_sealed, keyring_.Seal(sb.tenant_id, InsecureSecretAccess::Get(out.secret),
                                                      FieldBinding{sb.tenant_id, "", sb.id, "secret"}));
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.outbox().InsertSubscriber(sb));
    AuditEvent e{
        .tenant_id = sb.tenant_id,
        .actor = actor,
        .action = "subscriber.create",
        .resource = "subscriber:" + sb.id
    };
    JsonWriter w;
    w.BeginObject().Key("clear_phone_numbers").Bool(sb.clear_phone_numbers).Key("include_content").Bool(sb.include_content);
    w.Key("sale_or_sharing").Bool(sb.sale_or_sharing).EndObject();
    e.details = w.Take();
    return ledger_.Record(tx, e);
  }));
  return out;
}

namespace {

// Runs `change` and records its audit entry in the same transaction.
Status AuditedChange(Store& store, const AuditLedger& ledger, const AuditActor& actor, const std::string& tenant_id,
                     std::string action, std::string resource,
                     const std::function<Status(StoreTransaction&)>& change) {
  return store.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(change(tx));
    AuditEvent e{.tenant_id = tenant_id, .actor = actor, .action = std::move(action), .resource = std::move(resource)};
    return ledger.Record(tx, e);
  });
}

}  // namespace

Status SubscriberService::Delete(const AuditActor& actor, const std::string& tenant_id, const std::string& id) {
  return AuditedChange(store_, ledger_, actor, tenant_id, "subscriber.delete", "subscriber:" + id,
                       [&](StoreTransaction& tx) {
                         return tx.outbox().DeleteSubscriber(tenant_id, id, clock_.NowUnixMillis());
                       });
}

Status SubscriberService::Requeue(const AuditActor& actor, const std::string& tenant_id, const std::string& event_id) {
  return AuditedChange(store_, ledger_, actor, tenant_id, "subscriber.event_requeue", "event:" + event_id,
                       [&](StoreTransaction& tx) {
                         return tx.outbox().RequeueDead(tenant_id, event_id, clock_.NowUnixMillis());
                       });
}

Forwarder::Forwarder(Store& store, TenantKeyring& keyring, const Clock& clock, UrlPolicy policy,
                     ForwarderOptions options)
    : store_(store), keyring_(keyring), clock_(clock), policy_(std::move(policy)), options_(options) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  if (!threads_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Loop(); });
}

void Forwarder::Stop() {
  stopping_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Forwarder::Loop() {
  HttpClientOptions o;
  o.connect_timeout_ms = options_.connect_timeout_ms;
  o.timeout_ms = options_.timeout_ms;
  o.max_response_bytes = 64 << 10;
  HttpClientOptions guarded_options = o;
  guarded_options.allow_address = [](std::string_view address) { return IsPublicAddress(address); };
  std::unique_ptr<HttpClient> guarded = CreateHttpClient(guarded_options);
  std::unique_ptr<HttpClient> local = CreateHttpClient(o);  // allow-listed development hosts only
  while (!stopping_.load()) {
    // Lease one entry of a subscriber nobody is delivering to and that is
    // not cooling down, and mark it busy, under one lock: a subscriber never
    // has two deliveries in flight, and entries of busy or failing
    // subscribers are not even leased (nothing is rewritten while they wait).
    std::optional<OutboxEntry> entry;
    {
      std::lock_guard lock(gates_mu_);
      const int64_t now = clock_.NowUnixMillis();
      std::vector<std::string> skip;
      for (auto it = gates_.begin(); it != gates_.end();) {
        if (!it->second.busy && it->second.cool_until_ms <= now && it->second.failures == 0) {
          it = gates_.erase(it);  // idle and healthy: forget it
          continue;
        }
        if (it->second.busy || it->second.cool_until_ms > now) skip.push_back(it->first);
        ++it;
      }
      Result<std::vector<OutboxEntry>> due = store_.outbox().LeaseOutbox(now, now + options_.lease_ms, 1, skip);
      if (due.ok() && !due->empty()) {
        entry = std::move(due->front());
        gates_[entry->subscriber_id].busy = true;
      }
    }
    if (!entry) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.idle_poll_ms));
      continue;
    }
    bool failed = false;
    Status delivered = Deliver(*entry, *guarded, *local, failed);  // storage errors: the lease expires, it comes back
    std::lock_guard lock(gates_mu_);
    Gate& gate = gates_[entry->subscriber_id];
    gate.busy = false;
    if (failed) {
      // 1 s, 2 s, 4 s … up to the backoff cap, with jitter: the subscriber's
      // queue waits, not the others.
      gate.failures = std::min(gate.failures + 1, 21);
      const int64_t cap = std::min<int64_t>(options_.backoff_max_ms, options_.backoff_base_ms << (gate.failures - 1));
      static thread_local std::mt19937_64 rng(static_cast<uint64_t>(clock_.MonotonicNanos()) ^ std::hash<std::thread::id>{}(std::this_thread::get_id()));
      gate.cool_until_ms = clock_.NowUnixMillis() + std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng);
    } else if (delivered.ok()) {
      gate.failures = 0;
      gate.cool_until_ms = 0;
    }
  }
}

Status Forwarder::Deliver(const OutboxEntry& e, HttpClient& guarded, HttpClient& local, bool& failed) {
  failed = false;
  Result<Subscriber> sb = store_.outbox().GetSubscriber(e.tenant_id, e.subscriber_id);
  if (!sb.ok()) {
    if (sb.status().code() == StatusCode::kNotFound) return store_.outbox().DeleteOutbox(e.id);
    return sb.status();
  }
  if (sb->sale_or_sharing) {
    // CONS-10: checked at delivery, so an opt-out also stops what was
    // queued before it. The event is dropped, not delayed. An event whose
    // subject is unknown cannot be checked: it is withheld too.
    std::optional<SaleSharingChoice> choice;
    if (!e.subject.empty()) {
      CS_ASSIGN_OR_RETURN(choice, store_.consents().GetSaleSharing(e.tenant_id, e.subject));
    }
    if (e.subject.empty() || (choice && choice->opted_out)) {
      stats_.withheld++;
      return store_.outbox().DeleteOutbox(e.id);
    }
  }
  CS_ASSIGN_OR_RETURN(SecretString value, keyring_.Open(e.tenant_id, e.payload_sealed,
                                                        FieldBinding{e.tenant_id, e.subject, e.id, "payload"}));
  CS_ASSIGN_OR_RETURN(SecretString secret, keyring_.Open(sb->tenant_id, sb->secret_sealed,
                                                         FieldBinding{sb->tenant_id, "", sb->id, "secret"}));
  const std::string body = whatsapp::WebhookEnvelope(e.waba_id, e.field, InsecureSecretAccess::Get(value));
  const std::string ts = std::to_string(clock_.NowUnixMillis() / 1000);
  const std::string_view key = InsecureSecretAccess::Get(secret);
  HeaderList headers = {{"Content-Type", "application/json"},
                        {"X-Hub-Signature-256", whatsapp::HubSignature(key, body)},
                        {"X-Gateway-Event-Id", e.id},
                        {"X-Gateway-Timestamp", ts},
                        {"X-Gateway-Signature", whatsapp::HubSignature(key, ts + "." + body)}};
  std::string failure;
  Status url_ok = CheckOutboundUrl(sb->url, policy_);
  if (!url_ok.ok()) {
    failure = url_ok.machine_code();
  } else {
    HttpClient& client = IsAllowListed(sb->url, policy_) ? local : guarded;
    Result<HttpClientResponse> r = client.Send("POST", sb->url, headers, body);
    if (r.ok() && r->status / 100 == 2) {
      stats_.delivered++;
      return store_.outbox().DeleteOutbox(e.id);
    }
    failure = r.ok() ? "http_" + std::to_string(r->status) : r.status().machine_code();
  }
  failed = true;
  const int64_t now = clock_.NowUnixMillis();
  const int64_t attempts = e.attempts + 1;
  if (now - e.created_at_ms >= options_.give_up_after_ms) {
    stats_.dead++;
    return store_.outbox().KillOutbox(e.id, attempts, failure);
  }
  stats_.retried++;
  int64_t cap = std::min<int64_t>(options_.backoff_max_ms, options_.backoff_base_ms << std::min<int64_t>(attempts - 1, 20));
  static thread_local std::mt19937_64 rng(static_cast<uint64_t>(clock_.MonotonicNanos()));
  int64_t delay = std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng);
  return store_.outbox().RetryOutbox(e.id, now + delay, attempts, failure);
}

}  // namespace cs
