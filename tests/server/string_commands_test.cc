// String commands, in-process, compared byte for byte with Redis 7 replies.
#include <string>

#include "server/data_helpers.h"
#include "command_fixture.h"

namespace geocache::testing {
namespace {

class StringCommandsTest : public CommandFixture {};

// ---- GET / SET -----------------------------------------------------------

TEST_F(StringCommandsTest, GetMissingIsNil) { EXPECT_EQ(run({"GET", "nokey"}), nil()); }

TEST_F(StringCommandsTest, SetThenGet) {
  EXPECT_EQ(run({"SET", "k", "v"}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
  EXPECT_EQ(run({"SET", "k", ""}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk(""));
}

TEST_F(StringCommandsTest, BinarySafeValues) {
  const std::string v("a\0b\r\nc", 6);
  EXPECT_EQ(run({"SET", "k", v}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk(v));
  EXPECT_EQ(run({"STRLEN", "k"}), integer(6));
}

TEST_F(StringCommandsTest, ArityErrors) {
  EXPECT_EQ(run({"GET"}), err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(run({"SET", "k"}), err("ERR wrong number of arguments for 'set' command"));
  EXPECT_EQ(run({"MSET", "a", "1", "b"}), err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(run({"MSETNX", "a", "1", "b"}), err("ERR wrong number of arguments for 'msetnx' command"));
}

TEST_F(StringCommandsTest, SetNxXx) {
  EXPECT_EQ(run({"SET", "k", "1", "XX"}), nil());
  EXPECT_EQ(run({"GET", "k"}), nil());
  EXPECT_EQ(run({"SET", "k", "1", "NX"}), ok());
  EXPECT_EQ(run({"SET", "k", "2", "nx"}), nil());
  EXPECT_EQ(run({"GET", "k"}), bulk("1"));
  EXPECT_EQ(run({"SET", "k", "3", "xx"}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk("3"));
}

TEST_F(StringCommandsTest, SetGetOption) {
  EXPECT_EQ(run({"SET", "k", "1", "GET"}), nil());
  EXPECT_EQ(run({"SET", "k", "2", "GET"}), bulk("1"));
  EXPECT_EQ(run({"GET", "k"}), bulk("2"));
  // NX GET (Redis 7): old value replied, nothing written.
  EXPECT_EQ(run({"SET", "k", "3", "NX", "GET"}), bulk("2"));
  EXPECT_EQ(run({"GET", "k"}), bulk("2"));
  EXPECT_EQ(run({"SET", "new", "3", "XX", "GET"}), nil());
  EXPECT_EQ(run({"GET", "new"}), nil());
}

TEST_F(StringCommandsTest, SetGetOnHashIsWrongTypeAndWritesNothing) {
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"SET", "h", "x", "GET"}), wrongtype());
  EXPECT_EQ(run({"TYPE", "h"}), simple("hash"));
  // Without GET, SET overwrites any type.
  EXPECT_EQ(run({"SET", "h", "x"}), ok());
  EXPECT_EQ(run({"GET", "h"}), bulk("x"));
}

TEST_F(StringCommandsTest, SetExpiryOptions) {
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10"}), ok());
  EXPECT_EQ(run({"PTTL", "k"}), integer(10'000));
  EXPECT_EQ(run({"SET", "k", "v", "PX", "1500"}), ok());
  EXPECT_EQ(run({"PTTL", "k"}), integer(1500));
  const int64_t at_s = now_ms() / 1000 + 100;
  EXPECT_EQ(run({"SET", "k", "v", "EXAT", std::to_string(at_s)}), ok());
  EXPECT_EQ(run({"PEXPIRETIME", "k"}), integer(at_s * 1000));
  EXPECT_EQ(run({"SET", "k", "v", "PXAT", std::to_string(now_ms() + 777)}), ok());
  EXPECT_EQ(run({"PTTL", "k"}), integer(777));
  // A plain SET drops the TTL.
  EXPECT_EQ(run({"SET", "k", "v"}), ok());
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
}

TEST_F(StringCommandsTest, SetExpiresWithTheClock) {
  run({"SET", "k", "v", "PX", "100"});
  clock_.advance_ms(99);
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
  clock_.advance_ms(1);
  EXPECT_EQ(run({"GET", "k"}), nil());
}

TEST_F(StringCommandsTest, SetKeepTtl) {
  run({"SET", "k", "v", "EX", "100"});
  EXPECT_EQ(run({"SET", "k", "w", "KEEPTTL"}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk("w"));
  EXPECT_EQ(run({"TTL", "k"}), integer(100));
  EXPECT_EQ(run({"SET", "fresh", "w", "KEEPTTL"}), ok());
  EXPECT_EQ(run({"TTL", "fresh"}), integer(-1));
}

TEST_F(StringCommandsTest, SetInPastDeletes) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"SET", "k", "v", "PXAT", std::to_string(now_ms() - 1)}), ok());
  EXPECT_EQ(run({"EXISTS", "k"}), integer(0));
  EXPECT_EQ(run({"SET", "k", "v", "EXAT", "1"}), ok());
  EXPECT_EQ(run({"EXISTS", "k"}), integer(0));
}

TEST_F(StringCommandsTest, SetSyntaxErrors) {
  const std::string syntax = err("ERR syntax error");
  EXPECT_EQ(run({"SET", "k", "v", "NX", "XX"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "XX", "NX"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "PX", "10"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "KEEPTTL"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "KEEPTTL", "PXAT", "10"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "PERSIST"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "FOO"}), syntax);
  EXPECT_EQ(run({"GET", "k"}), nil());
  // The same option twice is fine; the last expiry wins.
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "EX", "20"}), ok());
  EXPECT_EQ(run({"TTL", "k"}), integer(20));
}

TEST_F(StringCommandsTest, SetInvalidExpire) {
  const std::string invalid = err("ERR invalid expire time in 'set' command");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "0"}), invalid);
  EXPECT_EQ(run({"SET", "k", "v", "PX", "-5"}), invalid);
  EXPECT_EQ(run({"SET", "k", "v", "EXAT", "0"}), invalid);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "9223372036854775"}), invalid);  // > INT64_MAX / 1000
  EXPECT_EQ(run({"SET", "k", "v", "PX", "9223372036854775807"}), invalid);  // overflows with now
  EXPECT_EQ(run({"SET", "k", "v", "EX", "ten"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(run({"SET", "k", "v", "EX", "+10"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(run({"GET", "k"}), nil());
}

TEST_F(StringCommandsTest, DefaultTtlAppliesToSetWithoutExpiry) {
  cache_->set_default_ttl_ms(60'000);
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"PTTL", "k"}), integer(60'000));
  run({"SET", "k", "v", "PX", "5"});
  EXPECT_EQ(run({"PTTL", "k"}), integer(5));
  run({"SET", "k", "v", "KEEPTTL"});
  EXPECT_EQ(run({"PTTL", "k"}), integer(5));
  // In-place updates keep the TTL; creation gets the default.
  run({"INCR", "n"});
  EXPECT_EQ(run({"PTTL", "n"}), integer(60'000));
  clock_.advance_ms(1000);
  run({"INCR", "n"});
  EXPECT_EQ(run({"PTTL", "n"}), integer(59'000));
}

TEST_F(StringCommandsTest, SetexAndPsetex) {
  EXPECT_EQ(run({"SETEX", "k", "10", "v"}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
  EXPECT_EQ(run({"TTL", "k"}), integer(10));
  EXPECT_EQ(run({"PSETEX", "p", "250", "v"}), ok());
  EXPECT_EQ(run({"PTTL", "p"}), integer(250));
  EXPECT_EQ(run({"SETEX", "k", "0", "v"}), err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(run({"PSETEX", "k", "-1", "v"}), err("ERR invalid expire time in 'psetex' command"));
  EXPECT_EQ(run({"SETEX", "k", "x", "v"}), err("ERR value is not an integer or out of range"));
}

TEST_F(StringCommandsTest, Setnx) {
  EXPECT_EQ(run({"SETNX", "k", "1"}), integer(1));
  EXPECT_EQ(run({"SETNX", "k", "2"}), integer(0));
  EXPECT_EQ(run({"GET", "k"}), bulk("1"));
}

TEST_F(StringCommandsTest, GetsetReturnsOldAndDropsTtl) {
  EXPECT_EQ(run({"GETSET", "k", "1"}), nil());
  run({"EXPIRE", "k", "100"});
  EXPECT_EQ(run({"GETSET", "k", "2"}), bulk("1"));
  EXPECT_EQ(run({"GET", "k"}), bulk("2"));
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"GETSET", "h", "x"}), wrongtype());
}

TEST_F(StringCommandsTest, Getdel) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"GETDEL", "k"}), bulk("v"));
  EXPECT_EQ(run({"GETDEL", "k"}), nil());
  EXPECT_EQ(run({"EXISTS", "k"}), integer(0));
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"GETDEL", "h"}), wrongtype());
  EXPECT_EQ(run({"EXISTS", "h"}), integer(1));
}

TEST_F(StringCommandsTest, GetexOptions) {
  EXPECT_EQ(run({"GETEX", "k"}), nil());
  EXPECT_EQ(run({"GETEX", "k", "EX", "10"}), nil());
  EXPECT_EQ(run({"EXISTS", "k"}), integer(0));
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"GETEX", "k"}), bulk("v"));
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(run({"GETEX", "k", "EX", "10"}), bulk("v"));
  EXPECT_EQ(run({"TTL", "k"}), integer(10));
  EXPECT_EQ(run({"GETEX", "k", "PX", "500"}), bulk("v"));
  EXPECT_EQ(run({"PTTL", "k"}), integer(500));
  EXPECT_EQ(run({"GETEX", "k", "EXAT", std::to_string(now_ms() / 1000 + 50)}), bulk("v"));
  EXPECT_EQ(run({"GETEX", "k", "PXAT", std::to_string(now_ms() + 42)}), bulk("v"));
  EXPECT_EQ(run({"PTTL", "k"}), integer(42));
  EXPECT_EQ(run({"GETEX", "k", "PERSIST"}), bulk("v"));
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  // An expiry in the past deletes after replying the value.
  EXPECT_EQ(run({"GETEX", "k", "PXAT", "1"}), bulk("v"));
  EXPECT_EQ(run({"EXISTS", "k"}), integer(0));
}

TEST_F(StringCommandsTest, GetexErrors) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"GETEX", "k", "EX", "10", "PERSIST"}), err("ERR syntax error"));
  EXPECT_EQ(run({"GETEX", "k", "PERSIST", "PX", "10"}), err("ERR syntax error"));
  EXPECT_EQ(run({"GETEX", "k", "NX"}), err("ERR syntax error"));
  EXPECT_EQ(run({"GETEX", "k", "KEEPTTL"}), err("ERR syntax error"));
  EXPECT_EQ(run({"GETEX", "k", "EX", "0"}), err("ERR invalid expire time in 'getex' command"));
  EXPECT_EQ(run({"GETEX", "k", "EX", "x"}), err("ERR value is not an integer or out of range"));
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"GETEX", "h"}), wrongtype());
  EXPECT_EQ(run({"GETEX", "h", "EX", "5"}), wrongtype());
  EXPECT_EQ(run({"TTL", "h"}), integer(-1));
}

TEST_F(StringCommandsTest, MgetMset) {
  EXPECT_EQ(run({"MSET", "a", "1", "b", "2"}), ok());
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"MGET", "a", "nokey", "b", "h"}), "*4\r\n" + bulk("1") + nil() + bulk("2") + nil());
}

TEST_F(StringCommandsTest, MgetResp3UsesNullType) {
  use_resp3();
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"MGET", "a", "b"}), "*2\r\n" + bulk("1") + "_\r\n");
  EXPECT_EQ(run({"GET", "b"}), "_\r\n");
}

TEST_F(StringCommandsTest, Msetnx) {
  EXPECT_EQ(run({"MSETNX", "a", "1", "b", "2"}), integer(1));
  EXPECT_EQ(run({"MSETNX", "b", "3", "c", "4"}), integer(0));
  EXPECT_EQ(run({"MGET", "a", "b", "c"}), "*3\r\n" + bulk("1") + bulk("2") + nil());
}

// ---- INCR family ---------------------------------------------------------

TEST_F(StringCommandsTest, IncrDecr) {
  EXPECT_EQ(run({"INCR", "n"}), integer(1));
  EXPECT_EQ(run({"INCR", "n"}), integer(2));
  EXPECT_EQ(run({"DECR", "n"}), integer(1));
  EXPECT_EQ(run({"INCRBY", "n", "10"}), integer(11));
  EXPECT_EQ(run({"INCRBY", "n", "-20"}), integer(-9));
  EXPECT_EQ(run({"DECRBY", "n", "-9"}), integer(0));
  EXPECT_EQ(run({"GET", "n"}), bulk("0"));
  EXPECT_EQ(run({"DECR", "fresh"}), integer(-1));
}

TEST_F(StringCommandsTest, IncrKeepsTtl) {
  run({"SET", "n", "5", "EX", "100"});
  EXPECT_EQ(run({"INCR", "n"}), integer(6));
  EXPECT_EQ(run({"TTL", "n"}), integer(100));
}

TEST_F(StringCommandsTest, IncrErrors) {
  const std::string not_int = err("ERR value is not an integer or out of range");
  for (const char* bad : {"abc", "1.5", " 1", "01", "+1", "", "99999999999999999999"}) {
    run({"SET", "s", bad});
    EXPECT_EQ(run({"INCR", "s"}), not_int) << bad;
  }
  EXPECT_EQ(run({"INCRBY", "n", "x"}), not_int);
  EXPECT_EQ(run({"DECRBY", "n", "1.0"}), not_int);
  run({"SET", "max", "9223372036854775807"});
  EXPECT_EQ(run({"INCR", "max"}), err("ERR increment or decrement would overflow"));
  run({"SET", "min", "-9223372036854775808"});
  EXPECT_EQ(run({"DECR", "min"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"INCRBY", "min", "-1"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"DECRBY", "n", "-9223372036854775808"}), err("ERR decrement would overflow"));
  run({"HSET", "h", "f", "1"});
  EXPECT_EQ(run({"INCR", "h"}), wrongtype());
  // The increment is checked before the type, as in Redis.
  EXPECT_EQ(run({"INCRBY", "h", "x"}), not_int);
}

TEST_F(StringCommandsTest, Incrbyfloat) {
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "10.5"}), bulk("10.5"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "0.1"}), bulk("10.6"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "-5.6"}), bulk("5"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "5.0e3"}), bulk("5005"));
  EXPECT_EQ(run({"GET", "f"}), bulk("5005"));
  run({"SET", "i", "3"});
  EXPECT_EQ(run({"INCRBYFLOAT", "i", "1.5"}), bulk("4.5"));
  EXPECT_EQ(run({"INCRBY", "i", "1"}), err("ERR value is not an integer or out of range"));
}

TEST_F(StringCommandsTest, IncrbyfloatErrors) {
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "abc"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"EXISTS", "f"}), integer(0));
  run({"SET", "s", "hello"});
  EXPECT_EQ(run({"INCRBYFLOAT", "s", "1"}), err("ERR value is not a valid float"));
  run({"SET", "big", "1e5000"});  // beyond long double: not a valid float
  EXPECT_EQ(run({"INCRBYFLOAT", "big", "1"}), err("ERR value is not a valid float"));
  run({"SET", "f", "1"});
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "inf"}), err("ERR increment would produce NaN or Infinity"));
  run({"HSET", "h", "f", "1"});
  EXPECT_EQ(run({"INCRBYFLOAT", "h", "1"}), wrongtype());
}

// ---- APPEND, STRLEN, ranges ----------------------------------------------

TEST_F(StringCommandsTest, AppendAndStrlen) {
  EXPECT_EQ(run({"STRLEN", "k"}), integer(0));
  EXPECT_EQ(run({"APPEND", "k", "Hello"}), integer(5));
  EXPECT_EQ(run({"APPEND", "k", " World"}), integer(11));
  EXPECT_EQ(run({"GET", "k"}), bulk("Hello World"));
  EXPECT_EQ(run({"STRLEN", "k"}), integer(11));
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"APPEND", "h", "x"}), wrongtype());
  EXPECT_EQ(run({"STRLEN", "h"}), wrongtype());
}

TEST_F(StringCommandsTest, AppendKeepsTtl) {
  run({"SET", "k", "a", "EX", "100"});
  run({"APPEND", "k", "b"});
  EXPECT_EQ(run({"TTL", "k"}), integer(100));
}

TEST_F(StringCommandsTest, AppendAndSetrangeRespectProtoMaxBulkLen) {
  server_.proto_max_bulk_len.store(10);
  run({"SET", "k", "12345"});
  EXPECT_EQ(run({"APPEND", "k", "67890"}), integer(10));
  EXPECT_EQ(run({"APPEND", "k", "x"}), err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(run({"SETRANGE", "k", "10", "x"}),
            err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(run({"SETRANGE", "new", "8", "abc"}),
            err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
  EXPECT_EQ(run({"GET", "k"}), bulk("1234567890"));
}

TEST_F(StringCommandsTest, Getrange) {
  run({"SET", "k", "This is a string"});
  EXPECT_EQ(run({"GETRANGE", "k", "0", "3"}), bulk("This"));
  EXPECT_EQ(run({"GETRANGE", "k", "-3", "-1"}), bulk("ing"));
  EXPECT_EQ(run({"GETRANGE", "k", "0", "-1"}), bulk("This is a string"));
  EXPECT_EQ(run({"GETRANGE", "k", "10", "100"}), bulk("string"));
  EXPECT_EQ(run({"GETRANGE", "k", "5", "3"}), bulk(""));
  EXPECT_EQ(run({"GETRANGE", "k", "-1", "-5"}), bulk(""));
  EXPECT_EQ(run({"SUBSTR", "k", "0", "3"}), bulk("This"));
  EXPECT_EQ(run({"GETRANGE", "nokey", "0", "3"}), bulk(""));
  EXPECT_EQ(run({"GETRANGE", "k", "a", "3"}), err("ERR value is not an integer or out of range"));
}

TEST_F(StringCommandsTest, Setrange) {
  run({"SET", "k", "Hello World"});
  EXPECT_EQ(run({"SETRANGE", "k", "6", "Redis"}), integer(11));
  EXPECT_EQ(run({"GET", "k"}), bulk("Hello Redis"));
  EXPECT_EQ(run({"SETRANGE", "pad", "3", "x"}), integer(4));
  EXPECT_EQ(run({"GET", "pad"}), bulk(std::string("\0\0\0x", 4)));
  EXPECT_EQ(run({"SETRANGE", "k", "0", ""}), integer(11));
  EXPECT_EQ(run({"SETRANGE", "none", "5", ""}), integer(0));
  EXPECT_EQ(run({"EXISTS", "none"}), integer(0));
  EXPECT_EQ(run({"SETRANGE", "k", "-1", "x"}), err("ERR offset is out of range"));
}

// ---- Values put through the C++ API (kApiValue) -----------------------------

TEST_F(StringCommandsTest, CppApiScalarsReadAsStrings) {
  ASSERT_TRUE(cache_->put("i", Value(int64_t{42}), "r1").ok());
  ASSERT_TRUE(cache_->put("d", Value(2.5), "r1").ok());
  ASSERT_TRUE(cache_->put("t", Value(true), "r1").ok());
  ASSERT_TRUE(cache_->put("f", Value(false), "r1").ok());
  EXPECT_EQ(run({"GET", "i"}), bulk("42"));
  EXPECT_EQ(run({"GET", "d"}), bulk("2.5"));
  EXPECT_EQ(run({"GET", "t"}), bulk("1"));
  EXPECT_EQ(run({"GET", "f"}), bulk("0"));
  EXPECT_EQ(run({"TYPE", "i"}), simple("string"));
  EXPECT_EQ(run({"STRLEN", "i"}), integer(2));
  EXPECT_EQ(run({"INCR", "i"}), integer(43));
  EXPECT_EQ(run({"GET", "i"}), bulk("43"));
  EXPECT_EQ(run({"APPEND", "d", "0"}), integer(4));
  EXPECT_EQ(run({"GET", "d"}), bulk("2.50"));
}

TEST_F(StringCommandsTest, CppApiListsAndMapsAreWrongType) {
  ASSERT_TRUE(cache_->put("l", Value(Value::List{Value(1), Value(2)}), "r1").ok());
  ASSERT_TRUE(cache_->put("m", Value(Value::Map{{"a", Value(1)}}), "r1").ok());
  EXPECT_EQ(run({"GET", "l"}), wrongtype());
  EXPECT_EQ(run({"INCR", "m"}), wrongtype());
  EXPECT_EQ(run({"TYPE", "l"}), simple("ReJSON-RL"));
  EXPECT_EQ(run({"MGET", "l", "m"}), "*2\r\n" + nil() + nil());
}

// ---- Replication ---------------------------------------------------------

TEST_F(StringCommandsTest, SetReplicatesToOtherRegion) {
  run({"SET", "k", "v", "EX", "100"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"GET", "k"}), bulk("v"));
  EXPECT_EQ(run_in(kR2, {"TTL", "k"}), integer(100));
}

TEST_F(StringCommandsTest, IncrReplicatesTheResult) {
  run({"INCRBY", "n", "5"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"INCR", "n"}), integer(6));
  quiesce();
  EXPECT_EQ(run({"GET", "n"}), bulk("6"));
  EXPECT_EQ(run_in(kR2, {"GET", "n"}), bulk("6"));
}

TEST_F(StringCommandsTest, ConditionFailedWritesNothingToReplicate) {
  run({"SET", "k", "v"});
  quiesce();
  const auto before = cache_->TEST_store(kR2).peek("k");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(run({"SET", "k", "w", "NX"}), nil());
  quiesce();
  EXPECT_EQ(cache_->TEST_store(kR2).peek("k")->version, before->version);
}

}  // namespace
}  // namespace geocache::testing
