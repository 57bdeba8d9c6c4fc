// DelayRelay against small targets of the test's own: an echo server and one
// that accepts and never reads. Timing is asserted as a lower bound only.
#include "relay/delay_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "geocached_process.h"

namespace geocache {
namespace {

using testing::RawSocket;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Listens on a free loopback port; each connection gets a thread that echoes
// what it reads until the peer closes or the target stops (kHoldFirst: the
// first connection is held without reading). Counts the EOFs it sees.
class Target {
 public:
  enum Mode { kEcho, kHoldFirst };
  explicit Target(Mode mode) : mode_(mode) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Target() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : conns_) shutdown(c, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }
  int eofs() const { return eofs_.load(); }
  // Closes every connection accepted so far from the target's side.
  void close_connections() {
    std::lock_guard<std::mutex> lock(mu_);
    for (int c : conns_) shutdown(c, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      conns_.push_back(c);
      const bool hold = mode_ == kHoldFirst && conns_.size() == 1;
      workers_.emplace_back([this, c, hold] { serve(c, hold); });
    }
  }
  void serve(int c, bool hold) {
    if (hold) {
      pollfd p{c, 0, 0};  // only hang-ups
      while (!stopping_ && poll(&p, 1, 50) == 0) {}
      return;
    }
    char buf[65536];
    while (true) {
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n == 0) ++eofs_;
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = send(c, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w <= 0) return;
        off += w;
      }
    }
    shutdown(c, SHUT_WR);
  }

  const Mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> eofs_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> workers_;
};

std::unique_ptr<DelayRelay> start_relay(int target_port, std::chrono::microseconds one_way) {
  DelayRelayOptions options;
  options.target_port = target_port;
  options.one_way = one_way;
  auto relay = std::make_unique<DelayRelay>(options);
  relay->start();
  return relay;
}

// Polls `done` until it holds or 10 s pass.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

TEST(DelayRelay, BytesArriveIntactAndInOrder) {
  Target echo(Target::kEcho);
  auto relay = start_relay(echo.port(), std::chrono::microseconds(2000));
  RawSocket s(relay->port());
  ASSERT_TRUE(s.ok());
  // 4 MiB in pieces of odd sizes: the relay sees many reads, each its own
  // timed chunk, and must deliver them back to back.
  std::string sent;
  for (size_t i = 0; sent.size() < (4u << 20); ++i) sent += std::to_string(i * 7919) + ",";
  std::string received;
  std::thread reader([&] { received = s.read_some(sent.size(), 30'000); });
  for (size_t off = 0, piece = 1; off < sent.size(); off += piece, piece = piece * 3 % 65'521 + 1) {
    ASSERT_TRUE(s.send_all(sent.substr(off, piece)));
  }
  reader.join();
  ASSERT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent) << "bytes changed or reordered";
}

TEST(DelayRelay, AddsTheRoundTrip) {
  Target echo(Target::kEcho);
  const auto one_way = milliseconds(30);
  auto relay = start_relay(echo.port(), one_way);
  RawSocket s(relay->port());
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 5; ++i) {
    const std::string ping = "ping " + std::to_string(i);
    const auto t0 = SteadyClock::now();
    ASSERT_TRUE(s.send_all(ping));
    ASSERT_EQ(s.read_some(ping.size()), ping);
    EXPECT_GE(SteadyClock::now() - t0, 2 * one_way) << "round " << i;
  }
}

TEST(DelayRelay, ClientCloseReachesTheTargetAndBack) {
  Target echo(Target::kEcho);
  auto relay = start_relay(echo.port(), milliseconds(5));
  {
    RawSocket s(relay->port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("x"));
    ASSERT_EQ(s.read_some(1), "x");
  }
  EXPECT_TRUE(eventually([&] { return echo.eofs() == 1; }));
  EXPECT_TRUE(eventually([&] { return relay->open_connections() == 0; }));
}

TEST(DelayRelay, TargetCloseReachesTheClient) {
  Target echo(Target::kEcho);
  auto relay = start_relay(echo.port(), milliseconds(5));
  {
    RawSocket s(relay->port());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s.send_all("x"));
    ASSERT_EQ(s.read_some(1), "x");
    echo.close_connections();
    EXPECT_TRUE(s.closed_by_peer());
    // Half closed, as TCP allows: the client could still send. The relay lets
    // the connection go once the client closes its side too.
    EXPECT_EQ(relay->open_connections(), 1u);
  }
  EXPECT_TRUE(eventually([&] { return relay->open_connections() == 0; }));
}

TEST(DelayRelay, RefusedTargetClosesTheClient) {
  const int dead_port = testing::free_port();
  auto relay = start_relay(dead_port, milliseconds(1));
  RawSocket s(relay->port());
  ASSERT_TRUE(s.ok());  // the relay accepts, then finds nobody behind it
  EXPECT_TRUE(s.closed_by_peer());
}

TEST(DelayRelay, AStalledConnectionDoesNotHoldBackAnother) {
  // The target never reads its first connection and echoes the others.
  Target target(Target::kHoldFirst);
  auto relay = start_relay(target.port(), milliseconds(1));
  RawSocket stalled(relay->port());
  ASSERT_TRUE(stalled.ok());
  std::atomic<size_t> flooded{0};
  std::thread flood([&] {  // blocks once every buffer on the way is full
    const std::string piece(64 << 10, 'z');
    while (stalled.send_all(piece)) flooded += piece.size();
  });
  // The relay's queue for the stalled direction is full: it stopped reading.
  ASSERT_TRUE(eventually([&] { return flooded.load() > DelayRelay::kMaxQueuedBytes; }));
  RawSocket other(relay->port());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other.send_all("still moving"));
  EXPECT_EQ(other.read_some(12), "still moving");
  relay->stop();  // closes everything: the flood's send fails and returns
  flood.join();
}

}  // namespace
}  // namespace geocache
