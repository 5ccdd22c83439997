#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>

#include "auth/auth.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace cs {

namespace {

constexpr std::string_view kTokenPrefix = "csk_";
constexpr size_t kIdHexChars = 24;      // 96-bit public id
constexpr size_t kSecretBytes = 32;     // 256-bit secret
constexpr size_t kSecretChars = 43;     // base64url of 32 bytes
constexpr int64_t kMillisPerDay = 86'400'000;

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsBase64Url(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

Status Uniform() { return Unauthenticated("missing, invalid, expired or revoked credentials"); }

AuditEvent KeyEvent(const AuditActor& actor, const ApiKeyRecord& key, std::string action, std::string details) {
  AuditEvent e{
      .tenant_id = key.tenant_id,
      .actor = actor,
      .action = std::move(action),
      .resource = "apikey:" + key.id,
      .details = std::move(details)
  };
  return e;
}

std::string KeyDetails(const ApiKeyRecord& k) {
  JsonWriter w;
  w.BeginObject().Key("scopes").BeginArray();
  for (const auto& s : k.scopes) w.String(s);
  w.EndArray();
  w.Key("expires_at").String(FormatRfc3339Millis(k.expires_at_ms));
  if (k.rotated_from) w.Key("replaces").String(*k.rotated_from);
  w.EndObject();
  return w.Take();
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > 400 || !IsValidUtf8(name)) {
    return InvalidArgument("invalid_name", std::string(what) + " must be 1 to 100 characters of UTF-8");
  }
  size_t chars = 0;
  for (unsigned char c : name) {
    if ((c & 0xC0) != 0x80) ++chars;
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument("invalid_name", std::string(what) + " must not contain control characters");
    }
  }
  if (chars > 100) return InvalidArgument("invalid_name", std::string(what) + " must be at most 100 characters");
  return Status::Ok();
}

Result<ApiKeyService::Minted> ApiKeyService::Mint() {
  CS_ASSIGN_OR_RETURN(std::string id_bytes, random_.Bytes(kIdHexChars / 2));
  CS_ASSIGN_OR_RETURN(std::string secret_bytes, random_.Bytes(kSecretBytes));
  SecretString secret_bytes_guard(std::move(secret_bytes));
  std::string hex_id = HexEncode(id_bytes);
  std::string secret = Base64UrlEncode(InsecureSecretAccess::Get(secret_bytes_guard));
  Minted m;
  m.id = "key_" + hex_id;
  m.secret_hash = Sha256Hex(secret);
  m.token = SecretString(std::string(kTokenPrefix) + hex_id + "_" + secret);
  SecretString wipe(std::move(secret));  // wipe the temporary copy on scope exit
  return m;
}

Result<IssuedKey> ApiKeyService::Create(const AuditActor& actor, const std::string& tenant_id, const std::string& name,
                                        const std::vector<std::string>& scopes, std::optional<int64_t> ttl_days) {
  CS_RETURN_IF_ERROR(ValidateName(name, "name"));
  CS_ASSIGN_OR_RETURN(std::vector<std::string> normalized, NormalizeScopes(scopes));
  int64_t days = ttl_days.value_or(policy_.default_ttl_days);
  if (days < 1 || days > policy_.max_ttl_days) {
    return InvalidArgument("invalid_ttl", "expires_in_days must be between 1 and " +
                                              std::to_string(policy_.max_ttl_days));
  }
  CS_ASSIGN_OR_RETURN(Minted minted, Mint());
  IssuedKey issued;
  ApiKeyRecord& r = issued.record;
  r.id = minted.id;
  r.tenant_id = tenant_id;
  r.name = name;
  r.scopes = std::move(normalized);
  r.secret_hash = minted.secret_hash;
  r.created_at_ms = clock_.NowUnixMillis();
  r.expires_at_ms = r.created_at_ms + days * kMillisPerDay;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.tenants().Get(tenant_id).status());
    CS_RETURN_IF_ERROR(tx.api_keys().Insert(r));
    return ledger_.Record(tx, KeyEvent(actor, r, "apikey.create", KeyDetails(r)));
  }));
  issued.token = std::move(minted.token);
  return issued;
}

Result<Principal> ApiKeyService::Authenticate(std::string_view token) {
  // Exact shape only: no trimming, no case folding (B-28).
  const size_t expected = kTokenPrefix.size() + kIdHexChars + 1 + kSecretChars;
  bool well_formed = token.size() == expected && token.substr(0, kTokenPrefix.size()) == kTokenPrefix &&
                     token[kTokenPrefix.size() + kIdHexChars] == '_' &&
                     IsLowerHex(token.substr(kTokenPrefix.size(), kIdHexChars)) &&
                     IsBase64Url(token.substr(kTokenPrefix.size() + kIdHexChars + 1));
  if (!well_formed) return Uniform();
  std::string id = "key_" + std::string(token.substr(kTokenPrefix.size(), kIdHexChars));
  std::string presented_hash = Sha256Hex(token.substr(kTokenPrefix.size() + kIdHexChars + 1));
  Result<ApiKeyRecord> record = store_.api_keys().FindForAuthentication(id);
  if (!record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) return record.status();  // storage outage: 503, not 401
    // Same work as a real comparison, so an unknown id is not faster.
    (void)ConstantTimeEquals(presented_hash, std::string(presented_hash.size(), '0'));
    return Uniform();
  }
  bool match = ConstantTimeEquals(presented_hash, record->secret_hash);
  int64_t now = clock_.NowUnixMillis();
  bool live = !record->revoked_at_ms.has_value() && now < record->expires_at_ms;
  if (!match || !live) return Uniform();
  Principal p;
  p.tenant_id = record->tenant_id;
  p.key_id = record->id;
  p.scopes = record->scopes;
  // Registering templates was part of `admin` before it was a permission
  // of its own (supervisors hold it): keys issued with `admin` keep it.
  if (p.HasScope("admin") && !p.HasScope("templates:manage")) {
    p.scopes.push_back("templates:manage");
    std::sort(p.scopes.begin(), p.scopes.end());
  }
  p.expires_at_ms = record->expires_at_ms;
  return p;
}

Status ApiKeyService::Revoke(const AuditActor& actor, const std::string& tenant_id, const std::string& key_id) {
  return store_.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.api_keys().Revoke(tenant_id, key_id, clock_.NowUnixMillis()));
    CS_ASSIGN_OR_RETURN(ApiKeyRecord k, tx.api_keys().Get(tenant_id, key_id));
    return ledger_.Record(tx, KeyEvent(actor, k, "apikey.revoke", "{}"));
  });
}

Result<IssuedKey> ApiKeyService::Rotate(const AuditActor& actor, const std::string& tenant_id, const std::string& key_id,
                                        std::optional<int64_t> overlap_seconds) {
  int64_t overlap = overlap_seconds.value_or(policy_.default_overlap_seconds);
  if (overlap < 0 || overlap > policy_.max_overlap_seconds) {
    return InvalidArgument("invalid_overlap", "overlap_seconds must be between 0 and " +
                                                  std::to_string(policy_.max_overlap_seconds));
  }
  const int64_t now = clock_.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(Minted minted, Mint());
  IssuedKey issued;
  ApiKeyRecord& r = issued.record;
  CS_RETURN_IF_ERROR(store_.InTransaction([&](StoreTransaction& tx) -> Status {
    // Read inside the write transaction: two concurrent rotations of one key serialise here.
    CS_ASSIGN_OR_RETURN(ApiKeyRecord old, tx.api_keys().Get(tenant_id, key_id));
    if (old.revoked_at_ms || now >= old.expires_at_ms) return NotFound("no such API key");
    CS_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> all, tx.api_keys().List(tenant_id));
    for (const auto& k : all) {
      if (k.rotated_from == old.id && !k.revoked_at_ms && now < k.expires_at_ms) {
        return FailedPrecondition("conflict", "this key was already rotated; rotate its replacement " + k.id);
      }
    }
    r.id = minted.id;
    r.tenant_id = tenant_id;
    r.name = old.name;
    r.scopes = old.scopes;
    r.secret_hash = minted.secret_hash;
    r.created_at_ms = now;
    r.expires_at_ms = now + std::max<int64_t>(old.expires_at_ms - old.created_at_ms, kMillisPerDay);
    r.rotated_from = old.id;
    // At most two live keys per lineage (SEC-03): the key this one replaced,
    // if still in its overlap, stops now.
    if (old.rotated_from) {
      auto predecessor = tx.api_keys().Get(tenant_id, *old.rotated_from);
      if (predecessor.ok() && !predecessor->revoked_at_ms && now < predecessor->expires_at_ms) {
        CS_RETURN_IF_ERROR(tx.api_keys().Revoke(tenant_id, predecessor->id, now));
        CS_RETURN_IF_ERROR(ledger_.Record(tx, KeyEvent(actor, *predecessor, "apikey.revoke",
                                                               R"({"reason":"superseded by a second rotation"})")));
      }
    }
    CS_RETURN_IF_ERROR(tx.api_keys().Rotate(tenant_id, old.id, now + overlap * 1000, r));
    JsonWriter details;
    details.BeginObject().Key("replaced_by").String(r.id).Key("overlap_seconds").Int(overlap).EndObject();
    CS_RETURN_IF_ERROR(ledger_.Record(tx, KeyEvent(actor, old, "apikey.rotate", details.Take())));
    return ledger_.Record(tx, KeyEvent(actor, r, "apikey.create", KeyDetails(r)));
  }));
  issued.token = std::move(minted.token);
  return issued;
}

}  // namespace cs
