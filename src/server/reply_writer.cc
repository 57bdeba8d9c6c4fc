// ReplyWriter: every reply is appended to one std::string per connection, so
// a pipeline of replies leaves in one write. Numbers go through to_chars
// (no locale, no snprintf) because a GET reply is mostly its length header.
#include "server/reply_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace geocache {
namespace {

// Appends "<prefix><n>\r\n".
inline void header(std::string* out, char prefix, int64_t n) {
  char buf[24];
  buf[0] = prefix;
  auto r = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  out->append(buf, static_cast<size_t>(r.ptr + 2 - buf));
}

inline void line(std::string* out, char prefix, std::string_view s) {
  out->push_back(prefix);
  out->append(s);
  out->append("\r\n", 2);
}

// A double as Redis 7.0's addReplyDouble writes one: "%.17g" (so 0.1 reads
// "0.10000000000000001", as clients of Redis see sorted-set scores), and
// Redis' spelling of the special values.
size_t format_double(double v, char* buf, size_t cap) {
  if (std::isnan(v)) return std::string_view("nan").copy(buf, cap);
  if (std::isinf(v)) return std::string_view(v > 0 ? "inf" : "-inf").copy(buf, cap);
  const int n = std::snprintf(buf, cap, "%.17g", v);
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), cap - 1);
}

}  // namespace

void ReplyWriter::simple(std::string_view s) { line(out_, '+', s); }

void ReplyWriter::error(std::string_view l) {
  // An error must be one line; a stray CR/LF would desynchronise the client.
  out_->push_back('-');
  for (char c : l) out_->push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_->append("\r\n", 2);
}

void ReplyWriter::integer(int64_t v) { header(out_, ':', v); }

void ReplyWriter::bulk(std::string_view s) {
  // A big value gets its room at once (reserve grows geometrically): else
  // the CRLF after it can reallocate the buffer and copy the value again.
  if (s.size() >= 4096) out_->reserve(out_->size() + s.size() + 32);
  header(out_, '$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::null() {
  if (protocol_ == 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("$-1\r\n", 5);
  }
}

void ReplyWriter::null_array() {
  if (protocol_ == 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("*-1\r\n", 5);
  }
}

void ReplyWriter::array_header(size_t n) { header(out_, '*', static_cast<int64_t>(n)); }

void ReplyWriter::map_header(size_t pairs) {
  if (protocol_ == 3) {
    header(out_, '%', static_cast<int64_t>(pairs));
  } else {
    header(out_, '*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyWriter::set_header(size_t n) { header(out_, protocol_ == 3 ? '~' : '*', static_cast<int64_t>(n)); }

void ReplyWriter::push_header(size_t n) { header(out_, protocol_ == 3 ? '>' : '*', static_cast<int64_t>(n)); }

void ReplyWriter::dbl(double v) {
  char buf[40];
  size_t n = format_double(v, buf, sizeof(buf));
  if (protocol_ == 3) {
    line(out_, ',', std::string_view(buf, n));
  } else {
    bulk(std::string_view(buf, n));
  }
}

void ReplyWriter::boolean(bool b) {
  if (protocol_ == 3) {
    out_->append(b ? "#t\r\n" : "#f\r\n", 4);
  } else {
    out_->append(b ? ":1\r\n" : ":0\r\n", 4);
  }
}

void ReplyWriter::verbatim(std::string_view s) {
  if (protocol_ != 3) {
    bulk(s);
    return;
  }
  header(out_, '=', static_cast<int64_t>(s.size() + 4));
  out_->append("txt:", 4);
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyWriter::bulk_array(std::initializer_list<std::string_view> items) {
  array_header(items.size());
  for (std::string_view s : items) bulk(s);
}

}  // namespace geocache
