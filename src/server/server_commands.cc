// Server commands (Redis' "server" group): INFO, CONFIG, COMMAND, DBSIZE,
// TIME, SHUTDOWN, and GEO.REGIONS (the regions and their heartbeats).
// COMMAND's replies are generated from the command table, so they can never
// disagree with what dispatch enforces.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "fmt/format.h"

#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/command_table.h"
#include "server/config_params.h"
#include "server/databases.h"
#include "server/errors.h"
#include "server/glob_match.h"
#include "server/info_sections.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// ---------------------------------------------------------------- INFO

void info_command(CommandContext& ctx, Args args) {
  std::string text;
  if (args.size() == 1) {
    text = info_text(ctx, "default");
  } else {
    for (size_t i = 1; i < args.size(); ++i) {
      std::string part = info_text(ctx, args[i]);
      if (part.empty()) continue;
      if (!text.empty()) text += "\r\n";
      text += part;
    }
  }
  ctx.reply.verbatim(text);
}

// ---------------------------------------------------------------- CONFIG

void config_get(CommandContext& ctx, Args patterns) {
  std::vector<const ConfigParam*> hits;
  for (const ConfigParam& p : config_params()) {
    for (std::string_view pattern : patterns) {
      // Names are lower case; Redis matches CONFIG GET patterns without case.
      std::string pat(pattern);
      for (char& c : pat) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (glob_match(pat, p.name)) {
        hits.push_back(&p);
        break;
      }
    }
  }
  ctx.reply.map_header(hits.size());
  for (const ConfigParam* p : hits) {
    ctx.reply.bulk(p->name);
    ctx.reply.bulk(p->get(ctx));
  }
}

// CONFIG SET name value [name value ...]: all or nothing. Every name is
// checked first (unknown, read-only, named twice); then each value is set
// in turn, and if one is refused those already set get their old values
// back, as Redis does.
void config_set(CommandContext& ctx, Args pairs) {
  if (pairs.empty() || pairs.size() % 2 != 0) {
    ctx.reply.error(errors::wrong_arity("config|set"));
    return;
  }
  std::vector<const ConfigParam*> params;
  for (size_t i = 0; i < pairs.size(); i += 2) {
    const ConfigParam* found = nullptr;
    for (const ConfigParam& p : config_params()) {
      if (equals_ci(p.name, pairs[i])) found = &p;
    }
    if (found == nullptr) {
      ctx.reply.error(errors::config_set_unknown(pairs[i]));
      return;
    }
    if (found->set == nullptr) {
      ctx.reply.error(errors::config_set_failed(found->name, "can't set immutable config"));
      return;
    }
    if (std::find(params.begin(), params.end(), found) != params.end()) {
      ctx.reply.error(errors::config_set_failed(found->name, "duplicate parameter"));
      return;
    }
    params.push_back(found);
  }
  std::vector<std::string> old;
  for (const ConfigParam* p : params) old.push_back(p->get(ctx));
  for (size_t i = 0; i < params.size(); ++i) {
    std::string err = params[i]->set(ctx, pairs[2 * i + 1]);
    if (!err.empty()) {
      for (size_t j = 0; j < i; ++j) (void)params[j]->set(ctx, old[j]);
      ctx.reply.error(errors::config_set_failed(params[i]->name, err));
      return;
    }
  }
  ctx.reply.ok();
}

void config_command(CommandContext& ctx, Args args) {
  std::string_view sub = args[1];
  if (equals_ci(sub, "get") && args.size() >= 3) {
    config_get(ctx, args.subspan(2));
  } else if (equals_ci(sub, "set") && args.size() >= 4) {
    config_set(ctx, args.subspan(2));
  } else if (equals_ci(sub, "resetstat") && args.size() == 2) {
    ServerStats& s = ctx.server.stats();
    ctx.server.reset_hot_totals();
    s.connections_received = 0;
    s.rejected_connections = 0;
    s.protocol_errors = 0;
    s.unknown_commands = 0;
    ctx.reply.ok();
  } else if (equals_ci(sub, "get") || equals_ci(sub, "set") || equals_ci(sub, "resetstat")) {
    std::string name = "config|" + std::string(sub);
    ctx.reply.error(errors::wrong_arity(name));
  } else if (equals_ci(sub, "help")) {
    ctx.reply.array_header(4);
    ctx.reply.simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("GET <pattern> -- Return parameters matching the glob-like <pattern> and their values.");
    ctx.reply.simple("SET <directive> <value> -- Set the configuration <directive> to <value>.");
    ctx.reply.simple("RESETSTAT -- Reset statistics reported by the INFO command.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "config"));
  }
}

// ---------------------------------------------------------------- COMMAND

void command_flags(CommandContext& ctx, const CommandSpec& spec) {
  struct Flag {
    uint32_t bit;
    std::string_view name;
  };
  static constexpr Flag kFlags[] = {{kCmdWrite, "write"},  {kCmdReadOnly, "readonly"}, {kCmdDenyOom, "denyoom"},
                                    {kCmdAdmin, "admin"},  {kCmdNoAuth, "no_auth"},    {kCmdFast, "fast"},
                                    {kCmdNoScript, "noscript"}, {kCmdNoMulti, "no_multi"}};
  size_t n = 0;
  for (const Flag& f : kFlags) n += (spec.flags & f.bit) != 0;
  ctx.reply.set_header(n);
  for (const Flag& f : kFlags) {
    if (spec.flags & f.bit) ctx.reply.simple(f.name);
  }
}

void command_info_row(CommandContext& ctx, const CommandSpec& spec) {
  const CommandTable& table = CommandTable::instance();
  ctx.reply.array_header(10);
  ctx.reply.bulk(spec.name);
  ctx.reply.integer(spec.arity);
  command_flags(ctx, spec);
  ctx.reply.integer(spec.first_key);
  ctx.reply.integer(spec.last_key);
  ctx.reply.integer(spec.key_step);
  ctx.reply.set_header(1);
  std::string category = "@" + std::string(table.group(spec));
  ctx.reply.simple(category);
  ctx.reply.array_header(0);  // tips
  ctx.reply.array_header(0);  // key specs
  ctx.reply.array_header(0);  // subcommands
}

void command_docs_row(CommandContext& ctx, const CommandSpec& spec) {
  const CommandTable& table = CommandTable::instance();
  ctx.reply.bulk(spec.name);
  ctx.reply.map_header(3);
  ctx.reply.bulk("summary");
  ctx.reply.bulk("");
  ctx.reply.bulk("since");
  ctx.reply.bulk("1.0.0");
  ctx.reply.bulk("group");
  ctx.reply.bulk(table.group(spec));
}

void command_command(CommandContext& ctx, Args args) {
  const CommandTable& table = CommandTable::instance();
  if (args.size() == 1) {
    ctx.reply.array_header(table.all().size());
    for (const CommandSpec& spec : table.all()) command_info_row(ctx, spec);
    return;
  }
  std::string_view sub = args[1];
  if (equals_ci(sub, "count") && args.size() == 2) {
    ctx.reply.integer(static_cast<int64_t>(table.all().size()));
  } else if (equals_ci(sub, "list") && args.size() == 2) {
    ctx.reply.array_header(table.all().size());
    for (const CommandSpec& spec : table.all()) ctx.reply.bulk(spec.name);
  } else if (equals_ci(sub, "info")) {
    if (args.size() == 2) {
      ctx.reply.array_header(table.all().size());
      for (const CommandSpec& spec : table.all()) command_info_row(ctx, spec);
      return;
    }
    ctx.reply.array_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      const CommandSpec* spec = table.find(args[i]);
      if (spec == nullptr) {
        ctx.reply.null_array();
      } else {
        command_info_row(ctx, *spec);
      }
    }
  } else if (equals_ci(sub, "docs")) {
    if (args.size() == 2) {
      ctx.reply.map_header(table.all().size());
      for (const CommandSpec& spec : table.all()) command_docs_row(ctx, spec);
      return;
    }
    std::vector<const CommandSpec*> found;
    for (size_t i = 2; i < args.size(); ++i) {
      if (const CommandSpec* spec = table.find(args[i])) found.push_back(spec);
    }
    ctx.reply.map_header(found.size());
    for (const CommandSpec* spec : found) command_docs_row(ctx, *spec);
  } else if (equals_ci(sub, "help")) {
    ctx.reply.array_header(5);
    ctx.reply.simple("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("(no subcommand) -- Return details about all commands.");
    ctx.reply.simple("COUNT -- Return the total number of commands in this server.");
    ctx.reply.simple("LIST -- Return a list of all commands in this server.");
    ctx.reply.simple("INFO [<command-name> ...] / DOCS [<command-name> ...] -- details of commands.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "command"));
  }
}

// ---------------------------------------------------------------- misc

// DBSIZE: O(1) while only database 0 was ever used; else one walk counting
// the client's database (server/databases.h).
void dbsize_command(CommandContext& ctx, Args) {
  const RegionReader reader = ctx.cache.reader(ctx.region);
  const int db = ctx.session.db.load();
  if (db == 0 && !other_databases_seen().load()) {
    ctx.reply.integer(static_cast<int64_t>(reader.stats().items));
    return;
  }
  int64_t n = 0;
  for (int shard = 0; shard < reader.shard_count(); ++shard) {
    reader.scan_shard(shard, [&](std::string_view stored, const RecordView&) {
      std::string_view key;
      if (key_db(stored, &key) == db) ++n;
    });
  }
  ctx.reply.integer(n);
}

// SLOWLOG GET [count] | LEN | RESET | HELP (server/slowlog.h).
void slowlog_command(CommandContext& ctx, Args args) {
  const std::string_view sub = args[1];
  if (equals_ci(sub, "get") && args.size() <= 3) {
    int64_t count = 10;
    if (args.size() == 3 && (!parse_int64(args[2], &count) || count < -1)) {
      ctx.reply.error("ERR count should be greater than or equal to -1");
      return;
    }
    const std::vector<SlowLogEntry> entries = ctx.server.slowlog().get(count);
    ctx.reply.array_header(entries.size());
    for (const SlowLogEntry& e : entries) {
      ctx.reply.array_header(6);
      ctx.reply.integer(static_cast<int64_t>(e.id));
      ctx.reply.integer(e.unix_s);
      ctx.reply.integer(e.duration_us);
      ctx.reply.array_header(e.args.size());
      for (const std::string& a : e.args) ctx.reply.bulk(a);
      ctx.reply.bulk(e.addr);
      ctx.reply.bulk(e.name);
    }
  } else if (equals_ci(sub, "len") && args.size() == 2) {
    ctx.reply.integer(static_cast<int64_t>(ctx.server.slowlog().size()));
  } else if (equals_ci(sub, "reset") && args.size() == 2) {
    ctx.server.slowlog().reset();
    ctx.reply.ok();
  } else if (equals_ci(sub, "help") && args.size() == 2) {
    ctx.reply.array_header(4);
    ctx.reply.simple("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("GET [<count>] -- Return top <count> entries from the slowlog (default: 10, -1 mean all).");
    ctx.reply.simple("LEN -- Return the length of the slowlog.");
    ctx.reply.simple("RESET -- Reset the slowlog.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "slowlog"));
  }
}

// What the store charges for an entry beyond its key and value: its header
// and table slot, about (README: 45 B per entry beyond key and value).
constexpr int64_t kEntryOverheadBytes = 48;

// MEMORY USAGE key [SAMPLES n] | STATS | DOCTOR | HELP
void memory_command(CommandContext& ctx, Args args) {
  const std::string_view sub = args[1];
  if (equals_ci(sub, "usage") && args.size() >= 3) {
    ArgParser p(args, 3);
    while (p.has_next()) {
      if (p.remaining() >= 2 && p.check("SAMPLES")) {
        (void)p.next_int();  // exact, whatever the samples
      } else {
        p.fail(errors::kSyntax);
      }
    }
    if (!p.ok_or_reply(ctx.reply)) return;
    const int db = ctx.session.db.load();
    const std::string key = db == 0 ? std::string(args[2]) : db_key(db, args[2]);
    int64_t bytes = -1;
    ctx.cache.reader(ctx.region).peek(key, [&](const RecordView& rec) {
      const size_t value = rec.hash != nullptr ? rec.hash->charge() : rec.bytes.size();
      bytes = static_cast<int64_t>(key.size() + value) + kEntryOverheadBytes;
    });
    if (bytes < 0) {
      ctx.reply.null();
    } else {
      ctx.reply.integer(bytes);
    }
  } else if (equals_ci(sub, "stats") && args.size() == 2) {
    // The figures of INFO memory, as a map.
    const std::string text = info_text(ctx, "memory");
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find("\r\n", pos);
      if (end == std::string::npos) end = text.size();
      const std::string_view line(text.data() + pos, end - pos);
      if (const size_t colon = line.find(':'); colon != std::string_view::npos && line[0] != '#') {
        fields.emplace_back(line.substr(0, colon), line.substr(colon + 1));
      }
      pos = end + 2;
    }
    ctx.reply.map_header(fields.size());
    for (const auto& [k, v] : fields) {
      ctx.reply.bulk(k);
      ctx.reply.bulk(v);
    }
  } else if (equals_ci(sub, "doctor") && args.size() == 2) {
    ctx.reply.verbatim("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs "
                       "on this base.");
  } else if (equals_ci(sub, "help") && args.size() == 2) {
    ctx.reply.array_header(4);
    ctx.reply.simple("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("USAGE <key> [SAMPLES <count>] -- Return memory in bytes used by <key> and its value.");
    ctx.reply.simple("STATS -- Return information about the memory usage of the server.");
    ctx.reply.simple("DOCTOR -- Return memory problems reports.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "memory"));
  }
}

// WAIT numreplicas timeout: answers at once, never blocks. Regions are not
// replicas that acknowledge offsets; what this region knows is whether the
// transport confirmed every write made here so far (with RabbitMQ: the
// broker holds it for every region's queue). So: the number of other
// regions if this region's outbox is empty and everything appended was
// confirmed, else 0. docs/data_commands.md, "WAIT".
void wait_command(CommandContext& ctx, Args args) {
  int64_t replicas = 0, timeout = 0;
  if (!parse_int64(args[1], &replicas) || !parse_int64(args[2], &timeout)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  if (timeout < 0) {
    ctx.reply.error("ERR timeout is negative");
    return;
  }
  bool confirmed = true;
  for (const OutboxStats& o : ctx.cache.replicator().outbox_stats()) {
    if (o.origin == ctx.region && (o.depth_events > 0 || o.published + o.dropped < o.appended)) confirmed = false;
  }
  int64_t others = 0;
  for (const PeerStatus& p : ctx.cache.peers()) {
    if (p.region.id != ctx.region) ++others;
  }
  ctx.reply.integer(confirmed ? others : 0);
}

void time_command(CommandContext& ctx, Args) {
  const int64_t now_us = ctx.server.clock().now_us();
  std::string secs = std::to_string(now_us / 1'000'000), micros = std::to_string(now_us % 1'000'000);
  ctx.reply.bulk_array({secs, micros});
}

void shutdown_command(CommandContext& ctx, Args args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (!equals_ci(args[i], "nosave") && !equals_ci(args[i], "save") && !equals_ci(args[i], "now") &&
        !equals_ci(args[i], "force")) {
      ctx.reply.error(errors::kSyntax);
      return;
    }
  }
  // Like Redis, no reply: the connection closes as the server stops.
  ctx.session.close_after_reply = true;
  ctx.server.request_shutdown();
}

// DEBUG PROTOCOL <type>: one reply of each RESP3 type (Redis has the same
// subcommand), so clients and tests can check how every type arrives.
void debug_command(CommandContext& ctx, Args args) {
  if (!(args.size() == 3 && equals_ci(args[1], "protocol"))) {
    if (args.size() >= 2 && equals_ci(args[1], "protocol")) {
      ctx.reply.error(errors::kSyntax);
    } else {
      ctx.reply.error(errors::unknown_subcommand(args[1], "debug"));
    }
    return;
  }
  std::string_view type = args[2];
  if (equals_ci(type, "string")) {
    ctx.reply.bulk("Hello World");
  } else if (equals_ci(type, "integer")) {
    ctx.reply.integer(12345);
  } else if (equals_ci(type, "double")) {
    ctx.reply.dbl(3.141);
  } else if (equals_ci(type, "null")) {
    ctx.reply.null();
  } else if (equals_ci(type, "array")) {
    ctx.reply.array_header(3);
    for (int i = 0; i < 3; ++i) ctx.reply.integer(i);
  } else if (equals_ci(type, "set")) {
    ctx.reply.set_header(3);
    for (int i = 0; i < 3; ++i) ctx.reply.integer(i);
  } else if (equals_ci(type, "map")) {
    ctx.reply.map_header(3);
    for (int i = 0; i < 3; ++i) {
      ctx.reply.integer(i);
      ctx.reply.boolean(i == 1);
    }
  } else if (equals_ci(type, "true")) {
    ctx.reply.boolean(true);
  } else if (equals_ci(type, "false")) {
    ctx.reply.boolean(false);
  } else if (equals_ci(type, "verbatim")) {
    ctx.reply.verbatim("This is a verbatim\nstring");
  } else {
    ctx.reply.error(errors::kDebugProtocolType);
  }
}

constexpr CommandSpec kServerCommands[] = {
    {"debug", -2, kCmdAdmin | kCmdNoScript, debug_command, 0, 0, 0},
    {"info", -1, 0, info_command, 0, 0, 0},
    {"config", -2, kCmdAdmin, config_command, 0, 0, 0},
    {"command", -1, 0, command_command, 0, 0, 0},
    {"dbsize", 1, kCmdReadOnly | kCmdFast, dbsize_command, 0, 0, 0},
    {"time", 1, kCmdFast, time_command, 0, 0, 0},
    {"shutdown", -1, kCmdAdmin | kCmdNoScript | kCmdNoMulti, shutdown_command, 0, 0, 0},
    {"slowlog", -2, kCmdAdmin, slowlog_command, 0, 0, 0},
    {"memory", -2, kCmdReadOnly, memory_command, 0, 0, 0},
    {"wait", 3, kCmdNoScript, wait_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> server_family() { return kServerCommands; }

}  // namespace geocache
