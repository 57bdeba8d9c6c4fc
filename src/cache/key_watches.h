// KeyWatches: which clients WATCH which keys, and the flag that tells each
// one a watched key was written since.
//
// Every write to a store of this process touches the key here: a client's
// command, an event replicated from another region, a resync record, a
// FLUSHALL (GeoCache does it, see geo_cache.h). A touch marks every watcher
// of (region, key). While nobody watches anything a touch is one relaxed
// atomic load, so ordinary writes pay nothing for WATCH.
//
// What writes cannot tell (a key expiring or evicted) the watcher checks
// itself at EXEC: a key live when watched and absent now counts as touched
// too (Redis does the same since 6.0.9).
//
// Thread-safety: all methods are thread-safe. A Watcher is owned by its
// client; it must be unwatched (unwatch_all) before it is destroyed.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/mutex.h"
#include "core/version.h"

namespace geocache {

class KeyWatches {
 public:
  struct Watcher {
    std::atomic<bool> touched{false};
    // What it watches; only its owner's thread reads or writes this.
    std::vector<std::pair<RegionId, std::string>> keys;
  };

  // w watches key in region. REQUIRES: only w's owner calls this for w.
  void watch(Watcher* w, RegionId region, std::string_view key);
  // Forgets all of w's watches and clears its flag.
  void unwatch_all(Watcher* w);

  // Marks the watchers of key in region.
  void touch(RegionId region, std::string_view key) {
    if (watched_.load(std::memory_order_relaxed) == 0) return;
    touch_slow(region, key);
  }
  // Marks every watcher of a key in region (FLUSHALL, a resync's drops).
  void touch_region(RegionId region);

 private:
  void touch_slow(RegionId region, std::string_view key);

  Mutex mu_;
  // key -> its watchers, with the region each watches it in.
  absl::flat_hash_map<std::string, std::vector<std::pair<RegionId, Watcher*>>> by_key_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> watched_{0};  // entries of by_key_'s vectors
};

}  // namespace geocache
