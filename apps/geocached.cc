// geocached: the geocache server. Reads its configuration (a TOML file and
// flags), builds the GeoCache and its transport, serves RESP on one port per
// local region, and stops cleanly on SIGINT/SIGTERM or SHUTDOWN, giving the
// replication outbox a bounded time to drain.
//
//   geocached [CONFIG-FILE] [--option value ...]
//
// With no arguments: one region ("local") on 127.0.0.1:6390.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <thread>

#include "cache/geo_cache.h"
#include "config/config.h"
#include "messaging/amqp_transport.h"
#include "server/server.h"
#include "server/server_state.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int64_t kShutdownFlushMs = 5000;

// The running server's state, for the signal thread; null outside run().
std::atomic<geocache::ServerState*> g_state{nullptr};

spdlog::level::level_enum log_level(const std::string& redis_level) {
  if (redis_level == "debug") return spdlog::level::trace;
  if (redis_level == "verbose") return spdlog::level::debug;
  if (redis_level == "warning") return spdlog::level::warn;
  return spdlog::level::info;  // notice
}

void setup_logging(const geocache::ServerOptions& options) {
  std::shared_ptr<spdlog::logger> logger;
  if (options.logfile.empty()) {
    logger = spdlog::stderr_color_mt("geocached");
  } else {
    logger = spdlog::basic_logger_mt("geocached", options.logfile);
    logger->flush_on(spdlog::level::info);
  }
  logger->set_level(log_level(options.loglevel));
  spdlog::set_default_logger(logger);
}

int run(const geocache::Config& config) {
  using namespace geocache;
  // The one place that chooses how regions talk.
  std::unique_ptr<Transport> transport;
  if (config.uses_amqp()) {
    transport = std::make_unique<AmqpTransport>(config.amqp, config.cache.hosted_regions());
  } else {
    transport = make_in_process_transport(config.cache);
  }
  GeoCache cache(config.cache, std::move(transport));
  if (Status st = cache.start(); !st.ok()) {
    spdlog::error("could not start replication: {}", st.to_string());
    return 1;
  }
  ServerState state(config);
  Server server(cache, state);
  if (Status st = server.start(); !st.ok()) {
    spdlog::error("{}", st.message());
    cache.stop();
    return 1;
  }
  g_state.store(&state);
  if (!config.server.pidfile.empty()) std::ofstream(config.server.pidfile) << getpid() << "\n";

  std::string ports;
  for (const auto& [region, port] : server.ports()) {
    if (!ports.empty()) ports += ", ";
    ports += region + "=" + std::to_string(port);
  }
  spdlog::info("geocached ready: pid {}, {} threads, transport {}, bind {}, ports {}", getpid(), server.threads(),
               config.uses_amqp() ? "amqp" : "in-process", config.server.bind, ports);

  server.wait();
  g_state.store(nullptr);
  spdlog::info("shutting down: closing clients, flushing replication (up to {} ms)", kShutdownFlushMs);
  server.stop();
  if (!cache.replicator().wait_drained(kShutdownFlushMs)) spdlog::warn("replication outbox not empty at exit");
  cache.stop();
  if (!config.server.pidfile.empty()) unlink(config.server.pidfile.c_str());
  spdlog::info("bye");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by one thread with sigwait; every other thread
  // (created after this) inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::optional<geocache::Config> config;
  try {
    config = geocache::parse_command_line(argc, argv);
    if (!config) return 0;  // --help or --version
    config->validate();
  } catch (const std::exception& e) {
    spdlog::error("bad configuration: {}", e.what());
    return 1;
  }
  try {
    setup_logging(config->server);
  } catch (const std::exception& e) {
    spdlog::error("cannot open log file {}: {}", config->server.logfile, e.what());
    return 1;
  }

  std::thread([stop_signals] {
    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0) {
      spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      geocache::ServerState* state = g_state.load();
      if (state == nullptr) std::_Exit(0);  // not serving yet (or any more): nothing to drain
      state->request_shutdown();
    }
  }).detach();

  try {
    return run(*config);
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    return 1;
  }
}
