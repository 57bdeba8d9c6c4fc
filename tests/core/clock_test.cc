#include "core/clock.h"

#include <gtest/gtest.h>

namespace geocache {
namespace {

TEST(ManualClockTest, StandsStillUntilMoved) {
  ManualClock clock(5'000);
  EXPECT_EQ(clock.now_ms(), 5'000);
  EXPECT_EQ(clock.now_ms(), 5'000);
  clock.advance_ms(250);
  EXPECT_EQ(clock.now_ms(), 5'250);
}

TEST(ManualClockTest, CanBeSetBackwardsLikeAnNtpStep) {
  ManualClock clock(5'000);
  clock.set_ms(4'000);
  EXPECT_EQ(clock.now_ms(), 4'000);
  clock.advance_ms(-1);
  EXPECT_EQ(clock.now_ms(), 3'999);
}

TEST(ManualClockTest, MicrosecondsAreItsMillisecondsScaled) {
  ManualClock clock(5'250);
  EXPECT_EQ(clock.now_us(), 5'250'000);
}

TEST(SystemClockTest, MicrosecondsAgreeWithMilliseconds) {
  const SystemClock& clock = *SystemClock::instance();
  const int64_t before_ms = clock.now_ms();
  const int64_t us = clock.now_us();
  const int64_t after_ms = clock.now_ms();
  EXPECT_GE(us / 1000, before_ms);
  EXPECT_LE(us / 1000, after_ms);
}

TEST(SystemClockTest, IsOneSharedInstanceReadingUnixMilliseconds) {
  EXPECT_EQ(SystemClock::instance(), SystemClock::instance());
  // Any time after this code was written (2023-11-14) and before year 3000:
  // proves milliseconds since the Unix epoch, not seconds or microseconds.
  const int64_t now = SystemClock::instance()->now_ms();
  EXPECT_GT(now, 1'700'000'000'000);
  EXPECT_LT(now, 32'503'680'000'000);
}

}  // namespace
}  // namespace geocache
