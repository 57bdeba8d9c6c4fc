// Pub/sub commands (Redis' "pubsub" group): SUBSCRIBE, UNSUBSCRIBE,
// PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT|HELP.
// Channels are local to the process (server/pubsub.h). Each (un)subscription
// is confirmed by its own [kind, channel, count] message, a push in RESP3.
#include <string>

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/errors.h"
#include "server/pubsub.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

int64_t subscription_count(const ClientSession& s) {
  return static_cast<int64_t>(s.channels.size() + s.patterns.size());
}

void confirm(CommandContext& ctx, std::string_view kind, std::string_view name, bool null_name = false) {
  ctx.reply.push_header(3);
  ctx.reply.bulk(kind);
  if (null_name) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk(name);
  }
  ctx.reply.integer(subscription_count(ctx.session));
}

void subscribe_command(CommandContext& ctx, Args args) {
  for (size_t i = 1; i < args.size(); ++i) {
    ctx.server.pubsub().subscribe(&ctx.session, args[i]);
    confirm(ctx, "subscribe", args[i]);
  }
}

void psubscribe_command(CommandContext& ctx, Args args) {
  for (size_t i = 1; i < args.size(); ++i) {
    ctx.server.pubsub().psubscribe(&ctx.session, args[i]);
    confirm(ctx, "psubscribe", args[i]);
  }
}

// UNSUBSCRIBE [channel ...]: none named means all; with none to leave, one
// confirmation with a null channel, as Redis sends.
void unsubscribe_command(CommandContext& ctx, Args args) {
  if (args.size() == 1) {
    if (ctx.session.channels.empty()) return confirm(ctx, "unsubscribe", {}, /*null_name=*/true);
    while (!ctx.session.channels.empty()) {
      const std::string channel = *ctx.session.channels.begin();
      ctx.server.pubsub().unsubscribe(&ctx.session, channel);
      confirm(ctx, "unsubscribe", channel);
    }
    return;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    ctx.server.pubsub().unsubscribe(&ctx.session, args[i]);
    confirm(ctx, "unsubscribe", args[i]);
  }
}

void punsubscribe_command(CommandContext& ctx, Args args) {
  if (args.size() == 1) {
    if (ctx.session.patterns.empty()) return confirm(ctx, "punsubscribe", {}, /*null_name=*/true);
    while (!ctx.session.patterns.empty()) {
      const std::string pattern = *ctx.session.patterns.begin();
      ctx.server.pubsub().punsubscribe(&ctx.session, pattern);
      confirm(ctx, "punsubscribe", pattern);
    }
    return;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    ctx.server.pubsub().punsubscribe(&ctx.session, args[i]);
    confirm(ctx, "punsubscribe", args[i]);
  }
}

void publish_command(CommandContext& ctx, Args args) {
  const size_t n = ctx.server.pubsub().publish(args[1], args[2], ctx.server.pubsub_output_buffer_limit.load());
  ctx.reply.integer(static_cast<int64_t>(n));
}

void pubsub_command(CommandContext& ctx, Args args) {
  const std::string_view sub = args[1];
  PubSub& ps = ctx.server.pubsub();
  if (equals_ci(sub, "channels") && args.size() <= 3) {
    const std::vector<std::string> names = ps.channels(args.size() == 3 ? args[2] : std::string_view());
    ctx.reply.array_header(names.size());
    for (const std::string& n : names) ctx.reply.bulk(n);
  } else if (equals_ci(sub, "numsub")) {
    ctx.reply.map_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      ctx.reply.bulk(args[i]);
      ctx.reply.integer(static_cast<int64_t>(ps.numsub(args[i])));
    }
  } else if (equals_ci(sub, "numpat") && args.size() == 2) {
    ctx.reply.integer(static_cast<int64_t>(ps.numpat()));
  } else if (equals_ci(sub, "help") && args.size() == 2) {
    ctx.reply.array_header(5);
    ctx.reply.simple("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("CHANNELS [<pattern>] -- Return the currently active channels matching a <pattern>.");
    ctx.reply.simple("NUMPAT -- Return number of subscriptions to patterns.");
    ctx.reply.simple("NUMSUB [<channel> ...] -- Return the number of subscribers for the specified channels.");
    ctx.reply.simple("HELP -- Print this help.");
  } else if (equals_ci(sub, "channels") || equals_ci(sub, "numpat") || equals_ci(sub, "help")) {
    ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) +
                    "'. Try PUBSUB HELP.");
  } else {
    ctx.reply.error(errors::unknown_subcommand(sub, "pubsub"));
  }
}

constexpr CommandSpec kPubSubCommands[] = {
    {"subscribe", -2, kCmdFast, subscribe_command, 0, 0, 0},
    {"unsubscribe", -1, kCmdFast, unsubscribe_command, 0, 0, 0},
    {"psubscribe", -2, kCmdFast, psubscribe_command, 0, 0, 0},
    {"punsubscribe", -1, kCmdFast, punsubscribe_command, 0, 0, 0},
    {"publish", 3, kCmdFast, publish_command, 0, 0, 0},
    {"pubsub", -2, 0, pubsub_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> pubsub_family() { return kPubSubCommands; }

}  // namespace geocache
