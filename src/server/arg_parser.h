// ArgParser: reads a command's arguments left to right with a sticky error.
//
// Handlers read every option and number they expect, then check the error
// once at the end (Dragonfly's cmd_arg_parser habit): the first failure is
// kept, later reads return harmless defaults and change nothing. So option
// loops stay flat and the reply is the error Redis would give first.
//
// Also here: the strict number parsing and formatting Redis applies to
// arguments and stored strings, shared by every data family.
//
// Thread-safety: a parser belongs to one handler call; the free functions
// are pure.
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "core/decimal.h"
#include "server/errors.h"
#include "server/reply_writer.h"

namespace geocache {

// ASCII case-insensitive equality (command options are ASCII keywords).
inline bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Long double parsing as Redis' string2ld (INCRBYFLOAT, HINCRBYFLOAT): the
// whole text must be a number strtold accepts (so "1e3", "0x10", "inf"),
// without leading space, not NaN and not out of range.
inline bool parse_long_double(std::string_view s, long double* out) {
  // Redis bounds the text at MAX_LONG_DOUBLE_CHARS (5k).
  if (s.empty() || s.size() >= 5 * 1024) return false;
  const unsigned char first = static_cast<unsigned char>(s[0]);
  if (first == ' ' || (first >= '\t' && first <= '\r')) return false;
  const std::string text(s);  // strtold needs a terminator
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return false;
  if (errno == ERANGE && (std::isinf(v) || v == 0.0L)) return false;
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

// INCRBYFLOAT's result text, as Redis' "human friendly" long double form:
// fixed notation with 17 decimals, trailing zeros (and a bare '.') removed,
// "-0" printed as "0". REQUIRES: v is finite.
inline std::string format_long_double(long double v) {
  char buf[5 * 1024];  // %Lf of the largest long double needs ~4940 chars
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", v);
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) return "0";
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") text = "0";
  return std::string(text);
}

// A double as the shortest text that reads back to the same double (how a
// kApiValue double from the C++ API shows as a string).
inline std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

class ArgParser {
 public:
  // Reads args from index `pos` (default 1: just after the command name).
  explicit ArgParser(std::span<const std::string_view> args, size_t pos = 1) : args_(args), pos_(pos) {}

  // True while the parser is error-free and arguments remain.
  bool has_next() const { return ok() && pos_ < args_.size(); }
  size_t remaining() const { return pos_ < args_.size() ? args_.size() - pos_ : 0; }

  // The next argument; a syntax error (and "") if none is left.
  std::string_view next() {
    if (!ok()) return {};
    if (pos_ >= args_.size()) {
      fail(errors::kSyntax);
      return {};
    }
    return args_[pos_++];
  }

  // Consumes the next argument if it equals `word` (case-insensitive).
  bool check(std::string_view word) {
    if (!has_next() || !equals_ci(args_[pos_], word)) return false;
    ++pos_;
    return true;
  }

  // The next argument as a strict integer; "ERR value is not an integer or
  // out of range" if it is not one.
  int64_t next_int() {
    std::string_view s = next();
    if (!ok()) return 0;
    int64_t v = 0;
    if (!parse_int64(s, &v)) fail(errors::kNotInteger);
    return v;
  }

  // The next argument as a long double; "ERR value is not a valid float".
  long double next_long_double() {
    std::string_view s = next();
    if (!ok()) return 0;
    long double v = 0;
    if (!parse_long_double(s, &v)) fail(errors::kNotFloat);
    return v;
  }

  // Records an error unless one is already held (the first one wins).
  void fail(std::string_view error_line) {
    if (ok()) error_.assign(error_line);
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Replies the held error and returns false, or returns true if none.
  bool ok_or_reply(ReplyWriter& reply) const {
    if (ok()) return true;
    reply.error(error_);
    return false;
  }

 private:
  std::span<const std::string_view> args_;
  size_t pos_;
  std::string error_;
};

}  // namespace geocache
