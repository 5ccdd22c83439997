// File: auth.h
// Integration authentication: scoped, expiring, revocable, rotatable API
// keys, turned into a Principal for each request.
//
// Token format (docs/formats/api-key.md): "csk_" + 24 hex (the public key
// id) + "_" + 43 base64url characters (256 random bits). Only SHA-256 of the
// secret part is stored; the token is shown once, at creation or rotation.
// Every failure to authenticate (malformed, unknown, wrong secret, revoked,
// expired, rotated out after the overlap) is the same kUnauthenticated, so a
// caller cannot tell them apart (B-28); an unknown id still costs one hash
// and one constant-time comparison.
//
// Nothing is cached: a revocation made by any process sharing the database
// takes effect on the very next request.
//
// Thread-safety: ApiKeyService is safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"

namespace cs {

// The closed list of scopes an API key may hold (docs/api.md has the
// permission matrix). "admin" manages keys; it does not imply the others.
const std::vector<std::string>& KnownScopes();

// Returns the sorted, de-duplicated scopes, or invalid_scope naming the
// first unknown one. An empty list is refused: a key must be able to do something.
Result<std::vector<std::string>> NormalizeScopes(const std::vector<std::string>& scopes);

// Who is calling: an integration's API key, or an operator's session
// (operators/operators.h). One permission check serves both: a key's
// scopes, or the permissions of an operator's roles.
struct Principal {
  std::string tenant_id;
  std::string key_id;               // "" for an operator
  std::string operator_id;          // "" for an API key
  std::vector<std::string> scopes;  // sorted
  int64_t expires_at_ms = 0;
  bool recently_verified = false;   // an operator gave the password or a code within the last minutes
  std::vector<std::string> granted_scopes;  // sorted: held only through a live grant (SEC-10)
  std::vector<std::string> expired_scopes;  // sorted: a grant gave them until recently

  bool is_operator() const { return !operator_id.empty(); }

  bool HasScope(std::string_view scope) const;
};

struct IssuedKey {
  ApiKeyRecord record;
  SecretString token;  // the only time the secret exists outside the caller's hands
};

struct ApiKeyPolicy {
  int64_t default_ttl_days = 90;
  int64_t max_ttl_days = 365;
  int64_t default_overlap_seconds = 86400;
  int64_t max_overlap_seconds = 604800;
};

// Every change a key service makes commits in one transaction with its
// audit entry ("apikey.create", "apikey.revoke", "apikey.rotate"), acted by
// `actor`: no key changes without its record (AUD-01, AUD-07).
class ApiKeyService {
 public:
  // `store`, `clock`, `random` and `ledger` are not owned and must outlive the service.
  ApiKeyService(Store& store, const Clock& clock, Random& random, ApiKeyPolicy policy, const AuditLedger& ledger)
      : store_(store), clock_(clock), random_(random), policy_(policy), ledger_(ledger) {}

  // Issues a key for `tenant_id`. `ttl_days` defaults to the policy and is
  // capped by it (invalid_argument "invalid_ttl" beyond). kNotFound for an
  // unknown tenant.
  Result<IssuedKey> Create(const AuditActor& actor, const std::string& tenant_id, const std::string& name,
                           const std::vector<std::string>& scopes, std::optional<int64_t> ttl_days);

  // Returns the principal for a bearer token, or the uniform kUnauthenticated.
  Result<Principal> Authenticate(std::string_view token);

  // The tenant's keys; one of them (kNotFound for a missing or foreign key).
  Result<std::vector<ApiKeyRecord>> List(const std::string& tenant_id) { return store_.api_keys().List(tenant_id); }
  Result<ApiKeyRecord> Get(const std::string& tenant_id, const std::string& key_id) {
    return store_.api_keys().Get(tenant_id, key_id);
  }
  // The tenant a key id belongs to, whichever it is: for recording
  // cross-tenant attempts, never for answering them (B-27).
  Result<std::string> OwnerOf(const std::string& key_id) {
    CS_ASSIGN_OR_RETURN(auto key, store_.api_keys().FindForAuthentication(key_id));
    return key.tenant_id;
  }

  // Revokes with immediate effect. kNotFound for a missing or foreign key.
  Status Revoke(const AuditActor& actor, const std::string& tenant_id, const std::string& key_id);

  // Issues a replacement with the same name, scopes and lifetime; the old key
  // keeps working for `overlap_seconds` (policy default when absent), then
  // stops; a key the old one itself replaced stops at once, so a lineage
  // never has more than two live keys. kNotFound for a missing, foreign or
  // revoked key.
  Result<IssuedKey> Rotate(const AuditActor& actor, const std::string& tenant_id, const std::string& key_id,
                           std::optional<int64_t> overlap_seconds);

 private:
  struct Minted {
    std::string id;
    SecretString token;
    std::string secret_hash;
  };
  Result<Minted> Mint();

  Store& store_;
  const Clock& clock_;
  Random& random_;
  const ApiKeyPolicy policy_;
  const AuditLedger& ledger_;
};

// Validates a human label (tenant or key name): 1–100 characters of UTF-8
// without control characters; invalid_argument "invalid_name" otherwise.
Status ValidateName(std::string_view name, std::string_view what);

// Returns the SHA-256 of `data` as lowercase hex.
std::string Sha256Hex(std::string_view data);

}  // namespace cs
