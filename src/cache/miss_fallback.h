// MissFallback: on a local miss, asks the closest other region for the key
// and keeps its answer locally, with its version (opt-in: miss-fallback).
//
// A region that just started (or lost a queue) misses keys that the others
// hold; without this, each such read goes to the application's database. A
// fetch asks the closest other region whose breaker is closed, point to point
// through the transport (a kFetchRequest control batch); the answer (a
// kFetchReply carrying the record held, tombstones included, or nothing) is
// applied by last-writer-wins like any replicated record, so it can never
// undo a newer write; the store keeps it unless it may have forgotten a
// newer one (answer()). The read that missed waits for the answer at most
// timeout_ms (the server parks the connection, then reads again).
//
// Failure costs little: a fetch unanswered within timeout_ms counts as a
// failure of that region's breaker; once open, misses are answered as misses
// at once until it probes again. Concurrent misses of one key share one
// fetch; at most max_pending fetches are out at a time (beyond: a plain miss).
//
// Every node answers fetches, whether or not it makes any (enabled).
//
// Threading: fetch(), done() and handle_control() never block on the
// network; a worker thread sends the requests and the answers (a send may
// block) and times fetches out.
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/mutex.h"
#include "core/record.h"
#include "messaging/circuit_breaker.h"
#include "messaging/event.h"

namespace geocache {

struct MissFallbackOptions {
  bool enabled = false;
  int64_t timeout_ms = 50;  // longest wait for a peer's answer
  size_t max_pending = 10'000;
  // Longest wait for the whole state of a list a region could not apply a
  // list write to (fetch_from): the origin may be far, and nobody waits on it.
  int64_t state_timeout_ms = 5000;
  // How many times such a fetch is sent before it is given up: a request or
  // its answer lost (a queue that overflowed, a broker restart) would leave
  // the older list until the key's next write.
  int state_attempts = 3;
  // Per peer region: two unanswered fetches in a row open it for a second.
  CircuitBreakerOptions breaker{.failure_threshold = 2, .open_interval_ms = 1000, .half_open_probes = 1};
  void validate() const;  // throws std::invalid_argument naming the field
};

class MissFallback {
 public:
  // Sends a control batch (Replicator::send_control); may block.
  using SendFn = std::function<Status(const EventBatch& batch)>;
  // What local region `region` holds of key (tombstones included), for answers.
  using LookupFn = std::function<std::optional<Record>(RegionId region, std::string_view key)>;
  // Stores an answer in local region `region` by last-writer-wins.
  using ApplyFn = std::function<void(RegionId region, std::string_view key, const Record& record)>;
  // The other regions local region `region` may ask, closest first.
  using PeersFn = std::function<std::vector<RegionId>(RegionId region)>;
  // Told when a fetch has ended (answered or timed out); must not block.
  using DoneFn = std::function<void()>;

  MissFallback(const MissFallbackOptions& options, const Clock* clock, SendFn send, LookupFn lookup, ApplyFn apply,
               PeersFn peers, DoneFn done);
  ~MissFallback();  // stop()
  MissFallback(const MissFallback&) = delete;
  MissFallback& operator=(const MissFallback&) = delete;

  void start();
  void stop();
  bool enabled() const { return options_.enabled; }
  int64_t timeout_ms() const { return options_.timeout_ms; }

  // Asks for key on behalf of local region `region`: a ticket to pass to
  // done(), or nullopt if no region can be asked now (disabled, every
  // breaker open, too many fetches out): answer the miss as a miss.
  std::optional<uint64_t> fetch(RegionId region, std::string_view key);
  // Asks region `peer` for key on behalf of local region `region`, whether
  // or not misses are fetched (enabled), and applies its answer by
  // last-writer-wins: how a region that could not apply a list write (its
  // list was not the one the write changed) gets the list's whole state from
  // the write's origin. A ticket, or nullopt if not running or too many
  // fetches are out. Waits up to state_timeout_ms, then asks again, up to
  // state_attempts times in all; never blocks. Asked again while a fetch of
  // the key from peer is out, it asks once more when that one's answer
  // comes: the answer may predate the write that asked again.
  std::optional<uint64_t> fetch_from(RegionId region, RegionId peer, std::string_view key);
  // Whether the fetch has ended: its answer applied, or given up on.
  bool done(uint64_t ticket) const;
  // The record the fetch brought (kept for kAnswerKeptMs after it came), or
  // nullopt: none found, not answered, or forgotten. The store may have
  // refused it (a region that forgot a key cannot tell whether it forgot a
  // newer write of it: LruCache's forgotten mark), so the reader that waited
  // takes it from here.
  std::optional<Record> answer(uint64_t ticket) const;
  static constexpr int64_t kAnswerKeptMs = 1000;

  // A kFetchRequest for local region `region` (answered from the worker) or
  // a kFetchReply to one of ours.
  void handle_control(RegionId region, const EventBatch& batch);

  struct Stats {
    uint64_t fetches = 0;    // asked of a peer
    uint64_t answered = 0;   // answered in time (found or not)
    uint64_t found = 0;      // ... with a record
    uint64_t timed_out = 0;
    uint64_t skipped = 0;    // misses not fetched: every breaker open, or too many out
    uint64_t served = 0;     // requests of other regions answered
    uint64_t state_fetches = 0;  // of them, whole states of lists asked of a write's origin (fetch_from)
    uint64_t state_retries = 0;  // ... of them, sent again after a timeout
  };
  Stats stats() const;

 private:
  struct Pending {
    RegionId region = 0, peer = 0;
    std::string key;
    int64_t deadline_ms = 0;
    bool ask_again = false;  // fetch_from: asked again meanwhile
    int state_attempts_left = 0;  // fetch_from: sends left after this one
  };
  void run();
  uint64_t ask_locked(RegionId region, RegionId peer, std::string_view key, int64_t timeout_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops key's entry of by_key_ if it is ticket's.
  void forget_key_locked(RegionId region, const std::string& key, uint64_t ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  CircuitBreaker& breaker_locked(RegionId peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MissFallbackOptions options_;
  const Clock* clock_;
  SendFn send_;
  LookupFn lookup_;
  ApplyFn apply_;
  PeersFn peers_;
  DoneFn done_;

  mutable Mutex mu_;
  std::condition_variable cv_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);  // by ticket (= request id)
  std::map<std::pair<RegionId, std::string>, uint64_t> by_key_ ABSL_GUARDED_BY(mu_);
  std::deque<EventBatch> outgoing_ ABSL_GUARDED_BY(mu_);       // requests and answers to send
  struct Answer {
    Record record;
    int64_t kept_until_ms = 0;
  };
  std::map<uint64_t, Answer> answers_ ABSL_GUARDED_BY(mu_);  // by ticket, records found only
  std::map<RegionId, std::unique_ptr<CircuitBreaker>> breakers_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace geocache
