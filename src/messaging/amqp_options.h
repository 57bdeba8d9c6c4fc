// Settings of the RabbitMQ transport (docs/replication.md explains them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace geocache {

struct AmqpOptions {
  // amqp://user:pass@host:port/vhost or amqps://... (TLS through OpenSSL).
  // Empty: replication stays in-process.
  std::string url;
  // Durable topic exchange all regions publish to; routing key = region name.
  std::string exchange = "geocache.replication";
  // Each region consumes from the durable queue "<queue_prefix><region>",
  // bound to every region's routing key.
  std::string queue_prefix = "geocache.region.";
  // Queue bound (x-max-length-bytes), bytes. 1 GiB.
  size_t queue_max_bytes = size_t{1} << 30;
  // What a full queue does (x-overflow): "drop-head" drops its oldest
  // messages, so a region gone for good costs only itself (it resyncs on
  // return: it sees the gap); "reject-publish" refuses new ones, which fails
  // the publishing region's batches for every region until it drains.
  std::string queue_overflow = "drop-head";
  // Persistent messages (delivery-mode 2) survive a broker restart but cost
  // 2-3x broker throughput; transient ones are lost if the broker restarts.
  bool persistent = true;
  int heartbeat_s = 10;                  // AMQP heartbeat interval, seconds
  int prefetch = 64;                     // unacknowledged batches (messages of up to batch_max_bytes) per consumer
  int64_t reconnect_min_ms = 100;        // first reconnect delay
  // Reconnect delay cap (exponential, jittered in [cap/2, cap]). It bounds how
  // long replication stays stopped after the broker becomes reachable again
  // (a healed partition, a restarted broker); a failed connect is cheap for
  // both sides, so it is short.
  int64_t reconnect_max_ms = 1'000;
  int64_t publish_timeout_ms = 5'000;    // longest wait for a publisher confirm
  // TLS: CA file to verify the broker with (amqps only); empty = system default.
  std::string tls_ca_file;
  bool tls_verify_peer = true;

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

}  // namespace geocache
