// Key-space commands, in-process, compared byte for byte with Redis 7 replies.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

class KeyCommandsTest : public CommandFixture {
 protected:
  // The bulk strings of a flat array reply, sorted (KEYS order is arbitrary).
  static std::vector<std::string> sorted_bulks(const std::string& reply) {
    std::vector<std::string> out;
    size_t pos = reply.find("\r\n") + 2;  // past "*n"
    while (pos < reply.size()) {
      const size_t eol = reply.find("\r\n", pos);
      const size_t len = std::stoul(reply.substr(pos + 1, eol - pos - 1));
      out.push_back(reply.substr(eol + 2, len));
      pos = eol + 2 + len + 2;
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Splits a SCAN reply (*2, cursor bulk, key array) into cursor and sorted keys.
  static std::vector<std::string> scan_keys(const std::string& reply, std::string* cursor = nullptr) {
    EXPECT_EQ(reply.substr(0, 5), "*2\r\n$");
    const size_t cursor_start = reply.find("\r\n", 4) + 2;
    const size_t cursor_end = reply.find("\r\n", cursor_start);
    if (cursor != nullptr) *cursor = reply.substr(cursor_start, cursor_end - cursor_start);
    return sorted_bulks(reply.substr(cursor_end + 2));
  }
};

// ---- DEL, EXISTS, TYPE ---------------------------------------------------

TEST_F(KeyCommandsTest, DelCountsRemovedKeys) {
  run({"MSET", "a", "1", "b", "2"});
  EXPECT_EQ(run({"DEL", "a", "b", "c", "a"}), integer(2));
  EXPECT_EQ(run({"DEL", "a"}), integer(0));
  run({"SET", "u", "1"});
  EXPECT_EQ(run({"UNLINK", "u"}), integer(1));
  EXPECT_EQ(run({"GET", "u"}), nil());
  EXPECT_EQ(run({"DEL"}), err("ERR wrong number of arguments for 'del' command"));
}

TEST_F(KeyCommandsTest, ExistsCountsRepeats) {
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"EXISTS", "a", "a", "b"}), integer(2));
  EXPECT_EQ(run({"EXISTS", "b"}), integer(0));
}

TEST_F(KeyCommandsTest, Touch) {
  run({"MSET", "a", "1", "b", "2"});
  EXPECT_EQ(run({"TOUCH", "a", "b", "c"}), integer(2));
}

TEST_F(KeyCommandsTest, TypeOfEachKind) {
  run({"SET", "s", "v"});
  run({"HSET", "h", "f", "v"});
  run({"JSON.SET", "j", "$", "{\"a\":1}"});
  EXPECT_EQ(run({"TYPE", "s"}), simple("string"));
  EXPECT_EQ(run({"TYPE", "h"}), simple("hash"));
  EXPECT_EQ(run({"TYPE", "j"}), simple("ReJSON-RL"));
  EXPECT_EQ(run({"TYPE", "none"}), simple("none"));
}

// ---- EXPIRE family, TTL family, PERSIST ----------------------------------

TEST_F(KeyCommandsTest, ExpireAndTtl) {
  EXPECT_EQ(run({"EXPIRE", "k", "10"}), integer(0));
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(run({"PTTL", "k"}), integer(-1));
  EXPECT_EQ(run({"EXPIRETIME", "k"}), integer(-1));
  EXPECT_EQ(run({"EXPIRE", "k", "10"}), integer(1));
  EXPECT_EQ(run({"TTL", "k"}), integer(10));
  EXPECT_EQ(run({"PTTL", "k"}), integer(10'000));
  EXPECT_EQ(run({"PEXPIRETIME", "k"}), integer(now_ms() + 10'000));
  EXPECT_EQ(run({"EXPIRETIME", "k"}), integer((now_ms() + 10'000 + 500) / 1000));
  clock_.advance_ms(9'400);
  EXPECT_EQ(run({"TTL", "k"}), integer(1));  // 600 ms rounds to 1 s
  clock_.advance_ms(600);
  EXPECT_EQ(run({"TTL", "k"}), integer(-2));
  EXPECT_EQ(run({"PTTL", "k"}), integer(-2));
  EXPECT_EQ(run({"EXPIRETIME", "k"}), integer(-2));
  EXPECT_EQ(run({"PEXPIRETIME", "k"}), integer(-2));
  EXPECT_EQ(run({"GET", "k"}), nil());
}

TEST_F(KeyCommandsTest, PexpireExpireatPexpireat) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"PEXPIRE", "k", "1500"}), integer(1));
  EXPECT_EQ(run({"PTTL", "k"}), integer(1500));
  const int64_t at_s = now_ms() / 1000 + 60;
  EXPECT_EQ(run({"EXPIREAT", "k", std::to_string(at_s)}), integer(1));
  EXPECT_EQ(run({"EXPIRETIME", "k"}), integer(at_s));
  EXPECT_EQ(run({"PEXPIREAT", "k", std::to_string(now_ms() + 250)}), integer(1));
  EXPECT_EQ(run({"PTTL", "k"}), integer(250));
}

TEST_F(KeyCommandsTest, ExpireInPastDeletes) {
  run({"SET", "a", "v"});
  EXPECT_EQ(run({"EXPIRE", "a", "-1"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "a"}), integer(0));
  run({"SET", "b", "v"});
  EXPECT_EQ(run({"EXPIREAT", "b", "0"}), integer(1));  // the epoch itself: not "no expiry"
  EXPECT_EQ(run({"EXISTS", "b"}), integer(0));
  run({"SET", "c", "v"});
  EXPECT_EQ(run({"PEXPIRE", "c", "0"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "c"}), integer(0));
}

TEST_F(KeyCommandsTest, ExpireKeepsValueAndKind) {
  run({"HSET", "h", "f", "v"});
  EXPECT_EQ(run({"EXPIRE", "h", "100"}), integer(1));
  EXPECT_EQ(run({"HGET", "h", "f"}), bulk("v"));
  EXPECT_EQ(run({"TYPE", "h"}), simple("hash"));
}

TEST_F(KeyCommandsTest, ExpireNxXxGtLt) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"EXPIRE", "k", "100", "XX"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "k", "100", "GT"}), integer(0));  // no TTL counts as infinite
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(run({"EXPIRE", "k", "100", "LT"}), integer(1));
  EXPECT_EQ(run({"EXPIRE", "k", "50", "NX"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "k", "200", "xx"}), integer(1));
  EXPECT_EQ(run({"EXPIRE", "k", "100", "GT"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "k", "300", "GT"}), integer(1));
  EXPECT_EQ(run({"EXPIRE", "k", "400", "LT"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "k", "30", "LT"}), integer(1));
  EXPECT_EQ(run({"EXPIRE", "k", "40", "XX", "GT"}), integer(1));
  EXPECT_EQ(run({"TTL", "k"}), integer(40));
  run({"SET", "n", "v"});
  EXPECT_EQ(run({"EXPIRE", "n", "50", "NX"}), integer(1));
  EXPECT_EQ(run({"TTL", "n"}), integer(50));
}

TEST_F(KeyCommandsTest, ExpireErrors) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"EXPIRE", "k", "10", "NX", "XX"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "NX", "GT"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "GT", "LT"}),
            err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "FOO"}), err("ERR Unsupported option FOO"));
  EXPECT_EQ(run({"EXPIRE", "k", "ten"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(run({"EXPIRE", "k", "9223372036854775807"}), err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(run({"PEXPIRE", "k", "9223372036854775807"}), err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(run({"EXPIREAT", "k", "-9223372036854775808"}), err("ERR invalid expire time in 'expireat' command"));
  EXPECT_EQ(run({"EXPIRE", "k"}), err("ERR wrong number of arguments for 'expire' command"));
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
}

TEST_F(KeyCommandsTest, Persist) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"PERSIST", "k"}), integer(0));
  EXPECT_EQ(run({"PERSIST", "nokey"}), integer(0));
  run({"EXPIRE", "k", "100"});
  EXPECT_EQ(run({"PERSIST", "k"}), integer(1));
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
}

// ---- KEYS, SCAN, RANDOMKEY -----------------------------------------------

TEST_F(KeyCommandsTest, Keys) {
  run({"MSET", "firstname", "Jack", "lastname", "Stuntman", "age", "35"});
  run({"HSET", "hash:1", "f", "v"});
  EXPECT_EQ(sorted_bulks(run({"KEYS", "*name*"})), (std::vector<std::string>{"firstname", "lastname"}));
  EXPECT_EQ(sorted_bulks(run({"KEYS", "a??"})), (std::vector<std::string>{"age"}));
  EXPECT_EQ(sorted_bulks(run({"KEYS", "*"})),
            (std::vector<std::string>{"age", "firstname", "hash:1", "lastname"}));
  EXPECT_EQ(run({"KEYS", "nomatch*"}), "*0\r\n");
  // Expired and deleted keys are not listed.
  run({"PEXPIRE", "age", "10"});
  run({"DEL", "lastname"});
  clock_.advance_ms(10);
  EXPECT_EQ(sorted_bulks(run({"KEYS", "*"})), (std::vector<std::string>{"firstname", "hash:1"}));
}

TEST_F(KeyCommandsTest, ScanWalksEveryShardOnce) {
  std::set<std::string> expected;
  for (int i = 0; i < 100; ++i) {
    const std::string k = "key:" + std::to_string(i);
    run({"SET", k, "v"});
    expected.insert(k);
  }
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    for (const auto& k : scan_keys(run({"SCAN", cursor, "COUNT", "5"}), &cursor)) {
      EXPECT_TRUE(seen.insert(k).second) << "returned twice: " << k;
    }
    ++calls;
  } while (cursor != "0" && calls < 1000);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(calls, cache_->TEST_store(kR1).shard_count());
}

TEST_F(KeyCommandsTest, ScanMatchAndType) {
  run({"MSET", "s1", "v", "s2", "v"});
  run({"HSET", "h1", "f", "v"});
  run({"JSON.SET", "j1", "$", "1"});
  std::vector<std::string> matched, hashes, json;
  for (int shard = 0; shard < cache_->TEST_store(kR1).shard_count(); ++shard) {
    const std::string c = std::to_string(shard);
    auto keys_of = [](const std::string& reply) { return scan_keys(reply); };
    for (auto& k : keys_of(run({"SCAN", c, "MATCH", "s*"}))) matched.push_back(k);
    for (auto& k : keys_of(run({"SCAN", c, "TYPE", "hash"}))) hashes.push_back(k);
    for (auto& k : keys_of(run({"SCAN", c, "type", "ReJSON-RL", "MATCH", "*"}))) json.push_back(k);
  }
  std::sort(matched.begin(), matched.end());
  EXPECT_EQ(matched, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(hashes, (std::vector<std::string>{"h1"}));
  EXPECT_EQ(json, (std::vector<std::string>{"j1"}));
}

TEST_F(KeyCommandsTest, ScanEmptyAndPastTheEnd) {
  const int shards = cache_->TEST_store(kR1).shard_count();
  EXPECT_EQ(run({"SCAN", std::to_string(shards - 1)}), "*2\r\n$1\r\n0\r\n*0\r\n");
  EXPECT_EQ(run({"SCAN", "99999"}), "*2\r\n$1\r\n0\r\n*0\r\n");
  EXPECT_EQ(run({"SCAN", "0"}), "*2\r\n$1\r\n1\r\n*0\r\n");
}

TEST_F(KeyCommandsTest, ScanErrors) {
  EXPECT_EQ(run({"SCAN", "abc"}), err("ERR invalid cursor"));
  EXPECT_EQ(run({"SCAN", "-1"}), err("ERR invalid cursor"));
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "0"}), err("ERR syntax error"));
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "x"}), err("ERR value is not an integer or out of range"));
  EXPECT_EQ(run({"SCAN", "0", "COUNT"}), err("ERR syntax error"));
  EXPECT_EQ(run({"SCAN", "0", "FOO", "bar"}), err("ERR syntax error"));
}

TEST_F(KeyCommandsTest, Randomkey) {
  EXPECT_EQ(run({"RANDOMKEY"}), nil());
  run({"SET", "only", "v"});
  EXPECT_EQ(run({"RANDOMKEY"}), bulk("only"));
}

// ---- FLUSHALL / FLUSHDB --------------------------------------------------

TEST_F(KeyCommandsTest, FlushallAndFlushdb) {
  run({"MSET", "a", "1", "b", "2"});
  EXPECT_EQ(run({"FLUSHALL"}), ok());
  EXPECT_EQ(run({"EXISTS", "a", "b"}), integer(0));
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"FLUSHDB", "ASYNC"}), ok());
  EXPECT_EQ(run({"EXISTS", "a"}), integer(0));
  EXPECT_EQ(run({"FLUSHALL", "sync"}), ok());
  EXPECT_EQ(run({"FLUSHALL", "now"}), err("ERR syntax error"));
  EXPECT_EQ(run({"FLUSHALL", "SYNC", "ASYNC"}), err("ERR syntax error"));
  // A write after the flush survives it.
  run({"SET", "after", "1"});
  EXPECT_EQ(run({"GET", "after"}), bulk("1"));
}

// ---- Replication ---------------------------------------------------------

TEST_F(KeyCommandsTest, DelReplicates) {
  run({"SET", "k", "v"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"GET", "k"}), bulk("v"));
  EXPECT_EQ(run({"DEL", "k"}), integer(1));
  quiesce();
  EXPECT_EQ(run_in(kR2, {"GET", "k"}), nil());
}

// r1 deletes keys whose writes in r2 have not reached it yet: those writes
// are older than the deletes, so the deletes win in both regions. The replies
// are Redis' for an absent key.
TEST_F(KeyCommandsTest, DeletesOfKeysNotReceivedYetWinEverywhere) {
  struct Case {
    std::vector<std::string> command;
    std::string reply;
    ValueKind kind_elsewhere;
  };
  const Case cases[] = {
      {{"DEL", "k1"}, integer(0), ValueKind::kString},
      {{"UNLINK", "k2"}, integer(0), ValueKind::kString},
      {{"GETDEL", "k3"}, nil(), ValueKind::kString},
      {{"JSON.DEL", "k4"}, integer(0), ValueKind::kJson},
      {{"JSON.FORGET", "k5", "$"}, integer(0), ValueKind::kJson},
  };
  for (const Case& c : cases) {
    const std::string& key = c.command[1];
    // The write r1 has not received: stored in r2 beneath replication.
    Record older{c.kind_elsewhere, c.kind_elsewhere == ValueKind::kJson ? Value(Value::Map{}).encode() : "old",
                 kNoExpiry, Version{1, kR2}};
    ASSERT_EQ(cache_->TEST_store(kR2).apply(key, older), ApplyResult::kApplied) << key;
    EXPECT_EQ(run(c.command), c.reply) << key;
  }
  quiesce();
  for (const Case& c : cases) {
    const std::string& key = c.command[1];
    EXPECT_EQ(run_in(kR2, {"EXISTS", key}), integer(0)) << key;
    const auto t = cache_->TEST_store(kR1).peek_with_tombstone(key);
    ASSERT_TRUE(t.has_value()) << key;
    EXPECT_TRUE(t->is_tombstone()) << key;
  }
}

// What acts on the key's content (a field, a TTL) has nothing to act on.
TEST_F(KeyCommandsTest, CommandsOnAnAbsentKeysContentWriteNothing) {
  EXPECT_EQ(run({"HDEL", "h", "f"}), integer(0));
  EXPECT_EQ(run({"EXPIRE", "e", "-1"}), integer(0));
  EXPECT_EQ(run({"PERSIST", "p"}), integer(0));
  quiesce();
  for (const char* key : {"h", "e", "p"}) {
    EXPECT_FALSE(cache_->TEST_store(kR1).peek_with_tombstone(key).has_value()) << key;
    EXPECT_FALSE(cache_->TEST_store(kR2).peek_with_tombstone(key).has_value()) << key;
  }
}

TEST_F(KeyCommandsTest, ExpireAndPersistReplicate) {
  run({"SET", "k", "v"});
  run({"EXPIRE", "k", "100"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"TTL", "k"}), integer(100));
  run_in(kR2, {"PERSIST", "k"});
  quiesce();
  EXPECT_EQ(run({"TTL", "k"}), integer(-1));
  run({"EXPIRE", "k", "-1"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXISTS", "k"}), integer(0));
}

TEST_F(KeyCommandsTest, FlushallReplicates) {
  run({"MSET", "a", "1", "b", "2"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXISTS", "a", "b"}), integer(2));
  run({"FLUSHALL"});
  quiesce();
  EXPECT_EQ(run_in(kR2, {"EXISTS", "a", "b"}), integer(0));
  EXPECT_EQ(run_in(kR2, {"KEYS", "*"}), "*0\r\n");
}

}  // namespace
}  // namespace geocache::testing
