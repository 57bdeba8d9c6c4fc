// INFO's figures, SELECT's databases, RENAME/COPY/MOVE, OBJECT, MEMORY,
// WAIT, CONFIG SET's all-or-nothing, SLOWLOG, pub/sub and client-side
// caching, in-process through CommandFixture. A second session with a
// mailbox (no event loop: the test reads the mailbox) plays the subscriber.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "server/client_session.h"
#include "server/command_table.h"
#include "server/databases.h"
#include "server/mailbox.h"
#include "command_fixture.h"

namespace geocache::testing {
namespace {

// "field:value" lines of an INFO reply (a bulk string).
std::map<std::string, std::string> info_fields(const std::string& reply) {
  std::map<std::string, std::string> out;
  size_t pos = reply.find("\r\n") + 2;  // past the bulk header
  while (pos < reply.size()) {
    size_t end = reply.find("\r\n", pos);
    if (end == std::string::npos) break;
    const std::string line = reply.substr(pos, end - pos);
    if (const size_t colon = line.find(':'); colon != std::string::npos && line[0] != '#') {
      out[line.substr(0, colon)] = line.substr(colon + 1);
    }
    pos = end + 2;
  }
  return out;
}

class CompatCommandsTest : public CommandFixture {
 protected:
  CompatCommandsTest() {
    other_.authenticated = true;
    other_.mailbox = std::make_shared<Mailbox>(nullptr, nullptr);
    server_.register_client(&other_);
  }
  ~CompatCommandsTest() override {
    server_.pubsub().drop(&other_);
    server_.tracking().disable(&other_);
    server_.unregister_client(&other_);
  }

  // Runs a command as the second session, in protocol `protocol`.
  std::string run_other(std::vector<std::string> args, int protocol = 2) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyWriter writer(&out);
    writer.set_protocol(protocol);
    other_.protocol = protocol;
    CommandContext ctx{*cache_, kR1, writer, server_, other_};
    CommandTable::instance().dispatch(ctx, views);
    return out;
  }
  std::string mail() {
    std::string out;
    other_.mailbox->take(&out);
    return out;
  }

  ClientSession other_;
};

TEST_F(CompatCommandsTest, UsedMemoryIsTheHeapNotTheStoreBytes) {
  const std::string value(1024, 'v');
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(run({"SET", "k" + std::to_string(i), value}), ok());
  auto f = info_fields(run({"INFO", "memory"}));
  const uint64_t used = std::stoull(f["used_memory"]), dataset = std::stoull(f["used_memory_dataset"]);
  // 2000 values of 1 KiB held in two regions' stores once replicated; at
  // least this region's copy is on the heap.
  EXPECT_GE(used, 2000u * 1024u);
  EXPECT_GE(used, dataset);
  EXPECT_GE(dataset, 2000u * 1024u);
  EXPECT_GE(std::stoull(f["used_memory_peak"]), used);
  EXPECT_GT(std::stoull(f["used_memory_rss"]), 0u);
  EXPECT_FALSE(f["used_memory_human"].empty());
}

TEST_F(CompatCommandsTest, InfoHasTheSectionsClientsParse) {
  const std::string all = run({"INFO", "everything"});
  for (const char* section : {"# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication",
                              "# CPU", "# Keyspace", "# Geo"}) {
    EXPECT_NE(all.find(section), std::string::npos) << section;
  }
  auto f = info_fields(all);
  for (const char* field : {"redis_version", "run_id", "tcp_port", "uptime_in_seconds", "connected_clients",
                            "used_memory", "maxmemory", "loading", "rdb_last_save_time", "total_commands_processed",
                            "instantaneous_ops_per_sec", "keyspace_hits", "role", "master_repl_offset",
                            "used_cpu_sys", "used_cpu_user", "server_threads"}) {
    EXPECT_TRUE(f.contains(field)) << field;
  }
  EXPECT_EQ(f["loading"], "0");
  EXPECT_EQ(f["run_id"].size(), 40u);
}

TEST_F(CompatCommandsTest, CpuSectionCountsTime) {
  // Spend some CPU so the figures cannot all be zero.
  for (int i = 0; i < 20000; ++i) run({"SET", "k", std::to_string(i)});
  auto f = info_fields(run({"INFO", "cpu"}));
  EXPECT_GT(std::stod(f["used_cpu_user"]) + std::stod(f["used_cpu_sys"]), 0.0);
}

TEST_F(CompatCommandsTest, ReplicationLagIsTheEventsDelay) {
  // Written in r1 at t, applied in r2 42 ms later on the shared clock (held
  // on the way until then).
  partition();
  ASSERT_EQ(run_in(kR1, {"SET", "k", "v"}), ok());
  clock_.advance_ms(42);
  quiesce();
  auto f = info_fields(run_in(kR2, {"INFO", "replication"}));
  EXPECT_EQ(f["geo_region0"].substr(0, f["geo_region0"].find(",lag_p50")), "name=r1,state=up,lag_ms=42");
  const std::string geo = run_in(kR2, {"INFO", "geo"});
  EXPECT_NE(geo.find("region_r1:"), std::string::npos);
  EXPECT_NE(geo.find(",lag_ms=42\r\n"), std::string::npos) << geo;
}

TEST_F(CompatCommandsTest, KeyspaceCountsKeysAndExpiriesPerDatabase) {
  ASSERT_EQ(run({"SET", "a", "1"}), ok());
  ASSERT_EQ(run({"SET", "b", "1", "PX", "10000"}), ok());
  ASSERT_EQ(run({"SELECT", "5"}), ok());
  ASSERT_EQ(run({"SET", "c", "1"}), ok());
  auto f = info_fields(run({"INFO", "keyspace"}));
  EXPECT_EQ(f["db0"], "keys=2,expires=1,avg_ttl=10000");
  EXPECT_EQ(f["db5"], "keys=1,expires=0,avg_ttl=0");
}

TEST_F(CompatCommandsTest, KeyspaceOfABigStoreIsEstimatedFromWholeShards) {
  // Past the 65,536-key sample: the key count stays exact (database 0 only),
  // the expiries are scaled from the shards walked (keys hash evenly, so
  // every other key having a TTL shows as about half).
  for (int i = 0; i < 100'000; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (i % 2 == 0) {
      ASSERT_EQ(run({"SET", key, "v", "EX", "100"}), ok());
    } else {
      ASSERT_EQ(run({"SET", key, "v"}), ok());
    }
  }
  auto f = info_fields(run({"INFO", "keyspace"}));
  const std::string db0 = f["db0"];
  ASSERT_EQ(db0.substr(0, db0.find(',')), "keys=100000") << db0;
  const size_t at = db0.find("expires=") + 8;
  const uint64_t expires = std::stoull(db0.substr(at, db0.find(',', at) - at));
  EXPECT_GT(expires, 45'000u) << db0;
  EXPECT_LT(expires, 55'000u) << db0;
  EXPECT_NE(db0.find("avg_ttl=100000"), std::string::npos) << db0;
}

TEST_F(CompatCommandsTest, DatabasesAreSeparateKeyspaces) {
  ASSERT_EQ(run({"SET", "k", "zero"}), ok());
  ASSERT_EQ(run({"SELECT", "1"}), ok());
  EXPECT_EQ(run({"GET", "k"}), nil());
  ASSERT_EQ(run({"SET", "k", "one"}), ok());
  ASSERT_EQ(run({"HSET", "h", "f", "v"}), integer(1));
  EXPECT_EQ(run({"GET", "k"}), bulk("one"));
  EXPECT_EQ(run({"DBSIZE"}), integer(2));
  EXPECT_EQ(run({"KEYS", "*"}).size(), bulks({"k", "h"}).size());
  EXPECT_EQ(run({"SELECT", "16"}), err(errors::kDbIndexOutOfRange));
  ASSERT_EQ(run({"SELECT", "0"}), ok());
  EXPECT_EQ(run({"GET", "k"}), bulk("zero"));
  EXPECT_EQ(run({"DBSIZE"}), integer(1));
  EXPECT_EQ(run({"KEYS", "*"}), bulks({"k"}));
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "1000"}).find("$1\r\nh\r\n"), std::string::npos);
  // Replicated with its database.
  quiesce();
  ASSERT_EQ(run_in(kR2, {"SELECT", "1"}), ok());
  EXPECT_EQ(run_in(kR2, {"GET", "k"}), bulk("one"));
  // FLUSHDB empties only its own database.
  EXPECT_EQ(run_in(kR2, {"FLUSHDB"}), ok());
  EXPECT_EQ(run_in(kR2, {"DBSIZE"}), integer(0));
  ASSERT_EQ(run_in(kR2, {"SELECT", "0"}), ok());
  EXPECT_EQ(run_in(kR2, {"GET", "k"}), bulk("zero"));
}

TEST_F(CompatCommandsTest, RenameCopyMove) {
  ASSERT_EQ(run({"SET", "a", "1", "EX", "100"}), ok());
  EXPECT_EQ(run({"RENAME", "nosuch", "x"}), err(errors::kNoSuchKey));
  EXPECT_EQ(run({"RENAME", "a", "b"}), ok());
  EXPECT_EQ(run({"EXISTS", "a"}), integer(0));
  EXPECT_EQ(run({"GET", "b"}), bulk("1"));
  EXPECT_EQ(run({"TTL", "b"}), integer(100));
  ASSERT_EQ(run({"SET", "c", "2"}), ok());
  EXPECT_EQ(run({"RENAMENX", "b", "c"}), integer(0));
  EXPECT_EQ(run({"COPY", "b", "c"}), integer(0));
  EXPECT_EQ(run({"COPY", "b", "c", "REPLACE"}), integer(1));
  EXPECT_EQ(run({"GET", "c"}), bulk("1"));
  ASSERT_EQ(run({"HSET", "h", "f1", "v1", "f2", "v2"}), integer(2));
  EXPECT_EQ(run({"COPY", "h", "h2"}), integer(1));
  EXPECT_EQ(run({"HGET", "h2", "f2"}), bulk("v2"));
  EXPECT_EQ(run({"COPY", "h", "h3", "DB", "2"}), integer(1));
  EXPECT_EQ(run({"MOVE", "c", "2"}), integer(1));
  EXPECT_EQ(run({"EXISTS", "c"}), integer(0));
  ASSERT_EQ(run({"SELECT", "2"}), ok());
  EXPECT_EQ(run({"HLEN", "h3"}), integer(2));
  EXPECT_EQ(run({"GET", "c"}), bulk("1"));
  quiesce();
  ASSERT_EQ(run_in(kR2, {"SELECT", "0"}), ok());
  EXPECT_EQ(run_in(kR2, {"GET", "b"}), bulk("1"));
  EXPECT_EQ(run_in(kR2, {"EXISTS", "a"}), integer(0));
}

// Sets, sorted sets and counters keep their elements through COPY and
// RENAME, here and in the other region (they were copied empty).
TEST_F(CompatCommandsTest, CopyAndRenameKeepEveryKindsContents) {
  ASSERT_EQ(run({"SADD", "s", "a", "b", "c"}), integer(3));
  ASSERT_EQ(run({"ZADD", "z", "1", "one", "2.5", "two"}), integer(2));
  ASSERT_EQ(run({"INCRBY", "n", "41"}), integer(41));
  EXPECT_EQ(run({"COPY", "s", "s2"}), integer(1));
  EXPECT_EQ(run({"COPY", "z", "z2"}), integer(1));
  EXPECT_EQ(run({"COPY", "n", "n2"}), integer(1));
  EXPECT_EQ(run({"RENAME", "s", "s3"}), ok());
  EXPECT_EQ(run({"RENAME", "z", "z3"}), ok());
  EXPECT_EQ(run({"RENAME", "n", "n3"}), ok());
  for (RegionId r : {kR1, kR2}) {
    if (r == kR2) quiesce();
    for (const char* key : {"s2", "s3"}) EXPECT_EQ(run_in(r, {"SCARD", key}), integer(3)) << key;
    for (const char* key : {"z2", "z3"}) EXPECT_EQ(run_in(r, {"ZSCORE", key, "two"}), bulk("2.5")) << key;
    for (const char* key : {"n2", "n3"}) EXPECT_EQ(run_in(r, {"GET", key}), bulk("41")) << key;
    EXPECT_EQ(run_in(r, {"EXISTS", "s", "z", "n"}), integer(0));
  }
  EXPECT_EQ(run({"INCR", "n2"}), integer(42));
  EXPECT_EQ(run({"TYPE", "z2"}), simple("zset"));
}

TEST_F(CompatCommandsTest, ObjectAndMemoryUsage) {
  ASSERT_EQ(run({"SET", "n", "12345"}), ok());
  ASSERT_EQ(run({"SET", "s", "hello"}), ok());
  ASSERT_EQ(run({"SET", "big", std::string(100, 'x')}), ok());
  ASSERT_EQ(run({"HSET", "h", "f", "v"}), integer(1));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "n"}), bulk("int"));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "s"}), bulk("embstr"));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "big"}), bulk("raw"));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "h"}), bulk("hashtable"));
  EXPECT_EQ(run({"OBJECT", "ENCODING", "nosuch"}), nil());
  EXPECT_EQ(run({"OBJECT", "REFCOUNT", "s"}), integer(1));
  EXPECT_EQ(run({"OBJECT", "IDLETIME", "s"}), integer(0));
  EXPECT_EQ(run({"MEMORY", "USAGE", "nosuch"}), nil());
  const std::string usage = run({"MEMORY", "USAGE", "big"});
  ASSERT_EQ(usage[0], ':');
  EXPECT_GE(std::stoll(usage.substr(1)), 103);
}

TEST_F(CompatCommandsTest, ConfigSetIsAllOrNothing) {
  ASSERT_EQ(run({"CONFIG", "SET", "maxclients", "100"}), ok());
  EXPECT_EQ(run({"CONFIG", "SET", "maxclients", "200", "maxmemory-policy", "volatile-lru"}).substr(0, 17),
            "-ERR CONFIG SET f");
  EXPECT_EQ(run({"CONFIG", "GET", "maxclients"}), bulks({"maxclients", "100"}));
  EXPECT_EQ(run({"CONFIG", "SET", "maxclients", "200", "timeout", "7"}), ok());
  EXPECT_EQ(run({"CONFIG", "GET", "maxclients", "timeout"}), bulks({"timeout", "7", "maxclients", "200"}));
  EXPECT_EQ(run({"CONFIG", "SET", "timeout", "1", "timeout", "2"}),
            err("ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter"));
  EXPECT_EQ(run({"CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 pubsub 1mb 0 0"}), ok());
  EXPECT_EQ(run({"CONFIG", "GET", "client-output-buffer-limit"}),
            bulks({"client-output-buffer-limit", "normal 0 0 0 replica 0 0 0 pubsub 1048576 0 0"}));
  EXPECT_EQ(run({"CONFIG", "GET", "databases"}), bulks({"databases", "16"}));
}

TEST_F(CompatCommandsTest, SlowlogKeepsTheSlowCommands) {
  ASSERT_EQ(run({"CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2"}), ok());
  ASSERT_EQ(run({"SET", "a", "1"}), ok());
  ASSERT_EQ(run({"GET", "a"}), bulk("1"));
  EXPECT_EQ(run({"SLOWLOG", "LEN"}), integer(2));
  const std::string got = run({"SLOWLOG", "GET", "-1"});
  EXPECT_NE(got.find("$3\r\nGET\r\n$1\r\na\r\n"), std::string::npos) << got;
  ASSERT_EQ(run({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}), ok());
  EXPECT_EQ(run({"SLOWLOG", "RESET"}), ok());
  ASSERT_EQ(run({"GET", "a"}), bulk("1"));
  EXPECT_EQ(run({"SLOWLOG", "LEN"}), integer(0));
}

TEST_F(CompatCommandsTest, WaitCountsTheOtherRegionsOnceConfirmed) {
  ASSERT_EQ(run({"SET", "a", "1"}), ok());
  quiesce();
  EXPECT_EQ(run({"WAIT", "1", "0"}), integer(1));
  EXPECT_EQ(run({"WAIT", "1", "-1"}), err("ERR timeout is negative"));
}

TEST_F(CompatCommandsTest, PublishReachesChannelAndPatternSubscribers) {
  EXPECT_EQ(run_other({"SUBSCRIBE", "news", "other"}),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n");
  EXPECT_EQ(run_other({"PSUBSCRIBE", "n*"}), "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
  EXPECT_EQ(run_other({"GET", "k"}),
            err("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
                "in this context"));
  EXPECT_EQ(run_other({"PING"}), bulks({"pong", ""}));
  EXPECT_EQ(run({"PUBLISH", "news", "hi"}), integer(2));
  EXPECT_EQ(mail(),
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
            "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  EXPECT_EQ(run({"PUBSUB", "CHANNELS"}), bulks({"news", "other"}));
  EXPECT_EQ(run({"PUBSUB", "CHANNELS", "n*"}), bulks({"news"}));
  EXPECT_EQ(run({"PUBSUB", "NUMSUB", "news", "none"}), "*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
  EXPECT_EQ(run({"PUBSUB", "NUMPAT"}), integer(1));
  EXPECT_NE(run({"CLIENT", "LIST", "TYPE", "pubsub"}).find("sub=2 psub=1"), std::string::npos);
  EXPECT_EQ(run_other({"UNSUBSCRIBE"}),
            "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$5\r\nother\r\n:1\r\n");
  EXPECT_EQ(run_other({"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n");
  EXPECT_EQ(run_other({"UNSUBSCRIBE"}), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(run({"PUBLISH", "news", "hi"}), integer(0));
  EXPECT_EQ(run_other({"GET", "k"}), nil());
}

TEST_F(CompatCommandsTest, Resp3SubscribersGetPushes) {
  EXPECT_EQ(run_other({"SUBSCRIBE", "c"}, 3), ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
  // RESP3 allows any command while subscribed.
  EXPECT_EQ(run_other({"GET", "k"}, 3), "_\r\n");
  EXPECT_EQ(run({"PUBLISH", "c", "m"}), integer(1));
  EXPECT_EQ(mail(), ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
}

TEST_F(CompatCommandsTest, SlowSubscriberOverflowsItsMailbox) {
  ASSERT_EQ(run({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1kb 0 0"}), ok());
  ASSERT_EQ(run_other({"SUBSCRIBE", "c"}).substr(0, 4), "*3\r\n");
  const std::string payload(600, 'p');
  EXPECT_EQ(run({"PUBLISH", "c", payload}), integer(1));
  EXPECT_EQ(run({"PUBLISH", "c", payload}), integer(1));
  std::string out;
  EXPECT_TRUE(other_.mailbox->take(&out));  // overflowed: its loop closes it
  EXPECT_TRUE(out.empty());
}

TEST_F(CompatCommandsTest, TrackingInvalidatesWhatTheClientRead) {
  ASSERT_EQ(run({"SET", "k", "v"}), ok());
  ASSERT_EQ(run_other({"CLIENT", "TRACKING", "ON"}, 3), ok());
  ASSERT_EQ(run_other({"GET", "k"}, 3), bulk("v"));
  ASSERT_EQ(run({"SET", "unread", "v"}), ok());
  EXPECT_EQ(mail(), "");
  ASSERT_EQ(run({"SET", "k", "w"}), ok());
  EXPECT_EQ(mail(), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
  // Told once until it reads the key again.
  ASSERT_EQ(run({"SET", "k", "x"}), ok());
  EXPECT_EQ(mail(), "");
  ASSERT_EQ(run_other({"GET", "k"}, 3), bulk("x"));
  ASSERT_EQ(run({"FLUSHALL"}), ok());
  EXPECT_EQ(mail(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
  ASSERT_EQ(run_other({"CLIENT", "TRACKING", "OFF"}, 3), ok());
  ASSERT_EQ(run_other({"GET", "k"}, 3), "_\r\n");
  ASSERT_EQ(run({"SET", "k", "y"}), ok());
  EXPECT_EQ(mail(), "");
}

TEST_F(CompatCommandsTest, TrackingInvalidatesOnAnotherRegionsWrite) {
  cache_->set_remote_write_observer(&server_.tracking());
  ASSERT_EQ(run_other({"SELECT", "2"}, 3), ok());
  ASSERT_EQ(run_other({"CLIENT", "TRACKING", "ON"}, 3), ok());
  ASSERT_EQ(run_other({"GET", "k"}, 3), "_\r\n");
  // Written in r2 through the C++ API (not through this server's dispatch):
  // only its event, applied in r1, can tell.
  ASSERT_TRUE(cache_->put(db_key(2, "k"), "v", "r2").ok());
  quiesce();
  EXPECT_EQ(mail(), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
  cache_->flush_all(kR2);
  quiesce();
  EXPECT_EQ(mail(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
  cache_->set_remote_write_observer(nullptr);
}

TEST_F(CompatCommandsTest, TrackingBcastAndRedirect) {
  // The fixture's own session redirects its invalidations to the other one,
  // as a RESP2 client does with a second connection.
  ASSERT_EQ(run_other({"SUBSCRIBE", "__redis__:invalidate"}).substr(0, 4), "*3\r\n");
  const std::string id = std::to_string(other_.id);
  ASSERT_EQ(run({"CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST", "PREFIX", "user:"}), ok());
  ASSERT_EQ(run({"SET", "user:1", "a"}), ok());
  ASSERT_EQ(run({"SET", "order:1", "a"}), ok());
  EXPECT_EQ(mail(), "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$6\r\nuser:1\r\n");
  EXPECT_EQ(run({"CLIENT", "TRACKING", "ON", "REDIRECT", "999999"}),
            err("ERR The client ID you want redirect to does not exist"));
  ASSERT_EQ(run({"CLIENT", "TRACKING", "OFF"}), ok());
}

TEST_F(CompatCommandsTest, ClientKillFilters) {
  EXPECT_EQ(run({"CLIENT", "KILL", "ID", std::to_string(other_.id)}), integer(1));
  EXPECT_TRUE(other_.kill_requested.load());
  other_.kill_requested = false;
  // SKIPME yes (the default) spares the caller.
  EXPECT_EQ(run({"CLIENT", "KILL", "USER", "default"}), integer(1));
  EXPECT_EQ(run({"CLIENT", "KILL", "USER", "nobody"}), integer(0));
  EXPECT_EQ(run({"CLIENT", "KILL", "1.2.3.4:5"}), err("ERR No such client"));
  EXPECT_EQ(run({"CLIENT", "KILL", "TYPE", "master"}), integer(0));
  // Three arguments are the old form, an address (as in Redis).
  EXPECT_EQ(run({"CLIENT", "KILL", "ID"}), err("ERR No such client"));
  EXPECT_EQ(run({"CLIENT", "KILL", "ID", "1", "SKIPME"}), err(errors::kSyntax));
}

}  // namespace
}  // namespace geocache::testing
