// AmqpTransport: replication through RabbitMQ (rabbitmq-c). The only file that
// sees rabbitmq-c is amqp_transport.cc.
//
// Topology (declared idempotently at start): a durable topic exchange; per
// local region a durable queue "<queue_prefix><region>" bound to "*" (every
// region's name), "hello.*" and "direct.<id>", bounded with
// x-max-length-bytes and x-overflow (drop-head by default). A batch from
// region R is published with routing key R (its name) and publisher
// confirms, a hello with "hello.R", a payload for one region T (send_to)
// with "direct.<T's id>", so it needs only T's id.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messaging/amqp_options.h"
#include "messaging/transport.h"

namespace geocache {

struct AmqpStats {
  bool connected = false;
  uint64_t connects = 0;            // successful (re)connections
  uint64_t connect_failures = 0;
  uint64_t messages_published = 0;  // confirmed by the broker
  uint64_t messages_nacked = 0;     // nacked, rejected or unconfirmed in time
  uint64_t messages_consumed = 0;   // delivered and acked
};

class AmqpTransport final : public Transport {
 public:
  // regions: the names of the regions this process hosts, which may attach
  // (by id: region_id_for(name)); a region's name is its routing key. The
  // other regions need not be named: they are reached through the exchange.
  AmqpTransport(const AmqpOptions& options, std::vector<std::string> regions);
  ~AmqpTransport() override;

  void attach(RegionId region, Receiver receiver) override;
  Status start() override;
  void stop() override;
  Status publish(RegionId origin, std::string_view payload) override;
  Status send_to(RegionId from, RegionId to, std::string_view payload) override;
  Status broadcast(RegionId origin, std::string_view payload) override;
  bool spans_processes() const override { return true; }
  void set_problem_sink(ProblemFn fn) override;

  AmqpStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace geocache
