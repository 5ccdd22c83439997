// TenantKeyring and the message state machine.
#include "messaging/messaging.h"

namespace cs {

Result<SecretString> TenantKeyring::LoadOrCreate(const std::string& tenant_id, const std::string& purpose) {
  const std::string context = "tenant:" + tenant_id + ":" + purpose + ":1";
  CS_ASSIGN_OR_RETURN(std::optional<std::string> wrapped, store_.messaging().TenantKey(tenant_id, purpose));
  if (!wrapped) {
    CS_ASSIGN_OR_RETURN(std::string fresh, random_.Bytes(32));
    CS_ASSIGN_OR_RETURN(std::string sealed, kms_.Wrap(SecretString(std::move(fresh)), context));
    CS_RETURN_IF_ERROR(store_.messaging().InsertTenantKey(tenant_id, purpose, sealed));
    // Another process may have won the race; its key is the one stored.
    CS_ASSIGN_OR_RETURN(wrapped, store_.messaging().TenantKey(tenant_id, purpose));
    if (!wrapped) return Internal("tenant key vanished after insert");
  }
  return kms_.Unwrap(*wrapped, context);
}

Result<const TenantKeyring::Keys*> TenantKeyring::KeysFor(const std::string& tenant_id) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(tenant_id);
  if (it != cache_.end()) return it->second.get();
  auto keys = std::make_unique<Keys>();
  CS_ASSIGN_OR_RETURN(keys->pepper, LoadOrCreate(tenant_id, "pepper"));
  CS_ASSIGN_OR_RETURN(SecretString content, LoadOrCreate(tenant_id, "content"));
  CS_ASSIGN_OR_RETURN(AeadKey key, AeadKey::Create(std::move(content), 1));
  keys->content.emplace(std::move(key));
  const Keys* out = keys.get();
  cache_.emplace(tenant_id, std::move(keys));
  return out;
}

Result<std::string> TenantKeyring::Pseudonym(const std::string& tenant_id, std::string_view identity) {
  CS_ASSIGN_OR_RETURN(const Keys* keys, KeysFor(tenant_id));
  return SubjectPseudonym(keys->pepper, identity);
}

Result<std::string> TenantKeyring::Seal(const std::string& tenant_id, std::string_view plaintext,
                                        const FieldBinding& binding) {
  CS_ASSIGN_OR_RETURN(const Keys* keys, KeysFor(tenant_id));
  return cs::Seal(*keys->content, plaintext, binding, random_);
}

Result<SecretString> TenantKeyring::Open(const std::string& tenant_id, std::string_view ciphertext,
                                         const FieldBinding& binding) {
  CS_ASSIGN_OR_RETURN(const Keys* keys, KeysFor(tenant_id));
  return cs::Open(*keys->content, ciphertext, binding);
}

int64_t StatusBit(std::string_view status) {
  if (status == "sent") return kSeenSent;
  if (status == "delivered") return kSeenDelivered;
  if (status == "read" || status == "played") return kSeenRead;
  if (status == "failed") return kSeenFailed;
  return 0;
}

std::string StateFor(int64_t seen, std::string_view before) {
  if (seen & kSeenRead) return "read";
  if (seen & kSeenDelivered) return "delivered";
  if (seen & kSeenFailed) return "failed";
  if (seen & kSeenSent) return "sent";
  return std::string(before);
}

std::string FailureCodeFor(int provider_code) {
  switch (provider_code) {
    case 131047: return "template_required";
    case 131050: return "recipient_opted_out";
    case 131049: return "marketing_limit";
    case 131026: return "undeliverable";
    case 131048: return "spam_rate_limited";
    case 131056: return "pair_rate_limited";
    case 130429: return "throughput_limited";
    case 368: return "policy_blocked";
    case 131051: return "unsupported_message_type";
    case 0:
    case 190: return "provider_auth_failed";
    default:
      if (provider_code >= 132000 && provider_code < 133000) return "template_rejected";
      return "provider_rejected";
  }
}

}  // namespace cs
