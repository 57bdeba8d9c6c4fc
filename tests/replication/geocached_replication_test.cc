// Three geocached processes, one region each, replicating through RabbitMQ;
// clients talk to them with hiredis. Every wait polls with a deadline.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each test uses exchange
// and queue names of its own; the broker-outage test starts a private broker.
// With GEOCACHE_TEST_FEDERATION the others run with one broker per region,
// the brokers federated (test_broker.h).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
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
using testing::steady_now_ms;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

const std::vector<std::string> kRegions = {"east", "west", "north"};

class GeocachedReplication : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_amqp_url().empty()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
  }

  // Three nodes on `url` (the shared broker: each on its region's broker
  // when they are federated), on exchange and queue names of this test's own.
  void start_nodes(const std::string& url, const std::string& name) {
    const std::string base = unique_name(name);
    common_ = {"--amqp-exchange", base + "x", "--amqp-queue-prefix", base + "q.", "--amqp-reconnect-max-ms", "1000",
               "--amqp-publish-timeout-ms", "2000", "--retry-backoff-ms", "50", "--breaker-open-ms", "200",
               "--breaker-failure-threshold", "3"};
    int port = 13000 + static_cast<int>(getpid() % 1000) * 3;  // clear of the brokers' ports
    for (const auto& r : kRegions) {
      const testing::RegionBroker broker =
          url == test_amqp_url() ? testing::test_broker_for(r) : testing::RegionBroker{url, ""};
      std::vector<std::string> args = {"--loglevel", "warning", "--amqp-url", broker.url};
      args.insert(args.end(), common_.begin(), common_.end());
      while (port_accepts(port)) ++port;
      nodes_[r] = GeocachedProcess::one_region(r, kRegions, args, port++, {broker.netns, {}});
      ASSERT_TRUE(nodes_[r]->started()) << "geocached for " << r << " did not answer PING\n" << nodes_[r]->log();
    }
    if (url == test_amqp_url()) {
      ASSERT_TRUE(testing::await_test_federation(base + "x"));
    }
  }
  void restart(const std::string& region) { ASSERT_TRUE(nodes_[region]->restart()) << nodes_[region]->log(); }
  // The client gives up on a reply after 5 s.
  RedisConnection client(const std::string& region) {
    return connect_port(nodes_.at(region)->port(), 2'000, 5'000, nodes_.at(region)->netns());
  }
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

  // A field of region's INFO geo, or "" if absent.
  std::string info_geo(const std::string& region, const std::string& field) {
    const std::string info = cmd(region, {"INFO", "geo"}).value_or("");
    const size_t at = info.find("\n" + field + ":");
    if (at == std::string::npos) return "";
    const size_t from = at + field.size() + 2;
    return info.substr(from, info.find_first_of("\r\n", from) - from);
  }
  uint64_t resyncs_completed(const std::string& region) {
    const std::string n = info_geo(region, "resyncs_completed");
    return n.empty() ? 0 : std::stoull(n);
  }
  // Every node has ended its warm-up from the others.
  bool await_warm() {
    return wait_until(30'000, [&] {
      for (const auto& r : kRegions) {
        if (info_geo(r, "warming") != "0") return false;
      }
      return true;
    });
  }
  // Polls region until GET answers each key's value (nullopt: no such key),
  // for at most timeout_ms; returns the first key that does not, or "".
  std::string first_disagreement(const std::string& region,
                                 const std::map<std::string, std::optional<std::string>>& want, int64_t timeout_ms) {
    std::map<std::string, std::optional<std::string>> left = want;
    auto c = client(region);
    wait_until(timeout_ms, [&] {
      for (auto it = left.begin(); it != left.end();) {
        if (!c || c->err) c = client(region);
        if (command_text(c.get(), {"GET", it->first}) == it->second) {
          it = left.erase(it);
        } else {
          ++it;
        }
      }
      return left.empty();
    });
    return left.empty() ? "" : left.begin()->first;
  }

  std::vector<std::string> common_;
  std::map<std::string, std::unique_ptr<GeocachedProcess>> nodes_;
};

// Writes "<region>:<n>" = n on one node from a thread of its own, at most
// per_second writes a second, until stopped; remembers the writes it
// acknowledged.
class Writer {
 public:
  Writer(const std::string& region, const GeocachedProcess& node, int per_second = 500)
      : region_(region),
        port_(node.port()),
        netns_(node.netns()),
        interval_(std::chrono::microseconds(1'000'000 / per_second)) {}
  ~Writer() { stop(); }
  void start() {
    stop_ = false;
    thread_ = std::thread([this] {
      auto c = connect_port(port_, 2'000, 5'000, netns_);
      auto next = std::chrono::steady_clock::now();
      while (!stop_) {
        std::this_thread::sleep_until(next);  // pacing: the offered load, not a wait for anything
        next += interval_;
        const std::string n = std::to_string(next_++);
        if (!c || c->err) c = connect_port(port_, 2'000, 5'000, netns_);
        if (command_text(c.get(), {"SET", region_ + ":" + n, n}) == "OK") {
          std::lock_guard lock(mu_);
          acked_.push_back(n);
        }
      }
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t acked_count() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  // Every acknowledged write as the value GET must answer.
  void expect_all(std::map<std::string, std::optional<std::string>>* want) {
    std::lock_guard lock(mu_);
    for (const auto& n : acked_) (*want)[region_ + ":" + n] = n;
  }

 private:
  const std::string region_;
  const int port_;
  const std::string netns_;
  const std::chrono::microseconds interval_;
  std::atomic<bool> stop_{false};
  int next_ = 0;
  std::mutex mu_;
  std::vector<std::string> acked_;
  std::thread thread_;
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

// Read-your-writes across regions: a client writes in one region, takes the
// token of its write (GEO.TOKEN, pipelined with the write), and reads in
// another region behind GEO.WAIT on that token (pipelined too). Whenever
// GEO.WAIT answers 1 the read returns the write; it must answer 1 here, with
// every link up, well within its bound.
TEST_F(GeocachedReplication, ReadBehindGeoWaitSeesTheWriteOfAnotherRegion) {
  start_nodes(test_amqp_url(), "proc-ryw");
  ASSERT_TRUE(await_warm());
  std::map<std::string, RedisConnection> conns;
  for (const auto& r : kRegions) conns[r] = client(r);
  auto pipeline = [&](const std::string& region, const std::vector<std::vector<std::string>>& commands) {
    redisContext* c = conns.at(region).get();
    for (const auto& args : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return out;
      testing::Reply r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_INTEGER) out.push_back(std::to_string(r->integer));
      else if (r->type == REDIS_REPLY_NIL) out.push_back("(nil)");
      else out.push_back(std::string(r->str, r->len));
    }
    return out;
  };
  constexpr int kChecks = 300;
  int seen = 0;
  for (int i = 0; i < kChecks; ++i) {
    const std::string& home = kRegions[i % 3];
    const std::string& away = kRegions[(i + 1 + i / 3 % 2) % 3];
    const std::string key = "ryw:" + std::to_string(i), value = std::to_string(i);
    auto wrote = pipeline(home, {{"SET", key, value}, {"GEO.TOKEN"}});
    ASSERT_EQ(wrote.size(), 2u);
    ASSERT_EQ(wrote[0], "OK");
    auto read = pipeline(away, {{"GEO.WAIT", wrote[1], "10000"}, {"GET", key}});
    ASSERT_EQ(read.size(), 2u) << "check " << i;
    ASSERT_EQ(read[0], "1") << "check " << i << ": " << away << " did not apply " << home << "'s write in 10 s";
    EXPECT_EQ(read[1], value) << "check " << i << ": " << home << " -> " << away;
    seen += read[1] == value;
  }
  EXPECT_EQ(seen, kChecks);

  // A token no region has reached yet (a sequence ahead of the origin's):
  // GEO.WAIT answers 0 at its deadline, and the commands behind it still run.
  auto token = pipeline("east", {{"GEO.TOKEN"}});
  ASSERT_EQ(token.size(), 1u);
  const std::string ahead = token[0].substr(0, token[0].rfind('-') + 1) + "999999999";
  auto late = pipeline("west", {{"GEO.WAIT", ahead, "200"}, {"PING"}});
  EXPECT_EQ(late, (std::vector<std::string>{"0", "PONG"}));
  // A client gone while parked costs the server nothing.
  {
    auto gone = client("west");
    redisAppendCommand(gone.get(), "GEO.WAIT %s 60000", ahead.c_str());
    int done = 0;
    while (!done) ASSERT_EQ(redisBufferWrite(gone.get(), &done), REDIS_OK);
  }
  EXPECT_EQ(cmd("west", {"PING"}), "PONG");
  EXPECT_EQ(cmd("west", {"GEO.WAIT", "not-a-token", "10"}).value_or("").rfind("ERR:", 0), 0u);
  EXPECT_EQ(cmd("west", {"GEO.WAIT", token[0], "-1"}).value_or("").rfind("ERR:", 0), 0u);
}

// Miss fallback (opt-in): a region that evicted a key (its store is small)
// answers a GET of it from the closest region that still holds it; without
// the option the same GET is a miss. (It does not keep that answer: having
// forgotten the key, it cannot tell that it did not forget a newer write of
// it; a key it never held is kept, geo_cache_test's MissFallbackTest.)
TEST_F(GeocachedReplication, MissFallbackAnswersAnEvictedKeyFromTheClosestRegion) {
  const std::string base = unique_name("proc-miss");
  std::vector<std::string> args = {"--loglevel", "warning", "--amqp-url", test_amqp_url(), "--amqp-exchange",
                                   base + "x", "--amqp-queue-prefix", base + "q.", "--latency",
                                   "small/big=10,small/plain=20,big/plain=20"};
  const std::vector<std::string> regions = {"small", "big", "plain"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), args.begin(), args.end());
    return more;
  };
  auto small = GeocachedProcess::one_region("small", regions, with({"--max-items", "10", "--shards", "1", "--miss-fallback", "yes"}));
  auto big = GeocachedProcess::one_region("big", regions, args);
  auto plain = GeocachedProcess::one_region("plain", regions, with({"--max-items", "10", "--shards", "1"}));
  for (auto* p : {small.get(), big.get(), plain.get()}) ASSERT_TRUE(p->started()) << p->log();
  auto at = [&](GeocachedProcess& p) { return connect_port(p.port(), 2'000, 5'000); };
  auto b = at(*big);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(command_text(b.get(), {"SET", "k" + std::to_string(i), "v" + std::to_string(i)}), "OK");
  // The last write has reached the small stores; k0 went long before.
  auto s = at(*small);
  auto p = at(*plain);
  ASSERT_TRUE(wait_until(10'000, [&] { return command_text(s.get(), {"EXISTS", "k49"}) == "1"; }));
  ASSERT_TRUE(wait_until(10'000, [&] { return command_text(p.get(), {"EXISTS", "k49"}) == "1"; }));
  EXPECT_EQ(command_text(p.get(), {"GET", "k0"}), std::nullopt);  // evicted: a miss
  EXPECT_EQ(command_text(s.get(), {"GET", "k0"}), "v0");          // fetched from big
  EXPECT_EQ(command_text(s.get(), {"GET", "never-written"}), std::nullopt);
  const std::string info = command_text(s.get(), {"INFO", "geo"}).value_or("");
  EXPECT_NE(info.find("miss_fallback_found:1\r\n"), std::string::npos) << info;
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

// Issue 10's bar across processes: 3 regions x 1,000 concurrent INCR, SADD,
// ZADD and HSET each end with every increment and every member everywhere.
TEST_F(GeocachedReplication, ConcurrentIncrementsAndMembersAllArriveEverywhere) {
  start_nodes(test_amqp_url(), "proc-merge");
  constexpr int kOps = 1000;
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      auto c = client(r);
      for (int i = 0; i < kOps; ++i) {
        const std::string member = r + ":" + std::to_string(i);
        EXPECT_TRUE(command_text(c.get(), {"INCR", "counter"}).has_value());
        EXPECT_EQ(command_text(c.get(), {"SADD", "set", member}), "1");
        EXPECT_EQ(command_text(c.get(), {"ZADD", "zset", std::to_string(i), member}), "1");
        EXPECT_EQ(command_text(c.get(), {"HSET", "hash", member, "v"}), "1");
      }
    });
  }
  for (auto& w : writers) w.join();
  const std::string all = std::to_string(3 * kOps);
  for (const auto& r : kRegions) {
    EXPECT_TRUE(eventually(r, {"GET", "counter"}, all, 30'000)) << r << ": " << cmd(r, {"GET", "counter"}).value_or("?");
    EXPECT_TRUE(eventually(r, {"SCARD", "set"}, all)) << r << ": " << cmd(r, {"SCARD", "set"}).value_or("?");
    EXPECT_TRUE(eventually(r, {"ZCARD", "zset"}, all)) << r << ": " << cmd(r, {"ZCARD", "zset"}).value_or("?");
    EXPECT_TRUE(eventually(r, {"HLEN", "hash"}, all)) << r << ": " << cmd(r, {"HLEN", "hash"}).value_or("?");
    EXPECT_EQ(cmd(r, {"ZSCORE", "zset", "north:999"}), "999") << r;
  }
}

// Lists across processes: pushes and pops at once in three regions end in
// one identical list everywhere (the newest writer's, whole: a region whose
// list is not the one a write changed asks the writer for the key), and a
// write made once quiet applies as an op everywhere.
TEST_F(GeocachedReplication, ConcurrentListWritesConvergeToOneList) {
  start_nodes(test_amqp_url(), "proc-list");
  constexpr int kOps = 300;
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      auto c = client(r);
      for (int i = 0; i < kOps; ++i) {
        const std::string element = r + ":" + std::to_string(i);
        EXPECT_TRUE(command_text(c.get(), {i % 2 == 0 ? "LPUSH" : "RPUSH", "list", element}).has_value());
        if (i % 10 == 9) command_text(c.get(), {"RPOP", "list"});
      }
    });
  }
  for (auto& w : writers) w.join();
  auto joined = [&](const std::string& region) {
    auto c = client(region);
    std::string out;
    testing::Reply r = testing::command(c.get(), {"LRANGE", "list", "0", "-1"});
    if (!r || r->type != REDIS_REPLY_ARRAY) return out;
    for (size_t i = 0; i < r->elements; ++i) out += std::string(r->element[i]->str, r->element[i]->len) + ",";
    return out;
  };
  std::string agreed;
  EXPECT_TRUE(wait_until(30'000, [&] {
    agreed = joined("east");
    return !agreed.empty() && joined("west") == agreed && joined("north") == agreed;
  })) << "east: " << joined("east") << "\nwest: " << joined("west") << "\nnorth: " << joined("north");
  EXPECT_TRUE(command_text(client("west").get(), {"LPUSH", "list", "last"}).has_value());
  for (const auto& r : kRegions) EXPECT_TRUE(eventually(r, {"LINDEX", "list", "0"}, "last")) << r;
  for (const auto& r : kRegions) EXPECT_EQ(joined(r), "last," + agreed) << r;
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

// A killed and restarted node warms up from its peers; meanwhile they ask it
// for a snapshot (its new epoch). Answered from its half-warm store, that
// snapshot made them drop every key it wrote before it died.
TEST_F(GeocachedReplication, PeersKeepTheWritesOfANodeKilledAndRestarted) {
  start_nodes(test_amqp_url(), "proc-warm");
  ASSERT_TRUE(await_warm());
  std::map<std::string, std::optional<std::string>> want;
  auto west = client("west");
  for (int i = 0; i < 200; ++i) {
    const std::string key = "west:" + std::to_string(i);
    ASSERT_EQ(command_text(west.get(), {"SET", key, std::to_string(i)}), "OK");
    want[key] = std::to_string(i);
  }
  for (const char* r : {"east", "north"}) ASSERT_EQ(first_disagreement(r, want, 10'000), "") << r;
  const uint64_t east_resyncs = resyncs_completed("east"), north_resyncs = resyncs_completed("north");

  nodes_["west"]->kill_now();
  restart("west");
  // Its first write shows the peers west's new epoch: each asks west for a snapshot.
  ASSERT_EQ(cmd("west", {"SET", "after", "1"}), "OK");
  want["after"] = "1";
  ASSERT_TRUE(wait_until(
      30'000, [&] { return resyncs_completed("east") > east_resyncs && resyncs_completed("north") > north_resyncs; }));
  for (const auto& r : kRegions) EXPECT_EQ(first_disagreement(r, want, 20'000), "") << r;
  EXPECT_TRUE(await_warm());
}

// Kill -9 of one node of three while the others take writes, restart under
// the same writes: every acknowledged write ends in every region. Then again
// with its peers frozen while it comes back, so that it holds nothing yet:
// deletes issued on it reply as for absent keys, and win everywhere.
TEST_F(GeocachedReplication, NodeKilledUnderWritesAndRestartedLosesNothingAndItsDeletesWin) {
  start_nodes(test_amqp_url(), "proc-kill-load");
  ASSERT_TRUE(await_warm());
  std::map<std::string, std::optional<std::string>> want;
  auto west = client("west");
  for (int i = 0; i < 100; ++i) {
    const std::string key = "west-before:" + std::to_string(i);
    ASSERT_EQ(command_text(west.get(), {"SET", key, std::to_string(i)}), "OK");
    want[key] = std::to_string(i);
  }
  for (const char* r : {"east", "north"}) ASSERT_EQ(first_disagreement(r, want, 10'000), "") << r;

  Writer east_writer("east", *nodes_["east"]), north_writer("north", *nodes_["north"]);
  auto write_more = [&](size_t n) {
    const size_t east_n = east_writer.acked_count() + n, north_n = north_writer.acked_count() + n;
    return wait_until(30'000,
                      [&] { return east_writer.acked_count() >= east_n && north_writer.acked_count() >= north_n; });
  };
  auto all_agree = [&](const char* what) {
    const int64_t last_write_ms = steady_now_ms();
    east_writer.expect_all(&want);
    north_writer.expect_all(&want);
    for (const auto& r : kRegions) EXPECT_EQ(first_disagreement(r, want, 30'000), "") << r << " " << what;
    std::cout << "[ figures  ] " << what << ": " << want.size() << " keys agree in all regions "
              << steady_now_ms() - last_write_ms << " ms after the last write\n";
  };

  // 1. Killed and restarted under writes.
  east_writer.start();
  north_writer.start();
  ASSERT_TRUE(write_more(300));
  nodes_["west"]->kill_now();
  ASSERT_TRUE(write_more(300));
  const int64_t restart_ms = steady_now_ms();
  restart("west");
  std::cout << "[ figures  ] west answered PING " << steady_now_ms() - restart_ms << " ms after its restart\n";
  west = client("west");
  for (int i = 0; i < 50; ++i) {
    const std::string key = "west-after:" + std::to_string(i);
    ASSERT_EQ(command_text(west.get(), {"SET", key, std::to_string(i)}), "OK");
    want[key] = std::to_string(i);
  }
  ASSERT_TRUE(write_more(300));
  east_writer.stop();
  north_writer.stop();
  all_agree("kill -9 and restart under writes");
  ASSERT_TRUE(await_warm());

  // 2. Keys west holds; then west dies and comes back while its peers are frozen.
  std::map<std::string, std::optional<std::string>> doomed;
  auto east = client("east");
  for (const char* key : {"doomed-del", "doomed-unlink", "doomed-getdel"}) {
    ASSERT_EQ(command_text(east.get(), {"SET", key, "old"}), "OK");
    doomed[key] = "old";
  }
  ASSERT_EQ(command_text(east.get(), {"JSON.SET", "doomed-json", "$", "{}"}), "OK");
  ASSERT_EQ(first_disagreement("west", doomed, 10'000), "");
  ASSERT_TRUE(eventually("west", {"EXISTS", "doomed-json"}, "1"));
  nodes_["west"]->kill_now();
  nodes_["east"]->pause();
  nodes_["north"]->pause();
  restart("west");
  west = client("west");
  EXPECT_EQ(command_text(west.get(), {"DEL", "doomed-del"}), "0");
  EXPECT_EQ(command_text(west.get(), {"UNLINK", "doomed-unlink"}), "0");
  EXPECT_EQ(command_text(west.get(), {"GETDEL", "doomed-getdel"}), std::nullopt);  // nil
  EXPECT_EQ(command_text(west.get(), {"JSON.DEL", "doomed-json"}), "0");
  for (auto& [key, value] : doomed) value = std::nullopt;
  doomed["doomed-json"] = std::nullopt;
  nodes_["east"]->resume();
  nodes_["north"]->resume();
  // Writes go on while west warms up.
  east_writer.start();
  north_writer.start();
  ASSERT_TRUE(write_more(300));
  east_writer.stop();
  north_writer.stop();
  want.insert(doomed.begin(), doomed.end());
  all_agree("deletes on a node restarted with its peers frozen");
  EXPECT_TRUE(await_warm());
}

}  // namespace
}  // namespace geocache
