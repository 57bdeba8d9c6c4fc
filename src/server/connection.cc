// Connection. The input buffer is a plain byte array: the parser's views
// point into it, so it is never moved while a command runs; it is compacted
// (remaining bytes moved to the front) only between commands, and only when
// that is cheap or needed, so a big value arriving in many reads is not
// copied again and again.
//
// Replies accumulate in out_ while a whole read's worth of commands runs,
// then leave with one send(). What the socket does not take waits for
// EPOLLOUT; the unsent bytes count against client-output-buffer-limit.
#include "server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "server/command_table.h"
#include "server/errors.h"

namespace geocache {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// Past this, an idle buffer's memory is given back.
constexpr size_t kKeepCapacity = 64 * 1024;

}  // namespace

Connection::Connection(int fd, RegionId region, std::string addr, std::string laddr, GeoCache& cache,
                       ServerState& state, HotCounters& counters)
    : cache_(cache),
      state_(state),
      counters_(counters),
      writer_(&out_),
      ctx_{cache, region, writer_, state, session_} {
  session_.fd = fd;
  session_.region = region;
  session_.addr = std::move(addr);
  session_.laddr = std::move(laddr);
  session_.authenticated = !state.auth_required();
  session_.created_ms = state.now_ms();
  session_.last_interaction_ms.store(session_.created_ms);
  // Registered last: from here other threads (CLIENT LIST) may read it.
  state_.register_client(&session_);
}

Connection::~Connection() {
  state_.unregister_client(&session_);
  state_.release_slot();
  ::close(session_.fd);
}

bool Connection::reserve_input(size_t free_bytes) {
  if (in_cap_ - in_end_ >= free_bytes) return true;
  compact_input();
  if (in_cap_ - in_end_ >= free_bytes) return true;
  size_t cap = in_cap_ == 0 ? kReadChunk : in_cap_;
  while (cap - in_end_ < free_bytes) cap *= 2;
  std::unique_ptr<char[]> grown(new (std::nothrow) char[cap]);
  if (!grown) return false;
  if (in_end_ > 0) memcpy(grown.get(), in_.get(), in_end_);
  in_ = std::move(grown);
  in_cap_ = cap;
  return true;
}

void Connection::compact_input() {
  if (in_start_ == 0) return;
  size_t n = in_end_ - in_start_;
  if (n > 0) memmove(in_.get(), in_.get() + in_start_, n);
  in_start_ = 0;
  in_end_ = n;
}

Connection::Next Connection::on_readable(int64_t now_ms) {
  // Make room for what the current command is known to need (a big bulk),
  // else for one more chunk.
  size_t want = kReadChunk;
  size_t pending = in_end_ - in_start_;
  if (parser_.bytes_wanted() > pending) want = std::max(want, parser_.bytes_wanted() - pending);
  if (!reserve_input(want)) return Next::kClose;
  ssize_t n = ::read(session_.fd, in_.get() + in_end_, in_cap_ - in_end_);
  if (n == 0) return Next::kClose;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return out_.size() > out_pos_ ? Next::kWrite : Next::kRead;
    return Next::kClose;
  }
  in_end_ += static_cast<size_t>(n);
  HotCounters::add(counters_.input_bytes, static_cast<uint64_t>(n));
  session_.last_interaction_ms.store(now_ms, std::memory_order_relaxed);

  bool keep = process_input();
  Next next = flush_output();
  if (!keep) {
    flush_best_effort();
    return Next::kClose;
  }
  return next;
}

bool Connection::process_input() {
  RespLimits limits;
  limits.max_bulk_len = state_.proto_max_bulk_len.load(std::memory_order_relaxed);
  uint64_t commands = 0;
  bool keep = true;
  while (in_start_ < in_end_) {
    limits.authenticated = session_.authenticated;
    RespParser::Result r = parser_.parse(in_.get() + in_start_, in_end_ - in_start_, limits);
    if (r == RespParser::Result::kNeedMore) break;
    if (r == RespParser::Result::kError) {
      state_.stats().protocol_errors.fetch_add(1, std::memory_order_relaxed);
      writer_.error(parser_.error());
      keep = false;
      break;
    }
    auto args = parser_.args();
    if (!args.empty()) {
      CommandTable::instance().dispatch(ctx_, args);
      ++commands;
    }
    in_start_ += parser_.consumed();
    if (session_.close_after_reply) {
      keep = false;
      break;
    }
  }
  if (commands > 0) HotCounters::add(counters_.commands, commands);
  if (in_start_ == in_end_) {
    in_start_ = in_end_ = 0;
    if (in_cap_ > kKeepCapacity) {
      in_.reset();
      in_cap_ = 0;
    }
  } else if (in_end_ - in_start_ < 4096 || in_start_ > in_cap_ / 2) {
    // Cheap to move, or most of the buffer is dead space.
    compact_input();
  }
  size_t unparsed = in_end_ - in_start_;
  session_.input_buffer_bytes.store(unparsed, std::memory_order_relaxed);
  if (keep && unparsed > state_.client_query_buffer_limit.load(std::memory_order_relaxed)) {
    // Like Redis: no reply, the client just goes.
    state_.stats().closed_query_limit.fetch_add(1, std::memory_order_relaxed);
    out_.clear();
    out_pos_ = 0;
    return false;
  }
  return keep;
}

Connection::Next Connection::flush_output() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(session_.fd, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Next::kClose;
    }
    HotCounters::add(counters_.output_bytes, static_cast<uint64_t>(n));
    out_pos_ += static_cast<size_t>(n);
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (out_.capacity() > kKeepCapacity) out_.shrink_to_fit();
    session_.output_buffer_bytes.store(0, std::memory_order_relaxed);
    return Next::kRead;
  }
  size_t unsent = out_.size() - out_pos_;
  session_.output_buffer_bytes.store(unsent, std::memory_order_relaxed);
  size_t limit = state_.client_output_buffer_limit.load(std::memory_order_relaxed);
  if (limit > 0 && unsent > limit) {
    state_.stats().closed_output_limit.fetch_add(1, std::memory_order_relaxed);
    return Next::kClose;
  }
  if (out_pos_ > unsent) {
    // Keep the pending tail at the front so out_ does not grow without end
    // while a slow reader catches up.
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  return Next::kWrite;
}

Connection::Next Connection::on_writable() {
  Next next = flush_output();
  if (next == Next::kRead && session_.close_after_reply) return Next::kClose;
  if (next == Next::kRead && in_end_ > in_start_) {
    // Input may have waited while output was blocked: run it now.
    bool keep = process_input();
    next = flush_output();
    if (!keep) {
      flush_best_effort();
      return Next::kClose;
    }
  }
  return next;
}

void Connection::flush_best_effort() {
  if (out_pos_ < out_.size()) flush_output();
}

}  // namespace geocache
