#include "store/conformance/store_conformance.h"

#include <algorithm>
#include <thread>

#include "audit_record/audit_record.h"

namespace cs {

void StoreConformanceTest::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
  auto migrated = store_->Migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.status().ToString();
}

namespace {

ApiKeyRecord Key(const std::string& id, const std::string& tenant, int64_t created = 1000) {
  ApiKeyRecord k;
  k.id = id;
  k.tenant_id = tenant;
  k.name = "key " + id;
  k.scopes = {"admin", "messages:send"};
  k.secret_hash = std::string(64, 'a');
  k.created_at_ms = created;
  k.expires_at_ms = created + 1'000'000;
  return k;
}

TEST_P(StoreConformanceTest, MigrationsAreAppliedOnceAndReported) {
  auto status = store_->GetMigrationStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->current_version, status->latest_version);
  EXPECT_GE(status->latest_version, 1);
  auto again = store_->Migrate();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->applied_now.empty());
  EXPECT_TRUE(store_->Ping().ok());
}

TEST_P(StoreConformanceTest, TenantsAreUniqueByIdAndName) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "Acme", 1, std::nullopt, std::nullopt}).ok());
  EXPECT_EQ(store_->tenants().Create({"ten_a", "Other", 2, std::nullopt, std::nullopt}).machine_code(), "conflict");
  EXPECT_EQ(store_->tenants().Create({"ten_b", "Acme", 2, std::nullopt, std::nullopt}).machine_code(), "conflict");
  ASSERT_TRUE(store_->tenants().Create({"ten_b", "Beta", 2, std::nullopt, std::nullopt}).ok());
  auto list = store_->tenants().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "ten_a");
  EXPECT_EQ(store_->tenants().FindByName("Beta")->id, "ten_b");
  EXPECT_EQ(store_->tenants().Get("ten_zz").status().code(), StatusCode::kNotFound);
}

// covers: TEN-02, A-03
TEST_P(StoreConformanceTest, AnotherTenantsKeyLooksMissing) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->tenants().Create({"ten_b", "B", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->api_keys().Insert(Key("key_1", "ten_a")).ok());
  EXPECT_TRUE(store_->api_keys().Get("ten_a", "key_1").ok());
  Status foreign = store_->api_keys().Get("ten_b", "key_1").status();
  Status missing = store_->api_keys().Get("ten_b", "key_nope").status();
  EXPECT_EQ(foreign.code(), StatusCode::kNotFound);
  EXPECT_EQ(foreign.ToString(), missing.ToString());
  EXPECT_EQ(store_->api_keys().Revoke("ten_b", "key_1", 5).code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->api_keys().Get("ten_a", "key_1")->revoked_at_ms.has_value());
  EXPECT_TRUE(store_->api_keys().List("ten_b")->empty());
}

TEST_P(StoreConformanceTest, KeysRoundTripEveryField) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ApiKeyRecord k = Key("key_1", "ten_a");
  k.name = "'; DROP TABLE api_keys;-- ünï";  // covers: B-20
  k.rotated_from = "key_0";
  ASSERT_TRUE(store_->api_keys().Insert(k).ok());
  auto got = store_->api_keys().FindForAuthentication("key_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, k.name);
  EXPECT_EQ(got->scopes, k.scopes);
  EXPECT_EQ(got->secret_hash, k.secret_hash);
  EXPECT_EQ(got->expires_at_ms, k.expires_at_ms);
  EXPECT_EQ(got->rotated_from, k.rotated_from);
  EXPECT_FALSE(got->revoked_at_ms.has_value());
  EXPECT_EQ(store_->api_keys().Insert(k).machine_code(), "conflict");
  EXPECT_EQ(store_->api_keys().Insert(Key("key_2", "ten_missing")).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RevocationKeepsTheEarliestTime) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->api_keys().Insert(Key("key_1", "ten_a")).ok());
  ASSERT_TRUE(store_->api_keys().Revoke("ten_a", "key_1", 500).ok());
  ASSERT_TRUE(store_->api_keys().Revoke("ten_a", "key_1", 900).ok());
  EXPECT_EQ(store_->api_keys().Get("ten_a", "key_1")->revoked_at_ms, 500);
}

TEST_P(StoreConformanceTest, RotationIsAtomic) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->api_keys().Insert(Key("key_1", "ten_a")).ok());
  ApiKeyRecord next = Key("key_2", "ten_a", 2000);
  next.rotated_from = "key_1";
  ASSERT_TRUE(store_->api_keys().Rotate("ten_a", "key_1", 5000, next).ok());
  EXPECT_EQ(store_->api_keys().Get("ten_a", "key_1")->expires_at_ms, 5000);
  EXPECT_TRUE(store_->api_keys().Get("ten_a", "key_2").ok());
  // A failing insert (duplicate id) must leave the old key's expiry alone.
  ApiKeyRecord dup = Key("key_2", "ten_a", 3000);
  EXPECT_FALSE(store_->api_keys().Rotate("ten_a", "key_1", 10, dup).ok());
  EXPECT_EQ(store_->api_keys().Get("ten_a", "key_1")->expires_at_ms, 5000);
  // Revoked keys cannot be rotated.
  ASSERT_TRUE(store_->api_keys().Revoke("ten_a", "key_2", 3000).ok());
  EXPECT_EQ(store_->api_keys().Rotate("ten_a", "key_2", 10, Key("key_3", "ten_a")).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ConcurrentWritersLoseNothing) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!store_->api_keys().Insert(Key("key_" + std::to_string(t) + "_" + std::to_string(i), "ten_a")).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->api_keys().List("ten_a")->size(), 200u);
}

TEST_P(StoreConformanceTest, ATransactionCommitsAllOrNothing) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  Status failed = store_->InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.api_keys().Insert(Key("key_1", "ten_a")));
    return Internal("the second half failed");
  });
  EXPECT_EQ(failed.code(), StatusCode::kInternal);
  EXPECT_EQ(store_->api_keys().Get("ten_a", "key_1").status().code(), StatusCode::kNotFound);
  // A failing statement inside rolls back the earlier ones too.
  Status conflict = store_->InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.api_keys().Insert(Key("key_2", "ten_a")));
    return tx.tenants().Create({"ten_a", "A again", 2, std::nullopt, std::nullopt});
  });
  EXPECT_EQ(conflict.machine_code(), "conflict");
  EXPECT_EQ(store_->api_keys().Get("ten_a", "key_2").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) -> Status {
    CS_RETURN_IF_ERROR(tx.api_keys().Insert(Key("key_3", "ten_a")));
    // Nested work (Rotate runs its own transaction) joins the outer one.
    ApiKeyRecord next = Key("key_4", "ten_a", 2000);
    return tx.api_keys().Rotate("ten_a", "key_3", 5, next);
  }).ok());
  EXPECT_TRUE(store_->api_keys().Get("ten_a", "key_4").ok());
}

AuditRecord Entry(int64_t seq, const std::string& tenant, const std::string& prev) {
  AuditRecord r;
  r.seq = seq;
  r.ts_ms = 1000 + seq;
  r.tenant_id = tenant;
  r.actor_type = "system";
  r.actor_id = "consentry";
  r.action = seq % 2 ? "odd" : "even";
  r.subject = seq == 2 ? "sub_x" : "";
  r.details = "{}";
  r.prev_hash = prev;
  r.entry_hash = std::string(31, '\0') + static_cast<char>(seq);
  return r;
}

// Queries give the same answers from the search index as from the blocks
// read directly, before and after indexing.
void ExpectAuditQueries(AuditRepository& audit) {
  AuditQuery q;
  q.tenant_id = "ten_a";
  auto a = audit.Query(q);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[1].subject, "sub_x");
  EXPECT_EQ((*a)[1].prev_hash, Entry(1, "ten_a", "").entry_hash);
  EXPECT_EQ((*a)[2].entry_hash, Entry(3, "ten_a", "").entry_hash);
  q.after_seq = 2;  // a cursor inside a block
  ASSERT_EQ(audit.Query(q)->size(), 1u);
  EXPECT_EQ(audit.Query(q)->front().seq, 3);
  q = {};
  q.tenant_id = "ten_b";
  q.limit = 1;
  ASSERT_EQ(audit.Query(q)->size(), 1u);
  EXPECT_EQ(audit.Query(q)->front().seq, 4);
  q = {};
  q.action = "odd";
  EXPECT_EQ(audit.Query(q)->size(), 3u);
  q = {};
  q.subject = "sub_x";
  EXPECT_EQ(audit.Query(q)->size(), 1u);
  q.tenant_id = "ten_b";  // every filter applies, not only the indexed one
  EXPECT_EQ(audit.Query(q)->size(), 0u);
  q = {};
  q.from_ms = 1003;
  q.to_ms = 1005;
  EXPECT_EQ(audit.Query(q)->size(), 2u);
}

TEST_P(StoreConformanceTest, TheAuditRepositoryKeepsRecordsExactly) {
  auto tail = store_->audit().Tail();
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->first, 0);
  // Blocks {1}, {2, 3}, {4, 5}: one per append transaction.
  std::vector<std::vector<AuditRecord>> blocks(3);
  std::string prev(32, '\0');
  for (int64_t seq = 1; seq <= 5; ++seq) {
    AuditRecord r = Entry(seq, seq <= 3 ? "ten_a" : "ten_b", prev);
    blocks[seq == 1 ? 0 : seq <= 3 ? 1 : 2].push_back(r);
    prev = r.entry_hash;
  }
  for (const auto& block : blocks) ASSERT_TRUE(store_->audit().AppendBlock(block).ok());
  EXPECT_EQ(store_->audit().AppendBlock(blocks[2]).machine_code(), "conflict");
  std::vector<AuditRecord> gap = {Entry(6, "ten_a", prev), Entry(8, "ten_a", prev)};
  EXPECT_EQ(store_->audit().AppendBlock(gap).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->audit().Tail()->first, 5);
  EXPECT_EQ(store_->audit().Tail()->second, Entry(5, "", "").entry_hash);

  EXPECT_EQ(*store_->audit().IndexedUpto(), 0);
  ExpectAuditQueries(store_->audit());
  int64_t indexed = 0;
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) -> Status {
    CS_ASSIGN_OR_RETURN(indexed, tx.audit().IndexPending(2));  // whole blocks: {1} and {2, 3}
    return Status::Ok();
  }).ok());
  EXPECT_EQ(indexed, 3);
  EXPECT_EQ(*store_->audit().IndexedUpto(), 3);
  ExpectAuditQueries(store_->audit());  // half indexed, half read directly
  std::vector<std::pair<std::string, int64_t>> postings;
  ASSERT_TRUE(store_->audit().ScanPostings([&](std::string_view t, int64_t b) { postings.emplace_back(t, b); }).ok());
  std::sort(postings.begin(), postings.end());
  EXPECT_EQ(postings, (std::vector<std::pair<std::string, int64_t>>{{"ssub_x", 2}, {"tten_a", 1}, {"tten_a", 2}}));
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return tx.audit().IndexPending(100).status(); }).ok());
  EXPECT_EQ(*store_->audit().IndexedUpto(), 5);
  ExpectAuditQueries(store_->audit());

  EXPECT_EQ(store_->audit().EntryHashes(2, 4)->size(), 3u);
  EXPECT_EQ(store_->audit().EntryHashes(2, 4)->front(), Entry(2, "", "").entry_hash);
  int visited = 0;
  ASSERT_TRUE(store_->audit().ScanRaw(3, [&](const AuditRawEntry& e) {
    EXPECT_EQ(e.seq, 3 + visited);
    EXPECT_EQ(e.block, visited == 0 ? 2 : 4);
    EXPECT_EQ(e.entry_hash, Entry(e.seq, "", "").entry_hash);
    EXPECT_EQ(e.record, EncodeAuditRecord(blocks[visited == 0 ? 1 : 2][visited == 0 ? 1 : visited - 1]));
    ++visited;
    return true;
  }).ok());
  EXPECT_EQ(visited, 3);

  TreeHead head;
  head.tree_size = 5;
  head.root_hash = std::string(32, 'r');
  head.key_id = "k";
  head.signature = std::string(64, 's');
  head.frontier = std::string(64, 'f');
  ASSERT_TRUE(store_->audit().InsertTreeHead(head).ok());
  EXPECT_EQ((*store_->audit().LatestTreeHead())->frontier, head.frontier);

  AuditCheckpoint cp;
  cp.upto_seq = 3;
  cp.last_hash = Entry(3, "", "").entry_hash;
  cp.frontier = std::string(64, 'f');
  cp.segment_name = "seg";
  cp.segment_sha256 = std::string(32, 'h');
  cp.upto_seq = 2;  // inside the block {2, 3}
  EXPECT_EQ(store_->InTransaction([&](StoreTransaction& tx) { return tx.audit().Archive(cp); }).machine_code(),
            "not_sealed");
  cp.upto_seq = 3;
  ASSERT_TRUE(store_->InTransaction([&](StoreTransaction& tx) { return tx.audit().Archive(cp); }).ok());
  EXPECT_EQ(store_->audit().Query({})->front().seq, 4);
  EXPECT_EQ(store_->audit().EntryHashes(1, 5)->size(), 5u);  // archived hashes kept
  EXPECT_EQ((*store_->audit().LatestCheckpoint())->upto_seq, 3);
  postings.clear();
  ASSERT_TRUE(store_->audit().ScanPostings([&](std::string_view t, int64_t b) { postings.emplace_back(t, b); }).ok());
  EXPECT_EQ(postings, (std::vector<std::pair<std::string, int64_t>>{{"tten_b", 4}}));
}

// covers: CHAN-08 (a media id is only ever the tenant's that holds it)
TEST_P(StoreConformanceTest, MediaReferencesBelongToOneTenantAndExpire) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->tenants().Create({"ten_b", "B", 1, std::nullopt, std::nullopt}).ok());
  MessagingRepository& m = store_->messaging();
  ASSERT_TRUE(m.PutMediaRef({"ten_a", "1234567890123456", "chn_a", "upload", "", "image/png", 1000, 50000}).ok());
  ASSERT_TRUE(m.PutMediaRef({"ten_a", "2234567890123456", "chn_a", "inbound", "sub_1", "image/jpeg", 1000, 2000}).ok());
  auto a = m.GetMediaRef("ten_a", "1234567890123456");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->channel_id, "chn_a");
  EXPECT_EQ(a->mime_type, "image/png");
  EXPECT_EQ(a->expires_at_ms, 50000);
  EXPECT_EQ(m.GetMediaRef("ten_b", "1234567890123456").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m.GetMediaRef("ten_a", "2234567890123456")->subject, "sub_1");
  EXPECT_EQ(*m.PurgeMediaRefs(3000), 1);
  EXPECT_EQ(m.GetMediaRef("ten_a", "2234567890123456").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(m.DeleteMediaRef("ten_b", "1234567890123456").ok());  // another tenant's delete touches nothing
  EXPECT_TRUE(m.GetMediaRef("ten_a", "1234567890123456").ok());
  ASSERT_TRUE(m.DeleteMediaRef("ten_a", "1234567890123456").ok());
  EXPECT_EQ(m.GetMediaRef("ten_a", "1234567890123456").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TenantRetentionCanBeSetAndCleared) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(store_->tenants().Get("ten_a")->audit_retention_days.has_value());
  ASSERT_TRUE(store_->tenants().SetAuditRetention("ten_a", 3650).ok());
  EXPECT_EQ(store_->tenants().Get("ten_a")->audit_retention_days, 3650);
  ASSERT_TRUE(store_->tenants().SetAuditRetention("ten_a", std::nullopt).ok());
  EXPECT_FALSE(store_->tenants().Get("ten_a")->audit_retention_days.has_value());
  EXPECT_EQ(store_->tenants().SetAuditRetention("ten_zz", 400).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TenantContentPolicyCanBeSetAndCleared) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(store_->tenants().Get("ten_a")->content_policy.has_value());
  ASSERT_TRUE(store_->tenants().SetContentPolicy("ten_a", std::string(R"({"outbound":{"email":"mask"}})")).ok());
  EXPECT_EQ(store_->tenants().Get("ten_a")->content_policy, R"({"outbound":{"email":"mask"}})");
  EXPECT_EQ(store_->tenants().List()->front().content_policy, R"({"outbound":{"email":"mask"}})");
  ASSERT_TRUE(store_->tenants().SetContentPolicy("ten_a", std::nullopt).ok());
  EXPECT_FALSE(store_->tenants().Get("ten_a")->content_policy.has_value());
  EXPECT_EQ(store_->tenants().SetContentPolicy("ten_zz", std::string("{}")).code(), StatusCode::kNotFound);
}

}  // namespace
// covers: F-03 (the journal and the key table behind crypto-shredding)
TEST_P(StoreConformanceTest, SubjectKeysAreCreatedOnceDestroyedAndRenewed) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  VaultRepository& v = store_->vault();
  EXPECT_FALSE(v.GetSubjectKey("ten_a", "sub_x")->has_value());
  SubjectKeyRecord k{"ten_a", "sub_x", 1, std::string("wrapped-1"), 10, std::nullopt};
  EXPECT_TRUE(*v.InsertSubjectKey(k));
  k.wrapped = "wrapped-other";
  EXPECT_FALSE(*v.InsertSubjectKey(k));  // the first writer's key stays
  EXPECT_EQ((*v.GetSubjectKey("ten_a", "sub_x"))->wrapped, "wrapped-1");
  EXPECT_EQ(*v.CountSubjectKeys("ten_a"), 1);
  ASSERT_TRUE(v.DestroySubjectKey("ten_a", "sub_x", 20).ok());
  auto destroyed = *v.GetSubjectKey("ten_a", "sub_x");
  EXPECT_FALSE(destroyed->wrapped.has_value());
  EXPECT_EQ(destroyed->destroyed_at_ms, 20);
  EXPECT_EQ(*v.CountSubjectKeys("ten_a"), 0);
  ASSERT_TRUE(v.DestroySubjectKey("ten_a", "sub_x", 30).ok());  // idempotent, first time kept
  EXPECT_EQ((*v.GetSubjectKey("ten_a", "sub_x"))->destroyed_at_ms, 20);
  SubjectKeyRecord next{"ten_a", "sub_x", 2, std::string("wrapped-2"), 40, std::nullopt};
  EXPECT_FALSE(*v.RenewSubjectKey(next, 7));  // not the generation on record
  EXPECT_TRUE(*v.RenewSubjectKey(next, 1));
  EXPECT_FALSE(*v.RenewSubjectKey(next, 1));  // only once
  auto renewed = *v.GetSubjectKey("ten_a", "sub_x");
  EXPECT_EQ(renewed->generation, 2);
  EXPECT_EQ(renewed->wrapped, "wrapped-2");
  EXPECT_FALSE(renewed->destroyed_at_ms.has_value());
  // A subject that never had a key still gets a destroyed row on record.
  ASSERT_TRUE(v.DestroySubjectKey("ten_a", "sub_never", 50).ok());
  EXPECT_FALSE((*v.GetSubjectKey("ten_a", "sub_never"))->wrapped.has_value());
}

// What backups and tenant-key rotation need from the key table.
// covers: SEC-03, F-18
TEST_P(StoreConformanceTest, SubjectKeysPageRewrapAndCountByVersion) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  ASSERT_TRUE(store_->tenants().Create({"ten_b", "B", 1, std::nullopt, std::nullopt}).ok());
  VaultRepository& v = store_->vault();
  // Ciphertext-shaped blobs: bytes 2..5 name the wrapping version.
  auto blob = [](uint8_t version, char fill) { return std::string{1, 1, 0, 0, 0, static_cast<char>(version)} + std::string(40, fill); };
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(*v.InsertSubjectKey({"ten_a", "sub_" + std::to_string(i), 1, blob(i < 3 ? 1 : 2, 'a'), 1, std::nullopt}));
  }
  ASSERT_TRUE(*v.InsertSubjectKey({"ten_b", "sub_0", 1, blob(1, 'b'), 1, std::nullopt}));
  ASSERT_TRUE(v.DestroySubjectKey("ten_a", "sub_4", 5).ok());
  EXPECT_EQ(*v.CountSubjectKeysByWrappingVersion("ten_a"), (std::map<uint32_t, int64_t>{{1, 3}, {2, 1}}));
  // Pages in (tenant, subject) order, across tenants.
  auto p1 = *v.ListSubjectKeys("", "", 4);
  ASSERT_EQ(p1.size(), 4u);
  EXPECT_EQ(p1.front().subject, "sub_0");
  auto p2 = *v.ListSubjectKeys(p1.back().tenant_id, p1.back().subject, 4);
  ASSERT_EQ(p2.size(), 2u);
  EXPECT_FALSE(p2[0].wrapped.has_value());  // sub_4, destroyed, listed as such
  EXPECT_EQ(p2[1].tenant_id, "ten_b");
  // Re-wrap only the row as read: a changed row is left alone.
  SubjectKeyRecord read = p1[0];
  EXPECT_TRUE(*v.ReplaceWrappedSubjectKey(read, blob(2, 'n')));
  EXPECT_FALSE(*v.ReplaceWrappedSubjectKey(read, blob(2, 'x')));  // no longer what was read
  EXPECT_EQ((*v.GetSubjectKey("ten_a", "sub_0"))->wrapped, blob(2, 'n'));
  SubjectKeyRecord gone = p2[0];
  gone.wrapped = blob(1, 'a');
  EXPECT_FALSE(*v.ReplaceWrappedSubjectKey(gone, blob(2, 'z')));  // destroyed: stays destroyed
  EXPECT_FALSE((*v.GetSubjectKey("ten_a", "sub_4"))->wrapped.has_value());
  // Put writes a row exactly, destroyed or not; DeleteAll empties the table.
  ASSERT_TRUE(v.PutSubjectKey({"ten_a", "sub_9", 3, std::nullopt, 7, 8}).ok());
  auto put = *v.GetSubjectKey("ten_a", "sub_9");
  EXPECT_EQ(put->generation, 3);
  EXPECT_EQ(put->destroyed_at_ms, 8);
  EXPECT_EQ(*v.DeleteAllSubjectKeys(), 7);
  EXPECT_TRUE(v.ListSubjectKeys("", "", 10)->empty());
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

TEST_P(StoreConformanceTest, ErasureJournalListsWhatIsNotDone) {
  ASSERT_TRUE(store_->tenants().Create({"ten_a", "A", 1, std::nullopt, std::nullopt}).ok());
  VaultRepository& v = store_->vault();
  ErasureRecord a{"era_a", "ten_a", "sub_1", "requested", "operator:cli:x", 1, 1, "{}"};
  ErasureRecord b{"era_b", "ten_a", "sub_2", "requested", "operator:cli:x", 2, 2, "{}"};
  ASSERT_TRUE(v.InsertErasure(a).ok());
  ASSERT_TRUE(v.InsertErasure(b).ok());
  a.step = "done";
  a.details = R"({"inbound_messages":3})";
  ASSERT_TRUE(v.UpdateErasure(a).ok());
  auto pending = v.PendingErasures();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().id, "era_b");
  EXPECT_EQ(v.GetErasure("ten_a", "era_a")->details, R"({"inbound_messages":3})");
  EXPECT_EQ(v.GetErasure("ten_b", "era_a").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, QuarantineIsPurgedByAge) {
  ASSERT_TRUE(store_->inbound().Quarantine(100, "other_field", "sealed-1").ok());
  ASSERT_TRUE(store_->inbound().Quarantine(200, "other_field", "sealed-2").ok());
  EXPECT_EQ(*store_->inbound().PurgeQuarantine(150), 1);
  EXPECT_EQ(*store_->inbound().CountQuarantined(), 1);
  EXPECT_EQ(*store_->inbound().PurgeQuarantine(150), 0);
}

}  // namespace cs
