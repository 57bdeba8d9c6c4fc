// The epoll engine. Level-triggered: a readable client is read once per
// wake-up and its complete commands run; if more input remains in the
// kernel, epoll reports it again on the next turn, which keeps one busy
// client from starving the others. EPOLLOUT is asked for only while a
// client has unsent replies.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "server/io_engine.h"
#include "spdlog/spdlog.h"

namespace geocache {
namespace {

class EpollEngine : public IoEngine {
 public:
  explicit EpollEngine(int wake_fd) : wake_fd_(wake_fd) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    watch(wake_fd_, EPOLL_CTL_ADD, EPOLLIN, nullptr);  // nullptr: the wake-up
  }
  ~EpollEngine() override { ::close(epfd_); }

  const char* name() const override { return "epoll"; }

  void add_listener(IoWatch& listener) override { watch(listener.fd, EPOLL_CTL_ADD, EPOLLIN, &listener); }

  bool add_client(IoWatch& client) override {
    if (!watch(client.fd, EPOLL_CTL_ADD, EPOLLIN, &client)) {
      spdlog::warn("epoll_ctl add: {}", strerror(errno));
      return false;
    }
    return true;
  }

  void update(IoWatch& client, Connection::Next next) override {
    const bool want_write = next == Connection::Next::kWrite;
    if (client.want_write == want_write) return;
    client.want_write = want_write;
    watch(client.fd, EPOLL_CTL_MOD, want_write ? (EPOLLIN | EPOLLOUT) : EPOLLIN, &client);
  }

  void remove(IoWatch& client) override {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, client.fd, nullptr);
    client.conn->flush_best_effort();
    removed_.push_back(&client);
  }

  size_t releasing() const override { return removed_.size(); }

  bool poll(int timeout_ms, IoHandler& handler) override {
    release_removed(handler);  // removed between two polls (idle sweep, stop)
    constexpr int kMaxEvents = 256;
    epoll_event events[kMaxEvents];
    int n = epoll_wait(epfd_, events, kMaxEvents, removed_.empty() ? timeout_ms : 0);
    if (n < 0 && errno != EINTR) {
      spdlog::error("epoll_wait: {}", strerror(errno));
      return false;
    }
    for (int i = 0; i < n; ++i) {
      auto* w = static_cast<IoWatch*>(events[i].data.ptr);
      if (w == nullptr) {
        uint64_t count;
        ssize_t ignored = ::read(wake_fd_, &count, sizeof(count));
        (void)ignored;
        handler.on_wake();
      } else if (w->kind == IoWatch::Kind::kListener) {
        handler.on_listener(*w);
      } else if (!w->closing) {
        on_client(*w, events[i].events, handler);
      }
    }
    release_removed(handler);
    return true;
  }

 private:
  bool watch(int fd, int op, uint32_t events, IoWatch* w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    return epoll_ctl(epfd_, op, fd, &ev) == 0;
  }

  void on_client(IoWatch& w, uint32_t events, IoHandler& handler) {
    Connection::Next next = Connection::Next::kRead;
    if (events & EPOLLOUT) next = w.conn->on_writable();
    if (next != Connection::Next::kClose && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
      next = w.conn->on_readable(handler.now_ms());
    }
    handler.on_client(w, next);
  }

  // Removed clients are released after the batch of events: a later event
  // of the batch may name one (EPOLL_CTL_DEL does not take back events
  // already returned); it is skipped as closing.
  void release_removed(IoHandler& handler) {
    std::vector<IoWatch*> removed;
    removed.swap(removed_);
    for (IoWatch* w : removed) handler.release(*w);
  }

  int epfd_ = -1;
  const int wake_fd_;
  std::vector<IoWatch*> removed_;
};

}  // namespace

std::unique_ptr<IoEngine> make_epoll_engine(int wake_fd) { return std::make_unique<EpollEngine>(wake_fd); }

}  // namespace geocache
