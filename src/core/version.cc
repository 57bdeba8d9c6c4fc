#include "core/version.h"

#include <fmt/format.h>

namespace geocache {

std::string Version::to_string() const {
  return fmt::format("{}.{}@{}", hlc >> 16, hlc & 0xffff, region);
}

// The packed form makes the HLC rule a single max: a wall-clock reading in the
// high bits with a zero counter is either ahead of the last timestamp (take it)
// or not (take last + 1, which bumps the counter, carrying into the millisecond
// if 65,536 writes land in one ms — harmless: the clock then runs a hair ahead).
uint64_t Hlc::now(int64_t* wall_ms) {
  *wall_ms = clock_->now_ms();
  const uint64_t physical = pack(*wall_ms, 0);
  uint64_t last = last_.load(std::memory_order_relaxed);
  while (true) {
    const uint64_t next = physical > last ? physical : last + 1;
    if (last_.compare_exchange_weak(last, next, std::memory_order_acq_rel)) return next;
  }
}

void Hlc::observe(uint64_t remote) {
  uint64_t last = last_.load(std::memory_order_relaxed);
  while (remote > last) {
    if (last_.compare_exchange_weak(last, remote, std::memory_order_acq_rel)) return;
  }
}

}  // namespace geocache
