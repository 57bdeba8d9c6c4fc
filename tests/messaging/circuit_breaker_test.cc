#include "messaging/circuit_breaker.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/clock.h"

namespace geocache {
namespace {

using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : breaker_(options(), &clock_) {}
  static CircuitBreakerOptions options() {
    CircuitBreakerOptions o;
    o.failure_threshold = 3;
    o.open_interval_ms = 1000;
    o.half_open_probes = 2;
    return o;
  }
  void fail(int n) {
    for (int i = 0; i < n; ++i) breaker_.record_failure();
  }
  void open_then_wait_out_interval() {
    fail(3);
    clock_.advance_ms(1000);
    ASSERT_TRUE(breaker_.allow());
    ASSERT_EQ(breaker_.state(), State::kHalfOpen);
  }

  ManualClock clock_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, StartsClosedAndAllowsCalls) {
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_TRUE(breaker_.allow());
  EXPECT_EQ(breaker_.times_opened(), 0u);
}

TEST_F(CircuitBreakerTest, StaysClosedBelowFailureThreshold) {
  fail(2);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  fail(3);
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.times_opened(), 1u);
}

TEST_F(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  fail(2);
  breaker_.record_success();
  fail(2);
  EXPECT_EQ(breaker_.state(), State::kClosed);
  fail(1);
  EXPECT_EQ(breaker_.state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, StaysOpenUntilIntervalHasPassed) {
  fail(3);
  clock_.advance_ms(999);
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.state(), State::kOpen);
}

TEST_F(CircuitBreakerTest, GoesHalfOpenOnceIntervalHasPassed) {
  fail(3);
  clock_.advance_ms(1000);
  EXPECT_TRUE(breaker_.allow());
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
  EXPECT_TRUE(breaker_.allow());  // probes go through
}

TEST_F(CircuitBreakerTest, ClosesAfterEnoughSuccessfulProbes) {
  open_then_wait_out_interval();
  breaker_.record_success();
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);  // two probes needed
  breaker_.record_success();
  EXPECT_EQ(breaker_.state(), State::kClosed);
  fail(2);  // and the failure count starts afresh
  EXPECT_EQ(breaker_.state(), State::kClosed);
}

TEST_F(CircuitBreakerTest, ReopensOnAnyFailureWhileHalfOpen) {
  open_then_wait_out_interval();
  breaker_.record_success();
  breaker_.record_failure();
  EXPECT_EQ(breaker_.state(), State::kOpen);
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.times_opened(), 2u);
  // The interval starts again from the new opening.
  clock_.advance_ms(999);
  EXPECT_FALSE(breaker_.allow());
  clock_.advance_ms(1);
  EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, ProbeCountStartsAfreshEachHalfOpenPeriod) {
  open_then_wait_out_interval();
  breaker_.record_success();
  breaker_.record_failure();  // back to open with one success banked
  clock_.advance_ms(1000);
  ASSERT_TRUE(breaker_.allow());
  breaker_.record_success();
  EXPECT_EQ(breaker_.state(), State::kHalfOpen);
}

TEST(CircuitBreakerOptionsTest, RejectsNonsense) {
  CircuitBreakerOptions o;
  o.failure_threshold = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.open_interval_ms = -1;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.half_open_probes = 0;
  EXPECT_THROW(CircuitBreaker(o, nullptr), std::invalid_argument);
}

TEST(CircuitBreakerStateTest, HasReadableNames) {
  EXPECT_STREQ(CircuitBreaker::state_name(State::kClosed), "closed");
  EXPECT_STREQ(CircuitBreaker::state_name(State::kOpen), "open");
  EXPECT_STREQ(CircuitBreaker::state_name(State::kHalfOpen), "half-open");
}

}  // namespace
}  // namespace geocache
