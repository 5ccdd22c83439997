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

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/audit_repository.h"
#include "store/consent_repository.h"
#include "store/messaging_repository.h"
#include "store/oauth_repository.h"
#include "store/operator_repository.h"
#include "store/tenant_repository.h"
#include "store/vault_repository.h"

namespace cs {

class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;
  virtual TenantRepository& tenants() = 0;
  virtual ApiKeyRepository& api_keys() = 0;
  virtual AuditRepository& audit() = 0;
  virtual MessagingRepository& messaging() = 0;
  virtual ConsentRepository& consents() = 0;
  virtual VaultRepository& vault() = 0;
  virtual OperatorRepository& operators() = 0;
  virtual OAuthRepository& oauth() = 0;
  // The messaging path's repositories, one per concern (messaging_repository.h);
  // by default all of messaging().
  virtual ChannelRepository& channels() { return messaging(); }
  virtual OutboundRepository& outbound() { return messaging(); }
  virtual InboundRepository& inbound() { return messaging(); }
  virtual HistoryRepository& history() { return messaging(); }
  virtual OutboxRepository& outbox() { return messaging(); }
  virtual TenantKeyRepository& tenant_keys() { return messaging(); }
  // Runs `body` inside a savepoint of this transaction: when it fails, only
  // its own changes are undone and its error returned; the transaction goes on.
  virtual Status Savepoint(const std::function<Status(StoreTransaction&)>& body) = 0;
  // False once the backend has rolled the whole transaction back on its own
  // (disk full, I/O error): nothing more may run in it.
  virtual bool StillOpen() const = 0;
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
  virtual AuditRepository& audit() = 0;
  virtual MessagingRepository& messaging() = 0;
  virtual ConsentRepository& consents() = 0;
  virtual VaultRepository& vault() = 0;
  virtual OperatorRepository& operators() = 0;
  virtual OAuthRepository& oauth() = 0;
  // As on StoreTransaction.
  virtual ChannelRepository& channels() { return messaging(); }
  virtual OutboundRepository& outbound() { return messaging(); }
  virtual InboundRepository& inbound() { return messaging(); }
  virtual HistoryRepository& history() { return messaging(); }
  virtual OutboxRepository& outbox() { return messaging(); }
  virtual TenantKeyRepository& tenant_keys() { return messaging(); }
  // Runs `body` in one write transaction: commits when it returns OK, rolls
  // back otherwise (and on any commit failure). Data and the audit entries
  // describing it commit together or not at all.
  virtual Status InTransaction(const std::function<Status(StoreTransaction&)>& body) = 0;
  // Checks that the database answers a trivial query.
  virtual Status Ping() = 0;
  // Moves everything committed from the write-ahead log into the database
  // and empties the log, so superseded page images (a destroyed key's) do
  // not linger in it. Best effort: busy readers can make it a no-op.
  virtual Status Checkpoint() = 0;
  // Writes a transactionally consistent, compacted copy of the whole
  // database to `path`, which must not exist; writers are not blocked.
  virtual Status SnapshotTo(const std::string& path) = 0;
  // Checks every page and index; kDataLoss "database_corrupt" with the first
  // problem found.
  virtual Status CheckIntegrity() = 0;
  // Returns the applied and the latest known schema version.
  virtual Result<MigrationStatus> GetMigrationStatus() = 0;
  // Applies every pending migration, each in its own transaction.
  virtual Result<MigrationStatus> Migrate() = 0;
};

}  // namespace cs
