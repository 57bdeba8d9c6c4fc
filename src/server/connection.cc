// Connection. The input buffer is a plain byte array: the parser's views
// point into it, so it is never moved while a command runs; it is compacted
// (remaining bytes moved to the front) only between commands, and only when
// that is cheap or needed, so a big value arriving in many reads is not
// copied again and again.
//
// Replies accumulate in out_ while a whole read's worth of commands runs,
// then leave with one send(). What the socket does not take moves to
// queued_ as a block and waits for EPOLLOUT; the unsent bytes count against
// client-output-buffer-limit. The limit is checked after every command, not
// once per read: one read of pipelined GETs can ask for far more than the
// limit (500 GETs of a 1 MB value fit in 11 KB), so once new replies pass
// kEarlyFlushBytes they are handed to the socket at once, and if the unsent
// bytes are then over the limit the client is dropped before its next
// command runs. A client so costs at most about the limit plus one reply,
// as in Redis (whose reply list is also made of blocks).
//
// With deferred output (io_uring) a flush only queues: the loop takes the
// queued blocks at the end of its turn and sends every connection's in one
// submission. Bytes taken but not yet reported sent still count against the
// limit, so the bound holds whichever engine moves them.
#include "server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "server/command_table.h"
#include "server/errors.h"
#include "spdlog/spdlog.h"

namespace geocache {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
// Past this, an idle buffer's memory is given back.
constexpr size_t kKeepCapacity = 64 * 1024;
// New replies past this are sent before the next command runs, not at the
// end of the read (small pipelined replies still leave in one send).
constexpr size_t kEarlyFlushBytes = 64 * 1024;
// Pipelined commands whose keys are prefetched together: enough for their
// memory misses to overlap, few enough that what the first ones bring into
// the cache is still there when they run.
constexpr int kPrefetchCommands = 16;
// ... within this many bytes: a big command (a value of megabytes, an MSET
// of a million keys) is not parsed twice for a hint.
constexpr size_t kPrefetchBytes = 16 * 1024;

// Sends bytes[*sent, size) until done or the socket is full. False if the
// peer is gone.
bool send_some(int fd, std::string_view bytes, size_t* sent, HotCounters& counters) {
  while (*sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + *sent, bytes.size() - *sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    HotCounters::add(counters.output_bytes, static_cast<uint64_t>(n));
    *sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Connection::Connection(int fd, RegionId region, std::string addr, std::string laddr, GeoCache& cache,
                       ServerState& state, HotCounters& counters, ExclusionGate::Slot* gate_slot, MailWaker* waker,
                       void* owner)
    : cache_(cache),
      state_(state),
      counters_(counters),
      writer_(&out_),
      ctx_{cache, region, writer_, state, session_, gate_slot} {
  session_.fd = fd;
  session_.region = region;
  session_.addr = std::move(addr);
  session_.laddr = std::move(laddr);
  session_.authenticated = !state.auth_required();
  session_.created_ms = state.now_ms();
  session_.last_interaction_ms.store(session_.created_ms);
  session_.mailbox = std::make_shared<Mailbox>(waker, owner);
  // Registered last: from here other threads (CLIENT LIST) may read it.
  state_.register_client(&session_);
}

Connection::~Connection() {
  state_.pubsub().drop(&session_);
  state_.tracking().disable(&session_);
  if (session_.mailbox) session_.mailbox->close();
  state_.unregister_client(&session_);
  state_.release_slot();
  ::close(session_.fd);
}

Connection::Next Connection::on_mail() {
  if (session_.kill_requested.load()) return Next::kClose;
  // A subscriber too slow for client-output-buffer-limit pubsub (its
  // mailbox overflowed, or what the socket did not take is over the limit):
  // Redis drops it with its messages unsent.
  bool over = session_.mailbox && session_.mailbox->take(&out_);
  Next next = over ? Next::kClose : flush_output();
  const size_t limit = state_.pubsub_output_buffer_limit.load(std::memory_order_relaxed);
  if (next == Next::kWrite && limit > 0 && queued_bytes_ > limit) over = true;
  if (over) {
    state_.stats().closed_output_limit.fetch_add(1, std::memory_order_relaxed);
    drop_output();
    return Next::kClose;
  }
  return next;
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
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return has_pending_output() ? Next::kWrite : Next::kRead;
    }
    return Next::kClose;
  }
  return took_input(static_cast<size_t>(n), now_ms);
}

Connection::Next Connection::on_input(const char* data, size_t size, int64_t now_ms) {
  if (!reserve_input(size)) return Next::kClose;
  memcpy(in_.get() + in_end_, data, size);
  return took_input(size, now_ms);
}

Connection::Next Connection::took_input(size_t n, int64_t now_ms) {
  in_end_ += n;
  HotCounters::add(counters_.input_bytes, static_cast<uint64_t>(n));
  session_.last_interaction_ms.store(now_ms, std::memory_order_relaxed);
  return run_input();
}

Connection::Next Connection::run_input() {
  bool keep = process_input();
  Next next = flush_output();
  // The loop sends what is left, as far as it goes, when it closes.
  if (!keep || session_.kill_requested.load(std::memory_order_relaxed)) return Next::kClose;
  return next;
}

bool Connection::process_input() {
  RespLimits limits;
  limits.max_bulk_len = state_.proto_max_bulk_len.load(std::memory_order_relaxed);
  uint64_t commands = 0;
  bool keep = true;
  // Held for the whole read's worth of commands, not per command: one
  // uncontended lock per read is all ordinary commands pay for transactions
  // and scripts (core/exclusion_gate.h).
  ExclusionGate::SharedLock hold(cache_.gate(), ctx_.gate_slot);
  size_t prefetched_to = in_start_;  // the commands before it had their keys prefetched
  while (!parked() && in_start_ < in_end_) {
    limits.authenticated = session_.authenticated;
    if (in_start_ >= prefetched_to) prefetched_to = prefetch_ahead(limits);
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
      session_.answer_now = false;
      ++commands;
      if (parked()) break;  // kept: it runs again when resumed
    }
    in_start_ += parser_.consumed();
    if (session_.close_after_reply) {
      keep = false;
      break;
    }
    if (out_.size() > kEarlyFlushBytes && flush_output() == Next::kClose) {
      keep = false;  // over the output limit (its replies are dropped) or the peer is gone
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
    drop_output();
    return false;
  }
  return keep;
}

size_t Connection::prefetch_ahead(const RespLimits& limits) {
  // A database other than 0 stores its keys behind a prefix: those are not
  // worth the look.
  if (session_.db.load(std::memory_order_relaxed) != 0) return in_end_;
  const CommandTable& table = CommandTable::instance();
  lookahead_keys_.clear();
  size_t pos = in_start_;
  const size_t end = std::min(in_end_, in_start_ + kPrefetchBytes);
  for (int n = 0; n < kPrefetchCommands && pos < end; ++n) {
    lookahead_.reset();
    if (lookahead_.parse(in_.get() + pos, end - pos, limits) != RespParser::Result::kCommand) break;
    auto args = lookahead_.args();
    if (!args.empty()) {
      if (const CommandSpec* spec = table.find(args[0])) {
        // Views into the input only: an inline command's unquoted args live
        // in the parser, replaced by the next parse.
        const std::less<const char*> before;  // a total order even across unrelated arrays
        CommandTable::for_each_key(*spec, args.size(), [&](size_t i) {
          const char* at = args[i].data();
          if (!before(at, in_.get()) && before(at, in_.get() + in_end_)) lookahead_keys_.push_back(args[i]);
        });
      }
    }
    pos += lookahead_.consumed();
  }
  // One command alone gains nothing from it.
  if (lookahead_keys_.size() > 1) cache_.reader(ctx_.region).prefetch(lookahead_keys_);
  return pos;
}

Connection::Next Connection::resume(int64_t now_ms) {
  if (!parked() || (now_ms < session_.wait->deadline_ms && !session_.wait->ready())) {
    return has_pending_output() ? Next::kWrite : Next::kRead;
  }
  session_.wait.reset();
  session_.answer_now = true;
  return run_input();
}

Connection::Next Connection::flush_output() {
  if (deferred_) {
    queue_new_output(0);
  } else if (!send_now()) {
    return Next::kClose;
  }
  const size_t unsent = queued_bytes_ + taken_bytes_;
  session_.output_buffer_bytes.store(unsent, std::memory_order_relaxed);
  if (unsent == 0) return Next::kRead;
  const size_t limit = state_.client_output_buffer_limit.load(std::memory_order_relaxed);
  if (limit > 0 && unsent > limit) {
    state_.stats().closed_output_limit.fetch_add(1, std::memory_order_relaxed);
    uint64_t held = 0;
    if (state_.output_limit_log.allow(state_.now_ms(), &held)) {
      spdlog::warn(
          "client {} closed: {} bytes of replies unread, over client-output-buffer-limit {} "
          "({} more since the last such line)",
          session_.addr, unsent, limit, held);
    }
    // Like Redis: the client goes with its replies unsent.
    drop_output();
    return Next::kClose;
  }
  return Next::kWrite;
}

void Connection::queue_new_output(size_t sent) {
  if (sent == out_.size()) {
    out_.clear();
    if (out_.capacity() > kKeepCapacity) out_.shrink_to_fit();
    return;
  }
  if (queued_.empty()) queued_pos_ = sent;
  queued_bytes_ += out_.size() - sent;
  queued_.push_back(std::move(out_));
  out_ = std::string();  // the writer keeps appending here
}

bool Connection::send_now() {
  // Oldest first: the queued blocks, then the replies since.
  while (!queued_.empty()) {
    const std::string& block = queued_.front();
    const size_t before = queued_pos_;
    if (!send_some(session_.fd, block, &queued_pos_, counters_)) return false;
    queued_bytes_ -= queued_pos_ - before;
    if (queued_pos_ < block.size()) break;  // the socket is full
    queued_.pop_front();
    queued_pos_ = 0;
  }
  if (!out_.empty()) {
    size_t sent = 0;
    if (queued_.empty() && !send_some(session_.fd, out_, &sent, counters_)) return false;
    queue_new_output(sent);
  }
  return true;
}

bool Connection::take_output(std::string* bytes) {
  if (!out_.empty()) queue_new_output(0);
  if (queued_.empty()) return false;
  if (queued_.size() == 1 && queued_pos_ == 0) {
    *bytes = std::move(queued_.front());
  } else {
    bytes->clear();
    bytes->reserve(queued_bytes_);
    for (const std::string& block : queued_) {
      bytes->append(block, &block == &queued_.front() ? queued_pos_ : 0);
    }
  }
  queued_.clear();
  queued_pos_ = 0;
  taken_bytes_ += queued_bytes_;
  queued_bytes_ = 0;
  return true;
}

void Connection::on_sent(size_t n) {
  HotCounters::add(counters_.output_bytes, static_cast<uint64_t>(n));
  taken_bytes_ -= std::min(n, taken_bytes_);
  session_.output_buffer_bytes.store(queued_bytes_ + taken_bytes_, std::memory_order_relaxed);
}

void Connection::drop_output() {
  out_.clear();
  out_.shrink_to_fit();
  queued_.clear();
  queued_pos_ = queued_bytes_ = 0;
  // What the loop took is on its way; it is no longer this client's to count.
  taken_bytes_ = 0;
  session_.output_buffer_bytes.store(0, std::memory_order_relaxed);
}

Connection::Next Connection::on_writable() {
  Next next = flush_output();
  if (next == Next::kRead && session_.close_after_reply) return Next::kClose;
  if (next == Next::kRead && in_end_ > in_start_) {
    // Input may have waited while output was blocked: run it now.
    bool keep = process_input();
    next = flush_output();
    if (!keep) return Next::kClose;
  }
  return next;
}

void Connection::flush_best_effort() {
  // The loop sent (or gave up on) what it had taken.
  deferred_ = false;
  taken_bytes_ = 0;
  if (has_pending_output()) flush_output();
}

}  // namespace geocache
