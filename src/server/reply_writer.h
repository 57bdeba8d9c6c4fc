// ReplyWriter: builds RESP2 or RESP3 replies into a connection's output
// buffer. Handlers call it; they never format protocol bytes themselves.
//
// RESP3 types degrade the way Redis degrades them for RESP2 clients: a map
// becomes a flat array of key, value pairs, a set an array, a double a bulk
// string, a null (of any kind) $-1 or *-1, a boolean an integer 1/0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace geocache {

class ReplyWriter {
 public:
  explicit ReplyWriter(std::string* out) : out_(out) {}

  int protocol() const { return protocol_; }        // 2 or 3
  void set_protocol(int version) { protocol_ = version; }

  void simple(std::string_view s);                  // +OK
  void ok() { simple("OK"); }
  // A whole error line without the leading '-', e.g. "ERR syntax error" or
  // "WRONGTYPE Operation against a key holding the wrong kind of value".
  void error(std::string_view line);
  void integer(int64_t v);                          // :42
  void bulk(std::string_view s);                    // $3\r\nabc
  void null();                                      // RESP2 $-1, RESP3 _
  void null_array();                                // RESP2 *-1, RESP3 _
  void array_header(size_t n);                      // *n
  void map_header(size_t pairs);                    // RESP3 %n, RESP2 *2n
  void set_header(size_t n);                        // RESP3 ~n, RESP2 *n
  void push_header(size_t n);                       // RESP3 >n, RESP2 *n (pub/sub, invalidations)
  void dbl(double v);                               // RESP3 ,v  RESP2 bulk
  void boolean(bool b);                             // RESP3 #t  RESP2 :1
  void verbatim(std::string_view s);                // RESP3 =txt:, RESP2 bulk
  void bulk_array(std::initializer_list<std::string_view> items);

  std::string* buffer() { return out_; }

 private:
  std::string* out_;
  int protocol_ = 2;
};

}  // namespace geocache
