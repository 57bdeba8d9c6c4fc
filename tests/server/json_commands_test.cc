// JSON commands (root-only RedisJSON subset), in-process, compared byte for
// byte with RedisJSON's replies.
#include <string>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

class JsonCommandsTest : public CommandFixture {};

TEST_F(JsonCommandsTest, SetAndGetRoot) {
  EXPECT_EQ(run({"JSON.SET", "doc", "$", R"({"a":1,"b":[true,null,"x"]})"}), ok());
  EXPECT_EQ(run({"JSON.GET", "doc"}), bulk(R"({"a":1,"b":[true,null,"x"]})"));
  EXPECT_EQ(run({"JSON.GET", "doc", "."}), bulk(R"({"a":1,"b":[true,null,"x"]})"));
  EXPECT_EQ(run({"JSON.GET", "doc", "$"}), bulk(R"([{"a":1,"b":[true,null,"x"]}])"));
  EXPECT_EQ(run({"TYPE", "doc"}), simple("ReJSON-RL"));
}

TEST_F(JsonCommandsTest, SetWithLegacyRootAndScalars) {
  EXPECT_EQ(run({"JSON.SET", "n", ".", "42"}), ok());
  EXPECT_EQ(run({"JSON.GET", "n"}), bulk("42"));
  EXPECT_EQ(run({"JSON.SET", "s", "$", R"("hi")"}), ok());
  EXPECT_EQ(run({"JSON.GET", "s", "$"}), bulk(R"(["hi"])"));
  EXPECT_EQ(run({"JSON.SET", "f", "$", "1.5"}), ok());
  EXPECT_EQ(run({"JSON.GET", "f"}), bulk("1.5"));
}

TEST_F(JsonCommandsTest, GetSeveralPaths) {
  run({"JSON.SET", "d", "$", "[1]"});
  EXPECT_EQ(run({"JSON.GET", "d", ".", "."}), bulk(R"({".":[1]})"));
  EXPECT_EQ(run({"JSON.GET", "d", "$", "$"}), bulk(R"({"$":[[1]]})"));
}

TEST_F(JsonCommandsTest, GetMissingKeyIsNil) {
  EXPECT_EQ(run({"JSON.GET", "nokey"}), nil());
  EXPECT_EQ(run({"JSON.GET", "nokey", "$"}), nil());
}

TEST_F(JsonCommandsTest, SetNxXx) {
  EXPECT_EQ(run({"JSON.SET", "d", "$", "1", "XX"}), nil());
  EXPECT_EQ(run({"EXISTS", "d"}), integer(0));
  EXPECT_EQ(run({"JSON.SET", "d", "$", "1", "NX"}), ok());
  EXPECT_EQ(run({"JSON.SET", "d", "$", "2", "nx"}), nil());
  EXPECT_EQ(run({"JSON.GET", "d"}), bulk("1"));
  EXPECT_EQ(run({"JSON.SET", "d", "$", "3", "XX"}), ok());
  EXPECT_EQ(run({"JSON.GET", "d"}), bulk("3"));
  EXPECT_EQ(run({"JSON.SET", "d", "$", "4", "NX", "XX"}), err("ERR syntax error"));
  EXPECT_EQ(run({"JSON.SET", "d", "$", "4", "FOO"}), err("ERR syntax error"));
}

TEST_F(JsonCommandsTest, NonRootPaths) {
  EXPECT_EQ(run({"JSON.SET", "d", "$.a", "1"}), err("ERR new objects must be created at the root"));
  run({"JSON.SET", "d", "$", "{}"});
  EXPECT_EQ(run({"JSON.SET", "d", "$.a", "1"}), err("ERR only the root path ($ or .) is supported"));
  EXPECT_EQ(run({"JSON.GET", "d", "$.a"}), err("ERR only the root path ($ or .) is supported"));
  EXPECT_EQ(run({"JSON.DEL", "d", ".a"}), err("ERR only the root path ($ or .) is supported"));
  EXPECT_EQ(run({"JSON.TYPE", "d", "$.a"}), err("ERR only the root path ($ or .) is supported"));
}

TEST_F(JsonCommandsTest, InvalidJsonIsAnError) {
  const std::string reply = run({"JSON.SET", "d", "$", "{bad"});
  EXPECT_EQ(reply.substr(0, 5), "-ERR ");
  EXPECT_EQ(run({"EXISTS", "d"}), integer(0));
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  EXPECT_EQ(run({"JSON.SET", "d", "$", deep}).substr(0, 5), "-ERR ");
}

TEST_F(JsonCommandsTest, Del) {
  run({"JSON.SET", "d", "$", "{}"});
  EXPECT_EQ(run({"JSON.DEL", "d", "$"}), integer(1));
  EXPECT_EQ(run({"JSON.DEL", "d"}), integer(0));
  run({"JSON.SET", "d", "$", "{}"});
  EXPECT_EQ(run({"JSON.FORGET", "d", "."}), integer(1));
  EXPECT_EQ(run({"EXISTS", "d"}), integer(0));
}

TEST_F(JsonCommandsTest, Type) {
  run({"JSON.SET", "o", "$", "{}"});
  run({"JSON.SET", "a", "$", "[]"});
  run({"JSON.SET", "i", "$", "1"});
  run({"JSON.SET", "n", "$", "1.5"});
  run({"JSON.SET", "b", "$", "false"});
  run({"JSON.SET", "z", "$", "null"});
  run({"JSON.SET", "s", "$", R"("x")"});
  EXPECT_EQ(run({"JSON.TYPE", "o"}), bulk("object"));
  EXPECT_EQ(run({"JSON.TYPE", "a"}), bulk("array"));
  EXPECT_EQ(run({"JSON.TYPE", "i"}), bulk("integer"));
  EXPECT_EQ(run({"JSON.TYPE", "n"}), bulk("number"));
  EXPECT_EQ(run({"JSON.TYPE", "b"}), bulk("boolean"));
  EXPECT_EQ(run({"JSON.TYPE", "z"}), bulk("null"));
  EXPECT_EQ(run({"JSON.TYPE", "s", "."}), bulk("string"));
  EXPECT_EQ(run({"JSON.TYPE", "o", "$"}), bulks({"object"}));
  EXPECT_EQ(run({"JSON.TYPE", "nokey"}), nil());
}

TEST_F(JsonCommandsTest, Mget) {
  run({"JSON.SET", "a", "$", "1"});
  run({"JSON.SET", "b", "$", R"({"x":2})"});
  run({"SET", "s", "str"});
  EXPECT_EQ(run({"JSON.MGET", "a", "b", "s", "nokey", "$"}),
            "*4\r\n" + bulk("[1]") + bulk(R"([{"x":2}])") + nil() + nil());
  EXPECT_EQ(run({"JSON.MGET", "a", "."}), bulks({"1"}));
}

TEST_F(JsonCommandsTest, WrongType) {
  run({"SET", "s", "v"});
  run({"HSET", "h", "f", "v"});
  for (const char* key : {"s", "h"}) {
    EXPECT_EQ(run({"JSON.SET", key, "$", "1"}), wrongtype()) << key;
    EXPECT_EQ(run({"JSON.GET", key}), wrongtype()) << key;
    EXPECT_EQ(run({"JSON.DEL", key}), wrongtype()) << key;
    EXPECT_EQ(run({"JSON.TYPE", key}), wrongtype()) << key;
  }
  run({"JSON.SET", "j", "$", "1"});
  EXPECT_EQ(run({"GET", "j"}), wrongtype());
  EXPECT_EQ(run({"HGET", "j", "f"}), wrongtype());
}

TEST_F(JsonCommandsTest, CppApiValuesReadAsDocuments) {
  Value::Map m;
  m["name"] = Value("geo");
  m["tags"] = Value(Value::List{Value(1), Value(2.5)});
  ASSERT_TRUE(cache_->put("v", Value(m), "r1").ok());
  EXPECT_EQ(run({"JSON.GET", "v"}), bulk(R"({"name":"geo","tags":[1,2.5]})"));
  EXPECT_EQ(run({"JSON.TYPE", "v"}), bulk("object"));
  EXPECT_EQ(run({"TYPE", "v"}), simple("ReJSON-RL"));
}

TEST_F(JsonCommandsTest, ReplacingKeepsTtlCreatingGetsDefault) {
  run({"JSON.SET", "d", "$", "1"});
  run({"EXPIRE", "d", "100"});
  run({"JSON.SET", "d", "$", "2"});
  EXPECT_EQ(run({"TTL", "d"}), integer(100));
  cache_->set_default_ttl_ms(5'000);
  run({"JSON.SET", "e", "$", "1"});
  EXPECT_EQ(run({"PTTL", "e"}), integer(5'000));
}

TEST_F(JsonCommandsTest, SetAndDelReplicate) {
  run({"JSON.SET", "d", "$", R"({"k":[1,2]})"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"JSON.GET", "d"}), bulk(R"({"k":[1,2]})"));
  EXPECT_EQ(run_in(kR2, {"TYPE", "d"}), simple("ReJSON-RL"));
  run({"JSON.DEL", "d"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"JSON.GET", "d"}), nil());
}

}  // namespace
}  // namespace geocache::testing
