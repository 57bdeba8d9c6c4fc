// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (server/transaction.h
// has the design; the Redis documentation of each command is the spec).
#include <string>
#include <string_view>
#include <vector>

#include "server/client_session.h"
#include "server/command_families.h"
#include "server/command_table.h"
#include "server/errors.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

void multi_command(CommandContext& ctx, Args) {
  Transaction& t = transaction_of(ctx);
  if (t.queuing) return ctx.reply.error(errors::kMultiNested);  // does not abort the transaction, as in Redis
  t.queuing = true;
  t.dirty = false;
  t.queued.clear();
  ctx.reply.ok();
}

void discard_command(CommandContext& ctx, Args) {
  Transaction* t = ctx.session.txn.get();
  if (t == nullptr || !t->queuing) return ctx.reply.error(errors::kDiscardWithoutMulti);
  t->queuing = false;
  t->queued.clear();
  t->unwatch();
  ctx.reply.ok();
}

// A watched key was written, or was live at WATCH and is not now (expired,
// evicted). REQUIRES: inside the exclusive section.
bool watch_broken(CommandContext& ctx, const Transaction& t) {
  if (t.touched()) return true;
  for (size_t i = 0; i < t.watched().size(); ++i) {
    const auto& [region, key] = t.watched()[i];
    if (t.was_live(i) && !ctx.cache.reader(region).contains(key)) return true;
  }
  return false;
}

void exec_command(CommandContext& ctx, Args) {
  Transaction* t = ctx.session.txn.get();
  if (t == nullptr || !t->queuing) return ctx.reply.error(errors::kExecWithoutMulti);
  t->queuing = false;
  std::vector<std::vector<std::string>> queued = std::move(t->queued);
  t->queued.clear();
  if (t->dirty) {
    t->unwatch();
    return ctx.reply.error(errors::kExecAbort);
  }
  ctx.cache.run_exclusive(ctx.gate_slot, [&] {
    if (watch_broken(ctx, *t)) return ctx.reply.null_array();
    ctx.reply.array_header(queued.size());
    std::vector<std::string_view> views;
    for (const std::vector<std::string>& command : queued) {
      views.assign(command.begin(), command.end());
      ctx.session.answer_now = true;  // nothing may wait inside (GEO.WAIT, a miss fallback)
      CommandTable::instance().dispatch(ctx, views);
    }
  });
  // EXEC forgets the watches whatever happened (no queued command can
  // replace the session's transaction: MULTI, RESET, ... are never queued).
  t->unwatch();
}

void watch_command(CommandContext& ctx, Args args) {
  Transaction& t = transaction_of(ctx);
  if (t.queuing) return ctx.reply.error(errors::kWatchInMulti);
  RegionReader reader = ctx.cache.reader(ctx.region);
  for (size_t i = 1; i < args.size(); ++i) t.watch(ctx.region, args[i], reader.contains(args[i]));
  ctx.reply.ok();
}

void unwatch_command(CommandContext& ctx, Args) {
  if (ctx.session.txn) ctx.session.txn->unwatch();
  ctx.reply.ok();
}

constexpr uint32_t kTx = kCmdFast | kCmdNoScript;
const CommandSpec kTransactionCommands[] = {
    {"multi", 1, kTx | kCmdTxnControl, multi_command, 0, 0, 0},
    {"exec", 1, kCmdNoScript | kCmdTxnControl, exec_command, 0, 0, 0},
    {"discard", 1, kTx | kCmdTxnControl, discard_command, 0, 0, 0},
    {"watch", -2, kTx | kCmdTxnControl, watch_command, 1, -1, 1},
    {"unwatch", 1, kTx, unwatch_command, 0, 0, 0},
};

}  // namespace

Transaction& transaction_of(CommandContext& ctx) {
  if (!ctx.session.txn) ctx.session.txn = std::make_unique<Transaction>(ctx.cache.watches());
  return *ctx.session.txn;
}

void queue_command(CommandContext& ctx, uint32_t flags, Args args) {
  Transaction& t = *ctx.session.txn;
  if (flags & kCmdNoMulti) return reject_command(ctx, errors::kNotInMulti);
  t.queued.emplace_back(args.begin(), args.end());
  ctx.reply.simple("QUEUED");
}

void reject_command(CommandContext& ctx, std::string_view error) {
  if (ctx.session.txn != nullptr && ctx.session.txn->queuing) ctx.session.txn->dirty = true;
  ctx.reply.error(error);
}

std::span<const CommandSpec> transaction_family() { return kTransactionCommands; }

}  // namespace geocache
