// The io_uring engine.
//
// Receiving: one multishot receive per client, into a ring of buffers the
// kernel picks from (provided buffers, group 0). Each completion's bytes are
// copied into the connection's input buffer (Connection::on_input) and the
// buffer goes straight back to the ring; requests are small, so the copy
// costs less than the system call per read it saves.
//
// Sending: a connection's replies are not sent as its commands run but
// queued (Connection::defer_output). At the end of the turn the engine takes
// every such connection's bytes (Connection::take_output) and prepares one
// send each; io_uring_submit_and_wait_timeout then submits them all and
// waits for the next completions in one system call. The bytes belong to
// the watch (IoWatch::sending) until the send completes; a short send
// queues the rest for the next turn, ahead of anything newer.
//
// Closing: the client's operations are cancelled (by file descriptor) and
// the watch is released only once each has completed, so no completion ever
// names freed memory; then what is left of its replies is sent without
// waiting, as the epoll engine does.
//
// Wake-ups from other threads: a read of the loop's eventfd, always armed.
// Listeners: a one-shot poll, after which the loop accepts as with epoll,
// armed again after each round of accepts. A multishot poll would report
// only new arrivals: connections past what one round accepts (a reconnect
// storm) would wait for the next client to connect.
//
// The ring is single-issuer with deferred task work (completions are
// processed only when the loop asks for them): created disabled on the
// thread that builds the loop, enabled on the loop's own thread (begin()).
#include <liburing.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "server/io_engine.h"
#include "spdlog/spdlog.h"

namespace geocache {
namespace {

// What an operation is, in the low bits of its user_data (the rest is the
// IoWatch it serves; IoWatch is at least 8-aligned). 0: a cancel, ignored.
enum Op : uint64_t { kRecv = 1, kSend = 2, kListen = 3, kWake = 4 };
constexpr uint64_t kOpMask = 7;

constexpr unsigned kBufCount = 256;       // provided receive buffers per loop, a power of two
constexpr unsigned kBufSize = 16 * 1024;  // bytes each
constexpr int kBufGroup = 0;

uint64_t tag(const void* watch, Op op) { return reinterpret_cast<uint64_t>(watch) | op; }

class UringEngine : public IoEngine {
 public:
  explicit UringEngine(int wake_fd) : wake_fd_(wake_fd) {}

  // The ring and its buffers; false with *why on failure.
  bool init(unsigned entries, std::string* why) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
              IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;  // multishot receives complete many times per submission
    int rc = io_uring_queue_init_params(entries, &ring_, &p);
    if (rc == -EINVAL) {
      // A kernel before 6.1 (no deferred task work): a plain ring.
      p = io_uring_params{};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = entries * 8;
      rc = io_uring_queue_init_params(entries, &ring_, &p);
    }
    if (rc < 0) {
      *why = std::string("io_uring_queue_init: ") + strerror(-rc);
      return false;
    }
    have_ring_ = true;
    disabled_ = (p.flags & IORING_SETUP_R_DISABLED) != 0;
    if (!(p.features & IORING_FEAT_EXT_ARG)) {
      *why = "io_uring without IORING_FEAT_EXT_ARG (kernel before 5.11)";
      return false;
    }
    ring_bytes_ = kBufCount * sizeof(io_uring_buf);
    void* mem = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
      *why = std::string("mmap: ") + strerror(errno);
      return false;
    }
    buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(mem);
    reg.ring_entries = kBufCount;
    reg.bgid = kBufGroup;
    rc = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (rc < 0) {
      *why = std::string("io_uring_register_buf_ring (kernel before 5.19?): ") + strerror(-rc);
      return false;
    }
    buffers_ = std::make_unique<char[]>(size_t{kBufCount} * kBufSize);
    io_uring_buf_ring_init(buf_ring_);
    for (unsigned i = 0; i < kBufCount; ++i) {
      io_uring_buf_ring_add(buf_ring_, buffer(i), kBufSize, static_cast<uint16_t>(i),
                            io_uring_buf_ring_mask(kBufCount), static_cast<int>(i));
    }
    io_uring_buf_ring_advance(buf_ring_, kBufCount);
    return true;
  }

  ~UringEngine() override {
    if (have_ring_) io_uring_queue_exit(&ring_);  // unregisters the buffer ring too
    if (buf_ring_ != nullptr) munmap(buf_ring_, ring_bytes_);
  }

  const char* name() const override { return "uring"; }

  void begin() override {
    // liburing 2.3 declares io_uring_enable_rings() but does not export it.
    if (disabled_) syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    arm_wake();
  }

  void add_listener(IoWatch& listener) override {
    listeners_.push_back(&listener);
    arm_listener(listener);
  }

  bool add_client(IoWatch& client) override {
    client.conn->defer_output();
    arm_recv(client);
    return true;
  }

  void update(IoWatch& client, Connection::Next next) override {
    if (next == Connection::Next::kWrite) send_due(client);
  }

  void remove(IoWatch& client) override {
    if (client.ops == 0) {
      finish(client);
      return;
    }
    ++cancelling_;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel_fd(sqe, client.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, 0);
  }

  size_t releasing() const override { return cancelling_ + finished_.size(); }

  bool poll(int timeout_ms, IoHandler& handler) override {
    release_finished(handler);
    submit_sends();
    __kernel_timespec ts{};
    if (cancelling_ == 0) {
      ts.tv_sec = timeout_ms / 1000;
      ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1'000'000;
    }
    io_uring_cqe* first = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      spdlog::error("io_uring_submit_and_wait_timeout: {}", strerror(-rc));
      return false;
    }
    handle_completions(&handler);
    release_finished(handler);
    return true;
  }

  void end() override {
    // Clients are all released; what is left armed is the wake-up read
    // (which writes into this engine) and the listeners' polls.
    ending_ = true;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(sqe, 0);
    for (int i = 0; i < 100 && wake_armed_; ++i) {
      __kernel_timespec ts{0, 10'000'000};
      io_uring_cqe* first = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &first, 1, &ts, nullptr);
      handle_completions(nullptr);
    }
  }

 private:
  char* buffer(unsigned id) { return buffers_.get() + size_t{id} * kBufSize; }

  io_uring_sqe* get_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      io_uring_submit(&ring_);  // the queue is full: hand it over and go on
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  void arm_wake() {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
    io_uring_sqe_set_data64(sqe, tag(&wake_value_, kWake));
    wake_armed_ = true;
  }

  void arm_listener(IoWatch& listener) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_poll_add(sqe, listener.fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(&listener, kListen));
  }

  void arm_recv(IoWatch& client) {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_recv_multishot(sqe, client.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufGroup;
    io_uring_sqe_set_data64(sqe, tag(&client, kRecv));
    client.receiving = true;
    ++client.ops;
  }

  void send_due(IoWatch& client) {
    if (client.send_due) return;
    client.send_due = true;
    due_.push_back(&client);
  }

  // One send per client with replies, all submitted by the coming wait.
  void submit_sends() {
    for (IoWatch* w : due_) {
      w->send_due = false;
      if (w->closing || w->send_in_flight) continue;  // the completion sends the rest
      if (w->sending_pos == w->sending.size()) {
        w->sending.clear();
        w->sending_pos = 0;
        if (!w->conn->take_output(&w->sending)) continue;
      }
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_send(sqe, w->fd, w->sending.data() + w->sending_pos, w->sending.size() - w->sending_pos,
                         MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, tag(w, kSend));
      w->send_in_flight = true;
      ++w->ops;
    }
    due_.clear();
  }

  void handle_completions(IoHandler* handler) {
    constexpr unsigned kBatch = 256;
    io_uring_cqe* cqes[kBatch];
    struct Done {
      uint64_t data;
      int32_t res;
      uint32_t flags;
    } done[kBatch];
    for (;;) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kBatch);
      if (n == 0) return;
      // Copied out and consumed first: handling may submit, and a full
      // completion queue must not hold that up.
      for (unsigned i = 0; i < n; ++i) done[i] = Done{cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
      io_uring_cq_advance(&ring_, n);
      for (unsigned i = 0; i < n; ++i) dispatch(done[i].data, done[i].res, done[i].flags, handler);
    }
  }

  void dispatch(uint64_t data, int res, uint32_t flags, IoHandler* handler) {
    if (data == 0) return;  // a cancel's own completion
    void* target = reinterpret_cast<void*>(data & ~kOpMask);
    switch (static_cast<Op>(data & kOpMask)) {
      case kWake:
        wake_armed_ = false;
        if (ending_) return;
        arm_wake();
        if (handler != nullptr) handler->on_wake();
        return;
      case kListen: {
        auto* listener = static_cast<IoWatch*>(target);
        if (ending_) return;
        if (handler != nullptr && res >= 0) handler->on_listener(*listener);
        // Ready again at once if the round left connections waiting.
        arm_listener(*listener);
        return;
      }
      case kRecv:
        on_received(*static_cast<IoWatch*>(target), res, flags, *handler);
        return;
      case kSend:
        on_sent(*static_cast<IoWatch*>(target), res, *handler);
        return;
    }
  }

  void on_received(IoWatch& w, int res, uint32_t flags, IoHandler& handler) {
    if (!(flags & IORING_CQE_F_MORE)) {
      w.receiving = false;
      --w.ops;
    }
    Connection::Next next = Connection::Next::kClose;  // end of input or an error
    if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
      const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
      if (!w.closing) next = w.conn->on_input(buffer(id), static_cast<size_t>(res), handler.now_ms());
      io_uring_buf_ring_add(buf_ring_, buffer(id), kBufSize, static_cast<uint16_t>(id),
                            io_uring_buf_ring_mask(kBufCount), 0);
      io_uring_buf_ring_advance(buf_ring_, 1);
    } else if (res == -ENOBUFS) {
      next = Connection::Next::kRead;  // every buffer was in use: armed again below
    }
    if (w.closing) {
      if (w.ops == 0) finished(w);
      return;
    }
    if (next != Connection::Next::kClose && !w.receiving) arm_recv(w);
    handler.on_client(w, next);
  }

  void on_sent(IoWatch& w, int res, IoHandler& handler) {
    --w.ops;
    w.send_in_flight = false;
    if (res > 0) {
      w.sending_pos += static_cast<size_t>(res);
      w.conn->on_sent(static_cast<size_t>(res));
    }
    if (w.closing) {
      if (w.ops == 0) finished(w);
      return;
    }
    if (res < 0) {
      handler.on_client(w, Connection::Next::kClose);  // the peer is gone
      return;
    }
    if (w.sending_pos < w.sending.size()) {
      send_due(w);  // a short send: the rest goes first next turn
      return;
    }
    handler.on_client(w, w.conn->on_writable());
  }

  // A closing client's last operation completed.
  void finished(IoWatch& w) {
    --cancelling_;
    finish(w);
  }

  // Sends what is left without waiting, then hands the watch back.
  void finish(IoWatch& w) {
    while (w.sending_pos < w.sending.size()) {
      ssize_t n = ::send(w.fd, w.sending.data() + w.sending_pos, w.sending.size() - w.sending_pos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      w.sending_pos += static_cast<size_t>(n);
    }
    w.conn->flush_best_effort();
    if (w.send_due) due_.erase(std::find(due_.begin(), due_.end(), &w));
    finished_.push_back(&w);
  }

  void release_finished(IoHandler& handler) {
    std::vector<IoWatch*> finished;
    finished.swap(finished_);
    for (IoWatch* w : finished) handler.release(*w);
  }

  io_uring ring_{};
  bool have_ring_ = false;
  bool disabled_ = false;  // created disabled: begin() enables it on the loop's thread
  const int wake_fd_;
  uint64_t wake_value_ = 0;
  bool wake_armed_ = false;
  bool ending_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t ring_bytes_ = 0;
  std::unique_ptr<char[]> buffers_;
  std::vector<IoWatch*> listeners_;
  std::vector<IoWatch*> due_;       // clients with replies to send this turn
  size_t cancelling_ = 0;           // removed clients with operations in flight
  std::vector<IoWatch*> finished_;  // removed clients to release
};

}  // namespace

std::unique_ptr<IoEngine> make_uring_engine(int wake_fd, unsigned entries, std::string* why) {
  auto engine = std::make_unique<UringEngine>(wake_fd);
  if (!engine->init(entries, why)) return nullptr;
  return engine;
}

}  // namespace geocache
