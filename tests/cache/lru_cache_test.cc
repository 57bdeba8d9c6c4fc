#include "cache/lru_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/list.h"
#include "core/version.h"
#include "core/versioned_hash.h"

namespace geocache {
namespace {

constexpr int64_t kStart = 1'000'000;

Version ver(uint64_t hlc, RegionId region = 1) { return Version{hlc, region}; }

Record rec(std::string bytes, Version v, int64_t expire_at = kNoExpiry) {
  return Record{ValueKind::kString, std::move(bytes), expire_at, v};
}

Record tombstone(Version v) { return Record{ValueKind::kTombstone, "", kNoExpiry, v}; }

// A hash write of one field, as a hash command makes it.
Record hash_delta_for_test(const std::string& field, Version v) {
  HashDelta d;
  d.put(field, "x");
  return Record{ValueKind::kHash, d.encode(), kNoExpiry, v};
}

class LruCacheTest : public ::testing::Test {
 protected:
  // shards = 1 unless a test says otherwise, so LRU order is exact and global.
  void make(LruCacheOptions o = {}) {
    o.clock = &clock_;
    cache_ = std::make_unique<LruCache>(o);
  }
  void make_items(size_t max_items) {
    LruCacheOptions o;
    o.shards = 1;
    o.max_items = max_items;
    make(o);
  }

  ApplyResult put(std::string_view key, std::string bytes, Version v, int64_t expire_at = kNoExpiry) {
    return cache_->apply(key, rec(std::move(bytes), v, expire_at));
  }
  // The key's live bytes, or "-" when absent; changes nothing.
  std::string peek(std::string_view key) {
    auto r = cache_->peek(key);
    return r ? r->bytes : "-";
  }
  // Every key held, live or tombstone, sorted.
  std::vector<std::string> keys(bool with_tombstones = false) {
    std::vector<std::string> out;
    for (int s = 0; s < cache_->shard_count(); ++s) {
      cache_->scan_shard(s, with_tombstones, [&](std::string_view k, const RecordView&) { out.emplace_back(k); });
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // What one entry of this key and value size is charged against max_bytes.
  size_t charge_of(std::string_view key, size_t value_size) {
    LruCacheOptions o;
    o.shards = 1;
    o.clock = &clock_;
    LruCache probe(o);
    probe.apply(key, rec(std::string(value_size, 'x'), ver(1)));
    return probe.stats().bytes;
  }

  ManualClock clock_{kStart};
  std::unique_ptr<LruCache> cache_;
};

// ---- options ------------------------------------------------------------------

TEST_F(LruCacheTest, RejectsShardCountThatIsNotAPowerOfTwo) {
  LruCacheOptions o;
  o.shards = 3;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.shards = 2048;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.shards = 8;
  EXPECT_NO_THROW(o.validate());
}

// ---- reads --------------------------------------------------------------------

TEST_F(LruCacheTest, GetReturnsWhatWasAppliedAndCountsHitsAndMisses) {
  make();
  EXPECT_EQ(put("k", "v", ver(5, 2), kStart + 100), ApplyResult::kApplied);
  auto r = cache_->get("k");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bytes, "v");
  EXPECT_EQ(r->kind, ValueKind::kString);
  EXPECT_EQ(r->version, ver(5, 2));
  EXPECT_EQ(r->expire_at_ms, kStart + 100);
  EXPECT_FALSE(cache_->get("absent").has_value());
  EXPECT_EQ(cache_->stats().hits, 1u);
  EXPECT_EQ(cache_->stats().misses, 1u);
}

TEST_F(LruCacheTest, PeekCountsNeitherHitsNorMisses) {
  make();
  put("k", "v", ver(1));
  EXPECT_EQ(peek("k"), "v");
  EXPECT_EQ(peek("absent"), "-");
  EXPECT_TRUE(cache_->contains("k"));
  EXPECT_EQ(cache_->stats().hits, 0u);
  EXPECT_EQ(cache_->stats().misses, 0u);
}

TEST_F(LruCacheTest, KeysAreBinarySafe) {
  make();
  const std::string a("a\0b", 3), b("a\0c", 3);
  put(a, "1", ver(1));
  put(b, "2", ver(1));
  EXPECT_EQ(peek(a), "1");
  EXPECT_EQ(peek(b), "2");
  EXPECT_EQ(peek("a"), "-");
}

// ---- LRU order and eviction -----------------------------------------------------

TEST_F(LruCacheTest, EvictsLeastRecentlyInsertedWhenOverItemLimit) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  put("c", "3", ver(3));
  put("d", "4", ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"b", "c", "d"}));
  put("e", "5", ver(5));
  EXPECT_EQ(keys(), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(cache_->stats().evictions, 2u);
  EXPECT_EQ(cache_->stats().items, 3u);
}

TEST_F(LruCacheTest, GetMovesKeyToMostRecentlyUsedSoItSurvivesEviction) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  put("c", "3", ver(3));
  ASSERT_TRUE(cache_->get("a").has_value());
  put("d", "4", ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"a", "c", "d"}));  // b went instead of a
}

TEST_F(LruCacheTest, PeekLeavesRecencyAloneSoKeyIsStillEvictedFirst) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  put("c", "3", ver(3));
  ASSERT_TRUE(cache_->peek("a").has_value());
  ASSERT_TRUE(cache_->contains("a"));
  ASSERT_TRUE(cache_->peek_with_tombstone("a").has_value());
  put("d", "4", ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"b", "c", "d"}));
}

// A pipeline's keys are prefetched before its commands run: the hint must
// leave recency, counters and contents as they were, expired keys included.
TEST_F(LruCacheTest, PrefetchChangesNeitherRecencyNorCountersNorContents) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2), kStart + 10);
  put("c", "3", ver(3));
  clock_.advance_ms(10);  // b has expired but is still held
  const std::vector<std::string_view> batch{"a", "b", "absent", "c", "a"};
  cache_->prefetch(batch);
  EXPECT_EQ(cache_->stats().hits, 0u);
  EXPECT_EQ(cache_->stats().misses, 0u);
  EXPECT_EQ(cache_->stats().expirations, 0u);
  EXPECT_EQ(cache_->stats().items, 3u);
  put("d", "4", ver(4));
  EXPECT_EQ(peek("a"), "-");  // still the least recent: it went
  EXPECT_EQ(peek("c"), "3");
  EXPECT_EQ(peek("d"), "4");
}

TEST_F(LruCacheTest, RemoteApplyToExistingKeyKeepsItsRecency) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  put("c", "3", ver(3));
  ASSERT_EQ(put("a", "1b", ver(10)), ApplyResult::kApplied);  // a replicated write is no local access
  put("d", "4", ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"b", "c", "d"}));
}

TEST_F(LruCacheTest, UpdateThatWritesMovesKeyToMostRecentlyUsed) {
  make_items(3);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  put("c", "3", ver(3));
  ASSERT_TRUE(cache_
                  ->update("a",
                           [](const RecordView* cur, std::optional<Record>* next) {
                             *next = rec("1b", ver(10));
                             return Status::Ok();
                           })
                  .ok());
  put("d", "4", ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"a", "c", "d"}));
}

// Charges include the allocator's rounding, which can differ between two
// blocks of one size, so limits here are set from measured totals with slack.
TEST_F(LruCacheTest, EvictsByBytesCountingEachEntrysCharge) {
  const size_t each = charge_of("k0", 100);
  make_items(0);
  for (int i = 0; i < 3; ++i) put("k" + std::to_string(i), std::string(100, 'x'), ver(i + 1));
  const size_t three = cache_->stats().bytes;
  cache_->set_limits(0, three + each / 2);  // room for three entries, not four
  EXPECT_EQ(cache_->stats().evictions, 0u);
  put("k3", std::string(100, 'x'), ver(4));
  EXPECT_EQ(keys(), (std::vector<std::string>{"k1", "k2", "k3"}));
  EXPECT_EQ(cache_->stats().evictions, 1u);
  EXPECT_LE(cache_->stats().bytes, three + each / 2);
}

TEST_F(LruCacheTest, OneLargeValueEvictsAsManySmallOnesAsItNeeds) {
  const size_t small = charge_of("k0", 10);
  LruCacheOptions o;
  o.shards = 1;
  o.max_bytes = 10 * small;
  make(o);
  for (int i = 0; i < 10; ++i) put("k" + std::to_string(i), std::string(10, 'x'), ver(i + 1));
  ASSERT_EQ(cache_->stats().items, 10u);
  put("big", std::string(5 * small, 'x'), ver(100));
  EXPECT_EQ(peek("big"), std::string(5 * small, 'x'));
  EXPECT_LT(cache_->stats().items, 6u);
  EXPECT_LE(cache_->stats().bytes, o.max_bytes);
  EXPECT_EQ(peek("k0"), "-");  // oldest first
  EXPECT_EQ(peek("k9"), std::string(10, 'x'));
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, TombstonesCountAgainstItemLimit) {
  make_items(2);
  put("a", "1", ver(1));
  cache_->apply("a", tombstone(ver(2)));
  put("b", "2", ver(3));
  EXPECT_EQ(cache_->stats().tombstones, 1u);
  put("c", "3", ver(4));
  EXPECT_EQ(keys(/*with_tombstones=*/true), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(cache_->stats().tombstones, 0u);
}

TEST_F(LruCacheTest, SetLimitsEvictsDownToNewLimitKeepingMostRecent) {
  make_items(0);
  for (int i = 0; i < 10; ++i) put("k" + std::to_string(i), "v", ver(i + 1));
  cache_->set_limits(4, 0);
  EXPECT_EQ(keys(), (std::vector<std::string>{"k6", "k7", "k8", "k9"}));
  EXPECT_EQ(cache_->stats().evictions, 6u);
  const size_t each = charge_of("k0", 1);
  cache_->set_limits(0, 2 * each + each / 2);
  EXPECT_EQ(keys(), (std::vector<std::string>{"k8", "k9"}));
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, LimitsAreSplitEvenlyBetweenShards) {
  LruCacheOptions o;
  o.shards = 4;
  o.max_items = 40;
  make(o);
  for (int i = 0; i < 1000; ++i) put("k" + std::to_string(i), "v", ver(i + 1));
  EXPECT_LE(cache_->stats().items, 40u);
  EXPECT_GT(cache_->stats().items, 30u);  // every shard full or nearly
  cache_->TEST_check_invariants();
}

// ---- size bound -----------------------------------------------------------------

TEST_F(LruCacheTest, ValueLargerThanByteBudgetIsTooLargeAndStoreIsIntact) {
  LruCacheOptions o;
  o.shards = 1;
  o.max_bytes = 4096;
  make(o);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  const LruCacheStats before = cache_->stats();
  EXPECT_EQ(put("huge", std::string(5000, 'x'), ver(3)), ApplyResult::kTooLarge);
  EXPECT_EQ(put("a", std::string(5000, 'x'), ver(4)), ApplyResult::kTooLarge);  // nor over an existing key
  EXPECT_EQ(keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(peek("a"), "1");
  EXPECT_EQ(cache_->stats().bytes, before.bytes);
  EXPECT_EQ(cache_->stats().evictions, 0u);
  cache_->TEST_check_invariants();
}

// The byte limit is one budget: a value bigger than a shard's even share but
// within the whole budget is stored, and room is made for it across shards.
TEST_F(LruCacheTest, ValueLargerThanAShardsShareFitsTheWholeBudget) {
  LruCacheOptions o;
  o.shards = 16;
  o.max_bytes = 64 * 1024;  // a shard's share: 4 KiB
  make(o);
  for (int i = 0; i < 300; ++i) put("small" + std::to_string(i), std::string(100, 's'), ver(i + 1));
  EXPECT_EQ(put("big", std::string(20'000, 'b'), ver(1000)), ApplyResult::kApplied);
  EXPECT_EQ(peek("big").size(), 20'000u);
  EXPECT_LE(cache_->stats().bytes, o.max_bytes);
  EXPECT_GT(cache_->stats().evictions, 0u);
  cache_->TEST_check_invariants();
  // And the budget holds when every shard fills up again afterwards.
  for (int i = 300; i < 2000; ++i) put("small" + std::to_string(i), std::string(100, 's'), ver(i + 1000));
  EXPECT_LE(cache_->stats().bytes, o.max_bytes);
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, UpdateOfValueLargerThanByteBudgetIsOutOfMemory) {
  LruCacheOptions o;
  o.shards = 1;
  o.max_bytes = 4096;
  make(o);
  put("a", "1", ver(1));
  Status st = cache_->update("a", [](const RecordView*, std::optional<Record>* next) {
    *next = rec(std::string(5000, 'x'), ver(2));
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kOutOfMemory);
  EXPECT_EQ(peek("a"), "1");
}

// Whatever the value size, an entry is either refused or fits the budget: the
// size check must agree with what the entry is then charged (allocator
// rounding included).
TEST_F(LruCacheTest, EveryValueSizeEitherFitsTheBudgetOrIsTooLarge) {
  LruCacheOptions o;
  o.shards = 1;
  o.max_bytes = 160;
  for (size_t size = 0; size <= 200; ++size) {
    make(o);
    const ApplyResult r = put("k", std::string(size, 'x'), ver(1));
    if (r == ApplyResult::kApplied) {
      EXPECT_EQ(peek("k").size(), size);
      EXPECT_LE(cache_->stats().bytes, o.max_bytes) << "value of " << size << " bytes";
    } else {
      EXPECT_EQ(r, ApplyResult::kTooLarge);
      EXPECT_EQ(cache_->stats().bytes, 0u) << size;
    }
    cache_->TEST_check_invariants();
  }
}

// ---- TTL ------------------------------------------------------------------------

TEST_F(LruCacheTest, KeyIsLiveUntilItsExpiryAndGoneAtIt) {
  make();
  put("k", "v", ver(1), kStart + 100);
  clock_.advance_ms(99);
  EXPECT_EQ(peek("k"), "v");
  clock_.advance_ms(1);
  EXPECT_EQ(peek("k"), "-");
  EXPECT_FALSE(cache_->get("k").has_value());
  EXPECT_EQ(cache_->stats().expirations, 1u);
  EXPECT_EQ(cache_->stats().items, 0u);
  EXPECT_EQ(cache_->stats().bytes, 0u);
}

TEST_F(LruCacheTest, ActiveExpiryReclaimsKeysThatAreNeverReadAgain) {
  LruCacheOptions o;
  o.shards = 4;
  o.expiry_cycle_budget = 50;
  make(o);
  for (int i = 0; i < 100; ++i) put("keep" + std::to_string(i), "v", ver(i + 1));
  const uint64_t keep_bytes = cache_->stats().bytes;
  for (int i = 0; i < 1000; ++i) put("ttl" + std::to_string(i), "v", ver(i + 1), kStart + 100);
  EXPECT_EQ(cache_->active_expire_cycle(), 0u);  // nothing due yet
  clock_.advance_ms(100);
  // A cycle is bounded: at most budget entries per shard.
  const size_t first = cache_->active_expire_cycle();
  EXPECT_GT(first, 0u);
  EXPECT_LE(first, 4u * 50u);
  size_t total = first;
  for (int i = 0; i < 100 && total < 1000; ++i) total += cache_->active_expire_cycle();
  EXPECT_EQ(total, 1000u);
  const LruCacheStats st = cache_->stats();
  EXPECT_EQ(st.expirations, 1000u);
  EXPECT_EQ(st.items, 100u);
  EXPECT_EQ(st.bytes, keep_bytes);
  EXPECT_EQ(keys().size(), 100u);
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, ActiveExpirySweepSurvivesKeysMovingUnderTheCursor) {
  LruCacheOptions o;
  o.shards = 1;
  o.expiry_cycle_budget = 3;
  make(o);
  for (int i = 0; i < 30; ++i) put("k" + std::to_string(i), "v", ver(i + 1), kStart + 10 + i);
  clock_.advance_ms(1000);  // everything due
  // Interleave sweeps with touches and removals that move entries around.
  for (int round = 0; round < 40; ++round) {
    cache_->active_expire_cycle();
    cache_->TEST_check_invariants();
    put("fresh" + std::to_string(round), "v", ver(100 + round));
    cache_->get("fresh" + std::to_string(round / 2));
  }
  EXPECT_EQ(cache_->stats().expirations, 30u);
  EXPECT_EQ(cache_->stats().items, 40u);
}

TEST_F(LruCacheTest, ApplyOfAlreadyExpiredRecordRemovesOlderEntryAndIsNotStored) {
  make();
  put("k", "old", ver(1));
  EXPECT_EQ(put("k", "new", ver(2), kStart - 1), ApplyResult::kApplied);
  EXPECT_EQ(peek("k"), "-");
  EXPECT_FALSE(cache_->peek_with_tombstone("k").has_value());
  EXPECT_EQ(cache_->stats().items, 0u);
  // Its version is remembered: the older write cannot come back.
  EXPECT_EQ(put("k", "old", ver(1)), ApplyResult::kStale);
}

// ---- last writer wins -----------------------------------------------------------

TEST_F(LruCacheTest, NewerVersionReplacesOlder) {
  make();
  put("k", "v1", ver(1));
  EXPECT_EQ(put("k", "v2", ver(2)), ApplyResult::kApplied);
  EXPECT_EQ(peek("k"), "v2");
}

TEST_F(LruCacheTest, OlderOrEqualVersionIsStale) {
  make();
  put("k", "v5", ver(5, 2));
  EXPECT_EQ(put("k", "older", ver(4, 9)), ApplyResult::kStale);
  EXPECT_EQ(put("k", "equal", ver(5, 2)), ApplyResult::kStale);
  EXPECT_EQ(put("k", "tie-lower-region", ver(5, 1)), ApplyResult::kStale);
  EXPECT_EQ(peek("k"), "v5");
  EXPECT_EQ(cache_->stats().stale_applies, 3u);
  EXPECT_EQ(put("k", "tie-higher-region", ver(5, 3)), ApplyResult::kApplied);
  EXPECT_EQ(peek("k"), "tie-higher-region");
}

// Region ids are 32-bit hashes of names; an entry keeps a byte standing for
// one (the store numbers the ids it meets), and gives the whole id back.
TEST_F(LruCacheTest, VersionsKeepTheirWhole32BitRegionAndTieBreakOnIt) {
  make();
  const RegionId low = 0x000000ff, high = 0xfffffff0;
  put("k", "from high", ver(5, high));
  EXPECT_EQ(cache_->peek("k")->version, ver(5, high));
  EXPECT_EQ(put("k", "from low", ver(5, low)), ApplyResult::kStale);  // 0xff would win over a truncated 0xf0
  EXPECT_EQ(peek("k"), "from high");
  put("j", "from low", ver(5, low));
  EXPECT_EQ(cache_->peek("j")->version.region, low);
  EXPECT_EQ(cache_->end_snapshot(high, 6), 1u);  // an empty snapshot of high's
  EXPECT_EQ(keys(), std::vector<std::string>{"j"});
}

TEST_F(LruCacheTest, KeyOfASnapshotWrittenAgainByItsOriginBeforeTheEndIsKept) {
  make();
  // A write of region 2's, queued behind the snapshot, older than it, applied
  // after the snapshot's record of the key: region 2 had the key; it stays.
  cache_->apply_seen("k", rec("v1", ver(10, 2)), 2);
  put("k", "v2", ver(12, 2));
  cache_->apply_seen("h", hash_delta_for_test("f", ver(10, 2)), 2);
  cache_->apply("h", hash_delta_for_test("g", ver(12, 2)));
  // A new key of region 2's that its snapshot did not hold goes.
  put("gone", "x", ver(13, 2));
  EXPECT_EQ(cache_->end_snapshot(2, 20), 1u);
  EXPECT_EQ(peek("k"), "v2");
  EXPECT_TRUE(cache_->contains("h"));
  EXPECT_FALSE(cache_->contains("gone"));
}

TEST_F(LruCacheTest, AStoreHoldsRecordsOf255RegionsAtMost) {
  make();
  for (RegionId r = 1; r <= 255; ++r) {
    ASSERT_EQ(put("k" + std::to_string(r), "v", ver(10, r * 1000)), ApplyResult::kApplied) << r;
  }
  EXPECT_EQ(put("one more", "v", ver(10, 256 * 1000)), ApplyResult::kTooManyRegions);
  EXPECT_EQ(peek("one more"), "-");
  EXPECT_EQ(put("k1", "again", ver(11, 1000)), ApplyResult::kApplied);  // known ones go on
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, ApplyingTheSameEventTwiceIsIdempotent) {
  make();
  const Record r = rec("v", ver(7), kStart + 1000);
  EXPECT_EQ(cache_->apply("k", r), ApplyResult::kApplied);
  const LruCacheStats once = cache_->stats();
  EXPECT_EQ(cache_->apply("k", r), ApplyResult::kStale);
  auto got = cache_->peek("k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, "v");
  EXPECT_EQ(got->version, ver(7));
  EXPECT_EQ(got->expire_at_ms, kStart + 1000);
  EXPECT_EQ(cache_->stats().bytes, once.bytes);
  EXPECT_EQ(cache_->stats().items, 1u);
}

TEST_F(LruCacheTest, DeleteThenOlderWriteStaysDeleted) {
  make();
  put("k", "v1", ver(1));
  EXPECT_EQ(cache_->apply("k", tombstone(ver(3))), ApplyResult::kApplied);
  EXPECT_EQ(put("k", "v2", ver(2)), ApplyResult::kStale);
  EXPECT_EQ(peek("k"), "-");
  EXPECT_FALSE(cache_->get("k").has_value());
  auto t = cache_->peek_with_tombstone("k");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->is_tombstone());
  EXPECT_EQ(t->version, ver(3));
  EXPECT_EQ(put("k", "v4", ver(4)), ApplyResult::kApplied);
  EXPECT_EQ(peek("k"), "v4");
}

TEST_F(LruCacheTest, DeleteArrivingBeforeTheWriteItDeletesStillWins) {
  make();
  EXPECT_EQ(cache_->apply("k", tombstone(ver(3))), ApplyResult::kApplied);  // key never seen
  EXPECT_EQ(put("k", "v2", ver(2)), ApplyResult::kStale);
  EXPECT_EQ(peek("k"), "-");
  EXPECT_EQ(cache_->stats().tombstones, 1u);
}

TEST_F(LruCacheTest, AfterTombstoneRetentionEndsOlderWritesAreStillRefused) {
  LruCacheOptions o;
  o.shards = 1;
  o.tombstone_retention_ms = 1000;
  make(o);
  cache_->apply("k", tombstone(ver(5)));
  clock_.advance_ms(999);
  EXPECT_TRUE(cache_->peek_with_tombstone("k").has_value());
  clock_.advance_ms(1);
  cache_->active_expire_cycle();
  EXPECT_EQ(cache_->stats().tombstones, 0u);
  EXPECT_FALSE(cache_->peek_with_tombstone("k").has_value());
  EXPECT_EQ(cache_->stats().expirations, 0u);  // a retired tombstone is not an expired key
  EXPECT_EQ(put("k", "late", ver(4)), ApplyResult::kStale);
  EXPECT_EQ(peek("k"), "-");
  EXPECT_EQ(put("k", "new", ver(6)), ApplyResult::kApplied);
}

TEST_F(LruCacheTest, EvictionRaisesForgottenMarkSoOlderWriteCannotReturn) {
  make_items(1);
  put("a", "a5", ver(5));
  put("b", "b6", ver(6));  // evicts a
  ASSERT_EQ(peek("a"), "-");
  EXPECT_EQ(put("a", "a4", ver(4)), ApplyResult::kStale);
  EXPECT_EQ(peek("a"), "-");
  EXPECT_EQ(put("a", "a7", ver(7)), ApplyResult::kApplied);
  EXPECT_EQ(peek("a"), "a7");
}

TEST_F(LruCacheTest, ExpiryRaisesForgottenMark) {
  make();
  put("k", "v5", ver(5), kStart + 10);
  clock_.advance_ms(10);
  EXPECT_FALSE(cache_->get("k").has_value());
  EXPECT_EQ(put("k", "v4", ver(4)), ApplyResult::kStale);
  EXPECT_EQ(put("k", "v6", ver(6)), ApplyResult::kApplied);
}

// ---- flush and resync support -----------------------------------------------------

TEST_F(LruCacheTest, FlushBeforeRemovesOlderEntriesAndKeepsNewerOnes) {
  LruCacheOptions o;
  o.shards = 4;
  make(o);
  put("old1", "x", ver(10));
  put("old2", "x", ver(19, 9));
  cache_->apply("old_tomb", tombstone(ver(15)));
  put("new1", "y", ver(21));
  put("tie_higher_region", "y", ver(20, 2));
  cache_->flush_before(ver(20, 1));
  EXPECT_EQ(keys(true), (std::vector<std::string>{"new1", "tie_higher_region"}));
  // Events written before the flush, arriving late, stay out; later ones do not.
  EXPECT_EQ(put("late", "x", ver(19)), ApplyResult::kStale);
  EXPECT_EQ(put("old1", "x", ver(11)), ApplyResult::kStale);
  EXPECT_EQ(put("after", "z", ver(22)), ApplyResult::kApplied);
  EXPECT_EQ(cache_->stats().items, 3u);
  EXPECT_EQ(cache_->stats().tombstones, 0u);
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, SnapshotEndDropsOnlyThatOriginsOlderEntriesItDidNotHold) {
  LruCacheOptions o;
  o.shards = 4;
  make(o);
  put("r2_old", "x", ver(10, 2));
  put("r2_old_kept", "x", ver(11, 2));
  cache_->apply("r2_old_tomb", tombstone(ver(12, 2)));
  put("r2_new", "x", ver(30, 2));
  put("r1_old", "x", ver(10, 1));
  // Region 2's snapshot holds r2_old_kept (as we have it: a stale apply still
  // counts) and r1_old, which is region 1's and not for region 2 to keep.
  EXPECT_EQ(cache_->apply_seen("r2_old_kept", rec("x", ver(11, 2)), 2), ApplyResult::kStale);
  cache_->apply_seen("r1_old", rec("x", ver(10, 1)), 2);
  EXPECT_EQ(cache_->end_snapshot(2, 20), 2u);
  EXPECT_EQ(keys(true), (std::vector<std::string>{"r1_old", "r2_new", "r2_old_kept"}));
  // A dropped version is forgotten, not forgiven: the same old event stays out.
  EXPECT_EQ(put("r2_old", "x", ver(10, 2)), ApplyResult::kStale);
  cache_->TEST_check_invariants();
  // The next snapshot starts afresh: what this one saw, the next must see again.
  EXPECT_EQ(cache_->end_snapshot(2, 20), 1u);
  EXPECT_EQ(keys(true), (std::vector<std::string>{"r1_old", "r2_new"}));
  // An end that may not drop (a sender still warming up) drops nothing.
  put("r2_mid", "x", ver(15, 2));
  EXPECT_EQ(cache_->end_snapshot(2, std::nullopt), 0u);
  EXPECT_EQ(cache_->end_snapshot(2, 20), 1u);  // and readies the marks all the same
}

// ---- update ---------------------------------------------------------------------

TEST_F(LruCacheTest, UpdateSeesNoRecordForAbsentDeletedOrExpiredKeys) {
  make();
  cache_->apply("deleted", tombstone(ver(2)));
  put("expired", "v", ver(1), kStart + 1);
  clock_.advance_ms(1);
  for (const char* key : {"absent", "deleted", "expired"}) {
    bool called = false;
    Status st = cache_->update(key, [&](const RecordView* cur, std::optional<Record>* next) {
      called = true;
      EXPECT_EQ(cur, nullptr) << key;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(called);
  }
}

TEST_F(LruCacheTest, UpdateSeesCurrentRecordAndWritesItsNewState) {
  make();
  put("n", "41", ver(1), kStart + 500);
  Status st = cache_->update("n", [](const RecordView* cur, std::optional<Record>* next) {
    EXPECT_NE(cur, nullptr);
    if (cur == nullptr) return Status::NotFound();
    EXPECT_EQ(cur->bytes, "41");
    EXPECT_EQ(cur->version, ver(1));
    EXPECT_EQ(cur->expire_at_ms, kStart + 500);
    Record r = cur->to_record();
    r.bytes = std::to_string(std::stoi(r.bytes) + 1);
    r.version = ver(2);
    *next = std::move(r);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok());
  auto got = cache_->peek("n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->bytes, "42");
  EXPECT_EQ(got->version, ver(2));
  EXPECT_EQ(got->expire_at_ms, kStart + 500);
}

TEST_F(LruCacheTest, UpdateThatLeavesNextEmptyChangesNothing) {
  make_items(2);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  ASSERT_TRUE(cache_->update("a", [](const RecordView*, std::optional<Record>*) { return Status::Ok(); }).ok());
  EXPECT_EQ(peek("a"), "1");
  put("c", "3", ver(3));  // a is still least recently used: no write, no touch
  EXPECT_EQ(keys(), (std::vector<std::string>{"b", "c"}));
}

TEST_F(LruCacheTest, UpdateErrorIsReturnedAndNothingIsWritten) {
  make();
  put("k", "v", ver(1));
  Status st = cache_->update("k", [](const RecordView*, std::optional<Record>* next) {
    *next = rec("changed", ver(2));
    return Status::WrongType();
  });
  EXPECT_EQ(st.code(), StatusCode::kWrongType);
  EXPECT_EQ(peek("k"), "v");
}

TEST_F(LruCacheTest, UpdateCanCreateAndDeleteKeys) {
  make();
  ASSERT_TRUE(cache_
                  ->update("k",
                           [](const RecordView*, std::optional<Record>* next) {
                             *next = rec("new", ver(1));
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(peek("k"), "new");
  ASSERT_TRUE(cache_
                  ->update("k",
                           [](const RecordView*, std::optional<Record>* next) {
                             *next = tombstone(ver(2));
                             return Status::Ok();
                           })
                  .ok());
  EXPECT_EQ(peek("k"), "-");
  EXPECT_EQ(cache_->stats().tombstones, 1u);
  EXPECT_EQ(cache_->stats().items, 0u);
}

// ---- scans and sampling -------------------------------------------------------------

TEST_F(LruCacheTest, ScanShardVisitsEveryLiveKeyOnceAcrossShards) {
  LruCacheOptions o;
  o.shards = 8;
  make(o);
  std::set<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    const std::string k = "k" + std::to_string(i);
    put(k, "v" + std::to_string(i), ver(i + 1));
    expected.insert(k);
  }
  cache_->apply("k0", tombstone(ver(1000)));
  expected.erase("k0");
  put("k1", "v", ver(1000), kStart + 5);
  clock_.advance_ms(5);
  expected.erase("k1");

  std::multiset<std::string> live;
  std::multiset<std::string> all;
  for (int s = 0; s < cache_->shard_count(); ++s) {
    cache_->scan_shard(s, false, [&](std::string_view k, const RecordView& v) {
      live.emplace(k);
      EXPECT_NE(v.kind, ValueKind::kTombstone);
    });
    cache_->scan_shard(s, true, [&](std::string_view k, const RecordView&) { all.emplace(k); });
  }
  EXPECT_EQ(std::set<std::string>(live.begin(), live.end()), expected);
  EXPECT_EQ(live.size(), expected.size());  // each once
  EXPECT_EQ(all.size(), expected.size() + 1);
  EXPECT_EQ(all.count("k0"), 1u);  // the tombstone
  EXPECT_EQ(all.count("k1"), 0u);  // expired
  EXPECT_EQ(cache_->stats().hits, 0u);
}

TEST_F(LruCacheTest, ScanShardDoesNotTouchRecency) {
  make_items(2);
  put("a", "1", ver(1));
  put("b", "2", ver(2));
  cache_->scan_shard(0, true, [](std::string_view, const RecordView&) {});
  put("c", "3", ver(3));
  EXPECT_EQ(keys(), (std::vector<std::string>{"b", "c"}));
}

TEST_F(LruCacheTest, RandomKeyOfEmptyStoreIsNothing) {
  LruCacheOptions o;
  o.shards = 4;
  make(o);
  EXPECT_FALSE(cache_->random_key().has_value());
  cache_->apply("dead", tombstone(ver(1)));
  EXPECT_FALSE(cache_->random_key().has_value());
}

TEST_F(LruCacheTest, RandomKeyReturnsOnlyLiveKeysAndReachesMany) {
  LruCacheOptions o;
  o.shards = 4;
  make(o);
  std::set<std::string> live;
  for (int i = 0; i < 100; ++i) {
    const std::string k = "k" + std::to_string(i);
    if (i % 3 == 0) {
      cache_->apply(k, tombstone(ver(i + 1)));
    } else if (i % 3 == 1) {
      put(k, "v", ver(i + 1), kStart + 1);  // will have expired
    } else {
      put(k, "v", ver(i + 1));
      live.insert(k);
    }
  }
  clock_.advance_ms(1);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    auto k = cache_->random_key();
    ASSERT_TRUE(k.has_value());
    ASSERT_TRUE(live.count(*k)) << *k << " is not live";
    seen.insert(*k);
  }
  EXPECT_GT(seen.size(), live.size() / 2);
}

// ---- stress ---------------------------------------------------------------------------

// Many threads hammer a small key space with every kind of operation while the
// clock moves; afterwards table, lists, counters and limits must still agree.
// Named "Concurrent" so CI can select it for ThreadSanitizer.
TEST(LruCacheConcurrentTest, RandomOperationsFromManyThreadsKeepInvariants) {
  ManualClock clock(kStart);
  ManualClock version_clock(kStart);
  Hlc hlc(&version_clock);  // one writer clock, as in GeoCache, so update() versions always win
  LruCacheOptions o;
  o.shards = 4;
  o.max_items = 48;
  o.max_bytes = 16 << 10;
  o.tombstone_retention_ms = 50;
  o.expiry_cycle_budget = 8;
  o.clock = &clock;
  LruCache cache(o);

  constexpr int kThreads = 6;
  constexpr int kOps = 20'000;
  std::atomic<uint64_t> applied{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "key" + std::to_string(rng() % 96);
        const int op = static_cast<int>(rng() % 100);
        if (op < 30) {
          if (cache.get(key).has_value()) hits.fetch_add(1, std::memory_order_relaxed);
        } else if (op < 35) {
          cache.peek_with_tombstone(key);
        } else if (op < 60) {
          // Versions a little in the past too, so stale applies happen.
          const uint64_t h = hlc.now() - rng() % 4096;
          const int64_t now = clock.now_ms();
          Record r;
          if (rng() % 5 == 0) {
            r = tombstone(ver(h, static_cast<RegionId>(1 + rng() % 3)));
          } else {
            const int64_t expiry = rng() % 3 == 0 ? now + static_cast<int64_t>(rng() % 40) - 5 : kNoExpiry;
            r = rec(std::string(rng() % 300, 'v'), ver(h, static_cast<RegionId>(1 + rng() % 3)), expiry);
          }
          if (cache.apply(key, r) == ApplyResult::kApplied) applied.fetch_add(1, std::memory_order_relaxed);
        } else if (op < 85) {
          const size_t size = rng() % 300;
          const bool del = rng() % 6 == 0;
          const Status st = cache.update(key, [&](const RecordView* cur, std::optional<Record>* next) {
            // The version is taken under the shard lock, as GeoCache::mutate does.
            if (del) {
              if (cur != nullptr) *next = tombstone(ver(hlc.now(), 1));
            } else {
              *next = rec(std::string(size, cur ? 'u' : 'n'), ver(hlc.now(), 1));
            }
            return Status::Ok();
          });
          EXPECT_TRUE(st.ok()) << st.to_string();  // 300 bytes always fit a shard's share
        } else if (op < 92) {
          cache.active_expire_cycle();
        } else if (op < 95) {
          clock.advance_ms(1 + static_cast<int64_t>(rng() % 10));
          version_clock.advance_ms(1);
        } else if (op < 96) {
          cache.flush_before(ver(hlc.now() - rng() % 2048, 0));
        } else if (op < 97) {
          cache.random_key();
        } else if (op < 98) {
          cache.scan_shard(static_cast<int>(rng() % 4), true, [](std::string_view, const RecordView&) {});
        } else if (op < 99) {
          const std::string key = "k" + std::to_string(rng() % 64);
          const RegionId origin = static_cast<RegionId>(1 + rng() % 3);
          cache.apply_seen(key, Record{ValueKind::kString, "v", kNoExpiry, ver(hlc.now(), origin)}, origin);
          if (rng() % 8 == 0) cache.end_snapshot(origin, hlc.now() - rng() % 1024);
        } else {
          cache.stats();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  cache.TEST_check_invariants();
  const LruCacheStats st = cache.stats();
  EXPECT_LE(st.items + st.tombstones, o.max_items);
  EXPECT_LE(st.bytes, o.max_bytes);
  EXPECT_GT(applied.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(st.evictions, 0u);
  EXPECT_GT(st.stale_applies, 0u);
}

// ---- convergence property ---------------------------------------------------------------

// Events from three origins, each with its own HLC; a store must end in the
// same state whatever order they arrive in and however often each arrives.
struct GeneratedEvent {
  bool flush = false;
  std::string key;
  Record record;
};

std::vector<GeneratedEvent> generate_history(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  ManualClock wall(kStart);
  std::vector<std::unique_ptr<Hlc>> hlcs;
  for (int i = 0; i < 3; ++i) hlcs.push_back(std::make_unique<Hlc>(&wall));
  // Each origin's view of each key, so expire/persist re-state what it holds.
  std::map<std::pair<int, std::string>, Record> view;
  std::vector<GeneratedEvent> out;
  for (int i = 0; i < n; ++i) {
    if (rng() % 4 == 0) wall.advance_ms(static_cast<int64_t>(rng() % 3));
    const int origin = static_cast<int>(rng() % 3);
    // Origins see each other's writes now and then, as replication would let them.
    if (rng() % 8 == 0) hlcs[origin]->observe(hlcs[(origin + 1) % 3]->last());
    const Version v{hlcs[origin]->now(), static_cast<RegionId>(origin + 1)};
    GeneratedEvent e;
    e.key = "k" + std::to_string(rng() % 40);
    const int op = static_cast<int>(rng() % 100);
    Record& mine = view[{origin, e.key}];
    // Expiries are far in the future: the store's clock never reaches them.
    const int64_t far = kStart + 1'000'000'000 + static_cast<int64_t>(rng() % 1000);
    if (op < 2) {
      e.flush = true;
      e.key.clear();
      e.record = tombstone(v);
    } else if (op < 50) {
      e.record = rec("v" + std::to_string(i), v, rng() % 2 ? far : kNoExpiry);
    } else if (op < 70) {
      e.record = tombstone(v);
    } else if (op < 85) {  // expire: same value, new expiry
      e.record = mine.is_tombstone() || mine.bytes.empty() ? rec("e" + std::to_string(i), v, far) : mine;
      e.record.expire_at_ms = far;
    } else {  // persist
      e.record = mine.is_tombstone() || mine.bytes.empty() ? rec("p" + std::to_string(i), v) : mine;
      e.record.expire_at_ms = kNoExpiry;
    }
    e.record.version = v;
    if (!e.flush) mine = e.record;
    out.push_back(std::move(e));
  }
  return out;
}

std::map<std::string, Record> contents(const LruCache& c) {
  std::map<std::string, Record> out;
  for (int s = 0; s < c.shard_count(); ++s) {
    c.scan_shard(s, true, [&](std::string_view k, const RecordView& v) { out.emplace(k, v.to_record()); });
  }
  return out;
}

bool same_record(const Record& a, const Record& b) {
  return a.kind == b.kind && a.bytes == b.bytes && a.expire_at_ms == b.expire_at_ms && a.version == b.version;
}

TEST(LruCachePropertyTest, AnyDeliveryOrderWithDuplicatesConvergesToTheSameState) {
  int nonempty = 0;  // a late flush may empty a run; most must not be trivially equal
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const auto history = generate_history(seed, 3000);
    std::mt19937_64 rng(seed * 7919);
    std::vector<std::map<std::string, Record>> results;
    for (int replica = 0; replica < 3; ++replica) {
      ManualClock clock(kStart);
      LruCacheOptions o;
      o.shards = 4;
      o.clock = &clock;
      LruCache cache(o);
      std::vector<size_t> order(history.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (size_t i = 0; i < history.size() / 5; ++i) order.push_back(rng() % history.size());  // duplicates
      if (replica > 0) std::shuffle(order.begin(), order.end(), rng);  // replica 0: in order
      for (size_t i : order) {
        const auto& e = history[i];
        if (e.flush) cache.flush_before(e.record.version);
        else cache.apply(e.key, e.record);
      }
      cache.TEST_check_invariants();
      results.push_back(contents(cache));
    }
    if (!results[0].empty()) ++nonempty;
    for (int replica = 1; replica < 3; ++replica) {
      ASSERT_EQ(results[replica].size(), results[0].size()) << "seed " << seed << " replica " << replica;
      for (const auto& [key, r] : results[0]) {
        auto it = results[replica].find(key);
        ASSERT_NE(it, results[replica].end()) << "seed " << seed << " key " << key;
        EXPECT_TRUE(same_record(it->second, r))
            << "seed " << seed << " key " << key << ": " << it->second.version.to_string() << " vs "
            << r.version.to_string();
      }
    }
  }
  EXPECT_GE(nonempty, 15);
}


// ---- Hashes: merged per field (core/versioned_hash.h) ----------------------

Record hash_write(std::vector<std::pair<std::string, std::string>> fields, Version v, int64_t expire_at = kNoExpiry) {
  HashDelta d;
  for (auto& [f, value] : fields) d.put(f, value);
  d.set_expiry(expire_at);
  return Record{ValueKind::kHash, d.encode(), expire_at, v};
}

// A write of one field that leaves the hash's expiry alone.
Record field_write(std::string field, std::string value, Version v) {
  HashDelta d;
  d.put(field, value);
  return Record{ValueKind::kHash, d.encode(), kNoExpiry, v};
}

Record hash_delete(std::string field, Version v) {
  HashDelta d;
  d.remove(field);
  return Record{ValueKind::kHash, d.encode(), kNoExpiry, v};
}

// The key's live state as text: its kind and value, or "absent".
std::string state_of(const LruCache& cache, std::string_view key) {
  auto r = cache.peek(key);
  if (!r) return "absent";
  auto v = r->to_value();
  return std::to_string(static_cast<int>(r->kind)) + ":" + (v.ok() ? v->to_json() : "?") + " ttl " +
         std::to_string(r->expire_at_ms);
}

TEST_F(LruCacheTest, HashWritesAndWholeKeyWritesConvergeInEveryOrder) {
  // Field writes of two regions, a SET and a DEL of the whole key, and an
  // HDEL, interleaved by version: every delivery order gives one state.
  std::vector<Record> writes = {
      hash_write({{"a", "1"}}, ver(10, 1), kStart + 50'000),
      rec("text", ver(20, 2), kStart + 60'000),
      hash_write({{"b", "2"}}, ver(30, 1)),
      hash_write({{"c", "3"}}, ver(15, 3)),
      tombstone(ver(25, 3)),
      hash_delete("b", ver(40, 2)),
      hash_write({{"d", "4"}, {"a", "5"}}, ver(35, 2)),
  };
  std::vector<size_t> order(writes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::string expected;
  int orders = 0;
  do {
    make();
    for (size_t i : order) cache_->apply("h", writes[i]);
    cache_->TEST_check_invariants();
    const std::string got = state_of(*cache_, "h");
    if (expected.empty()) expected = got;
    ASSERT_EQ(got, expected) << "order " << orders;
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()) && orders < 2000);
  // The DEL at 25 took a, c and the SET; b went by its HDEL; d and a's later
  // value stay. The hash keeps no expiry: the DEL cleared it.
  EXPECT_EQ(expected, "2:{\"a\":\"5\",\"d\":\"4\"} ttl 0");
}

// A region's INCR: its running sum, with the base it started from.
Record counter_write(RegionId region, int64_t sum, Version v, std::optional<std::pair<Version, int64_t>> base = {}) {
  HashDelta d;
  if (base) d.keep_base(base->first, base->second);
  d.put(VersionedHash::counter_field(region), VersionedHash::encode_i64(sum));
  return Record{ValueKind::kCounter, d.encode(), kNoExpiry, v};
}

TEST_F(LruCacheTest, CounterWritesAndWholeKeyWritesConvergeInEveryOrder) {
  // SET 10, increments of three regions (some before a later SET 100, some
  // after it), a DEL older than all but one: every order gives one total.
  std::vector<Record> writes = {
      rec("10", ver(10, 1)),
      counter_write(1, 1, ver(11, 1), std::pair(ver(10, 1), int64_t{10})),
      counter_write(2, 5, ver(12, 2)),
      counter_write(1, 3, ver(14, 1), std::pair(ver(10, 1), int64_t{10})),
      rec("100", ver(20, 3)),
      counter_write(2, 9, ver(25, 2)),
      counter_write(3, 2, ver(30, 3), std::pair(ver(20, 3), int64_t{100})),
  };
  std::vector<size_t> order(writes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::string expected;
  int orders = 0;
  do {
    make();
    for (size_t i : order) cache_->apply("n", writes[i]);
    cache_->TEST_check_invariants();
    const std::string got = state_of(*cache_, "n");
    if (expected.empty()) expected = got;
    ASSERT_EQ(got, expected) << "order " << orders;
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()) && orders < 2000);
  // SET 100 took region 1's increments; region 2's sum (9, newer) and
  // region 3's (2) add to it.
  EXPECT_EQ(expected, "7:111 ttl 0");
}

TEST_F(LruCacheTest, HashWhoseFieldsAreAllDeletedReadsAsAbsentAndRetiresLikeATombstone) {
  LruCacheOptions o;
  o.tombstone_retention_ms = 1000;
  make(o);
  cache_->apply("h", hash_write({{"f", "v"}}, ver(10)));
  cache_->apply("h", hash_delete("f", ver(20)));
  EXPECT_EQ(state_of(*cache_, "h"), "absent");
  EXPECT_FALSE(cache_->contains("h"));
  EXPECT_EQ(cache_->stats().items, 0u);
  EXPECT_EQ(cache_->stats().tombstones, 1u);
  // The field's tombstone still beats an older write of it.
  EXPECT_EQ(cache_->apply("h", field_write("f", "late", ver(15))), ApplyResult::kStale);
  cache_->TEST_check_invariants();
  clock_.advance_ms(1001);
  EXPECT_EQ(cache_->active_expire_cycle(), 1u);
  EXPECT_EQ(cache_->stats().tombstones, 0u);
  EXPECT_EQ(cache_->stats().bytes, 0u);
  // Retired, it is forgotten: an older write cannot bring it back.
  EXPECT_EQ(cache_->apply("h", field_write("f", "late", ver(15))), ApplyResult::kStale);
}

TEST_F(LruCacheTest, HashChargeGrowsWithItsFieldsAndCountsAgainstTheByteLimit) {
  make();
  cache_->apply("h", hash_write({{"f", "v"}}, ver(1)));
  const uint64_t one = cache_->stats().bytes;
  for (int i = 0; i < 100; ++i) cache_->apply("h", hash_write({{"f" + std::to_string(i), "value"}}, ver(2 + i)));
  EXPECT_GE(cache_->stats().bytes, one + 100 * VersionedHash::kFieldOverhead);
  cache_->TEST_check_invariants();
  cache_->apply("h", tombstone(ver(1000)));
  cache_->TEST_check_invariants();
  EXPECT_LT(cache_->stats().bytes, one);
  // A hash that can never fit is refused whole.
  LruCacheOptions small;
  small.max_bytes = 4096;
  make(small);
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 100; ++i) many.emplace_back("field" + std::to_string(i), "value");
  EXPECT_EQ(cache_->apply("big", hash_write(many, ver(5))), ApplyResult::kTooLarge);
  EXPECT_FALSE(cache_->contains("big"));
}

// A sorted set's members are charged with their index nodes, and a set or
// sorted set evicts like any key.
TEST_F(LruCacheTest, SortedSetsAndSetsAreChargedWithTheirIndexAndEvicted) {
  LruCacheOptions opts;
  opts.max_bytes = 64 * 1024;
  opts.shards = 1;
  make(opts);
  HashDelta members;
  for (int i = 0; i < 100; ++i) members.put("member" + std::to_string(i), VersionedHash::encode_score(i));
  ASSERT_EQ(cache_->apply("z", Record{ValueKind::kZset, members.encode(), kNoExpiry, ver(1)}), ApplyResult::kApplied);
  EXPECT_GE(cache_->stats().bytes, 100 * (VersionedHash::kFieldOverhead + ScoreIndex::kNodeOverhead));
  cache_->TEST_check_invariants();
  // Sets of 100 members each, until the zset (least recently used) goes.
  for (int k = 0; k < 20 && cache_->contains("z"); ++k) {
    HashDelta set;
    for (int i = 0; i < 100; ++i) set.put("m" + std::to_string(i), "");
    cache_->apply("s" + std::to_string(k), Record{ValueKind::kSet, set.encode(), kNoExpiry, ver(10 + k)});
    cache_->TEST_check_invariants();
  }
  EXPECT_FALSE(cache_->contains("z"));
  EXPECT_GE(cache_->stats().evictions, 1u);
  EXPECT_LE(cache_->stats().bytes, opts.max_bytes);
}

TEST_F(LruCacheTest, FlushTakesAHashsOlderFieldsAndKeepsItsNewerOnes) {
  make();
  cache_->apply("h", hash_write({{"old", "1"}}, ver(10)));
  cache_->apply("h", hash_write({{"new", "2"}}, ver(30)));
  cache_->flush_before(ver(20));
  EXPECT_EQ(state_of(*cache_, "h"), "2:{\"new\":\"2\"} ttl 0");
  cache_->TEST_check_invariants();
}

}  // namespace
}  // namespace geocache

namespace geocache {
namespace {

Record list_record(std::vector<std::string_view> elements, Version v) {
  return Record{ValueKind::kList, encode_list(elements), kNoExpiry, v};
}
Record push_op(std::string_view element, Version prev, Version v) {
  ListOps ops;
  ops.push_tail({element});
  return Record{ValueKind::kListOp, ops.encode(prev), kNoExpiry, v};
}
std::string list_of(LruCache& cache, std::string_view key) {
  std::string out;
  cache.peek(key, [&](const RecordView& v) {
    for (std::string_view e : ListView(v.bytes).elements()) out += std::string(e) + ",";
  });
  return out;
}

// List ops apply to the list of the version they changed and to nothing
// else: older ones are stale, newer ones on another list need its state.
TEST_F(LruCacheTest, ListOpsApplyOnlyToTheListTheyChanged) {
  make();
  ASSERT_EQ(cache_->apply("l", list_record({"a"}, ver(1))), ApplyResult::kApplied);
  EXPECT_EQ(cache_->apply("l", push_op("b", ver(1), ver(2))), ApplyResult::kApplied);
  EXPECT_EQ(list_of(*cache_, "l"), "a,b,");
  EXPECT_EQ(cache_->peek("l")->version, ver(2));
  EXPECT_EQ(cache_->apply("l", push_op("b", ver(1), ver(2))), ApplyResult::kStale);  // a duplicate
  EXPECT_EQ(cache_->apply("l", push_op("x", ver(5), ver(6))), ApplyResult::kNeedsState);  // missed ver(5)
  EXPECT_EQ(list_of(*cache_, "l"), "a,b,");
  // On a key that held no live list the ops of a new list apply; not on a string.
  EXPECT_EQ(cache_->apply("t", tombstone(ver(3))), ApplyResult::kApplied);
  EXPECT_EQ(cache_->apply("t", push_op("n", Version{}, ver(4))), ApplyResult::kApplied);
  EXPECT_EQ(list_of(*cache_, "t"), "n,");
  EXPECT_EQ(cache_->apply("fresh", push_op("n", Version{}, ver(4))), ApplyResult::kApplied);
  put("s", "v", ver(3));
  EXPECT_EQ(cache_->apply("s", push_op("n", Version{}, ver(4))), ApplyResult::kNeedsState);
  cache_->TEST_check_invariants();
}

TEST_F(LruCacheTest, ListOpsThatEmptyTheListDeleteIt) {
  make();
  ASSERT_EQ(cache_->apply("l", list_record({"a"}, ver(1))), ApplyResult::kApplied);
  ListOps pop;
  pop.pop_head(1);
  EXPECT_EQ(cache_->apply("l", Record{ValueKind::kListOp, pop.encode(ver(1)), kNoExpiry, ver(2)}),
            ApplyResult::kApplied);
  EXPECT_FALSE(cache_->contains("l"));
  EXPECT_EQ(cache_->peek_with_tombstone("l")->kind, ValueKind::kTombstone);
  EXPECT_EQ(cache_->stats().tombstones, 1u);
}

// A store that forgot a list (evicted) cannot apply the next op: it needs
// the whole state, and an op older than what it forgot is stale.
TEST_F(LruCacheTest, ListOpsOnAForgottenListNeedTheWholeStateAndListsCountTheirBytes) {
  LruCacheOptions opts;
  opts.shards = 1;
  opts.max_bytes = 32 * 1024;
  make(opts);
  std::vector<std::string> elements(1000, "0123456789");
  ASSERT_EQ(cache_->apply("l", list_record({elements.begin(), elements.end()}, ver(1))), ApplyResult::kApplied);
  EXPECT_GE(cache_->stats().bytes, 11'000u);  // the list's bytes are charged
  for (int i = 0; i < 10 && cache_->contains("l"); ++i) {
    put("filler" + std::to_string(i), std::string(4000, 'x'), ver(10 + i));
  }
  EXPECT_FALSE(cache_->contains("l"));
  EXPECT_EQ(cache_->apply("l", push_op("late", ver(1), ver(2))), ApplyResult::kNeedsState);
  EXPECT_EQ(cache_->apply("l", push_op("old", Version{}, ver(1))), ApplyResult::kStale);
  cache_->TEST_check_invariants();
}

}  // namespace
}  // namespace geocache
