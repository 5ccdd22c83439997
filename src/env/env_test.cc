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

}  // namespace
}  // namespace cs
