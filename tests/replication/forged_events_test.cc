// Hostile and broken input through a real broker, against real geocached
// processes: batches forged and published straight to the replication
// exchange are refused and counted while replication goes on; a node with a
// wrong or no replication secret cannot write into nodes that have one; a
// node whose clock runs ten minutes ahead (libfaketime) neither wins
// conflicts it should lose nor stretches TTLs.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each uses exchange and
// queue names of its own; every wait polls with a deadline.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/value.h"
#include "core/version.h"
#include "geocached_process.h"
#include "messaging/amqp_transport.h"
#include "messaging/event.h"
#include "messaging/region_registry.h"
#include "test_broker.h"

namespace geocache {
namespace {

using testing::command_text;
using testing::connect_port;
using testing::GeocachedProcess;
using testing::port_accepts;
using testing::RedisConnection;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

constexpr RegionId kEast = region_id_for("east"), kNorth = region_id_for("north");

// One field of `INFO geo`, or "" if absent.
std::string info_field(const std::string& info, const std::string& name) {
  const size_t at = info.find("\n" + name + ":");
  if (at == std::string::npos) return "";
  const size_t from = at + name.size() + 2;
  return info.substr(from, info.find_first_of("\r\n", from) - from);
}

// A field of the comma-separated line `line_name` of `INFO geo` (e.g. the
// epoch of inbound_west_from_east), or "".
std::string line_field(const std::string& info, const std::string& line_name, const std::string& field) {
  const std::string line = info_field(info, line_name);
  const size_t at = line.find(field + "=");
  if (at == std::string::npos) return "";
  const size_t from = at + field.size() + 1;
  return line.substr(from, line.find(',', from) - from);
}

class ForgedEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test_amqp_url().empty()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
    base_ = unique_name("forged");
  }

  // Starts the node of `region` (of `deployment`) with `extra` flags.
  void start(const std::string& region, const std::vector<std::string>& deployment,
             std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--loglevel", "warning", "--amqp-url", test_amqp_url(), "--amqp-exchange",
                                     base_ + "x", "--amqp-queue-prefix", base_ + "q.", "--linger-us", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int port = 13000 + static_cast<int>(getpid() % 1000) * 3;  // clear of the brokers' ports
    while (port_accepts(port)) ++port;
    nodes_[region] = GeocachedProcess::one_region(region, deployment, args, port);
    ASSERT_TRUE(nodes_[region]->started()) << region << " did not answer PING\n" << nodes_[region]->log();
  }
  RedisConnection client(const std::string& region) { return connect_port(nodes_.at(region)->port(), 2'000, 5'000); }
  std::optional<std::string> cmd(const std::string& region, const std::vector<std::string>& args) {
    return command_text(client(region).get(), args);
  }
  std::string info(const std::string& region) { return cmd(region, {"INFO", "geo"}).value_or(""); }
  uint64_t refused(const std::string& region, const std::string& why) {
    const std::string v = info_field(info(region), "refused_" + why);
    return v.empty() ? 0 : std::stoull(v);
  }
  // Polls until `region` has refused at least n for `why` (15 s).
  bool await_refused(const std::string& region, const std::string& why, uint64_t n) {
    return wait_until(15'000, [&] { return refused(region, why) >= n; });
  }
  // Polls `args` on region until it answers `want` (15 s).
  bool eventually(const std::string& region, const std::vector<std::string>& args, std::optional<std::string> want) {
    return wait_until(15'000, [&] { return cmd(region, args) == want; });
  }

  std::string base_;
  std::map<std::string, std::unique_ptr<GeocachedProcess>> nodes_;
};

// Publishes whatever bytes it is given to the replication exchange with a
// region's routing key, as a node of that region would, but without one.
class Forger {
 public:
  Forger(const std::string& base, const std::vector<std::string>& deployment) {
    AmqpOptions o;
    o.url = test_amqp_url();
    o.exchange = base + "x";
    o.queue_prefix = base + "q.";
    transport_ = std::make_unique<AmqpTransport>(o, deployment);
  }
  bool start() { return transport_->start().ok(); }
  // Sends `batch` as region `as` would (routing key: its name).
  bool publish(RegionId as, const EventBatch& batch, std::string_view secret = {}) {
    std::string bytes;
    encode_batch(batch, &bytes, secret);
    return transport_->publish(as, bytes).ok();
  }

 private:
  std::unique_ptr<AmqpTransport> transport_;
};

Event forged_event(const std::string& key, RegionId region, uint64_t hlc = 0) {
  Event e;
  e.key = key;
  e.record.kind = ValueKind::kString;
  e.record.bytes = "forged";
  e.record.version = Version{hlc ? hlc : Hlc::pack(SystemClock::instance()->now_ms(), 0), region};
  e.origin_wall_ms = SystemClock::instance()->now_ms();
  return e;
}

EventBatch batch_of(RegionId origin, uint64_t epoch, uint64_t first_seq, std::vector<Event> events) {
  EventBatch b;
  b.origin = origin;
  b.epoch = epoch;
  b.first_seq = first_seq;
  b.events = std::move(events);
  return b;
}

TEST_F(ForgedEvents, ForgedBatchesOnTheExchangeAreRefusedCountedAndReplicationGoesOn) {
  const std::vector<std::string> deployment = {"east", "west", "north"};
  start("east", deployment);
  start("west", deployment);
  // west learns east's epoch and sequence from a real write.
  ASSERT_EQ(cmd("east", {"SET", "before", "1"}), "OK");
  ASSERT_TRUE(eventually("west", {"GET", "before"}, "1"));
  const std::string geo = info("west");
  const uint64_t epoch = std::stoull(line_field(geo, "inbound_west_from_east", "epoch"));
  const uint64_t next = std::stoull(line_field(geo, "inbound_west_from_east", "next_seq"));

  Forger forger(base_, deployment);
  ASSERT_TRUE(forger.start());
  // Against east's real stream: the sequence 2^62, and a jump far
  // beyond the window. Taken, either would make every later batch of east's
  // look like a duplicate.
  ASSERT_TRUE(forger.publish(kEast, batch_of(kEast, epoch, uint64_t{1} << 62, {forged_event("seq-2^62", kEast)})));
  ASSERT_TRUE(forger.publish(kEast, batch_of(kEast, epoch, next + 100'000'000, {forged_event("seq-far", kEast)})));
  // From no region (id 0), on east's routing key. (Any other id may be a
  // region that joined later, and is learned: without a secret, a forger
  // can write as any region anyway.)
  ASSERT_TRUE(forger.publish(kEast, batch_of(0, 1, 1, {forged_event("unknown-origin", 0)})));
  // As north (no node runs there; its stream starts at 1): events refused
  // one by one among one that is fine.
  Event max_hlc = forged_event("hlc-max", kNorth, UINT64_MAX);
  Event other_region = forged_event("other-region", kEast);
  Event bad_hash = forged_event("bad-hash", kNorth);
  bad_hash.record.kind = ValueKind::kHash;
  bad_hash.record.bytes = "\x06\x05";
  Event bad_json = forged_event("bad-json", kNorth);
  bad_json.record.kind = ValueKind::kJson;
  bad_json.record.bytes = "{not encoded}";
  ASSERT_TRUE(forger.publish(
      kNorth, batch_of(kNorth, 1, 1, {max_hlc, other_region, bad_hash, bad_json, forged_event("fine", kNorth)})));

  for (const char* r : {"west", "east"}) {
    EXPECT_TRUE(eventually(r, {"GET", "fine"}, "forged")) << r;  // what is well formed still goes through
    EXPECT_TRUE(await_refused(r, "clock", 1)) << r << "\n" << info(r);
    EXPECT_TRUE(await_refused(r, "value", 2)) << r << "\n" << info(r);
    for (const char* key : {"hlc-max", "other-region", "bad-hash", "bad-json"}) {
      EXPECT_EQ(cmd(r, {"EXISTS", key}), "0") << r << " " << key;
    }
  }
  EXPECT_TRUE(await_refused("west", "sequence", 2)) << info("west");
  EXPECT_TRUE(await_refused("west", "region", 2)) << info("west");  // the unknown origin, the borrowed version
  for (const char* key : {"seq-2^62", "seq-far", "unknown-origin"}) EXPECT_EQ(cmd("west", {"EXISTS", key}), "0");

  // Replication goes on both ways, and the clocks were not dragged along:
  // a later write wins everywhere.
  ASSERT_EQ(cmd("east", {"SET", "after", "from east"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "after"}, "from east"));
  ASSERT_EQ(cmd("west", {"SET", "after", "later, from west"}), "OK");
  EXPECT_TRUE(eventually("east", {"GET", "after"}, "later, from west"));
  ASSERT_EQ(cmd("east", {"SET", "after", "later still, from east"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "after"}, "later still, from east"));
  for (auto& [r, node] : nodes_) EXPECT_TRUE(node->running()) << r << "\n" << node->log();
  // Each refusal was logged (rate-limited: at least the first of each reason).
  EXPECT_NE(nodes_["west"]->log().find("refused replication input from region " + std::to_string(kEast) + " (sequence)"), std::string::npos)
      << nodes_["west"]->log();
  EXPECT_NE(nodes_["west"]->log().find("(clock)"), std::string::npos) << nodes_["west"]->log();
}

TEST_F(ForgedEvents, NodeWithAWrongOrNoSecretCannotWriteIntoNodesThatHaveOne) {
  const std::vector<std::string> deployment = {"east", "west", "north", "south"};
  start("east", deployment, {"--replication-secret", "s3cret"});
  start("west", deployment, {"--replication-secret", "s3cret"});
  start("north", deployment, {"--replication-secret", "wrong"});
  start("south", deployment);  // none
  EXPECT_EQ(info_field(info("east"), "replication_auth"), "hmac-sha256");
  EXPECT_EQ(info_field(info("south"), "replication_auth"), "none");

  ASSERT_EQ(cmd("north", {"SET", "from-north", "n"}), "OK");
  ASSERT_EQ(cmd("south", {"SET", "from-south", "s"}), "OK");
  for (const char* r : {"east", "west"}) {
    ASSERT_TRUE(await_refused(r, "mac", 2)) << r << "\n" << info(r);
    EXPECT_EQ(cmd(r, {"EXISTS", "from-north"}), "0") << r;
    EXPECT_EQ(cmd(r, {"EXISTS", "from-south"}), "0") << r;
  }
  // The secret's holders replicate to each other, sealed.
  ASSERT_EQ(cmd("east", {"SET", "from-east", "e"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "from-east"}, "e"));
  ASSERT_EQ(cmd("west", {"SET", "from-west", "w"}), "OK");
  EXPECT_TRUE(eventually("east", {"GET", "from-west"}, "w"));
  // A node with a wrong secret refuses them; one with none reads them
  // (unchecked: without a secret nothing is), which lets a deployment
  // switch the secret on node by node.
  EXPECT_TRUE(await_refused("north", "mac", 2)) << info("north");
  EXPECT_EQ(cmd("north", {"EXISTS", "from-east"}), "0");
  EXPECT_TRUE(eventually("south", {"GET", "from-east"}, "e"));
  // A batch sealed with the secret but forged straight onto the exchange is
  // still checked field by field; one sealed with another secret is not read.
  Forger forger(base_, deployment);
  ASSERT_TRUE(forger.start());
  ASSERT_TRUE(forger.publish(kNorth, batch_of(kNorth, 1, 1, {forged_event("forged-wrong", kNorth)}), "guess"));
  EXPECT_TRUE(await_refused("east", "mac", 3)) << info("east");
  EXPECT_EQ(cmd("east", {"EXISTS", "forged-wrong"}), "0");
}

// The preload library of the Debian package faketime (scripts/install-deps.sh).
std::string libfaketime() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// Sets environment variables for the processes started while it lives (they
// inherit them at fork), and puts the previous values back after.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) {
      const char* old = std::getenv(k.c_str());
      previous_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      setenv(k.c_str(), v.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : previous_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> previous_;
};

TEST_F(ForgedEvents, NodeWithAClockTenMinutesAheadWinsNoConflictAndStretchesNoTtl) {
  const std::string lib = libfaketime();
  if (lib.empty()) GTEST_SKIP() << "libfaketime not installed (scripts/install-deps.sh installs faketime)";
  const std::vector<std::string> deployment = {"east", "west", "north"};
  {
    // Only the wall clock is shifted: timeouts and heartbeats keep real time.
    // An ASan build (scripts/test.sh) wants its runtime first in the
    // library list; the preload comes first, so ASan is told to allow it.
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = (asan && *asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0";
    ScopedEnv env({{"LD_PRELOAD", lib},
                   {"FAKETIME", "+10m"},
                   {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                   {"ASAN_OPTIONS", asan_options}});
    start("east", deployment);
  }
  start("west", deployment);
  start("north", deployment);
  auto east = client("east");
  testing::Reply time = testing::command(east.get(), {"TIME"});
  ASSERT_TRUE(time && time->type == REDIS_REPLY_ARRAY && time->elements == 2);
  const int64_t east_time = std::stoll(time->element[0]->str);
  ASSERT_GT(east_time, SystemClock::instance()->now_ms() / 1000 + 500) << "faketime did not shift east's clock";

  // Before east writes anything, its heartbeats show its clock to the others:
  // a problem in INFO and a warning in the log.
  for (const char* r : {"west", "north"}) {
    EXPECT_TRUE(
        wait_until(15'000, [&] { return info(r).find("region east's clock is at least") != std::string::npos; }))
        << r << "\n"
        << info(r);
    EXPECT_NE(nodes_[r]->log().find("warning] region east's clock is at least"), std::string::npos) << nodes_[r]->log();
  }

  // Before the guard: lived 660 s in west and north.
  ASSERT_EQ(cmd("east", {"SET", "ttl", "v", "EX", "60"}), "OK");
  // Before the guard: east's write won although west's came later.
  ASSERT_EQ(cmd("east", {"SET", "conflict", "from east"}), "OK");
  ASSERT_EQ(cmd("west", {"SET", "conflict", "from west, later"}), "OK");
  for (const char* r : {"west", "north"}) {
    // Both of east's events have arrived (refused or not: they count as received).
    ASSERT_TRUE(wait_until(15'000, [&] {
      const std::string events = line_field(info(r), std::string("inbound_") + r + "_from_east", "events");
      return !events.empty() && std::stoull(events) >= 2;
    })) << r << "\n" << info(r);
    EXPECT_EQ(cmd(r, {"PTTL", "ttl"}), "-2") << r;
    EXPECT_TRUE(eventually(r, {"GET", "conflict"}, "from west, later")) << r;
    // Both writes, and whatever of east's warm-up snapshots came with them.
    EXPECT_GE(refused(r, "clock"), 2u) << r << "\n" << info(r);
  }
  // Loudly: the log names the offset and what to fix.
  EXPECT_NE(nodes_["west"]->log().find("ahead of this node's clock"), std::string::npos) << nodes_["west"]->log();
  EXPECT_NE(nodes_["west"]->log().find("check the clocks"), std::string::npos);
  // The nodes on time go on replicating between themselves.
  ASSERT_EQ(cmd("north", {"SET", "ontime", "n", "EX", "60"}), "OK");
  EXPECT_TRUE(eventually("west", {"GET", "ontime"}, "n"));
  const int64_t pttl = std::stoll(cmd("west", {"PTTL", "ontime"}).value_or("0"));
  EXPECT_LE(pttl, 60'000 + 500);
  EXPECT_GT(pttl, 0);
}

}  // namespace
}  // namespace geocache
