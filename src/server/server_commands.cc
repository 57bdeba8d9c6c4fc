// Server commands (Redis' "server" group): INFO, CONFIG, COMMAND, DBSIZE,
// TIME, SHUTDOWN, and GEO.REGIONS (the regions and their heartbeats).
// COMMAND's replies are generated from the command table, so they can never
// disagree with what dispatch enforces.
#include <cctype>
#include <string>

#include "fmt/format.h"

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/command_table.h"
#include "server/config_params.h"
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

void config_set(CommandContext& ctx, Args pairs) {
  if (pairs.empty() || pairs.size() % 2 != 0) {
    ctx.reply.error(errors::wrong_arity("config|set"));
    return;
  }
  // Check every name first so that a bad one changes nothing.
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
    params.push_back(found);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    std::string err = params[i]->set(ctx, pairs[2 * i + 1]);
    if (!err.empty()) {
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

void dbsize_command(CommandContext& ctx, Args) {
  ctx.reply.integer(static_cast<int64_t>(ctx.cache.reader(ctx.region).stats().items));
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
};

}  // namespace

std::span<const CommandSpec> server_family() { return kServerCommands; }

}  // namespace geocache
