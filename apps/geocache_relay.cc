// geocache_relay: a TCP relay that delays the bytes of each direction by half
// a round trip (src/relay/delay_relay.h), for tests and the demo: loopback
// regions that look 1, 40 or 120 ms away from their clients.
//
//   geocache_relay --target 127.0.0.1:6390 --rtt-ms 40 [--listen 7390]
//
// With --listen 0 (the default) it picks a free port. Either way its first
// line on stdout is "listening on 127.0.0.1:PORT". Stops on SIGINT/SIGTERM.
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "CLI/CLI.hpp"
#include "relay/delay_relay.h"

int main(int argc, char** argv) {
  CLI::App app{"Relays TCP connections to a target, delaying each direction by half a round trip", "geocache_relay"};
  geocache::DelayRelayOptions options;
  std::string target;
  double rtt_ms = 0;
  app.add_option("--listen", options.listen_port, "port to listen on (0: a free one, printed)")->capture_default_str();
  app.add_option("--listen-host", options.listen_host, "address to listen on")->capture_default_str();
  app.add_option("--target", target, "HOST:PORT to forward each connection to")->required();
  app.add_option("--rtt-ms", rtt_ms, "round trip to add, ms (fractions allowed): half of it each way")
      ->check(CLI::Range(0.0, 600'000.0))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    std::fprintf(stderr, "geocache_relay: --target must be HOST:PORT, got '%s'\n", target.c_str());
    return 2;
  }
  options.target_host = target.substr(0, colon);
  try {
    options.target_port = std::stoi(target.substr(colon + 1));
  } catch (const std::exception&) {
    std::fprintf(stderr, "geocache_relay: bad port in --target '%s'\n", target.c_str());
    return 2;
  }
  options.one_way = std::chrono::microseconds(std::llround(rtt_ms * 1000 / 2));

  // Signals are taken by sigwait on this thread; the relay's thread inherits
  // the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  geocache::DelayRelay relay(options);
  try {
    relay.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "geocache_relay: %s\n", e.what());
    return 1;
  }
  std::printf("listening on %s:%d\n", options.listen_host.c_str(), relay.port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  relay.stop();
  return 0;
}
