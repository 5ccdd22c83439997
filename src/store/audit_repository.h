// File: audit_repository.h
// The audit ledger as stored: blocks of canonical records, signed tree heads,
// archive checkpoints, the search index and the Merkle node cache
// (docs/audit.md). The audit module computes every hash; the store keeps them.
//
// Errors as in store.h: kNotFound "not_found"; kAlreadyExists "conflict";
// kUnavailable "storage_unavailable". Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit_record/audit_record.h"
#include "common/status.h"

namespace cs {

// One stored entry as raw bytes, for verification at full speed: the
// canonical record (audit/record_format.h) and its stored hash. Entries are
// stored in blocks, one per append transaction; `block` is the seq of the
// block's first entry. Views are valid only during the visit.
struct AuditRawEntry {
  int64_t seq = 0;
  int64_t block = 0;
  std::string_view record;      // canonical bytes
  std::string_view entry_hash;
  // The record already parsed by the store (it walks a block's records to
  // find where each ends), or null: saves the verifier a second parse.
  const AuditRecordView* parsed = nullptr;
};

// A signed tree head over the first tree_size entries.
struct TreeHead {
  int64_t tree_size = 0;
  std::string root_hash;      // 32 bytes
  int64_t ts_ms = 0;
  std::string key_id;         // hex id of the signing key
  std::string signature;      // Ed25519 over the signed form (see the format doc)
  std::string frontier;       // serialized right edge of the tree, to extend it later
};

// The state left in the database when entries 1..upto_seq were moved to an
// archived segment: verification continues from it.
struct AuditCheckpoint {
  int64_t upto_seq = 0;
  std::string last_hash;       // entry_hash of upto_seq
  std::string frontier;        // Merkle frontier of the tree of size upto_seq
  int64_t archived_at_ms = 0;
  int64_t retain_until_ms = 0;  // the segment may be destroyed after this
  std::string segment_name;    // file name of the segment
  std::string segment_sha256;  // 32 bytes: hash of the segment file
};

struct AuditQuery {
  std::optional<std::string> tenant_id;  // unset: every tenant (operator tools only)
  std::optional<std::string> actor_id;
  std::optional<std::string> subject;
  std::optional<std::string> action;
  int64_t from_ms = 0;                   // inclusive
  int64_t to_ms = INT64_MAX;             // exclusive
  int64_t after_seq = 0;                 // paging cursor
  int limit = 100;
};

class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  // Returns the last entry's seq and entry_hash, or {0, ""} when empty.
  virtual Result<std::pair<int64_t, std::string>> Tail() = 0;
  // Appends `records` (consecutive seqs, the first one past the tail) as one
  // block; kAlreadyExists if its first seq is taken.
  virtual Status AppendBlock(const std::vector<AuditRecord>& records) = 0;
  // Returns matching entries in seq order, at most query.limit. Every filter
  // is applied to the records themselves; the search index only narrows
  // down which blocks are read.
  virtual Result<std::vector<AuditRecord>> Query(const AuditQuery& query) = 0;
  // Calls `visit` for each entry with seq >= from_seq in order until it returns false.
  virtual Status Scan(int64_t from_seq, const std::function<bool(const AuditRecord&)>& visit) = 0;
  // Like Scan, without decoding: for verification.
  virtual Status ScanRaw(int64_t from_seq, const std::function<bool(const AuditRawEntry&)>& visit) = 0;
  // Returns entry hashes of seq in [from_seq, to_seq], in order, archived ones included.
  virtual Result<std::vector<std::string>> EntryHashes(int64_t from_seq, int64_t to_seq) = 0;
  // Moves entries up to checkpoint.upto_seq out of the live table, keeping
  // their hashes (proofs keep working) and recording `checkpoint`. Run inside
  // a transaction, after the segment file is safely written.
  virtual Status Archive(const AuditCheckpoint& checkpoint) = 0;
  // Returns the latest checkpoint, or nullopt when nothing was archived.
  virtual Result<std::optional<AuditCheckpoint>> LatestCheckpoint() = 0;
  virtual Status InsertTreeHead(const TreeHead& head) = 0;
  // Returns every tree head, smallest first.
  virtual Result<std::vector<TreeHead>> TreeHeads() = 0;
  // Returns the largest tree head, or nullopt when none.
  virtual Result<std::optional<TreeHead>> LatestTreeHead() = 0;

  // The search index: which blocks mention a term ("t" + tenant id, "s" +
  // subject pseudonym). It is built after commit, off the append path:
  // IndexPending indexes the blocks after IndexedUpto(), whole blocks, about
  // `max_entries` entries, and returns how many it indexed. Queries read
  // the index up to IndexedUpto() and the blocks after it directly.
  virtual Result<int64_t> IndexPending(int64_t max_entries) = 0;
  virtual Result<int64_t> IndexedUpto() = 0;
  // Empties the search index (to rebuild it with IndexPending).
  virtual Status ClearIndex() = 0;
  // Calls `visit` for every (term, block) posting, in no particular order.
  virtual Status ScanPostings(const std::function<void(std::string_view term, int64_t block)>& visit) = 0;

  // Stored Merkle nodes (a cache for proofs, docs/audit.md): the root of the
  // leaves [index * 2^level, (index + 1) * 2^level). A wrong node only
  // yields a proof that fails against the signed root.
  virtual Status PutMerkleNode(int level, int64_t index, const std::string& hash) = 0;
  virtual Result<std::optional<std::string>> GetMerkleNode(int level, int64_t index) = 0;
  // How many consecutive nodes from index 0 are stored at `level`.
  virtual Result<int64_t> CountMerkleNodes(int level) = 0;
};

}  // namespace cs
