// Regions between processes: who belongs to the deployment, who is alive,
// and what a dead or doubled region does to the others. Real geocached
// processes (tests/integration/geocached_process.h) on a real broker.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each test uses exchange
// and queue names of its own. Every wait polls with a deadline.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geocached_process.h"
#include "test_broker.h"

namespace geocache {
namespace {

using testing::command;
using testing::command_text;
using testing::connect_port;
using testing::GeocachedProcess;
using testing::RedisConnection;
using testing::Reply;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

class GeocachedMembership : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_amqp_url().empty()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
    const std::string base = unique_name(::testing::UnitTest::GetInstance()->current_test_info()->name());
    common_ = {"--loglevel",
               "warning",
               "--amqp-url",
               test_amqp_url(),
               "--amqp-exchange",
               base + "x",
               "--amqp-queue-prefix",
               base + "q.",
               "--amqp-reconnect-max-ms",
               "1000",
               "--amqp-publish-timeout-ms",
               "2000",
               "--retry-backoff-ms",
               "50",
               "--breaker-open-ms",
               "200",
               "--breaker-failure-threshold",
               "3",
               "--heartbeat-ms",
               "200",
               "--peer-down-ms",
               "2000"};
  }

  // Starts node `name` serving `region`, told of `deployment` (empty: of no
  // other region), with these flags besides the common ones.
  void start(const std::string& name, const std::string& region, const std::vector<std::string>& deployment,
             const std::vector<std::string>& args = {}) {
    std::vector<std::string> all = common_;
    all.insert(all.end(), args.begin(), args.end());
    nodes_[name] = GeocachedProcess::one_region(region, deployment, all);
    ASSERT_TRUE(nodes_[name]->started()) << "geocached " << name << " did not answer PING\n" << nodes_[name]->log();
  }
  RedisConnection client(const std::string& name) { return connect_port(nodes_.at(name)->port(), 2'000, 5'000); }
  std::optional<std::string> cmd(const std::string& name, const std::vector<std::string>& args) {
    return command_text(client(name).get(), args);
  }
  // Polls `args` on node `name` until it answers `want`.
  bool eventually(const std::string& name, const std::vector<std::string>& args, std::optional<std::string> want,
                  int64_t timeout_ms = 15'000) {
    auto c = client(name);
    return wait_until(timeout_ms, [&] {
      if (!c || c->err) c = client(name);
      return command_text(c.get(), args) == want;
    });
  }
  std::string info_geo(const std::string& name) { return cmd(name, {"INFO", "geo"}).value_or(""); }
  // The value of one INFO geo field ("" if absent).
  std::string info_field(const std::string& name, const std::string& field) {
    const std::string text = "\n" + info_geo(name);
    const size_t at = text.find("\n" + field + ":");
    if (at == std::string::npos) return "";
    const size_t from = at + field.size() + 2;
    return text.substr(from, text.find('\r', from) - from);
  }
  bool info_eventually_has(const std::string& name, const std::string& text, int64_t timeout_ms = 15'000) {
    return wait_until(timeout_ms, [&] { return info_geo(name).find(text) != std::string::npos; });
  }

  std::vector<std::string> common_;
  std::map<std::string, std::unique_ptr<GeocachedProcess>> nodes_;
};

// Region ids used to be positions in --regions: here east had id 1 at one
// node and west had it at the other, so each took the other's events for its
// own echo and dropped them.
TEST_F(GeocachedMembership, RegionsListedInDifferentOrdersReplicate) {
  start("east", "east", {"east", "west"});
  start("west", "west", {"west", "east"});
  // One id for east, at both.
  EXPECT_EQ(info_field("west", "region_east").rfind("id=" + info_field("east", "region_id") + ",", 0), 0u)
      << info_geo("west");
  ASSERT_EQ(cmd("east", {"SET", "from-east", "e"}), "OK");
  ASSERT_EQ(cmd("west", {"SET", "from-west", "w"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "from-east"}, "e"));
  EXPECT_TRUE(eventually("east", {"GET", "from-west"}, "w"));
}

// Started with only --region and --amqp-url, a node used to replicate
// nothing (and say nothing).
TEST_F(GeocachedMembership, NodeToldOfNoOtherRegionReplicatesWithOneThatIs) {
  start("east", "east", {});
  start("west", "west", {"east", "west"});
  ASSERT_EQ(cmd("east", {"SET", "from-east", "e"}), "OK");
  ASSERT_EQ(cmd("west", {"SET", "from-west", "w"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "from-east"}, "e"));
  EXPECT_TRUE(eventually("east", {"GET", "from-west"}, "w"));
  // East learned west's name from its hellos.
  EXPECT_TRUE(info_eventually_has("east", "region_west:"));
}

// A region started later is heard by the others without restarting them, and
// catches up with what they wrote before it came (first contact: resync).
TEST_F(GeocachedMembership, RegionJoiningLaterReplicatesBothWays) {
  start("east", "east", {"east", "west"});
  start("west", "west", {"east", "west"});
  ASSERT_EQ(cmd("east", {"SET", "before-north", "1"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "before-north"}, "1"));

  start("north", "north", {});
  ASSERT_EQ(cmd("north", {"SET", "from-north", "n"}), "OK");
  EXPECT_TRUE(eventually("east", {"GET", "from-north"}, "n"));
  EXPECT_TRUE(eventually("west", {"GET", "from-north"}, "n"));
  ASSERT_EQ(cmd("east", {"SET", "after-north", "2"}), "OK");
  EXPECT_TRUE(eventually("north", {"GET", "after-north"}, "2"));
  EXPECT_TRUE(eventually("north", {"GET", "before-north"}, "1"));
  EXPECT_TRUE(info_eventually_has("east", "region_north:"));
  EXPECT_TRUE(info_eventually_has("east", "regions_known:3"));
}

// Every region shows in INFO geo and GEO.REGIONS with what its heartbeats
// tell; a region that stops is shown stale, then down.
TEST_F(GeocachedMembership, HeartbeatsShowEachRegionsStateAndClockOffset) {
  start("east", "east", {"east", "west", "north"});
  start("west", "west", {"east", "west", "north"});
  start("north", "north", {"east", "west", "north"});
  ASSERT_TRUE(wait_until(10'000, [&] {
    const std::string west = info_field("east", "region_west");
    return west.find("state=up") != std::string::npos && west.find("clock_offset_ms=") != std::string::npos;
  })) << info_geo("east");
  EXPECT_EQ(info_field("east", "problems"), "0") << info_geo("east");

  auto c = client("east");
  Reply regions = command(c.get(), {"GEO.REGIONS"});
  ASSERT_TRUE(regions);
  ASSERT_EQ(regions->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(regions->elements, 3u);
  std::map<std::string, std::map<std::string, std::string>> by_name;
  for (size_t i = 0; i < regions->elements; ++i) {
    const redisReply* m = regions->element[i];
    ASSERT_EQ(m->elements % 2, 0u);
    std::map<std::string, std::string> fields;
    for (size_t f = 0; f + 1 < m->elements; f += 2) {
      const redisReply* v = m->element[f + 1];
      fields[m->element[f]->str] = v->type == REDIS_REPLY_INTEGER  ? std::to_string(v->integer)
                                   : v->type == REDIS_REPLY_STRING ? std::string(v->str, v->len)
                                                                   : "nil";
    }
    by_name[fields["name"]] = fields;
  }
  EXPECT_EQ(by_name["east"]["local"], "1");
  EXPECT_EQ(by_name["west"]["local"], "0");
  EXPECT_EQ(by_name["west"]["state"], "up");
  EXPECT_NE(by_name["west"]["clock_offset_ms"], "nil");
  EXPECT_EQ(by_name["west"]["protocol"], by_name["east"]["protocol"]);
  EXPECT_NE(by_name["west"]["instance"], "");
  // Where clients reach each region: its own, and the others' from hellos.
  EXPECT_EQ(by_name["east"]["endpoint"], "127.0.0.1:" + std::to_string(nodes_["east"]->port()));
  EXPECT_EQ(by_name["west"]["endpoint"], "127.0.0.1:" + std::to_string(nodes_["west"]->port()));
  // The lag from each region: known from its hellos' transit before any write.
  EXPECT_NE(info_field("east", "region_west").find("hello_transit_ms="), std::string::npos) << info_geo("east");
  EXPECT_TRUE(by_name["west"].contains("hello_jitter_ms"));
  Reply repl_reply = command(c.get(), {"INFO", "replication"});
  const std::string repl = repl_reply ? std::string(repl_reply->str, repl_reply->len) : "";
  EXPECT_NE(repl.find("name=west,state=up,lag_ms="), std::string::npos) << repl;

  nodes_["west"]->kill_now();
  EXPECT_TRUE(wait_until(15'000, [&] {
    return info_field("east", "region_west").find("state=down") != std::string::npos;
  })) << info_geo("east");

  // Restarted, it is up again as a new process: not a second one, although
  // it reads its predecessor's last hellos from its queue.
  const std::string old_instance = by_name["west"]["instance"];
  ASSERT_TRUE(nodes_["west"]->restart()) << nodes_["west"]->log();
  EXPECT_TRUE(wait_until(15'000, [&] {
    const std::string west = info_field("east", "region_west");
    return west.find("state=up") != std::string::npos && west.find("instance=" + old_instance) == std::string::npos;
  })) << info_geo("east");
  EXPECT_EQ(info_field("west", "problems"), "0") << info_geo("west");
  EXPECT_EQ(info_field("east", "problems"), "0") << info_geo("east");
}

// Two live processes claiming one region split its queue: each misses what
// the other takes. Both, and the other regions, must say so.
TEST_F(GeocachedMembership, SecondProcessServingARegionIsAnErrorInInfo) {
  start("east", "east", {"east", "west"});
  start("west", "west", {"east", "west"});
  start("west-again", "west", {"east", "west"});
  EXPECT_TRUE(info_eventually_has("west", "also served by another live process")) << info_geo("west");
  EXPECT_TRUE(info_eventually_has("west-again", "also served by another live process")) << info_geo("west-again");
  EXPECT_TRUE(info_eventually_has("east", "region west is served by two live processes")) << info_geo("east");
  EXPECT_NE(info_field("east", "problems"), "0");
  EXPECT_NE(nodes_["west"]->log().find("another live process"), std::string::npos);  // logged, as an error
}

// The queue exists with other arguments (here: declared by a node with
// reject-publish, the older default): the broker refuses to declare it
// again. The node replicates through it as it is and shows the problem.
TEST_F(GeocachedMembership, QueueWithOtherArgumentsIsUsedAndShownInInfo) {
  start("west", "west", {"east", "west"}, {"--amqp-queue-overflow", "reject-publish"});
  ASSERT_EQ(nodes_["west"]->terminate(), 0);
  nodes_.erase("west");
  start("west", "west", {"east", "west"});
  start("east", "east", {"east", "west"});
  ASSERT_EQ(cmd("east", {"SET", "k", "v"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "k"}, "v"));
  EXPECT_EQ(info_field("west", "problems"), "1") << info_geo("west");
  EXPECT_NE(info_field("west", "problem_1").find("PRECONDITION_FAILED"), std::string::npos) << info_geo("west");
}

// One region is gone with its queue full. Under reject-publish its full
// queue failed every publish of the others, so they stopped replicating to
// each other too; under drop-head the full queue costs only the dead region,
// which resyncs to equality when it returns.
TEST_F(GeocachedMembership, DeadRegionWithAFullQueueDoesNotStallTheOthers) {
  const std::vector<std::string> deployment = {"east", "west", "north"};
  // Small queues, and chunks and batches well below them.
  const std::vector<std::string> small = {"--amqp-queue-max-bytes", "64kb", "--batch-max-bytes", "4kb",
                                          "--batch-max-events",     "32"};
  for (const auto& r : deployment) start(r, r, deployment, small);
  ASSERT_EQ(cmd("east", {"SET", "warm", "1"}), "OK");
  ASSERT_TRUE(eventually("north", {"GET", "warm"}, "1"));
  nodes_["north"]->kill_now();

  // About 600 KB of writes: ten times north's queue.
  const std::string value(200, 'v');
  auto east = client("east");
  auto west = client("west");
  for (int i = 0; i < 1500; ++i) {
    ASSERT_EQ(command_text(east.get(), {"SET", "e" + std::to_string(i), value + std::to_string(i)}), "OK");
    ASSERT_EQ(command_text(west.get(), {"SET", "w" + std::to_string(i), value + std::to_string(i)}), "OK");
  }
  // The live two converge: each has every write of the other.
  for (int i = 0; i < 1500; i += 1) {
    ASSERT_TRUE(eventually("west", {"GET", "e" + std::to_string(i)}, value + std::to_string(i))) << "e" << i;
    ASSERT_TRUE(eventually("east", {"GET", "w" + std::to_string(i)}, value + std::to_string(i))) << "w" << i;
  }
  ASSERT_TRUE(nodes_["north"]->restart()) << nodes_["north"]->log();
  for (int i = 0; i < 1500; ++i) {
    ASSERT_TRUE(eventually("north", {"GET", "e" + std::to_string(i)}, value + std::to_string(i), 60'000)) << "e" << i;
    ASSERT_TRUE(eventually("north", {"GET", "w" + std::to_string(i)}, value + std::to_string(i), 60'000)) << "w" << i;
  }
  EXPECT_EQ(cmd("north", {"DBSIZE"}), cmd("east", {"DBSIZE"}));
  EXPECT_EQ(cmd("west", {"DBSIZE"}), cmd("east", {"DBSIZE"}));
}

}  // namespace
}  // namespace geocache
