// The fault harness's scenarios, bounded to run with every test run: three
// regions in network namespaces under a moderate write load from every
// region, one fault each; after it, the regions must agree on every key's
// value and TTL, and no acknowledged write that was not later overwritten or
// deleted may be lost (convergence_check.h). bench/faults runs longer ones
// and prints the figures of issue 8's bars.
//
// Each test starts a broker and three nodes of its own (about 10 s). They
// need root (network namespaces) and skip unless GEOCACHE_TEST_AMQP_URL is
// set, like the other tests that need RabbitMQ (scripts/test.sh sets it).
// The Federated* ones run a broker per region, federated (about 25 s each);
// GEOCACHE_TEST_FAULTS_BROKER_PER_REGION=1 runs all of them that way.
//
// A node with a shifted clock is covered by tests/replication/forged_events_test
// (its writes are refused: docs/replication.md, "Validation").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "convergence_check.h"
#include "fault_cluster.h"
#include "write_load.h"

namespace geocache::testing {
namespace {

constexpr double kWritesPerSecond = 150;  // per region: moderate, also under ASan

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("GEOCACHE_TEST_AMQP_URL") == nullptr) {
      GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set: the fault scenarios run with the other RabbitMQ tests "
                      "(scripts/test.sh); they start brokers of their own";
    }
    const std::string why = FaultCluster::unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << "fault harness: " << why;
  }
  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << cluster_->logs();
  }

  // GEOCACHE_TEST_FAULTS_BROKER_PER_REGION=1 runs every scenario with a
  // broker per region (the broker scenario then kills east's).
  void start(FaultClusterOptions options = {}) {
    if (std::getenv("GEOCACHE_TEST_FAULTS_BROKER_PER_REGION") != nullptr) options.broker_per_region = true;
    cluster_options_ = options;
    cluster_ = std::make_unique<FaultCluster>(std::move(options));
    ASSERT_TRUE(cluster_->start()) << cluster_->error();
  }
  void start_load(LoadOptions options = {}) {
    options.writes_per_second = kWritesPerSecond;
    load_ = std::make_unique<WriteLoad>(cluster_->regions(), cluster_->connector(), options);
    load_->start();
  }
  // Waits until `region` has had n more writes acknowledged: the load's
  // progress, not the clock, says how long a fault lasts.
  bool await_writes(const std::string& region, int64_t n, int64_t timeout_ms = 60'000) {
    const int64_t target = load_->counts(region).acked + n;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (load_->counts(region).acked < target) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  // Polls args on c until it answers want (10 s at most).
  static bool await_reply(redisContext* c, const std::vector<std::string>& args,
                          const std::optional<std::string>& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (command_text(c, args) != want) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  static bool await_value(redisContext* c, const std::string& key, const std::string& value) {
    return await_reply(c, {"GET", key}, value);
  }
  int64_t seconds_of_writes(double seconds) const { return static_cast<int64_t>(seconds * kWritesPerSecond); }

  // Stops the load, waits for the regions to agree and holds what they agree
  // on to the history. since_us: when the fault ended (for the figure).
  void expect_converged(const std::string& scenario, int64_t since_us, CheckOptions options = {}) {
    load_->stop();
    const int64_t stopped_us = wall_now_us();
    const std::vector<Write>& history = load_->history();
    const Agreement agreement =
        await_agreement(cluster_->regions(), cluster_->connector(), keys_of(history), 60'000, options.ttl_tolerance_us);
    ASSERT_TRUE(agreement.reached) << agreement.summary();
    const Verdict verdict = check_history(history, agreement.last.at(cluster_->regions().front()), options);
    EXPECT_TRUE(verdict.lost.empty()) << verdict.summary();
    const auto total = load_->total();
    std::cout << "[faults] " << scenario << ": " << total.acked << " writes acknowledged, " << total.unanswered
              << " unanswered, " << total.refused << " refused; agreement "
              << (stopped_us - since_us) / 1000 + agreement.elapsed_ms << " ms after the fault ended ("
              << agreement.elapsed_ms << " ms after the load stopped); " << verdict.summary(3);
  }

  // One region cut off from the broker for about 5 s while every region,
  // itself included, goes on taking writes to the same keys.
  // With broker_per_region the cut takes east's broker off the others' too:
  // what east publishes meanwhile waits in its broker's federation queues.
  void partition_scenario(const CheckOptions& options, FaultClusterOptions cluster_options = {}) {
    ASSERT_NO_FATAL_FAILURE(start(std::move(cluster_options)));
    start_load();
    ASSERT_TRUE(await_writes("east", seconds_of_writes(1)));
    ASSERT_TRUE(cluster_->cut("east"));
    // The cut is real: a write made in east after it does not reach west,
    // while one made in north later does.
    ASSERT_EQ(command_text(cluster_->connect("east").get(), {"SET", "marker:east", "1"}), "OK");
    ASSERT_EQ(command_text(cluster_->connect("north").get(), {"SET", "marker:north", "1"}), "OK");
    auto west = cluster_->connect("west");
    ASSERT_TRUE(await_value(west.get(), "marker:north", "1"));
    EXPECT_EQ(command_text(west.get(), {"GET", "marker:east"}), std::nullopt);
    ASSERT_TRUE(await_writes("east", seconds_of_writes(5)));  // the cut region takes writes all along
    ASSERT_TRUE(cluster_->heal("east"));
    const int64_t healed_us = wall_now_us();
    ASSERT_TRUE(await_writes("east", seconds_of_writes(1)));
    expect_converged(
        cluster_options_.broker_per_region ? "partition of east and its broker for 5 s" : "partition of east for 5 s",
        healed_us, options);
  }

  // The broker killed with SIGKILL under load and started again: what it had
  // confirmed was on disk, what it had not stays in the nodes' outboxes.
  void broker_kill_scenario(const CheckOptions& options) {
    ASSERT_NO_FATAL_FAILURE(start());
    start_load();
    ASSERT_TRUE(await_writes("east", seconds_of_writes(1)));
    ASSERT_TRUE(cluster_->kill_broker("east")) << cluster_->error();
    ASSERT_TRUE(await_writes("east", seconds_of_writes(2)));  // local writes go on without a broker
    ASSERT_TRUE(cluster_->restart_broker("east")) << cluster_->error();
    const int64_t restarted_us = wall_now_us();
    ASSERT_TRUE(await_writes("east", seconds_of_writes(1)));
    expect_converged("kill -9 and restart of the broker", restarted_us, options);
  }

  FaultClusterOptions cluster_options_;
  std::unique_ptr<FaultCluster> cluster_;
  std::unique_ptr<WriteLoad> load_;
};

FaultClusterOptions broker_per_region() {
  FaultClusterOptions options;
  options.broker_per_region = true;
  return options;
}

// Deletes included: a DEL of a key the region has not received yet still
// wins over the older write it has not seen (issue 8, "Restart").
TEST_F(Faults, PartitionedRegionConvergesAfterHeal) { partition_scenario({}); }

// One broker per region (scripts/federation.sh): east's link cut takes its
// broker off the other two; east's node keeps writing to its own broker,
// which holds the events until the link heals.
TEST_F(Faults, FederatedBrokerCutOffAndHealedLosesNothing) { partition_scenario({}, broker_per_region()); }

// Three regions, each node on a broker of its own, the brokers federated:
// writes, a delete, TTLs and a hash cross the links both ways, once each; so
// do the hellos (every region sees the others up) and the warm-up's resync
// requests and snapshots, which go to one region (every node ends warm).
TEST_F(Faults, FederatedBrokersCarryWritesDeletesTtlsAndControlMessages) {
  ASSERT_NO_FATAL_FAILURE(start(broker_per_region()));
  auto east = cluster_->connect("east");
  ASSERT_EQ(command_text(east.get(), {"SET", "plain", "v1"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"SET", "doomed", "x"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"SET", "ttl", "t", "PX", "120000"}), "OK");
  ASSERT_EQ(command_text(east.get(), {"HSET", "h", "f1", "a", "f2", "b"}), "2");
  for (const char* region : {"west", "north"}) {
    auto c = cluster_->connect(region);
    EXPECT_TRUE(await_value(c.get(), "plain", "v1")) << region;
    EXPECT_TRUE(await_value(c.get(), "doomed", "x")) << region;
    EXPECT_TRUE(await_value(c.get(), "ttl", "t")) << region;
    EXPECT_TRUE(await_reply(c.get(), {"HGET", "h", "f2"}, "b")) << region;
  }
  ASSERT_EQ(command_text(east.get(), {"DEL", "doomed"}), "1");
  ASSERT_EQ(command_text(east.get(), {"EXPIRE", "plain", "100"}), "1");
  const int64_t east_pttl = std::stoll(command_text(east.get(), {"PTTL", "ttl"}).value_or("-3"));
  for (const char* region : {"west", "north"}) {
    auto c = cluster_->connect(region);
    EXPECT_TRUE(await_reply(c.get(), {"EXISTS", "doomed"}, "0")) << region;
    EXPECT_TRUE(await_reply(c.get(), {"TTL", "plain"}, command_text(east.get(), {"TTL", "plain"}))) << region;
    // The absolute expiry replicates: every region counts down to the same instant.
    const int64_t pttl = std::stoll(command_text(c.get(), {"PTTL", "ttl"}).value_or("-3"));
    EXPECT_NEAR(static_cast<double>(pttl), static_cast<double>(east_pttl), 1000.0) << region;
  }
  // The other way, from a region whose events cross other links.
  auto north = cluster_->connect("north");
  ASSERT_EQ(command_text(north.get(), {"SET", "from-north", "n"}), "OK");
  ASSERT_EQ(command_text(north.get(), {"DEL", "plain"}), "1");
  for (const char* region : {"east", "west"}) {
    auto c = cluster_->connect(region);
    EXPECT_TRUE(await_value(c.get(), "from-north", "n")) << region;
    EXPECT_TRUE(await_reply(c.get(), {"EXISTS", "plain"}, "0")) << region;
  }
  for (const auto& region : cluster_->regions()) {
    auto c = cluster_->connect(region);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string info;
    auto field = [&info](const std::string& name) {
      const size_t at = info.find("\n" + name + ":");
      return at == std::string::npos ? std::string() : info.substr(at + 1, info.find('\r', at + 1) - at - 1);
    };
    auto all_up_and_warm = [&] {
      info = command_text(c.get(), {"INFO", "geo"}).value_or("");
      for (const auto& peer : cluster_->regions()) {
        if (peer != region && field("region_" + peer).find("state=up") == std::string::npos) return false;
      }
      return field("warming") == "warming:0";
    };
    while (!all_up_and_warm() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(all_up_and_warm()) << region << ":\n" << info;
    // Each event once: a loop between the brokers would deliver it again.
    for (const auto& peer : cluster_->regions()) {
      if (peer == region) continue;
      // (No line from a peer that wrote nothing: west.)
      const std::string inbound = field("inbound_" + region + "_from_" + peer);
      if (peer != "west") {
        EXPECT_NE(inbound.find(",duplicates=0,"), std::string::npos) << region << ": " << inbound;
      }
    }
  }
}

TEST_F(Faults, BrokerKilledAndRestartedLosesNothing) { broker_kill_scenario({}); }

// A region cut off long enough for its bounded queue (drop-head) to drop
// what the others sent, and nothing written after the heal: the last
// batches it lost are shown by no later batch, only by the others' hellos,
// which say where their streams stand (docs/replication.md, "A full queue").
// Small chunks, so that the resync answers fit the small queue.
TEST_F(Faults, RegionWhoseQueueDroppedTheEndOfTheStreamsConverges) {
  FaultClusterOptions options;
  options.node_args.insert(options.node_args.end(),
                           {"--amqp-queue-max-bytes", "65536", "--batch-max-bytes", "16384"});
  ASSERT_NO_FATAL_FAILURE(start(options));
  start_load();
  ASSERT_TRUE(await_writes("east", seconds_of_writes(1)));
  ASSERT_TRUE(cluster_->cut("east"));
  ASSERT_TRUE(await_writes("west", seconds_of_writes(8)));
  load_->stop();  // no write after the heal shows east a gap
  ASSERT_TRUE(cluster_->heal("east"));
  expect_converged("east's queue overflowing in an 8 s cut, nothing written after", wall_now_us());
}

// A node killed with SIGKILL while every region takes writes, and started
// again while they go on: it takes writes from its first moment, before its
// warm-up has ended, and loses none, nor do its peers (a DEL there of a key
// it has not received yet still wins; an HSET there of a hash it has not
// received yet adds its field to the hash, which merges per field; issue 8,
// "Restart" and "Big hashes").
TEST_F(Faults, KilledNodeTakesWritesWhileItWarmsUpAndLosesNone) {
  ASSERT_NO_FATAL_FAILURE(start());
  start_load();
  ASSERT_TRUE(await_writes("west", seconds_of_writes(1)));
  cluster_->kill_node("west");
  CheckOptions options;
  options.crashes = {{"west", wall_now_us()}};
  ASSERT_TRUE(await_writes("east", seconds_of_writes(2)));  // the others go on while it is down
  ASSERT_TRUE(cluster_->restart_node("west")) << cluster_->error();
  const int64_t restarted_us = wall_now_us();
  ASSERT_TRUE(await_writes("west", seconds_of_writes(2)));  // west takes writes from its first moment
  expect_converged("kill -9 and restart of west under load", restarted_us, options);
}

// A restarted node is no resync source before its own warm-up has finished
// (issue 8, "Restart"): else its peers drop the keys it has not received
// yet. A store of 60k keys makes the warm-up long enough to matter.
TEST_F(Faults, RestartedNodeWithALargeStoreLosesNoKey) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<Write> bulk;
  for (const auto& region : cluster_->regions()) {
    auto c = cluster_->connect(region, 2'000, 30'000);
    ASSERT_TRUE(c && !c->err);
    auto writes = bulk_set(c.get(), region, "p:" + region + ":", 20'000);
    bulk.insert(bulk.end(), writes.begin(), writes.end());
  }
  const Agreement before =
      await_agreement(cluster_->regions(), cluster_->connector(2'000, 30'000), keys_of(bulk), 60'000);
  ASSERT_TRUE(before.reached) << before.summary();
  cluster_->kill_node("west");
  CheckOptions options;
  options.crashes = {{"west", wall_now_us()}};
  ASSERT_TRUE(cluster_->restart_node("west")) << cluster_->error();
  const int64_t restarted_us = wall_now_us();
  start_load();
  ASSERT_TRUE(await_writes("west", seconds_of_writes(2)));
  load_->stop();
  std::vector<Write> history = bulk;
  history.insert(history.end(), load_->history().begin(), load_->history().end());
  const Agreement after =
      await_agreement(cluster_->regions(), cluster_->connector(2'000, 30'000), keys_of(history), 60'000);
  ASSERT_TRUE(after.reached) << after.summary();
  const Verdict verdict = check_history(history, after.last.at("east"), options);
  EXPECT_TRUE(verdict.lost.empty()) << verdict.summary();
  std::cout << "[faults] restart of west with 60k keys: agreement " << (wall_now_us() - restarted_us) / 1000
            << " ms after the restart; " << verdict.summary(3);
}

}  // namespace
}  // namespace geocache::testing
