// glob_match: Redis' glob-style patterns (KEYS, SCAN MATCH, CONFIG GET,
// COMMAND LIST FILTERBY PATTERN). Matching is byte-exact: there is no
// case-insensitive mode.
#include "server/glob_match.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace geocache {
namespace {

TEST(GlobMatchTest, Stars) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("h*llo", "hllo"));
  EXPECT_TRUE(glob_match("h*llo", "heeeello"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("**a**", "xax"));
  EXPECT_FALSE(glob_match("h*llo", "hello!"));
}

TEST(GlobMatchTest, QuestionMarkAndLiterals) {
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_FALSE(glob_match("h?llo", "hllo"));
  EXPECT_TRUE(glob_match("user:1", "user:1"));
  EXPECT_FALSE(glob_match("user:1", "user:10"));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_TRUE(glob_match("", ""));
}

TEST(GlobMatchTest, Sets) {
  EXPECT_TRUE(glob_match("h[ae]llo", "hello"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-b]llo", "hbllo"));
  EXPECT_FALSE(glob_match("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(glob_match("h[b-a]llo", "hallo"));  // reversed range
  EXPECT_TRUE(glob_match("[\\]]", "]"));
  EXPECT_FALSE(glob_match("[]", "a"));
  EXPECT_TRUE(glob_match("a[bc", "ac"));  // a set left open ends the pattern
}

TEST(GlobMatchTest, Escapes) {
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("a\\?", "a?"));
  EXPECT_TRUE(glob_match("a\\", "a\\"));  // a trailing backslash is literal
}

TEST(GlobMatchTest, HostilePatternStaysFast) {
  const std::string s(5000, 'a');
  std::string p;
  for (int i = 0; i < 100; ++i) p += "*a";
  p += "b";
  EXPECT_FALSE(glob_match(p, s));
}

TEST(GlobMatchTest, QuestionMarkIsExactlyOneByte) {
  EXPECT_TRUE(glob_match("?", "x"));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_FALSE(glob_match("?", "xy"));
  EXPECT_TRUE(glob_match("??", std::string_view("\xff\0", 2)));
  EXPECT_TRUE(glob_match("*?", "a"));
  EXPECT_FALSE(glob_match("*?", ""));
}

TEST(GlobMatchTest, RangesAndNegatedSets) {
  for (char c = 'a'; c <= 'z'; ++c) EXPECT_TRUE(glob_match("[a-z]", std::string(1, c))) << c;
  EXPECT_FALSE(glob_match("[a-z]", "A"));
  EXPECT_FALSE(glob_match("[a-z]", "0"));
  EXPECT_TRUE(glob_match("[a-z0-9]", "7"));
  EXPECT_TRUE(glob_match("[^x]", "y"));
  EXPECT_FALSE(glob_match("[^x]", "x"));
  EXPECT_FALSE(glob_match("[^x]", ""));      // a set consumes one byte
  EXPECT_FALSE(glob_match("[^x]", "yy"));
  EXPECT_TRUE(glob_match("[^a-c]", "d"));
  EXPECT_FALSE(glob_match("[^a-c]", "b"));
  EXPECT_TRUE(glob_match("[\\-]", "-"));     // an escaped '-' is itself
  EXPECT_TRUE(glob_match("[\x80-\xff]", "\xc3"));  // bounds are unsigned bytes
}

TEST(GlobMatchTest, EscapesInsideSets) {
  EXPECT_TRUE(glob_match("[\\^]", "^"));
  EXPECT_TRUE(glob_match("[\\*]", "*"));
  EXPECT_FALSE(glob_match("[\\*]", "a"));
  EXPECT_TRUE(glob_match("\\[a]", "[a]"));   // an escaped '[' opens no set
}

TEST(GlobMatchTest, CaseSensitive) {
  EXPECT_FALSE(glob_match("hello", "HELLO"));
  EXPECT_FALSE(glob_match("h*O", "hello"));
  EXPECT_TRUE(glob_match("[Hh]ello", "Hello"));
}

}  // namespace
}  // namespace geocache
