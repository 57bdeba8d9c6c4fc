// Connection commands: the ones about the client's own session rather than
// the data (Redis' "connection" group): PING, ECHO, HELLO, AUTH, SELECT,
// QUIT, RESET and CLIENT.
#include <charconv>
#include <string>

#include "server/arg_parser.h"
#include "server/client_info.h"
#include "server/client_session.h"
#include "server/command_families.h"
#include "server/errors.h"
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

void select_command(CommandContext& ctx, Args args) {
  int64_t db = 0;
  if (!parse_int64(args[1], &db)) {
    ctx.reply.error(errors::kNotInteger);
  } else if (db != 0) {
    ctx.reply.error(errors::kDbIndexOutOfRange);
  } else {
    ctx.reply.ok();
  }
}

void quit_command(CommandContext& ctx, Args) {
  ctx.reply.ok();
  ctx.session.close_after_reply = true;
}

void reset_command(CommandContext& ctx, Args) {
  set_protocol(ctx, 2);
  ctx.server.set_client_name(&ctx.session, "");
  ctx.session.authenticated = !ctx.server.auth_required();
  ctx.session.txn.reset();  // leaves MULTI, forgets the WATCHed keys
  ctx.reply.simple("RESET");
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
    if (args.size() > 2 && !(args.size() == 4 && equals_ci(args[2], "type"))) {
      ctx.reply.error(errors::kSyntax);
      return;
    }
    std::string text;
    const int64_t now = ctx.server.now_ms();
    ctx.server.for_each_client([&](const ClientSession& s) { append_client_line(s, now, &text); });
    ctx.reply.verbatim(text);
  } else if (equals_ci(sub, "no-evict") || equals_ci(sub, "no-touch")) {
    ctx.reply.ok();
  } else if (equals_ci(sub, "help")) {
    ctx.reply.array_header(7);
    ctx.reply.simple("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("ID -- Return the ID of the current connection.");
    ctx.reply.simple("GETNAME -- Return the name of the current connection.");
    ctx.reply.simple("SETNAME <name> -- Assign the name <name> to the current connection.");
    ctx.reply.simple("SETINFO <LIB-NAME|LIB-VER> <value> -- Describe the client library.");
    ctx.reply.simple("INFO -- Return information about the current client connection.");
    ctx.reply.simple("LIST -- Return information about client connections.");
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
