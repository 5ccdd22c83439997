// Appending, sealing, verifying and proving: see audit.h and
// docs/formats/audit-ledger.md for the byte formats.
#include <algorithm>
#include <functional>
#include <map>

#include "audit/audit.h"
#include "audit_record/audit_record.h"
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "env/env.h"

namespace cs {

namespace {

constexpr std::string_view kHeadMagic = "consentry-audit-sth-v1\n";

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

const std::string& ZeroHash() {
  static const std::string kZero(32, '\0');
  return kZero;
}

}  // namespace

std::string ComputeEntryHash(const AuditRecord& r) { return merkle::LeafHash(EncodeAuditRecord(r)); }

std::string SignedTreeHeadBytes(int64_t tree_size, int64_t ts_ms, std::string_view root_hash) {
  std::string out(kHeadMagic);
  PutU64(out, static_cast<uint64_t>(tree_size));
  PutU64(out, static_cast<uint64_t>(ts_ms));
  out.append(root_hash);
  return out;
}

Status AuditLedger::Append(AuditRepository& tx, const std::vector<AuditEvent>& events) const {
  if (events.empty()) return Status::Ok();
  CS_ASSIGN_OR_RETURN(auto tail, tx.Tail());
  int64_t seq = tail.first;
  std::string prev = seq == 0 ? ZeroHash() : tail.second;
  if (prev.size() != 32) return DataLoss("the audit ledger's last block is damaged; run `consentry audit verify`");
  const int64_t now = clock_.NowUnixMillis();
  std::vector<AuditRecord> block;
  block.reserve(events.size());
  for (const AuditEvent& e : events) {
    AuditRecord& r = block.emplace_back();
    r.seq = ++seq;
    r.ts_ms = now;
    r.tenant_id = e.tenant_id;
    r.actor_type = e.actor.type;
    r.actor_id = e.actor.id;
    r.action = e.action;
    r.subject = e.subject;
    r.purpose = e.purpose;
    r.resource = e.resource;
    r.outcome = e.outcome;
    r.request_id = e.actor.request_id;
    r.source = e.actor.source;
    r.details = e.details.empty() ? "{}" : e.details;
    r.prev_hash = std::move(prev);
    r.entry_hash = ComputeEntryHash(r);
    prev = r.entry_hash;
  }
  // One row for the whole batch: the append path writes no per-entry index
  // (the search index follows after commit, IndexLedger).
  return tx.AppendBlock(block);
}

// Entries the search index lets wait before SealLedger indexes them.
constexpr int64_t kIndexBatchEntries = 10000;

Result<std::optional<TreeHead>> SealLedger(Store& store, const AuditSigner& signer, const Clock& clock) {
  std::optional<TreeHead> sealed;
  Status s = store.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(std::optional<TreeHead> latest, tx.audit().LatestTreeHead());
    CS_ASSIGN_OR_RETURN(auto tail, tx.audit().Tail());
    const int64_t covered = latest ? latest->tree_size : 0;
    if (tail.first <= covered) return Status::Ok();
    merkle::Frontier frontier;
    if (latest) {
      CS_ASSIGN_OR_RETURN(frontier, merkle::Frontier::Parse(latest->tree_size, latest->frontier));
    }
    CS_ASSIGN_OR_RETURN(std::vector<std::string> hashes, tx.audit().EntryHashes(covered + 1, tail.first));
    if (static_cast<int64_t>(hashes.size()) != tail.first - covered) {
      return DataLoss("the audit ledger has gaps; run `consentry audit verify`");
    }
    for (const auto& h : hashes) frontier.Append(h);
    TreeHead head;
    head.tree_size = tail.first;
    head.root_hash = frontier.Root();
    head.ts_ms = clock.NowUnixMillis();
    head.key_id = signer.public_key().key_id();
    CS_ASSIGN_OR_RETURN(head.signature, signer.Sign(SignedTreeHeadBytes(head.tree_size, head.ts_ms, head.root_hash)));
    head.frontier = frontier.Serialize();
    CS_RETURN_IF_ERROR(tx.audit().InsertTreeHead(head));
    sealed = std::move(head);
    return Status::Ok();
  });
  CS_RETURN_IF_ERROR(s);
  // The proof cache follows the signed tree. It is only a cache: proofs fall
  // back to the leaves where it is missing, so a failure here fails nothing.
  if (sealed) ExtendMerkleNodes(store, sealed->tree_size).IgnoreError();
  // Likewise the search index, in batches large enough to sort well:
  // queries read the few unindexed blocks directly.
  if (sealed) IndexLedger(store, kIndexBatchEntries).status().IgnoreError();
  return sealed;
}

LedgerVerifier::LedgerVerifier(std::vector<TreeHead> heads, const AuditPublicKey& key,
                               const std::optional<AuditCheckpoint>& checkpoint)
    : heads_(std::move(heads)), key_(key), prev_hash_(ZeroHash()) {
  std::sort(heads_.begin(), heads_.end(), [](const TreeHead& a, const TreeHead& b) { return a.tree_size < b.tree_size; });
  report_.tree_heads = static_cast<int64_t>(heads_.size());
  if (checkpoint) {
    auto frontier = merkle::Frontier::Parse(checkpoint->upto_seq, checkpoint->frontier);
    if (!frontier.ok()) {
      Fail(checkpoint->upto_seq, "the archive checkpoint is damaged");
      return;
    }
    frontier_ = std::move(frontier).value();
    prev_hash_ = checkpoint->last_hash;
    base_ = checkpoint->upto_seq;
    report_.archived = base_;
    // Archives end at a signed head: the checkpoint must reproduce its root,
    // so a forged checkpoint cannot carry the chain.
    bool anchored = false;
    while (next_head_ < heads_.size() && heads_[next_head_].tree_size <= base_) {
      if (heads_[next_head_].tree_size == base_) {
        if (!CheckHeadsUpTo(base_)) return;
        anchored = true;
      } else {
        ++next_head_;
      }
    }
    if (!anchored) Fail(base_, "no signed tree head matches the archive checkpoint at entry " + std::to_string(base_));
  }
}

bool LedgerVerifier::Fail(int64_t seq, std::string problem) {
  if (report_.ok) {
    report_.ok = false;
    report_.first_bad_seq = seq;
    report_.problem = std::move(problem);
  }
  return false;
}

bool LedgerVerifier::CheckHeadsUpTo(int64_t size) {
  while (next_head_ < heads_.size() && heads_[next_head_].tree_size <= size) {
    const TreeHead& h = heads_[next_head_++];
    if (h.tree_size < size) continue;  // an empty or duplicate head; the size check below catches forgeries
    if (h.key_id != key_.key_id()) {
      return Fail(size, "tree head " + std::to_string(h.tree_size) + " is signed by an unknown key " + h.key_id);
    }
    if (!key_.Verify(SignedTreeHeadBytes(h.tree_size, h.ts_ms, h.root_hash), h.signature)) {
      return Fail(size, "tree head " + std::to_string(h.tree_size) + " has an invalid signature");
    }
    if (frontier_.Root() != h.root_hash) {
      return Fail(size, "entries 1.." + std::to_string(size) +
                            " do not match the signed tree head of that size (rewritten history)");
    }
  }
  return true;
}

Result<int64_t> IndexLedger(Store& store, int64_t min_pending) {
  // Short transactions (appenders wait for the write lock meanwhile), large
  // enough that the sorted postings share index pages.
  constexpr int64_t kEntriesPerTransaction = 50000;
  int64_t total = 0;
  CS_ASSIGN_OR_RETURN(int64_t indexed, store.audit().IndexedUpto());
  CS_ASSIGN_OR_RETURN(auto tail, store.audit().Tail());
  if (tail.first - indexed < std::max<int64_t>(min_pending, 1)) return total;
  for (int64_t n = 1; n > 0; total += n) {
    n = 0;
    CS_RETURN_IF_ERROR(store.InTransaction([&](StoreTransaction& tx) -> Status {
      CS_ASSIGN_OR_RETURN(n, tx.audit().IndexPending(kEntriesPerTransaction));
      return Status::Ok();
    }));
  }
  return total;
}

bool LedgerVerifier::Feed(const AuditRecord& r) {
  std::string record = EncodeAuditRecord(r);
  AuditRawEntry e;
  e.seq = r.seq;
  e.record = record;
  e.entry_hash = r.entry_hash;
  return FeedRaw(e);
}

bool LedgerVerifier::FeedRaw(const AuditRawEntry& e) {
  if (!report_.ok) return false;
  const int64_t expected = base_ + report_.entries + 1;
  if (e.seq != expected) {
    return Fail(expected, e.seq > expected ? "entry " + std::to_string(expected) + " is missing (deleted)"
                                           : "entry " + std::to_string(e.seq) + " is out of order or duplicated");
  }
  std::optional<AuditRecordView> parsed_here;
  const AuditRecordView* view = e.parsed;  // the store's parse, when it made one: no copy
  if (view == nullptr) {
    parsed_here = ParseAuditRecord(e.record);
    if (parsed_here) view = &*parsed_here;
  }
  if (view == nullptr || view->seq != e.seq) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " is malformed or moved (modified)");
  }
  if (view->prev_hash != prev_hash_) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " does not chain to the previous entry (reordered, "
                                                          "inserted or the previous one deleted)");
  }
  char leaf[32];  // merkle::LeafHash without allocating: this loop runs millions of times
  Sha256Into({std::string_view("\x00", 1), e.record}, leaf);
  const std::string_view hash(leaf, sizeof leaf);
  if (hash != e.entry_hash) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " does not match its hash (modified)");
  }
  frontier_.Append(hash);
  prev_hash_.assign(hash);
  ++report_.entries;
  return CheckHeadsUpTo(base_ + report_.entries);
}

AuditVerifyReport LedgerVerifier::Finish(bool require_sealed) {
  const int64_t signed_size = next_head_ == 0 ? 0 : heads_[next_head_ - 1].tree_size;
  report_.unsealed = std::max<int64_t>(0, base_ + report_.entries - std::max(signed_size, base_));
  // Truncation first: a head that covers more than is present names the
  // first missing entry, which is what a reader must look for; the tail
  // before it being unsigned is only a consequence.
  if (report_.ok && next_head_ < heads_.size()) {
    const TreeHead& last = heads_.back();
    const int64_t present = base_ + report_.entries;
    Fail(present + 1, "ledger truncated: a signed tree head covers " + std::to_string(last.tree_size) +
                          " entries, only " + std::to_string(present) + " are present");
  }
  if (report_.ok && require_sealed && report_.unsealed > 0) {
    Fail(base_ + report_.entries - report_.unsealed + 1,
         std::to_string(report_.unsealed) + " entries after the last signed tree head are not covered by a signature");
  }
  return report_;
}

namespace {

// An order-independent digest of a set of (term, block) postings: their
// count and the sum of a keyed hash of each. The key is drawn anew for every
// verification, so no edit of the index can be crafted to cancel out.
class PostingDigest {
 public:
  explicit PostingDigest(std::string_view key) : key_(key) {}
  // The keyed hash of one posting.
  uint64_t Value(std::string_view term, int64_t block) const {
    char fixed[12];
    const auto len = static_cast<uint32_t>(term.size());
    for (int i = 0; i < 4; ++i) fixed[i] = static_cast<char>(len >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) fixed[4 + i] = static_cast<char>(static_cast<uint64_t>(block) >> (56 - 8 * i));
    char h[32];
    Sha256Into({key_, std::string_view(fixed, 4), term, std::string_view(fixed + 4, 8)}, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(h[i]);
    return v;
  }
  void AddValue(uint64_t v) {
    sum_ += v;  // wraps: addition modulo 2^64
    ++count_;
  }
  void Add(std::string_view term, int64_t block) { AddValue(Value(term, block)); }
  bool operator!=(const PostingDigest& other) const { return count_ != other.count_ || sum_ != other.sum_; }

 private:
  std::string_view key_;
  uint64_t sum_ = 0;
  int64_t count_ = 0;
};

// Terms of one block's entries ("t" + tenant, "s" + subject), deduplicated.
std::vector<std::string> BlockTerms(std::vector<std::string> terms) {
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

void AddTerms(const AuditRawEntry& e, std::vector<std::string>& terms) {
  std::optional<AuditRecordView> view;
  if (e.parsed != nullptr) view = *e.parsed;
  else view = ParseAuditRecord(e.record);
  if (!view) return;
  terms.emplace_back("t").append(view->fields[0]);
  if (!view->fields[4].empty()) terms.emplace_back("s").append(view->fields[4]);
}

// The postings the index must hold for the entries up to `indexed`, fed
// the verified entries in order. Terms are hashed as they come (no copies);
// equal hashes within a block are one posting.
class BlockPostings {
 public:
  BlockPostings(std::string_view key, int64_t indexed) : digest_(key), indexed_(indexed) {}
  bool Feed(const AuditRawEntry& e) {
    if (e.seq > indexed_) {
      // The index covers whole blocks: a block cut by its end was not indexed by the gateway.
      if (e.block == block_ && problem_.empty()) {
        problem_ = "the search index ends inside a block (entry " + std::to_string(indexed_) + ")";
      }
      return true;
    }
    if (e.block != block_) Flush();
    block_ = e.block;
    std::optional<AuditRecordView> parsed_here;
    const AuditRecordView* view = e.parsed;
    if (view == nullptr) {
      parsed_here = ParseAuditRecord(e.record);
      if (parsed_here) view = &*parsed_here;
    }
    if (view == nullptr) return true;  // the ledger check reports it
    char term[512];
    auto add = [&](char kind, std::string_view value) {
      if (value.size() < sizeof term) {
        term[0] = kind;
        value.copy(term + 1, value.size());
        values_.push_back(digest_.Value(std::string_view(term, value.size() + 1), block_));
      } else {
        values_.push_back(digest_.Value(std::string(1, kind).append(value), block_));
      }
    };
    // A block's entries mostly share their tenant: hash it once per block.
    if (view->fields[0] != last_tenant_ || !tenant_hashed_) {
      add('t', view->fields[0]);
      last_tenant_.assign(view->fields[0]);
      tenant_hashed_ = true;
    }
    if (!view->fields[4].empty()) add('s', view->fields[4]);
    return true;
  }
  void Finish() { Flush(); }
  const PostingDigest& digest() const { return digest_; }
  const std::string& problem() const { return problem_; }

 private:
  void Flush() {
    tenant_hashed_ = false;  // the next block hashes its tenant again
    std::sort(values_.begin(), values_.end());
    values_.erase(std::unique(values_.begin(), values_.end()), values_.end());
    for (uint64_t v : values_) digest_.AddValue(v);
    values_.clear();
  }
  PostingDigest digest_;
  int64_t indexed_;
  int64_t block_ = 0;
  std::vector<uint64_t> values_;
  std::string last_tenant_;
  bool tenant_hashed_ = false;
  std::string problem_;
};

// Finds the first block, up to `indexed`, whose postings differ from its
// entries' terms: only run when the digests differ, to say where. Reads the
// postings into memory, so it gives up (0) above a few million of them.
Result<int64_t> FirstMismatchedBlock(Store& store, int64_t from_seq, int64_t indexed) {
  constexpr size_t kMaxPostings = 5'000'000;
  std::map<int64_t, std::vector<std::string>> stored;
  size_t count = 0;
  CS_RETURN_IF_ERROR(store.audit().ScanPostings([&](std::string_view term, int64_t block) {
    if (block <= indexed && ++count <= kMaxPostings) stored[block].emplace_back(term);
  }));
  if (count > kMaxPostings) return int64_t{0};
  for (auto& [block, terms] : stored) std::sort(terms.begin(), terms.end());
  int64_t bad = 0, block = 0;
  std::vector<std::string> terms;
  auto check = [&] {
    if (block == 0 || bad != 0) return;
    std::vector<std::string> want = BlockTerms(std::move(terms));
    auto it = stored.find(block);
    if (it == stored.end() ? !want.empty() : it->second != want) bad = block;
    if (it != stored.end()) stored.erase(it);
    terms.clear();
  };
  CS_RETURN_IF_ERROR(store.audit().ScanRaw(from_seq, [&](const AuditRawEntry& e) {
    if (e.seq > indexed) return false;
    if (e.block != block) check();
    block = e.block;
    AddTerms(e, terms);
    return bad == 0;
  }));
  check();
  // Postings left over name blocks that hold no indexed entries.
  if (bad == 0 && !stored.empty()) bad = stored.begin()->first;
  return bad;
}

}  // namespace

Result<AuditVerifyReport> VerifyStoredLedger(Store& store, const AuditPublicKey& key,
                                             std::vector<TreeHead> anchored_heads,
                                             const std::function<void(int64_t)>& progress, bool check_index) {
  CS_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, store.audit().TreeHeads());
  CS_ASSIGN_OR_RETURN(std::optional<AuditCheckpoint> checkpoint, store.audit().LatestCheckpoint());
  if (checkpoint) {
    // The archived part is represented by its hashes: they must rebuild the checkpoint.
    CS_ASSIGN_OR_RETURN(std::vector<std::string> archived, store.audit().EntryHashes(1, checkpoint->upto_seq));
    merkle::Frontier rebuilt;
    for (const auto& h : archived) rebuilt.Append(h);
    if (static_cast<int64_t>(archived.size()) != checkpoint->upto_seq || rebuilt.Serialize() != checkpoint->frontier ||
        archived.back() != checkpoint->last_hash) {
      AuditVerifyReport bad;
      bad.ok = false;
      bad.first_bad_seq = 1;
      bad.problem = "the hashes kept for archived entries do not match the archive checkpoint";
      return bad;
    }
  }
  for (auto& anchored : anchored_heads) {
    bool duplicate = false;
    for (const auto& h : heads) {
      duplicate = duplicate || (h.tree_size == anchored.tree_size && h.root_hash == anchored.root_hash &&
                                h.signature == anchored.signature);
    }
    if (!duplicate) heads.push_back(std::move(anchored));
  }
  LedgerVerifier verifier(std::move(heads), key, checkpoint);
  int64_t indexed = 0;
  if (check_index) {
    CS_ASSIGN_OR_RETURN(indexed, store.audit().IndexedUpto());
  }
  CryptoRandom random;
  CS_ASSIGN_OR_RETURN(std::string digest_key, random.Bytes(16));
  BlockPostings expected(digest_key, indexed);
  int64_t n = 0;
  CS_RETURN_IF_ERROR(store.audit().ScanRaw(checkpoint ? checkpoint->upto_seq + 1 : 1, [&](const AuditRawEntry& e) {
    if (progress && (++n % 100000) == 0) progress(n);
    return verifier.FeedRaw(e) && (!check_index || expected.Feed(e));
  }));
  expected.Finish();
  AuditVerifyReport report = verifier.Finish();
  if (!report.ok || !check_index) return report;
  // The search index must list exactly the terms of the entries it claims
  // to cover, or a search (a subject's access history) could miss entries.
  report.indexed = indexed;
  std::string problem = expected.problem();
  if (problem.empty() && indexed > report.archived + report.entries) {
    problem = "the search index claims entries up to " + std::to_string(indexed) + " that do not exist";
  }
  if (problem.empty()) {
    PostingDigest actual(digest_key);
    // Postings past `indexed` are left out: the gateway's indexer may be
    // adding them while this runs (they are checked once indexed_upto covers them).
    CS_RETURN_IF_ERROR(store.audit().ScanPostings([&](std::string_view term, int64_t block) {
      if (block <= indexed) actual.Add(term, block);
    }));
    if (actual != expected.digest()) {
      problem = "the search index does not match the entries (postings added, removed or altered)";
    }
  }
  if (!problem.empty()) {
    report.ok = false;
    report.first_bad_seq = report.archived + 1;
    report.problem = problem + "; the entries themselves are intact: run `consentry audit reindex`";
    CS_ASSIGN_OR_RETURN(int64_t bad_block, FirstMismatchedBlock(store, checkpoint ? checkpoint->upto_seq + 1 : 1, indexed));
    if (bad_block > 0) report.first_bad_seq = bad_block;
  }
  return report;
}

Status RebuildSearchIndex(Store& store) {
  CS_RETURN_IF_ERROR(store.InTransaction([](StoreTransaction& tx) { return tx.audit().ClearIndex(); }));
  return IndexLedger(store).status();
}

namespace {

Result<TreeHead> HeadOfSize(Store& store, int64_t size) {
  CS_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, store.audit().TreeHeads());
  if (heads.empty()) return NotFound("no signed tree head yet; run `consentry audit seal`");
  if (size == 0) return heads.back();
  for (const auto& h : heads) {
    if (h.tree_size == size) return h;
  }
  return NotFound("no signed tree head of size " + std::to_string(size));
}

}  // namespace

namespace {

// Nodes are stored from this level up (subtrees of 256 leaves and more):
// one row per 128 entries on average, so the append path never pays for them.
constexpr int kLowestStoredLevel = 8;
constexpr uint64_t kLowestStoredSize = uint64_t{1} << kLowestStoredLevel;

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) { return 63 - __builtin_clzll(n); }

// The root of leaves [begin, end) (0-based): a stored node for an aligned
// perfect subtree, else split as RFC 6962 does; at most 256 leaves are read
// for a range no node covers.
// With `use_nodes` false, everything is computed from the leaves: the
// fallback when a stored node turns out wrong.
merkle::RangeRootFn StoredRangeRoot(AuditRepository& audit, bool use_nodes = true) {
  return [&audit, use_nodes](uint64_t begin, uint64_t end) -> Result<std::string> {
    std::function<Result<std::string>(uint64_t, uint64_t)> root = [&](uint64_t lo, uint64_t hi) -> Result<std::string> {
      const uint64_t n = hi - lo;
      if (n == 0) return merkle::EmptyRoot();
      if (use_nodes && n >= kLowestStoredSize && IsPowerOfTwo(n) && lo % n == 0) {
        CS_ASSIGN_OR_RETURN(std::optional<std::string> node, audit.GetMerkleNode(Log2(n), static_cast<int64_t>(lo / n)));
        if (node) return *node;
      }
      if (n <= kLowestStoredSize) {
        CS_ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                            audit.EntryHashes(static_cast<int64_t>(lo) + 1, static_cast<int64_t>(hi)));
        if (leaves.size() != n) return DataLoss("the audit ledger has gaps");
        return merkle::RootOf(leaves);
      }
      const uint64_t k = merkle::LargestPowerOfTwoBelow(n);
      CS_ASSIGN_OR_RETURN(std::string left, root(lo, lo + k));
      CS_ASSIGN_OR_RETURN(std::string right, root(lo + k, hi));
      return merkle::NodeHash(left, right);
    };
    return root(begin, end);
  };
}

}  // namespace

Status ExtendMerkleNodes(Store& store, int64_t tree_size, int64_t max_chunks) {
  // Short transactions: appenders wait for the write lock meanwhile.
  constexpr int64_t kChunksPerTransaction = 64;
  bool more = true;
  for (int64_t budget = max_chunks; more && budget > 0; budget -= kChunksPerTransaction) {
    CS_RETURN_IF_ERROR(store.InTransaction([&](StoreTransaction& tx) -> Status {
      AuditRepository& audit = tx.audit();
      CS_ASSIGN_OR_RETURN(int64_t chunk, audit.CountMerkleNodes(kLowestStoredLevel));
      const int64_t size = static_cast<int64_t>(kLowestStoredSize);
      const int64_t limit = std::min(budget, kChunksPerTransaction);
      int64_t done = 0;
      for (; done < limit && (chunk + 1) * size <= tree_size; ++done, ++chunk) {
        CS_ASSIGN_OR_RETURN(std::vector<std::string> leaves, audit.EntryHashes(chunk * size + 1, (chunk + 1) * size));
        if (static_cast<int64_t>(leaves.size()) != size) return DataLoss("the audit ledger has gaps");
        std::string node = merkle::RootOf(leaves);
        CS_RETURN_IF_ERROR(audit.PutMerkleNode(kLowestStoredLevel, chunk, node));
        // Each right child completes its parent, up the tree like a carry.
        int level = kLowestStoredLevel;
        for (int64_t index = chunk; index % 2 == 1; index /= 2, ++level) {
          CS_ASSIGN_OR_RETURN(std::optional<std::string> left, audit.GetMerkleNode(level, index - 1));
          if (!left) return DataLoss("a stored Merkle node is missing");
          node = merkle::NodeHash(*left, node);
          CS_RETURN_IF_ERROR(audit.PutMerkleNode(level + 1, index / 2, node));
        }
      }
      more = done == limit && (chunk + 1) * size <= tree_size;
      return Status::Ok();
    }));
  }
  return Status::Ok();
}

Result<AuditInclusionProof> ProveInclusion(Store& store, int64_t seq, int64_t tree_size) {
  AuditInclusionProof proof;
  CS_ASSIGN_OR_RETURN(proof.head, HeadOfSize(store, tree_size));
  proof.tree_size = proof.head.tree_size;
  if (seq < 1 || seq > proof.tree_size) return NotFound("entry " + std::to_string(seq) + " is not in that tree");
  bool found = false;
  CS_RETURN_IF_ERROR(store.audit().Scan(seq, [&](const AuditRecord& r) {
    found = r.seq == seq;
    if (found) proof.entry = r;
    return false;
  }));
  if (!found) return NotFound("audit entry " + std::to_string(seq) + " is archived; prove it from its segment");
  const auto index = static_cast<uint64_t>(seq - 1), size = static_cast<uint64_t>(proof.tree_size);
  CS_ASSIGN_OR_RETURN(proof.path, merkle::InclusionProof(index, size, StoredRangeRoot(store.audit())));
  const std::string leaf = ComputeEntryHash(proof.entry);
  if (!merkle::VerifyInclusion(leaf, index, size, proof.path, proof.head.root_hash)) {
    // A damaged stored node: answer from the leaves, which the signed root covers.
    CS_ASSIGN_OR_RETURN(proof.path, merkle::InclusionProof(index, size, StoredRangeRoot(store.audit(), false)));
    if (!merkle::VerifyInclusion(leaf, index, size, proof.path, proof.head.root_hash)) {
      return DataLoss("entry " + std::to_string(seq) + " does not match the signed tree head; run `consentry audit verify`");
    }
  }
  return proof;
}

Result<AuditConsistencyProof> ProveConsistency(Store& store, int64_t old_size, int64_t new_size) {
  AuditConsistencyProof proof;
  CS_ASSIGN_OR_RETURN(proof.old_head, HeadOfSize(store, old_size));
  CS_ASSIGN_OR_RETURN(proof.new_head, HeadOfSize(store, new_size));
  if (old_size <= 0 || old_size > new_size) {
    return InvalidArgument("invalid_argument", "the old tree size must be positive and not above the new one");
  }
  const auto from = static_cast<uint64_t>(old_size), to = static_cast<uint64_t>(new_size);
  CS_ASSIGN_OR_RETURN(proof.path, merkle::ConsistencyProof(from, to, StoredRangeRoot(store.audit())));
  if (!merkle::VerifyConsistency(from, to, proof.old_head.root_hash, proof.new_head.root_hash, proof.path)) {
    // A damaged stored node: answer from the leaves.
    CS_ASSIGN_OR_RETURN(proof.path, merkle::ConsistencyProof(from, to, StoredRangeRoot(store.audit(), false)));
    if (!merkle::VerifyConsistency(from, to, proof.old_head.root_hash, proof.new_head.root_hash, proof.path)) {
      return DataLoss("the ledger does not match its signed tree heads; run `consentry audit verify`");
    }
  }
  return proof;
}

}  // namespace cs

namespace cs {

Result<AuditCheckpoint> ArchiveLedger(Store& store, const AuditPublicKey& key, const AuditLedger& ledger,
                                      const AuditActor& actor, int64_t upto_seq, const std::string& segment_path,
                                      const RetentionDays& retention, const Clock& clock, FileSystem& fs) {
  CS_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, store.audit().TreeHeads());
  const TreeHead* head = nullptr;
  for (const auto& h : heads) {
    if (h.tree_size == upto_seq) head = &h;
  }
  if (head == nullptr) {
    return FailedPrecondition("not_sealed", "archive only up to a signed tree head; run `consentry audit seal` "
                                            "and use its size");
  }
  CS_ASSIGN_OR_RETURN(std::optional<AuditCheckpoint> previous, store.audit().LatestCheckpoint());
  const int64_t from = previous ? previous->upto_seq + 1 : 1;
  if (upto_seq < from) return FailedPrecondition("already_archived", "those entries are already archived");
  CS_ASSIGN_OR_RETURN(AuditVerifyReport report, VerifyStoredLedger(store, key, {}));
  if (!report.ok) {
    return FailedPrecondition("ledger_damaged", "the ledger does not verify (entry " +
                                                    std::to_string(report.first_bad_seq) + "): " + report.problem);
  }

  // 1. The segment, synced, before anything leaves the database.
  std::string segment;
  if (previous) segment += LedgerExportLine(*previous) + "\n";
  for (const auto& h : heads) {
    // The head at the previous checkpoint anchors this segment's start.
    if (h.tree_size >= from - 1 && h.tree_size >= 1 && h.tree_size <= upto_seq) segment += LedgerExportLine(h) + "\n";
  }
  std::map<std::string, int64_t> latest_by_tenant;  // no store calls inside the scan: it holds a connection
  std::string last_hash;
  CS_RETURN_IF_ERROR(store.audit().Scan(from, [&](const AuditRecord& r) {
    if (r.seq > upto_seq) return false;
    segment += LedgerExportLine(r) + "\n";
    int64_t& latest = latest_by_tenant[r.tenant_id];
    latest = std::max(latest, r.ts_ms);
    last_hash = r.entry_hash;
    return true;
  }));
  int64_t retain_until = 0;
  for (const auto& [tenant, latest] : latest_by_tenant) {
    retain_until = std::max(retain_until, latest + retention(tenant) * 86'400'000);
  }
  CS_RETURN_IF_ERROR(WriteFileAtomically(fs, segment_path, segment));

  AuditCheckpoint cp;
  cp.upto_seq = upto_seq;
  cp.last_hash = last_hash;
  cp.frontier = head->frontier;
  cp.archived_at_ms = clock.NowUnixMillis();
  cp.retain_until_ms = retain_until;
  cp.segment_name = segment_path.substr(segment_path.find_last_of('/') + 1);
  cp.segment_sha256 = Sha256({segment});
  // 2. Checkpoint, hashes kept, entries removed, and the record of it: one transaction.
  CS_RETURN_IF_ERROR(store.InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.audit().Archive(cp));
    JsonWriter w;
    w.BeginObject().Key("upto_seq").Int(upto_seq).Key("segment").String(cp.segment_name);
    w.Key("segment_sha256").String(HexEncode(cp.segment_sha256));
    w.Key("retain_until").String(FormatRfc3339Millis(cp.retain_until_ms)).EndObject();
    AuditEvent e{.actor = actor, .action = "audit.archive", .resource = "audit:segment", .details = w.Take()};
    return ledger.Record(tx, e);
  }));
  return cp;
}

}  // namespace cs
