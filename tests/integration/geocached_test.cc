// geocached end to end: the real binary on loopback ports, driven with
// hiredis, redis-cli and redis-py, the way users will talk to it.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "geocached_process.h"

namespace geocache::testing {
namespace {

class GeocachedTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << server_.log(); }

  std::string str(const Reply& r) { return r ? std::string(r->str, r->len) : "<no reply>"; }

  GeocachedProcess server_;
};

TEST_F(GeocachedTest, PingEchoSetGet) {
  auto c = server_.connect();
  EXPECT_EQ(str(command(c.get(), {"PING"})), "PONG");
  EXPECT_EQ(str(command(c.get(), {"PING", "hi"})), "hi");
  EXPECT_EQ(str(command(c.get(), {"ECHO", "hello"})), "hello");
  EXPECT_EQ(str(command(c.get(), {"SET", "k", "v"})), "OK");
  EXPECT_EQ(str(command(c.get(), {"GET", "k"})), "v");
  EXPECT_EQ(command(c.get(), {"GET", "missing"})->type, REDIS_REPLY_NIL);
}

// hiredis 0.14 (Debian 12) predates RESP3, so RESP3 bytes are checked raw.
TEST_F(GeocachedTest, Hello3SwitchesToResp3Types) {
  RawSocket s(server_.port());
  s.send_all("HELLO 3\r\n");
  std::string head =
      "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n"
      "$2\r\nid\r\n:";
  std::string hello = s.read_some(head.size() + 60, 1000);
  EXPECT_EQ(hello.substr(0, head.size()), head);
  EXPECT_NE(hello.find("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
            std::string::npos);
  auto roundtrip = [&](const std::string& cmd, const std::string& expected) {
    s.send_all(cmd + "\r\n");
    EXPECT_EQ(s.read_some(expected.size()), expected) << cmd;
  };
  roundtrip("GET missing", "_\r\n");
  roundtrip("DEBUG PROTOCOL double", ",3.141\r\n");
  roundtrip("DEBUG PROTOCOL true", "#t\r\n");
  roundtrip("DEBUG PROTOCOL false", "#f\r\n");
  roundtrip("DEBUG PROTOCOL null", "_\r\n");
  roundtrip("DEBUG PROTOCOL map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n");
  roundtrip("DEBUG PROTOCOL set", "~3\r\n:0\r\n:1\r\n:2\r\n");
  roundtrip("CONFIG GET maxmemory", "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
  s.send_all("HELLO 2\r\n");
  std::string back = s.read_some(4, 1000);
  EXPECT_EQ(back.substr(0, 4), "*14\r");
  // Back to RESP2: the same replies degrade.
  auto c = server_.connect();
  EXPECT_EQ(str(command(c.get(), {"DEBUG", "PROTOCOL", "double"})), "3.141");
  EXPECT_EQ(command(c.get(), {"DEBUG", "PROTOCOL", "true"})->integer, 1);
  EXPECT_EQ(command(c.get(), {"DEBUG", "PROTOCOL", "null"})->type, REDIS_REPLY_NIL);
  EXPECT_EQ(command(c.get(), {"DEBUG", "PROTOCOL", "map"})->elements, 6u);
  EXPECT_EQ(str(command(c.get(), {"HELLO", "4"})), "NOPROTO unsupported protocol version");
}

TEST_F(GeocachedTest, SelectOnlyDbZero) {
  auto c = server_.connect();
  EXPECT_EQ(str(command(c.get(), {"SELECT", "0"})), "OK");
  EXPECT_EQ(str(command(c.get(), {"SELECT", "16"})), "ERR DB index is out of range");
  EXPECT_EQ(str(command(c.get(), {"SELECT", "x"})), "ERR value is not an integer or out of range");
}

TEST_F(GeocachedTest, ClientNameIdListInfo) {
  auto c = server_.connect();
  Reply id = command(c.get(), {"CLIENT", "ID"});
  ASSERT_EQ(id->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(command(c.get(), {"CLIENT", "GETNAME"})->type, REDIS_REPLY_NIL);
  EXPECT_EQ(str(command(c.get(), {"CLIENT", "SETNAME", "worker-1"})), "OK");
  EXPECT_EQ(str(command(c.get(), {"CLIENT", "GETNAME"})), "worker-1");
  EXPECT_EQ(str(command(c.get(), {"CLIENT", "SETNAME", "a b"})),
            "ERR Client names cannot contain spaces, newlines or special characters.");
  std::string list = str(command(c.get(), {"CLIENT", "LIST"}));
  EXPECT_NE(list.find("id=" + std::to_string(id->integer) + " "), std::string::npos) << list;
  EXPECT_NE(list.find("name=worker-1"), std::string::npos);
  std::string info = str(command(c.get(), {"CLIENT", "INFO"}));
  EXPECT_EQ(info.find('\n'), info.size() - 1);
  EXPECT_EQ(str(command(c.get(), {"CLIENT", "NOPE"})), "ERR unknown subcommand 'NOPE'. Try CLIENT HELP.");
}

TEST_F(GeocachedTest, InfoHasEverySection) {
  auto c = server_.connect();
  command(c.get(), {"SET", "a", "1"});
  std::string all = str(command(c.get(), {"INFO"}));
  for (const char* s : {"# Server", "# Clients", "# Memory", "# Stats", "# Replication", "# Keyspace", "# Geo",
                        "db0:keys=1", "region:local", "outbox_depth_events:", "replication_lag_p99_ms:",
                        "refused_mac:0", "refused_clock:0", "replication_auth:none", "max_clock_offset_ms:500"}) {
    EXPECT_NE(all.find(s), std::string::npos) << s;
  }
  std::string geo = str(command(c.get(), {"INFO", "geo"}));
  EXPECT_EQ(geo.find("# Server"), std::string::npos);
  EXPECT_NE(geo.find("# Geo"), std::string::npos);
  EXPECT_EQ(str(command(c.get(), {"INFO", "nosuchsection"})), "");
}

TEST_F(GeocachedTest, ConfigGetSetMaxmemory) {
  auto c = server_.connect();
  Reply r = command(c.get(), {"CONFIG", "GET", "maxmemory"});
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 2u);
  EXPECT_EQ(std::string(r->element[1]->str), "0");
  EXPECT_EQ(str(command(c.get(), {"CONFIG", "SET", "maxmemory", "10mb"})), "OK");
  r = command(c.get(), {"CONFIG", "GET", "maxmemory"});
  EXPECT_EQ(std::string(r->element[1]->str), std::to_string(10 * 1024 * 1024));
  EXPECT_EQ(str(command(c.get(), {"CONFIG", "SET", "maxmemory", "lots"})),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
  EXPECT_EQ(str(command(c.get(), {"CONFIG", "SET", "port", "1"})),
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
  r = command(c.get(), {"CONFIG", "GET", "max*"});
  EXPECT_GE(r->elements, 6u);
  // The store evicts down to the bound: 10 MB cannot hold 20 MB of values.
  std::string value(1000, 'x');
  for (int i = 0; i < 20000; ++i) redisAppendCommand(c.get(), "SET k%d %b", i, value.data(), value.size());
  for (int i = 0; i < 20000; ++i) {
    void* reply = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &reply), REDIS_OK);
    freeReplyObject(reply);
  }
  Reply size = command(c.get(), {"DBSIZE"});
  EXPECT_LT(size->integer, 11000);
  EXPECT_GT(size->integer, 1000);
}

TEST_F(GeocachedTest, CommandCountAndInfo) {
  auto c = server_.connect();
  Reply count = command(c.get(), {"COMMAND", "COUNT"});
  ASSERT_EQ(count->type, REDIS_REPLY_INTEGER);
  EXPECT_GT(count->integer, 10);
  Reply all = command(c.get(), {"COMMAND"});
  EXPECT_EQ(static_cast<long long>(all->elements), count->integer);
  Reply info = command(c.get(), {"COMMAND", "INFO", "get", "nosuch"});
  ASSERT_EQ(info->elements, 2u);
  ASSERT_EQ(info->element[0]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(std::string(info->element[0]->element[0]->str), "get");
  EXPECT_EQ(info->element[0]->element[1]->integer, 2);
  EXPECT_EQ(info->element[1]->type, REDIS_REPLY_NIL);
  EXPECT_EQ(command(c.get(), {"COMMAND", "DOCS", "get"})->elements, 2u);
}

TEST_F(GeocachedTest, PipelineOfTenThousandCommands) {
  auto c = server_.connect();
  constexpr int kN = 10000;
  for (int i = 0; i < kN; ++i) {
    if (i % 2 == 0) {
      redisAppendCommand(c.get(), "SET p:%d v%d", i, i);
    } else {
      redisAppendCommand(c.get(), "GET p:%d", i - 1);
    }
  }
  for (int i = 0; i < kN; ++i) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK);
    Reply r(static_cast<redisReply*>(raw));
    if (i % 2 == 0) {
      ASSERT_EQ(std::string(r->str), "OK");
    } else {
      ASSERT_EQ(std::string(r->str), "v" + std::to_string(i - 1));
    }
  }
}

// Replies the socket cannot take at once wait in blocks; a client that
// reads only after sending everything still gets every byte, in order.
TEST_F(GeocachedTest, PipelinedBigRepliesArriveWholeAndInOrder) {
  auto c = server_.connect();
  constexpr int kKeys = 40;
  std::string requests, expected;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "big:" + std::to_string(i);
    const std::string value(50'000 + 997 * i, static_cast<char>('a' + i % 26));
    ASSERT_EQ(str(command(c.get(), {"SET", key, value})), "OK");
    for (int round = 0; round < 5; ++round) {
      requests += "GET " + key + "\r\nPING\r\n";
      expected += "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n+PONG\r\n";
    }
  }
  RawSocket s(server_.port());
  ASSERT_TRUE(s.send_all(requests));  // about 14 MB of replies, far more than the socket buffers
  const std::string got = s.read_some(expected.size(), 20'000);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST_F(GeocachedTest, InlineCommandsOverARawSocket) {
  RawSocket s(server_.port());
  ASSERT_TRUE(s.ok());
  s.send_all("PING\r\nSET ik \"two words\"\r\nGET ik\r\n\r\nECHO 'x y'\n");
  std::string expected = "+PONG\r\n+OK\r\n$9\r\ntwo words\r\n$3\r\nx y\r\n";
  EXPECT_EQ(s.read_some(expected.size()), expected);
}

// Pipelined commands have their keys looked at before they run (prefetch):
// inline commands with quoted keys, mixed with multibulk ones, still run as
// sent, each on its own key.
TEST_F(GeocachedTest, PipelinedInlineCommandsWithQuotedKeys) {
  RawSocket s(server_.port());
  ASSERT_TRUE(s.ok());
  s.send_all(
      "SET \"k one\" 1\r\nSET 'k two' 2\r\n*3\r\n$3\r\nSET\r\n$7\r\nk three\r\n$1\r\n3\r\n"
      "GET \"k one\"\r\nGET 'k two'\r\nGET \"k three\"\r\nMGET \"k one\" 'k two' \"k three\" absent\r\n");
  const std::string expected =
      "+OK\r\n+OK\r\n+OK\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n";
  EXPECT_EQ(s.read_some(expected.size()), expected);
}

TEST_F(GeocachedTest, BinaryKeysAndValues) {
  auto c = server_.connect();
  std::string key("k\0\r\n\xff", 5), value("\0\0v\r\n", 5);
  EXPECT_EQ(str(command(c.get(), {"SET", key, value})), "OK");
  EXPECT_EQ(str(command(c.get(), {"GET", key})), value);
  EXPECT_EQ(command(c.get(), {"GET", std::string("k\0", 2)})->type, REDIS_REPLY_NIL);
}

TEST_F(GeocachedTest, RedisCliRoundTrip) {
  std::string out;
  int rc = run_program({"redis-cli", "-p", std::to_string(server_.port()), "SET", "cli", "hello"}, &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "OK\n");
  out.clear();
  run_program({"redis-cli", "-p", std::to_string(server_.port()), "GET", "cli"}, &out);
  EXPECT_EQ(out, "hello\n");
}

TEST_F(GeocachedTest, RedisPyRoundTrip) {
  std::string script =
      "import redis, sys\n"
      "r = redis.Redis(port=int(sys.argv[1]))\n"
      "assert r.ping()\n"
      "r.set('py', b'\\x00bytes')\n"
      "assert r.get('py') == b'\\x00bytes'\n"
      "assert r.info('geo')['region'] == 'local'\n"
      "p = r.pipeline(transaction=False)\n"
      "for i in range(100): p.set('py%d' % i, i)\n"
      "assert all(p.execute())\n"
      "print('ok')\n";
  std::string out;
  int rc = run_program({"/usr/bin/python3", "-c", script, std::to_string(server_.port())}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "ok\n");
}

// redis-py's transactions (pipeline(transaction=True), the WATCH loop), its
// Lock (Lua), rate-limiter scripts and a runaway script, against a server
// with two event loops (tests/integration/redis_py_transactions.py).
TEST(GeocachedProcessTest, RedisPyTransactionsLocksAndScripts) {
  GeocachedProcess server({"--threads", "2"});
  ASSERT_TRUE(server.started()) << server.log();
  std::string out;
  const int rc = run_program(
      {"/usr/bin/python3", GEOCACHE_SOURCE_DIR "/tests/integration/redis_py_transactions.py", std::to_string(server.port())},
      &out);
  EXPECT_EQ(rc, 0) << out << server.log();
  EXPECT_EQ(out, "ok\n");
}

TEST_F(GeocachedTest, ShutdownStopsTheServerCleanly) {
  auto c = server_.connect();
  redisAppendCommand(c.get(), "SHUTDOWN NOSAVE");
  void* raw = nullptr;
  redisGetReply(c.get(), &raw);  // the connection closes without a reply
  if (raw) freeReplyObject(raw);
  EXPECT_EQ(server_.wait_exit(), 0) << server_.log();
}

TEST(GeocachedProcessTest, SigtermStopsCleanly) {
  GeocachedProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto c = server.connect();
  EXPECT_EQ(std::string(command(c.get(), {"SET", "a", "b"})->str), "OK");
  EXPECT_EQ(server.terminate(), 0) << server.log();
  EXPECT_NE(server.log().find("bye"), std::string::npos);
}

// INFO server names the engine the loops run on.
std::string io_engine_of(const GeocachedProcess& server) {
  auto c = server.connect();
  Reply info = command(c.get(), {"INFO", "server"});
  std::string text = info ? std::string(info->str, info->len) : "";
  const size_t at = text.find("io_engine:");
  if (at == std::string::npos) return "<none>";
  return text.substr(at + 10, text.find('\r', at) - at - 10);
}

TEST(GeocachedProcessTest, ServesOnTheEngineAskedFor) {
  for (const char* engine : {"epoll", "uring"}) {
    GeocachedProcess server({"--io-engine", engine, "--threads", "2"});
    ASSERT_TRUE(server.started()) << server.log();
    EXPECT_EQ(io_engine_of(server), engine) << server.log();
    auto c = server.connect();
    EXPECT_EQ(std::string(command(c.get(), {"SET", "k", engine})->str), "OK");
    EXPECT_EQ(std::string(command(c.get(), {"GET", "k"})->str), engine);
  }
}

TEST(GeocachedProcessTest, FallsBackToEpollWhenTheKernelRefusesAnIoUring) {
  // Over the kernel's largest submission queue (32768): the ring cannot be made.
  GeocachedProcess server({"--io-engine", "uring", "--io-uring-entries", "65536"});
  ASSERT_TRUE(server.started()) << server.log();
  EXPECT_EQ(io_engine_of(server), "epoll");
  EXPECT_NE(server.log().find("io_uring unavailable"), std::string::npos) << server.log();
  auto c = server.connect();
  EXPECT_EQ(std::string(command(c.get(), {"SET", "k", "v"})->str), "OK");
  EXPECT_EQ(std::string(command(c.get(), {"GET", "k"})->str), "v");
}

TEST(GeocachedProcessTest, RequirepassAndAuth) {
  GeocachedProcess server({"--requirepass", "s3cret"});
  ASSERT_TRUE(server.started()) << server.log();
  auto c = server.connect();
  auto text = [](const Reply& r) { return std::string(r->str, r->len); };
  EXPECT_EQ(text(command(c.get(), {"GET", "k"})), "NOAUTH Authentication required.");
  EXPECT_EQ(text(command(c.get(), {"AUTH", "nope"})),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(text(command(c.get(), {"AUTH", "default", "s3cret"})), "OK");
  EXPECT_EQ(text(command(c.get(), {"PING"})), "PONG");
  auto c2 = server.connect();
  EXPECT_EQ(command(c2.get(), {"HELLO", "3"})->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(command(c2.get(), {"HELLO", "2", "AUTH", "default", "s3cret"})->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(text(command(c2.get(), {"RESET"})), "RESET");
  EXPECT_EQ(text(command(c2.get(), {"PING"})), "NOAUTH Authentication required.");
  // CONFIG SET requirepass changes it for new AUTHs.
  EXPECT_EQ(text(command(c.get(), {"CONFIG", "SET", "requirepass", "other"})), "OK");
  EXPECT_EQ(text(command(c2.get(), {"AUTH", "s3cret"})),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(text(command(c2.get(), {"AUTH", "other"})), "OK");
}

// Sets an environment variable for one scope; children started in it inherit it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

// A password given through the environment protects the server and never
// shows on its command line (which `ps` shows every user).
TEST(GeocachedProcessTest, RequirepassFromTheEnvironmentStaysOffTheCommandLine) {
  std::unique_ptr<GeocachedProcess> server;
  {
    ScopedEnv pass("GEOCACHE_REQUIREPASS", "env-s3cret");
    server = std::make_unique<GeocachedProcess>();
  }
  ASSERT_TRUE(server->started()) << server->log();
  auto c = server->connect();
  EXPECT_EQ(command_text(c.get(), {"GET", "k"}), "ERR:NOAUTH Authentication required.");
  EXPECT_EQ(command_text(c.get(), {"AUTH", "env-s3cret"}), "OK");
  std::ifstream cmdline("/proc/" + std::to_string(server->pid()) + "/cmdline");
  const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(args.empty());
  EXPECT_EQ(args.find("env-s3cret"), std::string::npos);
}

TEST(GeocachedProcessTest, AuthWithoutPasswordConfigured) {
  GeocachedProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto c = server.connect();
  Reply r = command(c.get(), {"AUTH", "x"});
  EXPECT_EQ(std::string(r->str).rfind("ERR AUTH <password> called without any password configured", 0), 0u);
}

TEST(GeocachedProcessTest, MaxclientsRefusesTheExtraClient) {
  GeocachedProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto a = server.connect();
  // The readiness probe's connection may still be closing; wait for it.
  for (int i = 0; i < 500; ++i) {
    Reply n = command(a.get(), {"INFO", "clients"});
    if (std::string(n->str).find("connected_clients:1\r") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(std::string(command(a.get(), {"CONFIG", "SET", "maxclients", "2"})->str), "OK");
  auto b = server.connect();
  EXPECT_EQ(std::string(command(b.get(), {"PING"})->str), "PONG");
  RawSocket third(server.port());
  EXPECT_EQ(third.read_some(36), "-ERR max number of clients reached\r\n");
  EXPECT_EQ(std::string(command(a.get(), {"PING"})->str), "PONG");
  Reply stats = command(a.get(), {"INFO", "stats"});
  EXPECT_NE(std::string(stats->str).find("rejected_connections:1"), std::string::npos);
}

TEST(GeocachedProcessTest, ProtectedModeRefusesRemoteClientsWithoutPassword) {
  const std::string ip = non_loopback_ipv4();
  if (ip.empty()) GTEST_SKIP() << "no non-loopback address to connect from";
  GeocachedProcess open_server({"--bind", "0.0.0.0"});
  ASSERT_TRUE(open_server.started()) << open_server.log();
  RawSocket remote(open_server.port(), ip);
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(remote.read_some(7).substr(0, 7), "-DENIED");
  EXPECT_TRUE(remote.closed_by_peer());
  // With a password, remote clients may connect (and must AUTH).
  GeocachedProcess guarded({"--bind", "0.0.0.0", "--requirepass", "pw"});
  ASSERT_TRUE(guarded.started()) << guarded.log();
  RawSocket remote2(guarded.port(), ip);
  remote2.send_all("PING\r\n");
  EXPECT_EQ(remote2.read_some(33), "-NOAUTH Authentication required.\r\n");
}

std::string file_text(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Polls until the file holds `text` (or 10 s pass).
bool wait_for_text(const std::string& path, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (file_text(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// SIGHUP, SIGUSR1 and SIGUSR2 used to kill the server (their default
// action) with nothing logged. They are logged and it goes on serving.
TEST(GeocachedProcessTest, HangupAndUserSignalsDoNotStopTheServer) {
  GeocachedProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  auto c = server.connect();
  ASSERT_EQ(std::string(command(c.get(), {"SET", "k", "v"})->str), "OK");
  for (auto [sig, name] : {std::pair{SIGHUP, "SIGHUP"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}}) {
    ASSERT_EQ(kill(server.pid(), sig), 0);
    EXPECT_TRUE(wait_for_text(server.log_path(), "received " + std::string(name))) << server.log();
    ASSERT_TRUE(server.running()) << name << " stopped the server:\n" << server.log();
    EXPECT_EQ(std::string(command(c.get(), {"PING"})->str), "PONG");
  }
  EXPECT_EQ(std::string(command(c.get(), {"GET", "k"})->str), "v");
}

// logrotate moves the log file away, then sends SIGHUP: the server opens a
// new file at the configured path and writes there from then on.
TEST(GeocachedProcessTest, SighupReopensTheLogFileSoLogrotateCanMoveIt) {
  char dir[] = "/tmp/geocached-logfile-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/geocached.log", rotated = path + ".1";
  struct Cleanup {
    std::string dir, path, rotated;
    ~Cleanup() {
      unlink(path.c_str());
      unlink(rotated.c_str());
      rmdir(dir.c_str());
    }
  } cleanup{dir, path, rotated};
  GeocachedProcess server({"--logfile", path});
  ASSERT_TRUE(server.started()) << server.log();
  ASSERT_TRUE(wait_for_text(path, "geocached ready")) << file_text(path);

  ASSERT_EQ(rename(path.c_str(), rotated.c_str()), 0);
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(wait_for_text(path, "log file reopened")) << "no new file at " << path;
  ASSERT_EQ(kill(server.pid(), SIGUSR1), 0);
  EXPECT_TRUE(wait_for_text(path, "received SIGUSR1"));
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_NE(file_text(path).find("bye"), std::string::npos) << file_text(path);
  // The rotated file kept what was written before and got nothing after.
  const std::string old_lines = file_text(rotated);
  EXPECT_NE(old_lines.find("geocached ready"), std::string::npos) << old_lines;
  EXPECT_EQ(old_lines.find("SIGUSR1"), std::string::npos) << old_lines;
  EXPECT_EQ(old_lines.find("bye"), std::string::npos) << old_lines;
}

TEST(GeocachedProcessTest, IdleClientsTimeOut) {
  GeocachedProcess server({"--timeout", "1"});
  ASSERT_TRUE(server.started()) << server.log();
  RawSocket idle(server.port());
  EXPECT_TRUE(idle.closed_by_peer(5000));
}

TEST(GeocachedProcessTest, PortInUseExitsNonZeroWithOneLine) {
  GeocachedProcess first;
  ASSERT_TRUE(first.started()) << first.log();
  std::string out;
  int rc = run_program({GEOCACHED_PATH, "--port", std::to_string(first.port())}, &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("could not listen"), std::string::npos) << out;
}

TEST(GeocachedProcessTest, BadConfigExitsNonZero) {
  std::string out;
  EXPECT_NE(run_program({GEOCACHED_PATH, "--port", "notaport"}, &out), 0);
  out.clear();
  EXPECT_NE(run_program({GEOCACHED_PATH, "/nonexistent/geocache.toml"}, &out), 0);
}

TEST(GeocachedRegionsTest, WritesOnOnePortAreSeenOnTheOthers) {
  GeocachedProcess server({}, {"us", "eu", "ap"});
  ASSERT_TRUE(server.started()) << server.log();
  auto us = server.connect("us");
  auto eu = server.connect("eu");
  auto ap = server.connect("ap");
  EXPECT_NE(std::string(command(eu.get(), {"INFO", "geo"})->str).find("region:eu"), std::string::npos);
  EXPECT_EQ(std::string(command(us.get(), {"SET", "city", "Boston"})->str), "OK");
  EXPECT_EQ(std::string(command(ap.get(), {"SET", "tea", "chai"})->str), "OK");
  auto seen = [](redisContext* c, const std::string& key, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      Reply r = command(c, {"GET", key});
      if (r->type == REDIS_REPLY_STRING && std::string(r->str, r->len) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  EXPECT_TRUE(seen(eu.get(), "city", "Boston"));
  EXPECT_TRUE(seen(ap.get(), "city", "Boston"));
  EXPECT_TRUE(seen(us.get(), "tea", "chai"));
  EXPECT_TRUE(seen(eu.get(), "tea", "chai"));
  std::string geo = command(us.get(), {"INFO", "geo"})->str;
  EXPECT_NE(geo.find("regions:us,eu,ap"), std::string::npos) << geo;
  EXPECT_NE(geo.find("inbound_us_from_ap"), std::string::npos) << geo;
}

}  // namespace
}  // namespace geocache::testing
