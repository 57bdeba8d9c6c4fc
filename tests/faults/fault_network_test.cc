// FaultNetwork: regions reach the hub's address until their link is cut,
// and nothing of a network outlives it, not even when its process is killed.
#include "fault_network.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "geocached_process.h"
#include "netns.h"

namespace geocache::testing {
namespace {

class FaultNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = FaultNetwork::unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << "fault harness: " << why;
  }
};

// A TCP listener on the hub's address, made inside the hub namespace.
int listen_in(const std::string& ns, int port) {
  NetnsScope in(ns);
  if (!in.ok()) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, FaultNetwork::kHubAddress, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether a connection from namespace ns to the hub's address succeeds.
bool reaches_hub(const std::string& ns, int port) {
  NetnsScope in(ns);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, FaultNetwork::kHubAddress, &a.sin_addr);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

bool netns_exists_with_prefix(const std::string& prefix) {
  std::string out;
  run_program({"ip", "netns", "list"}, &out);
  return out.find(prefix) != std::string::npos;
}

bool wait_for(int64_t timeout_ms, const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST_F(FaultNetworkTest, ACutLinkIsolatesItsRegionUntilHealed) {
  FaultNetwork net({"east", "west"});
  ASSERT_TRUE(net.ok()) << net.error();
  const int listener = listen_in(net.hub(), 7000);
  ASSERT_GE(listener, 0);
  EXPECT_TRUE(reaches_hub(net.netns("east"), 7000));
  EXPECT_TRUE(reaches_hub(net.netns("west"), 7000));

  ASSERT_TRUE(net.cut("east"));
  EXPECT_TRUE(net.is_cut("east"));
  EXPECT_FALSE(reaches_hub(net.netns("east"), 7000));
  EXPECT_TRUE(reaches_hub(net.netns("west"), 7000));

  ASSERT_TRUE(net.heal("east"));
  EXPECT_TRUE(reaches_hub(net.netns("east"), 7000));
  close(listener);
}

TEST_F(FaultNetworkTest, NamesAreUniquePerInstance) {
  FaultNetwork a({"east"});
  FaultNetwork b({"east"});
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  EXPECT_NE(a.netns("east"), b.netns("east"));
  EXPECT_NE(a.hub(), b.hub());
}

TEST_F(FaultNetworkTest, TeardownKillsWhatRunsInsideAndDeletesTheNamespaces) {
  std::string prefix;
  pid_t child = -1;
  {
    FaultNetwork net({"east"});
    ASSERT_TRUE(net.ok()) << net.error();
    prefix = net.prefix();
    const int fd = open_netns(net.netns("east"));
    ASSERT_GE(fd, 0);
    child = fork();
    if (child == 0) {
      setns(fd, CLONE_NEWNET);
      execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fd);
    ASSERT_TRUE(wait_for(5'000, [&] {
      std::string out;
      run_program({"ip", "netns", "pids", net.netns("east")}, &out);
      return out.find(std::to_string(child)) != std::string::npos;
    }));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(netns_exists_with_prefix(prefix));
}

// A test killed by a timeout runs no destructor: the watchdog cleans up.
TEST_F(FaultNetworkTest, TheWatchdogCleansUpAfterAKilledProcess) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    FaultNetwork net({"east"});
    const std::string line = (net.ok() ? net.prefix() : "FAILED " + net.error()) + "\n";
    (void)!write(pipe_fds[1], line.data(), line.size());
    pause();  // until SIGKILL
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string prefix;
  char c;
  while (read(pipe_fds[0], &c, 1) == 1 && c != '\n') prefix += c;
  close(pipe_fds[0]);
  ASSERT_FALSE(prefix.empty());
  ASSERT_EQ(prefix.rfind("FAILED", 0), std::string::npos) << prefix;
  ASSERT_TRUE(netns_exists_with_prefix(prefix));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(wait_for(20'000, [&] { return !netns_exists_with_prefix(prefix); }));
}

}  // namespace
}  // namespace geocache::testing
