// EVAL, EVALSHA, SCRIPT through the server's dispatch. Reply bytes are what
// redis-server 7.0 sends for the same scripts.
#include <gtest/gtest.h>

#include "command_fixture.h"
#include "server/script_engine.h"

namespace geocache::testing {
namespace {

class ScriptCommandsTest : public CommandFixture {};

TEST_F(ScriptCommandsTest, ConvertsLuaValuesToReplies) {
  EXPECT_EQ(run({"EVAL", "return {1, 2.7, 'a', false, nil, 3}", "0"}), "*4\r\n:1\r\n:2\r\n$1\r\na\r\n$-1\r\n");
  EXPECT_EQ(run({"EVAL", "return {ok='fine'}", "0"}), simple("fine"));
  EXPECT_EQ(run({"EVAL", "return redis.status_reply('S')", "0"}), simple("S"));
  EXPECT_EQ(run({"EVAL", "return redis.error_reply('My Error')", "0"}), err("My Error"));
  EXPECT_EQ(run({"EVAL", "return true", "0"}), integer(1));
  EXPECT_EQ(run({"EVAL", "return nil", "0"}), nil());
  EXPECT_EQ(run({"EVAL", "return -3.99", "0"}), integer(-3));
  EXPECT_EQ(run({"EVAL", "return redis.sha1hex('')", "0"}), bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
}

TEST_F(ScriptCommandsTest, ConvertsRepliesToLuaValues) {
  EXPECT_EQ(run({"HSET", "h", "f", "v"}), integer(1));
  // Integer -> number, bulk -> string, nil -> false, array -> table, status -> {ok}.
  EXPECT_EQ(run({"EVAL",
                 "local a = redis.call('HSET', 'h', 'g', 'w'); local b = redis.call('GET', 'missing');"
                 "local c = redis.call('HMGET', 'h', 'f', 'nope'); local d = redis.call('SET', 'k', 'v');"
                 "return {type(a), tostring(b), c[1], tostring(c[2]), d.ok}",
                 "0"}),
            bulks({"number", "false", "v", "false", "OK"}));
  EXPECT_EQ(run({"EVAL", "return redis.pcall('HGET', 'k', 'f')['err']", "0"}), bulk(errors::kWrongType));
}

TEST_F(ScriptCommandsTest, KeysAndArgv) {
  EXPECT_EQ(run({"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "a", "b", "x", "y"}),
            "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nx\r\n:2\r\n");
  EXPECT_EQ(run({"EVAL", "return 1", "-1"}), err(errors::kNegativeKeys));
  EXPECT_EQ(run({"EVAL", "return 1", "2", "a"}), err(errors::kTooManyKeys));
}

TEST_F(ScriptCommandsTest, ErrorsSayWhereAsRedisDoes) {
  EXPECT_EQ(run({"SET", "s", "text"}), ok());
  EXPECT_EQ(run({"EVAL", "return redis.call('incr','s')", "0"}),
            err("ERR value is not an integer or out of range script: c243b9f46db13ba8f69da41b45a77708832babed, on "
                "@user_script:1."));
  EXPECT_EQ(run({"EVAL", "return foo", "0"}),
            err("ERR user_script:1: Script attempted to access nonexistent global variable 'foo' script: "
                "47e30a5d10d5694f99208f9adc4fe3bf2450edbd, on @user_script:1."));
  EXPECT_EQ(run({"EVAL", "x = 1", "0"}),
            err("ERR user_script:1: Attempt to modify a readonly table script: "
                "34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1."));
  EXPECT_EQ(run({"EVAL", "return redis.call('multi')", "0"}),
            err("ERR This Redis command is not allowed from script script: "
                "c329a1a294be6bf95b44144f7502610661ae925a, on @user_script:1."));
  EXPECT_EQ(run({"EVAL_RO", "return redis.call('set','k','v')", "0"}),
            err("ERR Write commands are not allowed from read-only scripts. script: "
                "d223ed8c7345b684e8ed044ed472601f536fa58b, on @user_script:1."));
}

TEST_F(ScriptCommandsTest, SandboxHasNoOsIoOrFileLoading) {
  for (const char* name : {"os", "io", "loadfile", "dofile", "require", "getfenv"}) {
    const std::string reply = run({"EVAL", std::string("return ") + name, "0"});
    EXPECT_NE(reply.find("nonexistent global variable"), std::string::npos) << name << ": " << reply;
  }
}

TEST_F(ScriptCommandsTest, ScriptCacheLoadExistsFlush) {
  const std::string sha = ScriptEngine::sha1_hex("return ARGV[1]");
  EXPECT_EQ(run({"EVALSHA", sha, "0", "x"}), err(errors::kNoScript));
  EXPECT_EQ(run({"SCRIPT", "LOAD", "return ARGV[1]"}), bulk(sha));
  EXPECT_EQ(run({"SCRIPT", "EXISTS", sha, "0000"}), "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(run({"EVALSHA", sha, "0", "x"}), bulk("x"));
  EXPECT_EQ(run({"SCRIPT", "FLUSH"}), ok());
  EXPECT_EQ(run({"SCRIPT", "EXISTS", sha}), "*1\r\n:0\r\n");
  EXPECT_EQ(run({"EVALSHA", sha, "0", "x"}), err(errors::kNoScript));
  EXPECT_EQ(run({"SCRIPT", "LOAD", "return +"}).substr(0, 29), "-ERR Error compiling script (");
}

TEST_F(ScriptCommandsTest, ScriptWritesReplicateToTheOtherRegion) {
  EXPECT_EQ(run({"EVAL", "redis.call('SET', KEYS[1], 'a'); return redis.call('INCR', KEYS[2])", "2", "s1", "s2"}),
            integer(1));
  quiesce();
  EXPECT_EQ(run_in(kR2, {"MGET", "s1", "s2"}), bulks({"a", "1"}));
}

TEST_F(ScriptCommandsTest, RunawayScriptIsKilledAndItsWritesUndone) {
  EXPECT_EQ(run({"SET", "keep", "original"}), ok());
  EXPECT_EQ(run({"HSET", "hash", "f", "1"}), integer(1));
  EXPECT_EQ(run({"CONFIG", "SET", "lua-time-limit", "50"}), ok());
  const std::string reply = run({"EVAL",
                                 "redis.call('SET', 'keep', 'changed'); redis.call('SET', 'new', 1);"
                                 "redis.call('HSET', 'hash', 'f', 2, 'g', 3); redis.call('DEL', 'keep');"
                                 "while true do pcall(function() while true do end end) end",
                                 "0"});
  EXPECT_NE(reply.find("lua-time-limit"), std::string::npos) << reply;
  EXPECT_EQ(run({"GET", "keep"}), bulk("original"));
  EXPECT_EQ(run({"EXISTS", "new"}), integer(0));
  EXPECT_EQ(run({"HGETALL", "hash"}), bulks({"f", "1"}));
  // Nothing of it reached the other region.
  quiesce();
  EXPECT_EQ(run_in(kR2, {"GET", "keep"}), bulk("original"));
  EXPECT_EQ(run_in(kR2, {"EXISTS", "new"}), integer(0));
  EXPECT_EQ(run_in(kR2, {"HGETALL", "hash"}), bulks({"f", "1"}));
  // The VM serves on.
  EXPECT_EQ(run({"EVAL", "return 1", "0"}), integer(1));
}

TEST_F(ScriptCommandsTest, ScriptInsideATransaction) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EVAL", "return redis.call('SET', 'in', 'tx')", "0"}), simple("QUEUED"));
  EXPECT_EQ(run({"GET", "in"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*2\r\n+OK\r\n$2\r\ntx\r\n");
}

}  // namespace
}  // namespace geocache::testing
