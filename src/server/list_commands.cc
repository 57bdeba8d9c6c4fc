// List commands: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE,
// LINDEX, LSET, LREM, LTRIM, LINSERT, LPOS, LMOVE, RPOPLPUSH. Redis 7
// semantics and reply bytes. The blocking forms (BLPOP, BRPOP, BLMOVE) are
// not built.
//
// A list is a whole value (kList, core/list.h), last-writer-wins as a key.
// A command reads the list it changes and writes its ops (ListOps): the
// store turns them into the new list under the key's lock (GeoCache::mutate)
// and the ops, with the version of the list they changed, are what
// replicates, so an LPUSH costs O(1) on the wire whatever the list's length.
// A region whose list is not that version fetches the whole key from the
// writer (docs/design.md, "Lists"). In memory a write copies the list once
// (O(n) bytes); reads walk it from the head.
//
// A list emptied by a pop, LREM or LTRIM is deleted, as in Redis. LMOVE and
// RPOPLPUSH between two keys pop then push, each under its own key's lock:
// not atomic across keys (as SMOVE); the destination's type is checked first.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/list.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;
using Elements = std::vector<std::string_view>;

constexpr std::string_view kRankZero =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start "
    "from the end of the list";
constexpr std::string_view kRankOutOfRange =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
constexpr std::string_view kCountNegative = "ERR COUNT can't be negative";
constexpr std::string_view kMaxlenNegative = "ERR MAXLEN can't be negative";

// Calls fn with the list at key (null if absent) under the store's lock: fn
// may reply but must not touch the cache. False after replying WRONGTYPE if
// the key holds something else.
template <typename Fn>
bool read_list_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  bool wrong_type = false;
  const bool found = ctx.cache.reader(ctx.region).get(key, [&](const RecordView& rec) {
    if (rec.kind != ValueKind::kList) {
      wrong_type = true;
      return;
    }
    const ListView list(rec.bytes);
    fn(&list);
  });
  if (wrong_type) return ok_or_reply(ctx, Status::WrongType());
  if (!found) fn(static_cast<const ListView*>(nullptr));
  return true;
}

// Read-modify-write of the list at key: fn(list or null, ListOps*) adds the
// ops of the change (none: nothing is written) or returns a non-ok status to
// refuse. The write keeps the list's expiry (a new list gets the default
// TTL) and replicates the ops, not the list. False once it has replied an
// error.
template <typename Fn>
bool update_list_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return mutate_or_reply(ctx, key, [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur != nullptr && cur->kind != ValueKind::kList) return Status::WrongType();
    std::optional<ListView> list;
    if (cur != nullptr) list.emplace(cur->bytes);
    ListOps ops;
    if (Status st = fn(list ? &*list : nullptr, &ops); !st.ok()) return st;
    if (ops.empty()) return Status::Ok();
    *next = make_record(ValueKind::kListOp, ops.encode(Version{}),
                        cur != nullptr ? cur->expire_at_ms : default_expire_at(ctx.cache));
    return Status::Ok();
  });
}

size_t length(const ListView* list) { return list != nullptr ? list->size() : 0; }

// Redis' index arithmetic: negative counts from the tail. The position, or
// nullopt if out of range.
std::optional<size_t> resolve_index(int64_t index, size_t len) {
  if (index < 0) index += static_cast<int64_t>(len);
  if (index < 0 || static_cast<uint64_t>(index) >= len) return std::nullopt;
  return static_cast<size_t>(index);
}

// LRANGE/LTRIM's [start, end] made a half-open range within the list;
// empty (start == end) if nothing is in it.
std::pair<size_t, size_t> resolve_range(int64_t start, int64_t stop, size_t len) {
  const auto n = static_cast<int64_t>(len);
  if (start < 0) start = std::max<int64_t>(0, start + n);
  if (stop < 0) stop += n;
  if (start > stop || start >= n) return {0, 0};
  stop = std::min(stop, n - 1);
  return {static_cast<size_t>(start), static_cast<size_t>(stop) + 1};
}

void reply_elements(CommandContext& ctx, const Elements& elements) {
  ctx.reply.array_header(elements.size());
  for (std::string_view e : elements) ctx.reply.bulk(e);
}

// ---------------------------------------------------------------------------
// Pushes and pops
// ---------------------------------------------------------------------------

// LPUSH/RPUSH (only_existing: LPUSHX/RPUSHX) key element...
void push(CommandContext& ctx, Args args, bool head, bool only_existing) {
  int64_t len = 0;
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    len = static_cast<int64_t>(length(list));
    if (list == nullptr && only_existing) return Status::Ok();
    // LPUSH a b c pushes one at a time: c ends first.
    Elements elements(args.begin() + 2, args.end());
    if (head) {
      std::reverse(elements.begin(), elements.end());
      ops->push_head(elements);
    } else {
      ops->push_tail(elements);
    }
    len += static_cast<int64_t>(elements.size());
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(len);
}

void lpush_command(CommandContext& ctx, Args args) { push(ctx, args, true, false); }
void rpush_command(CommandContext& ctx, Args args) { push(ctx, args, false, false); }
void lpushx_command(CommandContext& ctx, Args args) { push(ctx, args, true, true); }
void rpushx_command(CommandContext& ctx, Args args) { push(ctx, args, false, true); }

// LPOP/RPOP key [count]
void pop(CommandContext& ctx, Args args, bool head) {
  std::optional<int64_t> count;
  if (args.size() > 3) {
    ctx.reply.error(errors::wrong_arity(head ? "lpop" : "rpop"));
    return;
  }
  if (args.size() == 3) {
    int64_t n = 0;
    if (!parse_int64(args[2], &n) || n < 0) {
      ctx.reply.error(errors::kMustBePositive);
      return;
    }
    count = n;
  }
  std::vector<std::string> popped;
  bool found = false;
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::Ok();
    found = true;
    const size_t n = std::min<size_t>(count.value_or(1), list->size());
    if (n == 0) return Status::Ok();
    const Elements taken = head ? list->range(0, n) : list->range(list->size() - n, list->size());
    popped.assign(taken.begin(), taken.end());
    if (!head) std::reverse(popped.begin(), popped.end());  // RPOP answers from the tail in
    if (head) ops->pop_head(n);
    else ops->pop_tail(n);
    return Status::Ok();
  });
  if (!ok) return;
  if (!count) {
    if (popped.empty()) ctx.reply.null();
    else ctx.reply.bulk(popped[0]);
    return;
  }
  if (!found) {
    ctx.reply.null_array();
    return;
  }
  ctx.reply.array_header(popped.size());
  for (const auto& e : popped) ctx.reply.bulk(e);
}

void lpop_command(CommandContext& ctx, Args args) { pop(ctx, args, true); }
void rpop_command(CommandContext& ctx, Args args) { pop(ctx, args, false); }

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH (RIGHT LEFT).
void move(CommandContext& ctx, std::string_view source, std::string_view destination, bool from_head, bool to_head) {
  std::optional<std::string> moved;
  if (source == destination) {
    const bool ok = update_list_or_reply(ctx, source, [&](const ListView* list, ListOps* ops) {
      if (list == nullptr) return Status::Ok();
      moved.emplace(from_head ? list->at(0) : list->at(list->size() - 1));
      if (from_head) ops->pop_head(1);
      else ops->pop_tail(1);
      if (to_head) ops->push_head({*moved});
      else ops->push_tail({*moved});
      return Status::Ok();
    });
    if (!ok) return;
    if (moved) ctx.reply.bulk(*moved);
    else ctx.reply.null();
    return;
  }
  bool source_found = false;
  if (!read_list_or_reply(ctx, source, [&](const ListView* list) { source_found = list != nullptr; })) return;
  if (!source_found) {
    ctx.reply.null();
    return;
  }
  // Checked before the pop, so a WRONGTYPE destination loses nothing.
  if (!read_list_or_reply(ctx, destination, [](const ListView*) {})) return;
  const bool ok = update_list_or_reply(ctx, source, [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::Ok();
    moved.emplace(from_head ? list->at(0) : list->at(list->size() - 1));
    if (from_head) ops->pop_head(1);
    else ops->pop_tail(1);
    return Status::Ok();
  });
  if (!ok) return;
  if (!moved) {
    ctx.reply.null();  // emptied in between
    return;
  }
  const bool pushed = update_list_or_reply(ctx, destination, [&](const ListView*, ListOps* ops) {
    if (to_head) ops->push_head({*moved});
    else ops->push_tail({*moved});
    return Status::Ok();
  });
  if (pushed) ctx.reply.bulk(*moved);
}

bool parse_side(std::string_view word, bool* head) {
  if (equals_ci(word, "LEFT")) *head = true;
  else if (equals_ci(word, "RIGHT")) *head = false;
  else return false;
  return true;
}

void lmove_command(CommandContext& ctx, Args args) {
  bool from_head = false, to_head = false;
  if (!parse_side(args[3], &from_head) || !parse_side(args[4], &to_head)) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  move(ctx, args[1], args[2], from_head, to_head);
}

void rpoplpush_command(CommandContext& ctx, Args args) { move(ctx, args[1], args[2], false, true); }

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

void llen_command(CommandContext& ctx, Args args) {
  read_list_or_reply(ctx, args[1], [&](const ListView* list) { ctx.reply.integer(static_cast<int64_t>(length(list))); });
}

void lrange_command(CommandContext& ctx, Args args) {
  int64_t start = 0, stop = 0;
  if (!parse_int64(args[2], &start) || !parse_int64(args[3], &stop)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  read_list_or_reply(ctx, args[1], [&](const ListView* list) {
    const auto [from, to] = resolve_range(start, stop, length(list));
    reply_elements(ctx, list != nullptr ? list->range(from, to) : Elements{});
  });
}

void lindex_command(CommandContext& ctx, Args args) {
  int64_t index = 0;
  if (!parse_int64(args[2], &index)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  read_list_or_reply(ctx, args[1], [&](const ListView* list) {
    const std::optional<size_t> at = list != nullptr ? resolve_index(index, list->size()) : std::nullopt;
    if (at) ctx.reply.bulk(list->at(*at));
    else ctx.reply.null();
  });
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
void lpos_command(CommandContext& ctx, Args args) {
  int64_t rank = 1, count = -1, maxlen = 0;  // count -1: no COUNT (one answer, not an array)
  ArgParser p(args, 3);
  while (p.has_next()) {
    if (p.check("RANK")) {
      rank = p.next_int();
      if (p.ok() && rank == 0) p.fail(kRankZero);
      if (p.ok() && rank == INT64_MIN) p.fail(kRankOutOfRange);
    } else if (p.check("COUNT")) {
      count = p.next_int();
      if (p.ok() && count < 0) p.fail(kCountNegative);
    } else if (p.check("MAXLEN")) {
      maxlen = p.next_int();
      if (p.ok() && maxlen < 0) p.fail(kMaxlenNegative);
    } else {
      p.fail(errors::kSyntax);
    }
  }
  if (!p.ok_or_reply(ctx.reply)) return;
  read_list_or_reply(ctx, args[1], [&](const ListView* list) {
    std::vector<int64_t> found;
    if (list != nullptr) {
      const Elements elements = list->elements();
      const auto n = static_cast<int64_t>(elements.size());
      const int64_t wanted = count == 0 ? n : std::max<int64_t>(count, 1);
      int64_t skip = (rank > 0 ? rank : -rank) - 1;  // matches to pass over first
      const int64_t limit = maxlen == 0 ? n : std::min(maxlen, n);
      for (int64_t step = 0; step < limit && static_cast<int64_t>(found.size()) < wanted; ++step) {
        const int64_t i = rank > 0 ? step : n - 1 - step;
        if (elements[static_cast<size_t>(i)] != args[2]) continue;
        if (skip > 0) {
          --skip;
          continue;
        }
        found.push_back(i);
      }
    }
    if (count < 0) {
      if (found.empty()) ctx.reply.null();
      else ctx.reply.integer(found[0]);
      return;
    }
    ctx.reply.array_header(found.size());
    for (int64_t i : found) ctx.reply.integer(i);
  });
}

// ---------------------------------------------------------------------------
// Changes in place
// ---------------------------------------------------------------------------

void lset_command(CommandContext& ctx, Args args) {
  int64_t index = 0;
  if (!parse_int64(args[2], &index)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::NotFound();
    const std::optional<size_t> at = resolve_index(index, list->size());
    if (!at) return Status::InvalidArgument("index out of range");
    ops->set(*at, args[3]);
    return Status::Ok();
  });
  if (ok) ctx.reply.ok();
}

void lrem_command(CommandContext& ctx, Args args) {
  int64_t count = 0;
  if (!parse_int64(args[2], &count)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  int64_t removed = 0;
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::Ok();
    const uint64_t limit = count == 0 ? UINT64_MAX
                           : count > 0 ? static_cast<uint64_t>(count)
                                       : uint64_t{0} - static_cast<uint64_t>(count);
    for (std::string_view e : list->elements()) {
      if (e == args[3] && static_cast<uint64_t>(removed) < limit) ++removed;
    }
    if (removed > 0) ops->remove(count, args[3]);
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(removed);
}

void ltrim_command(CommandContext& ctx, Args args) {
  int64_t start = 0, stop = 0;
  if (!parse_int64(args[2], &start) || !parse_int64(args[3], &stop)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::Ok();
    const auto [from, to] = resolve_range(start, stop, list->size());
    if (from == 0 && to == list->size()) return Status::Ok();  // keeps everything: no write
    ops->trim(from, to - from);
    return Status::Ok();
  });
  if (ok) ctx.reply.ok();
}

// LINSERT key BEFORE|AFTER pivot element
void linsert_command(CommandContext& ctx, Args args) {
  bool after = false;
  if (equals_ci(args[2], "AFTER")) after = true;
  else if (!equals_ci(args[2], "BEFORE")) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  int64_t reply = 0;
  const bool ok = update_list_or_reply(ctx, args[1], [&](const ListView* list, ListOps* ops) {
    if (list == nullptr) return Status::Ok();  // 0
    const Elements elements = list->elements();
    if (std::find(elements.begin(), elements.end(), args[3]) == elements.end()) {
      reply = -1;
      return Status::Ok();
    }
    ops->insert(after, args[3], args[4]);
    reply = static_cast<int64_t>(elements.size()) + 1;
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(reply);
}

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kListCommands[] = {
    {"lpush", -3, kW | kM | kF, lpush_command, 1, 1, 1},
    {"rpush", -3, kW | kM | kF, rpush_command, 1, 1, 1},
    {"lpushx", -3, kW | kM | kF, lpushx_command, 1, 1, 1},
    {"rpushx", -3, kW | kM | kF, rpushx_command, 1, 1, 1},
    {"lpop", -2, kW | kF, lpop_command, 1, 1, 1},
    {"rpop", -2, kW | kF, rpop_command, 1, 1, 1},
    {"llen", 2, kR | kF, llen_command, 1, 1, 1},
    {"lrange", 4, kR, lrange_command, 1, 1, 1},
    {"lindex", 3, kR, lindex_command, 1, 1, 1},
    {"lset", 4, kW | kM, lset_command, 1, 1, 1},
    {"lrem", 4, kW, lrem_command, 1, 1, 1},
    {"ltrim", 4, kW, ltrim_command, 1, 1, 1},
    {"linsert", 5, kW | kM, linsert_command, 1, 1, 1},
    {"lpos", -3, kR, lpos_command, 1, 1, 1},
    {"lmove", 5, kW | kM, lmove_command, 1, 2, 1},
    {"rpoplpush", 3, kW | kM, rpoplpush_command, 1, 2, 1},
};

}  // namespace

std::span<const CommandSpec> list_family() { return kListCommands; }

}  // namespace geocache
