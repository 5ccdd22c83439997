// Token buckets (rate_limiter.h).
#include "limits/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cs {

int64_t RateLimiter::Take(const std::string& key, const RateLimit& limit) {
  if (limit.per_second <= 0) return 0;
  const int64_t now = clock_.MonotonicNanos();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_buckets_) Sweep(now);
    it = buckets_.emplace(key, Bucket{std::max(1.0, limit.burst), now, std::max(1.0, limit.burst), limit.per_second})
             .first;
  }
  Bucket& b = it->second;
  b.burst = std::max(1.0, limit.burst);
  b.per_second = limit.per_second;
  b.tokens = std::min(b.burst, b.tokens + static_cast<double>(now - b.refilled_ns) / 1e9 * b.per_second);
  b.refilled_ns = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<int64_t>(std::ceil((1.0 - b.tokens) / b.per_second * 1000.0));
}

size_t RateLimiter::buckets() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

void RateLimiter::Sweep(int64_t now_ns) {
  // A bucket that would be full by now holds nothing worth remembering.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    const double tokens = b.tokens + static_cast<double>(now_ns - b.refilled_ns) / 1e9 * b.per_second;
    it = tokens >= b.burst ? buckets_.erase(it) : std::next(it);
  }
  // Still full of active buckets: the oldest refill goes (its owner was quiet longest).
  while (buckets_.size() >= max_buckets_) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](const auto& a, const auto& b) {
      return a.second.refilled_ns < b.second.refilled_ns;
    });
    buckets_.erase(oldest);
  }
}

}  // namespace cs
