// ScriptEngine: the Lua 5.1 VM that EVAL, EVALSHA and SCRIPT run scripts in,
// and the script cache. One per process (ServerState::scripts()).
//
// A script runs the way Redis runs one: inside GeoCache::run_exclusive (no
// other client runs a command, no replicated write is applied meanwhile),
// its writes replicated as their effects, as one group. So there is one VM
// and no lock around it: every use of the VM (run, load, flush) happens in
// an exclusive section. The cache of bodies by SHA1 has its own mutex, so
// SCRIPT EXISTS needs no exclusive section.
//
// What a script sees (Redis' API): KEYS and ARGV; redis.call and
// redis.pcall, which run a command through the command table and convert
// its reply (integer -> number, bulk -> string, nil -> false, array ->
// table, status -> {ok=...}, error -> {err=...}; call raises the error,
// pcall returns it); redis.error_reply, redis.status_reply, redis.sha1hex,
// redis.log and Redis' no-op knobs (setresp 2, set_repl,
// replicate_commands). The libraries are base, table, string and math;
// loadfile, dofile, os, io, package and debug are not there, and globals can
// be neither created nor replaced (a script cannot leave state behind for
// the next one). A returned value converts back by Redis' rules (number ->
// integer, truncated; false/nil -> nil; table -> array up to its first nil;
// {ok=...} -> status; {err=...} -> error).
//
// Time limit: a script still running after lua-time-limit ms (checked every
// kHookInstructions VM instructions) is killed: a Lua error nothing in the
// script can catch (pcall and xpcall rethrow it), its writes undone
// (GeoCache::undo_exclusive) and never replicated, its caller told why.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "core/mutex.h"
#include "core/status.h"

struct lua_State;

namespace geocache {

struct CommandContext;

class ScriptEngine {
 public:
  ScriptEngine();
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // Lower-case hex SHA1 of `text` (EVALSHA's name for a script, redis.sha1hex).
  static std::string sha1_hex(std::string_view text);

  // Compiles body and caches it under its SHA1, which is returned; a body
  // that does not compile is an error line ("ERR Error compiling script ...").
  // REQUIRES: in an exclusive section (GeoCache::run_exclusive).
  Result<std::string> load(std::string_view body);
  // Whether a script with this SHA1 is cached. Thread-safe.
  bool exists(std::string_view sha) const;
  // Forgets every script and starts a new VM. REQUIRES: exclusive section.
  void flush();

  // Runs cached script `sha` (loading body first if given and not cached)
  // with KEYS and ARGV, and replies its result or error to ctx.reply.
  // read_only: write commands are refused (EVAL_RO). A script killed over
  // the time limit calls undo (which says whether its writes could be
  // undone) before its error is replied.
  // REQUIRES: exclusive section; sha cached, or body given.
  void run(CommandContext& ctx, const std::string& sha, std::string_view body, std::span<const std::string_view> keys,
           std::span<const std::string_view> argv, bool read_only, int64_t time_limit_ms,
           absl::FunctionRef<bool()> undo);

  // VM instructions between two looks at the clock.
  static constexpr int kHookInstructions = 10'000;

 private:
  struct Run;
  void open_vm();
  // Compiles body into the registry under sha; an error line, or empty.
  std::string compile(const std::string& sha, std::string_view body);

  lua_State* vm_ = nullptr;
  Run* run_ = nullptr;  // the script running now, if any

  mutable Mutex mu_;
  std::map<std::string, std::string, std::less<>> bodies_ ABSL_GUARDED_BY(mu_);  // by SHA1

  // The C functions scripts call reach the engine and the running script.
  friend struct ScriptApi;
};

}  // namespace geocache
