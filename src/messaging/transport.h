// Transport: how encoded event batches travel between regions.
//
// Two implementations: InProcessTransport (regions hosted in one process, with
// simulated per-link delay, cut and heal) and AmqpTransport (RabbitMQ). The
// replicator above them neither knows nor cares which one it has.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/version.h"

namespace geocache {

class Transport {
 public:
  // Receives one batch published by another region. The transport acknowledges
  // the batch (AMQP: basic.ack) only after the receiver returns, so a receiver
  // must have applied it by then. Called from a transport thread; batches from
  // one origin arrive in publish order. A receiver must not block (no network
  // waits, no publish()/send_to()): the batches behind it wait meanwhile.
  using Receiver = std::function<void(std::string_view payload)>;

  virtual ~Transport() = default;
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Registers a region hosted in this process and the function that receives
  // what the other regions publish. REQUIRES: before start().
  virtual void attach(RegionId region, Receiver receiver) = 0;

  // Starts delivery threads and connections. Idempotent.
  virtual Status start() = 0;
  // Stops delivering; after it returns no receiver is running or will run.
  virtual void stop() = 0;

  // Hands one batch from `origin` to every other region. Returns ok once the
  // transport has taken responsibility for it (AMQP: the broker confirmed it);
  // on error the caller keeps the batch and retries later. Called from the
  // origin's replication thread only; may block for up to the transport's
  // publish timeout, never on the request path.
  virtual Status publish(RegionId origin, std::string_view payload) = 0;

  // Hands one payload from local region `from` to region `to` only (resync
  // requests and snapshots); it reaches `to`'s Receiver like a batch. Same
  // contract as publish(), but may be called from any thread.
  virtual Status send_to(RegionId from, RegionId to, std::string_view payload) = 0;

  // Hands a hello (membership.h) from `origin` to every region, including
  // other processes that claim `origin` too (AMQP), so that they hear each
  // other. Not ordered with publish(); may be lost. Same blocking as
  // send_to(); any thread. By default: publish().
  virtual Status broadcast(RegionId origin, std::string_view payload) { return publish(origin, payload); }

  // True if the transport reaches regions in other processes (AMQP): they
  // may come and go, and hellos (membership.h) tell which are alive.
  virtual bool spans_processes() const { return false; }

  // Told about a problem the transport cannot solve by retrying, e.g. a
  // queue declared elsewhere with other arguments: key names the problem,
  // text says it (empty text: solved). Call before start().
  using ProblemFn = std::function<void(const std::string& key, const std::string& text)>;
  virtual void set_problem_sink(ProblemFn fn) {}

  // Blocks until nothing handed to this transport is on its way to a
  // receiver in this process and no receiver runs. A transport that cannot
  // tell (AMQP: the broker holds what is in flight) returns at once. For
  // tests and demos.
  virtual void wait_idle() {}
};

}  // namespace geocache
