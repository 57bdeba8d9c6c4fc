// Configuration: one table of settings serves the TOML file and the command
// line, so a setting has one name, one parser and one help text.
//
// A setting is named "section.key" in the file and "--key" on the command
// line (Redis' names where Redis has the setting: --port, --maxmemory, ...).
// Values are parsed from text in both cases (TOML scalars are turned into
// text first, after their TOML type is checked), so "100mb" means the same
// in the file and on the command line.
#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "messaging/event.h"

namespace geocache {
namespace {

enum class Kind { kInt, kSize, kBool, kString, kList, kPortMap, kLatencyMap, kEndpointMap };

struct Setting {
  const char* section;  // TOML table
  const char* key;      // TOML key and command-line flag (--key)
  Kind kind;
  const char* help;     // what it is and its unit
  std::function<void(Config&, const std::string&)> set;  // for scalars and lists (comma separated)
  std::function<std::string(const Config&)> get;         // the value as set() takes it
};

// Upper bounds of the table; the option structs' validate() holds the rest.
constexpr int64_t kMaxPort = 65535;
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kForeverMs = INT64_MAX / 2;  // leaves room to add a clock reading

[[noreturn]] void bad(const std::string& name, const std::string& why) {
  throw std::invalid_argument(name + ": " + why);
}

int64_t to_int(const std::string& name, const std::string& text, int64_t min, int64_t max) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) bad(name, "'" + text + "' is not an integer");
  if (v < min || v > max) bad(name, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                                        std::to_string(max) + "]");
  return v;
}

bool to_bool(const std::string& name, std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "yes" || text == "true" || text == "1") return true;
  if (text == "no" || text == "false" || text == "0") return false;
  bad(name, "'" + text + "' is not yes/no");
}

size_t to_size(const std::string& name, const std::string& text) {
  try {
    return parse_memory(text);
  } catch (const std::invalid_argument& e) {
    bad(name, e.what());
  }
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "eu-west=6391,ap-south=6392" or TOML inline table.
std::map<std::string, int> to_port_map(const std::string& name, const std::string& text) {
  std::map<std::string, int> out;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) bad(name, "'" + item + "' is not region=port");
    out[item.substr(0, eq)] = static_cast<int>(to_int(name, item.substr(eq + 1), 0, kMaxPort));
  }
  return out;
}

// "us-east=10.0.0.1:6390,eu-west=[fd00::1]:6390" or TOML inline table.
std::map<std::string, std::string> to_endpoint_map(const std::string& name, const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    const auto colon = item.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq + 2) {
      bad(name, "'" + item + "' is not region=host:port");
    }
    to_int(name, item.substr(colon + 1), 1, kMaxPort);
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::string endpoint_map_text(const std::map<std::string, std::string>& endpoints) {
  std::string out;
  for (const auto& [region, endpoint] : endpoints) out += (out.empty() ? "" : ",") + region + "=" + endpoint;
  return out;
}

// "us-east/eu-west=80,..." (round trip in ms).
std::map<std::pair<std::string, std::string>, int64_t> to_latency_map(const std::string& name,
                                                                      const std::string& text) {
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (const auto& item : split_list(text)) {
    const auto eq = item.find('=');
    const auto slash = item.find('/');
    if (eq == std::string::npos || slash == std::string::npos || slash > eq) {
      bad(name, "'" + item + "' is not regionA/regionB=ms");
    }
    out[{item.substr(0, slash), item.substr(slash + 1, eq - slash - 1)}] =
        to_int(name, item.substr(eq + 1), 0, kHourMs);
  }
  return out;
}

// Sizes as the file takes them: the largest binary unit that is exact.
std::string size_text(size_t bytes) {
  static const std::pair<size_t, const char*> kUnits[] = {
      {size_t{1} << 30, "gb"}, {size_t{1} << 20, "mb"}, {size_t{1} << 10, "kb"}};
  for (const auto& [unit, name] : kUnits) {
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + name;
  }
  return std::to_string(bytes);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

std::string port_map_text(const std::map<std::string, int>& ports) {
  std::vector<std::string> items;
  for (const auto& [region, port] : ports) items.push_back(region + "=" + std::to_string(port));
  return join(items);
}

std::string latency_map_text(const std::map<std::pair<std::string, std::string>, int64_t>& latency) {
  std::vector<std::string> items;
  for (const auto& [pair, ms] : latency) items.push_back(pair.first + "/" + pair.second + "=" + std::to_string(ms));
  return join(items);
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }
const std::string& as_is(const std::string& s) { return s; }

// Each setting names its field once: the macro derives the setter (parse: an
// expression of the text t and the setting's name), the getter (print(field),
// which --help and settings_text() read the default through) and the name.
#define GEOCACHE_SETTING(section, key, kind, field, help, parse, print)              \
  Setting {                                                                            \
    section, key, kind, help,                                                          \
        [](Config& c, const std::string& t) {                                          \
          [[maybe_unused]] const std::string name = std::string(section) + "." key;   \
          c.field = parse;                                                             \
        },                                                                             \
        [](const Config& c) -> std::string { return print(c.field); }                 \
  }
#define INT_SETTING(section, key, field, min, max, help)                                                   \
  GEOCACHE_SETTING(section, key, Kind::kInt, field, help,                                                  \
                   static_cast<decltype(c.field)>(to_int(name, t, min, max)), std::to_string)
#define SIZE_SETTING(section, key, field, help) \
  GEOCACHE_SETTING(section, key, Kind::kSize, field, help, to_size(name, t), size_text)
#define BOOL_SETTING(section, key, field, help) \
  GEOCACHE_SETTING(section, key, Kind::kBool, field, help, to_bool(name, t), yes_no)
#define STRING_SETTING(section, key, field, help) GEOCACHE_SETTING(section, key, Kind::kString, field, help, t, as_is)
#define LIST_SETTING(section, key, field, help) \
  GEOCACHE_SETTING(section, key, Kind::kList, field, help, split_list(t), join)

// Help texts give what a setting is and its unit; "(default ...)" is added
// from a default-constructed Config, so the option structs are the one place
// a default is written.
const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      // ---- cache
      LIST_SETTING("cache", "regions", cache.regions,
                   "regions of the deployment by name, any order (letters, digits, '-', '_'); with amqp-url "
                   "only this node's is needed: the others are learned"),
      LIST_SETTING("cache", "local-regions", cache.local_regions, "regions hosted by this process; empty = all"),
      STRING_SETTING("cache", "home-region", cache.home_region,
                     "region served on port (the others on region-ports); empty = first local"),
      SIZE_SETTING("cache", "maxmemory", cache.store.max_bytes,
                   "limit of each region's store, bytes; 0 = none"),
      SIZE_SETTING("cache", "max-items", cache.store.max_items, "item limit of each region's store; 0 = none"),
      INT_SETTING("cache", "shards", cache.store.shards, 1, 1024, "store shards, a power of two"),
      INT_SETTING("cache", "default-ttl-ms", cache.default_ttl_ms, 0, kForeverMs,
                  "TTL of writes that set none, ms; 0 = none"),
      INT_SETTING("cache", "expiry-cycle-ms", cache.expiry_cycle_interval_ms, 1, kHourMs,
                  "interval of the active expiry cycle, ms"),
      INT_SETTING("cache", "expiry-cycle-budget", cache.store.expiry_cycle_budget, 1, 1'000'000,
                  "entries examined per shard per expiry cycle"),
      INT_SETTING("cache", "tombstone-retention-ms", cache.store.tombstone_retention_ms, 0, kForeverMs,
                  "how long deletes are remembered, ms"),
      GEOCACHE_SETTING("cache", "latency", Kind::kLatencyMap, cache.latency_ms,
                       "round-trip ms between regions, 'a/b=80,a/c=150' (file: table under [cache.latency])",
                       to_latency_map(name, t), latency_map_text),
      // ---- server
      STRING_SETTING("server", "bind", server.bind, "addresses to listen on, space separated"),
      INT_SETTING("server", "port", server.port, 0, kMaxPort, "TCP port of the home region; 0 = do not listen"),
      GEOCACHE_SETTING("server", "region-ports", Kind::kPortMap, server.region_ports,
                       "TCP ports of the other local regions, 'eu-west=6391,ap-south=6392'",
                       to_port_map(name, t), port_map_text),
      GEOCACHE_SETTING("server", "announce", Kind::kEndpointMap, server.announce,
                       "where clients reach each local region, 'us-east=10.0.0.1:6390'; hellos carry it to the "
                       "other regions and GEO.REGIONS shows it. Unset: the first bind address and the region's "
                       "port (none if that address is a wildcard)",
                       to_endpoint_map(name, t), endpoint_map_text),
      STRING_SETTING("server", "requirepass", server.requirepass, "password clients must AUTH with; empty = none"),
      BOOL_SETTING("server", "protected-mode", server.protected_mode,
                   "without a password, refuse clients not on loopback, yes/no"),
      INT_SETTING("server", "maxclients", server.maxclients, 1, 1'000'000, "connections at most"),
      INT_SETTING("server", "timeout", server.timeout_s, 0, INT32_MAX, "close clients idle this many s; 0 = never"),
      INT_SETTING("server", "lua-time-limit", server.lua_time_limit_ms, 1, INT32_MAX,
                  "a Lua script (EVAL) running longer is killed and its writes undone, ms; default 5000"),
      SIZE_SETTING("server", "proto-max-bulk-len", server.proto_max_bulk_len, "largest bulk string, bytes"),
      SIZE_SETTING("server", "client-query-buffer-limit", server.client_query_buffer_limit,
                   "unparsed input per client, bytes"),
      SIZE_SETTING("server", "client-output-buffer-limit", server.client_output_buffer_limit,
                   "unsent replies per client before it is closed, bytes"),
      INT_SETTING("server", "threads", server.threads, 0, 256, "event-loop threads; 0 = one per core"),
      STRING_SETTING("server", "io-engine", server.io_engine,
                     "how the event loops do their I/O: uring (io_uring; epoll, with a warning, where the kernel "
                     "refuses it) or epoll"),
      INT_SETTING("server", "io-uring-entries", server.io_uring_entries, 1, 1 << 20,
                  "submission queue entries of each loop's io_uring; over the kernel's maximum (32768) the "
                  "ring cannot be made and epoll is used"),
      STRING_SETTING("server", "loglevel", server.loglevel, "debug, verbose, notice or warning"),
      STRING_SETTING("server", "logfile", server.logfile, "log file; empty = stderr"),
      BOOL_SETTING("server", "daemonize", server.daemonize, "only 'no' is supported"),
      STRING_SETTING("server", "pidfile", server.pidfile, "file to write the process id to; empty = none"),
      // ---- replication
      BOOL_SETTING("replication", "simulate-link-delay", cache.simulate_link_delay,
                   "in-process: delay each link by half its latency, yes/no"),
      INT_SETTING("replication", "batch-max-events", cache.replication.batch_max_events, 1, kMaxEventsPerBatch,
                  "events per message at most"),
      SIZE_SETTING("replication", "batch-max-bytes", cache.replication.batch_max_bytes,
                   "size of a message at most, bytes"),
      INT_SETTING("replication", "linger-us", cache.replication.linger_us, 0, 1'000'000,
                  "longest a batch waits to fill, from its first event, µs"),
      SIZE_SETTING("replication", "outbox-max-bytes", cache.replication.outbox_max_bytes,
                   "outbox bound per region, bytes; past it the oldest events go"),
      SIZE_SETTING("replication", "repl-backlog-size", cache.replication.backlog_max_bytes,
                   "published events kept per region for resyncs, bytes (0 = none: always a snapshot)"),
      INT_SETTING("replication", "retry-backoff-ms", cache.replication.retry_backoff_ms, 0, 600'000,
                  "pause after a failed publish, ms"),
      INT_SETTING("replication", "breaker-failure-threshold", cache.replication.breaker.failure_threshold, 1, 1'000'000,
                  "failed publishes in a row that open the circuit"),
      INT_SETTING("replication", "breaker-open-ms", cache.replication.breaker.open_interval_ms, 0, kHourMs,
                  "how long the circuit stays open before probing, ms"),
      INT_SETTING("replication", "breaker-half-open-probes", cache.replication.breaker.half_open_probes, 1, 1000,
                  "successful probes that close the circuit"),
      INT_SETTING("replication", "warm-up-fallback-ms", cache.warm_up_fallback_ms, 1, kHourMs,
                  "a restarted node warms up from its closest region; if that one has sent nothing within this, "
                  "from the next closest too, ms"),
      BOOL_SETTING("replication", "miss-fallback", cache.miss_fallback.enabled,
                   "on a local miss, ask the closest other region and keep its answer, yes/no"),
      INT_SETTING("replication", "miss-fallback-timeout-ms", cache.miss_fallback.timeout_ms, 1, 60'000,
                  "longest wait for that answer, ms; a region that misses it twice in a row is not asked for a "
                  "second"),
      INT_SETTING("replication", "list-fetch-timeout-ms", cache.miss_fallback.state_timeout_ms, 1, kHourMs,
                  "a region that cannot apply a list write (its list is not the one the write changed) asks the "
                  "write's origin for the whole list; longest wait for the answer, ms"),
      INT_SETTING("replication", "list-fetch-attempts", cache.miss_fallback.state_attempts, 1, 1000,
                  "how many times that request is sent before it is given up (each waits list-fetch-timeout-ms)"),
      INT_SETTING("replication", "heartbeat-ms", cache.membership.heartbeat_ms, 0, kHourMs,
                  "interval between two hellos of a region to the others (amqp), ms; 0 = none"),
      INT_SETTING("replication", "peer-down-ms", cache.membership.down_after_ms, 1, kHourMs,
                  "a region unheard this long is down (stale after 3 heartbeats), ms"),
      // Validation of what other regions send (docs/replication.md, "Validation").
      INT_SETTING("replication", "max-clock-offset", cache.replication.max_clock_offset_ms, 0, kHourMs,
                  "a remote version further ahead of this node's clock is refused, ms"),
      INT_SETTING("replication", "sequence-window", cache.replication.sequence_window, 1,
                  static_cast<int64_t>(kMaxSequence),
                  "events a batch may jump ahead of or lag behind its origin's expected sequence; beyond, "
                  "it is refused unless the next batch continues it"),
      STRING_SETTING("replication", "replication-secret", cache.replication.secret,
                     "shared secret: batches carry an HMAC-SHA256 with it and those without a valid one are "
                     "refused; empty = none"),
      // ---- amqp
      STRING_SETTING("amqp", "amqp-url", amqp.url,
                     "broker URL amqp[s]://user:pass@host:port/vhost; empty = in-process replication"),
      STRING_SETTING("amqp", "amqp-exchange", amqp.exchange, "replication topic exchange"),
      STRING_SETTING("amqp", "amqp-queue-prefix", amqp.queue_prefix, "queue name prefix"),
      SIZE_SETTING("amqp", "amqp-queue-max-bytes", amqp.queue_max_bytes, "bound of each region's queue, bytes"),
      STRING_SETTING("amqp", "amqp-queue-overflow", amqp.queue_overflow,
                     "what a full queue does: drop-head (its oldest go; its region resyncs) or reject-publish "
                     "(refuse new ones: stalls every region's publishing)"),
      BOOL_SETTING("amqp", "amqp-persistent", amqp.persistent,
                   "persistent messages: survive a broker restart, 2-3x slower, yes/no"),
      INT_SETTING("amqp", "amqp-heartbeat", amqp.heartbeat_s, 0, 3600, "heartbeat interval, s; 0 = none"),
      INT_SETTING("amqp", "amqp-prefetch", amqp.prefetch, 1, 65535, "unacknowledged messages per consumer"),
      INT_SETTING("amqp", "amqp-reconnect-min-ms", amqp.reconnect_min_ms, 1, kHourMs, "first reconnect delay, ms"),
      INT_SETTING("amqp", "amqp-reconnect-max-ms", amqp.reconnect_max_ms, 1, kHourMs,
                  "reconnect delay cap, ms: the longest wait once the broker is reachable again"),
      INT_SETTING("amqp", "amqp-publish-timeout-ms", amqp.publish_timeout_ms, 1, kHourMs,
                  "longest wait for a publisher confirm, ms"),
      STRING_SETTING("amqp", "amqp-tls-ca-file", amqp.tls_ca_file, "CA file for amqps://; empty = system CAs"),
      BOOL_SETTING("amqp", "amqp-tls-verify-peer", amqp.tls_verify_peer, "verify the broker certificate, yes/no"),
  };
  return table;
}

// ---- Settings the environment may give (secrets). A password on the
// command line is shown by `ps` to every user of the machine; from the
// environment (or the file) it is not. A flag overrides the environment,
// which overrides the file; an empty variable counts as unset (CLI11's
// envname does both).
struct EnvSetting {
  const char* key;       // the setting's flag, without "--"
  const char* variable;  // the environment variable that may give it
};
constexpr EnvSetting kEnvSettings[] = {
    {"requirepass", "GEOCACHE_REQUIREPASS"},
    {"amqp-url", "GEOCACHE_AMQP_URL"},
    {"replication-secret", "GEOCACHE_REPLICATION_SECRET"},
};

// The variable that may give the setting `key`, or nullptr.
const char* env_variable_of(std::string_view key) {
  for (const auto& e : kEnvSettings) {
    if (key == e.key) return e.variable;
  }
  return nullptr;
}

std::string env_variables_text() {
  std::string out;
  for (const auto& e : kEnvSettings) out += std::string(out.empty() ? "" : ", ") + e.variable;
  return out;
}
// ---- end of the environment's settings

std::string help_of(const Setting& s) {
  const std::string value = s.get(Config{});
  const char* unit = s.kind == Kind::kSize ? "; units k, kb, m, mb, g, gb" : "";
  return std::string(s.help) + unit + " (default " + (value.empty() ? "empty" : value) + ")";
}

const Setting* find_setting(std::string_view section, std::string_view key) {
  for (const auto& s : settings()) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

std::string node_text(const std::string& name, const toml::node& node, Kind kind) {
  auto expect = [&](bool ok, const char* what) {
    if (!ok) bad(name, std::string("expected ") + what);
  };
  switch (kind) {
    case Kind::kInt:
      expect(node.is_integer(), "an integer");
      return std::to_string(node.as_integer()->get());
    case Kind::kSize:
      expect(node.is_integer() || node.is_string(), "an integer or a size string like \"100mb\"");
      return node.is_integer() ? std::to_string(node.as_integer()->get()) : node.as_string()->get();
    case Kind::kBool:
      expect(node.is_boolean(), "true or false");
      return node.as_boolean()->get() ? "yes" : "no";
    case Kind::kString:
      expect(node.is_string(), "a string");
      return node.as_string()->get();
    case Kind::kList: {
      expect(node.is_array(), "an array of strings");
      std::string out;
      for (const auto& e : *node.as_array()) {
        expect(e.is_string(), "an array of strings");
        const std::string& s = e.as_string()->get();
        if (s.find(',') != std::string::npos) bad(name, "names must not contain ','");
        out += s + ",";
      }
      return out;
    }
    case Kind::kPortMap:
    case Kind::kLatencyMap: {
      expect(node.is_table(), "a table");
      std::string out;
      for (const auto& [k, v] : *node.as_table()) {
        expect(v.is_integer(), "integer values");
        out += std::string(k.str()) + "=" + std::to_string(v.as_integer()->get()) + ",";
      }
      return out;
    }
    case Kind::kEndpointMap: {
      expect(node.is_table(), "a table");
      std::string out;
      for (const auto& [k, v] : *node.as_table()) {
        expect(v.is_string(), "\"host:port\" values");
        out += std::string(k.str()) + "=" + v.as_string()->get() + ",";
      }
      return out;
    }
  }
  return {};
}

void apply_file(Config& config, const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ": " << e.description();
    throw std::invalid_argument(msg.str());
  }
  for (const auto& [section, node] : doc) {
    const std::string sec(section.str());
    if (!node.is_table()) bad(sec, "expected a table [" + sec + "]");
    for (const auto& [key, value] : *node.as_table()) {
      const std::string name = sec + "." + std::string(key.str());
      const Setting* s = find_setting(sec, key.str());
      // Latency pairs are keyed "a/b" inside [cache.latency].
      if (s == nullptr) bad(path + ": " + name, "unknown setting");
      s->set(config, node_text(name, value, s->kind));
    }
  }
  config.config_file = path;
}

}  // namespace

size_t parse_memory(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  if (digits == 0) throw std::invalid_argument("'" + text + "' is not a size (e.g. 4096, 100mb, 1gb)");
  const std::string unit = t.substr(digits);
  uint64_t mul = 1;
  if (unit.empty() || unit == "b") mul = 1;
  else if (unit == "k") mul = 1000;
  else if (unit == "kb") mul = 1024;
  else if (unit == "m") mul = 1000 * 1000;
  else if (unit == "mb") mul = 1024 * 1024;
  else if (unit == "g") mul = 1000 * 1000 * 1000;
  else if (unit == "gb") mul = 1024ull * 1024 * 1024;
  else throw std::invalid_argument("'" + text + "' has an unknown unit (use b, k, kb, m, mb, g, gb)");
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + digits, n);
  if (ec != std::errc() || n > UINT64_MAX / mul) throw std::invalid_argument("'" + text + "' is too large");
  return static_cast<size_t>(n * mul);
}

std::vector<std::pair<std::string, std::string>> settings_text(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : settings()) out.emplace_back(std::string(s.section) + "." + s.key, s.get(config));
  return out;
}

void Config::validate() const {
  cache.validate();
  amqp.validate();
  for (const auto& [region, port] : server.region_ports) {
    if (std::find(cache.regions.begin(), cache.regions.end(), region) == cache.regions.end()) {
      throw std::invalid_argument("server.region-ports: '" + region + "' is not in cache.regions");
    }
  }
  for (const auto& [region, endpoint] : server.announce) {
    if (std::find(cache.regions.begin(), cache.regions.end(), region) == cache.regions.end()) {
      throw std::invalid_argument("server.announce: '" + region + "' is not in cache.regions");
    }
  }
  static const char* kLevels[] = {"debug", "verbose", "notice", "warning"};
  if (std::find(std::begin(kLevels), std::end(kLevels), server.loglevel) == std::end(kLevels)) {
    throw std::invalid_argument("server.loglevel: must be debug, verbose, notice or warning");
  }
  if (server.io_engine != "uring" && server.io_engine != "epoll") {
    throw std::invalid_argument("server.io-engine: must be uring or epoll");
  }
  if (server.daemonize) throw std::invalid_argument("server.daemonize: only 'no' is supported; use a supervisor");
}

std::map<std::string, std::string> Config::endpoints() const {
  // GeoCache's rule: the home region is the first local one unless named.
  const std::vector<std::string> local = cache.hosted_regions();
  const std::string home = cache.home_region.empty() && !local.empty() ? local.front() : cache.home_region;
  std::istringstream addresses(server.bind);
  std::string first;
  addresses >> first;
  if (!first.empty() && first[0] == '-') first.erase(0, 1);  // optional address
  const bool wildcard = first.empty() || first == "0.0.0.0" || first == "::" || first == "*";
  if (first.find(':') != std::string::npos) first = "[" + first + "]";
  std::map<std::string, std::string> out;
  for (const std::string& region : local) {
    if (auto it = server.announce.find(region); it != server.announce.end()) {
      out[region] = it->second;
      continue;
    }
    int port = region == home ? server.port : 0;
    if (auto it = server.region_ports.find(region); it != server.region_ports.end() && region != home) port = it->second;
    if (port != 0 && !wildcard) out[region] = first + ":" + std::to_string(port);
  }
  return out;
}

Config load_config_file(const std::string& path) {
  Config config;
  apply_file(config, path);
  config.validate();
  return config;
}

const char* geocache_version() { return GEOCACHE_VERSION; }

std::optional<Config> parse_command_line(int argc, const char* const* argv) {
  const std::string about =
      "geocached: a geo-distributed LRU cache that speaks the Redis protocol.\n"
      "Usage: geocached [CONFIG-FILE] [--option value ...]; a flag overrides the environment, which "
      "overrides the file.\nSecrets can stay off the command line (ps shows it): give them in the file or as " +
      env_variables_text() + ".";
  CLI::App app{about, "geocached"};
  app.set_version_flag("--version,-v", std::string("geocached ") + geocache_version());
  std::string file;
  app.add_option("config-file", file, "TOML configuration file (see geocache.toml)");
  std::map<std::string, std::string> flags;
  for (const auto& s : settings()) {
    CLI::Option* option = app.add_option(std::string("--") + s.key, flags[s.key], help_of(s))->group(s.section);
    if (const char* variable = env_variable_of(s.key)) option->envname(variable);
  }
  std::string region;
  app.add_option("--region", region, "this node's region: sets home-region and local-regions to it")
      ->group("cache");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(e.what());
  }
  Config config;
  if (!file.empty()) apply_file(config, file);
  for (const auto& s : settings()) {
    if (app.count(std::string("--") + s.key) > 0) s.set(config, flags[s.key]);
  }
  if (!region.empty()) {
    config.cache.home_region = region;
    config.cache.local_regions = {region};
    if (app.count("--regions") == 0 && file.empty()) config.cache.regions = {region};
  }
  config.validate();
  return config;
}

}  // namespace geocache
