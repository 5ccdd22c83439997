// File: audit.h
// The audit ledger: an append-only, hash-chained, Merkle-tree-backed record
// of who did what to which data, when and why, with Ed25519-signed tree
// heads. Format: docs/formats/audit-ledger.md. Design: docs/audit.md.
//
// Two ways in:
//  - AuditLedger::Append inside the caller's store transaction, for events
//    that describe a data change: they commit together or not at all (fail
//    closed; AUD-07).
//  - AuditSink::Record (AuditWriter), for events with no data change
//    (authentication failures, reads): queued and committed in batches by one
//    writer thread; a full queue refuses the request (audit_unavailable)
//    rather than dropping the event.
//
// Entries hold ids and pseudonyms only, never phone numbers, message text,
// keys or tokens (AUD-04), so the ledger stays intact after an erasure.
//
// Thread-safety: AuditLedger, AuditSigner and AuditPublicKey are immutable
// and thread-safe; AuditWriter is thread-safe; LedgerVerifier is not.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "audit_record/audit_record.h"
#include "common/secret.h"
#include "common/status.h"
#include "env/env.h"
#include "env/file_system.h"
#include "store/store.h"

namespace cs {

// Who acted, through which channel, in which request.
struct AuditActor {
  std::string type;        // "integration" | "operator" | "system" | "anonymous"
  std::string id;          // API key id, "cli:<user>", "consentry"
  std::string source;      // "api <address>" | "cli" | "system"
  std::string request_id;  // "" outside a request

  static AuditActor System() { return {"system", "consentry", "system", ""}; }
};

// Every member has a default, so an event is built with designated
// initializers naming only what it has (AuditLedger::Record).
struct AuditEvent {
  std::string tenant_id{};  // "" for system-wide events
  AuditActor actor{};
  std::string action{};     // dotted verb, e.g. "apikey.revoke" (docs/audit.md lists them)
  std::string subject{};    // subject pseudonym, "" when none
  std::string purpose{};
  std::string resource{};   // "<type>:<id>"
  std::string outcome = "success";  // or the machine error code
  std::string details = "{}";       // compact JSON object, no personal data
};

// Returns SHA-256(0x00 || EncodeAuditRecord(record)): the RFC 6962 leaf hash.
std::string ComputeEntryHash(const AuditRecord& record);
// Returns the bytes a tree head signature covers.
std::string SignedTreeHeadBytes(int64_t tree_size, int64_t ts_ms, std::string_view root_hash);

// Reads the ledger for its readers (the audit API, the DPO's desk): entries
// by query, the signed tree heads. Reading is itself audited by the caller.
class AuditReader {
 public:
  explicit AuditReader(Store& store) : store_(store) {}
  Result<std::vector<AuditRecord>> Search(const AuditQuery& query) { return store_.audit().Query(query); }
  Result<std::vector<TreeHead>> TreeHeads() { return store_.audit().TreeHeads(); }

 private:
  Store& store_;
};

class AuditLedger {
 public:
  explicit AuditLedger(const Clock& clock) : clock_(clock) {}
  // Appends `events` in order to the ledger through `tx` (a repository bound
  // to the caller's open write transaction, which serialises appenders).
  Status Append(AuditRepository& tx, const std::vector<AuditEvent>& events) const;
  Status Append(AuditRepository& tx, const AuditEvent& event) const { return Append(tx, std::vector{event}); }
  // Records one change inside the transaction that makes it: the change and
  // its entry commit together or not at all (AUD-01). Build the event with
  // designated initializers: AuditEvent{.tenant_id = …, .actor = …, .action = …}.
  Status Record(StoreTransaction& tx, const AuditEvent& event) const { return Append(tx.audit(), event); }

 private:
  const Clock& clock_;
};

// Ed25519 public key of the ledger, for verification (offline too).
class AuditPublicKey {
 public:
  // Parses a PEM "PUBLIC KEY"; kInvalidArgument if it is not Ed25519.
  static Result<AuditPublicKey> FromPem(std::string_view pem);
  const std::string& key_id() const { return key_id_; }  // hex of SHA-256(raw key)[0..8)
  const std::string& pem() const { return pem_; }
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  AuditPublicKey() = default;
  std::shared_ptr<EVP_PKEY> key_;
  std::string key_id_;
  std::string pem_;
};

// Seals and opens the signing key's private part under the master key (a
// Kms wrap bound to the context "audit-signing-key"), so it never lies in
// the clear on disk. `reseal` asks to seal it again under the current key
// after opening it (a master-key rotation is under way).
struct SigningKeySealer {
  std::function<Result<std::string>(const SecretString& private_key)> seal;
  std::function<Result<SecretString>(std::string_view sealed)> open;
  std::string key_id;   // of the master key `seal` uses, written beside the sealed key
  bool reseal = false;  // seal again when the file names another master key (a rotation)
};

// The signing key, in a file (mode 0600) beside the data. With a sealer
// (a master key is configured) the file holds the public key in the clear
// and the private key sealed (docs/formats/audit-ledger.md); a plaintext
// PEM key found there is sealed in place. Without one, the file is a plain
// PEM private key (only for deployments without a master key), and a sealed
// file loads for verification only: Sign() then fails with
// "master_key_required".
class AuditSigner {
 public:
  // Loads the key at `path`, creating it on first use. Refuses a file that
  // group or others may read.
  // Creation and rewrites are atomic and serialised between processes by
  // `<path>.lock`. With `create` false a missing file is master_key_required.
  static Result<std::unique_ptr<AuditSigner>> LoadOrCreate(const std::string& path,
                                                           const SigningKeySealer* sealer = nullptr,
                                                           bool create = true);
  Result<std::string> Sign(std::string_view message) const;
  const AuditPublicKey& public_key() const { return public_key_; }
  // Whether the private key is at hand (Sign works).
  bool can_sign() const { return key_ != nullptr; }

 private:
  AuditSigner(std::shared_ptr<EVP_PKEY> key, AuditPublicKey pub) : key_(std::move(key)), public_key_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> key_;  // null: verification only
  AuditPublicKey public_key_;
};

// Signs a tree head over every entry not yet covered by one. Returns the new
// head, or nullopt when the latest head already covers the whole ledger.
// Also extends the stored Merkle nodes (ExtendMerkleNodes) over the new head,
// and the search index (IndexLedger) once 10,000 entries wait.
Result<std::optional<TreeHead>> SealLedger(Store& store, const AuditSigner& signer, const Clock& clock);

// Stores the roots of every complete 256-leaf subtree of the first
// `tree_size` entries, and of every larger perfect subtree they complete,
// up to `max_chunks` new 256-leaf subtrees per call (one transaction).
Status ExtendMerkleNodes(Store& store, int64_t tree_size, int64_t max_chunks = 4096);

struct AuditVerifyReport {
  bool ok = true;
  int64_t archived = 0;       // entries before the checkpoint (checked when archived)
  int64_t entries = 0;        // entries checked now
  int64_t tree_heads = 0;
  int64_t unsealed = 0;       // entries after the last signed head
  int64_t indexed = 0;        // entries the search index covers (checked against them)
  int64_t first_bad_seq = 0;  // 0 when ok
  std::string problem;        // what is wrong at first_bad_seq
};

// Checks a ledger fed in seq order against its tree heads: sequence without
// gaps, the hash chain, each entry's hash, each head's root and signature,
// and that no signed head covers more entries than exist (truncation).
class LedgerVerifier {
 public:
  // `heads` in any order; `key` must outlive the verifier. With a
  // `checkpoint`, entries start after it: its hash and frontier continue the
  // chain and the tree, and heads it covers are skipped.
  LedgerVerifier(std::vector<TreeHead> heads, const AuditPublicKey& key,
                 const std::optional<AuditCheckpoint>& checkpoint = std::nullopt);
  // Returns false once a problem is found (further entries are ignored).
  bool Feed(const AuditRecord& record);
  // The same over stored bytes, without decoding (the fast path).
  bool FeedRaw(const AuditRawEntry& entry);
  // Ends the check. With `require_sealed`, entries after the last signed head
  // are a failure (an export must be fully signed); otherwise they are only
  // counted in `unsealed` (the live ledger between two seals).
  AuditVerifyReport Finish(bool require_sealed = false);

 private:
  bool Fail(int64_t seq, std::string problem);
  bool CheckHeadsUpTo(int64_t size);

  std::vector<TreeHead> heads_;
  size_t next_head_ = 0;
  int64_t base_ = 0;  // entries before the first expected one (archived)
  const AuditPublicKey& key_;
  merkle::Frontier frontier_;
  std::string prev_hash_;
  AuditVerifyReport report_;
};

// Indexes the blocks not yet in the search index when at least
// `min_pending` entries wait (AuditRepository::IndexPending), in short
// transactions. Returns how many entries it indexed.
Result<int64_t> IndexLedger(Store& store, int64_t min_pending = 1);
// Drops the search index and builds it again from the entries.
Status RebuildSearchIndex(Store& store);

// Verifies the whole ledger in `store` against its own tree heads plus
// `anchored_heads` (kept outside the database: the heads file, or heads an
// auditor exported earlier), so deleting heads together with the tail is
// detected too. Then checks the search index against the entries it covers
// (a mismatch leaves the entries intact: RebuildSearchIndex repairs it).
// `progress` (may be empty) gets the entries checked so far.
// With `check_index` false only the ledger itself is checked (the search
// index check costs about as much again).
Result<AuditVerifyReport> VerifyStoredLedger(Store& store, const AuditPublicKey& key,
                                             std::vector<TreeHead> anchored_heads,
                                             const std::function<void(int64_t)>& progress = {},
                                             bool check_index = true);

// Appends `head` as one JSON line to `path` (created 0600) and syncs it: the
// "logically separate store" of signed checkpoints (AUD-02).
Status AppendHeadToFile(const std::string& path, const TreeHead& head);
// Reads the heads written by AppendHeadToFile; an absent file is no heads.
Result<std::vector<TreeHead>> ReadHeadsFile(const std::string& path);

struct AuditInclusionProof {
  AuditRecord entry;
  int64_t tree_size = 0;
  std::vector<std::string> path;
  TreeHead head;  // the signed head for tree_size
};

// Proves entry `seq` is in the tree of the signed head of size `tree_size`
// (the latest head when 0). kNotFound for a missing entry or head.
// Proofs read stored Merkle nodes (ExtendMerkleNodes) and at most a few
// hundred leaves per level where none is stored yet: O(log n) rows.
Result<AuditInclusionProof> ProveInclusion(Store& store, int64_t seq, int64_t tree_size);

struct AuditConsistencyProof {
  TreeHead old_head;
  TreeHead new_head;
  std::vector<std::string> path;
};

// Proves the head of size `new_size` extends the head of size `old_size`.
Result<AuditConsistencyProof> ProveConsistency(Store& store, int64_t old_size, int64_t new_size);

// Retention of one tenant's audit entries, in days.
using RetentionDays = std::function<int64_t(const std::string& tenant_id)>;

// Moves every entry up to the signed tree head of size `upto_seq` into a
// segment file at `segment_path` (ledger export format, verifiable on its
// own), then out of the database, leaving a checkpoint verification
// continues from. Refuses when the live ledger does not verify. The segment
// may be destroyed after the returned retain_until_ms: the latest entry's
// time plus the longest retention of the tenants in it. The segment is
// written through `fs`'s durable writer and committed (its directory
// synced) before any entry leaves the database: a failure or crash at any
// step leaves every entry in place.
Result<AuditCheckpoint> ArchiveLedger(Store& store, const AuditPublicKey& key, const AuditLedger& ledger,
                                      const AuditActor& actor, int64_t upto_seq, const std::string& segment_path,
                                      const RetentionDays& retention, const Clock& clock,
                                      FileSystem& fs = PosixFileSystem());

// --- formats (format.cc) ---

// One entry as a JSON object (hashes in hex): the API's and the export's shape.
std::string AuditRecordJson(const AuditRecord& record);
// One tree head as a JSON object (without its frontier).
std::string TreeHeadJson(const TreeHead& head);
// Parses TreeHeadJson output.
Result<TreeHead> ParseTreeHeadJson(std::string_view json);
// One entry as an RFC 5424 syslog line (facility authpriv, severity notice).
std::string AuditRecordSyslog(const AuditRecord& record, std::string_view hostname);
// Lines of the ledger export format: every tree head first, then every entry
// in order, each a JSON object tagged "type":"tree_head" or "type":"entry".
std::string LedgerExportLine(const TreeHead& head);
std::string LedgerExportLine(const AuditRecord& record);
// The first line of a segment that continues after earlier archived ones.
std::string LedgerExportLine(const AuditCheckpoint& checkpoint);
// Verifies an export (JSON lines from `consentry audit export --format ledger`)
// with nothing but the public key: for auditors, offline. Every entry must be
// covered by a signed tree head: an unsigned chain proves nothing.
Result<AuditVerifyReport> VerifyExportedLedger(std::istream& in, const AuditPublicKey& key);

// Receives audit events that describe no data change.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Queues `event` for a durable append. kUnavailable "audit_unavailable"
  // when it cannot be accepted: the caller must then refuse its operation.
  virtual Status Record(AuditEvent event) = 0;
  // Blocks until everything recorded so far is committed, so a reader of the
  // ledger sees its own earlier events.
  virtual Status Flush() = 0;
};

struct AuditWriterOptions {
  size_t queue_capacity = 100000;
  size_t max_batch = 1000;
  int64_t seal_every_entries = 1000;
  int64_t seal_interval_ms = 300000;
  // Called from the writer thread when a commit, seal or heads-file write
  // fails (it is retried); for logs and alerts.
  std::function<void(const Status&)> on_error;
};

// Batches queued events into one transaction per batch (one fsync), and
// seals tree heads every N entries or T milliseconds.
class AuditWriter final : public AuditSink {
 public:
  // `heads_file` (may be empty) receives a copy of every head sealed.
  AuditWriter(Store& store, const AuditLedger& ledger, const AuditSigner& signer, const Clock& clock,
              AuditWriterOptions options, std::string heads_file);
  ~AuditWriter() override;  // flushes, then stops the thread
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  Status Record(AuditEvent event) override;
  Status Flush() override;

 public:
  struct State;  // writer.cc

 private:
  void Run();
  std::unique_ptr<State> state_;
};

}  // namespace cs
