#include "core/versioned_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
}  // namespace geocache
