// ReplyWriter: exact bytes for every reply type, in RESP2 and RESP3.
#include "server/reply_writer.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

namespace geocache {
namespace {

std::string resp(int protocol, const std::function<void(ReplyWriter&)>& fn) {
  std::string out;
  ReplyWriter w(&out);
  w.set_protocol(protocol);
  fn(w);
  return out;
}

std::string resp2(const std::function<void(ReplyWriter&)>& fn) { return resp(2, fn); }
std::string resp3(const std::function<void(ReplyWriter&)>& fn) { return resp(3, fn); }

TEST(ReplyWriter, SimpleErrorIntegerBulk) {
  EXPECT_EQ(resp2([](auto& w) { w.ok(); }), "+OK\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.error("ERR syntax error"); }), "-ERR syntax error\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.error("ERR a\r\nb"); }), "-ERR a  b\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.integer(0); }), ":0\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.integer(-42); }), ":-42\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.integer(std::numeric_limits<int64_t>::min()); }), ":-9223372036854775808\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.bulk("abc"); }), "$3\r\nabc\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.bulk(""); }), "$0\r\n\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.bulk(std::string_view("a\0b", 3)); }), std::string("$3\r\na\0b\r\n", 9));
}

TEST(ReplyWriter, NullsDifferByProtocol) {
  EXPECT_EQ(resp2([](auto& w) { w.null(); }), "$-1\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.null_array(); }), "*-1\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.null(); }), "_\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.null_array(); }), "_\r\n");
}

TEST(ReplyWriter, AggregatesDifferByProtocol) {
  EXPECT_EQ(resp2([](auto& w) { w.array_header(2); }), "*2\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.array_header(2); }), "*2\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.map_header(2); }), "*4\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.map_header(2); }), "%2\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.set_header(3); }), "*3\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.set_header(3); }), "~3\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.bulk_array({"a", "bc"}); }), "*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
}

TEST(ReplyWriter, ScalarsOfResp3DegradeInResp2) {
  EXPECT_EQ(resp3([](auto& w) { w.dbl(3.5); }), ",3.5\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.dbl(3.5); }), "$3\r\n3.5\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.dbl(std::numeric_limits<double>::infinity()); }), ",inf\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.dbl(-std::numeric_limits<double>::infinity()); }), ",-inf\r\n");
  // As Redis 7.0 writes a double: "%.17g".
  EXPECT_EQ(resp3([](auto& w) { w.dbl(0.1); }), ",0.10000000000000001\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.boolean(true); }), "#t\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.boolean(false); }), "#f\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.boolean(true); }), ":1\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.boolean(false); }), ":0\r\n");
  EXPECT_EQ(resp3([](auto& w) { w.verbatim("hi"); }), "=6\r\ntxt:hi\r\n");
  EXPECT_EQ(resp2([](auto& w) { w.verbatim("hi"); }), "$2\r\nhi\r\n");
}

TEST(ReplyWriter, AppendsToWhatIsThere) {
  std::string out = "+PONG\r\n";
  ReplyWriter w(&out);
  w.integer(7);
  EXPECT_EQ(out, "+PONG\r\n:7\r\n");
}

}  // namespace
}  // namespace geocache
