// File: migrations.h (internal to store/)
// Versioned schema migrations. Append only: a released migration is never
// edited; a change is a new migration with the next version.
#pragma once

#include <span>
#include <string_view>

namespace cs::store_internal {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // SQLite dialect
};

// Returns every migration in version order (versions 1, 2, … without gaps).
std::span<const Migration> SqliteMigrations();

}  // namespace cs::store_internal
