// Provider identifiers that embed personal data (provider_ids.h).
#include "messaging/provider_ids.h"

#include "store/store.h"
#include "vault/keyring.h"

namespace cs {

void CollectWamids(const JsonValue& value, std::set<std::string>& out) {
  if (value.is_string()) {
    if (IsWamid(value.as_string())) out.insert(value.as_string());
  } else if (value.is_array()) {
    for (const JsonValue& v : value.as_array()) CollectWamids(v, out);
  } else if (value.is_object()) {
    for (const auto& [key, v] : value.as_object()) CollectWamids(v, out);
  }
}

JsonValue ReplaceWamids(const JsonValue& value, const std::map<std::string, std::string>& ids) {
  if (value.is_string()) {
    if (!IsWamid(value.as_string())) return value;
    auto it = ids.find(value.as_string());
    return JsonValue::MakeString(it == ids.end() ? std::string() : it->second);
  }
  if (value.is_array()) {
    JsonValue::Array out;
    out.reserve(value.as_array().size());
    for (const JsonValue& v : value.as_array()) out.push_back(ReplaceWamids(v, ids));
    return JsonValue::MakeArray(std::move(out));
  }
  if (value.is_object()) {
    JsonValue::Object out;
    out.reserve(value.as_object().size());
    for (const auto& [key, v] : value.as_object()) out.emplace_back(key, ReplaceWamids(v, ids));
    return JsonValue::MakeObject(std::move(out));
  }
  return value;
}

Result<std::string> GatewayIdForWamid(MessagingRepository& repo, TenantKeyring& keyring, const std::string& tenant_id,
                                      const std::string& wamid) {
  CS_ASSIGN_OR_RETURN(std::string hash, keyring.ProviderIdToken(tenant_id, wamid));
  Result<MessageRecord> sent = repo.FindMessageByWamidHash(hash);
  if (sent.ok() && sent->tenant_id == tenant_id) return sent->id;
  if (!sent.ok() && sent.status().code() != StatusCode::kNotFound) return sent.status();
  CS_ASSIGN_OR_RETURN(std::optional<std::string> received, repo.SeenRef("m:" + hash));
  if (received) return *received;
  return hash;
}

namespace {

// The string at `key` of `object`, or nullptr.
const std::string* StringAt(const JsonValue& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const JsonValue* v = object.Find(key);
  return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
}

}  // namespace

std::vector<std::string> GatewayReferences(const JsonValue& body) {
  std::vector<std::string> out;
  auto add = [&](const std::string* id) {
    if (id != nullptr && IsGatewayMessageId(*id)) out.push_back(*id);
  };
  if (const JsonValue* context = body.Find("context")) add(StringAt(*context, "message_id"));
  if (const JsonValue* reaction = body.Find("reaction")) add(StringAt(*reaction, "message_id"));
  add(StringAt(body, "message_id"));
  return out;
}

Result<std::string> WithWamids(std::string_view payload, const std::map<std::string, std::string>& wamids) {
  CS_ASSIGN_OR_RETURN(JsonValue root, ParseJson(payload));
  if (!root.is_object()) return Internal("a stored send body is not an object");
  auto translate = [&](const JsonValue& v) -> JsonValue {
    if (!v.is_string()) return v;
    auto it = wamids.find(v.as_string());
    return it == wamids.end() ? v : JsonValue::MakeString(it->second);
  };
  JsonValue::Object fields;
  for (const auto& [key, value] : root.as_object()) {
    if ((key == "context" || key == "reaction") && value.is_object()) {
      JsonValue::Object inner;
      for (const auto& [k, v] : value.as_object()) inner.emplace_back(k, k == "message_id" ? translate(v) : v);
      fields.emplace_back(key, JsonValue::MakeObject(std::move(inner)));
    } else {
      fields.emplace_back(key, key == "message_id" ? translate(value) : value);
    }
  }
  return ToJson(JsonValue::MakeObject(std::move(fields)));
}

}  // namespace cs
