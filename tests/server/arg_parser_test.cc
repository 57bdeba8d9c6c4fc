// ArgParser and the strict number parsing and formatting in arg_parser.h.
#include "server/arg_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "server/errors.h"

namespace geocache {
namespace {

// ---- Parsing and formatting helpers --------------------------------------

TEST(ParseInt64Test, AcceptsOnlyCanonicalIntegers) {
  int64_t v = 0;
  EXPECT_TRUE(parse_int64("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(parse_int64("-42", &v));
  EXPECT_EQ(v, -42);
  EXPECT_TRUE(parse_int64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(parse_int64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  for (const char* bad : {"", "+1", " 1", "1 ", "01", "-0", "-", "1.0", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999", "1e3", "0x10"}) {
    EXPECT_FALSE(parse_int64(bad, &v)) << bad;
  }
}

TEST(ParseLongDoubleTest, AcceptsWhatStrtoldTakesWholly) {
  long double v = 0;
  EXPECT_TRUE(parse_long_double("1.5", &v));
  EXPECT_TRUE(parse_long_double("1e3", &v));
  EXPECT_EQ(v, 1000.0L);
  EXPECT_TRUE(parse_long_double("-.5", &v));
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1.5x", "1e99999"}) {
    EXPECT_FALSE(parse_long_double(bad, &v)) << bad;
  }
}

TEST(FormatLongDoubleTest, HumanFriendlyLikeRedis) {
  EXPECT_EQ(format_long_double(10.5L), "10.5");
  EXPECT_EQ(format_long_double(3.0L), "3");
  EXPECT_EQ(format_long_double(-0.0L), "0");
  EXPECT_EQ(format_long_double(5.0e3L), "5000");
  EXPECT_EQ(format_long_double(10.5L + 0.1L), "10.6");
}

TEST(EqualsCiTest, FoldsAsciiLettersOnly) {
  EXPECT_TRUE(equals_ci("EX", "ex"));
  EXPECT_TRUE(equals_ci("KeepTTL", "KEEPTTL"));
  EXPECT_FALSE(equals_ci("ex", "exx"));
  EXPECT_FALSE(equals_ci("[", "{"));  // '[' is 'Z' + 1, '{' is 'z' + 1: not letters
  EXPECT_TRUE(equals_ci("", ""));
}

// ---- ArgParser -----------------------------------------------------------

class ArgParserTest : public ::testing::Test {
 protected:
  // A parser over `words`, positioned after the first (the command name).
  ArgParser parser(std::vector<std::string_view> words) {
    args_ = std::move(words);
    return ArgParser(args_);
  }
  std::vector<std::string_view> args_;
};

TEST_F(ArgParserTest, ReadsLeftToRightAfterTheName) {
  ArgParser p = parser({"SET", "k", "v"});
  EXPECT_EQ(p.remaining(), 2u);
  EXPECT_TRUE(p.has_next());
  EXPECT_EQ(p.next(), "k");
  EXPECT_EQ(p.next(), "v");
  EXPECT_FALSE(p.has_next());
  EXPECT_EQ(p.remaining(), 0u);
  EXPECT_TRUE(p.ok());
}

TEST_F(ArgParserTest, StartsWhereTold) {
  args_ = {"CLIENT", "SETNAME", "x"};
  ArgParser p(args_, 2);
  EXPECT_EQ(p.next(), "x");
}

TEST_F(ArgParserTest, NextPastTheEndIsASyntaxError) {
  ArgParser p = parser({"GETEX"});
  EXPECT_EQ(p.next(), "");
  EXPECT_FALSE(p.ok());
  EXPECT_EQ(p.error(), errors::kSyntax);
}

TEST_F(ArgParserTest, CheckIsCaseInsensitiveAndConsumesOnlyOnAMatch) {
  ArgParser p = parser({"SET", "nX", "Get", "ex"});
  EXPECT_FALSE(p.check("XX"));
  EXPECT_TRUE(p.check("NX"));
  EXPECT_FALSE(p.check("get "));
  EXPECT_TRUE(p.check("GET"));
  EXPECT_TRUE(p.check("EX"));
  EXPECT_FALSE(p.check("EX"));  // nothing left
  EXPECT_TRUE(p.ok());          // a failed check is not an error
}

TEST_F(ArgParserTest, NextIntAcceptsTheInt64Bounds) {
  ArgParser p = parser({"X", "9223372036854775807", "-9223372036854775808", "0", "-1"});
  EXPECT_EQ(p.next_int(), INT64_MAX);
  EXPECT_EQ(p.next_int(), INT64_MIN);
  EXPECT_EQ(p.next_int(), 0);
  EXPECT_EQ(p.next_int(), -1);
  EXPECT_TRUE(p.ok());
}

TEST_F(ArgParserTest, NextIntRefusesOutOfRangeAndNonCanonical) {
  for (std::string_view bad : {"9223372036854775808", "-9223372036854775809", "+1", "01", "1.0", "x"}) {
    ArgParser p = parser({"X", bad});
    p.next_int();
    EXPECT_EQ(p.error(), errors::kNotInteger) << bad;
  }
  ArgParser missing = parser({"X"});
  EXPECT_EQ(missing.next_int(), 0);
  EXPECT_EQ(missing.error(), errors::kSyntax);  // nothing to read is a syntax error
}

TEST_F(ArgParserTest, NextLongDouble) {
  ArgParser p = parser({"X", "2.5", "abc"});
  EXPECT_EQ(p.next_long_double(), 2.5L);
  EXPECT_TRUE(p.ok());
  p.next_long_double();
  EXPECT_EQ(p.error(), errors::kNotFloat);
}

TEST_F(ArgParserTest, TheFirstErrorSticksAndLaterReadsAreHarmless) {
  ArgParser p = parser({"X", "notanumber", "NX", "5"});
  EXPECT_EQ(p.next_int(), 0);
  EXPECT_EQ(p.error(), errors::kNotInteger);
  EXPECT_FALSE(p.has_next());       // stops option loops
  EXPECT_FALSE(p.check("NX"));      // consumes nothing
  EXPECT_EQ(p.next(), "");
  EXPECT_EQ(p.next_int(), 0);       // "5" is not read
  EXPECT_EQ(p.next_long_double(), 0);
  p.fail(errors::kSyntax);          // a later failure does not replace the first
  EXPECT_EQ(p.error(), errors::kNotInteger);
}

TEST_F(ArgParserTest, OkOrReplyWritesTheHeldError) {
  std::string out;
  ReplyWriter reply(&out);
  ArgParser good = parser({"X"});
  EXPECT_TRUE(good.ok_or_reply(reply));
  EXPECT_EQ(out, "");
  ArgParser bad = parser({"X"});
  bad.fail(errors::kSyntax);
  EXPECT_FALSE(bad.ok_or_reply(reply));
  EXPECT_EQ(out, "-" + std::string(errors::kSyntax) + "\r\n");
}

TEST(FormatDoubleTest, ShortestRoundTrip) {
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(3.0), "3");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace geocache
