// CircuitBreaker: stops calling a failing dependency for a while, then probes.
//
//   closed --(failure_threshold consecutive failures)--> open
//   open --(open_interval_ms elapsed)--> half-open
//   half-open --(half_open_probes consecutive successes)--> closed
//   half-open --(any failure)--> open (the interval starts again)
//
// Thread-safe; time comes from an injectable Clock. allow() on a closed
// circuit is one atomic load (reads ask it on every request).
#pragma once

#include <atomic>
#include <cstdint>
#include "core/clock.h"
#include "core/mutex.h"

namespace geocache {

struct CircuitBreakerOptions {
  int failure_threshold = 5;       // consecutive failures that open the circuit
  int64_t open_interval_ms = 1000;  // how long it stays open before probing
  int half_open_probes = 1;        // successes in half-open that close it
  void validate() const;           // throws std::invalid_argument naming the field
};

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(const CircuitBreakerOptions& options, const Clock* clock = nullptr);

  // Whether a call may go ahead now. In half-open, lets calls through as
  // probes; moves open -> half-open once the interval has passed.
  bool allow();
  void record_success();
  void record_failure();

  State state() const;
  uint64_t times_opened() const;
  static const char* state_name(State s);

 private:
  void open_locked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const CircuitBreakerOptions options_;
  const Clock* clock_;
  mutable Mutex mu_;
  // Written under mu_; read without it by allow()'s fast path and state().
  std::atomic<State> state_{State::kClosed};
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int probe_successes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_at_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t times_opened_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace geocache
