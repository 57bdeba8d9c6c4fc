// List commands, in-process, compared byte for byte with Redis 7 replies
// (checked side by side with redis-server 7.0.15), and how a list write
// replicates: its ops, not the list, and the whole key fetched by a region
// whose list was not the one the ops changed (docs/design.md, "Lists").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

class ListCommandsTest : public CommandFixture {
 protected:
  std::string range(RegionId region, const std::string& key) { return run_in(region, {"LRANGE", key, "0", "-1"}); }
  // Bytes region r1 has published so far (its backlog keeps each event sent).
  uint64_t published_bytes() {
    for (const OutboxStats& s : cache_->replicator().outbox_stats()) {
      if (s.origin == kR1) return s.backlog_bytes;
    }
    return 0;
  }
  static std::string empty() { return "*0\r\n"; }
};

TEST_F(ListCommandsTest, PushesAndRangesInRedisOrder) {
  EXPECT_EQ(run({"LPUSH", "l", "a", "b", "c"}), integer(3));  // c b a
  EXPECT_EQ(run({"RPUSH", "l", "x", "y"}), integer(5));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"c", "b", "a", "x", "y"}));
  EXPECT_EQ(run({"LRANGE", "l", "-2", "100"}), bulks({"x", "y"}));
  EXPECT_EQ(run({"LRANGE", "l", "-100", "1"}), bulks({"c", "b"}));
  EXPECT_EQ(run({"LRANGE", "l", "3", "2"}), empty());
  EXPECT_EQ(run({"LRANGE", "l", "5", "10"}), empty());
  EXPECT_EQ(run({"LRANGE", "nokey", "0", "-1"}), empty());
  EXPECT_EQ(run({"LRANGE", "l", "a", "1"}), err(errors::kNotInteger));
  EXPECT_EQ(run({"LLEN", "l"}), integer(5));
  EXPECT_EQ(run({"LLEN", "nokey"}), integer(0));
  EXPECT_EQ(run({"LINDEX", "l", "0"}), bulk("c"));
  EXPECT_EQ(run({"LINDEX", "l", "-1"}), bulk("y"));
  EXPECT_EQ(run({"LINDEX", "l", "99"}), nil());
  EXPECT_EQ(run({"TYPE", "l"}), simple("list"));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "l"}), bulk("quicklist"));
  EXPECT_EQ(run({"LPUSH", "l"}), err("ERR wrong number of arguments for 'lpush' command"));
}

TEST_F(ListCommandsTest, PushxOnlyPushesToAnExistingList) {
  EXPECT_EQ(run({"LPUSHX", "l", "a"}), integer(0));
  EXPECT_EQ(run({"RPUSHX", "l", "a"}), integer(0));
  EXPECT_EQ(run({"EXISTS", "l"}), integer(0));
  run({"RPUSH", "l", "a"});
  EXPECT_EQ(run({"LPUSHX", "l", "h1", "h2"}), integer(3));
  EXPECT_EQ(run({"RPUSHX", "l", "t"}), integer(4));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"h2", "h1", "a", "t"}));
}

TEST_F(ListCommandsTest, PopsWithAndWithoutCount) {
  run({"RPUSH", "l", "a", "b", "c", "d"});
  EXPECT_EQ(run({"LPOP", "l"}), bulk("a"));
  EXPECT_EQ(run({"RPOP", "l"}), bulk("d"));
  EXPECT_EQ(run({"LPOP", "l", "0"}), empty());
  EXPECT_EQ(run({"RPOP", "l", "5"}), bulks({"c", "b"}));  // from the tail in
  EXPECT_EQ(run({"EXISTS", "l"}), integer(0));            // emptied: deleted
  EXPECT_EQ(run({"LPOP", "l"}), nil());
  EXPECT_EQ(run({"LPOP", "l", "2"}), "*-1\r\n");
  EXPECT_EQ(run({"LPOP", "l", "0"}), "*-1\r\n");
  EXPECT_EQ(run({"LPOP", "l", "-1"}), err(errors::kMustBePositive));
  EXPECT_EQ(run({"LPOP", "l", "1", "2"}), err("ERR wrong number of arguments for 'lpop' command"));
}

TEST_F(ListCommandsTest, LsetLremLtrimLinsert) {
  run({"RPUSH", "l", "v", "a", "v", "b", "v"});
  EXPECT_EQ(run({"LSET", "l", "1", "A"}), ok());
  EXPECT_EQ(run({"LSET", "l", "-1", "V"}), ok());
  EXPECT_EQ(run({"LSET", "l", "5", "x"}), err("ERR index out of range"));
  EXPECT_EQ(run({"LSET", "nokey", "0", "x"}), err(errors::kNoSuchKey));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"v", "A", "v", "b", "V"}));
  EXPECT_EQ(run({"LREM", "l", "-1", "v"}), integer(1));  // the last v
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"v", "A", "b", "V"}));
  EXPECT_EQ(run({"LREM", "l", "0", "zz"}), integer(0));
  EXPECT_EQ(run({"LREM", "nokey", "0", "a"}), integer(0));
  EXPECT_EQ(run({"LINSERT", "l", "BEFORE", "b", "x"}), integer(5));
  EXPECT_EQ(run({"LINSERT", "l", "after", "b", "y"}), integer(6));
  EXPECT_EQ(run({"LINSERT", "l", "before", "zz", "y"}), integer(-1));
  EXPECT_EQ(run({"LINSERT", "nokey", "before", "a", "y"}), integer(0));
  EXPECT_EQ(run({"LINSERT", "l", "middle", "a", "y"}), err(errors::kSyntax));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"v", "A", "x", "b", "y", "V"}));
  EXPECT_EQ(run({"LTRIM", "l", "1", "-2"}), ok());
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), bulks({"A", "x", "b", "y"}));
  EXPECT_EQ(run({"LTRIM", "nokey", "0", "1"}), ok());
  EXPECT_EQ(run({"LTRIM", "l", "5", "10"}), ok());
  EXPECT_EQ(run({"EXISTS", "l"}), integer(0));
}

TEST_F(ListCommandsTest, LposWithRankCountAndMaxlen) {
  run({"RPUSH", "l", "a", "b", "c", "b", "b"});
  EXPECT_EQ(run({"LPOS", "l", "b"}), integer(1));
  EXPECT_EQ(run({"LPOS", "l", "b", "RANK", "2"}), integer(3));
  EXPECT_EQ(run({"LPOS", "l", "b", "RANK", "-1"}), integer(4));
  EXPECT_EQ(run({"LPOS", "l", "b", "COUNT", "0"}), "*3\r\n" + integer(1) + integer(3) + integer(4));
  EXPECT_EQ(run({"LPOS", "l", "b", "COUNT", "2", "RANK", "-1"}), "*2\r\n" + integer(4) + integer(3));
  EXPECT_EQ(run({"LPOS", "l", "b", "COUNT", "0", "MAXLEN", "2"}), "*1\r\n" + integer(1));
  EXPECT_EQ(run({"LPOS", "l", "zz"}), nil());
  EXPECT_EQ(run({"LPOS", "l", "zz", "COUNT", "0"}), empty());
  EXPECT_EQ(run({"LPOS", "nokey", "zz"}), nil());
  EXPECT_EQ(run({"LPOS", "l", "b", "RANK", "0"}),
            err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative "
                "to start from the end of the list"));
  EXPECT_EQ(run({"LPOS", "l", "b", "COUNT", "-1"}), err("ERR COUNT can't be negative"));
  EXPECT_EQ(run({"LPOS", "l", "b", "MAXLEN", "-1"}), err("ERR MAXLEN can't be negative"));
  EXPECT_EQ(run({"LPOS", "l", "b", "COUNT"}), err(errors::kSyntax));
  EXPECT_EQ(run({"LPOS", "l", "b", "foo", "1"}), err(errors::kSyntax));
}

TEST_F(ListCommandsTest, LmoveAndRpoplpush) {
  run({"RPUSH", "src", "a", "b", "c"});
  EXPECT_EQ(run({"RPOPLPUSH", "src", "dst"}), bulk("c"));
  EXPECT_EQ(run({"LMOVE", "src", "dst", "LEFT", "RIGHT"}), bulk("a"));
  EXPECT_EQ(run({"LRANGE", "dst", "0", "-1"}), bulks({"c", "a"}));
  EXPECT_EQ(run({"LMOVE", "dst", "dst", "LEFT", "RIGHT"}), bulk("c"));  // rotates
  EXPECT_EQ(run({"LRANGE", "dst", "0", "-1"}), bulks({"a", "c"}));
  EXPECT_EQ(run({"LMOVE", "src", "dst", "up", "down"}), err(errors::kSyntax));
  EXPECT_EQ(run({"LMOVE", "nokey", "dst", "LEFT", "LEFT"}), nil());
  EXPECT_EQ(run({"RPOPLPUSH", "nokey", "dst"}), nil());
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"RPOPLPUSH", "src", "str"}), wrongtype());
  EXPECT_EQ(run({"LRANGE", "src", "0", "-1"}), bulks({"b"}));  // nothing lost to the refusal
  EXPECT_EQ(run({"RPOPLPUSH", "src", "dst"}), bulk("b"));
  EXPECT_EQ(run({"EXISTS", "src"}), integer(0));
}

TEST_F(ListCommandsTest, WrongTypeBothWays) {
  run({"SET", "str", "v"});
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"LPUSH", "str", "a"}, {"RPUSHX", "str", "a"}, {"LPOP", "str"}, {"LPOP", "str", "0"}, {"LLEN", "str"},
           {"LRANGE", "str", "0", "1"}, {"LINDEX", "str", "0"}, {"LSET", "str", "0", "a"}, {"LREM", "str", "0", "a"},
           {"LTRIM", "str", "0", "1"}, {"LINSERT", "str", "BEFORE", "a", "b"}, {"LPOS", "str", "a"}}) {
    EXPECT_EQ(run(cmd), wrongtype()) << cmd[0];
  }
  run({"RPUSH", "l", "a"});
  EXPECT_EQ(run({"GET", "l"}), wrongtype());
  EXPECT_EQ(run({"HSET", "l", "f", "v"}), wrongtype());
  EXPECT_EQ(run({"SADD", "l", "m"}), wrongtype());
  EXPECT_EQ(run({"INCR", "l"}), wrongtype());
}

TEST_F(ListCommandsTest, KeyCommandsTreatAListLikeAnyKey) {
  run({"RPUSH", "l", "a", "b"});
  EXPECT_EQ(run({"EXPIRE", "l", "100"}), integer(1));
  EXPECT_EQ(run({"LPUSH", "l", "c"}), integer(3));
  EXPECT_EQ(run({"TTL", "l"}), integer(100));  // a push keeps the TTL
  EXPECT_EQ(run({"COPY", "l", "copy"}), integer(1));
  EXPECT_EQ(run({"LRANGE", "copy", "0", "-1"}), bulks({"c", "a", "b"}));
  EXPECT_EQ(run({"RENAME", "l", "renamed"}), ok());
  EXPECT_EQ(run({"LRANGE", "renamed", "0", "-1"}), bulks({"c", "a", "b"}));
  EXPECT_EQ(run({"EXISTS", "l"}), integer(0));
  EXPECT_EQ(run({"MEMORY", "USAGE", "renamed"}).front(), ':');
  EXPECT_EQ(run({"DEL", "renamed"}), integer(1));
  EXPECT_EQ(run({"LLEN", "renamed"}), integer(0));
  quiesce();
  EXPECT_EQ(run_in(kR2, {"LRANGE", "copy", "0", "-1"}), bulks({"c", "a", "b"}));
  EXPECT_EQ(run_in(kR2, {"TTL", "copy"}), integer(100));
  EXPECT_EQ(run_in(kR2, {"EXISTS", "renamed"}), integer(0));
}

TEST_F(ListCommandsTest, EveryWriteReachesTheOtherRegion) {
  run({"RPUSH", "l", "a", "b", "c", "d", "e"});
  run({"LPUSH", "l", "h"});
  run({"LSET", "l", "2", "B"});
  run({"LINSERT", "l", "AFTER", "c", "c2"});
  run({"LREM", "l", "1", "d"});
  run({"RPOP", "l"});
  run({"LTRIM", "l", "0", "3"});
  run({"EXPIRE", "l", "50"});
  run({"LMOVE", "l", "other", "LEFT", "LEFT"});
  quiesce();
  EXPECT_EQ(range(kR1, "l"), bulks({"a", "B", "c"}));
  EXPECT_EQ(range(kR2, "l"), range(kR1, "l"));
  EXPECT_EQ(range(kR2, "other"), bulks({"h"}));
  EXPECT_EQ(run_in(kR2, {"TTL", "l"}), integer(50));
  EXPECT_EQ(cache_->list_state_fetches(), 0u);  // every op applied where it was sent
}

// The bar of the issue: a list write sends its op, never the list.
TEST_F(ListCommandsTest, AWriteToABigListSendsTheOpNotTheList) {
  std::vector<std::string> push = {"RPUSH", "big"};
  for (int i = 0; i < 10'000; ++i) push.push_back("element-" + std::to_string(i));
  EXPECT_EQ(run(push), integer(10'000));
  quiesce();
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"LPUSH", "big", "head"}, {"RPOP", "big"}, {"LSET", "big", "5000", "five"}, {"EXPIRE", "big", "100"},
           {"LTRIM", "big", "1", "-2"}, {"LINSERT", "big", "BEFORE", "element-7", "seven"}}) {
    const uint64_t before = published_bytes();
    run(cmd);
    quiesce();
    EXPECT_LT(published_bytes() - before, 100u) << cmd[0];  // the list itself is ~140 KB
  }
  EXPECT_EQ(run_in(kR2, {"LLEN", "big"}), integer(9'999));
  EXPECT_EQ(run_in(kR2, {"LRANGE", "big", "0", "-1"}), run({"LRANGE", "big", "0", "-1"}));
  EXPECT_EQ(cache_->list_state_fetches(), 0u);
}

// A region whose list is not the one an op changed (it missed a write)
// fetches the whole key from the op's origin and ends equal.
TEST_F(ListCommandsTest, ARegionThatMissedAWriteFetchesTheListAndConverges) {
  run({"RPUSH", "l", "a", "b"});
  quiesce();
  const std::optional<Record> before = cache_->TEST_store(kR2).peek_with_tombstone("l");
  run({"RPUSH", "l", "c"});
  quiesce();
  // r2 loses the last write (as if its event never came).
  cache_->TEST_store(kR2).restore("l", before);
  EXPECT_EQ(range(kR2, "l"), bulks({"a", "b"}));
  run({"LPUSH", "l", "z"});
  quiesce();
  EXPECT_EQ(cache_->list_state_fetches(), 1u);
  EXPECT_EQ(range(kR2, "l"), bulks({"z", "a", "b", "c"}));
  EXPECT_EQ(range(kR1, "l"), range(kR2, "l"));
}

// Writes at once in both regions: the newer writer's whole list wins
// everywhere (last writer wins per key, the rule for lists).
TEST_F(ListCommandsTest, ConcurrentWritesConvergeToTheNewerWritersList) {
  run({"RPUSH", "l", "base"});
  quiesce();
  partition();
  run_in(kR1, {"RPUSH", "l", "from-r1"});
  clock_.advance_ms(1);
  run_in(kR2, {"LPUSH", "l", "from-r2"});
  quiesce();
  EXPECT_EQ(range(kR1, "l"), bulks({"from-r2", "base"}));
  EXPECT_EQ(range(kR2, "l"), bulks({"from-r2", "base"}));
  EXPECT_GE(cache_->list_state_fetches(), 1u);
}

// A resync snapshot carries a list whole, a big one (over 256 KiB) in
// pieces that rebuild it at its version, so later ops apply to it.
TEST_F(ListCommandsTest, ASnapshotCarriesABigListInPieces) {
  partition();  // r2 gets nothing but the snapshot
  std::vector<std::string> push = {"RPUSH", "big"};
  for (int i = 0; i < 40'000; ++i) push.push_back("element-" + std::to_string(i));
  EXPECT_EQ(run(push), integer(40'000));
  run({"RPUSH", "small", "a", "b"});
  const Resync::Stats before = cache_->resync_stats();
  cache_->resync(kR2, kR1);
  EXPECT_GT(cache_->resync_stats().records_in - before.records_in, 2u);  // the big list took several records
  EXPECT_EQ(run_in(kR2, {"LRANGE", "big", "0", "-1"}), run({"LRANGE", "big", "0", "-1"}));
  EXPECT_EQ(range(kR2, "small"), bulks({"a", "b"}));
  EXPECT_EQ(cache_->TEST_store(kR2).peek("big")->version, cache_->TEST_store(kR1).peek("big")->version);
  quiesce();  // the held pushes are older than the snapshot: nothing changes
  run({"LPUSH", "big", "head"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"LINDEX", "big", "0"}), bulk("head"));
  EXPECT_EQ(run_in(kR2, {"LLEN", "big"}), integer(40'001));
  EXPECT_EQ(cache_->list_state_fetches(), 0u);
}

}  // namespace
}  // namespace geocache::testing
