#include "core/varint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace geocache {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

TEST(VarintTest, RoundTripsAndLengthMatches) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{16383}, uint64_t{16384},
                     uint64_t{1} << 35, UINT64_MAX - 1, UINT64_MAX}) {
    std::string out;
    put_varint(&out, v);
    EXPECT_EQ(out.size(), varint_length(v)) << v;
    std::string_view in = out;
    uint64_t back = 0;
    ASSERT_TRUE(get_varint(&in, &back)) << v;
    EXPECT_EQ(back, v);
    EXPECT_TRUE(in.empty());
  }
  std::string max;
  put_varint(&max, UINT64_MAX);
  EXPECT_EQ(max.size(), 10u);
}

TEST(VarintTest, TruncatedOrOverlongVarintIsRefused) {
  uint64_t v;
  std::string_view empty;
  EXPECT_FALSE(get_varint(&empty, &v));
  std::string_view cut = "\x80\x80"sv;
  EXPECT_FALSE(get_varint(&cut, &v));
  const std::string eleven = std::string(10, '\x80') + "\x01";
  std::string_view overlong = eleven;
  EXPECT_FALSE(get_varint(&overlong, &v));
}

TEST(VarintTest, LengthPrefixedRefusesLengthBeyondInput) {
  std::string out;
  put_length_prefixed(&out, "hello");
  std::string_view in = out, s;
  ASSERT_TRUE(get_length_prefixed(&in, &s));
  EXPECT_EQ(s, "hello");
  std::string_view lying = "\x06hello"sv;
  EXPECT_FALSE(get_length_prefixed(&lying, &s));
}

TEST(VarintTest, Fixed64IsLittleEndianAndRoundTrips) {
  std::string out;
  put_fixed64(&out, 0x0102030405060708ull);
  EXPECT_EQ(out, "\x08\x07\x06\x05\x04\x03\x02\x01"s);
  std::string_view in = out;
  uint64_t v;
  ASSERT_TRUE(get_fixed64(&in, &v));
  EXPECT_EQ(v, 0x0102030405060708ull);
  std::string_view short_in = "\x01\x02"sv;
  EXPECT_FALSE(get_fixed64(&short_in, &v));
}

}  // namespace
}  // namespace geocache
