// IoEngine: how an event loop waits for and moves bytes (server.io-engine).
// The loop (server/event_loop.h) owns the connections and decides what
// happens to them; the engine only watches file descriptors, moves bytes
// and reports back through IoHandler. Two engines:
//   epoll  (epoll_engine.cc): readiness; the connection reads and sends itself.
//   uring  (uring_engine.cc): completions; multishot receives into a ring of
//          provided buffers, and every connection's replies of a loop turn
//          submitted with the wait for the next turn, in one system call.
//
// Thread-safety: one loop thread, but wake(), which any thread may call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/connection.h"

namespace geocache {

// A file descriptor a loop watches. Allocated by the loop; the engine may
// keep using it after the loop asked for its removal, until it calls
// IoHandler::release().
struct IoWatch {
  enum class Kind { kListener, kClient } kind;
  int fd = -1;
  RegionId region = 0;
  std::unique_ptr<Connection> conn;  // kClient
  bool closing = false;              // removal asked for: the loop no longer runs it

  // Engine state. epoll:
  bool want_write = false;  // EPOLLOUT asked for
  // uring:
  std::string sending;      // replies taken from the connection, on their way
  size_t sending_pos = 0;   // bytes of them the kernel took
  int ops = 0;              // operations in flight that name this watch
  bool receiving = false;   // a multishot receive is armed
  bool send_in_flight = false;
  bool send_due = false;    // on the list of watches to send for at the end of the turn
};

// What an engine reports to its loop.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // A listening socket has connections to accept.
  virtual void on_listener(IoWatch& listener) = 0;
  // The loop's wake-up fired (hand_over, post, stop, wake_if_parked).
  virtual void on_wake() = 0;
  // A client's connection ran (input, or replies went out): what it needs next.
  virtual void on_client(IoWatch& client, Connection::Next next) = 0;
  // The server's clock (ServerState::now_ms), for the connections.
  virtual int64_t now_ms() = 0;
  // The engine is done with a removed watch: it may be freed.
  virtual void release(IoWatch& watch) = 0;
};

class IoEngine {
 public:
  virtual ~IoEngine() = default;
  // "epoll" or "uring", as INFO and the setting name them.
  virtual const char* name() const = 0;
  // On the loop's thread, before the first poll().
  virtual void begin() {}
  // Watches a listening socket (nonblocking) for connections to accept.
  virtual void add_listener(IoWatch& listener) = 0;
  // Starts serving a client (its conn is set). False: could not, the loop frees it.
  virtual bool add_client(IoWatch& client) = 0;
  // A client's connection ran outside the engine's reports (mail, resume):
  // next is what it needs (kRead or kWrite).
  virtual void update(IoWatch& client, Connection::Next next) = 0;
  // Stops serving a client: sends what it can of the replies left without
  // waiting, then calls release() (at once, or once its operations ended).
  virtual void remove(IoWatch& client) = 0;
  // Waits until something happens or timeout_ms passes, and reports it.
  // False: the engine failed and the loop should end.
  virtual bool poll(int timeout_ms, IoHandler& handler) = 0;
  // Removed clients still held (remove() not yet released).
  virtual size_t releasing() const = 0;
  // On the loop's thread, after the last poll(), every client released:
  // ends what the engine still has in flight.
  virtual void end() {}
};

// The epoll engine. wake_fd: the loop's wake-up eventfd, which the engine
// watches and reads (IoHandler::on_wake).
std::unique_ptr<IoEngine> make_epoll_engine(int wake_fd);
// The io_uring engine, or nullptr with *why set when the kernel refuses a
// ring (too old, io_uring disabled, entries over its maximum, ...).
// entries: submission queue size.
std::unique_ptr<IoEngine> make_uring_engine(int wake_fd, unsigned entries, std::string* why);

}  // namespace geocache
