// Connection: one client's socket, buffers, parser and session. Reads what
// the socket has, runs every complete command in it (pipelining), and sends
// all their replies with one write. How the bytes move is the event loop's
// I/O engine's (server/io_engine.h): epoll lets the connection read and send
// itself; io_uring hands it what a receive brought (on_input) and takes its
// replies to send them (defer_output, take_output, on_sent).
//
// Thread-safety: owned by one event loop and used only on its thread.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/geo_cache.h"
#include "server/client_session.h"
#include "server/command.h"
#include "server/mailbox.h"
#include "server/reply_writer.h"
#include "server/resp_parser.h"
#include "server/server_state.h"

namespace geocache {

class Connection {
 public:
  enum class Next {
    kRead,   // wait for input
    kWrite,  // replies are pending: wait until the socket takes more
    kClose,  // close now (peer gone, limit reached, QUIT sent)
  };

  // Takes ownership of fd (non-blocking) and registers the session.
  // counters: the owning loop's block. gate_slot: the owning loop's slot of
  // cache.gate(), held while commands run. waker, owner: the loop's side of
  // the connection's mailbox (server/mailbox.h) and its handle for it.
  Connection(int fd, RegionId region, std::string addr, std::string laddr, GeoCache& cache,
             ServerState& state, HotCounters& counters, ExclusionGate::Slot* gate_slot,
             MailWaker* waker = nullptr, void* owner = nullptr);
  ~Connection();  // unregisters and closes the socket
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads what the socket has and runs it.
  Next on_readable(int64_t now_ms);
  // Runs input that arrived by other means (an io_uring receive).
  Next on_input(const char* data, size_t size, int64_t now_ms);
  // Sends what waited; once all is out, runs input that waited behind it.
  Next on_writable();

  // From now on replies are not sent by the connection: the loop takes them
  // (take_output) and reports what went (on_sent); on_writable() then only
  // does the rest of its work.
  void defer_output() { deferred_ = true; }
  // Moves every unsent reply into *bytes, oldest first. They count as unsent
  // (client-output-buffer-limit, CLIENT LIST) until on_sent(). False: none.
  bool take_output(std::string* bytes);
  // n bytes of what take_output() gave were sent.
  void on_sent(size_t n);

  // What other threads sent (pub/sub messages, invalidations) goes out; a
  // kill request or an overflowed mailbox closes the connection.
  Next on_mail();
  // Sends what can be sent without blocking, for a connection being closed
  // (with deferred output: after the loop sent what it had taken).
  void flush_best_effort();

  // A command that cannot answer yet (ClientSession::Wait) holds the
  // connection: it and the commands behind it wait in the input buffer.
  bool parked() const { return session_.wait.has_value(); }
  int64_t parked_until_ms() const { return session_.wait ? session_.wait->deadline_ms : 0; }
  // Runs the parked command again (now it answers) if what it waits for
  // holds or its deadline has passed, then what waited behind it. Still
  // parked: nothing changes.
  Next resume(int64_t now_ms);

  ClientSession& session() { return session_; }
  int fd() const { return session_.fd; }

 private:
  // Runs the complete commands in the input buffer. False: close the connection.
  bool process_input();
  // Looks at the next complete commands from in_start_ (a pipeline's) and
  // prefetches their keys' entries (LruCache::prefetch). Returns the end of
  // the last command looked at.
  size_t prefetch_ahead(const RespLimits& limits);
  // Counts n bytes just put at in_end_, then run_input().
  Next took_input(size_t n, int64_t now_ms);
  // process_input(), then sends the replies: what the loop does next.
  Next run_input();
  // Sends queued then new replies, as much as the socket takes. kClose if
  // the peer is gone or the unsent bytes are over client-output-buffer-limit
  // (then they are dropped); kWrite if some wait for EPOLLOUT.
  // With deferred output it only queues them for take_output().
  Next flush_output();
  // Sends queued_ then out_ as far as the socket takes; what is left of out_
  // joins queued_. False if the peer is gone.
  bool send_now();
  // out_ joins queued_, but its first `sent` bytes, which were sent.
  void queue_new_output(size_t sent);
  bool has_pending_output() const { return !out_.empty() || !queued_.empty() || taken_bytes_ > 0; }
  void drop_output();
  void compact_input();
  bool reserve_input(size_t free_bytes);

  GeoCache& cache_;
  ServerState& state_;
  HotCounters& counters_;
  ClientSession session_;
  ReplyWriter writer_;
  CommandContext ctx_;
  RespParser parser_;
  RespParser lookahead_;  // prefetch_ahead's: never disturbs parser_'s progress
  std::vector<std::string_view> lookahead_keys_;

  // Input bytes live in [in_start_, in_end_) of in_; in_start_ is the first
  // byte of the command being parsed.
  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_start_ = 0, in_end_ = 0;

  // Replies the writer appends to since the last flush; nothing of it is
  // sent yet. What a flush leaves unsent moves (not copies) to queued_, so
  // unsent replies are a list of blocks, never one buffer that a slow reader
  // makes reallocate and copy as it grows.
  std::string out_;
  std::deque<std::string> queued_;  // oldest first
  size_t queued_pos_ = 0;           // bytes of queued_.front() already sent
  size_t queued_bytes_ = 0;         // unsent bytes in queued_

  bool deferred_ = false;   // the loop sends the replies (defer_output)
  size_t taken_bytes_ = 0;  // taken by the loop, not reported sent yet
};

}  // namespace geocache
