// File: vault_repository.h
// The privacy vault as stored (docs/erasure.md): subject data keys (wrapped),
// the erasure journal.
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

// A subject's data key, wrapped under the tenant's content key. Erasure
// destroys it (wrapped cleared); data sealed under it can never be opened
// again. A later message from the same person starts a new generation.
struct SubjectKeyRecord {
  std::string tenant_id;
  std::string subject;
  int64_t generation = 1;          // appears in ciphertext headers (docs/formats/ciphertext.md)
  std::optional<std::string> wrapped;  // nullopt once destroyed
  int64_t created_at_ms = 0;
  std::optional<int64_t> destroyed_at_ms;
};

// One erasure of a subject (GDPR Art. 17), journalled so it resumes after a
// crash at any step: requested → key_destroyed → data_erased → done.
struct ErasureRecord {
  std::string id;                  // "era_" + 24 hex
  std::string tenant_id;
  std::string subject;
  std::string step = "requested";
  std::string actor;               // "<type>:<id>" of who asked
  int64_t requested_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string details = "{}";      // counts of what was erased, no personal data
};

// What EraseSubjectData removed.
struct ErasedCounts {
  int64_t inbound_messages = 0;
  int64_t outbound_payloads = 0;   // message bodies cleared (their metadata stays, pseudonymous)
  int64_t cancelled_sends = 0;     // queued messages that will now never be sent
  int64_t forwarded_events = 0;    // pending or dead outbox entries
};

class VaultRepository {
 public:
  virtual ~VaultRepository() = default;
  virtual Result<std::optional<SubjectKeyRecord>> GetSubjectKey(const std::string& tenant_id,
                                                                const std::string& subject) = 0;
  // Inserts generation 1; false (no error) when a row exists already.
  virtual Result<bool> InsertSubjectKey(const SubjectKeyRecord& key) = 0;
  // Starts `key.generation` after a destroyed one, only if the stored row is
  // still at `previous_generation` and destroyed; false when another writer won.
  virtual Result<bool> RenewSubjectKey(const SubjectKeyRecord& key, int64_t previous_generation) = 0;
  // Clears the wrapped key (crypto-shredding). Idempotent; a subject with no
  // key gets a destroyed row, so the erasure is on record either way.
  virtual Status DestroySubjectKey(const std::string& tenant_id, const std::string& subject, int64_t at_ms) = 0;
  virtual Result<int64_t> CountSubjectKeys(const std::string& tenant_id) = 0;

  // Deletes or clears everything the messaging tables hold about the
  // subject: inbound messages, outbound bodies, queued sends (the message
  // becomes failed/subject_erased), forwarding events, service windows.
  // Messages already in flight at Meta keep their job: their outcome still arrives.
  virtual Result<ErasedCounts> EraseSubjectData(const std::string& tenant_id, const std::string& subject,
                                                int64_t at_ms) = 0;

  virtual Status InsertErasure(const ErasureRecord& erasure) = 0;
  virtual Status UpdateErasure(const ErasureRecord& erasure) = 0;
  virtual Result<ErasureRecord> GetErasure(const std::string& tenant_id, const std::string& id) = 0;
  // Erasures not yet done, oldest first (resumed at start).
  virtual Result<std::vector<ErasureRecord>> PendingErasures() = 0;

  // For backups (docs/backup.md), which keep keys apart from data.
  // Subject keys in (tenant_id, subject) order after the given position
  // ("" "" for the first page), at most `limit`.
  virtual Result<std::vector<SubjectKeyRecord>> ListSubjectKeys(const std::string& after_tenant,
                                                                const std::string& after_subject, int limit) = 0;
  // Writes the row exactly as given, replacing any row of that subject.
  virtual Status PutSubjectKey(const SubjectKeyRecord& key) = 0;
  // Tenant-key rotation: replaces the wrapped form of `key` with `rewrapped`
  // only if the row still holds key.generation and key.wrapped (an erasure
  // or a renewal meanwhile wins); false when it did not.
  virtual Result<bool> ReplaceWrappedSubjectKey(const SubjectKeyRecord& key, const std::string& rewrapped) = 0;
  // Live subject keys of the tenant per content-key version that wraps them
  // (read from the ciphertext header, docs/formats/ciphertext.md).
  virtual Result<std::map<uint32_t, int64_t>> CountSubjectKeysByWrappingVersion(const std::string& tenant_id) = 0;
  // Deletes every subject key row; returns how many there were.
  virtual Result<int64_t> DeleteAllSubjectKeys() = 0;
  // Every erasure, done or not, oldest first.
  virtual Result<std::vector<ErasureRecord>> ListErasures() = 0;
};

}  // namespace cs
