// Backlog first. A receiver that knows which events it missed (a gap in one
// epoch's numbering) asks for those: the origin answers with them from its
// backlog (Replicator::copy_backlog) in chunks flagged `backlog`, applied by
// the same LWW rule, and an end; nothing is dropped. Only if the backlog no
// longer holds them all (or the receiver does not know what it missed: a new
// epoch) does it answer with a snapshot, as follows.
//
// Resync: snapshot the origin's store, including tombstones, at origin-HLC
// time T; apply every record by the LWW rule; then drop records in the
// receiving store that came from the origin, are older than T and are absent
// from the snapshot: the origin forgot them (evicted, expired, tombstone
// retired) and we may hold a stale copy. Dropping is safe: at worst it causes
// a miss. An origin in this process is read directly. An origin in another
// process is asked with a control batch (Replicator::send_control); it
// answers from a short-lived thread of its own with chunks of records and an
// end carrying T and its FLUSHALL mark, which the receiver applies too (it
// may have missed the flush).
//
// Who waits on the network. The hooks (resync(), handle_control()) run on
// transport threads, which must not block: the transport acknowledges a batch
// only after its receiver returns, and a receiver stuck on a broker confirm
// would stall every region behind it. So the hooks only record state under
// mu_: a request is queued for the worker thread, which sends it, and also
// re-asks every request unanswered for timeout_ms (polled, because the clock
// may be a test's manual one). A snapshot is sent by a sender thread per
// (origin, requester). Chunks and the end are applied on the transport
// thread: that is store work, not network work.
//
// Request ids. One request per (region, origin) is outstanding at a time; its
// id is echoed by every chunk and the end, so an answer to a request given up
// on is ignored. What is missed while a request is outstanding may postdate
// the snapshot being sent, so it earns exactly one more request once this one
// ends.
//
// Warm-up (resync.h). Why waiting for the warm-up from the requester itself
// is enough: the requester drops only what came from us, and everything of
// ours it will ever receive from our previous run was queued for it before
// our warm-up request (we were dead in between), so its snapshot for us
// already held it. Two regions warming up from each other answer each other at
// once, flagged: each then holds what the other had, and neither drops
// anything on the other's word.
#include "messaging/resync.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace geocache {
namespace {

// One range spanning both, if both are known and of one epoch; else none (a
// snapshot). What lies between them is asked for too: it was received, and
// applying it again changes nothing.
std::optional<MissedRange> span(std::optional<MissedRange> a, std::optional<MissedRange> b) {
  if (!a || !b || a->epoch != b->epoch) return std::nullopt;
  return MissedRange{a->epoch, std::min(a->from, b->from), std::max(a->until, b->until)};
}

// A batch of the answer to request `request_id` of `requester`'s, from `origin`.
EventBatch answer_batch(BatchKind kind, RegionId origin, RegionId requester, uint64_t request_id) {
  EventBatch b;
  b.kind = kind;
  b.origin = origin;
  b.target = requester;
  b.request_id = request_id;
  return b;
}

}  // namespace

Resync::Resync(const ResyncOptions& options, ResyncStore* store, const Clock* clock, SendFn send)
    : options_(options),
      store_(store),
      clock_(clock),
      send_(std::move(send)),
      // From the wall clock, like epochs: a restarted node does not take an
      // answer to its previous incarnation's request for its own.
      next_request_id_(static_cast<uint64_t>(SystemClock::instance()->now_ms())) {}

Resync::~Resync() { stop(); }

std::string Resync::name(RegionId id) const {
  return options_.region_name ? options_.region_name(id) : std::to_string(id);
}

void Resync::start() {
  MutexLock lock(mu_);
  if (running_) return;
  running_ = true;
  worker_ = std::thread([this] { run_worker(); });
  // Requests that arrived before: those not waiting for a warm-up go now.
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    const auto& [pair, d] = *it;
    if (warming_.count(pair) && !d.requester_warming) {
      ++it;
      continue;
    }
    answer_locked(pair.first, pair.second, d.request);
    it = deferred_.erase(it);
  }
}

void Resync::stop() {
  std::map<Pair, std::unique_ptr<SnapshotSender>> senders;
  {
    MutexLock lock(mu_);
    running_ = false;
    senders.swap(senders_);
    deferred_.clear();  // their requesters ask again after the timeout
  }
  worker_cv_.notify_all();
  sent_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (auto& [pair, sender] : senders) sender->thread.join();
}

// ---------------------------------------------------------------------------
// Receiving side: asking, and applying the answer
// ---------------------------------------------------------------------------

void Resync::resync(RegionId region, RegionId origin, std::optional<MissedRange> missed) {
  started_.fetch_add(1);
  if (!store_->is_local(region)) return;
  if (on_started_) on_started_(region, origin);
  if (store_->is_local(origin)) {
    resync_locally(region, origin);
    return;
  }
  MutexLock lock(mu_);
  const Pair pair{region, origin};
  Pending& p = pending_[pair];
  p.warm_up = false;  // a warm-up request outstanding serves this report too
  const int64_t now = clock_->now_ms();
  if (p.request_id != 0) {
    // Missed more while a request is out: one more request once it ends
    // (or as it is asked again), for every gap reported meanwhile.
    p.missed_after = p.missed_more ? span(p.missed_after, missed) : missed;
    p.missed_more = true;
    if (now - p.requested_at_ms < options_.timeout_ms) return;
  } else {
    p.missed = missed;
  }
  ask_locked(pair, p, now);
}

void Resync::warm_up(RegionId region, RegionId origin) {
  if (!store_->is_local(region) || store_->is_local(origin)) return;
  MutexLock lock(mu_);
  warm_up_locked({region, origin});
}

void Resync::warm_up_locked(const Pair& pair) {
  if (warmed_.count(pair) || !warming_.try_emplace(pair).second) return;  // once per run
  spdlog::info("region {} warms up from region {}", name(pair.first), name(pair.second));
  Pending& p = pending_[pair];
  if (p.request_id != 0) {
    // A request for the whole store is out already: its end ends the
    // warm-up. One for a range of the backlog is not the store, and its end
    // must not: ask for the whole instead (it serves the range's gap too).
    if (p.missed) ask_locked(pair, p, clock_->now_ms());
    return;
  }
  ask_locked(pair, p, clock_->now_ms());
  p.warm_up = true;
}

size_t Resync::warming() const {
  MutexLock lock(mu_);
  return warming_.size();
}

bool Resync::warmed_up(RegionId region) const {
  MutexLock lock(mu_);
  auto it = warmed_.lower_bound({region, 0});
  return it != warmed_.end() && it->first == region;
}

bool Resync::warm_up_answered(RegionId region, RegionId origin) const {
  MutexLock lock(mu_);
  if (warmed_.count({region, origin})) return true;
  auto it = pending_.find({region, origin});
  return it != pending_.end() && !it->second.chunks.empty();
}

bool Resync::in_progress(RegionId region, RegionId origin) const {
  MutexLock lock(mu_);
  return pending_.count({region, origin}) != 0;
}

void Resync::resync_locally(RegionId region, RegionId origin) {
  const int64_t started_ms = clock_->now_ms();
  const uint64_t snapshot_hlc = store_->hlc_now();
  uint64_t records = 0, bytes = 0;
  for (int shard = 0; shard < store_->shard_count(origin); ++shard) {
    for (Event& e : store_->copy_shard(origin, shard)) {
      store_->apply_seen(region, e.key, e.record, origin);
      ++records;
      bytes += encoded_event_size(e);
    }
  }
  {
    MutexLock lock(mu_);
    ++stats_.by_snapshot;
    stats_.records_in += records;
    stats_.bytes_in += bytes;
    stats_.last_ms = clock_->now_ms() - started_ms;
  }
  const size_t dropped = store_->end_snapshot(region, origin, snapshot_hlc);
  spdlog::info("region {} resynced from region {}: {} records in snapshot, {} dropped", name(region), name(origin),
               records, dropped);
  report_completed(region, origin);
  if (on_covered_) on_covered_(region, origin);
}

void Resync::ask_locked(const Pair& pair, Pending& p, int64_t now) {
  const RegionId region = pair.first, origin = pair.second;
  if (p.request_id != 0 && now - p.requested_at_ms >= options_.timeout_ms) {
    // A warm-up from a region that is down (or never started) goes on until
    // it answers; INFO geo's warming shows it without a line every timeout.
    spdlog::log(p.warm_up ? spdlog::level::debug : spdlog::level::warn,
                "region {}: no snapshot from region {} within {} ms; asking again", name(region), name(origin),
                options_.timeout_ms);
  }
  const bool warm_up = p.warm_up;
  // Asked again, the request covers what was missed meanwhile too.
  std::optional<MissedRange> missed = p.missed_more ? span(p.missed, p.missed_after) : p.missed;
  // A warm-up needs the whole store: the events missed are not all.
  if (warm_up || warming_.count(pair)) missed.reset();
  p = Pending{};
  p.warm_up = warm_up;
  p.missed = missed;
  p.request_id = next_request_id_++;
  p.requested_at_ms = now;
  // A request for this pair not yet sent is superseded.
  std::erase_if(requests_, [&](const EventBatch& r) { return r.origin == region && r.target == origin; });
  EventBatch request;
  request.kind = BatchKind::kResyncRequest;
  request.origin = region;
  request.target = origin;
  request.request_id = p.request_id;
  request.warming = warming_.count(pair) != 0;
  if (missed) {
    request.epoch = missed->epoch;
    request.first_seq = missed->from;
    request.until_seq = missed->until;
  }
  requests_.push_back(std::move(request));
  worker_cv_.notify_one();
}

void Resync::run_worker() {
  MutexLock lock(mu_);
  while (running_) {
    const int64_t now = clock_->now_ms();
    for (auto& [pair, p] : pending_) {
      if (now - p.requested_at_ms >= options_.timeout_ms) ask_locked(pair, p, now);
    }
    while (running_ && !requests_.empty()) {
      EventBatch request = std::move(requests_.front());
      requests_.pop_front();
      sending_request_ = true;
      lock.unlock();
      if (Status st = send_(request); st.ok()) {
        // Warm-up requests are logged when the warm-up starts and ends: one
        // to a region that is down is asked again every timeout.
        spdlog::log(request.warming ? spdlog::level::debug : spdlog::level::info,
                    "region {} asked region {} for a snapshot", name(request.origin), name(request.target));
      } else {
        spdlog::warn("region {} cannot ask region {} for a snapshot ({}); retrying in {} ms", name(request.origin),
                     name(request.target), st.message(), options_.timeout_ms);
      }
      lock.lock();
      sending_request_ = false;
    }
    sent_cv_.notify_all();
    if (running_) lock.wait_for(worker_cv_, std::chrono::milliseconds(options_.retry_poll_ms));
  }
}

bool Resync::wait_requests_sent(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  MutexLock lock(mu_);
  while (!requests_.empty() || sending_request_) {
    if (!running_ && !sending_request_) return false;
    if (!lock.wait_until(sent_cv_, deadline) && std::chrono::steady_clock::now() >= deadline) return false;
  }
  return true;
}

void Resync::handle_control(RegionId region, const EventBatch& batch) {
  if (!store_->is_local(region)) return;
  switch (batch.kind) {
    case BatchKind::kResyncRequest: {
      Request request{batch.request_id, std::nullopt};
      if (batch.until_seq > batch.first_seq && batch.first_seq > 0) {
        request.missed = MissedRange{batch.epoch, batch.first_seq, batch.until_seq};
      }
      start_snapshot(region, batch.origin, std::move(request), batch.warming);
      return;
    }
    case BatchKind::kSnapshotChunk: apply_snapshot_chunk(region, batch); return;
    case BatchKind::kSnapshotEnd: finish_snapshot(region, batch); return;
    case BatchKind::kEvents:
    case BatchKind::kHello:
    case BatchKind::kFetchRequest:
    case BatchKind::kFetchReply: return;
  }
}

void Resync::apply_snapshot_chunk(RegionId region, const EventBatch& chunk) {
  MutexLock lock(mu_);
  auto it = pending_.find({region, chunk.origin});
  // An answer to a request we gave up on (or never made): its end will not
  // be taken either, so applying it would only be work.
  if (it == pending_.end() || it->second.request_id != chunk.request_id) return;
  it->second.chunks.insert(chunk.first_seq);
  for (const Event& e : chunk.events) {
    store_->hlc_observe(e.record.version.hlc);
    stats_.bytes_in += encoded_event_size(e);
    ++stats_.records_in;
    ++it->second.records;
    if (chunk.backlog) {
      // The origin's own events, as they were published: a flush among them too.
      if (e.kind == EventKind::kFlush) store_->flush_before(region, e.record.version);
      else store_->apply(region, e.key, e.record);
      continue;
    }
    store_->apply_seen(region, e.key, e.record, chunk.origin);
  }
}

void Resync::finish_snapshot(RegionId region, const EventBatch& end) {
  const Pair pair{region, end.origin};
  size_t in_snapshot, dropped = 0;
  bool warm_up, warmed, again;
  {
    MutexLock lock(mu_);
    auto it = pending_.find(pair);
    if (it == pending_.end() || it->second.request_id != end.request_id) return;
    if (it->second.chunks.size() != end.first_seq) {
      // A chunk was lost (a queue full of older messages dropped it): the
      // keys it held would be dropped as forgotten. Ask again instead.
      spdlog::warn("region {}: snapshot from region {} arrived incomplete ({} of {} chunks); asking again",
                   name(region), name(end.origin), it->second.chunks.size(), end.first_seq);
      it->second.request_id = 0;  // not a timeout: ask_locked need not say so
      ask_locked({region, end.origin}, it->second, clock_->now_ms());
      return;
    }
    stats_.last_ms = clock_->now_ms() - it->second.requested_at_ms;
    if (end.backlog) ++stats_.by_backlog;
    else ++stats_.by_snapshot;
    store_->hlc_observe(end.snapshot_hlc);
    if (end.flush_mark != Version::zero()) store_->flush_before(region, end.flush_mark);
    // A sender still warming up from us may lack what we hold: its snapshot
    // is no evidence that it forgot anything. Its records were applied all
    // the same (by LWW, always safe). A backlog's events say nothing of
    // what the origin forgot.
    if (!end.backlog) {
      dropped = store_->end_snapshot(region, end.origin,
                                     end.warming ? std::nullopt : std::optional<uint64_t>(end.snapshot_hlc));
    }
    in_snapshot = it->second.records;
    warm_up = it->second.warm_up;
    again = it->second.missed_more;
    const std::optional<MissedRange> missed_after = it->second.missed_after;
    pending_.erase(it);
    warmed = warming_.erase(pair) != 0;
    if (warmed) {
      warmed_.insert(pair);
      // Warm now: a request of the origin's that waited for this is answered.
      if (auto d = deferred_.find(pair); d != deferred_.end() && running_) {
        Request request = std::move(d->second.request);
        deferred_.erase(d);
        answer_locked(region, end.origin, std::move(request));
      }
    }
    if (again) {
      Pending& next = pending_[pair];
      next.missed = missed_after;
      ask_locked(pair, next, clock_->now_ms());
    }
  }
  if (end.backlog) {
    spdlog::info("region {} caught up from region {}'s backlog: {} events", name(region), name(end.origin),
                 in_snapshot);
  } else {
    spdlog::info("region {} {} region {}: {} records in snapshot, {}", name(region),
                 warmed ? "warmed up from" : "resynced from", name(end.origin), in_snapshot,
                 end.warming ? std::string("none dropped (the sender was still warming up)")
                             : std::to_string(dropped) + " dropped");
  }
  if (!warm_up) report_completed(region, end.origin);
  if (!again && on_covered_) on_covered_(region, end.origin);
}

void Resync::report_completed(RegionId region, RegionId origin) {
  completed_.fetch_add(1);
  if (on_resynced_) on_resynced_(region, origin);
}

// ---------------------------------------------------------------------------
// Sending side: answering a request with a snapshot
// ---------------------------------------------------------------------------

Resync::Stats Resync::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

void Resync::start_snapshot(RegionId origin, RegionId requester, Request request, bool requester_warming) {
  MutexLock lock(mu_);
  const Pair pair{origin, requester};
  // A region not warmed up from in this run (one unknown at start): we may
  // lack what it holds of ours just the same, so warm up from it first.
  if (!store_->is_local(requester)) warm_up_locked(pair);
  if (auto w = warming_.find(pair); requester_warming && w != warming_.end() && !w->second.asked_again) {
    // The requester has just started, so our warm-up request may have gone
    // before its queue existed (and been lost): ask again now rather than
    // after the timeout. Once: the request asked now reaches it.
    w->second.asked_again = true;
    spdlog::info("region {} is warming up too: region {} asks it again", name(requester), name(origin));
    ask_locked(pair, pending_[pair], clock_->now_ms());
  }
  const bool wait_for_warm_up = warming_.count(pair) && !requester_warming;
  if (!running_ || wait_for_warm_up) {
    // Before start(), the answer waits for it. While warming up from the
    // requester, we may lack what it holds of ours, and it would drop that
    // (the top of this file): the answer waits for that warm-up. A later
    // request replaces this one; the requester's retry covers a stop.
    deferred_[pair] = Deferred{std::move(request), requester_warming};
    if (wait_for_warm_up) {
      spdlog::info("region {} asked region {} for a snapshot while it warms up from it: answered once warm",
                   name(requester), name(origin));
    }
    return;
  }
  deferred_.erase(pair);  // superseded by this request
  answer_locked(origin, requester, std::move(request));
}

void Resync::answer_locked(RegionId origin, RegionId requester, Request request) {
  auto& slot = senders_[{origin, requester}];
  if (slot && slot->running) {
    // One answer at a time per requester; the latest request waits for
    // the running one (which answers an older request) to end.
    slot->queued = std::move(request);
    return;
  }
  if (slot) slot->thread.join();  // ended: joins at once
  slot = std::make_unique<SnapshotSender>();
  SnapshotSender* sender = slot.get();
  sender->running = true;
  // Its own thread: sending waits for the broker's confirms, which must
  // hold up neither the receive path nor the replication thread.
  sender->thread = std::thread([this, origin, requester, request = std::move(request), sender]() mutable {
    while (true) {
      send_answer(origin, requester, request);
      MutexLock lock(mu_);
      if (sender->queued.id == 0 || !running_) {
        sender->running = false;
        return;
      }
      request = std::exchange(sender->queued, Request{});
    }
  });
}

void Resync::send_answer(RegionId origin, RegionId requester, const Request& request) {
  if (request.missed && send_backlog(origin, requester, request)) return;
  send_snapshot(origin, requester, request.id);
}

bool Resync::send_backlog(RegionId origin, RegionId requester, const Request& request) {
  const MissedRange& missed = *request.missed;
  EventBatch chunk = answer_batch(BatchKind::kSnapshotChunk, origin, requester, request.id);
  chunk.backlog = true;
  uint64_t seq = missed.from, events = 0, chunks = 0;
  while (seq < missed.until) {
    {
      MutexLock lock(mu_);
      if (!running_) return true;
    }
    chunk.events.clear();
    const std::optional<uint64_t> next = store_->copy_backlog(origin, missed.epoch, seq, missed.until,
                                                              options_.batch_max_events, options_.batch_max_bytes,
                                                              &chunk.events);
    if (!next) {
      if (chunks == 0) return false;  // not (or no longer) held: a snapshot instead
      // Overwritten while being sent (a burst of writes): the requester asks
      // again after its timeout and then gets a snapshot.
      spdlog::warn("region {}: its backlog moved past what region {} missed while it was sent; it will ask again",
                   name(origin), name(requester));
      return true;
    }
    if (chunk.events.empty()) break;  // nothing past the last sequence assigned
    seq = *next;
    events += chunk.events.size();
    chunk.first_seq = ++chunks;
    if (Status st = send_(chunk); !st.ok()) {
      spdlog::warn("region {}: sending missed events to region {} failed ({}); it will ask again", name(origin),
                   name(requester), st.message());
      return true;
    }
  }
  EventBatch end = answer_batch(BatchKind::kSnapshotEnd, origin, requester, request.id);
  end.first_seq = chunks;
  end.backlog = true;
  if (Status st = send_(end); !st.ok()) {
    spdlog::warn("region {}: sending the end of missed events to region {} failed ({}); it will ask again",
                 name(origin), name(requester), st.message());
    return true;
  }
  spdlog::info("region {} sent region {} the {} events it missed from its backlog, in {} chunks", name(origin),
               name(requester), events, chunks);
  return true;
}

void Resync::send_snapshot(RegionId origin, RegionId requester, uint64_t request_id) {
  bool warming;  // decided before the scan: a warm-up ending during it does not make it whole
  {
    MutexLock lock(mu_);
    warming = warming_.count({origin, requester}) != 0;
  }
  // Taken before scanning: every write with an older version is in the store
  // when its shard is scanned (a version is assigned under the shard lock).
  const uint64_t snapshot_hlc = store_->hlc_now();
  EventBatch chunk = answer_batch(BatchKind::kSnapshotChunk, origin, requester, request_id);
  size_t chunk_bytes = 0, records = 0, chunks = 0;
  auto send_chunk = [&] {
    if (chunk.events.empty()) return true;
    chunk.first_seq = chunks + 1;  // numbered, so the receiver can tell one went missing
    Status st = send_(chunk);
    chunk.events.clear();
    chunk_bytes = 0;
    ++chunks;
    if (!st.ok()) {
      spdlog::warn("region {}: sending a snapshot to region {} failed ({}); it will ask again", name(origin),
                   name(requester), st.message());
    }
    return st.ok();
  };
  for (int shard = 0; shard < store_->shard_count(origin); ++shard) {
    {
      MutexLock lock(mu_);
      if (!running_) return;
    }
    for (Event& e : store_->copy_shard(origin, shard)) {
      const size_t size = encoded_event_size(e);
      if (!chunk.events.empty() && (chunk.events.size() >= options_.batch_max_events ||
                                    chunk_bytes + size > options_.batch_max_bytes)) {
        if (!send_chunk()) return;
      }
      chunk_bytes += size;
      chunk.events.push_back(std::move(e));
      ++records;
    }
  }
  if (!send_chunk()) return;
  EventBatch end = answer_batch(BatchKind::kSnapshotEnd, origin, requester, request_id);
  end.snapshot_hlc = snapshot_hlc;
  end.first_seq = chunks;
  // Read after the scan: a flush is a flush, whenever it happened.
  end.flush_mark = store_->flush_mark(origin);
  end.warming = warming;
  if (Status st = send_(end); !st.ok()) {
    spdlog::warn("region {}: sending a snapshot end to region {} failed ({}); it will ask again", name(origin),
                 name(requester), st.message());
    return;
  }
  spdlog::info("region {} sent region {} a snapshot: {} records in {} chunks{}", name(origin), name(requester), records,
               chunks, warming ? " (flagged: still warming up from it)" : "");
}

}  // namespace geocache
