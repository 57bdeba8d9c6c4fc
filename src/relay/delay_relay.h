// DelayRelay: a TCP relay that holds every byte for a fixed one-way delay in
// each direction, so that loopback regions look as far apart as real ones
// (these machines have no `tc netem`). A relay with one_way = 20 ms puts a
// 40 ms round trip between a client and the target.
//
// It listens on one port and, for each connection accepted, connects to the
// target and forwards both directions: what is read at time t is written at
// t + one_way, in the order read, each direction of each connection on its
// own timer (one slow or stalled connection never holds back another). A
// close travels like the bytes: the end of one direction is passed on
// (shutdown of the write side) once the bytes before it were delivered, and
// the connection is closed when both directions have ended; a reset or a
// target that refuses the connection closes the client's side at once.
//
// A direction stops reading while kMaxQueuedBytes wait in its queue, so a
// reader slower than its writer bounds the relay's memory (TCP's own flow
// control then holds back the sender).
//
// Threading: one thread of its own (an Asio io_context) from start() to
// stop(); the public methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace geocache {

struct DelayRelayOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: a free port, see DelayRelay::port()
  std::string target_host = "127.0.0.1";
  int target_port = 0;
  std::chrono::microseconds one_way{0};  // added to each direction: half the round trip
};

class DelayRelay {
 public:
  // Bytes one direction of one connection holds before it stops reading.
  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  explicit DelayRelay(DelayRelayOptions options);
  ~DelayRelay();  // stop()
  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;

  // Binds, listens and starts the relay's thread. Throws std::system_error
  // if the port cannot be bound.
  void start();
  // Closes the listener and every connection, and joins the thread.
  // Idempotent.
  void stop();

  // The port it listens on (after start()).
  int port() const;
  // Connections accepted so far, and open now.
  uint64_t accepted() const;
  uint64_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace geocache
