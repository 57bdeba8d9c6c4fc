#include "server/config_params.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <vector>

#include "config/config.h"
#include "server/databases.h"
#include "server/server_state.h"

namespace geocache {
namespace {

std::string yes_no(bool b) { return b ? "yes" : "no"; }

bool parse_u64(std::string_view s, uint64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_i64(std::string_view s, int64_t* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_bytes(std::string_view s, size_t* out) {
  try {
    *out = parse_memory(std::string(s));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

const std::string kMemoryError = "argument must be a memory value";
const std::string kIntError = "argument couldn't be parsed into an integer";

std::string get_maxmemory(CommandContext& ctx) { return std::to_string(ctx.server.maxmemory.load()); }
std::string set_maxmemory(CommandContext& ctx, std::string_view v) {
  size_t bytes = 0;
  if (!parse_bytes(v, &bytes)) return kMemoryError;
  ctx.server.maxmemory.store(bytes);
  // The bound applies to each hosted region's store, as at start.
  ctx.cache.set_limits(ctx.server.config().cache.store.max_items, bytes);
  return {};
}

std::string get_policy(CommandContext&) { return "allkeys-lru"; }
std::string set_policy(CommandContext&, std::string_view v) {
  // The store is an exact LRU over all keys; nothing else is offered.
  return v == "allkeys-lru" ? std::string() : std::string("only allkeys-lru is supported");
}

std::string get_default_ttl(CommandContext& ctx) { return std::to_string(ctx.cache.default_ttl_ms()); }
std::string set_default_ttl(CommandContext& ctx, std::string_view v) {
  int64_t ms = 0;
  if (!parse_i64(v, &ms) || ms < 0) return kIntError;
  ctx.cache.set_default_ttl_ms(ms);
  return {};
}

std::string get_timeout(CommandContext& ctx) { return std::to_string(ctx.server.timeout_s.load()); }
std::string set_timeout(CommandContext& ctx, std::string_view v) {
  int64_t s = 0;
  if (!parse_i64(v, &s) || s < 0) return kIntError;
  ctx.server.timeout_s.store(s);
  return {};
}

std::string get_lua_time_limit(CommandContext& ctx) { return std::to_string(ctx.server.lua_time_limit_ms.load()); }
std::string set_lua_time_limit(CommandContext& ctx, std::string_view v) {
  int64_t ms = 0;
  if (!parse_i64(v, &ms) || ms < 1) return kIntError;
  ctx.server.lua_time_limit_ms.store(ms);
  return {};
}

std::string get_maxclients(CommandContext& ctx) { return std::to_string(ctx.server.maxclients.load()); }
std::string set_maxclients(CommandContext& ctx, std::string_view v) {
  uint64_t n = 0;
  if (!parse_u64(v, &n) || n < 1) return kIntError;
  ctx.server.maxclients.store(n);
  return {};
}

std::string get_requirepass(CommandContext& ctx) { return ctx.server.requirepass(); }
std::string set_requirepass(CommandContext& ctx, std::string_view v) {
  ctx.server.set_requirepass(v);
  return {};
}

std::string get_bulk_len(CommandContext& ctx) { return std::to_string(ctx.server.proto_max_bulk_len.load()); }
std::string set_bulk_len(CommandContext& ctx, std::string_view v) {
  size_t n = 0;
  if (!parse_bytes(v, &n)) return kMemoryError;
  if (n < 1024 * 1024) return "proto-max-bulk-len must be 1mb or greater";
  ctx.server.proto_max_bulk_len.store(n);
  return {};
}

std::string get_query_limit(CommandContext& ctx) {
  return std::to_string(ctx.server.client_query_buffer_limit.load());
}
std::string set_query_limit(CommandContext& ctx, std::string_view v) {
  size_t n = 0;
  if (!parse_bytes(v, &n)) return kMemoryError;
  if (n < 1024 * 1024) return "client-query-buffer-limit must be 1mb or greater";
  ctx.server.client_query_buffer_limit.store(n);
  return {};
}

// Redis' form, "normal <hard> <soft> <seconds> replica ... pubsub ...":
// the hard limits of the normal and pubsub classes are enforced, soft
// limits are not (shown as 0). A single memory value sets the normal class.
std::string get_output_limit(CommandContext& ctx) {
  return "normal " + std::to_string(ctx.server.client_output_buffer_limit.load()) + " 0 0 replica 0 0 0 pubsub " +
         std::to_string(ctx.server.pubsub_output_buffer_limit.load()) + " 0 0";
}
std::string set_output_limit(CommandContext& ctx, std::string_view v) {
  size_t n = 0;
  if (parse_bytes(v, &n)) {
    ctx.server.client_output_buffer_limit.store(n);
    return {};
  }
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < v.size();) {
    const size_t end = std::min(v.find(' ', pos), v.size());
    if (end > pos) words.push_back(v.substr(pos, end - pos));
    pos = end + 1;
  }
  if (words.empty() || words.size() % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
  std::optional<size_t> normal, pubsub;
  for (size_t i = 0; i < words.size(); i += 4) {
    size_t hard = 0, soft = 0;
    uint64_t seconds = 0;
    if (!parse_bytes(words[i + 1], &hard) || !parse_bytes(words[i + 2], &soft) || !parse_u64(words[i + 3], &seconds)) {
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    }
    if (words[i] == "normal") {
      normal = hard;
    } else if (words[i] == "pubsub") {
      pubsub = hard;
    } else if (words[i] != "replica" && words[i] != "slave") {
      return "Invalid client class specified in buffer limit configuration.";
    }
  }
  if (normal) ctx.server.client_output_buffer_limit.store(*normal);
  if (pubsub) ctx.server.pubsub_output_buffer_limit.store(*pubsub);
  return {};
}

std::string get_slowlog_slower(CommandContext& ctx) { return std::to_string(ctx.server.slowlog_slower_than_us.load()); }
std::string set_slowlog_slower(CommandContext& ctx, std::string_view v) {
  int64_t us = 0;
  if (!parse_i64(v, &us)) return kIntError;
  ctx.server.slowlog_slower_than_us.store(us);
  return {};
}

std::string get_slowlog_len(CommandContext& ctx) { return std::to_string(ctx.server.slowlog_max_len.load()); }
std::string set_slowlog_len(CommandContext& ctx, std::string_view v) {
  int64_t n = 0;
  if (!parse_i64(v, &n)) return kIntError;
  if (n < 0) return "argument must be between 0 and 9223372036854775807 inclusive";
  ctx.server.slowlog_max_len.store(static_cast<size_t>(n));
  ctx.server.slowlog().trim(static_cast<size_t>(n));
  return {};
}

std::string get_port(CommandContext& ctx) { return std::to_string(ctx.server.config().server.port); }
std::string get_bind(CommandContext& ctx) { return ctx.server.config().server.bind; }
std::string get_protected(CommandContext& ctx) { return yes_no(ctx.server.config().server.protected_mode); }
std::string get_loglevel(CommandContext& ctx) { return ctx.server.config().server.loglevel; }
std::string get_logfile(CommandContext& ctx) { return ctx.server.config().server.logfile; }
std::string get_threads(CommandContext& ctx) { return std::to_string(ctx.server.config().server.threads); }
std::string get_io_engine(CommandContext& ctx) { return ctx.server.config().server.io_engine; }
std::string get_uring_entries(CommandContext& ctx) {
  return std::to_string(ctx.server.config().server.io_uring_entries);
}
std::string get_databases(CommandContext&) { return std::to_string(kDatabases); }
std::string get_empty(CommandContext&) { return ""; }
std::string get_no(CommandContext&) { return "no"; }
std::string get_transport(CommandContext& ctx) { return ctx.server.config().uses_amqp() ? "amqp" : "in-process"; }
std::string get_region(CommandContext& ctx) { return ctx.cache.region_name(ctx.region); }

constexpr ConfigParam kParams[] = {
    {"maxmemory", get_maxmemory, set_maxmemory},
    {"maxmemory-policy", get_policy, set_policy},
    {"default-ttl-ms", get_default_ttl, set_default_ttl},
    {"timeout", get_timeout, set_timeout},
    {"lua-time-limit", get_lua_time_limit, set_lua_time_limit},
    {"busy-reply-threshold", get_lua_time_limit, set_lua_time_limit},
    {"maxclients", get_maxclients, set_maxclients},
    {"requirepass", get_requirepass, set_requirepass},
    {"proto-max-bulk-len", get_bulk_len, set_bulk_len},
    {"client-query-buffer-limit", get_query_limit, set_query_limit},
    {"client-output-buffer-limit", get_output_limit, set_output_limit},
    {"slowlog-log-slower-than", get_slowlog_slower, set_slowlog_slower},
    {"slowlog-max-len", get_slowlog_len, set_slowlog_len},
    {"port", get_port, nullptr},
    {"bind", get_bind, nullptr},
    {"protected-mode", get_protected, nullptr},
    {"loglevel", get_loglevel, nullptr},
    {"logfile", get_logfile, nullptr},
    {"threads", get_threads, nullptr},
    {"io-engine", get_io_engine, nullptr},
    {"io-uring-entries", get_uring_entries, nullptr},
    {"databases", get_databases, nullptr},
    // Persistence does not exist; these answer what tools such as
    // redis-benchmark ask at start.
    {"save", get_empty, nullptr},
    {"appendonly", get_no, nullptr},
    {"transport", get_transport, nullptr},
    {"region", get_region, nullptr},
};

}  // namespace

std::span<const ConfigParam> config_params() { return kParams; }

}  // namespace geocache
