// SQLite implementation of OperatorRepository (operator_repository.h).
#include "store/sqlite/sqlite_internal.h"

namespace cs::sqlite_internal {

namespace {


constexpr std::string_view kOperatorColumns =
    "id, tenant_id, login, display_name, roles, state, password_hash, totp_sealed, mfa_enrolled, totp_last_step, "
    "recovery_hashes, created_at_ms, updated_at_ms";

OperatorRecord ReadOperator(sqlite3_stmt* s) {
  OperatorRecord o;
  o.id = ColumnText(s, 0);
  o.tenant_id = ColumnText(s, 1);
  o.login = ColumnText(s, 2);
  o.display_name = ColumnText(s, 3);
  o.roles = SplitList(ColumnText(s, 4));
  o.state = ColumnText(s, 5);
  o.password_hash = ColumnText(s, 6);
  if (sqlite3_column_type(s, 7) != SQLITE_NULL) o.totp_sealed = ColumnBlob(s, 7);
  o.mfa_enrolled = sqlite3_column_int64(s, 8) != 0;
  o.totp_last_step = sqlite3_column_int64(s, 9);
  o.recovery_hashes = SplitList(ColumnText(s, 10));
  o.created_at_ms = sqlite3_column_int64(s, 11);
  o.updated_at_ms = sqlite3_column_int64(s, 12);
  return o;
}

constexpr std::string_view kSessionColumns =
    "id, token_hash, tenant_id, operator_id, stage, created_at_ms, last_seen_ms, expires_at_ms, verified_at_ms, "
    "user_agent";

SessionRecord ReadSession(sqlite3_stmt* s) {
  SessionRecord r;
  r.id = ColumnText(s, 0);
  r.token_hash = ColumnText(s, 1);
  r.tenant_id = ColumnText(s, 2);
  r.operator_id = ColumnText(s, 3);
  r.stage = ColumnText(s, 4);
  r.created_at_ms = sqlite3_column_int64(s, 5);
  r.last_seen_ms = sqlite3_column_int64(s, 6);
  r.expires_at_ms = sqlite3_column_int64(s, 7);
  r.verified_at_ms = sqlite3_column_int64(s, 8);
  r.user_agent = ColumnText(s, 9);
  return r;
}

constexpr std::string_view kGrantColumns =
    "id, tenant_id, operator_id, permissions, reason_category, reason_text, granted_by, break_glass, created_at_ms, "
    "expires_at_ms, revoked_at_ms, last_used_ms, reviewed_at_ms, reviewed_by";

std::optional<int64_t> OptColumn(sqlite3_stmt* s, int col) {
  if (sqlite3_column_type(s, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, col);
}

GrantRecord ReadGrant(sqlite3_stmt* s) {
  GrantRecord g;
  g.id = ColumnText(s, 0);
  g.tenant_id = ColumnText(s, 1);
  g.operator_id = ColumnText(s, 2);
  g.permissions = SplitList(ColumnText(s, 3));
  g.reason_category = ColumnText(s, 4);
  g.reason_text = ColumnText(s, 5);
  g.granted_by = ColumnText(s, 6);
  g.break_glass = sqlite3_column_int64(s, 7) != 0;
  g.created_at_ms = sqlite3_column_int64(s, 8);
  g.expires_at_ms = sqlite3_column_int64(s, 9);
  g.revoked_at_ms = OptColumn(s, 10);
  g.last_used_ms = OptColumn(s, 11);
  g.reviewed_at_ms = OptColumn(s, 12);
  g.reviewed_by = ColumnText(s, 13);
  return g;
}

class SqliteOperators final : public OperatorRepository {
 public:
  explicit SqliteOperators(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

  Status InsertOperator(const OperatorRecord& o) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO operators(" + std::string(kOperatorColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(o.id).Text(o.tenant_id).Text(o.login).Text(o.display_name).Text(JoinList(o.roles)).Text(o.state)
        .Text(o.password_hash).Blob(o.totp_sealed).Int(o.mfa_enrolled ? 1 : 0).Int(o.totp_last_step)
        .Text(JoinList(o.recovery_hashes)).Int(o.created_at_ms).Int(o.updated_at_ms);
    return StepDone(*c, s, "insert operator");
  }

  Result<OperatorRecord> GetOperator(const std::string& tenant_id, const std::string& id) override {
    return One("SELECT " + std::string(kOperatorColumns) + " FROM operators WHERE tenant_id = ? AND id = ?", tenant_id,
               id);
  }

  Result<OperatorRecord> FindOperatorByLogin(const std::string& login) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kOperatorColumns) +
                                                 " FROM operators WHERE login = ?"));
    Binder(s).Text(login);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such operator");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read operator");
    return ReadOperator(s);
  }

  Result<std::vector<OperatorRecord>> ListOperators(const std::string& tenant_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kOperatorColumns) +
                                                 " FROM operators WHERE tenant_id = ? ORDER BY created_at_ms, id"));
    Binder(s).Text(tenant_id);
    std::vector<OperatorRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadOperator(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list operators");
    return out;
  }

  Status UpdateOperator(const OperatorRecord& o) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s,
                        c->Prepare("UPDATE operators SET display_name = ?, roles = ?, state = ?, password_hash = ?, "
                                   "totp_sealed = ?, mfa_enrolled = ?, totp_last_step = MAX(totp_last_step, ?), "
                                   "recovery_hashes = ?, updated_at_ms = ? WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(o.display_name).Text(JoinList(o.roles)).Text(o.state).Text(o.password_hash).Blob(o.totp_sealed)
        .Int(o.mfa_enrolled ? 1 : 0).Int(o.totp_last_step).Text(JoinList(o.recovery_hashes)).Int(o.updated_at_ms)
        .Text(o.tenant_id).Text(o.id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update operator"));
    if (sqlite3_changes(c->db()) != 1) return NotFound("no such operator");
    return Status::Ok();
  }

  Result<bool> AdvanceTotpStep(const std::string& tenant_id, const std::string& id, int64_t step) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE operators SET totp_last_step = ? WHERE tenant_id = ? AND "
                                                 "id = ? AND totp_last_step < ?"));
    Binder(s).Int(step).Text(tenant_id).Text(id).Int(step);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "advance totp step"));
    return sqlite3_changes(c->db()) == 1;
  }

  Result<int64_t> CountOperators() override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT COUNT(*) FROM operators"));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "count operators");
    return static_cast<int64_t>(sqlite3_column_int64(s, 0));
  }

  Status InsertInvitation(const InvitationRecord& i) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO operator_invitations(token_hash, tenant_id, operator_id, "
                                                 "expires_at_ms) VALUES (?, ?, ?, ?)"));
    Binder(s).Text(i.token_hash).Text(i.tenant_id).Text(i.operator_id).Int(i.expires_at_ms);
    return StepDone(*c, s, "insert invitation");
  }

  Result<InvitationRecord> FindInvitation(const std::string& token_hash) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT token_hash, tenant_id, operator_id, expires_at_ms FROM "
                                                 "operator_invitations WHERE token_hash = ?"));
    Binder(s).Text(token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such invitation");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read invitation");
    return InvitationRecord{ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), sqlite3_column_int64(s, 3)};
  }

  Result<InvitationRecord> TakeInvitation(const std::string& token_hash) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_invitations WHERE token_hash = ? RETURNING "
                                                 "token_hash, tenant_id, operator_id, expires_at_ms"));
    Binder(s).Text(token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such invitation");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "take invitation");
    InvitationRecord i{ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), sqlite3_column_int64(s, 3)};
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "take invitation");
    return i;
  }

  Status DeleteInvitationsOf(const std::string& tenant_id, const std::string& operator_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_invitations WHERE tenant_id = ? AND "
                                                 "operator_id = ?"));
    Binder(s).Text(tenant_id).Text(operator_id);
    return StepDone(*c, s, "delete invitations");
  }

  Status InsertSession(const SessionRecord& r) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO operator_sessions(" + std::string(kSessionColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(r.id).Text(r.token_hash).Text(r.tenant_id).Text(r.operator_id).Text(r.stage).Int(r.created_at_ms)
        .Int(r.last_seen_ms).Int(r.expires_at_ms).Int(r.verified_at_ms).Text(r.user_agent);
    return StepDone(*c, s, "insert session");
  }

  Result<SessionRecord> FindSession(const std::string& token_hash) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSessionColumns) +
                                                 " FROM operator_sessions WHERE token_hash = ?"));
    Binder(s).Text(token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such session");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "find session");
    return ReadSession(s);
  }

  Status TouchSession(const std::string& token_hash, int64_t last_seen_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE operator_sessions SET last_seen_ms = MAX(last_seen_ms, ?) "
                                                 "WHERE token_hash = ?"));
    Binder(s).Int(last_seen_ms).Text(token_hash);
    return StepDone(*c, s, "touch session");
  }

  Status UpdateSession(const SessionRecord& r) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE operator_sessions SET stage = ?, last_seen_ms = ?, "
                                                 "expires_at_ms = ?, verified_at_ms = ? WHERE token_hash = ?"));
    Binder(s).Text(r.stage).Int(r.last_seen_ms).Int(r.expires_at_ms).Int(r.verified_at_ms).Text(r.token_hash);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update session"));
    if (sqlite3_changes(c->db()) != 1) return NotFound("no such session");
    return Status::Ok();
  }

  Result<std::vector<SessionRecord>> ListSessions(const std::string& tenant_id, const std::string& operator_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kSessionColumns) +
                                                 " FROM operator_sessions WHERE tenant_id = ? AND operator_id = ? AND "
                                                 "stage = 'active' ORDER BY created_at_ms"));
    Binder(s).Text(tenant_id).Text(operator_id);
    std::vector<SessionRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadSession(s));
    if (rc != SQLITE_DONE) return SqliteError(c->db(), rc, "list sessions");
    return out;
  }

  Result<bool> DeleteSession(const std::string& tenant_id, const std::string& operator_id,
                             const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_sessions WHERE tenant_id = ? AND "
                                                 "operator_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(operator_id).Text(id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "delete session"));
    return sqlite3_changes(c->db()) == 1;
  }

  Status DeleteSessionByToken(const std::string& token_hash) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_sessions WHERE token_hash = ?"));
    Binder(s).Text(token_hash);
    return StepDone(*c, s, "delete session");
  }

  Result<int64_t> DeleteSessionsOf(const std::string& tenant_id, const std::string& operator_id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_sessions WHERE tenant_id = ? AND "
                                                 "operator_id = ?"));
    Binder(s).Text(tenant_id).Text(operator_id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "end sessions"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Result<int64_t> PurgeSessions(int64_t now_ms, int64_t idle_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM operator_sessions WHERE expires_at_ms <= ? OR "
                                                 "last_seen_ms <= ?"));
    Binder(s).Int(now_ms).Int(now_ms - idle_ms);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "purge sessions"));
    return static_cast<int64_t>(sqlite3_changes(c->db()));
  }

  Status InsertGrant(const GrantRecord& g) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO operator_grants(" + std::string(kGrantColumns) +
                                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(g.id).Text(g.tenant_id).Text(g.operator_id).Text(JoinList(g.permissions)).Text(g.reason_category)
        .Text(g.reason_text).Text(g.granted_by).Int(g.break_glass ? 1 : 0).Int(g.created_at_ms).Int(g.expires_at_ms)
        .OptInt(g.revoked_at_ms).OptInt(g.last_used_ms).OptInt(g.reviewed_at_ms).Text(g.reviewed_by);
    return StepDone(*c, s, "insert grant");
  }

  Result<GrantRecord> GetGrant(const std::string& tenant_id, const std::string& id) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kGrantColumns) +
                                                 " FROM operator_grants WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such grant");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read grant");
    return ReadGrant(s);
  }

  Result<std::vector<GrantRecord>> ListGrants(const std::string& tenant_id, int limit) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kGrantColumns) +
                                                 " FROM operator_grants WHERE tenant_id = ? ORDER BY created_at_ms DESC, "
                                                 "id DESC LIMIT ?"));
    Binder(s).Text(tenant_id).Int(limit);
    return Many(*c, s);
  }

  Result<std::vector<GrantRecord>> GrantsOf(const std::string& tenant_id, const std::string& operator_id,
                                            int64_t since_ms) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT " + std::string(kGrantColumns) +
                                                 " FROM operator_grants WHERE tenant_id = ? AND operator_id = ? AND "
                                                 "expires_at_ms > ? AND revoked_at_ms IS NULL"));
    Binder(s).Text(tenant_id).Text(operator_id).Int(since_ms);
    return Many(*c, s);
  }

  Status UpdateGrant(const GrantRecord& g) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("UPDATE operator_grants SET revoked_at_ms = ?, last_used_ms = ?, "
                                                 "reviewed_at_ms = ?, reviewed_by = ? WHERE tenant_id = ? AND id = ?"));
    Binder(s).OptInt(g.revoked_at_ms).OptInt(g.last_used_ms).OptInt(g.reviewed_at_ms).Text(g.reviewed_by)
        .Text(g.tenant_id).Text(g.id);
    CS_RETURN_IF_ERROR(StepDone(*c, s, "update grant"));
    if (sqlite3_changes(c->db()) != 1) return NotFound("no such grant");
    return Status::Ok();
  }

  Result<LoginThrottleRecord> GetThrottle(const std::string& key) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("SELECT failures, window_start_ms, blocked_until_ms FROM "
                                                 "login_throttles WHERE key = ?"));
    Binder(s).Text(key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return LoginThrottleRecord{key, 0, 0, 0};
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read throttle");
    return LoginThrottleRecord{key, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
  }

  Status PutThrottle(const LoginThrottleRecord& t) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("INSERT INTO login_throttles(key, failures, window_start_ms, "
                                                 "blocked_until_ms) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                                                 "failures = excluded.failures, window_start_ms = "
                                                 "excluded.window_start_ms, blocked_until_ms = excluded.blocked_until_ms"));
    Binder(s).Text(t.key).Int(t.failures).Int(t.window_start_ms).Int(t.blocked_until_ms);
    return StepDone(*c, s, "write throttle");
  }

  Status DeleteThrottle(const std::string& key) override {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare("DELETE FROM login_throttles WHERE key = ?"));
    Binder(s).Text(key);
    return StepDone(*c, s, "delete throttle");
  }

 private:
  Result<OperatorRecord> One(const std::string& sql, const std::string& a, const std::string& b) {
    auto c = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, c->Prepare(sql));
    Binder(s).Text(a).Text(b);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such operator");
    if (rc != SQLITE_ROW) return SqliteError(c->db(), rc, "read operator");
    return ReadOperator(s);
  }

  static Result<std::vector<GrantRecord>> Many(Connection& c, sqlite3_stmt* s) {
    std::vector<GrantRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadGrant(s));
    if (rc != SQLITE_DONE) return SqliteError(c.db(), rc, "list grants");
    return out;
  }

  std::function<ConnectionHandle()> acquire_;
};

}  // namespace

std::unique_ptr<OperatorRepository> NewOperatorRepository(std::function<ConnectionHandle()> acquire) {
  return std::make_unique<SqliteOperators>(std::move(acquire));
}

}  // namespace cs::sqlite_internal
