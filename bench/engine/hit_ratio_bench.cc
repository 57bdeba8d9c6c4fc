// Hit ratio of the sharded LruCache against a textbook exact LRU.
//
// LruCache keeps an exact LRU list per shard and splits max_items evenly
// between shards, so globally it is only approximately LRU: a shard whose keys
// happen to be hotter evicts sooner than a global list would. This program
// measures the cost of that on Zipf-distributed traces: both caches see the
// same requests (read; on a miss, insert), and the difference in hit ratio is
// printed in percentage points.
//
// Usage: hit_ratio_bench [--requests N] [--keys K] [--capacity C] [--seed S]
//   defaults: 10,000,000 requests over 1,000,000 keys, capacity 100,000.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <numeric>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/lru_cache.h"
#include "zipf_trace.h"

namespace {

class ExactLru {
 public:
  explicit ExactLru(size_t capacity) : capacity_(capacity) { index_.reserve(capacity * 2); }
  // True on a hit; on a miss the key is inserted, evicting the LRU key if full.
  bool access(uint32_t key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return true;
    }
    if (order_.size() == capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    index_[key] = order_.begin();
    return false;
  }

 private:
  size_t capacity_;
  std::list<uint32_t> order_;
  std::unordered_map<uint32_t, std::list<uint32_t>::iterator> index_;
};

double run_lru_cache(const std::vector<uint32_t>& trace, size_t capacity) {
  using namespace geocache;
  LruCacheOptions o;
  o.max_items = capacity;
  LruCache cache(o);
  const std::string value(32, 'v');
  char key[17];
  uint64_t hits = 0, hlc = 0;
  for (uint32_t k : trace) {
    std::snprintf(key, sizeof key, "key:%012u", k);
    const std::string_view kv(key, 16);
    if (cache.get(kv, [](const RecordView&) {})) {
      ++hits;
    } else {
      // Versions only grow, so an evicted key's forgotten mark never refuses it.
      cache.apply(kv, Record{ValueKind::kString, value, kNoExpiry, Version{++hlc, 1}});
    }
  }
  return static_cast<double>(hits) / trace.size();
}

double run_exact(const std::vector<uint32_t>& trace, size_t capacity) {
  ExactLru lru(capacity);
  uint64_t hits = 0;
  for (uint32_t k : trace) hits += lru.access(k);
  return static_cast<double>(hits) / trace.size();
}

}  // namespace

int main(int argc, char** argv) {
  size_t requests = 10'000'000, keys = 1'000'000, capacity = 100'000;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--requests") == 0) requests = v;
    else if (std::strcmp(argv[i], "--keys") == 0) keys = v;
    else if (std::strcmp(argv[i], "--capacity") == 0) capacity = v;
    else if (std::strcmp(argv[i], "--seed") == 0) seed = v;
    else {
      std::fprintf(stderr, "usage: %s [--requests N] [--keys K] [--capacity C] [--seed S]\n", argv[0]);
      return 2;
    }
  }
  if (keys == 0 || capacity == 0 || requests == 0) {
    std::fprintf(stderr, "requests, keys and capacity must be positive\n");
    return 2;
  }
  std::printf("%zu requests over %zu keys, capacity %zu items; LruCache: %d shards (the default)\n", requests, keys,
              capacity, geocache::LruCacheOptions{}.shards);
  std::printf("%-10s %14s %14s %12s\n", "trace", "LruCache", "exact LRU", "diff (pp)");
  for (double s : {0.8, 0.99}) {
    const auto trace = zipf_trace(requests, keys, s, seed);
    const double sharded = run_lru_cache(trace, capacity);
    const double exact = run_exact(trace, capacity);
    std::printf("zipf %-5.2f %13.3f%% %13.3f%% %+12.3f\n", s, 100 * sharded, 100 * exact, 100 * (sharded - exact));
  }
  return 0;
}
