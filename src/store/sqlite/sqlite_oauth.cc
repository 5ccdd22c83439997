// SQLite implementation of OAuthRepository (oauth_repository.h).
#include "store/sqlite/sqlite_internal.h"

namespace cs::sqlite_internal {

namespace {


constexpr std::string_view kClientColumns =
    "id, tenant_id, name, scopes, secret_hash, previous_secret_hash, previous_until_ms, revoked_at_ms, created_at_ms";

OAuthClientRecord ReadClient(sqlite3_stmt* s) {
  OAuthClientRecord c;
  c.id = ColumnText(s, 0);
  c.tenant_id = ColumnText(s, 1);
  c.name = ColumnText(s, 2);
  c.scopes = SplitList(ColumnText(s, 3));
  c.secret_hash = ColumnText(s, 4);
  c.previous_secret_hash = ColumnText(s, 5);
  c.previous_until_ms = sqlite3_column_int64(s, 6);
  if (sqlite3_column_type(s, 7) != SQLITE_NULL) c.revoked_at_ms = sqlite3_column_int64(s, 7);
  c.created_at_ms = sqlite3_column_int64(s, 8);
  return c;
}

class SqliteOAuth final : public OAuthRepository {
 public:
  explicit SqliteOAuth(std::function<ConnectionHandle()> acquire) : acquire_(std::move(acquire)) {}

  Status InsertClient(const OAuthClientRecord& c) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("INSERT INTO oauth_clients(" + std::string(kClientColumns) +
                                                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    Binder(s).Text(c.id).Text(c.tenant_id).Text(c.name).Text(JoinList(c.scopes)).Text(c.secret_hash)
        .Text(c.previous_secret_hash).Int(c.previous_until_ms).OptInt(c.revoked_at_ms).Int(c.created_at_ms);
    return StepDone(*conn, s, "insert oauth client");
  }

  Result<OAuthClientRecord> GetClient(const std::string& tenant_id, const std::string& id) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT " + std::string(kClientColumns) +
                                                    " FROM oauth_clients WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(tenant_id).Text(id);
    return One(*conn, s);
  }

  Result<OAuthClientRecord> FindClient(const std::string& id) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT " + std::string(kClientColumns) +
                                                    " FROM oauth_clients WHERE id = ?"));
    Binder(s).Text(id);
    return One(*conn, s);
  }

  Result<std::vector<OAuthClientRecord>> ListClients(const std::string& tenant_id) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT " + std::string(kClientColumns) +
                                                    " FROM oauth_clients WHERE tenant_id = ? ORDER BY created_at_ms, id"));
    Binder(s).Text(tenant_id);
    std::vector<OAuthClientRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadClient(s));
    if (rc != SQLITE_DONE) return SqliteError(conn->db(), rc, "list oauth clients");
    return out;
  }

  Status UpdateClient(const OAuthClientRecord& c) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("UPDATE oauth_clients SET secret_hash = ?, previous_secret_hash = ?, "
                                                    "previous_until_ms = ?, revoked_at_ms = ? WHERE tenant_id = ? AND id = ?"));
    Binder(s).Text(c.secret_hash).Text(c.previous_secret_hash).Int(c.previous_until_ms).OptInt(c.revoked_at_ms)
        .Text(c.tenant_id).Text(c.id);
    CS_RETURN_IF_ERROR(StepDone(*conn, s, "update oauth client"));
    if (sqlite3_changes(conn->db()) != 1) return NotFound("no such client");
    return Status::Ok();
  }

  Status InsertToken(const OAuthTokenRecord& t) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("INSERT INTO oauth_tokens(token_hash, tenant_id, client_id, scopes, "
                                                    "expires_at_ms) VALUES (?, ?, ?, ?, ?)"));
    Binder(s).Text(t.token_hash).Text(t.tenant_id).Text(t.client_id).Text(JoinList(t.scopes)).Int(t.expires_at_ms);
    return StepDone(*conn, s, "insert oauth token");
  }

  Result<OAuthTokenRecord> FindToken(const std::string& token_hash) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("SELECT token_hash, tenant_id, client_id, scopes, expires_at_ms "
                                                    "FROM oauth_tokens WHERE token_hash = ?"));
    Binder(s).Text(token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such token");
    if (rc != SQLITE_ROW) return SqliteError(conn->db(), rc, "read oauth token");
    return OAuthTokenRecord{ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), SplitList(ColumnText(s, 3)),
                            sqlite3_column_int64(s, 4)};
  }

  Status DeleteToken(const std::string& token_hash) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("DELETE FROM oauth_tokens WHERE token_hash = ?"));
    Binder(s).Text(token_hash);
    return StepDone(*conn, s, "delete oauth token");
  }

  Result<int64_t> DeleteTokensOf(const std::string& client_id) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("DELETE FROM oauth_tokens WHERE client_id = ?"));
    Binder(s).Text(client_id);
    CS_RETURN_IF_ERROR(StepDone(*conn, s, "delete oauth tokens"));
    return static_cast<int64_t>(sqlite3_changes(conn->db()));
  }

  Result<int64_t> PurgeTokens(int64_t now_ms) override {
    auto conn = acquire_();
    CS_ASSIGN_OR_RETURN(ScopedStmt s, conn->Prepare("DELETE FROM oauth_tokens WHERE expires_at_ms <= ?"));
    Binder(s).Int(now_ms);
    CS_RETURN_IF_ERROR(StepDone(*conn, s, "purge oauth tokens"));
    return static_cast<int64_t>(sqlite3_changes(conn->db()));
  }

 private:
  static Result<OAuthClientRecord> One(Connection& conn, sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return NotFound("no such client");
    if (rc != SQLITE_ROW) return SqliteError(conn.db(), rc, "read oauth client");
    return ReadClient(s);
  }

  std::function<ConnectionHandle()> acquire_;
};

}  // namespace

std::unique_ptr<OAuthRepository> NewOAuthRepository(std::function<ConnectionHandle()> acquire) {
  return std::make_unique<SqliteOAuth>(std::move(acquire));
}

}  // namespace cs::sqlite_internal
