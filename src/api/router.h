// File: router.h (internal to api/)
// Matches "METHOD /path" against patterns with {param} segments.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cs::api_internal {

template <typename Payload>
class Router {
 public:
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Payload* payload = nullptr;
    std::string pattern;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // for kMethodNotAllowed
  };

  void Add(std::string method, std::string pattern, Payload payload) {
    routes_.push_back({std::move(method), pattern, SplitPath(pattern), std::move(payload)});
  }

  Match Find(std::string_view method, std::string_view path) const {
    Match m;
    std::vector<std::string> segments = SplitPath(path);
    for (const auto& r : routes_) {
      std::map<std::string, std::string> params;
      if (!Matches(r.segments, segments, params)) continue;
      if (r.method != method) {
        m.outcome = Outcome::kMethodNotAllowed;
        m.allowed.push_back(r.method);
        m.pattern = r.pattern;
        continue;
      }
      m.outcome = Outcome::kFound;
      m.payload = &r.payload;
      m.pattern = r.pattern;
      m.params = std::move(params);
      m.allowed.clear();
      return m;
    }
    return m;
  }

  struct Entry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Payload payload;
  };
  const std::vector<Entry>& entries() const { return routes_; }

 private:
  // "/a/b" → {"a","b"}; empty segments ("/a//b", "/a/") are kept so they never match.
  static std::vector<std::string> SplitPath(std::string_view path) {
    std::vector<std::string> out;
    size_t start = path.empty() || path.front() != '/' ? 0 : 1;
    while (true) {
      size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) {
        out.emplace_back(path.substr(start));
        return out;
      }
      out.emplace_back(path.substr(start, slash - start));
      start = slash + 1;
    }
  }

  static bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
                      std::map<std::string, std::string>& params) {
    if (pattern.size() != segments.size()) return false;
    for (size_t i = 0; i < pattern.size(); ++i) {
      const std::string& p = pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segments[i].empty()) return false;
        params[p.substr(1, p.size() - 2)] = segments[i];
      } else if (p != segments[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<Entry> routes_;
};

}  // namespace cs::api_internal
