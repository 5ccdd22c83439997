#include "store/migrations.h"

namespace cs::store_internal {

namespace {

constexpr Migration kSqlite[] = {
    {1, "0001_tenants_and_api_keys", R"sql(
CREATE TABLE tenants (
  id                   TEXT PRIMARY KEY,
  name                 TEXT NOT NULL UNIQUE,
  created_at_ms        INTEGER NOT NULL,
  audit_retention_days INTEGER
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
    {2, "0002_audit_ledger", R"sql(
-- The record itself is the canonical byte form its hash covers
-- (docs/formats/audit-ledger.md); the other columns are a projection for
-- search, which verification checks against the record.
CREATE TABLE audit_entries (
  seq         INTEGER PRIMARY KEY,
  ts_ms       INTEGER NOT NULL,
  tenant_id   TEXT NOT NULL,
  actor_id    TEXT NOT NULL,
  action      TEXT NOT NULL,
  subject     TEXT NOT NULL,
  record      BLOB NOT NULL,
  entry_hash  BLOB NOT NULL
) STRICT;
CREATE INDEX audit_by_tenant ON audit_entries(tenant_id, seq);
CREATE INDEX audit_by_subject ON audit_entries(subject, seq) WHERE subject <> '';

CREATE TABLE audit_tree_heads (
  tree_size  INTEGER PRIMARY KEY,
  root_hash  BLOB NOT NULL,
  ts_ms      INTEGER NOT NULL,
  key_id     TEXT NOT NULL,
  signature  BLOB NOT NULL,
  frontier   BLOB NOT NULL
) STRICT;

-- Entries moved to an archived segment leave their hash (so proofs keep
-- working) and a checkpoint verification continues from.
CREATE TABLE audit_archived_hashes (
  seq         INTEGER PRIMARY KEY,
  entry_hash  BLOB NOT NULL
) STRICT;
CREATE TABLE audit_checkpoints (
  upto_seq         INTEGER PRIMARY KEY,
  last_hash        BLOB NOT NULL,
  frontier         BLOB NOT NULL,
  archived_at_ms   INTEGER NOT NULL,
  retain_until_ms  INTEGER NOT NULL,
  segment_name     TEXT NOT NULL,
  segment_sha256   BLOB NOT NULL
) STRICT;

-- Append-only inside the database too: the gateway never updates or deletes
-- audit rows, and these triggers refuse it from any other client that does
-- not first drop them (which verification then detects).
CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_heads_append_only_update BEFORE UPDATE ON audit_tree_heads
  BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;
CREATE TRIGGER audit_heads_append_only_delete BEFORE DELETE ON audit_tree_heads
  BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;
CREATE TRIGGER audit_archived_append_only BEFORE DELETE ON audit_archived_hashes
  BEGIN SELECT RAISE(ABORT, 'archived hashes are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only BEFORE DELETE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

)sql"},
    {3, "0003_audit_archive_immutable", R"sql(
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER audit_archived_no_update BEFORE UPDATE ON audit_archived_hashes
  BEGIN SELECT RAISE(ABORT, 'archived hashes are append-only'); END;
)sql"},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kSqlite; }

}  // namespace cs::store_internal
