// File: config.h
// Config: the validated, immutable settings of one Consentry process.
//
// Sources, later ones winning: built-in defaults (the safe choice: deny,
// strict, off), the TOML file given by --config, CONSENTRY_* environment
// variables (key "http.max_body_bytes" ↔ CONSENTRY_HTTP_MAX_BODY_BYTES), then
// command-line flags. Unknown keys in any source are refused, and every
// problem names its key. The schema in schema.cc is the single source of
// truth: it validates, and it generates docs/config.md (`consentry config
// reference`), so the documentation cannot drift from the code.
//
// Thread-safety: a loaded Config is immutable and shared as
// std::shared_ptr<const Config>.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cs {

struct HttpConfig {
  std::string listen;             // http.listen, as given
  std::string listen_host;        // http.listen, host part
  uint16_t listen_port = 0;       // http.listen, port part (0 = any free port)
  int threads = 0;                // http.threads
  int io_threads = 0;             // http.io_threads (0: one per usable CPU)
  int64_t max_body_bytes = 0;     // http.max_body_bytes
  int64_t max_webhook_body_bytes = 0;  // http.max_webhook_body_bytes
  int64_t max_media_upload_bytes = 0;  // http.max_media_upload_bytes
  int64_t max_header_bytes = 0;   // http.max_header_bytes
  int64_t idle_timeout_ms = 0;    // http.idle_timeout_ms
  int64_t read_timeout_ms = 0;    // http.read_timeout_ms
  int64_t write_timeout_ms = 0;   // http.write_timeout_ms
  int64_t max_connections = 0;    // http.max_connections
  std::string public_base_url;    // http.public_base_url ("" = from the request)
  bool tls_enabled = false;       // http.tls.enabled
  std::string tls_cert_file;      // http.tls.cert_file
  std::string tls_key_file;       // http.tls.key_file
  std::string tls_min_version;    // http.tls.min_version: "1.2" | "1.3"
};

struct JsonConfig {
  int max_depth = 0;              // json.max_depth
  int64_t max_array_items = 0;    // json.max_array_items
};

struct LogConfig {
  std::string level;              // log.level
  std::string file;               // log.file ("" = standard error)
};

struct StoreConfig {
  std::string backend;            // store.backend
  std::string sqlite_path;        // store.sqlite.path ("" = <data_dir>/consentry.db)
  int64_t busy_timeout_ms = 0;    // store.sqlite.busy_timeout_ms
  std::string synchronous;        // store.sqlite.synchronous
  int pool_size = 0;              // store.sqlite.pool_size
  bool auto_migrate = true;       // store.auto_migrate
};

struct AuthConfig {
  int64_t api_key_default_ttl_days = 0;    // auth.api_key_default_ttl_days
  int64_t api_key_max_ttl_days = 0;        // auth.api_key_max_ttl_days
  int64_t rotation_overlap_seconds = 0;    // auth.rotation_overlap_seconds
  int64_t rotation_max_overlap_seconds = 0;  // auth.rotation_max_overlap_seconds
  int64_t session_idle_minutes = 0;        // auth.session_idle_minutes
  int64_t session_max_hours = 0;           // auth.session_max_hours
  int64_t password_min_length = 0;         // auth.password_min_length
};

// Request rate limits (SEC-09, TEN-06; docs/operators.md#rate-limits).
struct LimitsConfig {
  int64_t key_per_second = 0;       // limits.key_per_second
  int64_t key_burst = 0;            // limits.key_burst
  int64_t tenant_per_second = 0;    // limits.tenant_per_second
  int64_t tenant_burst = 0;         // limits.tenant_burst
  int64_t address_per_minute = 0;   // limits.address_per_minute
  int64_t bulk_per_minute = 0;      // limits.bulk_per_minute
};

struct AuditConfig {
  int64_t seal_every_entries = 0;     // audit.seal_every_entries
  int64_t seal_interval_seconds = 0;  // audit.seal_interval_seconds
  int64_t queue_capacity = 0;         // audit.queue_capacity
  int64_t retention_days = 0;         // audit.retention_days
  std::string signing_key_file;       // audit.signing_key_file ("" = <data_dir>/audit-signing-key.pem)
  std::string heads_file;             // audit.heads_file ("" = <data_dir>/audit-heads.jsonl)
};

struct VaultConfig {
  std::string master_key_file;        // vault.master_key_file ("" = none; CONSENTRY_MASTER_KEY wins)
  std::string previous_master_key_file;  // vault.previous_master_key_file ("" = no rotation under way)
};

struct BackupConfig {
  std::string dir;                    // backup.dir ("" = <data_dir>-backups)
  int64_t retention_days = 0;         // backup.retention_days
};

struct MessagingConfig {
  int dispatch_threads = 0;           // messaging.dispatch_threads
  int64_t valid_for_seconds = 0;      // messaging.valid_for_seconds
  int64_t pair_burst = 0;             // messaging.pair_burst
  int64_t pair_interval_ms = 0;       // messaging.pair_interval_ms
  std::string allowed_graph_urls;     // messaging.allowed_graph_urls (comma-separated)
  std::string subscriber_allowed_hosts;  // messaging.subscriber_allowed_hosts (comma-separated)
  int64_t quarantine_retention_days = 0;  // messaging.quarantine_retention_days
  int64_t inbound_body_seconds = 0;       // messaging.inbound_body_seconds
  int64_t signature_alert_per_minute = 0;  // messaging.signature_alert_per_minute
  int64_t forward_body_ttl_seconds = 0;   // messaging.forward_body_ttl_seconds
  bool refuse_unscannable_documents = true;  // messaging.unscannable_documents == "refuse"
  bool ocr_images = true;                    // messaging.ocr_images
};

struct Config {
  std::string data_dir;           // data_dir
  HttpConfig http;
  JsonConfig json;
  LogConfig log;
  StoreConfig store;
  AuthConfig auth;
  LimitsConfig limits;
  AuditConfig audit;
  VaultConfig vault;
  BackupConfig backup;
  MessagingConfig messaging;
  // Where each value came from ("default", "file", "env", "flag"), by key;
  // shown by `config check --json` so an operator sees what won.
  std::map<std::string, std::string> origins;
};

// Where to read settings from. `env` holds the process environment
// (NAME=VALUE entries); `flags` maps config keys to flag values.
struct ConfigSources {
  std::optional<std::string> file_path;
  std::vector<std::string> env;
  std::map<std::string, std::string> flags;
};

struct ConfigIssue {
  std::string key;      // the config key, environment variable or file concerned
  std::string message;  // what is wrong and what is allowed
};

struct ConfigLoad {
  std::shared_ptr<const Config> config;  // set only when issues is empty
  std::vector<ConfigIssue> issues;
  bool ok() const { return issues.empty(); }
  // Returns kInvalidArgument "invalid_config" listing every issue, or OK.
  Status ToStatus() const;
};

// Loads and validates configuration from `sources`. Never throws.
ConfigLoad LoadConfig(const ConfigSources& sources);

// Returns the environment of this process as NAME=VALUE strings.
std::vector<std::string> ProcessEnvironment();

// Returns the Markdown reference of every key: type, default, limits,
// environment variable and meaning. docs/config.md embeds it verbatim.
std::string ConfigReferenceMarkdown();

// Returns the effective value of every key as "key = value" TOML lines.
std::string DescribeConfig(const Config& config);

}  // namespace cs
