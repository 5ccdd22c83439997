#include "env/env.h"

#include <gtest/gtest.h>

#include <set>

namespace cs {
namespace {

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowUnixMillis(), 1000);
  clock.AdvanceMillis(250);
  EXPECT_EQ(clock.NowUnixMillis(), 1250);
}

// The system clock set back an hour or forward a day: the gateway's clock
// goes on with the time that really passed, and tells how far the system's
// stands from it.
// covers: F-19
TEST(SteadyWallClockTest, AStepOfTheSystemClockMovesNothingAndIsReported) {
  FakeClock system(1'800'000'000'000);
  SteadyWallClock clock(system);
  system.AdvanceMillis(1000);
  EXPECT_EQ(clock.NowUnixMillis(), 1'800'000'001'000);
  EXPECT_EQ(clock.OffsetMillis(), 0);
  system.JumpWallMillis(-3'600'000);
  system.AdvanceMillis(500);
  EXPECT_EQ(clock.NowUnixMillis(), 1'800'000'001'500);
  EXPECT_EQ(clock.OffsetMillis(), -3'600'000);
  system.JumpWallMillis(3'600'000 + 86'400'000);
  EXPECT_EQ(clock.NowUnixMillis(), 1'800'000'001'500);
  EXPECT_EQ(clock.OffsetMillis(), 86'400'000);
  EXPECT_EQ(clock.MonotonicNanos(), system.MonotonicNanos());
}

// covers: C-06
TEST(CryptoRandomTest, IdsAreDistinctAndWellFormed) {
  CryptoRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewId(random, "ten", 12);
    ASSERT_TRUE(id.ok());
    ASSERT_EQ(id->size(), 4u + 24u);
    ASSERT_EQ(id->substr(0, 4), "ten_");
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// Ids of records written at a high rate grow with time, so their index is
// appended to; they keep the shape of the random ones and stay unique.
TEST(EnvTest, TimeOrderedIdsSortByTimeAndAreUnique) {
  CryptoRandom random;
  std::set<std::string> seen;
  std::string previous;
  for (int64_t ms = 1'700'000'000'000; ms < 1'700'000'000'000 + 1000; ++ms) {
    auto id = NewTimeOrderedId(random, "inm", ms);
    ASSERT_TRUE(id.ok());
    ASSERT_EQ(id->size(), 4u + 24u);
    ASSERT_EQ(id->substr(0, 4), "inm_");
    ASSERT_GT(*id, previous);  // a later millisecond sorts after
    previous = *id;
    seen.insert(*id);
    seen.insert(*NewTimeOrderedId(random, "inm", ms));  // the same millisecond: still distinct
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(NewTimeOrderedId(random, "msg", 0x0123456789ab)->substr(0, 16), "msg_0123456789ab");
}

}  // namespace
}  // namespace cs
