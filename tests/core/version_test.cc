#include "core/version.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace geocache {
namespace {

TEST(HlcTest, FollowsWallClockWhenItMovesForward) {
  ManualClock clock(1'000);
  Hlc hlc(&clock);
  EXPECT_EQ(hlc.now(), Hlc::pack(1'000, 0));
  clock.advance_ms(5);
  EXPECT_EQ(hlc.now(), Hlc::pack(1'005, 0));
}

TEST(HlcTest, BumpsLogicalCounterWithinOneMillisecond) {
  ManualClock clock(1'000);
  Hlc hlc(&clock);
  EXPECT_EQ(hlc.now(), Hlc::pack(1'000, 0));
  EXPECT_EQ(hlc.now(), Hlc::pack(1'000, 1));
  EXPECT_EQ(hlc.now(), Hlc::pack(1'000, 2));
}

TEST(HlcTest, StaysMonotonicWhenClockGoesBackwards) {
  ManualClock clock(10'000);
  Hlc hlc(&clock);
  const uint64_t before = hlc.now();
  clock.set_ms(9'000);  // NTP step back
  const uint64_t a = hlc.now();
  const uint64_t b = hlc.now();
  EXPECT_GT(a, before);
  EXPECT_GT(b, a);
  // Still anchored to the highest wall time seen, not the stepped-back one.
  EXPECT_EQ(a >> 16, 10'000u);
}

TEST(HlcTest, ResumesWallTimeOnceClockCatchesUp) {
  ManualClock clock(10'000);
  Hlc hlc(&clock);
  hlc.now();
  clock.set_ms(9'000);
  hlc.now();
  clock.set_ms(10'001);
  EXPECT_EQ(hlc.now(), Hlc::pack(10'001, 0));
}

TEST(HlcTest, ObserveMakesLaterLocalTimestampsExceedRemote) {
  ManualClock clock(1'000);
  Hlc hlc(&clock);
  const uint64_t remote = Hlc::pack(50'000, 7);  // a region whose clock runs ahead
  hlc.observe(remote);
  EXPECT_EQ(hlc.last(), remote);
  const uint64_t next = hlc.now();
  EXPECT_GT(next, remote);
  EXPECT_GT(hlc.now(), next);
}

TEST(HlcTest, ObserveOfOlderTimestampChangesNothing) {
  ManualClock clock(1'000);
  Hlc hlc(&clock);
  const uint64_t mine = hlc.now();
  hlc.observe(Hlc::pack(500, 3));
  EXPECT_EQ(hlc.last(), mine);
}

TEST(VersionTest, OrdersByHlcFirst) {
  const Version older{Hlc::pack(1'000, 0), 9};
  const Version newer{Hlc::pack(1'000, 1), 1};
  EXPECT_LT(older, newer);
  EXPECT_GT(newer, older);
}

TEST(VersionTest, BreaksHlcTiesByRegion) {
  const Version a{Hlc::pack(1'000, 0), 1};
  const Version b{Hlc::pack(1'000, 0), 2};
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, (Version{Hlc::pack(1'000, 0), 1}));
}

TEST(VersionTest, ZeroIsBelowEveryRealVersion) {
  EXPECT_TRUE(Version::zero().is_zero());
  EXPECT_LT(Version::zero(), (Version{1, 0}));
  EXPECT_LT(Version::zero(), (Version{0, 1}));
  EXPECT_FALSE((Version{0, 1}).is_zero());
}

TEST(VersionTest, ExposesWallTimeAndPrintsReadably) {
  const Version v{Hlc::pack(123'456, 7), 3};
  EXPECT_EQ(v.wall_ms(), 123'456);
  EXPECT_EQ(v.to_string(), "123456.7@3");
}

}  // namespace
}  // namespace geocache
