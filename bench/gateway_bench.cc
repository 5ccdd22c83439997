// Micro-benchmarks of the request path pieces, and of one whole
// authenticated GET handled in-process (no sockets). Run:
//   build/release/bench/consentry_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "api/api.h"
#include "auth/auth.h"
#include "common/json_writer.h"
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
    (void)store->tenants().Create({"ten_bench", "bench", 0});
    keys = std::make_unique<ApiKeyService>(store->api_keys(), store->tenants(), clock, random, ApiKeyPolicy{});
    IssuedKey k = std::move(keys->Create("ten_bench", "bench", {"admin"}, {})).value();
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

}  // namespace
}  // namespace cs

BENCHMARK_MAIN();
