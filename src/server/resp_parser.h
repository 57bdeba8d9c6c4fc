// RespParser: cuts one connection's input into commands, RESP2 multibulk
// ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or inline ("GET k\r\n"), as Redis does.
//
// Incremental: parse() is called with the unconsumed input each time more
// bytes arrive; it remembers how far it got inside a partial command (as
// offsets from the command's first byte), so a command that arrives in many
// pieces is scanned once, and the caller may move the bytes between calls as
// long as the command's first byte stays first.
//
// Binary safe and allocation free on the multibulk path once warm: args()
// are views into the caller's buffer (inline commands with quotes are the
// exception: their unescaped args live in the parser).
//
// Not thread-safe; one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace geocache {

struct RespLimits {
  size_t max_bulk_len = ServerOptions{}.proto_max_bulk_len;
  int64_t max_multibulk_len = 1024ll * 1024 * 1024;   // args per command
  size_t max_inline_len = 64 * 1024;                  // inline line, and any header line
  // Before AUTH, Redis refuses big arrays and bulks so that an
  // unauthenticated client cannot make the server buffer much.
  bool authenticated = true;
};

class RespParser {
 public:
  enum class Result {
    kCommand,   // a command (args() may be empty: a blank line or "*0")
    kNeedMore,  // the input holds only part of a command
    kError,     // a protocol error: reply error() and close the connection
  };

  // Parses the next command at the start of data[0, len). On kCommand,
  // consumed() bytes make up the command and args() views them (valid until
  // the caller's buffer changes or parse() is called again).
  Result parse(const char* data, size_t len, const RespLimits& limits);

  size_t consumed() const { return consumed_; }
  std::span<const std::string_view> args() const { return args_; }
  // The error line (without '-') after kError.
  std::string_view error() const { return error_; }
  // Bytes the partial command needs in the buffer before it can complete
  // (known once a bulk header is read; 0 otherwise). Lets the caller size
  // its buffer once for a big value instead of growing it step by step.
  size_t bytes_wanted() const { return wanted_; }
  // Forgets a partial command: the next parse() starts at a command's first
  // byte (a parser that only looks ahead starts over each time).
  void reset();

 private:
  Result parse_multibulk(const char* data, size_t len, const RespLimits& limits);
  Result parse_inline(const char* data, size_t len, const RespLimits& limits);
  Result fail(std::string_view line);

  // Progress inside a partial multibulk command, relative to its first byte.
  int64_t args_left_ = -1;  // -1: the "*N" header is not read yet
  int64_t bulk_len_ = -1;   // -1: the next "$N" header is not read yet
  size_t pos_ = 0;          // where scanning resumes
  size_t wanted_ = 0;
  std::vector<std::pair<size_t, size_t>> spans_;  // (offset, length) of args read so far

  size_t consumed_ = 0;
  std::vector<std::string_view> args_;
  std::string inline_storage_;
  std::string error_;
};

// Splits an inline command line into arguments the way redis-cli and Redis
// do: spaces separate, "double quotes" take \n \r \t \b \a \\ \" and \xHH
// escapes, 'single quotes' take \' only. Returns false on unbalanced quotes.
// Appends the unescaped bytes to *storage and views into it to *args;
// REQUIRES: storage has capacity for line.size() more bytes (so views stay valid).
bool split_inline_args(std::string_view line, std::string* storage, std::vector<std::string_view>* args);

}  // namespace geocache
