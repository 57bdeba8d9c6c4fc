// Counters, sets, sorted sets and hashes written at once in three regions
// (one GeoCache hosting all three, linked by the in-process transport), by
// commands as clients send them: every increment and every member arrives
// everywhere (issue 10, item 4), and the merge rules of docs/design.md hold
// when links are cut and healed.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cache/geo_cache.h"
#include "config/config.h"
#include "server/client_session.h"
#include "server/command.h"
#include "server/command_table.h"
#include "server/reply_writer.h"
#include "server/server_state.h"

namespace geocache {
namespace {

const std::vector<std::string> kRegions = {"a", "b", "c"};

class MergeConvergenceTest : public ::testing::Test {
 protected:
  MergeConvergenceTest() : server_(Config{}) {
    GeoCacheOptions options;
    options.regions = kRegions;
    options.home_region = "a";
    auto transport = make_in_process_transport(options);
    transport_ = transport.get();
    cache_ = std::make_unique<GeoCache>(options, std::move(transport));
    EXPECT_TRUE(cache_->start().ok());
  }
  ~MergeConvergenceTest() override { cache_->stop(); }

  RegionId id(const std::string& region) { return *cache_->region_id(region); }

  // Runs one command in region; returns the reply bytes. Thread-safe.
  std::string run(const std::string& region, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyWriter writer(&out);
    ClientSession session;
    session.authenticated = true;
    session.region = id(region);
    CommandContext ctx{*cache_, id(region), writer, server_, session};
    CommandTable::instance().dispatch(ctx, views);
    return out;
  }

  void quiesce() { ASSERT_TRUE(cache_->wait_replicated()); }
  // Holds every batch between region and the others, both ways, until healed.
  void isolate(const std::string& region) {
    for (const auto& other : kRegions) {
      if (other == region) continue;
      transport_->cut(id(region), id(other));
      transport_->cut(id(other), id(region));
    }
  }
  void heal_all() {
    for (const auto& x : kRegions) {
      for (const auto& y : kRegions) {
        if (x != y) transport_->heal(id(x), id(y));
      }
    }
  }

  static std::string integer(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
  static std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }

  ServerState server_;
  InProcessTransport* transport_ = nullptr;
  std::unique_ptr<GeoCache> cache_;
};

// The bar of issue 10: 3 regions x 1,000 concurrent operations each end with
// every increment and every member in every region.
TEST_F(MergeConvergenceTest, ConcurrentWritesInThreeRegionsLoseNothing) {
  constexpr int kOps = 1000;
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      for (int i = 0; i < kOps; ++i) {
        const std::string member = r + ":" + std::to_string(i);
        EXPECT_EQ(run(r, {"INCR", "counter"}).front(), ':');
        EXPECT_EQ(run(r, {"SADD", "set", member}), integer(1));
        EXPECT_EQ(run(r, {"ZADD", "zset", std::to_string(i), member}), integer(1));
        EXPECT_EQ(run(r, {"HSET", "hash", member, "v"}), integer(1));
      }
    });
  }
  for (auto& t : writers) t.join();
  quiesce();
  for (const auto& r : kRegions) {
    EXPECT_EQ(run(r, {"GET", "counter"}), bulk(std::to_string(3 * kOps))) << r;
    EXPECT_EQ(run(r, {"SCARD", "set"}), integer(3 * kOps)) << r;
    EXPECT_EQ(run(r, {"ZCARD", "zset"}), integer(3 * kOps)) << r;
    EXPECT_EQ(run(r, {"HLEN", "hash"}), integer(3 * kOps)) << r;
    EXPECT_EQ(run(r, {"ZSCORE", "zset", "c:999"}), bulk("999")) << r;
    EXPECT_EQ(run(r, {"ZRANK", "zset", "a:0"}), integer(0)) << r;
    EXPECT_EQ(run(r, {"TYPE", "counter"}), "+string\r\n");
  }
}

TEST_F(MergeConvergenceTest, DecrementsAndIncrementsAddUp) {
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      for (int i = 0; i < 100; ++i) {
        run(r, {"INCRBY", "n", "7"});
        run(r, {"DECR", "n"});
      }
    });
  }
  for (auto& t : writers) t.join();
  quiesce();
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"GET", "n"}), bulk(std::to_string(3 * 100 * 6))) << r;
}

// A SET drops the increments it saw; increments it did not see (made later
// in a region cut off from it) add to it.
TEST_F(MergeConvergenceTest, SetResetsTheCounterButKeepsIncrementsItDidNotSee) {
  for (int i = 0; i < 5; ++i) run("a", {"INCR", "n"});
  quiesce();
  isolate("c");
  EXPECT_EQ(run("b", {"SET", "n", "100"}), "+OK\r\n");
  for (int i = 0; i < 3; ++i) run("c", {"INCR", "n"});
  EXPECT_EQ(run("c", {"GET", "n"}), bulk("8"));
  heal_all();
  quiesce();
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"GET", "n"}), bulk("103")) << r;
  // A SET that has seen everything replaces it all.
  EXPECT_EQ(run("a", {"SET", "n", "1"}), "+OK\r\n");
  quiesce();
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"GET", "n"}), bulk("1")) << r;
}

// SREM in one region while another, cut off, adds the same member: the add
// wins, even though the remove came later.
TEST_F(MergeConvergenceTest, AnAddWinsOverAConcurrentRemove) {
  run("a", {"SADD", "s", "m", "other"});
  quiesce();
  isolate("b");
  EXPECT_EQ(run("b", {"SADD", "s", "m"}), integer(0));  // present already: written anyway
  EXPECT_EQ(run("a", {"SREM", "s", "m"}), integer(1));
  EXPECT_EQ(run("a", {"SREM", "s", "other"}), integer(1));
  heal_all();
  quiesce();
  for (const auto& r : kRegions) {
    EXPECT_EQ(run(r, {"SISMEMBER", "s", "m"}), integer(1)) << r;
    EXPECT_EQ(run(r, {"SISMEMBER", "s", "other"}), integer(0)) << r;
  }
  // A remove that has seen the add wins.
  EXPECT_EQ(run("c", {"SREM", "s", "m"}), integer(1));
  quiesce();
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"EXISTS", "s"}), integer(0)) << r;
}

// Sorted-set members merge one by one; a member's score is the last write's.
TEST_F(MergeConvergenceTest, SortedSetMembersMergeAndScoresAreLastWriterWins) {
  isolate("a");
  run("a", {"ZADD", "z", "1", "x", "5", "only-a"});
  run("b", {"ZADD", "z", "2", "x", "6", "only-b"});
  heal_all();
  quiesce();
  for (const auto& r : kRegions) {
    EXPECT_EQ(run(r, {"ZRANGE", "z", "0", "-1"}), "*3\r\n" + bulk("x") + bulk("only-a") + bulk("only-b")) << r;
    EXPECT_EQ(run(r, {"ZSCORE", "z", "x"}), bulk("2")) << r;
  }
}

}  // namespace
}  // namespace geocache

namespace geocache {
namespace {

// Lists stay last-writer-wins as a key, but a write sends its op: pushes at
// once in three regions end in one identical list everywhere (the list of
// the newest writer, whole), and once quiet every region serves it.
TEST_F(MergeConvergenceTest, ConcurrentListPushesInThreeRegionsConvergeToOneList) {
  constexpr int kOps = 300;
  std::vector<std::thread> writers;
  for (const auto& r : kRegions) {
    writers.emplace_back([&, r] {
      for (int i = 0; i < kOps; ++i) {
        const std::string element = r + ":" + std::to_string(i);
        EXPECT_EQ(run(r, {i % 2 == 0 ? "LPUSH" : "RPUSH", "list", element}).front(), ':');
        if (i % 10 == 9) {
          EXPECT_EQ(run(r, {"RPOP", "list"}).front(), '$');
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  quiesce();
  const std::string in_a = run("a", {"LRANGE", "list", "0", "-1"});
  EXPECT_NE(in_a, "*0\r\n");
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"LRANGE", "list", "0", "-1"}), in_a) << r;
  // And a write made once it is quiet applies as an op everywhere.
  const uint64_t fetches = cache_->list_state_fetches();
  run("b", {"LPUSH", "list", "last"});
  quiesce();
  for (const auto& r : kRegions) EXPECT_EQ(run(r, {"LINDEX", "list", "0"}), bulk("last")) << r;
  EXPECT_EQ(cache_->list_state_fetches(), fetches);
}

// A region cut off while another writes its list catches up when healed:
// its own concurrent write loses to the newer ones made elsewhere, whose
// whole list it fetches, and the third region (which applied every op in
// order, then got c's older one) stays as it is.
TEST_F(MergeConvergenceTest, AnIsolatedRegionsListConvergesWhenHealed) {
  run("a", {"RPUSH", "q", "1", "2", "3"});
  quiesce();
  isolate("c");
  run("c", {"LPUSH", "q", "from-c"});
  run("a", {"RPUSH", "q", "4"});
  run("a", {"LPOP", "q"});  // newer than c's push
  heal_all();
  quiesce();
  for (const auto& r : kRegions) {
    EXPECT_EQ(run(r, {"LRANGE", "q", "0", "-1"}), "*3\r\n" + bulk("2") + bulk("3") + bulk("4")) << r;
  }
}

}  // namespace
}  // namespace geocache
