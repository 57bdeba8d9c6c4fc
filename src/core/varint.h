// LEB128 varints and length-prefixed strings: the building blocks of every
// binary form in the project (values, events, snapshots).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace geocache {

// The write_* forms fill memory sized beforehand (varint_length) and return
// the byte after; the put_* forms append to a string.
inline char* write_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline void put_varint(std::string* out, uint64_t v) {
  char buf[10];
  out->append(buf, write_varint(buf, v));
}

// Signed integers as varints: small magnitudes, either sign, take few bytes.
inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

inline size_t varint_length(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Consumes a varint from the front of *in. False (and *in unspecified) when
// truncated or longer than 10 bytes.
inline bool get_varint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline char* write_length_prefixed(char* p, std::string_view s) {
  p = write_varint(p, s.size());
  return std::copy(s.begin(), s.end(), p);
}

inline void put_length_prefixed(std::string* out, std::string_view s) {
  put_varint(out, s.size());
  out->append(s);
}

inline bool get_length_prefixed(std::string_view* in, std::string_view* s) {
  uint64_t n;
  if (!get_varint(in, &n) || n > in->size()) return false;
  *s = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

inline char* write_fixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xff);
  return p;
}

inline void put_fixed32(std::string* out, uint32_t v) {
  char buf[4];
  out->append(buf, write_fixed32(buf, v));
}

inline bool get_fixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  uint32_t r = 0;
  for (int i = 3; i >= 0; --i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(4);
  *v = r;
  return true;
}

inline char* write_fixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xff);
  return p;
}

inline void put_fixed64(std::string* out, uint64_t v) {
  char buf[8];
  out->append(buf, write_fixed64(buf, v));
}

inline bool get_fixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 7; i >= 0; --i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

}  // namespace geocache
