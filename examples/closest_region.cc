// geocache::Client from the command line: measures the round trip to every
// region, prints what it sees, and reads a key from the closest healthy one.
// scripts/run.sh runs it against the three demo regions behind delay relays.
//
//   closest_region HOME NAME=HOST:PORT... [--get KEY]
//   closest_region HOME --discover HOST:PORT [--get KEY]
//
// With --discover the regions and their endpoints come from that one node
// (Client::discover: GEO.REGIONS).
//
// Exits 1 if the read failed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "client/client.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: closest_region HOME {NAME=HOST:PORT... | --discover HOST:PORT} [--get KEY]\n");
    return 2;
  }
  geocache::ClientOptions options;
  options.home = argv[1];
  std::string key = "greeting";
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--get" && i + 1 < argc) {
      key = argv[++i];
      continue;
    }
    if (arg == "--discover" && i + 1 < argc) {
      const std::string node = argv[++i];
      const size_t colon = node.rfind(':');
      auto found = geocache::Client::discover(node.substr(0, colon), std::atoi(node.c_str() + colon + 1));
      if (!found.ok()) {
        std::fprintf(stderr, "closest_region: %s\n", found.status().message().c_str());
        return 1;
      }
      std::printf("discovered from %s:", node.c_str());
      for (const auto& r : *found) std::printf(" %s=%s:%d", r.name.c_str(), r.host.c_str(), r.port);
      std::printf("\n");
      options.regions.insert(options.regions.end(), found->begin(), found->end());
      continue;
    }
    const size_t eq = arg.find('='), colon = arg.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
      std::fprintf(stderr, "closest_region: expected NAME=HOST:PORT, got '%s'\n", arg.c_str());
      return 2;
    }
    options.regions.push_back({arg.substr(0, eq), arg.substr(eq + 1, colon - eq - 1), std::stoi(arg.substr(colon + 1))});
  }
  geocache::Client client(options);
  // A few probe rounds, so that the round trips below are medians.
  const uint64_t until = client.probe_rounds() + 5;
  while (client.probe_rounds() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  for (const geocache::RegionHealth& h : client.health()) {
    char rtt[32] = "-";
    if (h.rtt_us) std::snprintf(rtt, sizeof(rtt), "%.1f ms", *h.rtt_us / 1000.0);
    std::printf("  %-10s rtt %9s  breaker %-9s%s%s\n", h.name.c_str(), rtt,
                geocache::CircuitBreaker::state_name(h.breaker), h.reading ? "  <- reads" : "",
                h.home ? "  (home: writes)" : "");
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto value = client.get(key);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!value.ok()) {
    std::printf("GET %s failed: %s\n", key.c_str(), value.status().message().c_str());
    return 1;
  }
  std::printf("GET %s -> %s  (served by %s in %.1f ms)\n", key.c_str(),
              value->has_value() ? ("\"" + **value + "\"").c_str() : "(nil)", client.last_read_region().c_str(), ms);
  return 0;
}
