#include "store/migrations.h"

namespace cs::store_internal {

namespace {

constexpr Migration kSqlite[] = {
    {1, "0001_tenants_and_api_keys", R"sql(
CREATE TABLE tenants (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  name           TEXT NOT NULL,
  scopes         TEXT NOT NULL,
  secret_hash    TEXT NOT NULL,
  created_at_ms  INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  revoked_at_ms  INTEGER,
  rotated_from   TEXT
) STRICT;
CREATE INDEX api_keys_by_tenant ON api_keys(tenant_id, created_at_ms);
)sql"},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kSqlite; }

}  // namespace cs::store_internal
