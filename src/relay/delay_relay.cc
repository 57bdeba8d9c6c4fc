#include "relay/delay_relay.h"

#include <asio.hpp>

#include <atomic>
#include <deque>
#include <list>
#include <thread>

namespace geocache {
namespace {

using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadBytes = 64 << 10;

class Session;

// One direction of a connection: reads from `from`, writes to `to` what it
// read one_way earlier. A chunk with eof set is the end of the direction.
class Pipe {
 public:
  Pipe(Session* session, tcp::socket& from, tcp::socket& to, SteadyClock::duration delay)
      : session_(session), from_(from), to_(to), timer_(from.get_executor()), delay_(delay) {}

  void start() { read(); }
  void cancel() { timer_.cancel(); }
  bool ended() const { return ended_; }

 private:
  struct Chunk {
    SteadyClock::time_point due;
    std::string bytes;
    bool eof = false;
  };
  void read();
  // Starts the timer or the write for the front chunk unless one runs.
  void pump();

  Session* session_;  // owns this pipe
  tcp::socket& from_;
  tcp::socket& to_;
  asio::steady_timer timer_;
  const SteadyClock::duration delay_;
  std::deque<Chunk> queue_;
  size_t queued_bytes_ = 0;
  std::vector<char> buffer_ = std::vector<char>(kReadBytes);
  bool reading_ = false;  // a read is outstanding
  bool busy_ = false;     // the timer or a write is outstanding
  bool read_eof_ = false;
  bool ended_ = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket client, SteadyClock::duration delay, std::atomic<uint64_t>* open)
      : client_(std::move(client)),
        target_(client_.get_executor()),
        up_(this, client_, target_, delay),
        down_(this, target_, client_, delay),
        open_(open) {
    open_->fetch_add(1);
  }
  ~Session() { open_->fetch_sub(1); }

  void connect(const tcp::endpoint& target) {
    target_.async_connect(target, [self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->closed_) return self->close();
      asio::error_code ignored;
      // Nagle would hold small replies back for the peer's delayed ACK.
      self->client_.set_option(tcp::no_delay(true), ignored);
      self->target_.set_option(tcp::no_delay(true), ignored);
      self->up_.start();
      self->down_.start();
    });
  }
  // Both directions ended: nothing is left to relay.
  void direction_ended() {
    if (up_.ended() && down_.ended()) close();
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    client_.close(ignored);
    target_.close(ignored);
    up_.cancel();
    down_.cancel();
  }
  bool closed() const { return closed_; }
  std::shared_ptr<Session> self() { return shared_from_this(); }

 private:
  tcp::socket client_;
  tcp::socket target_;
  Pipe up_;    // client -> target
  Pipe down_;  // target -> client
  std::atomic<uint64_t>* open_;
  bool closed_ = false;
};

void Pipe::read() {
  if (reading_ || read_eof_ || session_->closed() || queued_bytes_ >= DelayRelay::kMaxQueuedBytes) return;
  reading_ = true;
  from_.async_read_some(asio::buffer(buffer_), [this, self = session_->self()](const asio::error_code& ec, size_t n) {
    reading_ = false;
    if (session_->closed()) return;
    const auto due = SteadyClock::now() + delay_;
    if (ec == asio::error::eof) {
      read_eof_ = true;
      queue_.push_back({due, {}, true});
    } else if (ec) {
      return session_->close();  // a reset: nothing more can be delivered in order
    } else {
      queue_.push_back({due, std::string(buffer_.data(), n), false});
      queued_bytes_ += n;
    }
    pump();
    read();
  });
}

void Pipe::pump() {
  if (busy_ || queue_.empty() || session_->closed()) return;
  Chunk& front = queue_.front();
  busy_ = true;
  if (SteadyClock::now() < front.due) {
    timer_.expires_at(front.due);
    timer_.async_wait([this, self = session_->self()](const asio::error_code& ec) {
      busy_ = false;
      if (!ec) pump();
    });
    return;
  }
  if (front.eof) {
    busy_ = false;
    queue_.pop_front();
    ended_ = true;
    asio::error_code ignored;
    to_.shutdown(tcp::socket::shutdown_send, ignored);
    return session_->direction_ended();
  }
  asio::async_write(to_, asio::buffer(front.bytes), [this, self = session_->self()](const asio::error_code& ec, size_t) {
    busy_ = false;
    if (ec || session_->closed()) return session_->close();
    queued_bytes_ -= queue_.front().bytes.size();
    queue_.pop_front();
    pump();
    read();  // resumes a read held back by a full queue
  });
}

}  // namespace

struct DelayRelay::Impl {
  explicit Impl(DelayRelayOptions o) : options(std::move(o)), acceptor(io) {}

  void accept() {
    acceptor.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        accepted.fetch_add(1);
        auto session = std::make_shared<Session>(std::move(socket), options.one_way, &open);
        sessions.remove_if([](const std::weak_ptr<Session>& s) { return s.expired(); });
        sessions.push_back(session);
        session->connect(target);
      }
      accept();
    });
  }

  const DelayRelayOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  tcp::endpoint target;
  std::list<std::weak_ptr<Session>> sessions;  // the io thread's only
  std::thread thread;
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> open{0};
  int port = 0;
};

DelayRelay::DelayRelay(DelayRelayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

DelayRelay::~DelayRelay() { stop(); }

void DelayRelay::start() {
  Impl& d = *impl_;
  if (d.thread.joinable()) return;
  tcp::resolver resolver(d.io);
  d.target = *resolver.resolve(d.options.target_host, std::to_string(d.options.target_port)).begin();
  const tcp::endpoint listen(asio::ip::make_address(d.options.listen_host),
                             static_cast<uint16_t>(d.options.listen_port));
  d.acceptor.open(listen.protocol());
  d.acceptor.set_option(tcp::acceptor::reuse_address(true));
  d.acceptor.bind(listen);
  d.acceptor.listen();
  d.port = d.acceptor.local_endpoint().port();
  d.accept();
  d.thread = std::thread([&d] { d.io.run(); });
}

void DelayRelay::stop() {
  Impl& d = *impl_;
  if (!d.thread.joinable()) return;
  // Closing everything leaves the io_context no work: run() returns once the
  // cancelled handlers have run.
  asio::post(d.io, [&d] {
    asio::error_code ignored;
    d.acceptor.close(ignored);
    for (auto& weak : d.sessions) {
      if (auto s = weak.lock()) s->close();
    }
    d.sessions.clear();
  });
  d.thread.join();
}

int DelayRelay::port() const { return impl_->port; }
uint64_t DelayRelay::accepted() const { return impl_->accepted.load(); }
uint64_t DelayRelay::open_connections() const { return impl_->open.load(); }

}  // namespace geocache
