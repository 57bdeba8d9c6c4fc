// RespParser: commands come out the same however the input is cut, and
// every malformed input gets Redis' protocol error.
#include "server/resp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace geocache {
namespace {

using Commands = std::vector<std::vector<std::string>>;

// Feeds `input` in pieces cut at `cuts` (ascending offsets), the way a
// connection would: the unconsumed tail stays at the front of the buffer.
// Returns the commands parsed; *error gets the error line if any.
Commands parse_in_pieces(const std::string& input, const std::vector<size_t>& cuts, std::string* error = nullptr,
                         RespLimits limits = {}) {
  RespParser parser;
  Commands out;
  std::string buffer;
  size_t fed = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    buffer.append(input, fed, end - fed);
    fed = end;
    while (!buffer.empty()) {
      auto r = parser.parse(buffer.data(), buffer.size(), limits);
      if (r == RespParser::Result::kNeedMore) break;
      if (r == RespParser::Result::kError) {
        if (error) *error = std::string(parser.error());
        return out;
      }
      std::vector<std::string> args;
      for (auto a : parser.args()) args.emplace_back(a);
      if (!args.empty()) out.push_back(args);
      // Move the rest to the front, as a compacting connection does.
      buffer.erase(0, parser.consumed());
    }
  }
  return out;
}

Commands parse_all(const std::string& input, std::string* error = nullptr, RespLimits limits = {}) {
  return parse_in_pieces(input, {}, error, limits);
}

TEST(RespParser, ParsesMultibulk) {
  EXPECT_EQ(parse_all("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), (Commands{{"GET", "k"}}));
}

TEST(RespParser, ParsesInlineWithQuotes) {
  EXPECT_EQ(parse_all("SET k \"a b\\x41\\n\" 'it\\'s'\r\n"), (Commands{{"SET", "k", "a bA\n", "it's"}}));
  EXPECT_EQ(parse_all("PING\n"), (Commands{{"PING"}}));
}

TEST(RespParser, SkipsBlankLinesAndEmptyArrays) {
  EXPECT_EQ(parse_all("\r\n*0\r\n*-1\r\n*-10\r\nPING\r\n"), (Commands{{"PING"}}));
}

TEST(RespParser, IsBinarySafe) {
  std::string key("a\0b\r\nc", 6);
  std::string input = "*2\r\n$3\r\nGET\r\n$6\r\n" + key + "\r\n";
  EXPECT_EQ(parse_all(input), (Commands{{"GET", key}}));
}

TEST(RespParser, EverySplitPointOfAPipelineParsesTheSame) {
  const std::string input =
      "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"
      "PING\r\n"
      "*2\r\n$3\r\nGET\r\n$0\r\n\r\n"
      "ECHO \"x y\"\r\n"
      "*1\r\n$4\r\nPING\r\n";
  const Commands expected = {{"SET", "key", "va\r\nl"}, {"PING"}, {"GET", ""}, {"ECHO", "x y"}, {"PING"}};
  ASSERT_EQ(parse_all(input), expected);
  for (size_t cut = 1; cut < input.size(); ++cut) {
    EXPECT_EQ(parse_in_pieces(input, {cut}), expected) << "cut at " << cut;
  }
  for (size_t a = 1; a < input.size(); a += 3) {
    for (size_t b = a + 1; b < input.size(); b += 5) {
      EXPECT_EQ(parse_in_pieces(input, {a, b}), expected) << "cuts at " << a << "," << b;
    }
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < input.size(); ++i) every_byte.push_back(i);
  EXPECT_EQ(parse_in_pieces(input, every_byte), expected);
}

TEST(RespParser, TellsHowMuchABigBulkNeeds) {
  RespParser parser;
  std::string input = "*2\r\n$3\r\nSET\r\n$100000\r\nabc";
  ASSERT_EQ(parser.parse(input.data(), input.size(), {}), RespParser::Result::kNeedMore);
  EXPECT_EQ(parser.bytes_wanted(), input.size() - 3 + 100000 + 2);
}

TEST(RespParser, RejectsBadLengthsWithRedisErrors) {
  std::string error;
  parse_all("*3000000000\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: invalid multibulk length");
  parse_all("*x\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: invalid multibulk length");
  parse_all("*1\r\n$-5\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: invalid bulk length");
  parse_all("*1\r\n$99999999999\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: invalid bulk length");
  parse_all("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: expected '$', got 'f'");
  parse_all("*1\r\n$3\r\nabcde\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: invalid bulk length");
}

// Lengths that do not fit a signed 64-bit integer (19 digits and more) used
// to overflow while being read (UBSan) and wrap to a negative count, taken as
// an empty command. Every length out of range is the protocol error.
TEST(RespParser, RejectsLengthsOutOfRangeWithoutOverflow) {
  for (std::string count : {"9999999999999999999", "9223372036854775808", "18446744073709551616",
                            "-9999999999999999999", "99999999999999999999999999", "1073741825"}) {
    std::string error;
    EXPECT_EQ(parse_all("*" + count + "\r\n$4\r\nPING\r\n", &error), Commands{}) << count;
    EXPECT_EQ(error, "ERR Protocol error: invalid multibulk length") << count;
  }
  for (std::string len : {"9999999999999999999", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
                          "-1", "+4", "04"}) {
    std::string error;
    EXPECT_EQ(parse_all("*1\r\n$" + len + "\r\nPING\r\n", &error), Commands{}) << len;
    EXPECT_EQ(error, "ERR Protocol error: invalid bulk length") << len;
  }
  // The largest count the limit allows still waits for its arguments.
  RespParser parser;
  std::string at_limit = "*1073741824\r\n";
  EXPECT_EQ(parser.parse(at_limit.data(), at_limit.size(), {}), RespParser::Result::kNeedMore);
}

TEST(RespParser, CountsAboveTheConfiguredMultibulkLimitAreRefused) {
  RespLimits limits;
  limits.max_multibulk_len = 3;
  std::string error;
  EXPECT_EQ(parse_all("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", &error, limits), (Commands{{"SET", "k", "v"}}));
  parse_all("*4\r\n", &error, limits);
  EXPECT_EQ(error, "ERR Protocol error: invalid multibulk length");
}

TEST(RespParser, RejectsBulkOverTheConfiguredMaximum) {
  RespLimits limits;
  limits.max_bulk_len = 10;
  std::string error;
  EXPECT_EQ(parse_all("*1\r\n$10\r\n0123456789\r\n", &error, limits), (Commands{{"0123456789"}}));
  parse_all("*1\r\n$11\r\n01234567890\r\n", &error, limits);
  EXPECT_EQ(error, "ERR Protocol error: invalid bulk length");
}

TEST(RespParser, RejectsLongHeaderAndInlineLines) {
  std::string error;
  parse_all(std::string(70000, 'a'), &error);
  EXPECT_EQ(error, "ERR Protocol error: too big inline request");
  parse_all("*" + std::string(70000, '1'), &error);
  EXPECT_EQ(error, "ERR Protocol error: too big mbulk count string");
  parse_all("*1\r\n$" + std::string(70000, '1'), &error);
  EXPECT_EQ(error, "ERR Protocol error: too big bulk count string");
}

TEST(RespParser, RejectsUnbalancedQuotes) {
  std::string error;
  parse_all("SET k \"abc\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: unbalanced quotes in request");
  parse_all("SET k 'a'b\r\n", &error);
  EXPECT_EQ(error, "ERR Protocol error: unbalanced quotes in request");
}

TEST(RespParser, LimitsUnauthenticatedClients) {
  RespLimits limits;
  limits.authenticated = false;
  std::string error;
  parse_all("*11\r\n", &error, limits);
  EXPECT_EQ(error, "ERR Protocol error: unauthenticated multibulk length");
  parse_all("*1\r\n$16385\r\n", &error, limits);
  EXPECT_EQ(error, "ERR Protocol error: unauthenticated bulk length");
}

}  // namespace
}  // namespace geocache
