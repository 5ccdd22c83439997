// `consentry keys status|rotate-master`: the key hierarchy of a data
// directory, without a single key byte, and master-key rotation
// (docs/erasure.md). Tenant-key rotation follows (issue 5).
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"

namespace cs::cli_internal {

namespace {

struct TenantKeys {
  std::string id;
  std::string name;
  bool pepper = false;
  bool content = false;
  int64_t subject_keys = 0;
  int64_t erasures_pending = 0;
};

int KeysStatus(const CommonOptions& o) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  std::unique_ptr<AdminRuntime>& rt = opened->rt;
  std::unique_ptr<MessagingRuntime>& messaging = opened->messaging;
  Store& store = *rt->store;
  Result<std::vector<Tenant>> tenants = store.tenants().List();
  if (!tenants.ok()) return PrintError(tenants.status(), o.json);
  Result<std::vector<ErasureRecord>> pending = store.vault().PendingErasures();
  if (!pending.ok()) return PrintError(pending.status(), o.json);
  std::vector<TenantKeys> rows;
  for (const Tenant& t : *tenants) {
    TenantKeys k{t.id, t.name};
    Result<std::optional<std::string>> pepper = store.messaging().TenantKey(t.id, "pepper");
    Result<std::optional<std::string>> content = store.messaging().TenantKey(t.id, "content");
    Result<int64_t> subjects = store.vault().CountSubjectKeys(t.id);
    if (!pepper.ok() || !content.ok() || !subjects.ok()) {
      return PrintError(!pepper.ok() ? pepper.status() : !content.ok() ? content.status() : subjects.status(), o.json);
    }
    k.pepper = pepper->has_value();
    k.content = content->has_value();
    k.subject_keys = *subjects;
    for (const ErasureRecord& e : *pending) k.erasures_pending += e.tenant_id == t.id ? 1 : 0;
    rows.push_back(std::move(k));
  }
  // Reading key metadata is an operator action like any other: on the record.
  AuditEvent e;
  e.actor = rt->actor;
  e.action = "keys.status";
  e.resource = "keys";
  Status recorded = store.InTransaction([&](StoreTransaction& tx) { return rt->ledger.Append(tx.audit(), e); });
  if (!recorded.ok()) return PrintError(recorded, o.json);

  const std::string master_id = messaging->kms->key_id();
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("master_key").BeginObject().Key("id").String(master_id).Key("opens_stored_keys").Bool(true);
    w.EndObject().Key("tenants").BeginArray();
    for (const TenantKeys& k : rows) {
      w.BeginObject().Key("id").String(k.id).Key("name").String(k.name);
      w.Key("pepper").Bool(k.pepper).Key("content_key_version");
      if (k.content) {
        w.Int(1);
      } else {
        w.Null();
      }
      w.Key("subject_keys").Int(k.subject_keys).Key("erasures_pending").Int(k.erasures_pending).EndObject();
    }
    w.EndArray().EndObject();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::cout << "master key " << master_id << ": opens the stored keys\n";
  for (const TenantKeys& k : rows) {
    std::cout << k.id << "  " << k.name << "  content key " << (k.content ? "v1" : "none yet") << ", "
              << k.subject_keys << " subject keys, " << k.erasures_pending << " erasures pending\n";
  }
  return 0;
}

int RotateMaster(const CommonOptions& o, const std::string& new_key_file) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  std::unique_ptr<AdminRuntime>& rt = opened->rt;
  std::unique_ptr<MessagingRuntime>& messaging = opened->messaging;
  MasterKeySource next_source;
  next_source.file = new_key_file;
  Result<SecretString> next = LoadMasterKey(next_source);
  if (!next.ok()) return PrintError(next.status(), o.json);
  std::unique_ptr<Kms> to = CreateLocalKms(std::move(next).value(), rt->random);
  if (to->key_id() == messaging->kms->key_id()) {
    return PrintError(InvalidArgument("same_master_key", "the new key file holds the current master key"), o.json);
  }
  Result<int> n = RewrapTenantKeys(*rt->store, *messaging->kms, *to, rt->ledger, rt->actor);
  if (!n.ok()) return PrintError(n.status(), o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("rewrapped").Int(*n).Key("from").String(messaging->kms->key_id());
    w.Key("to").String(to->key_id()).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "re-wrapped " << *n << " tenant keys under master key " << to->key_id()
              << ".\nNow point vault.master_key_file (or CONSENTRY_MASTER_KEY) at the new key and restart every "
                 "gateway process; the old key no longer opens this data directory.\n";
  }
  return 0;
}

}  // namespace

void AddKeysCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  auto* keys = app.add_subcommand("keys", "Inspect the key hierarchy (docs/erasure.md)");
  keys->require_subcommand(1);
  auto* status = keys->add_subcommand("status", "Master key id, and per tenant its keys and subject keys");
  AddCommon(status, o);
  status->callback([&run, &o] { run = [&o] { return KeysStatus(o); }; });
  auto new_key_file = std::make_shared<std::string>();
  auto* rotate = keys->add_subcommand("rotate-master",
                                      "Re-wrap every tenant key under a new master key (one transaction, audited)");
  AddCommon(rotate, o);
  rotate->add_option("--new-key-file", *new_key_file, "The new master key: 64 hex characters, mode 0600")->required();
  rotate->callback([&run, &o, new_key_file] { run = [&o, new_key_file] { return RotateMaster(o, *new_key_file); }; });
}

}  // namespace cs::cli_internal
