// AmqpTransport: replication through RabbitMQ (rabbitmq-c). The only file that
// sees rabbitmq-c is amqp_transport.cc.
//
// Topology (declared idempotently at start): a durable topic exchange; per
// local region a durable queue "<queue_prefix><region>" bound to the routing
// key of every other region, bounded with x-max-length-bytes and
// x-overflow=reject-publish, and also to "<region>.direct". A batch from
// region R is published with routing key R and publisher confirms; a payload
// for one region T (send_to) with routing key "T.direct".
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
  // regions: every region of the deployment; region id i is regions[i - 1],
  // and a region's name is its routing key.
  AmqpTransport(const AmqpOptions& options, std::vector<std::string> regions);
  ~AmqpTransport() override;

  void attach(RegionId region, Receiver receiver) override;
  Status start() override;
  void stop() override;
  Status publish(RegionId origin, std::string_view payload) override;
  Status send_to(RegionId from, RegionId to, std::string_view payload) override;

  AmqpStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace geocache
