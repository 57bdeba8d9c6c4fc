// CommandTable: the one table of commands, joined from the families
// (command_families.h), and dispatch, which checks a command against its row
// (known name, arity, authentication) before the handler runs.
//
// Thread-safety: the table is built once (on first use) and read-only after.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "server/command.h"

namespace geocache {

class CommandTable {
 public:
  static const CommandTable& instance();

  // The row for a command name in any letter case, or nullptr. Does not
  // allocate.
  const CommandSpec* find(std::string_view name) const;
  std::span<const CommandSpec> all() const { return rows_; }
  // The family ("string", "hash", "connection", ...) a row came from (COMMAND DOCS).
  std::string_view group(const CommandSpec& spec) const;

  // Runs one command: unknown name, wrong arity and missing AUTH get their
  // Redis error; otherwise the handler replies. "POST" or "Host:" (an HTTP
  // request on this port) gets no reply and sets session.close_after_reply,
  // as Redis does. REQUIRES: !args.empty().
  void dispatch(CommandContext& ctx, std::span<const std::string_view> args) const;

  // Calls fn(index) for each key argument of a command of argc arguments,
  // from its row's key positions (Redis' first, last, step; last -1 = the
  // last argument).
  template <typename Fn>
  static void for_each_key(const CommandSpec& spec, size_t argc, Fn fn) {
    if (spec.first_key <= 0 || spec.key_step <= 0) return;
    const int last = spec.last_key < 0 ? static_cast<int>(argc) + spec.last_key : spec.last_key;
    for (int i = spec.first_key; i <= last && i < static_cast<int>(argc); i += spec.key_step) {
      fn(static_cast<size_t>(i));
    }
  }

 private:
  CommandTable();
  std::vector<CommandSpec> rows_;
  std::vector<std::string_view> groups_;  // parallel to rows_
  // Open addressing over lower-case names; sized to a power of two.
  std::vector<int> slots_;
};

}  // namespace geocache
