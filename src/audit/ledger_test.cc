#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "audit/audit.h"
#include "common/strings.h"

namespace cs {
namespace {

class AuditLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/consentry_audit_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = dir_ + "/db";
    store_ = std::move(OpenSqliteStore({db_, 5000, true, 2})).value();
    ASSERT_TRUE(store_->Migrate().ok());
    auto signer = AuditSigner::LoadOrCreate(dir_ + "/signing.pem");
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = std::move(signer).value();
  }

  void AppendN(int n, const std::string& tenant = "ten_a") {
    std::vector<AuditEvent> events;
    for (int i = 0; i < n; ++i) {
      AuditEvent e;
      e.tenant_id = tenant;
      e.actor = {"integration", "key_1", "api", "req_" + std::to_string(i)};
      e.action = "apikey.read";
      e.resource = "apikey:key_" + std::to_string(i);
      events.push_back(e);
    }
    ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), events); }).ok());
  }

  void Seal() {
    auto head = SealLedger(*store_, *signer_, clock_);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
  }

  AuditVerifyReport Verify(std::vector<TreeHead> anchored = {}) {
    auto report = VerifyStoredLedger(*store_, signer_->public_key(), std::move(anchored));
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : AuditVerifyReport{};
  }

  // Tampers directly in the database, as an attacker with file access would.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    std::string all = "DROP TRIGGER IF EXISTS audit_entries_append_only_update;"
                      "DROP TRIGGER IF EXISTS audit_entries_append_only_delete;"
                      "DROP TRIGGER IF EXISTS audit_heads_append_only_delete;" + sql;
    EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_, db_;
  FakeClock clock_{1'700'000'000'000};
  AuditLedger ledger_{clock_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditSigner> signer_;
};

// covers: AUD-02
TEST_F(AuditLedgerTest, AnIntactLedgerVerifies) {
  AppendN(10);
  Seal();
  AppendN(5);
  Seal();
  AppendN(3);  // not yet sealed: still verified by the chain
  AuditVerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 18);
  EXPECT_EQ(r.tree_heads, 2);
}

TEST_F(AuditLedgerTest, EntriesChainAndCarryNoGaps) {
  AppendN(3);
  auto entries = store_->audit().Query({});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].seq, 1);
  EXPECT_EQ((*entries)[0].prev_hash, std::string(32, '\0'));
  EXPECT_EQ((*entries)[1].prev_hash, (*entries)[0].entry_hash);
  EXPECT_EQ((*entries)[2].entry_hash, ComputeEntryHash((*entries)[2]));
}

// covers: AUD-08
TEST_F(AuditLedgerTest, TheDatabaseRefusesUpdatesAndDeletes) {
  AppendN(2);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_entries SET action = 'x' WHERE seq = 1", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_entries WHERE seq = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE(Verify().ok);
}

// covers: AUD-02
TEST_F(AuditLedgerTest, AModifiedEntryIsFoundAtItsSequenceNumber) {
  AppendN(10);
  Seal();
  // Edit the record itself (the outcome "success" becomes "denied!").
  Sql("UPDATE audit_entries SET record = CAST(replace(record, CAST('success' AS BLOB), CAST('denied!' AS BLOB)) AS BLOB)"
      " WHERE seq = 4");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_NE(r.problem.find("does not match its hash"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, AnAlteredSearchColumnIsFound) {
  AppendN(5);
  // Moving an entry to another tenant in the search columns would hide it from that tenant's searches.
  Sql("UPDATE audit_entries SET tenant_id = 'ten_other' WHERE seq = 2");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
  EXPECT_NE(r.problem.find("search columns"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, ADeletedEntryIsFound) {
  AppendN(10);
  Sql("DELETE FROM audit_entries WHERE seq = 6");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, ReorderedEntriesAreFound) {
  AppendN(10);
  // Swap the contents of entries 3 and 7, keeping the sequence numbers.
  Sql("UPDATE audit_entries SET seq = -3 WHERE seq = 3; UPDATE audit_entries SET seq = 3 WHERE seq = 7;"
      "UPDATE audit_entries SET seq = 7 WHERE seq = -3;");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(AuditLedgerTest, AnInsertedEntryIsFound) {
  AppendN(6);
  // Shift entries 4.. up by one and insert a forged entry at 4, reusing a real hash.
  Sql("UPDATE audit_entries SET seq = seq + 100 WHERE seq >= 4; UPDATE audit_entries SET seq = seq - 99 WHERE seq >= 100;"
      "INSERT INTO audit_entries SELECT 4, ts_ms, tenant_id, actor_id, action, subject, record, entry_hash"
      " FROM audit_entries WHERE seq = 3;");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
}

TEST_F(AuditLedgerTest, ARewrittenHistoryFailsAgainstTheSignedHead) {
  AppendN(5);
  Seal();
  // Rewrite entry 2 and recompute every later hash consistently: the chain
  // checks out, but the signed head does not.
  auto all = store_->audit().Query({});
  std::vector<AuditRecord> entries = *all;
  entries[1].outcome = "forged";
  for (size_t i = 1; i < entries.size(); ++i) {
    entries[i].prev_hash = entries[i - 1].entry_hash;
    entries[i].entry_hash = ComputeEntryHash(entries[i]);
  }
  std::string sql = "DELETE FROM audit_entries WHERE seq >= 2;";
  Sql(sql);
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) {
    for (size_t i = 1; i < entries.size(); ++i) CS_RETURN_IF_ERROR(tx.audit().Insert(entries[i]));
    return Status::Ok();
  }).ok());
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
  EXPECT_NE(r.problem.find("signed tree head"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, TruncationIsFoundThroughTheHeads) {
  AppendN(8);
  Seal();
  Sql("DELETE FROM audit_entries WHERE seq >= 7");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 7);
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

TEST_F(AuditLedgerTest, TruncationWithTheHeadsDeletedIsFoundThroughTheAnchoredHeads) {
  AppendN(8);
  auto head = SealLedger(*store_, *signer_, clock_);
  ASSERT_TRUE(head.ok() && head->has_value());
  std::string heads_file = dir_ + "/heads.jsonl";
  ASSERT_TRUE(AppendHeadToFile(heads_file, **head).ok());
  Sql("DELETE FROM audit_entries WHERE seq >= 5; DELETE FROM audit_tree_heads;");
  EXPECT_TRUE(Verify().ok);  // the database alone cannot tell
  auto anchored = ReadHeadsFile(heads_file);
  ASSERT_TRUE(anchored.ok());
  AuditVerifyReport r = Verify(*anchored);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
}

TEST_F(AuditLedgerTest, AForgedHeadSignatureIsFound) {
  AppendN(4);
  Seal();
  Sql("DROP TRIGGER IF EXISTS audit_heads_append_only_update; UPDATE audit_tree_heads SET ts_ms = ts_ms + 1");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("signature"), std::string::npos);
}

TEST_F(AuditLedgerTest, ProofsVerifyAgainstSignedHeads) {
  AppendN(7);
  Seal();
  AppendN(6);
  Seal();
  auto inclusion = ProveInclusion(*store_, 5, 0);
  ASSERT_TRUE(inclusion.ok()) << inclusion.status().ToString();
  EXPECT_EQ(inclusion->tree_size, 13);
  EXPECT_TRUE(merkle::VerifyInclusion(ComputeEntryHash(inclusion->entry), 4, 13, inclusion->path,
                                      inclusion->head.root_hash));
  EXPECT_TRUE(signer_->public_key().Verify(
      SignedTreeHeadBytes(inclusion->head.tree_size, inclusion->head.ts_ms, inclusion->head.root_hash),
      inclusion->head.signature));
  auto consistency = ProveConsistency(*store_, 7, 13);
  ASSERT_TRUE(consistency.ok()) << consistency.status().ToString();
  EXPECT_TRUE(merkle::VerifyConsistency(7, 13, consistency->old_head.root_hash, consistency->new_head.root_hash,
                                        consistency->path));
  EXPECT_EQ(ProveInclusion(*store_, 14, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ProveConsistency(*store_, 5, 13).status().code(), StatusCode::kNotFound);
}

// covers: AUD-02 (proofs from stored Merkle nodes match proofs from every leaf)
TEST_F(AuditLedgerTest, ProofsFromStoredNodesMatchProofsFromTheLeaves) {
  // Sizes that leave partial subtrees at every level: 256-leaf chunks, a
  // 1024 subtree, and a ragged right edge.
  AppendN(1100);
  Seal();
  AppendN(1500);
  Seal();
  const int64_t size = 2600;
  auto leaves = store_->audit().EntryHashes(1, size);
  ASSERT_TRUE(leaves.ok());
  // 10 complete chunks of 256 leaves, their parents up to 2048 leaves.
  EXPECT_EQ(store_->audit().CountMerkleNodes(8).value(), 10);
  EXPECT_EQ(store_->audit().CountMerkleNodes(9).value(), 5);
  EXPECT_EQ(store_->audit().CountMerkleNodes(11).value(), 1);
  auto head = store_->audit().LatestTreeHead();
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ(merkle::RootOf(*leaves), (*head)->root_hash);
  for (int64_t seq : {1, 2, 255, 256, 257, 1024, 1025, 2048, 2049, 2599, 2600}) {
    auto proof = ProveInclusion(*store_, seq, size);
    ASSERT_TRUE(proof.ok()) << seq << proof.status().ToString();
    EXPECT_EQ(proof->path, merkle::InclusionProof(*leaves, static_cast<size_t>(seq - 1))) << seq;
    EXPECT_TRUE(merkle::VerifyInclusion((*leaves)[seq - 1], seq - 1, size, proof->path, (*head)->root_hash)) << seq;
  }
  auto consistency = ProveConsistency(*store_, 1100, size);
  ASSERT_TRUE(consistency.ok()) << consistency.status().ToString();
  EXPECT_EQ(consistency->path, merkle::ConsistencyProof(*leaves, 1100));
  EXPECT_TRUE(merkle::VerifyConsistency(1100, size, consistency->old_head.root_hash, (*head)->root_hash,
                                        consistency->path));
  // A tampered node forges nothing: the proof made with it fails against the
  // signed root, so it is rebuilt from the leaves and still verifies.
  Sql("UPDATE audit_merkle_nodes SET hash = zeroblob(32) WHERE level = 10 AND idx = 0;");  // on 2000's path
  auto stored = store_->audit().GetMerkleNode(10, 0);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ(**stored, std::string(32, '\0'));
  auto rebuilt = ProveInclusion(*store_, 2000, size);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->path, merkle::InclusionProof(*leaves, 1999));
  auto rebuilt_consistency = ProveConsistency(*store_, 1100, size);
  ASSERT_TRUE(rebuilt_consistency.ok());
  EXPECT_EQ(rebuilt_consistency->path, merkle::ConsistencyProof(*leaves, 1100));
}

TEST_F(AuditLedgerTest, AnExportVerifiesOfflineAndTamperingIsFound) {
  AppendN(6);
  Seal();
  std::ostringstream out;
  auto heads = store_->audit().TreeHeads();
  for (const auto& h : *heads) out << LedgerExportLine(h) << "\n";
  ASSERT_TRUE(store_->audit().Scan(1, [&](const AuditRecord& r) {
    out << LedgerExportLine(r) << "\n";
    return true;
  }).ok());
  auto key = AuditPublicKey::FromPem(signer_->public_key().pem());
  ASSERT_TRUE(key.ok());
  std::istringstream good(out.str());
  auto report = VerifyExportedLedger(good, *key);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 6);
  std::string tampered = out.str();
  size_t at = tampered.find("\"seq\":3,");
  ASSERT_NE(at, std::string::npos);
  size_t outcome = tampered.find("\"outcome\":\"success\"", at);
  tampered.replace(outcome, 19, "\"outcome\":\"denied!\"");
  std::istringstream bad(tampered);
  report = VerifyExportedLedger(bad, *key);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_seq, 3);
}

TEST_F(AuditLedgerTest, TheWriterBatchesManyThreadsWithoutLoss) {
  AuditWriterOptions options;
  options.seal_every_entries = 500;
  {
    AuditWriter writer(*store_, ledger_, *signer_, clock_, options, dir_ + "/heads.jsonl");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < 500; ++i) {
          AuditEvent e;
          e.tenant_id = "ten_" + std::to_string(t);
          e.actor = AuditActor::System();
          e.action = "auth.failure";
          ASSERT_TRUE(writer.Record(e).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(writer.Flush().ok());
  }
  AuditVerifyReport r = Verify(*ReadHeadsFile(dir_ + "/heads.jsonl"));
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 2000);
  EXPECT_GE(r.tree_heads, 1);
  auto latest = store_->audit().LatestTreeHead();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->tree_size, 2000);  // sealed on stop
}

TEST_F(AuditLedgerTest, QueriesFilterByTenantSubjectAndAction) {
  AppendN(3, "ten_a");
  AppendN(2, "ten_b");
  AuditEvent e;
  e.tenant_id = "ten_a";
  e.actor = AuditActor::System();
  e.action = "subject.read";
  e.subject = "sub_1";
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), e); }).ok());
  AuditQuery q;
  q.tenant_id = "ten_b";
  EXPECT_EQ(store_->audit().Query(q)->size(), 2u);
  q.tenant_id = "ten_a";
  q.subject = "sub_1";
  EXPECT_EQ(store_->audit().Query(q)->size(), 1u);
  q.subject.reset();
  q.action = "apikey.read";
  q.limit = 2;
  auto page = store_->audit().Query(q);
  ASSERT_EQ(page->size(), 2u);
  q.after_seq = page->back().seq;
  EXPECT_EQ(store_->audit().Query(q)->size(), 1u);
}

// covers: AUD-06
TEST_F(AuditLedgerTest, ArchivedSegmentsVerifyAndTheRestContinuesFromTheCheckpoint) {
  auto retention = [](const std::string& tenant) -> int64_t { return tenant == "ten_long" ? 3650 : 2192; };
  AppendN(6, "ten_a");
  AppendN(2, "ten_long");
  Seal();  // head of size 8
  AppendN(4, "ten_a");
  Seal();  // head of size 12
  const AuditActor operator_actor{"operator", "cli:test", "cli", ""};
  EXPECT_EQ(ArchiveLedger(*store_, signer_->public_key(), ledger_, operator_actor, 7, dir_ + "/x.jsonl", retention,
                          clock_).status().machine_code(), "not_sealed");
  auto first = ArchiveLedger(*store_, signer_->public_key(), ledger_, operator_actor, 8, dir_ + "/seg1.jsonl",
                             retention, clock_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->retain_until_ms, clock_.NowUnixMillis() + 3650LL * 86'400'000);  // the longest tenant retention
  EXPECT_EQ(store_->audit().Query({})->front().seq, 9);  // 1..8 left the database
  AuditVerifyReport after = Verify();
  EXPECT_TRUE(after.ok) << after.problem;
  EXPECT_EQ(after.archived, 8);
  EXPECT_EQ(after.entries, 5);  // 9..12 and the audit.archive entry
  // Proofs still work for live entries; archived ones are proven from their segment.
  auto proof = ProveInclusion(*store_, 10, 12);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(merkle::VerifyInclusion(proof->entry.entry_hash, 9, 12, proof->path, proof->head.root_hash));
  EXPECT_EQ(ProveInclusion(*store_, 3, 12).status().code(), StatusCode::kNotFound);
  // A second segment continues from the first checkpoint; both verify on their own.
  AppendN(3, "ten_a");
  Seal();
  auto latest = store_->audit().LatestTreeHead();
  auto second = ArchiveLedger(*store_, signer_->public_key(), ledger_, operator_actor, (*latest)->tree_size,
                              dir_ + "/seg2.jsonl", retention, clock_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  for (const char* segment : {"/seg1.jsonl", "/seg2.jsonl"}) {
    std::ifstream in(dir_ + segment);
    auto report = VerifyExportedLedger(in, signer_->public_key());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok) << segment << ": " << report->problem;
  }
  EXPECT_TRUE(Verify().ok);
  // The hashes kept for archived entries are checked against the checkpoint…
  Sql("DROP TRIGGER audit_archived_no_update; UPDATE audit_archived_hashes SET entry_hash = zeroblob(32) WHERE seq = 2");
  EXPECT_FALSE(Verify().ok);
}

TEST_F(AuditLedgerTest, AForgedCheckpointIsFoundThroughItsSignedHead) {
  AppendN(6);
  Seal();
  ASSERT_TRUE(ArchiveLedger(*store_, signer_->public_key(), ledger_, AuditActor::System(), 6, dir_ + "/s.jsonl",
                            [](const std::string&) -> int64_t { return 2192; }, clock_)
                  .ok());
  ASSERT_TRUE(Verify().ok);
  // Rewrite the archived hashes and the checkpoint consistently: only the signed head can tell.
  std::vector<std::string> fake;
  merkle::Frontier frontier;
  for (int i = 0; i < 6; ++i) {
    fake.push_back(merkle::LeafHash("forged " + std::to_string(i)));
    frontier.Append(fake.back());
  }
  std::string sql = "DROP TRIGGER audit_archived_no_update; DROP TRIGGER audit_checkpoints_no_update;";
  for (int i = 0; i < 6; ++i) {
    sql += "UPDATE audit_archived_hashes SET entry_hash = X'" + HexEncode(fake[static_cast<size_t>(i)]) +
           "' WHERE seq = " + std::to_string(i + 1) + ";";
  }
  sql += "UPDATE audit_checkpoints SET frontier = X'" + HexEncode(frontier.Serialize()) + "', last_hash = X'" +
         HexEncode(fake.back()) + "';";
  Sql(sql);
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
}

TEST_F(AuditLedgerTest, AnExportWithAnUnsignedTailDoesNotVerify) {
  AppendN(3);
  Seal();
  AppendN(2);  // not sealed
  std::ostringstream out;
  auto heads = store_->audit().TreeHeads();
  ASSERT_TRUE(heads.ok());
  for (const auto& h : *heads) out << LedgerExportLine(h) << "\n";
  ASSERT_TRUE(store_->audit().Scan(1, [&](const AuditRecord& r) {
    out << LedgerExportLine(r) << "\n";
    return true;
  }).ok());
  std::istringstream in(out.str());
  auto report = VerifyExportedLedger(in, signer_->public_key());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_seq, 4);
  EXPECT_NE(report->problem.find("not covered by a signature"), std::string::npos);
  EXPECT_EQ(Verify().unsealed, 2);  // the live ledger between seals is fine
}

TEST_F(AuditLedgerTest, SyslogValuesCannotStartANewRecord) {
  AuditRecord r;
  r.seq = 1;
  r.action = "audit.search";
  r.subject = "x\n<85>1 2026-01-01T00:00:00Z forged";
  std::string line = AuditRecordSyslog(r, "gw");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("subject=\"x?<85>1"), std::string::npos) << line;
}

// A store whose first write transactions fail, to exercise the writer's retry.
class FlakyStore final : public Store {
 public:
  FlakyStore(Store& real, int failures) : real_(real), failures_(failures) {}
  TenantRepository& tenants() override { return real_.tenants(); }
  ApiKeyRepository& api_keys() override { return real_.api_keys(); }
  AuditRepository& audit() override { return real_.audit(); }
  MessagingRepository& messaging() override { return real_.messaging(); }
  ConsentRepository& consents() override { return real_.consents(); }
  VaultRepository& vault() override { return real_.vault(); }
  Status InTransaction(const std::function<Status(StoreTransaction&)>& body) override {
    if (failures_ > 0) {
      --failures_;
      return Unavailable("storage_unavailable", "simulated lock timeout");
    }
    return real_.InTransaction(body);
  }
  Status Ping() override { return real_.Ping(); }
  Status Checkpoint() override { return real_.Checkpoint(); }
  Status SnapshotTo(const std::string& path) override { return real_.SnapshotTo(path); }
  Status CheckIntegrity() override { return real_.CheckIntegrity(); }
  Result<MigrationStatus> GetMigrationStatus() override { return real_.GetMigrationStatus(); }
  Result<MigrationStatus> Migrate() override { return real_.Migrate(); }

 private:
  Store& real_;
  std::atomic<int> failures_;
};

TEST_F(AuditLedgerTest, TheWriterRetriesAFailedBatchIntact) {
  FlakyStore flaky(*store_, 2);
  std::vector<Status> errors;
  AuditWriterOptions options;
  options.on_error = [&errors](const Status& s) { errors.push_back(s); };
  {
    AuditWriter writer(flaky, ledger_, *signer_, clock_, options, "");
    for (int i = 0; i < 5; ++i) {
      AuditEvent e;
      e.tenant_id = "ten_a";
      e.actor = AuditActor::System();
      e.action = "event." + std::to_string(i);
      ASSERT_TRUE(writer.Record(e).ok());
    }
    ASSERT_TRUE(writer.Flush().ok());
  }
  EXPECT_GE(errors.size(), 1u);
  auto entries = store_->audit().Query({});
  ASSERT_EQ(entries->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*entries)[static_cast<size_t>(i)].action, "event." + std::to_string(i));
}

TEST_F(AuditLedgerTest, ArchivingATamperedLedgerIsRefused) {
  AppendN(4);
  Seal();
  Sql("UPDATE audit_entries SET action = 'x' WHERE seq = 2");
  auto r = ArchiveLedger(*store_, signer_->public_key(), ledger_, AuditActor::System(), 4, dir_ + "/s.jsonl",
                         [](const std::string&) -> int64_t { return 2192; }, clock_);
  EXPECT_EQ(r.status().machine_code(), "ledger_damaged");
  EXPECT_EQ(store_->audit().Query({})->size(), 4u);  // nothing moved
}

TEST_F(AuditLedgerTest, ASigningKeyReadableByOthersIsRefused) {
  std::string path = dir_ + "/loose.pem";
  ASSERT_TRUE(AuditSigner::LoadOrCreate(path).ok());
  chmod(path.c_str(), 0644);
  EXPECT_EQ(AuditSigner::LoadOrCreate(path).status().machine_code(), "insecure_key_file");
}

}  // namespace
}  // namespace cs
