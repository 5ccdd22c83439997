// Backup, verification and restore preparation (backup.h, docs/backup.md).
#include "backup/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>
#include <utility>

#include "common/json_writer.h"
#include "common/strings.h"
#include "json/json.h"
#include "store/sqlite/sqlite_store.h"

namespace cs {

namespace {

constexpr int kKeyPage = 5000;
constexpr size_t kCopyBytes = 1 << 20;

void Report(const BackupProgress& progress, std::string_view phase, int64_t done, int64_t total) {
  if (progress) progress(phase, done, total);
}

// Removes a SQLite database file and its companions when it goes out of scope.
class TempDatabase {
 public:
  explicit TempDatabase(std::string path) : path_(std::move(path)) {}
  ~TempDatabase() {
    if (keep_) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path_ + suffix).c_str());
  }
  TempDatabase(const TempDatabase&) = delete;
  TempDatabase& operator=(const TempDatabase&) = delete;
  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Files created while it lives are private whatever the caller's umask
// (VACUUM INTO creates its file itself, before any chmod could run).
class PrivateUmask {
 public:
  PrivateUmask() : previous_(::umask(077)) {}
  ~PrivateUmask() { ::umask(previous_); }
  PrivateUmask(const PrivateUmask&) = delete;
  PrivateUmask& operator=(const PrivateUmask&) = delete;

 private:
  mode_t previous_;
};

// Temporary files of a backup or verify that died (a crash, Ctrl-C):
// ".bk_…" snapshots, archives the durable writer had not committed
// ("<name>.tmp." and six random characters, env/file_system.h) and
// "*.partial" ones of earlier versions, left more than an hour ago.
void SweepStaleTemporaries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const time_t cutoff = ::time(nullptr) - 3600;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    const size_t tmp = name.rfind(".tmp.");
    const bool temporary = name.rfind(".bk_", 0) == 0 ||
                           (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) ||
                           (tmp != std::string::npos && name.size() - tmp == 11);
    if (!temporary) continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_mtime < cutoff) ::unlink(path.c_str());
  }
  ::closedir(d);
}

Status EnsurePrivateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("io_error", "cannot create " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidArgument("invalid_backup_dir", dir + " is not a directory");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Store>> OpenFile(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  options.pool_size = 1;
  options.synchronous_full = false;  // a scratch copy: durability comes from the archive's fsync
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(options));
  ::chmod(path.c_str(), 0600);
  return store;
}

int64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// ------------------------------------------------------- keys archive rows

void TenantKeyLine(JsonWriter& w, const std::string& tenant, const std::string& purpose, const std::string& wrapped) {
  w.BeginObject().Key("tenant_key").BeginObject();
  w.Key("tenant_id").String(tenant).Key("purpose").String(purpose).Key("wrapped").String(HexEncode(wrapped));
  w.EndObject().EndObject();
}

void SubjectKeyLine(JsonWriter& w, const SubjectKeyRecord& k) {
  w.BeginObject().Key("subject_key").BeginObject();
  w.Key("tenant_id").String(k.tenant_id).Key("subject").String(k.subject).Key("generation").Int(k.generation);
  w.Key("wrapped");
  if (k.wrapped) {
    w.String(HexEncode(*k.wrapped));
  } else {
    w.Null();
  }
  w.Key("created_at_ms").Int(k.created_at_ms).Key("destroyed_at_ms");
  if (k.destroyed_at_ms) {
    w.Int(*k.destroyed_at_ms);
  } else {
    w.Null();
  }
  w.EndObject().EndObject();
}

void ErasureLine(JsonWriter& w, const ErasureRecord& e) {
  w.BeginObject().Key("erasure").BeginObject();
  w.Key("id").String(e.id).Key("tenant_id").String(e.tenant_id).Key("subject").String(e.subject);
  w.Key("step").String(e.step).Key("actor").String(e.actor).Key("requested_at_ms").Int(e.requested_at_ms);
  w.Key("updated_at_ms").Int(e.updated_at_ms).Key("details").String(e.details);
  w.EndObject().EndObject();
}

// One parsed row of a keys archive.
struct KeyRow {
  enum class Kind { kTenantKey, kSubjectKey, kErasure } kind = Kind::kTenantKey;
  std::string tenant_id;
  std::string purpose;
  std::string wrapped;
  SubjectKeyRecord subject_key;
  ErasureRecord erasure;
};

Status BadRow(int64_t line, const std::string& why) {
  return Status(StatusCode::kDataLoss, "backup_corrupt",
                "keys archive row " + std::to_string(line) + " is malformed: " + why);
}

Result<std::string> RequiredHex(ObjectReader& r, std::string_view key) {
  CS_ASSIGN_OR_RETURN(std::string hex, r.RequiredString(key));
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes) return InvalidArgument("invalid_field", std::string(key) + " is not hex");
  return std::move(*bytes);
}

Result<KeyRow> DecodeKeyRow(std::string_view text) {
  CS_ASSIGN_OR_RETURN(JsonValue parsed, ParseJson(text));
  if (!parsed.is_object() || parsed.as_object().size() != 1) {
    return InvalidArgument("invalid_type", "not an object with one member");
  }
  const auto& [kind, body] = parsed.as_object().front();
  CS_ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Create(body, kind));
  KeyRow row;
  if (kind == "tenant_key") {
    row.kind = KeyRow::Kind::kTenantKey;
    CS_ASSIGN_OR_RETURN(row.tenant_id, r.RequiredString("tenant_id"));
    CS_ASSIGN_OR_RETURN(row.purpose, r.RequiredString("purpose"));
    CS_ASSIGN_OR_RETURN(row.wrapped, RequiredHex(r, "wrapped"));
  } else if (kind == "subject_key") {
    row.kind = KeyRow::Kind::kSubjectKey;
    SubjectKeyRecord& k = row.subject_key;
    CS_ASSIGN_OR_RETURN(k.tenant_id, r.RequiredString("tenant_id"));
    CS_ASSIGN_OR_RETURN(k.subject, r.RequiredString("subject"));
    CS_ASSIGN_OR_RETURN(k.generation, r.RequiredInt("generation"));
    CS_ASSIGN_OR_RETURN(k.created_at_ms, r.RequiredInt("created_at_ms"));
    CS_ASSIGN_OR_RETURN(k.destroyed_at_ms, r.OptionalInt("destroyed_at_ms"));
    CS_ASSIGN_OR_RETURN(std::optional<std::string> wrapped, r.OptionalString("wrapped"));
    if (wrapped) {
      k.wrapped = HexDecode(*wrapped);
      if (!k.wrapped) return InvalidArgument("invalid_field", "wrapped is not hex");
    }
  } else if (kind == "erasure") {
    row.kind = KeyRow::Kind::kErasure;
    ErasureRecord& e = row.erasure;
    CS_ASSIGN_OR_RETURN(e.id, r.RequiredString("id"));
    CS_ASSIGN_OR_RETURN(e.tenant_id, r.RequiredString("tenant_id"));
    CS_ASSIGN_OR_RETURN(e.subject, r.RequiredString("subject"));
    CS_ASSIGN_OR_RETURN(e.step, r.RequiredString("step"));
    CS_ASSIGN_OR_RETURN(e.actor, r.RequiredString("actor"));
    CS_ASSIGN_OR_RETURN(e.requested_at_ms, r.RequiredInt("requested_at_ms"));
    CS_ASSIGN_OR_RETURN(e.updated_at_ms, r.RequiredInt("updated_at_ms"));
    CS_ASSIGN_OR_RETURN(e.details, r.RequiredString("details"));
  } else {
    return InvalidArgument("invalid_type", "unknown row type " + kind);
  }
  CS_RETURN_IF_ERROR(r.Finish());
  return row;
}

// Any row that does not decode is damage: the content was authenticated,
// so it was written that way.
Result<KeyRow> ParseKeyRow(std::string_view text, int64_t line) {
  Result<KeyRow> row = DecodeKeyRow(text);
  if (!row.ok()) return BadRow(line, row.status().message());
  return row;
}

// Reads a keys archive row by row, across chunk boundaries.
Status ForEachKeyRow(ArchiveReader& reader, const std::function<Status(const KeyRow&)>& visit) {
  if (reader.header().kind != "keys") {
    return InvalidArgument("wrong_backup_kind", "expected a keys archive (*.keys.cbk), got a " +
                                                    reader.header().kind + " archive");
  }
  std::string carry;
  int64_t line = 0;
  for (;;) {
    CS_ASSIGN_OR_RETURN(std::optional<SecretString> chunk, reader.Next());
    if (!chunk) break;
    carry += InsecureSecretAccess::Get(*chunk);
    size_t start = 0;
    for (size_t nl = carry.find('\n'); nl != std::string::npos; nl = carry.find('\n', start)) {
      ++line;
      CS_ASSIGN_OR_RETURN(KeyRow row, ParseKeyRow(std::string_view(carry).substr(start, nl - start), line));
      CS_RETURN_IF_ERROR(visit(row));
      start = nl + 1;
    }
    carry.erase(0, start);
  }
  if (!carry.empty()) return BadRow(line + 1, "no line end");
  return Status::Ok();
}

constexpr std::string_view kJournalCopyName = "erasure-journal.jsonl";

}  // namespace

std::string ErasureJournalCopyPath(const std::string& dir) { return dir + "/" + std::string(kJournalCopyName); }

Status AppendErasureJournalCopy(const std::string& dir, const ErasureRecord& erasure) {
  CS_RETURN_IF_ERROR(EnsurePrivateDir(dir));
  const std::string path = ErasureJournalCopyPath(dir);
  JsonWriter w;
  ErasureLine(w, erasure);
  std::string line = w.Take();
  line += '\n';
  const bool created = ::access(path.c_str(), F_OK) != 0;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("erasure_journal_copy_failed", "cannot open " + path + ": " + std::strerror(errno));
  // A line torn by a crash or a full disk stays on a line of its own: the
  // retried entry starts on the next one.
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
    line.insert(line.begin(), '\n');
  }
  // One write of one line: O_APPEND keeps concurrent writers' lines whole.
  const ssize_t n = ::write(fd, line.data(), line.size());
  const bool synced = n == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (created) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  if (!synced) return Unavailable("erasure_journal_copy_failed", "cannot append to " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<std::vector<ErasureRecord>> ReadErasureJournalCopy(const std::string& dir, int64_t* damaged_lines) {
  if (damaged_lines != nullptr) *damaged_lines = 0;
  std::vector<ErasureRecord> out;
  const std::string path = ErasureJournalCopyPath(dir);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    if (errno == ENOENT) return out;
    return Unavailable("io_error", "cannot read " + path + ": " + std::strerror(errno));
  }
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  std::fclose(f);
  int64_t line = 0;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    ++line;
    Result<KeyRow> row = ParseKeyRow(std::string_view(text).substr(start, nl - start), line);
    start = nl + 1;
    // A line torn by a crash mid-append was never acknowledged; the entry
    // was appended again whole. Counted, so the restore can say so.
    if (!row.ok() || row->kind != KeyRow::Kind::kErasure) {
      if (damaged_lines != nullptr) ++*damaged_lines;
      continue;
    }
    out.push_back(std::move(row->erasure));
  }
  // A torn last line (a crash mid-append) was never acknowledged: skip it.
  return out;
}

Result<std::vector<ListedBackupFile>> ListBackupFiles(const std::string& dir) {
  std::vector<ListedBackupFile> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Unavailable("io_error", "cannot list " + dir + ": " + std::strerror(errno));
  }
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".cbk") != 0) continue;
    ListedBackupFile l;
    l.path = dir + "/" + name;
    Result<ArchiveHeader> h = ArchiveReader::ReadHeader(l.path);
    if (!h.ok()) continue;
    l.header = std::move(h).value();
    l.bytes = FileSize(l.path);
    out.push_back(std::move(l));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const ListedBackupFile& x, const ListedBackupFile& y) {
    return std::tie(x.header.created_at_ms, x.path) < std::tie(y.header.created_at_ms, y.path);
  });
  return out;
}

Result<std::vector<std::string>> PruneBackupFiles(const std::string& dir, int64_t cutoff_ms) {
  SweepStaleTemporaries(dir);
  CS_ASSIGN_OR_RETURN(std::vector<ListedBackupFile> listed, ListBackupFiles(dir));
  std::vector<std::string> deleted;
  for (const ListedBackupFile& l : listed) {
    if (l.header.created_at_ms > cutoff_ms) continue;
    if (::unlink(l.path.c_str()) != 0) {
      return Unavailable("io_error", "cannot delete " + l.path + ": " + std::strerror(errno));
    }
    deleted.push_back(l.path.substr(dir.size() + 1));
  }
  return deleted;
}

std::string CompactUtcStamp(int64_t unix_millis) {
  std::string stamp;
  for (char ch : FormatRfc3339Millis(unix_millis).substr(0, 19)) {
    if (ch != '-' && ch != ':') stamp.push_back(ch);
  }
  return stamp + "Z";
}

std::string BackupFileName(int64_t created_at_ms, const std::string& backup_id, std::string_view kind) {
  return "consentry-" + CompactUtcStamp(created_at_ms) + "-" + backup_id + "." + std::string(kind) + ".cbk";
}

// ------------------------------------------------------------------ create

Result<BackupSet> CreateBackup(Store& live, Kms& kms, Random& random, const Clock& clock, const std::string& out_dir,
                               const BackupProgress& progress) {
  PrivateUmask private_files;
  CS_RETURN_IF_ERROR(EnsurePrivateDir(out_dir));
  SweepStaleTemporaries(out_dir);
  BackupSet set;
  CS_ASSIGN_OR_RETURN(std::string id_bytes, random.Bytes(8));
  set.backup_id = "bk_" + HexEncode(id_bytes);
  set.created_at_ms = clock.NowUnixMillis();
  CS_ASSIGN_OR_RETURN(MigrationStatus schema, live.GetMigrationStatus());
  set.schema_version = schema.current_version;
  set.data_file = out_dir + "/" + BackupFileName(set.created_at_ms, set.backup_id, "data");
  set.keys_file = out_dir + "/" + BackupFileName(set.created_at_ms, set.backup_id, "keys");

  // 1. One consistent snapshot; keys and data below both come from it.
  Report(progress, "snapshot", 0, 1);
  TempDatabase snapshot(out_dir + "/." + set.backup_id + ".snapshot.db");
  CS_RETURN_IF_ERROR(live.SnapshotTo(snapshot.path()));
  ::chmod(snapshot.path().c_str(), 0600);
  Report(progress, "snapshot", 1, 1);
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Store> copy, OpenFile(snapshot.path()));

  // 2. The keys archive: tenant keys, subject keys, the erasure journal.
  std::string rows;
  {
    CS_ASSIGN_OR_RETURN(auto tenant_keys, copy->tenant_keys().ListTenantKeys());
    for (const auto& [tenant, purpose, wrapped] : tenant_keys) {
      JsonWriter w;
      TenantKeyLine(w, tenant, purpose, wrapped);
      rows += w.Take();
      rows += '\n';
      ++set.tenant_keys;
    }
    std::string after_tenant, after_subject;
    for (;;) {
      CS_ASSIGN_OR_RETURN(auto page, copy->vault().ListSubjectKeys(after_tenant, after_subject, kKeyPage));
      for (const SubjectKeyRecord& k : page) {
        JsonWriter w;
        SubjectKeyLine(w, k);
        rows += w.Take();
        rows += '\n';
      }
      set.subject_keys += static_cast<int64_t>(page.size());
      Report(progress, "keys", set.subject_keys, 0);
      if (page.size() < static_cast<size_t>(kKeyPage)) break;
      after_tenant = page.back().tenant_id;
      after_subject = page.back().subject;
    }
    CS_ASSIGN_OR_RETURN(auto erasures, copy->vault().ListErasures());
    for (const ErasureRecord& e : erasures) {
      JsonWriter w;
      ErasureLine(w, e);
      rows += w.Take();
      rows += '\n';
    }
    set.erasures = static_cast<int64_t>(erasures.size());
  }
  ArchiveHeader keys_header;
  keys_header.kind = "keys";
  keys_header.backup_id = set.backup_id;
  keys_header.created_at_ms = set.created_at_ms;
  keys_header.schema_version = set.schema_version;
  keys_header.content_bytes = static_cast<int64_t>(rows.size());
  CS_ASSIGN_OR_RETURN(auto keys_writer, ArchiveWriter::Create(set.keys_file, keys_header, kms, random));
  CS_RETURN_IF_ERROR(keys_writer->Write(rows));
  std::fill(rows.begin(), rows.end(), '\0');
  CS_RETURN_IF_ERROR(keys_writer->Finish());

  // 3. The data archive: the snapshot without any key. secure_delete
  // zeroes the freed pages and the checkpoint folds them into the file.
  Status stripped = copy->InTransaction([](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.vault().DeleteAllSubjectKeys().status());
    return tx.tenant_keys().DeleteAllTenantKeys().status();
  });
  if (stripped.ok()) stripped = copy->Checkpoint();
  // Compacted once more: the pages the keys held (zeroed) are left out.
  TempDatabase compact(out_dir + "/." + set.backup_id + ".compact.db");
  if (stripped.ok()) stripped = copy->SnapshotTo(compact.path());
  copy.reset();  // the last connection closes: the WAL is folded in and removed
  if (!stripped.ok()) {
    ::unlink(set.keys_file.c_str());
    return stripped;
  }
  ::chmod(compact.path().c_str(), 0600);
  ArchiveHeader data_header;
  data_header.kind = "data";
  data_header.backup_id = set.backup_id;
  data_header.created_at_ms = set.created_at_ms;
  data_header.schema_version = set.schema_version;
  data_header.content_bytes = FileSize(compact.path());
  Status written = [&]() -> Status {
    CS_ASSIGN_OR_RETURN(auto data_writer, ArchiveWriter::Create(set.data_file, data_header, kms, random));
    int fd = ::open(compact.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Unavailable("io_error", "cannot read the snapshot: " + std::string(std::strerror(errno)));
    std::string buffer(kCopyBytes, '\0');
    Status s = Status::Ok();
    for (;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = Unavailable("io_error", "cannot read the snapshot: " + std::string(std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      s = data_writer->Write(std::string_view(buffer.data(), static_cast<size_t>(n)));
      if (!s.ok()) break;
      Report(progress, "encrypt", data_writer->bytes_written(), data_header.content_bytes);
    }
    ::close(fd);
    CS_RETURN_IF_ERROR(s);
    return data_writer->Finish();
  }();
  if (!written.ok()) {
    ::unlink(set.keys_file.c_str());
    return written;
  }
  set.data_bytes = FileSize(set.data_file);
  set.keys_bytes = FileSize(set.keys_file);
  return set;
}

// ------------------------------------------------------------------ verify

namespace {

// Decrypts a data archive into `path` (mode 0600, must not exist).
Status DecryptDataTo(ArchiveReader& reader, const std::string& path, const BackupProgress& progress) {
  if (reader.header().kind != "data") {
    return InvalidArgument("wrong_backup_kind", "expected a data archive (*.data.cbk), got a " +
                                                    reader.header().kind + " archive");
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("io_error", "cannot create " + path + ": " + std::strerror(errno));
  Status s = Status::Ok();
  for (;;) {
    Result<std::optional<SecretString>> chunk = reader.Next();
    if (!chunk.ok()) {
      s = chunk.status();
      break;
    }
    if (!*chunk) break;
    std::string_view bytes = InsecureSecretAccess::Get(**chunk);
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = Unavailable("io_error", "cannot write " + path + ": " + std::strerror(errno));
        break;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    if (!s.ok()) break;
    Report(progress, "decrypt", reader.bytes_read(), reader.header().content_bytes);
  }
  if (s.ok() && ::fsync(fd) != 0) s = Unavailable("io_error", "cannot flush " + path);
  ::close(fd);
  return s;
}

}  // namespace

Result<ArchiveCheck> VerifyArchive(const std::string& path, Kms& kms, const std::string& scratch_dir,
                                   const BackupProgress& progress) {
  CS_ASSIGN_OR_RETURN(std::unique_ptr<ArchiveReader> reader, ArchiveReader::Open(path, kms));
  ArchiveCheck check;
  check.header = reader->header();
  check.file_bytes = FileSize(path);
  if (check.header.kind == "keys") {
    CS_RETURN_IF_ERROR(ForEachKeyRow(*reader, [&](const KeyRow& row) -> Status {
      switch (row.kind) {
        case KeyRow::Kind::kTenantKey: ++check.tenant_keys; break;
        case KeyRow::Kind::kSubjectKey: ++check.subject_keys; break;
        case KeyRow::Kind::kErasure: ++check.erasures; break;
      }
      return Status::Ok();
    }));
    return check;
  }
  CS_RETURN_IF_ERROR(EnsurePrivateDir(scratch_dir));
  // A name of its own: two verifies of one file must not share (or delete) a scratch copy.
  static std::atomic<int64_t> verifies{0};
  TempDatabase copy(scratch_dir + "/." + check.header.backup_id + "." + std::to_string(::getpid()) + "." +
                    std::to_string(verifies.fetch_add(1)) + ".verify.db");
  CS_RETURN_IF_ERROR(DecryptDataTo(*reader, copy.path(), progress));
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenFile(copy.path()));
  CS_RETURN_IF_ERROR(store->CheckIntegrity());
  check.database_intact = true;
  CS_ASSIGN_OR_RETURN(auto tail, store->audit().Tail());
  check.audit_entries = tail.first;
  return check;
}

// ------------------------------------------------------------------ restore

Result<PreparedRestore> PrepareRestore(const RestorePlan& plan, Kms& kms, const BackupProgress& progress) {
  if (!plan.keys_archive && plan.live == nullptr) {
    return FailedPrecondition("backup_keys_missing",
                              "no key source: restore into the data directory whose database still opens, or give "
                              "the keys archive with --keys (*.keys.cbk)");
  }
  PreparedRestore out;
  CS_ASSIGN_OR_RETURN(std::unique_ptr<ArchiveReader> data, ArchiveReader::Open(plan.data_archive, kms));
  out.data_header = data->header();
  std::unique_ptr<ArchiveReader> keys;
  if (plan.keys_archive) {
    CS_ASSIGN_OR_RETURN(keys, ArchiveReader::Open(*plan.keys_archive, kms));
    if (keys->header().kind != "keys") {
      return InvalidArgument("wrong_backup_kind", "--keys expects a keys archive (*.keys.cbk)");
    }
    // An older key store lacks the keys of subjects seen since, and may still
    // hold keys the backup's own journal says were destroyed.
    if (keys->header().created_at_ms < out.data_header.created_at_ms) {
      return FailedPrecondition("backup_keys_too_old",
                                "the keys archive was taken before the data archive: give the keys archive of the "
                                "same or a later backup");
    }
    const size_t slash = plan.keys_archive->find_last_of('/');
    out.key_source = slash == std::string::npos ? *plan.keys_archive : plan.keys_archive->substr(slash + 1);
  } else {
    out.key_source = "live";
  }

  if (::access(plan.target_path.c_str(), F_OK) == 0) {
    return AlreadyExists("backup_exists", plan.target_path + " exists: another restore may be running");
  }
  TempDatabase target(plan.target_path);
  CS_RETURN_IF_ERROR(DecryptDataTo(*data, plan.target_path, progress));
  CS_ASSIGN_OR_RETURN(std::unique_ptr<Store> restored, OpenFile(plan.target_path));
  CS_RETURN_IF_ERROR(restored->CheckIntegrity());
  CS_RETURN_IF_ERROR(restored->Migrate().status());

  std::set<std::string> tenants;
  {
    CS_ASSIGN_OR_RETURN(std::vector<Tenant> list, restored->tenants().List());
    for (const Tenant& t : list) tenants.insert(t.id);
  }
  std::set<std::string> known_erasures;
  {
    CS_ASSIGN_OR_RETURN(std::vector<ErasureRecord> list, restored->vault().ListErasures());
    for (const ErasureRecord& e : list) known_erasures.insert(e.id);
  }

  // Keys, in batches of one transaction each.
  std::vector<KeyRow> batch;
  std::vector<ErasureRecord> erasures;
  auto flush = [&]() -> Status {
    Status s = restored->InTransaction([&](StoreTransaction& tx) -> Status {
      for (const KeyRow& row : batch) {
        if (row.kind == KeyRow::Kind::kTenantKey) {
          CS_RETURN_IF_ERROR(tx.tenant_keys().InsertTenantKey(row.tenant_id, row.purpose, row.wrapped));
        } else {
          CS_RETURN_IF_ERROR(tx.vault().PutSubjectKey(row.subject_key));
        }
      }
      return Status::Ok();
    });
    batch.clear();
    Report(progress, "keys", out.subject_keys, 0);
    return s;
  };
  auto take = [&](KeyRow row) -> Status {
    const std::string& tenant = row.kind == KeyRow::Kind::kSubjectKey ? row.subject_key.tenant_id
                                : row.kind == KeyRow::Kind::kErasure  ? row.erasure.tenant_id
                                                                      : row.tenant_id;
    if (tenants.count(tenant) == 0) {
      ++out.skipped_rows;
      return Status::Ok();
    }
    switch (row.kind) {
      case KeyRow::Kind::kTenantKey: ++out.tenant_keys; break;
      case KeyRow::Kind::kSubjectKey: ++out.subject_keys; break;
      case KeyRow::Kind::kErasure: erasures.push_back(std::move(row.erasure)); return Status::Ok();
    }
    batch.push_back(std::move(row));
    return batch.size() >= static_cast<size_t>(kKeyPage) ? flush() : Status::Ok();
  };
  if (keys) {
    CS_RETURN_IF_ERROR(ForEachKeyRow(*keys, [&](const KeyRow& row) { return take(row); }));
  } else {
    CS_ASSIGN_OR_RETURN(auto tenant_keys, plan.live->tenant_keys().ListTenantKeys());
    for (auto& [tenant, purpose, wrapped] : tenant_keys) {
      KeyRow row;
      row.kind = KeyRow::Kind::kTenantKey;
      row.tenant_id = tenant;
      row.purpose = purpose;
      row.wrapped = wrapped;
      CS_RETURN_IF_ERROR(take(std::move(row)));
    }
    std::string after_tenant, after_subject;
    for (;;) {
      CS_ASSIGN_OR_RETURN(auto page, plan.live->vault().ListSubjectKeys(after_tenant, after_subject, kKeyPage));
      for (SubjectKeyRecord& k : page) {
        KeyRow row;
        row.kind = KeyRow::Kind::kSubjectKey;
        row.subject_key = std::move(k);
        CS_RETURN_IF_ERROR(take(std::move(row)));
      }
      if (page.size() < static_cast<size_t>(kKeyPage)) break;
      after_tenant = page.back().tenant_id;
      after_subject = page.back().subject;
    }
  }
  CS_RETURN_IF_ERROR(flush());
  // A tenant with sealed data and no key in the source would get fresh keys
  // on first use: its data unreadable, its pseudonyms changed. Refuse.
  for (const std::string& tenant : tenants) {
    CS_ASSIGN_OR_RETURN(std::optional<std::string> pepper, restored->tenant_keys().TenantKey(tenant, "pepper"));
    if (pepper) continue;
    CS_ASSIGN_OR_RETURN(std::vector<Channel> channels, restored->channels().ListChannels(tenant));
    CS_ASSIGN_OR_RETURN(std::vector<Subscriber> subscribers, restored->outbox().ListSubscribers(tenant));
    if (!channels.empty() || !subscribers.empty()) {
      return FailedPrecondition("backup_keys_missing", "the key source has no keys for tenant " + tenant +
                                                           ", which holds sealed data: give the keys archive of "
                                                           "this or a later backup with --keys");
    }
  }
  // The copy beside the backups knows erasures made after the newest keys
  // archive, even when the database is gone.
  for (const ErasureRecord& e : plan.journal_copy) {
    if (tenants.count(e.tenant_id) != 0) erasures.push_back(e);
  }
  // The live journal knows erasures a keys archive may not (those after it).
  if (plan.live != nullptr) {
    CS_ASSIGN_OR_RETURN(std::vector<ErasureRecord> live_erasures, plan.live->vault().ListErasures());
    for (ErasureRecord& e : live_erasures) {
      if (tenants.count(e.tenant_id) != 0) erasures.push_back(std::move(e));
    }
  }

  // Every erasure the backup predates goes into the restored journal, to be
  // carried out again on the restored data before anything serves.
  CS_RETURN_IF_ERROR(restored->InTransaction([&](StoreTransaction& tx) -> Status {
    for (ErasureRecord& e : erasures) {
      if (!known_erasures.insert(e.id).second) continue;
      // From the start: whatever the key source says, the key goes (a key
      // archive older than the erasure still holds it), then the data. Every
      // replayed erasure postdates the backup, so all of the subject's data
      // in it predates the erasure; a newer key generation from the live
      // store seals nothing in this database and is safe to destroy too.
      e.step = "requested";
      CS_RETURN_IF_ERROR(tx.vault().InsertErasure(e));
      ++out.erasures_to_replay;
    }
    return Status::Ok();
  }));
  CS_RETURN_IF_ERROR(restored->Checkpoint());
  restored.reset();
  target.Keep();
  return out;
}

}  // namespace cs
