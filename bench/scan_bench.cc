// Scanner throughput on chat-sized messages, validation on (issue 7 target:
// >= 100 MB/s per core). Run: build/release/bench/consentry_scan_bench
// Figures and method: docs/scan.md.
#include <benchmark/benchmark.h>

#include "scan/eval_corpus.h"

namespace {

const cs::scan::Scanner& TheScanner() {
  static std::unique_ptr<cs::scan::Scanner> s = std::move(cs::scan::Scanner::Create()).value();
  return *s;
}

void Run(benchmark::State& state, const std::vector<cs::scan::LabelledMessage>& set) {
  const cs::scan::Scanner& scanner = TheScanner();
  size_t bytes = 0, i = 0, findings = 0;
  for (auto _ : state) {
    const std::string& text = set[i++ % set.size()].text;
    auto f = scanner.Scan(text);
    findings += f.size();
    benchmark::DoNotOptimize(f);
    bytes += text.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
  state.counters["findings_per_msg"] = static_cast<double>(findings) / static_cast<double>(state.iterations());
}

// Everyday traffic: mostly ordinary chat, some look-alike numbers, a few
// messages with personal data.
void BM_ScanChatMix(benchmark::State& state) {
  static const auto set = cs::scan::GenerateEvaluationSet(7, 150, 1000, 18000);
  Run(state, set);
}
BENCHMARK(BM_ScanChatMix);

// Chat-sized messages as the issue counts them (about 128 bytes: 4.6 MB/s
// was 36,000 messages/s): four generated messages joined, so one in ten or
// so holds a value or a look-alike.
void BM_ScanChat128(benchmark::State& state) {
  static const auto set = [] {
    auto parts = cs::scan::GenerateEvaluationSet(11, 300, 2000, 30000);
    std::vector<cs::scan::LabelledMessage> joined;
    for (size_t i = 0; i + 4 <= parts.size(); i += 4) {
      cs::scan::LabelledMessage m;
      m.text = parts[i].text + " " + parts[i + 1].text + " " + parts[i + 2].text + " " + parts[i + 3].text;
      joined.push_back(std::move(m));
    }
    return joined;
  }();
  Run(state, set);
}
BENCHMARK(BM_ScanChat128);

// The labelled evaluation set itself: every message has a value or a decoy.
void BM_ScanSensitiveHeavy(benchmark::State& state) {
  static const auto set = cs::scan::GenerateEvaluationSet(7, 1000, 3000, 0);
  Run(state, set);
}
BENCHMARK(BM_ScanSensitiveHeavy);

// Long free text (an e-mail pasted into a chat): 4 KiB with a card at the end.
void BM_ScanLongMessage(benchmark::State& state) {
  std::string text;
  while (text.size() < 4000) text += "Bonjour, je vous écris au sujet de ma commande du mois dernier, merci. ";
  text += "4111 1111 1111 1111";
  static const std::vector<cs::scan::LabelledMessage> set = {{cs::scan::LabelledMessage::Kind::kPositive, text, {}, ""}};
  Run(state, set);
}
BENCHMARK(BM_ScanLongMessage);

}  // namespace

BENCHMARK_MAIN();
