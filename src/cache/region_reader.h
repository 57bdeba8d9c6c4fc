// RegionReader: what the server may do with one region's store without
// going through GeoCache's write path: read. Every write is versioned and
// replicated by GeoCache::mutate; the store's own writers (apply, flushes,
// resync drops) are GeoCache's business and not reachable from here.
//
// A reader is a cheap handle, valid as long as the GeoCache it came from.
// Thread-safety: as LruCache (every method is thread-safe).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "cache/lru_cache.h"

namespace geocache {

class RegionReader {
 public:
  explicit RegionReader(LruCache& store) : store_(&store) {}

  // Calls fn with the key's live record; false if absent. Touches LRU and
  // counts a hit or a miss.
  bool get(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) const { return store_->get(key, fn); }
  std::optional<Record> get(std::string_view key) const { return store_->get(key); }
  // Like get() but changes neither recency nor counters.
  bool peek(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) const {
    return store_->peek(key, fn);
  }
  std::optional<Record> peek(std::string_view key) const { return store_->peek(key); }
  bool contains(std::string_view key) const { return store_->contains(key); }
  // A hint before looking these keys up (LruCache::prefetch).
  void prefetch(std::span<const std::string_view> keys) const { store_->prefetch(keys); }

  // Visits the live records of shard `shard` (0 <= shard < shard_count())
  // under its lock, without touching LRU (KEYS, SCAN).
  void scan_shard(int shard, absl::FunctionRef<void(std::string_view key, const RecordView&)> fn) const {
    store_->scan_shard(shard, /*include_tombstones=*/false, fn);
  }
  int shard_count() const { return store_->shard_count(); }
  std::optional<std::string> random_key() const { return store_->random_key(); }
  LruCacheStats stats() const { return store_->stats(); }

 private:
  LruCache* store_;
};

}  // namespace geocache
