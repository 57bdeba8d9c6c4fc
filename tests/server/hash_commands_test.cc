// Hash commands, in-process, compared byte for byte with Redis 7 replies.
#include <string>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

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
  // Fields come back in byte order of their names.
  EXPECT_EQ(run({"HGETALL", "h"}), bulks({"a", "1", "b", "2"}));
}

TEST_F(HashCommandsTest, HgetallResp3IsMap) {
  use_resp3();
  EXPECT_EQ(run({"HGETALL", "nokey"}), "%0\r\n");
  run({"HSET", "h", "a", "1", "b", "2"});
  EXPECT_EQ(run({"HGETALL", "h"}), "%2\r\n" + bulk("a") + bulk("1") + bulk("b") + bulk("2"));
  EXPECT_EQ(run({"HGET", "h", "x"}), "_\r\n");
}

TEST_F(HashCommandsTest, HkeysHvalsHlen) {
  EXPECT_EQ(run({"HKEYS", "nokey"}), "*0\r\n");
  EXPECT_EQ(run({"HVALS", "nokey"}), "*0\r\n");
  EXPECT_EQ(run({"HLEN", "nokey"}), integer(0));
  run({"HSET", "h", "x", "1", "y", "2"});
  EXPECT_EQ(run({"HKEYS", "h"}), bulks({"x", "y"}));
  EXPECT_EQ(run({"HVALS", "h"}), bulks({"1", "2"}));
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

TEST_F(HashCommandsTest, HsetReplicatesWholeHash) {
  run({"HSET", "h", "a", "1", "b", "2"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"HGETALL", "h"}), bulks({"a", "1", "b", "2"}));
  // A write in region 2 carries the whole hash back to region 1.
  run_in(kR2, {"HSET", "h", "c", "3"});
  quiesce();
  EXPECT_EQ(run({"HGETALL", "h"}), bulks({"a", "1", "b", "2", "c", "3"}));
  run({"HDEL", "h", "a", "b", "c"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXISTS", "h"}), integer(0));
}

TEST_F(HashCommandsTest, ConcurrentFieldWritesConvergeToOneWholeHash) {
  run({"HSET", "h", "base", "0"});
  quiesce();
  // Two regions write different fields before hearing from each other: last
  // writer wins on the whole hash, and both regions end up identical.
  run({"HSET", "h", "x", "1"});
  run_in(kR2, {"HSET", "h", "y", "2"});
  quiesce();
  EXPECT_EQ(run({"HGETALL", "h"}), run_in(kR2, {"HGETALL", "h"}));
}

}  // namespace
}  // namespace geocache::testing
