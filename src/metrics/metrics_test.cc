#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace cs {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndHistograms) {
  MetricsRegistry m;
  m.Declare("req_total", MetricsRegistry::Type::kCounter, "Requests.");
  m.Declare("up", MetricsRegistry::Type::kGauge, "Up.");
  m.Declare("lat_seconds", MetricsRegistry::Type::kHistogram, "Latency.", {0.01, 0.1});
  m.Add("req_total", {{"route", "/v1/x"}, {"status", "200"}});
  m.Add("req_total", {{"route", "/v1/x"}, {"status", "200"}}, 2);
  m.Set("up", {}, 1);
  m.Observe("lat_seconds", {{"route", "/a"}}, 0.005);
  m.Observe("lat_seconds", {{"route", "/a"}}, 0.05);
  m.Observe("lat_seconds", {{"route", "/a"}}, 5);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE req_total counter\nreq_total{route=\"/v1/x\",status=\"200\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("up 1\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"0.01\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count{route=\"/a\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, EscapesLabelValues) {
  MetricsRegistry m;
  m.Declare("c", MetricsRegistry::Type::kCounter, "C.");
  m.Add("c", {{"l", "a\"b\\c\nd"}});
  EXPECT_NE(m.RenderPrometheus().find("c{l=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
}

TEST(MetricsTest, CountsFromManyThreads) {
  MetricsRegistry m;
  m.Declare("c", MetricsRegistry::Type::kCounter, "C.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i) m.Add("c", {});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NE(m.RenderPrometheus().find("c 40000\n"), std::string::npos);
}

}  // namespace
}  // namespace cs
