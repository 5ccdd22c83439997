#include <gtest/gtest.h>

#include <fstream>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/conformance/store_conformance.h"
#include "store/group_commit.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace cs {
namespace {

std::string FreshPath() {
  static std::atomic<int> counter{0};
  std::string dir = ::testing::TempDir() + "/consentry_store_" + std::to_string(getpid()) + "_" +
                    std::to_string(counter++);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/consentry.db";
}

std::unique_ptr<Store> MakeSqlite() {
  SqliteOptions options;
  options.path = FreshPath();
  auto store = OpenSqliteStore(options);
  return store.ok() ? std::move(store).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Values(StoreFactory{"sqlite", &MakeSqlite}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(SqliteStoreTest, UsesWalAndReportsAnEmptySchema) {
  SqliteOptions options;
  options.path = FreshPath();
  auto store = OpenSqliteStore(options);
  ASSERT_TRUE(store.ok());
  auto status = (*store)->GetMigrationStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_version, 0);
  ASSERT_TRUE((*store)->Migrate().ok());
  EXPECT_TRUE(std::filesystem::exists(options.path + "-wal"));
}

TEST(SqliteStoreTest, UnreachableDatabaseIsStorageUnavailable) {
  SqliteOptions options;
  options.path = "/nonexistent-dir/consentry.db";
  auto store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().machine_code(), "storage_unavailable");
}

TEST(SqliteStoreTest, NotADatabaseIsReportedAsDamage) {
  std::string path = FreshPath();
  FILE* f = fopen(path.c_str(), "w");
  fputs("this is not a sqlite database, just text that is long enough to have a header..........", f);
  fclose(f);
  SqliteOptions options;
  options.path = path;
  auto store = OpenSqliteStore(options);
  Status s = store.ok() ? (*store)->Migrate().status() : store.status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
}

// Units submitted without waiting (the webhook path) are answered exactly
// once, after their batch committed, each with its own result, and share
// batches with units whose callers wait; one failing unit undoes only itself.
// covers: F-01
TEST(GroupCommitterTest, SubmittedUnitsAreAnsweredOnceAfterTheirCommit) {
  auto store = MakeSqlite();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate().ok());
  ASSERT_TRUE(store->tenants().Create({"ten_taken", "taken", 1, std::nullopt, std::nullopt}).ok());
  constexpr int kThreads = 4, kPerThread = 50;
  std::atomic<int> answered{0}, failed{0}, visible{0};
  {
    GroupCommitter commits(*store);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string id = "ten_" + std::to_string(t) + "_" + std::to_string(i);
          const bool bad = i % 10 == 9;  // a name taken: this unit fails, its batch commits
          auto work = [id, bad](StoreTransaction& tx) {
            return tx.tenants().Create({id, bad ? "taken" : id, 1, std::nullopt, std::nullopt});
          };
          if (i % 2 == 0) {
            Status s = commits.Run(work);
            (s.ok() ? answered : failed)++;
            continue;
          }
          commits.Submit(work, [&, id, bad, store_ptr = store.get()](Status s) {
            (s.ok() ? answered : failed)++;
            // Durable and visible from another connection when answered.
            if (s.ok() && store_ptr->tenants().Get(id).ok()) visible++;
            EXPECT_EQ(s.ok(), !bad) << id << " " << s.ToString();
          });
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // the destructor finishes every submitted unit
  const int bad_units = kThreads * (kPerThread / 10);
  EXPECT_EQ(answered.load() + failed.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), bad_units);
  EXPECT_EQ(visible.load(), kThreads * kPerThread / 2 - bad_units);
  EXPECT_EQ(static_cast<int>(store->tenants().List()->size()), kThreads * kPerThread - bad_units + 1);
}

}  // namespace
}  // namespace cs

namespace cs {
namespace {

// A revocation written by another process (the CLI) must be seen by the
// server's very next read: no pooled connection may keep an old snapshot.
// Migration 17 rebuilds inbound_messages without its UNIQUE wamid index:
// every stored message survives, with the indexes the queries use.
// Migration 18 then removes every wamid stored in clear (they embed the
// user's number): from sent and received messages, delivery keys and the
// append-only consent evidence, down to the bytes of the database file.
// covers: MIN-02, DSR-05
TEST(SqliteStoreTest, StoredMessagesSurviveTheMigrationsAndNoWamidStaysInClear) {
  const std::string path = FreshPath();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << sql;
    sqlite3_free(err);
  };
  exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
       "applied_at_ms INTEGER NOT NULL) STRICT");
  for (const auto& m : store_internal::SqliteMigrations()) {
    if (m.version > 16) break;
    exec(std::string(m.sql));
    exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" + std::string(m.name) + "', 0)");
  }
  exec("PRAGMA secure_delete=ON");
  exec("INSERT INTO tenants(id, name, created_at_ms) VALUES ('ten_1', 't', 0)");
  exec("INSERT INTO channels(id, tenant_id, phone_number_id, waba_id, display_phone_number, graph_base_url, "
       "graph_version, access_token_sealed, app_secret_sealed, verify_token_sealed, throughput_per_second, "
       "created_at_ms) VALUES ('chn_1', 'ten_1', '1001', '2001', '', 'http://x', 'v21.0', X'00', X'00', X'00', 80, 0)");
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    exec("INSERT INTO inbound_messages VALUES ('inm_" + n + "', 'ten_1', 'chn_1', 'sub_" + n + "', 'wamid.LEGACYIN" + n +
         "', 'text', " + n + ", " + n + ", X'0" + n + "')");
    exec("INSERT INTO inbound_seen VALUES ('m:wamid.LEGACYIN" + n + "', " + n + ")");
  }
  exec("INSERT INTO messages(id, tenant_id, channel_id, subject, kind, type, free_form, payload_sealed, state, wamid, "
       "created_at_ms, updated_at_ms) VALUES ('msg_1', 'ten_1', 'chn_1', 'sub_0', 'message', 'text', 1, X'00', "
       "'read', 'wamid.LEGACYOUT', 0, 0)");
  exec("INSERT INTO inbound_seen VALUES ('s:wamid.LEGACYOUT:read', 0)");
  exec("INSERT INTO inbound_seen VALUES ('p:sub_0:marketing_messages:stop:1', 0)");
  exec("INSERT INTO consent_events(tenant_id, subject, purpose_id, from_state, to_state, at_ms, actor, reason, evidence) "
       "VALUES ('ten_1', 'sub_0', 'p', 'pending', 'active', 0, 'subject:sub_0', 'reply_affirmative', "
       "'{\"reply_wamid\":\"wamid.LEGACYCONSENT\",\"reply_sha256\":\"ab\"}')");
  sqlite3_close(db);

  auto store = OpenSqliteStore({path, 5000, true, 2});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto migrated = (*store)->Migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  Result<int64_t> count = (*store)->messaging().CountInbound("ten_1");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 3);
  Result<MessageRecord> sent = (*store)->messaging().FindMessage("msg_1");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->state, "read");
  EXPECT_TRUE(sent->wamid_hash.empty());
  // Delivery keys of other kinds stay.
  EXPECT_FALSE((*store)->messaging().MarkSeen("p:sub_0:marketing_messages:stop:1", 1, "").value());
  Result<std::vector<ConsentEvent>> events = (*store)->consents().ConsentEvents("ten_1", "sub_0");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().evidence.find("wamid."), std::string::npos) << events->front().evidence;
  EXPECT_NE(events->front().evidence.find("reply_wamid_removed"), std::string::npos);
  EXPECT_NE(events->front().evidence.find("reply_sha256"), std::string::npos);
  store->reset();

  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::vector<std::string> rows, indexes, seen;
  auto collect = [](void* out, int n, char** values, char**) {
    std::string row;
    for (int i = 0; i < n; ++i) row += std::string(i ? "|" : "") + (values[i] ? values[i] : "NULL");
    static_cast<std::vector<std::string>*>(out)->push_back(row);
    return 0;
  };
  ASSERT_EQ(sqlite3_exec(db, "SELECT id, subject, wamid_hash, hex(payload_sealed) FROM inbound_messages ORDER BY id",
                         collect, &rows, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbound_messages' "
                         "ORDER BY name", collect, &indexes, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "SELECT dedupe_key FROM inbound_seen ORDER BY dedupe_key", collect, &seen, nullptr), SQLITE_OK);
  // Still append-only.
  EXPECT_NE(sqlite3_exec(db, "UPDATE consent_events SET evidence = '{}'", nullptr, nullptr, nullptr), SQLITE_OK);
  exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
  EXPECT_EQ(rows, (std::vector<std::string>{"inm_0|sub_0||00", "inm_1|sub_1||01", "inm_2|sub_2||02"}));
  // The primary key's own index, and the three the queries use: no wamid index.
  EXPECT_EQ(indexes, (std::vector<std::string>{"inbound_messages_by_tenant", "inbound_messages_by_tenant_subject",
                                               "inbound_messages_holding_body", "sqlite_autoindex_inbound_messages_1"}));
  EXPECT_EQ(seen, (std::vector<std::string>{"p:sub_0:marketing_messages:stop:1"}));
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("LEGACY"), std::string::npos) << "a wamid stored in clear survived in the file";
}

TEST(SqliteStoreTest, WritesFromAnotherHandleAreSeenImmediately) {
  SqliteOptions options;
  options.path = FreshPath();
  options.pool_size = 1;
  auto server = OpenSqliteStore(options);
  auto cli = OpenSqliteStore(options);
  ASSERT_TRUE(server.ok() && cli.ok());
  ASSERT_TRUE((*server)->Migrate().ok());
  ASSERT_TRUE((*server)->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ApiKeyRecord k;
  k.id = "key_1";
  k.tenant_id = "ten_a";
  k.name = "k";
  k.scopes = {"admin"};
  k.secret_hash = "h";
  k.expires_at_ms = 10;
  ASSERT_TRUE((*server)->api_keys().Insert(k).ok());
  ASSERT_FALSE((*server)->api_keys().FindForAuthentication("key_1")->revoked_at_ms.has_value());
  ASSERT_TRUE((*cli)->api_keys().Revoke("ten_a", "key_1", 5).ok());
  // A different statement on the same pooled connection: it must not inherit
  // the snapshot of the lookup above.
  EXPECT_EQ((*server)->api_keys().Get("ten_a", "key_1")->revoked_at_ms, 5);
  EXPECT_EQ((*server)->api_keys().FindForAuthentication("key_1")->revoked_at_ms, 5);
}

}  // namespace
}  // namespace cs
