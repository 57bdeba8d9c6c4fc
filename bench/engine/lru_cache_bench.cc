// LruCache throughput: hits, misses, overwrites and a 90:10 read/write mix on
// a store preloaded with 1M entries (16-byte keys, 32-byte values), from one
// and two threads. Keys are picked uniformly at random, so most lookups miss
// the CPU caches, as they would in a large store; a Zipf(0.99) mix shows the
// skewed case.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/lru_cache.h"
#include "core/version.h"
#include "zipf_trace.h"

namespace geocache {
namespace {

constexpr size_t kKeys = 1'000'000;
constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 32;

// Keys live in one flat buffer so the benchmark loop builds no strings.
struct Dataset {
  std::string hit_keys;
  std::string miss_keys;
  std::string value = std::string(kValueSize, 'v');
  std::unique_ptr<LruCache> cache;
  Hlc hlc{SystemClock::instance()};

  Dataset() {
    hit_keys.resize(kKeys * kKeySize);
    miss_keys.resize(kKeys * kKeySize);
    char buf[kKeySize + 1];
    for (size_t i = 0; i < kKeys; ++i) {
      std::snprintf(buf, sizeof buf, "key:%012zu", i);
      hit_keys.replace(i * kKeySize, kKeySize, buf, kKeySize);
      std::snprintf(buf, sizeof buf, "miss%012zu", i);
      miss_keys.replace(i * kKeySize, kKeySize, buf, kKeySize);
    }
    LruCacheOptions o;  // default shards, no limits: nothing is evicted
    cache = std::make_unique<LruCache>(o);
    for (size_t i = 0; i < kKeys; ++i) cache->apply(hit(i), record());
  }
  std::string_view hit(size_t i) const { return {hit_keys.data() + i * kKeySize, kKeySize}; }
  std::string_view miss(size_t i) const { return {miss_keys.data() + i * kKeySize, kKeySize}; }
  // A write as GeoCache makes it: whole state, fresh HLC version.
  Record record() { return Record{ValueKind::kString, value, kNoExpiry, Version{hlc.now(), 1}}; }
};

Dataset& data() {
  static Dataset* d = new Dataset();  // built once, shared by every run and thread
  return *d;
}

// xorshift64*: cheap enough not to show up next to a cache lookup.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  size_t next(size_t n) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<size_t>((s * 0x2545F4914F6CDD1Dull) % n);
  }
};

void BM_GetHit(benchmark::State& state) {
  Dataset& d = data();
  Rng rng(state.thread_index() + 1);
  size_t found = 0;
  for (auto _ : state) {
    found += d.cache->get(d.hit(rng.next(kKeys)), [](const RecordView& v) { benchmark::DoNotOptimize(v.bytes); });
  }
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("a preloaded key was missing");
  state.SetItemsProcessed(state.iterations());
}

void BM_GetMiss(benchmark::State& state) {
  Dataset& d = data();
  Rng rng(state.thread_index() + 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.cache->get(d.miss(rng.next(kKeys)), [](const RecordView&) {}));
  }
  state.SetItemsProcessed(state.iterations());
}

// Overwrites of existing keys (the store size stays at 1M).
void BM_Put(benchmark::State& state) {
  Dataset& d = data();
  Rng rng(state.thread_index() + 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.cache->apply(d.hit(rng.next(kKeys)), d.record()));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Mixed90Get10Put(benchmark::State& state) {
  Dataset& d = data();
  Rng rng(state.thread_index() + 1);
  for (auto _ : state) {
    const size_t i = rng.next(kKeys);
    if (rng.next(10) == 0) {
      benchmark::DoNotOptimize(d.cache->apply(d.hit(i), d.record()));
    } else {
      benchmark::DoNotOptimize(d.cache->get(d.hit(i), [](const RecordView& v) { benchmark::DoNotOptimize(v.bytes); }));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// The same mix with keys drawn from Zipf(0.99), as cache traffic usually is:
// hot keys stay in the CPU caches.
void BM_Mixed90Get10PutZipf(benchmark::State& state) {
  Dataset& d = data();
  static const std::vector<uint32_t> trace = zipf_trace(1 << 22, kKeys, 0.99, 42);
  Rng rng(state.thread_index() + 1);
  size_t pos = rng.next(trace.size());
  for (auto _ : state) {
    const size_t i = trace[pos];
    pos = (pos + 1) & (trace.size() - 1);
    if (rng.next(10) == 0) {
      benchmark::DoNotOptimize(d.cache->apply(d.hit(i), d.record()));
    } else {
      benchmark::DoNotOptimize(d.cache->get(d.hit(i), [](const RecordView& v) { benchmark::DoNotOptimize(v.bytes); }));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_GetHit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_GetMiss)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Put)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Mixed90Get10Put)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Mixed90Get10PutZipf)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace geocache
