// Resync: refreshes a local region from another region when the replicator
// reports that it missed events (docs/replication.md, "Resync"): with just
// the events it missed, from the origin's backlog, when the origin still has
// them all; else with a snapshot of the origin's store.
//
// The unit owns the snapshot protocol (requests, chunks, end, retries) and
// reaches the regions' stores only through ResyncStore, so messaging/ does not
// depend on cache/. Control batches leave through a SendFn (the replicator's
// send_control).
//
// Warm-up. A process starts with empty stores. Until a local region has a
// snapshot from a remote region (its warm-up from it, asked at start, or at
// that region's first request), it may lack writes that region holds, its own
// from before a restart above all; a snapshot of it would make that region
// drop them. So a region still warming
// up from the requester answers a request only once that warm-up has ended,
// unless the requester is warming up from it too (both just started: neither
// can wait for the other); such a snapshot is flagged and drops nothing.
//
// Threading: resync() and handle_control() are the replicator's hooks; they
// run on transport threads and never wait on the network. Requests and their
// retries are sent by the unit's worker thread, snapshots by one sender thread
// per (origin, requester); those may block on the transport.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "core/record.h"
#include "core/status.h"
#include "core/version.h"
#include "messaging/event.h"

namespace geocache {

// What resync needs of the stores of the regions hosted in this process and
// of their hybrid logical clock. Implementations must be thread-safe.
class ResyncStore {
 public:
  virtual ~ResyncStore() = default;

  // True if `region` has a store here. The other methods REQUIRE it.
  virtual bool is_local(RegionId region) const = 0;
  virtual int shard_count(RegionId region) const = 0;
  // Copies out the records of one shard (0 <= shard < shard_count()),
  // tombstones included, as kPut events; locks the shard only for the copy.
  virtual std::vector<Event> copy_shard(RegionId region, int shard) const = 0;
  // Stores `record` for `key` by last-writer-wins.
  virtual void apply(RegionId region, std::string_view key, const Record& record) = 0;
  // The same for a record of a snapshot of `origin`, which it marks as seen
  // (LruCache::apply_seen).
  virtual void apply_seen(RegionId region, std::string_view key, const Record& record, RegionId origin) = 0;
  // The store's latest FLUSHALL version (zero if none), and applying one.
  virtual Version flush_mark(RegionId region) const = 0;
  virtual void flush_before(RegionId region, Version version) = 0;
  // Ends a snapshot of `origin`: drops the entries it wrote before
  // drop_before_hlc that the snapshot did not mark as seen (none: drops
  // nothing); returns how many went (LruCache::end_snapshot).
  virtual size_t end_snapshot(RegionId region, RegionId origin, std::optional<uint64_t> drop_before_hlc) = 0;
  // Runs `apply` (applying a transaction's or a script's writes from a
  // backlog) with every local client held off, as the replicator applies a
  // group (GeoCache's exclusion gate). Called without Resync's lock.
  virtual void run_group(absl::FunctionRef<void()> apply) { apply(); }
  // Local region origin's published events [from, until) of `epoch`, a
  // chunk at a time, never ending inside a group (Replicator::copy_backlog):
  // the sequence to go on from, or nullopt if its backlog does not hold
  // `from` of that epoch.
  virtual std::optional<uint64_t> copy_backlog(RegionId origin, uint64_t epoch, uint64_t from, uint64_t until,
                                               size_t max_events, size_t max_bytes, std::vector<Event>* out) const = 0;

  // The process's HLC: a new timestamp, and merging one seen from elsewhere.
  virtual uint64_t hlc_now() = 0;
  virtual void hlc_observe(uint64_t hlc) = 0;
};

// How long a resync request may go unanswered before it is asked again, ms.
inline constexpr int64_t kResyncTimeoutMs = 10'000;

struct ResyncOptions {
  // Chunk bounds of a snapshot; the replicator's batch bounds.
  size_t batch_max_events = 1024;
  size_t batch_max_bytes = 1 << 20;
  // A request unanswered this long (by the injected clock) is sent again, ms.
  int64_t timeout_ms = kResyncTimeoutMs;
  // How often the worker looks for unanswered requests, in real ms.
  int64_t retry_poll_ms = 100;
  // Region names for logs; ids print if absent (RegionRegistry::name).
  std::function<std::string(RegionId)> region_name;
};

class Resync {
 public:
  // Sends a control batch to batch.target; may block (Replicator::send_control).
  using SendFn = std::function<Status(const EventBatch& batch)>;
  // Told about one (region, origin) resync; runs on the thread that started
  // or finished it (often a transport thread): must not block.
  using Notify = std::function<void(RegionId region, RegionId origin)>;


  // store, clock: not owned, must outlive this. clock: for request timeouts.
  Resync(const ResyncOptions& options, ResyncStore* store, const Clock* clock, SendFn send);
  ~Resync();
  Resync(const Resync&) = delete;
  Resync& operator=(const Resync&) = delete;

  // Called when a resync of a local region starts (each resync() call for a
  // local region) and when one completes. REQUIRES: before start().
  void set_on_started(Notify fn) { on_started_ = std::move(fn); }
  void set_on_resynced(Notify fn) { on_resynced_ = std::move(fn); }
  // Called when a resync or warm-up of `region` from `origin` ends with no
  // further request for the pair: `region` now holds every event of
  // origin's that it was told it missed. REQUIRES: before start().
  void set_on_covered(Notify fn) { on_covered_ = std::move(fn); }

  // Starts the worker thread, which sends the requests asked so far, and
  // answers the snapshot requests received so far (but those that wait for a
  // warm-up). Idempotent; may follow stop().
  void start();
  // Stops the worker and waits for snapshot senders: none runs afterwards,
  // and none starts until start(). Requests made meanwhile wait for start().
  void stop();

  // Refreshes local region `region` from region `origin`: at once if origin
  // is local too (on the calling thread: no network involved), else by
  // asking origin's process for the events `missed` from its backlog, or for
  // a snapshot if it no longer has them all or `missed` is not known (at
  // most one request outstanding per pair, asked again after timeout_ms
  // without an answer; a gap reported while one is outstanding earns one
  // more request once it ends). Never waits on the network.
  void resync(RegionId region, RegionId origin, std::optional<MissedRange> missed = std::nullopt);
  // Starts local region `region`'s warm-up from remote region `origin`: asks
  // it for a snapshot (as resync() would, flagged as warming), and until one
  // has ended, origin's own requests wait for it unless flagged too (see the
  // top of this file). Once per pair and run: GeoCache::start calls it for
  // every remote region it knows, and a request from a region not warmed up
  // from yet starts it too. Not counted in started() or completed(). No-op
  // for a local origin. Never waits on the network.
  void warm_up(RegionId region, RegionId origin);
  // Handles a request or snapshot batch addressed to local region `region`.
  // A request received before start() is answered by start().
  // Never waits on the network.
  void handle_control(RegionId region, const EventBatch& batch);

  // Waits until every request queued so far has been handed to SendFn (sent
  // or failed). False if that took longer than timeout_ms, or if the worker
  // is stopped with requests queued. For wait_replicated(): demos and tests.
  bool wait_requests_sent(int64_t timeout_ms);

  // Resyncs started (every resync() call) and completed (warm-ups apart).
  uint64_t started() const { return started_.load(); }
  uint64_t completed() const { return completed_.load(); }
  // What the completed ones took, warm-ups included (INFO).
  struct Stats {
    uint64_t by_backlog = 0;   // answered with the missed events alone
    uint64_t by_snapshot = 0;  // answered with a snapshot (a local origin's included)
    uint64_t records_in = 0;   // records and events received in answers
    uint64_t bytes_in = 0;     // their encoded size
    int64_t last_ms = 0;       // how long the last one took, from its request to its end
  };
  Stats stats() const;
  // (local region, remote origin) pairs whose warm-up has not ended yet.
  size_t warming() const;
  // Whether local region `region` has ended a warm-up from some region.
  bool warmed_up(RegionId region) const;
  // Whether `origin` has begun answering `region`'s warm-up (a chunk came)
  // or ended it.
  bool warm_up_answered(RegionId region, RegionId origin) const;
  // Whether a resync (or warm-up) of `region` from `origin` is under way:
  // asked and not ended. Until it ends, `region` may lack events of
  // origin's that came before some it applied.
  bool in_progress(RegionId region, RegionId origin) const;

 private:
  // A request as its answer needs it: its id, and the events the requester
  // missed if it knows them (none: a snapshot).
  struct Request {
    uint64_t id = 0;
    std::optional<MissedRange> missed;
  };
  // A snapshot (or backlog) asked of a remote origin, being received.
  struct Pending {
    uint64_t request_id = 0;
    int64_t requested_at_ms = 0;
    std::optional<MissedRange> missed;  // what the request asks for (none: a snapshot)
    // What the reports of gaps made while it was out missed, as one range
    // spanning them; none if one of them did not know.
    std::optional<MissedRange> missed_after;
    std::unordered_set<uint64_t> chunks;   // numbers of the chunks received so far
    uint64_t records = 0;                  // records (or backlog events) received so far
    bool missed_more = false;  // another gap meanwhile, maybe after the snapshot was taken
    bool warm_up = false;      // asked by warm_up() alone: its end is not counted
  };
  // A thread sending snapshots of a local region to one requester.
  struct SnapshotSender {
    std::thread thread;
    bool running = false;  // guarded by mu_
    Request queued;        // asked for while running (id 0: none): answered next
  };
  // A warm-up not yet ended.
  struct WarmUp {
    bool asked_again = false;  // once, when the origin showed it had just started
  };
  // A request answered later: at start(), or once warm.
  struct Deferred {
    Request request;
    bool requester_warming = false;
  };
  using Pair = std::pair<RegionId, RegionId>;

  std::string name(RegionId id) const;
  void resync_locally(RegionId region, RegionId origin);
  // Gives `p` a new request id and queues the request for the worker.
  void ask_locked(const Pair& pair, Pending& p, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the pair's warm-up unless it has started (or ended) in this run.
  void warm_up_locked(const Pair& pair) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void run_worker();
  void start_snapshot(RegionId origin, RegionId requester, Request request, bool requester_warming);
  // Answers a request now: starts the pair's sender, or queues the request
  // for the one running.
  void answer_locked(RegionId origin, RegionId requester, Request request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void send_answer(RegionId origin, RegionId requester, const Request& request);
  // Sends the missed events from origin's backlog; false (nothing sent) if
  // it no longer holds them all.
  bool send_backlog(RegionId origin, RegionId requester, const Request& request);
  void send_snapshot(RegionId origin, RegionId requester, uint64_t request_id);
  void apply_snapshot_chunk(RegionId region, const EventBatch& chunk);
  void finish_snapshot(RegionId region, const EventBatch& end);
  void report_completed(RegionId region, RegionId origin);

  const ResyncOptions options_;
  ResyncStore* store_;
  const Clock* clock_;
  SendFn send_;
  Notify on_started_;
  Notify on_resynced_;
  Notify on_covered_;
  std::atomic<uint64_t> started_{0};
  std::atomic<uint64_t> completed_{0};

  mutable Mutex mu_;  // also guards each SnapshotSender's running and queued_request
  std::condition_variable worker_cv_;
  std::condition_variable sent_cv_;  // requests_ emptied and nothing in flight
  std::map<Pair, Pending> pending_ ABSL_GUARDED_BY(mu_);  // (region, remote origin)
  std::deque<EventBatch> requests_ ABSL_GUARDED_BY(mu_);  // for the worker to send
  bool sending_request_ ABSL_GUARDED_BY(mu_) = false;     // the worker is in SendFn
  std::map<Pair, std::unique_ptr<SnapshotSender>> senders_ ABSL_GUARDED_BY(mu_);  // (origin, requester)
  std::map<Pair, WarmUp> warming_ ABSL_GUARDED_BY(mu_);     // (local region, remote origin) still warming up
  std::set<Pair> warmed_ ABSL_GUARDED_BY(mu_);              // ... whose warm-up has ended
  std::map<Pair, Deferred> deferred_ ABSL_GUARDED_BY(mu_);  // (local origin, requester)
  uint64_t next_request_id_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;  // the worker runs; snapshot senders may start
  std::thread worker_;
};

}  // namespace geocache
