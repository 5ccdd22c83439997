// File: rate_limiter.h
// Token buckets for request rate limits (SEC-09, TEN-06;
// docs/operators.md#rate-limits): one bucket per key (an API key, an
// operator, a tenant, a source address), refilled on the monotonic clock,
// so a wall-clock step neither frees nor blocks anything.
//
// Limits are per process: with several gateway nodes each enforces its
// own, and the effective limit is the sum (written down in the docs).
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "env/env.h"

namespace cs {

struct RateLimit {
  double per_second = 0;  // refill rate; 0 = unlimited
  double burst = 0;       // bucket size: what may come at once
};

class RateLimiter {
 public:
  // `max_buckets` bounds memory: when reached, full (idle) buckets are dropped first.
  explicit RateLimiter(const Clock& clock, size_t max_buckets = 100'000) : clock_(clock), max_buckets_(max_buckets) {}

  // Takes one token from `key`'s bucket under `limit`: 0 when admitted, else
  // how many milliseconds until a token is there (nothing is taken).
  int64_t Take(const std::string& key, const RateLimit& limit);

  size_t buckets() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t refilled_ns = 0;
    double burst = 0;
    double per_second = 0;
  };
  void Sweep(int64_t now_ns);  // mu_ held

  const Clock& clock_;
  const size_t max_buckets_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace cs
