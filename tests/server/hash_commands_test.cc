// Hash commands, in-process, compared byte for byte with Redis 7 replies.
#include <gmock/gmock.h>

#include <string>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

using ::testing::AnyOf;

class HashCommandsTest : public CommandFixture {};

TEST_F(HashCommandsTest, HsetCountsNewFields) {
  EXPECT_EQ(run({"HSET", "h", "a", "1", "b", "2"}), integer(2));
  EXPECT_EQ(run({"HSET", "h", "a", "10", "c", "3"}), integer(1));
  EXPECT_EQ(run({"HGET", "h", "a"}), bulk("10"));
  EXPECT_EQ(run({"HLEN", "h"}), integer(3));
  EXPECT_EQ(run({"TYPE", "h"}), simple("hash"));
}

TEST_F(HashCommandsTest, HsetArity) {
  EXPECT_EQ(run({"HSET", "h", "a"}), err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(run({"HSET", "h", "a", "1", "b"}), err("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(run({"HMSET", "h", "a", "1", "b"}), err("ERR wrong number of arguments for 'hmset' command"));
  EXPECT_EQ(run({"EXISTS", "h"}), integer(0));
}

TEST_F(HashCommandsTest, HmsetRepliesOk) {
  EXPECT_EQ(run({"HMSET", "h", "a", "1", "b", "2"}), ok());
  EXPECT_EQ(run({"HMGET", "h", "a", "x", "b"}), "*3\r\n" + bulk("1") + nil() + bulk("2"));
}

TEST_F(HashCommandsTest, HgetMissing) {
  EXPECT_EQ(run({"HGET", "nokey", "f"}), nil());
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"HGET", "h", "nofield"}), nil());
}

TEST_F(HashCommandsTest, HmgetOnMissingKeyIsAllNil) {
  EXPECT_EQ(run({"HMGET", "nokey", "a", "b"}), "*2\r\n" + nil() + nil());
}

TEST_F(HashCommandsTest, HgetallResp2IsFlatArray) {
  EXPECT_EQ(run({"HGETALL", "nokey"}), "*0\r\n");
  run({"HSET", "h", "b", "2", "a", "1"});
  // Fields come back in no particular order, as from a big Redis hash.
  EXPECT_THAT(run({"HGETALL", "h"}), AnyOf(bulks({"a", "1", "b", "2"}), bulks({"b", "2", "a", "1"})));
}

TEST_F(HashCommandsTest, HgetallResp3IsMap) {
  use_resp3();
  EXPECT_EQ(run({"HGETALL", "nokey"}), "%0\r\n");
  run({"HSET", "h", "a", "1", "b", "2"});
  EXPECT_THAT(run({"HGETALL", "h"}), AnyOf("%2\r\n" + bulk("a") + bulk("1") + bulk("b") + bulk("2"),
                                           "%2\r\n" + bulk("b") + bulk("2") + bulk("a") + bulk("1")));
  EXPECT_EQ(run({"HGET", "h", "x"}), "_\r\n");
}

TEST_F(HashCommandsTest, HkeysHvalsHlen) {
  EXPECT_EQ(run({"HKEYS", "nokey"}), "*0\r\n");
  EXPECT_EQ(run({"HVALS", "nokey"}), "*0\r\n");
  EXPECT_EQ(run({"HLEN", "nokey"}), integer(0));
  run({"HSET", "h", "x", "1", "y", "2"});
  // Keys and values in the same order, whichever it is.
  const std::string keys = run({"HKEYS", "h"});
  EXPECT_THAT(keys, AnyOf(bulks({"x", "y"}), bulks({"y", "x"})));
  EXPECT_EQ(run({"HVALS", "h"}), keys == bulks({"x", "y"}) ? bulks({"1", "2"}) : bulks({"2", "1"}));
  EXPECT_EQ(run({"HLEN", "h"}), integer(2));
}

TEST_F(HashCommandsTest, HexistsHstrlen) {
  run({"HSET", "h", "f", "hello"});
  EXPECT_EQ(run({"HEXISTS", "h", "f"}), integer(1));
  EXPECT_EQ(run({"HEXISTS", "h", "g"}), integer(0));
  EXPECT_EQ(run({"HEXISTS", "nokey", "f"}), integer(0));
  EXPECT_EQ(run({"HSTRLEN", "h", "f"}), integer(5));
  EXPECT_EQ(run({"HSTRLEN", "h", "g"}), integer(0));
}

TEST_F(HashCommandsTest, HdelAndLastFieldDeletesKey) {
  run({"HSET", "h", "a", "1", "b", "2"});
  EXPECT_EQ(run({"HDEL", "h", "a", "nofield", "a"}), integer(1));
  EXPECT_EQ(run({"HDEL", "nokey", "a"}), integer(0));
  EXPECT_EQ(run({"HDEL", "h", "b"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "h"}), integer(0));
  EXPECT_EQ(run({"TYPE", "h"}), simple("none"));
}

TEST_F(HashCommandsTest, Hsetnx) {
  EXPECT_EQ(run({"HSETNX", "h", "f", "1"}), integer(1));
  EXPECT_EQ(run({"HSETNX", "h", "f", "2"}), integer(0));
  EXPECT_EQ(run({"HGET", "h", "f"}), bulk("1"));
}

TEST_F(HashCommandsTest, Hincrby) {
  EXPECT_EQ(run({"HINCRBY", "h", "n", "5"}), integer(5));
  EXPECT_EQ(run({"HINCRBY", "h", "n", "-7"}), integer(-2));
  EXPECT_EQ(run({"HGET", "h", "n"}), bulk("-2"));
  run({"HSET", "h", "s", "abc", "max", "9223372036854775807"});
  EXPECT_EQ(run({"HINCRBY", "h", "s", "1"}), err("ERR hash value is not an integer"));
  EXPECT_EQ(run({"HINCRBY", "h", "max", "1"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"HINCRBY", "h", "n", "x"}), err("ERR value is not an integer or out of range"));
}

TEST_F(HashCommandsTest, Hincrbyfloat) {
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "10.5"}), bulk("10.5"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "0.1"}), bulk("10.6"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "-0.6"}), bulk("10"));
  run({"HSET", "h", "s", "abc"});
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "s", "1"}), err("ERR hash value is not a float"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "x"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "inf"}), err("ERR value is NaN or Infinity"));
  run({"HSET", "h", "big", "1.1e4932"});
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "big", "1e4932"}), err("ERR increment would produce NaN or Infinity"));
}

TEST_F(HashCommandsTest, WrongTypeBothWays) {
  run({"SET", "s", "v"});
  run({"JSON.SET", "j", "$", "{}"});
  for (const char* key : {"s", "j"}) {
    EXPECT_EQ(run({"HSET", key, "f", "v"}), wrongtype()) << key;
    EXPECT_EQ(run({"HGET", key, "f"}), wrongtype()) << key;
    EXPECT_EQ(run({"HGETALL", key}), wrongtype()) << key;
    EXPECT_EQ(run({"HDEL", key, "f"}), wrongtype()) << key;
    EXPECT_EQ(run({"HLEN", key}), wrongtype()) << key;
    EXPECT_EQ(run({"HINCRBY", key, "f", "1"}), wrongtype()) << key;
  }
  ASSERT_TRUE(cache_->put("cpp", Value(int64_t{1}), "r1").ok());
  EXPECT_EQ(run({"HGET", "cpp", "f"}), wrongtype());
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"GET", "h"}), wrongtype());
  EXPECT_EQ(run({"APPEND", "h", "x"}), wrongtype());
}

TEST_F(HashCommandsTest, WritesKeepTtl) {
  run({"HSET", "h", "a", "1"});
  run({"EXPIRE", "h", "100"});
  run({"HSET", "h", "b", "2"});
  run({"HDEL", "h", "a"});
  run({"HINCRBY", "h", "b", "1"});
  EXPECT_EQ(run({"TTL", "h"}), integer(100));
}

TEST_F(HashCommandsTest, NewHashGetsDefaultTtl) {
  cache_->set_default_ttl_ms(30'000);
  run({"HSET", "h", "a", "1"});
  EXPECT_EQ(run({"PTTL", "h"}), integer(30'000));
}

TEST_F(HashCommandsTest, HsetReplicatesTheFieldsItWrites) {
  run({"HSET", "h", "a", "1", "b", "2"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"HMGET", "h", "a", "b"}), bulks({"1", "2"}));
  // A write in region 2 adds its field to the hash region 1 holds.
  run_in(kR2, {"HSET", "h", "c", "3"});
  quiesce();
  EXPECT_EQ(run({"HMGET", "h", "a", "b", "c"}), bulks({"1", "2", "3"}));
  EXPECT_EQ(run({"HLEN", "h"}), integer(3));
  run({"HDEL", "h", "a", "b", "c"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXISTS", "h"}), integer(0));
}

TEST_F(HashCommandsTest, ConcurrentWritesOfDifferentFieldsKeepThemAll) {
  run({"HSET", "h", "base", "0"});
  quiesce();
  // Two regions write different fields before hearing from each other: the
  // hash merges per field, so both writes survive in both regions.
  run({"HSET", "h", "x", "1"});
  run_in(kR2, {"HSET", "h", "y", "2"});
  run_in(kR2, {"HINCRBY", "h", "n", "5"});
  quiesce();
  for (RegionId r : {kR1, kR2}) {
    EXPECT_EQ(run_in(r, {"HMGET", "h", "base", "x", "y", "n"}), bulks({"0", "1", "2", "5"}));
    EXPECT_EQ(run_in(r, {"HLEN", "h"}), integer(4));
  }
}

TEST_F(HashCommandsTest, ConcurrentWritesOfOneFieldConvergeOnTheLater) {
  run({"HSET", "h", "f", "first"});
  run_in(kR2, {"HSET", "h", "f", "second"});
  quiesce();
  EXPECT_EQ(run({"HGET", "h", "f"}), bulk("second"));
  EXPECT_EQ(run_in(kR2, {"HGET", "h", "f"}), bulk("second"));
}

TEST_F(HashCommandsTest, FieldDeletedInOneRegionStaysDeletedWhileAnotherRegionWritesOthers) {
  run({"HSET", "h", "a", "1", "b", "2"});
  quiesce();
  run({"HDEL", "h", "a"});
  run_in(kR2, {"HSET", "h", "c", "3"});
  quiesce();
  for (RegionId r : {kR1, kR2}) {
    EXPECT_EQ(run_in(r, {"HMGET", "h", "a", "b", "c"}), "*3\r\n" + nil() + bulk("2") + bulk("3"));
    EXPECT_EQ(run_in(r, {"HLEN", "h"}), integer(2));
  }
}

TEST_F(HashCommandsTest, DelOfTheKeyTakesTheFieldsWrittenBeforeItAndKeepsTheLaterOnes) {
  run({"HSET", "h", "old", "1"});
  quiesce();
  partition();
  run_in(kR2, {"HSET", "h", "before", "2"});  // not yet seen by region 1
  run({"DEL", "h"});
  run_in(kR2, {"HSET", "h", "after", "3"});  // after the DEL, not yet seen by region 2
  quiesce();
  for (RegionId r : {kR1, kR2}) {
    EXPECT_EQ(run_in(r, {"HMGET", "h", "old", "before", "after"}), "*3\r\n" + nil() + nil() + bulk("3"));
  }
}

TEST_F(HashCommandsTest, StringWrittenConcurrentlyWithAFieldConvergesEverywhere) {
  run({"HSET", "h", "f", "1"});
  quiesce();
  partition();
  run({"SET", "h", "text"});
  run_in(kR2, {"HSET", "h", "g", "2"});  // later than the SET: the hash wins with its newer field
  quiesce();
  for (RegionId r : {kR1, kR2}) {
    EXPECT_EQ(run_in(r, {"TYPE", "h"}), simple("hash"));
    EXPECT_EQ(run_in(r, {"HMGET", "h", "f", "g"}), "*2\r\n" + nil() + bulk("2"));
  }
}

TEST_F(HashCommandsTest, ExpiryOfAHashReplicatesWithoutItsFields) {
  run({"HSET", "h", "a", "1", "b", "2"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXPIRE", "h", "100"}), integer(1));
  quiesce();
  EXPECT_EQ(run({"TTL", "h"}), integer(100));
  EXPECT_EQ(run({"HLEN", "h"}), integer(2));
  // A field written after keeps the expiry, in both regions.
  run({"HSET", "h", "c", "3"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"TTL", "h"}), integer(100));
  EXPECT_EQ(run({"PERSIST", "h"}), integer(1));
  quiesce();
  EXPECT_EQ(run_in(kR2, {"TTL", "h"}), integer(-1));
  EXPECT_EQ(run_in(kR2, {"HLEN", "h"}), integer(3));
}

TEST_F(HashCommandsTest, FieldNamedTwiceInOneHsetTakesItsLastValue) {
  EXPECT_EQ(run({"HSET", "h", "f", "1", "f", "2"}), integer(1));
  EXPECT_EQ(run({"HGET", "h", "f"}), bulk("2"));
  EXPECT_EQ(run({"HDEL", "h", "f", "f"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "h"}), integer(0));
}

}  // namespace
}  // namespace geocache::testing
