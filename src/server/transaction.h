// Transaction: one client's MULTI/EXEC and WATCH state (Redis' semantics).
//
// Between MULTI and EXEC the command table queues each command instead of
// running it (CommandTable::dispatch calls queue_command): it answers
// +QUEUED, or an error that marks the transaction dirty (unknown command,
// wrong arity, NOAUTH, a command not allowed in MULTI), and EXEC then
// answers EXECABORT and runs nothing. MULTI, EXEC, DISCARD, WATCH, QUIT and
// RESET run at once (kCmdTxnControl).
//
// EXEC runs the queue inside GeoCache::run_exclusive: no other client of
// the process runs a command, and no replicated write is applied, while it
// runs, and its writes replicate as one group. It aborts (a nil array) if a
// WATCHed key was written since WATCH, by anyone, locally or by
// replication (KeyWatches), or expired or was evicted (live then, absent now).
//
// Thread-safety: owned by the connection's session, used on its thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/key_watches.h"

namespace geocache {

struct CommandContext;

class Transaction {
 public:
  explicit Transaction(KeyWatches& watches) : watches_(watches) {}
  ~Transaction() { unwatch(); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  bool queuing = false;  // between MULTI and EXEC / DISCARD
  bool dirty = false;    // a command was refused while queuing: EXEC aborts
  std::vector<std::vector<std::string>> queued;

  void watch(RegionId region, std::string_view key, bool live) {
    const size_t before = watcher_.keys.size();
    watches_.watch(&watcher_, region, key);
    if (watcher_.keys.size() > before) live_.push_back(live);
  }
  void unwatch() {
    watches_.unwatch_all(&watcher_);
    live_.clear();
  }
  // Whether a watched key was written since WATCH. Keys live then and
  // absent now (expired, evicted) are checked by the caller through
  // watched() and was_live().
  bool touched() const { return watcher_.touched.load(std::memory_order_relaxed); }
  const std::vector<std::pair<RegionId, std::string>>& watched() const { return watcher_.keys; }
  bool was_live(size_t i) const { return live_[i]; }

 private:
  KeyWatches& watches_;
  KeyWatches::Watcher watcher_;
  std::vector<bool> live_;  // parallel to watcher_.keys
};

// The session's transaction, made on first use.
Transaction& transaction_of(CommandContext& ctx);
// Between MULTI and EXEC: dispatch hands every command but the
// kCmdTxnControl ones here, once its name, arity and AUTH were checked.
// Queues it and answers +QUEUED, or refuses it and marks the transaction dirty.
void queue_command(CommandContext& ctx, uint32_t flags, std::span<const std::string_view> args);
// Replies an error that a command met before it could run (unknown, wrong
// arity, NOAUTH); inside MULTI it also marks the transaction dirty, so EXEC
// aborts, as in Redis.
void reject_command(CommandContext& ctx, std::string_view error);

}  // namespace geocache
