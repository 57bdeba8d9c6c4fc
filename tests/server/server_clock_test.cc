// The server reads time from one injected clock (ServerState::clock): uptime,
// TIME, client ages and idle times, and the idle timeout all follow a
// ManualClock, so none of these tests sleeps to let time pass.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "command_fixture.h"
#include "server/event_loop.h"
#include "server/io_engine.h"

namespace geocache::testing {
namespace {

class ServerClockTest : public CommandFixture {};

TEST_F(ServerClockTest, UptimeFollowsTheClock) {
  EXPECT_NE(run({"INFO", "server"}).find("\r\nuptime_in_seconds:0\r\nuptime_in_days:0\r\n"), std::string::npos);
  clock_.advance_ms(90'061'999);  // 1 day, 1 hour, 1 minute, 1.999 seconds
  EXPECT_NE(run({"INFO", "server"}).find("\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n"), std::string::npos);
}

TEST_F(ServerClockTest, TimeRepliesTheClockInSecondsAndMicroseconds) {
  clock_.set_ms(1'700'000'000'123);
  EXPECT_EQ(run({"TIME"}), bulks({"1700000000", "123000"}));
}

TEST_F(ServerClockTest, ClientAgeAndIdleFollowTheClock) {
  ClientSession other;
  other.created_ms = now_ms();
  other.last_interaction_ms.store(now_ms() + 5'000);
  server_.register_client(&other);
  clock_.advance_ms(7'500);
  const std::string list = run({"CLIENT", "LIST"});
  server_.unregister_client(&other);
  // This session: created with the fixture, interacting now.
  EXPECT_NE(list.find("id=" + std::to_string(session_.id) + " "), std::string::npos) << list;
  EXPECT_NE(list.find(" age=7 idle=0 "), std::string::npos) << list;
  // The other one: 7.5 s old, last heard from 2.5 s ago.
  EXPECT_NE(list.find("id=" + std::to_string(other.id) + " "), std::string::npos) << list;
  EXPECT_NE(list.find(" age=7 idle=2 "), std::string::npos) << list;
  EXPECT_NE(run({"CLIENT", "INFO"}).find(" age=7 idle=0 "), std::string::npos);
}

// Waits (real time, bounded) for another thread to catch up; the time the
// test is about moves only through clock_.
template <typename Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class IdleTimeoutTest : public CommandFixture {
 protected:
  IdleTimeoutTest() : CommandFixture(with_timeout(10)) {}
  static Config with_timeout(int64_t seconds) {
    Config c;
    c.server.timeout_s = seconds;
    return c;
  }
};

TEST_F(IdleTimeoutTest, SweepClosesClientsIdlePastTimeoutOnTheServerClock) {
  // Start the server clock at the real time, so a loop that read the system
  // clock instead would see these clients as fresh, not years idle.
  clock_.set_ms(SystemClock::instance()->now_ms());
  const int wake_fd = EventLoop::make_wake_fd();
  EventLoop loop(*cache_, server_, wake_fd, make_epoll_engine(wake_fd));
  std::thread runner([&] { loop.run(); });
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  ASSERT_TRUE(server_.try_reserve_slot());  // what accept does; the connection frees it
  const size_t before = server_.connected_clients();
  loop.hand_over(fds[0], kR1, "peer", "local");
  ASSERT_TRUE(eventually([&] { return server_.connected_clients() == before + 1; }));

  // On the system clock this would take ten real seconds, twice the
  // deadline `eventually` allows.
  clock_.advance_ms(9'000);
  EXPECT_EQ(server_.stats().closed_idle.load(), 0u);
  clock_.advance_ms(2'000);
  EXPECT_TRUE(eventually([&] { return server_.stats().closed_idle.load() == 1; }));
  EXPECT_TRUE(eventually([&] { return server_.connected_clients() == before; }));
  char byte;
  EXPECT_TRUE(eventually([&] { return ::read(fds[1], &byte, 1) == 0; }));  // the server closed its end

  loop.stop();
  runner.join();
  ::close(fds[1]);
}

}  // namespace
}  // namespace geocache::testing
