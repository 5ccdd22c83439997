#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "store/conformance/store_conformance.h"
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

}  // namespace
}  // namespace cs
