// glob_match: Redis' glob-style patterns (KEYS, SCAN MATCH).
//
//   *        any sequence of bytes, the empty one included
//   ?        any one byte
//   [abc]    one of the listed bytes; [^abc] any byte but those;
//            [a-z] a range (reversed bounds are swapped); \x inside a set
//            is x itself; a set left open at the end of the pattern ends there
//   \x       x itself (outside a set)
//
// Every token but '*' consumes exactly one byte, so the classic two-pointer
// scan that, on a mismatch, retries from the most recent '*' one byte further
// is exact and takes O(pattern * string) time at worst: no recursion, so no
// hostile pattern ("*a*a*a*...b") can make it exponential or blow the stack.
//
// Differences from Redis' stringmatchlen: "*" also matches the empty string
// (Redis only reaches that case via KEYS' "*" fast path), and range bounds
// compare as unsigned bytes.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace geocache {
namespace detail {

// Whether the token starting at pattern[*pi] (not '*') matches byte c;
// advances *pi past the token.
inline bool glob_token_matches(std::string_view pattern, size_t* pi, unsigned char c) {
  size_t i = *pi;
  const char t = pattern[i];
  if (t == '?') {
    *pi = i + 1;
    return true;
  }
  if (t == '\\' && i + 1 < pattern.size()) {
    *pi = i + 2;
    return static_cast<unsigned char>(pattern[i + 1]) == c;
  }
  if (t != '[') {
    *pi = i + 1;
    return static_cast<unsigned char>(t) == c;
  }
  ++i;  // past '['
  const bool negate = i < pattern.size() && pattern[i] == '^';
  if (negate) ++i;
  bool match = false;
  while (i < pattern.size() && pattern[i] != ']') {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      if (static_cast<unsigned char>(pattern[i + 1]) == c) match = true;
      i += 2;
    } else if (i + 2 < pattern.size() && pattern[i + 1] == '-') {
      unsigned char lo = static_cast<unsigned char>(pattern[i]);
      unsigned char hi = static_cast<unsigned char>(pattern[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      if (c >= lo && c <= hi) match = true;
      i += 3;
    } else {
      if (static_cast<unsigned char>(pattern[i]) == c) match = true;
      ++i;
    }
  }
  *pi = i < pattern.size() ? i + 1 : i;  // past ']' (or at the end if left open)
  return match != negate;
}

}  // namespace detail

// True if the whole of `s` matches the whole of `pattern`.
inline bool glob_match(std::string_view pattern, std::string_view s) {
  size_t p = 0, i = 0;
  size_t star_p = std::string_view::npos;  // pattern position just after the last '*'
  size_t star_i = 0;                       // where that '*' started matching in s
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_i = i;
      continue;
    }
    size_t next = p;
    if (p < pattern.size() && detail::glob_token_matches(pattern, &next, static_cast<unsigned char>(s[i]))) {
      p = next;
      ++i;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    // Let the last '*' swallow one more byte and retry from just after it.
    p = star_p;
    i = ++star_i;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace geocache
