// GeoCache: versioning and routing on top of one LruCache per region.
//
// Every local write runs as a read-modify-write under the key's shard lock:
// the mutator computes the key's new whole state, the HLC stamps it with a
// version greater than anything seen, the store keeps it, and a copy becomes
// an event in the replicator's outbox. Remote events go through
// LruCache::apply(), whose last-writer-wins rule makes delivery order,
// duplicates and replays irrelevant.
//
// Resync (snapshots when a region missed events) lives in messaging/resync.cc;
// GeoCache lends it the stores and the HLC through ResyncAccess.
#include "cache/geo_cache.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/list.h"

namespace geocache {
namespace {

// A hash bigger than this travels in a resync snapshot as several records.
constexpr size_t kHashPieceBytes = 256 * 1024;

// now + ttl_ms without signed overflow, capped at the latest storable expiry.
int64_t expire_at_after(int64_t now, int64_t ttl_ms) {
  int64_t at;
  if (__builtin_add_overflow(now, ttl_ms, &at)) return ttl_ms > 0 ? kMaxExpireAtMs : 0;
  return std::min(at, kMaxExpireAtMs);
}

// `options`, once validated: the registry is built from them before the
// constructor's body runs.
const GeoCacheOptions& validated(const GeoCacheOptions& options) {
  options.validate();
  return options;
}

// A random instance id, nonzero, new at every start of a process.
uint64_t random_instance_id() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

}  // namespace

std::vector<std::string> GeoCacheOptions::hosted_regions() const {
  return local_regions.empty() ? regions : local_regions;
}

std::unique_ptr<InProcessTransport> make_in_process_transport(const GeoCacheOptions& options) {
  auto transport = std::make_unique<InProcessTransport>();
  if (!options.simulate_link_delay) return transport;
  const RegionRegistry regions(validated(options).regions, options.hosted_regions(), options.latency_ms);
  for (RegionId a : regions.local()) {
    for (RegionId b : regions.local()) {
      if (a == b) continue;
      // One way takes half the round trip.
      if (auto rtt = regions.latency_ms(a, b)) transport->set_link_delay(a, b, *rtt / 2);
    }
  }
  return transport;
}

class GeoCache::ResyncAccess final : public ResyncStore {
 public:
  explicit ResyncAccess(GeoCache* cache) : cache_(cache) {}
  bool is_local(RegionId region) const override { return cache_->is_local(region); }
  int shard_count(RegionId region) const override { return store(region).shard_count(); }
  std::vector<Event> copy_shard(RegionId region, int shard) const override {
    std::vector<Event> events;
    store(region).scan_shard(shard, /*include_tombstones=*/true, [&](std::string_view key, const RecordView& view) {
      if (view.hash != nullptr && view.hash->charge() > kHashPieceBytes) {
        // A big collection goes in pieces that merge back into it (one record could
        // outgrow a broker message).
        for (std::string& piece : view.hash->encode_in_pieces(kHashPieceBytes)) {
          Event e;
          e.key.assign(key);
          e.record = Record{view.kind, std::move(piece), view.hash->expire_at_ms(), view.version};
          events.push_back(std::move(e));
        }
        return;
      }
      if (view.kind == ValueKind::kList && view.bytes.size() > kHashPieceBytes) {
        append_list_pieces(key, view, &events);
        return;
      }
      Event e;
      e.key.assign(key);
      e.record = view.to_record();
      events.push_back(std::move(e));
    });
    return events;
  }
  // A big list goes as a kList record of its first elements, then snapshot
  // pieces (core/list.h) appending the rest, at the list's version.
  static void append_list_pieces(std::string_view key, const RecordView& view, std::vector<Event>* events) {
    const std::vector<std::string_view> elements = ListView(view.bytes).elements();
    size_t start = 0;
    while (start < elements.size() || start == 0) {
      size_t end = start, bytes = 0;
      while (end < elements.size() && (end == start || bytes + elements[end].size() <= kHashPieceBytes)) {
        bytes += elements[end].size() + 5;
        ++end;
      }
      const std::vector<std::string_view> chunk(elements.begin() + start, elements.begin() + end);
      Event e;
      e.key.assign(key);
      e.record = start == 0 ? Record{ValueKind::kList, encode_list(chunk), view.expire_at_ms, view.version}
                            : Record{ValueKind::kListOp, ListOps::encode_piece(view.version, start, chunk),
                                     view.expire_at_ms, view.version};
      events->push_back(std::move(e));
      start = end;
    }
  }
  // Writes, seen by WATCH. Not under the gate: Resync applies a snapshot
  // under its mutex, which an exclusive section may want (INFO in a
  // transaction), so a snapshot's records may land between a transaction's
  // commands (docs/threads.md). A backlog's groups come through run_group.
  void apply(RegionId region, std::string_view key, const Record& record) override {
    const ApplyResult result = store(region).apply(key, record);
    if (result == ApplyResult::kApplied) cache_->watches_.touch(region, key);
    if (result == ApplyResult::kNeedsState) cache_->fetch_list_state(region, record.version.region, key);
  }
  Version flush_mark(RegionId region) const override { return store(region).flush_mark(); }
  void flush_before(RegionId region, Version version) override {
    store(region).flush_before(version);
    cache_->watches_.touch_region(region);
  }
  void apply_seen(RegionId region, std::string_view key, const Record& record, RegionId origin) override {
    const ApplyResult result = store(region).apply_seen(key, record, origin);
    if (result == ApplyResult::kApplied) cache_->watches_.touch(region, key);
    if (result == ApplyResult::kNeedsState) cache_->fetch_list_state(region, record.version.region, key);
  }
  size_t end_snapshot(RegionId region, RegionId origin, std::optional<uint64_t> drop_before_hlc) override {
    const size_t dropped = store(region).end_snapshot(origin, drop_before_hlc);
    if (dropped > 0) cache_->watches_.touch_region(region);
    return dropped;
  }
  std::optional<uint64_t> copy_backlog(RegionId origin, uint64_t epoch, uint64_t from, uint64_t until,
                                       size_t max_events, size_t max_bytes, std::vector<Event>* out) const override {
    return cache_->replicator_->copy_backlog(origin, epoch, from, until, max_events, max_bytes, out);
  }
  void run_group(absl::FunctionRef<void()> apply) override { cache_->gate_.run_exclusive(nullptr, apply); }
  uint64_t hlc_now() override { return cache_->hlc_.now(); }
  void hlc_observe(uint64_t hlc) override { cache_->hlc_.observe(hlc); }

 private:
  LruCache& store(RegionId region) const { return cache_->store(region); }
  GeoCache* cache_;
};

void GeoCacheOptions::validate() const {
  if (regions.empty()) throw std::invalid_argument("regions must name at least one region");
  if (regions.size() > kMaxRegions) throw std::invalid_argument("regions: at most 255 regions");
  check_region_names(regions, "regions");
  const std::set<std::string> seen(regions.begin(), regions.end());
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
  if (warm_up_fallback_ms < 1) throw std::invalid_argument("warm_up_fallback_ms must be at least 1");
  miss_fallback.validate();
  store.validate();
  replication.validate();
  membership.validate();
  region_breaker.validate();
}

GeoCache::GeoCache(const GeoCacheOptions& options, std::unique_ptr<Transport> transport, const Clock* clock)
    : options_(validated(options)),
      clock_(clock ? clock : SystemClock::instance()),
      hlc_(clock_),
      regions_(options_.regions, options_.hosted_regions(), options_.latency_ms),
      transport_(std::move(transport)),
      default_ttl_ms_(options.default_ttl_ms) {
  if (!transport_) throw std::invalid_argument("GeoCache needs a transport");
  options_.store.clock = clock_;
  // Heartbeats warn of a clock the clock guard would hold against: one bound.
  options_.membership.max_clock_offset_ms = options_.replication.max_clock_offset_ms;
  // Between processes there may be other regions, named or not.
  replicates_ = options_.regions.size() > 1 || transport_->spans_processes();
  for (RegionId id : regions_.local()) {
    LocalRegion r;
    r.id = id;
    r.store = std::make_unique<LruCache>(options_.store);
    r.breaker = std::make_unique<CircuitBreaker>(options_.region_breaker, clock_);
    r.apply_slot = gate_.add_slot();
    local_.push_back(std::move(r));
  }
  home_ = options_.home_region.empty() ? regions_.local().front() : region_id(options_.home_region).value();
  if (!is_local(home_)) throw std::invalid_argument("home_region must be a local region");
  ResyncOptions resync_options;
  resync_options.batch_max_events = options_.replication.batch_max_events;
  resync_options.batch_max_bytes = options_.replication.batch_max_bytes;
  resync_options.region_name = [this](RegionId id) { return regions_.name(id); };
  resync_access_ = std::make_unique<ResyncAccess>(this);
  resync_ = std::make_unique<Resync>(resync_options, resync_access_.get(), clock_,
                                     [this](const EventBatch& batch) { return replicator_->send_control(batch); });
  membership_ = std::make_unique<Membership>(
      options_.membership, &regions_, clock_, random_instance_id(),
      [this](const EventBatch& hello) {
        // With where the region's stream stands, so a receiver can tell it lost the tail.
        EventBatch h = hello;
        for (const OutboxStats& s : replicator_->outbox_stats()) {
          if (s.origin != h.origin) continue;
          h.epoch = s.epoch;
          h.published_seq = s.last_published_seq;
        }
        return replicator_->send_control(h);
      });
  transport_->set_problem_sink([this](const std::string& key, const std::string& text) {
    membership_->report_problem(key, text);
  });
  // A region that keeps missing events from another process serves stale
  // data: after region_breaker.failure_threshold gaps (each one a resync
  // start) with no resync completed in between, its circuit opens and reads
  // that prefer it go to the closest local region whose circuit is closed; a
  // completed resync closes it again (from half-open). A resync from a region
  // in this process completes at once: no failure.
  resync_->set_on_started([this](RegionId region, RegionId origin) {
    if (!is_local(origin)) report_region_failure(region);
  });
  resync_->set_on_resynced([this](RegionId region, RegionId) { report_region_success(region); });
  resync_->set_on_covered([this](RegionId region, RegionId origin) { replicator_->caught_up(region, origin); });
  replicator_ = std::make_unique<Replicator>(
      options_.replication, transport_.get(), clock_,
      [this](RegionId region, const Event& e) { apply_remote(region, e); },
      [this](RegionId region, RegionId origin, ResyncReason, std::optional<MissedRange> missed) {
        resync(region, origin, missed);
      },
      [this](RegionId region, const EventBatch& batch) { handle_control(region, batch); });
  replicator_->set_known_regions([this](RegionId id) { return admit_region(id); });
  // A remote transaction's writes are applied with every local client held
  // off, so none sees part of them.
  replicator_->set_group_runner([this](RegionId, absl::FunctionRef<void()> apply) { gate_.run_exclusive(nullptr, apply); });
  replicator_->set_clock_guard(&hlc_);
  replicator_->set_progress_listener([this] { notify_progress(); });
  miss_fallback_ = std::make_unique<MissFallback>(
      options_.miss_fallback, clock_, [this](const EventBatch& batch) { return replicator_->send_control(batch); },
      [this](RegionId region, std::string_view key) { return store(region).peek_with_tombstone(key); },
      [this](RegionId region, std::string_view key, const Record& record) {
        hlc_.observe(record.version.hlc);
        // Like a resync's record: not under the gate, seen by WATCH.
        if (store(region).apply(key, record) == ApplyResult::kApplied) watches_.touch(region, key);
      },
      [this](RegionId region) {
        std::vector<RegionId> peers;
        for (RegionId r : regions_.by_distance(region)) {
          if (!is_local(r)) peers.push_back(r);
        }
        return peers;
      },
      [this] { notify_progress(); });
  for (RegionId id : regions_.local()) replicator_->add_region(id);
}

GeoCache::~GeoCache() { stop(); }

Status GeoCache::start() {
  {
    MutexLock lock(loop_mu_);
    if (!warm_up_asked_) {
      warm_up_asked_ = true;
      // The stores start empty: each local region warms up from the closest
      // region of another process (its snapshot holds every region's
      // writes), the next closest too if that one stays silent. Asked before
      // the transport delivers anything. A region is no snapshot source for
      // another until it has warmed up from that one too: a request from a
      // region not warmed up from starts that warm-up first
      // (messaging/resync.h, "Warm-up").
      for (RegionId region : regions_.local()) {
        WarmUp w;
        for (RegionId origin : regions_.by_distance(region)) {
          if (!is_local(origin)) w.sources.push_back(origin);
        }
        if (w.sources.empty()) continue;
        ask_next_warm_up_locked(region, warm_ups_[region] = std::move(w));
      }
    }
  }
  Status st = replicator_->start();
  if (!st.ok()) return st;
  // After the transport: its worker sends the requests asked so far at once.
  resync_->start();
  // Only between processes: a region of this one holds what the others do.
  if (transport_->spans_processes()) miss_fallback_->start();
  // Hellos only mean something between processes.
  if (transport_->spans_processes()) membership_->start();
  MutexLock lock(loop_mu_);
  if (!running_) {
    running_ = true;
    expiry_thread_ = std::thread([this] { expiry_loop(); });
  }
  return Status::Ok();
}

void GeoCache::stop() {
  {
    MutexLock lock(loop_mu_);
    if (running_) {
      running_ = false;
      loop_cv_.notify_all();
    }
  }
  if (expiry_thread_.joinable()) expiry_thread_.join();
  // Membership's and resync's threads use the transport: they finish before it stops.
  membership_->stop();
  resync_->stop();
  miss_fallback_->stop();
  replicator_->stop();
}

void GeoCache::expiry_loop() {
  MutexLock lock(loop_mu_);
  while (running_) {
    lock.wait_for(loop_cv_, std::chrono::milliseconds(options_.expiry_cycle_interval_ms));
    if (!running_) break;
    lock.unlock();
    for (const LocalRegion& r : local_) r.store->active_expire_cycle();
    advance_warm_ups();
    lock.lock();
  }
}

void GeoCache::ask_next_warm_up_locked(RegionId region, WarmUp& w) {
  const RegionId origin = w.sources[w.asked++];
  w.last_asked_ms = clock_->now_ms();
  resync_->warm_up(region, origin);
}

void GeoCache::advance_warm_ups() {
  MutexLock lock(loop_mu_);
  const int64_t now = clock_->now_ms();
  for (auto it = warm_ups_.begin(); it != warm_ups_.end();) {
    auto& [region, w] = *it;
    if (resync_->warmed_up(region)) {
      it = warm_ups_.erase(it);
      continue;
    }
    const bool silent = !resync_->warm_up_answered(region, w.sources[w.asked - 1]);
    if (silent && w.asked < w.sources.size() && now - w.last_asked_ms >= options_.warm_up_fallback_ms) {
      spdlog::info("region {}: region {} has sent nothing of its warm-up for {} ms; asking region {} too",
                   region_name(region), region_name(w.sources[w.asked - 1]), now - w.last_asked_ms,
                   region_name(w.sources[w.asked]));
      ask_next_warm_up_locked(region, w);
    }
    ++it;
  }
}

bool GeoCache::loading(RegionId region) const {
  {
    MutexLock lock(loop_mu_);
    if (!warm_ups_.count(region)) return false;
  }
  return !resync_->warmed_up(region);
}

// ---------------------------------------------------------------------------
// Regions and routing
// ---------------------------------------------------------------------------

Result<RegionId> GeoCache::region_id(std::string_view name) const {
  if (auto id = regions_.find(name)) return *id;
  return Status::InvalidArgument("unknown region '" + std::string(name) + "'");
}

void GeoCache::learn_event_origins() {
  // Regions whose events arrived are known by id, even before a hello names
  // them (or when hellos are off).
  for (const InboundStats& in : replicator_->inbound_stats()) regions_.learn(in.origin, "");
}

std::vector<PeerStatus> GeoCache::peers() {
  learn_event_origins();
  return membership_->peers();
}

bool GeoCache::admit_region(RegionId id) {
  return id != 0 && regions_.learn(id, "") != RegionRegistry::Learned::kFull;
}

LruCache& GeoCache::store(RegionId region) const {
  const LocalRegion* r = find_local(region);
  if (r == nullptr) throw std::logic_error("region " + std::to_string(region) + " is not hosted here");
  return *r->store;
}

RegionReader GeoCache::reader(RegionId preferred) { return RegionReader(store(read_region(preferred))); }

LruCacheStats GeoCache::region_stats(RegionId region) const { return store(region).stats(); }

void GeoCache::set_limits(size_t max_items, size_t max_bytes) {
  for (const LocalRegion& r : local_) r.store->set_limits(max_items, max_bytes);
}

RegionId GeoCache::read_region(RegionId preferred) const {
  for (RegionId id : regions_by_distance(preferred)) {
    const LocalRegion* r = find_local(id);
    if (r != nullptr && r->breaker->allow()) return id;
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

void GeoCache::report_region_failure(RegionId region) {
  if (const LocalRegion* r = find_local(region)) r->breaker->record_failure();
}
void GeoCache::report_region_success(RegionId region) {
  if (const LocalRegion* r = find_local(region)) r->breaker->record_success();
}
CircuitBreaker::State GeoCache::region_state(RegionId region) const {
  const LocalRegion* r = find_local(region);
  return r == nullptr ? CircuitBreaker::State::kClosed : r->breaker->state();
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

Status GeoCache::mutate(std::string_view key, RegionId region, Mutator fn) {
  if (gate_.held_exclusively() && undoable_) {
    std::string id(reinterpret_cast<const char*>(&region), sizeof region);
    id.append(key);
    if (undo_keys_.insert(std::move(id)).second) {
      undo_.push_back(Prior{region, std::string(key), store(region).peek_with_tombstone(key)});
    }
  }
  std::optional<Record> written;
  std::optional<Record> list_op;  // a list write's event: its ops, not the list
  bool wrote = false;
  int64_t wall_ms = 0;  // the wall clock at the write
  Status st = store(region).update(
      key,
      [&](const RecordView* cur, std::optional<Record>* next) {
        Status inner = fn(cur, next);
        if (!inner.ok() || !*next) return inner;
        Record& rec = **next;
        rec.version = Version{hlc_.now(&wall_ms), region};
        if (rec.kind == ValueKind::kListOp) {
          // The ops change the list seen (none: an empty one); the store
          // keeps the new list, the others get the ops and the version
          // they were applied to (core/list.h).
          const bool on_list = cur != nullptr && cur->kind == ValueKind::kList;
          set_list_op_prev(&rec.bytes, on_list ? cur->version : Version{});
          if (replicates_) list_op = rec;
          static const std::string kEmptyList(4, '\0');
          rec.bytes = apply_list_ops(on_list ? cur->bytes : std::string_view(kEmptyList), rec.bytes);
          rec.kind = ValueKind::kList;
          if (ListView(rec.bytes).size() == 0) {
            // Emptied: Redis deletes the key; so do we, and say so whole.
            *next = Record{ValueKind::kTombstone, {}, kNoExpiry, rec.version};
            list_op.reset();
            if (cur == nullptr && !replicates_) next->reset();
            wrote = next->has_value();
            return inner;
          }
        }
        if (!rec.is_tombstone() && rec.expired_at(wall_ms)) {
          // Redis turns a write with a past expiry into a delete; so do we, so
          // that the other regions delete it too.
          rec.kind = ValueKind::kTombstone;
          rec.bytes.clear();
          rec.expire_at_ms = kNoExpiry;
          list_op.reset();
        }
        // Deleting a key absent here still writes its tombstone when other
        // regions exist: a write elsewhere that has not reached us yet is
        // older than this delete and must lose to it. Alone, nothing can.
        if (rec.is_tombstone() && cur == nullptr && !replicates_) next->reset();
        wrote = next->has_value();
        return inner;
      },
      // With a single region there is nobody to replicate to: no event.
      replicates_ ? &written : nullptr);
  if (!st.ok()) return st;
  if (wrote) watches_.touch(region, key);
  if (written) replicate(region, EventRef(EventKind::kPut, key, list_op ? *list_op : *written, wall_ms));
  return st;
}

void GeoCache::replicate(RegionId region, EventRef event) {
  // In an exclusive section the writes wait for its end and leave as one group.
  if (gate_.held_exclusively()) {
    group_.emplace_back(region, event.to_event());
    return;
  }
  replicator_->append(region, event);
}

void GeoCache::run_exclusive(ExclusionGate::Slot* held, absl::FunctionRef<void()> fn, bool undoable) {
  if (gate_.held_exclusively()) {
    // Nested: part of the outer unit. A script in a transaction is undoable
    // on its own only if nothing before it needs undoing.
    const bool start_undo = undoable && !undoable_ && group_.empty();
    if (start_undo) undoable_ = true;
    fn();
    if (start_undo) {
      undoable_ = false;
      undo_.clear();
      undo_keys_.clear();
    }
    return;
  }
  gate_.run_exclusive(held, [&] {
    undoable_ = undoable;
    flushed_ = false;
    // Handed to the replicator even if fn throws (a script's Lua error
    // unwinds through here): what was written was written.
    struct End {
      GeoCache* cache;
      ~End() {
        cache->flush_group();
        cache->undoable_ = false;
        cache->undo_.clear();
        cache->undo_keys_.clear();
      }
    } end{this};
    fn();
  });
}

bool GeoCache::undo_exclusive() {
  if (!undoable_ || flushed_) return false;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    store(it->region).restore(it->key, it->record);
    watches_.touch(it->region, it->key);
  }
  undo_.clear();
  undo_keys_.clear();
  group_.clear();
  return true;
}

void GeoCache::flush_group() {
  // Usually one region (the client's); one group per origin region, in order.
  while (!group_.empty()) {
    const RegionId region = group_.front().first;
    std::vector<Event> events;
    std::erase_if(group_, [&](auto& e) {
      if (e.first != region) return false;
      events.push_back(std::move(e.second));
      return true;
    });
    replicator_->append_group(region, std::move(events));
  }
}

Result<bool> GeoCache::remove(std::string_view key, RegionId region) {
  bool removed = false;
  Status st = mutate(key, region, [&](const RecordView* cur, std::optional<Record>* next) {
    removed = cur != nullptr;  // an absent key still gets its tombstone (mutate)
    next->emplace();
    (*next)->kind = ValueKind::kTombstone;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return removed;
}

void GeoCache::flush_all(RegionId region) {
  int64_t wall_ms;
  const Version v{hlc_.now(&wall_ms), region};
  if (gate_.held_exclusively()) flushed_ = true;
  for (const LocalRegion& r : local_) {
    r.store->flush_before(v);
    watches_.touch_region(r.id);
  }
  const Record flush{ValueKind::kTombstone, {}, kNoExpiry, v};
  if (replicates_) replicate(region, EventRef(EventKind::kFlush, {}, flush, wall_ms));
}

void GeoCache::apply_remote(RegionId region, const Event& event) {
  hlc_.observe(event.record.version.hlc);
  const LocalRegion* r = find_local(region);
  if (r == nullptr) return;
  // Kept out of the local clients' exclusive sections (transactions, scripts).
  ExclusionGate::SharedLock hold(gate_, r->apply_slot);
  RemoteWriteObserver* observer = remote_write_observer_.load(std::memory_order_acquire);
  if (event.kind == EventKind::kFlush) {
    r->store->flush_before(event.record.version);
    watches_.touch_region(region);
    if (observer != nullptr) observer->on_remote_write(region, std::nullopt);
    return;
  }
  const ApplyResult result = r->store->apply(event.key, event.record);
  if (result == ApplyResult::kApplied) {
    watches_.touch(region, event.key);
    if (observer != nullptr) observer->on_remote_write(region, event.key);
  } else if (result == ApplyResult::kNeedsState) {
    fetch_list_state(region, event.record.version.region, event.key);
  }
}

void GeoCache::fetch_list_state(RegionId region, RegionId origin, std::string_view key) {
  list_state_fetches_.fetch_add(1, std::memory_order_relaxed);
  if (!is_local(origin)) {
    // Answered by origin's process, applied by last-writer-wins (MissFallback).
    miss_fallback_->fetch_from(region, origin, key);
    return;
  }
  std::optional<Record> held = store(origin).peek_with_tombstone(key);
  if (held && store(region).apply(key, *held) == ApplyResult::kApplied) {
    watches_.touch(region, key);
    RemoteWriteObserver* observer = remote_write_observer_.load(std::memory_order_acquire);
    if (observer != nullptr) observer->on_remote_write(region, key);
  }
}

// ---------------------------------------------------------------------------
// Resync
// ---------------------------------------------------------------------------

void GeoCache::resync(RegionId region, RegionId origin, std::optional<MissedRange> missed) {
  resync_->resync(region, origin, missed);
}

void GeoCache::handle_control(RegionId region, const EventBatch& batch) {
  if (batch.kind == BatchKind::kHello) {
    membership_->on_hello(region, batch);
    if (batch.origin != region) replicator_->on_stream_position(region, batch.origin, batch.epoch, batch.published_seq);
    return;
  }
  if (batch.kind == BatchKind::kFetchRequest || batch.kind == BatchKind::kFetchReply) {
    miss_fallback_->handle_control(region, batch);
    return;
  }
  resync_->handle_control(region, batch);
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
    *next = cur->with_expiry(expire_at_after(clock_->now_ms(), ttl_ms));
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
    *next = cur->with_expiry(kNoExpiry);
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

Result<StreamPoint> GeoCache::write_point(RegionId region) const {
  if (!is_local(region)) return Status::InvalidArgument("region " + region_name(region) + " is not hosted here");
  if (!replicates_) return StreamPoint{region, 0, 0};
  std::optional<StreamPoint> point = replicator_->stream_point(region);
  if (!point) return Status::InvalidArgument("region " + region_name(region) + " has no stream");
  return *point;
}

bool GeoCache::has_applied(RegionId region, const StreamPoint& point) const {
  if (point.origin == region || !replicates_) return true;
  if (!is_local(region)) return false;
  // A resync of that origin under way may be filling a gap before events
  // already applied: nothing of it counts until it ends.
  return replicator_->has_applied(region, point) && !resync_->in_progress(region, point.origin);
}

void GeoCache::notify_progress() {
  if (!has_progress_listener_.load(std::memory_order_acquire)) return;
  MutexLock lock(progress_mu_);
  if (progress_) progress_();
}

std::optional<uint64_t> GeoCache::fetch_missing(RegionId region, std::string_view key) {
  if (!miss_fallback_->enabled() || !is_local(region) || store(region).peek_with_tombstone(key)) return std::nullopt;
  return miss_fallback_->fetch(region, key);
}

void GeoCache::set_progress_listener(std::function<void()> fn) {
  MutexLock lock(progress_mu_);
  has_progress_listener_.store(fn != nullptr, std::memory_order_release);
  progress_ = std::move(fn);
}

bool GeoCache::wait_replicated(int64_t timeout_ms) {
  // Outboxes drained means handed to the transport; then wait for delivery.
  // Delivery can trigger no new writes, so one round suffices.
  if (!replicator_->wait_drained(timeout_ms)) return false;
  // Resync requests queued by deliveries so far go out too (asynchronously,
  // from resync's worker), so the wait below covers them.
  if (!resync_->wait_requests_sent(timeout_ms)) return false;
  transport_->wait_idle();
  return true;
}

}  // namespace geocache
