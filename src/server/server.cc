#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <filesystem>
#include <functional>
#include <mutex>
#include <fstream>
#include <ostream>
#include <thread>

#include "api/api.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "env/file_system.h"
#include "http/http.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "server/demo.h"
#include "server/scheduler.h"
#include "store/sqlite/sqlite_store.h"

namespace cs {

std::string_view ConsentryVersion() { return "0.1.0"; }

namespace {

Status EnsureDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("storage_unavailable", "cannot create data_dir " + dir + ": " + ec.message());
  // The directory holds the database; nobody else needs to list it.
  ::chmod(dir.c_str(), 0700);
  return Status::Ok();
}

void DeclareMetrics(MetricsRegistry& m) {
  m.Declare("consentry_build_info", MetricsRegistry::Type::kGauge, "Build information.");
  m.Declare("consentry_http_requests_total", MetricsRegistry::Type::kCounter,
            "HTTP requests answered, by method, route template and status.");
  m.Declare("consentry_http_request_duration_seconds", MetricsRegistry::Type::kHistogram,
            "Time from the first byte of a request to its response written, by route template.",
            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  m.Declare("consentry_webhook_signature_failures_total", MetricsRegistry::Type::kCounter,
            "Meta webhook deliveries refused before parsing, by reason (signature_missing, signature_malformed, "
            "signature_mismatch): a rising count means a forged sender or a wrong app secret.");
  m.Declare("consentry_dispatch_total", MetricsRegistry::Type::kCounter,
            "Outbound sends by outcome: submitted to Meta, retried, failed, unknown (outcome lost), paced, "
            "consent_refused at the dispatch re-check.");
  m.Declare("consentry_clock_offset_seconds", MetricsRegistry::Type::kGauge,
            "How far the system clock stands from the gateway's since it started (F-19): 0 unless the system "
            "clock was stepped. Timestamps follow the gateway's clock; restart to adopt the system clock's.");
  m.Declare("consentry_rate_limited_total", MetricsRegistry::Type::kCounter,
            "Requests refused with 429 rate_limited, by the limit reached: key, operator, tenant, address, bulk "
            "(limits.* in docs/config.md).");
  m.Declare("consentry_forward_total", MetricsRegistry::Type::kCounter,
            "Events forwarded to subscribers by outcome: delivered, retried (a failed attempt), dead "
            "(dead-lettered), withheld (sale/sharing opt-out).");
  // Every series exists from the start (at 0), so rates and alerts work before the first event.
  for (const char* reason : {"signature_missing", "signature_malformed", "signature_mismatch", "other"}) {
    m.Add("consentry_webhook_signature_failures_total", {{"reason", reason}}, 0);
  }
  for (const char* outcome : {"submitted", "retried", "failed", "unknown", "paced", "consent_refused"}) {
    m.Add("consentry_dispatch_total", {{"outcome", outcome}}, 0);
  }
  for (const char* outcome : {"delivered", "retried", "dead", "withheld"}) {
    m.Add("consentry_forward_total", {{"outcome", outcome}}, 0);
  }
  m.Set("consentry_build_info", {{"version", std::string(ConsentryVersion())}}, 1);
}

// Adds what a stats counter gained since the last call to a metrics counter.
class CounterFeed {
 public:
  CounterFeed(MetricsRegistry& metrics, std::string name) : metrics_(metrics), name_(std::move(name)) {}
  void Feed(const std::string& outcome, const std::atomic<int64_t>& stat) {
    const int64_t now = stat.load();
    int64_t& seen = seen_[outcome];
    if (now > seen) metrics_.Add(name_, {{"outcome", outcome}}, static_cast<double>(now - seen));
    seen = now;
  }

 private:
  MetricsRegistry& metrics_;
  std::string name_;
  std::map<std::string, int64_t> seen_;
};

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Blocks SIGINT/SIGTERM in the calling thread. Called before any thread is
// started, so every thread inherits the mask and only SignalWaiter takes them.
void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits for SIGINT/SIGTERM on a dedicated thread, then stops the server.
// REQUIRES: BlockStopSignals() ran before any other thread was created.
class SignalWaiter {
 public:
  explicit SignalWaiter(HttpServer& server) {
    sigset_t set = StopSignals();
    thread_ = std::thread([&server, set] {
      int sig = 0;
      sigwait(&set, &sig);
      (void)sig;
      server.Stop();
    });
  }
  ~SignalWaiter() {
    // Wake the waiter if the server stopped for another reason.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

 private:
  std::thread thread_;
};

}  // namespace

Status SealAuditSigningKey(const Config& config, AdminRuntime& rt, Kms& from, Kms& to, bool reseal) {
  constexpr std::string_view kContext = "audit-signing-key";
  SigningKeySealer sealer;
  sealer.seal = [&to, kContext](const SecretString& key) { return to.Wrap(key, kContext); };
  sealer.open = [&from, kContext, &config](std::string_view sealed) -> Result<SecretString> {
    Result<SecretString> key = from.Unwrap(sealed, kContext);
    if (!key.ok() && key.status().code() == StatusCode::kDataLoss) {
      return FailedPrecondition("master_key_wrong", "the master key does not open the audit signing key " +
                                                        config.audit.signing_key_file +
                                                        ": it was sealed under another master key");
    }
    return key;
  };
  sealer.key_id = to.key_id();
  sealer.reseal = reseal;
  CS_ASSIGN_OR_RETURN(rt.signer, AuditSigner::LoadOrCreate(config.audit.signing_key_file, &sealer));
  return Status::Ok();
}

Result<std::unique_ptr<AdminRuntime>> OpenAdminRuntime(const Config& config, MigrationMode mode, AuditActor actor) {
  CS_RETURN_IF_ERROR(EnsureDataDir(config.data_dir));
  auto rt = std::make_unique<AdminRuntime>();
  rt->actor = std::move(actor);
  SqliteOptions options;
  options.path = config.store.sqlite_path;
  options.busy_timeout_ms = config.store.busy_timeout_ms;
  options.synchronous_full = config.store.synchronous == "full";
  options.pool_size = config.store.pool_size;
  CS_ASSIGN_OR_RETURN(rt->store, OpenSqliteStore(options));
  ::chmod(options.path.c_str(), 0600);
  std::vector<std::string> applied;
  if (mode == MigrationMode::kApply) {
    CS_ASSIGN_OR_RETURN(MigrationStatus m, rt->store->Migrate());
    applied = m.applied_now;
  } else if (mode == MigrationMode::kRequireCurrent) {
    CS_ASSIGN_OR_RETURN(MigrationStatus m, rt->store->GetMigrationStatus());
    if (m.current_version != m.latest_version) {
      return FailedPrecondition("migration_required", "the database schema is at version " +
                                                          std::to_string(m.current_version) + ", this build needs " +
                                                          std::to_string(m.latest_version) +
                                                          ": run `consentry migrate`");
    }
  }
  // With a configured master key, the signing key is created sealed under it
  // (and a plaintext one sealed now). Without one, it is a plain PEM key, or a
  // sealed one loaded for verification only; `serve` seals it once messaging
  // has its key (the demo's included).
  // A key that does not fit this data directory (mistyped) must never seal
  // anything: then, and with a key that cannot be loaded, the signing key is
  // opened for verification only (never created), so read-only commands
  // still work and `serve` refuses with the reason.
  Status usable = Status::Ok();
  Result<SecretString> master = LoadConfiguredMasterKey(config, rt->random, false);
  if (master.ok()) {
    std::optional<SecretString> previous;
    if (!config.vault.previous_master_key_file.empty()) {
      MasterKeySource source;
      source.file = config.vault.previous_master_key_file;
      Result<SecretString> loaded = LoadMasterKey(source);
      if (loaded.ok()) previous = std::move(loaded).value();
      else usable = loaded.status();
    }
    if (usable.ok()) {
      std::unique_ptr<Kms> kms = CreateLocalKms(std::move(master).value(), rt->random, std::move(previous));
      // (A schema not migrated yet holds no tenant key: nothing to misfit.)
      Status fits = CheckMasterKeyFits(*rt->store, *kms);
      if (!fits.ok() && fits.machine_code() == "master_key_wrong") usable = fits;
      if (usable.ok()) CS_RETURN_IF_ERROR(SealAuditSigningKey(config, *rt, *kms, *kms, false));
    }
  } else if (master.status().machine_code() == "master_key_missing") {
    CS_ASSIGN_OR_RETURN(rt->signer, AuditSigner::LoadOrCreate(config.audit.signing_key_file));
  } else {
    usable = master.status();
  }
  if (!usable.ok()) {
    Result<std::unique_ptr<AuditSigner>> verify_only =
        AuditSigner::LoadOrCreate(config.audit.signing_key_file, nullptr, /*create=*/false);
    if (!verify_only.ok()) return usable;
    rt->signer = std::move(verify_only).value();
  }
  rt->heads_file = config.audit.heads_file;
  rt->audit_retention_days = config.audit.retention_days;
  if (!applied.empty()) {
    JsonWriter w;
    w.BeginObject().Key("applied").BeginArray();
    for (const auto& a : applied) w.String(a);
    w.EndArray().EndObject();
    AuditEvent e{.actor = rt->actor, .action = "system.migrate", .resource = "schema", .details = w.Take()};
    CS_RETURN_IF_ERROR(rt->store->InTransaction([&](StoreTransaction& tx) { return rt->ledger.Record(tx, e); }));
  }
  ApiKeyPolicy policy{config.auth.api_key_default_ttl_days, config.auth.api_key_max_ttl_days,
                      config.auth.rotation_overlap_seconds, config.auth.rotation_max_overlap_seconds};
  rt->api_keys = std::make_unique<ApiKeyService>(*rt->store, rt->clock, rt->random, policy, rt->ledger);
  rt->tenants = std::make_unique<TenantService>(*rt->store, rt->ledger, rt->clock, rt->random);
  rt->oauth = std::make_unique<OAuthService>(*rt->store, rt->clock, rt->random, rt->ledger);
  return rt;
}

Result<Tenant> CreateTenant(AdminRuntime& rt, const std::string& name) { return rt.tenants->Create(rt.actor, name); }

int64_t AuditRetentionDays(AdminRuntime& rt, const std::string& tenant_id) {
  return rt.tenants->AuditRetentionDays(tenant_id, rt.audit_retention_days);
}

Result<std::optional<TreeHead>> SealAudit(AdminRuntime& rt) {
  CS_ASSIGN_OR_RETURN(std::optional<TreeHead> head, SealLedger(*rt.store, *rt.signer, rt.clock));
  if (head) CS_RETURN_IF_ERROR(AppendHeadToFile(rt.heads_file, *head));
  return head;
}

namespace {

// `limit` for an authenticated Graph media upload, POST
// /[{version}/]{phone_number_id}/media; 0 (the default limit) for anything else.
std::function<int64_t(std::string_view, std::string_view, bool)> MediaUploadLimit(int64_t limit) {
  return [limit](std::string_view method, std::string_view path, bool has_authorization) -> int64_t {
    if (method != "POST" || !has_authorization) return 0;
    std::vector<std::string> seg = Split(path.size() > 1 ? path.substr(1) : std::string_view(), '/');
    if (seg.size() == 3 && seg[0].size() >= 4 && seg[0][0] == 'v') seg.erase(seg.begin());
    if (seg.size() != 2 || seg[1] != "media" || seg[0].empty() || seg[0].size() > 32 || !IsAsciiDigits(seg[0])) return 0;
    return limit;
  };
}

HttpServerOptions HttpOptionsFrom(const HttpConfig& hc) {
  HttpServerOptions http;
  http.host = hc.listen_host;
  http.port = hc.listen_port;
  http.threads = hc.threads;
  http.io_threads = hc.io_threads;
  http.max_body_bytes = hc.max_body_bytes;
  http.body_limit_by_path_prefix = {{"/webhooks/", hc.max_webhook_body_bytes}};
  http.large_body_limit = MediaUploadLimit(hc.max_media_upload_bytes);
  http.large_body_limit_max = hc.max_media_upload_bytes;
  http.max_header_bytes = hc.max_header_bytes;
  http.idle_timeout_ms = hc.idle_timeout_ms;
  http.read_timeout_ms = hc.read_timeout_ms;
  http.write_timeout_ms = hc.write_timeout_ms;
  http.max_connections = hc.max_connections;
  http.tls_enabled = hc.tls_enabled;
  http.tls_cert_file = hc.tls_cert_file;
  http.tls_key_file = hc.tls_key_file;
  http.tls_min_13 = hc.tls_min_version == "1.3";
  return http;
}

AuditWriterOptions AuditOptionsFrom(const AuditConfig& ac, Logger& log) {
  AuditWriterOptions options;
  options.queue_capacity = static_cast<size_t>(ac.queue_capacity);
  options.seal_every_entries = ac.seal_every_entries;
  options.seal_interval_ms = ac.seal_interval_seconds * 1000;
  options.on_error = [&log](const Status& st) {
    log.Log(LogLevel::kError, "audit_write_failed",
            {{"code", std::string_view(st.machine_code())}, {"detail", std::string_view(st.message())}});
  };
  return options;
}

// One access-log line and the HTTP metrics per answered request.
HttpObserver AccessObserver(Logger& log, MetricsRegistry& metrics) {
  return [&log, &metrics](const HttpExchange& x) {
    const HttpResponse& r = x.response;
    std::string method = x.method.empty() ? "INVALID" : std::string(x.method);
    // Unknown methods are folded so a client cannot grow the series count.
    if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE" &&
        method != "HEAD" && method != "OPTIONS" && method != "INVALID") {
      method = "OTHER";
    }
    metrics.Add("consentry_http_requests_total",
                {{"method", method}, {"route", r.route}, {"status", std::to_string(r.status)}});
    metrics.Observe("consentry_http_request_duration_seconds", {{"route", r.route}}, x.seconds);
    if (r.route == "/webhooks/whatsapp/{channel_id}" && r.status == 401) {
      const bool known = r.error_code == "signature_missing" || r.error_code == "signature_malformed" ||
                         r.error_code == "signature_mismatch";
      metrics.Add("consentry_webhook_signature_failures_total", {{"reason", known ? r.error_code : "other"}});
    }
    log.Log(r.status >= 500 ? LogLevel::kError : LogLevel::kInfo, "http_request",
            {{"request_id", x.request_id},
             {"method", std::string_view(method)},
             {"route", std::string_view(r.route)},
             {"status", int64_t{r.status}},
             {"tenant", std::string_view(r.tenant_id)},
             {"error_code", std::string_view(r.error_code)},
             {"error_detail", std::string_view(r.log_detail)},
             {"latency_ms", x.seconds * 1000.0}});
  };
}

Status RecordSystemEvent(AuditSink& audit, std::string action, std::string details) {
  AuditEvent e{
      .actor = AuditActor::System(),
      .action = std::move(action),
      .resource = "process",
      .details = std::move(details)
  };
  return audit.Record(std::move(e));
}

// Tells the operator where the gateway listens (and, in demo mode, how to try it).
Status PrintStartup(AdminRuntime& rt, bool demo, const std::string& url, std::ostream& out) {
  if (demo) {
    CS_ASSIGN_OR_RETURN(IssuedKey key, PrepareDemoTenant(rt));
    out << "Consentry " << ConsentryVersion() << " is running.\n"
        << "  URL:         " << url << "\n"
        << "  Demo tenant: " << key.record.tenant_id << " (name \"demo\")\n"
        << "  API key:     " << InsecureSecretAccess::Get(key.token) << "  (shown once; valid 7 days)\n"
        << "  Try:         curl -H 'Authorization: Bearer <API key>' " << url << "/v1/me\n"
        << "  Stop with Ctrl-C.\n";
  } else {
    out << "Consentry " << ConsentryVersion() << " listening on " << url << "\n";
  }
  out.flush();
  return Status::Ok();
}

// Writes {"url","port"} whole (the durable writer) for supervisors and tests.
Status WriteReadyFile(const std::string& path, const std::string& url, uint16_t port) {
  JsonWriter w;
  w.BeginObject().Key("url").String(url).Key("port").Int(port).EndObject();
  DurableWriteOptions options;
  options.mode = 0644;  // read by a supervisor, and names no secret
  return WriteFileAtomically(PosixFileSystem(), path, w.str() + "\n", options);
}

// Meta's largest media (a 100 MB document) and its multipart framing.
constexpr int64_t kSandboxMaxUploadBytes = (100 << 20) + (64 << 10);

DispatcherOptions DispatcherOptionsFrom(const MessagingConfig& mc) {
  DispatcherOptions o;
  o.threads = mc.dispatch_threads;
  o.valid_for_ms = mc.valid_for_seconds * 1000;
  o.pair_burst = static_cast<int>(mc.pair_burst);
  o.pair_interval_seconds = static_cast<double>(mc.pair_interval_ms) / 1000.0;
  return o;
}

}  // namespace

std::vector<std::string> AllowedGraphUrls(const MessagingConfig& mc) {
  std::vector<std::string> out;
  for (const std::string& part : Split(mc.allowed_graph_urls, ',')) {
    std::string u(TrimAscii(part));
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (!u.empty()) out.push_back(u);
  }
  return out;
}

Status RunServe(std::shared_ptr<const Config> config, const ServeOptions& options, std::ostream& out) {
  // The gateway holds the master key in memory and in its environment:
  // another process of the same user (a compromised document reader among
  // them, docs/media.md) may not read its memory or /proc/<pid>/environ,
  // and a crash leaves no core file with keys in it.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  BlockStopSignals();
  CS_ASSIGN_OR_RETURN(LogLevel level, ParseLogLevel(config->log.level));
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Logger> log, CreateJsonLogger(level, config->log.file));
  // Held until the process ends: a restore waits for every gateway to stop.
  Status dir_ready = EnsureDataDir(config->data_dir);
  Result<std::unique_ptr<DataDirLock>> data_dir_lock =
      dir_ready.ok() ? DataDirLock::Acquire(config->data_dir, false) : Result<std::unique_ptr<DataDirLock>>(dir_ready);
  if (!data_dir_lock.ok()) {
    log->Log(LogLevel::kError, "startup_failed", {{"code", std::string_view(data_dir_lock.status().machine_code())}});
    return data_dir_lock.status();
  }
  auto runtime = OpenAdminRuntime(
      *config, config->store.auto_migrate ? MigrationMode::kApply : MigrationMode::kRequireCurrent,
      AuditActor::System());
  if (!runtime.ok()) {
    log->Log(LogLevel::kError, "startup_failed", {{"code", std::string_view(runtime.status().machine_code())}});
    return runtime.status();
  }
  AdminRuntime& rt = **runtime;

  // Messaging needs the master key; without one the rest of the API still
  // serves, and the messaging routes say why they cannot. Opened before the
  // audit writer: with a master key, the audit signing key is sealed under it.
  Result<std::unique_ptr<MessagingRuntime>> m = OpenMessaging(*config, rt, options.demo);
  std::unique_ptr<MessagingRuntime> messaging;
  if (m.ok()) {
    messaging = std::move(m).value();
    Status sealed = SealAuditSigningKey(*config, rt, *messaging->kms, *messaging->kms, false);
    if (!sealed.ok()) {
      log->Log(LogLevel::kError, "startup_failed", {{"code", std::string_view(sealed.machine_code())}});
      return sealed;
    }
  }

  // Declaration order is destruction order in reverse: the server (and its
  // handlers) go first, the audit writer (which they use) after them.
  MetricsRegistry metrics;
  DeclareMetrics(metrics);
  AuditWriter audit(*rt.store, rt.ledger, *rt.signer, rt.clock, AuditOptionsFrom(config->audit, *log), rt.heads_file);
  AuditReader audit_log(*rt.store);
  GatewayApiDeps deps;
  deps.store = rt.store.get();
  deps.api_keys = rt.api_keys.get();
  deps.tenants = rt.tenants.get();
  deps.oauth = rt.oauth.get();
  deps.audit_log = &audit_log;
  deps.metrics = &metrics;
  deps.audit = &audit;
  deps.clock = &rt.clock;
  const LimitsConfig& lc = config->limits;
  deps.limits.principal = RateLimit{static_cast<double>(lc.key_per_second), static_cast<double>(lc.key_burst)};
  deps.limits.tenant = RateLimit{static_cast<double>(lc.tenant_per_second), static_cast<double>(lc.tenant_burst)};
  deps.limits.address = RateLimit{static_cast<double>(lc.address_per_minute) / 60.0,
                                  static_cast<double>(std::max<int64_t>(1, lc.address_per_minute / 3))};
  deps.limits.bulk = RateLimit{static_cast<double>(lc.bulk_per_minute) / 60.0,
                               static_cast<double>(std::max<int64_t>(1, lc.bulk_per_minute / 2))};
  deps.json_limits.max_depth = config->json.max_depth;
  deps.json_limits.max_array_items = static_cast<size_t>(config->json.max_array_items);
  deps.version = std::string(ConsentryVersion());
  if (messaging) {
    deps.messages = messaging->messages.get();
    deps.media = messaging->media.get();
    deps.channels = messaging->channels.get();
    deps.webhooks = messaging->webhooks.get();
    deps.subscribers = messaging->subscribers.get();
    deps.consent = messaging->consent.get();
    deps.content = messaging->content.get();
    deps.erasures = messaging->erasures.get();
    deps.history = messaging->history.get();
    deps.keyring = messaging->keyring.get();
    deps.operators = messaging->operators.get();
    messaging->webhooks->SetSignatureFailureAlert(
        config->messaging.signature_alert_per_minute, [&log, &audit](const std::string& channel, int64_t count) {
          log->Log(LogLevel::kError, "webhook_signature_alert", {{"channel", std::string_view(channel)}, {"failures", count}});
          JsonWriter w;
          w.BeginObject().Key("channel").String(channel).Key("failures_in_minute").Int(count).EndObject();
          RecordSystemEvent(audit, "webhook.signature_failures", w.Take()).IgnoreError();  // the log line stays
        });
  } else {
    // Serving without messaging is fine for a gateway that never sealed
    // anything; with sealed data, a missing or wrong key is refused at start.
    const Status failure = m.status();
    const std::string& code = failure.machine_code();
    if (code == "master_key_wrong") return failure;
    if (code == "master_key_missing") {
      CS_ASSIGN_OR_RETURN(bool sealed, HoldsSealedData(*rt.store));
      if (sealed) {
        return FailedPrecondition("master_key_missing",
                                  "this data directory holds encrypted data: set vault.master_key_file or "
                                  "CONSENTRY_MASTER_KEY to its master key (docs/runbooks/operations.md)");
      }
    }
    log->Log(LogLevel::kWarn, "messaging_disabled", {{"code", std::string_view(code)}});
  }
  if (!rt.signer->can_sign()) {
    // A sealed signing key and no master key: the ledger could not be sealed.
    log->Log(LogLevel::kError, "startup_failed", {{"code", std::string_view("master_key_required")}});
    return FailedPrecondition("master_key_required",
                              "the audit signing key is sealed under a master key: set vault.master_key_file or "
                              "CONSENTRY_MASTER_KEY (docs/audit.md#keys)");
  }
  deps.allowed_graph_urls = AllowedGraphUrls(config->messaging);
  deps.public_base_url = config->http.public_base_url;
  std::unique_ptr<GatewayApi> api = CreateGatewayApi(std::move(deps));
  HttpServerOptions http = HttpOptionsFrom(config->http);
  GatewayApi* api_ptr = api.get();
  http.runs_inline = [api_ptr](const HttpRequest& req) { return api_ptr->RunsInline(req); };
  CS_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                      CreateHttpServer(http, [api_ptr](const HttpRequest& req) { return api_ptr->Handle(req); },
                                       AccessObserver(*log, metrics)));

  std::string host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  std::string url = std::string(http.tls_enabled ? "https" : "http") + "://" + host + ":" +
                    std::to_string(server->port());
  CS_RETURN_IF_ERROR(PrintStartup(rt, options.demo, url, out));
  DemoSandbox demo_sandbox;
  if (options.demo && messaging) {
    CS_ASSIGN_OR_RETURN(Tenant demo_tenant, rt.store->tenants().FindByName("demo"));
    CS_RETURN_IF_ERROR(demo_sandbox.Start(rt, *messaging, demo_tenant.id, url, options.sandbox_listen, out,
                                          MediaUploadLimit(kSandboxMaxUploadBytes), kSandboxMaxUploadBytes));
    out.flush();
  }
  std::unique_ptr<Dispatcher> dispatcher;
  if (messaging) {
    // Erasures a crash interrupted are finished before anything else runs
    // (F-03); one that cannot finish now is logged and retried every minute.
    Result<int> resumed = messaging->erasures->ResumePending();
    if (!resumed.ok()) {
      log->Log(LogLevel::kError, "erasure_resume_failed", {{"code", std::string_view(resumed.status().machine_code())}});
    } else if (*resumed > 0) {
      log->Log(LogLevel::kWarn, "erasures_resumed", {{"count", int64_t{*resumed}}});
    }
    // The consent index is filled in the background, so first checks of a
    // large campaign are answered from memory too (docs/consent.md).
    if (Result<std::vector<Tenant>> tenants = rt.store->tenants().List(); tenants.ok()) {
      std::vector<std::string> ids;
      for (const Tenant& t : *tenants) ids.push_back(t.id);
      messaging->consent->PreloadInBackground(std::move(ids));
    }
    dispatcher = std::make_unique<Dispatcher>(
        *rt.store, *messaging->commits, *messaging->keyring, *messaging->channels, rt.ledger, rt.clock, rt.random,
        *messaging->consent, DispatcherOptionsFrom(config->messaging), [&log](const std::string& what) {
          log->Log(LogLevel::kError, "dispatch_alert", {{"what", std::string_view(what)}});
        });
    dispatcher->Start();
  }
  std::unique_ptr<Forwarder> forwarder;
  if (messaging) {
    forwarder = std::make_unique<Forwarder>(*rt.store, *messaging->keyring, rt.clock, messaging->url_policy,
                                            ForwarderOptions{});
    forwarder->Start();
  }
  JsonWriter started;
  started.BeginObject().Key("version").String(ConsentryVersion()).Key("port").Int(server->port());
  started.Key("tls").Bool(http.tls_enabled).EndObject();
  CS_RETURN_IF_ERROR(RecordSystemEvent(audit, "system.start", started.Take()));
  log->Log(LogLevel::kInfo, "server_started",
           {{"port", int64_t{server->port()}}, {"tls", http.tls_enabled}, {"threads", int64_t{http.threads}}, {"io_threads", int64_t{http.io_threads}}});
  if (!options.ready_file.empty()) CS_RETURN_IF_ERROR(WriteReadyFile(options.ready_file, url, server->port()));
  {
    SignalWaiter signals(*server);
    // The periodic jobs, on the injected clock (scheduler.h).
    Scheduler jobs(rt.clock);
    jobs.Every("flush_api_audit", 1000, [api_ptr] { api_ptr->FlushPendingAudit().IgnoreError(); });  // retried each second
    // Webhook delivery keys are kept 7 days and an hour (W-03), quarantined
    // items messaging.quarantine_retention_days; both purged hourly.
    const int64_t quarantine_ms = config->messaging.quarantine_retention_days * 24 * 3600 * 1000;
    if (messaging) {
      // Ended sessions (idle, past their lifetime) leave the database.
      jobs.Every("purge_sessions", 600'000, [&rt, &messaging] {
        const SessionPolicy& p = messaging->operators->policy();
        rt.store->operators().PurgeSessions(rt.clock.NowUnixMillis(), p.idle_ms).status().IgnoreError();  // next run
        rt.store->oauth().PurgeTokens(rt.clock.NowUnixMillis()).status().IgnoreError();                   // next run
      });
    }
    jobs.Every("purge_hourly", 3'600'000, [&rt, quarantine_ms] {
      const int64_t now = rt.clock.NowUnixMillis();
      rt.store->inbound().PurgeSeen(now - (7LL * 24 + 1) * 3600 * 1000).status().IgnoreError();  // retried next hour
      rt.store->inbound().PurgeQuarantine(now - quarantine_ms).status().IgnoreError();  // retried next hour
      rt.store->inbound().PurgeMediaRefs(now).status().IgnoreError();  // expired at Meta; retried next hour
    }, /*at_start=*/true);
    // F-19: a step of the system clock changes nothing the gateway decides
    // (env.h, SteadyWallClock), but the operator must hear of it: timestamps
    // are off by the step until a restart adopts the system clock.
    jobs.Every("watch_clock", 10'000, [&rt, &log, &metrics, reported = int64_t{0}]() mutable {
      const int64_t offset = rt.clock.OffsetMillis();
      metrics.Set("consentry_clock_offset_seconds", {}, static_cast<double>(offset) / 1000);
      if (offset == reported) return;
      reported = offset;
      if (offset != 0) log->Log(LogLevel::kError, "clock_step", {{"offset_ms", offset}});
    }, /*at_start=*/true);
    // The dispatcher's and forwarder's counters, on /metrics.
    CounterFeed dispatch_feed(metrics, "consentry_dispatch_total"), forward_feed(metrics, "consentry_forward_total");
    jobs.Every("feed_metrics", 1000, [&dispatcher, &forwarder, &dispatch_feed, &forward_feed] {
      if (dispatcher) {
        const DispatcherStats& d = dispatcher->stats();
        dispatch_feed.Feed("submitted", d.submitted);
        dispatch_feed.Feed("retried", d.retried);
        dispatch_feed.Feed("failed", d.failed);
        dispatch_feed.Feed("unknown", d.unknown);
        dispatch_feed.Feed("paced", d.paced);
        dispatch_feed.Feed("consent_refused", d.consent_refused);
      }
      if (forwarder) {
        const ForwarderStats& f = forwarder->stats();
        forward_feed.Feed("delivered", f.delivered);
        forward_feed.Feed("retried", f.retried);
        forward_feed.Feed("dead", f.dead);
        forward_feed.Feed("withheld", f.withheld);
      }
    });
    // MIN-01: bodies go after their retention, checked every minute; the
    // job's work is on the record when it did any.
    const int64_t inbound_body_ms = config->messaging.inbound_body_seconds * 1000;
    const int64_t forward_body_ms = config->messaging.forward_body_ttl_seconds * 1000;
    jobs.Every("purge_bodies", 60'000, [&rt, &audit, inbound_body_ms, forward_body_ms] {
      // Tenants with a conversation history keep bodies for its retention (RET-01).
      Result<PurgedBodies> purged =
          PurgeExpiredBodies(*rt.store, rt.clock.NowUnixMillis(), inbound_body_ms, forward_body_ms);
      // Nothing done, or failed: retried next minute.
      if (!purged.ok() || purged->message_bodies + purged->forward_bodies == 0) return;
      JsonWriter w;
      w.BeginObject().Key("message_bodies").Int(purged->message_bodies);
      w.Key("forward_bodies").Int(purged->forward_bodies).EndObject();
      RecordSystemEvent(audit, "retention.purge", w.Take()).IgnoreError();
    });
    // An erasure interrupted by a failure (not a crash) is finished within a minute.
    if (messaging) {
      jobs.Every("resume_erasures", 60'000, [&messaging] {
        messaging->erasures->ResumePending().status().IgnoreError();  // still pending: retried next minute
      });
    }
    jobs.Start();
    server->Run();
    jobs.Stop();  // before what the jobs use goes out of scope
  }
  if (dispatcher) dispatcher->Stop();
  if (forwarder) forwarder->Stop();
  demo_sandbox.Stop();
  // Units still queued (a webhook whose answer the drain gave up on) run now,
  // while everything they use is alive; their answers go nowhere.
  if (messaging) messaging->commits->Stop();
  Status pending = api->FlushPendingAudit();
  Status stopped = pending.ok() ? RecordSystemEvent(audit, "system.stop", "{}") : pending;
  Status flushed = stopped.ok() ? audit.Flush() : stopped;
  log->Log(flushed.ok() ? LogLevel::kInfo : LogLevel::kError, "server_stopped", {{"audit_flushed", flushed.ok()}});
  log->Flush();
  // Exit non-zero when audit events may have been lost, so supervisors notice.
  return flushed;
}

Status RunSandboxServer(const SandboxOptions& options, const std::string& listen, const std::string& ready_file,
                        std::ostream& out) {
  BlockStopSignals();
  HttpServerOptions http;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("invalid_listen", "--listen must be host:port");
  http.host = listen.substr(0, colon);
  std::optional<int64_t> port = ParseNonNegativeInt(listen.substr(colon + 1));
  if (!port || *port > 65535) return InvalidArgument("invalid_listen", "--listen must be host:port");
  http.port = static_cast<uint16_t>(*port);
  http.large_body_limit = MediaUploadLimit(kSandboxMaxUploadBytes);
  http.large_body_limit_max = kSandboxMaxUploadBytes;
  http.threads = 2;
  // Webhook-sized bodies and media metadata; the Cloud API takes up to a few MB.
  http.max_body_bytes = 4 << 20;
  SystemClock clock;
  std::unique_ptr<Sandbox> sandbox = CreateSandbox(options, clock);
  Sandbox* sandbox_ptr = sandbox.get();
  CS_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                      CreateHttpServer(http, [sandbox_ptr](const HttpRequest& req) { return sandbox_ptr->Handle(req); },
                                       nullptr));
  std::string url = "http://" + http.host + ":" + std::to_string(server->port());
  out << "Consentry sandbox (a local WhatsApp Cloud API) listening on " << url << "\n"
      << "  phone_number_id: " << options.phone_number_id << "\n"
      << "  webhooks to:     " << (options.webhook_url.empty() ? "(none)" : options.webhook_url) << "\n";
  out.flush();
  if (!ready_file.empty()) CS_RETURN_IF_ERROR(WriteReadyFile(ready_file, url, server->port()));
  sandbox->Start();
  {
    SignalWaiter signals(*server);
    server->Run();
  }
  sandbox->Stop();
  return Status::Ok();
}

}  // namespace cs
