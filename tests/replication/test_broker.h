// Helpers for replication tests against a real RabbitMQ broker.
//
// test_amqp_url(): the shared broker (env GEOCACHE_TEST_AMQP_URL); tests skip
// when it is unset. PrivateBroker: a broker of the test's own, started and
// stopped with scripts/rabbitmq.sh, for tests that take the broker down.
//
// test_broker_for(region): where a node of the region runs and which broker
// it uses. With GEOCACHE_TEST_FEDERATION set to the DIR of
//   scripts/federation.sh start DIR east west north --exchanges '^geocache\.'
// a node runs in its region's network namespace and talks to its region's
// broker only, the brokers federated (README, "One broker per region");
// else it runs here, on the shared broker.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace geocache::testing {

inline std::string test_amqp_url() {
  const char* url = std::getenv("GEOCACHE_TEST_AMQP_URL");
  return url ? url : "";
}

#define GEOCACHE_REQUIRE_BROKER()                                                              \
  do {                                                                                         \
    if (::geocache::testing::test_amqp_url().empty()) {                                        \
      GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";      \
    }                                                                                          \
  } while (0)

inline std::string test_federation_dir() {
  const char* dir = std::getenv("GEOCACHE_TEST_FEDERATION");
  return dir ? dir : "";
}

// Runs scripts/federation.sh ARGS; whether it succeeded, its stdout (without
// the last newline) in *out.
inline bool federation_script(const std::string& args, std::string* out = nullptr) {
  const std::string cmd = "bash " + std::string(GEOCACHE_SOURCE_DIR) + "/scripts/federation.sh " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string text;
  char buf[256];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  const bool ok = pclose(p) == 0;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (out) *out = text;
  return ok;
}

struct RegionBroker {
  std::string url;    // as the node reaches it
  std::string netns;  // where the node runs and its clients connect; "" = here
};
inline RegionBroker test_broker_for(const std::string& region) {
  const std::string dir = test_federation_dir();
  if (dir.empty()) return {test_amqp_url(), ""};
  RegionBroker b;
  if (!federation_script("url " + dir + " " + region, &b.url) ||
      !federation_script("netns " + dir + " " + region, &b.netns)) {
    ADD_FAILURE() << "GEOCACHE_TEST_FEDERATION=" << dir << ": no broker for region " << region;
  }
  return b;
}

// With GEOCACHE_TEST_FEDERATION: waits until the brokers federate `exchange`
// (each test declares its own; its links start once the nodes declared it).
inline bool await_test_federation(const std::string& exchange) {
  const std::string dir = test_federation_dir();
  return dir.empty() || federation_script("await " + dir + " " + exchange + " --timeout 60");
}

// A name no other test (or earlier run) uses: exchange and queue prefixes.
inline std::string unique_name(const std::string& what) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return "geocache.test." + what + "." + std::to_string(getpid()) + "." + std::to_string(now % 1000000007) + "." +
         std::to_string(counter++) + ".";
}

inline int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Polls pred every 5 ms until it holds or timeout_ms passes.
inline bool wait_until(int64_t timeout_ms, const std::function<bool()>& pred) {
  const int64_t deadline = steady_now_ms() + timeout_ms;
  while (true) {
    if (pred()) return true;
    if (steady_now_ms() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class PrivateBroker {
 public:
  PrivateBroker() {
    // A port derived from the pid; scripts/rabbitmq.sh also uses port+10000
    // (epmd) and port+20000 (distribution). Private brokers take 12000-12699
    // and the shared one of scripts/test.sh 11000-11999, so the three bands
    // of each never meet, and all stay below the kernel's ephemeral ports.
    // GEOCACHE_TEST_PRIVATE_BROKER_PORT pins the port instead, for machines
    // where a band of ports is assigned.
    const char* pinned = std::getenv("GEOCACHE_TEST_PRIVATE_BROKER_PORT");
    port_ = pinned && *pinned ? std::atoi(pinned) : 12000 + static_cast<int>(getpid() % 700);
    dir_ = (std::filesystem::temp_directory_path() / ("geocache-test-broker-" + std::to_string(port_))).string();
  }
  ~PrivateBroker() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PrivateBroker(const PrivateBroker&) = delete;
  PrivateBroker& operator=(const PrivateBroker&) = delete;

  bool start() { return script("start " + dir_ + " " + std::to_string(port_) + " --timeout 90"); }
  bool stop() { return script("stop " + dir_); }
  std::string url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/"; }
  const std::string& dir() const { return dir_; }

 private:
  static bool script(const std::string& args) {
    const std::string cmd = std::string(GEOCACHE_SOURCE_DIR) + "/scripts/rabbitmq.sh " + args + " >/dev/null";
    return std::system(cmd.c_str()) == 0;
  }
  int port_;
  std::string dir_;
};

}  // namespace geocache::testing
