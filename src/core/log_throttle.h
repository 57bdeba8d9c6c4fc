// LogThrottle: lets one log line through per interval and counts the ones it
// holds back, so a flood (hostile clients, a misbehaving peer) cannot fill
// the disk or drown other lines, while the operator still learns how many
// there were.
//
//   if (uint64_t held = 0; throttle.allow(now_ms, &held)) spdlog::warn("... ({} more)", held);
//
// Thread-safety: allow() may be called from any thread; of racing callers
// exactly one is let through per interval.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>

namespace geocache {

class LogThrottle {
 public:
  explicit LogThrottle(int64_t interval_ms) : interval_ms_(interval_ms) {}
  LogThrottle(const LogThrottle&) = delete;
  LogThrottle& operator=(const LogThrottle&) = delete;

  // True if a line may be logged at now_ms (any clock in ms; the first call
  // always may). On true, *held_back (if given) gets the number of calls
  // refused since the last line let through.
  bool allow(int64_t now_ms, uint64_t* held_back = nullptr) {
    int64_t last = last_ms_.load(std::memory_order_relaxed);
    // |now - last| as Redis does: a clock stepped back by more than an
    // interval does not mute the log until it catches up.
    const bool due = now_ms - last >= interval_ms_ || last - now_ms >= interval_ms_;
    if (due && last_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) {
      const uint64_t held = held_.exchange(0, std::memory_order_relaxed);
      if (held_back != nullptr) *held_back = held;
      return true;
    }
    held_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

 private:
  const int64_t interval_ms_;
  std::atomic<int64_t> last_ms_{std::numeric_limits<int64_t>::min() / 2};  // when a line last went through
  std::atomic<uint64_t> held_{0};
};

}  // namespace geocache
