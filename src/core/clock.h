// Clock: the one source of wall time, injectable so tests never sleep.
#pragma once

#include <atomic>
#include <cstdint>

namespace geocache {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in milliseconds. May go backwards (NTP); callers that need
  // monotonic versions use Hlc on top of it. Thread-safe.
  virtual int64_t now_ms() const = 0;
  // Unix time in microseconds, for replies that carry them (TIME); a clock
  // without finer grain gives now_ms() * 1000. Thread-safe.
  virtual int64_t now_us() const { return now_ms() * 1000; }
};

// The real clock (CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t now_us() const override;
  // A process-wide instance; never destroyed.
  static SystemClock* instance();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
  void set_ms(int64_t ms) { now_.store(ms, std::memory_order_release); }
  void advance_ms(int64_t delta) { now_.fetch_add(delta, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace geocache
