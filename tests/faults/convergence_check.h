// The convergence check of the fault harness: reads every key the load wrote
// from every region, waits (polling, with a deadline) until the regions
// agree on each key's value and expiry, and then holds the agreed state to
// the load's history: no acknowledged write that was not later overwritten
// or deleted may be missing, deletes included.
//
// The history rule. Write B follows write A when B was sent after A's reply
// came (by more than order_margin_us: versions have millisecond grain); every
// node reads the same clock, so B's version is then higher than A's and B
// must win. A write no acknowledged write follows is a *candidate*; the key's
// final state must be the outcome of one of its candidates: concurrent writes
// may go either way, but never to a value that was overwritten. A write that
// got no reply (its node was killed mid-write) may or may not have happened:
// it can be a candidate, but does not displace the writes before it.
//
// Hashes are written by one region, one write at a time, so their expected
// content is the fold of their writes in order (branching on the unanswered
// ones). A node killed with SIGKILL loses the writes it acknowledged but had
// not yet published (replication is asynchronous, the outbox in memory): a
// loss that only such writes explain (acknowledged by that node within
// crash_exposure_us before it was killed) is reported apart, as lost_in_crash.
// A DEL counts even when it answered 0: the key may only have been absent
// where it ran because another region's write had not arrived yet.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "geocached_process.h"
#include "write_load.h"

namespace geocache::testing {

// One region's view of one key.
struct KeyView {
  bool exists = false;
  std::string value;                          // a string key's value
  std::map<std::string, std::string> fields;  // a hash key's fields
  int64_t expiry_us = -1;                     // absolute (read time + PTTL); -1 = none
};
std::string describe(const KeyView& v);

// region -> key -> view
using Snapshot = std::map<std::string, std::map<std::string, KeyView>>;

// Reads the keys from one region: GET or HGETALL, and PTTL, pipelined.
// Keys starting with "h:" are hashes. False if the connection failed.
bool read_keys(redisContext* c, const std::vector<std::string>& keys, std::map<std::string, KeyView>* out);

// The keys whose views differ between regions: existence, value or fields,
// or expiries further apart than ttl_tolerance_us.
std::vector<std::string> disagreements(const Snapshot& snapshot, int64_t ttl_tolerance_us);

struct Agreement {
  bool reached = false;
  int64_t elapsed_ms = 0;  // from the call until the regions agreed (or the deadline)
  int polls = 0;
  Snapshot last;                         // the last snapshot read
  std::vector<std::string> disagreeing;  // in it
  std::string summary() const;           // first disagreements, region by region
};

// Polls every region every poll_ms until they all agree on every key, or
// until timeout_ms has passed.
Agreement await_agreement(const std::vector<std::string>& regions,
                          const std::function<RedisConnection(const std::string&)>& connect,
                          const std::vector<std::string>& keys, int64_t timeout_ms,
                          int64_t ttl_tolerance_us = 1'000'000, int64_t poll_ms = 50);

// The keys a history wrote, each once, sorted.
std::vector<std::string> keys_of(const std::vector<Write>& history);

// A node killed with SIGKILL at a wall-clock time.
struct Crash {
  std::string region;
  int64_t at_us = 0;
};

struct CheckOptions {
  int64_t order_margin_us = 2'000;
  // How far an expiry may be from the write's send/reply window.
  int64_t ttl_tolerance_us = 1'000'000;
  std::vector<Crash> crashes;
  // An outbox publishes within a few ms (linger 1 ms, then the confirm), but
  // a broker loaded by sanitizer builds was seen to confirm 470 ms late; a
  // second covers that without excusing more.
  int64_t crash_exposure_us = 1'000'000;
  // Whether a DEL that answered 0 (the key was absent where it ran) must
  // still win over older writes from other regions (issue 8, "Restart": it
  // must). False holds such a DEL to what geocached does before that fix:
  // it writes nothing, so it may or may not take effect.
  bool deletes_of_absent_keys_win = true;
};

struct LostWrite {
  std::string key;
  KeyView found;
  // What the key should have held: a string key's candidates, a hash's last writes.
  std::vector<Write> candidates;
};

struct Verdict {
  size_t keys = 0;
  size_t writes = 0;
  size_t acked_writes = 0;
  std::vector<LostWrite> lost;           // lost acknowledged writes
  std::vector<LostWrite> lost_in_crash;  // only explained by writes a SIGKILL took
  std::string summary(size_t max_listed = 10) const;
};

// Holds one region's final state (which all regions agree on) to the history.
Verdict check_history(const std::vector<Write>& history, const std::map<std::string, KeyView>& final_state,
                      const CheckOptions& options = {});

}  // namespace geocache::testing
