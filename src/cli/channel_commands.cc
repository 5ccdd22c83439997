// `consentry channel …`: list, add, pause and resume a tenant's WhatsApp
// channels from the operator's shell (the same services as /v1/channels).
//
// Secrets never come from the command line, where `ps` and shell history
// would show them, nor from CONSENTRY_* variables (those are configuration
// keys): `add` reads a JSON object {"access_token", "app_secret",
// "verify_token"} on standard input.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "json/json.h"
#include "messaging/channels.h"
#include "vault/keyring.h"

namespace cs::cli_internal {

namespace {

struct ChannelArgs {
  std::string tenant;
  std::string channel;
  std::string phone_number_id;
  std::string waba_id;
  std::string display_phone_number;
  std::string graph_url = "https://graph.facebook.com";
  std::string graph_version = "v23.0";
  int64_t throughput = 80;
  std::string reason;
};

Status RecordOperatorAction(AdminRuntime& rt, const std::string& tenant_id, std::string action, std::string resource) {
  AuditEvent e{.tenant_id = tenant_id, .actor = rt.actor, .action = std::move(action), .resource = std::move(resource)};
  return rt.store->InTransaction([&](StoreTransaction& tx) { return rt.ledger.Record(tx, e); });
}

void PrintChannels(const std::vector<Channel>& channels, bool json) {
  if (json) {
    std::string out = R"({"channels":[)";
    for (size_t i = 0; i < channels.size(); ++i) out += (i ? "," : "") + ChannelJson(channels[i]);
    std::cout << out << "]}\n";
    return;
  }
  if (channels.empty()) std::cout << "no channels\n";
  for (const Channel& c : channels) {
    std::cout << c.id << "  tenant " << c.tenant_id << "  number id " << c.phone_number_id << "  waba "
              << c.waba_id << "  " << c.graph_base_url << "/" << c.graph_version << "  " << c.throughput_per_second
              << "/s  " << (c.paused_reason.empty() ? "active" : "PAUSED (" + c.paused_reason + ")") << "\n";
  }
}

int CmdList(const CommonOptions& o, const ChannelArgs& a) {
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  Store& store = *(*rt)->store;
  std::vector<Tenant> tenants;
  if (!a.tenant.empty()) {
    auto t = ResolveTenant(store, a.tenant);
    if (!t.ok()) return PrintError(t.status(), o.json);
    tenants.push_back(*t);
  } else {
    auto all = store.tenants().List();
    if (!all.ok()) return PrintError(all.status(), o.json);
    tenants = std::move(all).value();
  }
  std::vector<Channel> channels;
  for (const Tenant& t : tenants) {
    auto some = store.channels().ListChannels(t.id);
    if (!some.ok()) return PrintError(some.status(), o.json);
    channels.insert(channels.end(), some->begin(), some->end());
    if (Status s = RecordOperatorAction(**rt, t.id, "channel.list", "channel:*"); !s.ok()) return PrintError(s, o.json);
  }
  PrintChannels(channels, o.json);
  return 0;
}

// Reads {"access_token", "app_secret", "verify_token"} from standard input.
Status ReadSecrets(ChannelSpec& spec) {
  if (isatty(STDIN_FILENO)) {
    std::cerr << "reading the secrets as JSON from standard input (end with Ctrl-D)…\n";
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  Result<JsonValue> json = ParseJson(input);
  if (!json.ok() || !json->is_object()) {
    return InvalidArgument("invalid_json", "standard input must hold a JSON object with access_token, app_secret "
                                           "and verify_token (secrets are never read from the command line)");
  }
  for (auto [target, name] : {std::pair{&spec.access_token, "access_token"}, std::pair{&spec.app_secret, "app_secret"},
                              std::pair{&spec.verify_token, "verify_token"}}) {
    const JsonValue* v = json->Find(name);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
      return InvalidArgument("missing_field", std::string(name) + " is missing from the JSON on standard input");
    }
    *target = SecretString(v->as_string());
  }
  return Status::Ok();
}

int CmdAdd(const CommonOptions& o, const ChannelArgs& a) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  auto tenant = ResolveTenant(*opened->rt->store, a.tenant);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  std::string url = a.graph_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const std::vector<std::string> allowed = AllowedGraphUrls(opened->config->messaging);
  if (std::find(allowed.begin(), allowed.end(), url) == allowed.end()) {
    return PrintError(PermissionDenied("forbidden", "--graph-url is not in messaging.allowed_graph_urls"), o.json);
  }
  ChannelSpec spec;
  spec.tenant_id = tenant->id;
  spec.phone_number_id = a.phone_number_id;
  spec.waba_id = a.waba_id;
  spec.display_phone_number = a.display_phone_number;
  spec.graph_base_url = url;
  spec.graph_version = a.graph_version;
  spec.throughput_per_second = a.throughput;
  if (Status s = ReadSecrets(spec); !s.ok()) return PrintError(s, o.json);
  Result<Channel> created = opened->messaging->channels->Create(opened->rt->actor, spec);
  if (!created.ok()) return PrintError(created.status(), o.json);
  if (o.json) {
    std::cout << ChannelJson(*created) << "\n";
  } else {
    std::cout << "channel " << created->id << " added for tenant " << created->tenant_id << "\n"
              << "Meta's webhook URL: <gateway>/webhooks/whatsapp/" << created->id
              << " (verify token: the one given)\n";
  }
  return 0;
}

int CmdPause(const CommonOptions& o, const ChannelArgs& a, bool pause) {
  if (pause) {
    // Stored, shown to the tenant by GET /v1/channels and printed by `channel list`.
    bool printable = !a.reason.empty() && a.reason.size() <= 200;
    for (char c : a.reason) printable = printable && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    if (!printable) {
      return PrintError(InvalidArgument("invalid_field", "--reason must be 1 to 200 printable characters"), o.json);
    }
  }
  // No master key needed: stopping a channel must work in an incident.
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  Store& store = *(*rt)->store;
  Result<Channel> channel = store.channels().FindChannel(a.channel);
  if (!channel.ok()) return PrintError(channel.status(), o.json);
  const bool change = pause ? channel->paused_reason != a.reason : !channel->paused_reason.empty();
  if (change) {
    if (Status s = SetChannelPaused(store, (*rt)->ledger, (*rt)->actor, *channel, pause ? a.reason : ""); !s.ok()) {
      return PrintError(s, o.json);
    }
  }
  Result<Channel> now = store.channels().FindChannel(a.channel);
  if (!now.ok()) return PrintError(now.status(), o.json);
  if (o.json) {
    std::cout << ChannelJson(*now) << "\n";
  } else {
    std::cout << "channel " << now->id << " of tenant " << now->tenant_id
              << (pause ? " paused: " + a.reason : change ? " resumed" : " was not paused") << "\n";
  }
  return 0;
}

}  // namespace

void AddChannelCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  static ChannelArgs a;  // lives as long as the parse; one command runs per process
  auto* channel = app.add_subcommand("channel", "List, add, pause and resume WhatsApp channels");
  channel->require_subcommand(1);

  auto* list = channel->add_subcommand("list", "Channels of one tenant, or of all");
  AddCommon(list, o);
  list->add_option("--tenant", a.tenant, "Tenant id or name (default: every tenant)");
  list->callback([&] { run = [&] { return CmdList(o, a); }; });

  auto* add = channel->add_subcommand(
      "add", "Add a channel; its secrets as JSON on standard input: {\"access_token\",\"app_secret\",\"verify_token\"}");
  AddCommon(add, o);
  add->add_option("--tenant", a.tenant, "Tenant id or name")->required();
  add->add_option("--phone-number-id", a.phone_number_id, "Meta's phone number id")->required();
  add->add_option("--waba-id", a.waba_id, "Meta's WhatsApp Business Account id")->required();
  add->add_option("--display-number", a.display_phone_number, "The business's own number, as shown to customers");
  add->add_option("--graph-url", a.graph_url, "Graph API base URL (must be in messaging.allowed_graph_urls)");
  add->add_option("--graph-version", a.graph_version, "Graph API version, e.g. v23.0");
  add->add_option("--throughput", a.throughput, "Messages per second Meta allows this number (default 80)");
  add->callback([&] { run = [&] { return CmdAdd(o, a); }; });

  auto* pause = channel->add_subcommand("pause", "Stop sending through a channel (queued messages wait)");
  AddCommon(pause, o);
  pause->add_option("--channel", a.channel, "Channel id (chn_…)")->required();
  pause->add_option("--reason", a.reason, "Why, for the audit record")->required();
  pause->callback([&] { run = [&] { return CmdPause(o, a, true); }; });

  auto* resume = channel->add_subcommand("resume", "Send through a paused channel again");
  AddCommon(resume, o);
  resume->add_option("--channel", a.channel, "Channel id (chn_…)")->required();
  resume->callback([&] { run = [&] { return CmdPause(o, a, false); }; });
}

}  // namespace cs::cli_internal
