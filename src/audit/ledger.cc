// Appending, sealing, verifying and proving: see audit.h and
// docs/formats/audit-ledger.md for the byte formats.
#include <algorithm>

#include "audit/audit.h"
#include "audit/record_format.h"
#include "common/strings.h"

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
  const int64_t now = clock_.NowUnixMillis();
  for (const AuditEvent& e : events) {
    AuditRecord r;
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
    CS_RETURN_IF_ERROR(tx.Insert(r));
    prev = std::move(r.entry_hash);
  }
  return Status::Ok();
}

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
  return sealed;
}

LedgerVerifier::LedgerVerifier(std::vector<TreeHead> heads, const AuditPublicKey& key)
    : heads_(std::move(heads)), key_(key), prev_hash_(ZeroHash()) {
  std::sort(heads_.begin(), heads_.end(), [](const TreeHead& a, const TreeHead& b) { return a.tree_size < b.tree_size; });
  report_.tree_heads = static_cast<int64_t>(heads_.size());
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

bool LedgerVerifier::Feed(const AuditRecord& r) {
  std::string record = EncodeAuditRecord(r);
  AuditRawEntry e;
  e.seq = r.seq;
  e.ts_ms = r.ts_ms;
  e.tenant_id = r.tenant_id;
  e.actor_id = r.actor_id;
  e.action = r.action;
  e.subject = r.subject;
  e.record = record;
  e.entry_hash = r.entry_hash;
  return FeedRaw(e);
}

bool LedgerVerifier::FeedRaw(const AuditRawEntry& e) {
  if (!report_.ok) return false;
  const int64_t expected = report_.entries + 1;
  if (e.seq != expected) {
    return Fail(expected, e.seq > expected ? "entry " + std::to_string(expected) + " is missing (deleted)"
                                           : "entry " + std::to_string(e.seq) + " is out of order or duplicated");
  }
  std::optional<AuditRecordView> view = ParseAuditRecord(e.record);
  if (!view || view->seq != e.seq) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " is malformed or moved (modified)");
  }
  if (view->prev_hash != prev_hash_) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " does not chain to the previous entry (reordered, "
                                                          "inserted or the previous one deleted)");
  }
  std::string hash = merkle::LeafHash(e.record);
  if (hash != e.entry_hash) {
    return Fail(e.seq, "entry " + std::to_string(e.seq) + " does not match its hash (modified)");
  }
  // The search columns must say what the record says, or searches could hide or misattribute entries.
  if (view->ts_ms != e.ts_ms || view->fields[0] != e.tenant_id || view->fields[2] != e.actor_id ||
      view->fields[3] != e.action || view->fields[4] != e.subject) {
    return Fail(e.seq, "the search columns of entry " + std::to_string(e.seq) + " do not match it (modified)");
  }
  frontier_.Append(hash);
  prev_hash_ = std::move(hash);
  ++report_.entries;
  return CheckHeadsUpTo(report_.entries);
}

AuditVerifyReport LedgerVerifier::Finish() {
  if (report_.ok && next_head_ < heads_.size()) {
    const TreeHead& last = heads_.back();
    Fail(report_.entries + 1, "ledger truncated: a signed tree head covers " + std::to_string(last.tree_size) +
                                  " entries, only " + std::to_string(report_.entries) + " are present");
  }
  return report_;
}

Result<AuditVerifyReport> VerifyStoredLedger(Store& store, const AuditPublicKey& key,
                                             std::vector<TreeHead> anchored_heads,
                                             const std::function<void(int64_t)>& progress) {
  CS_ASSIGN_OR_RETURN(std::vector<TreeHead> heads, store.audit().TreeHeads());
  for (auto& anchored : anchored_heads) {
    bool duplicate = false;
    for (const auto& h : heads) {
      duplicate = duplicate || (h.tree_size == anchored.tree_size && h.root_hash == anchored.root_hash &&
                                h.signature == anchored.signature);
    }
    if (!duplicate) heads.push_back(std::move(anchored));
  }
  LedgerVerifier verifier(std::move(heads), key);
  int64_t n = 0;
  CS_RETURN_IF_ERROR(store.audit().ScanRaw(1, [&](const AuditRawEntry& e) {
    if (progress && (++n % 100000) == 0) progress(n);
    return verifier.FeedRaw(e);
  }));
  return verifier.Finish();
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

Result<AuditInclusionProof> ProveInclusion(Store& store, int64_t seq, int64_t tree_size) {
  AuditInclusionProof proof;
  CS_ASSIGN_OR_RETURN(proof.head, HeadOfSize(store, tree_size));
  proof.tree_size = proof.head.tree_size;
  if (seq < 1 || seq > proof.tree_size) return NotFound("entry " + std::to_string(seq) + " is not in that tree");
  CS_ASSIGN_OR_RETURN(std::vector<std::string> leaves, store.audit().EntryHashes(1, proof.tree_size));
  if (static_cast<int64_t>(leaves.size()) != proof.tree_size) return DataLoss("the audit ledger has gaps");
  bool found = false;
  CS_RETURN_IF_ERROR(store.audit().Scan(seq, [&](const AuditRecord& r) {
    proof.entry = r;
    found = true;
    return false;
  }));
  if (!found) return NotFound("no such audit entry");
  proof.path = merkle::InclusionProof(leaves, static_cast<size_t>(seq - 1));
  return proof;
}

Result<AuditConsistencyProof> ProveConsistency(Store& store, int64_t old_size, int64_t new_size) {
  AuditConsistencyProof proof;
  CS_ASSIGN_OR_RETURN(proof.old_head, HeadOfSize(store, old_size));
  CS_ASSIGN_OR_RETURN(proof.new_head, HeadOfSize(store, new_size));
  if (old_size <= 0 || old_size > new_size) {
    return InvalidArgument("invalid_argument", "the old tree size must be positive and not above the new one");
  }
  CS_ASSIGN_OR_RETURN(std::vector<std::string> leaves, store.audit().EntryHashes(1, new_size));
  if (static_cast<int64_t>(leaves.size()) != new_size) return DataLoss("the audit ledger has gaps");
  proof.path = merkle::ConsistencyProof(leaves, static_cast<size_t>(old_size));
  return proof;
}

}  // namespace cs
