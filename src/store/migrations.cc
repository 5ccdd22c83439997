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
    {4, "0004_messaging", R"sql(
CREATE TABLE channels (
  id                    TEXT PRIMARY KEY,
  tenant_id             TEXT NOT NULL REFERENCES tenants(id),
  phone_number_id       TEXT NOT NULL UNIQUE,
  waba_id               TEXT NOT NULL,
  display_phone_number  TEXT NOT NULL,
  graph_base_url        TEXT NOT NULL,
  graph_version         TEXT NOT NULL,
  access_token_sealed   BLOB NOT NULL,
  app_secret_sealed     BLOB NOT NULL,
  verify_token_sealed   BLOB NOT NULL,
  throughput_per_second INTEGER NOT NULL,
  paused_reason         TEXT NOT NULL DEFAULT '',
  created_at_ms         INTEGER NOT NULL
) STRICT;
CREATE INDEX channels_by_tenant ON channels(tenant_id, created_at_ms);

-- Content and recipient live only in payload_sealed; subject is a pseudonym.
CREATE TABLE messages (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  channel_id      TEXT NOT NULL REFERENCES channels(id),
  subject         TEXT NOT NULL,
  kind            TEXT NOT NULL,
  type            TEXT NOT NULL,
  free_form       INTEGER NOT NULL,
  payload_sealed  BLOB NOT NULL,
  state           TEXT NOT NULL,
  wamid           TEXT,
  error_code      TEXT NOT NULL DEFAULT '',
  provider_code   INTEGER NOT NULL DEFAULT 0,
  seen            INTEGER NOT NULL DEFAULT 0,
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at_ms   INTEGER NOT NULL,
  updated_at_ms   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_by_wamid ON messages(wamid) WHERE wamid IS NOT NULL;
CREATE INDEX messages_by_tenant ON messages(tenant_id, created_at_ms);
CREATE INDEX messages_by_subject ON messages(subject);

CREATE TABLE outbound_jobs (
  message_id      TEXT PRIMARY KEY REFERENCES messages(id),
  tenant_id       TEXT NOT NULL,
  channel_id      TEXT NOT NULL,
  subject         TEXT NOT NULL,
  due_ms          INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  lease_until_ms  INTEGER NOT NULL DEFAULT 0,
  in_flight       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX outbound_jobs_due ON outbound_jobs(due_ms);

CREATE TABLE message_status_events (
  message_id      TEXT NOT NULL REFERENCES messages(id),
  status          TEXT NOT NULL,
  provider_ts_ms  INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  provider_code   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX message_status_events_by_message ON message_status_events(message_id);

CREATE TABLE idempotency_keys (
  tenant_id     TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  BLOB NOT NULL,
  message_id    TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, key)
) STRICT;

-- Webhook deliveries already processed (W-03: a horizon of at least 7 days).
CREATE TABLE inbound_seen (
  dedupe_key      TEXT PRIMARY KEY,
  received_at_ms  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX inbound_seen_by_time ON inbound_seen(received_at_ms);

CREATE TABLE inbound_messages (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  channel_id      TEXT NOT NULL REFERENCES channels(id),
  subject         TEXT NOT NULL,
  wamid           TEXT NOT NULL UNIQUE,
  type            TEXT NOT NULL,
  sent_at_ms      INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  payload_sealed  BLOB NOT NULL
) STRICT;
CREATE INDEX inbound_messages_by_tenant ON inbound_messages(tenant_id, received_at_ms);
CREATE INDEX inbound_messages_by_subject ON inbound_messages(subject);

CREATE TABLE service_windows (
  channel_id       TEXT NOT NULL,
  subject          TEXT NOT NULL,
  last_inbound_ms  INTEGER NOT NULL,
  PRIMARY KEY (channel_id, subject)
) STRICT, WITHOUT ROWID;

CREATE TABLE quarantine (
  id           INTEGER PRIMARY KEY,
  at_ms        INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  body_sealed  BLOB NOT NULL
) STRICT;

-- Per-tenant keys, wrapped by the KMS: "pepper" (subject pseudonyms) and
-- "content" (sealing message content and channel secrets).
CREATE TABLE tenant_keys (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  purpose    TEXT NOT NULL,
  wrapped    BLOB NOT NULL,
  PRIMARY KEY (tenant_id, purpose)
) STRICT;
)sql"},
    {5, "0005_forwarding", R"sql(
CREATE TABLE subscribers (
  id                   TEXT PRIMARY KEY,
  tenant_id            TEXT NOT NULL REFERENCES tenants(id),
  url                  TEXT NOT NULL,
  secret_sealed        BLOB NOT NULL,
  events               TEXT NOT NULL,
  clear_phone_numbers  INTEGER NOT NULL,
  include_content      INTEGER NOT NULL,
  created_at_ms        INTEGER NOT NULL,
  deleted_at_ms        INTEGER
) STRICT;
CREATE INDEX subscribers_by_tenant ON subscribers(tenant_id, created_at_ms);

CREATE TABLE outbox (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  subscriber_id   TEXT NOT NULL REFERENCES subscribers(id),
  field           TEXT NOT NULL,
  waba_id         TEXT NOT NULL,
  payload_sealed  BLOB NOT NULL,
  state           TEXT NOT NULL,
  due_ms          INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  lease_until_ms  INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox(state, due_ms);
CREATE INDEX outbox_by_subscriber ON outbox(subscriber_id, state, created_at_ms);
)sql"},
    {6, "0006_consent", R"sql(
CREATE TABLE purposes (
  tenant_id              TEXT NOT NULL REFERENCES tenants(id),
  id                     TEXT NOT NULL,
  name                   TEXT NOT NULL,
  legal_basis            TEXT NOT NULL,
  category               TEXT NOT NULL,
  special_category       INTEGER NOT NULL,
  confirmation_template  TEXT NOT NULL,
  confirmation_language  TEXT NOT NULL,
  created_at_ms          INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE consents (
  tenant_id                TEXT NOT NULL REFERENCES tenants(id),
  subject                  TEXT NOT NULL,
  purpose_id               TEXT NOT NULL,
  state                    TEXT NOT NULL,
  version                  INTEGER NOT NULL,
  updated_at_ms            INTEGER NOT NULL,
  pending_expires_at_ms    INTEGER NOT NULL,
  channel_id               TEXT NOT NULL,
  confirmation_message_id  TEXT NOT NULL,
  notice_version           TEXT NOT NULL,
  notice_hash              TEXT NOT NULL,
  explicit_consent         INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, subject, purpose_id)
) STRICT, WITHOUT ROWID;

-- Append-only evidence of every transition (CONS-06); each is also in the audit ledger.
CREATE TABLE consent_events (
  seq         INTEGER PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  subject     TEXT NOT NULL,
  purpose_id  TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  evidence    TEXT NOT NULL
) STRICT;
CREATE INDEX consent_events_by_subject ON consent_events(tenant_id, subject, seq);
CREATE TRIGGER consent_events_append_only_update BEFORE UPDATE ON consent_events
  BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;
CREATE TRIGGER consent_events_append_only_delete BEFORE DELETE ON consent_events
  BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;

CREATE TABLE templates (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  name           TEXT NOT NULL,
  language       TEXT NOT NULL,
  category       TEXT NOT NULL,
  purpose_id     TEXT NOT NULL,
  has_optout     INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name, language)
) STRICT;

ALTER TABLE messages ADD COLUMN purpose_id TEXT NOT NULL DEFAULT '';
)sql"},
    {7, "0007_content_policy", R"sql(
ALTER TABLE tenants ADD COLUMN content_policy TEXT;
)sql"},
    {8, "0008_subject_keys_and_erasure", R"sql(
-- One data key per subject, wrapped under the tenant's content key;
-- wrapped is NULL once destroyed (crypto-shredding).
CREATE TABLE subject_keys (
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  subject          TEXT NOT NULL,
  generation       INTEGER NOT NULL,
  wrapped          BLOB,
  created_at_ms    INTEGER NOT NULL,
  destroyed_at_ms  INTEGER,
  PRIMARY KEY (tenant_id, subject)
) STRICT, WITHOUT ROWID;

CREATE TABLE erasures (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id),
  subject          TEXT NOT NULL,
  step             TEXT NOT NULL,
  actor            TEXT NOT NULL,
  requested_at_ms  INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  details          TEXT NOT NULL
) STRICT;
CREATE INDEX erasures_pending ON erasures(step) WHERE step <> 'done';

ALTER TABLE outbox ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_by_subject ON outbox(tenant_id, subject) WHERE subject <> '';
CREATE INDEX outbound_jobs_by_subject ON outbound_jobs(tenant_id, subject);
CREATE INDEX inbound_messages_by_tenant_subject ON inbound_messages(tenant_id, subject);
)sql"},
    {9, "0009_app_secret_overlap", R"sql(
-- SEC-03: after an app secret is replaced, webhooks signed with the previous
-- one are still accepted until previous_app_secret_until_ms.
ALTER TABLE channels ADD COLUMN previous_app_secret_sealed BLOB NOT NULL DEFAULT X'';
ALTER TABLE channels ADD COLUMN previous_app_secret_until_ms INTEGER NOT NULL DEFAULT 0;
)sql"},
    {10, "0010_body_retention", R"sql(
-- MIN-01: bodies are purged after their retention; these find them cheaply.
CREATE INDEX inbound_messages_holding_body ON inbound_messages(received_at_ms) WHERE length(payload_sealed) > 0;
CREATE INDEX outbox_holding_body ON outbox(created_at_ms) WHERE length(payload_sealed) > 0;
)sql"},
    {11, "0011_notices_and_sale_sharing", R"sql(
-- DOC-07: privacy notices, once per version and language, immutable.
CREATE TABLE notices (
  tenant_id                  TEXT NOT NULL REFERENCES tenants(id),
  version                    TEXT NOT NULL,
  language                   TEXT NOT NULL,
  seq                        INTEGER NOT NULL,
  text                       TEXT NOT NULL,
  sha256                     TEXT NOT NULL,
  info_message               TEXT NOT NULL,
  requires_reconsent         INTEGER NOT NULL,
  reconsent_purposes         TEXT NOT NULL,
  special_category_purposes  TEXT NOT NULL,
  valid_from_ms              INTEGER NOT NULL,
  created_at_ms              INTEGER NOT NULL,
  created_by                 TEXT NOT NULL,
  PRIMARY KEY (tenant_id, version, language)
) STRICT;
CREATE TRIGGER notices_immutable_update BEFORE UPDATE ON notices
  BEGIN SELECT RAISE(ABORT, 'notices are immutable'); END;
CREATE TRIGGER notices_immutable_delete BEFORE DELETE ON notices
  BEGIN SELECT RAISE(ABORT, 'notices are immutable'); END;

-- Which notice each subject was given (GDPR Art. 13), pseudonymous.
CREATE TABLE notice_deliveries (
  tenant_id   TEXT NOT NULL,
  subject     TEXT NOT NULL,
  version     TEXT NOT NULL,
  language    TEXT NOT NULL,
  source      TEXT NOT NULL,
  channel_id  TEXT NOT NULL,
  message_id  TEXT NOT NULL,
  at_ms       INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, subject, version, language)
) STRICT, WITHOUT ROWID;

-- CONS-10: opt-out of the sale or sharing of personal data (CCPA/CPRA).
CREATE TABLE sale_sharing (
  tenant_id        TEXT NOT NULL,
  subject          TEXT NOT NULL,
  opted_out        INTEGER NOT NULL,
  gpc              INTEGER NOT NULL,
  source           TEXT NOT NULL,
  opted_out_at_ms  INTEGER NOT NULL,
  updated_at_ms    INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, subject)
) STRICT, WITHOUT ROWID;

-- Meta's review of a template (message_template_status_update).
ALTER TABLE templates ADD COLUMN status TEXT NOT NULL DEFAULT 'APPROVED';

-- A subscriber that receives data for sale or cross-context sharing (CCPA).
ALTER TABLE subscribers ADD COLUMN sale_or_sharing INTEGER NOT NULL DEFAULT 0;
)sql"},
    {12, "0012_audit_merkle_nodes", R"sql(
-- Perfect-subtree roots of the audit Merkle tree from 256 leaves up, so an
-- inclusion or consistency proof reads O(log n) rows instead of every leaf.
CREATE TABLE audit_merkle_nodes (
  level  INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  hash   BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
)sql"},
    {13, "0013_audit_blocks", R"sql(
-- The ledger in blocks (docs/formats/audit-ledger.md): each append
-- transaction stores its entries' canonical records back to back in one row
-- with their hashes, instead of one indexed row per entry. Earlier entries
-- become one-entry blocks.
CREATE TABLE audit_blocks (
  first_seq  INTEGER PRIMARY KEY,
  last_seq   INTEGER NOT NULL,
  records    BLOB NOT NULL,
  hashes     BLOB NOT NULL,
  CHECK (last_seq >= first_seq AND length(records) > 0 AND length(hashes) = 32 * (last_seq - first_seq + 1))
) STRICT;
-- The search index: which blocks mention a term ('t' || tenant id,
-- 's' || subject pseudonym). Built after commit up to indexed_upto; checked
-- against the records by `audit verify`.
CREATE TABLE audit_postings (
  term   TEXT NOT NULL,
  block  INTEGER NOT NULL,
  PRIMARY KEY (term, block)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_index_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_upto  INTEGER NOT NULL
) STRICT;

INSERT INTO audit_blocks SELECT seq, seq, record, entry_hash FROM audit_entries;
INSERT INTO audit_postings SELECT 't' || tenant_id, seq FROM audit_entries;
INSERT INTO audit_postings SELECT 's' || subject, seq FROM audit_entries WHERE subject <> '';
INSERT INTO audit_index_state VALUES (1, COALESCE((SELECT MAX(seq) FROM audit_entries), 0));
DROP TABLE audit_entries;

CREATE TRIGGER audit_blocks_append_only_update BEFORE UPDATE ON audit_blocks
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_blocks_append_only_delete BEFORE DELETE ON audit_blocks
  BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
-- A block continues the ledger exactly: no gap, no overlap, nothing wedged
-- between existing blocks (verification finds it too, once the trigger is gone).
CREATE TRIGGER audit_blocks_contiguous BEFORE INSERT ON audit_blocks
  WHEN NEW.first_seq <> COALESCE((SELECT last_seq FROM audit_blocks ORDER BY first_seq DESC LIMIT 1),
                                 (SELECT upto_seq FROM audit_checkpoints ORDER BY upto_seq DESC LIMIT 1), 0) + 1
  BEGIN SELECT RAISE(ABORT, 'an audit block must continue the ledger'); END;
)sql"},
    {14, "0014_media_refs", R"sql(
-- Media ids a tenant may read or delete through the gateway (uploaded by it,
-- or received from its customers). The bytes are never stored here.
CREATE TABLE media_refs (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id),
  media_id       TEXT NOT NULL,
  channel_id     TEXT NOT NULL,
  direction      TEXT NOT NULL CHECK (direction IN ('upload', 'inbound')),
  subject        TEXT NOT NULL,
  mime_type      TEXT NOT NULL,
  created_at_ms  INTEGER NOT NULL,
  expires_at_ms  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, media_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX media_refs_by_expiry ON media_refs(expires_at_ms);
CREATE INDEX media_refs_by_subject ON media_refs(tenant_id, subject) WHERE subject <> '';
)sql"},
    {15, "0015_inbound_fewer_indexes", R"sql(
-- Every lookup by subject names the tenant too (inbound_messages_by_tenant_subject):
-- this index only cost a random page write per received message.
DROP INDEX inbound_messages_by_subject;
)sql"},
    {16, "0016_conversation_history", R"sql(
-- RET-01: a tenant keeps conversation history only with a row here.
CREATE TABLE conversation_history (
  tenant_id       TEXT PRIMARY KEY REFERENCES tenants(id),
  retention_days  INTEGER NOT NULL CHECK (retention_days BETWEEN 1 AND 3650),
  purpose         TEXT NOT NULL,
  legal_basis     TEXT NOT NULL,
  enabled_at_ms   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- Outbound bodies outlive dispatching only under a history policy; these find them.
CREATE INDEX messages_holding_body ON messages(created_at_ms) WHERE length(payload_sealed) > 0;
)sql"},
    {17, "0017_inbound_wamid_not_indexed", R"sql(
-- A received message is stored only when inbound_seen did not hold its
-- wamid yet (in the same transaction), and nothing looks messages up by
-- wamid: the UNIQUE index only cost a random page write per message.
-- SQLite drops a UNIQUE constraint only by rebuilding the table.
CREATE TABLE inbound_messages_new (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id),
  channel_id      TEXT NOT NULL REFERENCES channels(id),
  subject         TEXT NOT NULL,
  wamid           TEXT NOT NULL,
  type            TEXT NOT NULL,
  sent_at_ms      INTEGER NOT NULL,
  received_at_ms  INTEGER NOT NULL,
  payload_sealed  BLOB NOT NULL
) STRICT;
INSERT INTO inbound_messages_new(id, tenant_id, channel_id, subject, wamid, type, sent_at_ms, received_at_ms,
                                 payload_sealed)
  SELECT id, tenant_id, channel_id, subject, wamid, type, sent_at_ms, received_at_ms, payload_sealed
  FROM inbound_messages;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_new RENAME TO inbound_messages;
CREATE INDEX inbound_messages_by_tenant ON inbound_messages(tenant_id, received_at_ms);
CREATE INDEX inbound_messages_by_tenant_subject ON inbound_messages(tenant_id, subject);
CREATE INDEX inbound_messages_holding_body ON inbound_messages(received_at_ms) WHERE length(payload_sealed) > 0;
)sql"},
    {18, "0018_provider_ids_not_in_clear", R"sql(
-- Meta's message ids (wamids) carry the user's phone number in base64: they
-- are personal data, and an erasure must leave nothing that decodes to the
-- number (MIN-02, DSR-05). From now on a wamid is stored as a keyed hash
-- (lookups, deduplication) and a copy sealed under the subject's key (what
-- a reply or a read receipt needs), never in clear. Values already stored
-- cannot be hashed here (the key is not in the database): they are removed.
-- Statuses for messages sent before still find them by the gateway's tag
-- (biz_opaque_callback_data); deliveries seen before are forgotten, so a
-- redelivery of one within the horizon would be taken once more.
DROP INDEX messages_by_wamid;
ALTER TABLE messages RENAME COLUMN wamid TO wamid_hash;
UPDATE messages SET wamid_hash = NULL WHERE wamid_hash IS NOT NULL;
ALTER TABLE messages ADD COLUMN wamid_sealed BLOB;
CREATE UNIQUE INDEX messages_by_wamid_hash ON messages(wamid_hash) WHERE wamid_hash IS NOT NULL;
ALTER TABLE inbound_messages RENAME COLUMN wamid TO wamid_hash;
UPDATE inbound_messages SET wamid_hash = '' WHERE wamid_hash <> '';
ALTER TABLE inbound_messages ADD COLUMN wamid_sealed BLOB;
DELETE FROM inbound_seen WHERE dedupe_key LIKE 'm:%' OR dedupe_key LIKE 's:%';
-- The gateway's id of what a delivery key stands for: a reply's context is
-- forwarded under the id the company knows.
ALTER TABLE inbound_seen ADD COLUMN ref TEXT NOT NULL DEFAULT '';
-- Confirmation evidence named the reply's wamid; it names its keyed hash
-- now. The append-only rule is lifted for this one rewrite only.
DROP TRIGGER consent_events_append_only_update;
UPDATE consent_events
  SET evidence = json_set(json_remove(evidence, '$.reply_wamid'), '$.reply_wamid_removed', 'migration 18')
  WHERE json_valid(evidence) AND json_type(evidence, '$.reply_wamid') IS NOT NULL;
CREATE TRIGGER consent_events_append_only_update BEFORE UPDATE ON consent_events
  BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;
)sql"},
    {19, "0019_operators", R"sql(
-- People who work in a tenant (docs/operators.md). Logins are unique across
-- the gateway, so the login form needs no tenant. Secrets are hashes (the
-- password argon2id, recovery codes SHA-256) or sealed (the TOTP secret).
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  login TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  roles TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('invited', 'active', 'disabled')),
  password_hash TEXT NOT NULL DEFAULT '',
  totp_sealed BLOB NOT NULL DEFAULT x'',
  mfa_enrolled INTEGER NOT NULL DEFAULT 0,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  recovery_hashes TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX operators_by_tenant ON operators(tenant_id, created_at_ms);
CREATE TABLE operator_invitations (
  token_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE operator_sessions (
  id TEXT NOT NULL UNIQUE,
  token_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  operator_id TEXT NOT NULL REFERENCES operators(id),
  stage TEXT NOT NULL CHECK (stage IN ('mfa', 'active')),
  created_at_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  verified_at_ms INTEGER NOT NULL,
  user_agent TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX operator_sessions_by_operator ON operator_sessions(tenant_id, operator_id);
CREATE TABLE login_throttles (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start_ms INTEGER NOT NULL,
  blocked_until_ms INTEGER NOT NULL
) STRICT;
)sql"},
    {20, "0020_oauth_clients", R"sql(
-- OAuth 2.0 client credentials for integrations (SEC-05). Secrets and
-- tokens are SHA-256 hashes; a token lives minutes.
CREATE TABLE oauth_clients (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  previous_secret_hash TEXT NOT NULL DEFAULT '',
  previous_until_ms INTEGER NOT NULL DEFAULT 0,
  revoked_at_ms INTEGER,
  created_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_clients_by_tenant ON oauth_clients(tenant_id, created_at_ms);
CREATE TABLE oauth_tokens (
  token_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id),
  scopes TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX oauth_tokens_by_client ON oauth_tokens(client_id);
)sql"},
    {21, "0021_operator_grants", R"sql(
-- Time-bound extra permissions for operators (SEC-10), break-glass among them.
CREATE TABLE operator_grants (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  operator_id TEXT NOT NULL REFERENCES operators(id),
  permissions TEXT NOT NULL,
  reason_category TEXT NOT NULL,
  reason_text TEXT NOT NULL,
  granted_by TEXT NOT NULL,
  break_glass INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER,
  last_used_ms INTEGER,
  reviewed_at_ms INTEGER,
  reviewed_by TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX operator_grants_by_operator ON operator_grants(tenant_id, operator_id, expires_at_ms);
CREATE INDEX operator_grants_by_tenant ON operator_grants(tenant_id, created_at_ms);
)sql"},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kSqlite; }

}  // namespace cs::store_internal
