#include "messaging/amqp_options.h"

#include <stdexcept>

namespace geocache {

void AmqpOptions::validate() const {
  if (!url.empty() && url.rfind("amqp://", 0) != 0 && url.rfind("amqps://", 0) != 0) {
    throw std::invalid_argument("amqp.url must start with amqp:// or amqps://");
  }
  if (exchange.empty()) throw std::invalid_argument("amqp.exchange must not be empty");
  if (queue_prefix.empty()) throw std::invalid_argument("amqp.queue_prefix must not be empty");
  if (queue_max_bytes < 1024) throw std::invalid_argument("amqp.queue_max_bytes must be at least 1024");
  if (queue_overflow != "drop-head" && queue_overflow != "reject-publish") {
    throw std::invalid_argument("amqp.queue_overflow must be drop-head or reject-publish");
  }
  if (heartbeat_s < 0) throw std::invalid_argument("amqp.heartbeat_s must not be negative");
  if (prefetch < 1 || prefetch > 65535) throw std::invalid_argument("amqp.prefetch must be in [1, 65535]");
  if (reconnect_min_ms < 1 || reconnect_max_ms < reconnect_min_ms) {
    throw std::invalid_argument("amqp.reconnect_min_ms must be >= 1 and <= amqp.reconnect_max_ms");
  }
  if (publish_timeout_ms < 1) throw std::invalid_argument("amqp.publish_timeout_ms must be at least 1");
}

}  // namespace geocache
