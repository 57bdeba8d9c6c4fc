// ScriptEngine. Lua is Debian's liblua5.1-c++: Lua 5.1 built as C++, so a
// Lua error is a C++ exception and unwinds the C++ frames it crosses
// (redis.call's strings and writers) instead of longjmp-ing over them.
//
// Globals. The table scripts see as their globals is an empty proxy whose
// __index reads the real globals (an absent name is an error, as in Redis
// 7) and whose __newindex refuses: every assignment to a global fails, so a
// script can neither leak state into the next nor replace redis.call. KEYS
// and ARGV are set in the real table before each run.
//
// Replies. redis.call runs the command through CommandTable::dispatch with
// a ReplyWriter of its own (RESP2) and converts the bytes it wrote; the
// conversion reads RESP2 only, which is all a RESP2 writer produces.
#include "server/script_engine.h"

#include <openssl/evp.h>

#include <chrono>
#include <string>
#include <vector>

#include "server/client_session.h"
#include "server/command.h"
#include "server/command_table.h"
#include "server/errors.h"
#include "server/reply_writer.h"
#include "spdlog/spdlog.h"

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

namespace geocache {

namespace {

constexpr const char* kScriptsKey = "geocache.scripts";   // registry: sha -> function
constexpr const char* kGlobalsKey = "geocache.globals";   // registry: the real globals
constexpr int kMaxReplyDepth = 64;                         // nesting converted, either way

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

struct ScriptEngine::Run {
  CommandContext* ctx;
  bool read_only;
  std::string sha;
  std::chrono::steady_clock::time_point deadline;
  int64_t limit_ms;
  bool killed = false;
  int error_line = 0;  // the script's line where the error was raised
};

// The functions Lua calls. Each finds the engine in its upvalue.
struct ScriptApi {
  static ScriptEngine& engine(lua_State* L) {
    return *static_cast<ScriptEngine*>(lua_touserdata(L, lua_upvalueindex(1)));
  }

  // ---- Redis reply bytes (RESP2) -> Lua value. Returns false for a reply
  // that does not parse (cannot happen with our writer; stay safe).
  static bool push_reply(lua_State* L, std::string_view* in, int depth) {
    if (in->size() < 3 || depth > kMaxReplyDepth) return false;
    const char type = (*in)[0];
    const size_t eol = in->find("\r\n");
    if (eol == std::string_view::npos) return false;
    const std::string_view line = in->substr(1, eol - 1);
    in->remove_prefix(eol + 2);
    switch (type) {
      case '+':
      case '-':
        lua_newtable(L);
        lua_pushlstring(L, line.data(), line.size());
        lua_setfield(L, -2, type == '+' ? "ok" : "err");
        return true;
      case ':':
        lua_pushnumber(L, static_cast<lua_Number>(std::stoll(std::string(line))));
        return true;
      case '$': {
        const long long n = std::stoll(std::string(line));
        if (n < 0) {
          lua_pushboolean(L, 0);
          return true;
        }
        if (in->size() < static_cast<size_t>(n) + 2) return false;
        lua_pushlstring(L, in->data(), static_cast<size_t>(n));
        in->remove_prefix(static_cast<size_t>(n) + 2);
        return true;
      }
      case '*': {
        const long long n = std::stoll(std::string(line));
        if (n < 0) {
          lua_pushboolean(L, 0);
          return true;
        }
        lua_createtable(L, static_cast<int>(n), 0);
        for (long long i = 1; i <= n; ++i) {
          if (!push_reply(L, in, depth + 1)) return false;
          lua_rawseti(L, -2, static_cast<int>(i));
        }
        return true;
      }
      default: return false;
    }
  }

  // redis.call (raise = true) and redis.pcall.
  static int call(lua_State* L, bool raise) {
    ScriptEngine& e = engine(L);
    ScriptEngine::Run& run = *e.run_;
    const int argc = lua_gettop(L);
    auto fail = [&](std::string_view line) -> int {
      lua_newtable(L);
      lua_pushlstring(L, line.data(), line.size());
      lua_setfield(L, -2, "err");
      if (raise) return lua_error(L);
      return 1;
    };
    if (argc == 0) return fail("ERR Please specify at least one argument for this redis lib call");
    std::vector<std::string_view> args;
    args.reserve(static_cast<size_t>(argc));
    for (int i = 1; i <= argc; ++i) {
      const int t = lua_type(L, i);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        return fail("ERR Lua redis lib command arguments must be strings or integers");
      }
      size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);  // numbers become strings in place, kept alive by the stack
      args.emplace_back(s, len);
    }
    const CommandSpec* spec = CommandTable::instance().find(args[0]);
    if (spec == nullptr) return fail("ERR Unknown Redis command called from script");
    const int n = static_cast<int>(args.size());
    if ((spec->arity > 0 && n != spec->arity) || (spec->arity < 0 && n < -spec->arity)) {
      return fail("ERR Wrong number of args calling Redis command from script");
    }
    if (spec->flags & kCmdNoScript) return fail(errors::kScriptNotAllowed);
    if (run.read_only && (spec->flags & kCmdWrite)) return fail(errors::kScriptWriteReadOnly);
    std::string out;
    {
      ReplyWriter writer(&out);  // RESP2, whatever the caller speaks
      CommandContext& ctx = *run.ctx;
      CommandContext sub{ctx.cache, ctx.region, writer, ctx.server, ctx.session, ctx.gate_slot};
      ctx.session.answer_now = true;  // nothing may wait inside a script (GEO.WAIT, a miss fallback)
      CommandTable::instance().dispatch(sub, args);
    }
    std::string_view in(out);
    const bool is_error = !in.empty() && in[0] == '-';
    if (!push_reply(L, &in, 0)) return fail("ERR reply of the command could not be read");
    if (is_error && raise) return lua_error(L);
    return 1;
  }
  static int redis_call(lua_State* L) { return call(L, true); }
  static int redis_pcall(lua_State* L) { return call(L, false); }

  static int reply_table(lua_State* L, const char* field) {
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, field);
    return 1;
  }
  static int error_reply(lua_State* L) { return reply_table(L, "err"); }
  static int status_reply(lua_State* L) { return reply_table(L, "ok"); }

  static int sha1hex(lua_State* L) {
    size_t len = 0;
    const char* s = luaL_checklstring(L, 1, &len);
    const std::string hex = ScriptEngine::sha1_hex(std::string_view(s, len));
    lua_pushlstring(L, hex.data(), hex.size());
    return 1;
  }

  static int log(lua_State* L) {
    const int level = static_cast<int>(luaL_checkinteger(L, 1));
    std::string text;
    for (int i = 2; i <= lua_gettop(L); ++i) {
      size_t len = 0;
      const char* s = lua_tolstring(L, i, &len);
      if (s == nullptr) continue;
      if (!text.empty()) text += ' ';
      text.append(s, len);
    }
    if (level >= 3) spdlog::warn("script: {}", text);
    else spdlog::info("script: {}", text);
    return 0;
  }
  static int setresp(lua_State* L) {
    if (luaL_checkinteger(L, 1) != 2) return luaL_error(L, "RESP3 replies in scripts are not supported; only RESP2");
    return 0;
  }
  static int noop(lua_State*) { return 0; }
  static int yes(lua_State* L) {
    lua_pushboolean(L, 1);
    return 1;
  }

  // ---- The time limit.
  static void hook(lua_State* L, lua_Debug*) {
    lua_getfield(L, LUA_REGISTRYINDEX, "geocache.engine");
    ScriptEngine* e = static_cast<ScriptEngine*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (e == nullptr || e->run_ == nullptr) return;
    ScriptEngine::Run& run = *e->run_;
    if (!run.killed && std::chrono::steady_clock::now() < run.deadline) return;
    if (!run.killed) {
      run.killed = true;
      // From now on at every instruction, so whatever catches it dies at once.
      lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    }
    luaL_error(L, "Script killed: it ran longer than lua-time-limit (%d ms)", static_cast<int>(run.limit_ms));
  }

  // pcall and xpcall that cannot swallow the kill.
  static int safe_pcall(lua_State* L) {
    luaL_checkany(L, 1);
    const int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    if (engine(L).run_ != nullptr && engine(L).run_->killed) return lua_error(L);
    lua_pushboolean(L, status == 0);
    lua_insert(L, 1);
    return lua_gettop(L);
  }
  static int safe_xpcall(lua_State* L) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_insert(L, 1);  // handler, function
    const int status = lua_pcall(L, 0, LUA_MULTRET, 1);
    if (engine(L).run_ != nullptr && engine(L).run_->killed) return lua_error(L);
    lua_pushboolean(L, status == 0);
    lua_replace(L, 1);
    return lua_gettop(L);
  }

  // ---- Globals.
  static int global_index(lua_State* L) {
    // proxy, name
    lua_getfield(L, LUA_REGISTRYINDEX, kGlobalsKey);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) return 1;
    const char* name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
  }
  static int global_newindex(lua_State* L) { return luaL_error(L, "Attempt to modify a readonly table"); }

  // The error handler of a run: notes the script's line the error came from.
  static int on_error(lua_State* L) {
    ScriptEngine& e = engine(L);
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar) != 0; ++level) {
      lua_getinfo(L, "Sl", &ar);
      if (std::string_view(ar.source) == "@user_script" && ar.currentline > 0) {
        if (e.run_ != nullptr) e.run_->error_line = ar.currentline;
        break;
      }
    }
    return 1;  // the error value, unchanged
  }

  // ---- Lua value -> reply (a script's result).
  static void write_value(lua_State* L, int idx, ReplyWriter& w, int depth) {
    switch (lua_type(L, idx)) {
      case LUA_TNUMBER: w.integer(static_cast<int64_t>(lua_tonumber(L, idx))); return;
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L, idx, &len);
        w.bulk(std::string_view(s, len));
        return;
      }
      case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) w.integer(1);
        else w.null();
        return;
      case LUA_TTABLE: {
        if (depth > kMaxReplyDepth) return w.error("ERR reached lua stack limit");
        lua_getfield(L, idx, "err");
        if (lua_type(L, -1) == LUA_TSTRING) {
          w.error(one_line(lua_tostring(L, -1)));
          lua_pop(L, 1);
          return;
        }
        lua_pop(L, 1);
        lua_getfield(L, idx, "ok");
        if (lua_type(L, -1) == LUA_TSTRING) {
          w.simple(one_line(lua_tostring(L, -1)));
          lua_pop(L, 1);
          return;
        }
        lua_pop(L, 1);
        size_t n = 0;
        while (true) {
          lua_rawgeti(L, idx, static_cast<int>(n + 1));
          const bool end = lua_isnil(L, -1);
          lua_pop(L, 1);
          if (end) break;
          ++n;
        }
        w.array_header(n);
        for (size_t i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, static_cast<int>(i));
          write_value(L, lua_gettop(L), w, depth + 1);
          lua_pop(L, 1);
        }
        return;
      }
      default: w.null(); return;  // nil, functions, userdata
    }
  }
};

ScriptEngine::ScriptEngine() { open_vm(); }

ScriptEngine::~ScriptEngine() {
  if (vm_ != nullptr) lua_close(vm_);
}

std::string ScriptEngine::sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

void ScriptEngine::open_vm() {
  lua_State* L = luaL_newstate();
  vm_ = L;
  // Only what Redis gives scripts that makes sense here: no io, os, package, debug.
  const std::pair<const char*, lua_CFunction> libs[] = {
      {"", luaopen_base}, {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
      {LUA_MATHLIBNAME, luaopen_math}};
  for (const auto& [name, open] : libs) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  for (const char* name : {"loadfile", "dofile"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_pushlightuserdata(L, this);
  lua_setfield(L, LUA_REGISTRYINDEX, "geocache.engine");
  auto set_fn = [&](const char* name, lua_CFunction fn) {
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
  };
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  set_fn("pcall", ScriptApi::safe_pcall);
  set_fn("xpcall", ScriptApi::safe_xpcall);
  lua_newtable(L);  // redis
  set_fn("call", ScriptApi::redis_call);
  set_fn("pcall", ScriptApi::redis_pcall);
  set_fn("error_reply", ScriptApi::error_reply);
  set_fn("status_reply", ScriptApi::status_reply);
  set_fn("sha1hex", ScriptApi::sha1hex);
  set_fn("log", ScriptApi::log);
  set_fn("setresp", ScriptApi::setresp);
  set_fn("set_repl", ScriptApi::noop);
  set_fn("replicate_commands", ScriptApi::yes);
  const std::pair<const char*, int> constants[] = {{"LOG_DEBUG", 0},   {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2},
                                                    {"LOG_WARNING", 3}, {"REPL_NONE", 0},   {"REPL_AOF", 1},
                                                    {"REPL_SLAVE", 2},  {"REPL_REPLICA", 2}, {"REPL_ALL", 3}};
  for (const auto& [name, v] : constants) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
  }
  lua_setfield(L, -2, "redis");
  lua_pop(L, 1);  // globals

  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kScriptsKey);

  // Scripts see a read-only proxy of the globals (see the top of the file).
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_setfield(L, LUA_REGISTRYINDEX, kGlobalsKey);
  lua_newtable(L);  // proxy
  lua_newtable(L);  // its metatable
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, ScriptApi::global_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ScriptApi::global_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");  // getmetatable(_G) cannot reach it
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "geocache.proxy");
  lua_setglobal(L, "_G");  // a script's _G is the proxy too
  // They would hand a script the real globals.
  for (const char* name : {"getfenv", "setfenv"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
}

std::string ScriptEngine::compile(const std::string& sha, std::string_view body) {
  lua_State* L = vm_;
  if (luaL_loadbuffer(L, body.data(), body.size(), "@user_script") != 0) {
    std::string err = "ERR Error compiling script (new function): " + one_line(lua_tostring(L, -1));
    lua_pop(L, 1);
    return err;
  }
  // The function runs with the proxy as its globals.
  lua_getfield(L, LUA_REGISTRYINDEX, "geocache.proxy");
  lua_setfenv(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, kScriptsKey);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, sha.c_str());
  lua_pop(L, 2);
  MutexLock lock(mu_);
  bodies_.emplace(sha, body);
  return {};
}

Result<std::string> ScriptEngine::load(std::string_view body) {
  std::string sha = sha1_hex(body);
  if (exists(sha)) return sha;
  if (std::string err = compile(sha, body); !err.empty()) return Status::InvalidArgument(err);
  return sha;
}

bool ScriptEngine::exists(std::string_view sha) const {
  MutexLock lock(mu_);
  return bodies_.find(sha) != bodies_.end();
}

void ScriptEngine::flush() {
  {
    MutexLock lock(mu_);
    bodies_.clear();
  }
  lua_close(vm_);
  open_vm();
}

void ScriptEngine::run(CommandContext& ctx, const std::string& sha, std::string_view body,
                       std::span<const std::string_view> keys, std::span<const std::string_view> argv, bool read_only,
                       int64_t time_limit_ms, absl::FunctionRef<bool()> undo) {
  lua_State* L = vm_;
  if (!body.empty() && !exists(sha)) {
    if (std::string err = compile(sha, body); !err.empty()) {
      ctx.reply.error(err);
      return;
    }
  }
  lua_settop(L, 0);
  // KEYS and ARGV, in the real globals.
  lua_getfield(L, LUA_REGISTRYINDEX, kGlobalsKey);
  for (const auto& [name, list] : {std::pair{"KEYS", keys}, std::pair{"ARGV", argv}}) {
    lua_createtable(L, static_cast<int>(list.size()), 0);
    for (size_t i = 0; i < list.size(); ++i) {
      lua_pushlstring(L, list[i].data(), list[i].size());
      lua_rawseti(L, -2, static_cast<int>(i + 1));
    }
    lua_setfield(L, -2, name);
  }
  lua_pop(L, 1);

  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, ScriptApi::on_error, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, kScriptsKey);
  lua_getfield(L, -1, sha.c_str());
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_settop(L, 0);
    ctx.reply.error(errors::kNoScript);
    return;
  }
  Run run{&ctx, read_only, sha, std::chrono::steady_clock::now() + std::chrono::milliseconds(time_limit_ms),
          time_limit_ms};
  run_ = &run;
  lua_sethook(L, ScriptApi::hook, LUA_MASKCOUNT, kHookInstructions);
  const int status = lua_pcall(L, 0, 1, 1);
  lua_sethook(L, nullptr, 0, 0);
  run_ = nullptr;
  const std::string where = " script: " + sha + ", on @user_script:" + std::to_string(run.error_line) + ".";
  if (status == 0) {
    ScriptApi::write_value(L, lua_gettop(L), ctx.reply, 0);
  } else if (run.killed) {
    const bool undone = undo();
    ctx.reply.error("ERR Script killed: it ran longer than lua-time-limit (" + std::to_string(time_limit_ms) +
                    " ms); " +
                    (undone ? "its writes were undone" : "its writes stand (it flushed, or followed writes of its "
                                                         "transaction)") +
                    where);
  } else if (lua_istable(L, -1)) {
    // An error reply raised by redis.call, or error({err=...}).
    lua_getfield(L, -1, "err");
    const char* err = lua_tostring(L, -1);
    ctx.reply.error(one_line(err != nullptr ? err : "ERR unknown error") + where);
  } else {
    const char* err = lua_tostring(L, -1);
    ctx.reply.error("ERR " + one_line(err != nullptr ? err : "unknown error") + where);
  }
  lua_settop(L, 0);
}

}  // namespace geocache
