// What both sides of the replication benchmark share: a sink that records,
// per event index, when it was written and when it became visible in the
// other region, and the pipeline interface the driver paces.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "messaging/replicator.h"

namespace geocache::bench {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct BenchConfig {
  std::string url;
  std::map<std::string, std::string> url_of;  // region -> a broker of its own (ours only)
  std::string exchange;         // ours' exchange; empty: one of the run's own
  size_t value_size = 100;      // bytes of each value
  // Batching as geocached does it by default.
  size_t batch_events = ReplicatorOptions{}.batch_max_events;  // events per broker message at most
  int64_t linger_us = ReplicatorOptions{}.linger_us;            // longest wait for a batch to fill
  bool persistent = false;      // delivery-mode 2 on a durable queue
};

// Write and visibility times of events 0..capacity-1 of one run.
class LagSink {
 public:
  explicit LagSink(size_t capacity)
      : written_(new std::atomic<int64_t>[capacity]), capacity_(capacity) {
    for (size_t i = 0; i < capacity; ++i) written_[i].store(0, std::memory_order_relaxed);
    lags_ns_.reserve(capacity);
  }
  void on_write(uint64_t idx) { written_[idx].store(now_ns(), std::memory_order_release); }
  // Called by the receiving side once event idx is visible there.
  void on_visible(uint64_t idx) {
    if (idx >= capacity_) return;
    const int64_t t = now_ns();
    const int64_t w = written_[idx].load(std::memory_order_acquire);
    std::lock_guard lock(mu_);
    if (w != 0) lags_ns_.push_back(t - w);
    last_visible_ns_ = t;
    ++visible_;
  }
  uint64_t visible() const {
    std::lock_guard lock(mu_);
    return visible_;
  }
  int64_t last_visible_ns() const {
    std::lock_guard lock(mu_);
    return last_visible_ns_;
  }
  // q in [0, 1]; milliseconds.
  double lag_ms(double q) const {
    std::lock_guard lock(mu_);
    if (lags_ns_.empty()) return 0;
    std::vector<int64_t> v = lags_ns_;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1e6;
  }

 private:
  std::unique_ptr<std::atomic<int64_t>[]> written_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::vector<int64_t> lags_ns_;
  int64_t last_visible_ns_ = 0;
  uint64_t visible_ = 0;
};

// One way of moving events from an origin to another region.
class Pipeline {
 public:
  virtual ~Pipeline() = default;
  virtual const char* name() const = 0;
  // Routes visibility of the next run's events to sink; run is a new tag.
  virtual void begin_run(int run, LagSink* sink) = 0;
  // Writes event idx of the current run at the origin (records the time).
  virtual void write(uint64_t idx) = 0;
};

// The raw rabbitmq-c publisher and consumer (raw_baseline.cc).
std::unique_ptr<Pipeline> make_raw_baseline(const BenchConfig& config, size_t event_bytes);

}  // namespace geocache::bench
