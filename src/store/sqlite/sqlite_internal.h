// File: sqlite_internal.h (internal to store/sqlite/)
// The SQLite plumbing the repository files share: connections with cached
// prepared statements, the pool, binders, transactions and error mapping.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/strings.h"
#include "store/store.h"

namespace cs::sqlite_internal {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

inline Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  std::string detail = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (primary) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFound("a referenced record does not exist");
      return AlreadyExists("conflict", "the record already exists");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return Unavailable("storage_unavailable", "the database is unavailable (" + detail + ")");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("the database file is damaged (" + detail + ")");
    default:
      return Internal("database error (" + detail + ")");
  }
}

// A prepared statement borrowed from a connection's cache for one use. It is
// reset when the borrow ends: a statement left mid-result would keep its read
// transaction open, pinning an old snapshot (a revocation made by another
// process would then go unseen).
class ScopedStmt {
 public:
  explicit ScopedStmt(sqlite3_stmt* s) : s_(s) {}
  ScopedStmt(ScopedStmt&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  ScopedStmt& operator=(ScopedStmt&&) = delete;
  ScopedStmt(const ScopedStmt&) = delete;
  ~ScopedStmt() {
    if (s_) sqlite3_reset(s_);
  }
  operator sqlite3_stmt*() const { return s_; }  // NOLINT(google-explicit-constructor)

 private:
  sqlite3_stmt* s_;
};

class Connection {
 public:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}

  sqlite3* db() const { return db_.get(); }

  // Returns a reset statement for `sql`, prepared once per connection.
  Result<ScopedStmt> Prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* raw = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                  &raw, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, "prepare");
      it = cache_.emplace(std::string(sql), StmtPtr(raw)).first;
    }
    sqlite3_stmt* s = it->second.get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ScopedStmt(s);
  }

  // Runs one statement through the statement cache (transaction control on
  // the hot path: parsing it each time costs more than running it).
  Status ExecPrepared(std::string_view sql) {
    CS_ASSIGN_OR_RETURN(ScopedStmt s, Prepare(sql));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), rc, "exec");
    return Status::Ok();  // s is reset as it goes out of scope
  }

  Status Exec(std::string_view sql) {
    char* err = nullptr;
    std::string text(sql);
    int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, "exec");
    return Status::Ok();
  }

 private:
  DbPtr db_;
  std::map<std::string, StmtPtr, std::less<>> cache_;
};

// Binds positional parameters: strings (as TEXT), int64, optional values.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* s) : s_(s) {}
  Binder& Text(std::string_view v) {
    sqlite3_bind_text(s_, ++i_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Binder& Int(int64_t v) {
    sqlite3_bind_int64(s_, ++i_, v);
    return *this;
  }
  Binder& OptInt(const std::optional<int64_t>& v) {
    if (v) return Int(*v);
    sqlite3_bind_null(s_, ++i_);
    return *this;
  }
  Binder& Blob(std::string_view v) {
    sqlite3_bind_blob(s_, ++i_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Binder& OptBlob(const std::optional<std::string>& v) {
    if (v) return Blob(*v);
    sqlite3_bind_null(s_, ++i_);
    return *this;
  }
  Binder& OptText(const std::optional<std::string>& v) {
    if (v) return Text(*v);
    sqlite3_bind_null(s_, ++i_);
    return *this;
  }

 private:
  sqlite3_stmt* s_;
  int i_ = 0;
};

inline std::string ColumnText(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (c_) pool_->Return(std::move(c_));
    }
    Connection* operator->() { return c_.get(); }
    Connection& operator*() { return *c_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  void Add(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(c));
  }

  Lease Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !free_.empty(); });
    auto c = std::move(free_.back());
    free_.pop_back();
    return Lease(this, std::move(c));
  }

 private:
  void Return(std::unique_ptr<Connection> c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(std::move(c));
    }
    cv_.notify_one();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> free_;  // guarded by mu_
};

// Runs `body` inside a write transaction, rolling back on any error. At the
// outermost level it is BEGIN IMMEDIATE … COMMIT (lock taken up front); when
// a transaction is already open on the connection it nests as a SAVEPOINT.
template <typename Fn>
Status InWriteTransaction(Connection& c, Fn&& body) {
  const bool nested = sqlite3_get_autocommit(c.db()) == 0;
  CS_RETURN_IF_ERROR(c.ExecPrepared(nested ? "SAVEPOINT nested" : "BEGIN IMMEDIATE"));
  Status s = body();
  if (!s.ok()) {
    // The original error is what matters; a failed rollback leaves nothing committed.
    c.Exec(nested ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK").IgnoreError();
    return s;
  }
  Status commit = c.ExecPrepared(nested ? "RELEASE nested" : "COMMIT");
  if (!commit.ok() && !nested) c.Exec("ROLLBACK").IgnoreError();  // leave no open transaction behind
  return commit;
}

// Steps a statement that returns no rows.
inline Status StepDone(Connection& c, sqlite3_stmt* s, std::string_view what) {
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return SqliteError(c.db(), rc, what);
  return Status::Ok();
}

inline std::string ColumnBlob(sqlite3_stmt* s, int col) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

// A connection for one repository call: leased from the pool, or the one
// connection of an open transaction.
class ConnectionHandle {
 public:
  explicit ConnectionHandle(ConnectionPool::Lease lease) : lease_(std::move(lease)), c_(&*lease_.value()) {}
  explicit ConnectionHandle(Connection* fixed) : c_(fixed) {}
  Connection* operator->() { return c_; }
  Connection& operator*() { return *c_; }

 private:
  std::optional<ConnectionPool::Lease> lease_;
  Connection* c_;
};


// Returns the messaging repository over the connections `acquire` hands out
// (sqlite_messaging.cc).
std::unique_ptr<MessagingRepository> NewMessagingRepository(std::function<ConnectionHandle()> acquire);
// The consent repository (sqlite_consent.cc).
std::unique_ptr<ConsentRepository> NewConsentRepository(std::function<ConnectionHandle()> acquire);
// Subject keys and the erasure journal (sqlite_vault.cc).
// Lists of words (roles, scopes, hex hashes: none holds a comma) stored in
// one TEXT column, comma-separated; "" is the empty list.
inline std::string JoinList(const std::vector<std::string>& words) { return Join(words, ","); }
inline std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (std::string& w : Split(text, ',')) {
    if (!w.empty()) out.push_back(std::move(w));
  }
  return out;
}

std::unique_ptr<VaultRepository> NewVaultRepository(std::function<ConnectionHandle()> acquire);
std::unique_ptr<OperatorRepository> NewOperatorRepository(std::function<ConnectionHandle()> acquire);
std::unique_ptr<OAuthRepository> NewOAuthRepository(std::function<ConnectionHandle()> acquire);

}  // namespace cs::sqlite_internal
