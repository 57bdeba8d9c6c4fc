// SlowLog: the commands that took longer than slowlog-log-slower-than
// (SLOWLOG GET/LEN/RESET), newest first, at most slowlog-max-len, as Redis
// keeps them: id, Unix time, duration in µs, the arguments (at most 32, each
// cut to 128 bytes with "... (N more bytes)"), the client's address and name.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.h"

namespace geocache {

struct SlowLogEntry {
  uint64_t id = 0;
  int64_t unix_s = 0;
  int64_t duration_us = 0;
  std::vector<std::string> args;
  std::string addr, name;
};

class SlowLog {
 public:
  void add(std::span<const std::string_view> args, int64_t unix_s, int64_t duration_us, std::string_view addr,
           std::string_view name, size_t max_len);
  // The newest `count` entries (all if count < 0), newest first.
  std::vector<SlowLogEntry> get(int64_t count) const;
  size_t size() const;
  void reset();
  // Drops the oldest beyond max_len (CONFIG SET slowlog-max-len).
  void trim(size_t max_len);

 private:
  mutable Mutex mu_;
  std::deque<SlowLogEntry> entries_ ABSL_GUARDED_BY(mu_);  // newest first
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace geocache
