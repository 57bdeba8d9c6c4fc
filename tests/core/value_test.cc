#include "core/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <ostream>
#include <string>

namespace geocache {

// Readable failure messages: gtest finds this by ADL.
void PrintTo(const Value& v, std::ostream* os) { *os << v.to_json(); }

namespace {

using namespace std::string_literals;

Value roundtrip(const Value& v) {
  auto r = Value::decode(v.encode());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : Value();
}

// d lists wrapped around a null: the null sits at nesting depth d.
Value nested_lists(int d) {
  Value v;
  for (int i = 0; i < d; ++i) v = Value(Value::List{std::move(v)});
  return v;
}

// A value using every type, including the awkward corners of each.
Value kitchen_sink() {
  Value::Map inner{{"", Value()}, {"bin\0key"s, Value("\0\xff\x80"s)}, {"n", Value(int64_t{-1})}};
  return Value(Value::Map{
      {"null", Value()},
      {"t", Value(true)},
      {"f", Value(false)},
      {"min", Value(std::numeric_limits<int64_t>::min())},
      {"max", Value(std::numeric_limits<int64_t>::max())},
      {"zero", Value(0)},
      {"pi", Value(3.141592653589793)},
      {"tiny", Value(std::numeric_limits<double>::denorm_min())},
      {"bytes", Value("a\0b\0\0c"s)},
      {"list", Value(Value::List{Value(1), Value("two"), Value(Value::List{}), Value(std::move(inner))})},
      {"empty_map", Value(Value::Map{})},
  });
}

// ---- binary round trip ------------------------------------------------------

TEST(ValueTest, NullAndBoolsRoundTrip) {
  EXPECT_EQ(roundtrip(Value()), Value());
  EXPECT_EQ(roundtrip(Value(true)), Value(true));
  EXPECT_EQ(roundtrip(Value(false)), Value(false));
  EXPECT_EQ(roundtrip(Value(false)).type(), Value::Type::kBool);
}

TEST(ValueTest, IntegersRoundTripIncludingExtremes) {
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{63}, int64_t{-64}, int64_t{64}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min() + 1, std::numeric_limits<int64_t>::max() - 1}) {
    const Value back = roundtrip(Value(i));
    ASSERT_EQ(back.type(), Value::Type::kInt) << i;
    EXPECT_EQ(back.as_int(), i);
  }
}

TEST(ValueTest, DoublesRoundTripBitExactIncludingNanAndInfinity) {
  for (double d : {0.0, -0.0, 1.5, -2.25e300, std::numeric_limits<double>::denorm_min(),
                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    const Value v(d);
    const Value back = roundtrip(v);
    ASSERT_EQ(back.type(), Value::Type::kDouble);
    // NaN != NaN, so compare the encodings (which hold the IEEE bits).
    EXPECT_EQ(back.encode(), v.encode()) << d;
    EXPECT_EQ(std::signbit(back.as_double()), std::signbit(d));
  }
  EXPECT_TRUE(std::isnan(roundtrip(Value(std::numeric_limits<double>::quiet_NaN())).as_double()));
}

TEST(ValueTest, BinaryStringsWithNulsRoundTrip) {
  const std::string bytes = "\0\0a\xff\x80\0z"s;
  const Value back = roundtrip(Value(bytes));
  ASSERT_TRUE(back.is_string());
  EXPECT_EQ(back.as_string(), bytes);
  EXPECT_EQ(back.as_string().size(), 7u);
  EXPECT_EQ(roundtrip(Value(""s)), Value(""s));
  const std::string big(100'000, '\0');
  EXPECT_EQ(roundtrip(Value(big)).as_string(), big);
}

TEST(ValueTest, NestedListsAndMapsRoundTrip) {
  const Value v = kitchen_sink();
  EXPECT_EQ(roundtrip(v), v);
  EXPECT_EQ(roundtrip(nested_lists(Value::kMaxDepth)), nested_lists(Value::kMaxDepth));
}

TEST(ValueTest, EncodedSizeMatchesEncoding) {
  for (const Value& v : {Value(), Value(std::numeric_limits<int64_t>::min()), Value(2.5), Value("abc"), kitchen_sink(),
                         nested_lists(20)}) {
    EXPECT_EQ(v.encoded_size(), v.encode().size());
  }
}

// ---- corrupt binary input ---------------------------------------------------

TEST(ValueTest, DecodeOfEveryTruncationFailsWithCorruption) {
  const std::string bytes = kitchen_sink().encode();
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto r = Value::decode(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(r.ok()) << "prefix of " << cut << " bytes decoded";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << cut;
  }
}

TEST(ValueTest, DecodeRejectsTrailingBytes) {
  auto r = Value::decode(Value(7).encode() + "\x00"s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(ValueTest, DecodeRejectsUnknownTag) {
  for (char tag : {'\x08', '\x7f', '\xff'}) {
    auto r = Value::decode(std::string(1, tag));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
}

TEST(ValueTest, DecodeRejectsHugeLengthPrefixesWithoutAllocating) {
  const std::string max_varint = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s;  // 2^64 - 1
  for (const std::string& bytes : {
           "\x05"s + max_varint + "abc",          // string of 2^64-1 bytes
           "\x05\x80\x80\x80\x80\x10"s + "abc",   // string of 2^32 bytes
           "\x06"s + max_varint + "\x00",          // list of 2^64-1 elements
           "\x06\x80\x80\x80\x80\x10"s + "\x00",  // list of 2^32 elements
           "\x07"s + max_varint + "\x00\x00",      // map of 2^64-1 entries
           "\x07\x04\x01k\x00"s,                   // map claims more entries than bytes allow
           "\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s,  // varint longer than 10 bytes
       }) {
    auto r = Value::decode(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
}

TEST(ValueTest, DecodeAcceptsNestingUpToMaxDepthAndRejectsBeyond) {
  EXPECT_TRUE(Value::decode(nested_lists(Value::kMaxDepth).encode()).ok());
  auto r = Value::decode(nested_lists(Value::kMaxDepth + 1).encode());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(ValueTest, DecodeOfHostileDeepNestingFailsWithoutExhaustingTheStack) {
  std::string bytes;
  for (int i = 0; i < 1'000'000; ++i) bytes += "\x06\x01"s;  // a list holding a list holding ...
  bytes += '\0';
  auto r = Value::decode(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  std::string maps;
  for (int i = 0; i < 1'000'000; ++i) maps += "\x07\x01\x00"s;  // {"": {"": ...}}
  maps += '\0';
  EXPECT_EQ(Value::decode(maps).status().code(), StatusCode::kCorruption);
}

TEST(ValueTest, RandomMutationsDecodeOrFailWithCorruption) {
  const std::string good = kitchen_sink().encode();
  std::mt19937_64 rng(42);
  int failures = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
        case 0: bytes[pos] = static_cast<char>(rng()); break;
        case 1: bytes.erase(pos, 1); break;
        case 2: bytes.insert(pos, 1, static_cast<char>(rng())); break;
      }
      if (bytes.empty()) bytes = "\x06";
    }
    auto r = Value::decode(bytes);
    if (r.ok()) {
      // Whatever decoded is a well-formed value that survives its own round trip.
      EXPECT_TRUE(Value::decode(r->encode()).ok());
    } else {
      ++failures;
      ASSERT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().message();
    }
  }
  EXPECT_GT(failures, 0);
}

// ---- JSON -------------------------------------------------------------------

TEST(ValueTest, JsonRoundTripKeepsTypesAndContent) {
  // JSON carries text, so the strings here are valid UTF-8 (NULs included).
  const Value v(Value::Map{
      {"null", Value()},
      {"t", Value(true)},
      {"f", Value(false)},
      {"n", Value(-42)},
      {"pi", Value(3.141592653589793)},
      {"big", Value(1.7976931348623157e308)},
      {"text", Value("nul\0inside, \"quotes\", \\ and \u00e9\u4e2d"s)},
      {"key\0with nul"s, Value(Value::List{Value(1), Value("two"), Value(Value::List{}), Value(Value::Map{})})},
      {"nested", Value(Value::Map{{"deeper", Value(Value::List{Value(Value::Map{{"x", Value(0.5)}})})}})},
  });
  auto back = Value::from_json(v.to_json());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, v);
}

TEST(ValueTest, JsonRoundTripOfIntegerExtremesStaysInteger) {
  for (int64_t i : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    auto back = Value::from_json(Value(i).to_json());
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->type(), Value::Type::kInt);
    EXPECT_EQ(back->as_int(), i);
  }
}

TEST(ValueTest, JsonKeepsIntegralDoublesAsDoubles) {
  auto back = Value::from_json(Value(2.0).to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->type(), Value::Type::kDouble);
  EXPECT_EQ(back->as_double(), 2.0);
}

TEST(ValueTest, JsonWritesNonFiniteDoublesAsNull) {
  EXPECT_EQ(Value(std::numeric_limits<double>::quiet_NaN()).to_json(), "null");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()).to_json(), "null");
}

TEST(ValueTest, JsonReadsUnsignedBeyondInt64AsDouble) {
  auto v = Value::from_json("18446744073709551615");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), Value::Type::kDouble);
  EXPECT_EQ(v->as_double(), 18446744073709551615.0);
}

TEST(ValueTest, JsonReplacesInvalidUtf8InsteadOfFailing) {
  const std::string json = Value("ok\xff"s).to_json();
  auto back = Value::from_json(json);
  ASSERT_TRUE(back.ok()) << json;
  EXPECT_EQ(back->as_string().substr(0, 2), "ok");
  EXPECT_NE(back->as_string(), "ok\xff"s);
}

TEST(ValueTest, FromJsonRejectsMalformedText) {
  for (const char* text : {"", "{", "[1,", "nul", "{\"a\":}", "1 2", "[1,]", "'single'", "{\"a\" 1}", "\"unterminated",
                           "]]]]"}) {
    auto r = Value::from_json(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(ValueTest, FromJsonAcceptsNestingUpToMaxDepthAndRejectsBeyond) {
  auto brackets = [](int d) { return std::string(d, '[') + std::string(d, ']'); };
  auto ok = Value::from_json(brackets(Value::kMaxDepth));
  ASSERT_TRUE(ok.ok());
  auto r = Value::from_json(brackets(Value::kMaxDepth + 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::string objects;
  for (int i = 0; i <= Value::kMaxDepth; ++i) objects += "{\"k\":";
  objects += "1" + std::string(Value::kMaxDepth + 1, '}');
  EXPECT_EQ(Value::from_json(objects).status().code(), StatusCode::kInvalidArgument);
}

TEST(ValueTest, FromJsonOfHostileDeepNestingFailsWithoutExhaustingTheStack) {
  auto r = Value::from_json(std::string(1'000'000, '['));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(ValueTest, FromJsonIgnoresBracketsInsideStrings) {
  const std::string text = "\"" + std::string(1'000, '[') + "\\\"" + "\"";
  auto r = Value::from_json(text);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->as_string(), std::string(1'000, '[') + "\"");
}

}  // namespace
}  // namespace geocache
