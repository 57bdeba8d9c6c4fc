// RespParser. The multibulk path reads a "*N" header, then N times a "$L"
// header and L bytes plus CRLF. Between calls it keeps (args_left_, bulk_len_,
// pos_) so it resumes where the previous call stopped; the args already read
// are kept as offsets because the caller may have moved the buffer.
//
// Limits and error texts follow Redis' networking.c: a header line longer
// than 64 KiB without CRLF, a count out of range or a bulk longer than
// proto-max-bulk-len are protocol errors after which the connection closes.
// Counts and lengths are read as Redis' string2ll reads them (no sign but
// '-', no leading zero, nothing beyond 64 bits). "*0" and negative counts
// are skipped silently, as Redis does.
#include "server/resp_parser.h"

#include <cstring>

#include "server/arg_parser.h"
#include "server/errors.h"

namespace geocache {
namespace {

constexpr size_t kUnauthMaxMultibulk = 10;
constexpr size_t kUnauthMaxBulk = 16384;

}  // namespace

void RespParser::reset() {
  args_left_ = -1;
  bulk_len_ = -1;
  pos_ = 0;
  wanted_ = 0;
  spans_.clear();
}

RespParser::Result RespParser::fail(std::string_view line) {
  error_.assign(line);
  reset();
  return Result::kError;
}

RespParser::Result RespParser::parse(const char* data, size_t len, const RespLimits& limits) {
  consumed_ = 0;
  args_.clear();
  if (len == 0) return Result::kNeedMore;
  if (args_left_ >= 0 || data[0] == '*') return parse_multibulk(data, len, limits);
  return parse_inline(data, len, limits);
}

RespParser::Result RespParser::parse_multibulk(const char* data, size_t len, const RespLimits& limits) {
  if (args_left_ < 0) {
    const char* nl = static_cast<const char*>(memchr(data, '\r', len));
    if (nl == nullptr) {
      if (len > limits.max_inline_len) return fail(errors::kProtoBigMultibulkCount);
      return Result::kNeedMore;
    }
    size_t line_end = static_cast<size_t>(nl - data);
    if (line_end + 1 >= len) return Result::kNeedMore;  // the '\n' is not here yet
    // parse_int64 is Redis' string2ll: a count that does not fit 64 bits
    // (19 digits and up) is refused, never wrapped to a negative "skip".
    int64_t n = 0;
    if (!parse_int64(std::string_view(data + 1, line_end - 1), &n) || n > limits.max_multibulk_len) {
      return fail(errors::kProtoInvalidMultibulk);
    }
    if (n > static_cast<int64_t>(kUnauthMaxMultibulk) && !limits.authenticated) {
      return fail(errors::kProtoUnauthMultibulk);
    }
    pos_ = line_end + 2;
    if (n <= 0) {
      consumed_ = pos_;
      reset();
      return Result::kCommand;  // no args: nothing to run
    }
    args_left_ = n;
    bulk_len_ = -1;
    spans_.clear();
    // Reserve for what is likely, not what is claimed: a hostile "*1000000000"
    // must not make us allocate before the bytes arrive.
    spans_.reserve(static_cast<size_t>(n < 1024 ? n : 1024));
  }

  while (args_left_ > 0) {
    if (bulk_len_ < 0) {
      if (pos_ >= len) return Result::kNeedMore;
      const char* start = data + pos_;
      const char* nl = static_cast<const char*>(memchr(start, '\r', len - pos_));
      if (nl == nullptr) {
        if (len - pos_ > limits.max_inline_len) return fail(errors::kProtoBigBulkCount);
        return Result::kNeedMore;
      }
      size_t line_end = static_cast<size_t>(nl - data);
      if (line_end + 1 >= len) return Result::kNeedMore;
      if (*start != '$') {
        std::string what = "expected '$', got '";
        what.push_back(*start);
        what.push_back('\'');
        return fail(errors::protocol_error(what));
      }
      int64_t b = 0;
      if (!parse_int64(std::string_view(start + 1, line_end - pos_ - 1), &b) || b < 0 ||
          static_cast<uint64_t>(b) > limits.max_bulk_len) {
        return fail(errors::kProtoInvalidBulk);
      }
      if (static_cast<size_t>(b) > kUnauthMaxBulk && !limits.authenticated) {
        return fail(errors::kProtoUnauthBulk);
      }
      bulk_len_ = b;
      pos_ = line_end + 2;
    }
    size_t need = pos_ + static_cast<size_t>(bulk_len_) + 2;
    if (len < need) {
      wanted_ = need;
      return Result::kNeedMore;
    }
    // Redis does not check the CRLF after a bulk; a wrong one shows up as a
    // bad next header. We do check: it catches a length/payload mismatch
    // at the arg it belongs to.
    if (data[need - 2] != '\r' || data[need - 1] != '\n') return fail(errors::kProtoInvalidBulk);
    spans_.emplace_back(pos_, static_cast<size_t>(bulk_len_));
    pos_ = need;
    bulk_len_ = -1;
    --args_left_;
  }

  consumed_ = pos_;
  args_.reserve(spans_.size());
  for (auto [off, n] : spans_) args_.emplace_back(data + off, n);
  reset();
  return Result::kCommand;
}

RespParser::Result RespParser::parse_inline(const char* data, size_t len, const RespLimits& limits) {
  // pos_ remembers how much was already scanned for the newline.
  const char* nl = static_cast<const char*>(memchr(data + pos_, '\n', len - pos_));
  if (nl == nullptr) {
    if (len > limits.max_inline_len) return fail(errors::kProtoBigInline);
    pos_ = len;
    return Result::kNeedMore;
  }
  size_t line_len = static_cast<size_t>(nl - data);
  if (line_len > limits.max_inline_len) return fail(errors::kProtoBigInline);
  std::string_view line(data, line_len);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  inline_storage_.clear();
  inline_storage_.reserve(line.size());
  if (!split_inline_args(line, &inline_storage_, &args_)) {
    args_.clear();
    return fail(errors::kProtoUnbalancedQuotes);
  }
  consumed_ = line_len + 1;
  reset();
  return Result::kCommand;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

}  // namespace

bool split_inline_args(std::string_view line, std::string* storage, std::vector<std::string_view>* args) {
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && is_space(line[i])) ++i;
    if (i >= n) return true;
    const size_t begin = storage->size();
    if (line[i] == '"') {
      ++i;
      while (true) {
        if (i >= n) return false;  // no closing quote
        char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_digit(line[i + 2]) >= 0 &&
            hex_digit(line[i + 3]) >= 0) {
          storage->push_back(static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3])));
          i += 4;
        } else if (c == '\\' && i + 1 < n) {
          char e = line[i + 1];
          switch (e) {
            case 'n': storage->push_back('\n'); break;
            case 'r': storage->push_back('\r'); break;
            case 't': storage->push_back('\t'); break;
            case 'b': storage->push_back('\b'); break;
            case 'a': storage->push_back('\a'); break;
            default: storage->push_back(e); break;
          }
          i += 2;
        } else if (c == '"') {
          ++i;
          // The closing quote must end the argument.
          if (i < n && !is_space(line[i])) return false;
          break;
        } else {
          storage->push_back(c);
          ++i;
        }
      }
    } else if (line[i] == '\'') {
      ++i;
      while (true) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          storage->push_back('\'');
          i += 2;
        } else if (c == '\'') {
          ++i;
          if (i < n && !is_space(line[i])) return false;
          break;
        } else {
          storage->push_back(c);
          ++i;
        }
      }
    } else {
      while (i < n && !is_space(line[i])) storage->push_back(line[i++]);
    }
    args->emplace_back(storage->data() + begin, storage->size() - begin);
  }
}

}  // namespace geocache
