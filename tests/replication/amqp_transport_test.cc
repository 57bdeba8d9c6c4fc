// AmqpTransport against a real RabbitMQ broker: the transport alone, then a
// Replicator and GeoCache on top of it, then broker outages.
//
// The contract every transport keeps (fan-out, order, send_to, stop) is
// tested for AMQP too in tests/messaging/transport_contract_test.cc.
//
// Tests skip unless GEOCACHE_TEST_AMQP_URL is set. Each test uses its own
// exchange and queue names, so tests never see each other's messages.
#include "messaging/amqp_transport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cache/geo_cache.h"
#include "messaging/event.h"
#include "messaging/replicator.h"
#include "test_broker.h"

namespace geocache {
namespace {

using testing::PrivateBroker;
using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

const std::vector<std::string> kRegions = {"east", "west", "north"};
constexpr RegionId kEast = region_id_for("east"), kWest = region_id_for("west"), kNorth = region_id_for("north");

// Options with short timeouts, on names of this test's own.
AmqpOptions test_options(const std::string& url, const std::string& name) {
  AmqpOptions o;
  o.url = url;
  o.exchange = unique_name(name) + "x";
  o.queue_prefix = unique_name(name) + "q.";
  o.reconnect_min_ms = 50;
  o.reconnect_max_ms = 1000;
  o.publish_timeout_ms = 3000;
  o.heartbeat_s = 5;
  return o;
}

// Receives batches for one region and keeps them in arrival order.
class Collector {
 public:
  Transport::Receiver receiver() {
    return [this](std::string_view payload) {
      std::lock_guard lock(mu_);
      got_.emplace_back(payload);
    };
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  std::vector<std::string> all() const {
    std::lock_guard lock(mu_);
    return got_;
  }
  bool wait_for(size_t n, int64_t timeout_ms = 10'000) const {
    return wait_until(timeout_ms, [&] { return size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> got_;
};

// ============================================================ transport alone

TEST(AmqpTransport, RoundTripBetweenTwoRegionsKeepsOrder) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "roundtrip");
  Collector at_east, at_west;  // before the transports, which deliver to them until they stop
  AmqpTransport east(o, kRegions), west(o, kRegions);
  east.attach(kEast, at_east.receiver());
  west.attach(kWest, at_west.receiver());
  ASSERT_TRUE(east.start().ok());
  ASSERT_TRUE(west.start().ok());
  EXPECT_TRUE(east.stats().connected);

  for (int i = 0; i < 200; ++i) ASSERT_TRUE(east.publish(kEast, "e" + std::to_string(i)).ok()) << i;
  ASSERT_TRUE(west.publish(kWest, "from west").ok());

  ASSERT_TRUE(at_west.wait_for(200));
  ASSERT_TRUE(at_east.wait_for(1));
  const auto got = at_west.all();
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i], "e" + std::to_string(i));
  EXPECT_EQ(at_east.all(), std::vector<std::string>{"from west"});  // and not its own 200
  EXPECT_EQ(east.stats().messages_published, 200u);
  // And its own one, which came back through "*" and was acked unread.
  EXPECT_TRUE(wait_until(2000, [&] { return west.stats().messages_consumed == 201; }));
  EXPECT_EQ(east.stats().messages_nacked, 0u);
}

// A region's queue hands each message to one of the processes consuming it:
// two processes serving one region heard only some of each other's hellos
// (and none once their hellos fell in step with the others'). Each hears
// every one through a queue of its own; other regions' hellos still come
// once, through the region's queue.
TEST(AmqpTransport, TwoProcessesOfOneRegionHearEveryHelloOfTheOther) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "twins");
  Collector at_first, at_second, at_east;
  AmqpTransport first(o, kRegions), second(o, kRegions), east(o, kRegions);
  first.attach(kWest, at_first.receiver());
  second.attach(kWest, at_second.receiver());
  east.attach(kEast, at_east.receiver());
  ASSERT_TRUE(first.start().ok());
  ASSERT_TRUE(second.start().ok());
  ASSERT_TRUE(east.start().ok());
  constexpr size_t kHellos = 20;
  for (size_t i = 0; i < kHellos; ++i) ASSERT_TRUE(first.broadcast(kWest, "west " + std::to_string(i)).ok());
  ASSERT_TRUE(east.broadcast(kEast, "east").ok());
  auto count = [](const Collector& c, const std::string& payload) {
    const std::vector<std::string> all = c.all();
    return std::count(all.begin(), all.end(), payload);
  };
  auto heard_every_west_hello = [&](const Collector& c) {
    for (size_t i = 0; i < kHellos; ++i) {
      if (count(c, "west " + std::to_string(i)) == 0) return false;
    }
    return true;
  };
  EXPECT_TRUE(wait_until(10'000, [&] { return heard_every_west_hello(at_second); }));
  EXPECT_TRUE(wait_until(10'000, [&] { return heard_every_west_hello(at_east); }));
  ASSERT_TRUE(wait_until(10'000, [&] { return count(at_first, "east") + count(at_second, "east") >= 1; }));
  EXPECT_EQ(count(at_first, "east") + count(at_second, "east"), 1);
  for (size_t i = 0; i < kHellos; ++i) EXPECT_EQ(count(at_east, "west " + std::to_string(i)), 1) << i;
}

TEST(AmqpTransport, TwoLocalRegionsInOneTransport) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "twolocal");
  Collector at_east, at_west, at_north;
  AmqpTransport both(o, kRegions), north(o, kRegions);
  both.attach(kEast, at_east.receiver());
  both.attach(kWest, at_west.receiver());
  north.attach(kNorth, at_north.receiver());
  ASSERT_TRUE(both.start().ok());
  ASSERT_TRUE(north.start().ok());
  ASSERT_TRUE(both.publish(kEast, "from east").ok());
  ASSERT_TRUE(north.publish(kNorth, "from north").ok());
  ASSERT_TRUE(at_west.wait_for(2));
  ASSERT_TRUE(at_north.wait_for(1));
  ASSERT_TRUE(at_east.wait_for(1));
  EXPECT_EQ(at_east.all(), std::vector<std::string>{"from north"});
  EXPECT_EQ(at_north.all(), std::vector<std::string>{"from east"});
}

TEST(AmqpTransport, StartSucceedsWithBrokerDownAndPublishIsUnavailable) {
  // Nothing listens on port 1: no broker needed for this one.
  AmqpOptions o = test_options("amqp://guest:guest@127.0.0.1:1/", "down");
  Collector got;
  AmqpTransport east(o, kRegions);
  east.attach(kEast, got.receiver());
  ASSERT_TRUE(east.start().ok());
  const Status st = east.publish(kEast, "x");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(east.stats().connected);
  EXPECT_GE(east.stats().connect_failures, 2u);  // publisher and consumer
  east.stop();
}

TEST(AmqpTransport, MalformedUrlFailsStart) {
  AmqpOptions o = test_options("amqp://guest:guest@127.0.0.1:notaport/", "badurl");
  AmqpTransport east(o, kRegions);
  EXPECT_EQ(east.start().code(), StatusCode::kInvalidArgument);
}

TEST(AmqpTransport, FullQueueRejectsPublishUntilDrainedUnderRejectPublish) {
  GEOCACHE_REQUIRE_BROKER();
  AmqpOptions o = test_options(test_amqp_url(), "full");
  Collector got;  // west delivers to it until west stops
  o.queue_max_bytes = 4096;
  o.queue_overflow = "reject-publish";
  o.prefetch = 1;
  AmqpTransport east(o, kRegions);
  {
    // Declare west's queue, then take west away so nothing drains it.
    AmqpTransport west(o, {kRegions[0], kRegions[1]});
    west.attach(kWest, [](std::string_view) {});
    ASSERT_TRUE(west.start().ok());
    west.stop();
  }
  ASSERT_TRUE(east.start().ok());
  const std::string kilobyte(1024, 'x');
  int accepted = 0;
  Status st;
  for (int i = 0; i < 20 && (st = east.publish(kEast, kilobyte)).ok(); ++i) ++accepted;
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << "reject-publish should nack once the queue is full";
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 5);
  EXPECT_GE(east.stats().messages_nacked, 1u);

  // West comes back and drains: publishing works again.
  AmqpTransport west(o, kRegions);
  west.attach(kWest, got.receiver());
  ASSERT_TRUE(west.start().ok());
  ASSERT_TRUE(got.wait_for(accepted));
  EXPECT_TRUE(wait_until(5000, [&] { return east.publish(kEast, "after").ok(); }));
}

// The default: a full queue costs only its own region. Publishing goes on;
// the region that comes back gets the newest messages (and, through the
// Replicator, sees the gap and resyncs).
TEST(AmqpTransport, FullQueueDropsItsOldestAndPublishingGoesOnUnderDropHead) {
  GEOCACHE_REQUIRE_BROKER();
  AmqpOptions o = test_options(test_amqp_url(), "drophead");
  Collector got;  // west delivers to it until west stops
  o.queue_max_bytes = 4096;
  ASSERT_EQ(o.queue_overflow, "drop-head");
  AmqpTransport east(o, kRegions);
  {
    AmqpTransport west(o, {kRegions[1]});
    west.attach(kWest, [](std::string_view) {});
    ASSERT_TRUE(west.start().ok());
    west.stop();
  }
  ASSERT_TRUE(east.start().ok());
  const std::string kilobyte(1024, 'x');
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(east.publish(kEast, std::to_string(i) + kilobyte).ok()) << i;
  EXPECT_EQ(east.stats().messages_nacked, 0u);

  AmqpTransport west(o, kRegions);
  west.attach(kWest, got.receiver());
  ASSERT_TRUE(west.start().ok());
  ASSERT_TRUE(got.wait_for(1));
  ASSERT_TRUE(east.publish(kEast, "after").ok());
  ASSERT_TRUE(wait_until(5000, [&] { return !got.all().empty() && got.all().back() == "after"; }));
  const auto all = got.all();
  EXPECT_LE(all.size(), 6u);                           // what fits in 4 KiB, and "after"
  EXPECT_EQ(all[all.size() - 2], "19" + kilobyte);     // the newest were kept
}

// A queue declared earlier with other arguments (an older version used
// reject-publish; a node had another bound) makes the broker refuse the
// declare. The node uses the queue as it is, replicates, and says so.
TEST(AmqpTransport, QueueWithOtherArgumentsIsUsedAsItIsAndReported) {
  GEOCACHE_REQUIRE_BROKER();
  AmqpOptions old = test_options(test_amqp_url(), "otherargs");
  old.queue_overflow = "reject-publish";
  old.queue_max_bytes = 1 << 20;
  {
    AmqpTransport west(old, {kRegions[1]});
    west.attach(kWest, [](std::string_view) {});
    ASSERT_TRUE(west.start().ok());
    west.stop();
  }
  AmqpOptions o = old;
  o.queue_overflow = "drop-head";
  std::mutex mu;
  std::map<std::string, std::string> problems;
  Collector got;
  AmqpTransport west(o, kRegions), east(o, kRegions);
  west.set_problem_sink([&](const std::string& key, const std::string& text) {
    std::lock_guard lock(mu);
    problems[key] = text;
  });
  west.attach(kWest, got.receiver());
  ASSERT_TRUE(west.start().ok());
  ASSERT_TRUE(east.start().ok());
  ASSERT_TRUE(east.publish(kEast, "still replicates").ok());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.all(), std::vector<std::string>{"still replicates"});
  std::lock_guard lock(mu);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems.begin()->second.find("exists with other arguments"), std::string::npos)
      << problems.begin()->second;
  EXPECT_NE(problems.begin()->second.find("PRECONDITION_FAILED"), std::string::npos) << problems.begin()->second;
}

// ============================================================ with a Replicator

struct CountingApply {
  std::mutex mu;
  std::vector<std::string> keys;
  void operator()(RegionId, const Event& e) {
    std::lock_guard lock(mu);
    keys.push_back(e.key);
  }
  size_t size() {
    std::lock_guard lock(mu);
    return keys.size();
  }
};

// A write of east's, stamped as east would (receivers refuse versions of
// another region than the batch's origin).
Event put_event(const std::string& key) {
  Event e;
  e.kind = EventKind::kPut;
  e.key = key;
  e.origin_wall_ms = SystemClock::instance()->now_ms();
  e.record.version = Version{Hlc::pack(e.origin_wall_ms, 0), kEast};
  return e;
}

TEST(AmqpReplicator, CorruptMessageIsCountedAckedAndNextBatchApplied) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "corrupt");
  AmqpTransport east_t(o, kRegions), west_t(o, kRegions), raw(o, kRegions);
  CountingApply east_applied, west_applied;
  Replicator east({}, &east_t, nullptr, std::ref(east_applied), nullptr);
  Replicator west({}, &west_t, nullptr, std::ref(west_applied), nullptr);
  east.add_region(kEast);
  west.add_region(kWest);
  ASSERT_TRUE(east.start().ok());
  ASSERT_TRUE(west.start().ok());
  ASSERT_TRUE(raw.start().ok());

  // Garbage with east's routing key lands in west's queue, before good data.
  ASSERT_TRUE(raw.publish(kEast, "this is not a batch").ok());
  ASSERT_TRUE(raw.publish(kEast, std::string("\x01\x02\x03", 3)).ok());
  for (int i = 0; i < 10; ++i) east.append(kEast, put_event("k" + std::to_string(i)));
  ASSERT_TRUE(east.wait_drained(10'000));

  ASSERT_TRUE(wait_until(10'000, [&] { return west_applied.size() == 10; }));
  uint64_t corrupt = 0, batches = 0;
  for (const auto& s : west.inbound_stats()) {
    corrupt += s.corrupt_batches;
    if (s.origin == kEast) batches += s.batches_in;
  }
  EXPECT_EQ(corrupt, 2u);
  // Both garbage messages were acked (consumed), not left to be redelivered
  // (the ten events went in one batch or more: a lone first one goes at once).
  EXPECT_TRUE(wait_until(2000, [&] { return west_t.stats().messages_consumed == 2 + batches; }));
  EXPECT_EQ(east_applied.size(), 0u);
}

// ============================================================ GeoCache on AMQP

GeoCacheOptions cache_options(const std::string& local, size_t outbox_max_bytes = 64 << 20) {
  GeoCacheOptions o;
  o.regions = kRegions;
  o.local_regions = {local};
  o.replication.linger_us = 1000;
  o.replication.retry_backoff_ms = 50;
  o.replication.outbox_max_bytes = outbox_max_bytes;
  o.replication.breaker.failure_threshold = 3;
  o.replication.breaker.open_interval_ms = 200;
  return o;
}

std::unique_ptr<GeoCache> make_cache(const AmqpOptions& o, const std::string& local,
                                     size_t outbox_max_bytes = 64 << 20) {
  auto cache = std::make_unique<GeoCache>(cache_options(local, outbox_max_bytes),
                                          std::make_unique<AmqpTransport>(o, kRegions));
  EXPECT_TRUE(cache->start().ok());
  return cache;
}

bool visible(GeoCache& cache, const std::string& region, const std::string& key, const std::string& value) {
  auto got = cache.get(key, region);
  return got.ok() && got->is_string() && got->as_string() == value;
}

TEST(AmqpGeoCache, WritesDeletesAndTtlsReplicate) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "geocache");
  auto east = make_cache(o, "east");
  auto west = make_cache(o, "west");
  auto north = make_cache(o, "north");

  ASSERT_TRUE(east->put("greeting", Value("hello"), "east", 60'000).ok());
  ASSERT_TRUE(east->put("doomed", Value("x"), "east").ok());
  for (auto* c : {west.get(), north.get()}) {
    const std::string r = c == west.get() ? "west" : "north";
    ASSERT_TRUE(wait_until(10'000, [&] { return visible(*c, r, "greeting", "hello"); })) << r;
    const int64_t ttl = c->ttl("greeting", r);
    EXPECT_GT(ttl, 55'000) << r;  // the absolute expiry replicated
    EXPECT_LE(ttl, 60'000) << r;
    ASSERT_TRUE(wait_until(10'000, [&] { return visible(*c, r, "doomed", "x"); })) << r;
  }
  ASSERT_TRUE(west->remove("doomed", "west").value());
  ASSERT_TRUE(wait_until(10'000, [&] { return !east->get("doomed", "east").ok() && !north->get("doomed", "north").ok(); }));
}

TEST(AmqpGeoCache, ConcurrentConflictingWritesConverge) {
  GEOCACHE_REQUIRE_BROKER();
  const AmqpOptions o = test_options(test_amqp_url(), "conflict");
  std::vector<std::unique_ptr<GeoCache>> caches;
  for (const auto& r : kRegions) caches.push_back(make_cache(o, r));
  std::vector<std::thread> writers;
  for (size_t i = 0; i < 3; ++i) {
    writers.emplace_back([&, i] {
      for (int n = 0; n < 300; ++n) {
        EXPECT_TRUE(caches[i]->put("key" + std::to_string(n % 20), Value(kRegions[i] + std::to_string(n)), kRegions[i]).ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  for (auto& c : caches) ASSERT_TRUE(c->replicator().wait_drained(10'000));
  for (int k = 0; k < 20; ++k) {
    const std::string key = "key" + std::to_string(k);
    ASSERT_TRUE(wait_until(10'000, [&] {
      auto a = caches[0]->get(key, "east"), b = caches[1]->get(key, "west"), c = caches[2]->get(key, "north");
      return a.ok() && b.ok() && c.ok() && a->as_string() == b->as_string() && b->as_string() == c->as_string();
    })) << key;
  }
}

TEST(AmqpGeoCache, OutboxStaysBoundedAndWritesGoOnWhileBrokerUnreachable) {
  // Nothing listens on port 1: no broker needed.
  AmqpOptions o = test_options("amqp://guest:guest@127.0.0.1:1/", "bounded");
  auto east = make_cache(o, "east", /*outbox_max_bytes=*/64 << 10);
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(east->put("k" + std::to_string(i), Value(std::string(50, 'v')), "east").ok());
  }
  EXPECT_TRUE(visible(*east, "east", "k19999", std::string(50, 'v')));
  ASSERT_TRUE(wait_until(5000, [&] {
    return east->replicator().outbox_stats()[0].breaker != CircuitBreaker::State::kClosed;
  }));
  const OutboxStats s = east->replicator().outbox_stats()[0];
  EXPECT_LE(s.depth_bytes, 64u << 10);
  EXPECT_GT(s.dropped, 0u);
  EXPECT_GT(s.epoch, 0u);
  EXPECT_GT(s.publish_failures, 0u);
  EXPECT_EQ(s.published, 0u);
}

// A broker of this test's own is stopped and restarted while three things
// happen: a region down (its durable queue keeps what it misses), the broker
// down (outbox buffers, breaker opens, local writes go on) and the broker
// back (everything drains). Every event is counted.
TEST(AmqpGeoCache, BrokerAndNodeOutagesLoseNoAcknowledgedWrite) {
  GEOCACHE_REQUIRE_BROKER();
  PrivateBroker broker;
  ASSERT_TRUE(broker.start()) << "scripts/rabbitmq.sh start failed";
  const AmqpOptions o = test_options(broker.url(), "outage");
  auto east = make_cache(o, "east");
  auto west = make_cache(o, "west");
  int next = 0;
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i, ++next) {
      ASSERT_TRUE(east->put("k" + std::to_string(next), Value("v" + std::to_string(next)), "east").ok());
    }
  };
  auto all_visible_in = [&](GeoCache& c, int from, int to) {
    for (int i = from; i < to; ++i) {
      if (!visible(c, "west", "k" + std::to_string(i), "v" + std::to_string(i))) return false;
    }
    return true;
  };

  // 1. All up.
  write(500);
  ASSERT_TRUE(wait_until(15'000, [&] { return all_visible_in(*west, 0, 500); }));

  // 2. West down: its durable queue keeps what east sends.
  west->stop();
  west.reset();
  write(500);
  ASSERT_TRUE(east->replicator().wait_drained(15'000));

  // 3. Broker down: local writes go on, the breaker opens, the outbox grows.
  ASSERT_TRUE(broker.stop());
  write(500);
  EXPECT_TRUE(visible(*east, "east", "k1499", "v1499"));
  ASSERT_TRUE(wait_until(15'000, [&] {
    return east->replicator().outbox_stats()[0].breaker != CircuitBreaker::State::kClosed;
  }));
  OutboxStats s = east->replicator().outbox_stats()[0];
  EXPECT_GT(s.publish_failures, 0u);
  EXPECT_GE(s.depth_events, 1u);
  EXPECT_EQ(s.dropped, 0u);

  // 4. Broker back and west restarted: everything from 2 and 3 arrives.
  ASSERT_TRUE(broker.start());
  west = make_cache(o, "west");
  ASSERT_TRUE(wait_until(60'000, [&] { return all_visible_in(*west, 500, 1500); }))
      << "persistent messages in the durable queue must survive the broker restart";
  ASSERT_TRUE(east->replicator().wait_drained(15'000));
  s = east->replicator().outbox_stats()[0];
  EXPECT_EQ(s.published, 1500u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.breaker, CircuitBreaker::State::kClosed);
  west->stop();
  east->stop();
}

// Every record of a store, tombstones included.
std::map<std::string, Record> all_records(LruCache& s) {
  std::map<std::string, Record> out;
  for (int i = 0; i < s.shard_count(); ++i) {
    s.scan_shard(i, true, [&](std::string_view k, const RecordView& v) { out.emplace(k, v.to_record()); });
  }
  return out;
}

// The first key whose record differs between a and b, or "" if none. A
// tombstone's expiry is each store's own retention deadline, so it may differ.
std::string first_difference(const std::map<std::string, Record>& a, const std::map<std::string, Record>& b) {
  for (const auto& [key, rec] : a) {
    auto it = b.find(key);
    if (it == b.end()) return key + " (missing)";
    if (it->second.kind != rec.kind || it->second.bytes != rec.bytes || it->second.version != rec.version ||
        (!rec.is_tombstone() && it->second.expire_at_ms != rec.expire_at_ms)) {
      return key;
    }
  }
  for (const auto& [key, rec] : b) {
    if (!a.count(key)) return key + " (extra)";
  }
  return "";
}

// East's tiny outbox overflows while the broker is down, so west misses
// events for good. When the broker is back, west sees east's new epoch, asks
// east for a snapshot through the broker, and ends with exactly east's
// contents: overwrites and deletes it missed, and none of the keys east
// evicted meanwhile.
TEST(AmqpGeoCache, ReceiverResyncsFromAnotherProcessAfterTheOriginsOutboxOverflowed) {
  GEOCACHE_REQUIRE_BROKER();
  PrivateBroker broker;
  ASSERT_TRUE(broker.start()) << "scripts/rabbitmq.sh start failed";
  const AmqpOptions o = test_options(broker.url(), "resync");
  GeoCacheOptions east_options = cache_options("east", /*outbox_max_bytes=*/16 << 10);
  east_options.store.shards = 1;
  east_options.store.max_items = 1500;  // east evicts what it wrote first
  auto east = std::make_unique<GeoCache>(east_options, std::make_unique<AmqpTransport>(o, kRegions));
  ASSERT_TRUE(east->start().ok());
  auto west = make_cache(o, "west");

  // 1. All up, in rounds the outbox holds: west follows east exactly.
  for (int round = 0; round < 10; ++round) {
    for (int i = round * 100; i < (round + 1) * 100; ++i) {
      ASSERT_TRUE(east->put("k" + std::to_string(i), Value("v" + std::to_string(i)), "east").ok());
    }
    ASSERT_TRUE(east->replicator().wait_drained(15'000));
  }
  for (int i = 0; i < 1000; i += 10) ASSERT_TRUE(east->remove("k" + std::to_string(i), "east").value());
  ASSERT_TRUE(east->replicator().wait_drained(15'000));
  std::string diff;
  ASSERT_TRUE(wait_until(15'000, [&] {
    diff = first_difference(all_records(east->TEST_store(kEast)), all_records(west->TEST_store(kWest)));
    return diff.empty();
  })) << "first difference: " << diff;
  ASSERT_EQ(east->replicator().outbox_stats()[0].dropped, 0u);
  ASSERT_EQ(west->resyncs(), 0u);

  // 2. Broker down: east overwrites, deletes and writes far past its outbox
  // bound; the oldest events are dropped and its epoch bumped.
  ASSERT_TRUE(broker.stop());
  for (int i = 1; i < 1000; i += 10) ASSERT_TRUE(east->remove("k" + std::to_string(i), "east").value());
  for (int i = 2; i < 1000; i += 10) ASSERT_TRUE(east->put("k" + std::to_string(i), Value("again"), "east").ok());
  for (int i = 0; i < 1200; ++i) {
    ASSERT_TRUE(east->put("n" + std::to_string(i), Value(std::string(50, 'n')), "east").ok());
  }
  const OutboxStats s = east->replicator().outbox_stats()[0];
  ASSERT_GT(s.dropped, 0u);
  ASSERT_LE(s.depth_bytes, 16u << 10);
  const auto east_now = all_records(east->TEST_store(kEast));
  ASSERT_FALSE(east_now.count("k3"));  // evicted at east; west still holds it
  ASSERT_TRUE(west->TEST_store(kWest).peek("k3"));

  // 3. Broker back: west resyncs and ends equal to east, key by key.
  ASSERT_TRUE(broker.start());
  ASSERT_TRUE(wait_until(90'000, [&] { return west->resyncs_completed() >= 1; }))
      << "resyncs started: " << west->resyncs();
  ASSERT_TRUE(east->replicator().wait_drained(30'000));
  EXPECT_TRUE(wait_until(30'000, [&] {
    diff = first_difference(all_records(east->TEST_store(kEast)), all_records(west->TEST_store(kWest)));
    return diff.empty();
  })) << "first difference: " << diff;
  EXPECT_FALSE(west->TEST_store(kWest).peek_with_tombstone("k3"));
  EXPECT_TRUE(west->TEST_store(kWest).peek_with_tombstone("k991")->is_tombstone());
  EXPECT_EQ(west->TEST_store(kWest).peek("k992")->bytes, "again");
  EXPECT_GE(west->resyncs(), 1u);
  west->stop();
  east->stop();
}

}  // namespace
}  // namespace geocache
