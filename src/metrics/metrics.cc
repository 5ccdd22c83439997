#include "metrics/metrics.h"

#include <cmath>
#include <cstdio>

namespace cs {

namespace {

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void AppendEscapedLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
}

}  // namespace

void MetricsRegistry::Declare(std::string name, Type type, std::string help, std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[std::move(name)];
  f.type = type;
  f.help = std::move(help);
  f.bounds = std::move(buckets);
}

std::string MetricsRegistry::RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    AppendEscapedLabelValue(out, labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

MetricsRegistry::Series& MetricsRegistry::SeriesFor(std::string_view name, const MetricLabels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  Series& s = it->second.series[RenderLabels(labels)];
  if (it->second.type == Type::kHistogram && s.buckets.size() != it->second.bounds.size()) {
    s.buckets.assign(it->second.bounds.size(), 0);
  }
  return s;
}

void MetricsRegistry::Add(std::string_view name, const MetricLabels& labels, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  SeriesFor(name, labels).value += by;
}

void MetricsRegistry::Set(std::string_view name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  SeriesFor(name, labels).value = value;
}

void MetricsRegistry::Observe(std::string_view name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return;  // histograms must be declared with their buckets
  Series& s = SeriesFor(name, labels);
  const auto& bounds = it->second.bounds;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (value <= bounds[i]) {
      ++s.buckets[i];
      break;
    }
  }
  s.sum += value;
  ++s.count;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != Type::kHistogram) {
        out += name + labels + " " + FormatNumber(s.value) + "\n";
        continue;
      }
      // Bucket lines need "le" inside the existing label set.
      std::string inner = labels.empty() ? "" : labels.substr(1, labels.size() - 2) + ",";
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += s.buckets[i];
        out += name + "_bucket{" + inner + "le=\"" + FormatNumber(f.bounds[i]) + "\"} " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket{" + inner + "le=\"+Inf\"} " + std::to_string(s.count) + "\n";
      out += name + "_sum" + labels + " " + FormatNumber(s.sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace cs
