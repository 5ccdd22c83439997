// File: tenant_repository.h
// Tenants and their integration API keys, as stored.
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {


struct Tenant {
  std::string id;           // "ten_" + 24 hex
  std::string name;         // unique, 1–100 printable characters
  int64_t created_at_ms = 0;
  std::optional<int64_t> audit_retention_days;  // unset: audit.retention_days
  std::optional<std::string> content_policy;    // JSON (docs/scan.md); unset: the defaults
};

struct ApiKeyRecord {
  std::string id;                     // "key_" + 24 hex; public, appears in the token
  std::string tenant_id;
  std::string name;                   // label chosen by the operator
  std::vector<std::string> scopes;    // sorted, unique
  std::string secret_hash;            // SHA-256 of the secret, hex; never the secret
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;          // always set: keys always expire
  std::optional<int64_t> revoked_at_ms;
  std::optional<std::string> rotated_from;  // the key this one replaced
};

class TenantRepository {
 public:
  virtual ~TenantRepository() = default;
  // Inserts `tenant`; kAlreadyExists "conflict" if the id or name is taken.
  virtual Status Create(const Tenant& tenant) = 0;
  // Returns the tenant with `id`, or kNotFound.
  virtual Result<Tenant> Get(const std::string& id) = 0;
  // Returns the tenant named `name`, or kNotFound.
  virtual Result<Tenant> FindByName(const std::string& name) = 0;
  // Returns every tenant, oldest first.
  virtual Result<std::vector<Tenant>> List() = 0;
  // Sets (or clears, with nullopt) the tenant's audit retention. kNotFound for an unknown tenant.
  virtual Status SetAuditRetention(const std::string& id, std::optional<int64_t> days) = 0;
  // Sets (or clears) the tenant's content-protection policy, a JSON object
  // validated by the caller. kNotFound for an unknown tenant.
  virtual Status SetContentPolicy(const std::string& id, std::optional<std::string> policy_json) = 0;
};

class ApiKeyRepository {
 public:
  virtual ~ApiKeyRepository() = default;
  // Inserts `key`; kAlreadyExists if the id is taken, kNotFound if its tenant does not exist.
  virtual Status Insert(const ApiKeyRecord& key) = 0;
  // Returns the key with `id` in any tenant (used only to authenticate a token).
  virtual Result<ApiKeyRecord> FindForAuthentication(const std::string& id) = 0;
  // Returns the key `id` of `tenant_id`, or kNotFound (also for another tenant's key).
  virtual Result<ApiKeyRecord> Get(const std::string& tenant_id, const std::string& id) = 0;
  // Returns the keys of `tenant_id`, oldest first.
  virtual Result<std::vector<ApiKeyRecord>> List(const std::string& tenant_id) = 0;
  // Marks the key revoked at `at_ms` (idempotent: an earlier revocation time
  // is kept). kNotFound for a missing or foreign key.
  virtual Status Revoke(const std::string& tenant_id, const std::string& id, int64_t at_ms) = 0;
  // Atomically inserts `replacement` and moves the old key's expiry to
  // min(current expiry, `old_expires_at_ms`). kNotFound if the old key is
  // missing, foreign or revoked.
  virtual Status Rotate(const std::string& tenant_id, const std::string& old_id, int64_t old_expires_at_ms,
                        const ApiKeyRecord& replacement) = 0;
};

}  // namespace cs
