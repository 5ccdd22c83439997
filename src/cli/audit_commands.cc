// `consentry audit …`: verify, export, search, proof, seal, reindex, archive, public-key.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "audit/audit.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "env/file_system.h"

namespace cs::cli_internal {

namespace {

struct AuditArgs {
  std::string file;
  std::string public_key;
  std::string format = "ledger";
  std::string out;
  std::string tenant;
  std::string action;
  std::string subject;
  std::string actor;
  int64_t after = 0;
  int64_t limit = 100;
  int64_t seq = 0;
  int64_t tree_size = 0;
  int64_t old_size = 0;
  int64_t new_size = 0;
  int64_t upto = 0;
};

Status RecordOperatorAction(AdminRuntime& rt, std::string action, std::string details = "{}") {
  AuditEvent e{
      .actor = rt.actor,
      .action = std::move(action),
      .resource = "audit:ledger",
      .details = std::move(details)
  };
  return rt.store->InTransaction([&](StoreTransaction& tx) { return rt.ledger.Record(tx, e); });
}

int PrintReport(const AuditVerifyReport& r, bool json) {
  if (json) {
    JsonWriter w;
    w.BeginObject().Key("ok").Bool(r.ok).Key("archived").Int(r.archived).Key("entries").Int(r.entries);
    w.Key("tree_heads").Int(r.tree_heads).Key("unsealed").Int(r.unsealed).Key("indexed").Int(r.indexed);
    w.Key("first_bad_seq");
    if (r.ok) w.Null();
    else w.Int(r.first_bad_seq);
    w.Key("problem").String(r.problem).EndObject();
    std::cout << w.str() << "\n";
  } else if (r.ok) {
    std::cout << "audit ledger OK: " << r.entries << " entries, " << r.tree_heads << " signed tree heads";
    if (r.archived > 0) std::cout << " (continuing after " << r.archived << " archived entries)";
    if (r.unsealed > 0) std::cout << "; " << r.unsealed << " newest entries await the next signed head";
    std::cout << "; search index checked up to entry " << r.indexed << "\n";
  } else {
    std::cout << "TAMPERING DETECTED at entry " << r.first_bad_seq << ": " << r.problem << "\n";
  }
  return r.ok ? 0 : 1;
}

int CmdVerify(const CommonOptions& o, const AuditArgs& a) {
  if (!a.file.empty() || !a.public_key.empty()) {
    // Offline: an export and the public key, nothing else.
    if (a.file.empty() || a.public_key.empty()) {
      return PrintError(InvalidArgument("invalid_argument", "--file and --public-key go together"), o.json);
    }
    std::ifstream key_in(a.public_key);
    std::string pem((std::istreambuf_iterator<char>(key_in)), std::istreambuf_iterator<char>());
    auto key = AuditPublicKey::FromPem(pem);
    if (!key.ok()) return PrintError(key.status(), o.json);
    std::ifstream in(a.file);
    if (!in) return PrintError(NotFound("cannot read " + a.file), o.json);
    auto report = VerifyExportedLedger(in, *key);
    if (!report.ok()) return PrintError(report.status(), o.json);
    return PrintReport(*report, o.json);
  }
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  auto anchored = ReadHeadsFile((*rt)->heads_file);
  if (!anchored.ok()) return PrintError(anchored.status(), o.json);
  auto report = VerifyStoredLedger(*(*rt)->store, (*rt)->signer->public_key(), std::move(anchored).value(),
                                   [](int64_t n) { Progress("verified " + std::to_string(n) + " entries"); });
  ProgressDone();
  if (!report.ok()) return PrintError(report.status(), o.json);
  JsonWriter details;
  details.BeginObject().Key("ok").Bool(report->ok).Key("entries").Int(report->entries).EndObject();
  if (Status s = RecordOperatorAction(**rt, "audit.verify", details.Take()); !s.ok()) return PrintError(s, o.json);
  return PrintReport(*report, o.json);
}

int CmdExport(const CommonOptions& o, const AuditArgs& a) {
  if (a.format != "ledger" && a.format != "jsonl" && a.format != "syslog") {
    return PrintError(InvalidArgument("invalid_argument", "--format must be ledger, jsonl or syslog"), o.json);
  }
  if (a.format == "ledger" && !a.tenant.empty()) {
    return PrintError(InvalidArgument("invalid_argument",
                                      "the ledger format is the whole ledger (it must verify); use jsonl or syslog "
                                      "with --tenant"),
                      o.json);
  }
  auto rt_result = Open(o, MigrationMode::kRequireCurrent);
  if (!rt_result.ok()) return PrintError(rt_result.status(), o.json);
  AdminRuntime& rt = **rt_result;
  JsonWriter details;
  details.BeginObject().Key("format").String(a.format).Key("tenant").String(a.tenant).EndObject();
  if (Status s = RecordOperatorAction(rt, "audit.export", details.Take()); !s.ok()) return PrintError(s, o.json);
  // A ledger export must be signed to its last entry to verify offline: seal,
  // then stop at that head even if a running gateway appends meanwhile.
  int64_t upto = INT64_MAX;
  if (a.format == "ledger") {
    if (auto sealed = SealAudit(rt); !sealed.ok()) return PrintError(sealed.status(), o.json);
    auto latest = rt.store->audit().LatestTreeHead();
    if (!latest.ok()) return PrintError(latest.status(), o.json);
    upto = *latest ? (*latest)->tree_size : 0;
  }

  // To a file: written whole or not at all (the durable writer), so a
  // disk filling up never leaves an export that looks complete.
  std::unique_ptr<DurableFile> file;
  if (!a.out.empty()) {
    auto made = PosixFileSystem().NewDurableFile(a.out);
    if (!made.ok()) return PrintError(made.status(), o.json);
    file = std::move(made).value();
  }
  std::string buffer;
  Status io = Status::Ok();
  auto emit = [&](const std::string& line) {
    if (!file) {
      std::cout << line << "\n";
      return;
    }
    buffer += line;
    buffer += '\n';
    if (buffer.size() >= (1 << 20) && io.ok()) {
      io = file->Append(buffer);
      buffer.clear();
    }
  };
  char host[256] = "-";
  gethostname(host, sizeof host - 1);
  int64_t written = 0;
  if (a.format == "ledger") {
    // After an archive, the export continues from its checkpoint (and still verifies).
    auto checkpoint = rt.store->audit().LatestCheckpoint();
    if (!checkpoint.ok()) return PrintError(checkpoint.status(), o.json);
    if (*checkpoint) emit(LedgerExportLine(**checkpoint));
    auto heads = rt.store->audit().TreeHeads();
    if (!heads.ok()) return PrintError(heads.status(), o.json);
    for (const auto& h : *heads) {
      if (h.tree_size <= upto) emit(LedgerExportLine(h));
    }
  }
  Status s = rt.store->audit().Scan(1, [&](const AuditRecord& r) {
    if (r.seq > upto) return false;
    if (!a.tenant.empty() && r.tenant_id != a.tenant) return true;
    if (a.format == "ledger") emit(LedgerExportLine(r));
    else if (a.format == "jsonl") emit(AuditRecordJson(r));
    else emit(AuditRecordSyslog(r, host));
    if (++written % 100000 == 0) Progress("exported " + std::to_string(written) + " entries");
    return io.ok();
  });
  ProgressDone();
  if (!s.ok()) return PrintError(s, o.json);
  if (file) {
    if (io.ok()) io = file->Append(buffer);
    if (io.ok()) io = file->Commit();
    if (!io.ok()) return PrintError(io, o.json);
  } else {
    std::cout.flush();
    if (!std::cout) return PrintError(Unavailable("storage_unavailable", "writing the export failed"), o.json);
  }
  if (a.out.empty()) return 0;  // stdout holds the export itself
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("ok").Bool(true).Key("format").String(a.format).Key("entries").Int(written);
    if (a.format == "ledger") w.Key("tree_size").Int(upto);
    w.Key("out").String(a.out).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "exported " << written << " entries to " << a.out << "\n";
  }
  return 0;
}

int CmdSearch(const CommonOptions& o, const AuditArgs& a) {
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  AuditQuery q;
  if (!a.tenant.empty()) q.tenant_id = a.tenant;
  if (!a.action.empty()) q.action = a.action;
  if (!a.subject.empty()) q.subject = a.subject;
  if (!a.actor.empty()) q.actor_id = a.actor;
  q.after_seq = a.after;
  q.limit = static_cast<int>(std::clamp<int64_t>(a.limit, 1, 100000));
  auto page = (*rt)->store->audit().Query(q);
  if (!page.ok()) return PrintError(page.status(), o.json);
  if (Status s = RecordOperatorAction(**rt, "audit.search"); !s.ok()) return PrintError(s, o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("data").BeginArray();
    for (const auto& r : *page) w.Raw(AuditRecordJson(r));
    w.EndArray().EndObject();
    std::cout << w.str() << "\n";
  } else {
    for (const auto& r : *page) {
      std::cout << r.seq << "  " << FormatRfc3339Millis(r.ts_ms) << "  " << r.action << "  " << r.outcome << "  "
                << r.actor_type << ":" << r.actor_id << "  " << (r.tenant_id.empty() ? "-" : r.tenant_id) << "  "
                << r.resource << "\n";
    }
  }
  return 0;
}

int CmdProof(const CommonOptions& o, const AuditArgs& a) {
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  Store& store = *(*rt)->store;
  const AuditPublicKey& key = (*rt)->signer->public_key();
  JsonWriter w;
  w.BeginObject();
  if (a.seq > 0) {
    auto p = ProveInclusion(store, a.seq, a.tree_size);
    if (!p.ok()) return PrintError(p.status(), o.json);
    bool ok = merkle::VerifyInclusion(ComputeEntryHash(p->entry), static_cast<uint64_t>(a.seq - 1),
                                      static_cast<uint64_t>(p->tree_size), p->path, p->head.root_hash) &&
              key.Verify(SignedTreeHeadBytes(p->head.tree_size, p->head.ts_ms, p->head.root_hash), p->head.signature);
    w.Key("type").String("inclusion").Key("entry").Raw(AuditRecordJson(p->entry));
    w.Key("leaf_index").Int(a.seq - 1).Key("tree_size").Int(p->tree_size);
    w.Key("path").BeginArray();
    for (const auto& h : p->path) w.String(HexEncode(h));
    w.EndArray();
    w.Key("tree_head").Raw(TreeHeadJson(p->head)).Key("verified").Bool(ok);
  } else if (a.old_size > 0 && a.new_size > 0) {
    auto p = ProveConsistency(store, a.old_size, a.new_size);
    if (!p.ok()) return PrintError(p.status(), o.json);
    auto signed_ok = [&key](const TreeHead& h) {
      return key.Verify(SignedTreeHeadBytes(h.tree_size, h.ts_ms, h.root_hash), h.signature);
    };
    bool ok = merkle::VerifyConsistency(static_cast<uint64_t>(a.old_size), static_cast<uint64_t>(a.new_size),
                                        p->old_head.root_hash, p->new_head.root_hash, p->path) &&
              signed_ok(p->old_head) && signed_ok(p->new_head);
    w.Key("type").String("consistency").Key("old_head").Raw(TreeHeadJson(p->old_head));
    w.Key("new_head").Raw(TreeHeadJson(p->new_head)).Key("path").BeginArray();
    for (const auto& h : p->path) w.String(HexEncode(h));
    w.EndArray().Key("verified").Bool(ok);
  } else {
    return PrintError(InvalidArgument("invalid_argument", "give --seq N, or --old-size M and --new-size N"), o.json);
  }
  w.EndObject();
  if (Status s = RecordOperatorAction(**rt, "audit.proof"); !s.ok()) return PrintError(s, o.json);
  std::cout << w.str() << "\n";
  return 0;
}

int CmdSeal(const CommonOptions& o) {
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  auto head = SealAudit(**rt);
  if (!head.ok()) return PrintError(head.status(), o.json);
  // An operator's seal also brings the search index up to date (the gateway
  // indexes in batches of 10,000 entries).
  if (auto indexed = IndexLedger(*(*rt)->store); !indexed.ok()) return PrintError(indexed.status(), o.json);
  if (o.json) {
    std::cout << (*head ? TreeHeadJson(**head) : std::string("null")) << "\n";
  } else if (*head) {
    std::cout << "signed tree head: size " << (*head)->tree_size << ", root " << HexEncode((*head)->root_hash) << "\n";
  } else {
    std::cout << "nothing to seal: the latest tree head covers every entry\n";
  }
  return 0;
}

// Rebuilds the search index from the entries: the repair `audit verify`
// points to when the index no longer matches them. The entries are not touched.
int CmdReindex(const CommonOptions& o) {
  auto rt = Open(o, MigrationMode::kRequireCurrent);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  if (Status s = RebuildSearchIndex(*(*rt)->store); !s.ok()) return PrintError(s, o.json);
  auto indexed = (*rt)->store->audit().IndexedUpto();
  if (!indexed.ok()) return PrintError(indexed.status(), o.json);
  JsonWriter details;
  details.BeginObject().Key("indexed").Int(*indexed).EndObject();
  std::string json = details.str();
  if (Status s = RecordOperatorAction(**rt, "audit.reindex", details.Take()); !s.ok()) return PrintError(s, o.json);
  if (o.json) {
    std::cout << json << "\n";
  } else {
    std::cout << "search index rebuilt: entries up to " << *indexed << " indexed\n";
  }
  return 0;
}

int CmdArchive(const CommonOptions& o, const AuditArgs& a) {
  if (a.upto <= 0 || a.out.empty()) {
    return PrintError(InvalidArgument("invalid_argument", "give --up-to <signed head size> and --out FILE"), o.json);
  }
  auto rt_result = Open(o, MigrationMode::kRequireCurrent);
  if (!rt_result.ok()) return PrintError(rt_result.status(), o.json);
  AdminRuntime& rt = **rt_result;
  auto cp = ArchiveLedger(*rt.store, rt.signer->public_key(), rt.ledger, rt.actor, a.upto, a.out,
                          [&rt](const std::string& tenant) { return AuditRetentionDays(rt, tenant); }, rt.clock);
  if (!cp.ok()) return PrintError(cp.status(), o.json);
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("upto_seq").Int(cp->upto_seq).Key("segment").String(a.out);
    w.Key("segment_sha256").String(HexEncode(cp->segment_sha256));
    w.Key("retain_until").String(FormatRfc3339Millis(cp->retain_until_ms)).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "archived entries up to " << cp->upto_seq << " to " << a.out << " (sha256 "
              << HexEncode(cp->segment_sha256) << "); keep it until " << FormatRfc3339Millis(cp->retain_until_ms)
              << "\n";
  }
  return 0;
}

int CmdPublicKey(const CommonOptions& o) {
  auto rt = Open(o, MigrationMode::kNone);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  const AuditPublicKey& key = (*rt)->signer->public_key();
  if (o.json) {
    JsonWriter w;
    w.BeginObject().Key("key_id").String(key.key_id()).Key("pem").String(key.pem()).EndObject();
    std::cout << w.str() << "\n";
  } else {
    std::cout << key.pem();
  }
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  static AuditArgs a;  // lives as long as the parse; one command runs per process
  auto* audit = app.add_subcommand("audit", "Verify, search, prove and export the tamper-evident audit ledger");
  audit->require_subcommand(1);

  auto* verify = audit->add_subcommand("verify", "Check every entry, the hash chain and the signed tree heads");
  AddCommon(verify, o);
  verify->add_option("--file", a.file, "Verify an exported ledger offline instead of the database");
  verify->add_option("--public-key", a.public_key, "PEM public key for --file (from `audit public-key`)");
  verify->callback([&] { run = [&] { return CmdVerify(o, a); }; });

  auto* exp = audit->add_subcommand("export", "Stream the ledger as JSON lines or RFC 5424 syslog");
  AddCommon(exp, o);
  exp->add_option("--format", a.format, "ledger (verifiable, default), jsonl or syslog");
  exp->add_option("--tenant", a.tenant, "Only this tenant's entries (jsonl and syslog)");
  exp->add_option("--out", a.out, "Write to this file instead of standard output");
  exp->callback([&] { run = [&] { return CmdExport(o, a); }; });

  auto* search = audit->add_subcommand("search", "Find entries by tenant, action, subject or actor");
  AddCommon(search, o);
  search->add_option("--tenant", a.tenant, "Tenant id");
  search->add_option("--action", a.action, "Action, e.g. apikey.revoke");
  search->add_option("--subject", a.subject, "Subject pseudonym");
  search->add_option("--actor", a.actor, "Actor id (API key id, cli:<user>)");
  search->add_option("--after", a.after, "Only entries after this sequence number");
  search->add_option("--limit", a.limit, "At most this many entries (default 100)");
  search->callback([&] { run = [&] { return CmdSearch(o, a); }; });

  auto* proof = audit->add_subcommand("proof", "Inclusion proof of one entry, or consistency of two tree heads");
  AddCommon(proof, o);
  proof->add_option("--seq", a.seq, "Entry to prove");
  proof->add_option("--tree-size", a.tree_size, "Signed head to prove against (default: latest)");
  proof->add_option("--old-size", a.old_size, "Consistency: size of the older signed head");
  proof->add_option("--new-size", a.new_size, "Consistency: size of the newer signed head");
  proof->callback([&] { run = [&] { return CmdProof(o, a); }; });

  auto* seal = audit->add_subcommand("seal", "Sign a tree head over entries not yet covered");
  AddCommon(seal, o);
  seal->callback([&] { run = [&] { return CmdSeal(o); }; });

  auto* reindex = audit->add_subcommand("reindex", "Rebuild the search index from the entries");
  AddCommon(reindex, o);
  reindex->callback([&] { run = [&] { return CmdReindex(o); }; });

  auto* archive = audit->add_subcommand("archive", "Move sealed entries to a verifiable segment file");
  AddCommon(archive, o);
  archive->add_option("--up-to", a.upto, "Size of a signed tree head: entries 1..N (after earlier archives)")->required();
  archive->add_option("--out", a.out, "Segment file to write")->required();
  archive->callback([&] { run = [&] { return CmdArchive(o, a); }; });

  auto* pub = audit->add_subcommand("public-key", "Print the public key that verifies tree heads");
  AddCommon(pub, o);
  pub->callback([&] { run = [&] { return CmdPublicKey(o); }; });
}

}  // namespace cs::cli_internal
