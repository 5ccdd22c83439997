#include "server/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace cs {
namespace {

// Jobs follow the monotonic clock: each runs once per period, a late one
// runs once (no burst), and the wall clock set back an hour or forward a
// day neither runs nor holds back anything.
// covers: F-19
TEST(SchedulerTest, JobsRunOncePerPeriodOfTheMonotonicClock) {
  FakeClock clock(1'800'000'000'000);
  Scheduler scheduler(clock);
  int minute = 0, hour = 0;
  scheduler.Every("minute", 60'000, [&] { ++minute; });
  scheduler.Every("hour", 3'600'000, [&] { ++hour; }, /*at_start=*/true);
  EXPECT_EQ(scheduler.RunDue(), 1);  // the hourly job runs at start
  EXPECT_EQ(hour, 1);
  clock.AdvanceMillis(59'000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.AdvanceMillis(1'000);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(minute, 1);
  clock.JumpWallMillis(86'400'000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  clock.JumpWallMillis(-86'400'000 - 3'600'000);
  EXPECT_EQ(scheduler.RunDue(), 0);
  // Five minutes late: once, not five times.
  clock.AdvanceMillis(5 * 60'000);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(minute, 2);
  clock.AdvanceMillis(60'000);
  EXPECT_EQ(scheduler.RunDue(), 1);
  EXPECT_EQ(minute, 3);
  EXPECT_EQ(hour, 1);
}

TEST(SchedulerTest, TheThreadRunsDueJobsAndStopsCleanly) {
  Scheduler scheduler(RealClock(), /*poll_ms=*/5);
  std::atomic<int> runs{0};
  scheduler.Every("fast", 10, [&] { ++runs; }, /*at_start=*/true);
  scheduler.Start();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (runs.load() < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  scheduler.Stop();
  const int stopped_at = runs.load();
  EXPECT_GE(stopped_at, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(runs.load(), stopped_at);  // nothing after Stop()
}

}  // namespace
}  // namespace cs
