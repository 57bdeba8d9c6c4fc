// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS,
// FLUSH, KILL, HELP). The engine (server/script_engine.h) has the design; a
// script runs in GeoCache::run_exclusive like a transaction, undoably: one
// killed over lua-time-limit leaves the store as it found it.
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/errors.h"
#include "server/script_engine.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// EVAL script numkeys key... arg... and the three others. by_sha: args[1]
// is a SHA1, not a body.
void eval_generic(CommandContext& ctx, Args args, bool by_sha, bool read_only) {
  int64_t numkeys = 0;
  if (!parse_int64(args[2], &numkeys)) return ctx.reply.error(errors::kNotInteger);
  if (numkeys < 0) return ctx.reply.error(errors::kNegativeKeys);
  if (numkeys > static_cast<int64_t>(args.size() - 3)) return ctx.reply.error(errors::kTooManyKeys);
  const Args keys = args.subspan(3, static_cast<size_t>(numkeys));
  const Args argv = args.subspan(3 + static_cast<size_t>(numkeys));
  ScriptEngine& engine = ctx.server.scripts();
  std::string sha;
  std::string_view body;
  if (by_sha) {
    sha.assign(args[1]);
    for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!engine.exists(sha)) return ctx.reply.error(errors::kNoScript);
  } else {
    body = args[1];
    sha = ScriptEngine::sha1_hex(body);
  }
  const int64_t limit = ctx.server.lua_time_limit_ms.load(std::memory_order_relaxed);
  ctx.cache.run_exclusive(
      ctx.gate_slot,
      [&] { engine.run(ctx, sha, body, keys, argv, read_only, limit, [&] { return ctx.cache.undo_exclusive(); }); },
      /*undoable=*/true);
}

void eval_command(CommandContext& ctx, Args args) { eval_generic(ctx, args, false, false); }
void evalsha_command(CommandContext& ctx, Args args) { eval_generic(ctx, args, true, false); }
void eval_ro_command(CommandContext& ctx, Args args) { eval_generic(ctx, args, false, true); }
void evalsha_ro_command(CommandContext& ctx, Args args) { eval_generic(ctx, args, true, true); }

void script_command(CommandContext& ctx, Args args) {
  ScriptEngine& engine = ctx.server.scripts();
  const std::string_view sub = args[1];
  if (equals_ci(sub, "load") && args.size() == 3) {
    std::optional<Result<std::string>> sha;
    ctx.cache.run_exclusive(ctx.gate_slot, [&] { sha.emplace(engine.load(args[2])); });
    if (!sha->ok()) return ctx.reply.error(sha->status().message());
    return ctx.reply.bulk(**sha);
  }
  if (equals_ci(sub, "exists") && args.size() >= 3) {
    ctx.reply.array_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      std::string sha(args[i]);
      for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ctx.reply.integer(engine.exists(sha) ? 1 : 0);
    }
    return;
  }
  if (equals_ci(sub, "flush") && args.size() <= 3) {
    if (args.size() == 3 && !equals_ci(args[2], "sync") && !equals_ci(args[2], "async")) {
      return ctx.reply.error(errors::kSyntax);
    }
    ctx.cache.run_exclusive(ctx.gate_slot, [&] { engine.flush(); });
    return ctx.reply.ok();
  }
  if (equals_ci(sub, "kill") && args.size() == 2) {
    // A script holds every other client off until it ends: by the time
    // this runs, none is running.
    return ctx.reply.error("NOTBUSY No scripts in execution right now.");
  }
  if (equals_ci(sub, "help") && args.size() == 2) {
    static constexpr std::string_view kHelp[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script (scripts over lua-time-limit are killed by themselves).",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help."};
    ctx.reply.array_header(std::size(kHelp));
    for (std::string_view line : kHelp) ctx.reply.simple(line);
    return;
  }
  ctx.reply.error(errors::unknown_subcommand(sub, "SCRIPT"));
}

constexpr uint32_t kScript = kCmdNoScript | kCmdDenyOom;
const CommandSpec kScriptCommands[] = {
    {"eval", -3, kScript, eval_command, 0, 0, 0},
    {"evalsha", -3, kScript, evalsha_command, 0, 0, 0},
    {"eval_ro", -3, kScript | kCmdReadOnly, eval_ro_command, 0, 0, 0},
    {"evalsha_ro", -3, kScript | kCmdReadOnly, evalsha_ro_command, 0, 0, 0},
    {"script", -2, kCmdNoScript, script_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> scripting_family() { return kScriptCommands; }

}  // namespace geocache
