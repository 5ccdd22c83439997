#include "config/schema.h"

namespace cs::config_internal {

namespace {

const std::string& S(const RawValue& v) { return std::get<std::string>(v); }
int64_t I(const RawValue& v) { return std::get<int64_t>(v); }
bool B(const RawValue& v) { return std::get<bool>(v); }

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * 1024;

const std::vector<KeySpec>& Table() {
  static const std::vector<KeySpec> kTable{
      {"data_dir", KeyType::kString, "./consentry-data", 0, 0, {},
       "Directory for the embedded database and other local state. Created with mode 0700 if missing.",
       [](Config& c, const RawValue& v) { c.data_dir = S(v); }},
      {"http.listen", KeyType::kString, "127.0.0.1:8080", 0, 0, {},
       "Address and port the gateway listens on, as `host:port` (IPv6 as `[::1]:8080`). Port 0 picks a free "
       "port. The default is loopback-only: exposing the gateway is a deliberate act.",
       [](Config& c, const RawValue& v) { c.http.listen = S(v); }},
      {"http.threads", KeyType::kInt, "16", 1, 256, {},
       "Worker threads for API requests that wait: on the group commit of their writes, on Meta (media), on a "
       "long read (audit export). Concurrent API requests need threads rather than cores. Meta webhook "
       "deliveries and sends (`POST /v1/messages`, the Graph-compatible `…/messages`) do not use them: they "
       "run on the `http.io_threads` and wait for their commit without holding a thread.",
       [](Config& c, const RawValue& v) { c.http.threads = static_cast<int>(I(v)); }},
      {"http.io_threads", KeyType::kInt, "0", 0, 64, {},
       "Threads that serve the connections and run webhook deliveries and sends. 0: one per CPU the process may "
       "use (its affinity mask). More than the CPUs only adds thread switches.",
       [](Config& c, const RawValue& v) { c.http.io_threads = static_cast<int>(I(v)); }},
      {"http.max_body_bytes", KeyType::kInt, "1048576", 1 * kKiB, 64 * kMiB, {},
       "Largest request body accepted. Larger bodies are refused with 413 `payload_too_large` while "
       "streaming, before they are fully read.",
       [](Config& c, const RawValue& v) { c.http.max_body_bytes = I(v); }},
      {"http.max_webhook_body_bytes", KeyType::kInt, "4194304", 1 * kKiB, 64 * kMiB, {},
       "Largest body accepted on the Meta webhook route (`/webhooks/…`), whose batched deliveries can exceed "
       "any API request. Larger ones get 413 `payload_too_large` before they are read; Meta retries them.",
       [](Config& c, const RawValue& v) { c.http.max_webhook_body_bytes = I(v); }},
      {"http.max_media_upload_bytes", KeyType::kInt, "104923136", 1 * kMiB, 512 * kMiB, {},
       "Largest body accepted on the Graph media upload (`POST /{version}/{phone_number_id}/media` with an "
       "Authorization header; decided before the body is read): Meta's largest file (a 100 MB document) plus its "
       "multipart framing by default. The file is held in memory while it is passed to Meta, never stored.",
       [](Config& c, const RawValue& v) { c.http.max_media_upload_bytes = I(v); }},
      {"http.public_base_url", KeyType::kString, "", 0, 0, {},
       "The gateway's address as clients reach it, e.g. `https://wa.example.com` (a path prefix is allowed; no "
       "query, no trailing slash). Media download links (`GET /{media-id}`) are built on it. Empty: from the "
       "request's scheme and `Host` header, which behind a TLS-terminating proxy says `http` and trusts the "
       "proxy to pass the public host: set it in production.",
       [](Config& c, const RawValue& v) { c.http.public_base_url = S(v); }},
      {"http.max_header_bytes", KeyType::kInt, "16384", 1 * kKiB, 1 * kMiB, {},
       "Largest request line plus header section. Larger ones are refused with 431 `headers_too_large`.",
       [](Config& c, const RawValue& v) { c.http.max_header_bytes = I(v); }},
      {"http.idle_timeout_ms", KeyType::kInt, "30000", 100, 3600000, {},
       "How long a connection may wait for the first byte of its next request before it is closed.",
       [](Config& c, const RawValue& v) { c.http.idle_timeout_ms = I(v); }},
      {"http.read_timeout_ms", KeyType::kInt, "10000", 100, 600000, {},
       "How long a request may take to arrive completely once its first byte is in (slowloris guard). "
       "Exceeding it closes the connection.",
       [](Config& c, const RawValue& v) { c.http.read_timeout_ms = I(v); }},
      {"http.write_timeout_ms", KeyType::kInt, "10000", 100, 600000, {},
       "How long writing one response may take before the connection is closed.",
       [](Config& c, const RawValue& v) { c.http.write_timeout_ms = I(v); }},
      {"http.max_connections", KeyType::kInt, "10000", 1, 1000000, {},
       "Open connections beyond this are closed at once after accept.",
       [](Config& c, const RawValue& v) { c.http.max_connections = I(v); }},
      {"http.tls.enabled", KeyType::kBool, "false", 0, 0, {},
       "Serve HTTPS only on `http.listen`. Requires `http.tls.cert_file` and `http.tls.key_file`. Plain "
       "HTTP is then refused outright, never redirected.",
       [](Config& c, const RawValue& v) { c.http.tls_enabled = B(v); }},
      {"http.tls.cert_file", KeyType::kString, "", 0, 0, {},
       "PEM certificate chain for TLS (leaf first).",
       [](Config& c, const RawValue& v) { c.http.tls_cert_file = S(v); }},
      {"http.tls.key_file", KeyType::kString, "", 0, 0, {},
       "PEM private key for TLS. Must not be readable by group or others.",
       [](Config& c, const RawValue& v) { c.http.tls_key_file = S(v); }},
      {"http.tls.min_version", KeyType::kEnum, "1.2", 0, 0, {"1.2", "1.3"},
       "Lowest TLS version accepted. Older versions are refused during the handshake.",
       [](Config& c, const RawValue& v) { c.http.tls_min_version = S(v); }},
      {"json.max_depth", KeyType::kInt, "32", 1, 128, {},
       "Deepest nesting of arrays and objects accepted in a JSON body (the top-level container counts "
       "as 1). Deeper input is refused with 400 `json_too_deep`.",
       [](Config& c, const RawValue& v) { c.json.max_depth = static_cast<int>(I(v)); }},
      {"json.max_array_items", KeyType::kInt, "1000", 1, 100000, {},
       "Longest array accepted in a JSON body. Longer arrays are refused with 422 `too_long`.",
       [](Config& c, const RawValue& v) { c.json.max_array_items = I(v); }},
      {"log.level", KeyType::kEnum, "info", 0, 0, {"debug", "info", "warn", "error"},
       "Lowest level written. Log lines are JSON objects, one per line, and never contain phone "
       "numbers, message text, keys or tokens at any level.",
       [](Config& c, const RawValue& v) { c.log.level = S(v); }},
      {"log.file", KeyType::kString, "", 0, 0, {},
       "File to append log lines to (created mode 0600). Empty: standard error.",
       [](Config& c, const RawValue& v) { c.log.file = S(v); }},
      {"store.backend", KeyType::kEnum, "sqlite", 0, 0, {"sqlite"},
       "Storage backend. `sqlite` is the embedded default; the PostgreSQL backend for several gateway "
       "nodes is planned and will be added here.",
       [](Config& c, const RawValue& v) { c.store.backend = S(v); }},
      {"store.auto_migrate", KeyType::kBool, "true", 0, 0, {},
       "Apply pending schema migrations when `serve` starts. When false, `serve` refuses to start on an "
       "outdated schema and `consentry migrate` must be run first.",
       [](Config& c, const RawValue& v) { c.store.auto_migrate = B(v); }},
      {"store.sqlite.path", KeyType::kString, "", 0, 0, {},
       "SQLite database file. Empty: `<data_dir>/consentry.db`.",
       [](Config& c, const RawValue& v) { c.store.sqlite_path = S(v); }},
      {"store.sqlite.busy_timeout_ms", KeyType::kInt, "5000", 0, 600000, {},
       "How long a writer waits for the database lock before the request fails with 503 "
       "`storage_unavailable`.",
       [](Config& c, const RawValue& v) { c.store.busy_timeout_ms = I(v); }},
      {"store.sqlite.synchronous", KeyType::kEnum, "full", 0, 0, {"normal", "full"},
       "SQLite `synchronous` pragma in WAL mode. `full` syncs the WAL on every commit, so an acknowledged "
       "write survives power loss; `normal` may lose the last commits on power loss (not on a crash).",
       [](Config& c, const RawValue& v) { c.store.synchronous = S(v); }},
      {"store.sqlite.pool_size", KeyType::kInt, "4", 1, 64, {},
       "Database connections kept open for concurrent readers.",
       [](Config& c, const RawValue& v) { c.store.pool_size = static_cast<int>(I(v)); }},
      {"auth.api_key_default_ttl_days", KeyType::kInt, "90", 1, 3650, {},
       "Lifetime of a new API key when the request names none. Keys always expire.",
       [](Config& c, const RawValue& v) { c.auth.api_key_default_ttl_days = I(v); }},
      {"auth.api_key_max_ttl_days", KeyType::kInt, "365", 1, 3650, {},
       "Longest lifetime an API key may be given. Must be at least `auth.api_key_default_ttl_days`.",
       [](Config& c, const RawValue& v) { c.auth.api_key_max_ttl_days = I(v); }},
      {"auth.rotation_overlap_seconds", KeyType::kInt, "86400", 0, 2592000, {},
       "How long the old key keeps working after a rotation when the request names no overlap (SEC-03). A second "
       "rotation during the overlap stops the oldest key at once: never more than two live keys per lineage.",
       [](Config& c, const RawValue& v) { c.auth.rotation_overlap_seconds = I(v); }},
      {"auth.rotation_max_overlap_seconds", KeyType::kInt, "604800", 0, 2592000, {},
       "Longest overlap a rotation may ask for.",
       [](Config& c, const RawValue& v) { c.auth.rotation_max_overlap_seconds = I(v); }},
      {"auth.session_idle_minutes", KeyType::kInt, "15", 1, 15, {},
       "An operator's session ends after this many minutes without a request (SEC-08). At most 15: the "
       "limit HIPAA tenants need applies to all.",
       [](Config& c, const RawValue& v) { c.auth.session_idle_minutes = I(v); }},
      {"auth.session_max_hours", KeyType::kInt, "8", 1, 12, {},
       "An operator's session ends this many hours after the login, whatever its activity (SEC-08).",
       [](Config& c, const RawValue& v) { c.auth.session_max_hours = I(v); }},
      {"auth.password_min_length", KeyType::kInt, "12", 8, 64, {},
       "Shortest operator password, in characters. No composition rules apply; common, repetitive and "
       "context-derived passwords are refused at any length (docs/operators.md#passwords).",
       [](Config& c, const RawValue& v) { c.auth.password_min_length = I(v); }},
      {"limits.key_per_second", KeyType::kInt, "100", 0, 1000000, {},
       "Requests per second one API key or one operator may make, on average (0: no limit). Over it: 429 "
       "`rate_limited` with Retry-After, and nothing done.",
       [](Config& c, const RawValue& v) { c.limits.key_per_second = I(v); }},
      {"limits.key_burst", KeyType::kInt, "200", 1, 1000000, {},
       "Requests one API key or operator may make at once, above the rate.",
       [](Config& c, const RawValue& v) { c.limits.key_burst = I(v); }},
      {"limits.tenant_per_second", KeyType::kInt, "400", 0, 1000000, {},
       "Requests per second all of one tenant's keys and operators may make together (0: no limit): one "
       "tenant's flood is refused at its own limit and slows no other tenant (TEN-06).",
       [](Config& c, const RawValue& v) { c.limits.tenant_per_second = I(v); }},
      {"limits.tenant_burst", KeyType::kInt, "800", 1, 1000000, {},
       "Requests one tenant may make at once, above its rate.",
       [](Config& c, const RawValue& v) { c.limits.tenant_burst = I(v); }},
      {"limits.address_per_minute", KeyType::kInt, "30", 0, 100000, {},
       "Login, second-factor and invitation requests per minute from one source address (0: no limit), on top "
       "of the failed-login delays.",
       [](Config& c, const RawValue& v) { c.limits.address_per_minute = I(v); }},
      {"limits.bulk_per_minute", KeyType::kInt, "10", 0, 100000, {},
       "Bulk reads per minute per tenant: audit exports, consent evidence exports, whole conversations "
       "(0: no limit).",
       [](Config& c, const RawValue& v) { c.limits.bulk_per_minute = I(v); }},
      {"audit.seal_every_entries", KeyType::kInt, "1000", 1, 1000000, {},
       "Sign a tree head after this many new audit entries (AUD-02).",
       [](Config& c, const RawValue& v) { c.audit.seal_every_entries = I(v); }},
      {"audit.seal_interval_seconds", KeyType::kInt, "300", 1, 86400, {},
       "Sign a tree head at least this often while new audit entries arrive (AUD-02).",
       [](Config& c, const RawValue& v) { c.audit.seal_interval_seconds = I(v); }},
      {"audit.queue_capacity", KeyType::kInt, "100000", 100, 10000000, {},
       "Audit events waiting for their batch commit. When full, requests that must be audited are refused "
       "with 503 `audit_unavailable` rather than run unaudited.",
       [](Config& c, const RawValue& v) { c.audit.queue_capacity = I(v); }},
      {"audit.retention_days", KeyType::kInt, "2192", 365, 36500, {},
       "How long audit entries are kept, at least (default 6 years; AUD-06). A tenant may set a longer or "
       "shorter period (`consentry tenant set-retention`, at least 365 days). Archived segments record the date "
       "after which they may be destroyed; nothing is deleted from the online ledger but by archiving.",
       [](Config& c, const RawValue& v) { c.audit.retention_days = I(v); }},
      {"audit.signing_key_file", KeyType::kString, "", 0, 0, {},
       "Ed25519 key (mode 0600) that signs tree heads; created on first start. With a master key its private "
       "part is sealed under it (docs/audit.md#keys), else a plain PEM key. Empty: "
       "`<data_dir>/audit-signing-key.pem`.",
       [](Config& c, const RawValue& v) { c.audit.signing_key_file = S(v); }},
      {"audit.heads_file", KeyType::kString, "", 0, 0, {},
       "Append-only copy of every signed tree head, outside the database, used by `consentry audit verify` to "
       "detect truncation. Put it on another volume or ship it to a log system. Empty: "
       "`<data_dir>/audit-heads.jsonl`.",
       [](Config& c, const RawValue& v) { c.audit.heads_file = S(v); }},
      {"vault.master_key_file", KeyType::kString, "", 0, 0, {},
       "File holding the 32-byte master key as 64 hex characters, mode 0600. The environment variable "
       "`CONSENTRY_MASTER_KEY` takes precedence. Without a master key the gateway refuses to handle "
       "messages (`serve --demo` creates `<data_dir>/master.key` for trying it out). Keep the key on another "
       "volume than the database and its backups.",
       [](Config& c, const RawValue& v) { c.vault.master_key_file = S(v); }},
      {"vault.previous_master_key_file", KeyType::kString, "", 0, 0, {},
       "During a master-key rotation only: the file of the key being replaced (same format). Keys wrapped "
       "under it still open, new ones are wrapped under `vault.master_key_file`, so gateways can be restarted "
       "one by one; `consentry keys rotate-master` then re-wraps everything and this setting is removed "
       "(docs/erasure.md).",
       [](Config& c, const RawValue& v) { c.vault.previous_master_key_file = S(v); }},
      {"backup.dir", KeyType::kString, "", 0, 0, {},
       "Where `consentry backup create` writes and `backup prune` expires backups. Put it on another volume "
       "than the database, and keep the master key elsewhere again. Empty: `<data_dir>-backups` beside the "
       "data directory.",
       [](Config& c, const RawValue& v) { c.backup.dir = S(v); }},
      {"backup.retention_days", KeyType::kInt, "35", 1, 3650, {},
       "How long backups are kept: `consentry backup prune` deletes both files of every backup older than "
       "this. It bounds how long an erased subject's keys survive in a keys archive (DSR-05, RET-08).",
       [](Config& c, const RawValue& v) { c.backup.retention_days = I(v); }},
      {"messaging.dispatch_threads", KeyType::kInt, "2", 1, 64, {},
       "Threads sending queued messages to the Cloud API, each with its own keep-alive connection.",
       [](Config& c, const RawValue& v) { c.messaging.dispatch_threads = static_cast<int>(I(v)); }},
      {"messaging.valid_for_seconds", KeyType::kInt, "86400", 60, 604800, {},
       "How long a message keeps being retried through retryable errors (network, 5xx, throughput and pair "
       "limits) before it is `failed` with `expired`. Permanent errors are never retried.",
       [](Config& c, const RawValue& v) { c.messaging.valid_for_seconds = I(v); }},
      {"messaging.quarantine_retention_days", KeyType::kInt, "30", 1, 3650, {},
       "How long quarantined webhook items (signed but unreadable or unroutable deliveries, unknown fields) are "
       "kept for an operator before they are purged. They are sealed under the tenant key, not a subject key, "
       "so subject erasure does not reach them: keep this short.",
       [](Config& c, const RawValue& v) { c.messaging.quarantine_retention_days = I(v); }},
      {"messaging.unscannable_documents", KeyType::kEnum, "refuse", 0, 0, {"refuse", "deliver"},
       "What happens to a document whose text cannot be read for the content scan (CHAN-04): password-protected, "
       "damaged, a legacy Office format (.doc, .xls, .ppt), or past the extractor's limits; also a document a "
       "message sends by `link`, or by the id of a file not uploaded through the gateway. `refuse`: the upload or "
       "the message is refused (`media_unscannable`) and a customer's file is withheld (`media_quarantined`); "
       "`deliver`: it passes unscanned, audited as such. Readable documents (PDF, Office Open XML, text) are "
       "always scanned.",
       [](Config& c, const RawValue& v) { c.messaging.refuse_unscannable_documents = S(v) == "refuse"; }},
      {"messaging.ocr_images", KeyType::kBool, "true", 0, 0, {},
       "Whether the text of pictures (JPEG, PNG, WebP) uploaded or received is recognised (Tesseract, English "
       "model) and scanned like a document's (CHAN-04): a photo of a card or a screenshot of a statement is then "
       "refused or withheld by the content policy. Scanned PDFs (pages without text) are always recognised, up "
       "to 8 pages. About a second of CPU per picture, in the sandboxed reader; a picture whose text cannot be "
       "read passes, audited as unscanned.",
       [](Config& c, const RawValue& v) { c.messaging.ocr_images = B(v); }},
      {"messaging.inbound_body_seconds", KeyType::kInt, "300", 120, 31536000, {},
       "How long the sealed body of an inbound message is kept once received (MIN-01: no conversation history "
       "by default). Forwarding works from its own copy; the body is needed only to catch a card number split "
       "over two messages (60 s). The metadata (id, time, pseudonym) stays.",
       [](Config& c, const RawValue& v) { c.messaging.inbound_body_seconds = I(v); }},
      {"messaging.forward_body_ttl_seconds", KeyType::kInt, "86400", 60, 2592000, {},
       "How long an event waiting to be forwarded keeps its body (MIN-01: queue entries expire). An event not "
       "delivered by then becomes a dead letter with `last_error` `expired` and no body; dead letters lose "
       "their body after the same time counted from their last requeue.",
       [](Config& c, const RawValue& v) { c.messaging.forward_body_ttl_seconds = I(v); }},
      {"messaging.signature_alert_per_minute", KeyType::kInt, "20", 1, 1000000, {},
       "Webhook deliveries with a missing, malformed or wrong signature on one channel within a minute that "
       "raise an alert: a `webhook_signature_alert` error log line and a `webhook.signature_failures` audit "
       "entry, once per channel and minute (forgery attempts, or an app secret rotated at Meta but not here).",
       [](Config& c, const RawValue& v) { c.messaging.signature_alert_per_minute = I(v); }},
      {"messaging.pair_burst", KeyType::kInt, "45", 1, 1000, {},
       "Messages to one user the dispatcher sends in a burst before pacing to `messaging.pair_interval_ms` "
       "(Meta's pair rate limit, error 131056).",
       [](Config& c, const RawValue& v) { c.messaging.pair_burst = I(v); }},
      {"messaging.pair_interval_ms", KeyType::kInt, "6000", 100, 3600000, {},
       "After the burst, one message to the same user per this interval.",
       [](Config& c, const RawValue& v) { c.messaging.pair_interval_ms = I(v); }},
      {"messaging.allowed_graph_urls", KeyType::kString, "https://graph.facebook.com", 0, 0, {},
       "Comma-separated base URLs a channel may send to, whether created through the API or with `consentry "
       "channel add --graph-url` (refused with `forbidden` otherwise). Keeps an API key, or a mistyped "
       "command, from pointing the dispatcher (and a Meta token) at another host. `serve --demo` wires its "
       "own sandbox channel.",
       [](Config& c, const RawValue& v) { c.messaging.allowed_graph_urls = S(v); }},
      {"messaging.subscriber_allowed_hosts", KeyType::kString, "", 0, 0, {},
       "Comma-separated hosts (`host` or `host:port`) that webhook subscribers may use although they are "
       "plain http or private addresses, for local development (e.g. `127.0.0.1,localhost`). Every other "
       "subscriber URL must be https to a public address (the SSRF guard, docs/forwarding.md). `serve --demo` "
       "adds `127.0.0.1` and `localhost`.",
       [](Config& c, const RawValue& v) { c.messaging.subscriber_allowed_hosts = S(v); }},
  };
  return kTable;
}

}  // namespace

std::span<const KeySpec> Schema() { return Table(); }

const KeySpec* FindKey(std::string_view key) {
  for (const KeySpec& spec : Table()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

std::string EnvName(std::string_view key) {
  std::string out = "CONSENTRY_";
  for (char c : key) {
    if (c == '.') {
      out.push_back('_');
    } else if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace cs::config_internal
