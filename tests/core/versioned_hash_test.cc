#include "core/versioned_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/record.h"

namespace geocache {
namespace {

Version ver(uint64_t hlc, RegionId region = 1) { return Version{hlc, region}; }

// The live fields, sorted, for comparisons that do not depend on table order.
std::vector<std::pair<std::string, std::string>> live(const VersionedHash& h) {
  std::vector<std::pair<std::string, std::string>> out;
  h.for_each([&](std::string_view f, std::string_view v) { out.emplace_back(f, v); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(VersionedHashTest, NewerFieldWriteWinsAndOlderOneLoses) {
  VersionedHash h;
  EXPECT_TRUE(h.write_field("f", "two", false, ver(2)));
  EXPECT_FALSE(h.write_field("f", "one", false, ver(1)));
  EXPECT_EQ(*h.find("f"), "two");
  EXPECT_TRUE(h.write_field("f", "three", false, ver(3)));
  EXPECT_EQ(*h.find("f"), "three");
  EXPECT_EQ(h.max_version(), ver(3));
}

TEST(VersionedHashTest, DeletedFieldKeepsItsTombstoneAgainstOlderWrites) {
  VersionedHash h;
  h.write_field("f", "v", false, ver(1));
  EXPECT_TRUE(h.write_field("f", "", true, ver(3)));
  EXPECT_EQ(h.find("f"), nullptr);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.field_count(), 1u);
  // A write made before the delete, arriving late, stays deleted.
  EXPECT_FALSE(h.write_field("f", "late", false, ver(2)));
  EXPECT_EQ(h.find("f"), nullptr);
  EXPECT_TRUE(h.write_field("f", "again", false, ver(4)));
  EXPECT_EQ(h.live_fields(), 1u);
}

TEST(VersionedHashTest, WholeKeyWriteTakesTheFieldsItIsNewerThan) {
  VersionedHash h;
  h.write_field("old", "1", false, ver(1));
  h.write_field("new", "3", false, ver(3));
  EXPECT_TRUE(h.raise_base(ver(2)));
  EXPECT_EQ(live(h), (decltype(live(h)){{"new", "3"}}));
  // Nothing at or below the base can come back.
  EXPECT_FALSE(h.write_field("old", "late", false, ver(2)));
  EXPECT_FALSE(h.raise_base(ver(1)));
}

TEST(VersionedHashTest, ChargeFollowsTheFields) {
  VersionedHash h;
  EXPECT_EQ(h.charge(), 0u);
  h.write_field("field", "value", false, ver(1));
  EXPECT_EQ(h.charge(), VersionedHash::kFieldOverhead + 10);
  h.write_field("field", "", true, ver(2));
  EXPECT_EQ(h.charge(), VersionedHash::kFieldOverhead + 5);
  h.raise_base(ver(3));
  EXPECT_EQ(h.charge(), 0u);
}

// The property regions rely on: the same writes, merged in any order and in
// any grouping, give the same hash.
TEST(VersionedHashTest, MergingTheSameWritesInAnyOrderGivesTheSameHash) {
  struct Write {
    enum { kField, kBase, kExpiry } what;
    std::string field;
    bool deleted;
    int64_t expiry;
    Version v;
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<Write> writes;
    for (uint64_t i = 1; i <= 30; ++i) {
      const Version v = ver(i * 10, 1 + rng() % 3);
      switch (rng() % 6) {
        case 0: writes.push_back({Write::kBase, "", false, 0, v}); break;
        case 1: writes.push_back({Write::kExpiry, "", false, static_cast<int64_t>(rng() % 1000), v}); break;
        default: writes.push_back({Write::kField, "f" + std::to_string(rng() % 8), rng() % 3 == 0, 0, v});
      }
    }
    auto one = [](VersionedHash& h, const Write& w) {
      switch (w.what) {
        case Write::kField: h.write_field(w.field, "v" + w.v.to_string(), w.deleted, w.v); break;
        case Write::kBase: h.raise_base(w.v); break;
        case Write::kExpiry: h.set_expiry(w.expiry, w.v); break;
      }
    };
    VersionedHash in_order;
    for (const Write& w : writes) one(in_order, w);
    std::shuffle(writes.begin(), writes.end(), rng);
    VersionedHash shuffled;
    for (const Write& w : writes) one(shuffled, w);
    EXPECT_EQ(shuffled, in_order);
    // Two regions each holding part of the writes, then merging each other's.
    VersionedHash a, b;
    for (size_t i = 0; i < writes.size(); ++i) one(i % 2 ? a : b, writes[i]);
    VersionedHash a_then_b = a, b_then_a = b;
    a_then_b.merge(b);
    b_then_a.merge(a);
    EXPECT_EQ(a_then_b, in_order);
    EXPECT_EQ(b_then_a, in_order);
    EXPECT_FALSE(a_then_b.merge(b));  // merging again changes nothing
    EXPECT_EQ(live(a_then_b), live(in_order));
    EXPECT_EQ(a_then_b.live_fields(), in_order.live_fields());
    EXPECT_EQ(a_then_b.charge(), in_order.charge());
  }
}

TEST(VersionedHashTest, WholeStateSurvivesItsEncodedForm) {
  VersionedHash h;
  h.write_field("a", "1", false, ver(5, 2));
  h.write_field("b", "", true, ver(6, 3));
  h.write_field("c", std::string("\0\xff", 2), false, ver(7, 1));
  h.raise_base(ver(4, 9));
  h.set_expiry(123456, ver(3, 1));
  auto back = VersionedHash::decode(h.encode(), h.max_version());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, h);
  EXPECT_EQ(back->max_version(), h.max_version());
  EXPECT_EQ(back->live_fields(), 2u);
}

TEST(VersionedHashTest, PiecesMergeBackIntoTheWhole) {
  VersionedHash h;
  for (uint64_t i = 1; i <= 1000; ++i) h.write_field("field" + std::to_string(i), std::string(40, 'v'), i % 7 == 0, ver(10 + i));
  h.raise_base(ver(5));
  h.set_expiry(777, ver(6));
  const auto pieces = h.encode_in_pieces(4096);
  EXPECT_GT(pieces.size(), 10u);
  VersionedHash back;
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    EXPECT_LE(it->size(), 4096u + 200);
    auto piece = VersionedHash::decode(*it, h.max_version());
    ASSERT_TRUE(piece.ok());
    back.merge(*piece);
  }
  EXPECT_EQ(back, h);
  EXPECT_EQ(VersionedHash().encode_in_pieces(4096).size(), 1u);
}

TEST(VersionedHashTest, DeltaFieldsTakeTheRecordsVersion) {
  HashDelta d;
  d.put("f", "v");
  d.remove("g");
  d.set_expiry(99);
  auto h = VersionedHash::decode(d.encode(), ver(42, 7));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h->find("f"), "v");
  EXPECT_EQ(h->find("g"), nullptr);
  EXPECT_EQ(h->field_count(), 2u);
  EXPECT_EQ(h->expire_at_ms(), 99);
  EXPECT_EQ(h->expire_version(), ver(42, 7));
  EXPECT_EQ(h->max_version(), ver(42, 7));
  // An expiry kept from an earlier write keeps that write's version.
  HashDelta kept;
  kept.keep_expiry(77, ver(10, 2));
  auto k = VersionedHash::decode(kept.encode(), ver(42, 7));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->expire_version(), ver(10, 2));
  EXPECT_TRUE(HashDelta().empty());
}

TEST(VersionedHashTest, FieldChangedTwiceByOneCommandKeepsItsLastChange) {
  HashDelta d;
  d.put("f", "1");
  d.put("g", "x");
  d.put("f", "2");
  auto h = VersionedHash::decode(d.encode(), ver(5));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(*h->find("f"), "2");
  EXPECT_EQ(h->live_fields(), 2u);
}

TEST(VersionedHashTest, MalformedBytesAreRefusedNotMisread) {
  VersionedHash h;
  h.write_field("f", "v", false, ver(5));
  const std::string good = h.encode();
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(VersionedHash::decode(good.substr(0, cut), ver(5)).ok()) << cut;
  }
  EXPECT_FALSE(VersionedHash::decode(good + "x", ver(5)).ok());
  // A version newer than the record's, or none at all.
  EXPECT_FALSE(VersionedHash::decode(good, ver(4)).ok());
  // One field twice: header (format 1, no flags), count 2, then "f" = "1" twice.
  EXPECT_FALSE(VersionedHash::decode(std::string("\x01\x00\x02" "\x00\x01" "f\x01" "1" "\x00\x01" "f\x01" "1", 13), ver(5)).ok());
  std::string bad_flags = good;
  bad_flags[1] = '\x40';
  EXPECT_FALSE(VersionedHash::decode(bad_flags, ver(5)).ok());
  // A count claiming more fields than the bytes could hold.
  EXPECT_FALSE(VersionedHash::decode(std::string("\x01\x00\xff\xff\xff\x0f", 6), ver(5)).ok());
}


// ---------------------------------------------------------------------------
// Sets, sorted sets and counters: the same merge, other kinds of values
// ---------------------------------------------------------------------------

using Kind = VersionedHash::Kind;

// The writes regions make to one collection of `kind`, as the commands make
// them: each write is (who applies it first, the change) and the test
// checks that any order of delivery gives one state.
struct KindWrite {
  enum { kField, kBase } what;
  std::string field;
  std::string value;
  bool deleted;
  Version v;
  int64_t base_value;
};

void apply_write(VersionedHash& h, const KindWrite& w) {
  if (w.what == KindWrite::kBase) h.raise_base(w.v, w.base_value);
  else h.write_field(w.field, w.value, w.deleted, w.v);
}

void expect_converges(Kind kind, const std::vector<KindWrite>& writes, std::mt19937& rng) {
  VersionedHash in_order(kind);
  for (const KindWrite& w : writes) apply_write(in_order, w);
  std::vector<KindWrite> shuffled = writes;
  for (int round = 0; round < 5; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    VersionedHash a(kind), b(kind);
    for (size_t i = 0; i < shuffled.size(); ++i) apply_write(i % 3 ? a : b, shuffled[i]);
    // Through the encoded form, as a snapshot carries it.
    auto b_sent = VersionedHash::decode(b.encode(), std::max(b.max_version(), ver(1)), kind);
    ASSERT_TRUE(b_sent.ok()) << b_sent.status().message();
    a.merge(*b_sent);
    EXPECT_EQ(a, in_order);
    EXPECT_EQ(a.live_fields(), in_order.live_fields());
    EXPECT_EQ(a.charge(), in_order.charge());
    if (kind == Kind::kCounter) {
      EXPECT_EQ(a.counter_total(), in_order.counter_total());
    }
    if (kind == Kind::kZset) {
      // The index holds exactly the live members, in order.
      ASSERT_EQ(a.index()->size(), a.live_fields());
      const ScoreIndex::Node* prev = nullptr;
      for (const ScoreIndex::Node* n = a.index()->at(0); n != nullptr; n = ScoreIndex::next(n)) {
        const std::string* score = a.find(ScoreIndex::member(n));
        ASSERT_NE(score, nullptr);
        EXPECT_EQ(VersionedHash::decode_score(*score), ScoreIndex::score(n));
        if (prev != nullptr) {
          EXPECT_TRUE(ScoreIndex::score(prev) < ScoreIndex::score(n) ||
                      (ScoreIndex::score(prev) == ScoreIndex::score(n) && ScoreIndex::member(prev) < ScoreIndex::member(n)));
        }
        prev = n;
      }
    }
  }
}

TEST(VersionedHashTest, CountersConvergeToTheBasePlusEveryNewerContribution) {
  std::mt19937 rng(3);
  for (int round = 0; round < 30; ++round) {
    // Three regions increment, each its own running sum; now and then one
    // of them SETs the counter (a base with a value).
    std::vector<KindWrite> writes;
    int64_t sums[4] = {0, 0, 0, 0};
    for (uint64_t i = 1; i <= 40; ++i) {
      const RegionId r = 1 + rng() % 3;
      const Version v = ver(i * 10, r);
      if (rng() % 8 == 0) {
        writes.push_back({KindWrite::kBase, "", "", false, v, static_cast<int64_t>(rng() % 100)});
        continue;
      }
      sums[r] += 1 + static_cast<int64_t>(rng() % 5);
      writes.push_back({KindWrite::kField, VersionedHash::counter_field(r), VersionedHash::encode_i64(sums[r]), false, v, 0});
    }
    expect_converges(Kind::kCounter, writes, rng);
  }
}

TEST(VersionedHashTest, ASetCounterKeepsIncrementsItIsOlderThan) {
  VersionedHash c(Kind::kCounter);
  c.write_field(VersionedHash::counter_field(1), VersionedHash::encode_i64(5), false, ver(10, 1));
  c.write_field(VersionedHash::counter_field(2), VersionedHash::encode_i64(7), false, ver(30, 2));
  EXPECT_EQ(c.counter_total(), 12);
  // SET 100 at 20: region 1's increments (before it) go, region 2's stay.
  c.raise_base(ver(20, 3), 100);
  EXPECT_EQ(c.counter_total(), 107);
  EXPECT_FALSE(c.empty());
}

TEST(VersionedHashTest, SetsConvergeAndAnAddWinsOverARemoveThatDidNotSeeIt) {
  std::mt19937 rng(5);
  for (int round = 0; round < 30; ++round) {
    // Adds at their own version; removes at the version of an add made
    // earlier (the one the remover saw).
    std::vector<KindWrite> writes;
    std::vector<Version> adds;
    for (uint64_t i = 1; i <= 40; ++i) {
      const Version v = ver(i * 10, 1 + rng() % 3);
      const std::string m = "m" + std::to_string(rng() % 6);
      if (rng() % 3 == 0 && !adds.empty()) {
        writes.push_back({KindWrite::kField, m, "", true, adds[rng() % adds.size()], 0});
      } else {
        writes.push_back({KindWrite::kField, m, "", false, v, 0});
        adds.push_back(v);
      }
    }
    expect_converges(Kind::kSet, writes, rng);
  }
  // Region 1 removes m having seen its add at 10; region 2 adds m again at
  // 15, concurrently (before the remove, by the clocks): the add stays.
  VersionedHash s(Kind::kSet);
  s.write_field("m", "", false, ver(10, 1));
  EXPECT_TRUE(s.write_field("m", "", true, ver(10, 1)));  // the remove, at the add it saw
  EXPECT_EQ(s.find("m"), nullptr);
  EXPECT_TRUE(s.write_field("m", "", false, ver(15, 2)));
  EXPECT_NE(s.find("m"), nullptr);
  // The other order: the concurrent add first, then the remove.
  VersionedHash t(Kind::kSet);
  t.write_field("m", "", false, ver(10, 1));
  t.write_field("m", "", false, ver(15, 2));
  EXPECT_FALSE(t.write_field("m", "", true, ver(10, 1)));
  EXPECT_NE(t.find("m"), nullptr);
}

TEST(VersionedHashTest, SortedSetsConvergeWithTheirIndexInOrder) {
  std::mt19937 rng(9);
  for (int round = 0; round < 30; ++round) {
    std::vector<KindWrite> writes;
    for (uint64_t i = 1; i <= 60; ++i) {
      const Version v = ver(i * 10, 1 + rng() % 3);
      if (rng() % 10 == 0) {
        writes.push_back({KindWrite::kBase, "", "", false, v, 0});
        continue;
      }
      const std::string m = "m" + std::to_string(rng() % 10);
      const bool del = rng() % 4 == 0;
      writes.push_back({KindWrite::kField, m, del ? "" : VersionedHash::encode_score(static_cast<double>(rng() % 5)), del, v, 0});
    }
    expect_converges(Kind::kZset, writes, rng);
  }
}

TEST(VersionedHashTest, RecordsThatAreNotWhatTheirKindHoldsAreRefused) {
  auto one_field = [](std::string_view name, std::string_view value, Version v) {
    HashDelta d;
    d.put(name, value);
    return std::pair(d.encode(), v);
  };
  // A counter's contribution claimed for another region than the writer.
  auto [forged, v] = one_field(VersionedHash::counter_field(2), VersionedHash::encode_i64(1), ver(5, 1));
  EXPECT_FALSE(VersionedHash::decode(forged, v, Kind::kCounter).ok());
  auto [own, v1] = one_field(VersionedHash::counter_field(1), VersionedHash::encode_i64(1), ver(5, 1));
  EXPECT_TRUE(VersionedHash::decode(own, v1, Kind::kCounter).ok());
  EXPECT_FALSE(VersionedHash::decode(own.substr(0, own.size() - 1) , v1, Kind::kCounter).ok());
  // A score that is NaN or not 8 bytes; a set member with a value.
  auto [nan, v2] = one_field("m", VersionedHash::encode_score(std::nan("")), ver(5));
  EXPECT_FALSE(VersionedHash::decode(nan, v2, Kind::kZset).ok());
  auto [short_score, v3] = one_field("m", "1.5", ver(5));
  EXPECT_FALSE(VersionedHash::decode(short_score, v3, Kind::kZset).ok());
  EXPECT_TRUE(VersionedHash::decode(short_score, v3, Kind::kHash).ok());
  EXPECT_FALSE(VersionedHash::decode(short_score, v3, Kind::kSet).ok());
  // A base value outside a counter.
  HashDelta based;
  based.keep_base(ver(3), 42);
  EXPECT_TRUE(VersionedHash::decode(based.encode(), ver(5), Kind::kCounter).ok());
  EXPECT_FALSE(VersionedHash::decode(based.encode(), ver(5), Kind::kHash).ok());
}

}  // namespace
}  // namespace geocache
