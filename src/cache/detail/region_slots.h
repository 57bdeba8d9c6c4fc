// RegionSlots: the byte an entry keeps in place of its version's region id.
//
// A RegionId is a 32-bit hash of the region's name, but an entry header has
// room for 8 bits of it (lru_cache.cc: the header stays 32 bytes). A store
// only ever holds records of the few regions of its deployment, so it numbers
// the ids it meets: slot 0 is region 0 (none), slots 1..255 are taken in the
// order ids first arrive and never change. Versions are compared by the full
// id, read back through the slot, so the order is the same in every process.
//
// Thread-safety: slot_of() and id_of() may be called from any thread without
// a lock of the caller's: a slot is published (release) after its id is
// written, and readers load it with acquire.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "core/mutex.h"
#include "core/version.h"

namespace geocache::detail {

class RegionSlots {
 public:
  static constexpr int kSlots = 256;

  // The slot of `id`, taking the next free one on its first sight; nullopt
  // when all 255 are taken by other ids.
  std::optional<uint8_t> slot_of(RegionId id) {
    if (id == 0) return 0;
    if (auto s = find(id)) return s;
    MutexLock lock(mu_);
    if (auto s = find(id)) return s;  // taken meanwhile by another writer
    const int n = used_.load(std::memory_order_relaxed);
    if (n >= kSlots) return std::nullopt;
    ids_[n].store(id, std::memory_order_relaxed);
    used_.store(n + 1, std::memory_order_release);
    return static_cast<uint8_t>(n);
  }

  // The id held in `slot`. REQUIRES: slot was returned by slot_of().
  RegionId id_of(uint8_t slot) const { return ids_[slot].load(std::memory_order_relaxed); }

 private:
  // A linear scan: a deployment has a handful of regions, and the ids a
  // store has met sit in a few adjacent words.
  std::optional<uint8_t> find(RegionId id) const {
    const int n = used_.load(std::memory_order_acquire);
    for (int i = 1; i < n; ++i) {
      if (ids_[i].load(std::memory_order_relaxed) == id) return static_cast<uint8_t>(i);
    }
    return std::nullopt;
  }

  std::array<std::atomic<RegionId>, kSlots> ids_{};
  std::atomic<int> used_{1};  // slots 0..used_-1 are taken
  Mutex mu_;                  // serializes taking a slot
};

}  // namespace geocache::detail
