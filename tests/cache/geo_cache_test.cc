#include "cache/geo_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "core/versioned_hash.h"

namespace geocache {

void PrintTo(const Value& v, std::ostream* os) { *os << v.to_json(); }

namespace {

constexpr RegionId kEu = region_id_for("eu"), kUs = region_id_for("us"), kAp = region_id_for("ap");

// r's value; an error fails the test (and reads as false).
bool value_of(const Result<bool>& r) {
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() && *r;
}

// Three regions hosted in one process over the in-process transport, with a
// manual clock: replication is real (threads, batches), time is not.
class GeoCacheTest : public ::testing::Test {
 protected:
  static GeoCacheOptions three_regions() {
    GeoCacheOptions o;
    o.regions = {"eu", "us", "ap"};
    o.home_region = "eu";
    o.latency_ms = {{{"eu", "us"}, 80}, {{"eu", "ap"}, 200}, {{"us", "ap"}, 150}};
    o.replication.linger_us = 0;
    o.region_breaker.failure_threshold = 2;
    o.region_breaker.open_interval_ms = 1000;
    return o;
  }
  void start(GeoCacheOptions o = three_regions()) {
    auto transport = make_in_process_transport(o);
    link_ = transport.get();
    geo_ = std::make_unique<GeoCache>(o, std::move(transport), &clock_);
    ASSERT_TRUE(geo_->start().ok());
  }
  void quiesce() { ASSERT_TRUE(geo_->wait_replicated()); }
  // The string at key in region, or "-" when it reads as absent.
  std::string read(std::string_view key, std::string_view region) {
    auto v = geo_->get(key, region);
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
      return "-";
    }
    return v->is_string() ? v->as_string() : v->to_json();
  }
  InProcessTransport& link() { return *link_; }

  // Every record a region holds, tombstones included.
  std::map<std::string, Record> contents(RegionId region) {
    std::map<std::string, Record> out;
    LruCache& s = geo_->TEST_store(region);
    for (int i = 0; i < s.shard_count(); ++i) {
      s.scan_shard(i, true, [&](std::string_view k, const RecordView& v) { out.emplace(k, v.to_record()); });
    }
    return out;
  }
  void expect_converged() {
    const auto eu = contents(kEu);
    for (RegionId r : {kUs, kAp}) {
      const auto other = contents(r);
      ASSERT_EQ(other.size(), eu.size()) << "region " << int(r);
      for (const auto& [key, rec] : eu) {
        auto it = other.find(key);
        ASSERT_NE(it, other.end()) << "region " << int(r) << " lacks " << key;
        EXPECT_EQ(it->second.kind, rec.kind) << key;
        EXPECT_EQ(it->second.bytes, rec.bytes) << key;
        EXPECT_EQ(it->second.version, rec.version) << key;
        EXPECT_EQ(it->second.expire_at_ms, rec.expire_at_ms) << key;
      }
    }
  }

  ManualClock clock_;
  std::unique_ptr<GeoCache> geo_;
  InProcessTransport* link_ = nullptr;  // owned by geo_
};

// ---- replication of each write ---------------------------------------------------

TEST_F(GeoCacheTest, PutInOneRegionIsReadInAnotherAfterReplication) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  quiesce();
  EXPECT_EQ(read("k", "us"), "v");
  EXPECT_EQ(read("k", "ap"), "v");
}

TEST_F(GeoCacheTest, TypedValuesReplicateWithTheirType) {
  start();
  const Value doc(Value::Map{{"n", Value(7)}, {"xs", Value(Value::List{Value(1.5), Value(true), Value()})}});
  ASSERT_TRUE(geo_->put("doc", doc, "us").ok());
  ASSERT_TRUE(geo_->put("int", Value(-3), "us").ok());
  quiesce();
  auto got = geo_->get("doc", "ap");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, doc);
  auto i = geo_->get("int", "eu");
  ASSERT_TRUE(i.ok());
  ASSERT_EQ(i->type(), Value::Type::kInt);
  EXPECT_EQ(i->as_int(), -3);
}

TEST_F(GeoCacheTest, RemoveReplicates) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  quiesce();
  EXPECT_TRUE(value_of(geo_->remove("k", "us")));
  quiesce();
  EXPECT_EQ(read("k", "eu"), "-");
  EXPECT_EQ(read("k", "ap"), "-");
  EXPECT_FALSE(value_of(geo_->remove("k", "eu")));  // nothing left to remove
  auto t = geo_->TEST_store(kAp).peek_with_tombstone("k");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->is_tombstone());
}

// A region that has not received a key yet still deletes it: the write it
// has not seen is older than the delete, so the delete wins everywhere.
TEST_F(GeoCacheTest, RemoveOfAKeyNotYetReceivedWinsOverTheOlderWriteEverywhere) {
  start();
  link().cut(kEu, kUs);
  ASSERT_TRUE(geo_->put("k", Value("old"), "eu").ok());
  quiesce();
  ASSERT_EQ(read("k", "us"), "-");
  EXPECT_FALSE(value_of(geo_->remove("k", "us")));  // absent here: replies false, as DEL replies 0
  link().heal(kEu, kUs);
  quiesce();
  for (const char* r : {"eu", "us", "ap"}) EXPECT_EQ(read("k", r), "-") << r;
  expect_converged();
  auto t = geo_->TEST_store(kEu).peek_with_tombstone("k");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->is_tombstone());
}

// With one region there is no older write elsewhere to beat: no tombstone.
TEST_F(GeoCacheTest, RemoveOfAbsentKeyInAOneRegionDeploymentWritesNothing) {
  GeoCacheOptions o;
  o.regions = {"solo"};
  start(o);
  EXPECT_FALSE(value_of(geo_->remove("never", "solo")));
  EXPECT_FALSE(geo_->TEST_store(region_id_for("solo")).peek_with_tombstone("never").has_value());
}

TEST_F(GeoCacheTest, PutWithTtlReplicatesItsAbsoluteExpiry) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu", 1000).ok());
  quiesce();
  EXPECT_EQ(geo_->ttl("k", "us"), 1000);
  clock_.advance_ms(400);
  EXPECT_EQ(geo_->ttl("k", "ap"), 600);
  clock_.advance_ms(600);
  EXPECT_EQ(read("k", "us"), "-");
  EXPECT_EQ(read("k", "eu"), "-");
  EXPECT_EQ(geo_->ttl("k", "ap"), -2);
}

TEST_F(GeoCacheTest, ExpireAndPersistReplicate) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  quiesce();
  EXPECT_EQ(geo_->ttl("k", "us"), -1);
  EXPECT_TRUE(value_of(geo_->expire("k", 5000, "eu")));
  quiesce();
  EXPECT_EQ(geo_->ttl("k", "us"), 5000);
  EXPECT_EQ(geo_->ttl("k", "ap"), 5000);
  clock_.advance_ms(2000);
  EXPECT_EQ(geo_->ttl("k", "us"), 3000);
  EXPECT_TRUE(value_of(geo_->persist("k", "ap")));
  quiesce();
  EXPECT_EQ(geo_->ttl("k", "eu"), -1);
  EXPECT_EQ(geo_->ttl("k", "us"), -1);
  EXPECT_FALSE(value_of(geo_->persist("k", "us")));  // no TTL left to drop
  clock_.advance_ms(10'000);
  EXPECT_EQ(read("k", "us"), "v");
}

TEST_F(GeoCacheTest, ExpireAndPersistOfAbsentKeyReportFalse) {
  start();
  EXPECT_FALSE(value_of(geo_->expire("none", 1000, "eu")));
  EXPECT_FALSE(value_of(geo_->persist("none", "eu")));
  EXPECT_EQ(geo_->ttl("none", "eu"), -2);
}

// A TTL so large that now + ttl overflows must not wrap into the past and
// silently turn the write into a delete.
TEST_F(GeoCacheTest, HugeTtlOnPutIsRefusedNotWrappedIntoThePast) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("old"), "eu").ok());
  const Status st = geo_->put("k", Value("v"), "eu", INT64_MAX);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read("k", "eu"), "old");
}

TEST_F(GeoCacheTest, HugeTtlOnExpireKeepsTheKeyForAsLongAsCanBeRepresented) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  EXPECT_TRUE(value_of(geo_->expire("k", INT64_MAX, "eu")));
  quiesce();
  EXPECT_EQ(read("k", "eu"), "v");
  EXPECT_EQ(read("k", "us"), "v");
  EXPECT_GT(geo_->ttl("k", "us"), int64_t{1} << 40);
}

TEST_F(GeoCacheTest, ExpireInThePastDeletesEverywhere) {
  start();
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  quiesce();
  EXPECT_TRUE(value_of(geo_->expire("k", -1, "us")));
  quiesce();
  EXPECT_EQ(read("k", "eu"), "-");
  auto t = geo_->TEST_store(kEu).peek_with_tombstone("k");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->is_tombstone());
}

TEST_F(GeoCacheTest, FlushAllRemovesOlderWritesEverywhereAndKeepsLaterOnes) {
  start();
  ASSERT_TRUE(geo_->put("a", Value("1"), "eu").ok());
  ASSERT_TRUE(geo_->put("b", Value("2"), "ap").ok());
  quiesce();
  geo_->flush_all(kUs);
  ASSERT_TRUE(geo_->put("c", Value("3"), "ap").ok());
  quiesce();
  for (const char* r : {"eu", "us", "ap"}) {
    EXPECT_EQ(read("a", r), "-") << r;
    EXPECT_EQ(read("b", r), "-") << r;
    EXPECT_EQ(read("c", r), "3") << r;
  }
}

// ---- partitions and loss -----------------------------------------------------------

TEST_F(GeoCacheTest, WriteDuringCutIsInvisibleAcrossItUntilHeal) {
  start();
  link().cut(kEu, kUs);
  ASSERT_TRUE(geo_->put("k", Value("v"), "eu").ok());
  quiesce();
  EXPECT_EQ(read("k", "us"), "-");
  EXPECT_EQ(read("k", "ap"), "v");  // other links unaffected
  link().heal(kEu, kUs);
  quiesce();
  EXPECT_EQ(read("k", "us"), "v");
  EXPECT_EQ(geo_->resyncs(), 0u);  // held, not lost: no resync needed
}

TEST_F(GeoCacheTest, ConcurrentWritesOnBothSidesOfACutConvergeToTheLaterOne) {
  start();
  link().cut(kEu, kUs);
  link().cut(kUs, kEu);
  ASSERT_TRUE(geo_->put("k", Value("from-eu"), "eu").ok());
  clock_.advance_ms(1);
  ASSERT_TRUE(geo_->put("k", Value("from-us"), "us").ok());
  quiesce();
  EXPECT_EQ(read("k", "eu"), "from-eu");
  link().heal(kEu, kUs);
  link().heal(kUs, kEu);
  quiesce();
  for (const char* r : {"eu", "us", "ap"}) EXPECT_EQ(read("k", r), "from-us") << r;
  expect_converged();
}

TEST_F(GeoCacheTest, LostBatchIsDetectedAsGapAndResyncConverges) {
  GeoCacheOptions o = three_regions();
  o.membership.heartbeat_ms = 0;  // the batch dropped is k2's, not a hello
  start(o);
  ASSERT_TRUE(geo_->put("k1", Value("1"), "eu").ok());
  quiesce();
  link().drop_next(kEu, kUs, 1);
  ASSERT_TRUE(geo_->put("k2", Value("2"), "eu").ok());
  quiesce();
  EXPECT_EQ(read("k2", "us"), "-");  // lost on the way
  EXPECT_EQ(geo_->resyncs(), 0u);
  ASSERT_TRUE(geo_->put("k3", Value("3"), "eu").ok());
  quiesce();
  EXPECT_EQ(geo_->resyncs(), 1u);
  EXPECT_EQ(read("k2", "us"), "2");
  EXPECT_EQ(read("k3", "us"), "3");
  expect_converged();
  uint64_t gaps = 0;
  for (const auto& s : geo_->replicator().inbound_stats()) gaps += s.gaps;
  EXPECT_EQ(gaps, 1u);
}

TEST_F(GeoCacheTest, ResyncDropsEntriesTheOriginNoLongerHas) {
  start();
  ASSERT_TRUE(geo_->put("stale", Value("x"), "eu").ok());
  quiesce();
  ASSERT_EQ(read("stale", "us"), "x");
  // The origin forgets the key without a replicated write (eviction is
  // local), so only a snapshot can tell the receiver its copy is stale.
  geo_->TEST_store(kEu).end_snapshot(kEu, UINT64_MAX);  // an empty snapshot of its own: forgets all
  geo_->resync(kUs, kEu);
  EXPECT_EQ(read("stale", "us"), "-");
  EXPECT_EQ(read("stale", "ap"), "x");  // not resynced
}

TEST_F(GeoCacheTest, EvictionIsLocalAndNeverReplicated) {
  GeoCacheOptions o = three_regions();
  o.store.shards = 1;
  o.store.max_items = 2;
  start(o);
  ASSERT_TRUE(geo_->put("k1", Value("1"), "eu").ok());
  ASSERT_TRUE(geo_->put("k2", Value("2"), "eu").ok());
  quiesce();
  ASSERT_EQ(read("k1", "eu"), "1");  // eu touches k1; us does not
  ASSERT_TRUE(geo_->put("k3", Value("3"), "eu").ok());
  quiesce();
  EXPECT_EQ(read("k2", "eu"), "-");  // eu evicted its least recently used, k2
  EXPECT_EQ(geo_->TEST_store(kUs).peek("k2").value().bytes, "2");  // us evicted k1 instead
  EXPECT_FALSE(geo_->TEST_store(kUs).peek("k1").has_value());
  EXPECT_EQ(geo_->TEST_store(kEu).stats().evictions, 1u);
}

// ---- routing -------------------------------------------------------------------------

TEST_F(GeoCacheTest, RegionsAreOrderedByLatency) {
  start();
  EXPECT_EQ(geo_->regions_by_distance(kEu), (std::vector<RegionId>{kEu, kUs, kAp}));
  EXPECT_EQ(geo_->regions_by_distance(kAp), (std::vector<RegionId>{kAp, kUs, kEu}));
  EXPECT_EQ(geo_->region_id("us").value(), kUs);
  EXPECT_EQ(geo_->region_name(kAp), "ap");
  EXPECT_EQ(geo_->region_id("mars").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GeoCacheTest, ReadWithoutRegionGoesHomeThenToNextClosestWhenHomeBreakerOpens) {
  start();
  // Different values per region, written straight into the stores so each
  // read shows which region answered.
  const Version v{Hlc::pack(clock_.now_ms(), 0), kEu};
  geo_->TEST_store(kEu).apply("k", Record{ValueKind::kString, "eu", kNoExpiry, v});
  geo_->TEST_store(kUs).apply("k", Record{ValueKind::kString, "us", kNoExpiry, v});
  geo_->TEST_store(kAp).apply("k", Record{ValueKind::kString, "ap", kNoExpiry, v});
  EXPECT_EQ(geo_->read_region(), kEu);
  EXPECT_EQ(read("k", ""), "eu");

  geo_->report_region_failure(kEu);
  EXPECT_EQ(read("k", ""), "eu");  // one failure is below the threshold
  geo_->report_region_failure(kEu);
  EXPECT_EQ(geo_->region_state(kEu), CircuitBreaker::State::kOpen);
  EXPECT_EQ(read("k", ""), "us");  // 80 ms away, closer than ap

  geo_->report_region_failure(kUs);
  geo_->report_region_failure(kUs);
  EXPECT_EQ(read("k", ""), "ap");

  clock_.advance_ms(1000);  // home's breaker half-opens and takes reads again
  EXPECT_EQ(read("k", ""), "eu");
  geo_->report_region_success(kEu);
  EXPECT_EQ(geo_->region_state(kEu), CircuitBreaker::State::kClosed);
}

// Resync feeds the region breakers: a region that keeps asking an origin in
// another process for a snapshot, unanswered, loses its reads to the closest
// local region; a completed resync gives them back.
TEST_F(GeoCacheTest, RegionThatKeepsMissingEventsLosesItsReadsUntilAResyncCompletes) {
  GeoCacheOptions o = three_regions();
  o.local_regions = {"eu", "us"};  // ap is hosted elsewhere and never answers
  start(o);
  geo_->resync(kUs, kAp);  // us missed events from ap and asks for a snapshot
  EXPECT_EQ(geo_->read_region(kUs), kUs);  // one failure is below the threshold (2)
  geo_->resync(kUs, kAp);  // missed more while still unanswered
  EXPECT_EQ(geo_->region_state(kUs), CircuitBreaker::State::kOpen);
  EXPECT_EQ(geo_->read_region(kUs), kEu);

  geo_->resync(kEu, kUs);  // a resync inside the process is no failure
  EXPECT_EQ(geo_->region_state(kEu), CircuitBreaker::State::kClosed);

  clock_.advance_ms(1000);  // half-open: us takes its reads again, on probation
  EXPECT_EQ(geo_->read_region(kUs), kUs);
  geo_->resync(kUs, kEu);  // a resync of us completes
  EXPECT_EQ(geo_->region_state(kUs), CircuitBreaker::State::kClosed);
}

// The server's reads: the client's region first, then by distance from it.
TEST_F(GeoCacheTest, ReaderPrefersItsRegionThenTheClosestWithAClosedBreaker) {
  start();
  const Version v{Hlc::pack(clock_.now_ms(), 0), kEu};
  geo_->TEST_store(kEu).apply("k", Record{ValueKind::kString, "eu", kNoExpiry, v});
  geo_->TEST_store(kUs).apply("k", Record{ValueKind::kString, "us", kNoExpiry, v});
  geo_->TEST_store(kAp).apply("k", Record{ValueKind::kString, "ap", kNoExpiry, v});
  auto read_via = [&](RegionId preferred) { return geo_->reader(preferred).peek("k").value().bytes; };
  EXPECT_EQ(read_via(kAp), "ap");
  EXPECT_EQ(read_via(kUs), "us");

  geo_->report_region_failure(kUs);
  geo_->report_region_failure(kUs);
  EXPECT_EQ(geo_->read_region(kUs), kEu);  // 80 ms from us, closer than ap
  EXPECT_EQ(read_via(kUs), "eu");
  EXPECT_EQ(read_via(kAp), "ap");  // ap's own breaker is closed
  EXPECT_EQ(geo_->region_stats(kUs).items, 1u);  // INFO's figures are not routed
}

TEST_F(GeoCacheTest, WritesWithoutRegionGoToHome) {
  start();
  link().cut(kEu, kUs);
  link().cut(kEu, kAp);
  ASSERT_TRUE(geo_->put("k", Value("v")).ok());
  quiesce();
  EXPECT_EQ(geo_->TEST_store(kEu).peek("k").value().bytes, "v");
  EXPECT_FALSE(geo_->TEST_store(kUs).peek("k").has_value());
}

TEST_F(GeoCacheTest, UnknownRegionIsAnInvalidArgument) {
  start();
  EXPECT_EQ(geo_->put("k", Value("v"), "mars").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(geo_->get("k", "mars").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(geo_->remove("k", "mars").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GeoCacheTest, RemoteRegionIsUnavailableForWrites) {
  GeoCacheOptions o = three_regions();
  o.local_regions = {"eu", "us"};
  start(o);
  EXPECT_EQ(geo_->put("k", Value("v"), "ap").code(), StatusCode::kUnavailable);
  EXPECT_FALSE(geo_->is_local(kAp));
  EXPECT_EQ(geo_->local_regions(), (std::vector<RegionId>{kEu, kUs}));
}

// ---- convergence property -------------------------------------------------------------

// Thousands of random writes from all three regions, racing with replication;
// once it settles every region must hold exactly the same records. The clock
// stays put so nothing expires and no tombstone retires during the run.
TEST_F(GeoCacheTest, RandomWritesFromAllRegionsConverge) {
  GeoCacheOptions o = three_regions();
  o.store.max_items = 0;  // nothing is evicted
  o.replication.batch_max_events = 16;
  start(o);
  const char* regions[] = {"eu", "us", "ap"};
  std::mt19937_64 rng(20240601);
  int writes = 0;
  for (int i = 0; i < 20000; ++i) {
    const char* region = regions[rng() % 3];
    const std::string key = "k" + std::to_string(rng() % 200);
    const int op = static_cast<int>(rng() % 1000);
    if (op < 450) {
      Value v;
      switch (rng() % 4) {
        case 0: v = Value("s" + std::to_string(i)); break;
        case 1: v = Value(static_cast<int64_t>(rng())); break;
        case 2: v = Value(Value::List{Value(i), Value("x")}); break;
        case 3: v = Value(Value::Map{{"i", Value(i)}}); break;
      }
      const int64_t ttl = rng() % 3 == 0 ? 1'000'000'000 : 0;
      ASSERT_TRUE(geo_->put(key, v, region, ttl).ok());
      ++writes;
    } else if (op < 700) {
      writes += value_of(geo_->remove(key, region));
    } else if (op < 850) {
      writes += value_of(geo_->expire(key, 1'000'000'000 + static_cast<int64_t>(rng() % 1000), region));
    } else if (op < 995) {
      writes += value_of(geo_->persist(key, region));
    } else {
      geo_->flush_all(geo_->region_id(region).value());
    }
    if (rng() % 500 == 0) quiesce();  // sometimes let replication catch up, mostly race it
  }
  quiesce();
  EXPECT_GT(writes, 10000);
  EXPECT_EQ(geo_->resyncs(), 0u);
  EXPECT_FALSE(contents(kEu).empty());
  expect_converged();
  for (RegionId r : {kEu, kUs, kAp}) geo_->TEST_store(r).TEST_check_invariants();
}

// The same, with batches lost and links cut while the writes go on. Lost
// batches are noticed as gaps when the next batch on the link arrives, so
// every region writes twice more at the end; resync must then bring every
// region to the same state as if nothing had been lost.
TEST_F(GeoCacheTest, RandomWritesWithLossAndPartitionsConvergeThroughResync) {
  GeoCacheOptions o = three_regions();
  o.store.max_items = 0;
  o.replication.batch_max_events = 8;
  start(o);
  const char* regions[] = {"eu", "us", "ap"};
  const RegionId ids[] = {kEu, kUs, kAp};
  std::mt19937_64 rng(777);
  for (int i = 0; i < 10000; ++i) {
    const char* region = regions[rng() % 3];
    const std::string key = "k" + std::to_string(rng() % 150);
    const int op = static_cast<int>(rng() % 1000);
    if (op < 500) {
      ASSERT_TRUE(geo_->put(key, Value("v" + std::to_string(i)), region).ok());
    } else if (op < 750) {
      ASSERT_TRUE(value_of(geo_->remove(key, region).ok()));
    } else if (op < 870) {
      ASSERT_TRUE(value_of(geo_->expire(key, 1'000'000'000, region).ok()));
    } else if (op < 990) {
      ASSERT_TRUE(value_of(geo_->persist(key, region).ok()));
    } else if (op < 993) {
      geo_->flush_all(geo_->region_id(region).value());
    } else {
      const size_t f = rng() % 3;
      const RegionId from = ids[f];
      const RegionId to = ids[(f + 1 + rng() % 2) % 3];  // any other region
      if (op < 997) link().drop_next(from, to, 1);
      else if (link().is_cut(from, to)) link().heal(from, to);
      else link().cut(from, to);
    }
    if (rng() % 400 == 0) quiesce();
  }
  for (RegionId a : ids) {
    for (RegionId b : ids) {
      if (a != b) link().heal(a, b);
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (const char* r : regions) ASSERT_TRUE(geo_->put(std::string("sentinel-") + r, Value(round), r).ok());
    quiesce();
  }
  EXPECT_GT(geo_->resyncs(), 0u);
  expect_converged();
  for (RegionId r : ids) geo_->TEST_store(r).TEST_check_invariants();
}

// ---- resync between processes ----------------------------------------------------

// Lets two GeoCaches, each hosting one region as if in its own process, share
// one InProcessTransport owned by the test. spans: whether it passes for a
// transport between processes (AMQP), as GeoCache sees it.
class SharedTransport final : public Transport {
 public:
  explicit SharedTransport(InProcessTransport* t, bool spans = false) : t_(t), spans_(spans) {}
  bool spans_processes() const override { return spans_; }
  void attach(RegionId region, Receiver receiver) override { t_->attach(region, std::move(receiver)); }
  Status start() override { return t_->start(); }
  void stop() override { t_->stop(); }
  Status publish(RegionId origin, std::string_view payload) override { return t_->publish(origin, payload); }
  Status send_to(RegionId from, RegionId to, std::string_view payload) override {
    return t_->send_to(from, to, payload);
  }

 private:
  InProcessTransport* t_;
  bool spans_;
};

// Every record of a store, tombstones included.
std::map<std::string, Record> all_records(LruCache& s) {
  std::map<std::string, Record> out;
  for (int i = 0; i < s.shard_count(); ++i) {
    s.scan_shard(i, true, [&](std::string_view k, const RecordView& v) { out.emplace(k, v.to_record()); });
  }
  return out;
}

// Polls until pred holds, for at most 20 s.
bool await(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Whether two records of a collection (hash, set, ...) hold the same state
// (their bytes follow each store's table order).
bool same_hash(const Record& a, const Record& b) {
  auto x = VersionedHash::decode(a.bytes, a.version, collection_kind(a.kind));
  auto y = VersionedHash::decode(b.bytes, b.version, collection_kind(b.kind));
  return x.ok() && y.ok() && *x == *y;
}

// A tombstone's expiry is each store's own retention deadline: not compared.
bool same_records(const std::map<std::string, Record>& a, const std::map<std::string, Record>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, rec] : a) {
    auto it = b.find(key);
    if (it == b.end() || it->second.kind != rec.kind ||
        (is_collection(rec.kind) ? !same_hash(rec, it->second) : it->second.bytes != rec.bytes) ||
        it->second.version != rec.version || (!rec.is_tombstone() && it->second.expire_at_ms != rec.expire_at_ms)) {
      return false;
    }
  }
  return true;
}

class TwoProcessResyncTest : public ::testing::Test {
 protected:
  static constexpr RegionId kA = region_id_for("a"), kB = region_id_for("b");
  // How much of its published events each keeps (0: every resync is a snapshot).
  virtual size_t backlog_bytes() const { return 16 << 20; }
  GeoCacheOptions options(const std::string& local) const {
    GeoCacheOptions o;
    o.regions = {"a", "b"};
    o.replication.linger_us = 0;
    o.replication.backlog_max_bytes = backlog_bytes();
    o.local_regions = {local};
    // No hellos: one published between a test's drop_next and its write
    // would be the message dropped.
    o.membership.heartbeat_ms = 0;
    if (local == "a") {
      // A small store at a, so it evicts (locally, without telling b).
      o.store.shards = 1;
      o.store.max_items = 6;
    }
    return o;
  }
  void SetUp() override {
    a_ = std::make_unique<GeoCache>(options("a"), std::make_unique<SharedTransport>(&transport_), &clock_);
    b_ = std::make_unique<GeoCache>(options("b"), std::make_unique<SharedTransport>(&transport_), &clock_);
    ASSERT_TRUE(a_->start().ok());
    ASSERT_TRUE(b_->start().ok());
    // Both start empty and warm up from each other at once (each flagged,
    // so neither waits for the other), before the tests count anything.
    ASSERT_TRUE(await([&] { return a_->warming() == 0 && b_->warming() == 0; }));
    quiesce();
    ASSERT_EQ(a_->resyncs_completed() + b_->resyncs_completed(), 0u);  // warm-ups are counted apart
  }
  // b's process dies and starts again: an empty store and a new epoch, a
  // second later (by the test's clock).
  void restart_b() {
    transport_.stop();
    const uint64_t old_epoch = b_->replicator().outbox_stats().at(0).epoch;
    b_.reset();
    // Epochs come from the wall clock: the new one must differ.
    ASSERT_TRUE(await([&] { return static_cast<uint64_t>(SystemClock::instance()->now_ms()) > old_epoch; }));
    clock_.advance_ms(1000);
    b_ = std::make_unique<GeoCache>(options("b"), std::make_unique<SharedTransport>(&transport_), &clock_);
    ASSERT_TRUE(b_->start().ok());
  }
  void TearDown() override {
    // Delivery stops before either cache goes, so no receiver outlives its cache.
    transport_.stop();
    a_.reset();
    b_.reset();
  }
  void quiesce() {
    ASSERT_TRUE(a_->wait_replicated());
    ASSERT_TRUE(b_->wait_replicated());
    transport_.wait_idle();
  }
  // a writes k0..k5 and b "mine"; a's store (6 items) evicts k0 and k1, b
  // keeps them; then b misses a's delete of k5 and its overwrite of k4.
  void evict_at_a_then_miss_two_of_its_events() {
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(a_->put("k" + std::to_string(i), Value("v" + std::to_string(i)), "a").ok());
    ASSERT_TRUE(b_->put("mine", Value("b's"), "b").ok());
    quiesce();
    ASSERT_TRUE(a_->put("k4", Value("v4"), "a").ok());
    ASSERT_TRUE(a_->put("k5", Value("v5"), "a").ok());
    quiesce();
    ASSERT_FALSE(a_->TEST_store(kA).peek_with_tombstone("k0"));
    ASSERT_EQ(b_->TEST_store(kB).peek("k0")->bytes, "v0");
    transport_.drop_next(kA, kB, 1);
    ASSERT_TRUE(value_of(a_->remove("k5", "a")));
    quiesce();
    transport_.drop_next(kA, kB, 1);
    ASSERT_TRUE(a_->put("k4", Value("v4 again"), "a").ok());
    quiesce();
  }
  // Polls until b has completed n resyncs; the snapshot is sent by a thread
  // of a's, which wait_idle() does not see.
  bool await_resyncs(uint64_t n) {
    return await([&] { return b_->resyncs_completed() >= n; });
  }

  ManualClock clock_;
  InProcessTransport transport_;
  std::unique_ptr<GeoCache> a_, b_;
};

// The same with no backlog: every resync is a snapshot.
class TwoProcessSnapshotTest : public TwoProcessResyncTest {
 protected:
  size_t backlog_bytes() const override { return 0; }
};

TEST_F(TwoProcessResyncTest, GapIsFilledFromTheOriginsBacklogWithJustTheMissedEvents) {
  ASSERT_NO_FATAL_FAILURE(evict_at_a_then_miss_two_of_its_events());
  ASSERT_TRUE(a_->put("after", Value("x"), "a").ok());  // shows b the gap
  quiesce();
  ASSERT_TRUE(await_resyncs(1));
  quiesce();
  EXPECT_TRUE(b_->TEST_store(kB).peek_with_tombstone("k5")->is_tombstone());  // the missed delete
  EXPECT_EQ(b_->TEST_store(kB).peek("k4")->bytes, "v4 again");
  // Only the two missed events came, and nothing was dropped: k0, which a
  // evicted (a local matter), stays at b.
  EXPECT_EQ(b_->resync_stats().by_backlog, 1u);
  EXPECT_EQ(b_->resync_stats().records_in, 2u);
  EXPECT_TRUE(b_->TEST_store(kB).peek("k0"));
  EXPECT_EQ(b_->TEST_store(kB).peek("mine")->bytes, "b's");
}

TEST_F(TwoProcessSnapshotTest, GapMakesTheReceiverAskTheOriginAndEndEqualToIt) {
  ASSERT_NO_FATAL_FAILURE(evict_at_a_then_miss_two_of_its_events());
  EXPECT_EQ(b_->TEST_store(kB).peek("k5")->bytes, "v5");  // stale
  EXPECT_EQ(b_->resyncs(), 0u);

  // The next batch shows the gap: b asks a, a answers from its own thread.
  ASSERT_TRUE(a_->put("after", Value("x"), "a").ok());
  quiesce();
  EXPECT_EQ(b_->resyncs(), 1u);
  ASSERT_TRUE(await_resyncs(1));
  quiesce();

  const auto at_a = all_records(a_->TEST_store(kA));
  const auto at_b = all_records(b_->TEST_store(kB));
  EXPECT_TRUE(same_records(at_a, at_b));
  EXPECT_FALSE(b_->TEST_store(kB).peek_with_tombstone("k0"));  // a evicted it: b dropped it
  ASSERT_TRUE(b_->TEST_store(kB).peek_with_tombstone("k5"));
  EXPECT_TRUE(b_->TEST_store(kB).peek_with_tombstone("k5")->is_tombstone());  // the missed delete
  EXPECT_EQ(b_->TEST_store(kB).peek("k4")->bytes, "v4 again");
  EXPECT_EQ(b_->TEST_store(kB).peek("mine")->bytes, "b's");  // b's own writes are not a's to drop
  EXPECT_EQ(a_->resyncs(), 0u);
  EXPECT_EQ(b_->resyncs_completed(), 1u);
}

TEST_F(TwoProcessSnapshotTest, BigHashMissedByTheReceiverComesWholeInPieces) {
  // 20,000 fields of 40 bytes: far more than one snapshot record may hold.
  HashDelta fields;
  for (int i = 0; i < 20'000; ++i) fields.put("field" + std::to_string(i), std::string(40, 'v'));
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->mutate("h", kA, [&](const RecordView*, std::optional<Record>* next) {
                  *next = Record{ValueKind::kHash, fields.encode(), kNoExpiry, {}};
                  return Status::Ok();
                }).ok());
  quiesce();
  ASSERT_FALSE(b_->TEST_store(kB).peek("h"));
  ASSERT_TRUE(a_->put("after", Value("x"), "a").ok());  // shows b the gap
  quiesce();
  ASSERT_TRUE(await_resyncs(1));
  quiesce();
  auto h = b_->TEST_store(kB).peek("h");
  ASSERT_TRUE(h);
  auto v = h->to_value();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->as_map().size(), 20'000u);
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

// Sets, sorted sets and counters travel in snapshots as hashes do: a big
// sorted set in pieces that merge back, its index whole.
TEST_F(TwoProcessSnapshotTest, MissedSetsSortedSetsAndCountersComeWhole) {
  HashDelta zset, set, counter;
  for (int i = 0; i < 20'000; ++i) zset.put("member" + std::to_string(i), VersionedHash::encode_score(i % 100));
  for (int i = 0; i < 100; ++i) set.put("m" + std::to_string(i), "");
  counter.put(VersionedHash::counter_field(kA), VersionedHash::encode_i64(42));
  transport_.drop_next(kA, kB, 1);
  // One group, so one batch, the one dropped: in batches of their own, the
  // second would show b the gap and b would resync before the check below.
  a_->run_exclusive(nullptr, [&] {
    for (auto& [key, kind, delta] : {std::tuple("z", ValueKind::kZset, &zset),
                                     std::tuple("s", ValueKind::kSet, &set),
                                     std::tuple("n", ValueKind::kCounter, &counter)}) {
      EXPECT_TRUE(a_->mutate(key, kA, [&](const RecordView*, std::optional<Record>* next) {
                      *next = Record{kind, delta->encode(), kNoExpiry, {}};
                      return Status::Ok();
                    }).ok());
    }
  });
  quiesce();
  ASSERT_FALSE(b_->TEST_store(kB).peek("z"));
  ASSERT_TRUE(a_->put("after", Value("x"), "a").ok());  // shows b the gap
  quiesce();
  ASSERT_TRUE(await_resyncs(1));
  quiesce();
  ASSERT_TRUE(b_->TEST_store(kB).peek("z"));
  b_->TEST_store(kB).peek("z", [&](const RecordView& v) {
    ASSERT_EQ(v.kind, ValueKind::kZset);
    EXPECT_EQ(v.hash->live_fields(), 20'000u);
    EXPECT_EQ(v.hash->index()->size(), 20'000u);
    EXPECT_EQ(ScoreIndex::member(v.hash->index()->at(0)), "member0");
  });
  EXPECT_EQ(b_->TEST_store(kB).peek("s")->to_value()->as_list().size(), 100u);
  EXPECT_EQ(*b_->TEST_store(kB).peek("n")->to_value(), Value(int64_t{42}));
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

TEST_F(TwoProcessSnapshotTest, SnapshotCarriesAMissedFlushAll) {
  ASSERT_TRUE(b_->put("old", Value("b's"), "b").ok());
  ASSERT_TRUE(a_->put("k", Value("1"), "a").ok());
  quiesce();
  transport_.drop_next(kA, kB, 1);
  a_->flush_all(kA);
  quiesce();
  ASSERT_TRUE(b_->TEST_store(kB).peek("old"));  // the flush never reached b
  ASSERT_TRUE(a_->put("new", Value("2"), "a").ok());
  quiesce();
  ASSERT_TRUE(await_resyncs(1));
  quiesce();
  EXPECT_FALSE(b_->TEST_store(kB).peek("old"));  // older than a's flush: gone, although b wrote it
  EXPECT_FALSE(b_->TEST_store(kB).peek("k"));
  EXPECT_EQ(b_->TEST_store(kB).peek("new")->bytes, "2");
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

TEST_F(TwoProcessResyncTest, LostRequestIsRepeatedOnlyAfterTheTimeout) {
  ASSERT_TRUE(a_->put("k1", Value("1"), "a").ok());
  quiesce();
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->put("k2", Value("2"), "a").ok());
  quiesce();
  transport_.drop_next(kB, kA, 1);  // the request
  ASSERT_TRUE(a_->put("k3", Value("3"), "a").ok());
  quiesce();
  EXPECT_EQ(b_->resyncs(), 1u);
  EXPECT_FALSE(b_->TEST_store(kB).peek("k2"));
  // Another gap within the timeout: still one request outstanding.
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->put("k4", Value("4"), "a").ok());
  quiesce();
  ASSERT_TRUE(a_->put("k5", Value("5"), "a").ok());
  quiesce();
  EXPECT_EQ(b_->resyncs(), 2u);
  EXPECT_EQ(b_->resyncs_completed(), 0u);
  // Past the timeout, b's background cycle asks again (once: the new
  // snapshot covers both gaps).
  clock_.advance_ms(kResyncTimeoutMs);
  ASSERT_TRUE(await_resyncs(1));
  quiesce();
  EXPECT_EQ(b_->resyncs_completed(), 1u);
  EXPECT_EQ(b_->TEST_store(kB).peek("k2")->bytes, "2");
  EXPECT_EQ(b_->TEST_store(kB).peek("k4")->bytes, "4");
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

TEST_F(TwoProcessResyncTest, GapWhileARequestIsOutstandingEarnsOneMoreRequest) {
  ASSERT_TRUE(a_->put("k1", Value("1"), "a").ok());
  quiesce();
  transport_.cut(kB, kA);  // b's request waits on the way
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->put("k2", Value("2"), "a").ok());
  quiesce();
  ASSERT_TRUE(a_->put("k3", Value("3"), "a").ok());
  quiesce();
  // Missed while the request is out: it may postdate the snapshot.
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->put("k4", Value("4"), "a").ok());
  quiesce();
  ASSERT_TRUE(a_->put("k5", Value("5"), "a").ok());
  quiesce();
  EXPECT_EQ(b_->resyncs(), 2u);
  transport_.heal(kB, kA);
  ASSERT_TRUE(await_resyncs(2));
  quiesce();
  EXPECT_EQ(b_->resyncs_completed(), 2u);
  EXPECT_EQ(b_->TEST_store(kB).peek("k4")->bytes, "4");
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

// Read-your-writes (GEO.WAIT): a token past a write b missed must not count
// at b because later events arrived, only once the resync has brought the
// missed one.
TEST_F(TwoProcessResyncTest, TokenPastAMissedWriteCountsOnlyOnceTheResyncHasBroughtIt) {
  ASSERT_TRUE(a_->put("k1", Value("1"), "a").ok());
  quiesce();
  const StreamPoint first = a_->write_point(kA).value();
  EXPECT_TRUE(b_->has_applied(kB, first));
  EXPECT_TRUE(a_->has_applied(kA, first));  // its own region
  transport_.cut(kB, kA);                   // b's request waits on the way
  transport_.drop_next(kA, kB, 1);
  ASSERT_TRUE(a_->put("k2", Value("2"), "a").ok());
  quiesce();
  const StreamPoint missed = a_->write_point(kA).value();
  EXPECT_FALSE(b_->has_applied(kB, missed));
  ASSERT_TRUE(a_->put("k3", Value("3"), "a").ok());  // shows b the gap
  quiesce();
  const StreamPoint past_gap = a_->write_point(kA).value();
  EXPECT_EQ(b_->TEST_store(kB).peek("k3")->bytes, "3");
  EXPECT_FALSE(b_->TEST_store(kB).peek("k2"));
  EXPECT_FALSE(b_->has_applied(kB, past_gap));  // k3 arrived, k2 did not
  EXPECT_FALSE(b_->has_applied(kB, missed));
  transport_.heal(kB, kA);
  ASSERT_TRUE(await([&] { return b_->has_applied(kB, past_gap); }));
  EXPECT_EQ(b_->TEST_store(kB).peek("k2")->bytes, "2");
}

// ---- miss fallback --------------------------------------------------------------------

// a asks b for the keys it misses; b asks no one.
class MissFallbackTest : public ::testing::Test {
 protected:
  static constexpr RegionId kA = region_id_for("a"), kB = region_id_for("b");
  void SetUp() override {
    for (auto [region, cache] : {std::pair{"a", &a_}, {"b", &b_}}) {
      GeoCacheOptions o;
      o.regions = {"a", "b"};
      o.local_regions = {region};
      o.replication.linger_us = 0;
      o.membership.heartbeat_ms = 0;
      o.miss_fallback.enabled = std::string(region) == "a";
      o.miss_fallback.timeout_ms = 50;
      *cache = std::make_unique<GeoCache>(o, std::make_unique<SharedTransport>(&transport_, true), &clock_);
      ASSERT_TRUE((*cache)->start().ok());
    }
    ASSERT_TRUE(await([&] { return a_->warming() == 0 && b_->warming() == 0; }));
    // a misses b's write of k (its batch is lost on the way).
    transport_.drop_next(kB, kA, 1);
    ASSERT_TRUE(b_->put("k", Value("from b"), "b").ok());
    ASSERT_TRUE(b_->wait_replicated());
    transport_.wait_idle();
    ASSERT_FALSE(a_->TEST_store(kA).peek_with_tombstone("k"));
  }
  void TearDown() override {
    transport_.stop();
    a_.reset();
    b_.reset();
  }
  ManualClock clock_;
  InProcessTransport transport_;
  std::unique_ptr<GeoCache> a_, b_;
};

TEST_F(MissFallbackTest, MissIsAnsweredByTheClosestRegionAndKeptWithItsVersion) {
  transport_.cut(kB, kA);  // b's answer waits on the way
  const std::optional<uint64_t> ticket = a_->fetch_missing(kA, "k");
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(a_->fetch_missing(kA, "k"), ticket);  // one fetch for concurrent misses
  transport_.heal(kB, kA);
  ASSERT_TRUE(await([&] { return a_->fetch_done(*ticket); }));
  const std::optional<Record> got = a_->TEST_store(kA).peek("k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, b_->TEST_store(kB).peek("k")->bytes);
  EXPECT_EQ(got->version, b_->TEST_store(kB).peek("k")->version);
  // Held now: nothing more to fetch. A key b lacks too is answered "none".
  EXPECT_FALSE(a_->fetch_missing(kA, "k").has_value());
  const std::optional<uint64_t> none = a_->fetch_missing(kA, "nowhere");
  ASSERT_TRUE(none.has_value());
  ASSERT_TRUE(await([&] { return a_->fetch_done(*none); }));
  EXPECT_FALSE(a_->TEST_store(kA).peek_with_tombstone("nowhere"));
  const MissFallback::Stats st = a_->miss_fallback().stats();
  EXPECT_EQ(st.fetches, 2u);
  EXPECT_EQ(st.found, 1u);
  EXPECT_EQ(b_->miss_fallback().stats().fetches, 0u);  // off at b
  EXPECT_FALSE(b_->fetch_missing(kB, "nowhere").has_value());
}

TEST_F(MissFallbackTest, SilentRegionTimesOutAndItsBreakerStopsTheFetches) {
  transport_.cut(kA, kB);
  for (int i = 0; i < 2; ++i) {
    const std::optional<uint64_t> ticket = a_->fetch_missing(kA, "k");
    ASSERT_TRUE(ticket.has_value()) << i;
    clock_.advance_ms(50);
    ASSERT_TRUE(await([&] { return a_->fetch_done(*ticket); })) << i;
  }
  EXPECT_EQ(a_->miss_fallback().stats().timed_out, 2u);
  // Two timeouts in a row: b's breaker is open, a miss is just a miss.
  EXPECT_FALSE(a_->fetch_missing(kA, "k").has_value());
  EXPECT_EQ(a_->miss_fallback().stats().skipped, 1u);
  // After the open interval b is probed again, and answers.
  transport_.heal(kA, kB);
  clock_.advance_ms(1000);
  const std::optional<uint64_t> probe = a_->fetch_missing(kA, "k");
  ASSERT_TRUE(probe.has_value());
  ASSERT_TRUE(await([&] { return a_->fetch_done(*probe); }));
  EXPECT_EQ(a_->TEST_store(kA).peek("k")->bytes, b_->TEST_store(kB).peek("k")->bytes);
}

// ---- start-up warm-up -----------------------------------------------------------------

// Three processes a, b and c; a is 10 ms from b and 100 ms from c. b and c
// run first and hold writes of both; then a starts.
class WarmUpTest : public ::testing::Test {
 protected:
  static constexpr RegionId kA = region_id_for("a"), kB = region_id_for("b"), kC = region_id_for("c");
  static GeoCacheOptions hosting(const std::string& region) {
    GeoCacheOptions o;
    o.regions = {"a", "b", "c"};
    o.local_regions = {region};
    o.latency_ms = {{{"a", "b"}, 10}, {{"a", "c"}, 100}, {{"b", "c"}, 50}};
    o.replication.linger_us = 0;
    o.expiry_cycle_interval_ms = 2;
    o.warm_up_fallback_ms = 2000;
    o.membership.heartbeat_ms = 0;
    return o;
  }
  void SetUp() override {
    for (auto [region, cache] : {std::pair{"b", &b_}, {"c", &c_}}) {
      *cache = std::make_unique<GeoCache>(hosting(region), std::make_unique<SharedTransport>(&transport_, true), &clock_);
      ASSERT_TRUE((*cache)->start().ok());
    }
    // b's closest region, a, is not there yet: b goes on to c.
    clock_.advance_ms(2000);
    ASSERT_TRUE(await([&] { return !b_->loading(kB) && !c_->loading(kC); }));
    ASSERT_TRUE(b_->put("from-b", Value("1"), "b").ok());
    ASSERT_TRUE(c_->put("from-c", Value("2"), "c").ok());
    ASSERT_TRUE(b_->wait_replicated() && c_->wait_replicated());
    transport_.wait_idle();
  }
  void start_a() {
    a_ = std::make_unique<GeoCache>(hosting("a"), std::make_unique<SharedTransport>(&transport_, true), &clock_);
    ASSERT_TRUE(a_->start().ok());
  }
  void TearDown() override {
    transport_.stop();
    a_.reset();
    b_.reset();
    c_.reset();
  }
  bool holds(GeoCache& cache, RegionId region, const std::string& key) { return cache.TEST_store(region).peek(key).has_value(); }

  ManualClock clock_;
  InProcessTransport transport_;
  std::unique_ptr<GeoCache> a_, b_, c_;
};

TEST_F(WarmUpTest, StartingProcessWarmsUpFromItsClosestRegionAndIsLoadingUntilThen) {
  transport_.cut(kB, kA);  // b's answer waits on the way
  ASSERT_NO_FATAL_FAILURE(start_a());
  EXPECT_TRUE(a_->loading(kA));
  EXPECT_EQ(a_->warming(), 1u);  // from b alone, not from c too
  EXPECT_FALSE(b_->loading(kB));
  transport_.heal(kB, kA);
  ASSERT_TRUE(await([&] { return !a_->loading(kA); }));
  // b's snapshot holds c's writes too.
  EXPECT_TRUE(holds(*a_, kA, "from-b"));
  EXPECT_TRUE(holds(*a_, kA, "from-c"));
  EXPECT_EQ(a_->warming(), 0u);
}

TEST_F(WarmUpTest, ClosestRegionSilentPastTheFallbackMakesTheNextClosestAskedToo) {
  transport_.cut(kA, kB);  // b never hears a's request
  ASSERT_NO_FATAL_FAILURE(start_a());
  ASSERT_TRUE(a_->wait_replicated());
  EXPECT_EQ(a_->warming(), 1u);
  EXPECT_TRUE(a_->loading(kA));
  clock_.advance_ms(2000);
  ASSERT_TRUE(await([&] { return !a_->loading(kA); }));
  EXPECT_TRUE(holds(*a_, kA, "from-b"));
  EXPECT_TRUE(holds(*a_, kA, "from-c"));
  EXPECT_EQ(a_->warming(), 1u);  // b's warm-up is still asked for
}

// ---- regions are names -----------------------------------------------------------

// Two GeoCaches as two processes on a transport between processes, each
// configured on its own.
class SeparateProcessesTest : public ::testing::Test {
 protected:
  static constexpr RegionId kA = region_id_for("a"), kB = region_id_for("b");
  void start(GeoCacheOptions a, GeoCacheOptions b) {
    for (GeoCacheOptions* o : {&a, &b}) {
      o->replication.linger_us = 0;
      o->membership.heartbeat_ms = 5;
    }
    a_ = std::make_unique<GeoCache>(a, std::make_unique<SharedTransport>(&transport_, /*spans=*/true), &clock_);
    b_ = std::make_unique<GeoCache>(b, std::make_unique<SharedTransport>(&transport_, /*spans=*/true), &clock_);
    ASSERT_TRUE(a_->start().ok());
    ASSERT_TRUE(b_->start().ok());
  }
  void TearDown() override {
    if (a_) a_->stop();
    if (b_) b_->stop();
    transport_.stop();
  }
  static GeoCacheOptions hosting(const std::string& region, std::vector<std::string> regions) {
    GeoCacheOptions o;
    o.regions = std::move(regions);
    o.local_regions = {region};
    return o;
  }
  // Polls until `cache` reads `want` at key.
  static bool reads(GeoCache& cache, const std::string& key, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      auto v = cache.get(key);
      if (v.ok() && v->is_string() && v->as_string() == want) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  ManualClock clock_;
  InProcessTransport transport_;
  std::unique_ptr<GeoCache> a_, b_;
};

// Ids used to be positions: "a" was 1 at one process and "b" at the other,
// so each dropped the other's events as its own.
TEST_F(SeparateProcessesTest, RegionsListedInDifferentOrdersReplicate) {
  start(hosting("a", {"a", "b"}), hosting("b", {"b", "a"}));
  EXPECT_EQ(a_->region_id("b").value(), b_->region_id("b").value());
  ASSERT_TRUE(a_->put("from-a", Value("1")).ok());
  ASSERT_TRUE(b_->put("from-b", Value("2")).ok());
  EXPECT_TRUE(reads(*b_, "from-a", "1"));
  EXPECT_TRUE(reads(*a_, "from-b", "2"));
  EXPECT_EQ(b_->TEST_store(kB).peek("from-a")->version.region, kA);
}

// Told of no other region, a process used to write no events at all.
TEST_F(SeparateProcessesTest, ProcessToldOfNoOtherRegionReplicatesAndLearnsTheOthers) {
  start(hosting("a", {"a"}), hosting("b", {"a", "b"}));
  ASSERT_TRUE(a_->put("from-a", Value("1")).ok());
  ASSERT_TRUE(b_->put("from-b", Value("2")).ok());
  EXPECT_TRUE(reads(*b_, "from-a", "1"));
  EXPECT_TRUE(reads(*a_, "from-b", "2"));
  // b's hellos name it at a.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!a_->region_id("b").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(a_->region_id("b").ok());
  const auto peers = a_->peers();
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[1].region.name, "b");
  EXPECT_FALSE(peers[1].region.configured);
  EXPECT_EQ(peers[1].state, PeerState::kUp);
  EXPECT_EQ(peers[1].instance_id, b_->instance_id());
  EXPECT_EQ(a_->clock_offset_ms(kB), 0);  // one clock
  EXPECT_TRUE(a_->problems().empty());
}

 
// ---- clock skew between processes ------------------------------------------------

// Two one-region "processes" whose clocks disagree: a's runs skew_ms ahead
// of b's. Both keep the default max-clock-offset (500 ms).
class SkewedClocksTest : public ::testing::Test {
 protected:
  static constexpr RegionId kA = region_id_for("a"), kB = region_id_for("b");
  void start(int64_t skew_ms) {
    clock_a_.set_ms(clock_b_.now_ms() + skew_ms);
    GeoCacheOptions o;
    o.regions = {"a", "b"};
    o.replication.linger_us = 0;
    o.local_regions = {"a"};
    a_ = std::make_unique<GeoCache>(o, std::make_unique<SharedTransport>(&transport_), &clock_a_);
    o.local_regions = {"b"};
    b_ = std::make_unique<GeoCache>(o, std::make_unique<SharedTransport>(&transport_), &clock_b_);
    ASSERT_TRUE(a_->start().ok());
    ASSERT_TRUE(b_->start().ok());
  }
  void TearDown() override {
    transport_.stop();
    a_.reset();
    b_.reset();
  }
  void quiesce() {
    ASSERT_TRUE(a_->wait_replicated());
    ASSERT_TRUE(b_->wait_replicated());
    transport_.wait_idle();
  }
  uint64_t refused_at_b(Refusal why) {
    uint64_t n = 0;
    for (const auto& s : b_->replicator().inbound_stats()) n += s.refused_of(why);
    return n;
  }

  ManualClock clock_a_, clock_b_;
  InProcessTransport transport_;
  std::unique_ptr<GeoCache> a_, b_;
};

TEST_F(SkewedClocksTest, WriteFromAClockTenMinutesAheadIsRefusedAndNeitherStretchesTtlsNorPullsTheClock) {
  start(10 * 60'000);
  ASSERT_TRUE(a_->put("k", Value("v"), "a", 60'000).ok());  // SET k v EX 60
  quiesce();
  // Taken, it would live 660 s at b, and drag b's HLC 10 minutes ahead.
  EXPECT_FALSE(b_->TEST_store(kB).peek_with_tombstone("k"));
  EXPECT_EQ(b_->ttl("k", "b"), -2);
  // The write, and whatever of a's warm-up snapshot reached b by now.
  EXPECT_GE(refused_at_b(Refusal::kClock), 1u);
  ASSERT_TRUE(b_->put("mine", Value("x"), "b").ok());
  EXPECT_LE(b_->TEST_store(kB).peek("mine")->version.wall_ms(), clock_b_.now_ms());
}

TEST_F(SkewedClocksTest, LaterWriteOnACorrectClockWinsOverOneFromAClockFarAhead) {
  start(10 * 60'000);
  // The partition: both write k; b's write comes a second later in
  // real time, but a's clock is ten minutes ahead.
  transport_.cut(kA, kB);
  transport_.cut(kB, kA);
  ASSERT_TRUE(a_->put("k", Value("from a"), "a").ok());
  clock_a_.advance_ms(1000);
  clock_b_.advance_ms(1000);
  ASSERT_TRUE(b_->put("k", Value("from b, later"), "b").ok());
  transport_.heal(kA, kB);
  transport_.heal(kB, kA);
  quiesce();
  EXPECT_EQ(b_->get("k", "b").value(), Value("from b, later"));
  EXPECT_GE(refused_at_b(Refusal::kClock), 1u);  // a's write, and a's warm-up snapshot
}

TEST_F(GeoCacheTest, WallClockSteppingBackDoesNotStopReplicationBetweenRegionsOfOneProcess) {
  start();
  ASSERT_TRUE(geo_->put("before", Value("1"), "eu").ok());
  quiesce();
  clock_.advance_ms(-5'000);  // NTP steps the clock back: the HLC keeps its lead
  ASSERT_TRUE(geo_->put("after", Value("2"), "eu").ok());
  quiesce();
  // The version is 5 s ahead of the wall clock, but no further than the
  // HLC the regions share: observing it moves no clock, so it is taken.
  EXPECT_EQ(read("after", "us"), "2");
  EXPECT_EQ(read("after", "ap"), "2");
  for (const auto& s : geo_->replicator().inbound_stats()) EXPECT_EQ(s.refused_of(Refusal::kClock), 0u);
}

TEST_F(SkewedClocksTest, TtlFromAClockAheadWithinTheBoundIsStretchedByNoMoreThanTheBound) {
  start(400);
  ASSERT_TRUE(a_->put("k", Value("v"), "a", 60'000).ok());
  ASSERT_TRUE(a_->expire("k", 30'000, "a").ok());
  quiesce();
  ASSERT_TRUE(b_->TEST_store(kB).peek("k"));
  // The expiry is absolute, made by a's clock, which is 400 ms ahead; the
  // version is no older than the expiry's clock reading and was accepted by
  // the guard, so the TTL as b counts it is at most 500 ms longer.
  EXPECT_LE(b_->ttl("k", "b"), 30'000 + 500);
  EXPECT_GE(b_->ttl("k", "b"), 30'000);
  EXPECT_EQ(refused_at_b(Refusal::kClock), 0u);
}

// The bug of a killed and restarted node: its peer asked it for a snapshot
// (its new epoch) before it had warmed, and dropped every key the restarted
// node had written before it died, since its store did not hold them yet.
TEST_F(TwoProcessResyncTest, RestartedProcessIsNoSnapshotSourceUntilItHasWarmed) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b_->put("b" + std::to_string(i), Value("from b"), "b").ok());
  quiesce();
  ASSERT_TRUE(a_->TEST_store(kA).peek("b2"));
  const uint64_t a_resyncs = a_->resyncs_completed();
  restart_b();
  // b's first write shows a its new epoch: a asks b for a snapshot.
  ASSERT_TRUE(b_->put("after", Value("x"), "b").ok());
  quiesce();
  ASSERT_TRUE(await([&] { return a_->resyncs_completed() > a_resyncs; }));
  quiesce();
  for (int i = 0; i < 3; ++i) {
    const std::string key = "b" + std::to_string(i);
    ASSERT_TRUE(a_->TEST_store(kA).peek(key)) << key << " dropped at a";
    ASSERT_TRUE(b_->TEST_store(kB).peek(key)) << key << " not warmed at b";
  }
  EXPECT_TRUE(same_records(all_records(a_->TEST_store(kA)), all_records(b_->TEST_store(kB))));
}

}  // namespace
}  // namespace geocache

namespace geocache {
namespace {

// ---- Exclusive sections (transactions, scripts) ---------------------------

// Writes a and b to the same value, i, in one exclusive section, n times,
// from region eu.
void write_pairs(GeoCache& geo, int n) {
  for (int i = 1; i <= n; ++i) {
    geo.run_exclusive(nullptr, [&] {
      for (const char* key : {"a", "b"}) {
        ASSERT_TRUE(geo.put(key, std::to_string(i), "eu").ok());
      }
    });
  }
}

// Reads a and b in region `region` under a slot of the gate, as a server
// loop does, until both read `last`; true if they never differed.
bool pairs_never_torn(GeoCache& geo, std::string_view region, int last) {
  ExclusionGate::Slot* slot = geo.gate().add_slot();
  const std::string want = std::to_string(last);
  while (true) {
    ExclusionGate::SharedLock hold(geo.gate(), slot);
    auto a = geo.get("a", region);
    auto b = geo.get("b", region);
    const std::string av = a.ok() ? a->as_string() : "-", bv = b.ok() ? b->as_string() : "-";
    if (av != bv) {
      ADD_FAILURE() << "a=" << av << " b=" << bv;
      return false;
    }
    if (av == want) return true;
  }
}

TEST_F(GeoCacheTest, NoSlotHolderSeesPartOfAnExclusiveSection) {
  start();
  constexpr int kRounds = 2000;
  std::thread writer([&] { write_pairs(*geo_, kRounds); });
  EXPECT_TRUE(pairs_never_torn(*geo_, "eu", kRounds));
  writer.join();
}

TEST_F(GeoCacheTest, AnExclusiveSectionsWritesAreAppliedAsOneUnitElsewhere) {
  start();
  constexpr int kRounds = 2000;
  std::thread writer([&] { write_pairs(*geo_, kRounds); });
  // us receives each pair as one group, applied under the gate.
  EXPECT_TRUE(pairs_never_torn(*geo_, "us", kRounds));
  writer.join();
  quiesce();
}

TEST_F(GeoCacheTest, ExclusiveSectionsNest) {
  start();
  geo_->run_exclusive(nullptr, [&] {
    EXPECT_TRUE(geo_->gate().held_exclusively());
    geo_->run_exclusive(nullptr, [&] { ASSERT_TRUE(geo_->put("n", "1", "eu").ok()); });
    EXPECT_TRUE(geo_->gate().held_exclusively());
  });
  EXPECT_FALSE(geo_->gate().held_exclusively());
  quiesce();
  EXPECT_EQ(read("n", "ap"), "1");
}

}  // namespace
}  // namespace geocache
