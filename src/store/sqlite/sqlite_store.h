// File: sqlite_store.h
// The embedded SQLite backend (WAL) of the store interfaces.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace cs {

struct SqliteOptions {
  std::string path;                  // database file; parent directory must exist
  int64_t busy_timeout_ms = 5000;
  bool synchronous_full = true;      // false: synchronous=NORMAL
  int pool_size = 4;
};

// Opens (creating if needed) a SQLite store in WAL mode. Does not migrate.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace cs
