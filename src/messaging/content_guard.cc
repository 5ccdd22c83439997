#include "messaging/content_guard.h"

#include <set>

#include "common/json_writer.h"

namespace cs {

namespace {

constexpr int64_t kPolicyCacheMs = 5000;

// Routing and identifiers, not content: a recipient's number is not a
// finding, and a media id is not a card number.
bool IsRoutingKey(std::string_view key) {
  static const std::set<std::string_view> kKeys = {
      "to",          "recipient", "recipient_type", "messaging_product", "type",     "id",
      "message_id",  "code",      "policy",         "sub_type",          "index",    "status",
      "from",        "timestamp", "mime_type",      "sha256",            "wa_id",    "user_id",
      "from_user_id", "from_parent_user_id", "recipient_id", "parent_user_id",
  };
  return kKeys.count(key) > 0;
}

struct Walk {
  const scan::Scanner& scanner;
  const scan::ContentPolicy& policy;
  scan::Direction direction;
  ContentGuard::Outcome& out;
  JsonWriter findings;

  JsonValue Visit(const JsonValue& v, const std::string& path) {
    switch (v.type()) {
      case JsonValue::Type::kString: return VisitString(v, path);
      case JsonValue::Type::kArray: {
        JsonValue::Array items;
        const JsonValue::Array& in = v.as_array();
        items.reserve(in.size());
        for (size_t i = 0; i < in.size(); ++i) items.push_back(Visit(in[i], path + "[" + std::to_string(i) + "]"));
        return JsonValue::MakeArray(std::move(items));
      }
      case JsonValue::Type::kObject: {
        JsonValue::Object fields;
        for (const auto& [key, value] : v.as_object()) {
          if (IsRoutingKey(key) && !value.is_object() && !value.is_array()) {
            fields.emplace_back(key, value);
            continue;
          }
          fields.emplace_back(key, Visit(value, path.empty() ? key : path + "." + key));
        }
        return JsonValue::MakeObject(std::move(fields));
      }
      default: return v;
    }
  }

  JsonValue VisitString(const JsonValue& v, const std::string& path) {
    const std::string& text = v.as_string();
    std::vector<scan::Finding> found = scanner.Scan(text);
    if (found.empty()) return v;
    scan::Decision d = scan::Decide(policy, direction, text, std::move(found));
    for (size_t i = 0; i < d.findings.size(); ++i) {
      const scan::Finding& f = d.findings[i];
      findings.BeginObject().Key("field").String(path).Key("type").String(scan::TypeName(f.type));
      if (!f.detail.empty()) findings.Key("detail").String(f.detail);
      findings.Key("start").Int(static_cast<int64_t>(f.start)).Key("end").Int(static_cast<int64_t>(f.end));
      findings.Key("action").String(scan::ActionName(d.actions[i])).EndObject();
      ++out.findings;
      if (f.type == scan::FindingType::kCard) out.card = true;
      if (f.type == scan::FindingType::kHealth) out.health = true;
      if (d.actions[i] == scan::Action::kRefuse && f.type != scan::FindingType::kHealth) {
        out.refused_beyond_health = true;
      }
      if (!out.summary.empty()) out.summary += ", ";
      out.summary += std::string(scan::TypeName(f.type)) + " in " + path;
    }
    if (d.refused) out.refused = true;
    if (!d.masked) return v;
    out.changed = true;
    return JsonValue::MakeString(std::move(d.text));
  }
};

}  // namespace

Result<scan::ContentPolicy> ContentGuard::PolicyFor(const std::string& tenant_id) {
  const int64_t now = clock_.NowUnixMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(tenant_id);
    if (it != cache_.end() && now - it->second.loaded_at_ms < kPolicyCacheMs) return it->second.policy;
  }
  CS_ASSIGN_OR_RETURN(Tenant tenant, store_.tenants().Get(tenant_id));
  scan::ContentPolicy policy = scan::ContentPolicy::Defaults();
  if (tenant.content_policy) {
    Result<scan::ContentPolicy> stored = scan::ContentPolicy::FromJson(*tenant.content_policy);
    // A stored policy was validated when it was set; if it no longer reads
    // (a downgrade), the defaults protect more than a guess would.
    if (stored.ok()) policy = *stored;
  }
  std::lock_guard<std::mutex> lock(mu_);
  cache_[tenant_id] = Cached{policy, now};
  return policy;
}

Status ContentGuard::SetPolicy(const std::string& tenant_id, const AuditActor& actor,
                               const std::optional<scan::ContentPolicy>& policy) {
  std::optional<std::string> json;
  if (policy) json = policy->ToJson();
  Status s = store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.tenants().SetContentPolicy(tenant_id, json));
    AuditEvent e;
    e.tenant_id = tenant_id;
    e.actor = actor;
    e.action = "content.policy_set";
    e.resource = "tenant:" + tenant_id;
    // The policy names types and actions only: safe to keep whole.
    e.details = json ? *json : scan::ContentPolicy::Defaults().ToJson();
    return ledger_.Append(tx.audit(), e);
  });
  Forget(tenant_id);
  return s;
}

void ContentGuard::Forget(const std::string& tenant_id) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(tenant_id);
}

ContentGuard::Outcome ContentGuard::Apply(const scan::ContentPolicy& policy, scan::Direction direction,
                                          const JsonValue& root) const {
  Outcome out;
  Walk walk{scanner_, policy, direction, out, JsonWriter()};
  walk.findings.BeginArray();
  JsonValue rewritten = walk.Visit(root, "");
  walk.findings.EndArray();
  out.findings_json = walk.findings.Take();
  if (out.changed) out.json = ToJson(rewritten);
  return out;
}

std::string ContentGuard::MaskCards(std::string_view raw) const {
  std::vector<scan::Finding> cards;
  for (scan::Finding& f : scanner_.Scan(raw)) {
    if (f.type == scan::FindingType::kCard) cards.push_back(f);
  }
  return cards.empty() ? std::string(raw) : scan::Mask(raw, cards);
}

}  // namespace cs
