// HistoryService and the body purge (messaging.h, docs/retention.md).
#include <algorithm>

#include "common/json_writer.h"
#include "common/strings.h"
#include "messaging/history.h"
#include "messaging/provider_ids.h"
#include "vault/keys.h"

namespace cs {

namespace {

constexpr int64_t kDayMs = 86'400'000;

bool IsPurposeText(std::string_view text) {
  if (text.empty() || text.size() > 200 || !IsValidUtf8(text)) return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// The stored message object without the fields that carry the customer's
// number ("from" inbound, "to" outbound): the conversation is read under the
// subject's pseudonym (MIN-02). Numbers the customer typed are content.
// Meta's ids embed the number too (provider_ids.h): the message's own is
// left out (the item has the gateway's id), the others it names (a reply's
// context, a reaction) become the gateway's ids.
Result<std::string> WithoutNumbers(const std::string& json, const std::map<std::string, std::string>& wamids) {
  CS_ASSIGN_OR_RETURN(JsonValue root, ParseJson(json));
  if (!root.is_object()) return Internal("a stored message is not an object");
  JsonValue::Object kept;
  for (const auto& [key, value] : root.as_object()) {
    if (key == "from" || key == "to" || key == "recipient" || key == "id" || key == "from_user_id" ||
        key == "from_parent_user_id") {
      continue;
    }
    if (key == "context" && value.is_object()) {
      JsonValue::Object context;  // without "from": the customer's number when they quote themselves
      for (const auto& [k, v] : value.as_object()) {
        if (k != "from") context.emplace_back(k, ReplaceWamids(v, wamids));
      }
      kept.emplace_back(key, JsonValue::MakeObject(std::move(context)));
      continue;
    }
    kept.emplace_back(key, ReplaceWamids(value, wamids));
  }
  return ToJson(JsonValue::MakeObject(std::move(kept)));
}

AuditEvent HistoryEvent(const std::string& tenant_id, const AuditActor& actor, std::string action) {
  AuditEvent e{.tenant_id = tenant_id, .actor = actor, .action = std::move(action), .resource = "conversation-history"};
  return e;
}

}  // namespace

std::string HistoryPolicyJson(const std::optional<HistoryPolicy>& policy) {
  JsonWriter w;
  w.BeginObject().Key("enabled").Bool(policy.has_value());
  if (policy) {
    w.Key("retention_days").Int(policy->retention_days).Key("purpose").String(policy->purpose);
    w.Key("legal_basis").String(policy->legal_basis).Key("enabled_at").String(FormatRfc3339Millis(policy->enabled_at_ms));
  }
  return w.EndObject().Take();
}

Result<std::optional<HistoryPolicy>> HistoryService::Get(const std::string& tenant_id) {
  return store_.history().GetHistoryPolicy(tenant_id);
}

Result<HistoryPolicy> HistoryService::Enable(const AuditActor& actor, HistoryPolicy policy) {
  if (policy.retention_days < 1 || policy.retention_days > 3650) {
    return InvalidArgument("invalid_field", "retention_days must be 1-3650");
  }
  if (!IsPurposeText(policy.purpose)) {
    return InvalidArgument("invalid_field", "purpose must be 1-200 bytes of text without control characters");
  }
  if (std::find(kLegalBases.begin(), kLegalBases.end(), policy.legal_basis) == kLegalBases.end()) {
    return InvalidArgument("invalid_field",
                           "legal_basis must be consent, contract, legal_obligation or legitimate_interests");
  }
  policy.enabled_at_ms = clock_.NowUnixMillis();
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<HistoryPolicy> before, tx.history().GetHistoryPolicy(policy.tenant_id));
    // Changing the terms keeps the date history started.
    if (before) policy.enabled_at_ms = before->enabled_at_ms;
    CS_RETURN_IF_ERROR(tx.history().PutHistoryPolicy(policy));
    AuditEvent e = HistoryEvent(policy.tenant_id, actor, "history.enable");
    JsonWriter w;
    w.BeginObject().Key("retention_days").Int(policy.retention_days).Key("purpose").String(policy.purpose);
    w.Key("legal_basis").String(policy.legal_basis);
    if (before) w.Key("previous_retention_days").Int(before->retention_days);
    e.details = w.EndObject().Take();
    return ledger_.Record(tx, e);
  }));
  return policy;
}

Status HistoryService::Disable(const AuditActor& actor, const std::string& tenant_id) {
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(bool existed, tx.history().DeleteHistoryPolicy(tenant_id));
    if (!existed) return NotFound("conversation history is not on");
    return ledger_.Append(tx.audit(), HistoryEvent(tenant_id, actor, "history.disable"));
  });
}

Result<std::vector<HistoryService::Item>> HistoryService::Read(const AuditActor& actor, const std::string& tenant_id,
                                                               const std::string& subject, int limit) {
  if (!IsSubjectPseudonym(subject)) return InvalidArgument("invalid_subject", "not a subject pseudonym");
  if (limit < 1 || limit > 500) return InvalidArgument("invalid_query", "limit must be 1-500");
  CS_ASSIGN_OR_RETURN(std::vector<InboundMessageRecord> inbound,
                      store_.history().ListInboundOfSubject(tenant_id, subject, limit));
  CS_ASSIGN_OR_RETURN(std::vector<MessageRecord> outbound,
                      store_.history().ListMessagesOfSubject(tenant_id, subject, limit));
  // Reading someone's conversation is an access to their data: on record first.
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    AuditEvent e = HistoryEvent(tenant_id, actor, "history.read");
    e.subject = subject;
    e.resource = "subject:" + subject;
    return ledger_.Record(tx, e);
  }));
  std::vector<Item> items;
  items.reserve(inbound.size() + outbound.size());
  auto open = [&](const std::string& sealed, const std::string& record) -> Result<std::optional<std::string>> {
    if (sealed.empty()) return std::optional<std::string>();
    Result<SecretString> plain = keyring_.Open(tenant_id, sealed, FieldBinding{tenant_id, subject, record, "payload"});
    // Erased since (a new generation): the body is gone, the record stays.
    if (!plain.ok() && plain.status().machine_code() == "subject_erased") return std::optional<std::string>();
    CS_RETURN_IF_ERROR(plain.status());
    const std::string raw(InsecureSecretAccess::Get(*plain));
    std::map<std::string, std::string> wamids;
    if (raw.find("\"wamid.") != std::string::npos) {
      std::set<std::string> named;
      if (Result<JsonValue> parsed = ParseJson(raw); parsed.ok()) CollectWamids(*parsed, named);
      for (const std::string& wamid : named) {
        CS_ASSIGN_OR_RETURN(wamids[wamid], GatewayIdForWamid(store_.messaging(), keyring_, tenant_id, wamid));
      }
    }
    CS_ASSIGN_OR_RETURN(std::string body, WithoutNumbers(raw, wamids));
    return std::optional<std::string>(std::move(body));
  };
  for (const InboundMessageRecord& m : inbound) {
    Item it{"inbound", m.id, m.type, "", m.received_at_ms, std::nullopt};
    CS_ASSIGN_OR_RETURN(it.body, open(m.payload_sealed, m.id));
    items.push_back(std::move(it));
  }
  for (const MessageRecord& m : outbound) {
    Item it{"outbound", m.id, m.type, m.state, m.created_at_ms, std::nullopt};
    CS_ASSIGN_OR_RETURN(it.body, open(m.payload_sealed, m.id));
    items.push_back(std::move(it));
  }
  // The newest `limit` of both directions together, oldest first.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.id > b.id;
  });
  if (items.size() > static_cast<size_t>(limit)) items.resize(static_cast<size_t>(limit));
  std::reverse(items.begin(), items.end());
  return items;
}

Result<PurgedBodies> PurgeExpiredBodies(Store& store, int64_t now_ms, int64_t message_body_ms, int64_t forward_body_ms) {
  PurgedBodies out;
  CS_ASSIGN_OR_RETURN(out.message_bodies, store.history().PurgeInboundBodies(now_ms - message_body_ms));
  CS_ASSIGN_OR_RETURN(std::vector<HistoryPolicy> policies, store.history().ListHistoryPolicies());
  for (const HistoryPolicy& p : policies) {
    CS_ASSIGN_OR_RETURN(int64_t n, store.history().PurgeTenantBodies(p.tenant_id, now_ms - p.retention_days * kDayMs));
    out.message_bodies += n;
  }
  CS_ASSIGN_OR_RETURN(out.forward_bodies, store.outbox().ExpireOutboxBodies(now_ms - forward_body_ms, now_ms));
  return out;
}

}  // namespace cs
