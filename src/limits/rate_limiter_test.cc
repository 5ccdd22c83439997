#include "limits/rate_limiter.h"

#include <gtest/gtest.h>

namespace cs {
namespace {

// covers: SEC-09
TEST(RateLimiterTest, ABurstThenTheRateAndTheWaitToTheNextToken) {
  FakeClock clock(1'800'000'000'000);
  RateLimiter limiter(clock);
  const RateLimit limit{2, 4};  // 2 per second, 4 at once
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.Take("key:a", limit), 0) << i;
  EXPECT_EQ(limiter.Take("key:a", limit), 500);  // half a second to the next token
  EXPECT_EQ(limiter.Take("key:b", limit), 0);    // another key has its own bucket
  clock.AdvanceMillis(500);
  EXPECT_EQ(limiter.Take("key:a", limit), 0);
  EXPECT_GT(limiter.Take("key:a", limit), 0);
  // Unlimited when no rate is set.
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("key:c", RateLimit{}), 0);
}

// A step of the wall clock neither refills nor empties a bucket (F-19).
// covers: F-19, SEC-09
TEST(RateLimiterTest, TheWallClockStepChangesNothing) {
  FakeClock clock(1'800'000'000'000);
  RateLimiter limiter(clock);
  const RateLimit limit{1, 1};
  EXPECT_EQ(limiter.Take("k", limit), 0);
  clock.JumpWallMillis(86'400'000);
  EXPECT_GT(limiter.Take("k", limit), 0);
  clock.JumpWallMillis(-2 * 86'400'000);
  EXPECT_GT(limiter.Take("k", limit), 0);
  clock.AdvanceMillis(1000);
  EXPECT_EQ(limiter.Take("k", limit), 0);
}

TEST(RateLimiterTest, MemoryIsBoundedIdleBucketsFirst) {
  FakeClock clock(1'800'000'000'000);
  RateLimiter limiter(clock, 2);
  const RateLimit limit{1, 2};
  limiter.Take("busy", limit);
  limiter.Take("busy", limit);  // empty: remembered
  limiter.Take("idle1", limit);
  clock.AdvanceMillis(5000);
  limiter.Take("busy", limit);
  limiter.Take("busy", limit);
  limiter.Take("new", limit);  // the full bucket of idle1 goes, busy stays
  EXPECT_EQ(limiter.buckets(), 2u);
  EXPECT_GT(limiter.Take("busy", limit), 0);
}

}  // namespace
}  // namespace cs
