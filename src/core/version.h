// Versions and the hybrid logical clock.
//
// Every write gets a Version: a hybrid logical clock timestamp (high 48 bits:
// Unix milliseconds, low 16 bits: a logical counter) and the id of the region
// that made the write. Versions are totally ordered by (hlc, region), so two
// regions can never produce equal versions, and last-writer-wins picks the
// same winner everywhere whatever order events arrive in.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <string>

#include "core/clock.h"

namespace geocache {

// A region's id: a hash of its name (region_id_for in
// messaging/region_registry.h), the same in every process whatever else it
// was told; 0 means none.
using RegionId = uint32_t;
inline constexpr int kMaxRegions = 255;  // regions one process knows at most

struct Version {
  uint64_t hlc = 0;     // 48 bits of Unix ms << 16 | 16-bit logical counter
  RegionId region = 0;  // origin region

  static constexpr Version zero() { return {}; }
  bool is_zero() const { return hlc == 0 && region == 0; }
  int64_t wall_ms() const { return static_cast<int64_t>(hlc >> 16); }
  std::string to_string() const;

  friend constexpr auto operator<=>(const Version&, const Version&) = default;
};

// Hybrid logical clock (Kulkarni et al.): stays close to wall time, never goes
// backwards, and after observing a remote version every local one is greater.
// Thread-safe and lock-free.
class Hlc {
 public:
  explicit Hlc(const Clock* clock) : clock_(clock) {}

  // A new timestamp, strictly greater than every one returned or observed before.
  uint64_t now() {
    int64_t wall_ms;
    return now(&wall_ms);
  }
  // The same, and the wall clock it read, in *wall_ms: a writer that also
  // needs the time (an expiry to check, the origin wall time of an event)
  // reads the clock once.
  uint64_t now(int64_t* wall_ms);
  // Merges a timestamp seen from another region so later local ones exceed it.
  void observe(uint64_t remote);
  // The last timestamp handed out or observed (for diagnostics and tests).
  uint64_t last() const { return last_.load(std::memory_order_acquire); }

  static uint64_t pack(int64_t wall_ms, uint16_t logical) {
    return (static_cast<uint64_t>(wall_ms) << 16) | logical;
  }

 private:
  const Clock* clock_;
  std::atomic<uint64_t> last_{0};
};

}  // namespace geocache
