// geocached: the geocache server. Reads its configuration (a TOML file,
// environment variables for secrets, and flags), builds the GeoCache and its
// transport, serves RESP on one port per local region, and stops cleanly on
// SIGINT/SIGTERM or SHUTDOWN, giving the replication outbox a bounded time to
// drain. SIGHUP reopens the log file (logrotate moves it, then signals);
// SIGUSR1 and SIGUSR2 are logged and ignored.
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
#include "spdlog/sinks/dist_sink.h"
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

// The log file's sink goes through this one, so that SIGHUP can swap in a
// sink on a freshly opened file while other threads log (dist_sink_mt
// swaps under the lock its log calls take). Null when logging to stderr.
std::shared_ptr<spdlog::sinks::dist_sink_mt> g_log_file;

void setup_logging(const geocache::ServerOptions& options) {
  std::shared_ptr<spdlog::logger> logger;
  if (options.logfile.empty()) {
    logger = spdlog::stderr_color_mt("geocached");
  } else {
    g_log_file = std::make_shared<spdlog::sinks::dist_sink_mt>();
    g_log_file->add_sink(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.logfile));
    logger = std::make_shared<spdlog::logger>("geocached", g_log_file);
    logger->flush_on(spdlog::level::info);
  }
  logger->set_level(log_level(options.loglevel));
  spdlog::set_default_logger(logger);
}

// SIGHUP: logrotate has moved the file away (or will copy and truncate it);
// open `path` again so new lines go to a new file there. If it cannot be
// opened, keep writing to the old one.
void reopen_log(const std::string& path) {
  if (!g_log_file) {
    spdlog::info("received SIGHUP: logging to stderr, no log file to reopen");
    return;
  }
  spdlog::info("received SIGHUP: reopening the log file {}", path);
  try {
    g_log_file->set_sinks({std::make_shared<spdlog::sinks::basic_file_sink_mt>(path)});
  } catch (const std::exception& e) {
    spdlog::error("cannot reopen the log file {}: {}; still writing to the old one", path, e.what());
    return;
  }
  spdlog::info("log file reopened");
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
  GeoCacheOptions cache_options = config.cache;
  cache_options.membership.endpoints = config.endpoints();
  GeoCache cache(cache_options, std::move(transport));
  if (Status st = cache.start(); !st.ok()) {
    spdlog::error("could not start replication: {}", st.to_string());
    return 1;
  }
  ServerState state(config);
  Server server(cache, state);
  // Before the server answers anything: a SIGTERM from then on must drain
  // and say bye, not _Exit (Server::start takes a request made meanwhile).
  g_state.store(&state);
  if (Status st = server.start(); !st.ok()) {
    g_state.store(nullptr);
    spdlog::error("{}", st.message());
    cache.stop();
    return 1;
  }
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
  // (created after this) inherits the blocked mask. SIGHUP and SIGUSR1/2
  // are among them because their default action kills the process.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
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

  std::thread([signals, logfile = config->server.logfile] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0) {
      if (sig == SIGHUP) {
        reopen_log(logfile);
      } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        spdlog::warn("received {}: ignored", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
      } else {
        spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        geocache::ServerState* state = g_state.load();
        if (state == nullptr) std::_Exit(0);  // not serving yet (or any more): nothing to drain
        state->request_shutdown();
      }
    }
  }).detach();

  try {
    return run(*config);
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    return 1;
  }
}
