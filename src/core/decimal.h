// Decimal integers as Redis reads them (string2ll): shared by the server's
// argument parsing and the store, which reads a string as a counter's base.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace geocache {

// Strict signed 64-bit parsing, as Redis' string2ll: optional '-', then
// digits with no leading zero ("0" alone is fine), nothing else — no '+', no
// spaces, no "-0", no overflow. So a value read back prints identically.
inline bool parse_int64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;  // 20 = len("-9223372036854775808")
  if (s == "0") {
    *out = 0;
    return true;
  }
  const bool negative = s[0] == '-';
  std::string_view digits = negative ? s.substr(1) : s;
  if (digits.empty() || digits[0] < '1' || digits[0] > '9') return false;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

}  // namespace geocache
