// glob_match: Redis' glob-style patterns (KEYS, SCAN MATCH, CONFIG GET,
// COMMAND LIST FILTERBY PATTERN). Matching is byte-exact: there is no
// case-insensitive mode.
#include "server/glob_match.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace geocache {
namespace {

struct Case {
  std::string_view pattern, s;
  bool match;
};

void expect_matches(std::initializer_list<Case> cases) {
  for (const Case& c : cases) EXPECT_EQ(glob_match(c.pattern, c.s), c.match) << c.pattern << " ~ " << c.s;
}

TEST(GlobMatchTest, Stars) {
  expect_matches({
      {"*", "", true},
      {"*", "anything", true},
      {"h*llo", "hllo", true},
      {"h*llo", "heeeello", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"**a**", "xax", true},
      {"h*llo", "hello!", false},
  });
}

TEST(GlobMatchTest, QuestionMarkAndLiterals) {
  expect_matches({
      {"h?llo", "hello", true},
      {"h?llo", "hllo", false},
      {"user:1", "user:1", true},
      {"user:1", "user:10", false},
      {"", "a", false},
      {"", "", true},
  });
}

TEST(GlobMatchTest, Sets) {
  expect_matches({
      {"h[ae]llo", "hello", true},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hbllo", true},
      {"h[a-b]llo", "hcllo", false},
      {"h[b-a]llo", "hallo", true},  // reversed range
      {"[\\]]", "]", true},
      {"[]", "a", false},
      {"a[bc", "ac", true},  // a set left open ends the pattern
  });
}

TEST(GlobMatchTest, Escapes) {
  expect_matches({
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      {"a\\?", "a?", true},
      {"a\\", "a\\", true},  // a trailing backslash is literal
  });
}

TEST(GlobMatchTest, HostilePatternStaysFast) {
  const std::string s(5000, 'a');
  std::string p;
  for (int i = 0; i < 100; ++i) p += "*a";
  p += "b";
  EXPECT_FALSE(glob_match(p, s));
}

TEST(GlobMatchTest, QuestionMarkIsExactlyOneByte) {
  expect_matches({
      {"?", "x", true},
      {"?", "", false},
      {"?", "xy", false},
      {"??", std::string_view("\xff\0", 2), true},
      {"*?", "a", true},
      {"*?", "", false},
  });
}

TEST(GlobMatchTest, RangesAndNegatedSets) {
  for (char c = 'a'; c <= 'z'; ++c) EXPECT_TRUE(glob_match("[a-z]", std::string(1, c))) << c;
  expect_matches({
      {"[a-z]", "A", false},
      {"[a-z]", "0", false},
      {"[a-z0-9]", "7", true},
      {"[^x]", "y", true},
      {"[^x]", "x", false},
      {"[^x]", "", false},  // a set consumes one byte
      {"[^x]", "yy", false},
      {"[^a-c]", "d", true},
      {"[^a-c]", "b", false},
      {"[\\-]", "-", true},  // an escaped '-' is itself
      {"[\x80-\xff]", "\xc3", true},  // bounds are unsigned bytes
  });
}

TEST(GlobMatchTest, EscapesInsideSets) {
  expect_matches({
      {"[\\^]", "^", true},
      {"[\\*]", "*", true},
      {"[\\*]", "a", false},
      {"\\[a]", "[a]", true},  // an escaped '[' opens no set
  });
}

TEST(GlobMatchTest, CaseSensitive) {
  expect_matches({
      {"hello", "HELLO", false},
      {"h*O", "hello", false},
      {"[Hh]ello", "Hello", true},
  });
}

}  // namespace
}  // namespace geocache
