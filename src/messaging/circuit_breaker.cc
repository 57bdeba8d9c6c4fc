#include "messaging/circuit_breaker.h"

#include <stdexcept>

namespace geocache {

void CircuitBreakerOptions::validate() const {
  if (failure_threshold < 1) throw std::invalid_argument("breaker failure_threshold must be at least 1");
  if (open_interval_ms < 0) throw std::invalid_argument("breaker open_interval_ms must not be negative");
  if (half_open_probes < 1) throw std::invalid_argument("breaker half_open_probes must be at least 1");
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options, const Clock* clock)
    : options_(options), clock_(clock ? clock : SystemClock::instance()) {
  options_.validate();
}

bool CircuitBreaker::allow() {
  if (state_.load(std::memory_order_acquire) == State::kClosed) return true;
  MutexLock lock(mu_);
  if (state_ == State::kOpen && clock_->now_ms() - opened_at_ms_ >= options_.open_interval_ms) {
    state_ = State::kHalfOpen;
    probe_successes_ = 0;
  }
  return state_ != State::kOpen;
}

void CircuitBreaker::record_success() {
  MutexLock lock(mu_);
  consecutive_failures_ = 0;
  if (state_ == State::kHalfOpen && ++probe_successes_ >= options_.half_open_probes) state_ = State::kClosed;
}

void CircuitBreaker::record_failure() {
  MutexLock lock(mu_);
  if (state_ == State::kHalfOpen) {
    open_locked();
    return;
  }
  if (state_ == State::kClosed && ++consecutive_failures_ >= options_.failure_threshold) open_locked();
}

void CircuitBreaker::open_locked() {
  state_ = State::kOpen;
  opened_at_ms_ = clock_->now_ms();
  consecutive_failures_ = 0;
  probe_successes_ = 0;
  ++times_opened_;
}

CircuitBreaker::State CircuitBreaker::state() const { return state_.load(std::memory_order_acquire); }

uint64_t CircuitBreaker::times_opened() const {
  MutexLock lock(mu_);
  return times_opened_;
}

const char* CircuitBreaker::state_name(State s) {
  switch (s) {
    case State::kClosed: return "closed";
    case State::kOpen: return "open";
    case State::kHalfOpen: return "half-open";
  }
  return "unknown";
}

}  // namespace geocache
