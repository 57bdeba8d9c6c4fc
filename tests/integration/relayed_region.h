// RelayedRegion: a geocached process serving one region, behind a DelayRelay
// so its clients see it rtt_ms away (these machines have no `tc netem`).
// Optionally it replicates through a broker, and its own link to the broker
// can be delayed too: a region whose replication lags behind its clients.
//
//   auto near = RelayedRegion::start("near", 1.0, {"--regions", "near,mid", "--amqp-url", url},
//                                    /*broker_delay_ms=*/30);
//   connect to 127.0.0.1:near->port()
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "geocached_process.h"
#include "relay/delay_relay.h"

namespace geocache::testing {

struct RelayedRegion {
  // args: geocached's arguments besides --region and --port. With
  // broker_delay_ms > 0, the value of "--amqp-url" in args is replaced by one
  // through a relay delaying each direction by that much. Null (and the log
  // on stderr) if the process did not start.
  static std::unique_ptr<RelayedRegion> start(const std::string& name, double rtt_ms, std::vector<std::string> args,
                                              double broker_delay_ms = 0);
  int port() const { return relay->port(); }  // where clients connect

  std::string name;
  std::unique_ptr<DelayRelay> broker_relay;  // null without a broker delay
  std::unique_ptr<GeocachedProcess> server;
  std::unique_ptr<DelayRelay> relay;
};

}  // namespace geocache::testing
