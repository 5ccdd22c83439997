// SQLite backend of store.h.
//
// Design: a fixed pool of connections (WAL lets readers run beside the one
// writer); each connection caches its prepared statements. Writes use
// BEGIN IMMEDIATE so lock waits happen up front under busy_timeout and a
// transaction never fails half-way on a lock upgrade.
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "audit_record/audit_record.h"
#include "common/strings.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace cs {

namespace {

using namespace sqlite_internal;  // NOLINT(google-build-using-namespace): this backend's own plumbing

ApiKeyRecord ReadApiKey(sqlite3_stmt* s) {
  ApiKeyRecord k;
  k.id = ColumnText(s, 0);
  k.tenant_id = ColumnText(s, 1);
  k.name = ColumnText(s, 2);
  std::string scopes = ColumnText(s, 3);
  if (!scopes.empty()) k.scopes = Split(scopes, ' ');
  k.secret_hash = ColumnText(s, 4);
  k.created_at_ms = sqlite3_column_int64(s, 5);
  k.expires_at_ms = sqlite3_column_int64(s, 6);
  if (sqlite3_column_type(s, 7) != SQLITE_NULL) k.revoked_at_ms = sqlite3_column_int64(s, 7);
  if (sqlite3_column_type(s, 8) != SQLITE_NULL) k.rotated_from = ColumnText(s, 8);
  return k;
}

std::string_view ColumnView(sqlite3_stmt* s, int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
  return {p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, col))};
}

// Walks the entries of one stored block (docs/formats/audit-ledger.md):
// records back to back, hashes 32 bytes each, seqs from `first` on. An
// entry's seq is its position; a record that does not parse is handed over
// as the rest of the block with `view` unset, and ends the walk, so
// verification reports it where it is. `visit` returns false to stop;
// ForEachInBlock then returns false too.
// A block whose shape is wrong (no records, fewer or more records than
// first_seq..last_seq, hashes not 32 bytes per record) ends with a
// malformed entry at the first seq that does not fit, so a row inserted or
// edited around the triggers cannot pass verification unseen. `last` < 0
// skips that check (the indexer, which only reads what verify checks).
template <typename Visit>
bool ForEachInBlock(int64_t first, int64_t last, std::string_view records, std::string_view hashes, Visit&& visit) {
  size_t pos = 0;
  int64_t seq = first;
  for (size_t i = 0; pos < records.size() && (last < 0 || seq <= last); ++seq, ++i) {
    const size_t start = pos;
    std::optional<AuditRecordView> view = ParseAuditRecordAt(records, pos);
    const size_t h = i * 32;
    std::string_view hash = h + 32 <= hashes.size() ? hashes.substr(h, 32) : std::string_view();
    if (!view) return visit(seq, records.substr(start), hash, std::optional<AuditRecordView>());
    if (!visit(seq, records.substr(start, pos - start), hash, view)) return false;
  }
  const bool whole = last < 0 || (pos == records.size() && seq == last + 1 && !records.empty() &&
                                  hashes.size() == static_cast<size_t>(last - first + 1) * 32);
  if (!whole) return visit(seq, std::string_view(), std::string_view(), std::optional<AuditRecordView>());
  return true;
}

// Fills `r` from one entry, reusing its string buffers (exports read
// millions). A record that does not parse keeps only its seq: verification
// then reports it as modified.
void AssignEntry(int64_t seq, std::string_view hash, const std::optional<AuditRecordView>& view, AuditRecord& r) {
  if (view) {
    AssignAuditRecord(*view, r);
  } else {
    r = AuditRecord{};
    r.seq = seq;
  }
  r.entry_hash.assign(hash);
}

// Maps the database file into memory for one long scan (audit
// verification, the index check): reads through the map instead of pread
// copies. Not on by default: in WAL mode a connection drops its whole map
// whenever another one has written since its last read, so on a busy
// gateway every short read would pay an munmap and the page faults after it.
class ScopedMmap {
 public:
  explicit ScopedMmap(Connection& c) : c_(c) { c_.ExecPrepared("PRAGMA mmap_size=268435456").IgnoreError(); }
  ~ScopedMmap() { c_.ExecPrepared("PRAGMA mmap_size=0").IgnoreError(); }
  ScopedMmap(const ScopedMmap&) = delete;
  ScopedMmap& operator=(const ScopedMmap&) = delete;

 private:
  Connection& c_;
};

// A read transaction on `c` when it has none (several reads see one
// snapshot); nothing when the caller's transaction is already open.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Connection& c) : c_(c) {
    if (sqlite3_get_autocommit(c_.db()) != 0) {
      status_ = c_.Exec("BEGIN");
      open_ = status_.ok();
    }
  }
  ~ReadSnapshot() {
    if (open_) c_.Exec("COMMIT").IgnoreError();  // read-only: nothing to lose
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  const Status& status() const { return status_; }

 private:
  Connection& c_;
  Status status_;
  bool open_ = false;
};

TreeHead ReadTreeHead(sqlite3_stmt* s) {
  TreeHead h;
  h.tree_size = sqlite3_column_int64(s, 0);
  h.root_hash = ColumnBlob(s, 1);
  h.ts_ms = sqlite3_column_int64(s, 2);
  h.key_id = ColumnText(s, 3);
  h.signature = ColumnBlob(s, 4);
  h.frontier = ColumnBlob(s, 5);
  return h;
}

constexpr std::string_view kKeyColumns =
    "id, tenant_id, name, scopes, secret_hash, created_at_ms, expires_at_ms, revoked_at_ms, rotated_from";
constexpr std::string_view kHeadColumns = "tree_size, root_hash, ts_ms, key_id, signature, frontier";

// The repositories, over whatever connection `acquire` hands out.
class SqliteRepositories final : public TenantRepository, public ApiKeyRepository, public AuditRepository {
 public:
  // `in_transaction`: bound to one write transaction, so the audit tail it
  // appended is known without reading it back (ForgetTail after a rollback).
  explicit SqliteRepositories(std::function<ConnectionHandle()> acquire, bool in_transaction = false)
      : acquire_(std::move(acquire)), in_transaction_(in_transaction) {}
  void ForgetTail() { tail_.reset(); }

  // --- TenantRepository ---
  Status Create(const Tenant& t) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO tenants(id, name, created_at_ms) VALUES (?, ?, ?)"));
    Binder(s).Text(t.id).Text(t.name).Int(t.created_at_ms);
    return StepDone(*c, s, "insert tenant");
  }

  Result<Tenant> Get(const std::string& id) override {
    return OneTenant("SELECT id, name, created_at_ms, audit_retention_days, content_policy FROM tenants WHERE id = ?", id);
  }

  Result<Tenant> FindByName(const std::string& name) override {
    return OneTenant("SELECT id, name, created_at_ms, audit_retention_days, content_policy FROM tenants WHERE name = ?", name);
  }

  Result<std::vector<Tenant>> List() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s,
                        c->Prepare("SELECT id, name, created_at_ms, audit_retention_days, content_policy FROM tenants "
                                   "ORDER BY created_at_ms, id"));
    std::vector<Tenant> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadTenant(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list tenants");
    return out;
  }

  Status SetAuditRetention(const std::string& id, std::optional<int64_t> days) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE tenants SET audit_retention_days = ? WHERE id = ?"));
    Binder(s).OptInt(days).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "set retention"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such tenant");
    return Status::Ok();
  }

  Status SetContentPolicy(const std::string& id, std::optional<std::string> policy_json) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE tenants SET content_policy = ? WHERE id = ?"));
    Binder(s).OptText(policy_json).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "set content policy"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such tenant");
    return Status::Ok();
  }

  // --- ApiKeyRepository ---
  Status Insert(const ApiKeyRecord& k) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO api_keys(" + std::string(kKeyColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s)
        .Text(k.id)
        .Text(k.tenant_id)
        .Text(k.name)
        .Text(Join(k.scopes, " "))
        .Text(k.secret_hash)
        .Int(k.created_at_ms)
        .Int(k.expires_at_ms)
        .OptInt(k.revoked_at_ms)
        .OptText(k.rotated_from);
    return StepDone(*c, s, "insert key");
  }

  Result<ApiKeyRecord> FindForAuthentication(const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kKeyColumns) + " FROM api_keys WHERE id = ?"));
    Binder(s).Text(id);
    return OneKey(*c, s);
  }

  Result<ApiKeyRecord> Get(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kKeyColumns) +
                                                 " FROM api_keys WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    return OneKey(*c, s);
  }

  Result<std::vector<ApiKeyRecord>> List(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kKeyColumns) +
                                                 " FROM api_keys WHERE tenant_id = ? ORDER BY created_at_ms, id"));
    Binder(s).Text(tenant_id);
    std::vector<ApiKeyRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadApiKey(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list keys");
    return out;
  }

  Status Revoke(const std::string& tenant_id, const std::string& id, int64_t at_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE api_keys SET revoked_at_ms = COALESCE(MIN(revoked_at_ms, ?), ?) "
                                                 "WHERE tenant_id = ? AND id = ?"));
    Binder(s).Int(at_ms).Int(at_ms).Text(tenant_id).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "revoke key"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such API key");
    return Status::Ok();
  }

  Status Rotate(const std::string& tenant_id, const std::string& old_id, int64_t old_expires_at_ms,
                const ApiKeyRecord& replacement) override {
    auto c = acquire_();
    Connection* conn = &*c;
    return InWriteTransaction(*c, [&]() -> Status {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("UPDATE api_keys SET expires_at_ms = MIN(expires_at_ms, ?) "
                                                      "WHERE tenant_id = ? AND id = ? AND revoked_at_ms IS NULL"));
      Binder(s).Int(old_expires_at_ms).Text(tenant_id).Text(old_id);
      CS_RETURN_IF_ERROR(StepDone(*conn, s, "shorten old key"));
      if (sqlite3_changes(conn->db()) == 0) return NotFound("no such API key");
      SqliteRepositories same([conn] { return ConnectionHandle(conn); });
      return same.Insert(replacement);
    });
  }

  // --- AuditRepository ---
  // Entries live in blocks, one per append (migration 13, docs/audit.md).
  Result<std::pair<int64_t, std::string>> Tail() override {
    // The group committer appends a block per unit: each would read back the block the unit before it wrote.
    if (tail_) return *tail_;
    auto c = acquire_();
    // After everything was archived, the tail is the checkpoint's last entry.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(
                                          "SELECT seq, h FROM (SELECT last_seq AS seq, substr(hashes, -32, 32) AS h "
                                          "FROM audit_blocks ORDER BY first_seq DESC LIMIT 1) UNION ALL SELECT "
                                          "upto_seq, last_hash FROM (SELECT upto_seq, last_hash FROM "
                                          "audit_checkpoints ORDER BY upto_seq DESC LIMIT 1) ORDER BY 1 DESC LIMIT 1"));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::pair<int64_t, std::string>(0, "");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read audit tail");
    return std::pair<int64_t, std::string>(sqlite3_column_int64(s, 0), ColumnBlob(s, 1));
  }

  Status AppendBlock(const std::vector<AuditRecord>& records) override {
    if (records.empty()) return Status::Ok();
    std::string bytes, hashes;
    hashes.reserve(records.size() * 32);
    for (const AuditRecord& r : records) {
      if (r.seq != records.front().seq + static_cast<int64_t>(&r - records.data())) {
        return InvalidArgument("invalid_argument", "an audit block needs consecutive sequence numbers");
      }
      bytes += EncodeAuditRecord(r);
      hashes += r.entry_hash;
    }
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO audit_blocks(first_seq, last_seq, records, hashes) "
                                                 "VALUES (?, ?, ?, ?)"));
    Binder(s).Int(records.front().seq).Int(records.back().seq).Blob(bytes).Blob(hashes);
    tail_.reset();
    CS_RETURN_IF_ERROR(StepDone(*c, s, "append audit block"));
    if (in_transaction_) tail_.emplace(records.back().seq, records.back().entry_hash);
    return Status::Ok();
  }

  Result<std::vector<AuditRecord>> Query(const AuditQuery& q) override {
    std::vector<AuditRecord> out;
    if (q.limit <= 0 || q.after_seq == INT64_MAX) return out;
    auto c = acquire_();
    // One snapshot for the index state, the postings and the blocks: a
    // reindex committing in between must not make entries disappear.
    ReadSnapshot snapshot(*c);
    CS_RETURN_IF_ERROR(snapshot.status());
    const int64_t from = std::max<int64_t>(q.after_seq, 0) + 1;
    auto matches = [&](const AuditRecordView& v) {
      const auto& f = v.fields;  // tenant_id, actor_type, actor_id, action, subject, …
      return v.seq >= from && v.ts_ms >= q.from_ms && v.ts_ms < q.to_ms && (!q.tenant_id || f[0] == *q.tenant_id) &&
             (!q.actor_id || f[2] == *q.actor_id) && (!q.subject || f[4] == *q.subject) &&
             (!q.action || f[3] == *q.action);
    };
    // Adds the block's matching entries; false once the limit is reached.
    auto take = [&](int64_t first, std::string_view records, std::string_view hashes) {
      return ForEachInBlock(first, -1, records, hashes, [&](int64_t seq, std::string_view, std::string_view hash,
                                                        const std::optional<AuditRecordView>& view) {
        if (!view || view->seq != seq || !matches(*view)) return true;
        AssignEntry(seq, hash, view, out.emplace_back());
        return static_cast<int>(out.size()) < q.limit;
      });
    };
    CS_ASSIGN_OR_RETURN(int64_t indexed, IndexedUptoOn(*c));
    CS_ASSIGN_OR_RETURN(int64_t scan_from, BlockStartOn(*c, from));
    std::optional<std::string> term;
    if (q.subject && !q.subject->empty()) term = "s" + *q.subject;  // entries without a subject have no posting
    else if (q.tenant_id) term = "t" + *q.tenant_id;
    if (term && indexed >= from) {
      // The indexed part: only the blocks that mention the term.
      CS_ASSIGN_OR_RETURN(ScopedStmt postings, c->Prepare("SELECT block FROM audit_postings WHERE term = ? AND "
                                                          "block >= ? AND block <= ? ORDER BY block"));
      Binder(postings).Text(*term).Int(scan_from).Int(indexed);
      CS_ASSIGN_OR_RETURN(ScopedStmt block, c->Prepare("SELECT records, hashes FROM audit_blocks WHERE first_seq = ?"));
      int rc;
      while ((rc = sqlite3_step(postings)) == SQLITE_ROW) {
        const int64_t first = sqlite3_column_int64(postings, 0);
        sqlite3_reset(block);
        sqlite3_bind_int64(block, 1, first);
        int brc = sqlite3_step(block);
        if (brc == SQLITE_DONE) continue;  // archived meanwhile, or a stray posting
        if (brc != SQLITE_ROW) return SqliteError(c->db(), brc, "read audit block");
        if (!take(first, ColumnView(block, 0), ColumnView(block, 1))) return out;
      }
      if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "query audit index");
      scan_from = indexed + 1;
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT first_seq, records, hashes FROM audit_blocks "
                                                 "WHERE first_seq >= ? ORDER BY first_seq"));
    Binder(s).Int(scan_from);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (!take(sqlite3_column_int64(s, 0), ColumnView(s, 1), ColumnView(s, 2))) return out;
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "query audit");
    return out;
  }

  Status Scan(int64_t from_seq, const std::function<bool(const AuditRecord&)>& visit) override {
    AuditRecord record;
    return ScanBlocks(from_seq, [&](int64_t seq, int64_t, std::string_view, std::string_view hash,
                                    const std::optional<AuditRecordView>& view) {
      AssignEntry(seq, hash, view, record);
      return visit(record);
    });
  }

  Status ScanRaw(int64_t from_seq, const std::function<bool(const AuditRawEntry&)>& visit) override {
    AuditRawEntry e;
    return ScanBlocks(from_seq, [&](int64_t seq, int64_t block, std::string_view record, std::string_view hash,
                                    const std::optional<AuditRecordView>& view) {
      e.seq = seq;
      e.block = block;
      e.record = record;
      e.entry_hash = hash;
      e.parsed = view ? &*view : nullptr;
      return visit(e);
    });
  }

  Result<std::vector<std::string>> EntryHashes(int64_t from_seq, int64_t to_seq) override {
    std::vector<std::string> out;
    auto c = acquire_();
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT entry_hash FROM audit_archived_hashes WHERE seq >= ? AND "
                                                   "seq <= ? ORDER BY seq"));
      Binder(s).Int(from_seq).Int(to_seq);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ColumnBlob(s, 0));
      if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read archived audit hashes");
    }
    CS_ASSIGN_OR_RETURN(int64_t start, BlockStartOn(*c, from_seq));
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT first_seq, hashes, last_seq FROM audit_blocks WHERE "
                                                 "first_seq >= ? AND first_seq <= ? ORDER BY first_seq"));
    Binder(s).Int(start).Int(to_seq);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const int64_t first = sqlite3_column_int64(s, 0);
      std::string_view hashes = ColumnView(s, 1);
      if (hashes.size() != static_cast<size_t>(sqlite3_column_int64(s, 2) - first + 1) * 32) {
        return DataLoss("audit block " + std::to_string(first) + " is damaged; run `consentry audit verify`");
      }
      for (size_t i = 0; i + 32 <= hashes.size(); i += 32) {
        const int64_t seq = first + static_cast<int64_t>(i / 32);
        if (seq >= from_seq && seq <= to_seq) out.emplace_back(hashes.substr(i, 32));
      }
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read audit hashes");
    return out;
  }

  Status Archive(const AuditCheckpoint& cp) override {
    tail_.reset();
    auto c = acquire_();
    {
      // Blocks are archived whole: a signed head always ends one (a head
      // covers what was committed, and a block commits at once).
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT count(*) FROM audit_blocks WHERE first_seq <= ?1 AND "
                                                   "last_seq > ?1"));
      Binder(s).Int(cp.upto_seq);
      if (sqlite3_step(s) != SQLITE_ROW) return SqliteError(c->db(), SQLITE_ERROR, "check audit blocks");
      if (sqlite3_column_int64(s, 0) != 0) {
        return FailedPrecondition("not_sealed", "archive only up to the end of a block (a signed tree head)");
      }
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt ins, c->Prepare("INSERT INTO audit_checkpoints(upto_seq, last_hash, frontier, "
                                                   "archived_at_ms, retain_until_ms, segment_name, segment_sha256) "
                                                   "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    Binder(ins)
        .Int(cp.upto_seq)
        .Blob(cp.last_hash)
        .Blob(cp.frontier)
        .Int(cp.archived_at_ms)
        .Int(cp.retain_until_ms)
        .Text(cp.segment_name)
        .Blob(cp.segment_sha256);
    CS_RETURN_IF_ERROR(StepDone(*c, ins, "insert checkpoint"));
    // The hashes stay, one row per entry, so proofs keep working: those of
    // the entries archived now, which must be exactly upto - previous.
    int64_t previous = 0;
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT COALESCE(MAX(upto_seq), 0) FROM audit_checkpoints "
                                                   "WHERE upto_seq < ?"));
      Binder(s).Int(cp.upto_seq);
      if (sqlite3_step(s) != SQLITE_ROW) return SqliteError(c->db(), SQLITE_ERROR, "read checkpoint");
      previous = sqlite3_column_int64(s, 0);
    }
    CS_ASSIGN_OR_RETURN(std::vector<std::string> hashes, EntryHashes(previous + 1, cp.upto_seq));
    if (static_cast<int64_t>(hashes.size()) != cp.upto_seq - previous) {
      return DataLoss("the audit blocks to archive are incomplete; run `consentry audit verify`");
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt keep, c->Prepare("INSERT INTO audit_archived_hashes(seq, entry_hash) VALUES (?, ?)"));
    for (size_t i = 0; i < hashes.size(); ++i) {
      sqlite3_reset(keep);
      Binder(keep).Int(previous + static_cast<int64_t>(i) + 1).Blob(hashes[i]);
      CS_RETURN_IF_ERROR(StepDone(*c, keep, "keep archived hashes"));
    }
    // The one sanctioned delete: lift the append-only trigger for it, inside
    // this transaction, and put it back before commit.
    CS_RETURN_IF_ERROR(c->Exec("DROP TRIGGER audit_blocks_append_only_delete"));
    CS_ASSIGN_OR_RETURN(ScopedStmt del, c->Prepare("DELETE FROM audit_blocks WHERE last_seq <= ?"));
    Binder(del).Int(cp.upto_seq);
    CS_RETURN_IF_ERROR(StepDone(*c, del, "archive entries"));
    CS_ASSIGN_OR_RETURN(ScopedStmt unpost, c->Prepare("DELETE FROM audit_postings WHERE block <= ?"));
    Binder(unpost).Int(cp.upto_seq);
    CS_RETURN_IF_ERROR(StepDone(*c, unpost, "drop archived postings"));
    return c->Exec("CREATE TRIGGER audit_blocks_append_only_delete BEFORE DELETE ON audit_blocks "
                   "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END");
  }

  Result<int64_t> IndexPending(int64_t max_entries) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(int64_t upto, IndexedUptoOn(*c));
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT COALESCE(MAX(upto_seq), 0) FROM audit_checkpoints"));
      if (sqlite3_step(s) != SQLITE_ROW) return SqliteError(c->db(), SQLITE_ERROR, "read checkpoint");
      upto = std::max<int64_t>(upto, sqlite3_column_int64(s, 0));
    }
    std::vector<std::pair<std::string, int64_t>> postings;
    int64_t entries = 0, last = upto;
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT first_seq, last_seq, records FROM audit_blocks "
                                                   "WHERE first_seq > ? ORDER BY first_seq"));
      Binder(s).Int(upto);
      int rc = SQLITE_DONE;
      while (entries < max_entries && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const int64_t first = sqlite3_column_int64(s, 0);
        const size_t before = postings.size();
        ForEachInBlock(first, -1, ColumnView(s, 2), {}, [&](int64_t, std::string_view, std::string_view,
                                                        const std::optional<AuditRecordView>& view) {
          if (!view) return false;  // a damaged block: verification reports it
          postings.emplace_back("t" + std::string(view->fields[0]), first);
          if (!view->fields[4].empty()) postings.emplace_back("s" + std::string(view->fields[4]), first);
          ++entries;
          return true;
        });
        // One posting per term and block.
        std::sort(postings.begin() + static_cast<long>(before), postings.end());
        postings.erase(std::unique(postings.begin() + static_cast<long>(before), postings.end()), postings.end());
        last = sqlite3_column_int64(s, 1);
      }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read audit blocks to index");
    }
    if (last == upto) return int64_t{0};
    // In term order, so each index page is visited once per call.
    std::sort(postings.begin(), postings.end());
    CS_ASSIGN_OR_RETURN(ScopedStmt ins, c->Prepare("INSERT OR IGNORE INTO audit_postings(term, block) VALUES (?, ?)"));
    for (const auto& [term, block] : postings) {
      sqlite3_reset(ins);
      Binder(ins).Text(term).Int(block);
      CS_RETURN_IF_ERROR(StepDone(*c, ins, "index audit block"));
    }
    CS_ASSIGN_OR_RETURN(ScopedStmt state, c->Prepare("INSERT INTO audit_index_state(id, indexed_upto) VALUES (1, ?) "
                                                     "ON CONFLICT(id) DO UPDATE SET indexed_upto = excluded.indexed_upto"));
    Binder(state).Int(last);
    CS_RETURN_IF_ERROR(StepDone(*c, state, "record audit index"));
    return entries;
  }

  Result<int64_t> IndexedUpto() override {
    auto c = acquire_();
    return IndexedUptoOn(*c);
  }

  Status ClearIndex() override {
    auto c = acquire_();
    return c->Exec("DELETE FROM audit_postings; DELETE FROM audit_index_state;");
  }

  Status ScanPostings(const std::function<void(std::string_view term, int64_t block)>& visit) override {
    auto c = acquire_();
    ScopedMmap mapped(*c);
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT term, block FROM audit_postings"));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) visit(ColumnView(s, 0), sqlite3_column_int64(s, 1));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "scan audit index");
    return Status::Ok();
  }

  Result<std::optional<AuditCheckpoint>> LatestCheckpoint() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT upto_seq, last_hash, frontier, archived_at_ms, retain_until_ms, "
                                                 "segment_name, segment_sha256 FROM audit_checkpoints "
                                                 "ORDER BY upto_seq DESC LIMIT 1"));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<AuditCheckpoint>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read checkpoint");
    AuditCheckpoint cp;
    cp.upto_seq = sqlite3_column_int64(s, 0);
    cp.last_hash = ColumnBlob(s, 1);
    cp.frontier = ColumnBlob(s, 2);
    cp.archived_at_ms = sqlite3_column_int64(s, 3);
    cp.retain_until_ms = sqlite3_column_int64(s, 4);
    cp.segment_name = ColumnText(s, 5);
    cp.segment_sha256 = ColumnBlob(s, 6);
    return std::optional<AuditCheckpoint>(std::move(cp));
  }

  Status InsertTreeHead(const TreeHead& h) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO audit_tree_heads(" + std::string(kHeadColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?)"));
    Binder(s).Int(h.tree_size).Blob(h.root_hash).Int(h.ts_ms).Text(h.key_id).Blob(h.signature).Blob(h.frontier);
    return StepDone(*c, s, "insert tree head");
  }

  Result<std::vector<TreeHead>> TreeHeads() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kHeadColumns) +
                                                 " FROM audit_tree_heads ORDER BY tree_size"));
    std::vector<TreeHead> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadTreeHead(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read tree heads");
    return out;
  }

  Result<std::optional<TreeHead>> LatestTreeHead() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kHeadColumns) +
                                                 " FROM audit_tree_heads ORDER BY tree_size DESC LIMIT 1"));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<TreeHead>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read tree head");
    return std::optional<TreeHead>(ReadTreeHead(s));
  }

  Status PutMerkleNode(int level, int64_t index, const std::string& hash) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO audit_merkle_nodes(level, idx, hash) VALUES (?, ?, ?)"));
    Binder(s).Int(level).Int(index).Blob(hash);
    return StepDone(*c, s, "put merkle node");
  }

  Result<std::optional<std::string>> GetMerkleNode(int level, int64_t index) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT hash FROM audit_merkle_nodes WHERE level = ? AND idx = ?"));
    Binder(s).Int(level).Int(index);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read merkle node");
    return std::optional<std::string>(ColumnBlob(s, 0));
  }

  Result<int64_t> CountMerkleNodes(int level) override {
    auto c = acquire_();
    // Nodes are added in order from 0, so the count is one past the largest index.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_merkle_nodes WHERE level = ?"));
    Binder(s).Int(level);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "count merkle nodes");
    return sqlite3_column_int64(s, 0);
  }

 private:
  static Result<int64_t> IndexedUptoOn(Connection& c) {
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c.Prepare("SELECT indexed_upto FROM audit_index_state WHERE id = 1"));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return int64_t{0};
    if (rc != SQLITE_ROW) return SqliteError(c.db(), rc, "read audit index state");
    return sqlite3_column_int64(s, 0);
  }

  // The first seq of the block holding `seq` (or `seq` itself when none does).
  static Result<int64_t> BlockStartOn(Connection& c, int64_t seq) {
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c.Prepare("SELECT first_seq FROM audit_blocks WHERE first_seq <= ? "
                                                "ORDER BY first_seq DESC LIMIT 1"));
    Binder(s).Int(seq);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return seq;
    if (rc != SQLITE_ROW) return SqliteError(c.db(), rc, "find audit block");
    return sqlite3_column_int64(s, 0);
  }

  // Visits every entry with seq >= from_seq, block by block, in order.
  template <typename Visit>
  Status ScanBlocks(int64_t from_seq, Visit&& visit) {
    auto c = acquire_();
    ScopedMmap mapped(*c);
    CS_ASSIGN_OR_RETURN(int64_t start, BlockStartOn(*c, from_seq));
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT first_seq, records, hashes, last_seq FROM audit_blocks "
                                                 "WHERE first_seq >= ? ORDER BY first_seq"));
    Binder(s).Int(start);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const int64_t first = sqlite3_column_int64(s, 0);
      bool go_on = ForEachInBlock(first, sqlite3_column_int64(s, 3), ColumnView(s, 1), ColumnView(s, 2),
                                  [&](int64_t seq, std::string_view record, std::string_view hash,
                                      const std::optional<AuditRecordView>& view) {
                                    return seq < from_seq || visit(seq, first, record, hash, view);
                                  });
      if (!go_on) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "scan audit");
    return Status::Ok();
  }

  static Tenant ReadTenant(sqlite3_stmt* s) {
    Tenant t{ColumnText(s, 0), ColumnText(s, 1), sqlite3_column_int64(s, 2), std::nullopt, std::nullopt};
    if (sqlite3_column_type(s, 3) != SQLITE_NULL) t.audit_retention_days = sqlite3_column_int64(s, 3);
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) t.content_policy = ColumnText(s, 4);
    return t;
  }

  Result<Tenant> OneTenant(std::string_view sql, const std::string& arg) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder(s).Text(arg);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such tenant");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read tenant");
    return ReadTenant(s);
  }

  static Result<ApiKeyRecord> OneKey(Connection& c, sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such API key");
    if (rc != SQLITE_ROW) return SqliteError(c.db(), rc, "read key");
    return ReadApiKey(s);
  }

  std::function<ConnectionHandle()> acquire_;
  const bool in_transaction_;
  std::optional<std::pair<int64_t, std::string>> tail_;  // the last block this transaction appended
};

class SqliteTransaction final : public StoreTransaction {
 public:
  explicit SqliteTransaction(Connection* c)
      : conn_(c),
        repos_([c] { return ConnectionHandle(c); }, true),
        messaging_(NewMessagingRepository([c] { return ConnectionHandle(c); })),
        consents_(NewConsentRepository([c] { return ConnectionHandle(c); })),
        vault_(NewVaultRepository([c] { return ConnectionHandle(c); })),
        operators_(NewOperatorRepository([c] { return ConnectionHandle(c); })),
        oauth_(NewOAuthRepository([c] { return ConnectionHandle(c); })) {}
  TenantRepository& tenants() override { return repos_; }
  ApiKeyRepository& api_keys() override { return repos_; }
  AuditRepository& audit() override { return repos_; }
  MessagingRepository& messaging() override { return *messaging_; }
  ConsentRepository& consents() override { return *consents_; }
  VaultRepository& vault() override { return *vault_; }
  OperatorRepository& operators() override { return *operators_; }
  OAuthRepository& oauth() override { return *oauth_; }
  Status Savepoint(const std::function<Status(StoreTransaction&)>& body) override {
    // Without an open transaction, InWriteTransaction would start (and
    // commit) one of its own: a unit must never commit apart from its batch.
    if (!StillOpen()) return Unavailable("storage_unavailable", "the transaction was rolled back");
    Status s = InWriteTransaction(*conn_, [&]() -> Status { return body(*this); });
    if (!s.ok()) repos_.ForgetTail();  // what the unit appended was rolled back
    return s;
  }
  bool StillOpen() const override { return sqlite3_get_autocommit(conn_->db()) == 0; }

 private:
  Connection* conn_;
  SqliteRepositories repos_;
  std::unique_ptr<MessagingRepository> messaging_;
  std::unique_ptr<ConsentRepository> consents_;
  std::unique_ptr<VaultRepository> vault_;
  std::unique_ptr<OperatorRepository> operators_;
  std::unique_ptr<OAuthRepository> oauth_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<ConnectionPool> pool)
      : pool_(std::move(pool)),
        repos_([this] { return ConnectionHandle(pool_->Acquire()); }),
        messaging_(NewMessagingRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        consents_(NewConsentRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        vault_(NewVaultRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        operators_(NewOperatorRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        oauth_(NewOAuthRepository([this] { return ConnectionHandle(pool_->Acquire()); })) {}

  TenantRepository& tenants() override { return repos_; }
  ApiKeyRepository& api_keys() override { return repos_; }
  AuditRepository& audit() override { return repos_; }
  MessagingRepository& messaging() override { return *messaging_; }
  ConsentRepository& consents() override { return *consents_; }
  VaultRepository& vault() override { return *vault_; }
  OperatorRepository& operators() override { return *operators_; }
  OAuthRepository& oauth() override { return *oauth_; }

  Status InTransaction(const std::function<Status(StoreTransaction&)>& body) override {
    auto c = pool_->Acquire();
    Connection* conn = &*c;
    return InWriteTransaction(*c, [&]() -> Status {
      SqliteTransaction tx(conn);
      return body(tx);
    });
  }

  Status Ping() override {
    auto c = pool_->Acquire();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT 1"));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "ping");
    return Status::Ok();
  }

  Status Checkpoint() override {
    auto c = pool_->Acquire();
    int log_frames = 0, checkpointed = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed);
    if (rc != SQLITE_OK) return SqliteError(c->db(), rc, "checkpoint");
    return Status::Ok();
  }

  Status SnapshotTo(const std::string& path) override {
    auto c = pool_->Acquire();
    // VACUUM INTO reads in one transaction (a consistent snapshot while
    // writers go on in the WAL) and writes a compacted copy without free pages.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("VACUUM INTO ?"));
    Binder(s).Text(path);
    return StepDone(*c, s, "snapshot");
  }

  Status CheckIntegrity() override {
    auto c = pool_->Acquire();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("PRAGMA integrity_check(1)"));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "integrity check");
    std::string first = ColumnText(s, 0);
    if (first != "ok") {
      return Status(StatusCode::kDataLoss, "database_corrupt", "the database fails its integrity check: " + first);
    }
    return Status::Ok();
  }

  Result<MigrationStatus> GetMigrationStatus() override {
    auto c = pool_->Acquire();
    return ReadMigrationStatus(*c);
  }

  Result<MigrationStatus> Migrate() override {
    auto c = pool_->Acquire();
    CS_RETURN_IF_ERROR(c->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at_ms INTEGER NOT NULL) STRICT"));
    std::vector<std::string> applied;
    for (const auto& m : store_internal::SqliteMigrations()) {
      Status s = InWriteTransaction(*c, [&]() -> Status {
        // Re-check inside the transaction: another process may be migrating too.
        CS_ASSIGN_OR_RETURN(MigrationStatus now, ReadMigrationStatus(*c));
        if (now.current_version >= m.version) return Status::Ok();
        CS_RETURN_IF_ERROR(c->Exec(m.sql));
        CS_ASSIGN_OR_RETURN(ScopedStmt ins,
                            c->Prepare("INSERT INTO schema_migrations(version, name, applied_at_ms) "
                                       "VALUES (?, ?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"));
        Binder(ins).Int(m.version).Text(m.name);
        CS_RETURN_IF_ERROR(StepDone(*c, ins, "record migration"));
        applied.emplace_back(m.name);
        return Status::Ok();
      });
      CS_RETURN_IF_ERROR(s);
    }
    CS_ASSIGN_OR_RETURN(MigrationStatus status, ReadMigrationStatus(*c));
    status.applied_now = std::move(applied);
    return status;
  }

 private:
  static Result<MigrationStatus> ReadMigrationStatus(Connection& c) {
    MigrationStatus status;
    status.latest_version = static_cast<int>(store_internal::SqliteMigrations().size());
    {
      CS_ASSIGN_OR_RETURN(ScopedStmt exists, c.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                                       "name = 'schema_migrations'"));
      int rc = sqlite3_step(exists);
      if (rc == SQLITE_DONE) return status;
      if (rc != SQLITE_ROW) return SqliteError(c.db(), rc, "read schema version");
    }
    // Not cached: the table may not have existed when the connection was opened.
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(c.db(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &raw, nullptr);
    StmtPtr s(raw);
    if (rc != SQLITE_OK) return SqliteError(c.db(), rc, "read schema version");
    rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return SqliteError(c.db(), rc, "read schema version");
    status.current_version = sqlite3_column_int(s.get(), 0);
    return status;
  }

  std::unique_ptr<ConnectionPool> pool_;
  SqliteRepositories repos_;
  std::unique_ptr<MessagingRepository> messaging_;
  std::unique_ptr<ConsentRepository> consents_;
  std::unique_ptr<VaultRepository> vault_;
  std::unique_ptr<OperatorRepository> operators_;
  std::unique_ptr<OAuthRepository> oauth_;
};

Result<std::unique_ptr<Connection>> OpenConnection(const SqliteOptions& options) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(options.path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "open " + options.path);
  sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout_ms));
  sqlite3_extended_result_codes(db.get(), 1);
  auto c = std::make_unique<Connection>(std::move(db));
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA journal_mode=WAL"));
  CS_RETURN_IF_ERROR(c->Exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA foreign_keys=ON"));
  // Deleted content is overwritten, so erased data does not linger in free pages.
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA secure_delete=ON"));
  // A larger page cache: scans (audit verification, exports) are
  // read-bound. Memory maps only for long scans (ScopedMmap).
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA mmap_size=0"));
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA cache_size=-16384"));
  // Statement journals in memory: the group committer runs every unit in a
  // savepoint, and SQLite copies each page a savepoint first touches into
  // its statement journal, a temporary file by default (a write system call
  // per page, most of the cost of an insert under load).
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA temp_store=MEMORY"));
  return c;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  auto pool = std::make_unique<ConnectionPool>();
  for (int i = 0; i < std::max(1, options.pool_size); ++i) {
    CS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, OpenConnection(options));
    pool->Add(std::move(c));
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(pool)));
}

}  // namespace cs
