// EventLoop. Its engine reports what happened (IoHandler); the loop
// accepts, adopts handed-over sockets, delivers mail, resumes parked
// connections and closes clients, whatever the engine.
//
// Every 100 ms the loop wakes even when idle, to see stop requests and
// (once a second) to close clients idle longer than `timeout`. Both the
// sweep's cadence and idleness are read on the server's clock
// (ServerState::now_ms), the one the sessions' times come from, so a test
// on a ManualClock drives the idle timeout by moving that clock. Not a
// monotonic clock: idleness compares against times CLIENT LIST shows as
// wall time, as Redis does; a step back only delays the sweep.
#include "server/event_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "server/errors.h"
#include "spdlog/spdlog.h"

namespace geocache {

namespace {

std::string format_addr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

bool is_loopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return ss.ss_family == AF_UNIX;
}

// Tells a refused client why, best effort, then closes it.
void refuse(int fd, std::string_view line) {
  std::string msg = "-";
  msg.append(line);
  msg.append("\r\n");
  ssize_t ignored = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)ignored;
  ::close(fd);
}

}  // namespace

int EventLoop::make_wake_fd() { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

EventLoop::EventLoop(GeoCache& cache, ServerState& state, int wake_fd, std::unique_ptr<IoEngine> engine)
    : cache_(cache),
      state_(state),
      counters_(state.add_hot_counters()),
      gate_slot_(cache.gate().add_slot()),
      wake_fd_(wake_fd),
      engine_(std::move(engine)) {}

EventLoop::~EventLoop() {
  engine_.reset();  // before what its operations name
  clients_.clear();
  for (auto& l : listeners_) ::close(l->fd);
  {
    MutexLock lock(pending_mu_);
    for (auto& p : pending_) {
      ::close(p.fd);
      state_.release_slot();
    }
    pending_.clear();
  }
  ::close(wake_fd_);
}

void EventLoop::add_listener(int fd, RegionId region) {
  auto w = std::make_unique<Watch>();
  w->kind = Watch::Kind::kListener;
  w->fd = fd;
  w->region = region;
  engine_->add_listener(*w);
  listeners_.push_back(std::move(w));
}

void EventLoop::wake() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void EventLoop::hand_over(int fd, RegionId region, std::string addr, std::string laddr) {
  {
    MutexLock lock(pending_mu_);
    pending_.push_back(Pending{fd, region, std::move(addr), std::move(laddr)});
  }
  wake();
}

void EventLoop::post(std::shared_ptr<Mailbox> box) {
  {
    MutexLock lock(pending_mu_);
    mail_.push_back(std::move(box));
  }
  wake();
}

void EventLoop::stop() {
  stopping_.store(true);
  wake();
}

void EventLoop::wake_if_parked() {
  if (parked_count_.load(std::memory_order_relaxed) > 0) wake();
}

void EventLoop::on_listener(IoWatch& listener) {
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("accept: {}", strerror(errno));
      return;
    }
    state_.stats().connections_received.fetch_add(1, std::memory_order_relaxed);
    if (!state_.try_reserve_slot()) {
      state_.stats().rejected_connections.fetch_add(1, std::memory_order_relaxed);
      refuse(fd, errors::kMaxClients);
      continue;
    }
    if (state_.config().server.protected_mode && !state_.auth_required() && !is_loopback(peer)) {
      state_.release_slot();
      state_.stats().rejected_connections.fetch_add(1, std::memory_order_relaxed);
      refuse(fd, errors::kDenied);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_storage local{};
    socklen_t llen = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
    Pending p{fd, listener.region, format_addr(peer), format_addr(local)};
    EventLoop* target = peers_.empty() ? this : peers_[next_peer_++ % peers_.size()];
    if (target == this) {
      adopt(std::move(p));
    } else {
      target->hand_over(p.fd, p.region, std::move(p.addr), std::move(p.laddr));
    }
  }
}

void EventLoop::adopt(Pending p) {
  auto w = std::make_unique<Watch>();
  w->kind = Watch::Kind::kClient;
  w->fd = p.fd;
  w->region = p.region;
  w->conn = std::make_unique<Connection>(p.fd, p.region, std::move(p.addr), std::move(p.laddr), cache_, state_,
                                         *counters_, gate_slot_, this, w.get());
  if (!engine_->add_client(*w)) return;  // w's destructor closes the socket and frees the slot
  Watch* key = w.get();
  clients_.emplace(key, std::move(w));
}

void EventLoop::on_wake() {
  take_handed_over();
  take_mail();
}

void EventLoop::take_handed_over() {
  std::vector<Pending> batch;
  {
    MutexLock lock(pending_mu_);
    batch.swap(pending_);
  }
  for (auto& p : batch) adopt(std::move(p));
}

void EventLoop::take_mail() {
  std::vector<std::shared_ptr<Mailbox>> boxes;
  {
    MutexLock lock(pending_mu_);
    boxes.swap(mail_);
  }
  for (const auto& box : boxes) {
    // A closed mailbox's connection is gone (it closes it as it goes, on
    // this thread), so its owner is not looked at.
    // A closing one (its engine finishing its I/O) takes no more.
    if (box->closed()) continue;
    auto* w = static_cast<Watch*>(box->owner());
    if (w->closing) continue;
    follow(w, w->conn->on_mail());
  }
}

void EventLoop::follow(Watch* w, Connection::Next next) {
  if (next == Connection::Next::kClose) {
    close_client(w);
  } else {
    engine_->update(*w, next);
  }
}

void EventLoop::close_client(Watch* w) {
  if (w->closing) return;
  w->closing = true;
  if (parked_.erase(w) != 0) parked_count_.store(parked_.size(), std::memory_order_relaxed);
  engine_->remove(*w);  // release() follows
}

void EventLoop::release(IoWatch& watch) {
  clients_.erase(&watch);  // the Connection closes the socket
}

void EventLoop::note_parked(Watch* w) {
  if (!w->conn->parked() || !parked_.insert(w).second) return;
  parked_count_.store(parked_.size(), std::memory_order_relaxed);
}

void EventLoop::on_client(IoWatch& client, Connection::Next next) {
  follow(&client, next);
  if (next != Connection::Next::kClose) note_parked(&client);
}

void EventLoop::resume_parked(int64_t now_ms) {
  if (parked_.empty()) return;
  // Resuming runs the commands that waited, which may park the connection
  // again: iterate over a copy.
  std::vector<Watch*> parked(parked_.begin(), parked_.end());
  parked_.clear();
  for (Watch* w : parked) {
    Connection::Next next = w->conn->resume(now_ms);
    follow(w, next);
    if (next != Connection::Next::kClose && w->conn->parked()) parked_.insert(w);
  }
  parked_count_.store(parked_.size(), std::memory_order_relaxed);
}

int EventLoop::wait_timeout_ms(int64_t now_ms) const {
  int64_t timeout = 100;
  for (Watch* w : parked_) timeout = std::min(timeout, std::max<int64_t>(0, w->conn->parked_until_ms() - now_ms));
  return static_cast<int>(timeout);
}

void EventLoop::close_idle_clients(int64_t now_ms) {
  int64_t timeout_s = state_.timeout_s.load(std::memory_order_relaxed);
  if (timeout_s <= 0) return;
  std::vector<Watch*> idle;
  for (auto& [w, owned] : clients_) {
    if (w->closing) continue;
    int64_t last = w->conn->session().last_interaction_ms.load(std::memory_order_relaxed);
    if (now_ms - last > timeout_s * 1000) idle.push_back(w);
  }
  for (Watch* w : idle) {
    state_.stats().closed_idle.fetch_add(1, std::memory_order_relaxed);
    close_client(w);
  }
}

void EventLoop::run() {
  engine_->begin();
  int64_t last_sweep = state_.now_ms();
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (!engine_->poll(wait_timeout_ms(state_.now_ms()), *this)) break;
    int64_t now = state_.now_ms();
    // Replication progress wakes the loop (wake_if_parked); deadlines end
    // the wait above.
    resume_parked(now);
    if (now - last_sweep >= 1000) {
      last_sweep = now;
      close_idle_clients(now);
    }
  }
  // Each client sends what it can of its replies as it goes.
  std::vector<Watch*> all;
  for (auto& [w, owned] : clients_) all.push_back(w);
  for (Watch* w : all) close_client(w);
  while (engine_->releasing() > 0) {
    if (!engine_->poll(0, *this)) break;
  }
  engine_->end();
  clients_.clear();
}

}  // namespace geocache
