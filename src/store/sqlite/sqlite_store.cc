// SQLite backend of store.h.
//
// Design: a fixed pool of connections (WAL lets readers run beside the one
// writer); each connection caches its prepared statements. Writes use
// BEGIN IMMEDIATE so lock waits happen up front under busy_timeout and a
// transaction never fails half-way on a lock upgrade.
#include <sqlite3.h>

#include <condition_variable>
#include <map>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "audit/record_format.h"
#include "common/strings.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_internal.h"
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

// Reads into `r`, reusing its string buffers (exports read millions). A
// record that does not parse keeps only its seq: verification then reports
// it as modified.
void ReadAuditInto(sqlite3_stmt* s, AuditRecord& r) {
  std::string_view record(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                          static_cast<size_t>(sqlite3_column_bytes(s, 1)));
  std::optional<AuditRecordView> view = ParseAuditRecord(record);
  if (view) {
    AssignAuditRecord(*view, r);
  } else {
    r = AuditRecord{};
    r.seq = sqlite3_column_int64(s, 0);
  }
  const auto* hash = static_cast<const char*>(sqlite3_column_blob(s, 2));
  r.entry_hash.assign(hash ? hash : "", static_cast<size_t>(sqlite3_column_bytes(s, 2)));
}

AuditRecord ReadAudit(sqlite3_stmt* s) {
  AuditRecord r;
  ReadAuditInto(s, r);
  return r;
}

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
constexpr std::string_view kAuditColumns = "seq, record, entry_hash";
constexpr std::string_view kHeadColumns = "tree_size, root_hash, ts_ms, key_id, signature, frontier";

// The repositories, over whatever connection `acquire` hands out.
class SqliteRepositories final : public TenantRepository, public ApiKeyRepository, public AuditRepository {
 public:
  explicit SqliteRepositories(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

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
  Result<std::pair<int64_t, std::string>> Tail() override {
    auto c = acquire_();
    // After everything was archived, the tail is the checkpoint's last entry.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(
                                          "SELECT seq, entry_hash FROM (SELECT seq, entry_hash FROM audit_entries "
                                          "ORDER BY seq DESC LIMIT 1) UNION ALL SELECT upto_seq, last_hash FROM "
                                          "(SELECT upto_seq, last_hash FROM audit_checkpoints ORDER BY upto_seq DESC "
                                          "LIMIT 1) ORDER BY 1 DESC LIMIT 1"));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::pair<int64_t, std::string>(0, "");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read audit tail");
    return std::pair<int64_t, std::string>(sqlite3_column_int64(s, 0), ColumnBlob(s, 1));
  }

  Status Insert(const AuditRecord& r) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO audit_entries(seq, ts_ms, tenant_id, actor_id, action, "
                                                 "subject, record, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s)
        .Int(r.seq)
        .Int(r.ts_ms)
        .Text(r.tenant_id)
        .Text(r.actor_id)
        .Text(r.action)
        .Text(r.subject)
        .Blob(EncodeAuditRecord(r))
        .Blob(r.entry_hash);
    return StepDone(*c, s, "append audit entry");
  }

  Result<std::vector<AuditRecord>> Query(const AuditQuery& q) override {
    auto c = acquire_();
    // One statement with optional filters: "? IS NULL OR column = ?" keeps it prepared once.
    CS_ASSIGN_OR_RETURN(ScopedStmt s,
                        c->Prepare("SELECT " + std::string(kAuditColumns) +
                                   " FROM audit_entries WHERE seq > ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
                                   " AND (?4 IS NULL OR tenant_id = ?4) AND (?5 IS NULL OR actor_id = ?5)"
                                   " AND (?6 IS NULL OR subject = ?6) AND (?7 IS NULL OR action = ?7)"
                                   " ORDER BY seq LIMIT ?8"));
    sqlite3_bind_int64(s, 1, q.after_seq);
    sqlite3_bind_int64(s, 2, q.from_ms);
    sqlite3_bind_int64(s, 3, q.to_ms);
    auto bind_opt = [&](int index, const std::optional<std::string>& v) {
      if (v) sqlite3_bind_text(s, index, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
      else sqlite3_bind_null(s, index);
    };
    bind_opt(4, q.tenant_id);
    bind_opt(5, q.actor_id);
    bind_opt(6, q.subject);
    bind_opt(7, q.action);
    sqlite3_bind_int64(s, 8, q.limit);
    std::vector<AuditRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadAudit(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "query audit");
    return out;
  }

  Status Scan(int64_t from_seq, const std::function<bool(const AuditRecord&)>& visit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kAuditColumns) +
                                                 " FROM audit_entries WHERE seq >= ? ORDER BY seq"));
    Binder(s).Int(from_seq);
    int rc;
    AuditRecord record;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      ReadAuditInto(s, record);
      if (!visit(record)) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "scan audit");
    return Status::Ok();
  }

  Status ScanRaw(int64_t from_seq, const std::function<bool(const AuditRawEntry&)>& visit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT seq, ts_ms, tenant_id, actor_id, action, subject, record, "
                                                 "entry_hash FROM audit_entries WHERE seq >= ? ORDER BY seq"));
    Binder(s).Int(from_seq);
    auto view = [&s](int col) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
      return std::string_view(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, col)));
    };
    int rc;
    AuditRawEntry e;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      e.seq = sqlite3_column_int64(s, 0);
      e.ts_ms = sqlite3_column_int64(s, 1);
      e.tenant_id = view(2);
      e.actor_id = view(3);
      e.action = view(4);
      e.subject = view(5);
      e.record = view(6);
      e.entry_hash = view(7);
      if (!visit(e)) return Status::Ok();
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "scan audit");
    return Status::Ok();
  }

  Result<std::vector<std::string>> EntryHashes(int64_t from_seq, int64_t to_seq) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s,
                        c->Prepare("SELECT entry_hash FROM (SELECT seq, entry_hash FROM audit_archived_hashes "
                                   "WHERE seq >= ?1 AND seq <= ?2 UNION ALL SELECT seq, entry_hash FROM audit_entries "
                                   "WHERE seq >= ?1 AND seq <= ?2) ORDER BY seq"));
    Binder(s).Int(from_seq).Int(to_seq);
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ColumnBlob(s, 0));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "read audit hashes");
    return out;
  }

  Status Archive(const AuditCheckpoint& cp) override {
    auto c = acquire_();
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
    CS_ASSIGN_OR_RETURN(ScopedStmt keep, c->Prepare("INSERT INTO audit_archived_hashes(seq, entry_hash) SELECT seq, "
                                                    "entry_hash FROM audit_entries WHERE seq <= ?"));
    Binder(keep).Int(cp.upto_seq);
    CS_RETURN_IF_ERROR(StepDone(*c, keep, "keep archived hashes"));
    // The one sanctioned delete: lift the append-only trigger for it, inside
    // this transaction, and put it back before commit.
    CS_RETURN_IF_ERROR(c->Exec("DROP TRIGGER audit_entries_append_only_delete"));
    CS_ASSIGN_OR_RETURN(ScopedStmt del, c->Prepare("DELETE FROM audit_entries WHERE seq <= ?"));
    Binder(del).Int(cp.upto_seq);
    CS_RETURN_IF_ERROR(StepDone(*c, del, "archive entries"));
    return c->Exec("CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries "
                   "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END");
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
};

class SqliteTransaction final : public StoreTransaction {
 public:
  explicit SqliteTransaction(Connection* c)
      : conn_(c),
        repos_([c] { return ConnectionHandle(c); }),
        messaging_(NewMessagingRepository([c] { return ConnectionHandle(c); })),
        consents_(NewConsentRepository([c] { return ConnectionHandle(c); })),
        vault_(NewVaultRepository([c] { return ConnectionHandle(c); })) {}
  TenantRepository& tenants() override { return repos_; }
  ApiKeyRepository& api_keys() override { return repos_; }
  AuditRepository& audit() override { return repos_; }
  MessagingRepository& messaging() override { return *messaging_; }
  ConsentRepository& consents() override { return *consents_; }
  VaultRepository& vault() override { return *vault_; }
  Status Savepoint(const std::function<Status(StoreTransaction&)>& body) override {
    // Without an open transaction, InWriteTransaction would start (and
    // commit) one of its own: a unit must never commit apart from its batch.
    if (!StillOpen()) return Unavailable("storage_unavailable", "the transaction was rolled back");
    return InWriteTransaction(*conn_, [&]() -> Status { return body(*this); });
  }
  bool StillOpen() const override { return sqlite3_get_autocommit(conn_->db()) == 0; }

 private:
  Connection* conn_;
  SqliteRepositories repos_;
  std::unique_ptr<MessagingRepository> messaging_;
  std::unique_ptr<ConsentRepository> consents_;
  std::unique_ptr<VaultRepository> vault_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::unique_ptr<ConnectionPool> pool)
      : pool_(std::move(pool)),
        repos_([this] { return ConnectionHandle(pool_->Acquire()); }),
        messaging_(NewMessagingRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        consents_(NewConsentRepository([this] { return ConnectionHandle(pool_->Acquire()); })),
        vault_(NewVaultRepository([this] { return ConnectionHandle(pool_->Acquire()); })) {}

  TenantRepository& tenants() override { return repos_; }
  ApiKeyRepository& api_keys() override { return repos_; }
  AuditRepository& audit() override { return repos_; }
  MessagingRepository& messaging() override { return *messaging_; }
  ConsentRepository& consents() override { return *consents_; }
  VaultRepository& vault() override { return *vault_; }

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
  // Reads through a memory map instead of pread copies, and a larger page
  // cache: scans (audit verification, exports) are read-bound.
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA mmap_size=268435456"));
  CS_RETURN_IF_ERROR(c->Exec("PRAGMA cache_size=-16384"));
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
