#include "core/record.h"

#include <gtest/gtest.h>

#include <string>

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
  for (ValueKind kind : {ValueKind::kHash, ValueKind::kJson}) {
    Record r{kind, map.encode(), kNoExpiry, {}};
    auto v = r.to_value();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, map);
  }
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

}  // namespace
}  // namespace geocache
