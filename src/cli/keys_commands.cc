// `consentry keys status|rotate-master|rotate-tenant`: the key hierarchy of
// a data directory, without a single key byte, and its rotation
// (docs/erasure.md).
#include <CLI/CLI.hpp>

#include <algorithm>
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
  std::vector<uint32_t> content_versions;  // live, oldest first
  std::vector<uint32_t> retired_versions;
  std::map<uint32_t, int64_t> subject_keys_by_version;  // live subject keys per wrapping version
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
    TenantKeys k;
    k.id = t.id;
    k.name = t.name;
    Result<std::optional<std::string>> pepper = store.tenant_keys().TenantKey(t.id, "pepper");
    Result<TenantKeyring::ContentKeyInfo> versions = messaging->keyring->ContentKeyVersions(t.id);
    Result<std::map<uint32_t, int64_t>> by_version = store.vault().CountSubjectKeysByWrappingVersion(t.id);
    if (!pepper.ok() || !versions.ok() || !by_version.ok()) {
      return PrintError(!pepper.ok() ? pepper.status() : !versions.ok() ? versions.status() : by_version.status(),
                        o.json);
    }
    k.pepper = pepper->has_value();
    k.content_versions = versions->live;
    k.retired_versions = versions->retired;
    k.subject_keys_by_version = std::move(by_version).value();
    for (const auto& [v, n] : k.subject_keys_by_version) k.subject_keys += n;
    for (const ErasureRecord& e : *pending) k.erasures_pending += e.tenant_id == t.id ? 1 : 0;
    rows.push_back(std::move(k));
  }
  // Reading key metadata is an operator action like any other: on the record.
  AuditEvent e{.actor = rt->actor, .action = "keys.status", .resource = "keys"};
  Status recorded = store.InTransaction([&](StoreTransaction& tx) { return rt->ledger.Record(tx, e); });
  if (!recorded.ok()) return PrintError(recorded, o.json);

  const std::string master_id = messaging->kms->key_id();
  const std::string previous_id = messaging->kms->previous_key_id();
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("master_key").BeginObject().Key("id").String(master_id).Key("opens_stored_keys").Bool(true);
    if (!previous_id.empty()) w.Key("rotating_from").String(previous_id);
    w.EndObject().Key("tenants").BeginArray();
    for (const TenantKeys& k : rows) {
      w.BeginObject().Key("id").String(k.id).Key("name").String(k.name);
      w.Key("pepper").Bool(k.pepper).Key("content_key_version");
      if (!k.content_versions.empty()) {
        w.Int(k.content_versions.back());
      } else {
        w.Null();
      }
      w.Key("content_key_versions").BeginArray();
      for (uint32_t v : k.content_versions) w.Int(v);
      w.EndArray().Key("retired_content_key_versions").BeginArray();
      for (uint32_t v : k.retired_versions) w.Int(v);
      w.EndArray().Key("subject_keys").Int(k.subject_keys).Key("subject_keys_by_content_key_version").BeginObject();
      for (const auto& [v, n] : k.subject_keys_by_version) w.Key(std::to_string(v)).Int(n);
      w.EndObject().Key("erasures_pending").Int(k.erasures_pending).EndObject();
    }
    w.EndArray().EndObject();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::cout << "master key " << master_id << ": opens the stored keys";
  if (!previous_id.empty()) std::cout << " (rotation from " << previous_id << " under way: finish with `keys rotate-master`)";
  std::cout << "\n";
  for (const TenantKeys& k : rows) {
    std::cout << k.id << "  " << k.name << "  content key "
              << (k.content_versions.empty() ? "none yet" : "v" + std::to_string(k.content_versions.back())) << ", "
              << k.subject_keys << " subject keys";
    int64_t older = 0;
    for (const auto& [v, n] : k.subject_keys_by_version) older += k.content_versions.empty() || v != k.content_versions.back() ? n : 0;
    if (older > 0) std::cout << " (" << older << " still wrapped under an older version: `keys rotate-tenant` resumes)";
    std::cout << ", " << k.erasures_pending << " erasures pending\n";
  }
  return 0;
}

// Online: the gateways already run with the new key as vault.master_key_file
// and the old one as vault.previous_master_key_file; every tenant key is
// re-wrapped under the new one, after which the old one can go.
int FinishMasterRotation(const CommonOptions& o) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  Kms& kms = *opened->messaging->kms;
  if (kms.previous_key_id().empty()) {
    return PrintError(InvalidArgument("no_rotation",
                                      "give --new-key-file, or set vault.previous_master_key_file to the key being "
                                      "replaced (docs/erasure.md)"),
                      o.json);
  }
  Result<int> n = RewrapTenantKeys(*opened->rt->store, kms, kms, opened->rt->ledger, opened->rt->actor);
  if (!n.ok()) return PrintError(n.status(), o.json);
  // The audit signing key too, now that every gateway runs with the new key.
  if (Status s = SealAuditSigningKey(*opened->config, *opened->rt, kms, kms, true); !s.ok()) return PrintError(s, o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("rewrapped").Int(*n).Key("from").String(kms.previous_key_id()).Key("to").String(kms.key_id());
    std::cout << w.EndObject().Take() << "\n";
  } else {
    std::cout << "re-wrapped " << *n << " tenant keys under master key " << kms.key_id()
              << ".\nRemove vault.previous_master_key_file from every gateway's configuration at its next restart.\n";
  }
  return 0;
}

int RotateMaster(const CommonOptions& o, const std::string& new_key_file) {
  if (new_key_file.empty()) return FinishMasterRotation(o);
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
  // The audit signing key follows: opened with the old key, sealed with the new.
  if (Status s = SealAuditSigningKey(*opened->config, *rt, *messaging->kms, *to, true); !s.ok()) {
    std::cerr << "the tenant keys are re-wrapped, but the audit signing key is not: start once with the old key as "
                 "vault.previous_master_key_file and run `keys rotate-master` again\n";
    return PrintError(s, o.json);
  }
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

int RotateTenant(const CommonOptions& o, const std::string& tenant_ref, bool resume_only) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  AdminRuntime& rt = *opened->rt;
  TenantKeyring& keyring = *opened->messaging->keyring;
  Result<Tenant> tenant = ResolveTenant(*rt.store, tenant_ref);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  uint32_t version = 0;
  if (resume_only) {
    Result<TenantKeyring::ContentKeyInfo> versions = keyring.ContentKeyVersions(tenant->id);
    if (!versions.ok()) return PrintError(versions.status(), o.json);
    version = versions->live.empty() ? 0 : versions->live.back();
  } else {
    // A tenant that never sealed anything gets its first key, then the next.
    Result<uint32_t> rotated = keyring.RotateContentKey(tenant->id, rt.ledger, rt.actor);
    if (!rotated.ok()) return PrintError(rotated.status(), o.json);
    version = *rotated;
  }
  Result<TenantKeyring::RewrapCounts> counts = keyring.RewrapSubjectKeys(
      tenant->id, o.json ? std::function<void(int64_t)>() : [](int64_t n) {
        Progress("re-wrapped subject keys: " + std::to_string(n) + " seen");
      });
  ProgressDone();
  if (!counts.ok()) return PrintError(counts.status(), o.json);
  Result<int64_t> resealed = keyring.ResealTenantFields(tenant->id);
  if (!resealed.ok()) return PrintError(resealed.status(), o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("tenant").String(tenant->id).Key("content_key_version").Int(version);
    w.Key("rewrapped").Int(counts->rewrapped).Key("already_current").Int(counts->current);
    w.Key("changed_meanwhile").Int(counts->raced).Key("tenant_fields_resealed").Int(*resealed).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << tenant->id << ": content key v" << version << "; " << counts->rewrapped
              << " subject keys re-wrapped under it, " << counts->current << " already were, " << *resealed
              << " channel, subscriber and subject-less fields re-sealed";
    if (counts->raced > 0) std::cout << ", " << counts->raced << " changed meanwhile (run `--resume` again)";
    std::cout << ".\nEarlier versions stay until `keys retire-tenant` (docs/erasure.md).\n";
  }
  return 0;
}

int RetireTenant(const CommonOptions& o, const std::string& tenant_ref, int64_t version) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  AdminRuntime& rt = *opened->rt;
  Result<Tenant> tenant = ResolveTenant(*rt.store, tenant_ref);
  if (!tenant.ok()) return PrintError(tenant.status(), o.json);
  if (version < 1 || version > 0x7fffffff) {
    return PrintError(InvalidArgument("invalid_field", "--version must be a content key version"), o.json);
  }
  // Backups within their horizon and quarantined bodies may still need it.
  const Config& config = *opened->config;
  const int64_t min_days = std::max(config.backup.retention_days, config.messaging.quarantine_retention_days);
  Status retired = opened->messaging->keyring->RetireContentKey(tenant->id, static_cast<uint32_t>(version),
                                                                min_days * 86'400'000LL, rt.clock, rt.ledger, rt.actor);
  if (!retired.ok()) return PrintError(retired, o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("tenant").String(tenant->id).Key("retired_content_key_version").Int(version).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << tenant->id << ": content key v" << version << " retired; what it sealed no longer opens.\n";
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
  rotate->add_option("--new-key-file", *new_key_file,
                     "The new master key (64 hex characters, mode 0600), gateways stopped; without it, finish an "
                     "online rotation (vault.previous_master_key_file set)");
  rotate->callback([&run, &o, new_key_file] { run = [&o, new_key_file] { return RotateMaster(o, *new_key_file); }; });
  auto tenant_ref = std::make_shared<std::string>();
  auto resume = std::make_shared<bool>(false);
  auto* rotate_tenant = keys->add_subcommand(
      "rotate-tenant", "New content-key version for a tenant, then every subject key re-wrapped under it (online)");
  AddCommon(rotate_tenant, o);
  rotate_tenant->add_option("--tenant", *tenant_ref, "Tenant id or name")->required();
  rotate_tenant->add_flag("--resume", *resume, "Only finish re-wrapping under the current version");
  rotate_tenant->callback([&run, &o, tenant_ref, resume] {
    run = [&o, tenant_ref, resume] { return RotateTenant(o, *tenant_ref, *resume); };
  });
  auto version = std::make_shared<int64_t>(0);
  auto* retire = keys->add_subcommand(
      "retire-tenant", "Retire an old content-key version once nothing, backups included, can still need it");
  AddCommon(retire, o);
  retire->add_option("--tenant", *tenant_ref, "Tenant id or name")->required();
  retire->add_option("--version", *version, "The content key version to retire")->required();
  retire->callback([&run, &o, tenant_ref, version] {
    run = [&o, tenant_ref, version] { return RetireTenant(o, *tenant_ref, *version); };
  });
}

}  // namespace cs::cli_internal
