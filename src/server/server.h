// Server: geocached's network side. Listens on one port per local region
// (config.server.port for the home region, config.server.region_ports for
// the others) on every bind address, and runs config.server.threads event
// loops (0 = one per core) that serve the clients through the command table.
//
// Thread-safety: start(), wait() and stop() from the owning thread; stop()
// may also be called from any thread (SHUTDOWN, signals) via ServerState.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cache/geo_cache.h"
#include "core/mutex.h"
#include "core/status.h"
#include "server/event_loop.h"
#include "server/server_state.h"

namespace geocache {

class Server {
 public:
  // cache and state must outlive the server.
  Server(GeoCache& cache, ServerState& state);
  ~Server();  // stops if running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every port (an error names the address and port, e.g. in use) and
  // starts the loops.
  Status start();
  // Blocks until stop() is called (or SHUTDOWN / a signal asked for it).
  void wait();
  // Stops accepting, closes every client and joins the loops. Idempotent.
  void stop();

  // Region name -> port actually listened on.
  const std::map<std::string, int>& ports() const { return ports_; }
  int threads() const { return static_cast<int>(loops_.size()); }

 private:
  Status listen_on(const std::string& address, int port, std::vector<int>* fds);
  // One engine per loop (around its wake-up eventfd): what server.io-engine
  // asks for, or epoll for all if io_uring is refused for one.
  std::vector<std::unique_ptr<IoEngine>> make_engines(const std::vector<int>& wake_fds);

  GeoCache& cache_;
  ServerState& state_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
  std::map<std::string, int> ports_;

  Mutex mu_;
  std::condition_variable cv_;
  bool stop_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace geocache
