// Sorted-set commands, in-process, compared byte for byte with Redis 7.0
// replies (checked side by side with redis-server 7.0).
#include <gtest/gtest.h>

#include <string>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

class ZsetCommandsTest : public CommandFixture {
 protected:
  void SetUp() override { run({"ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"}); }
};

TEST_F(ZsetCommandsTest, ZaddOptions) {
  EXPECT_EQ(run({"ZADD", "z", "1.5", "a"}), integer(0));
  EXPECT_EQ(run({"ZADD", "z", "NX", "10", "a", "4", "e"}), integer(1));
  EXPECT_EQ(run({"ZADD", "z", "XX", "10", "a", "5", "f"}), integer(0));
  EXPECT_EQ(run({"ZSCORE", "z", "a"}), bulk("10"));
  EXPECT_EQ(run({"ZADD", "z", "CH", "GT", "1", "a", "20", "b"}), integer(1));
  EXPECT_EQ(run({"ZADD", "z", "INCR", "2", "a"}), bulk("12"));
  EXPECT_EQ(run({"ZADD", "z", "NX", "INCR", "2", "a"}), nil());
  EXPECT_EQ(run({"ZADD", "z", "XX", "NX", "1", "a"}), err("ERR XX and NX options at the same time are not compatible"));
  EXPECT_EQ(run({"ZADD", "z", "GT", "LT", "1", "a"}),
            err("ERR GT, LT, and/or NX options at the same time are not compatible"));
  EXPECT_EQ(run({"ZADD", "z", "INCR", "1", "a", "2", "b"}), err("ERR INCR option supports a single increment-element pair"));
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2"}), err("ERR syntax error"));
  EXPECT_EQ(run({"ZADD", "z", "nan", "a"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"ZINCRBY", "z", "inf", "a"}), bulk("inf"));
  EXPECT_EQ(run({"ZINCRBY", "z", "-inf", "a"}), err("ERR resulting score is not a number (NaN)"));
}

TEST_F(ZsetCommandsTest, ScoresRanksAndCounts) {
  EXPECT_EQ(run({"ZCARD", "z"}), integer(4));
  EXPECT_EQ(run({"ZMSCORE", "z", "a", "nope"}), "*2\r\n" + bulk("1") + nil());
  EXPECT_EQ(run({"ZRANK", "z", "c"}), integer(2));
  EXPECT_EQ(run({"ZREVRANK", "z", "c"}), integer(1));
  EXPECT_EQ(run({"ZRANK", "z", "nope"}), nil());
  EXPECT_EQ(run({"ZCOUNT", "z", "(1", "3"}), integer(3));
  EXPECT_EQ(run({"ZCOUNT", "z", "-inf", "(3"}), integer(2));
  EXPECT_EQ(run({"ZCOUNT", "z", "x", "3"}), err("ERR min or max is not a float"));
  EXPECT_EQ(run({"TYPE", "z"}), simple("zset"));
  EXPECT_EQ(run({"GET", "z"}), wrongtype());
}

TEST_F(ZsetCommandsTest, Ranges) {
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1"}), bulks({"a", "b", "c", "d"}));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "1", "WITHSCORES"}), bulks({"a", "1", "b", "2"}));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "1", "REV"}), bulks({"d", "c"}));
  EXPECT_EQ(run({"ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "1", "2"}), bulks({"c", "d"}));
  EXPECT_EQ(run({"ZRANGE", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "2"}), bulks({"d", "c"}));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1", "LIMIT", "1", "2"}),
            err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "2", "3"}), bulks({"b", "c", "d"}));
  EXPECT_EQ(run({"ZREVRANGEBYSCORE", "z", "3", "2", "LIMIT", "1", "1"}), bulks({"c"}));
  EXPECT_EQ(run({"ZREVRANGE", "z", "0", "0", "WITHSCORES"}), bulks({"d", "3"}));
  EXPECT_EQ(run({"ZRANGE", "nokey", "0", "-1"}), "*0\r\n");
  run({"ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"});
  EXPECT_EQ(run({"ZRANGE", "lex", "[b", "(d", "BYLEX"}), bulks({"b", "c"}));
  EXPECT_EQ(run({"ZRANGE", "lex", "+", "[c", "BYLEX", "REV"}), bulks({"d", "c"}));
  EXPECT_EQ(run({"ZRANGE", "lex", "a", "c", "BYLEX"}), err("ERR min or max not valid string range item"));
}

TEST_F(ZsetCommandsTest, ScoresReplyAsRedisWritesThem) {
  run({"ZADD", "f", "0.1", "a", "-0", "b", "1e300", "c"});
  EXPECT_EQ(run({"ZSCORE", "f", "a"}), bulk("0.10000000000000001"));
  EXPECT_EQ(run({"ZSCORE", "f", "b"}), bulk("0"));
  EXPECT_EQ(run({"ZSCORE", "f", "c"}), bulk("1.0000000000000001e+300"));
  use_resp3();
  EXPECT_EQ(run({"ZSCORE", "f", "a"}), ",0.10000000000000001\r\n");
  EXPECT_EQ(run({"ZRANGE", "z", "0", "0", "WITHSCORES"}), "*1\r\n*2\r\n" + bulk("a") + ",1\r\n");
}

TEST_F(ZsetCommandsTest, RemovalsAndPops) {
  EXPECT_EQ(run({"ZPOPMIN", "z"}), bulks({"a", "1"}));
  EXPECT_EQ(run({"ZPOPMAX", "z", "2"}), bulks({"d", "3", "c", "3"}));
  EXPECT_EQ(run({"ZPOPMIN", "z", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(run({"ZPOPMIN", "nokey"}), "*0\r\n");
  run({"ZADD", "z", "5", "e", "6", "f"});
  EXPECT_EQ(run({"ZREMRANGEBYSCORE", "z", "5", "(6"}), integer(1));
  EXPECT_EQ(run({"ZREMRANGEBYRANK", "z", "-1", "-1"}), integer(1));
  EXPECT_EQ(run({"ZREM", "z", "b", "nope", "b"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "z"}), integer(0));
}

TEST_F(ZsetCommandsTest, ZscanWalksInRankOrder) {
  EXPECT_EQ(run({"ZSCAN", "z", "0", "COUNT", "3"}), "*2\r\n" + bulk("3") + bulks({"a", "1", "b", "2", "c", "3"}));
  EXPECT_EQ(run({"ZSCAN", "z", "3", "COUNT", "3"}), "*2\r\n" + bulk("0") + bulks({"d", "3"}));
  EXPECT_EQ(run({"ZSCAN", "z", "0", "MATCH", "b", "COUNT", "100"}), "*2\r\n" + bulk("0") + bulks({"b", "2"}));
}

TEST_F(ZsetCommandsTest, ReplicatesMemberByMember) {
  quiesce();
  run_in(kR2, {"ZADD", "z", "9", "a"});
  run({"ZADD", "z", "7", "e"});
  quiesce();
  for (RegionId r : {kR1, kR2}) EXPECT_EQ(run_in(r, {"ZRANGE", "z", "-2", "-1", "WITHSCORES"}), bulks({"e", "7", "a", "9"}));
}

}  // namespace
}  // namespace geocache::testing
