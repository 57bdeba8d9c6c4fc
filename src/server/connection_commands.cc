// Connection commands: the ones about the client's own session rather than
// the data (Redis' "connection" group): PING, ECHO, HELLO, AUTH, SELECT,
// QUIT, RESET and CLIENT.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "fmt/format.h"

#include "server/arg_parser.h"
#include "server/client_info.h"
#include "server/client_session.h"
#include "server/command_families.h"
#include "server/databases.h"
#include "server/errors.h"
#include "server/mailbox.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

void set_protocol(CommandContext& ctx, int version) {
  ctx.session.protocol = version;
  ctx.reply.set_protocol(version);
}

// Checks a password for the default user (the only user). Returns the error
// line to send, or empty on success.
std::string_view check_auth(CommandContext& ctx, std::string_view user, std::string_view pass) {
  if (!equals_ci(user, "default")) return errors::kWrongPass;
  if (!ctx.server.auth_required()) return {};  // "nopass": any password is fine
  if (!ctx.server.check_password(pass)) return errors::kWrongPass;
  return {};
}

void ping_command(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    ctx.reply.error(errors::wrong_arity("ping"));
  } else if (ctx.reply.protocol() == 2 && !(ctx.session.channels.empty() && ctx.session.patterns.empty())) {
    // A subscribed RESP2 client gets its PONG in the form of a message.
    ctx.reply.array_header(2);
    ctx.reply.bulk("pong");
    ctx.reply.bulk(args.size() == 2 ? args[1] : std::string_view());
  } else if (args.size() == 2) {
    ctx.reply.bulk(args[1]);
  } else {
    ctx.reply.simple("PONG");
  }
}

void echo_command(CommandContext& ctx, Args args) { ctx.reply.bulk(args[1]); }

void auth_command(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  if (args.size() == 2 && !ctx.server.auth_required()) {
    ctx.reply.error(errors::kAuthNotSet);
    return;
  }
  std::string_view user = args.size() == 3 ? args[1] : std::string_view("default");
  std::string_view err = check_auth(ctx, user, args.back());
  if (!err.empty()) {
    ctx.reply.error(err);
    return;
  }
  ctx.session.authenticated = true;
  ctx.reply.ok();
}

void hello_command(CommandContext& ctx, Args args) {
  int version = ctx.session.protocol;
  size_t i = 1;
  if (args.size() >= 2) {
    int64_t v = 0;
    if (!parse_int64(args[1], &v)) {
      ctx.reply.error(errors::kProtocolVersion);
      return;
    }
    if (v < 2 || v > 3) {
      ctx.reply.error(errors::kNoProto);
      return;
    }
    version = static_cast<int>(v);
    i = 2;
  }
  std::string_view user, pass, name;
  bool has_auth = false, has_name = false;
  for (; i < args.size(); ++i) {
    if (equals_ci(args[i], "auth") && i + 2 < args.size()) {
      user = args[i + 1];
      pass = args[i + 2];
      has_auth = true;
      i += 2;
    } else if (equals_ci(args[i], "setname") && i + 1 < args.size()) {
      name = args[i + 1];
      has_name = true;
      i += 1;
    } else {
      ctx.reply.error(errors::hello_syntax(args[i]));
      return;
    }
  }
  if (has_auth) {
    std::string_view err = check_auth(ctx, user, pass);
    if (!err.empty()) {
      ctx.reply.error(err);
      return;
    }
    ctx.session.authenticated = true;
  }
  if (!ctx.session.authenticated && ctx.server.auth_required()) {
    ctx.reply.error(errors::kHelloNoAuth);
    return;
  }
  if (has_name) {
    if (!valid_client_name(name)) {
      ctx.reply.error(errors::kBadClientName);
      return;
    }
    ctx.server.set_client_name(&ctx.session, name);
  }
  set_protocol(ctx, version);
  ctx.reply.map_header(7);
  ctx.reply.bulk("server");
  ctx.reply.bulk("redis");
  ctx.reply.bulk("version");
  ctx.reply.bulk(kRedisCompatVersion);
  ctx.reply.bulk("proto");
  ctx.reply.integer(version);
  ctx.reply.bulk("id");
  ctx.reply.integer(static_cast<int64_t>(ctx.session.id));
  ctx.reply.bulk("mode");
  ctx.reply.bulk("standalone");
  ctx.reply.bulk("role");
  ctx.reply.bulk("master");
  ctx.reply.bulk("modules");
  ctx.reply.array_header(0);
}

// SELECT 0-15: databases are kept apart in one store by key prefix
// (server/databases.h).
void select_command(CommandContext& ctx, Args args) {
  int64_t db = 0;
  if (!parse_int64(args[1], &db)) {
    ctx.reply.error(errors::kNotInteger);
  } else if (db < 0 || db >= kDatabases) {
    ctx.reply.error(errors::kDbIndexOutOfRange);
  } else {
    ctx.session.db.store(static_cast<int>(db));
    ctx.reply.ok();
  }
}

void quit_command(CommandContext& ctx, Args) {
  ctx.reply.ok();
  ctx.session.close_after_reply = true;
}

void reset_command(CommandContext& ctx, Args) {
  ctx.server.pubsub().drop(&ctx.session);
  ctx.server.tracking().disable(&ctx.session);
  ctx.session.tracking = false;
  ctx.session.db.store(0);
  set_protocol(ctx, 2);
  ctx.server.set_client_name(&ctx.session, "");
  ctx.session.authenticated = !ctx.server.auth_required();
  ctx.session.txn.reset();  // leaves MULTI, forgets the WATCHed keys
  ctx.reply.simple("RESET");
}

// The client-type name CLIENT LIST TYPE and CLIENT KILL TYPE match.
bool client_type_is(const ClientSession& s, std::string_view type) {
  const bool pubsub = s.subscriptions.load(std::memory_order_relaxed) > 0 ||
                      s.pattern_subscriptions.load(std::memory_order_relaxed) > 0;
  if (equals_ci(type, "pubsub")) return pubsub;
  if (equals_ci(type, "normal")) return !pubsub;
  return false;  // master, replica, slave: none here
}

bool valid_client_type(std::string_view type) {
  return equals_ci(type, "normal") || equals_ci(type, "pubsub") || equals_ci(type, "master") ||
         equals_ci(type, "replica") || equals_ci(type, "slave");
}

// CLIENT LIST [TYPE type] [ID id ...]
void client_list(CommandContext& ctx, Args args) {
  std::optional<std::string_view> type;
  std::vector<uint64_t> ids;
  for (size_t i = 2; i < args.size(); ++i) {
    if (equals_ci(args[i], "type") && i + 1 < args.size()) {
      if (!valid_client_type(args[i + 1])) {
        ctx.reply.error(fmt::format("ERR Unknown client type '{}'", args[i + 1]));
        return;
      }
      type = args[++i];
    } else if (equals_ci(args[i], "id") && i + 1 < args.size()) {
      for (++i; i < args.size(); ++i) {
        int64_t id = 0;
        if (!parse_int64(args[i], &id) || id <= 0) {
          ctx.reply.error("ERR Invalid client ID");
          return;
        }
        ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      ctx.reply.error(errors::kSyntax);
      return;
    }
  }
  std::string text;
  const int64_t now = ctx.server.now_ms();
  ctx.server.for_each_client([&](const ClientSession& s) {
    if (type && !client_type_is(s, *type)) return;
    if (!ids.empty() && std::find(ids.begin(), ids.end(), s.id) == ids.end()) return;
    append_client_line(s, now, &text);
  });
  ctx.reply.verbatim(text);
}

// CLIENT KILL addr:port (old form: one client, OK or an error) or CLIENT
// KILL <filter value> ... (new form: the number killed): ID, ADDR, LADDR,
// USER, TYPE, SKIPME (yes by default), MAXAGE. A killed client is closed by
// its own loop at its next turn; the caller's own connection closes after
// this reply.
void client_kill(CommandContext& ctx, Args args) {
  std::optional<uint64_t> id;
  std::optional<std::string_view> addr, laddr, user, type;
  std::optional<int64_t> maxage;
  bool skipme = true;
  const bool old_form = args.size() == 3;
  if (old_form) {
    addr = args[2];
    skipme = false;
  } else if (args.size() % 2 != 0) {
    ctx.reply.error(errors::kSyntax);
    return;
  } else {
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      const std::string_view opt = args[i], val = args[i + 1];
      int64_t n = 0;
      if (equals_ci(opt, "id")) {
        if (!parse_int64(val, &n) || n <= 0) {
          ctx.reply.error("ERR client-id should be greater than 0");
          return;
        }
        id = static_cast<uint64_t>(n);
      } else if (equals_ci(opt, "addr")) {
        addr = val;
      } else if (equals_ci(opt, "laddr")) {
        laddr = val;
      } else if (equals_ci(opt, "user")) {
        user = val;
      } else if (equals_ci(opt, "type")) {
        if (!valid_client_type(val)) {
          ctx.reply.error(fmt::format("ERR Unknown client type '{}'", val));
          return;
        }
        type = val;
      } else if (equals_ci(opt, "skipme")) {
        if (equals_ci(val, "yes")) {
          skipme = true;
        } else if (equals_ci(val, "no")) {
          skipme = false;
        } else {
          ctx.reply.error(errors::kSyntax);
          return;
        }
      } else if (equals_ci(opt, "maxage")) {
        if (!parse_int64(val, &n)) {
          ctx.reply.error(errors::kSyntax);
          return;
        }
        maxage = n;
      } else {
        ctx.reply.error(errors::kSyntax);
        return;
      }
    }
  }
  int64_t killed = 0;
  bool me = false;
  const int64_t now = ctx.server.now_ms();
  ctx.server.for_each_client([&](const ClientSession& s) {
    if (id && s.id != *id) return;
    if (addr && s.addr != *addr) return;
    if (laddr && s.laddr != *laddr) return;
    if (user && *user != "default") return;  // the only user
    if (type && !client_type_is(s, *type)) return;
    if (maxage && (now - s.created_ms) / 1000 < *maxage) return;
    if (&s == &ctx.session) {
      if (skipme) return;
      me = true;
    } else {
      // The registry lends a const view; the kill flag is the one field
      // other threads may set.
      const_cast<ClientSession&>(s).kill_requested.store(true);
      if (s.mailbox) s.mailbox->poke();
    }
    ++killed;
  });
  if (me) ctx.session.close_after_reply = true;
  if (old_form) {
    if (killed == 0) {
      ctx.reply.error("ERR No such client");
    } else {
      ctx.reply.ok();
    }
  } else {
    ctx.reply.integer(killed);
  }
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [NOLOOP]
// (server/tracking.h). OPTIN and OPTOUT are refused: not implemented.
void client_tracking(CommandContext& ctx, Args args) {
  const bool on = equals_ci(args[2], "on");
  if (!on && !equals_ci(args[2], "off")) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  TrackingOptions options;
  std::optional<uint64_t> redirect;
  for (size_t i = 3; i < args.size(); ++i) {
    int64_t n = 0;
    if (equals_ci(args[i], "redirect") && i + 1 < args.size()) {
      if (!parse_int64(args[++i], &n)) {
        ctx.reply.error(errors::kNotInteger);
        return;
      }
      if (n != 0 && static_cast<uint64_t>(n) != ctx.session.id) redirect = static_cast<uint64_t>(n);
    } else if (equals_ci(args[i], "prefix") && i + 1 < args.size()) {
      options.prefixes.emplace_back(args[++i]);
    } else if (equals_ci(args[i], "bcast")) {
      options.bcast = true;
    } else if (equals_ci(args[i], "noloop")) {
      options.noloop = true;
    } else if (equals_ci(args[i], "optin") || equals_ci(args[i], "optout")) {
      ctx.reply.error("ERR CLIENT TRACKING OPTIN and OPTOUT are not supported by geocached");
      return;
    } else {
      ctx.reply.error(errors::kSyntax);
      return;
    }
  }
  if (!on) {
    ctx.server.tracking().disable(&ctx.session);
    ctx.session.tracking = false;
    ctx.reply.ok();
    return;
  }
  if (!options.prefixes.empty() && !options.bcast) {
    ctx.reply.error("ERR PREFIX option requires BCAST mode to be enabled");
    return;
  }
  if (redirect) {
    ctx.server.for_each_client([&](const ClientSession& s) {
      if (s.id != *redirect) return;
      options.target = s.mailbox;
      options.target_protocol = s.protocol.load();
    });
    if (!options.target) {
      ctx.reply.error("ERR The client ID you want redirect to does not exist");
      return;
    }
    options.redirected = true;
  } else {
    options.target = ctx.session.mailbox;
    options.target_protocol = 3;  // only RESP3 clients can receive pushes on their own connection
    if (ctx.session.protocol.load() != 3) options.target = nullptr;
  }
  ctx.server.tracking().enable(&ctx.session, std::move(options));
  ctx.session.tracking = true;
  ctx.reply.ok();
}

void client_command(CommandContext& ctx, Args args) {
  std::string_view sub = args[1];
  if (equals_ci(sub, "id") && args.size() == 2) {
    ctx.reply.integer(static_cast<int64_t>(ctx.session.id));
  } else if (equals_ci(sub, "getname") && args.size() == 2) {
    std::string name = ctx.server.client_name(&ctx.session);
    if (name.empty()) {
      ctx.reply.null();
    } else {
      ctx.reply.bulk(name);
    }
  } else if (equals_ci(sub, "setname") && args.size() == 3) {
    if (!valid_client_name(args[2])) {
      ctx.reply.error(errors::kBadClientName);
      return;
    }
    ctx.server.set_client_name(&ctx.session, args[2]);
    ctx.reply.ok();
  } else if (equals_ci(sub, "setinfo") && args.size() == 4) {
    if (equals_ci(args[2], "lib-name")) {
      ctx.server.set_client_lib(&ctx.session, args[3], {});
    } else if (equals_ci(args[2], "lib-ver")) {
      ctx.server.set_client_lib(&ctx.session, {}, args[3]);
    } else {
      ctx.reply.error(errors::unrecognized_option(args[2]));
      return;
    }
    ctx.reply.ok();
  } else if (equals_ci(sub, "info") && args.size() == 2) {
    std::string line;
    ctx.server.for_each_client([&](const ClientSession& s) {
      if (&s == &ctx.session) append_client_line(s, ctx.server.now_ms(), &line);
    });
    ctx.reply.verbatim(line);
  } else if (equals_ci(sub, "list")) {
    client_list(ctx, args);
  } else if (equals_ci(sub, "kill") && args.size() >= 3) {
    client_kill(ctx, args);
  } else if (equals_ci(sub, "tracking") && args.size() >= 3) {
    client_tracking(ctx, args);
  } else if (equals_ci(sub, "getredir") && args.size() == 2) {
    ctx.reply.integer(ctx.session.tracking ? 0 : -1);
  } else if (equals_ci(sub, "caching") && args.size() == 3) {
    ctx.reply.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
  } else if (equals_ci(sub, "no-evict") || equals_ci(sub, "no-touch")) {
    ctx.reply.ok();
  } else if (equals_ci(sub, "help")) {
    ctx.reply.array_header(9);
    ctx.reply.simple("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("ID -- Return the ID of the current connection.");
    ctx.reply.simple("GETNAME -- Return the name of the current connection.");
    ctx.reply.simple("SETNAME <name> -- Assign the name <name> to the current connection.");
    ctx.reply.simple("SETINFO <LIB-NAME|LIB-VER> <value> -- Describe the client library.");
    ctx.reply.simple("INFO -- Return information about the current client connection.");
    ctx.reply.simple("LIST [TYPE <normal|pubsub>] [ID <id> ...] -- Return information about client connections.");
    ctx.reply.simple("KILL <ip:port> | <ID|ADDR|LADDR|USER|TYPE|SKIPME|MAXAGE> <value> ... -- Kill connections.");
    ctx.reply.simple("TRACKING <ON|OFF> [REDIRECT <id>] [BCAST] [PREFIX <prefix> ...] [NOLOOP] -- Client-side caching.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "client"));
  }
}

constexpr CommandSpec kConnectionCommands[] = {
    {"ping", -1, kCmdFast, ping_command, 0, 0, 0},
    {"echo", 2, kCmdFast, echo_command, 0, 0, 0},
    {"hello", -1, kCmdFast | kCmdNoAuth | kCmdNoScript, hello_command, 0, 0, 0},
    {"auth", -2, kCmdFast | kCmdNoAuth | kCmdNoScript, auth_command, 0, 0, 0},
    {"select", 2, kCmdFast, select_command, 0, 0, 0},
    {"quit", -1, kCmdFast | kCmdNoAuth | kCmdNoScript | kCmdTxnControl, quit_command, 0, 0, 0},
    {"reset", 1, kCmdFast | kCmdNoAuth | kCmdNoScript | kCmdTxnControl, reset_command, 0, 0, 0},
    {"client", -2, kCmdNoScript, client_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> connection_family() { return kConnectionCommands; }

}  // namespace geocache
