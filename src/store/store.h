// File: store.h
// Repository interfaces over durable storage. Every record belongs to a
// tenant, and every tenant-scoped lookup takes the TenantId, so another
// tenant's object is indistinguishable from a missing one (kNotFound).
//
// Backends: sqlite/ (embedded default, WAL). PostgreSQL will implement the
// same interfaces and must pass conformance/store_conformance.cc.
//
// Errors: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable" when the database cannot be reached,
// is locked past the busy timeout, or the disk is full.
//
// Thread-safety: a Store and its repositories are safe for concurrent use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

struct Tenant {
  std::string id;           // "ten_" + 24 hex
  std::string name;         // unique, 1–100 printable characters
  int64_t created_at_ms = 0;
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

struct MigrationStatus {
  int current_version = 0;
  int latest_version = 0;
  std::vector<std::string> applied_now;  // "0001_initial", … applied by this call
};

class Store {
 public:
  virtual ~Store() = default;
  virtual TenantRepository& tenants() = 0;
  virtual ApiKeyRepository& api_keys() = 0;
  // Checks that the database answers a trivial query.
  virtual Status Ping() = 0;
  // Returns the applied and the latest known schema version.
  virtual Result<MigrationStatus> GetMigrationStatus() = 0;
  // Applies every pending migration, each in its own transaction.
  virtual Result<MigrationStatus> Migrate() = 0;
};

struct SqliteOptions {
  std::string path;                  // database file; parent directory must exist
  int64_t busy_timeout_ms = 5000;
  bool synchronous_full = true;      // false: synchronous=NORMAL
  int pool_size = 4;
};

// Opens (creating if needed) a SQLite store in WAL mode. Does not migrate.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace cs
