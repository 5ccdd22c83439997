#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <thread>

#include "audit/audit.h"
#include "common/strings.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_store.h"

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

  static AuditEvent Event(int i, const std::string& tenant) {
    AuditEvent e;
    e.tenant_id = tenant;
    e.actor = {"integration", "key_1", "api", "req_" + std::to_string(i)};
    e.action = "apikey.read";
    e.subject = "sub_" + std::to_string(i % 3);
    e.resource = "apikey:key_" + std::to_string(i);
    return e;
  }

  // Appends `n` entries in one transaction: one stored block.
  void AppendN(int n, const std::string& tenant = "ten_a") {
    std::vector<AuditEvent> events;
    for (int i = 0; i < n; ++i) events.push_back(Event(i, tenant));
    ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), events); }).ok());
  }

  // The whole ledger in the export format (`audit export --format ledger`):
  // every tree head, then every entry.
  std::string ExportText() {
    std::ostringstream out;
    auto heads = store_->audit().TreeHeads();
    EXPECT_TRUE(heads.ok());
    if (heads.ok()) {
      for (const auto& h : *heads) out << LedgerExportLine(h) << "\n";
    }
    EXPECT_TRUE(store_->audit().Scan(1, [&](const AuditRecord& r) {
      out << LedgerExportLine(r) << "\n";
      return true;
    }).ok());
    return out.str();
  }

  // Appends `n` entries one transaction each: block i holds entry i, so
  // tampering SQL can address entries by their block.
  void AppendEach(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), Event(i, "ten_a")); })
                      .ok());
    }
  }

  // Rewrites the bytes of the block starting at `first_seq` in place, as an
  // attacker with file access could.
  void RewriteBlock(int64_t first_seq, const std::function<void(std::string& records, std::string& hashes)>& edit) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "DROP TRIGGER IF EXISTS audit_blocks_append_only_update", nullptr, nullptr, nullptr);
    sqlite3_stmt* read = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT records, hashes FROM audit_blocks WHERE first_seq = ?", -1, &read, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(read, 1, first_seq);
    ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);
    std::string records(static_cast<const char*>(sqlite3_column_blob(read, 0)), static_cast<size_t>(sqlite3_column_bytes(read, 0)));
    std::string hashes(static_cast<const char*>(sqlite3_column_blob(read, 1)), static_cast<size_t>(sqlite3_column_bytes(read, 1)));
    sqlite3_finalize(read);
    edit(records, hashes);
    // last_seq follows the hashes, as the table's CHECK demands.
    sqlite3_stmt* write = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE audit_blocks SET records = ?, hashes = ?, last_seq = ? WHERE first_seq = ?",
                                 -1, &write, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(write, 1, records.data(), static_cast<int>(records.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(write, 2, hashes.data(), static_cast<int>(hashes.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(write, 3, first_seq + static_cast<int64_t>(hashes.size() / 32) - 1);
    sqlite3_bind_int64(write, 4, first_seq);
    EXPECT_EQ(sqlite3_step(write), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(write);
    sqlite3_close(db);
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
    std::string all = "DROP TRIGGER IF EXISTS audit_blocks_append_only_update;"
                      "DROP TRIGGER IF EXISTS audit_blocks_append_only_delete;"
                      "DROP TRIGGER IF EXISTS audit_blocks_contiguous;"
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
  AppendEach(2);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_blocks SET records = X'00' WHERE first_seq = 1", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_blocks WHERE first_seq = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE(Verify().ok);
}

// covers: AUD-02
TEST_F(AuditLedgerTest, AModifiedEntryIsFoundAtItsSequenceNumber) {
  AppendEach(10);
  Seal();
  // Edit the record itself (the outcome "success" becomes "denied!").
  Sql("UPDATE audit_blocks SET records = CAST(replace(records, CAST('success' AS BLOB), CAST('denied!' AS BLOB)) AS BLOB)"
      " WHERE first_seq = 4");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_NE(r.problem.find("does not match its hash"), std::string::npos) << r.problem;
}

// covers: AUD-02
TEST_F(AuditLedgerTest, AModifiedEntryInsideABlockIsFoundAtItsSequenceNumber) {
  AppendN(10);  // one block, entries 1..10
  Seal();
  RewriteBlock(1, [](std::string& records, std::string&) {
    size_t at = records.find("apikey:key_3");  // entry 4's resource
    ASSERT_NE(at, std::string::npos);
    records.replace(at, 12, "apikey:key_X");
  });
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
  EXPECT_NE(r.problem.find("does not match its hash"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, ADeletedEntryIsFound) {
  AppendEach(10);
  Sql("DELETE FROM audit_blocks WHERE first_seq = 6");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, AnEntryCutOutOfABlockIsFound) {
  AppendN(10);
  RewriteBlock(1, [](std::string& records, std::string& hashes) {
    const size_t len = records.size() / 10;  // the ten records have the same length
    records.erase(5 * len, len);              // entry 6
    hashes.erase(5 * 32, 32);
  });
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6);
}

// A row wedged between blocks: refused by the database, and found by
// verification once the refusing trigger is dropped.
TEST_F(AuditLedgerTest, ABlockWedgedIntoTheLedgerIsRefusedAndFound) {
  AppendEach(2);
  AppendN(10);  // entries 3..12
  Seal();
  ASSERT_TRUE(IndexLedger(*store_).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "INSERT INTO audit_blocks SELECT 5, 5, records, hashes FROM audit_blocks WHERE first_seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_TRUE(Verify().ok);
  Sql("INSERT INTO audit_blocks SELECT 5, 5, records, hashes FROM audit_blocks WHERE first_seq = 1");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("out of order"), std::string::npos) << r.problem;
  // A block whose last_seq claims more entries than it holds is found too.
  Sql("DELETE FROM audit_blocks WHERE first_seq = 5");
  ASSERT_TRUE(Verify().ok);
  RewriteBlock(3, [](std::string&, std::string& hashes) { hashes.append(32, 'x'); });  // last_seq becomes 13
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 13);
}

TEST_F(AuditLedgerTest, ReorderedEntriesAreFound) {
  AppendEach(10);
  // Swap the blocks of entries 3 and 7, keeping the sequence numbers.
  Sql("UPDATE audit_blocks SET first_seq = -3, last_seq = -3 WHERE first_seq = 3;"
      "UPDATE audit_blocks SET first_seq = 3, last_seq = 3 WHERE first_seq = 7;"
      "UPDATE audit_blocks SET first_seq = 7, last_seq = 7 WHERE first_seq = -3;");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(AuditLedgerTest, EntriesReorderedInsideABlockAreFound) {
  AppendN(10);
  RewriteBlock(1, [](std::string& records, std::string& hashes) {
    const size_t len = records.size() / 10;
    std::string third = records.substr(2 * len, len), third_hash = hashes.substr(2 * 32, 32);
    records.replace(2 * len, len, records.substr(6 * len, len));
    records.replace(6 * len, len, third);
    hashes.replace(2 * 32, 32, hashes.substr(6 * 32, 32));
    hashes.replace(6 * 32, 32, third_hash);
  });
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(AuditLedgerTest, AnInsertedEntryIsFound) {
  AppendEach(6);
  // Shift entries 4.. up by one and insert a forged entry at 4, reusing a real record and hash.
  Sql("UPDATE audit_blocks SET first_seq = first_seq + 100, last_seq = last_seq + 100 WHERE first_seq >= 4;"
      "UPDATE audit_blocks SET first_seq = first_seq - 99, last_seq = last_seq - 99 WHERE first_seq >= 100;"
      "INSERT INTO audit_blocks SELECT 4, 4, records, hashes FROM audit_blocks WHERE first_seq = 3;");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4);
}

TEST_F(AuditLedgerTest, ARewrittenHistoryFailsAgainstTheSignedHead) {
  AppendEach(5);
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
  Sql("DELETE FROM audit_blocks WHERE first_seq >= 2;");
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) {
    return tx.audit().AppendBlock(std::vector<AuditRecord>(entries.begin() + 1, entries.end()));
  }).ok());
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
  EXPECT_NE(r.problem.find("signed tree head"), std::string::npos) << r.problem;
}

TEST_F(AuditLedgerTest, TruncationIsFoundThroughTheHeads) {
  AppendEach(8);
  Seal();
  Sql("DELETE FROM audit_blocks WHERE first_seq >= 7");
  AuditVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 7);
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

// The search index is checked against the entries it covers: a subject's
// access history cannot be made to miss an entry unnoticed.
TEST_F(AuditLedgerTest, AnAlteredSearchIndexIsFoundAndRebuilt) {
  AppendEach(5);
  AppendN(4);  // block 6..9
  Seal();
  ASSERT_TRUE(IndexLedger(*store_).ok());
  ASSERT_EQ(*store_->audit().IndexedUpto(), 9);
  AuditVerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.indexed, 9);
  AuditQuery by_subject;
  by_subject.subject = "sub_1";
  const size_t history = store_->audit().Query(by_subject)->size();
  EXPECT_EQ(history, 3u);  // entries 2, 5 and 7

  // Hiding entry 2 from sub_1's history, moving entry 4 to another tenant,
  // a stray posting, an index claiming more than there is: each is found.
  for (const char* tamper :
       {"DELETE FROM audit_postings WHERE term = 'ssub_1' AND block = 2;",
        "UPDATE audit_postings SET term = 'tten_other' WHERE term = 'tten_a' AND block = 4;",
        "INSERT INTO audit_postings VALUES ('ssub_9', 3);",
        "UPDATE audit_index_state SET indexed_upto = 7;"}) {
    SCOPED_TRACE(tamper);
    Sql(tamper);
    r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.problem.find("search index"), std::string::npos) << r.problem;
    if (std::string(tamper).find("block = 2") != std::string::npos) {
      EXPECT_EQ(r.first_bad_seq, 2);
      EXPECT_EQ(store_->audit().Query(by_subject)->size(), history - 1);
    }
    if (std::string(tamper).find("block = 4") != std::string::npos) {
      EXPECT_EQ(r.first_bad_seq, 4);
    }
    if (std::string(tamper).find("'ssub_9', 3") != std::string::npos) {
      EXPECT_EQ(r.first_bad_seq, 3);
    }
    ASSERT_TRUE(RebuildSearchIndex(*store_).ok());
    r = Verify();
    EXPECT_TRUE(r.ok) << r.problem;
    EXPECT_EQ(r.indexed, 9);
    EXPECT_EQ(store_->audit().Query(by_subject)->size(), history);
  }
}

TEST_F(AuditLedgerTest, TruncationWithTheHeadsDeletedIsFoundThroughTheAnchoredHeads) {
  AppendN(4);
  AppendN(4);
  auto head = SealLedger(*store_, *signer_, clock_);
  ASSERT_TRUE(head.ok() && head->has_value());
  std::string heads_file = dir_ + "/heads.jsonl";
  ASSERT_TRUE(AppendHeadToFile(heads_file, **head).ok());
  // Blocks, heads and the search index cut back consistently.
  Sql("DELETE FROM audit_blocks WHERE first_seq >= 5; DELETE FROM audit_tree_heads;"
      "DELETE FROM audit_postings WHERE block >= 5; UPDATE audit_index_state SET indexed_upto = MIN(indexed_upto, 4);");
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

// Polls `done` every 10 ms for up to 10 seconds.
bool WaitUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return done();
}

// The system clock stepped back an hour, then forward a day, while the
// writer seals: with the gateway's clock (SteadyWallClock) the heads are
// sealed on their interval and their times keep their order, which a
// reader of the heads file relies on.
// covers: F-19
TEST_F(AuditLedgerTest, TreeHeadsKeepTheirCadenceAndOrderWhenTheSystemClockSteps) {
  SteadyWallClock clock(clock_);
  AuditLedger ledger(clock);
  AuditWriterOptions options;
  options.seal_every_entries = 1'000'000;  // by time only
  options.seal_interval_ms = 60'000;
  std::vector<int64_t> times;
  {
    AuditWriter writer(*store_, ledger, *signer_, clock, options, dir_ + "/heads.jsonl");
    auto minute = [&](int64_t wall_step) {
      clock_.JumpWallMillis(wall_step);
      clock_.AdvanceMillis(61'000);
      AuditEvent e;
      e.tenant_id = "ten_a";
      e.actor = AuditActor::System();
      e.action = "auth.failure";
      ASSERT_TRUE(writer.Record(e).ok());
      ASSERT_TRUE(writer.Flush().ok());
      // The writer looks at the clock at least once a second.
      ASSERT_TRUE(WaitUntil([&] {
        auto latest = store_->audit().LatestTreeHead();
        return latest.ok() && latest->has_value() && (*latest)->ts_ms >= clock.NowUnixMillis() - 1000;
      }));
    };
    minute(0);
    minute(-3'600'000);
    minute(86'400'000);
  }
  auto heads = store_->audit().TreeHeads();
  ASSERT_TRUE(heads.ok());
  ASSERT_GE(heads->size(), 3u);
  for (size_t i = 1; i < heads->size(); ++i) EXPECT_GT((*heads)[i].ts_ms, (*heads)[i - 1].ts_ms) << i;
  EXPECT_LT(heads->back().ts_ms, clock_.NowUnixMillis() - 22 * 3'600'000);  // not the stepped system time
  AuditVerifyReport r = Verify(*ReadHeadsFile(dir_ + "/heads.jsonl"));
  EXPECT_TRUE(r.ok) << r.problem;
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
  e.subject = "sub_reader";
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return ledger_.Append(tx.audit(), e); }).ok());
  AuditQuery q;
  q.tenant_id = "ten_b";
  EXPECT_EQ(store_->audit().Query(q)->size(), 2u);
  q.tenant_id = "ten_a";
  q.subject = "sub_reader";
  EXPECT_EQ(store_->audit().Query(q)->size(), 1u);
  q.subject = "sub_1";  // entry 2 of ten_a; entry 5 is ten_b's
  EXPECT_EQ(store_->audit().Query(q)->size(), 1u);
  q.subject = "sub_reader";
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
  std::istringstream in(ExportText());
  auto report = VerifyExportedLedger(in, signer_->public_key());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_seq, 4);
  EXPECT_NE(report->problem.find("not covered by a signature"), std::string::npos);
  EXPECT_EQ(Verify().unsealed, 2);  // the live ledger between seals is fine
}

// covers: AUD-02
TEST_F(AuditLedgerTest, ATruncatedExportIsReportedAtItsFirstMissingEntry) {
  AppendN(5);
  Seal();
  const std::string whole = ExportText();
  const auto heads = store_->audit().TreeHeads();
  ASSERT_TRUE(heads.ok());
  // Cut after the third entry's line, and in the middle of the fourth's.
  size_t third_end = 0;
  for (int seen = 0; seen < static_cast<int>(heads->size()) + 3; ++seen) third_end = whole.find('\n', third_end) + 1;
  for (const std::string& cut : {whole.substr(0, third_end), whole.substr(0, third_end + 40)}) {
    std::istringstream in(cut);
    auto report = VerifyExportedLedger(in, signer_->public_key());
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_FALSE(report->ok);
    EXPECT_EQ(report->first_bad_seq, 4);
    EXPECT_NE(report->problem.find("truncated"), std::string::npos) << report->problem;
  }
  std::istringstream in(whole);
  auto report = VerifyExportedLedger(in, signer_->public_key());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
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
  OperatorRepository& operators() override { return real_.operators(); }
  OAuthRepository& oauth() override { return real_.oauth(); }
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

// The segment is written whole and its directory synced before any entry
// leaves the database: a failure or a crash at any step of the write leaves
// every entry in place and the ledger verifying, and the archive can run again.
// covers: AUD-06
TEST_F(AuditLedgerTest, AFailedOrCrashedSegmentWriteLosesNoEntry) {
  auto retention = [](const std::string&) -> int64_t { return 2192; };
  AppendN(6, "ten_a");
  Seal();
  const AuditActor operator_actor{"operator", "cli:test", "cli", ""};
  using Fault = FaultyFileSystem::Fault;
  for (FileStep step : {FileStep::kCreate, FileStep::kWrite, FileStep::kSync, FileStep::kRename, FileStep::kSyncDir}) {
    for (Fault fault : {Fault::kDiskFull, Fault::kCrash}) {
      FaultyFileSystem fs;
      fs.FailAt(step, fault);
      auto archived = ArchiveLedger(*store_, signer_->public_key(), ledger_, operator_actor, 6,
                                    dir_ + "/seg.jsonl", retention, clock_, fs);
      EXPECT_FALSE(archived.ok()) << FileStepName(step);
      EXPECT_EQ(store_->audit().Query({})->front().seq, 1) << FileStepName(step) << ": entries left the database";
      AuditVerifyReport report = Verify();
      EXPECT_TRUE(report.ok) << report.problem;
      EXPECT_EQ(report.archived, 0);
    }
  }
  auto archived = ArchiveLedger(*store_, signer_->public_key(), ledger_, operator_actor, 6, dir_ + "/seg.jsonl",
                                retention, clock_);
  ASSERT_TRUE(archived.ok()) << archived.status().ToString();
  EXPECT_EQ(Verify().archived, 6);
  std::ifstream in(dir_ + "/seg.jsonl");
  auto report = VerifyExportedLedger(in, signer_->public_key());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(AuditLedgerTest, ArchivingATamperedLedgerIsRefused) {
  AppendN(4);
  Seal();
  RewriteBlock(1, [](std::string& records, std::string&) { records[records.find("apikey:key_1")] = 'A'; });
  auto r = ArchiveLedger(*store_, signer_->public_key(), ledger_, AuditActor::System(), 4, dir_ + "/s.jsonl",
                         [](const std::string&) -> int64_t { return 2192; }, clock_);
  EXPECT_EQ(r.status().machine_code(), "ledger_damaged");
  EXPECT_EQ(store_->audit().Query({})->size(), 4u);  // nothing moved
}

// covers: AUD-02 (a ledger stored a row per entry, before migration 13,
// moves into blocks without a byte re-hashed: its signed head still verifies)
TEST_F(AuditLedgerTest, ALedgerStoredARowPerEntryMigratesIntoBlocksIntact) {
  const std::string old_db = dir_ + "/v12.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(old_db.c_str(), &db), SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  };
  exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
       "applied_at_ms INTEGER NOT NULL) STRICT");
  for (const auto& m : store_internal::SqliteMigrations()) {
    if (m.version > 12) break;
    exec(std::string(m.sql));
    exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" + std::string(m.name) + "', 0)");
  }
  // Five entries the way version 12 stored them, and a signed head over them.
  merkle::Frontier frontier;
  std::string prev(32, '\0');
  for (int i = 0; i < 5; ++i) {
    AuditRecord r;
    r.seq = i + 1;
    r.ts_ms = 1'700'000'000'000 + i;
    r.tenant_id = i < 3 ? "ten_a" : "ten_b";
    r.actor_type = "system";
    r.actor_id = "consentry";
    r.action = "subject.read";
    r.subject = i % 2 ? "sub_odd" : "";
    r.outcome = "success";
    r.details = "{}";
    r.prev_hash = prev;
    r.entry_hash = ComputeEntryHash(r);
    prev = r.entry_hash;
    frontier.Append(r.entry_hash);
    const std::string record = EncodeAuditRecord(r);
    exec("INSERT INTO audit_entries VALUES (" + std::to_string(r.seq) + ", " + std::to_string(r.ts_ms) + ", '" +
         r.tenant_id + "', 'consentry', 'subject.read', '" + r.subject + "', X'" + HexEncode(record) + "', X'" +
         HexEncode(r.entry_hash) + "')");
  }
  TreeHead head;
  head.tree_size = 5;
  head.root_hash = frontier.Root();
  head.ts_ms = 1'700'000'000'100;
  head.key_id = signer_->public_key().key_id();
  head.signature = *signer_->Sign(SignedTreeHeadBytes(head.tree_size, head.ts_ms, head.root_hash));
  head.frontier = frontier.Serialize();
  exec("INSERT INTO audit_tree_heads VALUES (5, X'" + HexEncode(head.root_hash) + "', " + std::to_string(head.ts_ms) +
       ", '" + head.key_id + "', X'" + HexEncode(head.signature) + "', X'" + HexEncode(head.frontier) + "')");
  sqlite3_close(db);

  auto store = OpenSqliteStore({old_db, 5000, true, 2});
  ASSERT_TRUE(store.ok());
  auto migrated = (*store)->Migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
  auto report = VerifyStoredLedger(**store, signer_->public_key(), {});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 5);
  EXPECT_EQ(report->tree_heads, 1);
  EXPECT_EQ(report->indexed, 5);  // the old search columns became postings
  AuditQuery q;
  q.subject = "sub_odd";
  auto found = (*store)->audit().Query(q);
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[1].seq, 4);
  EXPECT_EQ((*found)[1].entry_hash, (*store)->audit().EntryHashes(4, 4)->front());
  // New entries continue the chain in a block of their own.
  ASSERT_TRUE((*store)->InTransaction([&](StoreTransaction& tx) {
    return ledger_.Append(tx.audit(), std::vector<AuditEvent>{Event(1, "ten_a"), Event(2, "ten_a")});
  }).ok());
  ASSERT_TRUE(SealLedger(**store, *signer_, clock_).ok());
  report = VerifyStoredLedger(**store, signer_->public_key(), {});
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 7);
}

TEST_F(AuditLedgerTest, ASigningKeyReadableByOthersIsRefused) {
  std::string path = dir_ + "/loose.pem";
  ASSERT_TRUE(AuditSigner::LoadOrCreate(path).ok());
  chmod(path.c_str(), 0644);
  EXPECT_EQ(AuditSigner::LoadOrCreate(path).status().machine_code(), "insecure_key_file");
}

}  // namespace
}  // namespace cs
