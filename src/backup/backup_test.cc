// The backup container and backup sets: round trips, every kind of damage,
// keys kept apart, restores that take keys from the live store or a keys
// archive and journal every erasure the backup predates.
#include "backup/backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <chrono>
#include <iterator>
#include <thread>

#include "common/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace cs {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/consentry_backup_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    kms_ = NewKms('k');
    live_ = OpenStore(dir_ + "/live.db");
  }

  std::unique_ptr<Kms> NewKms(char fill) { return CreateLocalKms(SecretString(std::string(32, fill)), random_); }

  std::unique_ptr<Store> OpenStore(const std::string& path) {
    SqliteOptions options;
    options.path = path;
    auto store = OpenSqliteStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_TRUE((*store)->Migrate().ok());
    return std::move(store).value();
  }

  // A tenant with both tenant keys, two live subject keys and one erased subject.
  void Populate(Store& store) {
    ASSERT_TRUE(store.tenants().Create(Tenant{"ten_a", "acme", 1, std::nullopt, std::nullopt}).ok());
    ASSERT_TRUE(store.tenant_keys().InsertTenantKey("ten_a", "pepper", "WRAPPED-PEPPER-BYTES").ok());
    ASSERT_TRUE(store.tenant_keys().InsertTenantKey("ten_a", "content", "WRAPPED-CONTENT-BYTES").ok());
    for (const char* subject : {"sub_1", "sub_2", "sub_3"}) {
      SubjectKeyRecord k{"ten_a", subject, 1, std::string("WRAPPED-DEK-") + subject, 10, std::nullopt};
      ASSERT_TRUE(*store.vault().InsertSubjectKey(k));
    }
    ASSERT_TRUE(store.vault().DestroySubjectKey("ten_a", "sub_3", 20).ok());
    ASSERT_TRUE(store.vault()
                    .InsertErasure(ErasureRecord{"era_3", "ten_a", "sub_3", "done", "integration:key_x", 20, 21, "{}"})
                    .ok());
  }

  Result<ArchiveHeader> WriteArchive(const std::string& path, const std::string& content, Kms& kms) {
    ArchiveHeader h;
    h.kind = "data";
    h.backup_id = "bk_0011223344556677";
    h.created_at_ms = 1'700'000'000'000;
    h.schema_version = 8;
    h.content_bytes = static_cast<int64_t>(content.size());
    CS_ASSIGN_OR_RETURN(auto writer, ArchiveWriter::Create(path, h, kms, random_));
    // Uneven writes: chunking must not depend on how the caller slices.
    for (size_t at = 0; at < content.size(); at += 70'001) {
      CS_RETURN_IF_ERROR(writer->Write(std::string_view(content).substr(at, 70'001)));
    }
    CS_RETURN_IF_ERROR(writer->Finish());
    return ArchiveReader::ReadHeader(path);
  }

  Result<std::string> ReadArchive(const std::string& path, Kms& kms) {
    CS_ASSIGN_OR_RETURN(auto reader, ArchiveReader::Open(path, kms));
    std::string out;
    for (;;) {
      CS_ASSIGN_OR_RETURN(std::optional<SecretString> chunk, reader->Next());
      if (!chunk) return out;
      out += InsecureSecretAccess::Get(*chunk);
    }
  }

  std::string dir_;
  CryptoRandom random_;
  SystemClock clock_;
  std::unique_ptr<Kms> kms_;
  std::unique_ptr<Store> live_;
};

std::string Content(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
  return s;
}

// covers: SEC-02
TEST_F(BackupTest, AnArchiveRoundTripsAndHidesItsContent) {
  const std::string content = "CANARY-PLAINTEXT " + Content(3 * (1 << 20) + 12345);
  const std::string path = dir_ + "/a.cbk";
  auto header = WriteArchive(path, content, *kms_);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->kind, "data");
  EXPECT_EQ(header->master_key_id, kms_->key_id());
  auto back = ReadArchive(path, *kms_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, content);
  EXPECT_FALSE(Contains(ReadAll(path), "CANARY-PLAINTEXT"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Never overwritten.
  EXPECT_EQ(WriteArchive(path, "x", *kms_).status().machine_code(), "backup_exists");
  // An empty content is a valid archive too (one empty last chunk).
  auto empty = WriteArchive(dir_ + "/empty.cbk", "", *kms_);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*ReadArchive(dir_ + "/empty.cbk", *kms_), "");
}

// covers: SEC-02, F-18
TEST_F(BackupTest, EveryKindOfDamageIsAClearErrorNeverOtherPlaintext) {
  const std::string content = Content(2 * (1 << 20) + 5000);  // three chunks
  const std::string path = dir_ + "/a.cbk";
  ASSERT_TRUE(WriteArchive(path, content, *kms_).ok());
  const std::string good = ReadAll(path);
  const size_t header_end = 13 + ((static_cast<unsigned char>(good[9]) << 24) | (static_cast<unsigned char>(good[10]) << 16) |
                                  (static_cast<unsigned char>(good[11]) << 8) | static_cast<unsigned char>(good[12]));
  const size_t chunk = 4 + 18 + (1 << 20) + 16;  // one full sealed chunk with its length
  auto expect_code = [&](const std::string& bytes, const std::string& code, const std::string& what) {
    const std::string damaged = dir_ + "/damaged.cbk";
    WriteAll(damaged, bytes);
    auto read = ReadArchive(damaged, *kms_);
    EXPECT_FALSE(read.ok()) << what;
    EXPECT_EQ(read.status().machine_code(), code) << what << ": " << read.status().ToString();
    ::unlink(damaged.c_str());
  };
  std::string flipped = good;
  flipped[header_end + chunk + 100] ^= 0x01;
  expect_code(flipped, "backup_corrupt", "a flipped byte in chunk 1");
  expect_code(good.substr(0, header_end + 2 * chunk), "backup_corrupt", "the last chunk dropped");
  expect_code(good.substr(0, good.size() - 7), "backup_corrupt", "the tail cut");
  expect_code(good + "x", "backup_corrupt", "bytes appended");
  std::string swapped = good.substr(0, header_end) + good.substr(header_end + chunk, chunk) +
                        good.substr(header_end, chunk) + good.substr(header_end + 2 * chunk);
  expect_code(swapped, "backup_corrupt", "two chunks swapped");
  std::string header_edit = good;
  const size_t at = header_edit.find("\"schema_version\":8");
  ASSERT_NE(at, std::string::npos);
  header_edit[at + 17] = '9';
  expect_code(header_edit, "backup_corrupt", "the header edited");
  // A chunk spliced in from another archive (same key, same id) is refused too.
  ASSERT_TRUE(WriteArchive(dir_ + "/b.cbk", Content(2 * (1 << 20) + 5000), *kms_).ok());
  const std::string other = ReadAll(dir_ + "/b.cbk");
  expect_code(good.substr(0, header_end + chunk) + other.substr(header_end + chunk, chunk) +
                  good.substr(header_end + 2 * chunk),
              "backup_corrupt", "a chunk from another archive");
  expect_code("not a backup at all", "not_a_backup", "another file");
  // Another master key: said plainly, before any byte is read.
  auto other_kms = NewKms('z');
  auto wrong = ReadArchive(path, *other_kms);
  EXPECT_EQ(wrong.status().machine_code(), "backup_master_key_mismatch");
}

// covers: DSR-05, SEC-02
TEST_F(BackupTest, TheDataFileHoldsNoKeyAndTheKeysFileHoldsThemAll) {
  Populate(*live_);
  auto set = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->tenant_keys, 2);
  EXPECT_EQ(set->subject_keys, 3);
  EXPECT_EQ(set->erasures, 1);
  EXPECT_TRUE(Contains(set->data_file, set->backup_id + ".data.cbk"));
  // Nothing but the two archives is left in the directory (no snapshot).
  int files = 0;
  for (const std::string& name : {set->data_file, set->keys_file}) files += ::access(name.c_str(), F_OK) == 0 ? 1 : 0;
  EXPECT_EQ(files, 2);
  EXPECT_EQ(std::system(("test $(ls -A '" + dir_ + "/backups' | wc -l) -eq 2").c_str()), 0);

  auto data = VerifyArchive(set->data_file, *kms_, dir_ + "/scratch", nullptr);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_TRUE(data->database_intact);
  auto keys = VerifyArchive(set->keys_file, *kms_, dir_ + "/scratch", nullptr);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->tenant_keys, 2);
  EXPECT_EQ(keys->subject_keys, 3);
  EXPECT_EQ(keys->erasures, 1);

  // The database inside the data archive has no key of any kind, and its
  // free pages were zeroed: not one wrapped key's bytes are in it.
  ASSERT_TRUE(ReadArchive(set->data_file, *kms_).ok());
  std::string plain = *ReadArchive(set->data_file, *kms_);
  EXPECT_TRUE(Contains(plain, "SQLite format 3"));
  for (const char* secret : {"WRAPPED-PEPPER", "WRAPPED-CONTENT", "WRAPPED-DEK"}) {
    EXPECT_FALSE(Contains(plain, secret)) << secret;
  }
  std::string key_rows = *ReadArchive(set->keys_file, *kms_);
  EXPECT_TRUE(Contains(key_rows, HexEncode("WRAPPED-DEK-sub_1")));
  EXPECT_TRUE(Contains(key_rows, R"("subject":"sub_3","generation":1,"wrapped":null)"));
}

// covers: F-18, RET-08, DSR-05
TEST_F(BackupTest, ARestoreTakesTheLiveKeysAndJournalsEveryLaterErasure) {
  Populate(*live_);
  auto set = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  // After the backup: sub_1 is erased (its key destroyed), one erasure is
  // still pending, and a tenant is created that the backup does not know.
  ASSERT_TRUE(live_->vault().DestroySubjectKey("ten_a", "sub_1", 30).ok());
  ASSERT_TRUE(live_->vault()
                  .InsertErasure(ErasureRecord{"era_1", "ten_a", "sub_1", "done", "operator:cli", 30, 31, "{}"})
                  .ok());
  ASSERT_TRUE(live_->vault()
                  .InsertErasure(ErasureRecord{"era_2", "ten_a", "sub_2", "requested", "operator:cli", 32, 32, "{}"})
                  .ok());
  ASSERT_TRUE(live_->tenants().Create(Tenant{"ten_b", "later", 40, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(live_->tenant_keys().InsertTenantKey("ten_b", "content", "WRAPPED-B").ok());

  RestorePlan plan;
  plan.data_archive = set->data_file;
  plan.live = live_.get();
  plan.target_path = dir_ + "/restored.db";
  auto prepared = PrepareRestore(plan, *kms_, nullptr);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->key_source, "live");
  EXPECT_EQ(prepared->erasures_to_replay, 2);
  EXPECT_EQ(prepared->skipped_rows, 1);  // ten_b's key: its tenant is not in the backup
  auto restored = OpenStore(plan.target_path);
  // The live key store's view wins: sub_1's key is gone, whatever the backup held.
  auto sub1 = restored->vault().GetSubjectKey("ten_a", "sub_1");
  ASSERT_TRUE(sub1.ok() && sub1->has_value());
  EXPECT_FALSE((*sub1)->wrapped.has_value());
  auto sub2 = restored->vault().GetSubjectKey("ten_a", "sub_2");
  ASSERT_TRUE(sub2.ok() && sub2->has_value());
  EXPECT_EQ((*sub2)->wrapped, "WRAPPED-DEK-sub_2");
  EXPECT_EQ(*restored->tenant_keys().TenantKey("ten_a", "content"), "WRAPPED-CONTENT-BYTES");
  // Both later erasures wait in the journal, to be carried out again from
  // the start before serving.
  auto pending = restored->vault().PendingErasures();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, "era_1");
  EXPECT_EQ((*pending)[0].step, "requested");
  EXPECT_EQ((*pending)[1].id, "era_2");
  EXPECT_EQ((*pending)[1].step, "requested");
  EXPECT_EQ(restored->vault().GetErasure("ten_a", "era_3")->step, "done");  // the backup knew it
}

// covers: F-18, OPS-01
TEST_F(BackupTest, WithoutTheLiveDatabaseTheKeysArchiveIsTheSource) {
  Populate(*live_);
  auto set = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  RestorePlan plan;
  plan.data_archive = set->data_file;
  plan.target_path = dir_ + "/restored.db";
  auto missing = PrepareRestore(plan, *kms_, nullptr);
  EXPECT_EQ(missing.status().machine_code(), "backup_keys_missing");
  EXPECT_NE(::access(plan.target_path.c_str(), F_OK), 0);

  plan.keys_archive = set->data_file;  // the wrong file of the pair
  EXPECT_EQ(PrepareRestore(plan, *kms_, nullptr).status().machine_code(), "wrong_backup_kind");
  plan.keys_archive = set->keys_file;
  auto prepared = PrepareRestore(plan, *kms_, nullptr);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->subject_keys, 3);
  EXPECT_EQ(prepared->tenant_keys, 2);
  EXPECT_EQ(prepared->erasures_to_replay, 0);
  auto restored = OpenStore(plan.target_path);
  EXPECT_EQ((*restored->vault().GetSubjectKey("ten_a", "sub_1"))->wrapped, "WRAPPED-DEK-sub_1");
  EXPECT_FALSE((*restored->vault().GetSubjectKey("ten_a", "sub_3"))->wrapped.has_value());
  EXPECT_TRUE(restored->CheckIntegrity().ok());
}

// covers: F-18, RET-08
TEST_F(BackupTest, TheJournalCopyReplaysErasuresTheKeysArchiveDoesNotKnow) {
  Populate(*live_);
  auto set = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const std::string copy_dir = dir_ + "/beside";
  EXPECT_TRUE(ReadErasureJournalCopy(copy_dir)->empty());  // none yet: not an error
  ErasureRecord later{"era_9", "ten_a", "sub_1", "key_destroyed", "operator:cli", 50, 51, "{}"};
  ASSERT_TRUE(AppendErasureJournalCopy(copy_dir, later).ok());
  ASSERT_TRUE(AppendErasureJournalCopy(copy_dir, later).ok());  // a retried step appends again
  {
    std::ofstream torn(ErasureJournalCopyPath(copy_dir), std::ios::app);
    torn << R"({"erasure":{"id":"era_torn")";  // a crash mid-append: never acknowledged
  }
  int64_t damaged = -1;
  EXPECT_EQ(ReadErasureJournalCopy(copy_dir, &damaged)->size(), 2u);  // the torn tail is not a line yet
  EXPECT_EQ(damaged, 0);
  // The retried append starts on a line of its own; the torn one is skipped and counted.
  ASSERT_TRUE(AppendErasureJournalCopy(copy_dir, later).ok());
  auto copy = ReadErasureJournalCopy(copy_dir, &damaged);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  ASSERT_EQ(copy->size(), 3u);
  EXPECT_EQ(damaged, 1);
  EXPECT_EQ((*copy)[0].id, "era_9");
  struct stat st {};
  ASSERT_EQ(::stat(ErasureJournalCopyPath(copy_dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The database is lost; the keys archive predates the erasure and still
  // holds sub_1's key: the copy puts the erasure back in the journal.
  RestorePlan plan;
  plan.data_archive = set->data_file;
  plan.keys_archive = set->keys_file;
  plan.journal_copy = *copy;
  plan.target_path = dir_ + "/restored.db";
  auto prepared = PrepareRestore(plan, *kms_, nullptr);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->erasures_to_replay, 1);
  auto restored = OpenStore(plan.target_path);
  auto pending = restored->vault().PendingErasures();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].subject, "sub_1");
  EXPECT_EQ((*pending)[0].step, "requested");  // the key goes first, then the data
}

// covers: RET-08, DSR-05
TEST_F(BackupTest, PruneDeletesBothFilesOfEveryBackupPastTheHorizon) {
  const std::string backups = dir_ + "/backups";
  ASSERT_EQ(::mkdir(backups.c_str(), 0700), 0);
  auto write = [&](const std::string& name, const std::string& kind, int64_t at) {
    ArchiveHeader h;
    h.kind = kind;
    h.backup_id = name == "old" ? "bk_00000000000000aa" : "bk_00000000000000bb";
    h.created_at_ms = at;
    h.content_bytes = 1;
    auto w = ArchiveWriter::Create(backups + "/" + name + "." + kind + ".cbk", h, *kms_, random_);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("x").ok());
    ASSERT_TRUE((*w)->Finish().ok());
  };
  const int64_t day = 86'400'000;
  write("old", "data", 10 * day);
  write("old", "keys", 10 * day);
  write("new", "data", 50 * day);
  write("new", "keys", 50 * day);
  WriteAll(backups + "/notes.cbk", "not a backup");  // never touched
  WriteAll(ErasureJournalCopyPath(backups), "");       // never touched
  auto listed = ListBackupFiles(backups);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ(listed->front().header.created_at_ms, 10 * day);
  auto deleted = PruneBackupFiles(backups, 50 * day - 35 * day);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, (std::vector<std::string>{"old.data.cbk", "old.keys.cbk"}));
  EXPECT_EQ(ListBackupFiles(backups)->size(), 2u);
  EXPECT_EQ(::access((backups + "/notes.cbk").c_str(), F_OK), 0);
  EXPECT_EQ(::access(ErasureJournalCopyPath(backups).c_str(), F_OK), 0);
  EXPECT_TRUE(ListBackupFiles(dir_ + "/absent")->empty());
}

// covers: F-18, OPS-01
TEST_F(BackupTest, AKeySourceThatCannotServeTheBackupIsRefused) {
  Populate(*live_);
  Channel ch;
  ch.id = "chn_000000000000000000000001";
  ch.tenant_id = "ten_a";
  ch.phone_number_id = "100000000000002";
  ch.waba_id = "1";
  ch.access_token_sealed = ch.app_secret_sealed = ch.verify_token_sealed = "sealed";
  ASSERT_TRUE(live_->channels().InsertChannel(ch).ok());
  auto older = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(older.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a later creation time
  auto newer = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(newer.ok());
  RestorePlan plan;
  plan.data_archive = newer->data_file;
  plan.keys_archive = older->keys_file;
  plan.target_path = dir_ + "/restored.db";
  EXPECT_EQ(PrepareRestore(plan, *kms_, nullptr).status().machine_code(), "backup_keys_too_old");
  // A "live" database that opens but never held this tenant's keys: its
  // channel's secrets would be lost and fresh keys made on first use.
  auto empty = OpenStore(dir_ + "/other.db");
  plan.keys_archive.reset();
  plan.live = empty.get();
  EXPECT_EQ(PrepareRestore(plan, *kms_, nullptr).status().machine_code(), "backup_keys_missing");
  EXPECT_NE(::access(plan.target_path.c_str(), F_OK), 0);
  // The same or a later keys archive is fine.
  plan.live = nullptr;
  plan.keys_archive = newer->keys_file;
  EXPECT_TRUE(PrepareRestore(plan, *kms_, nullptr).ok());
}

// covers: SEC-02
TEST_F(BackupTest, AKeysArchiveFromAnotherMasterKeyOrDamagedIsRefused) {
  Populate(*live_);
  auto set = CreateBackup(*live_, *kms_, random_, clock_, dir_ + "/backups", nullptr);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto other = NewKms('q');
  EXPECT_EQ(VerifyArchive(set->keys_file, *other, dir_ + "/scratch", nullptr).status().machine_code(),
            "backup_master_key_mismatch");
  std::string bytes = ReadAll(set->keys_file);
  bytes[bytes.size() - 20] ^= 0x40;
  WriteAll(set->keys_file, bytes);
  EXPECT_EQ(VerifyArchive(set->keys_file, *kms_, dir_ + "/scratch", nullptr).status().machine_code(),
            "backup_corrupt");
  RestorePlan plan;
  plan.data_archive = set->data_file;
  plan.keys_archive = set->keys_file;
  plan.target_path = dir_ + "/restored.db";
  EXPECT_EQ(PrepareRestore(plan, *kms_, nullptr).status().machine_code(), "backup_corrupt");
  // A failed restore leaves nothing behind.
  EXPECT_NE(::access(plan.target_path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace cs
