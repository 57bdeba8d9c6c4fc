// The command table. Each family file contributes its rows.
//
// Lookup is a small open-addressing hash over the lower-case names, probed
// with the client's spelling folded to lower case on the fly: no allocation,
// no copy, one or two comparisons per command.
#include "server/command_table.h"

#include <cassert>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/client_session.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/databases.h"
#include "server/errors.h"
#include "server/server_state.h"
#include "spdlog/spdlog.h"

namespace geocache {
namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// FNV-1a over the lower-cased bytes.
uint64_t name_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ull;
  }
  return h;
}

bool equal_folded(std::string_view lower_name, std::string_view s) {
  if (lower_name.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (lower_name[i] != lower(s[i])) return false;
  }
  return true;
}

// "POST" and "Host:" are not commands but the first words of an HTTP
// request's lines. A web page can make a browser send one to this port
// (cross-protocol scripting) with Redis commands in its body, which an
// inline-command parser would run after erroring on the headers; so, like
// Redis, the connection is dropped at the first such line, with no reply.
bool is_http_line(std::string_view name) { return equal_folded("post", name) || equal_folded("host:", name); }

void drop_http_client(CommandContext& ctx) {
  ctx.session.close_after_reply = true;
  uint64_t held = 0;
  if (ctx.server.http_warning_log.allow(ctx.server.now_ms(), &held)) {
    spdlog::warn(
        "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to "
        "geocached (client {}). This is likely due to an attacker attempting to use Cross Protocol Scripting "
        "to compromise your cache. Connection aborted. ({} more since the last such line)",
        ctx.session.addr, held);
  }
}

// What a RESP2 client may send while subscribed (Redis' list).
bool allowed_while_subscribed(std::string_view name) {
  return name == "subscribe" || name == "unsubscribe" || name == "psubscribe" || name == "punsubscribe" ||
         name == "ping" || name == "quit" || name == "reset";
}

}  // namespace

const CommandTable& CommandTable::instance() {
  static const CommandTable table;
  return table;
}

CommandTable::CommandTable() {
  auto add = [&](std::span<const CommandSpec> family, std::string_view group) {
    for (const CommandSpec& spec : family) {
      rows_.push_back(spec);
      groups_.push_back(group);
    }
  };
  add(string_family(), "string");
  add(key_family(), "generic");
  add(hash_family(), "hash");
  add(set_family(), "set");
  add(zset_family(), "sorted-set");
  add(list_family(), "list");
  add(json_family(), "json");
  add(connection_family(), "connection");
  add(server_family(), "server");
  add(geo_family(), "geo");
  add(transaction_family(), "transactions");
  add(scripting_family(), "scripting");
  add(pubsub_family(), "pubsub");

  size_t cap = 16;
  while (cap < rows_.size() * 4) cap <<= 1;
  slots_.assign(cap, -1);
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (find(rows_[i].name) != nullptr) {
      // Two families claiming one name is a programming error.
      throw std::logic_error("command registered twice: " + std::string(rows_[i].name));
    }
    size_t slot = name_hash(rows_[i].name) & (cap - 1);
    while (slots_[slot] >= 0) slot = (slot + 1) & (cap - 1);
    slots_[slot] = static_cast<int>(i);
  }
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  const size_t mask = slots_.size() - 1;
  for (size_t slot = name_hash(name) & mask;; slot = (slot + 1) & mask) {
    int i = slots_[slot];
    if (i < 0) return nullptr;
    if (equal_folded(rows_[static_cast<size_t>(i)].name, name)) return &rows_[static_cast<size_t>(i)];
  }
}

std::string_view CommandTable::group(const CommandSpec& spec) const {
  size_t i = static_cast<size_t>(&spec - rows_.data());
  return i < groups_.size() ? groups_[i] : std::string_view("server");
}

void CommandTable::dispatch(CommandContext& ctx, std::span<const std::string_view> args) const {
  assert(!args.empty());
  const CommandSpec* spec = find(args[0]);
  if (spec == nullptr) {
    if (is_http_line(args[0])) return drop_http_client(ctx);
    ctx.server.stats().unknown_commands.fetch_add(1, std::memory_order_relaxed);
    return reject_command(ctx, errors::unknown_command(args[0], args.subspan(1)));
  }
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    return reject_command(ctx, errors::wrong_arity(spec->name));
  }
  if (!ctx.session.authenticated && !(spec->flags & kCmdNoAuth) && ctx.server.auth_required()) {
    return reject_command(ctx, errors::kNoAuth);
  }
  if (ctx.session.txn != nullptr && ctx.session.txn->queuing && !(spec->flags & kCmdTxnControl)) {
    return queue_command(ctx, spec->flags, args);
  }
  if (ctx.session.protocol.load(std::memory_order_relaxed) == 2 &&
      (ctx.session.subscriptions.load(std::memory_order_relaxed) > 0 ||
       ctx.session.pattern_subscriptions.load(std::memory_order_relaxed) > 0) &&
      !allowed_while_subscribed(spec->name)) {
    ctx.reply.error(errors::only_while_subscribed(spec->name));
    return;
  }
  ctx.session.last_command.store(spec, std::memory_order_relaxed);

  // A database other than 0 (SELECT) stores its keys behind a prefix
  // (server/databases.h): the handler sees the stored keys.
  std::span<const std::string_view> run_args = args;
  std::vector<std::string> stored;
  std::vector<std::string_view> stored_views;
  const int db = ctx.session.db.load(std::memory_order_relaxed);
  if (db != 0 && spec->first_key > 0) {
    CommandTable::for_each_key(*spec, args.size(), [&](size_t i) { stored.push_back(db_key(db, args[i])); });
    stored_views.assign(args.begin(), args.end());
    size_t k = 0;
    CommandTable::for_each_key(*spec, args.size(), [&](size_t i) { stored_views[i] = stored[k++]; });
    run_args = stored_views;
    if (spec->flags & kCmdWrite) other_databases_seen().store(true, std::memory_order_relaxed);
  }

  const int64_t slower_than = ctx.server.slowlog_slower_than_us.load(std::memory_order_relaxed);
  const auto start = slower_than >= 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  spec->handler(ctx, run_args);
  if (slower_than >= 0) {
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    if (us >= slower_than) {
      ctx.server.slowlog().add(args, ctx.server.now_ms() / 1000, us, ctx.session.addr,
                               ctx.server.client_name(&ctx.session),
                               ctx.server.slowlog_max_len.load(std::memory_order_relaxed));
    }
  }

  // Client-side caching (server/tracking.h): what a tracking client reads
  // is remembered, what anyone writes is invalidated. Keys as the clients
  // name them, whatever their database (as Redis tracks them).
  Tracking& tracking = ctx.server.tracking();
  if (!tracking.active()) return;
  if ((spec->flags & kCmdReadOnly) && ctx.session.tracking) {
    CommandTable::for_each_key(*spec, args.size(), [&](size_t i) { tracking.remember(&ctx.session, args[i]); });
  }
  if (spec->flags & kCmdWrite) {
    if (spec->first_key > 0) {
      CommandTable::for_each_key(*spec, args.size(), [&](size_t i) { tracking.invalidate(args[i], &ctx.session); });
    } else if (spec->name == "flushall" || spec->name == "flushdb") {
      tracking.invalidate_all();
    }
  }
}

}  // namespace geocache
