// Set commands: SADD, SREM, SISMEMBER, SMISMEMBER, SMEMBERS, SCARD, SPOP,
// SRANDMEMBER, SMOVE, SINTER/SUNION/SDIFF (and their STORE forms),
// SINTERCARD, SSCAN. Redis 7 semantics and reply bytes.
//
// A set is a VersionedHash of kind kSet (core/versioned_hash.h): members
// merge one by one across regions, and a member added in one region while
// another removes it stays (add wins): SADD writes the member at its own
// version, even if present, and SREM/SPOP write its removal at the version
// of the add they saw. A command writes only the members it changes. A set
// whose members are all removed reads as absent (Redis deletes the key) but
// keeps its removals until the store retires it, so that an add it saw
// cannot come back.
//
// The STORE forms replace the destination: the new set's base is the
// newest version of what the destination held, so what was there goes,
// while members added concurrently elsewhere survive.
//
// Members come back in no particular order, as Redis gives them for a big
// set. SPOP and SRANDMEMBER walk the set (O(n)); SSCAN's cursor is a
// position in that walk (COUNT members per call, O(cursor + COUNT)).
// Multi-key commands read key by key, each under its own shard lock, and
// SMOVE removes then adds: neither is atomic across keys.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"
#include "server/glob_match.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;
using Members = std::vector<std::string>;

template <typename Fn>
bool read_set_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return read_collection_or_reply(ctx, key, ValueKind::kSet, std::forward<Fn>(fn));
}

template <typename Fn>
bool update_set_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return update_collection_or_reply(ctx, key, ValueKind::kSet, std::forward<Fn>(fn));
}

bool is_member(const VersionedHash* set, std::string_view m) { return set != nullptr && set->find(m) != nullptr; }

Members members_of(const VersionedHash* set) {
  Members out;
  if (set == nullptr) return out;
  out.reserve(set->live_fields());
  set->for_each([&](std::string_view m, std::string_view) { out.emplace_back(m); });
  return out;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 r{std::random_device{}()};
  return r;
}

// Removes member m, seen live in set, at the version of the add seen.
void remove_seen(const VersionedHash& set, std::string_view m, HashDelta* delta) {
  delta->remove_seen(m, set.find_field(m)->version);
}

void reply_members(CommandContext& ctx, const Members& members) {
  ctx.reply.set_header(members.size());
  for (const auto& m : members) ctx.reply.bulk(m);
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

void sadd_command(CommandContext& ctx, Args args) {
  int64_t added = 0;
  const bool ok = update_set_or_reply(ctx, args[1], [&](const VersionedHash* set, HashDelta* delta, bool*) {
    absl::flat_hash_set<std::string_view> seen;
    for (size_t i = 2; i < args.size(); ++i) {
      if (!seen.insert(args[i]).second) continue;
      if (!is_member(set, args[i])) ++added;
      // Written even if present: this add wins over a remove made
      // elsewhere that has not seen it.
      delta->put(args[i], {});
    }
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(added);
}

void srem_command(CommandContext& ctx, Args args) {
  int64_t removed = 0;
  const bool ok = update_set_or_reply(ctx, args[1], [&](const VersionedHash* set, HashDelta* delta, bool*) {
    absl::flat_hash_set<std::string_view> seen;
    for (size_t i = 2; i < args.size(); ++i) {
      if (!is_member(set, args[i]) || !seen.insert(args[i]).second) continue;
      remove_seen(*set, args[i], delta);
      ++removed;
    }
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(removed);
}

// Up to `count` distinct members of set, chosen at random: one walk of the
// set, copying only the members kept (reservoir sampling, so every subset of
// `count` members is equally likely).
Members sample_distinct(const VersionedHash* set, size_t count) {
  if (count >= card(set)) return members_of(set);
  Members out;
  out.reserve(count);
  size_t seen = 0;
  set->for_each([&](std::string_view m, std::string_view) {
    if (out.size() < count) {
      out.emplace_back(m);
    } else if (const size_t j = rng()() % (seen + 1); j < count) {
      out[j].assign(m);
    }
    ++seen;
  });
  return out;
}

// SPOP key [count]
void spop_command(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  std::optional<int64_t> count;
  if (args.size() == 3) {
    int64_t n = 0;
    if (!parse_int64(args[2], &n) || n < 0) {
      ctx.reply.error(errors::kMustBePositive);
      return;
    }
    count = n;
  }
  Members popped;
  const bool ok = update_set_or_reply(ctx, args[1], [&](const VersionedHash* set, HashDelta* delta, bool*) {
    popped = sample_distinct(set, count.value_or(1));
    for (const auto& m : popped) remove_seen(*set, m, delta);
    return Status::Ok();
  });
  if (!ok) return;
  if (count) {
    reply_members(ctx, popped);
  } else if (popped.empty()) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk(popped[0]);
  }
}

// SMOVE source destination member: removes from source, then adds to
// destination (two writes, not atomic). Both must be sets (or absent).
void smove_command(CommandContext& ctx, Args args) {
  if (!read_set_or_reply(ctx, args[2], [&](const VersionedHash*) {})) return;
  bool moved = false;
  const bool ok = update_set_or_reply(ctx, args[1], [&](const VersionedHash* set, HashDelta* delta, bool*) {
    if (!is_member(set, args[3])) return Status::Ok();
    moved = true;
    // The same set: nothing moves, as in Redis.
    if (args[1] != args[2]) remove_seen(*set, args[3], delta);
    return Status::Ok();
  });
  if (!ok) return;
  if (moved && args[1] != args[2]) {
    const bool added = update_set_or_reply(ctx, args[2], [&](const VersionedHash*, HashDelta* delta, bool*) {
      delta->put(args[3], {});
      return Status::Ok();
    });
    if (!added) return;
  }
  ctx.reply.integer(moved ? 1 : 0);
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

void sismember_command(CommandContext& ctx, Args args) {
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) { ctx.reply.integer(is_member(set, args[2])); });
}

void smismember_command(CommandContext& ctx, Args args) {
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) {
    ctx.reply.array_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) ctx.reply.integer(is_member(set, args[i]));
  });
}

void smembers_command(CommandContext& ctx, Args args) {
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) {
    ctx.reply.set_header(card(set));
    if (set != nullptr) set->for_each([&](std::string_view m, std::string_view) { ctx.reply.bulk(m); });
  });
}

void scard_command(CommandContext& ctx, Args args) {
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) { ctx.reply.integer(static_cast<int64_t>(card(set))); });
}

// SRANDMEMBER key [count]: a positive count gives distinct members, a
// negative one |count| members that may repeat.
void srandmember_command(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  int64_t count = 1;
  if (args.size() == 3 && !parse_int64(args[2], &count)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  if (count == INT64_MIN || (count < 0 && -count > INT64_MAX / 2)) {
    ctx.reply.error(errors::kOutOfRange);
    return;
  }
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) {
    if (args.size() == 2) {
      Members one = sample_distinct(set, 1);
      if (one.empty()) ctx.reply.null();
      else ctx.reply.bulk(one[0]);
      return;
    }
    if (count >= 0) {
      Members picked = sample_distinct(set, static_cast<size_t>(count));
      ctx.reply.array_header(picked.size());
      for (const auto& m : picked) ctx.reply.bulk(m);
      return;
    }
    const Members all = members_of(set);
    if (all.empty()) {
      ctx.reply.array_header(0);
      return;
    }
    ctx.reply.array_header(static_cast<size_t>(-count));
    for (int64_t i = 0; i < -count; ++i) ctx.reply.bulk(all[rng()() % all.size()]);
  });
}

// The members of each set named in keys (an absent key is an empty set);
// false after replying WRONGTYPE.
bool read_sets_or_reply(CommandContext& ctx, Args keys, std::vector<Members>* out) {
  for (std::string_view key : keys) {
    Members m;
    if (!read_set_or_reply(ctx, key, [&](const VersionedHash* set) { m = members_of(set); })) return false;
    out->push_back(std::move(m));
  }
  return true;
}

enum class SetOp { kInter, kUnion, kDiff };

Members combine(SetOp op, std::vector<Members>& sets) {
  if (sets.empty()) return {};
  if (op == SetOp::kUnion) {
    absl::flat_hash_set<std::string> all;
    for (auto& s : sets) all.insert(s.begin(), s.end());
    return Members(all.begin(), all.end());
  }
  Members out;
  if (op == SetOp::kInter) {
    // Smallest first: every member checked is a candidate.
    std::sort(sets.begin(), sets.end(), [](const Members& a, const Members& b) { return a.size() < b.size(); });
    std::vector<absl::flat_hash_set<std::string_view>> rest;
    for (size_t i = 1; i < sets.size(); ++i) rest.emplace_back(sets[i].begin(), sets[i].end());
    for (auto& m : sets[0]) {
      if (std::all_of(rest.begin(), rest.end(), [&](const auto& s) { return s.contains(m); })) out.push_back(m);
    }
    return out;
  }
  absl::flat_hash_set<std::string_view> others;
  for (size_t i = 1; i < sets.size(); ++i) others.insert(sets[i].begin(), sets[i].end());
  for (auto& m : sets[0]) {
    if (!others.contains(m)) out.push_back(m);
  }
  return out;
}

void set_op(CommandContext& ctx, Args args, SetOp op) {
  std::vector<Members> sets;
  if (!read_sets_or_reply(ctx, args.subspan(1), &sets)) return;
  reply_members(ctx, combine(op, sets));
}

void sinter_command(CommandContext& ctx, Args args) { set_op(ctx, args, SetOp::kInter); }
void sunion_command(CommandContext& ctx, Args args) { set_op(ctx, args, SetOp::kUnion); }
void sdiff_command(CommandContext& ctx, Args args) { set_op(ctx, args, SetOp::kDiff); }

// The STORE forms: the result replaces destination (any type); an empty
// result deletes it.
void set_op_store(CommandContext& ctx, Args args, SetOp op) {
  std::vector<Members> sets;
  if (!read_sets_or_reply(ctx, args.subspan(2), &sets)) return;
  const Members result = combine(op, sets);
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (result.empty()) {
      *next = tombstone_record();
      return Status::Ok();
    }
    HashDelta delta;
    // What the destination held goes: the new set starts above its newest
    // version (a set's removals and a string alike).
    if (cur != nullptr) delta.keep_base(cur->version, 0);
    for (const auto& m : result) delta.put(m, {});
    delta.set_expiry(default_expire_at(ctx.cache));
    *next = make_record(ValueKind::kSet, delta.encode(), delta.expire_at_ms());
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(static_cast<int64_t>(result.size()));
}

void sinterstore_command(CommandContext& ctx, Args args) { set_op_store(ctx, args, SetOp::kInter); }
void sunionstore_command(CommandContext& ctx, Args args) { set_op_store(ctx, args, SetOp::kUnion); }
void sdiffstore_command(CommandContext& ctx, Args args) { set_op_store(ctx, args, SetOp::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void sintercard_command(CommandContext& ctx, Args args) {
  int64_t numkeys = 0;
  if (!parse_int64(args[1], &numkeys) || numkeys <= 0) {
    ctx.reply.error(errors::kNumkeysPositive);
    return;
  }
  if (static_cast<size_t>(numkeys) > args.size() - 2) {
    ctx.reply.error(errors::kNumkeysTooBig);
    return;
  }
  int64_t limit = 0;
  ArgParser p(args, 2 + static_cast<size_t>(numkeys));
  while (p.has_next()) {
    if (p.check("LIMIT")) {
      const std::string_view text = p.next();
      if (p.ok() && (!parse_int64(text, &limit) || limit < 0)) p.fail(errors::kLimitNegative);
    } else {
      p.fail(errors::kSyntax);
    }
  }
  if (!p.ok_or_reply(ctx.reply)) return;
  std::vector<Members> sets;
  if (!read_sets_or_reply(ctx, args.subspan(2, static_cast<size_t>(numkeys)), &sets)) return;
  size_t n = combine(SetOp::kInter, sets).size();
  if (limit > 0) n = std::min(n, static_cast<size_t>(limit));
  ctx.reply.integer(static_cast<int64_t>(n));
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is a position
// in the set's walk.
void sscan_command(CommandContext& ctx, Args args) {
  ScanArgs scan;
  if (!parse_scan_or_reply(ctx, args, 2, false, &scan)) return;
  const int64_t cursor = scan.cursor;
  const std::optional<std::string_view> match = scan.match;
  const int64_t count = scan.count;
  read_set_or_reply(ctx, args[1], [&](const VersionedHash* set) {
    Members found;
    int64_t pos = 0;
    const int64_t end = cursor + count;
    if (set != nullptr) {
      set->for_each([&](std::string_view m, std::string_view) {
        if (pos >= cursor && pos < end && (!match || glob_match(*match, m))) found.emplace_back(m);
        ++pos;
      });
    }
    ctx.reply.array_header(2);
    ctx.reply.bulk(pos > end ? std::to_string(end) : "0");
    ctx.reply.array_header(found.size());
    for (const auto& m : found) ctx.reply.bulk(m);
  });
}

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kSetCommands[] = {
    {"sadd", -3, kW | kM | kF, sadd_command, 1, 1, 1},
    {"srem", -3, kW | kF, srem_command, 1, 1, 1},
    {"sismember", 3, kR | kF, sismember_command, 1, 1, 1},
    {"smismember", -3, kR | kF, smismember_command, 1, 1, 1},
    {"smembers", 2, kR, smembers_command, 1, 1, 1},
    {"scard", 2, kR | kF, scard_command, 1, 1, 1},
    {"spop", -2, kW | kF, spop_command, 1, 1, 1},
    {"srandmember", -2, kR, srandmember_command, 1, 1, 1},
    {"smove", 4, kW | kF, smove_command, 1, 2, 1},
    {"sinter", -2, kR, sinter_command, 1, -1, 1},
    {"sunion", -2, kR, sunion_command, 1, -1, 1},
    {"sdiff", -2, kR, sdiff_command, 1, -1, 1},
    {"sinterstore", -3, kW | kM, sinterstore_command, 1, -1, 1},
    {"sunionstore", -3, kW | kM, sunionstore_command, 1, -1, 1},
    {"sdiffstore", -3, kW | kM, sdiffstore_command, 1, -1, 1},
    {"sintercard", -3, kR, sintercard_command, 0, 0, 0},
    {"sscan", -3, kR, sscan_command, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> set_family() { return kSetCommands; }

}  // namespace geocache
