// SQLite implementation of VaultRepository (store.h): subject data keys and
// the erasure journal.
#include <cstdlib>

#include "store/sqlite/sqlite_internal.h"

namespace cs::sqlite_internal {

namespace {

constexpr std::string_view kErasureColumns =
    "id, tenant_id, subject, step, actor, requested_at_ms, updated_at_ms, details";

constexpr std::string_view kSubjectKeyColumns =
    "tenant_id, subject, generation, wrapped, created_at_ms, destroyed_at_ms";

SubjectKeyRecord ReadSubjectKey(sqlite3_stmt* s) {
  SubjectKeyRecord k;
  k.tenant_id = ColumnText(s, 0);
  k.subject = ColumnText(s, 1);
  k.generation = sqlite3_column_int64(s, 2);
  if (sqlite3_column_type(s, 3) != SQLITE_NULL) k.wrapped = ColumnBlob(s, 3);
  k.created_at_ms = sqlite3_column_int64(s, 4);
  if (sqlite3_column_type(s, 5) != SQLITE_NULL) k.destroyed_at_ms = sqlite3_column_int64(s, 5);
  return k;
}

ErasureRecord ReadErasure(sqlite3_stmt* s) {
  ErasureRecord e;
  e.id = ColumnText(s, 0);
  e.tenant_id = ColumnText(s, 1);
  e.subject = ColumnText(s, 2);
  e.step = ColumnText(s, 3);
  e.actor = ColumnText(s, 4);
  e.requested_at_ms = sqlite3_column_int64(s, 5);
  e.updated_at_ms = sqlite3_column_int64(s, 6);
  e.details = ColumnText(s, 7);
  return e;
}

class SqliteVault final : public VaultRepository {
 public:
  explicit SqliteVault(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

  Result<std::optional<SubjectKeyRecord>> GetSubjectKey(const std::string& tenant_id,
                                                        const std::string& subject) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT generation, wrapped, created_at_ms, destroyed_at_ms "
                                                 "FROM subject_keys WHERE tenant_id = ? AND subject = ?"));
    Binder(s).Text(tenant_id).Text(subject);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<SubjectKeyRecord>();
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read subject key");
    SubjectKeyRecord k;
    k.tenant_id = tenant_id;
    k.subject = subject;
    k.generation = sqlite3_column_int64(s, 0);
    if (sqlite3_column_type(s, 1) != SQLITE_NULL) k.wrapped = ColumnBlob(s, 1);
    k.created_at_ms = sqlite3_column_int64(s, 2);
    if (sqlite3_column_type(s, 3) != SQLITE_NULL) k.destroyed_at_ms = sqlite3_column_int64(s, 3);
    return std::optional<SubjectKeyRecord>(std::move(k));
  }

  Result<bool> InsertSubjectKey(const SubjectKeyRecord& k) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR IGNORE INTO subject_keys(tenant_id, subject, generation, "
                                                 "wrapped, created_at_ms) VALUES (?, ?, ?, ?, ?)"));
    Binder(s).Text(k.tenant_id).Text(k.subject).Int(k.generation).Blob(k.wrapped.value_or("")).Int(k.created_at_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "insert subject key"));
    return sqlite3_changes(c->db()) == 1;
  }

  Result<bool> RenewSubjectKey(const SubjectKeyRecord& k, int64_t previous_generation) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE subject_keys SET generation = ?, wrapped = ?, "
                                                 "created_at_ms = ?, destroyed_at_ms = NULL WHERE tenant_id = ? AND "
                                                 "subject = ? AND generation = ? AND wrapped IS NULL"));
    Binder(s).Int(k.generation).Blob(k.wrapped.value_or("")).Int(k.created_at_ms).Text(k.tenant_id).Text(k.subject)
        .Int(previous_generation);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "renew subject key"));
    return sqlite3_changes(c->db()) == 1;
  }

  Status DestroySubjectKey(const std::string& tenant_id, const std::string& subject, int64_t at_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s,
                        c->Prepare("INSERT INTO subject_keys(tenant_id, subject, generation, wrapped, created_at_ms, "
                                   "destroyed_at_ms) VALUES (?, ?, 1, NULL, ?, ?) ON CONFLICT(tenant_id, subject) DO "
                                   "UPDATE SET wrapped = NULL, destroyed_at_ms = COALESCE(destroyed_at_ms, "
                                   "excluded.destroyed_at_ms)"));
    Binder(s).Text(tenant_id).Text(subject).Int(at_ms).Int(at_ms);
    return StepDone(*c, s, "destroy subject key");
  }

  Result<int64_t> CountSubjectKeys(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT COUNT(*) FROM subject_keys WHERE tenant_id = ? AND "
                                                 "wrapped IS NOT NULL"));
    Binder(s).Text(tenant_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "count subject keys");
    return static_cast<int64_t>(sqlite3_column_int64(s, 0));
  }

  Result<ErasedCounts> EraseSubjectData(const std::string& tenant_id, const std::string& subject,
                                        int64_t at_ms) override {
    auto c = acquire_();
    ErasedCounts n;
    auto run = [&](std::string_view sql, auto&& bind, int64_t* count) -> Status {
      CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(std::string(sql)));
      Binder b(s);
      bind(b);
      CS_RETURN_IF_ERROR(StepDone(*c, s, "erase subject data"));
      if (count != nullptr) *count += sqlite3_changes(c->db());
      return Status::Ok();
    };
    // Queued sends that have not reached Meta are cancelled for good.
    CS_RETURN_IF_ERROR(run("UPDATE messages SET state = 'failed', error_code = 'subject_erased', updated_at_ms = ? "
                           "WHERE id IN (SELECT message_id FROM outbound_jobs WHERE tenant_id = ? AND subject = ? "
                           "AND in_flight = 0)",
                           [&](Binder& b) { b.Int(at_ms).Text(tenant_id).Text(subject); }, &n.cancelled_sends));
    CS_RETURN_IF_ERROR(run("DELETE FROM outbound_jobs WHERE tenant_id = ? AND subject = ? AND in_flight = 0",
                           [&](Binder& b) { b.Text(tenant_id).Text(subject); }, nullptr));
    CS_RETURN_IF_ERROR(run("UPDATE messages SET payload_sealed = X'' WHERE tenant_id = ? AND subject = ? AND "
                           "length(payload_sealed) > 0",
                           [&](Binder& b) { b.Text(tenant_id).Text(subject); }, &n.outbound_payloads));
    CS_RETURN_IF_ERROR(run("DELETE FROM inbound_messages WHERE tenant_id = ? AND subject = ?",
                           [&](Binder& b) { b.Text(tenant_id).Text(subject); }, &n.inbound_messages));
    // The files they sent stay with Meta (7 days at most) but no longer reachable through the gateway.
    CS_RETURN_IF_ERROR(run("DELETE FROM media_refs WHERE tenant_id = ? AND subject = ?",
                           [&](Binder& b) { b.Text(tenant_id).Text(subject); }, nullptr));
    CS_RETURN_IF_ERROR(run("DELETE FROM outbox WHERE tenant_id = ? AND subject = ?",
                           [&](Binder& b) { b.Text(tenant_id).Text(subject); }, &n.forwarded_events));
    CS_RETURN_IF_ERROR(run("DELETE FROM service_windows WHERE subject = ? AND channel_id IN "
                           "(SELECT id FROM channels WHERE tenant_id = ?)",
                           [&](Binder& b) { b.Text(subject).Text(tenant_id); }, nullptr));
    return n;
  }

  Status InsertErasure(const ErasureRecord& e) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO erasures(" + std::string(kErasureColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(e.id).Text(e.tenant_id).Text(e.subject).Text(e.step).Text(e.actor).Int(e.requested_at_ms)
        .Int(e.updated_at_ms).Text(e.details);
    return StepDone(*c, s, "insert erasure");
  }

  Status UpdateErasure(const ErasureRecord& e) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE erasures SET step = ?, updated_at_ms = ?, details = ? "
                                                 "WHERE id = ?"));
    Binder(s).Text(e.step).Int(e.updated_at_ms).Text(e.details).Text(e.id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update erasure"));
    if (sqlite3_changes(c->db()) == 0) return NotFound("no such erasure");
    return Status::Ok();
  }

  Result<ErasureRecord> GetErasure(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kErasureColumns) +
                                                 " FROM erasures WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such erasure");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read erasure");
    return ReadErasure(s);
  }

  Result<std::vector<ErasureRecord>> PendingErasures() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kErasureColumns) +
                                                 " FROM erasures WHERE step <> 'done' ORDER BY requested_at_ms, id"));
    std::vector<ErasureRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadErasure(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list erasures");
    return out;
  }

  Result<std::vector<SubjectKeyRecord>> ListSubjectKeys(const std::string& after_tenant,
                                                        const std::string& after_subject, int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSubjectKeyColumns) +
                                                 " FROM subject_keys WHERE (tenant_id, subject) > (?, ?) "
                                                 "ORDER BY tenant_id, subject LIMIT ?"));
    Binder(s).Text(after_tenant).Text(after_subject).Int(limit);
    std::vector<SubjectKeyRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadSubjectKey(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list subject keys");
    return out;
  }

  Status PutSubjectKey(const SubjectKeyRecord& k) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT OR REPLACE INTO subject_keys(" +
                                                 std::string(kSubjectKeyColumns) + ") VALUES (?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(k.tenant_id).Text(k.subject).Int(k.generation).OptBlob(k.wrapped).Int(k.created_at_ms)
        .OptInt(k.destroyed_at_ms);
    return StepDone(*c, s, "put subject key");
  }

  Result<bool> ReplaceWrappedSubjectKey(const SubjectKeyRecord& k, const std::string& rewrapped) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE subject_keys SET wrapped = ? WHERE tenant_id = ? AND "
                                                 "subject = ? AND generation = ? AND wrapped = ?"));
    Binder(s).Blob(rewrapped).Text(k.tenant_id).Text(k.subject).Int(k.generation).Blob(k.wrapped.value_or(""));
    CS_RETURN_IF_ERROR(StepDone(*c, s, "rewrap subject key"));
    return sqlite3_changes(c->db()) == 1;
  }

  Result<std::map<uint32_t, int64_t>> CountSubjectKeysByWrappingVersion(const std::string& tenant_id) override {
    auto c = acquire_();
    // Bytes 2..5 of a ciphertext are its key version, big-endian.
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT hex(substr(wrapped, 3, 4)), COUNT(*) FROM subject_keys "
                                                 "WHERE tenant_id = ? AND wrapped IS NOT NULL GROUP BY 1"));
    Binder(s).Text(tenant_id);
    std::map<uint32_t, int64_t> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const std::string hex = ColumnText(s, 0);
      if (hex.size() != 8) continue;  // not a ciphertext (too short to name a version)
      out[static_cast<uint32_t>(std::strtoul(hex.c_str(), nullptr, 16))] += sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "count subject keys by version");
    return out;
  }

  Result<int64_t> DeleteAllSubjectKeys() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM subject_keys"));
    CS_RETURN_IF_ERROR(StepDone(*c, s, "delete subject keys"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Result<std::vector<ErasureRecord>> ListErasures() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kErasureColumns) +
                                                 " FROM erasures ORDER BY requested_at_ms, id"));
    std::vector<ErasureRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadErasure(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list erasures");
    return out;
  }

 private:
  std::function<ConnectionHandle()> acquire_;
};

}  // namespace

std::unique_ptr<VaultRepository> NewVaultRepository(std::function<ConnectionHandle()> acquire) {
  return std::make_unique<SqliteVault>(std::move(acquire));
}

}  // namespace cs::sqlite_internal
