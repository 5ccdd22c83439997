// OpenMessaging (server.h): the master key and the messaging services.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "backup/backup.h"
#include "common/strings.h"
#include "docscan/document_text.h"
#include "env/file_system.h"
#include "server/server.h"
#include "store/group_commit.h"

namespace cs {

namespace {

// Writes a fresh master key to `path` (0600, never overwriting), for the
// demo only; whole or not at all (a torn key would lock the demo's data away).
Status CreateDemoKeyFile(const std::string& path, Random& random) {
  if (::access(path.c_str(), F_OK) == 0) return Status::Ok();
  CS_ASSIGN_OR_RETURN(std::string bytes, random.Bytes(32));
  SecretString hex(HexEncode(bytes) + "\n");
  std::fill(bytes.begin(), bytes.end(), '\0');
  DurableWriteOptions options;
  options.create_only = true;
  Status written = WriteFileAtomically(PosixFileSystem(), path, InsecureSecretAccess::Get(hex), options);
  if (written.machine_code() == "file_exists") return Status::Ok();  // another process made it first
  return written;
}

// A tenant key this data directory already holds, if any: the proof that a
// master key is the right one (or that one is needed at all).
Result<std::optional<std::pair<std::string, std::string>>> AnyWrappedTenantKey(Store& store) {
  CS_ASSIGN_OR_RETURN(std::vector<Tenant> tenants, store.tenants().List());
  for (const Tenant& t : tenants) {
    // The pepper: never rotated nor retired, so always there once a tenant holds keys.
    CS_ASSIGN_OR_RETURN(std::optional<std::string> wrapped, store.tenant_keys().TenantKey(t.id, "pepper"));
    if (wrapped) return std::optional<std::pair<std::string, std::string>>({t.id, std::move(*wrapped)});
  }
  return std::optional<std::pair<std::string, std::string>>();
}

}  // namespace

Status CheckMasterKeyFits(Store& store, Kms& kms) {
  CS_ASSIGN_OR_RETURN(auto existing, AnyWrappedTenantKey(store));
  if (!existing) return Status::Ok();
  Result<SecretString> opened = kms.Unwrap(existing->second, TenantKeyContext(existing->first, "pepper"));
  if (!opened.ok()) {
    return FailedPrecondition("master_key_wrong",
                              "the master key does not open the keys stored in this data directory: check "
                              "vault.master_key_file or CONSENTRY_MASTER_KEY (docs/runbooks/operations.md)");
  }
  return Status::Ok();
}

Result<bool> HoldsSealedData(Store& store) {
  CS_ASSIGN_OR_RETURN(auto existing, AnyWrappedTenantKey(store));
  return existing.has_value();
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir, bool exclusive) {
  const std::string path = (std::filesystem::path(data_dir) / "gateway.lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("storage_unavailable", "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    ::close(fd);
    if (exclusive) {
      return FailedPrecondition("gateway_running",
                                "a gateway is serving from " + data_dir + ": stop every gateway process first");
    }
    return FailedPrecondition("restore_in_progress", "a restore is replacing the database in " + data_dir);
  }
  return std::make_unique<DataDirLock>(fd);
}

DataDirLock::~DataDirLock() { ::close(fd_); }

Result<SecretString> LoadConfiguredMasterKey(const Config& config, Random& random, bool create_demo_key) {
  MasterKeySource source;
  if (const char* env = std::getenv("CONSENTRY_MASTER_KEY"); env != nullptr && *env != '\0') source.env_hex = env;
  if (!config.vault.master_key_file.empty()) {
    source.file = config.vault.master_key_file;
  } else if (!source.env_hex && create_demo_key) {
    // The demo's key file: beside the data, so only fit for trying things
    // out (docs/runbooks/operations.md says where a real key belongs). A
    // gateway started without --demo never picks it up.
    std::string path = (std::filesystem::path(config.data_dir) / "master.key").string();
    CS_RETURN_IF_ERROR(CreateDemoKeyFile(path, random));
    source.file = path;
  }
  return LoadMasterKey(source);
}

Result<std::unique_ptr<MessagingRuntime>> OpenMessaging(const Config& config, AdminRuntime& rt, bool create_demo_key) {
  CS_ASSIGN_OR_RETURN(SecretString master, LoadConfiguredMasterKey(config, rt.random, create_demo_key));
  std::optional<SecretString> previous;
  if (!config.vault.previous_master_key_file.empty()) {
    MasterKeySource source;
    source.file = config.vault.previous_master_key_file;
    CS_ASSIGN_OR_RETURN(previous, LoadMasterKey(source));
  }
  auto m = std::make_unique<MessagingRuntime>();
  m->commits = std::make_unique<GroupCommitter>(*rt.store);
  m->kms = CreateLocalKms(std::move(master), rt.random, std::move(previous));
  // A wrong key must stop the start, not surface later as unreadable data.
  CS_RETURN_IF_ERROR(CheckMasterKeyFits(*rt.store, *m->kms));
  m->keyring = std::make_unique<TenantKeyring>(*rt.store, *m->kms, rt.random);
  CS_ASSIGN_OR_RETURN(m->scanner, scan::Scanner::Create());
  m->content = std::make_unique<ContentGuard>(*m->scanner, *rt.store, rt.ledger, rt.clock);
  m->consent = std::make_unique<ConsentService>(*rt.store, *m->commits, rt.ledger, rt.clock);
  m->channels = std::make_unique<ChannelService>(*rt.store, *m->keyring, rt.ledger, rt.clock, rt.random);
  // Every send passes the whole chain; one missing stage stops the start (send_policy.h).
  CS_ASSIGN_OR_RETURN(SendChain send_chain,
                      SendChain::ForGateway(*rt.store, rt.clock, *m->consent, *m->content,
                                            config.messaging.refuse_unscannable_documents));
  m->messages = std::make_unique<MessageService>(*rt.store, *m->commits, *m->keyring, rt.ledger, rt.clock, rt.random,
                                                 std::move(send_chain));
  MediaServiceOptions media_options;
  media_options.refuse_unscannable_documents = config.messaging.refuse_unscannable_documents;
  media_options.ocr_images = config.messaging.ocr_images;
  // Documents from the internet are parsed in a child process of this same
  // binary, with limits, never in the gateway itself (docscan/document_text.h).
  media_options.document_text = [](std::string_view mime_type, std::string_view bytes) {
    docscan::IsolationOptions isolation;
    isolation.executable = "/proc/self/exe";
    return docscan::ExtractTextIsolated(mime_type, bytes, isolation);
  };
  m->media = std::make_unique<MediaService>(*rt.store, *m->channels, *m->keyring, rt.ledger, rt.clock, *m->content,
                                           media_options);
  for (const std::string& part : Split(config.messaging.subscriber_allowed_hosts, ',')) {
    std::string host = AsciiLower(TrimAscii(part));
    if (!host.empty()) m->url_policy.allowed_hosts.push_back(host);
  }
  if (create_demo_key) {
    // The demo is for trying things on one machine: a local receiver is the point.
    m->url_policy.allowed_hosts.push_back("127.0.0.1");
    m->url_policy.allowed_hosts.push_back("localhost");
  }
  m->subscribers = std::make_unique<SubscriberService>(*rt.store, *m->keyring, rt.ledger, rt.clock, rt.random,
                                                       m->url_policy);
  // Every delivery passes the whole receive chain; one missing stage stops the start (receive_policy.h).
  CS_ASSIGN_OR_RETURN(ReceiveChain receive_chain, ReceiveChain::ForGateway(*m->consent, *m->content));
  m->webhooks = std::make_unique<WebhookReceiver>(*rt.store, *m->commits, *m->keyring, *m->channels, rt.ledger,
                                                  rt.clock, rt.random, std::move(receive_chain), *m->messages);
  m->erasures = std::make_unique<ErasureService>(*rt.store, *m->keyring, m->consent.get(), rt.ledger, rt.clock,
                                                 rt.random);
  m->history = std::make_unique<HistoryService>(*rt.store, *m->keyring, rt.ledger, rt.clock);
  SessionPolicy sessions;
  sessions.idle_ms = config.auth.session_idle_minutes * 60'000;
  sessions.absolute_ms = config.auth.session_max_hours * 3'600'000;
  sessions.password_rules.min_length = static_cast<int>(config.auth.password_min_length);
  m->operators = std::make_unique<OperatorService>(*rt.store, *m->keyring, rt.ledger, rt.clock, rt.random, sessions);
  // Off the database volume, so a restore after losing the database still
  // replays erasures made since the newest backup (docs/backup.md).
  m->erasures->SetKeyDestroyedHook(
      [dir = config.backup.dir](const ErasureRecord& e) { return AppendErasureJournalCopy(dir, e); });
  return m;
}

}  // namespace cs
