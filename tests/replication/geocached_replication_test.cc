// Three geocached processes, one region each, replicating through RabbitMQ;
// clients talk to them with hiredis. Every wait polls with a deadline.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each test uses exchange
// and queue names of its own; the broker-outage test starts a private broker.
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "geocached_process.h"
#include "test_broker.h"

namespace geocache {
namespace {

using testing::command_text;
using testing::connect_port;
using testing::GeocachedProcess;
using testing::port_accepts;
using testing::PrivateBroker;
using testing::RedisConnection;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

const std::vector<std::string> kRegions = {"east", "west", "north"};

class GeocachedReplication : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_amqp_url().empty()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
  }

  // Three nodes on `url`, on exchange and queue names of this test's own.
  void start_nodes(const std::string& url, const std::string& name) {
    const std::string base = unique_name(name);
    common_ = {"--amqp-url", url, "--amqp-exchange", base + "x", "--amqp-queue-prefix", base + "q.",
               "--amqp-reconnect-max-ms", "1000", "--amqp-publish-timeout-ms", "2000", "--retry-backoff-ms", "50",
               "--breaker-open-ms", "200", "--breaker-failure-threshold", "3"};
    std::vector<std::string> args = {"--loglevel", "warning"};
    args.insert(args.end(), common_.begin(), common_.end());
    int port = 13000 + static_cast<int>(getpid() % 1000) * 3;  // clear of the brokers' ports
    for (const auto& r : kRegions) {
      while (port_accepts(port)) ++port;
      nodes_[r] = GeocachedProcess::one_region(r, kRegions, args, port++);
      ASSERT_TRUE(nodes_[r]->started()) << "geocached for " << r << " did not answer PING\n" << nodes_[r]->log();
    }
  }
  void restart(const std::string& region) { ASSERT_TRUE(nodes_[region]->restart()) << nodes_[region]->log(); }
  // The client gives up on a reply after 5 s.
  RedisConnection client(const std::string& region) { return connect_port(nodes_.at(region)->port(), 2'000, 5'000); }
  std::optional<std::string> cmd(const std::string& region, const std::vector<std::string>& args) {
    return command_text(client(region).get(), args);
  }
  // Polls `args` on region until it answers `want` (10 s by default).
  bool eventually(const std::string& region, const std::vector<std::string>& args, std::optional<std::string> want,
                  int64_t timeout_ms = 10'000) {
    auto c = client(region);
    return wait_until(timeout_ms, [&] {
      if (!c || c->err) c = client(region);
      return command_text(c.get(), args) == want;
    });
  }

  std::vector<std::string> common_;
  std::map<std::string, std::unique_ptr<GeocachedProcess>> nodes_;
};

TEST_F(GeocachedReplication, WritesInOneRegionBecomeVisibleInTheOthers) {
  start_nodes(test_amqp_url(), "proc-writes");
  auto east = client("east");
  ASSERT_EQ(command_text(east.get(), {"SET", "plain", "v1"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"SET", "doomed", "x"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"SET", "ttl", "t", "PX", "120000"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"SET", "later", "y"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"HSET", "h", "f1", "a", "f2", "b"}), "2");
  const auto json = command_text(east.get(), {"JSON.SET", "doc", "$", R"({"a":1,"b":[true,null]})"});
  for (const char* r : {"west", "north"}) {
    EXPECT_TRUE(eventually(r, {"GET", "plain"}, "v1")) << r;
    EXPECT_TRUE(eventually(r, {"GET", "doomed"}, "x")) << r;
    EXPECT_TRUE(eventually(r, {"HGET", "h", "f2"}, "b")) << r;
    EXPECT_TRUE(eventually(r, {"HLEN", "h"}, "2")) << r;
    EXPECT_TRUE(eventually(r, {"GET", "ttl"}, "t")) << r;
    if (json == "OK") {
      auto here = cmd("east", {"JSON.GET", "doc"});
      EXPECT_TRUE(eventually(r, {"JSON.GET", "doc"}, here)) << r;
    }
  }
  // Delete, expire: both are versioned writes.
  ASSERT_EQ(command_text(east.get(), {"DEL", "doomed"}), "1");
  ASSERT_EQ(command_text(east.get(), {"EXPIRE", "later", "100"}), "1");
  for (const char* r : {"west", "north"}) {
    EXPECT_TRUE(eventually(r, {"EXISTS", "doomed"}, "0")) << r;
    ASSERT_TRUE(wait_until(10'000, [&] {
      auto t = cmd(r, {"TTL", "later"});
      return t && t != "-1" && t != "-2";
    })) << r;
  }
  // TTLs agree: the absolute expiry replicates, so every region counts down
  // to the same instant.
  const int64_t east_pttl = std::stoll(*command_text(east.get(), {"PTTL", "ttl"}));
  for (const char* r : {"west", "north"}) {
    const int64_t pttl = std::stoll(*cmd(r, {"PTTL", "ttl"}));
    EXPECT_NEAR(static_cast<double>(pttl), static_cast<double>(east_pttl), 1000.0) << r;
    EXPECT_EQ(cmd(r, {"TTL", "later"}), command_text(east.get(), {"TTL", "later"})) << r;
  }
  // Writes go both ways.
  ASSERT_EQ(cmd("north", {"SET", "from-north", "n"}), "OK");
  EXPECT_TRUE(eventually("east", {"GET", "from-north"}, "n"));
  EXPECT_TRUE(eventually("west", {"GET", "from-north"}, "n"));
}

TEST_F(GeocachedReplication, ConcurrentConflictingWritesConverge) {
  start_nodes(test_amqp_url(), "proc-conflict");
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      auto c = client(r);
      for (int n = 0; n < 500; ++n) {
        command_text(c.get(), {"SET", "key" + std::to_string(n % 25), r + std::to_string(n)});
      }
    });
  }
  for (auto& w : writers) w.join();
  for (int k = 0; k < 25; ++k) {
    const std::string key = "key" + std::to_string(k);
    EXPECT_TRUE(wait_until(15'000, [&] {
      auto a = cmd("east", {"GET", key});
      return a && cmd("west", {"GET", key}) == a && cmd("north", {"GET", key}) == a;
    })) << key;
  }
}

TEST_F(GeocachedReplication, KilledNodeReceivesWhatWasPublishedWhileDown) {
  start_nodes(test_amqp_url(), "proc-kill");
  nodes_["west"]->kill_now();
  auto east = client("east");
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(command_text(east.get(), {"SET", "k" + std::to_string(i), std::to_string(i)}), "OK");
  }
  EXPECT_TRUE(eventually("north", {"GET", "k499"}, "499"));
  restart("west");  // its durable queue kept what it missed
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(eventually("west", {"GET", "k" + std::to_string(i)}, std::to_string(i), 20'000)) << i;
  }
}

// A private broker goes down in the middle of a write stream and comes back.
// While it is down, local reads and writes go on; afterwards every write that
// was acknowledged (+OK) is visible in the other two regions.
TEST_F(GeocachedReplication, BrokerRestartMidStreamLosesNoAcknowledgedWrite) {
  PrivateBroker broker;
  ASSERT_TRUE(broker.start());
  start_nodes(broker.url(), "proc-restart");
  auto east = client("east");
  int acked = 0;
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (command_text(east.get(), {"SET", "s" + std::to_string(acked), std::to_string(acked)}) == "OK") ++acked;
    }
  };
  write(300);
  ASSERT_TRUE(broker.stop());
  write(300);  // broker down: every write is still acknowledged (the client
               // gives up on a reply after 5 s, so a write stuck on the broker fails)
  EXPECT_EQ(acked, 600);
  // The events wait in east's outbox for the broker.
  const std::string geo = command_text(east.get(), {"INFO", "geo"}).value_or("");
  const size_t at = geo.find("outbox_east:");
  ASSERT_NE(at, std::string::npos) << geo;
  const std::string line = geo.substr(at, geo.find('\n', at) - at);
  EXPECT_NE(line.find("depth_events="), std::string::npos) << line;
  EXPECT_EQ(line.find("depth_events=0,"), std::string::npos) << line;
  EXPECT_EQ(command_text(east.get(), {"GET", "s599"}), "599");  // local reads go on
  EXPECT_EQ(cmd("west", {"SET", "local-w", "1"}), "OK");
  EXPECT_EQ(cmd("west", {"GET", "local-w"}), "1");
  ASSERT_TRUE(broker.start());
  write(300);
  for (const char* r : {"west", "north"}) {
    for (int i = 0; i < acked; ++i) {
      ASSERT_TRUE(eventually(r, {"GET", "s" + std::to_string(i)}, std::to_string(i), 60'000)) << r << " s" << i;
    }
  }
  EXPECT_TRUE(eventually("north", {"GET", "local-w"}, "1", 30'000));
  for (auto& [r, n] : nodes_) n->terminate();
}

}  // namespace
}  // namespace geocache
