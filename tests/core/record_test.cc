#include "core/record.h"

#include <gtest/gtest.h>

#include <string>

#include "core/versioned_hash.h"

namespace geocache {
namespace {

using namespace std::string_literals;

TEST(RecordTest, StringValueIsStoredAsRawBytes) {
  const Record r = Record::from_value(Value("raw\0bytes"s));
  EXPECT_EQ(r.kind, ValueKind::kString);
  EXPECT_EQ(r.bytes, "raw\0bytes"s);  // no tag, no length prefix
  auto v = r.to_value();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Value("raw\0bytes"s));
}

TEST(RecordTest, NonStringValueIsStoredEncodedAndDecodesBack) {
  for (const Value& v : {Value(), Value(true), Value(42), Value(0.25),
                         Value(Value::List{Value(1), Value("x")}), Value(Value::Map{{"k", Value(Value::List{})}})}) {
    const Record r = Record::from_value(v);
    EXPECT_EQ(r.kind, ValueKind::kApiValue);
    EXPECT_EQ(r.bytes, v.encode());
    auto back = r.to_value();
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, v);
  }
}

TEST(RecordTest, HashAndJsonKindsDecodeTheirEncodedValue) {
  const Value map(Value::Map{{"f", Value("v")}});
  auto json = Record{ValueKind::kJson, map.encode(), kNoExpiry, {}}.to_value();
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, map);
  // A hash reads as the map of its live fields.
  HashDelta delta;
  delta.put("f", "v");
  delta.remove("gone");
  auto hash = Record{ValueKind::kHash, delta.encode(), kNoExpiry, Version{5, 1}}.to_value();
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, map);
}

TEST(RecordTest, TombstoneHasNoValue) {
  Record r{ValueKind::kTombstone, "", kNoExpiry, Version{5, 1}};
  EXPECT_TRUE(r.is_tombstone());
  EXPECT_EQ(r.to_value().status().code(), StatusCode::kNotFound);
}

TEST(RecordTest, CorruptEncodedBytesAreCorruptionNotACrash) {
  Record r{ValueKind::kApiValue, "\x06\x05", kNoExpiry, {}};  // a list of 5 with nothing in it
  EXPECT_EQ(r.to_value().status().code(), StatusCode::kCorruption);
  r.kind = static_cast<ValueKind>(99);
  EXPECT_EQ(r.to_value().status().code(), StatusCode::kCorruption);
}

TEST(RecordTest, ExpiresAtItsDeadlineAndNeverWithoutOne) {
  Record r;
  EXPECT_FALSE(r.expired_at(INT64_MAX));
  r.expire_at_ms = 1000;
  EXPECT_FALSE(r.expired_at(999));
  EXPECT_TRUE(r.expired_at(1000));
  EXPECT_TRUE(r.expired_at(1001));
}

// ---- well_formed: what a record from another region must look like ---------------

TEST(RecordTest, WhatTheWritersProduceIsWellFormed) {
  HashDelta hash;
  hash.put("f", "v");
  hash.put("g", "");
  hash.remove("h");
  VersionedHash whole;
  whole.write_field("f", "v", false, Version{3, 1});
  whole.raise_base(Version{2, 2});
  whole.set_expiry(1'700'000'000'000, Version{4, 1});
  const Record records[] = {
      {ValueKind::kString, "any\0\xff bytes"s, kNoExpiry, {}},
      {ValueKind::kString, "", kMaxExpireAtMs, {}},
      Record::from_value(Value(Value::List{Value(1), Value(nullptr)})),
      {ValueKind::kHash, hash.encode(), 1'700'000'000'000, Version{5, 1}},
      {ValueKind::kHash, HashDelta().encode(), kNoExpiry, Version{5, 1}},
      {ValueKind::kHash, whole.encode(), 1'700'000'000'000, Version{4, 1}},
      {ValueKind::kJson, Value(Value::Map{{"a", Value(Value::List{Value(true)})}}).encode(), kNoExpiry, {}},
      {ValueKind::kJson, Value(3.5).encode(), kNoExpiry, {}},
      {ValueKind::kTombstone, "", kNoExpiry, {}},
  };
  for (const Record& r : records) EXPECT_TRUE(r.well_formed().ok()) << static_cast<int>(r.kind);
}

TEST(RecordTest, HashThatIsNoVersionedHashIsNotWellFormed) {
  // What hashes were before they merged per field: a whole encoded map.
  for (const Value& v : {Value("text"), Value(Value::Map{{"f", Value("v")}})}) {
    const Record r{ValueKind::kHash, v.encode(), kNoExpiry, Version{5, 1}};
    EXPECT_EQ(r.well_formed().code(), StatusCode::kCorruption) << v.to_json();
  }
  EXPECT_EQ((Record{ValueKind::kHash, "\x06\x05", kNoExpiry, {}}).well_formed().code(), StatusCode::kCorruption);
}

TEST(RecordTest, HashHoldingAVersionNewerThanItsRecordsIsNotWellFormed) {
  // The clock guard checks a record's version; every version inside a hash
  // must be bounded by it, or a forged field could carry any version.
  VersionedHash h;
  h.write_field("f", "v", false, Version{UINT64_MAX, 1});
  EXPECT_EQ((Record{ValueKind::kHash, h.encode(), kNoExpiry, Version{5, 1}}).well_formed().code(),
            StatusCode::kCorruption);
  EXPECT_TRUE((Record{ValueKind::kHash, h.encode(), kNoExpiry, Version{UINT64_MAX, 1}}).well_formed().ok());
}

TEST(RecordTest, EncodedKindsThatDoNotDecodeAreNotWellFormed) {
  for (ValueKind kind : {ValueKind::kJson, ValueKind::kApiValue, ValueKind::kHash}) {
    for (std::string bytes : {""s, "\x06\x05"s, Value(1).encode() + "x", "\xff"s}) {
      const Record r{kind, bytes, kNoExpiry, {}};
      EXPECT_EQ(r.well_formed().code(), StatusCode::kCorruption) << static_cast<int>(kind) << " " << bytes.size();
    }
  }
}

TEST(RecordTest, TombstoneWithBytesOrAnUnknownKindIsNotWellFormed) {
  EXPECT_EQ((Record{ValueKind::kTombstone, "x", kNoExpiry, {}}).well_formed().code(), StatusCode::kCorruption);
  EXPECT_EQ((Record{static_cast<ValueKind>(9), "", kNoExpiry, {}}).well_formed().code(), StatusCode::kCorruption);
}

// Sets, sorted sets and counters are checked for what their kind holds: a
// forged counter cannot claim another region's increments, a score is never
// NaN.
TEST(RecordTest, CollectionsOfEachKindAreCheckedForWhatTheyHold) {
  const Version v{100 << 16, 7};
  HashDelta own;
  own.put(VersionedHash::counter_field(7), VersionedHash::encode_i64(3));
  EXPECT_TRUE((Record{ValueKind::kCounter, own.encode(), kNoExpiry, v}).well_formed().ok());
  HashDelta other;
  other.put(VersionedHash::counter_field(8), VersionedHash::encode_i64(1'000'000));
  EXPECT_EQ((Record{ValueKind::kCounter, other.encode(), kNoExpiry, v}).well_formed().code(), StatusCode::kCorruption);
  HashDelta member;
  member.put("m", "");
  EXPECT_TRUE((Record{ValueKind::kSet, member.encode(), kNoExpiry, v}).well_formed().ok());
  EXPECT_EQ((Record{ValueKind::kZset, member.encode(), kNoExpiry, v}).well_formed().code(), StatusCode::kCorruption);
  HashDelta scored;
  scored.put("m", VersionedHash::encode_score(1.5));
  EXPECT_TRUE((Record{ValueKind::kZset, scored.encode(), kNoExpiry, v}).well_formed().ok());
  EXPECT_EQ((Record{ValueKind::kSet, scored.encode(), kNoExpiry, v}).well_formed().code(), StatusCode::kCorruption);
  auto counter = Record{ValueKind::kCounter, own.encode(), kNoExpiry, v}.to_value();
  ASSERT_TRUE(counter.ok());
  EXPECT_EQ(*counter, Value(int64_t{3}));
}

TEST(RecordTest, ExpiryTheStoreCannotHoldIsNotWellFormed) {
  // A negative expiry would read as "none" in the store, making the key immortal.
  for (int64_t at : {int64_t{-1}, INT64_MIN, kMaxExpireAtMs + 1, INT64_MAX}) {
    const Record r{ValueKind::kString, "v", at, {}};
    EXPECT_EQ(r.well_formed().code(), StatusCode::kCorruption) << at;
  }
}

}  // namespace
}  // namespace geocache
