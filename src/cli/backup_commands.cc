// `consentry backup create|verify|restore|list|prune` (docs/backup.md).
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <iostream>

#include "backup/backup.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "env/file_system.h"
#include "store/sqlite/sqlite_store.h"

namespace cs::cli_internal {

namespace {

struct BackupArgs {
  std::string out;                     // create: overrides backup.dir
  std::vector<std::string> files;      // verify
  std::string data_file;               // restore
  std::string keys_file;               // restore --keys
  std::string archive_key_file;        // verify/restore: the master key that sealed the archives
};

BackupProgress TerminalProgress() {
  return [](std::string_view phase, int64_t done, int64_t total) {
    std::string line = std::string(phase) + " ";
    if (total > 0) {
      line += std::to_string(done * 100 / total) + "% (" + std::to_string(done / (1024 * 1024)) + " of " +
              std::to_string(total / (1024 * 1024)) + " MiB)";
    } else {
      line += std::to_string(done) + " rows";
    }
    Progress(line);
  };
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status Record(AdminRuntime& rt, const std::string& action, std::string details) {
  AuditEvent e{.actor = rt.actor, .action = action, .resource = "backup", .details = std::move(details)};
  return rt.store->InTransaction([&](StoreTransaction& tx) { return rt.ledger.Record(tx, e); });
}

// The Kms that opens archives: the configured master key, or the older one
// given with --archive-master-key-file after a master-key rotation.
Result<std::unique_ptr<Kms>> ArchiveKms(const Config& config, const std::string& key_file, Random& random) {
  if (key_file.empty()) {
    CS_ASSIGN_OR_RETURN(SecretString master, LoadConfiguredMasterKey(config, random, false));
    return CreateLocalKms(std::move(master), random);
  }
  MasterKeySource source;
  source.file = key_file;
  CS_ASSIGN_OR_RETURN(SecretString master, LoadMasterKey(source));
  return CreateLocalKms(std::move(master), random);
}

// ------------------------------------------------------------------ create

int Create(const CommonOptions& o, const BackupArgs& a) {
  Result<OpenedKeys> opened = OpenKeys(o);
  if (!opened.ok()) return PrintError(opened.status(), o.json);
  AdminRuntime& rt = *opened->rt;
  const std::string dir = a.out.empty() ? opened->config->backup.dir : a.out;
  Result<BackupSet> set = CreateBackup(*rt.store, *opened->messaging->kms, rt.random, rt.clock, dir,
                                       o.json ? BackupProgress() : TerminalProgress());
  ProgressDone();
  if (!set.ok()) return PrintError(set.status(), o.json);
  JsonWriter w;
  w.BeginObject()
      .Key("backup_id").String(set->backup_id)
      .Key("created_at").String(FormatRfc3339Millis(set->created_at_ms))
      .Key("schema_version").Int(set->schema_version)
      .Key("data_file").String(set->data_file)
      .Key("keys_file").String(set->keys_file)
      .Key("data_bytes").Int(set->data_bytes)
      .Key("keys_bytes").Int(set->keys_bytes)
      .Key("tenant_keys").Int(set->tenant_keys)
      .Key("subject_keys").Int(set->subject_keys)
      .Key("erasures").Int(set->erasures);
  const std::string json = w.EndObject().Take();
  // File names and counts only: the record of what was copied, and where.
  Status recorded = Record(rt, "backup.create", json);
  if (!recorded.ok()) return PrintError(recorded, o.json);
  if (o.json) {
    std::cout << json << "\n";
  } else {
    std::cout << "backup " << set->backup_id << " written to " << dir << ":\n  " << BaseName(set->data_file) << "  ("
              << set->data_bytes << " bytes, the database without keys)\n  " << BaseName(set->keys_file) << "  ("
              << set->keys_bytes << " bytes, " << set->tenant_keys << " tenant keys, " << set->subject_keys
              << " subject keys, " << set->erasures << " erasures)\nKeep the keys file apart from the data file; "
              << "`consentry backup verify` checks both.\n";
  }
  return 0;
}

// ------------------------------------------------------------------ verify

int Verify(const CommonOptions& o, const BackupArgs& a) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return PrintError(load.ToStatus(), o.json);
  CryptoRandom random;
  Result<std::unique_ptr<Kms>> kms = ArchiveKms(*load.config, a.archive_key_file, random);
  if (!kms.ok()) return PrintError(kms.status(), o.json);
  JsonWriter w;
  w.BeginObject().Key("archives").BeginArray();
  int failures = 0;
  for (const std::string& file : a.files) {
    Result<ArchiveCheck> check = VerifyArchive(file, **kms, load.config->backup.dir,
                                               o.json ? BackupProgress() : TerminalProgress());
    ProgressDone();
    w.BeginObject().Key("file").String(file);
    if (!check.ok()) {
      ++failures;
      w.Key("ok").Bool(false).Key("code").String(check.status().machine_code());
      w.Key("message").String(check.status().message()).EndObject();
      if (!o.json) std::cout << "FAIL " << file << ": " << check.status().machine_code() << ": " << check.status().message() << "\n";
      continue;
    }
    const ArchiveHeader& h = check->header;
    w.Key("ok").Bool(true).Key("kind").String(h.kind).Key("backup_id").String(h.backup_id);
    w.Key("created_at").String(FormatRfc3339Millis(h.created_at_ms)).Key("schema_version").Int(h.schema_version);
    w.Key("master_key_id").String(h.master_key_id).Key("content_bytes").Int(h.content_bytes);
    if (h.kind == "data") {
      w.Key("database_intact").Bool(check->database_intact).Key("audit_entries").Int(check->audit_entries);
    } else {
      w.Key("tenant_keys").Int(check->tenant_keys).Key("subject_keys").Int(check->subject_keys);
      w.Key("erasures").Int(check->erasures);
    }
    w.EndObject();
    if (!o.json) {
      std::cout << "ok   " << file << ": " << h.kind << " of backup " << h.backup_id << " taken "
                << FormatRfc3339Millis(h.created_at_ms) << ", every chunk authentic";
      if (h.kind == "data") {
        std::cout << ", database intact, " << check->audit_entries << " audit entries\n";
      } else {
        std::cout << ", " << check->tenant_keys << " tenant keys, " << check->subject_keys << " subject keys, "
                  << check->erasures << " erasures\n";
      }
    }
  }
  w.EndArray().Key("ok").Bool(failures == 0).EndObject();
  if (o.json) std::cout << w.Take() << "\n";
  return failures == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ restore

// A durable rename (env/file_system.h) of a file that may not exist.
Status RenameIfPresent(const std::string& from, const std::string& to) {
  if (::access(from.c_str(), F_OK) != 0 && errno == ENOENT) return Status::Ok();
  return PosixFileSystem().RenameDurably(from, to);
}

int Restore(const CommonOptions& o, const BackupArgs& a) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return PrintError(load.ToStatus(), o.json);
  const Config& config = *load.config;
  // No gateway may serve while the database is replaced (server.h).
  Status dir = ::mkdir(config.data_dir.c_str(), 0700) == 0 || errno == EEXIST
                   ? Status::Ok()
                   : Unavailable("io_error", "cannot create " + config.data_dir);
  if (!dir.ok()) return PrintError(dir, o.json);
  Result<std::unique_ptr<DataDirLock>> lock = DataDirLock::Acquire(config.data_dir, true);
  if (!lock.ok()) return PrintError(lock.status(), o.json);

  CryptoRandom random;
  Result<std::unique_ptr<Kms>> archive_kms = ArchiveKms(config, a.archive_key_file, random);
  if (!archive_kms.ok()) return PrintError(archive_kms.status(), o.json);
  Result<ArchiveHeader> header = ArchiveReader::ReadHeader(a.data_file);
  if (!header.ok()) return PrintError(header.status(), o.json);

  // The current database, when it still opens, is the freshest key source
  // and knows every erasure since the backup.
  const std::string db = config.store.sqlite_path;
  std::unique_ptr<Store> live;
  std::string live_problem;
  struct stat st {};
  if (::stat(db.c_str(), &st) == 0) {
    SqliteOptions options;
    options.path = db;
    options.pool_size = 1;
    Result<std::unique_ptr<Store>> opened = OpenSqliteStore(options);
    Status intact = opened.ok() ? (*opened)->CheckIntegrity() : opened.status();
    if (intact.ok()) {
      live = std::move(opened).value();
    } else {
      live_problem = intact.message();
    }
  }
  if (!live && a.keys_file.empty()) {
    return PrintError(FailedPrecondition("backup_keys_missing",
                                         (live_problem.empty() ? "there is no current database at " + db
                                                               : "the current database does not open (" +
                                                                     live_problem + ")") +
                                             ": give the keys archive of this or a later backup with --keys "
                                             "(erasures after it cannot be replayed: see docs/backup.md)"),
                      o.json);
  }

  int64_t damaged_lines = 0;
  Result<std::vector<ErasureRecord>> journal_copy = ReadErasureJournalCopy(config.backup.dir, &damaged_lines);
  if (!journal_copy.ok()) return PrintError(journal_copy.status(), o.json);
  RestorePlan plan;
  plan.journal_copy = std::move(journal_copy).value();
  plan.data_archive = a.data_file;
  if (!a.keys_file.empty()) plan.keys_archive = a.keys_file;
  plan.live = live.get();
  plan.target_path = db + ".restore-" + header->backup_id;
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((plan.target_path + suffix).c_str());
  Result<PreparedRestore> prepared =
      PrepareRestore(plan, **archive_kms, o.json ? BackupProgress() : TerminalProgress());
  ProgressDone();
  // Its write-ahead log emptied into the file: the -wal must not meet the
  // restored database once it takes the name.
  Status folded = live ? live->Checkpoint() : Status::Ok();
  live.reset();
  if (!prepared.ok()) return PrintError(prepared.status(), o.json);
  if (!folded.ok()) {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((plan.target_path + suffix).c_str());
    return PrintError(folded, o.json);
  }

  // Finish every replayed erasure on the restored database before it can
  // serve, with the same code the gateway uses (ErasureService).
  // Never over an earlier restore's copy (two restores in one second).
  std::string stamp = CompactUtcStamp(SystemClock().NowUnixMillis());
  for (int n = 2; ::access((db + ".pre-restore-" + stamp).c_str(), F_OK) == 0; ++n) {
    stamp = CompactUtcStamp(SystemClock().NowUnixMillis()) + "-" + std::to_string(n);
  }
  const std::string aside = db + ".pre-restore-" + stamp;
  int replayed = 0;
  Status finished = [&]() -> Status {
    auto restored_config = std::make_shared<Config>(config);
    restored_config->store.sqlite_path = plan.target_path;
    restored_config->store.pool_size = 1;
    CS_ASSIGN_OR_RETURN(std::unique_ptr<AdminRuntime> rt,
                        OpenAdminRuntime(*restored_config, MigrationMode::kApply, OperatorActor()));
    CS_ASSIGN_OR_RETURN(std::unique_ptr<MessagingRuntime> messaging, OpenMessaging(*restored_config, *rt, false));
    if (prepared->erasures_to_replay > 0) {
      CS_ASSIGN_OR_RETURN(replayed, messaging->erasures->ResumePending());
      CS_ASSIGN_OR_RETURN(std::vector<ErasureRecord> still, rt->store->vault().PendingErasures());
      if (!still.empty()) {
        return Internal(std::to_string(still.size()) + " replayed erasures did not finish; nothing was replaced");
      }
    }
    JsonWriter w;
    w.BeginObject()
        .Key("backup_id").String(prepared->data_header.backup_id)
        .Key("backup_created_at").String(FormatRfc3339Millis(prepared->data_header.created_at_ms))
        .Key("key_source").String(prepared->key_source)
        .Key("erasures_replayed").Int(replayed)
        .Key("previous_database").String(BaseName(aside));
    CS_RETURN_IF_ERROR(Record(*rt, "backup.restore", w.EndObject().Take()));
    return rt->store->Checkpoint();
  }();
  if (!finished.ok()) {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((plan.target_path + suffix).c_str());
    return PrintError(finished, o.json);
  }

  // Swap, so that a crash at any point leaves a database at `db`: the
  // current one gets a second name (a hard link), its emptied -wal/-shm go
  // aside, and one rename replaces it atomically; a failure puts it back.
  // Its tree heads file (which describes its ledger) goes aside with it.
  Status swapped = [&]() -> Status {
    const bool had_db = ::access(db.c_str(), F_OK) == 0;
    if (had_db && ::link(db.c_str(), aside.c_str()) != 0) {
      return Unavailable("io_error", "cannot keep the current database as " + aside + ": " + std::strerror(errno));
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      CS_RETURN_IF_ERROR(RenameIfPresent(db + suffix, aside + suffix));
    }
    for (const char* suffix : {"-wal", "-shm"}) ::unlink((plan.target_path + suffix).c_str());
    if (Status moved = PosixFileSystem().RenameDurably(plan.target_path, db); !moved.ok()) {
      for (const char* suffix : {"-wal", "-shm"}) RenameIfPresent(aside + suffix, db + suffix).IgnoreError();
      if (had_db) ::unlink(aside.c_str());  // `db` still names the current database
      return Unavailable(moved.machine_code(), "cannot move the restored database into place: " + moved.message());
    }
    return RenameIfPresent(config.audit.heads_file, config.audit.heads_file + ".pre-restore-" + stamp);
  }();
  if (!swapped.ok()) return PrintError(swapped, o.json);

  JsonWriter w;
  w.BeginObject()
      .Key("restored").Bool(true)
      .Key("backup_id").String(prepared->data_header.backup_id)
      .Key("backup_created_at").String(FormatRfc3339Millis(prepared->data_header.created_at_ms))
      .Key("key_source").String(prepared->key_source)
      .Key("tenant_keys").Int(prepared->tenant_keys)
      .Key("subject_keys").Int(prepared->subject_keys)
      .Key("erasures_replayed").Int(replayed)
      .Key("skipped_rows").Int(prepared->skipped_rows)
      .Key("journal_copy_damaged_lines").Int(damaged_lines)
      .Key("database").String(db)
      .Key("previous_database").String(aside);
  if (o.json) {
    std::cout << w.EndObject().Take() << "\n";
  } else {
    std::cout << "restored backup " << prepared->data_header.backup_id << " (taken "
              << FormatRfc3339Millis(prepared->data_header.created_at_ms) << ") into " << db << "\nkeys from "
              << prepared->key_source << "; " << replayed << " later erasures carried out again before serving\n"
              << "the previous database is kept as " << aside << " (with its audit ledger); delete it once archived\n";
  }
  return 0;
}

// ------------------------------------------------------------------ list / prune

int List(const CommonOptions& o) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return PrintError(load.ToStatus(), o.json);
  const Config& config = *load.config;
  Result<std::vector<ListedBackupFile>> listed = ListBackupFiles(config.backup.dir);
  if (!listed.ok()) return PrintError(listed.status(), o.json);
  const int64_t now = SystemClock().NowUnixMillis();
  const int64_t horizon = config.backup.retention_days * 86'400'000LL;
  JsonWriter w;
  w.BeginObject().Key("dir").String(config.backup.dir).Key("backups").BeginArray();
  for (const ListedBackupFile& l : *listed) {
    const int64_t expires = l.header.created_at_ms + horizon;
    w.BeginObject().Key("file").String(BaseName(l.path)).Key("kind").String(l.header.kind);
    w.Key("backup_id").String(l.header.backup_id).Key("created_at").String(FormatRfc3339Millis(l.header.created_at_ms));
    w.Key("expires_at").String(FormatRfc3339Millis(expires)).Key("expired").Bool(expires <= now);
    w.Key("bytes").Int(l.bytes).EndObject();
    if (!o.json) {
      std::cout << BaseName(l.path) << "  " << l.header.kind << "  " << l.bytes << " bytes  "
                << (expires <= now ? "expired" : "expires " + FormatRfc3339Millis(expires)) << "\n";
    }
  }
  w.EndArray().EndObject();
  if (o.json) std::cout << w.Take() << "\n";
  if (!o.json && listed->empty()) std::cout << "no backups in " << config.backup.dir << "\n";
  return 0;
}

int Prune(const CommonOptions& o) {
  ConfigLoad load = Load(o);
  if (!load.ok()) return PrintError(load.ToStatus(), o.json);
  const Config& config = *load.config;
  Result<std::unique_ptr<AdminRuntime>> rt = Open(o, MigrationMode::kApply);
  if (!rt.ok()) return PrintError(rt.status(), o.json);
  Result<std::vector<ListedBackupFile>> listed = ListBackupFiles(config.backup.dir);
  if (!listed.ok()) return PrintError(listed.status(), o.json);
  const int64_t cutoff = (*rt)->clock.NowUnixMillis() - config.backup.retention_days * 86'400'000LL;
  Result<std::vector<std::string>> deleted = PruneBackupFiles(config.backup.dir, cutoff);
  if (!deleted.ok()) return PrintError(deleted.status(), o.json);
  JsonWriter w;
  w.BeginObject().Key("retention_days").Int(config.backup.retention_days).Key("deleted").BeginArray();
  for (const std::string& name : *deleted) w.String(name);
  const std::string json = w.EndArray().EndObject().Take();
  if (!deleted->empty()) {
    Status recorded = Record(**rt, "backup.prune", json);
    if (!recorded.ok()) return PrintError(recorded, o.json);
  }
  if (o.json) {
    std::cout << json << "\n";
  } else {
    std::cout << "deleted " << deleted->size() << " backup files older than " << config.backup.retention_days
              << " days from " << config.backup.dir << "\n";
  }
  return 0;
}

}  // namespace

void AddBackupCommands(CLI::App& app, CommonOptions& o, std::function<int()>& run) {
  auto a = std::make_shared<BackupArgs>();
  auto* backup = app.add_subcommand("backup", "Encrypted online backups that keep keys apart (docs/backup.md)");
  backup->require_subcommand(1);

  auto* create = backup->add_subcommand("create", "Back up the database while the gateway serves");
  AddCommon(create, o);
  create->add_option("--out", a->out, "Directory for the two files (default: backup.dir)");
  create->callback([&run, &o, a] { run = [&o, a] { return Create(o, *a); }; });

  auto* verify = backup->add_subcommand("verify", "Decrypt and check backup files without restoring them");
  AddCommon(verify, o);
  verify->add_option("files", a->files, "*.data.cbk and *.keys.cbk files")->required();
  verify->add_option("--archive-master-key-file", a->archive_key_file,
                     "The master key that sealed the files, if it was rotated since");
  verify->callback([&run, &o, a] { run = [&o, a] { return Verify(o, *a); }; });

  auto* restore = backup->add_subcommand(
      "restore", "Replace the database with a backup, replaying every later erasure first (gateways stopped)");
  AddCommon(restore, o);
  restore->add_option("data_file", a->data_file, "The backup's *.data.cbk file")->required();
  restore->add_option("--keys", a->keys_file,
                      "A *.keys.cbk file, when the current database is lost (default: its key store)");
  restore->add_option("--archive-master-key-file", a->archive_key_file,
                      "The master key that sealed the files, if it was rotated since");
  restore->callback([&run, &o, a] { run = [&o, a] { return Restore(o, *a); }; });

  auto* list = backup->add_subcommand("list", "Backups in backup.dir, with their expiry");
  AddCommon(list, o);
  list->callback([&run, &o] { run = [&o] { return List(o); }; });

  auto* prune = backup->add_subcommand("prune", "Delete backups older than backup.retention_days (audited)");
  AddCommon(prune, o);
  prune->callback([&run, &o] { run = [&o] { return Prune(o); }; });
}

}  // namespace cs::cli_internal
