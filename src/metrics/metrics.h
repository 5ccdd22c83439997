// File: metrics.h
// An in-process metrics registry rendered in the Prometheus text format
// (version 0.0.4) at /metrics.
//
// Labels carry only bounded, non-personal values chosen in code (route
// templates, methods, status codes), never raw paths or identifiers of
// subjects, so the series count stays bounded and nothing personal leaks.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cs {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Declares a family; its HELP and TYPE lines are rendered even before the
  // first sample. Histograms use `buckets` (upper bounds, ascending).
  void Declare(std::string name, Type type, std::string help, std::vector<double> buckets = {});

  // Adds `by` to a counter (declared as kCounter).
  void Add(std::string_view name, const MetricLabels& labels, double by = 1);
  // Sets a gauge.
  void Set(std::string_view name, const MetricLabels& labels, double value);
  // Records one observation in a histogram.
  void Observe(std::string_view name, const MetricLabels& labels, double value);

  // Returns all families in the Prometheus text exposition format.
  std::string RenderPrometheus() const;

 private:
  struct Series {
    double value = 0;                 // counter or gauge
    std::vector<uint64_t> buckets;    // histogram: cumulative counts rendered at output
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Type type = Type::kCounter;
    std::string help;
    std::vector<double> bounds;
    std::map<std::string, Series> series;  // key: rendered label set "{a="b"}"
  };
  static std::string RenderLabels(const MetricLabels& labels);
  Series& SeriesFor(std::string_view name, const MetricLabels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;  // guarded by mu_
};

}  // namespace cs
