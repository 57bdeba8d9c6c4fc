// The command handler contract: what a handler gets and how it answers.
//
// The command table (command_table.cc) is data: {name, arity, flags,
// handler}. Dispatch checks arity and flags from the table before a handler
// runs, so handlers never re-check argument counts the table already
// guarantees. A handler writes exactly one reply through ctx.reply (errors
// included) and returns.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "cache/geo_cache.h"
#include "server/reply_writer.h"

namespace geocache {

class ServerState;  // server-wide state: clients, config, stats (server/server_state.h)
struct ClientSession;  // per-connection state (server/client_session.h)

struct CommandContext {
  GeoCache& cache;
  RegionId region;             // the region whose port this client connected to
  ReplyWriter& reply;
  ServerState& server;
  ClientSession& session;
  // The caller's slot of the cache's exclusion gate, held while commands run
  // (a loop's; null where nothing holds one, as in tests): a transaction or
  // script lets go of it to run exclusively (GeoCache::run_exclusive).
  ExclusionGate::Slot* gate_slot = nullptr;
};

// args[0] is the command name as the client sent it.
using CommandHandler = void (*)(CommandContext& ctx, std::span<const std::string_view> args);

enum CommandFlag : uint32_t {
  kCmdWrite = 1 << 0,      // modifies the dataset (replicated)
  kCmdReadOnly = 1 << 1,   // reads the dataset
  kCmdNoAuth = 1 << 2,     // allowed before AUTH (AUTH, HELLO, QUIT, RESET)
  kCmdFast = 1 << 3,       // O(1) or O(log n)
  kCmdAdmin = 1 << 4,      // CONFIG, SHUTDOWN, ...
  kCmdDenyOom = 1 << 5,    // may grow memory
  kCmdNoScript = 1 << 6,   // refused from a script's redis.call (Redis' noscript)
  kCmdNoMulti = 1 << 7,    // refused between MULTI and EXEC (Redis' no_multi)
  kCmdTxnControl = 1 << 8, // runs at once between MULTI and EXEC, never queued
};
// Short forms of the most used flags, so that each row of a family's table
// (kStringCommands, ...) stays one line.
inline constexpr uint32_t kW = kCmdWrite, kR = kCmdReadOnly, kF = kCmdFast, kM = kCmdDenyOom;

struct CommandSpec {
  std::string_view name;   // lower case
  int arity;               // Redis convention: N exact, -N at least N (name included)
  uint32_t flags;
  CommandHandler handler;
  int first_key, last_key, key_step;  // for COMMAND INFO; 0 if no keys
};

}  // namespace geocache
