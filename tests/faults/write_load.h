// WriteLoad: writes to every region at a set rate, one client thread per
// region, and records every write it sent and what became of it: the history
// the convergence check (convergence_check.h) holds the regions to.
//
// Keys: "s:<n>" string keys that every region writes, so writes made at the
// same time in different regions conflict and last-writer-wins decides; and
// "h:<region>:<n>" hashes only their own region writes, so their expected
// content is the fold of that region's writes in order. Every value written
// is unique ("<region>#<sequence>"), so a value read back names its write.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "geocached_process.h"

namespace geocache::testing {

// Wall-clock time (CLOCK_REALTIME) in µs: the nodes' clock, so write times
// and expiries compare with it.
int64_t wall_now_us();

// One write the load sent, and its outcome.
struct Write {
  enum class Op { kSet, kSetEx, kDel, kHset };
  Op op = Op::kSet;
  std::string region;  // where it was sent
  std::string key;
  std::string field;    // kHset
  std::string value;    // kSet, kSetEx, kHset
  int64_t ttl_ms = 0;   // kSetEx
  int64_t sent_us = 0;  // just before it was sent
  int64_t done_us = 0;  // when its reply (or the connection's failure) came
  // A success reply. False: sent, but the connection failed before a reply,
  // so it may or may not have been applied (a node killed mid-write).
  bool acked = false;
  int64_t reply = 0;  // DEL's and HSET's integer reply
};
std::string describe(const Write& w);

struct LoadOptions {
  double writes_per_second = 200;  // per region
  int string_keys = 400;           // "s:0" .. shared by all regions
  int hashes_per_region = 40;      // "h:<region>:0" ..
  // The mix, percent of writes: SET, SET EX, DEL of a string key; the rest
  // go to the region's hashes (HSET of one of four fields, one in ten a DEL).
  int set_percent = 45;
  int set_ex_percent = 20;
  int del_percent = 15;
  // SET EX seconds, uniform: long enough that nothing expires during a test.
  int ex_min_s = 600;
  int ex_max_s = 1200;
  uint64_t seed = 1;
};

// Writes `count` string keys "<prefix><n>" to a region as fast as one
// pipelined connection goes (values "<region>#<prefix><n>"), and returns them
// as history. Writes without a reply come back unanswered.
std::vector<Write> bulk_set(redisContext* c, const std::string& region, const std::string& prefix, int count);

class WriteLoad {
 public:
  // A client connected to a region (inside its namespace), or nullptr / err set.
  using Connector = std::function<RedisConnection(const std::string& region)>;

  WriteLoad(std::vector<std::string> regions, Connector connect, LoadOptions options = {});
  ~WriteLoad();  // stops
  WriteLoad(const WriteLoad&) = delete;
  WriteLoad& operator=(const WriteLoad&) = delete;

  // Starts one writer thread per region; each keeps to its rate (it does not
  // burst to catch up after a stall: a region that was unreachable simply
  // got fewer writes). REQUIRES: called once.
  void start();
  // Stops the writers and waits for them; the history is then complete.
  void stop();

  // Every write sent, by send time. REQUIRES: stopped.
  const std::vector<Write>& history() const { return history_; }

  // Counters, readable while running.
  struct Counts {
    int64_t acked = 0;
    int64_t unanswered = 0;  // sent, no reply (connection failed)
    int64_t refused = 0;     // not sent: could not connect, or an error reply
  };
  Counts counts(const std::string& region) const;
  Counts total() const;

 private:
  struct Writer {
    std::string region;
    std::thread thread;
    std::vector<Write> writes;
    std::atomic<int64_t> acked{0}, unanswered{0}, refused{0};
  };
  void run(Writer* w, uint64_t seed);

  std::vector<std::string> regions_;
  Connector connect_;
  LoadOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Writer>> writers_;
  std::vector<Write> history_;
};

}  // namespace geocache::testing
