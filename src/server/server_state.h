// ServerState: what all connections share: the live settings CONFIG SET may
// change, counters for INFO, the registry of clients, and a way to ask the
// server to stop. One per geocached process.
//
// Thread-safety: every method is thread-safe. Settings read on every
// command are atomics; strings take mu_.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/log_throttle.h"
#include "core/mutex.h"
#include "server/client_session.h"
#include "server/pubsub.h"
#include "server/slowlog.h"
#include "server/tracking.h"

namespace geocache {

class ScriptEngine;

// Counters bumped on every request: one block per event loop, so loops
// never write the same cache line, and only the owning loop writes its
// block (a plain load and store, no locked read-modify-write).
struct alignas(64) HotCounters {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> input_bytes{0};
  std::atomic<uint64_t> output_bytes{0};
  // REQUIRES: called only by the block's owning thread.
  static void add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct HotTotals {
  uint64_t commands = 0, input_bytes = 0, output_bytes = 0;
};

// Requests and bytes per second (INFO's instantaneous_* fields).
struct OpsRate {
  int64_t ops_per_sec = 0;
  double input_kbps = 0, output_kbps = 0;
};

struct ServerStats {
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> unknown_commands{0};
  std::atomic<uint64_t> closed_output_limit{0};
  std::atomic<uint64_t> closed_query_limit{0};
  std::atomic<uint64_t> closed_idle{0};
};

class ServerState {
 public:
  // config: the settings at start; CONFIG SET changes the live copy here.
  // clock: the server's one time source (uptime, client ages and idle
  // times, the idle timeout); nullptr for the system clock. It must outlive
  // the state; tests pass a ManualClock so none of these needs a sleep.
  explicit ServerState(const Config& config, const Clock* clock = nullptr);
  ~ServerState();

  const Config& config() const { return config_; }
  const Clock& clock() const { return *clock_; }
  int64_t now_ms() const { return clock_->now_ms(); }
  int64_t start_ms() const { return start_ms_; }
  ServerStats& stats() { return stats_; }

  // ---- Live settings (CONFIG GET / SET).
  std::atomic<size_t> maxclients;
  std::atomic<int64_t> timeout_s;
  std::atomic<size_t> proto_max_bulk_len;
  std::atomic<size_t> client_query_buffer_limit;
  std::atomic<size_t> client_output_buffer_limit;
  std::atomic<size_t> maxmemory;  // bytes per hosted region's store; 0 = none
  std::atomic<int64_t> lua_time_limit_ms;  // scripts running longer are killed

  // The Lua VM and script cache (EVAL, SCRIPT; server/script_engine.h).
  ScriptEngine& scripts() { return *scripts_; }
  // client-output-buffer-limit's pubsub class (hard limit): a subscriber
  // whose unread messages pass it is dropped. 0 = none.
  std::atomic<size_t> pubsub_output_buffer_limit{32ull << 20};
  // slowlog-log-slower-than (µs; negative: off) and slowlog-max-len.
  std::atomic<int64_t> slowlog_slower_than_us{10'000};
  std::atomic<size_t> slowlog_max_len{128};
  // Event loops actually running (threads = 0 means one per core); set by
  // Server::start, 0 before.
  std::atomic<int> server_threads{0};
  // The loops' I/O engine ("epoll" or "uring"): server.io-engine, or epoll
  // when io_uring was asked for and the kernel refused it. Set by
  // Server::start (a static string).
  std::atomic<const char*> io_engine{"epoll"};
  // The highest used_memory INFO or MEMORY STATS has computed (used_memory_peak).
  std::atomic<uint64_t> used_memory_peak{0};

  // Password of the default user; empty = none.
  std::string requirepass() const;
  void set_requirepass(std::string_view pass);
  bool auth_required() const { return has_password_.load(std::memory_order_relaxed); }
  // Constant-time-ish comparison against the password.
  bool check_password(std::string_view pass) const;

  // Ports each local region listens on (for INFO and the startup line).
  void set_ports(std::map<std::string, int> ports);
  std::map<std::string, int> ports() const;

  // ---- Clients. register_client assigns the id.
  void register_client(ClientSession* session);
  void unregister_client(ClientSession* session);
  size_t connected_clients() const { return connected_.load(std::memory_order_relaxed); }
  // Reserves a slot under maxclients; false if full. release_slot undoes it.
  bool try_reserve_slot();
  void release_slot();
  // Calls fn for each registered client under the registry mutex (CLIENT
  // LIST). fn must not call back into ServerState.
  void for_each_client(const std::function<void(const ClientSession&)>& fn) const;
  void set_client_name(ClientSession* session, std::string_view name);
  std::string client_name(const ClientSession* session) const;
  void set_client_lib(ClientSession* session, std::string_view name, std::string_view ver);

  // ---- Pub/sub, client-side caching, the slow log.
  PubSub& pubsub() { return pubsub_; }
  Tracking& tracking() { return tracking_; }
  SlowLog& slowlog() { return slowlog_; }
  size_t pubsub_clients() const { return pubsub_.clients(); }
  size_t pubsub_channels() const { return pubsub_.channel_count(); }
  size_t pubsub_patterns() const { return pubsub_.numpat(); }
  size_t tracking_clients() const { return tracking_.clients(); }

  // ---- Per-loop request counters. The block lives as long as the state.
  HotCounters* add_hot_counters();
  // Sums of every block since start or the last reset_hot_totals().
  HotTotals hot_totals() const;
  void reset_hot_totals();
  // The rate over the last interval of at least a second between two calls
  // (INFO calls it with the totals it read); 0 until there is one. Redis
  // samples on a timer; a cache that runs no timer of its own measures
  // between the INFO calls that ask.
  OpsRate ops_rate(const HotTotals& now);

  // ---- Warnings a client can trigger at will, logged once a minute at most
  // (on now_ms()), so a flood of them cannot flood the log.
  LogThrottle http_warning_log{60'000};  // POST / Host: on the RESP port
  LogThrottle output_limit_log{60'000};  // clients closed over client-output-buffer-limit

  // ---- Stopping. The server installs the hook; SHUTDOWN and signals call it.
  void set_shutdown_hook(std::function<void()> hook);
  void request_shutdown();
  bool shutdown_requested() const { return shutdown_.load(); }

 private:
  const Clock* const clock_;
  const Config config_;
  const int64_t start_ms_;
  ServerStats stats_;
  std::unique_ptr<ScriptEngine> scripts_;
  PubSub pubsub_;
  Tracking tracking_;
  SlowLog slowlog_;

  mutable Mutex mu_;  // also guards the sessions' names and library fields
  std::string password_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_password_{false};
  std::map<std::string, int> ports_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, ClientSession*> clients_ ABSL_GUARDED_BY(mu_);
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<HotCounters>> hot_ ABSL_GUARDED_BY(mu_);
  HotTotals hot_baseline_ ABSL_GUARDED_BY(mu_);
  HotTotals rate_sample_ ABSL_GUARDED_BY(mu_);
  int64_t rate_sample_ms_ ABSL_GUARDED_BY(mu_) = -1;
  OpsRate rate_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> next_client_id_{1};
  std::atomic<size_t> connected_{0};
  std::atomic<size_t> slots_{0};
  std::atomic<bool> shutdown_{false};
};

}  // namespace geocache
