// File: server.h
// The composition root: builds every module from a validated Config, owns
// threads and lifetimes, and wires them explicitly (no globals, no
// registries). Also opens the store for the admin commands.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/oauth.h"
#include "common/status.h"
#include "config/config.h"
#include "env/env.h"
#include "messaging/channels.h"
#include "messaging/dispatcher.h"
#include "messaging/forwarding.h"
#include "messaging/history.h"
#include "messaging/media.h"
#include "messaging/sending.h"
#include "messaging/webhooks.h"
#include "store/group_commit.h"
#include "vault/erasure.h"
#include "vault/keyring.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "operators/operators.h"
#include "tenants/tenants.h"

namespace cs {

// Returns the version string of this build.
std::string_view ConsentryVersion();

// An advisory lock on <data_dir>/gateway.lock, released when dropped (or
// when the process dies, even by SIGKILL). Every serving process holds it
// shared; a restore needs it exclusive, so it never swaps the database
// under a running gateway. failed_precondition "gateway_running" (for an
// exclusive request) or "restore_in_progress" (for a shared one).
class DataDirLock {
 public:
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir, bool exclusive);
  explicit DataDirLock(int fd) : fd_(fd) {}
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_;
};

// What an admin command (or the server) needs: the store, the audit ledger
// and its signing key, and the key service over them, acting as `actor`.
struct AdminRuntime {
  std::unique_ptr<Store> store;
  SystemClock system_clock;
  // What everything decides by: steps of the system clock move nothing (F-19).
  SteadyWallClock clock{system_clock};
  CryptoRandom random;
  AuditLedger ledger{clock};
  std::unique_ptr<AuditSigner> signer;
  std::string heads_file;
  int64_t audit_retention_days = 0;  // the default, before tenant overrides
  std::unique_ptr<ApiKeyService> api_keys;
  std::unique_ptr<TenantService> tenants;
  std::unique_ptr<OAuthService> oauth;
  AuditActor actor;
  // Held (shared) by admin commands, so none writes into a database a
  // restore is replacing; the server and the restore take their own.
  std::unique_ptr<DataDirLock> data_dir_lock;
};

enum class MigrationMode { kApply, kRequireCurrent, kNone };

// Creates the data directory (0700) if needed and opens the configured
// store. kApply migrates; kRequireCurrent refuses an outdated schema with
// failed_precondition "migration_required"; kNone leaves it alone.
// Applied migrations are recorded in the audit ledger as "system.migrate".
Result<std::unique_ptr<AdminRuntime>> OpenAdminRuntime(const Config& config, MigrationMode mode, AuditActor actor);

// Reloads rt.signer with its private key sealed under the master key
// (AuditSigner, docs/audit.md): opened with `from`, sealed with `to`. A
// plaintext key is sealed in place. `reseal` (the master-key rotation
// commands only) seals it again under `to` when another key sealed it; a
// gateway merely started with a previous key leaves it, so gateways not yet
// restarted keep opening it. Until this runs, rt.signer may be verify-only.
// REQUIRES: nothing holds a reference to the previous rt.signer.
Status SealAuditSigningKey(const Config& config, AdminRuntime& rt, Kms& from, Kms& to, bool reseal);

// Creates a tenant and its "tenant.create" audit entry in one transaction.
Result<Tenant> CreateTenant(AdminRuntime& runtime, const std::string& name);

// Returns the audit retention of `tenant_id` in days (its own, or the default).
int64_t AuditRetentionDays(AdminRuntime& runtime, const std::string& tenant_id);

// Signs a tree head over unsealed entries and appends it to the heads file.
Result<std::optional<TreeHead>> SealAudit(AdminRuntime& runtime);

// The WhatsApp path's services, over the runtime's store and ledger.
struct MessagingRuntime {
  std::unique_ptr<GroupCommitter> commits;
  std::unique_ptr<Kms> kms;
  std::unique_ptr<TenantKeyring> keyring;
  std::unique_ptr<scan::Scanner> scanner;  // one compiled pattern database for every thread
  std::unique_ptr<ContentGuard> content;
  std::unique_ptr<ConsentService> consent;
  std::unique_ptr<ChannelService> channels;
  std::unique_ptr<MessageService> messages;
  std::unique_ptr<MediaService> media;
  std::unique_ptr<WebhookReceiver> webhooks;
  std::unique_ptr<SubscriberService> subscribers;
  std::unique_ptr<ErasureService> erasures;
  std::unique_ptr<HistoryService> history;
  // Operators seal their second factor under the tenant key: they need the vault too.
  std::unique_ptr<OperatorService> operators;
  UrlPolicy url_policy;
};

// Loads the master key: CONSENTRY_MASTER_KEY, else vault.master_key_file,
// else (with `create_demo_key`) <data_dir>/master.key, generated if missing.
Result<SecretString> LoadConfiguredMasterKey(const Config& config, Random& random, bool create_demo_key);


// Loads the master key (vault.master_key_file or CONSENTRY_MASTER_KEY) and
// builds the messaging services. With `create_demo_key`, a missing key is
// generated into <data_dir>/master.key (0600) first. Refusals are those of
// LoadMasterKey (failed_precondition "master_key_missing", …).
// messaging.allowed_graph_urls as a list, without trailing slashes.
std::vector<std::string> AllowedGraphUrls(const MessagingConfig& config);

Result<std::unique_ptr<MessagingRuntime>> OpenMessaging(const Config& config, AdminRuntime& runtime,
                                                        bool create_demo_key);
// failed_precondition "master_key_wrong" when `kms` cannot unwrap a tenant
// key already stored (the check OpenMessaging makes before anything runs).
Status CheckMasterKeyFits(Store& store, Kms& kms);
// True once any tenant key is stored: the data directory holds sealed data.
Result<bool> HoldsSealedData(Store& store);

struct ServeOptions {
  bool demo = false;          // create a demo tenant and print a fresh key for it
  std::string ready_file;     // written with {"url":…,"port":…} once listening
  // With demo: where the built-in Cloud API sandbox listens, wired to the gateway.
  std::string sandbox_listen = "127.0.0.1:8081";
};

// Runs the gateway until SIGINT or SIGTERM. Prints the URL (and the demo
// credentials) to `out`. Returns an error if it cannot start.
Status RunServe(std::shared_ptr<const Config> config, const ServeOptions& options, std::ostream& out);

// Runs `consentry sandbox` on `listen` (host:port) until SIGINT or SIGTERM,
// printing its URL to `out` and writing the ready file if one is named.
Status RunSandboxServer(const SandboxOptions& options, const std::string& listen, const std::string& ready_file,
                        std::ostream& out);

}  // namespace cs
