#include "messaging/replicator.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace geocache {

void ReplicatorOptions::validate() const {
  if (batch_max_events < 1) throw std::invalid_argument("replication batch_max_events must be at least 1");
  if (batch_max_bytes < 64) throw std::invalid_argument("replication batch_max_bytes must be at least 64");
  if (linger_us < 0) throw std::invalid_argument("replication linger_us must not be negative");
  if (outbox_max_bytes < 1024) throw std::invalid_argument("replication outbox_max_bytes must be at least 1024");
  if (retry_backoff_ms < 0) throw std::invalid_argument("replication retry_backoff_ms must not be negative");
  breaker.validate();
}

const char* resync_reason_name(ResyncReason r) {
  switch (r) {
    case ResyncReason::kGap: return "gap";
    case ResyncReason::kNewEpoch: return "new-epoch";
    case ResyncReason::kFirstContact: return "first-contact";
  }
  return "unknown";
}

struct Replicator::Outbox {
  struct Queued {
    uint64_t seq;
    size_t bytes;
    Event event;
  };
  Outbox(RegionId r, const CircuitBreakerOptions& b, const Clock* c, uint64_t first_epoch)
      : origin(r), breaker(b, c), epoch(first_epoch) {}

  RegionId origin;
  CircuitBreaker breaker;
  std::deque<Queued> queue;
  uint64_t epoch;
  uint64_t next_seq = 1;
  size_t bytes = 0;
  uint64_t appended = 0, published = 0, dropped = 0, failures = 0;
  int64_t retry_at_ms = 0;
  bool overflowing = false;  // dropped events since the outbox last drained to half its bound
};

// Recent lag samples per origin, enough for stable p50/p99 on a dashboard.
struct Replicator::Inbound {
  static constexpr size_t kSamples = 1024;
  InboundStats st;
  bool known = false;
  std::vector<int64_t> lag;  // ring
  size_t lag_next = 0;
  void record_lag(int64_t ms) {
    st.lag_last_ms = ms;
    if (lag.size() < kSamples) lag.push_back(ms);
    else lag[lag_next] = ms;
    lag_next = (lag_next + 1) % kSamples;
  }
};

Replicator::Replicator(const ReplicatorOptions& options, Transport* transport, const Clock* clock, ApplyFn apply,
                       ResyncFn resync, ControlFn control)
    : options_(options),
      transport_(transport),
      clock_(clock ? clock : SystemClock::instance()),
      apply_(std::move(apply)),
      resync_(std::move(resync)),
      control_(std::move(control)) {
  options_.validate();
}

Replicator::~Replicator() { stop(); }

void Replicator::add_region(RegionId region) {
  {
    MutexLock lock(mu_);
    // The epoch starts at the wall clock, so a restarted node has a new epoch
    // and receivers resync from it instead of waiting for sequence 1.
    outboxes_[region] = std::make_unique<Outbox>(region, options_.breaker, clock_,
                                                 static_cast<uint64_t>(SystemClock::instance()->now_ms()));
  }
  transport_->attach(region, [this, region](std::string_view payload) { receive(region, payload); });
}

Status Replicator::start() {
  {
    MutexLock lock(mu_);
    if (running_) return Status::Ok();
    running_ = true;
  }
  Status st = transport_->start();
  if (!st.ok()) {
    MutexLock lock(mu_);
    running_ = false;
    return st;
  }
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void Replicator::stop() {
  {
    MutexLock lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  work_cv_.notify_all();
  thread_.join();
  transport_->stop();
}

void Replicator::append(RegionId origin, Event event) {
  const size_t size = encoded_event_size(event);
  bool wake = false;
  {
    MutexLock lock(mu_);
    auto it = outboxes_.find(origin);
    if (it == outboxes_.end()) return;  // not a local region: nothing to replicate
    Outbox& box = *it->second;
    bool lost = false;
    while (!box.queue.empty() && box.bytes + size > options_.outbox_max_bytes) {
      box.bytes -= box.queue.front().bytes;
      box.queue.pop_front();
      ++box.dropped;
      lost = true;
    }
    // One new epoch per overflow episode (until the outbox drains to half its
    // bound): receivers need to hear "you missed something" once, not per event.
    if (lost && !box.overflowing) {
      box.overflowing = true;
      ++box.epoch;
      spdlog::warn("replication outbox of region {} full: dropping the oldest events, epoch now {}", origin,
                   box.epoch);
    }
    const bool was_empty = box.queue.empty();
    box.queue.push_back({box.next_seq++, size, std::move(event)});
    box.bytes += size;
    ++box.appended;
    // Wake the sender only when it has something new to decide: the first
    // event (start lingering) or a full batch (stop lingering). A wake-up
    // per event costs the request path a futex call and the machine a
    // context switch per write, for nothing.
    wake = was_empty || box.queue.size() == options_.batch_max_events ||
           (box.bytes >= options_.batch_max_bytes && box.bytes - size < options_.batch_max_bytes);
  }
  if (wake) work_cv_.notify_one();
}

bool Replicator::wait_drained(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MutexLock lock(mu_);
  auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [r, box] : outboxes_) {
      if (!box->queue.empty()) return false;
    }
    return true;
  };
  while (!drained()) {
    if (!lock.wait_until(drained_cv_, deadline)) return drained();
  }
  return true;
}

// The replication thread. It sleeps until some outbox has events, lingers a
// little so batches fill up under load, then publishes one batch per outbox
// per round so no region starves the others.
void Replicator::run() {
  MutexLock lock(mu_);
  while (true) {
    auto has_work = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const int64_t now = clock_->now_ms();
      for (const auto& [r, box] : outboxes_) {
        if (!box->queue.empty() && box->retry_at_ms <= now) return true;
      }
      return false;
    };
    if (!running_) break;
    if (!has_work()) {
      // Wake on new events, or after a backoff for outboxes waiting to retry.
      lock.wait_for(work_cv_, std::chrono::milliseconds(std::max<int64_t>(options_.retry_backoff_ms, 1)));
      continue;
    }
    auto full = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& [r, box] : outboxes_) {
        if (box->queue.size() >= options_.batch_max_events || box->bytes >= options_.batch_max_bytes) return true;
      }
      return false;
    };
    if (options_.linger_us > 0 && !full()) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(options_.linger_us);
      while (running_ && !full() && lock.wait_until(work_cv_, deadline)) {
      }
    }
    for (auto& [r, box] : outboxes_) {
      if (box->queue.empty() || box->retry_at_ms > clock_->now_ms()) continue;
      lock.unlock();
      const bool ok = publish_one(*box);
      lock.lock();
      if (!ok) box->retry_at_ms = clock_->now_ms() + options_.retry_backoff_ms;
    }
    drained_cv_.notify_all();
  }
  // Last attempt to hand over what is queued, so a clean stop loses nothing
  // the transport can still take.
  for (auto& [r, box] : outboxes_) {
    for (int attempt = 0; attempt < 3 && !box->queue.empty(); ++attempt) {
      lock.unlock();
      const bool ok = publish_one(*box);
      lock.lock();
      if (!ok) break;
    }
  }
  drained_cv_.notify_all();
}

Status Replicator::send_control(const EventBatch& batch) {
  if (!batch.is_control()) return Status::InvalidArgument("not a control batch");
  std::string payload;
  encode_batch(batch, &payload);
  // A hello goes to every region.
  if (batch.kind == BatchKind::kHello) return transport_->broadcast(batch.origin, payload);
  return transport_->send_to(batch.origin, batch.target, payload);
}

bool Replicator::publish_one(Outbox& box) {
  if (!box.breaker.allow()) return false;
  EventBatch batch;
  uint64_t last_seq = 0;
  {
    MutexLock lock(mu_);
    batch.origin = box.origin;
    batch.epoch = box.epoch;
    size_t bytes = 0;
    for (const auto& q : box.queue) {
      if (batch.events.size() >= options_.batch_max_events) break;
      if (!batch.events.empty() && bytes + q.bytes > options_.batch_max_bytes) break;
      if (batch.events.empty()) batch.first_seq = q.seq;
      // Sequences in a batch are consecutive; a drop in the middle of the
      // queue cannot happen (drops take the front), but stay safe.
      if (q.seq != batch.first_seq + batch.events.size()) break;
      batch.events.push_back(q.event);
      bytes += q.bytes;
      last_seq = q.seq;
    }
  }
  if (batch.events.empty()) return true;
  std::string payload;
  encode_batch(batch, &payload);
  Status st = transport_->publish(box.origin, payload);
  MutexLock lock(mu_);
  if (!st.ok()) {
    ++box.failures;
    box.breaker.record_failure();
    spdlog::warn("replication publish from region {} failed: {}", box.origin, st.message());
    return false;
  }
  box.breaker.record_success();
  // Forget exactly the confirmed events; overflow may have dropped some meanwhile.
  while (!box.queue.empty() && box.queue.front().seq <= last_seq) {
    box.bytes -= box.queue.front().bytes;
    box.queue.pop_front();
    ++box.published;
  }
  // The episode ends once the outbox has drained to half its bound.
  if (box.bytes < options_.outbox_max_bytes / 2) box.overflowing = false;
  return true;
}

void Replicator::receive(RegionId region, std::string_view payload) {
  auto decoded = decode_batch(payload);
  MutexLock lock(in_mu_);
  if (!decoded.ok()) {
    auto& in = inbound_[{region, 0}];
    if (!in) in = std::make_unique<Inbound>();
    in->st.region = region;
    ++in->st.corrupt_batches;
    lock.unlock();
    spdlog::error("region {} received a corrupt replication batch ({} bytes): {}", region, payload.size(),
                  decoded.status().message());
    return;
  }
  EventBatch& batch = decoded.value();
  if (batch.kind == BatchKind::kHello) {
    // From any region, ours included: two processes serving one region
    // hear each other's.
    lock.unlock();
    if (control_) control_(region, batch);
    return;
  }
  if (batch.origin == region) return;  // our own events echoed back
  if (batch.is_control()) {
    // Not numbered: a lost one is recovered by asking again (GeoCache).
    lock.unlock();
    if (batch.target != region) {
      spdlog::warn("region {} received a control batch for region {}; ignored", region, batch.target);
      return;
    }
    if (control_) control_(region, batch);
    return;
  }
  auto& slot = inbound_[{region, batch.origin}];
  if (!slot) slot = std::make_unique<Inbound>();
  Inbound& in = *slot;
  in.st.region = region;
  in.st.origin = batch.origin;
  ++in.st.batches_in;

  const uint64_t end_seq = batch.first_seq + batch.events.size();
  std::optional<ResyncReason> resync;
  size_t skip = 0;
  if (!in.known) {
    in.known = true;
    if (batch.first_seq != 1) resync = ResyncReason::kFirstContact;
  } else if (batch.epoch != in.st.epoch) {
    ++in.st.epoch_changes;
    resync = ResyncReason::kNewEpoch;
  } else if (batch.first_seq > in.st.next_seq) {
    ++in.st.gaps;
    resync = ResyncReason::kGap;
  } else if (end_seq <= in.st.next_seq) {
    in.st.duplicates += batch.events.size();
    return;
  } else {
    skip = in.st.next_seq - batch.first_seq;  // overlap with what we applied
    in.st.duplicates += skip;
  }
  in.st.epoch = batch.epoch;
  in.st.next_seq = end_seq;
  const int64_t now = clock_->now_ms();
  for (size_t i = skip; i < batch.events.size(); ++i) in.record_lag(std::max<int64_t>(0, now - batch.events[i].origin_wall_ms));
  in.st.events_in += batch.events.size() - skip;
  // Apply outside the stats lock: applying takes store locks and may be slow.
  lock.unlock();
  if (resync) {
    spdlog::debug("region {} resyncs from region {} ({})", region, batch.origin, resync_reason_name(*resync));
    if (resync_) resync_(region, batch.origin, *resync);
  }
  for (size_t i = skip; i < batch.events.size(); ++i) apply_(region, batch.events[i]);
}

std::vector<OutboxStats> Replicator::outbox_stats() const {
  MutexLock lock(mu_);
  std::vector<OutboxStats> out;
  for (const auto& [r, box] : outboxes_) {
    OutboxStats s;
    s.origin = r;
    s.epoch = box->epoch;
    s.depth_events = box->queue.size();
    s.depth_bytes = box->bytes;
    s.appended = box->appended;
    s.published = box->published;
    s.dropped = box->dropped;
    s.publish_failures = box->failures;
    s.breaker = box->breaker.state();
    out.push_back(s);
  }
  return out;
}

std::vector<InboundStats> Replicator::inbound_stats() const {
  MutexLock lock(in_mu_);
  std::vector<InboundStats> out;
  for (const auto& [key, in] : inbound_) {
    InboundStats s = in->st;
    if (!in->lag.empty()) {
      std::vector<int64_t> v = in->lag;
      std::sort(v.begin(), v.end());
      s.lag_p50_ms = v[v.size() / 2];
      s.lag_p99_ms = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace geocache
