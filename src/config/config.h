// Config: everything geocached can be told, from a TOML file and the command
// line (a flag overrides the file). Nothing else in the project reads TOML or
// argv; parts get plain option structs from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/geo_cache.h"
#include "messaging/amqp_options.h"

namespace geocache {

struct ServerOptions {
  std::string bind = "127.0.0.1";  // addresses to listen on, space separated (Redis: bind)
  int port = 6390;                 // port of the home region; 0 = do not listen
  // Extra listening ports, one per other local region (region name -> port).
  std::map<std::string, int> region_ports;
  // Where clients reach each local region (region name -> "host:port"), if
  // not at the bind address (a relay, a load balancer, NAT). Config::endpoints().
  std::map<std::string, std::string> announce;
  std::string requirepass;         // AUTH password; empty = none
  bool protected_mode = true;      // no password: refuse non-loopback clients
  size_t maxclients = 10000;       // connections at most
  int64_t timeout_s = 0;           // close idle clients after this many s; 0 = never
  int64_t lua_time_limit_ms = 5000; // a script running longer is killed and its writes undone, ms
  size_t proto_max_bulk_len = 512ull << 20;         // largest bulk string, bytes
  size_t client_query_buffer_limit = 1ull << 30;    // unparsed input per client, bytes
  size_t client_output_buffer_limit = 256ull << 20; // unsent replies per client, bytes; over it the client is closed
  int threads = 0;                 // event-loop threads; 0 = one per core
  // How the event loops do their I/O: "uring" (io_uring; epoll if the
  // kernel refuses a ring) or "epoll".
  std::string io_engine = "uring";
  int io_uring_entries = 1024;     // submission queue entries of each loop's ring
  std::string loglevel = "notice"; // debug, verbose, notice, warning
  std::string logfile;             // empty = stderr
  bool daemonize = false;          // only "no" is supported; run under a supervisor
  std::string pidfile;             // written at start if set
};

struct Config {
  GeoCacheOptions cache;
  ServerOptions server;
  // Replication goes through RabbitMQ when amqp.url is set, else in-process
  // between the local regions.
  AmqpOptions amqp;
  bool uses_amqp() const { return !amqp.url.empty(); }
  std::string config_file;  // the file read, if any

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
  // The endpoint each local region announces (server.announce, else the
  // first bind address and the region's port; none for a region without a
  // port or behind a wildcard address): MembershipOptions::endpoints.
  std::map<std::string, std::string> endpoints() const;
};

// Every setting of the file and the flags, in order, as {"section.key",
// value}, the value written the way both take it ("64mb", "yes", "a,b").
// settings_text(Config{}) lists the defaults (--help shows them from there).
std::vector<std::pair<std::string, std::string>> settings_text(const Config& config);

// Parses "100mb", "1gb", "512k", "4096" (Redis units: k=1000, kb=1024, ...).
// Throws std::invalid_argument on anything else.
size_t parse_memory(const std::string& text);

// Reads the TOML file (if any) then applies overrides. Throws
// std::invalid_argument with a message naming the offending key.
Config load_config_file(const std::string& path);

// This build's version (the project version in CMakeLists.txt), for
// --version and INFO.
const char* geocache_version();

// geocached [CONFIG-FILE] [--option value ...]. Returns nullopt when it
// printed --help or --version and the program should exit 0. Throws
// std::invalid_argument for a bad option, key, type or value.
std::optional<Config> parse_command_line(int argc, const char* const* argv);

}  // namespace geocache
