#include "messaging/replicator.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "messaging/encoded_log.h"

namespace geocache {
namespace {

// A key as a log line may show it: printable bytes only, and not too many.
std::string printable(std::string_view key) {
  constexpr size_t kMax = 40;
  std::string out;
  for (char c : key.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (key.size() > kMax) out += "...";
  return out;
}

// A sequence refusal can be a legitimate loss (see receive()); the others
// mean a forger, a bug or a clock to fix: loud.
void log_refusal(Refusal why, const std::string& line) {
  if (why == Refusal::kSequence) spdlog::warn("{}", line);
  else spdlog::error("{}", line);
}

}  // namespace

void ReplicatorOptions::validate() const {
  if (batch_max_events < 1) throw std::invalid_argument("replication batch_max_events must be at least 1");
  if (batch_max_bytes < 64) throw std::invalid_argument("replication batch_max_bytes must be at least 64");
  if (linger_us < 0) throw std::invalid_argument("replication linger_us must not be negative");
  if (outbox_max_bytes < 1024) throw std::invalid_argument("replication outbox_max_bytes must be at least 1024");
  if (retry_backoff_ms < 0) throw std::invalid_argument("replication retry_backoff_ms must not be negative");
  if (max_clock_offset_ms < 0) throw std::invalid_argument("replication max_clock_offset_ms must not be negative");
  if (sequence_window < 1 || sequence_window > kMaxSequence) {
    throw std::invalid_argument("replication sequence_window must be between 1 and 2^62");
  }
  breaker.validate();
}

const char* refusal_name(Refusal r) {
  switch (r) {
    case Refusal::kMac: return "mac";
    case Refusal::kSequence: return "sequence";
    case Refusal::kRegion: return "region";
    case Refusal::kClock: return "clock";
    case Refusal::kValue: return "value";
  }
  return "unknown";
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
  Outbox(RegionId r, const CircuitBreakerOptions& b, const Clock* c, uint64_t first_epoch)
      : origin(r), breaker(b, c), epoch(first_epoch) {}

  RegionId origin;
  CircuitBreaker breaker;
  EncodedLog log;  // the backlog, then the queue not yet published
  uint64_t epoch;
  uint64_t next_seq = 1;
  uint64_t appended = 0, published = 0, dropped = 0, failures = 0;
  int64_t retry_at_ms = 0;
  uint64_t last_published_seq = 0;  // of the epoch it was published under
  uint64_t last_published_epoch = 0;
  bool overflowing = false;  // dropped events since the outbox last drained to half its bound
  // The first sequence no publish has taken yet, and when its event came: a
  // batch lingers at most linger_us from its first event, however long the
  // publish before it took.
  uint64_t untaken_seq = 1;
  std::chrono::steady_clock::time_point untaken_since;
};

// Recent lag samples per origin, enough for stable p50/p99 on a dashboard.
struct Replicator::Inbound {
  static constexpr size_t kSamples = 1024;
  InboundStats st;
  bool known = false;
  std::vector<int64_t> lag;  // ring
  size_t lag_next = 0;
  // The last batch refused for lying beyond the sequence window; the next
  // batch continuing it (same epoch, first sequence jump_next) confirms it.
  bool jump_pending = false;
  uint64_t jump_epoch = 0;
  uint64_t jump_next = 0;
  // A hello showed the origin ahead of us (on_stream_position) at this
  // point of ours; still there at the next hello, we lost its tail.
  bool tail_pending = false;
  uint64_t tail_epoch = 0;
  uint64_t tail_next = 0;
  // What has_applied() answers from: the events of applied_epoch before
  // applied_next are applied (st moves before the apply, these after it).
  // older_covered: a resync completed since the epoch last changed.
  uint64_t applied_epoch = 0;
  uint64_t applied_next = 0;
  bool older_covered = false;
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

void Replicator::append(RegionId origin, EventRef event) {
  // Encoded before the lock: the writers of every event loop share it.
  thread_local std::string encoded;
  encoded.clear();
  encode_event(event, &encoded);
  bool wake = false;
  {
    MutexLock lock(mu_);
    auto it = outboxes_.find(origin);
    // Not a local region: nothing to replicate.
    if (it != outboxes_.end()) wake = append_locked(*it->second, encoded, event.group_next);
  }
  // A big value's bytes are not kept by every thread that wrote one.
  if (encoded.capacity() > EncodedLog::kDefaultBlockBytes) std::string().swap(encoded);
  if (wake) work_cv_.notify_one();
}

void Replicator::append_group(RegionId origin, std::vector<Event> events) {
  std::string encoded;
  std::vector<size_t> ends;
  ends.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    // A receiver refuses a batch of more events than this: such a group
    // travels as several.
    events[i].group_next = i + 1 < events.size() && (i + 1) % kMaxEventsPerBatch != 0;
    encode_event(events[i], &encoded);
    ends.push_back(encoded.size());
  }
  bool wake = false;
  {
    MutexLock lock(mu_);
    auto it = outboxes_.find(origin);
    if (it == outboxes_.end()) return;
    for (size_t i = 0, from = 0; i < events.size(); from = ends[i++]) {
      wake |= append_locked(*it->second, std::string_view(encoded).substr(from, ends[i] - from), events[i].group_next);
    }
  }
  if (wake) work_cv_.notify_one();
}

bool Replicator::append_locked(Outbox& box, std::string_view encoded, bool group_next) {
  const size_t size = encoded.size();
  bool lost = false;
  while (!box.log.queue_empty() && box.log.queued_bytes() + size > options_.outbox_max_bytes) {
    box.log.drop_oldest_queued();
    ++box.dropped;
    lost = true;
  }
  // One new epoch per overflow episode (until the outbox drains to half its
  // bound): receivers need to hear "you missed something" once, not per event.
  if (lost && !box.overflowing) {
    box.overflowing = true;
    ++box.epoch;
    box.log.clear_backlog();
    spdlog::warn("replication outbox of region {} full: dropping the oldest events, epoch now {}", box.origin,
                 box.epoch);
  }
  const bool was_empty = box.log.queue_empty();
  if (box.next_seq == box.untaken_seq) box.untaken_since = std::chrono::steady_clock::now();
  box.log.append(box.next_seq++, encoded, group_next);
  ++box.appended;
  const size_t queued = box.log.queued_events(), bytes = box.log.queued_bytes();
  // Wake the sender only when it has something new to decide: the first
  // event (start lingering) or a full batch (stop lingering). A wake-up
  // per event costs the request path a futex call and the machine a
  // context switch per write, for nothing.
  return was_empty || queued == options_.batch_max_events ||
         (bytes >= options_.batch_max_bytes && bytes - size < options_.batch_max_bytes);
}

bool Replicator::wait_drained(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MutexLock lock(mu_);
  auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [r, box] : outboxes_) {
      if (!box->log.queue_empty()) return false;
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
  // Has events and is not waiting to retry.
  auto ready = [&](const Outbox& box, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !box.log.queue_empty() && box.retry_at_ms <= now;
  };
  while (true) {
    auto has_work = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      const int64_t now = clock_->now_ms();
      for (const auto& [r, box] : outboxes_) {
        if (ready(*box, now)) return true;
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
        if (box->log.queued_events() >= options_.batch_max_events ||
            box->log.queued_bytes() >= options_.batch_max_bytes) {
          return true;
        }
      }
      return false;
    };
    // Linger for a batch to fill only in a stream of writes (more than one
    // event came while the sender was busy or asleep): a lone write to an
    // idle outbox goes at once, since waiting would add the whole linger to
    // its lag for nothing.
    auto streaming = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const auto& [r, box] : outboxes_) {
        if (box->log.queued_events() > 1) return true;
      }
      return false;
    };
    if (options_.linger_us > 0 && !full() && streaming()) {
      auto since = std::chrono::steady_clock::time_point::max();
      const int64_t now_ms = clock_->now_ms();
      for (const auto& [r, box] : outboxes_) {
        if (ready(*box, now_ms)) since = std::min(since, box->untaken_since);
      }
      if (since != std::chrono::steady_clock::time_point::max()) {
        const auto deadline = since + std::chrono::microseconds(options_.linger_us);
        while (running_ && !full() && lock.wait_until(work_cv_, deadline)) {
        }
      }
    }
    for (auto& [r, box] : outboxes_) {
      if (!ready(*box, clock_->now_ms())) continue;
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
    for (int attempt = 0; attempt < 3 && !box->log.queue_empty(); ++attempt) {
      lock.unlock();
      const bool ok = publish_one(*box);
      lock.lock();
      if (!ok) break;
    }
  }
  drained_cv_.notify_all();
}

void Replicator::on_stream_position(RegionId region, RegionId origin, uint64_t epoch, uint64_t published_seq) {
  if (published_seq == 0) return;  // nothing published (or a sender that does not say)
  std::optional<ResyncReason> why;
  std::optional<MissedRange> missed;
  {
    MutexLock lock(in_mu_);
    auto it = inbound_.find({region, origin});
    // Never heard a batch of it: its first one (or the warm-up) tells.
    if (it == inbound_.end() || !it->second->known) return;
    Inbound& in = *it->second;
    const bool behind = epoch == in.st.epoch ? published_seq >= in.st.next_seq : epoch > in.st.epoch;
    if (!behind) {
      in.tail_pending = false;
      return;
    }
    if (!in.tail_pending || in.tail_epoch != in.st.epoch || in.tail_next != in.st.next_seq) {
      in.tail_pending = true;
      in.tail_epoch = in.st.epoch;
      in.tail_next = in.st.next_seq;
      return;
    }
    in.tail_pending = false;
    ++in.st.gaps;
    if (epoch == in.st.epoch) {
      why = ResyncReason::kGap;
      missed = MissedRange{epoch, in.st.next_seq, published_seq + 1};
    } else {
      ++in.st.epoch_changes;
      why = ResyncReason::kNewEpoch;
    }
  }
  spdlog::info("region {} lost the end of region {}'s stream (its hello says it is at {}:{}); resyncing", region,
               origin, epoch, published_seq);
  if (resync_) resync_(region, origin, *why, missed);
}

std::optional<uint64_t> Replicator::copy_backlog(RegionId origin, uint64_t epoch, uint64_t from, uint64_t until,
                                                 size_t max_events, size_t max_bytes, std::vector<Event>* out) const {
  MutexLock lock(mu_);
  auto it = outboxes_.find(origin);
  if (it == outboxes_.end()) return std::nullopt;
  const Outbox& box = *it->second;
  if (box.epoch != epoch || from == 0) return std::nullopt;
  until = std::min(until, box.next_seq);
  // Nothing held: only what is yet to come is "covered".
  if (box.log.empty()) return from >= box.next_seq ? std::optional(from) : std::nullopt;
  return box.log.copy(from, until, max_events, max_bytes, out);
}

Status Replicator::send_control(const EventBatch& batch) {
  if (!batch.is_control()) return Status::InvalidArgument("not a control batch");
  std::string payload;
  encode_batch(batch, &payload, options_.secret);
  // A hello goes to every region.
  if (batch.kind == BatchKind::kHello) return transport_->broadcast(batch.origin, payload);
  return transport_->send_to(batch.origin, batch.target, payload);
}

bool Replicator::publish_one(Outbox& box) {
  if (!box.breaker.allow()) return false;
  EncodedLog::Slice slice;
  uint64_t epoch;
  std::chrono::steady_clock::time_point taken_since;
  {
    MutexLock lock(mu_);
    // The limits end a batch only between groups (append_group).
    slice = box.log.next_batch(options_.batch_max_events, options_.batch_max_bytes);
    epoch = box.epoch;
    taken_since = box.untaken_since;
    if (slice.count > 0) {
      box.untaken_seq = slice.first_seq + slice.count;
      // Events past a full batch came while it filled: from about now.
      box.untaken_since = std::chrono::steady_clock::now();
    }
  }
  if (slice.count == 0) return true;
  const uint64_t first_seq = slice.first_seq, last_seq = slice.first_seq + slice.count - 1;
  // Copied out of the log without its lock (the slice holds its bytes).
  std::string payload;
  encode_event_batch(box.origin, epoch, first_seq, slice.count, slice.pieces, &payload, options_.secret);
  slice = {};  // its blocks can go back to the allocator
  Status st = transport_->publish(box.origin, payload);
  MutexLock lock(mu_);
  if (!st.ok()) {
    // Taken again by the next publish, as old as they are.
    box.untaken_seq = std::min(box.untaken_seq, first_seq);
    box.untaken_since = taken_since;
    ++box.failures;
    box.breaker.record_failure();
    spdlog::warn("replication publish from region {} failed: {}", box.origin, st.message());
    return false;
  }
  box.breaker.record_success();
  box.last_published_seq = last_seq;
  box.last_published_epoch = epoch;
  // Exactly the confirmed events join the backlog; overflow may have
  // dropped some meanwhile (and emptied the backlog: a new epoch).
  box.published += box.log.mark_published(last_seq, options_.backlog_max_bytes);
  // The episode ends once the outbox has drained to half its bound.
  if (box.log.queued_bytes() < options_.outbox_max_bytes / 2) box.overflowing = false;
  return true;
}

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

Replicator::Inbound& Replicator::inbound_locked(RegionId region, RegionId origin) {
  auto& slot = inbound_[{region, origin}];
  if (!slot) {
    slot = std::make_unique<Inbound>();
    slot->st.region = region;
    slot->st.origin = origin;
  }
  return *slot;
}

bool Replicator::too_far_ahead(int64_t wall_ms, int64_t now) const {
  // Unsigned: the difference of any two int64 values fits.
  const bool ahead = wall_ms > now && static_cast<uint64_t>(wall_ms) - static_cast<uint64_t>(now) >
                                          static_cast<uint64_t>(options_.max_clock_offset_ms);
  // Within the millisecond the HLC has reached, observing moves no clock:
  // the guard is about jumps, and creeping is impossible since the HLC only
  // ever took what passed the wall-clock bound (or its own stamps).
  return ahead && (hlc_ == nullptr || wall_ms > Version{hlc_->last(), 0}.wall_ms());
}

std::optional<Refusal> Replicator::check_event(const Event& e, RegionId origin, int64_t now) const {
  const Version& v = e.record.version;
  if (origin != 0 ? v.region != origin : !known_region(v.region)) return Refusal::kRegion;
  // The clock guard: observing this version would pull the HLC, and with it
  // every later local write, further ahead of the wall clock than allowed.
  if (too_far_ahead(v.wall_ms(), now) || too_far_ahead(e.origin_wall_ms, now)) return Refusal::kClock;
  if (e.origin_wall_ms < 0 || !e.record.well_formed().ok()) return Refusal::kValue;
  return std::nullopt;
}

std::optional<std::string> Replicator::refuse_locked(RegionId region, RegionId origin, Refusal why, uint64_t n,
                                                     const std::string& detail, int64_t now) {
  const size_t i = static_cast<size_t>(why);
  inbound_locked(region, origin).st.refused[i] += n;
  RefusalLog& log = refusal_log_[i];
  log.since += n;
  if (log.logged && now - log.last_ms < kRefusalLogIntervalMs) return std::nullopt;
  std::string line = fmt::format(
      "region {} refused replication input from region {} ({}): {}; {} refused for '{}' since the last report "
      "(INFO geo)",
      region, origin, refusal_name(why), detail, log.since, refusal_name(why));
  log.logged = true;
  log.last_ms = now;
  log.since = 0;
  return line;
}

void Replicator::refuse(RegionId region, RegionId origin, Refusal why, const std::string& detail, int64_t now) {
  std::optional<std::string> line;
  {
    MutexLock lock(in_mu_);
    line = refuse_locked(region, origin, why, 1, detail, now);
  }
  if (line) log_refusal(why, *line);
}

namespace {

// What a log line says about an event refused for `why`; origin as for
// check_event().
std::string describe_refused_event(const Event& e, Refusal why, RegionId origin, int64_t now,
                                   int64_t max_clock_offset_ms) {
  const Version& v = e.record.version;
  switch (why) {
    case Refusal::kRegion:
      if (origin == 0) {
        return fmt::format("key '{}' carries version {} of an unknown region", printable(e.key), v.to_string());
      }
      return fmt::format("key '{}' carries version {}, not a version of region {}", printable(e.key), v.to_string(),
                         origin);
    case Refusal::kClock:
      return fmt::format(
          "key '{}' carries version {}, {} ms ahead of this node's clock (max-clock-offset {} ms; origin wall time "
          "{}): check the clocks (NTP)",
          printable(e.key), v.to_string(), v.wall_ms() - now, max_clock_offset_ms, e.origin_wall_ms);
    case Refusal::kValue:
      return fmt::format("key '{}' (kind {}): {}", printable(e.key), static_cast<int>(e.record.kind),
                         e.origin_wall_ms < 0 ? "negative origin wall time" : e.record.well_formed().message());
    case Refusal::kMac:
    case Refusal::kSequence: break;
  }
  return {};
}

}  // namespace

void Replicator::receive(RegionId region, std::string_view payload) {
  const int64_t now = clock_->now_ms();
  const std::optional<std::string_view> unsealed = unseal_batch(payload, options_.secret);
  if (!unsealed) {
    refuse(
        region, 0, Refusal::kMac,
        fmt::format("a batch of {} bytes whose seal is missing or does not match replication-secret", payload.size()),
        now);
    return;
  }
  auto decoded = decode_batch(*unsealed);
  if (!decoded.ok()) {
    {
      MutexLock lock(in_mu_);
      ++inbound_locked(region, 0).st.corrupt_batches;
    }
    spdlog::error("region {} received a corrupt replication batch ({} bytes): {}", region, payload.size(),
                  decoded.status().message());
    return;
  }
  EventBatch& batch = decoded.value();
  if (batch.kind == BatchKind::kHello) {
    // From any region, ours included: two processes serving one region
    // hear each other's.
    if (control_) control_(region, batch);
    return;
  }
  if (batch.origin == region) return;  // our own events echoed back
  if (!known_region(batch.origin)) {
    refuse(region, 0, Refusal::kRegion,
           fmt::format("a batch from region id {}, which is not a region of this deployment", batch.origin), now);
    return;
  }
  if (batch.is_control()) {
    receive_control(region, batch, now);
    return;
  }
  const uint64_t count = batch.events.size();
  if (count == 0) return;  // never sent: nothing to apply, nothing to number
  // Checked before taking the lock: decoding values is the costly part.
  std::vector<std::optional<Refusal>> verdicts(count);
  for (size_t i = 0; i < count; ++i) verdicts[i] = check_event(batch.events[i], batch.origin, now);

  MutexLock lock(in_mu_);
  Inbound& in = inbound_locked(region, batch.origin);
  ++in.st.batches_in;
  const uint64_t first = batch.first_seq;
  if (first == 0 || first > kMaxSequence || count > kMaxSequence - first) {
    auto line = refuse_locked(
        region, batch.origin, Refusal::kSequence, 1,
        fmt::format("a batch claiming sequence {} (an origin counts from 1 to at most 2^62)", first), now);
    lock.unlock();
    if (line) log_refusal(Refusal::kSequence, *line);
    return;
  }
  const uint64_t end_seq = first + count;
  std::optional<ResyncReason> resync;
  std::optional<MissedRange> missed;
  size_t skip = 0;
  if (!in.known) {
    in.known = true;
    if (first != 1) {
      resync = ResyncReason::kFirstContact;
      missed = MissedRange{batch.epoch, 1, first};
    }
  } else if (batch.epoch != in.st.epoch) {
    // A restarted origin, or one whose outbox overflowed: anywhere goes.
    ++in.st.epoch_changes;
    resync = ResyncReason::kNewEpoch;
    in.older_covered = false;  // before the resync is asked: its end sets it
  } else if (const uint64_t expected = in.st.next_seq;
             (first > expected && first - expected > options_.sequence_window) ||
             (end_seq < expected && expected - end_seq > options_.sequence_window)) {
    if (in.jump_pending && in.jump_epoch == batch.epoch && in.jump_next == first) {
      // Two batches in a row agree: the origin really is there (our queue
      // lost more than the window, or a forged sequence moved us). Follow
      // it, and resync what lies between.
      ++in.st.gaps;
      resync = ResyncReason::kGap;
      missed = MissedRange{batch.epoch, expected, first};
    } else {
      in.jump_pending = true;
      in.jump_epoch = batch.epoch;
      in.jump_next = end_seq;
      auto line = refuse_locked(
          region, batch.origin, Refusal::kSequence, 1,
          fmt::format("a batch at sequence {} while {} was expected (sequence-window {}); followed only if the next "
                      "batch continues it",
                      first, expected, options_.sequence_window),
          now);
      lock.unlock();
      if (line) log_refusal(Refusal::kSequence, *line);
      // If the origin really is that far ahead, what this batch carried
      // would be lost to us until the next one confirms the jump: a resync
      // brings it now. (Far behind: old news, nothing to fetch.)
      if (first > expected && resync_) {
        resync_(region, batch.origin, ResyncReason::kGap, MissedRange{batch.epoch, expected, first});
      }
      return;
    }
  } else if (first > expected) {
    ++in.st.gaps;
    resync = ResyncReason::kGap;
    missed = MissedRange{batch.epoch, expected, first};
  } else if (end_seq <= expected) {
    in.jump_pending = false;
    in.st.duplicates += count;
    return;
  } else {
    skip = expected - first;  // overlap with what we applied
    in.st.duplicates += skip;
  }
  in.jump_pending = false;
  in.st.epoch = batch.epoch;
  in.st.next_seq = end_seq;
  // Refused events keep their sequence (the stream stays in step); the
  // others are applied and timed.
  std::array<uint64_t, kRefusalReasons> refused{};
  std::array<size_t, kRefusalReasons> first_refused{};
  for (size_t i = skip; i < count; ++i) {
    if (verdicts[i]) {
      const size_t r = static_cast<size_t>(*verdicts[i]);
      if (refused[r]++ == 0) first_refused[r] = i;
      continue;
    }
    in.record_lag(std::max<int64_t>(0, now - batch.events[i].origin_wall_ms));
  }
  in.st.events_in += count - skip;
  std::vector<std::pair<Refusal, std::string>> lines;
  for (size_t r = 0; r < kRefusalReasons; ++r) {
    if (refused[r] == 0) continue;
    const Refusal why = static_cast<Refusal>(r);
    const std::string detail = fmt::format(
        "{} of {} events of a batch; first: {}", refused[r], count,
        describe_refused_event(batch.events[first_refused[r]], why, batch.origin, now, options_.max_clock_offset_ms));
    if (auto line = refuse_locked(region, batch.origin, why, refused[r], detail, now)) lines.emplace_back(why, *line);
  }
  // Apply outside the stats lock: applying takes store locks and may be slow.
  lock.unlock();
  for (const auto& [why, line] : lines) log_refusal(why, line);
  if (resync) {
    spdlog::debug("region {} resyncs from region {} ({})", region, batch.origin, resync_reason_name(*resync));
    if (resync_) resync_(region, batch.origin, *resync, missed);
  }
  for (size_t i = skip; i < count;) {
    // A group (a transaction's writes) is applied as one unit; a batch
    // starting inside one (after a skip) applies the rest of it so.
    size_t end = i + 1;
    while (end < count && batch.events[end - 1].group_next) ++end;
    auto apply_range = [&] {
      for (size_t j = i; j < end; ++j) {
        if (!verdicts[j]) apply_(region, batch.events[j]);
      }
    };
    if (end - i > 1 && group_runner_) group_runner_(region, apply_range);
    else apply_range();
    i = end;
  }
  {
    // Batches of one (region, origin) arrive on one consumer, in order: no
    // later batch of this link can have moved the epoch meanwhile.
    MutexLock relock(in_mu_);
    if (in.applied_epoch != batch.epoch) in.applied_next = 0;
    in.applied_epoch = batch.epoch;
    in.applied_next = std::max(in.applied_next, end_seq);
  }
  if (progress_) progress_();
}

// Control batches are not numbered (a lost one is recovered by asking
// again), but what they carry is bounded like events: a snapshot's records
// one by one, its end's timestamps by the clock guard (they reach the HLC
// and decide what the receiver drops).
void Replicator::receive_control(RegionId region, EventBatch& batch, int64_t now) {
  if (batch.target != region) {
    spdlog::warn("region {} received a control batch for region {}; ignored", region, batch.target);
    return;
  }
  if (batch.kind == BatchKind::kSnapshotEnd) {
    const Version mark = batch.flush_mark;
    if (too_far_ahead(Version{batch.snapshot_hlc, 0}.wall_ms(), now) || too_far_ahead(mark.wall_ms(), now)) {
      refuse(region, batch.origin, Refusal::kClock,
             fmt::format("a snapshot end at {} with flush mark {}, ahead of this node's clock by more than "
                         "max-clock-offset ({} ms): check the clocks (NTP)",
                         Version{batch.snapshot_hlc, batch.origin}.to_string(), mark.to_string(),
                         options_.max_clock_offset_ms),
             now);
      return;
    }
    if (mark != Version::zero() && !known_region(mark.region)) {
      refuse(region, batch.origin, Refusal::kRegion,
             fmt::format("a snapshot end whose flush mark {} names an unknown region", mark.to_string()), now);
      return;
    }
  }
  // A fetch request carries just a key; the record of a reply is checked
  // like a snapshot's.
  if (batch.kind == BatchKind::kSnapshotChunk || batch.kind == BatchKind::kFetchReply) {
    std::array<uint64_t, kRefusalReasons> refused{};
    std::array<std::string, kRefusalReasons> first;
    std::erase_if(batch.events, [&](const Event& e) {
      const auto why = check_event(e, 0, now);
      if (!why) return false;
      const size_t r = static_cast<size_t>(*why);
      if (refused[r]++ == 0) first[r] = describe_refused_event(e, *why, 0, now, options_.max_clock_offset_ms);
      return true;
    });
    std::vector<std::pair<Refusal, std::string>> lines;
    {
      MutexLock lock(in_mu_);
      for (size_t r = 0; r < kRefusalReasons; ++r) {
        if (refused[r] == 0) continue;
        const Refusal why = static_cast<Refusal>(r);
        if (auto line =
                refuse_locked(region, batch.origin, why, refused[r],
                              fmt::format("{} records of a snapshot chunk; first: {}", refused[r], first[r]), now)) {
          lines.emplace_back(why, *line);
        }
      }
    }
    for (const auto& [why, line] : lines) log_refusal(why, line);
  }
  if (control_) control_(region, batch);
}

std::optional<StreamPoint> Replicator::stream_point(RegionId origin) const {
  MutexLock lock(mu_);
  auto it = outboxes_.find(origin);
  if (it == outboxes_.end()) return std::nullopt;
  return StreamPoint{origin, it->second->epoch, it->second->next_seq - 1};
}

bool Replicator::has_applied(RegionId region, const StreamPoint& point) const {
  if (point.seq == 0) return true;  // before the origin's first event
  MutexLock lock(in_mu_);
  auto it = inbound_.find({region, point.origin});
  if (it == inbound_.end()) return false;
  const Inbound& in = *it->second;
  if (point.epoch == in.applied_epoch) return point.seq < in.applied_next;
  return point.epoch < in.applied_epoch && in.older_covered;
}

void Replicator::caught_up(RegionId region, RegionId origin) {
  {
    MutexLock lock(in_mu_);
    inbound_locked(region, origin).older_covered = true;
  }
  if (progress_) progress_();
}

std::vector<OutboxStats> Replicator::outbox_stats() const {
  MutexLock lock(mu_);
  std::vector<OutboxStats> out;
  for (const auto& [r, box] : outboxes_) {
    OutboxStats s;
    s.origin = r;
    s.epoch = box->epoch;
    s.depth_events = box->log.queued_events();
    s.depth_bytes = box->log.queued_bytes();
    s.appended = box->appended;
    s.published = box->published;
    s.dropped = box->dropped;
    s.last_published_seq = box->last_published_epoch == box->epoch ? box->last_published_seq : 0;
    s.backlog_events = box->log.backlog_events();
    s.backlog_bytes = box->log.backlog_bytes();
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
