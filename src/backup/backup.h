// File: backup.h
// Online, encrypted backups that keep keys apart from data, and restores
// that never bring an erased subject back (docs/backup.md; issue 5, F-18,
// RET-08, DSR-05).
//
// A backup is two archives (archive.h) sharing one id:
//   <stamp>-<id>.data.cbk   the whole database, minus every tenant and subject key
//   <stamp>-<id>.keys.cbk   the tenant keys, the subject keys and the erasure journal
// Everything personal in the data part is sealed under subject or tenant
// keys that are not in it, so the data part alone (even with the master
// key) opens nothing. A restore takes the keys from the live key store when
// it survives (it knows every destruction since the backup) or from a keys
// archive, then replays every erasure the backup does not know before the
// gateway serves again.
//
// Thread-safety: functions are reentrant; the stores they get must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "backup/archive.h"
#include "common/status.h"
#include "env/env.h"
#include "store/store.h"
#include "vault/keys.h"

namespace cs {

// Reports progress of a long step: phase ("snapshot", "encrypt", …), done and total units (bytes or rows).
using BackupProgress = std::function<void(std::string_view phase, int64_t done, int64_t total)>;

struct BackupSet {
  std::string backup_id;
  int64_t created_at_ms = 0;
  int schema_version = 0;
  std::string data_file;
  std::string keys_file;
  int64_t data_bytes = 0;      // file sizes on disk
  int64_t keys_bytes = 0;
  int64_t tenant_keys = 0;
  int64_t subject_keys = 0;    // live and destroyed rows
  int64_t erasures = 0;
};

// Takes a consistent backup of `live` while it serves, into `out_dir`
// (created 0700). A plaintext snapshot exists only inside `out_dir` for the
// duration of the call (mode 0600, keys removed before it is encrypted,
// deleted after). Nothing is left behind on failure.
Result<BackupSet> CreateBackup(Store& live, Kms& kms, Random& random, const Clock& clock, const std::string& out_dir,
                               const BackupProgress& progress);

struct ArchiveCheck {
  ArchiveHeader header;
  int64_t file_bytes = 0;
  // For a data archive: the database inside passed SQLite's integrity check.
  bool database_intact = false;
  int64_t audit_entries = 0;
  // For a keys archive: the rows it holds.
  int64_t tenant_keys = 0;
  int64_t subject_keys = 0;
  int64_t erasures = 0;
};

// Decrypts every chunk of `path` and checks what is inside: a data archive
// is opened from a temporary copy in `scratch_dir` and integrity-checked; a
// keys archive is parsed row by row. Errors as archive.h, plus data_loss
// "database_corrupt".
Result<ArchiveCheck> VerifyArchive(const std::string& path, Kms& kms, const std::string& scratch_dir,
                                   const BackupProgress& progress);

// The copy of the erasure journal kept beside the backups, off the database
// volume: <dir>/erasure-journal.jsonl, one JSON line per erasure whose key
// was destroyed (pseudonyms and ids only). It lets a restore replay the
// erasures made after the newest backup even when the database is lost.
std::string ErasureJournalCopyPath(const std::string& dir);
// Appends `erasure` (mode 0600, fsync before returning).
Status AppendErasureJournalCopy(const std::string& dir, const ErasureRecord& erasure);
// Every entry of the copy (empty when there is none). Lines that do not
// parse (torn by a crash mid-append; the entry was appended again whole)
// are skipped and counted in `damaged_lines`.
Result<std::vector<ErasureRecord>> ReadErasureJournalCopy(const std::string& dir, int64_t* damaged_lines = nullptr);

struct RestorePlan {
  std::string data_archive;
  std::optional<std::string> keys_archive;  // given: the keys come from it; nullopt: from `live`
  Store* live = nullptr;                    // the current database, when it still opens
  std::vector<ErasureRecord> journal_copy;  // ReadErasureJournalCopy of backup.dir
  std::string target_path;                  // where the restored database is written (must not exist)
};

struct PreparedRestore {
  ArchiveHeader data_header;
  std::string key_source;            // "live" or the keys archive's file name
  int64_t tenant_keys = 0;
  int64_t subject_keys = 0;
  int64_t erasures_to_replay = 0;    // journalled in the restored database, to finish before serving
  int64_t skipped_rows = 0;          // keys of tenants created after the backup
};

// Writes the restored database to plan.target_path with its keys and every
// erasure the backup predates journalled as pending; the caller finishes
// them (ErasureService::ResumePending) before anything serves from it.
// failed_precondition "backup_keys_missing" when there is no key source, or
// it lacks the keys of a tenant holding sealed data; "backup_keys_too_old"
// for a keys archive taken before the data archive.
Result<PreparedRestore> PrepareRestore(const RestorePlan& plan, Kms& kms, const BackupProgress& progress);

struct ListedBackupFile {
  std::string path;
  ArchiveHeader header;
  int64_t bytes = 0;
};

// The backup files (*.cbk) of `dir`, oldest first; files that are not
// backups are left out (`verify` says what is wrong with them). An absent
// directory lists empty.
Result<std::vector<ListedBackupFile>> ListBackupFiles(const std::string& dir);

// Deletes every backup file of `dir` taken at or before `cutoff_ms`;
// returns their names.
Result<std::vector<std::string>> PruneBackupFiles(const std::string& dir, int64_t cutoff_ms);

// "20261122T170000Z": a time for file names.
std::string CompactUtcStamp(int64_t unix_millis);

// The file names of one backup.
std::string BackupFileName(int64_t created_at_ms, const std::string& backup_id, std::string_view kind);

}  // namespace cs
