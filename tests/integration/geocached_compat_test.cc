// The real geocached with several event loops: INFO's thread count, pub/sub
// and invalidations delivered to connections of other loops, slow
// subscribers dropped, CLIENT KILL of another loop's connection.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "geocached_process.h"

namespace geocache::testing {
namespace {

std::string str(const Reply& r) { return r ? std::string(r->str, r->len) : "<no reply>"; }

std::string resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Reads until what arrived ends with `end` (or 5 s pass).
std::string read_until(RawSocket& s, const std::string& end) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(out.size() >= end.size() && out.compare(out.size() - end.size(), end.size(), end) == 0) &&
         std::chrono::steady_clock::now() < deadline) {
    out += s.read_some(1, 1000);
  }
  return out;
}

// The value of an INFO field, or "".
std::string info_field(redisContext* c, const std::string& section, const std::string& field) {
  const std::string text = str(command(c, {"INFO", section}));
  const size_t at = text.find(field + ":");
  if (at == std::string::npos) return "";
  return text.substr(at + field.size() + 1, text.find("\r\n", at) - at - field.size() - 1);
}

TEST(GeocachedCompatTest, InfoServerThreadsIsTheLoopsRunning) {
  // threads 0 means one loop per core: INFO says how many that made.
  GeocachedProcess server({"--threads", "0"});
  ASSERT_TRUE(server.started()) << server.log();
  auto c = server.connect();
  EXPECT_EQ(info_field(c.get(), "server", "server_threads"),
            std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  const uint64_t used = std::stoull(info_field(c.get(), "memory", "used_memory"));
  EXPECT_GT(used, 100'000u);  // the process' heap, not the store's 0 bytes
}

TEST(GeocachedCompatTest, PublishReachesSubscribersOnEveryLoop) {
  GeocachedProcess server({"--threads", "2"});
  ASSERT_TRUE(server.started()) << server.log();
  // Connections are handed to the loops in turn: four subscribers sit on both.
  std::vector<std::unique_ptr<RawSocket>> subs;
  const std::string confirm = "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
  for (int i = 0; i < 4; ++i) {
    subs.push_back(std::make_unique<RawSocket>(server.port()));
    subs.back()->send_all(resp({"SUBSCRIBE", "ch"}));
    ASSERT_EQ(subs.back()->read_some(confirm.size()), confirm);
  }
  auto pub = server.connect();
  EXPECT_EQ(command(pub.get(), {"PUBLISH", "ch", "hello"})->integer, 4);
  const std::string message = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n";
  for (auto& s : subs) EXPECT_EQ(s->read_some(message.size()), message);
  EXPECT_EQ(command(pub.get(), {"PUBSUB", "NUMSUB", "ch"})->element[1]->integer, 4);
}

TEST(GeocachedCompatTest, SlowSubscriberIsDroppedAtThePubsubLimit) {
  GeocachedProcess server({"--threads", "2"});
  ASSERT_TRUE(server.started()) << server.log();
  auto pub = server.connect();
  ASSERT_EQ(str(command(pub.get(), {"CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0"})), "OK");
  RawSocket slow(server.port());
  slow.send_all(resp({"SUBSCRIBE", "ch"}));
  ASSERT_EQ(slow.read_some(31), "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
  // Never read again: 32 MB is far more than the socket buffers and the limit hold.
  const std::string payload(64 * 1024, 'p');
  for (int i = 0; i < 512; ++i) {
    if (command(pub.get(), {"PUBLISH", "ch", payload})->integer == 0) break;  // dropped already
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (info_field(pub.get(), "stats", "client_output_buffer_limit_disconnections") != "1" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(info_field(pub.get(), "stats", "client_output_buffer_limit_disconnections"), "1");
  EXPECT_TRUE(slow.closed_by_peer());
  EXPECT_EQ(command(pub.get(), {"PUBLISH", "ch", "x"})->integer, 0);
}

TEST(GeocachedCompatTest, ClientKillClosesAConnectionOfAnotherLoop) {
  GeocachedProcess server({"--threads", "2"});
  ASSERT_TRUE(server.started()) << server.log();
  auto killer = server.connect();
  RawSocket victim(server.port());
  victim.send_all(resp({"CLIENT", "ID"}));
  const std::string id_reply = read_until(victim, "\r\n");
  ASSERT_EQ(id_reply[0], ':');
  const std::string id = id_reply.substr(1, id_reply.find('\r') - 1);
  EXPECT_EQ(command(killer.get(), {"CLIENT", "KILL", "ID", id})->integer, 1);
  EXPECT_TRUE(victim.closed_by_peer());
  EXPECT_EQ(str(command(killer.get(), {"PING"})), "PONG");
}

TEST(GeocachedCompatTest, TrackingClientIsToldOfAWriteFromAnotherLoop) {
  GeocachedProcess server({"--threads", "2"});
  ASSERT_TRUE(server.started()) << server.log();
  RawSocket tracker(server.port());
  tracker.send_all(resp({"HELLO", "3"}) + resp({"PING"}));
  ASSERT_EQ(read_until(tracker, "+PONG\r\n").substr(0, 2), "%7");
  tracker.send_all(resp({"CLIENT", "TRACKING", "ON"}));
  ASSERT_EQ(tracker.read_some(5), "+OK\r\n");
  tracker.send_all(resp({"GET", "k"}));
  ASSERT_EQ(tracker.read_some(3), "_\r\n");
  auto writer = server.connect();
  ASSERT_EQ(str(command(writer.get(), {"SET", "k", "v"})), "OK");
  const std::string push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
  EXPECT_EQ(tracker.read_some(push.size()), push);
}

}  // namespace
}  // namespace geocache::testing
