// EventLoop: one thread's loop over its share of the connections.
//
// Loop 0 also owns the listening sockets: it accepts, applies maxclients and
// protected mode, and hands each new socket to the loops in turn (itself
// included), so connections spread evenly whatever the kernel wakes.
// Nothing is shared between loops but ServerState (atomics, a registry
// mutex never held across I/O) and the GeoCache (its own locks).
//
// How the loop waits and moves bytes is its IoEngine's (server/io_engine.h:
// epoll or io_uring); what happens to a connection is decided here, the
// same for both.
//
// Thread-safety: run() on one thread; hand_over() and stop() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/geo_cache.h"
#include "core/mutex.h"
#include "server/connection.h"
#include "server/io_engine.h"
#include "server/mailbox.h"
#include "server/server_state.h"

namespace geocache {

class EventLoop : public MailWaker, private IoHandler {
 public:
  // Makes the loop's wake-up eventfd, which its engine must watch.
  static int make_wake_fd();
  // Takes ownership of wake_fd and engine (built around wake_fd).
  EventLoop(GeoCache& cache, ServerState& state, int wake_fd, std::unique_ptr<IoEngine> engine);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // REQUIRES: before run(). The loop takes ownership of fd.
  void add_listener(int fd, RegionId region);
  // The loops new connections are spread over (loop 0 only).
  void set_peers(std::vector<EventLoop*> peers) { peers_ = std::move(peers); }

  // Gives this loop a freshly accepted socket. Thread-safe.
  void hand_over(int fd, RegionId region, std::string addr, std::string laddr);

  const char* engine_name() const { return engine_->name(); }

  void run();
  // Makes run() return after closing its connections. Thread-safe.
  void stop();
  // Makes the loop look at its parked connections (GEO.WAIT) soon, if it
  // has any: replication progressed. Thread-safe, cheap when none is parked.
  void wake_if_parked();
  // A connection of this loop has mail (server/mailbox.h). Thread-safe.
  void post(std::shared_ptr<Mailbox> box) override;

 private:
  using Watch = IoWatch;
  struct Pending {
    int fd;
    RegionId region;
    std::string addr, laddr;
  };

  // IoHandler.
  void on_listener(IoWatch& listener) override;
  void on_wake() override;
  void on_client(IoWatch& client, Connection::Next next) override;
  int64_t now_ms() override { return state_.now_ms(); }
  void release(IoWatch& watch) override;

  void adopt(Pending p);
  void take_handed_over();
  void take_mail();
  // What a connection needs after running: closed, or watched for it.
  void follow(Watch* w, Connection::Next next);
  void close_client(Watch* w);
  void close_idle_clients(int64_t now_ms);
  void wake();
  // Resumes the parked connections that can go on (or whose deadline passed).
  void resume_parked(int64_t now_ms);
  // How long the engine may wait: until the next parked deadline, 100 ms at most.
  int wait_timeout_ms(int64_t now_ms) const;
  void note_parked(Watch* w);

  GeoCache& cache_;
  ServerState& state_;
  HotCounters* counters_;
  ExclusionGate::Slot* gate_slot_;  // this loop's, held by its connections while they run commands
  const int wake_fd_;
  std::unique_ptr<IoEngine> engine_;
  std::atomic<bool> stopping_{false};
  std::vector<EventLoop*> peers_;
  size_t next_peer_ = 0;

  std::vector<std::unique_ptr<Watch>> listeners_;
  std::unordered_map<Watch*, std::unique_ptr<Watch>> clients_;
  std::unordered_set<Watch*> parked_;
  std::atomic<size_t> parked_count_{0};  // parked_.size(), for wake_if_parked()

  Mutex pending_mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(pending_mu_);
  std::vector<std::shared_ptr<Mailbox>> mail_ ABSL_GUARDED_BY(pending_mu_);
};

}  // namespace geocache
