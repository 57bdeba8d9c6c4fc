// GeoCache: the seed's GeoDistributedLRUCache. Holds one LruCache per region
// hosted in this process, versions every local write, hands it to the
// Replicator, applies what other regions send, and routes reads to the
// closest available region.
//
// Regions are named; a region's id is a hash of its name (RegionRegistry),
// so processes agree on ids whatever regions, in whatever order, they were
// told of. A process learns the regions it was not told of from what
// arrives, and, when its transport reaches other processes, tells the others
// it is alive and hears which of them are (Membership).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "cache/key_watches.h"
#include "cache/lru_cache.h"
#include "cache/miss_fallback.h"
#include "cache/region_reader.h"
#include "core/clock.h"
#include "core/exclusion_gate.h"
#include "core/mutex.h"
#include "core/value.h"
#include "core/version.h"
#include "messaging/circuit_breaker.h"
#include "messaging/in_process_transport.h"
#include "messaging/membership.h"
#include "messaging/region_registry.h"
#include "messaging/replicator.h"
#include "messaging/resync.h"

namespace geocache {

struct GeoCacheOptions {
  // The regions of the deployment this process is told of, by name, in any
  // order: at least the local ones. Regions between processes may also be
  // left out: they are learned from what arrives.
  std::vector<std::string> regions = {"local"};
  // The regions this process hosts; empty means all of them.
  std::vector<std::string> local_regions;
  // Where reads without a region go first; empty means the first local region.
  std::string home_region;
  // Round-trip latency between regions in ms, symmetric; pairs not listed
  // count as 1000 ms. Orders the fallback for reads, and sets the simulated
  // delay of each link of make_in_process_transport() when
  // simulate_link_delay is on.
  std::map<std::pair<std::string, std::string>, int64_t> latency_ms;
  bool simulate_link_delay = false;
  // TTL given to writes that do not set one, in ms; 0 = none.
  int64_t default_ttl_ms = 0;
  // Store limits and tuning, applied to each hosted region's store.
  LruCacheOptions store;
  // How often the active expiry cycle runs, in ms.
  int64_t expiry_cycle_interval_ms = 100;
  // A starting process warms each local region up from the closest other
  // region; if that one has sent nothing of it within this, from the next
  // closest too, and so on, ms.
  int64_t warm_up_fallback_ms = 2000;
  ReplicatorOptions replication;
  // Heartbeats between processes (only with a transport that spans them).
  // Its max_clock_offset_ms is ignored: GeoCache uses replication's.
  MembershipOptions membership;
  // Health of each region as seen by reads without a region.
  CircuitBreakerOptions region_breaker;
  // Asking the closest other region on a local miss (off by default).
  MissFallbackOptions miss_fallback;

  // The names of the regions this process hosts.
  std::vector<std::string> hosted_regions() const;
  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

// An InProcessTransport linking the regions `options` hosts, with each link
// delayed by half its latency_ms round trip when simulate_link_delay is on:
// the transport for a GeoCache hosting every region of a deployment.
std::unique_ptr<InProcessTransport> make_in_process_transport(const GeoCacheOptions& options);

// Told of every write another region's event makes to a local store (the
// server invalidates client-side caches: CLIENT TRACKING). Called on a
// transport thread, so it must not block.
class RemoteWriteObserver {
 public:
  virtual ~RemoteWriteObserver() = default;
  // key: the key written, or nullopt for a FLUSHALL.
  virtual void on_remote_write(RegionId region, std::optional<std::string_view> key) = 0;
};

class GeoCache {
 public:
  // transport: how events travel, chosen by the caller (the composition
  // root): make_in_process_transport(options) when every region is hosted in
  // this process, an AmqpTransport between processes. Owned; REQUIRES: not
  // null. clock: nullptr for the system clock.
  GeoCache(const GeoCacheOptions& options, std::unique_ptr<Transport> transport, const Clock* clock = nullptr);
  ~GeoCache();
  GeoCache(const GeoCache&) = delete;
  GeoCache& operator=(const GeoCache&) = delete;

  // Starts replication and the expiry cycle, and (the first time) the
  // warm-up of every local region from each region of another process
  // (warming()). The constructor does not, so a caller can wire things first.
  Status start();
  void stop();

  // ---- The seed's API. A region argument names a local region; empty means
  // ---- the home region (reads: the closest available one).
  // Stores value under key. ttl_ms: nullopt = default TTL, 0 = no expiry.
  Status put(std::string_view key, const Value& value, std::string_view region = {},
             std::optional<int64_t> ttl_ms = std::nullopt);
  // The value, or kNotFound. Touches LRU in the region read.
  Result<Value> get(std::string_view key, std::string_view region = {});
  // Removes key; true if it was there. An absent key is deleted too (its
  // tombstone beats older writes not received yet). Fails for a region not
  // hosted here, or if the store refuses the write.
  Result<bool> remove(std::string_view key, std::string_view region = {});
  // Sets a TTL (ms from now) on an existing key; false if absent.
  Result<bool> expire(std::string_view key, int64_t ttl_ms, std::string_view region = {});
  // Drops the TTL of an existing key; false if absent or without TTL.
  Result<bool> persist(std::string_view key, std::string_view region = {});
  // Remaining TTL in ms; -1 if the key has none, -2 if it does not exist (Redis).
  int64_t ttl(std::string_view key, std::string_view region = {});

  // ---- Lower-level API used by the server.
  // Id of a known region by name, or kInvalidArgument.
  Result<RegionId> region_id(std::string_view name) const;
  // The region's name ("#" and its id while only its id is known).
  std::string region_name(RegionId id) const { return regions_.name(id); }
  // Whether events from, and versions of, region `id` are taken: a region
  // configured or learned already, or a new one, learned now while the
  // registry has room. The one test of a region id on receipt
  // (Replicator::set_known_regions); ids are hashes of names, so any other
  // id may be a region that joined later.
  bool admit_region(RegionId id);
  const std::vector<RegionId>& local_regions() const { return regions_.local(); }
  RegionId home_region() const { return home_; }
  bool is_local(RegionId id) const { return find_local(id) != nullptr; }
  // Every region known, configured then learned (from hellos or, by id only,
  // from events), with what its heartbeats tell (Membership::peers()).
  std::vector<PeerStatus> peers();
  // Region `region`'s clock minus this process's, ms, estimated from its
  // heartbeats; none before its first one (and for a local region).
  std::optional<int64_t> clock_offset_ms(RegionId region) const { return membership_->clock_offset_ms(region); }
  // What needs an operator's attention now (two processes serving one
  // region, a protocol mismatch, a queue with other arguments...).
  std::vector<std::string> problems() const { return membership_->problems(); }
  // Drawn at random when this GeoCache is built; hellos carry it.
  uint64_t instance_id() const { return membership_->instance_id(); }
  // The region a read preferring local region `preferred` goes to:
  // `preferred` if its circuit is closed, else the closest local region whose
  // circuit is closed (preferred again if every circuit is open).
  RegionId read_region(RegionId preferred) const;
  // The same from the home region: where a read without a region goes.
  RegionId read_region() const { return read_region(home_); }
  // The configured regions ordered by latency from configured region `from`,
  // closest first (from itself first).
  const std::vector<RegionId>& regions_by_distance(RegionId from) const { return regions_.by_distance(from); }
  // A read view of the region read_region(preferred) picks. The server's
  // reads go through it, as the seed API's get() and ttl() do.
  RegionReader reader(RegionId preferred);
  // The figures of local region `region` itself, not routed (INFO).
  LruCacheStats region_stats(RegionId region) const;
  // Changes the limits of every local store; each evicts down to them
  // (CONFIG SET maxmemory).
  void set_limits(size_t max_items, size_t max_bytes);
  int64_t now_ms() const { return clock_->now_ms(); }
  int64_t default_ttl_ms() const { return default_ttl_ms_.load(); }
  void set_default_ttl_ms(int64_t ms) { default_ttl_ms_.store(ms); }

  // Read-modify-write of key in local region `region`: fn sees the live record
  // (nullptr if none) and may fill *next with the key's new state (kind, bytes,
  // expiry; the version is assigned here). A write whose expiry has passed
  // becomes a delete; a delete of an absent key is written too, unless this
  // is the only region. The write is replicated. Returns fn's status (a non-ok
  // one writes nothing), or kOutOfMemory if the value can never fit.
  using Mutator = LruCache::Mutator;
  Status mutate(std::string_view key, RegionId region, Mutator fn);
  // Deletes key in local region `region`; true if it was live. Writes the
  // tombstone either way (see mutate).
  Result<bool> remove(std::string_view key, RegionId region);
  // FLUSHALL: removes everything written before now, in every region.
  void flush_all(RegionId region);

  // ---- Atomicity (transactions, scripts; docs/design.md, "Transactions").
  // Runs fn with every server thread, replication receiver and resync of
  // this process held off (they hold the gate's slots): nobody sees part of
  // what fn does, nobody writes in between. The local writes fn makes are
  // replicated as one group per region (Replicator::append_group), applied
  // together by every receiver. held: the caller's own slot, which it holds
  // now (a loop's, see gate()), or null. Re-entrant: a nested call just runs.
  // undoable: remember what each key written held before, for undo_exclusive.
  void run_exclusive(ExclusionGate::Slot* held, absl::FunctionRef<void()> fn, bool undoable = false);
  // Within an undoable exclusive section (a script over its time limit):
  // puts every key the section wrote back as it was, and replicates none of
  // its writes. False (nothing undone, the writes stand and replicate) if
  // the section flushed a store, which cannot be undone.
  bool undo_exclusive();
  // The gate the server's event loops each take a slot of (add_slot) and
  // hold (ExclusionGate::SharedLock) while they run commands. Exclusive
  // sections go through run_exclusive above, never the gate's own.
  ExclusionGate& gate() { return gate_; }
  // Who WATCHes what. Every write to a local store touches it.
  KeyWatches& watches() { return watches_; }
  // The observer of writes from other regions (nullptr: none). It must stay
  // valid until it is replaced or the cache is stopped.
  void set_remote_write_observer(RemoteWriteObserver* observer) { remote_write_observer_.store(observer); }

  // Applies an event from another region (the replicator's apply hook).
  // A list write that cannot apply here (the list held is not the one it
  // changed) has the key's whole state fetched from the write's origin.
  void apply_remote(RegionId region, const Event& event);
  // List writes that could not apply here and had their key's whole state
  // asked of their origin (docs/design.md, "Lists").
  uint64_t list_state_fetches() const { return list_state_fetches_.load(std::memory_order_relaxed); }
  // Hands a hello to membership, any other control batch to resync: the
  // replicator's control hook.
  void handle_control(RegionId region, const EventBatch& batch);
  // Refreshes local region `region` from region `origin` (DESIGN.md;
  // Resync::resync, messaging/resync.h): at once if `origin` is local too,
  // else by asking origin's process for the events `missed` from its
  // backlog, or a snapshot (at most one request outstanding per pair, asked
  // again after kResyncTimeoutMs without an answer). Never waits on the
  // network.
  void resync(RegionId region, RegionId origin, std::optional<MissedRange> missed = std::nullopt);

  // Health of local region `region` as seen by reads: feeds the region's
  // breaker. Resync feeds it (a failure when a resync of the region starts, a
  // success when one completes), so a region that keeps missing events loses
  // its reads. Ignored for a region not hosted here (kClosed).
  void report_region_failure(RegionId region);
  void report_region_success(RegionId region);
  CircuitBreaker::State region_state(RegionId region) const;

  Replicator& replicator() { return *replicator_; }
  // Resyncs started (gap, new epoch, first contact) and completed.
  uint64_t resyncs() const { return resync_->started(); }
  uint64_t resyncs_completed() const { return resync_->completed(); }
  // By kind, what they moved and how long the last took (warm-ups included).
  Resync::Stats resync_stats() const { return resync_->stats(); }
  // (local, remote) region pairs whose warm-up has not ended: until it has, a
  // local region answers that remote region's snapshot requests only once
  // warm (Resync::warm_up). 0 once warm.
  size_t warming() const { return resync_->warming(); }
  // True while local region `region` has not ended its start-up warm-up
  // (from its closest region, or the next ones: warm_up_fallback_ms): it
  // serves what it holds, misses for what has not come yet (INFO loading).
  bool loading(RegionId region) const;

  // ---- Read-your-writes across regions (docs/replication.md).
  // Where local region `region`'s stream stands: a point past every write
  // made there so far, the session token of a client that just wrote there
  // (GEO.TOKEN). kInvalidArgument for a region not hosted here.
  Result<StreamPoint> write_point(RegionId region) const;
  // True if local region `region` holds every write of point.origin's up to
  // `point`: its own region, events applied in order with no resync of that
  // origin under way, or a one-region deployment.
  bool has_applied(RegionId region, const StreamPoint& point) const;
  // fn runs (on a transport thread; it must not block) whenever what
  // has_applied() answers may have changed: a batch applied, a resync ended.
  // One listener; a later call replaces it; nullptr removes it. Thread-safe.
  void set_progress_listener(std::function<void()> fn);

  // ---- Miss fallback (options.miss_fallback; cache/miss_fallback.h).
  // On a miss of key in local region `region` (no entry at all, not even a
  // delete's): asks the closest other region for it. A ticket for
  // fetch_done(), or nullopt: nothing to wait for (off, the key has an
  // entry, no region can be asked now).
  std::optional<uint64_t> fetch_missing(RegionId region, std::string_view key);
  bool fetch_done(uint64_t ticket) const { return miss_fallback_->done(ticket); }
  // What it brought, if anything (MissFallback::answer).
  std::optional<Record> fetched(uint64_t ticket) const { return miss_fallback_->answer(ticket); }
  const MissFallback& miss_fallback() const { return *miss_fallback_; }

  // Waits until every local write so far has been handed to the transport
  // (the outboxes drained), as has every resync request asked so far, and,
  // with a transport that can tell (in-process, Transport::wait_idle),
  // delivered and applied by every region in this process. False if the
  // outboxes did not drain, or the requests go out, within timeout_ms (each).
  // Writes made meanwhile may or may not be waited for. For demos and tests.
  bool wait_replicated(int64_t timeout_ms = 10'000);
  // The raw store of local region `region`, for tests that look beneath the
  // API (tombstones, versions, invariants).
  LruCache& TEST_store(RegionId region) { return store(region); }

 private:
  Result<RegionId> resolve_write_region(std::string_view region) const;
  // The reader for a read naming `region` (empty: routed from home).
  Result<RegionReader> resolve_reader(std::string_view region);
  // A region hosted here.
  struct LocalRegion {
    RegionId id = 0;
    std::unique_ptr<LruCache> store;
    std::unique_ptr<CircuitBreaker> breaker;  // its read circuit
    ExclusionGate::Slot* apply_slot = nullptr;  // held while remote writes are applied
  };
  ExclusionGate::Slot* apply_slot(RegionId region) const {
    const LocalRegion* r = find_local(region);
    return r == nullptr ? nullptr : r->apply_slot;
  }
  // Hands a local write's event to the replicator, or, in an exclusive
  // section, to the section's group.
  void replicate(RegionId region, EventRef event);
  // Appends the exclusive section's writes as groups. REQUIRES: held_exclusively.
  void flush_group();
  // The local region `id`, or null. A scan: a process hosts a few regions,
  // and the first is the one most reads name.
  const LocalRegion* find_local(RegionId id) const {
    for (const LocalRegion& r : local_) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }
  LruCache& store(RegionId region) const;
  // Brings key's whole state from region `origin` to local region `region`
  // (a list write from origin could not apply there): read at once from a
  // local origin, else asked of origin's process (MissFallback::fetch_from).
  void fetch_list_state(RegionId region, RegionId origin, std::string_view key);
  std::atomic<uint64_t> list_state_fetches_{0};
  void expiry_loop();
  // Tells the progress listener that has_applied() or a fetch may have moved.
  void notify_progress();
  // Start-up warm-up of one local region: the other regions closest first,
  // and how many of them were asked so far.
  struct WarmUp {
    std::vector<RegionId> sources;
    size_t asked = 0;
    int64_t last_asked_ms = 0;
  };
  void ask_next_warm_up_locked(RegionId region, WarmUp& w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(loop_mu_);
  // Asks the next source of each warm-up whose last one has sent nothing
  // within warm_up_fallback_ms.
  void advance_warm_ups();
  void learn_event_origins();

  // The stores and HLC as Resync sees them (ResyncStore).
  class ResyncAccess;

  GeoCacheOptions options_;
  const Clock* clock_;
  Hlc hlc_;
  RegionRegistry regions_;
  RegionId home_ = 0;
  std::vector<LocalRegion> local_;  // in RegionRegistry::local() order
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<ResyncAccess> resync_access_;
  std::unique_ptr<Resync> resync_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<MissFallback> miss_fallback_;
  bool replicates_ = true;  // false in a one-region deployment
  std::atomic<int64_t> default_ttl_ms_;
  ExclusionGate gate_;
  KeyWatches watches_;
  // The exclusive section's writes, (origin region, event), in order. Only
  // the thread holding the gate exclusively touches it.
  std::vector<std::pair<RegionId, Event>> group_;
  // An undoable section's: each key's state before its first write there.
  struct Prior {
    RegionId region;
    std::string key;
    std::optional<Record> record;
  };
  bool undoable_ = false;
  bool flushed_ = false;  // the section ran a FLUSHALL
  std::vector<Prior> undo_;
  absl::flat_hash_set<std::string> undo_keys_;  // region id bytes + key, of undo_
  std::atomic<RemoteWriteObserver*> remote_write_observer_{nullptr};

  mutable Mutex progress_mu_;
  std::function<void()> progress_ ABSL_GUARDED_BY(progress_mu_);
  std::atomic<bool> has_progress_listener_{false};  // read per batch without the mutex

  mutable Mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool running_ ABSL_GUARDED_BY(loop_mu_) = false;
  bool warm_up_asked_ ABSL_GUARDED_BY(loop_mu_) = false;  // once per process: the stores persist over stop()
  std::map<RegionId, WarmUp> warm_ups_ ABSL_GUARDED_BY(loop_mu_);
  std::thread expiry_thread_;
};

}  // namespace geocache
