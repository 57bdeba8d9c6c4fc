// client_bench: geocache::Client with three regions 1, 40 and 120 ms away
// (geocached processes behind DelayRelays), against the closest region's own
// round trip, and the failover when the closest dies (issue 9's bars).
//
//   client_bench [--reads N] [--probe-ms MS] [--breaker-ms MS]
//
// Prints: the median and p99 of a raw hiredis GET through the closest
// region's relay (its own round trip), the same for Client::get; then kills
// the closest region's node (SIGKILL) and prints how long until a read
// succeeded from another region and until the client's read region moved,
// beside two breaker intervals; then starts it again and prints how long
// until reads went back to it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "geocached_process.h"
#include "relay/delay_relay.h"

namespace {

using geocache::testing::GeocachedProcess;
using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

struct Region {
  std::string name;
  double rtt_ms;
  std::unique_ptr<GeocachedProcess> server;
  std::unique_ptr<geocache::DelayRelay> relay;
};

}  // namespace

int main(int argc, char** argv) {
  int reads = 1000;
  int64_t probe_ms = 100, breaker_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reads")) reads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--probe-ms")) probe_ms = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--breaker-ms")) breaker_ms = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: client_bench [--reads N] [--probe-ms MS] [--breaker-ms MS]\n");
      return 2;
    }
  }

  std::vector<Region> regions;
  for (auto [name, rtt] : {std::pair{"near", 1.0}, {"mid", 40.0}, {"far", 120.0}}) {
    Region r{name, rtt, nullptr, nullptr};
    r.server = std::make_unique<GeocachedProcess>(std::vector<std::string>{}, std::vector<std::string>{name});
    if (!r.server->started()) {
      std::fprintf(stderr, "geocached did not start:\n%s\n", r.server->log().c_str());
      return 1;
    }
    geocache::DelayRelayOptions o;
    o.target_port = r.server->port();
    o.one_way = std::chrono::microseconds(static_cast<int64_t>(rtt * 500));
    r.relay = std::make_unique<geocache::DelayRelay>(o);
    r.relay->start();
    auto c = r.server->connect();
    geocache::testing::command(c.get(), {"SET", "k", std::string(100, 'v')});
    regions.push_back(std::move(r));
  }

  // The closest region's own round trip: a plain connection through its relay.
  std::vector<double> raw;
  {
    auto c = geocache::testing::connect_port(regions[0].relay->port());
    for (int i = 0; i < reads; ++i) {
      const auto t0 = SteadyClock::now();
      geocache::testing::command(c.get(), {"GET", "k"});
      raw.push_back(ms_since(t0));
    }
  }

  geocache::ClientOptions o;
  for (const Region& r : regions) o.regions.push_back({r.name, "127.0.0.1", r.relay->port()});
  o.home = "mid";
  o.probe_interval_ms = probe_ms;
  o.breaker.open_interval_ms = breaker_ms;
  geocache::Client client(o);
  std::vector<double> via_client;
  int not_closest = 0;
  for (int i = 0; i < reads; ++i) {
    const auto t0 = SteadyClock::now();
    auto v = client.get("k");
    via_client.push_back(ms_since(t0));
    if (!v.ok()) {
      std::fprintf(stderr, "read failed: %s\n", v.status().message().c_str());
      return 1;
    }
    not_closest += client.last_read_region() != "near";
  }
  std::printf("reads: %d each, regions near/mid/far at 1/40/120 ms round trip (relays), probe every %lld ms\n", reads,
              static_cast<long long>(probe_ms));
  std::printf("closest region's own GET round trip: p50 %.3f ms  p99 %.3f ms\n", quantile(raw, 0.5), quantile(raw, 0.99));
  std::printf("Client::get:                         p50 %.3f ms  p99 %.3f ms  (not from the closest: %d)\n",
              quantile(via_client, 0.5), quantile(via_client, 0.99), not_closest);
  std::printf("median difference: %.3f ms (bar: within 1 ms)\n", quantile(via_client, 0.5) - quantile(raw, 0.5));

  // Failover: the closest region's node dies.
  regions[0].server->kill_now();
  const auto killed = SteadyClock::now();
  int failed = 0;
  double first_other = -1;
  while (true) {
    auto v = client.get("k");
    if (v.ok() && client.last_read_region() != "near") {
      first_other = ms_since(killed);
      break;
    }
    ++failed;
  }
  while (client.read_region() == "near") std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double moved = ms_since(killed);
  std::printf("after SIGKILL of near: first read from %s after %.1f ms (%d reads failed); read region moved to %s "
              "after %.1f ms; 2 breaker intervals = %lld ms\n",
              client.last_read_region().c_str(), first_other, failed, client.read_region().c_str(), moved,
              static_cast<long long>(2 * breaker_ms));

  if (!regions[0].server->restart()) {
    std::fprintf(stderr, "near did not restart\n");
    return 1;
  }
  const auto restarted = SteadyClock::now();
  while (client.read_region() != "near") std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::printf("near started again: reads back on it after %.1f ms\n", ms_since(restarted));
  return 0;
}
