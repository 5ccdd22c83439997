// Micro-benchmarks of the request path pieces, and of one whole
// authenticated GET handled in-process (no sockets). Run:
//   build/release/bench/consentry_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "api/api.h"
#include "backup/backup.h"
#include "consent/consent.h"
#include "messaging/channels.h"
#include "messaging/dispatcher.h"
#include "messaging/forwarding.h"
#include "messaging/sending.h"
#include "messaging/webhooks.h"
#include "store/group_commit.h"
#include "store/sqlite/sqlite_store.h"
#include "vault/erasure.h"
#include "vault/keyring.h"
#include "audit/audit.h"
#include "vault/aead.h"
#include "auth/auth.h"
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "common/secret.h"
#include "json/json.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace cs {
namespace {

constexpr char kBody[] = R"({"name":"helpdesk integration","scopes":["messages:read","messages:send"],"expires_in_days":30})";

void BM_ParseJsonBody(benchmark::State& state) {
  for (auto _ : state) {
    auto v = ParseJson(kBody);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(sizeof kBody - 1));
}
BENCHMARK(BM_ParseJsonBody);

void BM_ErrorEnvelope(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = ErrorEnvelope("unknown_field", "body has an unknown field \"x\"", "req_0123456789abcdef01234567");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ErrorEnvelope);

// A store with one tenant and one admin key, shared by the benchmarks below.
struct Fixture {
  Fixture() {
    dir = std::filesystem::temp_directory_path().string() + "/consentry_bench_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(OpenSqliteStore({dir + "/db", 5000, true, 4})).value();
    (void)store->Migrate();
    (void)store->tenants().Create({"ten_bench", "bench", 0, std::nullopt, std::nullopt});
    keys = std::make_unique<ApiKeyService>(*store, clock, random, ApiKeyPolicy{}, ledger);
    IssuedKey k = std::move(keys->Create(AuditActor::System(), "ten_bench", "bench", {"admin"}, {})).value();
    token = std::string(InsecureSecretAccess::Get(k.token));
    GatewayApiDeps deps;
    deps.store = store.get();
    deps.api_keys = keys.get();
    deps.metrics = &metrics;
    deps.clock = &clock;
    api = CreateGatewayApi(deps);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  std::string dir;
  SystemClock clock;
  CryptoRandom random;
  AuditLedger ledger{clock};
  MetricsRegistry metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<ApiKeyService> keys;
  std::unique_ptr<GatewayApi> api;
  std::string token;
};

Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

void BM_AuthenticateApiKey(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) {
    auto p = f.keys->Authenticate(f.token);
    if (!p.ok()) state.SkipWithError("authentication failed");
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_AuthenticateApiKey);

void BM_HandleAuthenticatedGet(benchmark::State& state) {
  Fixture& f = Shared();
  HttpRequest request;
  request.method = "GET";
  request.target = request.path = "/v1/me";
  request.headers = {{"host", "127.0.0.1"}, {"authorization", "Bearer " + f.token}};
  request.request_id = "req_0123456789abcdef01234567";
  for (auto _ : state) {
    HttpResponse r = f.api->Handle(request);
    if (r.status != 200) state.SkipWithError("unexpected status");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_HandleAuthenticatedGet);

AuditEvent SampleEvent(int i) {
  AuditEvent e;
  e.tenant_id = "ten_3ce2db9c0b191aa1db242a68";
  e.actor = {"integration", "key_01451eb43dcb0f33057efc33", "api 127.0.0.1", "req_ea12619c5392e67a3fca37e4"};
  e.action = "message.read";
  // 100,000 subjects, 64 random hex digits like real pseudonyms: a batch
  // mentions about as many subjects as it has entries.
  static const std::vector<std::string> kSubjects = [] {
    std::vector<std::string> all;
    for (int s = 0; s < 100000; ++s) all.push_back("sub_" + HexEncode(Sha256({std::to_string(s)})));
    return all;
  }();
  e.subject = kSubjects[(static_cast<unsigned>(i) * 2654435761u) % kSubjects.size()];
  e.purpose = "support";
  e.resource = "message:msg_" + std::to_string(i);
  return e;
}

// A fresh ledger database per benchmark run: appends committed in batches of
// `state.range(0)` entries per transaction (one fsync each).
struct AuditFixture {
  explicit AuditFixture(const std::string& name) {
    dir = std::filesystem::temp_directory_path().string() + "/consentry_bench_" + name + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(OpenSqliteStore({dir + "/db", 5000, true, 2})).value();
    (void)store->Migrate();
    signer = std::move(AuditSigner::LoadOrCreate(dir + "/key.pem")).value();
  }
  ~AuditFixture() { std::filesystem::remove_all(dir); }
  // Appends `n` entries in blocks of 1,000 (one transaction each), as the
  // AuditWriter commits them (AuditWriterOptions::max_batch).
  void Fill(int64_t n) {
    std::vector<AuditEvent> batch(1000);
    for (int64_t done = 0; done < n; done += 1000) {
      for (int i = 0; i < 1000; ++i) batch[static_cast<size_t>(i)] = SampleEvent(static_cast<int>(done) + i);
      (void)store->InTransaction([&](StoreTransaction& tx) { return ledger.Append(tx.audit(), batch); });
    }
  }
  std::string dir;
  SystemClock clock;
  AuditLedger ledger{clock};
  std::unique_ptr<Store> store;
  std::unique_ptr<AuditSigner> signer;
};

void BM_AuditAppendBatched(benchmark::State& state) {
  AuditFixture f("append");
  std::vector<AuditEvent> batch;
  for (int i = 0; i < state.range(0); ++i) batch.push_back(SampleEvent(i));
  for (auto _ : state) {
    Status s = f.store->InTransaction([&](StoreTransaction& tx) { return f.ledger.Append(tx.audit(), batch); });
    if (!s.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AuditAppendBatched)->Arg(1)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AuditVerify(benchmark::State& state) {
  AuditFixture f("verify");
  f.Fill(state.range(0));
  (void)SealLedger(*f.store, *f.signer, f.clock);
  (void)IndexLedger(*f.store);
  for (auto _ : state) {
    auto report = VerifyStoredLedger(*f.store, f.signer->public_key(), {});
    if (!report.ok() || !report->ok || report->indexed != state.range(0)) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AuditVerify)->Arg(200000)->Unit(benchmark::kMillisecond);

// The ledger alone (chain, leaf hashes, Merkle roots, signatures), without
// the search index check: what an auditor's offline verification does.
void BM_AuditVerifyLedger(benchmark::State& state) {
  AuditFixture f("verify_ledger");
  f.Fill(state.range(0));
  (void)SealLedger(*f.store, *f.signer, f.clock);
  for (auto _ : state) {
    auto report = VerifyStoredLedger(*f.store, f.signer->public_key(), {}, {}, /*check_index=*/false);
    if (!report.ok() || !report->ok) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AuditVerifyLedger)->Arg(200000)->Unit(benchmark::kMillisecond);

// The search index built after commit (off the append path) over
// state.range(0) entries in 1,000-entry blocks: rebuilt from scratch each
// iteration, so every posting is inserted.
void BM_AuditIndex(benchmark::State& state) {
  AuditFixture f("index");
  f.Fill(state.range(0));
  for (auto _ : state) {
    if (!RebuildSearchIndex(*f.store).ok()) state.SkipWithError("indexing failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AuditIndex)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime();

// An inclusion proof of a random entry in a sealed ledger of state.range(0)
// entries: stored Merkle nodes plus at most a few hundred leaves per level.
void BM_AuditProveInclusion(benchmark::State& state) {
  AuditFixture f("prove");
  f.Fill(state.range(0));
  (void)SealLedger(*f.store, *f.signer, f.clock);
  int64_t i = 0;
  for (auto _ : state) {
    auto proof = ProveInclusion(*f.store, 1 + (i++ * 7919) % state.range(0), 0);
    if (!proof.ok()) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_AuditProveInclusion)->Arg(1000000)->Unit(benchmark::kMillisecond);

// Issue 5's target: encrypt + decrypt of a 200-byte field >= 400,000/s per core.
void BM_FieldSealOpen200(benchmark::State& state) {
  CryptoRandom random;
  AeadKey key = std::move(AeadKey::Create(SecretString(std::string(32, 'k')), 1)).value();
  const std::string plaintext(200, 'x');
  const FieldBinding binding{"ten_3ce2db9c0b191aa1db242a68", "sub_4f1c2a9e8b7d6c5b", "msg_1", "text"};
  for (auto _ : state) {
    auto c = Seal(key, plaintext, binding, random);
    auto p = Open(key, *c, binding);
    if (!p.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FieldSealOpen200);

// The same through the keyring, as the gateway seals: the subject's data key
// from the in-memory cache (issue 5 counts the data-key cache in).
void BM_KeyringSealOpen200(benchmark::State& state) {
  AuditFixture f("keyring");
  (void)f.store->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt});
  CryptoRandom random;
  std::unique_ptr<Kms> kms = CreateLocalKms(SecretString(std::string(32, 'm')), random);
  TenantKeyring keyring(*f.store, *kms, random);
  const std::string plaintext(200, 'x');
  const std::string subject = "sub_" + std::string(64, 'a');
  const FieldBinding binding{"ten_a", subject, "msg_1", "payload"};
  for (auto _ : state) {
    auto c = keyring.Seal("ten_a", plaintext, binding);
    auto p = keyring.Open("ten_a", *c, binding);
    if (!p.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_KeyringSealOpen200);

// The send gate's consent check (CONS-03/04) against a ledger of
// state.range(0) subjects (90 % active), with three notice versions of
// which the second requires re-consent (CONS-09: every check compares the
// consent's notice with it). Cold: each subject's first check, one SQLite
// read. Warm: the dispatch-time re-check of a subject already checked at
// acceptance, answered from the in-memory index.
enum class IndexState { kCold, kWarm, kPreloaded };

void ConsentCheck(benchmark::State& state, IndexState index) {
  AuditFixture f("consent");
  (void)f.store->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt});
  const int64_t n = state.range(0);
  GroupCommitter commits(*f.store);
  ConsentService consent(*f.store, commits, f.ledger, f.clock);
  for (const char* version : {"v1", "v2", "v3"}) {
    Notice notice;
    notice.tenant_id = "ten_a";
    notice.version = version;
    notice.language = "en";
    notice.text = std::string("notice ") + version;
    notice.info_message = "https://a.example/privacy";
    notice.requires_reconsent = std::string(version) == "v2";
    if (!consent.notices().Publish(AuditActor::System(), notice).ok()) state.SkipWithError("publish failed");
  }
  auto subject = [](int64_t i) { return "sub_" + std::to_string(1000000000 + i); };
  (void)f.store->InTransaction([&](StoreTransaction& tx) -> Status {
    for (int64_t i = 0; i < n; ++i) {
      ConsentRecord c;
      c.tenant_id = "ten_a";
      c.subject = subject(i);
      c.purpose_id = "marketing";
      c.state = i % 10 == 0 ? "withdrawn" : "active";
      c.notice_version = i % 5 == 0 ? "v1" : "v3";  // some predate the re-consent notice
      CS_RETURN_IF_ERROR(tx.consents().PutConsent(c, 0));
    }
    return Status::Ok();
  });
  if (index == IndexState::kWarm) {
    for (int64_t i = 0; i < n; ++i) (void)consent.IsActive("ten_a", subject(i), "marketing");
  }
  if (index == IndexState::kPreloaded) {
    auto start = std::chrono::steady_clock::now();
    if (!consent.Preload("ten_a").ok()) state.SkipWithError("preload failed");
    state.counters["preload_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  int64_t i = 0;
  for (auto _ : state) {
    auto active = consent.IsActive("ten_a", subject((i * 7919) % n), "marketing");
    benchmark::DoNotOptimize(active);
    ++i;
  }
}
// Preloaded: a subject's first check after the background preload that
// `serve` runs at start (the first message of a campaign to a million).
void BM_ConsentCheckCold(benchmark::State& state) { ConsentCheck(state, IndexState::kCold); }
void BM_ConsentCheckWarm(benchmark::State& state) { ConsentCheck(state, IndexState::kWarm); }
void BM_ConsentCheckPreloaded(benchmark::State& state) { ConsentCheck(state, IndexState::kPreloaded); }
BENCHMARK(BM_ConsentCheckCold)->Arg(1000000)->Unit(benchmark::kMicrosecond)->Iterations(50000);
BENCHMARK(BM_ConsentCheckWarm)->Arg(1000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ConsentCheckPreloaded)->Arg(1000000)->Unit(benchmark::kMicrosecond)->Iterations(50000);

// Issue 5's target: erasing a subject <= 10 ms at 1 million subjects. Each
// iteration erases another subject that has a key, an inbound message and a
// consent: four durable transactions (synchronous=FULL), the journal, the
// key, the rows, the audit entries.
void BM_EraseSubject(benchmark::State& state) {
  AuditFixture f("erase");
  (void)f.store->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt});
  const int64_t n = state.range(0);
  auto subject = [](int64_t i) { return "sub_" + HexEncode(Sha256({std::to_string(i)})); };
  (void)f.store->InTransaction([&](StoreTransaction& tx) -> Status {
    for (int64_t i = 0; i < n; ++i) {
      SubjectKeyRecord k{"ten_a", subject(i), 1, std::string(60, 'w'), 1, std::nullopt};
      CS_RETURN_IF_ERROR(tx.vault().InsertSubjectKey(k).status());
      if (i % 100 != 0) continue;
      ConsentRecord c;
      c.tenant_id = "ten_a";
      c.subject = k.subject;
      c.purpose_id = "marketing";
      c.state = "active";
      CS_RETURN_IF_ERROR(tx.consents().PutConsent(c, 0));
    }
    return Status::Ok();
  });
  CryptoRandom random;
  std::unique_ptr<Kms> kms = CreateLocalKms(SecretString(std::string(32, 'm')), random);
  TenantKeyring keyring(*f.store, *kms, random);
  GroupCommitter commits(*f.store);
  ConsentService consent(*f.store, commits, f.ledger, f.clock);
  ErasureService erasure(*f.store, keyring, &consent, f.ledger, f.clock, random);
  int64_t i = 0;
  for (auto _ : state) {
    auto done = erasure.Erase("ten_a", subject((i * 100) % n), AuditActor::System());
    if (!done.ok() || done->step != "done") state.SkipWithError("erasure failed");
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EraseSubject)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(200);

// Tenant-key rotation (docs/erasure.md#rotating-a-tenant-key): one
// million subject keys wrapped under content key version 1, then the
// rotation and the re-wrap of all of them under version 2 (a page of 2,000
// per transaction, each row compare-and-swapped).
void BM_RewrapSubjectKeys(benchmark::State& state) {
  std::unique_ptr<AuditFixture> fixture;  // torn down outside the timed part
  for (auto _ : state) {
    state.PauseTiming();
    fixture.reset();
    fixture = std::make_unique<AuditFixture>("rewrap");
    AuditFixture& f = *fixture;
    (void)f.store->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt});
    CryptoRandom random;
    std::unique_ptr<Kms> kms = CreateLocalKms(SecretString(std::string(32, 'm')), random);
    const std::string content_bytes(32, 'c');
    (void)f.store->messaging().InsertTenantKey(
        "ten_a", "pepper", *kms->Wrap(SecretString(std::string(32, 'p')), TenantKeyContext("ten_a", "pepper")));
    (void)f.store->messaging().InsertTenantKey("ten_a", "content",
                                               *kms->Wrap(SecretString(content_bytes), TenantKeyContext("ten_a", "content")));
    AeadKey content = std::move(AeadKey::Create(SecretString(content_bytes), 1)).value();
    const int64_t n = state.range(0);
    (void)f.store->InTransaction([&](StoreTransaction& tx) -> Status {
      for (int64_t i = 0; i < n; ++i) {
        const std::string subject = "sub_" + HexEncode(Sha256({std::to_string(i)}));
        CS_ASSIGN_OR_RETURN(std::string dek, random.Bytes(32));
        SubjectKeyRecord k{"ten_a", subject, 1, std::nullopt, 1, std::nullopt};
        CS_ASSIGN_OR_RETURN(k.wrapped, Seal(content, dek, FieldBinding{"ten_a", subject, "subject_key", "dek:1"}, random));
        CS_RETURN_IF_ERROR(tx.vault().InsertSubjectKey(k).status());
      }
      return Status::Ok();
    });
    TenantKeyring keyring(*f.store, *kms, random);
    state.ResumeTiming();
    (void)keyring.RotateContentKey("ten_a", f.ledger, AuditActor::System());
    auto counts = keyring.RewrapSubjectKeys("ten_a");
    if (!counts.ok() || counts->rewrapped != n) state.SkipWithError("re-wrap failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RewrapSubjectKeys)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

// Backups (docs/backup.md): one million subjects, each with a key and a
// 200-byte sealed-looking inbound row, so the database is a few hundred MB.
// Reports the whole CreateBackup (snapshot, keys archive, data archive)
// and PrepareRestore (decrypt, integrity check, keys back) in bytes/s of
// the database file.
struct BackupFixture {
  BackupFixture() : f("backup") {
    (void)f.store->tenants().Create(Tenant{"ten_a", "a", 1, std::nullopt, std::nullopt});
    (void)f.store->InTransaction([&](StoreTransaction& tx) -> Status {
      for (int64_t i = 0; i < kSubjects; ++i) {
        const std::string subject = "sub_" + HexEncode(Sha256({std::to_string(i)}));
        SubjectKeyRecord k{"ten_a", subject, 1, std::string(60, 'w'), 1, std::nullopt};
        CS_RETURN_IF_ERROR(tx.vault().InsertSubjectKey(k).status());
      }
      return Status::Ok();
    });
    kms = CreateLocalKms(SecretString(std::string(32, 'm')), random);
  }
  static constexpr int64_t kSubjects = 1000000;
  AuditFixture f;
  CryptoRandom random;
  std::unique_ptr<Kms> kms;
};

void BM_BackupCreate(benchmark::State& state) {
  BackupFixture b;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto set = CreateBackup(*b.f.store, *b.kms, b.random, b.f.clock, b.f.dir + "/backups", nullptr);
    if (!set.ok()) {
      state.SkipWithError(set.status().ToString().c_str());
      break;
    }
    bytes += set->data_bytes + set->keys_bytes;
    state.PauseTiming();
    std::filesystem::remove_all(b.f.dir + "/backups");
    state.ResumeTiming();
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_BackupCreate)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_BackupRestore(benchmark::State& state) {
  BackupFixture b;
  auto set = CreateBackup(*b.f.store, *b.kms, b.random, b.f.clock, b.f.dir + "/backups", nullptr);
  if (!set.ok()) {
    state.SkipWithError(set.status().ToString().c_str());
    return;
  }
  int64_t bytes = 0;
  for (auto _ : state) {
    RestorePlan plan;
    plan.data_archive = set->data_file;
    plan.keys_archive = set->keys_file;
    plan.target_path = b.f.dir + "/restored.db";
    auto prepared = PrepareRestore(plan, *b.kms, nullptr);
    if (!prepared.ok() || prepared->subject_keys != BackupFixture::kSubjects) {
      state.SkipWithError("restore failed");
      break;
    }
    bytes += set->data_bytes + set->keys_bytes;
    state.PauseTiming();
    std::filesystem::remove(plan.target_path);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_BackupRestore)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace cs



BENCHMARK_MAIN();
