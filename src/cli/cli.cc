#include "cli/cli.h"
#include "docscan/document_text.h"

#include <CLI/CLI.hpp>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/api.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "config/config.h"
#include "server/server.h"

namespace cs {

namespace cli_internal {

void AddCommon(CLI::App* cmd, CommonOptions& o, bool with_json) {
  cmd->add_option("--config", o.config_file, "TOML configuration file (see docs/config.md)");
  cmd->add_option("--data-dir", o.data_dir, "Data directory (overrides data_dir)");
  cmd->add_option("--listen", o.listen, "Listen address host:port (overrides http.listen)");
  if (with_json) cmd->add_flag("--json", o.json, "Print machine-readable JSON");
}

ConfigLoad Load(const CommonOptions& o, bool demo_key) {
  ConfigSources sources;
  if (!o.config_file.empty()) sources.file_path = o.config_file;
  sources.env = ProcessEnvironment();
  if (!o.data_dir.empty()) sources.flags["data_dir"] = o.data_dir;
  if (!o.listen.empty()) sources.flags["http.listen"] = o.listen;
  ConfigLoad load = LoadConfig(sources);
  const char* env_key = std::getenv("CONSENTRY_MASTER_KEY");
  if (!demo_key || !load.ok() || !load.config->vault.master_key_file.empty() || (env_key != nullptr && *env_key != '\0')) {
    return load;
  }
  // The key `serve --demo` made beside the data: an admin command run after
  // the demo finds it as the demo does, so a newcomer's next command works.
  // (A gateway started without --demo never uses it; production keys live
  // elsewhere, docs/runbooks/operations.md.)
  const std::string demo = (std::filesystem::path(load.config->data_dir) / "master.key").string();
  struct stat st {};
  if (::stat(demo.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return load;
  auto config = std::make_shared<Config>(*load.config);
  config->vault.master_key_file = demo;
  load.config = std::move(config);
  if (isatty(STDERR_FILENO)) std::cerr << "consentry: using the demo's master key " << demo << "\n";
  return load;
}

// The operator acting through the CLI, as recorded in the audit ledger.
AuditActor OperatorActor() {
  const passwd* pw = getpwuid(geteuid());
  std::string user = pw && pw->pw_name ? pw->pw_name : "uid" + std::to_string(geteuid());
  return AuditActor{"operator", "cli:" + user, "cli", ""};
}

namespace {

Result<std::unique_ptr<DataDirLock>> LockDataDirShared(const Config& config) {
  if (::mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("storage_unavailable", "cannot create data_dir " + config.data_dir);
  }
  return DataDirLock::Acquire(config.data_dir, false);
}

}  // namespace

Result<std::unique_ptr<AdminRuntime>> Open(const CommonOptions& o, MigrationMode mode) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return load.ToStatus();
  CS_ASSIGN_OR_RETURN(std::unique_ptr<DataDirLock> lock, LockDataDirShared(*load.config));
  CS_ASSIGN_OR_RETURN(std::unique_ptr<AdminRuntime> rt, OpenAdminRuntime(*load.config, mode, OperatorActor()));
  rt->data_dir_lock = std::move(lock);
  return rt;
}

// Resolves --tenant given as an id ("ten_…") or a name.
Result<Tenant> ResolveTenant(Store& store, const std::string& ref) {
  if (ref.rfind("ten_", 0) == 0) {
    auto t = store.tenants().Get(ref);
    if (t.ok() || t.status().code() != StatusCode::kNotFound) return t;
  }
  auto t = store.tenants().FindByName(ref);
  if (!t.ok() && t.status().code() == StatusCode::kNotFound) return NotFound("no tenant with that id or name");
  return t;
}

void Progress(const std::string& text) {
  if (isatty(STDERR_FILENO)) std::cerr << "\r" << text << "\033[K" << std::flush;
}

void ProgressDone() {
  if (isatty(STDERR_FILENO)) std::cerr << "\r\033[K" << std::flush;
}

Result<OpenedKeys> OpenKeys(const CommonOptions& o) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return load.ToStatus();
  OpenedKeys k;
  k.config = load.config;
  CS_ASSIGN_OR_RETURN(std::unique_ptr<DataDirLock> lock, LockDataDirShared(*load.config));
  CS_ASSIGN_OR_RETURN(k.rt, OpenAdminRuntime(*load.config, MigrationMode::kApply, OperatorActor()));
  k.rt->data_dir_lock = std::move(lock);
  CS_ASSIGN_OR_RETURN(k.messaging, OpenMessaging(*load.config, *k.rt, false));
  return k;
}

}  // namespace cli_internal

namespace {

using namespace cli_internal;  // NOLINT(google-build-using-namespace): this file's own helpers

int CmdVersion(const CommonOptions& o) {
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("version").String(ConsentryVersion()).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "consentry " << ConsentryVersion() << "\n";
  }
  return 0;
}

int CmdConfigCheck(const CommonOptions& o) {
  ConfigLoad load = Load(o);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("ok").Bool(load.ok());
    w.Key("issues").BeginArray();
    for (const auto& i : load.issues) w.BeginObject().Key("key").String(i.key).Key("message").String(i.message).EndObject();
    w.EndArray();
    if (load.ok()) {
      w.Key("origins").BeginObject();
      for (const auto& [k, v] : load.config->origins) w.Key(k).String(v);
      w.EndObject();
    }
    w.EndObject();
    std::cout << w.str() << "\n";
  } else if (load.ok()) {
    std::cout << "configuration is valid\n" << DescribeConfig(*load.config);
  } else {
    for (const auto& i : load.issues) std::cerr << "error: " << i.key << ": " << i.message << "\n";
  }
  return load.ok() ? 0 : 2;
}

int CmdMigrate(const CommonOptions& o, bool status_only) {
  auto rt = Open(o, MigrationMode::kNone);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  Result<MigrationStatus> m = status_only ? (*rt)->store->GetMigrationStatus() : (*rt)->store->Migrate();
  if (!m.ok()) return PrintError(m.status(), o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("current_version").Int(m->current_version).Key("latest_version").Int(m->latest_version);
    w.Key("applied").BeginArray();
    for (const auto& a : m->applied_now) w.String(a);
    w.EndArray().EndObject();
    std::cout << w.str() << "\n";
  } else {
    for (const auto& a : m->applied_now) std::cout << "applied " << a << "\n";
    std::cout << "schema version " << m->current_version << " of " << m->latest_version
              << (m->current_version == m->latest_version ? " (up to date)" : " (migrations pending)") << "\n";
  }
  return 0;
}

int CmdTenantCreate(const CommonOptions& o, const std::string& name) {
  auto rt = Open(o, MigrationMode::kApply);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  auto created = CreateTenant(**rt, name);
  if (!created.ok()) return PrintError(created.status(), o.json);
  const Tenant& t = *created;
  if (o.json) std::cout << TenantJson(t) << "\n";
  else std::cout << "created tenant " << t.id << " (" << t.name << ")\n";
  return 0;
}

int CmdTenantSetRetention(const CommonOptions& o, const std::string& ref, int64_t days) {
  auto rt = Open(o, MigrationMode::kApply);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  if (days < 365 || days > 36500) {
    return PrintError(InvalidArgument("invalid_argument", "--audit-days must be between 365 and 36500"), o.json);
  }
  auto tenant = ResolveTenant(*(*rt)->store, ref);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  Status s = (*rt)->store->InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.tenants().SetAuditRetention(tenant->id, days));
    JsonWriter w;
    w.BeginObject().Key("audit_retention_days").Int(days).EndObject();
    AuditEvent e{
        .tenant_id = tenant->id,
        .actor = (*rt)->actor,
        .action = "tenant.configure",
        .resource = "tenant:" + tenant->id,
        .details = w.Take()
    };
    return (*rt)->ledger.Record(tx, e);
  });
  if (!s.ok()) return PrintError(s, o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("id").String(tenant->id).Key("audit_retention_days").Int(days).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "tenant " << tenant->id << ": audit entries kept " << days << " days\n";
  }
  return 0;
}

int CmdTenantList(const CommonOptions& o) {
  auto rt = Open(o, MigrationMode::kApply);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  auto list = (*rt)->store->tenants().List();
  if (!list.ok()) return PrintError(list.status(), o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& t : *list) w.Raw(TenantJson(t));
    w.EndArray().EndObject();
    std::cout << w.str() << "\n";
  } else {
    for (const auto& t : *list) std::cout << t.id << "  " << t.name << "  " << FormatRfc3339Millis(t.created_at_ms) << "\n";
  }
  return 0;
}

void PrintKey(const ApiKeyRecord& k, int64_t now, std::string_view token, bool json) {
  if (json) {
    std::cout << ApiKeyJson(k, now, token) << "\n";
    return;
  }
  std::cout << k.id << "  " << k.name << "  [" << Join(k.scopes, ",") << "]  expires "
            << FormatRfc3339Millis(k.expires_at_ms) << (k.revoked_at_ms ? "  REVOKED" : "") << "\n";
  if (!token.empty()) std::cout << "token (shown once, store it now): " << token << "\n";
}

struct KeyArgs {
  std::string tenant;
  std::string name;
  std::vector<std::string> scopes;
  int64_t expires_in_days = 0;
  std::string key_id;
  int64_t overlap_seconds = -1;
};

int CmdApiKey(const CommonOptions& o, const std::string& action, const KeyArgs& a) {
  auto rt_result = Open(o, MigrationMode::kApply);
  if (!rt_result.ok()) return PrintError(rt_result.status(), o.json);
  AdminRuntime& rt = **rt_result;
  auto tenant = ResolveTenant(*rt.store, a.tenant);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  int64_t now = rt.clock.NowUnixMillis();
  if (action == "create") {
    std::vector<std::string> scopes;
    for (const auto& s : a.scopes) {
      for (auto& part : Split(s, ',')) {
        if (!part.empty()) scopes.push_back(part);
      }
    }
    auto issued = rt.api_keys->Create(rt.actor, tenant->id, a.name, scopes,
                                      a.expires_in_days > 0 ? std::optional<int64_t>(a.expires_in_days) : std::nullopt);
    if (!issued.ok()) return PrintError(issued.status(), o.json);
    PrintKey(issued->record, now, InsecureSecretAccess::Get(issued->token), o.json);
    return 0;
  }
  if (action == "list") {
    auto keys = rt.store->api_keys().List(tenant->id);
    if (!keys.ok()) return PrintError(keys.status(), o.json);
    if (o.json) {
      JsonWriter w;
      w.BeginObject().Key("data").BeginArray();
      for (const auto& k : *keys) w.Raw(ApiKeyJson(k, now));
      w.EndArray().EndObject();
      std::cout << w.str() << "\n";
    } else {
      for (const auto& k : *keys) PrintKey(k, now, "", false);
    }
    return 0;
  }
  if (action == "revoke") {
    if (Status s = rt.api_keys->Revoke(rt.actor, tenant->id, a.key_id); !s.ok()) return PrintError(s, o.json);
    auto k = rt.store->api_keys().Get(tenant->id, a.key_id);
    if (!k.ok()) return PrintError(k.status(), o.json);
    PrintKey(*k, rt.clock.NowUnixMillis(), "", o.json);
    return 0;
  }
  // rotate
  auto issued = rt.api_keys->Rotate(rt.actor, tenant->id, a.key_id,
                                    a.overlap_seconds >= 0 ? std::optional<int64_t>(a.overlap_seconds) : std::nullopt);
  if (!issued.ok()) return PrintError(issued.status(), o.json);
  PrintKey(issued->record, now, InsecureSecretAccess::Get(issued->token), o.json);
  return 0;
}

int CmdServe(const CommonOptions& o, const ServeOptions& serve) {
  ConfigLoad load = Load(o, /*demo_key=*/false);
  if (!load.ok()) return PrintError(load.ToStatus(), false);
  Status s = RunServe(load.config, serve, std::cout);
  if (!s.ok()) return PrintError(s, false);
  return 0;
}

struct SandboxArgs {
  SandboxOptions options;
  std::string listen = "127.0.0.1:8081";
  std::string ready_file;
};

int CmdSandbox(const SandboxArgs& a) {
  if (a.options.access_token.empty() || a.options.app_secret.empty()) {
    std::cerr << "error: --access-token and --app-secret are required\n";
    return 2;
  }
  Status s = RunSandboxServer(a.options, a.listen, a.ready_file, std::cout);
  if (!s.ok()) return PrintError(s, false);
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"Consentry: a privacy-by-design gateway for the WhatsApp Business Platform.\n"
               "Docs: README.md and docs/ in the source tree."};
  app.require_subcommand(1);
  CommonOptions o;
  ServeOptions serve_options;
  KeyArgs key;
  std::string tenant_name;
  bool migrate_status = false;
  std::function<int()> run;

  auto* serve = app.add_subcommand("serve", "Run the gateway");
  AddCommon(serve, o, false);
  serve->add_flag("--demo", serve_options.demo, "Create a demo tenant and print a fresh API key for it");
  serve->add_option("--ready-file", serve_options.ready_file, "Write {\"url\",\"port\"} here once listening");
  serve->add_option("--sandbox-listen", serve_options.sandbox_listen,
                    "With --demo: host:port of the built-in Cloud API sandbox")->capture_default_str();
  serve->callback([&] { run = [&] { return CmdServe(o, serve_options); }; });

  SandboxArgs sandbox_args;
  auto* sandbox = app.add_subcommand("sandbox", "Run a local WhatsApp Cloud API to develop and test against (docs/sandbox.md)");
  {
    SandboxOptions& so = sandbox_args.options;
    sandbox->add_option("--listen", sandbox_args.listen, "host:port to listen on")->capture_default_str();
    sandbox->add_option("--ready-file", sandbox_args.ready_file, "Write {\"url\",\"port\"} here once listening");
    sandbox->add_option("--access-token", so.access_token, "The bearer token clients must send (a made-up value)");
    sandbox->add_option("--app-secret", so.app_secret, "The app secret that signs webhooks (a made-up value)");
    sandbox->add_option("--webhook-url", so.webhook_url, "Where to POST webhooks (the gateway's webhook URL)");
    sandbox->add_option("--waba-id", so.waba_id, "WhatsApp Business Account id")->capture_default_str();
    sandbox->add_option("--phone-number-id", so.phone_number_id, "The simulated business number's id")->capture_default_str();
    sandbox->add_option("--display-phone-number", so.display_phone_number, "Its display number")->capture_default_str();
    sandbox->add_option("--throughput", so.throughput_per_second, "Messages per second per number before 130429")->capture_default_str();
    sandbox->add_option("--pair-burst", so.pair_burst, "Burst to one user before 131056")->capture_default_str();
    sandbox->add_option("--pair-interval", so.pair_interval_seconds, "Seconds per message to one user after the burst")->capture_default_str();
    sandbox->add_option("--status-delay-ms", so.status_delay_ms, "Delay between sent, delivered and read")->capture_default_str();
    sandbox->add_option("--drop-rate", so.drop_rate, "Share of status webhooks never sent (0-1)")->capture_default_str();
    sandbox->add_option("--duplicate-rate", so.duplicate_rate, "Share of status webhooks sent twice (0-1)")->capture_default_str();
    sandbox->add_option("--reorder-rate", so.reorder_rate, "Share of messages whose statuses arrive in reverse (0-1)")->capture_default_str();
    sandbox->add_option("--webhook-max-attempts", so.webhook_max_attempts, "Attempts per webhook before giving up")->capture_default_str();
    sandbox->add_flag("--conversation", so.include_conversation, "Include `conversation` in statuses (pre-v24 behaviour)");
  }
  sandbox->callback([&] { run = [&] { return CmdSandbox(sandbox_args); }; });

  // Internal: the gateway runs it as a child process to read documents'
  // text (docscan/document_text.h); hidden from --help.
  std::string extract_type;
  auto* extract = app.add_subcommand("extract-text", "")->group("");
  bool probe_sandbox = false;
  auto* type_option = extract->add_option("--type", extract_type, "MIME type of the document on standard input");
  extract->add_flag("--probe-sandbox", probe_sandbox, "try what the sandbox must refuse, and report")
      ->excludes(type_option);
  extract->callback([&] {
    run = [&]() -> int {
      if (probe_sandbox) docscan::RunSandboxProbeChild(docscan::IsolationOptions{});
      if (extract_type.empty()) {
        std::fprintf(stderr, "extract-text: --type is required\n");
        return 2;
      }
      docscan::RunExtractTextChild(extract_type, docscan::IsolationOptions{});
    };
  });

  auto* version = app.add_subcommand("version", "Print the version");
  AddCommon(version, o);
  version->callback([&] { run = [&] { return CmdVersion(o); }; });

  auto* routes = app.add_subcommand("routes", "Print every HTTP route with its permission and how callers prove themselves");
  AddCommon(routes, o);
  routes->callback([&] {
    run = [&] {
      std::unique_ptr<GatewayApi> api = CreateGatewayApi(GatewayApiDeps{});
      JsonWriter w;
      w.BeginObject().Key("routes").BeginArray();
      for (const RouteInfo& r : api->Routes()) {
        if (!o.json) {
          std::cout << r.method << " " << r.pattern << "  " << (r.scope.empty() ? "-" : r.scope) << "  " << r.auth
                    << (r.sensitive ? "  reauth" : "") << "\n";
          continue;
        }
        w.BeginObject().Key("method").String(r.method).Key("pattern").String(r.pattern).Key("permission").String(r.scope);
        w.Key("auth").String(r.auth).Key("reauth").Bool(r.sensitive).EndObject();
      }
      w.EndArray().EndObject();
      if (o.json) std::cout << w.str() << "\n";
      return 0;
    };
  });

  auto* config = app.add_subcommand("config", "Inspect configuration");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate configuration without starting");
  AddCommon(check, o);
  check->callback([&] { run = [&] { return CmdConfigCheck(o); }; });
  auto* reference = config->add_subcommand("reference", "Print the Markdown reference of every key");
  reference->callback([&] {
    run = [] {
      std::cout << ConfigReferenceMarkdown();
      return 0;
    };
  });

  auto* migrate = app.add_subcommand("migrate", "Apply pending database schema migrations");
  AddCommon(migrate, o);
  migrate->add_flag("--status", migrate_status, "Only report the schema version");
  migrate->callback([&] { run = [&] { return CmdMigrate(o, migrate_status); }; });

  auto* tenant = app.add_subcommand("tenant", "Manage tenants");
  tenant->require_subcommand(1);
  auto* tenant_create = tenant->add_subcommand("create", "Create a tenant");
  AddCommon(tenant_create, o);
  tenant_create->add_option("--name", tenant_name, "Unique tenant name (1–100 characters)")->required();
  tenant_create->callback([&] { run = [&] { return CmdTenantCreate(o, tenant_name); }; });
  static int64_t retention_days = 0;
  auto* tenant_retention = tenant->add_subcommand("set-retention", "Set how long a tenant's audit entries are kept");
  AddCommon(tenant_retention, o);
  tenant_retention->add_option("--tenant", key.tenant, "Tenant id or name")->required();
  tenant_retention->add_option("--audit-days", retention_days, "Days, 365 to 36500")->required();
  tenant_retention->callback([&] { run = [&] { return CmdTenantSetRetention(o, key.tenant, retention_days); }; });
  auto* tenant_list = tenant->add_subcommand("list", "List tenants");
  AddCommon(tenant_list, o);
  tenant_list->callback([&] { run = [&] { return CmdTenantList(o); }; });

  AddAuditCommands(app, o, run);
  AddScanCommands(app, o, run);
  AddKeysCommands(app, o, run);
  AddChannelCommands(app, o, run);
  AddOperatorCommands(app, o, run);
  AddBackupCommands(app, o, run);

  auto* apikey = app.add_subcommand("apikey", "Manage integration API keys");
  apikey->require_subcommand(1);
  auto add_key_cmd = [&](const std::string& name, const std::string& help) {
    auto* cmd = apikey->add_subcommand(name, help);
    AddCommon(cmd, o);
    cmd->add_option("--tenant", key.tenant, "Tenant id or name")->required();
    cmd->callback([&, name] { run = [&, name] { return CmdApiKey(o, name, key); }; });
    return cmd;
  };
  auto* key_create = add_key_cmd("create", "Create a key; prints its token once");
  key_create->add_option("--name", key.name, "Label for the key")->required();
  key_create->add_option("--scope,--scopes", key.scopes, "Scope(s), repeatable or comma-separated")->required();
  key_create->add_option("--expires-in-days", key.expires_in_days, "Lifetime in days (default from config)");
  add_key_cmd("list", "List a tenant's keys (never their secrets)");
  auto* key_revoke = add_key_cmd("revoke", "Revoke a key with immediate effect");
  key_revoke->add_option("key_id", key.key_id, "The key id (key_…)")->required();
  auto* key_rotate = add_key_cmd("rotate", "Replace a key; the old one works for the overlap only");
  key_rotate->add_option("key_id", key.key_id, "The key id (key_…)")->required();
  key_rotate->add_option("--overlap-seconds", key.overlap_seconds, "How long the old key keeps working");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return run ? run() : 2;
}

}  // namespace cs
