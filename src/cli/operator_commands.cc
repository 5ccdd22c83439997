// `consentry operator …`: create, list, show, disable, enable, reset the
// second factor of, and invite again the people who work in a tenant
// (docs/operators.md), with the same service as /v1/operators. The first
// administrator of a fresh install is made here (S-06: there is no default
// account): it gets a one-time link to set its password.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "operators/operators.h"

namespace cs::cli_internal {

namespace {

struct OperatorArgs {
  std::string tenant;
  std::string id;
  std::string login;
  std::string name;
  std::vector<std::string> roles;
};

std::string OperatorLine(const OperatorRecord& op) {
  std::string roles;
  for (size_t i = 0; i < op.roles.size(); ++i) roles += (i ? "," : "") + op.roles[i];
  return op.id + "  " + op.login + "  " + roles + "  " + op.state + (op.mfa_enrolled ? "  mfa" : "  no-mfa-yet");
}

std::string OperatorJson(const OperatorRecord& op) {
  JsonWriter w;
  w.BeginObject().Key("id").String(op.id).Key("tenant_id").String(op.tenant_id).Key("login").String(op.login);
  w.Key("display_name").String(op.display_name).Key("roles").BeginArray();
  for (const std::string& r : op.roles) w.String(r);
  w.EndArray().Key("state").String(op.state).Key("mfa_enrolled").Bool(op.mfa_enrolled);
  w.Key("created_at").String(FormatRfc3339Millis(op.created_at_ms)).EndObject();
  return w.Take();
}

void PrintInvitation(const Invitation& inv, const std::string& base_url, bool json) {
  const std::string token(InsecureSecretAccess::Get(inv.token));
  const std::string url = (base_url.empty() ? std::string("<gateway>") : base_url) + "/console/#/invitation/" + token;
  if (json) {
    JsonWriter w;
    w.BeginObject().Key("operator").Raw(OperatorJson(inv.op)).Key("invitation_token").String(token);
    w.Key("invitation_url").String(url).Key("expires_at").String(FormatRfc3339Millis(inv.expires_at_ms)).EndObject();
    std::cout << w.str() << "\n";
    return;
  }
  std::cout << "operator " << inv.op.id << " (" << inv.op.login << ") invited\n"
            << "Give them this link, once; it works until " << FormatRfc3339Millis(inv.expires_at_ms) << ":\n  "
            << url << "\n"
            << "They set a password there, then enrol an authenticator app at their first login.\n";
}

// Opens the key hierarchy (the second factor is sealed under the tenant key).
template <typename Body>
int WithOperators(const CommonOptions& o, const OperatorArgs& a, Body body) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  auto tenant = ResolveTenant(*opened->rt->store, a.tenant);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  return body(*opened, *tenant);
}

int CmdCreate(const CommonOptions& o, const OperatorArgs& a) {
  return WithOperators(o, a, [&](OpenedKeys& k, const Tenant& t) {
    Result<Invitation> inv =
        k.messaging->operators->Create(k.rt->actor, OperatorSpec{t.id, a.login, a.name.empty() ? a.login : a.name, a.roles});
    if (!inv.ok()) return PrintError(inv.status(), o.json);
    PrintInvitation(*inv, k.config->http.public_base_url, o.json);
    return 0;
  });
}

int CmdList(const CommonOptions& o, const OperatorArgs& a) {
  return WithOperators(o, a, [&](OpenedKeys& k, const Tenant& t) {
    Result<std::vector<OperatorRecord>> all = k.messaging->operators->List(t.id);
    if (!all.ok()) return PrintError(all.status(), o.json);
    Status recorded = k.rt->store->InTransaction([&](StoreTransaction& tx) {
      return k.rt->ledger.Record(tx, AuditEvent{.tenant_id = t.id, .actor = k.rt->actor, .action = "operator.list",
                                                .resource = "operator:*"});
    });
    if (!recorded.ok()) return PrintError(recorded, o.json);
    if (o.json) {
      std::string out = R"({"operators":[)";
      for (size_t i = 0; i < all->size(); ++i) out += (i ? "," : "") + OperatorJson((*all)[i]);
      std::cout << out << "]}\n";
      return 0;
    }
    if (all->empty()) std::cout << "no operators\n";
    for (const OperatorRecord& op : *all) std::cout << OperatorLine(op) << "\n";
    return 0;
  });
}

int CmdShow(const CommonOptions& o, const OperatorArgs& a) {
  return WithOperators(o, a, [&](OpenedKeys& k, const Tenant& t) {
    Result<OperatorRecord> op = k.messaging->operators->Get(t.id, a.id);
    if (!op.ok()) return PrintError(op.status(), o.json);
    std::cout << (o.json ? OperatorJson(*op) : OperatorLine(*op)) << "\n";
    return 0;
  });
}

// disable, enable, reset-mfa, invite
int CmdAction(const CommonOptions& o, const OperatorArgs& a, const std::string& action) {
  return WithOperators(o, a, [&](OpenedKeys& k, const Tenant& t) {
    OperatorService& ops = *k.messaging->operators;
    if (action == "invite") {
      Result<Invitation> inv = ops.Reinvite(k.rt->actor, t.id, a.id);
      if (!inv.ok()) return PrintError(inv.status(), o.json);
      PrintInvitation(*inv, k.config->http.public_base_url, o.json);
      return 0;
    }
    Result<OperatorRecord> op = action == "disable"  ? ops.SetEnabled(k.rt->actor, t.id, a.id, false)
                                : action == "enable" ? ops.SetEnabled(k.rt->actor, t.id, a.id, true)
                                                     : ops.ResetMfa(k.rt->actor, t.id, a.id);
    if (!op.ok()) return PrintError(op.status(), o.json);
    std::cout << (o.json ? OperatorJson(*op) : OperatorLine(*op)) << "\n";
    return 0;
  });
}

}  // namespace

void AddOperatorCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  static OperatorArgs a;  // lives as long as the parse; one command runs per process
  auto* op = app.add_subcommand("operator", "Create and manage the people who work in a tenant (docs/operators.md)");
  op->require_subcommand(1);

  auto* create = op->add_subcommand("create", "Invite an operator: prints a one-time link to set a password");
  AddCommon(create, o);
  create->add_option("--tenant", a.tenant, "Tenant id or name")->required();
  create->add_option("--login", a.login, "Login: an e-mail address or a name (unique across the gateway)")->required();
  create->add_option("--name", a.name, "Display name (default: the login)");
  create->add_option("--role", a.roles, "Role, repeatable: agent, supervisor, dpo, auditor, admin")->required();
  create->callback([&] { run = [&] { return CmdCreate(o, a); }; });

  auto* list = op->add_subcommand("list", "The tenant's operators");
  AddCommon(list, o);
  list->add_option("--tenant", a.tenant, "Tenant id or name")->required();
  list->callback([&] { run = [&] { return CmdList(o, a); }; });

  auto* show = op->add_subcommand("show", "One operator");
  AddCommon(show, o);
  show->add_option("--tenant", a.tenant, "Tenant id or name")->required();
  show->add_option("id", a.id, "Operator id (opr_…)")->required();
  show->callback([&] { run = [&] { return CmdShow(o, a); }; });

  for (const char* action : {"disable", "enable", "reset-mfa", "invite"}) {
    const std::string what = action;
    const char* help = what == "disable"     ? "Disable an operator: every session ends at once"
                       : what == "enable"    ? "Enable a disabled operator again"
                       : what == "reset-mfa" ? "Forget the second factor (a lost phone): the next login enrols again"
                                             : "A new invitation link for an operator who has not set a password";
    auto* cmd = op->add_subcommand(action, help);
    AddCommon(cmd, o);
    cmd->add_option("--tenant", a.tenant, "Tenant id or name")->required();
    cmd->add_option("id", a.id, "Operator id (opr_…)")->required();
    cmd->callback([&run, &o, what] { run = [&o, what] { return CmdAction(o, a, what); }; });
  }
}

}  // namespace cs::cli_internal
