// Placeholder until the RabbitMQ transport lands (issue 4): reports itself
// unavailable so a node configured for AMQP fails loudly at start.
#include "messaging/amqp_transport.h"

namespace geocache {

struct AmqpTransport::Impl {};

AmqpTransport::AmqpTransport(const AmqpOptions&, std::vector<std::string>) : impl_(std::make_unique<Impl>()) {}
AmqpTransport::~AmqpTransport() = default;
void AmqpTransport::attach(RegionId, Receiver) {}
Status AmqpTransport::start() { return Status::Unavailable("AMQP transport not built yet"); }
void AmqpTransport::stop() {}
Status AmqpTransport::publish(RegionId, std::string_view) { return Status::Unavailable("AMQP transport not built yet"); }
AmqpStats AmqpTransport::stats() const { return {}; }

}  // namespace geocache
