// Membership: which regions are alive, which process serves each, how far
// their clocks are from ours, and what is wrong with the deployment.
//
// Each process publishes a hello from each of its regions every
// heartbeat_ms, through the transport, to every region (its own included):
// the region's name, an instance id drawn at random when the process starts,
// the replication protocol it speaks, its wall clock and the endpoint clients
// reach the region at (MembershipOptions::endpoints). From the hellos a
// process hears it keeps, per region: when it last heard one, the sender's
// instance, its protocol, and its clock offset and lag (below). Hellos also
// teach the RegionRegistry the names of regions that were not configured.
//
// Clock offset and lag. A hello sent at their wall time S and received at
// our wall time R gives d = S - R = offset - transit, so d is never above
// the true offset (their clock minus ours) and comes closest when the
// transit is shortest: the offset estimate is the largest d of the last
// kOffsetWindow hellos, and a hello's lag is how much later than that
// fastest one it arrived (estimate - d).
//
// Clock offset beyond max_clock_offset_ms (the clock guard's bound, which
// refuses events from a clock that far ahead): logged as a warning (at most
// once a minute per region) and shown by INFO and GEO.REGIONS while the
// estimate stays beyond it; since the estimate is the largest d of the
// window, it clears within kOffsetWindow hellos of the clocks agreeing again.
// A clock ahead is certain from one hello (d is at most the offset). A
// clock behind is not: a hello may also just be late (a queue drained after
// a partition or a restart holds hellos sent long ago). So it counts only
// when the latest hello arrived paced, at least half as long after the
// previous one of its process as it was sent after it; a drained backlog
// arrives much faster than it was sent.
//
// Other problems it reports (logged as errors when they start, shown by
// INFO and GEO.REGIONS while they last):
//   - two live processes serving one region: a hello for a region hosted
//     here from another instance, sent after this one started (earlier ones
//     are what the process this one replaced left in the queue), or, for
//     another region, hellos of two instances that alternate (a restart only
//     ever goes from the old instance to the new one);
//   - a region speaking another replication protocol;
//   - two names with one id (RegionRegistry::learn);
//   - what the transport reports (report_problem): e.g. a queue declared
//     by someone else with other arguments.
//
// Threading: on_hello() is a replicator hook: it runs on a transport thread
// and never blocks. Hellos are sent by the unit's own thread.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log_throttle.h"
#include "core/mutex.h"
#include "core/status.h"
#include "messaging/event.h"
#include "messaging/region_registry.h"

namespace geocache {

struct MembershipOptions {
  // Interval between two hellos of a region, ms; 0 sends none (every
  // remote region then shows as unknown).
  int64_t heartbeat_ms = 1000;
  // A region not heard from for 3 heartbeats is stale; for this long, down
  // (and two-instance or protocol problems older than this are over), ms.
  int64_t down_after_ms = 10'000;
  // A region whose clock is further from ours than this is a problem (see
  // above), ms. GeoCache sets it to ReplicatorOptions::max_clock_offset_ms:
  // one setting, --max-clock-offset.
  int64_t max_clock_offset_ms = 500;
  // Where clients reach each local region ("host:port", by region name);
  // hellos carry it to the other regions. A region missing here announces
  // none.
  std::map<std::string, std::string> endpoints;
  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

enum class PeerState { kUnknown, kUp, kStale, kDown };
const char* peer_state_name(PeerState state);

struct PeerStatus {
  RegionInfo region;
  PeerState state = PeerState::kUnknown;   // local regions: kUp
  int64_t last_seen_ms = -1;               // ms since its last hello; -1: never heard
  int64_t lag_ms = 0;                      // how much later than the fastest recent hello the last one arrived
  std::optional<int64_t> clock_offset_ms;  // its clock minus ours, estimated; none before a hello
  uint64_t instance_id = 0;                // the process that sent the last hello (local: this one)
  uint32_t protocol = 0;                   // the protocol of the last hello (local: ours)
  uint64_t hellos = 0;                     // hellos heard from it
  std::string problem;                     // empty, or what is wrong with it now
  std::string endpoint;                    // where clients reach it, as announced; empty: unknown
};

class Membership {
 public:
  // Sends one hello to every region (Replicator::send_control). May block.
  using SendFn = std::function<Status(const EventBatch& hello)>;
  // Hellos remembered for the clock offset estimate.
  static constexpr size_t kOffsetWindow = 30;

  // regions, clock: not owned; must outlive this. instance_id: this
  // process's, nonzero.
  Membership(const MembershipOptions& options, RegionRegistry* regions, const Clock* clock, uint64_t instance_id,
             SendFn send);
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Starts sending hellos (none if heartbeat_ms is 0). Idempotent.
  void start();
  void stop();

  uint64_t instance_id() const { return instance_id_; }
  // The hello local region `region` sends now.
  EventBatch hello_from(RegionId region) const;

  // Takes in a hello received by local region `region` (the replicator's
  // control hook hands it over). Never blocks on the network.
  void on_hello(RegionId region, const EventBatch& hello);
  // Sets (or, with empty text, clears) a problem the transport found; key
  // names it, so a later report replaces it.
  void report_problem(const std::string& key, const std::string& text);

  // Every region known (RegionRegistry::all()) with what its hellos told.
  std::vector<PeerStatus> peers() const;
  // Region `region`'s clock minus ours, ms, as estimated from its hellos;
  // none before its first hello (and for local regions).
  std::optional<int64_t> clock_offset_ms(RegionId region) const;
  // What needs attention now, one line each.
  std::vector<std::string> problems() const;

 private:
  struct Peer {
    uint64_t instance = 0;       // sender of the latest hello
    int64_t instance_wall = 0;   // its latest wall_ms
    uint64_t previous = 0;       // the instance before it
    int64_t previous_wall = 0;   // the previous instance's latest wall_ms
    int64_t last_seen_ms = -1;   // our clock
    std::deque<int64_t> deltas;  // wall_ms - our receipt time, the latest last
    uint64_t last_instance = 0;  // sender of the latest hello (of any instance)
    int64_t last_wall_ms = 0;    // its wall_ms
    bool paced = false;          // the latest hello was no backlog (see above)
    bool clock_beyond = false;   // the offset was beyond the bound at the latest hello
    LogThrottle clock_log{60'000};
    uint32_t protocol = 0;
    uint64_t hellos = 0;
    std::string endpoint;        // of the latest hello of the current instance
    // Evidence of problems, our clock; -1: none.
    int64_t duplicate_at_ms = -1;
    uint64_t duplicate_instance = 0;
    int64_t mismatch_at_ms = -1;
    int64_t clash_at_ms = -1;
    std::string clash_name;
    int64_t logged_at_ms = -1;  // when the last problem of this region was logged
  };
  void run();
  PeerState state_of(const Peer& p, int64_t now) const;
  // Its clock minus ours, estimated (the largest delta); none before a hello.
  static std::optional<int64_t> offset_of(const Peer& p);
  // Every problem of the region, joined with "; ".
  std::string problem_of(RegionId id, const Peer& p, int64_t now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Its problems but the clock's, which is a warning of its own.
  std::string deployment_problem_of(RegionId id, const Peer& p, int64_t now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Its clock problem, or "".
  std::string clock_problem_of(RegionId id, const Peer& p, int64_t now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Logs a clock offset beyond the bound (throttled) and its return within.
  void log_clock_locked(RegionId id, Peer& p, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Logs the peer's current problem as an error if it just started (or was
  // last logged a minute ago).
  void log_problem_locked(RegionId id, Peer& p, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MembershipOptions options_;
  RegionRegistry* regions_;
  const Clock* clock_;
  const uint64_t instance_id_;
  const int64_t started_ms_;  // our clock at construction
  SendFn send_;

  mutable Mutex mu_;
  std::condition_variable cv_;
  std::map<RegionId, Peer> peers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> reported_ ABSL_GUARDED_BY(mu_);  // key -> text
  int64_t full_logged_at_ms_ ABSL_GUARDED_BY(mu_) = -1;  // when a hello was last ignored as one region too many
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace geocache
