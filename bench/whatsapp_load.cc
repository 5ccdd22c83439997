// consentry_whatsapp_load: a load generator for the WhatsApp path, because
// wrk cannot sign each webhook body (HMAC) or vary its ids.
//
//   consentry_whatsapp_load webhooks URL APP_SECRET PNID SECONDS CONNECTIONS MESSAGES_PER_POST
//   consentry_whatsapp_load send URL API_KEY SECONDS CONNECTIONS
//
// `webhooks` POSTs signed, ~1 KB-per-message Meta deliveries with unique
// wamids to URL (a /webhooks/whatsapp/{channel} route) over keep-alive
// connections; `send` POSTs free-form replies to URL (a /v1/messages route). Bodies
// are prepared before the clock starts. Prints one JSON line: requests/s,
// messages/s, p50/p99/max latency in ms, and the count of non-2xx answers.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "whatsapp/wire.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Filler(size_t n) {
  std::string s;
  while (s.size() < n) s += "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
  s.resize(n);
  return s;
}

std::string Delivery(int conn, int64_t seq, int per_post, const std::string& pnid) {
  std::string messages;
  for (int i = 0; i < per_post; ++i) {
    if (i) messages += ",";
    std::string id = "wamid.L" + std::to_string(conn) + "x" + std::to_string(seq) + "x" + std::to_string(i);
    messages += R"({"from":"49176)" + std::to_string(10000000 + (seq * per_post + i) % 90000000) + R"(","id":")" + id +
                R"(","timestamp":")" + std::to_string(std::time(nullptr)) + R"(","type":"text","text":{"body":")" +
                Filler(800) + R"("}})";
  }
  std::string value = R"({"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":")" +
                      pnid + R"("},"contacts":[{"profile":{"name":"Load Test"},"wa_id":"4917600000000"}],"messages":[)" +
                      messages + "]}";
  return cs::whatsapp::WebhookEnvelope("100000000000001", "messages", value);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: see the file comment of bench/whatsapp_load.cc\n");
    return 2;
  }
  const std::string mode = argv[1];
  const bool webhooks = mode == "webhooks";
  if ((webhooks && argc != 8) || (!webhooks && (mode != "send" || argc != 6))) {
    std::fprintf(stderr, "usage: see the file comment of bench/whatsapp_load.cc\n");
    return 2;
  }
  const std::string url = argv[2];
  const std::string secret = argv[3];
  const std::string pnid = webhooks ? argv[4] : "";
  const int seconds = std::atoi(argv[webhooks ? 5 : 4]);
  const int connections = std::atoi(argv[webhooks ? 6 : 5]);
  const int per_post = webhooks ? std::atoi(argv[7]) : 1;

  std::atomic<int64_t> ok{0}, bad{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  std::atomic<bool> go{false};
  std::atomic<int> ready{0};
  Clock::time_point deadline;
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      cs::HttpClientOptions o;
      o.timeout_ms = 30000;
      auto client = cs::CreateHttpClient(o);
      std::vector<double>& lat = latencies[static_cast<size_t>(c)];
      lat.reserve(1 << 20);
      // Prepared ahead: generation and signing are not what is measured.
      std::vector<std::pair<std::string, std::string>> bodies;
      // Free-form replies to the first 64 senders of the webhook phase, whose
      // 24-hour windows that phase opened (a template would need a consent).
      auto reply = [](int n) {
        return R"({"to":"+49176)" + std::to_string(10000000 + n % 64) +
               R"(","type":"text","text":{"body":"Your order 4471 has shipped and arrives on Tuesday."}})";
      };
      // About 200 MB of bodies in all, whatever the batch size.
      const int prepared = webhooks ? std::max(100, 200000 / (per_post * connections)) : 64;
      for (int i = 0; i < prepared; ++i) {
        std::string b = webhooks ? Delivery(c, i, per_post, pnid) : reply(c * 7 + i);
        bodies.emplace_back(b, webhooks ? cs::whatsapp::HubSignature(secret, b) : "");
      }
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (int64_t i = 0; Clock::now() < deadline; ++i) {
        const auto& [body, sig] = bodies[static_cast<size_t>(i % prepared)];
        if (webhooks && i >= prepared) break;  // never replay: duplicates are cheaper than new messages
        cs::HeaderList headers = {{"Content-Type", "application/json"}};
        if (webhooks) headers.emplace_back("X-Hub-Signature-256", sig);
        else headers.emplace_back("Authorization", "Bearer " + secret);
        auto t0 = Clock::now();
        auto r = client->Send("POST", url, headers, body);
        lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (r.ok() && r->status / 100 == 2) {
          ++ok;
        } else if (bad++ == 0) {
          // The first failure only: enough to tell a refusal from a transport error.
          std::fprintf(stderr, "first failure: %s\n",
                       r.ok() ? ("HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200)).c_str()
                              : r.status().ToString().c_str());
        }
      }
    });
  }
  while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto start = Clock::now();
  deadline = start + std::chrono::seconds(seconds);
  go = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  std::printf(
      "{\"mode\":\"%s\",\"seconds\":%.2f,\"connections\":%d,\"messages_per_post\":%d,\"requests_per_s\":%.0f,"
      "\"messages_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"non_2xx\":%lld}\n",
      mode.c_str(), elapsed, connections, per_post, static_cast<double>(ok.load()) / elapsed,
      static_cast<double>(ok.load()) * per_post / elapsed, pct(0.5), pct(0.99), all.empty() ? 0.0 : all.back(),
      static_cast<long long>(bad.load()));
  return 0;
}
