#include "messaging/content_guard.h"

#include <set>

#include "scan/validators.h"

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
    AuditEvent e{
        .tenant_id = tenant_id,
        .actor = actor,
        .action = "content.policy_set",
        .resource = "tenant:" + tenant_id
    };
    // The policy names types and actions only: safe to keep whole.
    e.details = json ? *json : scan::ContentPolicy::Defaults().ToJson();
    return ledger_.Record(tx, e);
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

namespace {

bool IsDigitByte(char c) { return c >= '0' && c <= '9'; }
bool IsGroupSeparator(char c) { return c == ' ' || c == '-' || c == '.'; }
bool IsAsciiAlnum(char c) {
  return IsDigitByte(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string DigitsIn(std::string_view text, size_t start, size_t end) {
  std::string d;
  for (size_t i = start; i < end; ++i) {
    if (IsDigitByte(text[i])) d.push_back(text[i]);
  }
  return d;
}

// The digits (with single separators between groups) `text` starts with,
// after leading spaces; {0, 0} when it starts with anything else.
std::pair<size_t, size_t> LeadingDigits(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  const size_t start = i;
  size_t end = i;
  while (i < text.size()) {
    if (IsDigitByte(text[i])) {
      end = ++i;
    } else if (IsGroupSeparator(text[i]) && i + 1 < text.size() && IsDigitByte(text[i + 1]) && end == i) {
      ++i;
    } else {
      break;
    }
  }
  if (end == start || (end < text.size() && IsAsciiAlnum(text[end]))) return {0, 0};
  return {start, end};
}

}  // namespace

std::pair<size_t, size_t> SplitCardDetector::TrailingDigits(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\n')) --end;
  size_t start = end;
  size_t i = end;
  while (i > 0) {
    if (IsDigitByte(text[i - 1])) {
      start = --i;
    } else if (IsGroupSeparator(text[i - 1]) && i >= 2 && IsDigitByte(text[i - 2]) && start == i) {
      --i;
    } else {
      break;
    }
  }
  if (start == end || (start > 0 && IsAsciiAlnum(text[start - 1]))) return {0, 0};
  const size_t digits = DigitsIn(text, start, end).size();
  if (digits < 4 || digits > 15) return {0, 0};
  return {start, end};
}

std::optional<SplitCardDetector::Split> SplitCardDetector::Match(const std::string& key, std::string_view text,
                                                                 int64_t now_ms) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = fragments_.find(key);
  if (it == fragments_.end() || now_ms - it->second.at_ms > kWindowMs) return std::nullopt;
  auto [lead_start, lead_end] = LeadingDigits(text);
  if (lead_end <= lead_start) return std::nullopt;
  const std::string combined = it->second.digits + DigitsIn(text, lead_start, lead_end);
  if (combined.size() < 13 || combined.size() > 19 || !scan::CardBrand(combined) || !scan::LuhnValid(combined)) {
    return std::nullopt;
  }
  return Split{it->second.inbound_id, lead_start, lead_end};
}

void SplitCardDetector::Remember(const std::string& key, const std::string& inbound_id, std::string_view text,
                                 bool completed, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [tail_start, tail_end] = TrailingDigits(text);
  if (!completed && tail_end > tail_start) {
    fragments_[key] = Fragment{now_ms, inbound_id, DigitsIn(text, tail_start, tail_end)};
  } else {
    fragments_.erase(key);
  }
  // Expired fragments are swept now and then: the map stays about as
  // large as one minute of conversations that ended with digits.
  if (++observed_ % 1024 == 0) {
    for (auto f = fragments_.begin(); f != fragments_.end();) {
      f = now_ms - f->second.at_ms > kWindowMs ? fragments_.erase(f) : std::next(f);
    }
  }
}

}  // namespace cs
