// Sorted set commands: ZADD (NX XX GT LT CH INCR), ZINCRBY, ZREM, ZSCORE,
// ZMSCORE, ZCARD, ZCOUNT, ZRANK, ZREVRANK, ZRANGE (BYSCORE BYLEX REV LIMIT
// WITHSCORES), ZRANGEBYSCORE, ZREVRANGE, ZREVRANGEBYSCORE,
// ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZPOPMIN, ZPOPMAX, ZSCAN. Redis 7.0
// semantics and reply bytes.
//
// A sorted set is a VersionedHash of kind kZset (core/versioned_hash.h):
// each member's score is last-writer-wins with its own version, members
// merge one by one across regions, and a ScoreIndex (core/score_index.h)
// keeps the live members in (score, member) order with ranks. So ZSCORE is
// O(1), ZADD, ZRANK and the start of a range O(log n), and a command writes
// (and replicates) only the members it changes, whatever the set's size.
// ZINCRBY writes the resulting score: two regions incrementing one member
// at once keep one of the two results, as with any score write. Removing
// the last member deletes the key, as in Redis.
//
// ZSCAN's cursor is a rank (COUNT members per call); members added or
// removed between calls shift it, which SCAN's guarantees allow.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/score_index.h"
#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"
#include "server/glob_match.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;
using Scored = std::vector<std::pair<std::string, double>>;

template <typename Fn>
bool read_zset_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return read_collection_or_reply(ctx, key, ValueKind::kZset, std::forward<Fn>(fn));
}

template <typename Fn>
bool update_zset_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return update_collection_or_reply(ctx, key, ValueKind::kZset, std::forward<Fn>(fn));
}

std::optional<double> score_of(const VersionedHash* z, std::string_view member) {
  const std::string* v = z != nullptr ? z->find(member) : nullptr;
  if (v == nullptr) return std::nullopt;
  return VersionedHash::decode_score(*v);
}

// A score as Redis reads one (strtod): "inf", "-inf", "+inf" and any number;
// not NaN, no spaces, nothing after it.
bool parse_score(std::string_view s, double* out) {
  if (s.empty() || s.size() > 512 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isnan(v) || (errno == ERANGE && !std::isinf(v) && v != 0)) {
    return false;
  }
  *out = v == 0 ? 0.0 : v;  // -0 is 0, as Redis stores it (an integer)
  return true;
}

// A removal of every member named, at this write's version.
void remove_all(const Scored& members, HashDelta* delta) {
  for (const auto& [m, s] : members) delta->remove(m);
}

// Members and their scores, RESP2 flat (member, score, ...), RESP3 as pairs.
void reply_scored(CommandContext& ctx, const Scored& items, bool with_scores) {
  if (!with_scores) {
    ctx.reply.array_header(items.size());
    for (const auto& [m, s] : items) ctx.reply.bulk(m);
    return;
  }
  const bool pairs = ctx.reply.protocol() == 3;
  ctx.reply.array_header(pairs ? items.size() : items.size() * 2);
  for (const auto& [m, s] : items) {
    if (pairs) ctx.reply.array_header(2);
    ctx.reply.bulk(m);
    ctx.reply.dbl(s);
  }
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

struct ScoreBound {
  double value = 0;
  bool exclusive = false;
};

// "(1.5" exclusive, "1.5" inclusive, "-inf", "+inf".
bool parse_score_bound(std::string_view s, ScoreBound* b) {
  b->exclusive = !s.empty() && s[0] == '(';
  if (b->exclusive) s.remove_prefix(1);
  return parse_score(s, &b->value);
}

struct LexBound {
  std::string_view value;
  enum { kInclusive, kExclusive, kMin, kMax } kind = kInclusive;
};

// "[a" inclusive, "(a" exclusive, "-" before all, "+" after all.
bool parse_lex_bound(std::string_view s, LexBound* b) {
  if (s == "-") b->kind = LexBound::kMin;
  else if (s == "+") b->kind = LexBound::kMax;
  else if (!s.empty() && s[0] == '[') b->kind = LexBound::kInclusive;
  else if (!s.empty() && s[0] == '(') b->kind = LexBound::kExclusive;
  else return false;
  if (b->kind == LexBound::kInclusive || b->kind == LexBound::kExclusive) b->value = s.substr(1);
  return true;
}

// Ranks [lo, hi) of the members whose score is within [min, max].
std::pair<size_t, size_t> score_ranks(const ScoreIndex& index, ScoreBound min, ScoreBound max) {
  const size_t lo = index.count_before(
      [&](double s, std::string_view) { return min.exclusive ? s <= min.value : s < min.value; });
  const size_t hi = index.count_before(
      [&](double s, std::string_view) { return max.exclusive ? s < max.value : s <= max.value; });
  return {lo, std::max(lo, hi)};
}

// Ranks [lo, hi) of the members within [min, max] by member; meaningful
// when every score is equal, as Redis requires for BYLEX.
std::pair<size_t, size_t> lex_ranks(const ScoreIndex& index, LexBound min, LexBound max) {
  auto below = [](const LexBound& b, std::string_view m, bool for_max) {
    switch (b.kind) {
      case LexBound::kMin: return false;
      case LexBound::kMax: return true;
      case LexBound::kInclusive: return for_max ? m <= b.value : m < b.value;
      case LexBound::kExclusive: return for_max ? m < b.value : m <= b.value;
    }
    return false;
  };
  const size_t lo = index.count_before([&](double, std::string_view m) { return below(min, m, false); });
  const size_t hi = index.count_before([&](double, std::string_view m) { return below(max, m, true); });
  return {lo, std::max(lo, hi)};
}

// Redis' start/stop of an index range (negative from the end) as ranks
// [lo, hi) of a set of n members.
std::pair<size_t, size_t> index_ranks(int64_t start, int64_t stop, size_t n) {
  const int64_t len = static_cast<int64_t>(n);
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (stop < 0) stop = len + stop;
  if (start > stop || start >= len) return {0, 0};
  stop = std::min(stop, len - 1);
  return {static_cast<size_t>(start), static_cast<size_t>(stop) + 1};
}

// The members at ranks [lo, hi) in order (reversed if rev), skipping
// `offset` and taking at most `count` (negative: all).
Scored collect(const ScoreIndex* index, std::pair<size_t, size_t> ranks, bool rev, int64_t offset = 0,
               int64_t count = -1) {
  Scored out;
  if (index == nullptr || offset < 0) return out;
  auto [lo, hi] = ranks;
  if (hi <= lo || static_cast<uint64_t>(offset) >= hi - lo) return out;
  size_t n = hi - lo - static_cast<size_t>(offset);
  if (count >= 0) n = std::min(n, static_cast<size_t>(count));
  const ScoreIndex::Node* node = rev ? index->at(hi - 1 - static_cast<size_t>(offset)) : index->at(lo + offset);
  for (size_t i = 0; i < n && node != nullptr; ++i) {
    out.emplace_back(ScoreIndex::member(node), ScoreIndex::score(node));
    node = rev ? ScoreIndex::prev(node) : ScoreIndex::next(node);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

enum ZaddFlag : unsigned {
  kZaddNx = 1u << 0,    // only add new members
  kZaddXx = 1u << 1,    // only update existing ones
  kZaddGt = 1u << 2,    // update only to a greater score
  kZaddLt = 1u << 3,    // update only to a lesser score
  kZaddCh = 1u << 4,    // reply changed + added, not added
  kZaddIncr = 1u << 5,  // add to the score, reply the result
};

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
void zadd_command(CommandContext& ctx, Args args) {
  unsigned flags = 0;
  size_t i = 2;
  for (; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (equals_ci(a, "NX")) flags |= kZaddNx;
    else if (equals_ci(a, "XX")) flags |= kZaddXx;
    else if (equals_ci(a, "GT")) flags |= kZaddGt;
    else if (equals_ci(a, "LT")) flags |= kZaddLt;
    else if (equals_ci(a, "CH")) flags |= kZaddCh;
    else if (equals_ci(a, "INCR")) flags |= kZaddIncr;
    else break;
  }
  const size_t pairs_at = i;
  if ((args.size() - pairs_at) % 2 != 0 || args.size() == pairs_at) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  if ((flags & kZaddNx) && (flags & kZaddXx)) {
    ctx.reply.error(errors::kZaddXxNx);
    return;
  }
  if (((flags & kZaddGt) && (flags & kZaddNx)) || ((flags & kZaddLt) && (flags & kZaddNx)) ||
      ((flags & kZaddGt) && (flags & kZaddLt))) {
    ctx.reply.error(errors::kZaddGtLtNx);
    return;
  }
  if ((flags & kZaddIncr) && args.size() - pairs_at > 2) {
    ctx.reply.error(errors::kZaddIncrPair);
    return;
  }
  std::vector<double> scores;
  for (size_t j = pairs_at; j < args.size(); j += 2) {
    double s = 0;
    if (!parse_score(args[j], &s)) {
      ctx.reply.error(errors::kNotFloat);
      return;
    }
    scores.push_back(s);
  }
  int64_t added = 0, changed = 0;
  std::optional<double> incr_result;
  const bool ok = update_zset_or_reply(ctx, args[1], [&](const VersionedHash* z, HashDelta* delta, bool*) {
    absl::flat_hash_map<std::string_view, double> pending;  // members this command wrote already
    for (size_t j = 0; j < scores.size(); ++j) {
      const std::string_view member = args[pairs_at + 2 * j + 1];
      std::optional<double> cur;
      if (auto it = pending.find(member); it != pending.end()) cur = it->second;
      else cur = score_of(z, member);
      if ((flags & kZaddNx) && cur) continue;
      if ((flags & kZaddXx) && !cur) continue;
      double next = scores[j];
      if (flags & kZaddIncr) {
        next = cur.value_or(0) + next;
        if (std::isnan(next)) return Status::InvalidArgument(std::string(errors::kScoreNan.substr(4)));
      }
      if (cur && (((flags & kZaddGt) && !(next > *cur)) || ((flags & kZaddLt) && !(next < *cur)))) continue;
      if (flags & kZaddIncr) incr_result = next;
      if (!cur) ++added;
      else if (*cur == next) continue;
      else ++changed;
      pending[member] = next;
      delta->put(member, VersionedHash::encode_score(next));
    }
    return Status::Ok();
  });
  if (!ok) return;
  if (flags & kZaddIncr) {
    if (incr_result) ctx.reply.dbl(*incr_result);
    else ctx.reply.null();
    return;
  }
  ctx.reply.integer((flags & kZaddCh) ? added + changed : added);
}

void zincrby_command(CommandContext& ctx, Args args) {
  double by = 0;
  if (!parse_score(args[2], &by)) {
    ctx.reply.error(errors::kNotFloat);
    return;
  }
  double result = 0;
  const bool ok = update_zset_or_reply(ctx, args[1], [&](const VersionedHash* z, HashDelta* delta, bool*) {
    result = score_of(z, args[3]).value_or(0) + by;
    if (std::isnan(result)) return Status::InvalidArgument(std::string(errors::kScoreNan.substr(4)));
    delta->put(args[3], VersionedHash::encode_score(result));
    return Status::Ok();
  });
  if (ok) ctx.reply.dbl(result);
}

// Removes what pick() chooses from the set at key; removing every member
// deletes the key. Replies nothing; *removed gets what went.
template <typename Pick>
bool remove_picked_or_reply(CommandContext& ctx, std::string_view key, Pick&& pick, Scored* removed) {
  return update_zset_or_reply(ctx, key, [&](const VersionedHash* z, HashDelta* delta, bool* delete_key) {
    if (z == nullptr) return Status::Ok();
    *removed = pick(*z);
    remove_all(*removed, delta);
    *delete_key = !removed->empty() && removed->size() == z->live_fields();
    return Status::Ok();
  });
}

void zrem_command(CommandContext& ctx, Args args) {
  Scored removed;
  const bool ok = remove_picked_or_reply(
      ctx, args[1],
      [&](const VersionedHash& z) {
        Scored out;
        absl::flat_hash_map<std::string_view, bool> seen;
        for (size_t i = 2; i < args.size(); ++i) {
          if (auto s = score_of(&z, args[i]); s && seen.emplace(args[i], true).second) out.emplace_back(args[i], *s);
        }
        return out;
      },
      &removed);
  if (ok) ctx.reply.integer(static_cast<int64_t>(removed.size()));
}

void zremrangebyscore_command(CommandContext& ctx, Args args) {
  ScoreBound min, max;
  if (!parse_score_bound(args[2], &min) || !parse_score_bound(args[3], &max)) {
    ctx.reply.error(errors::kMinMaxNotFloat);
    return;
  }
  Scored removed;
  const bool ok = remove_picked_or_reply(
      ctx, args[1], [&](const VersionedHash& z) { return collect(z.index(), score_ranks(*z.index(), min, max), false); },
      &removed);
  if (ok) ctx.reply.integer(static_cast<int64_t>(removed.size()));
}

void zremrangebyrank_command(CommandContext& ctx, Args args) {
  int64_t start = 0, stop = 0;
  if (!parse_int64(args[2], &start) || !parse_int64(args[3], &stop)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  Scored removed;
  const bool ok = remove_picked_or_reply(
      ctx, args[1], [&](const VersionedHash& z) { return collect(z.index(), index_ranks(start, stop, card(&z)), false); },
      &removed);
  if (ok) ctx.reply.integer(static_cast<int64_t>(removed.size()));
}

// ZPOPMIN/ZPOPMAX key [count]
void zpop(CommandContext& ctx, Args args, bool max) {
  if (args.size() > 3) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  int64_t count = 1;
  if (args.size() == 3 && (!parse_int64(args[2], &count) || count < 0)) {
    ctx.reply.error(errors::kMustBePositive);
    return;
  }
  Scored popped;
  const bool ok = remove_picked_or_reply(
      ctx, args[1],
      [&](const VersionedHash& z) {
        const size_t n = card(&z);
        return collect(z.index(), {0, n}, max, 0, count);
      },
      &popped);
  if (!ok) return;
  // RESP3 with a count: pairs; without one, and in RESP2: flat.
  if (args.size() == 3 && ctx.reply.protocol() == 3) {
    reply_scored(ctx, popped, true);
    return;
  }
  ctx.reply.array_header(popped.size() * 2);
  for (const auto& [m, s] : popped) {
    ctx.reply.bulk(m);
    ctx.reply.dbl(s);
  }
}

void zpopmin_command(CommandContext& ctx, Args args) { zpop(ctx, args, false); }
void zpopmax_command(CommandContext& ctx, Args args) { zpop(ctx, args, true); }

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

void zscore_command(CommandContext& ctx, Args args) {
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) {
    if (auto s = score_of(z, args[2])) ctx.reply.dbl(*s);
    else ctx.reply.null();
  });
}

void zmscore_command(CommandContext& ctx, Args args) {
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) {
    ctx.reply.array_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) {
      if (auto s = score_of(z, args[i])) ctx.reply.dbl(*s);
      else ctx.reply.null();
    }
  });
}

void zcard_command(CommandContext& ctx, Args args) {
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) { ctx.reply.integer(static_cast<int64_t>(card(z))); });
}

void zcount_command(CommandContext& ctx, Args args) {
  ScoreBound min, max;
  if (!parse_score_bound(args[2], &min) || !parse_score_bound(args[3], &max)) {
    ctx.reply.error(errors::kMinMaxNotFloat);
    return;
  }
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) {
    if (z == nullptr) {
      ctx.reply.integer(0);
      return;
    }
    auto [lo, hi] = score_ranks(*z->index(), min, max);
    ctx.reply.integer(static_cast<int64_t>(hi - lo));
  });
}

void zrank(CommandContext& ctx, Args args, bool rev) {
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) {
    auto s = score_of(z, args[2]);
    if (!s) {
      ctx.reply.null();
      return;
    }
    const size_t rank = z->index()->rank(*s, args[2]);
    ctx.reply.integer(static_cast<int64_t>(rev ? card(z) - 1 - rank : rank));
  });
}

void zrank_command(CommandContext& ctx, Args args) { zrank(ctx, args, false); }
void zrevrank_command(CommandContext& ctx, Args args) { zrank(ctx, args, true); }

enum class RangeBy { kRank, kScore, kLex };

struct RangeArgs {
  RangeBy by = RangeBy::kRank;
  bool rev = false;
  bool with_scores = false;
  bool limit = false;
  int64_t offset = 0;
  int64_t count = -1;
};

// The range of `a` over key's set: min and max as given (for REV, the
// caller has already swapped them into min, max order).
void reply_range(CommandContext& ctx, std::string_view key, std::string_view min, std::string_view max,
                 const RangeArgs& a) {
  ScoreBound smin, smax;
  LexBound lmin, lmax;
  int64_t start = 0, stop = 0;
  switch (a.by) {
    case RangeBy::kRank:
      if (!parse_int64(min, &start) || !parse_int64(max, &stop)) {
        ctx.reply.error(errors::kNotInteger);
        return;
      }
      break;
    case RangeBy::kScore:
      if (!parse_score_bound(min, &smin) || !parse_score_bound(max, &smax)) {
        ctx.reply.error(errors::kMinMaxNotFloat);
        return;
      }
      break;
    case RangeBy::kLex:
      if (!parse_lex_bound(min, &lmin) || !parse_lex_bound(max, &lmax)) {
        ctx.reply.error(errors::kMinMaxNotString);
        return;
      }
      break;
  }
  read_zset_or_reply(ctx, key, [&](const VersionedHash* z) {
    Scored items;
    if (z != nullptr) {
      const ScoreIndex& index = *z->index();
      switch (a.by) {
        case RangeBy::kRank: {
          // A rank range counts from the end it reads from.
          auto [lo, hi] = index_ranks(start, stop, index.size());
          if (a.rev && hi > lo) std::tie(lo, hi) = std::pair(index.size() - hi, index.size() - lo);
          items = collect(&index, {lo, hi}, a.rev);
          break;
        }
        case RangeBy::kScore: items = collect(&index, score_ranks(index, smin, smax), a.rev, a.offset, a.count); break;
        case RangeBy::kLex: items = collect(&index, lex_ranks(index, lmin, lmax), a.rev, a.offset, a.count); break;
      }
    }
    reply_scored(ctx, items, a.with_scores);
  });
}

// Reads [WITHSCORES] [LIMIT offset count] (and for ZRANGE: BYSCORE BYLEX
// REV) from args[from..].
bool parse_range_options(CommandContext& ctx, Args args, size_t from, bool zrange, RangeArgs* a) {
  ArgParser p(args, from);
  while (p.has_next()) {
    if (p.check("WITHSCORES")) {
      a->with_scores = true;
    } else if (p.remaining() >= 3 && p.check("LIMIT")) {
      a->limit = true;
      a->offset = p.next_int();
      a->count = p.next_int();
    } else if (zrange && p.check("BYSCORE")) {
      a->by = RangeBy::kScore;
    } else if (zrange && p.check("BYLEX")) {
      a->by = RangeBy::kLex;
    } else if (zrange && p.check("REV")) {
      a->rev = true;
    } else {
      p.fail(errors::kSyntax);
    }
  }
  if (!p.ok_or_reply(ctx.reply)) return false;
  if (a->limit && a->by == RangeBy::kRank) {
    ctx.reply.error(errors::kZrangeLimit);
    return false;
  }
  if (a->with_scores && a->by == RangeBy::kLex) {
    ctx.reply.error(errors::kZrangeByLexScores);
    return false;
  }
  return true;
}

// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
void zrange_command(CommandContext& ctx, Args args) {
  RangeArgs a;
  if (!parse_range_options(ctx, args, 4, /*zrange=*/true, &a)) return;
  // BYSCORE/BYLEX with REV take max first.
  const bool swap = a.rev && a.by != RangeBy::kRank;
  reply_range(ctx, args[1], swap ? args[3] : args[2], swap ? args[2] : args[3], a);
}

void zrangebyscore_command(CommandContext& ctx, Args args) {
  RangeArgs a;
  a.by = RangeBy::kScore;
  if (parse_range_options(ctx, args, 4, false, &a)) reply_range(ctx, args[1], args[2], args[3], a);
}

void zrevrangebyscore_command(CommandContext& ctx, Args args) {
  RangeArgs a;
  a.by = RangeBy::kScore;
  a.rev = true;
  if (parse_range_options(ctx, args, 4, false, &a)) reply_range(ctx, args[1], args[3], args[2], a);
}

void zrevrange_command(CommandContext& ctx, Args args) {
  RangeArgs a;
  a.rev = true;
  if (args.size() > 5 || (args.size() == 5 && !equals_ci(args[4], "WITHSCORES"))) {
    ctx.reply.error(errors::kSyntax);
    return;
  }
  a.with_scores = args.size() == 5;
  reply_range(ctx, args[1], args[2], args[3], a);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is a rank.
void zscan_command(CommandContext& ctx, Args args) {
  ScanArgs scan;
  if (!parse_scan_or_reply(ctx, args, 2, false, &scan)) return;
  const int64_t cursor = scan.cursor;
  const std::optional<std::string_view> match = scan.match;
  const int64_t count = scan.count;
  read_zset_or_reply(ctx, args[1], [&](const VersionedHash* z) {
    const size_t n = card(z);
    Scored page = z != nullptr ? collect(z->index(), {0, n}, false, cursor, count) : Scored{};
    const uint64_t next = static_cast<uint64_t>(cursor) + page.size();
    Scored found;
    for (auto& item : page) {
      if (!match || glob_match(*match, item.first)) found.push_back(std::move(item));
    }
    ctx.reply.array_header(2);
    ctx.reply.bulk(next < n ? std::to_string(next) : "0");
    ctx.reply.array_header(found.size() * 2);
    for (const auto& [m, s] : found) {
      ctx.reply.bulk(m);
      ctx.reply.dbl(s);
    }
  });
}

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kZsetCommands[] = {
    {"zadd", -4, kW | kM | kF, zadd_command, 1, 1, 1},
    {"zincrby", 4, kW | kM | kF, zincrby_command, 1, 1, 1},
    {"zrem", -3, kW | kF, zrem_command, 1, 1, 1},
    {"zscore", 3, kR | kF, zscore_command, 1, 1, 1},
    {"zmscore", -3, kR | kF, zmscore_command, 1, 1, 1},
    {"zcard", 2, kR | kF, zcard_command, 1, 1, 1},
    {"zcount", 4, kR | kF, zcount_command, 1, 1, 1},
    {"zrank", 3, kR | kF, zrank_command, 1, 1, 1},
    {"zrevrank", 3, kR | kF, zrevrank_command, 1, 1, 1},
    {"zrange", -4, kR, zrange_command, 1, 1, 1},
    {"zrangebyscore", -4, kR, zrangebyscore_command, 1, 1, 1},
    {"zrevrange", -4, kR, zrevrange_command, 1, 1, 1},
    {"zrevrangebyscore", -4, kR, zrevrangebyscore_command, 1, 1, 1},
    {"zremrangebyscore", 4, kW, zremrangebyscore_command, 1, 1, 1},
    {"zremrangebyrank", 4, kW, zremrangebyrank_command, 1, 1, 1},
    {"zpopmin", -2, kW | kF, zpopmin_command, 1, 1, 1},
    {"zpopmax", -2, kW | kF, zpopmax_command, 1, 1, 1},
    {"zscan", -3, kR, zscan_command, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> zset_family() { return kZsetCommands; }

}  // namespace geocache
