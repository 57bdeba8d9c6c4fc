// Three geocached processes, one region each, replicating through RabbitMQ;
// clients talk to them with hiredis. Every wait polls with a deadline.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each test uses exchange
// and queue names of its own; the broker-outage test starts a private broker.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_broker.h"

namespace geocache {
namespace {

using testing::PrivateBroker;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

const std::vector<std::string> kRegions = {"east", "west", "north"};

bool port_free(int port) {
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeval{0, 200'000});
  const bool free = c == nullptr || c->err != 0;
  if (c) redisFree(c);
  return free;
}

// One hiredis connection; commands return the reply as text (or nullopt).
class Client {
 public:
  explicit Client(int port) : ctx_(redisConnectWithTimeout("127.0.0.1", port, timeval{2, 0})) {
    if (ctx_ && ctx_->err == 0) redisSetTimeout(ctx_, timeval{5, 0});
  }
  ~Client() {
    if (ctx_) redisFree(ctx_);
  }
  bool ok() const { return ctx_ && ctx_->err == 0; }

  // Strings and statuses as text, integers in decimal, nil as nullopt.
  std::optional<std::string> cmd(std::vector<std::string> args) {
    if (!ok()) return std::nullopt;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!r) return std::nullopt;
    std::optional<std::string> out;
    switch (r->type) {
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS: out = std::string(r->str, r->len); break;
      case REDIS_REPLY_ERROR: out = "ERR:" + std::string(r->str, r->len); break;
      case REDIS_REPLY_INTEGER: out = std::to_string(r->integer); break;
      default: break;
    }
    freeReplyObject(r);
    return out;
  }

 private:
  redisContext* ctx_;
};

// A geocached process serving one region.
class Node {
 public:
  Node(std::string region, int port, std::vector<std::string> extra)
      : region_(std::move(region)), port_(port), extra_(std::move(extra)) {}
  ~Node() { kill_now(); }

  bool start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<std::string> args = {GEOCACHED_PATH, "--port", std::to_string(port_), "--region", region_,
                                       "--regions", "east,west,north", "--loglevel", "warning"};
      args.insert(args.end(), extra_.begin(), extra_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(GEOCACHED_PATH, argv.data());
      _exit(127);
    }
    return wait_until(20'000, [&] {
      Client c(port_);
      return c.cmd({"PING"}) == "PONG";
    });
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void terminate() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  const std::string& region() const { return region_; }

 private:
  std::string region_;
  int port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

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
    int port = 13000 + static_cast<int>(getpid() % 1000) * 3;  // clear of the brokers' ports
    for (const auto& r : kRegions) {
      while (!port_free(port)) ++port;
      nodes_[r] = std::make_unique<Node>(r, port++, common_);
      ASSERT_TRUE(nodes_[r]->start()) << "geocached for " << r << " did not answer PING";
    }
  }
  void restart(const std::string& region) {
    const int port = nodes_[region]->port();
    nodes_[region] = std::make_unique<Node>(region, port, common_);
    ASSERT_TRUE(nodes_[region]->start());
  }
  std::unique_ptr<Client> client(const std::string& region) {
    return std::make_unique<Client>(nodes_[region]->port());
  }
  // Polls `args` on region until it answers `want` (10 s by default).
  bool eventually(const std::string& region, const std::vector<std::string>& args, std::optional<std::string> want,
                  int64_t timeout_ms = 10'000) {
    auto c = client(region);
    return wait_until(timeout_ms, [&] {
      if (!c->ok()) c = client(region);
      return c->cmd(args) == want;
    });
  }

  std::vector<std::string> common_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;
};

TEST_F(GeocachedReplication, WritesInOneRegionBecomeVisibleInTheOthers) {
  start_nodes(test_amqp_url(), "proc-writes");
  auto east = client("east");
  ASSERT_EQ(east->cmd({"SET", "plain", "v1"}), "OK");
  ASSERT_EQ(east->cmd({"SET", "doomed", "x"}), "OK");
  ASSERT_EQ(east->cmd({"SET", "ttl", "t", "PX", "120000"}), "OK");
  ASSERT_EQ(east->cmd({"SET", "later", "y"}), "OK");
  ASSERT_EQ(east->cmd({"HSET", "h", "f1", "a", "f2", "b"}), "2");
  const auto json = east->cmd({"JSON.SET", "doc", "$", R"({"a":1,"b":[true,null]})"});
  for (const char* r : {"west", "north"}) {
    EXPECT_TRUE(eventually(r, {"GET", "plain"}, "v1")) << r;
    EXPECT_TRUE(eventually(r, {"GET", "doomed"}, "x")) << r;
    EXPECT_TRUE(eventually(r, {"HGET", "h", "f2"}, "b")) << r;
    EXPECT_TRUE(eventually(r, {"HLEN", "h"}, "2")) << r;
    EXPECT_TRUE(eventually(r, {"GET", "ttl"}, "t")) << r;
    if (json == "OK") {
      auto here = client("east")->cmd({"JSON.GET", "doc"});
      EXPECT_TRUE(eventually(r, {"JSON.GET", "doc"}, here)) << r;
    }
  }
  // Delete, expire: both are versioned writes.
  ASSERT_EQ(east->cmd({"DEL", "doomed"}), "1");
  ASSERT_EQ(east->cmd({"EXPIRE", "later", "100"}), "1");
  for (const char* r : {"west", "north"}) {
    EXPECT_TRUE(eventually(r, {"EXISTS", "doomed"}, "0")) << r;
    ASSERT_TRUE(wait_until(10'000, [&] {
      auto t = client(r)->cmd({"TTL", "later"});
      return t && t != "-1" && t != "-2";
    })) << r;
  }
  // TTLs agree: the absolute expiry replicates, so every region counts down
  // to the same instant.
  const int64_t east_pttl = std::stoll(*east->cmd({"PTTL", "ttl"}));
  for (const char* r : {"west", "north"}) {
    const int64_t pttl = std::stoll(*client(r)->cmd({"PTTL", "ttl"}));
    EXPECT_NEAR(static_cast<double>(pttl), static_cast<double>(east_pttl), 1000.0) << r;
    EXPECT_EQ(client(r)->cmd({"TTL", "later"}), east->cmd({"TTL", "later"})) << r;
  }
  // Writes go both ways.
  ASSERT_EQ(client("north")->cmd({"SET", "from-north", "n"}), "OK");
  EXPECT_TRUE(eventually("east", {"GET", "from-north"}, "n"));
  EXPECT_TRUE(eventually("west", {"GET", "from-north"}, "n"));
}

TEST_F(GeocachedReplication, ConcurrentConflictingWritesConverge) {
  start_nodes(test_amqp_url(), "proc-conflict");
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      auto c = client(r);
      for (int n = 0; n < 500; ++n) c->cmd({"SET", "key" + std::to_string(n % 25), r + std::to_string(n)});
    });
  }
  for (auto& w : writers) w.join();
  for (int k = 0; k < 25; ++k) {
    const std::string key = "key" + std::to_string(k);
    EXPECT_TRUE(wait_until(15'000, [&] {
      auto a = client("east")->cmd({"GET", key});
      return a && client("west")->cmd({"GET", key}) == a && client("north")->cmd({"GET", key}) == a;
    })) << key;
  }
}

TEST_F(GeocachedReplication, KilledNodeReceivesWhatWasPublishedWhileDown) {
  start_nodes(test_amqp_url(), "proc-kill");
  nodes_["west"]->kill_now();
  auto east = client("east");
  for (int i = 0; i < 500; ++i) ASSERT_EQ(east->cmd({"SET", "k" + std::to_string(i), std::to_string(i)}), "OK");
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
      if (east->cmd({"SET", "s" + std::to_string(acked), std::to_string(acked)}) == "OK") ++acked;
    }
  };
  write(300);
  ASSERT_TRUE(broker.stop());
  write(300);  // broker down: every write is still acknowledged (the client
               // gives up on a reply after 5 s, so a write stuck on the broker fails)
  EXPECT_EQ(acked, 600);
  // The events wait in east's outbox for the broker.
  const std::string geo = east->cmd({"INFO", "geo"}).value_or("");
  const size_t at = geo.find("outbox_east:");
  ASSERT_NE(at, std::string::npos) << geo;
  const std::string line = geo.substr(at, geo.find('\n', at) - at);
  EXPECT_NE(line.find("depth_events="), std::string::npos) << line;
  EXPECT_EQ(line.find("depth_events=0,"), std::string::npos) << line;
  EXPECT_EQ(east->cmd({"GET", "s599"}), "599");  // local reads go on
  EXPECT_EQ(client("west")->cmd({"SET", "local-w", "1"}), "OK");
  EXPECT_EQ(client("west")->cmd({"GET", "local-w"}), "1");
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
