// Replicator: turns local writes into batches on a Transport, and batches from
// other regions into applied events.
//
// Sending. append() puts an event in the origin region's outbox: a bounded
// FIFO (in bytes) that never blocks the request path, holding the events
// encoded once, as batches carry them (messaging/encoded_log.h). One replication thread
// drains every outbox: it packs up to batch_max_events / batch_max_bytes into
// one batch, waiting at most linger_us from its first event's arrival for it
// to fill (only while writes stream in: a lone write to an idle outbox goes
// at once), publishes it, and moves the events to the origin's backlog only
// when the transport confirms.
// A failed publish is retried, with a circuit breaker around the transport.
// When an outbox is full the oldest events are dropped, counted, and the
// origin's epoch is bumped, so receivers know they missed something and
// resync.
//
// Backlog. The last backlog_max_bytes of published events of each origin
// stay (Redis' repl-backlog-size), so a receiver that missed some (its queue
// overflowed, a link was cut) gets just those (copy_backlog, for Resync)
// rather than a snapshot of the whole store. A new epoch empties it (so does
// any drop from a full outbox): the events before it can no longer be told
// apart by sequence.
//
// Receiving. Each batch is unsealed (with a secret), decoded, validated and
// checked against the (epoch, sequence) last seen from its origin:
// duplicates are skipped, gaps and new epochs are counted and reported to the
// resync hook, and events are applied through the apply hook. Replication lag
// (now minus the event's origin wall time) is recorded per origin.
//
// Validation. Nothing received is trusted: a batch whose seal is missing or
// wrong, from an unknown region, or whose sequence lies beyond
// sequence_window of the expected one is refused whole; an event whose
// version names another region, lies more than max_clock_offset_ms ahead of
// the local clock, or whose value does not decode for its kind is refused
// alone (its sequence still counts, so the stream stays in step). Refusals
// are counted per reason (InboundStats::refused) and logged at most once per
// reason every kRefusalLogIntervalMs; the batch is consumed either way, so
// nothing received can stop replication. The rules and why:
// docs/replication.md, "Validation".
//
// Control. Resync requests and snapshots (control batches, event.h) travel
// point to point (send_control → Transport::send_to) and skip the (epoch,
// seq) check: they go to the control hook of the region they address.
// Hellos (heartbeats) go to every region (send_control → Transport::broadcast)
// and to the control hook of every receiving region, whatever their origin.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/clock.h"
#include "core/mutex.h"
#include "core/version.h"
#include "messaging/circuit_breaker.h"
#include "messaging/event.h"
#include "messaging/transport.h"

namespace geocache {

struct ReplicatorOptions {
  size_t batch_max_events = 1024;      // events packed in one message at most
  size_t batch_max_bytes = 1 << 20;    // bytes in one message at most (1 MiB)
  int64_t linger_us = 1000;            // longest a batch waits to fill, from its first event, µs
  size_t outbox_max_bytes = 64 << 20;  // outbox bound per origin region (64 MiB)
  size_t backlog_max_bytes = 16 << 20; // published events kept per origin region for resyncs (16 MiB); 0: none
  int64_t retry_backoff_ms = 100;      // pause after a failed publish
  CircuitBreakerOptions breaker;       // around Transport::publish
  // Receiving (docs/replication.md, "Validation").
  // A remote version (or origin wall time) further ahead of the local clock
  // than this is refused, so the HLC never jumps further ahead, ms.
  int64_t max_clock_offset_ms = 500;
  // Events a batch may start ahead of (or end behind) the expected sequence
  // of its origin's epoch; beyond it the batch is refused, unless the next
  // batch continues it (then the receiver follows and resyncs).
  uint64_t sequence_window = uint64_t{1} << 20;
  // Shared secret sealing every batch sent (HMAC-SHA256); batches received
  // without a valid seal are refused. Empty: nothing sealed, seals not checked.
  std::string secret;
  void validate() const;               // throws std::invalid_argument naming the field
};

enum class ResyncReason { kGap, kNewEpoch, kFirstContact };
const char* resync_reason_name(ResyncReason r);

// Figures for INFO and tests.
struct OutboxStats {
  RegionId origin = 0;
  uint64_t epoch = 0;
  uint64_t depth_events = 0;
  uint64_t depth_bytes = 0;
  uint64_t appended = 0;
  uint64_t published = 0;  // events confirmed by the transport
  uint64_t dropped = 0;    // events lost to overflow
  uint64_t publish_failures = 0;
  uint64_t last_published_seq = 0;  // of epoch `epoch`; 0: none yet
  uint64_t backlog_events = 0;  // published events kept for resyncs
  uint64_t backlog_bytes = 0;
  CircuitBreaker::State breaker = CircuitBreaker::State::kClosed;
};

// Why a received batch or event was refused (docs/replication.md).
enum class Refusal : uint8_t {
  kMac,       // batch: seal missing or wrong (a secret is set)
  kSequence,  // batch: sequence beyond sequence_window of the expected one, or past kMaxSequence
  kRegion,    // batch from an unknown region; event whose version names another region
  kClock,     // version or origin wall time more than max_clock_offset_ms ahead of the local clock
  kValue,     // value that does not decode for its kind, or an expiry out of range
};
inline constexpr size_t kRefusalReasons = 5;
const char* refusal_name(Refusal r);  // "mac", "sequence", "region", "clock", "value"

// At most one log line per refusal reason per this interval (of the injected
// clock); the line counts what was refused since the previous one.
inline constexpr int64_t kRefusalLogIntervalMs = 10'000;

struct InboundStats {
  RegionId region = 0;  // the receiving region
  RegionId origin = 0;
  uint64_t epoch = 0;
  uint64_t next_seq = 0;
  uint64_t events_in = 0;
  uint64_t batches_in = 0;
  uint64_t duplicates = 0;
  uint64_t gaps = 0;
  uint64_t epoch_changes = 0;
  uint64_t corrupt_batches = 0;
  // Refused, indexed by Refusal: a batch refused whole counts once, an event
  // refused alone once. Refusals whose origin cannot be trusted (seal,
  // unknown region) are counted with origin 0, like corrupt batches.
  std::array<uint64_t, kRefusalReasons> refused{};
  uint64_t refused_of(Refusal r) const { return refused[static_cast<size_t>(r)]; }
  int64_t lag_last_ms = 0;
  int64_t lag_p50_ms = 0;
  int64_t lag_p99_ms = 0;
};

class Replicator {
 public:
  // The hooks run on transport threads, inside the transport's receiver: they
  // must not block (no network waits, no send_control()), or every batch
  // behind them waits too. Hand slow work to a thread of your own.
  //
  // Applies one event from another region to the local region `region`.
  using ApplyFn = std::function<void(RegionId region, const Event& event)>;
  // Called when `region` has missed events from `origin`; it should resync.
  // missed: which ones, when the numbering tells (a gap in one epoch).
  using ResyncFn =
      std::function<void(RegionId region, RegionId origin, ResyncReason why, std::optional<MissedRange> missed)>;
  // Receives a control batch addressed to local region `region`, or a hello
  // any region (this one included) sent to all.
  using ControlFn = std::function<void(RegionId region, const EventBatch& batch)>;

  Replicator(const ReplicatorOptions& options, Transport* transport, const Clock* clock, ApplyFn apply,
             ResyncFn resync, ControlFn control = nullptr);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Registers a local region: its outbox, and its receiver on the transport.
  // REQUIRES: before start().
  void add_region(RegionId region);
  // Which region ids exist: batches from, and versions of, any other id are
  // refused. Default: every id but 0. REQUIRES: before start(); thread-safe fn.
  using KnownRegionFn = std::function<bool(RegionId)>;
  void set_known_regions(KnownRegionFn fn) { known_region_ = std::move(fn); }
  // The HLC the clock guard protects (not owned; outlives this). A version
  // no later than what it has already reached moves it nowhere and passes
  // the guard whatever the wall clock says (the clock stepped back, regions
  // of one process sharing it). Default: none, the guard is the wall clock
  // alone. REQUIRES: before start().
  void set_clock_guard(const Hlc* hlc) { hlc_ = hlc; }
  // Runs `apply` (which applies one received group of events through the
  // apply hook) so that no local reader sees part of the group: the owner's
  // exclusive section. Default: apply just runs. REQUIRES: before start().
  using GroupRunFn = std::function<void(RegionId region, absl::FunctionRef<void()> apply)>;
  void set_group_runner(GroupRunFn fn) { group_runner_ = std::move(fn); }
  Status start();
  // Stops the replication thread after one last attempt to send what is queued.
  void stop();

  // Queues an event from local region `origin` (encoded at once: the event
  // need not outlive the call). Never blocks on the network.
  void append(RegionId origin, EventRef event);
  // Queues events as one group (a transaction's writes): consecutive in the
  // stream, never split between batches (a batch may so pass
  // batch_max_events or batch_max_bytes), and applied by each receiver
  // through the group runner. A group past kMaxEventsPerBatch is split.
  void append_group(RegionId origin, std::vector<Event> events);

  // Where local region origin's stream stands: its last event appended (the
  // last write made there, published or not). nullopt: not a local region.
  std::optional<StreamPoint> stream_point(RegionId origin) const;
  // True once local region `region` has applied every event of
  // point.origin's stream up to `point` that arrived in order: a gap before
  // it is not seen here (the caller asks Resync whether one is being
  // filled). A point of an epoch older than the last applied counts once a
  // resync has completed since the change (what the old epoch lost came
  // with it). A point of a region never heard from, or ahead of what
  // arrived: false. Never blocks.
  bool has_applied(RegionId region, const StreamPoint& point) const;
  // Tells the replicator that a resync of `region` from `origin` completed
  // with nothing more asked (Resync's on_covered).
  void caught_up(RegionId region, RegionId origin);
  // Called (on a transport thread, must not block) after a batch is applied
  // and after caught_up(): what has_applied() answers may have changed.
  // REQUIRES: before start().
  void set_progress_listener(std::function<void()> fn) { progress_ = std::move(fn); }

  // Blocks until every outbox has drained (all confirmed by the transport)
  // or timeout_ms passes; true if drained. For tests, demos and shutdown.
  bool wait_drained(int64_t timeout_ms);

  // Sends control batch `batch` (batch.origin: a local region) to region
  // batch.target, or, a hello, to every region. Blocks like
  // Transport::send_to: never call it on the request path nor from a hook.
  Status send_control(const EventBatch& batch);

  // Where origin's stream stands, as its hello to `region` says (epoch, last
  // sequence confirmed). If `region` has not got that far and nothing came
  // from origin since the previous hello said so too, the stream's tail was
  // lost (a full queue dropped it): counted as a gap and reported to the
  // resync hook. Never blocks. (The hello may overtake batches still queued:
  // hence the second hello.)
  void on_stream_position(RegionId region, RegionId origin, uint64_t epoch, uint64_t published_seq);

  // Copies origin's events [from, until) of `epoch` from its backlog (and
  // outbox), at most max_events of them and about max_bytes, into *out; the
  // sequence to go on from (until once done), or nullopt if the backlog does
  // not hold `from` of that epoch (any more). until is capped at the next
  // sequence to be assigned.
  std::optional<uint64_t> copy_backlog(RegionId origin, uint64_t epoch, uint64_t from, uint64_t until,
                                       size_t max_events, size_t max_bytes, std::vector<Event>* out) const;

  std::vector<OutboxStats> outbox_stats() const;
  std::vector<InboundStats> inbound_stats() const;

  // Exposed for unit tests of the receive path.
  void TEST_receive(RegionId region, std::string_view payload) { receive(region, payload); }

 private:
  struct Outbox;
  struct Inbound;

  void run();
  bool publish_one(Outbox& box);  // false when it failed
  // Queues one event (encode_event's bytes); true if the sender should be woken.
  bool append_locked(Outbox& box, std::string_view encoded, bool group_next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void receive(RegionId region, std::string_view payload);
  void receive_control(RegionId region, EventBatch& batch, int64_t now);
  bool known_region(RegionId id) const { return id != 0 && (!known_region_ || known_region_(id)); }
  // Why `e` must not be applied, if it must not. origin: the region every
  // version must name (an event batch's origin), or 0 for any known region
  // (a snapshot holds the origin's whole store).
  std::optional<Refusal> check_event(const Event& e, RegionId origin, int64_t now) const;
  // The clock guard: wall_ms (a version's, an origin's wall time) lies more
  // than max_clock_offset_ms ahead of now and beyond what the HLC reached.
  bool too_far_ahead(int64_t wall_ms, int64_t now) const;
  // Counts n refusals of `why` on link (region, origin) and, if one is due,
  // returns the line to log (after in_mu_ is released).
  std::optional<std::string> refuse_locked(RegionId region, RegionId origin, Refusal why, uint64_t n,
                                           const std::string& detail, int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(in_mu_);
  // Refuses something whole: counts it and logs the line if one is due.
  void refuse(RegionId region, RegionId origin, Refusal why, const std::string& detail, int64_t now);
  Inbound& inbound_locked(RegionId region, RegionId origin) ABSL_EXCLUSIVE_LOCKS_REQUIRED(in_mu_);

  const ReplicatorOptions options_;
  Transport* transport_;
  const Clock* clock_;
  ApplyFn apply_;
  ResyncFn resync_;
  ControlFn control_;
  KnownRegionFn known_region_;
  std::function<void()> progress_;
  const Hlc* hlc_ = nullptr;
  GroupRunFn group_runner_;

  mutable Mutex mu_;  // also guards each Outbox's queue and counters
  std::condition_variable work_cv_;
  std::condition_variable drained_cv_;
  std::map<RegionId, std::unique_ptr<Outbox>> outboxes_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  mutable Mutex in_mu_;
  std::map<std::pair<RegionId, RegionId>, std::unique_ptr<Inbound>> inbound_ ABSL_GUARDED_BY(in_mu_);
  // Per refusal reason: when its last log line went out, and what was
  // refused since.
  struct RefusalLog {
    int64_t last_ms = 0;
    bool logged = false;
    uint64_t since = 0;
  };
  std::array<RefusalLog, kRefusalReasons> refusal_log_ ABSL_GUARDED_BY(in_mu_);
};

}  // namespace geocache
