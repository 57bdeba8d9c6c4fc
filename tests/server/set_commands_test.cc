// Set commands, in-process, compared byte for byte with Redis 7 replies
// (checked side by side with redis-server 7.0). Members of more than one
// come back in no particular order, so those replies are compared sorted.
#include <gmock/gmock.h>

#include <algorithm>
#include <string>
#include <vector>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

using ::testing::UnorderedElementsAre;

class SetCommandsTest : public CommandFixture {
 protected:
  // The bulk strings of a flat array reply, in reply order.
  static std::vector<std::string> items(const std::string& reply) {
    std::vector<std::string> out;
    size_t at = reply.find("\r\n") + 2;
    while (at < reply.size()) {
      if (reply[at] != '$') break;
      const size_t eol = reply.find("\r\n", at);
      const size_t len = std::stoul(reply.substr(at + 1, eol - at - 1));
      out.push_back(reply.substr(eol + 2, len));
      at = eol + 2 + len + 2;
    }
    return out;
  }
};

TEST_F(SetCommandsTest, SaddCountsNewMembersAndScardCountsThem) {
  EXPECT_EQ(run({"SADD", "s", "a", "b", "a"}), integer(2));
  EXPECT_EQ(run({"SADD", "s", "b", "c"}), integer(1));
  EXPECT_EQ(run({"SCARD", "s"}), integer(3));
  EXPECT_EQ(run({"SISMEMBER", "s", "a"}), integer(1));
  EXPECT_EQ(run({"SISMEMBER", "s", "z"}), integer(0));
  EXPECT_EQ(run({"SMISMEMBER", "s", "a", "z"}), "*2\r\n" + integer(1) + integer(0));
  EXPECT_THAT(items(run({"SMEMBERS", "s"})), UnorderedElementsAre("a", "b", "c"));
  EXPECT_EQ(run({"TYPE", "s"}), simple("set"));
}

TEST_F(SetCommandsTest, RemovingTheLastMemberDeletesTheKey) {
  run({"SADD", "s", "a", "b"});
  EXPECT_EQ(run({"SREM", "s", "a", "z", "a"}), integer(1));
  EXPECT_EQ(run({"SREM", "s", "b"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "s"}), integer(0));
  EXPECT_EQ(run({"SMEMBERS", "s"}), "*0\r\n");
  EXPECT_EQ(run({"SADD", "s", "again"}), integer(1));
}

TEST_F(SetCommandsTest, WrongTypeBothWays) {
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"SADD", "str", "a"}), wrongtype());
  EXPECT_EQ(run({"SCARD", "str"}), wrongtype());
  EXPECT_EQ(run({"SINTER", "nokey", "str"}), wrongtype());
  run({"SADD", "s", "a"});
  EXPECT_EQ(run({"GET", "s"}), wrongtype());
  EXPECT_EQ(run({"INCR", "s"}), wrongtype());
  EXPECT_EQ(run({"HSET", "s", "f", "v"}), wrongtype());
}

TEST_F(SetCommandsTest, SpopAndSrandmemberReplyShapes) {
  EXPECT_EQ(run({"SPOP", "nokey"}), nil());
  EXPECT_EQ(run({"SPOP", "nokey", "2"}), "*0\r\n");
  EXPECT_EQ(run({"SPOP", "nokey", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(run({"SRANDMEMBER", "nokey"}), nil());
  EXPECT_EQ(run({"SRANDMEMBER", "nokey", "-3"}), "*0\r\n");
  run({"SADD", "s", "a", "b", "c"});
  EXPECT_EQ(items(run({"SRANDMEMBER", "s", "5"})).size(), 3u);
  EXPECT_EQ(items(run({"SRANDMEMBER", "s", "-5"})).size(), 5u);
  const std::string popped = run({"SPOP", "s"});
  EXPECT_EQ(popped.substr(0, 4), "$1\r\n");
  EXPECT_EQ(items(run({"SPOP", "s", "5"})).size(), 2u);
  EXPECT_EQ(run({"EXISTS", "s"}), integer(0));
}

TEST_F(SetCommandsTest, AlgebraAndStore) {
  run({"SADD", "a", "1", "2", "3"});
  run({"SADD", "b", "2", "3", "4"});
  EXPECT_THAT(items(run({"SINTER", "a", "b"})), UnorderedElementsAre("2", "3"));
  EXPECT_THAT(items(run({"SUNION", "a", "b", "nokey"})), UnorderedElementsAre("1", "2", "3", "4"));
  EXPECT_THAT(items(run({"SDIFF", "a", "b"})), UnorderedElementsAre("1"));
  EXPECT_EQ(run({"SINTER", "a", "nokey"}), "*0\r\n");
  run({"SET", "dst", "was a string"});
  EXPECT_EQ(run({"SUNIONSTORE", "dst", "a", "b"}), integer(4));
  EXPECT_EQ(run({"SCARD", "dst"}), integer(4));
  EXPECT_EQ(run({"SINTERSTORE", "dst", "a", "b"}), integer(2));  // replaces the 4 members
  EXPECT_THAT(items(run({"SMEMBERS", "dst"})), UnorderedElementsAre("2", "3"));
  EXPECT_EQ(run({"SDIFFSTORE", "dst", "a", "a"}), integer(0));
  EXPECT_EQ(run({"EXISTS", "dst"}), integer(0));
  EXPECT_EQ(run({"SINTERCARD", "2", "a", "b"}), integer(2));
  EXPECT_EQ(run({"SINTERCARD", "2", "a", "b", "LIMIT", "1"}), integer(1));
  EXPECT_EQ(run({"SINTERCARD", "0", "a"}), err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(run({"SINTERCARD", "3", "a"}), err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(run({"SINTERCARD", "1", "a", "LIMIT", "-1"}), err("ERR LIMIT can't be negative"));
}

TEST_F(SetCommandsTest, SmoveMovesOneMember) {
  run({"SADD", "src", "m", "n"});
  EXPECT_EQ(run({"SMOVE", "src", "dst", "m"}), integer(1));
  EXPECT_EQ(run({"SMOVE", "src", "dst", "absent"}), integer(0));
  EXPECT_EQ(run({"SISMEMBER", "dst", "m"}), integer(1));
  EXPECT_EQ(run({"SISMEMBER", "src", "m"}), integer(0));
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"SMOVE", "src", "str", "n"}), wrongtype());
  EXPECT_EQ(run({"SISMEMBER", "src", "n"}), integer(1));
}

TEST_F(SetCommandsTest, SscanWalksEveryMember) {
  for (int i = 0; i < 25; ++i) run({"SADD", "s", "m" + std::to_string(i)});
  std::vector<std::string> seen;
  std::string cursor = "0";
  do {
    const std::string reply = run({"SSCAN", "s", cursor, "COUNT", "10"});
    const size_t c = reply.find("\r\n", 4) + 2;  // "*2\r\n$n\r\n<cursor>\r\n"
    const size_t eol = reply.find("\r\n", c);
    cursor = reply.substr(c, eol - c);
    for (auto& m : items(reply.substr(eol + 2))) seen.push_back(m);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 25u);
}

TEST_F(SetCommandsTest, ASetReplicatesAndKeepsItsTtl) {
  run({"SADD", "s", "a"});
  EXPECT_EQ(run({"EXPIRE", "s", "100"}), integer(1));
  run({"SADD", "s", "b"});
  EXPECT_EQ(run({"TTL", "s"}), integer(100));
  quiesce();
  EXPECT_EQ(run_in(kR2, {"SCARD", "s"}), integer(2));
  EXPECT_EQ(run_in(kR2, {"TTL", "s"}), integer(100));
  clock_.advance_ms(100'001);
  EXPECT_EQ(run({"EXISTS", "s"}), integer(0));
}

}  // namespace
}  // namespace geocache::testing
