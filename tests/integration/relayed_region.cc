#include "relayed_region.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace geocache::testing {
namespace {

std::chrono::microseconds one_way(double ms) { return std::chrono::microseconds(static_cast<int64_t>(ms * 1000)); }

// amqp://user:pass@host:port/vhost -> host and port (5672 if none).
void split_url(const std::string& url, std::string* prefix, std::string* host, int* port, std::string* rest) {
  const size_t at = url.find('@');
  const size_t start = at == std::string::npos ? url.find("//") + 2 : at + 1;
  const size_t slash = url.find('/', start);
  const std::string hostport = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
  const size_t colon = hostport.rfind(':');
  *prefix = url.substr(0, start);
  *host = hostport.substr(0, colon);
  *port = colon == std::string::npos ? 5672 : std::stoi(hostport.substr(colon + 1));
  *rest = slash == std::string::npos ? "" : url.substr(slash);
}

}  // namespace

std::unique_ptr<RelayedRegion> RelayedRegion::start(const std::string& name, double rtt_ms,
                                                    std::vector<std::string> args, double broker_delay_ms) {
  auto r = std::make_unique<RelayedRegion>();
  r->name = name;
  if (broker_delay_ms > 0) {
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] != "--amqp-url") continue;
      std::string prefix, host, rest;
      int port = 0;
      split_url(args[i + 1], &prefix, &host, &port, &rest);
      DelayRelayOptions o;
      o.target_host = host;
      o.target_port = port;
      o.one_way = one_way(broker_delay_ms);
      r->broker_relay = std::make_unique<DelayRelay>(o);
      r->broker_relay->start();
      args[i + 1] = prefix + "127.0.0.1:" + std::to_string(r->broker_relay->port()) + rest;
    }
  }
  r->server = GeocachedProcess::one_region(name, {}, args);
  if (!r->server->started()) {
    std::fprintf(stderr, "geocached for %s did not start:\n%s\n", name.c_str(), r->server->log().c_str());
    return nullptr;
  }
  DelayRelayOptions o;
  o.target_port = r->server->port();
  o.one_way = one_way(rtt_ms / 2);
  r->relay = std::make_unique<DelayRelay>(o);
  r->relay->start();
  return r;
}

}  // namespace geocache::testing
