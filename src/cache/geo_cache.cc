// GeoCache: versioning, routing and resync on top of one LruCache per region.
//
// Every local write runs as a read-modify-write under the key's shard lock:
// the mutator computes the key's new whole state, the HLC stamps it with a
// version greater than anything seen, the store keeps it, and a copy becomes
// an event in the replicator's outbox. Remote events go through
// LruCache::apply(), whose last-writer-wins rule makes delivery order,
// duplicates and replays irrelevant.
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
#include "cache/geo_cache.h"

#include <algorithm>
#include <set>
#include <unordered_set>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace geocache {
namespace {

// Stores keep expiries in 48 bits of Unix ms; nothing later can be represented.
constexpr int64_t kMaxExpireAtMs = (int64_t{1} << 48) - 1;

// now + ttl_ms without signed overflow, capped at the latest storable expiry.
int64_t expire_at_after(int64_t now, int64_t ttl_ms) {
  int64_t at;
  if (__builtin_add_overflow(now, ttl_ms, &at)) return ttl_ms > 0 ? kMaxExpireAtMs : 0;
  return std::min(at, kMaxExpireAtMs);
}

}  // namespace

void GeoCacheOptions::validate() const {
  if (regions.empty()) throw std::invalid_argument("regions must name at least one region");
  if (regions.size() > kMaxRegions) throw std::invalid_argument("regions: at most 255 regions");
  std::set<std::string> seen;
  for (const auto& r : regions) {
    if (r.empty()) throw std::invalid_argument("regions: a region name is empty");
    if (!seen.insert(r).second) throw std::invalid_argument("regions: '" + r + "' is listed twice");
  }
  for (const auto& r : local_regions) {
    if (!seen.count(r)) throw std::invalid_argument("local_regions: '" + r + "' is not in regions");
  }
  if (!home_region.empty() && !seen.count(home_region)) {
    throw std::invalid_argument("home_region: '" + home_region + "' is not in regions");
  }
  for (const auto& [pair, ms] : latency_ms) {
    if (!seen.count(pair.first) || !seen.count(pair.second)) {
      throw std::invalid_argument("latency: '" + pair.first + "'-'" + pair.second + "' names an unknown region");
    }
    if (ms < 0) throw std::invalid_argument("latency: must not be negative");
  }
  if (default_ttl_ms < 0) throw std::invalid_argument("default_ttl_ms must not be negative");
  if (expiry_cycle_interval_ms < 1) throw std::invalid_argument("expiry_cycle_interval_ms must be at least 1");
  store.validate();
  replication.validate();
  region_breaker.validate();
}

GeoCache::GeoCache(const GeoCacheOptions& options, std::unique_ptr<Transport> transport, const Clock* clock)
    : options_(options),
      clock_(clock ? clock : SystemClock::instance()),
      hlc_(clock_),
      transport_(std::move(transport)),
      default_ttl_ms_(options.default_ttl_ms),
      // From the wall clock, like epochs: a restarted node does not take an
      // answer to its previous incarnation's request for its own.
      next_request_id_(static_cast<uint64_t>(SystemClock::instance()->now_ms())) {
  options_.validate();
  options_.store.clock = clock_;
  replicates_ = options_.regions.size() > 1;
  for (size_t i = 0; i < options_.regions.size(); ++i) {
    const auto& name = options_.regions[i];
    const bool local = options_.local_regions.empty() ||
                       std::find(options_.local_regions.begin(), options_.local_regions.end(), name) !=
                           options_.local_regions.end();
    const auto id = static_cast<RegionId>(i + 1);
    breakers_[id] = std::make_unique<CircuitBreaker>(options_.region_breaker, clock_);
    if (!local) continue;
    local_ids_.push_back(id);
    stores_[id] = std::make_unique<LruCache>(options_.store);
  }
  home_ = options_.home_region.empty() ? local_ids_.front() : region_id(options_.home_region).value();
  if (!is_local(home_)) throw std::invalid_argument("home_region must be a local region");
  if (!transport_) {
    auto in_process = std::make_unique<InProcessTransport>();
    in_process_ = in_process.get();
    if (options_.simulate_link_delay) {
      for (RegionId a : local_ids_) {
        for (RegionId b : local_ids_) {
          if (a == b) continue;
          auto it = options_.latency_ms.find({region_name(a), region_name(b)});
          if (it == options_.latency_ms.end()) it = options_.latency_ms.find({region_name(b), region_name(a)});
          // One way takes half the round trip.
          if (it != options_.latency_ms.end()) in_process->set_link_delay(a, b, it->second / 2);
        }
      }
    }
    transport_ = std::move(in_process);
  }
  replicator_ = std::make_unique<Replicator>(
      options_.replication, transport_.get(), clock_,
      [this](RegionId region, const Event& e) { apply_remote(region, e); },
      [this](RegionId region, RegionId origin, ResyncReason) { resync(region, origin); },
      [this](RegionId region, const EventBatch& batch) { handle_control(region, batch); });
  for (RegionId id : local_ids_) replicator_->add_region(id);
}

GeoCache::~GeoCache() { stop(); }

Status GeoCache::start() {
  {
    std::lock_guard lock(resync_mu_);
    stopping_ = false;
  }
  Status st = replicator_->start();
  if (!st.ok()) return st;
  std::lock_guard lock(loop_mu_);
  if (!running_) {
    running_ = true;
    expiry_thread_ = std::thread([this] { expiry_loop(); });
  }
  return Status::Ok();
}

void GeoCache::stop() {
  {
    std::lock_guard lock(loop_mu_);
    if (running_) {
      running_ = false;
      loop_cv_.notify_all();
    }
  }
  if (expiry_thread_.joinable()) expiry_thread_.join();
  // Snapshot senders use the transport: they finish before it stops.
  std::map<std::pair<RegionId, RegionId>, std::unique_ptr<SnapshotSender>> senders;
  {
    std::lock_guard lock(resync_mu_);
    stopping_ = true;
    senders.swap(senders_);
  }
  for (auto& [pair, sender] : senders) sender->thread.join();
  replicator_->stop();
}

void GeoCache::expiry_loop() {
  std::unique_lock lock(loop_mu_);
  while (running_) {
    loop_cv_.wait_for(lock, std::chrono::milliseconds(options_.expiry_cycle_interval_ms));
    if (!running_) break;
    lock.unlock();
    for (auto& [id, store] : stores_) store->active_expire_cycle();
    retry_stalled_resyncs();
    lock.lock();
  }
}

// ---------------------------------------------------------------------------
// Regions and routing
// ---------------------------------------------------------------------------

Result<RegionId> GeoCache::region_id(std::string_view name) const {
  for (size_t i = 0; i < options_.regions.size(); ++i) {
    if (options_.regions[i] == name) return static_cast<RegionId>(i + 1);
  }
  return Status::InvalidArgument("unknown region '" + std::string(name) + "'");
}

const std::string& GeoCache::region_name(RegionId id) const {
  static const std::string kUnknown = "?";
  if (id == 0 || id > options_.regions.size()) return kUnknown;
  return options_.regions[id - 1];
}

bool GeoCache::is_local(RegionId id) const { return stores_.count(id) != 0; }

LruCache& GeoCache::store(RegionId region) const {
  assert(is_local(region));
  return *stores_.at(region);
}

RegionReader GeoCache::reader(RegionId preferred) { return RegionReader(store(read_region(preferred))); }

LruCacheStats GeoCache::region_stats(RegionId region) const { return store(region).stats(); }

void GeoCache::set_limits(size_t max_items, size_t max_bytes) {
  for (auto& [id, s] : stores_) s->set_limits(max_items, max_bytes);
}

std::vector<RegionId> GeoCache::regions_by_distance(RegionId from) const {
  auto latency = [&](RegionId to) -> int64_t {
    if (to == from) return -1;
    auto it = options_.latency_ms.find({region_name(from), region_name(to)});
    if (it == options_.latency_ms.end()) it = options_.latency_ms.find({region_name(to), region_name(from)});
    return it == options_.latency_ms.end() ? 1000 : it->second;
  };
  std::vector<RegionId> ids;
  for (size_t i = 1; i <= options_.regions.size(); ++i) ids.push_back(static_cast<RegionId>(i));
  std::stable_sort(ids.begin(), ids.end(), [&](RegionId a, RegionId b) { return latency(a) < latency(b); });
  return ids;
}

RegionId GeoCache::read_region(RegionId preferred) const {
  for (RegionId id : regions_by_distance(preferred)) {
    if (is_local(id) && breakers_.at(id)->allow()) return id;
  }
  return preferred;  // every circuit open: the preferred region is still the best guess
}

Result<RegionId> GeoCache::resolve_write_region(std::string_view region) const {
  if (region.empty()) return home_;
  auto id = region_id(region);
  if (!id.ok()) return id;
  if (!is_local(*id)) return Status::Unavailable("region '" + std::string(region) + "' is not hosted here");
  return id;
}

Result<RegionReader> GeoCache::resolve_reader(std::string_view region) {
  if (region.empty()) return reader(home_);
  auto id = resolve_write_region(region);
  if (!id.ok()) return id.status();
  return RegionReader(store(*id));
}

void GeoCache::report_region_failure(RegionId region) { breakers_.at(region)->record_failure(); }
void GeoCache::report_region_success(RegionId region) { breakers_.at(region)->record_success(); }
CircuitBreaker::State GeoCache::region_state(RegionId region) const { return breakers_.at(region)->state(); }

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

Status GeoCache::mutate(std::string_view key, RegionId region, Mutator fn) {
  std::optional<Record> written;
  Status st = store(region).update(
      key,
      [&](const RecordView* cur, std::optional<Record>* next) {
        Status inner = fn(cur, next);
        if (!inner.ok() || !*next) return inner;
        Record& rec = **next;
        rec.version = Version{hlc_.now(), region};
        if (!rec.is_tombstone() && rec.expired_at(clock_->now_ms())) {
          // Redis turns a write with a past expiry into a delete; so do we, so
          // that the other regions delete it too.
          rec.kind = ValueKind::kTombstone;
          rec.bytes.clear();
          rec.expire_at_ms = kNoExpiry;
        }
        if (rec.is_tombstone() && cur == nullptr) next->reset();  // deleting nothing writes nothing
        return inner;
      },
      // With a single region there is nobody to replicate to: no event.
      replicates_ ? &written : nullptr);
  if (st.ok() && written) {
    Event e;
    e.key.assign(key);
    e.record = std::move(*written);
    e.origin_wall_ms = clock_->now_ms();
    replicator_->append(region, std::move(e));
  }
  return st;
}

Result<bool> GeoCache::remove(std::string_view key, RegionId region) {
  bool removed = false;
  Status st = mutate(key, region, [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr) return Status::Ok();
    removed = true;
    next->emplace();
    (*next)->kind = ValueKind::kTombstone;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return removed;
}

void GeoCache::flush_all(RegionId region) {
  const Version v{hlc_.now(), region};
  for (auto& [id, s] : stores_) s->flush_before(v);
  Event e;
  e.kind = EventKind::kFlush;
  e.record.version = v;
  e.record.kind = ValueKind::kTombstone;
  e.origin_wall_ms = clock_->now_ms();
  if (replicates_) replicator_->append(region, std::move(e));
}

void GeoCache::apply_remote(RegionId region, const Event& event) {
  hlc_.observe(event.record.version.hlc);
  if (!is_local(region)) return;
  if (event.kind == EventKind::kFlush) {
    store(region).flush_before(event.record.version);
    return;
  }
  store(region).apply(event.key, event.record);
}

// ---------------------------------------------------------------------------
// Resync
// ---------------------------------------------------------------------------

void GeoCache::resync(RegionId region, RegionId origin) {
  resyncs_.fetch_add(1);
  if (!is_local(region)) return;
  if (is_local(origin)) {
    resync_locally(region, origin);
  } else {
    request_snapshot(region, origin);
  }
}

void GeoCache::resync_locally(RegionId region, RegionId origin) {
  LruCache& from = store(origin);
  LruCache& to = store(region);
  const uint64_t snapshot_hlc = hlc_.now();
  std::unordered_set<std::string> present;
  for (int shard = 0; shard < from.shard_count(); ++shard) {
    std::vector<std::pair<std::string, Record>> records;
    from.scan_shard(shard, /*include_tombstones=*/true, [&](std::string_view key, const RecordView& view) {
      records.emplace_back(std::string(key), view.to_record());
    });
    for (auto& [key, rec] : records) {
      to.apply(key, rec);
      present.insert(std::move(key));
    }
  }
  const size_t dropped = to.drop_from_origin_before(origin, snapshot_hlc,
                                                    [&](std::string_view key) { return present.count(std::string(key)) != 0; });
  resyncs_completed_.fetch_add(1);
  spdlog::info("region {} resynced from region {}: {} keys in snapshot, {} dropped", region_name(region),
               region_name(origin), present.size(), dropped);
}

void GeoCache::request_snapshot(RegionId region, RegionId origin) {
  EventBatch request;
  request.kind = BatchKind::kResyncRequest;
  request.origin = region;
  request.target = origin;
  {
    std::lock_guard lock(resync_mu_);
    PendingResync& p = pending_[{region, origin}];
    const int64_t now = clock_->now_ms();
    // One request at a time. What is missed meanwhile may postdate the
    // snapshot being sent, so it earns one more request once this one ends.
    if (p.request_id != 0 && now - p.requested_at_ms < kResyncTimeoutMs) {
      p.missed_more = true;
      return;
    }
    if (p.request_id != 0) {
      spdlog::warn("region {}: no snapshot from region {} within {} ms; asking again", region_name(region),
                   region_name(origin), kResyncTimeoutMs);
    }
    p = PendingResync{};
    p.request_id = next_request_id_++;
    p.requested_at_ms = now;
    request.request_id = p.request_id;
  }
  Status st = replicator_->send_control(request);
  if (!st.ok()) {
    spdlog::warn("region {} cannot ask region {} for a snapshot ({}); retrying in {} ms", region_name(region),
                 region_name(origin), st.message(), kResyncTimeoutMs);
    return;
  }
  spdlog::info("region {} asked region {} for a snapshot", region_name(region), region_name(origin));
}

void GeoCache::retry_stalled_resyncs() {
  std::vector<std::pair<RegionId, RegionId>> stalled;
  {
    std::lock_guard lock(resync_mu_);
    const int64_t now = clock_->now_ms();
    for (const auto& [pair, p] : pending_) {
      if (now - p.requested_at_ms >= kResyncTimeoutMs) stalled.push_back(pair);
    }
  }
  for (const auto& [region, origin] : stalled) request_snapshot(region, origin);
}

void GeoCache::handle_control(RegionId region, const EventBatch& batch) {
  if (!is_local(region)) return;
  switch (batch.kind) {
    case BatchKind::kResyncRequest: start_snapshot(region, batch.origin, batch.request_id); return;
    case BatchKind::kSnapshotChunk: apply_snapshot_chunk(region, batch); return;
    case BatchKind::kSnapshotEnd: finish_snapshot(region, batch); return;
    case BatchKind::kEvents: return;
  }
}

void GeoCache::start_snapshot(RegionId origin, RegionId requester, uint64_t request_id) {
  std::lock_guard lock(resync_mu_);
  if (stopping_) return;
  auto& slot = senders_[{origin, requester}];
  if (slot && slot->running) {
    // One snapshot at a time per requester; the latest request waits for
    // the running one (which answers an older request) to end.
    slot->queued_request = request_id;
    return;
  }
  if (slot) slot->thread.join();  // ended: joins at once
  slot = std::make_unique<SnapshotSender>();
  SnapshotSender* sender = slot.get();
  sender->running = true;
  // Its own thread: sending waits for the broker's confirms, which must
  // hold up neither the receive path nor the replication thread.
  sender->thread = std::thread([this, origin, requester, request_id, sender] {
    uint64_t id = request_id;
    while (true) {
      send_snapshot(origin, requester, id);
      std::lock_guard lock(resync_mu_);
      if (sender->queued_request == 0 || stopping_) {
        sender->running = false;
        return;
      }
      id = std::exchange(sender->queued_request, 0);
    }
  });
}

void GeoCache::send_snapshot(RegionId origin, RegionId requester, uint64_t request_id) {
  // Taken before scanning: every write with an older version is in the store
  // when its shard is scanned (a version is assigned under the shard lock).
  const uint64_t snapshot_hlc = hlc_.now();
  LruCache& from = store(origin);
  EventBatch chunk;
  chunk.kind = BatchKind::kSnapshotChunk;
  chunk.origin = origin;
  chunk.target = requester;
  chunk.request_id = request_id;
  size_t chunk_bytes = 0, records = 0, chunks = 0;
  auto send_chunk = [&] {
    if (chunk.events.empty()) return true;
    Status st = replicator_->send_control(chunk);
    chunk.events.clear();
    chunk_bytes = 0;
    ++chunks;
    if (!st.ok()) {
      spdlog::warn("region {}: sending a snapshot to region {} failed ({}); it will ask again", region_name(origin),
                   region_name(requester), st.message());
    }
    return st.ok();
  };
  for (int shard = 0; shard < from.shard_count(); ++shard) {
    {
      std::lock_guard lock(resync_mu_);
      if (stopping_) return;
    }
    // Copied out first: the shard stays locked only for the scan.
    std::vector<Event> events;
    from.scan_shard(shard, /*include_tombstones=*/true, [&](std::string_view key, const RecordView& view) {
      Event e;
      e.key.assign(key);
      e.record = view.to_record();
      events.push_back(std::move(e));
    });
    for (Event& e : events) {
      const size_t size = encoded_event_size(e);
      if (!chunk.events.empty() && (chunk.events.size() >= options_.replication.batch_max_events ||
                                    chunk_bytes + size > options_.replication.batch_max_bytes)) {
        if (!send_chunk()) return;
      }
      chunk_bytes += size;
      chunk.events.push_back(std::move(e));
      ++records;
    }
  }
  if (!send_chunk()) return;
  EventBatch end;
  end.kind = BatchKind::kSnapshotEnd;
  end.origin = origin;
  end.target = requester;
  end.request_id = request_id;
  end.snapshot_hlc = snapshot_hlc;
  // Read after the scan: a flush is a flush, whenever it happened.
  end.flush_mark = from.flush_mark();
  if (Status st = replicator_->send_control(end); !st.ok()) {
    spdlog::warn("region {}: sending a snapshot end to region {} failed ({}); it will ask again", region_name(origin),
                 region_name(requester), st.message());
    return;
  }
  spdlog::info("region {} sent region {} a snapshot: {} records in {} chunks", region_name(origin),
               region_name(requester), records, chunks);
}

void GeoCache::apply_snapshot_chunk(RegionId region, const EventBatch& chunk) {
  std::lock_guard lock(resync_mu_);
  auto it = pending_.find({region, chunk.origin});
  // An answer to a request we gave up on (or never made): its end will not
  // be taken either, so applying it would only be work.
  if (it == pending_.end() || it->second.request_id != chunk.request_id) return;
  LruCache& to = store(region);
  for (const Event& e : chunk.events) {
    hlc_.observe(e.record.version.hlc);
    to.apply(e.key, e.record);
    it->second.seen.insert(e.key);
  }
}

void GeoCache::finish_snapshot(RegionId region, const EventBatch& end) {
  std::unique_lock lock(resync_mu_);
  auto it = pending_.find({region, end.origin});
  if (it == pending_.end() || it->second.request_id != end.request_id) return;
  const bool again = it->second.missed_more;
  hlc_.observe(end.snapshot_hlc);
  LruCache& to = store(region);
  if (end.flush_mark != Version::zero()) to.flush_before(end.flush_mark);
  const auto& seen = it->second.seen;
  const size_t dropped = to.drop_from_origin_before(
      end.origin, end.snapshot_hlc, [&](std::string_view key) { return seen.count(std::string(key)) != 0; });
  spdlog::info("region {} resynced from region {}: {} keys in snapshot, {} dropped", region_name(region),
               region_name(end.origin), seen.size(), dropped);
  pending_.erase(it);
  resyncs_completed_.fetch_add(1);
  lock.unlock();
  if (again) request_snapshot(region, end.origin);
}

// ---------------------------------------------------------------------------
// The seed's API
// ---------------------------------------------------------------------------

Status GeoCache::put(std::string_view key, const Value& value, std::string_view region, std::optional<int64_t> ttl_ms) {
  auto id = resolve_write_region(region);
  if (!id.ok()) return id.status();
  const int64_t ttl = ttl_ms.value_or(default_ttl_ms());
  if (ttl < 0) return Status::InvalidArgument("ttl must not be negative");
  const int64_t now = clock_->now_ms();
  // Refused rather than wrapped: an overflowing sum lands in the past and
  // would turn the write into a delete.
  if (ttl > kMaxExpireAtMs - now) return Status::InvalidArgument("ttl is too large");
  Record rec = Record::from_value(value);
  rec.expire_at_ms = ttl == 0 ? kNoExpiry : now + ttl;
  return mutate(key, *id, [&](const RecordView*, std::optional<Record>* next) {
    *next = std::move(rec);
    return Status::Ok();
  });
}

Result<Value> GeoCache::get(std::string_view key, std::string_view region) {
  auto reader = resolve_reader(region);
  if (!reader.ok()) return reader.status();
  auto rec = reader->get(key);
  if (!rec) return Status::NotFound();
  return rec->to_value();
}

Result<bool> GeoCache::remove(std::string_view key, std::string_view region) {
  auto id = resolve_write_region(region);
  if (!id.ok()) return id.status();
  return remove(key, *id);
}

Result<bool> GeoCache::expire(std::string_view key, int64_t ttl_ms, std::string_view region) {
  auto id = resolve_write_region(region);
  if (!id.ok()) return id.status();
  bool found = false;
  Status st = mutate(key, *id, [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr) return Status::Ok();
    found = true;
    *next = cur->to_record();
    (*next)->expire_at_ms = expire_at_after(clock_->now_ms(), ttl_ms);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return found;
}

Result<bool> GeoCache::persist(std::string_view key, std::string_view region) {
  auto id = resolve_write_region(region);
  if (!id.ok()) return id.status();
  bool changed = false;
  Status st = mutate(key, *id, [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr || cur->expire_at_ms == kNoExpiry) return Status::Ok();
    changed = true;
    *next = cur->to_record();
    (*next)->expire_at_ms = kNoExpiry;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return changed;
}

int64_t GeoCache::ttl(std::string_view key, std::string_view region) {
  auto reader = resolve_reader(region);
  if (!reader.ok()) return -2;
  auto rec = reader->peek(key);
  if (!rec) return -2;
  if (rec->expire_at_ms == kNoExpiry) return -1;
  return std::max<int64_t>(0, rec->expire_at_ms - clock_->now_ms());
}

bool GeoCache::TEST_quiesce(int64_t timeout_ms) {
  // Outboxes drained means handed to the transport; then wait for delivery.
  // Delivery can trigger no new writes, so one round suffices.
  if (!replicator_->flush(timeout_ms)) return false;
  if (in_process_ != nullptr) in_process_->wait_idle();
  return true;
}

}  // namespace geocache
