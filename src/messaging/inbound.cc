// WebhookReceiver: inbound Cloud API webhooks (docs/messaging.md).
#include <algorithm>
#include <chrono>
#include <set>

#include "common/json_writer.h"
#include "common/strings.h"
#include "consent/consent.h"
#include "messaging/forwarding.h"
#include "messaging/media.h"
#include "messaging/message_state.h"
#include "messaging/webhooks.h"
#include "messaging/provider_ids.h"

namespace cs {

namespace {

bool IsChallenge(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

WebhookOutcome Refuse(StatusCode status, std::string code) {
  WebhookOutcome o;
  o.refusal = Status(status, code, "webhook refused: " + code);
  o.error_code = std::move(code);
  return o;
}

// One item, prepared outside the transaction (pseudonyms and sealing read
// tenant keys, which may need their own write): what the receive chain saw
// and changed, and what the receiver adds.
struct PreparedMessage : ReceivedMessage {
  std::string fragment_key;      // channel/subject for split-card tracking ("" when not tracked)
  ForwardedIds ids;                   // what stands for Meta's ids in its forwarded copies
  std::vector<OutboxEntry> forwards;  // one per subscriber of "messages"
};

struct PreparedStatus {
  const whatsapp::StatusUpdate* status = nullptr;
  std::string wamid_hash;         // keyed hash of the status's wamid (provider_ids.h)
  std::string tagged_message_id;  // from biz_opaque_callback_data "cs:msg_…"
};

struct PreparedPreference {
  const whatsapp::UserPreference* pref = nullptr;
  std::string subject;
  std::vector<OutboxEntry> forwards;
};

bool Wants(const Subscriber& sb, std::string_view event) {
  return std::find(sb.events.begin(), sb.events.end(), event) != sb.events.end();
}

struct Quarantined {
  std::string reason;
  std::string sealed;
};

// Replaces every ASCII digit in [start, end) of `text` with '*'.
std::string MaskDigits(std::string_view text, size_t start, size_t end) {
  std::string out(text);
  for (size_t i = start; i < end && i < out.size(); ++i) {
    if (out[i] >= '0' && out[i] <= '9') out[i] = '*';
  }
  return out;
}

// A text message's object with text.body replaced.
Result<std::string> WithTextBody(const std::string& raw_json, const std::string& body) {
  CS_ASSIGN_OR_RETURN(JsonValue root, ParseJson(raw_json));
  if (!root.is_object()) return Internal("message is not an object");
  JsonValue::Object fields;
  for (const auto& [key, value] : root.as_object()) {
    if (key == "text" && value.is_object()) {
      JsonValue::Object text;
      for (const auto& [k, v] : value.as_object()) text.emplace_back(k, k == "body" ? JsonValue::MakeString(body) : v);
      fields.emplace_back(key, JsonValue::MakeObject(std::move(text)));
    } else {
      fields.emplace_back(key, value);
    }
  }
  return ToJson(JsonValue::MakeObject(std::move(fields)));
}

std::string AppendFinding(const std::string& findings, size_t start, size_t end) {
  JsonWriter w;
  w.BeginObject().Key("field").String("text.body").Key("type").String("card").Key("detail").String("split");
  w.Key("start").Int(static_cast<int64_t>(start)).Key("end").Int(static_cast<int64_t>(end));
  w.Key("action").String("mask").EndObject();
  if (findings.empty() || findings == "[]") return "[" + w.str() + "]";
  return findings.substr(0, findings.size() - 1) + "," + w.str() + "]";
}

// A card number typed over two messages (B-38): masks the second part in
// `current` and the first part wherever it is (earlier in this batch, or
// already stored, whose new sealed copy goes to `previous_updates`).
Status MaskSplitCard(Store& store, TenantKeyring& keyring, const std::string& tenant,
                     const SplitCardDetector::Split& split, PreparedMessage& current,
                     std::vector<PreparedMessage>& earlier, const std::vector<Subscriber>& subscribers,
                     std::vector<std::pair<std::string, std::string>>& previous_updates,
                     TenantKeyring::NewSubjectKeys& created_keys) {
  // The second part, in this message, before it is sealed or forwarded.
  auto masked = std::make_shared<whatsapp::InboundMessage>(*current.msg);
  masked->text = MaskDigits(current.msg->text, split.lead_start, split.lead_end);
  CS_ASSIGN_OR_RETURN(masked->raw_json, WithTextBody(current.msg->raw_json, masked->text));
  current.masked = masked;
  current.msg = masked.get();
  current.content_findings = AppendFinding(current.content_findings, split.lead_start, split.lead_end);
  current.card = current.split_card = true;
  // The first part: still in this batch, or already stored.
  for (PreparedMessage& e : earlier) {
    if (e.record.id != split.previous_inbound_id) continue;
    auto [start, end] = SplitCardDetector::TrailingDigits(e.msg->text);
    auto first = std::make_shared<whatsapp::InboundMessage>(*e.msg);
    first->text = MaskDigits(e.msg->text, start, end);
    CS_ASSIGN_OR_RETURN(first->raw_json, WithTextBody(e.msg->raw_json, first->text));
    e.masked = first;
    e.msg = first.get();
    CS_ASSIGN_OR_RETURN(e.record.payload_sealed,
                        keyring.SealDeferred(tenant, e.msg->raw_json, FieldBinding{tenant, e.record.subject, e.record.id, "payload"},
                                             created_keys));
    // Its forwarded copies were built from the unmasked text: build them again.
    for (OutboxEntry& f : e.forwards) {
      auto sb = std::find_if(subscribers.begin(), subscribers.end(),
                             [&](const Subscriber& s) { return s.id == f.subscriber_id; });
      if (sb == subscribers.end()) return Internal("forward without its subscriber");
      CS_ASSIGN_OR_RETURN(f.payload_sealed,
                          keyring.SealDeferred(tenant, ForwardedMessageValue(*e.msg, e.ids, *sb, e.content_findings),
                                               FieldBinding{tenant, f.subject, f.id, "payload"}, created_keys));
    }
    return Status::Ok();
  }
  Result<InboundMessageRecord> stored = store.inbound().GetInbound(tenant, split.previous_inbound_id);
  if (!stored.ok()) return stored.status().code() == StatusCode::kNotFound ? Status::Ok() : stored.status();
  if (stored->payload_sealed.empty()) return Status::Ok();  // its body is already purged (MIN-01)
  const FieldBinding binding{tenant, stored->subject, stored->id, "payload"};
  CS_ASSIGN_OR_RETURN(SecretString opened, keyring.Open(tenant, stored->payload_sealed, binding));
  const std::string raw(InsecureSecretAccess::Get(opened));
  CS_ASSIGN_OR_RETURN(JsonValue root, ParseJson(raw));
  const JsonValue* text = root.Find("text");
  const JsonValue* body = text != nullptr ? text->Find("body") : nullptr;
  if (body == nullptr || !body->is_string()) return Status::Ok();
  auto [start, end] = SplitCardDetector::TrailingDigits(body->as_string());
  if (end <= start) return Status::Ok();
  CS_ASSIGN_OR_RETURN(std::string rewritten, WithTextBody(raw, MaskDigits(body->as_string(), start, end)));
  CS_ASSIGN_OR_RETURN(std::string sealed, keyring.SealDeferred(tenant, rewritten, binding, created_keys));
  previous_updates.emplace_back(stored->id, std::move(sealed));
  return Status::Ok();
}

}  // namespace

// One delivery from its preparation (sealed, outside the transaction) to
// after its commit: what Prepare made, what the unit fills in, what Finish
// acts on. Shared by the caller and the pending unit.
struct WebhookReceiver::Pending {
  std::shared_ptr<const Admitted> source;  // the items below point into its batch
  int64_t now = 0;
  std::map<std::string, std::optional<Channel>> routes;
  std::vector<Subscriber> subscribers;
  TenantKeyring::NewSubjectKeys created_keys;
  std::vector<Quarantined> quarantined;
  ReceiveContext context;
  std::vector<PreparedMessage> messages;
  // Earlier messages whose stored copy must be masked (the first part of a split card).
  std::vector<std::pair<std::string, std::string>> previous_updates;  // (inbound id, sealed payload)
  std::vector<PreparedStatus> statuses;
  std::vector<const whatsapp::TemplateUpdate*> reviews;
  std::vector<PreparedPreference> prefs;
  // Filled by the unit.
  int dup = 0, msgs = 0, stats = 0;
  WebhookOutcome outcome;  // statuses quarantined inside the unit
  ReceiveFollowUps after;  // what the chain's stages asked for
  std::vector<char> stored;  // per message: new, not a duplicate
};

Result<std::string> WebhookReceiver::SendText(const Channel& channel, const std::string& to, const std::string& text,
                                              const AuditActor& actor) {
  JsonWriter w;
  w.BeginObject().Key("messaging_product").String("whatsapp").Key("to").String(to).Key("type").String("text");
  w.Key("text").BeginObject().Key("body").String(text);
  w.EndObject().EndObject();
  CS_ASSIGN_OR_RETURN(JsonValue body, ParseJson(w.str()));
  SendRequest r;
  r.tenant_id = channel.tenant_id;
  r.actor = actor;
  r.channel_id = channel.id;
  r.body = &body;
  CS_ASSIGN_OR_RETURN(SendResult sent, replies_.Send(r));
  return sent.message.id;
}

WebhookOutcome WebhookReceiver::Verify(const std::string& channel_id, const std::string& mode,
                                       const std::string& token, const std::string& challenge) {
  Result<Channel> channel = store_.channels().FindChannel(channel_id);
  if (!channel.ok()) return Refuse(channel.status().code() == StatusCode::kNotFound ? StatusCode::kPermissionDenied : StatusCode::kUnavailable, "verification_failed");
  Result<std::shared_ptr<const ChannelSecrets>> secrets = channels_.Secrets(*channel);
  if (!secrets.ok()) return Refuse(StatusCode::kUnavailable, secrets.status().machine_code());
  // Both checks run whatever the mode, so timing says nothing about the token.
  bool token_ok = (*secrets)->verify_token.ConstantTimeEquals(token);
  if (mode != "subscribe" || !token_ok || !IsChallenge(challenge)) return Refuse(StatusCode::kPermissionDenied, "verification_failed");
  WebhookOutcome o;
  o.body = challenge;
  return o;
}

void WebhookReceiver::CountSignatureFailure(const std::string& channel_id) {
  if (!signature_alert_ || signature_alert_per_minute_ <= 0) return;
  const int64_t minute = clock_.NowUnixMillis() / 60'000;
  int64_t reached = 0;
  {
    std::lock_guard lock(failures_mu_);
    FailureWindow& w = failures_[channel_id];
    if (w.minute != minute) w = FailureWindow{minute, 0};
    if (++w.count == signature_alert_per_minute_) reached = w.count;
  }
  if (reached > 0) signature_alert_(channel_id, reached);
}

Result<Channel> WebhookReceiver::FindChannel(const std::string& channel_id, bool fresh, bool* cached) {
  constexpr int64_t kChannelCacheNs = 1'000'000'000;
  const int64_t now = clock_.MonotonicNanos();
  *cached = false;
  const uint64_t changes = channels_.changes();
  if (!fresh) {
    std::lock_guard lock(channels_mu_);
    auto it = channel_cache_.find(channel_id);
    if (it != channel_cache_.end() && it->second.changes == changes && now - it->second.loaded_ns < kChannelCacheNs) {
      *cached = true;
      return it->second.channel;
    }
  }
  Result<Channel> channel = store_.channels().FindChannel(channel_id);
  std::lock_guard lock(channels_mu_);
  if (channel.ok()) {
    // Bounded by the number of channels: only existing ones are kept.
    channel_cache_[channel_id] = CachedChannel{*channel, now, changes};
  } else {
    channel_cache_.erase(channel_id);
  }
  return channel;
}

std::variant<WebhookOutcome, std::shared_ptr<const WebhookReceiver::Admitted>> WebhookReceiver::Admit(
    const std::string& channel_id, const std::string* signature, const std::string& raw_body, const JsonLimits& limits) {
  // W-01: the MAC over the exact bytes, before any parsing.
  const std::string_view presented = signature != nullptr ? std::string_view(*signature) : std::string_view();
  bool cached = false;
  Result<Channel> channel = NotFound("no such channel");
  Status sig;
  // A cached channel may predate a secret rotation: a mismatch is checked
  // again against the stored channel before it counts.
  for (bool fresh : {false, true}) {
    channel = FindChannel(channel_id, fresh, &cached);
    if (!channel.ok()) {
      return Refuse(channel.status().code() == StatusCode::kNotFound ? StatusCode::kNotFound : StatusCode::kUnavailable,
                    channel.status().code() == StatusCode::kNotFound ? "not_found" : "storage_unavailable");
    }
    Result<std::shared_ptr<const ChannelSecrets>> secrets = channels_.Secrets(*channel);
    if (!secrets.ok()) return Refuse(StatusCode::kUnavailable, "kms_unavailable");
    sig = whatsapp::VerifyHubSignature(InsecureSecretAccess::Get((*secrets)->app_secret), presented, raw_body);
    if (!sig.ok() && sig.machine_code() == "signature_mismatch" && (*secrets)->previous_app_secret &&
        clock_.NowUnixMillis() < (*secrets)->previous_app_secret_until_ms) {
      // SEC-03: a delivery Meta signed before the secret was replaced.
      sig = whatsapp::VerifyHubSignature(InsecureSecretAccess::Get(*(*secrets)->previous_app_secret), presented,
                                         raw_body);
    }
    if (sig.ok() || sig.machine_code() != "signature_mismatch" || !cached) break;
  }
  if (!sig.ok()) {
    CountSignatureFailure(channel->id);
    return Refuse(StatusCode::kUnauthenticated, sig.machine_code());
  }

  auto admitted = std::make_shared<Admitted>();
  admitted->now = clock_.NowUnixMillis();
  Result<JsonValue> root = ParseJson(raw_body, limits);
  Result<whatsapp::WebhookBatch> batch = root.ok() ? whatsapp::ParseWebhook(*root) : root.status();
  if (!root.ok()) {
    admitted->unreadable = "unparseable:" + root.status().machine_code();
  } else if (!batch.ok()) {
    admitted->unreadable = "not_a_delivery";
  } else {
    admitted->batch = std::move(batch).value();
  }
  admitted->channel = std::move(channel).value();
  return std::shared_ptr<const Admitted>(std::move(admitted));
}

WebhookOutcome WebhookReceiver::QuarantineWhole(const Admitted& admitted, const std::string& raw_body) {
  // A genuine (signed) payload we cannot read: keep it sealed for an
  // operator and answer 200, or Meta would retry it forever (B-11).
  const std::string& tenant = admitted.channel.tenant_id;
  Result<std::string> sealed = keyring_.Seal(tenant, chain_.Redact(raw_body), FieldBinding{tenant, "", "quarantine", "body"});
  if (!sealed.ok()) return Refuse(StatusCode::kUnavailable, "kms_unavailable");
  Status s = store_.inbound().Quarantine(admitted.now, admitted.unreadable, *sealed);
  if (!s.ok()) return Refuse(StatusCode::kUnavailable, "storage_unavailable");
  WebhookOutcome outcome;
  outcome.quarantined = 1;
  outcome.error_code = admitted.unreadable;
  return outcome;
}

WebhookOutcome WebhookReceiver::ProcessNow(std::shared_ptr<const Admitted> admitted) {
  WebhookOutcome outcome;
  // A key conflict (another process made a first customer's key at the same
  // moment) committed nothing: prepared again, the stored key is used.
  Status s;
  const WebhookOutcome before = outcome;
  for (int attempt = 0; attempt < 3; ++attempt) {
    outcome = before;
    Result<std::shared_ptr<Pending>> pending = Prepare(admitted);
    s = pending.status();
    if (pending.ok()) {
      Status committed = commits_.Run([&](StoreTransaction& tx) { return Commit(**pending, tx); });
      s = Finish(**pending, committed, outcome);
    }
    if (s.machine_code() != "subject_key_conflict") break;
  }
  if (!s.ok()) {
    // Nothing was committed: a non-200 makes Meta deliver it again.
    return Refuse(StatusCode::kUnavailable, s.machine_code().empty() ? "storage_unavailable" : s.machine_code());
  }
  return outcome;
}

WebhookOutcome WebhookReceiver::Receive(const std::string& channel_id, const std::string* signature,
                                        const std::string& raw_body, const JsonLimits& limits) {
  auto admitted = Admit(channel_id, signature, raw_body, limits);
  if (auto* decided = std::get_if<WebhookOutcome>(&admitted)) return *decided;
  auto source = std::get<std::shared_ptr<const Admitted>>(std::move(admitted));
  if (!source->unreadable.empty()) return QuarantineWhole(*source, raw_body);
  return ProcessNow(std::move(source));
}

void WebhookReceiver::ReceiveAsync(const std::string& channel_id, const std::string* signature,
                                   const std::string& raw_body, const JsonLimits& limits, Continuation then) {
  auto admitted = Admit(channel_id, signature, raw_body, limits);
  if (auto* decided = std::get_if<WebhookOutcome>(&admitted)) {
    then([outcome = *decided] { return outcome; }, false);
    return;
  }
  auto source = std::get<std::shared_ptr<const Admitted>>(std::move(admitted));
  if (!source->unreadable.empty()) {
    // Rare (Meta signed something we cannot read): stored outside the group
    // commit, so on a thread that may wait. The body is copied: the request's dies.
    then([this, source, body = raw_body] { return QuarantineWhole(*source, body); }, true);
    return;
  }
  Result<std::shared_ptr<Pending>> prepared = Prepare(source);
  if (!prepared.ok()) {
    const Status s = prepared.status();
    if (s.machine_code() == "subject_key_conflict") {
      then([this, source] { return ProcessNow(source); }, true);
    } else {
      then([s] { return Refuse(StatusCode::kUnavailable, s.machine_code().empty() ? "storage_unavailable" : s.machine_code()); }, false);
    }
    return;
  }
  std::shared_ptr<Pending> pending = std::move(prepared).value();
  // The wait for the commit holds no thread: `then` runs when the committer is done.
  commits_.Submit([this, pending](StoreTransaction& tx) { return Commit(*pending, tx); },
                  [this, pending, source, then = std::move(then)](Status committed) {
                    // Replies (opt-out confirmations, notices) and a retry after a key
                    // conflict wait on commits of their own.
                    const bool waits = committed.ok() ? !pending->after.replies.empty() || !pending->after.informs.empty()
                                                      : committed.machine_code() == "subject_key_conflict";
                    then([this, pending, source, committed]() -> WebhookOutcome {
                      WebhookOutcome outcome;
                      Status s = Finish(*pending, committed, outcome);
                      // Rare: another process made a first customer's key meanwhile. Again, waiting.
                      if (s.machine_code() == "subject_key_conflict") return ProcessNow(source);
                      if (!s.ok()) return Refuse(StatusCode::kUnavailable, s.machine_code().empty() ? "storage_unavailable" : s.machine_code());
                      return outcome;
                    }, waits);
                  });
}

Result<OutboxEntry> WebhookReceiver::Forward(Pending& pending, const Subscriber& sb, const std::string& field,
                                             const std::string& waba, const std::string& value,
                                             const std::string& subject) {
  // One outbox entry per (event, subscriber), sealed; inserted only if the
  // event is new (inside the transaction), so a replay forwards nothing.
  // Sealed under the subject's key: erasing the subject shreds its pending events too.
  const std::string& tenant = pending.source->channel.tenant_id;
  OutboxEntry e;
  CS_ASSIGN_OR_RETURN(e.id, NewTimeOrderedId(random_, "evt", pending.now));
  e.tenant_id = tenant;
  e.subject = subject;
  e.subscriber_id = sb.id;
  e.field = field;
  e.waba_id = waba;
  e.due_ms = pending.now;
  e.created_at_ms = pending.now;
  CS_ASSIGN_OR_RETURN(e.payload_sealed, keyring_.SealDeferred(tenant, value, FieldBinding{tenant, e.subject, e.id, "payload"},
                                                              pending.created_keys));
  return e;
}

Result<std::shared_ptr<WebhookReceiver::Pending>> WebhookReceiver::Prepare(std::shared_ptr<const Admitted> source) {
  auto pending = std::make_shared<Pending>();
  pending->source = std::move(source);
  pending->now = clock_.NowUnixMillis();
  const Channel& channel = pending->source->channel;
  const whatsapp::WebhookBatch& batch = pending->source->batch;
  const int64_t now = pending->now;
  const std::string& tenant = channel.tenant_id;
  // Items are routed by metadata.phone_number_id; only numbers of the
  // channel's own tenant are accepted through its URL (B-09, TEN-03).
  std::map<std::string, std::optional<Channel>>& routes = pending->routes;
  auto route = [&](const std::string& pnid) -> Result<const Channel*> {
    auto it = routes.find(pnid);
    if (it == routes.end()) {
      std::optional<Channel> found;
      if (pnid == channel.phone_number_id) {
        found = channel;
      } else {
        Result<Channel> c = store_.channels().FindChannelByPhoneNumberId(pnid);
        if (c.ok() && c->tenant_id == tenant) found = *c;
        if (!c.ok() && c.status().code() != StatusCode::kNotFound) return c.status();
      }
      it = routes.emplace(pnid, std::move(found)).first;
    }
    return it->second ? &*it->second : nullptr;
  };

  CS_ASSIGN_OR_RETURN(pending->subscribers, store_.outbox().ListSubscribers(tenant));
  const std::vector<Subscriber>& subscribers = pending->subscribers;
  // Keys of customers seen for the first time: stored with the messages, not on their own.
  TenantKeyring::NewSubjectKeys& created_keys = pending->created_keys;
  auto forward = [&](const Subscriber& sb, const std::string& field, const std::string& waba,
                     const std::string& value, const std::string& subject) {
    return Forward(*pending, sb, field, waba, value, subject);
  };

  std::vector<Quarantined>& quarantined = pending->quarantined;
  auto quarantine = [&](const std::string& reason, const std::string& raw) -> Status {
    // Card numbers never reach storage, even in a body kept aside (CHAN-04).
    CS_ASSIGN_OR_RETURN(std::string sealed,
                        keyring_.Seal(tenant, chain_.Redact(raw), FieldBinding{tenant, "", "quarantine", "body"}));
    quarantined.push_back({reason, std::move(sealed)});
    return Status::Ok();
  };

  ReceiveContext& context = pending->context;
  context.tenant_id = tenant;
  if (!batch.messages.empty()) {
    for (const auto& stage : chain_.stages()) CS_RETURN_IF_ERROR(stage->Begin(context));
  }

  std::vector<PreparedMessage>& messages = pending->messages;
  SplitCardDetector batch_splits;          // fragments of this delivery's own messages
  std::set<std::string> batch_fragments;   // customers with a message earlier in this delivery
  // Earlier messages whose stored copy must be masked (the first part of a split card).
  std::vector<std::pair<std::string, std::string>>& previous_updates = pending->previous_updates;
  for (const whatsapp::InboundMessage& msg : batch.messages) {
    CS_ASSIGN_OR_RETURN(const Channel* target, route(msg.where.phone_number_id));
    if (target == nullptr || msg.id.empty()) {
      CS_RETURN_IF_ERROR(quarantine(target == nullptr ? "unknown_phone_number_id" : "message_without_id", msg.raw_json));
      continue;
    }
    PreparedMessage p;
    p.msg = &msg;
    InboundMessageRecord& r = p.record;
    CS_ASSIGN_OR_RETURN(r.id, NewTimeOrderedId(random_, "inm", now));
    r.tenant_id = tenant;
    r.channel_id = target->id;
    if (!msg.from.empty()) {
      CS_ASSIGN_OR_RETURN(r.subject, keyring_.Pseudonym(tenant, "+" + msg.from));
    } else if (!msg.from_user_id.empty()) {
      CS_ASSIGN_OR_RETURN(r.subject, keyring_.Pseudonym(tenant, "bsuid:" + msg.from_user_id));
    }
    // Meta's id embeds the number: kept as a keyed hash (deduplication)
    // and sealed under the subject's key (read receipts, replies), never in
    // clear (provider_ids.h).
    CS_ASSIGN_OR_RETURN(r.wamid_hash, keyring_.ProviderIdToken(tenant, msg.id));
    CS_ASSIGN_OR_RETURN(r.wamid_sealed, keyring_.SealDeferred(tenant, msg.id, FieldBinding{tenant, r.subject, r.id, "wamid"},
                                                              created_keys));
    r.type = msg.type.empty() ? "unknown" : msg.type;
    // The provider's time, but never in the future: a skewed clock must
    // not stretch the service window.
    r.sent_at_ms = msg.timestamp > 0 ? std::min(msg.timestamp * 1000, now) : now;
    r.received_at_ms = now;
    for (const auto& stage : chain_.stages()) CS_RETURN_IF_ERROR(stage->Inspect(context, p));
    if (context.content_policy && r.type == "text" && !r.subject.empty()) {
      // Within this delivery, an earlier message of the same customer is the
      // one to join; otherwise the last one stored. State moves only after the commit.
      p.fragment_key = target->id + "/" + r.subject;
      std::optional<SplitCardDetector::Split> split = batch_fragments.count(p.fragment_key) > 0
                                                           ? batch_splits.Match(p.fragment_key, p.msg->text, now)
                                                           : splits_.Match(p.fragment_key, p.msg->text, now);
      if (split) {
        CS_RETURN_IF_ERROR(
            MaskSplitCard(store_, keyring_, tenant, *split, p, messages, subscribers, previous_updates, created_keys));
      }
      batch_fragments.insert(p.fragment_key);
      batch_splits.Remember(p.fragment_key, r.id, p.msg->text, p.split_card, now);
    }
    CS_ASSIGN_OR_RETURN(r.payload_sealed, keyring_.SealDeferred(tenant, p.msg->raw_json,
                                                                FieldBinding{tenant, r.subject, r.id, "payload"}, created_keys));
    p.ids.subject = r.subject;
    p.ids.message_id = r.id;
    const bool forwarded = std::any_of(subscribers.begin(), subscribers.end(), [](const Subscriber& sb) { return Wants(sb, "messages"); });
    if (const size_t first = msg.raw_json.find("\"wamid."); forwarded && first != std::string::npos &&
                                                              msg.raw_json.find("\"wamid.", first + 1) != std::string::npos) {
      // It names other messages (a reply's context, a reaction): under the
      // gateway's ids for subscribers without clear identifiers.
      std::set<std::string> named;
      if (Result<JsonValue> raw = ParseJson(msg.raw_json); raw.ok()) CollectWamids(*raw, named);
      named.erase(msg.id);
      for (const std::string& wamid : named) {
        CS_ASSIGN_OR_RETURN(p.ids.wamids[wamid], GatewayIdForWamid(store_.messaging(), keyring_, tenant, wamid));
      }
    }
    for (const Subscriber& sb : subscribers) {
      if (!Wants(sb, "messages")) continue;
      CS_ASSIGN_OR_RETURN(OutboxEntry e, forward(sb, "messages", msg.where.waba_id,
                                                 ForwardedMessageValue(*p.msg, p.ids, sb, p.content_findings),
                                                 r.subject));
      p.forwards.push_back(std::move(e));
    }
    messages.push_back(std::move(p));
  }

  std::vector<PreparedStatus>& statuses = pending->statuses;
  for (const whatsapp::StatusUpdate& st : batch.statuses) {
    CS_ASSIGN_OR_RETURN(const Channel* target, route(st.where.phone_number_id));
    if (target == nullptr || st.id.empty()) {
      CS_RETURN_IF_ERROR(quarantine(target == nullptr ? "unknown_phone_number_id" : "status_without_id", st.raw_json));
      continue;
    }
    PreparedStatus p;
    p.status = &st;
    CS_ASSIGN_OR_RETURN(p.wamid_hash, keyring_.ProviderIdToken(tenant, st.id));
    if (st.callback_data.rfind("cs:msg_", 0) == 0) p.tagged_message_id = st.callback_data.substr(3);
    statuses.push_back(std::move(p));
  }

  // Changes of other fields (template status, quality, account events) are
  // kept, sealed, for an operator; the gateway does not act on them yet.
  for (const std::string& change : batch.other_changes) CS_RETURN_IF_ERROR(quarantine("other_field", change));

  // Template reviews concern a WhatsApp Business Account: applied only when
  // it is one of this tenant's (a Meta app shared by several tenants
  // delivers every account's reviews to each), otherwise kept aside.
  std::vector<const whatsapp::TemplateUpdate*>& reviews = pending->reviews;
  if (!batch.templates.empty()) {
    CS_ASSIGN_OR_RETURN(std::vector<Channel> own, store_.channels().ListChannels(tenant));
    for (const whatsapp::TemplateUpdate& t : batch.templates) {
      const bool mine = !t.where.waba_id.empty() &&
                        std::any_of(own.begin(), own.end(), [&](const Channel& c) { return c.waba_id == t.where.waba_id; });
      if (mine) {
        reviews.push_back(&t);
        continue;
      }
      JsonWriter w;
      w.BeginObject().Key("field").String(t.field).Key("waba_id").String(t.where.waba_id).Key("name").String(t.name);
      w.Key("language").String(t.language).Key("status").String(t.status).Key("category").String(t.category).EndObject();
      CS_RETURN_IF_ERROR(quarantine("unknown_waba_id", w.str()));
    }
  }

  std::vector<PreparedPreference>& prefs = pending->prefs;
  for (const whatsapp::UserPreference& pref : batch.preferences) {
    CS_ASSIGN_OR_RETURN(const Channel* target, route(pref.where.phone_number_id));
    if (target == nullptr || pref.wa_id.empty()) {
      JsonWriter w;
      w.BeginObject().Key("category").String(pref.category).Key("value").String(pref.value).EndObject();
      CS_RETURN_IF_ERROR(quarantine("unroutable_preference", w.str()));
      continue;
    }
    PreparedPreference p;
    p.pref = &pref;
    CS_ASSIGN_OR_RETURN(p.subject, keyring_.Pseudonym(tenant, "+" + pref.wa_id));
    for (const Subscriber& sb : subscribers) {
      if (!Wants(sb, "preferences")) continue;
      CS_ASSIGN_OR_RETURN(OutboxEntry e, forward(sb, "user_preferences", pref.where.waba_id,
                                                 ForwardedPreferenceValue(pref, p.subject, sb), p.subject));
      p.forwards.push_back(std::move(e));
    }
    prefs.push_back(std::move(p));
  }

  pending->stored.assign(messages.size(), 0);
  return pending;
}

Status WebhookReceiver::Commit(Pending& pending, StoreTransaction& tx) {
  const Channel& channel = pending.source->channel;
  const whatsapp::WebhookBatch& batch = pending.source->batch;
  const int64_t now = pending.now;
  const std::string& tenant = channel.tenant_id;
  const std::vector<Subscriber>& subscribers = pending.subscribers;
  const std::vector<PreparedMessage>& messages = pending.messages;
  const std::vector<PreparedStatus>& statuses = pending.statuses;
  const std::vector<PreparedPreference>& prefs = pending.prefs;
  const std::vector<Quarantined>& quarantined = pending.quarantined;
  const auto& previous_updates = pending.previous_updates;
  const auto& reviews = pending.reviews;
  const TenantKeyring::NewSubjectKeys& created_keys = pending.created_keys;
  int& dup = pending.dup;
  int& msgs = pending.msgs;
  int& stats = pending.stats;
  WebhookOutcome& outcome = pending.outcome;
  auto& stored = pending.stored;
  const ReceiveContext& context = pending.context;
  auto forward = [&](const Subscriber& sb, const std::string& field, const std::string& waba,
                     const std::string& value, const std::string& subject) {
    return Forward(pending, sb, field, waba, value, subject);
  };
  MessagingRepository& repo = tx.messaging();
  std::vector<AuditEvent> events;
  for (const PreparedMessage& p : messages) {
    CS_ASSIGN_OR_RETURN(bool fresh, repo.MarkSeen("m:" + p.record.wamid_hash, now, p.record.id));
    if (!fresh) {
      ++dup;
      continue;
    }
    CS_RETURN_IF_ERROR(repo.InsertInbound(p.record));
    // A file the customer sent: the tenant may read it through the gateway (docs/media.md).
    CS_RETURN_IF_ERROR(RecordInboundMedia(tx, p.record, p.msg->raw_json, now));
    stored[static_cast<size_t>(&p - messages.data())] = 1;
    for (const OutboxEntry& e : p.forwards) CS_RETURN_IF_ERROR(repo.InsertOutbox(e));
    if (!p.record.subject.empty()) CS_RETURN_IF_ERROR(repo.TouchWindow(p.record.channel_id, p.record.subject, p.record.sent_at_ms));
    AuditEvent e{
        .tenant_id = tenant,
        .actor = AuditActor{"system", "whatsapp", "webhook", ""},
        .action = "message.receive",
        .subject = p.record.subject,
        .resource = "inbound:" + p.record.id
    };
    JsonWriter w;
    w.BeginObject().Key("type").String(p.record.type).Key("channel_id").String(p.record.channel_id);
    if (!p.content_findings.empty()) w.Key("content").Raw(p.content_findings);
    e.details = w.EndObject().Take();
    events.push_back(std::move(e));
    // Content notices and replies, consent effects, first-contact notices.
    for (const auto& stage : chain_.stages()) CS_RETURN_IF_ERROR(stage->Apply(context, p, tx, events, pending.after));
    ++msgs;
  }
  for (const auto& [id, sealed] : previous_updates) {
    Status updated = repo.UpdateInboundPayload(tenant, id, sealed);
    // Purged since (retention) is fine: nothing is left to mask.
    if (!updated.ok() && updated.code() != StatusCode::kNotFound) return updated;
  }
  for (const PreparedStatus& p : statuses) {
    const whatsapp::StatusUpdate& st = *p.status;
    CS_ASSIGN_OR_RETURN(bool fresh, repo.MarkSeen("s:" + p.wamid_hash + ":" + st.status, now, ""));
    if (!fresh) {
      ++dup;
      continue;
    }
    Result<MessageRecord> found = repo.FindMessageByWamidHash(p.wamid_hash);
    if (!found.ok() && found.status().code() == StatusCode::kNotFound && !p.tagged_message_id.empty()) {
      found = repo.FindMessage(p.tagged_message_id);
    }
    if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
    if (!found.ok() || found->tenant_id != tenant) {
      // B-08: an unknown wamid (or another tenant's) is kept aside, never applied.
      CS_ASSIGN_OR_RETURN(std::string sealed, keyring_.Seal(tenant, st.raw_json, FieldBinding{tenant, "", "quarantine", "body"}));
      CS_RETURN_IF_ERROR(repo.Quarantine(now, "unknown_wamid", sealed));
      ++outcome.quarantined;
      continue;
    }
    MessageRecord m = std::move(found).value();
    // Its sealed copy comes with the dispatcher's record of the send.
    if (m.wamid_hash.empty()) m.wamid_hash = p.wamid_hash;
    int64_t provider_code = st.error_codes.empty() ? 0 : st.error_codes.front();
    CS_RETURN_IF_ERROR(repo.InsertStatusEvent(
        StatusEventRecord{m.id, st.status, st.timestamp > 0 ? st.timestamp * 1000 : now, now, provider_code}));
    int64_t bit = StatusBit(st.status);
    if (bit != 0) {
      int64_t effective = m.seen | bit | (m.state == "failed" ? kSeenFailed : 0);
      m.seen |= bit;
      std::string next = StateFor(effective, m.state == "unknown" ? "unknown" : "accepted");
      if (bit == kSeenFailed && m.error_code.empty()) {
        m.error_code = FailureCodeFor(static_cast<int>(provider_code));
        m.provider_code = provider_code;
      }
      if (next != "failed" && next != "unknown") m.error_code.clear();
      m.state = next;
    }
    m.updated_at_ms = now;
    CS_RETURN_IF_ERROR(repo.UpdateMessage(m));
    if (provider_code == 131050 && !m.subject.empty()) {
      // Meta says the user stopped marketing: the ledger follows (CONS-05).
      for (const auto& stage : chain_.stages()) {
        CS_RETURN_IF_ERROR(stage->ApplyMarketingStop(context, m.subject, "provider_131050", tx, events));
      }
      pending.after.stopped.push_back(m.subject);
    }
    for (const Subscriber& sb : subscribers) {
      if (!Wants(sb, "statuses")) continue;
      CS_ASSIGN_OR_RETURN(OutboxEntry e,
                          forward(sb, "messages", st.where.waba_id, ForwardedStatusValue(st, m, sb), m.subject));
      CS_RETURN_IF_ERROR(repo.InsertOutbox(e));
    }
    ++stats;
  }
  for (const PreparedPreference& p : prefs) {
    CS_ASSIGN_OR_RETURN(bool fresh, repo.MarkSeen("p:" + p.subject + ":" + p.pref->category + ":" + p.pref->value +
                                                      ":" + std::to_string(p.pref->timestamp),
                                                  now, ""));
    if (!fresh) {
      ++dup;
      continue;
    }
    for (const OutboxEntry& f : p.forwards) CS_RETURN_IF_ERROR(repo.InsertOutbox(f));
    if (p.pref->category == "marketing_messages" && p.pref->value == "stop") {
      for (const auto& stage : chain_.stages()) {
        CS_RETURN_IF_ERROR(stage->ApplyMarketingStop(context, p.subject, "user_preferences", tx, events));
      }
    }
    AuditEvent e{
        .tenant_id = tenant,
        .actor = AuditActor{"system", "whatsapp", "webhook", ""},
        .action = "preference.update",
        .subject = p.subject,
        .resource = "channel:" + channel.id
    };
    JsonWriter w;
    w.BeginObject().Key("category").String(p.pref->category).Key("value").String(p.pref->value).EndObject();
    e.details = w.Take();
    events.push_back(std::move(e));
  }
  for (const whatsapp::TemplateUpdate* t : reviews) {
    // Meta's review of a template: the send gate follows it. Not
    // deduplicated: a redelivery sets the same state again, and two real
    // changes can look alike (PAUSED, APPROVED, PAUSED again).
    TemplateReview review{t->name, t->language, t->status, t->category, t->correct_category, t->change_at * 1000};
    for (const auto& stage : chain_.stages()) CS_RETURN_IF_ERROR(stage->ApplyTemplateReview(context, review, tx, events));
  }
  for (const whatsapp::ValueError& err : batch.errors) {
    // Value-level errors (e.g. 130429 for the number) concern the channel, not a person.
    AuditEvent e{
        .tenant_id = tenant,
        .actor = AuditActor{"system", "whatsapp", "webhook", ""},
        .action = "provider.error",
        .resource = "channel:" + channel.id,
        .outcome = "provider_" + std::to_string(err.code)
    };
    events.push_back(std::move(e));
  }
  for (const Quarantined& q : quarantined) CS_RETURN_IF_ERROR(repo.Quarantine(now, q.reason, q.sealed));
  // Last: the status forwards above may have made keys too.
  CS_RETURN_IF_ERROR(keyring_.StoreSubjectKeys(tx, created_keys));
  if (!events.empty()) CS_RETURN_IF_ERROR(ledger_.Append(tx.audit(), events));
  return Status::Ok();
}

Status WebhookReceiver::Finish(Pending& pending, const Status& s, WebhookOutcome& outcome) {
  const Channel& channel = pending.source->channel;
  const int64_t now = pending.now;
  const std::string& tenant = channel.tenant_id;
  const std::vector<PreparedMessage>& messages = pending.messages;
  const std::vector<PreparedPreference>& prefs = pending.prefs;
  const auto& routes = pending.routes;
  if (s.ok()) {
    keyring_.SubjectKeysStored(pending.created_keys);
  } else if (s.machine_code() == "subject_key_conflict") {
    keyring_.DropUnstored(pending.created_keys);
  }
  // Whatever committed (or not): the subjects the delivery touched.
  std::vector<std::string> touched = pending.after.stopped;
  for (const PreparedMessage& p : messages) touched.push_back(p.record.subject);
  for (const PreparedPreference& p : prefs) touched.push_back(p.subject);
  for (const auto& stage : chain_.stages()) stage->Settled(tenant, touched);
  CS_RETURN_IF_ERROR(s);
  for (size_t i = 0; i < messages.size(); ++i) {
    const PreparedMessage& p = messages[i];
    if (pending.stored[i] && !p.fragment_key.empty()) splits_.Remember(p.fragment_key, p.record.id, p.msg->text, p.split_card, now);
  }
  auto channel_of = [&](const std::string& id) -> const Channel& {
    for (const auto& [pnid, routed] : routes) {
      if (routed && routed->id == id) return *routed;
    }
    return channel;
  };
  // Failing to send a reply undoes nothing it answers (an opt-out stays an opt-out).
  for (const ReceiveFollowUps::Reply& r : pending.after.replies) {
    SendText(channel_of(r.channel_id), r.to, r.text, r.actor).status().IgnoreError();
  }
  for (const ReceiveFollowUps::Information& i : pending.after.informs) {
    Result<std::string> sent = SendText(channel_of(i.channel_id), i.to, i.text, AuditActor{"system", "notice", "notice", ""});
    for (const auto& stage : chain_.stages()) stage->InformationSent(tenant, i, sent);
  }
  outcome = pending.outcome;
  outcome.messages = pending.msgs;
  outcome.statuses = pending.stats;
  outcome.duplicates = pending.dup;
  outcome.quarantined += static_cast<int>(pending.quarantined.size());
  return Status::Ok();
}

}  // namespace cs
