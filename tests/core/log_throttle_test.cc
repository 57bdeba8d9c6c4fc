// LogThrottle: one line per interval, the rest counted.
#include "core/log_throttle.h"

#include <gtest/gtest.h>

namespace geocache {
namespace {

TEST(LogThrottle, LetsTheFirstLineThroughThenOnePerInterval) {
  LogThrottle throttle(60'000);
  uint64_t held = 99;
  EXPECT_TRUE(throttle.allow(1'000'000, &held));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(throttle.allow(1'000'001));
  EXPECT_FALSE(throttle.allow(1'059'999));
  EXPECT_TRUE(throttle.allow(1'060'000, &held));
  EXPECT_EQ(held, 2u);  // the two refused in between
  EXPECT_FALSE(throttle.allow(1'060'000));
}

TEST(LogThrottle, AClockSteppedBackDoesNotMuteTheLog) {
  LogThrottle throttle(60'000);
  EXPECT_TRUE(throttle.allow(10'000'000));
  EXPECT_FALSE(throttle.allow(9'990'000));  // a small step back: still throttled
  EXPECT_TRUE(throttle.allow(5'000'000));   // an hour back: the interval restarts from there
  EXPECT_FALSE(throttle.allow(5'000'001));
}

}  // namespace
}  // namespace geocache
