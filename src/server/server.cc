#include "server/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "spdlog/spdlog.h"

namespace geocache {

Server::Server(GeoCache& cache, ServerState& state) : cache_(cache), state_(state) {}

Server::~Server() { stop(); }

Status Server::listen_on(const std::string& address, int port, std::vector<int>* fds) {
  std::string host = address;
  if (host == "*") host = "0.0.0.0";
  if (host == "::*") host = "::";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) return Status::InvalidArgument("bind " + address + ": " + gai_strerror(rc));
  Status st;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      st = Status::Unavailable("socket: " + std::string(strerror(errno)));
      break;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
      st = Status::Unavailable("could not listen on " + address + ":" + port_text + ": " + strerror(errno));
      ::close(fd);
      break;
    }
    fds->push_back(fd);
  }
  freeaddrinfo(res);
  return st;
}

std::vector<std::unique_ptr<IoEngine>> Server::make_engines(const std::vector<int>& wake_fds) {
  const ServerOptions& options = state_.config().server;
  std::vector<std::unique_ptr<IoEngine>> engines;
  if (options.io_engine == "uring") {
    std::string why;
    for (int fd : wake_fds) {
      auto engine = make_uring_engine(fd, static_cast<unsigned>(options.io_uring_entries), &why);
      if (!engine) break;
      engines.push_back(std::move(engine));
    }
    if (engines.size() == wake_fds.size()) return engines;
    // Then every loop uses epoll: one engine for the whole server, as INFO says.
    engines.clear();
    spdlog::warn("io_uring unavailable ({}): the event loops use epoll", why);
  }
  for (int fd : wake_fds) engines.push_back(make_epoll_engine(fd));
  return engines;
}

Status Server::start() {
  const Config& config = state_.config();
  int n = config.server.threads;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  state_.server_threads.store(n);
  // Writes from other regions invalidate client-side caches too.
  cache_.set_remote_write_observer(&state_.tracking());

  // Which port serves which local region.
  std::vector<std::pair<RegionId, int>> plan;
  for (RegionId r : cache_.local_regions()) {
    const std::string& name = cache_.region_name(r);
    int port = 0;
    if (r == cache_.home_region()) {
      port = config.server.port;
    } else if (auto it = config.server.region_ports.find(name); it != config.server.region_ports.end()) {
      port = it->second;
    }
    if (port == 0) {
      spdlog::warn("region {} has no port: it is not served", name);
      continue;
    }
    plan.emplace_back(r, port);
  }
  for (const auto& [name, port] : config.server.region_ports) {
    auto id = cache_.region_id(name);
    if (!id.ok() || !cache_.is_local(*id)) {
      return Status::InvalidArgument("region_ports names " + name + ", which is not a local region");
    }
  }

  std::vector<std::pair<int, RegionId>> listeners;
  std::istringstream addresses(config.server.bind);
  std::string address;
  std::vector<std::string> binds;
  while (addresses >> address) binds.push_back(address);
  if (binds.empty()) binds.push_back("127.0.0.1");
  for (const auto& [region, port] : plan) {
    for (std::string a : binds) {
      // Redis' "-addr": optional, skipped if it cannot be bound.
      bool optional = !a.empty() && a[0] == '-';
      if (optional) a.erase(0, 1);
      std::vector<int> fds;
      Status st = listen_on(a, port, &fds);
      if (!st.ok() && !optional) {
        for (auto& [fd, r] : listeners) ::close(fd);
        for (int fd : fds) ::close(fd);
        return st;
      }
      for (int fd : fds) listeners.emplace_back(fd, region);
    }
    ports_[cache_.region_name(region)] = port;
  }
  state_.set_ports(ports_);

  std::vector<int> wake_fds;
  for (int i = 0; i < n; ++i) wake_fds.push_back(EventLoop::make_wake_fd());
  std::vector<std::unique_ptr<IoEngine>> engines = make_engines(wake_fds);
  for (int i = 0; i < n; ++i) {
    loops_.push_back(std::make_unique<EventLoop>(cache_, state_, wake_fds[i], std::move(engines[i])));
  }
  state_.io_engine.store(loops_[0]->engine_name());
  std::vector<EventLoop*> peers;
  for (auto& l : loops_) peers.push_back(l.get());
  loops_[0]->set_peers(peers);
  for (auto& [fd, region] : listeners) loops_[0]->add_listener(fd, region);

  state_.set_shutdown_hook([this] {
    MutexLock lock(mu_);
    stop_requested_ = true;
    cv_.notify_all();
  });
  // Replication progress may answer a parked GEO.WAIT on any loop.
  cache_.set_progress_listener([peers] {
    for (EventLoop* loop : peers) loop->wake_if_parked();
  });
  for (auto& l : loops_) threads_.emplace_back([loop = l.get()] { loop->run(); });
  MutexLock lock(mu_);
  running_ = true;
  // Asked before the hook was set (a signal while starting): wait() returns.
  if (state_.shutdown_requested()) stop_requested_ = true;
  return Status::Ok();
}

void Server::wait() {
  MutexLock lock(mu_);
  while (!stop_requested_ && running_) lock.wait(cv_);
}

void Server::stop() {
  {
    MutexLock lock(mu_);
    stop_requested_ = true;
    cv_.notify_all();
  }
  cache_.set_progress_listener(nullptr);  // before the loops it wakes go
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  state_.set_shutdown_hook(nullptr);
  cache_.set_remote_write_observer(nullptr);
  loops_.clear();
  MutexLock lock(mu_);
  running_ = false;
}

}  // namespace geocache
