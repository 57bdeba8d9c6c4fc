// String commands: GET, SET and its variants, MGET/MSET, the INCR family,
// APPEND, STRLEN, GETRANGE/SETRANGE. Redis 7 semantics and reply bytes.
//
// Every write is one GeoCache::mutate of one key: the mutator sees the key's
// live record under its shard lock and computes the key's whole new record
// (kind, bytes, absolute expiry), which mutate versions and replicates. The
// INCR family is the exception that merges: it keeps a per-region
// contribution and replicates that (incr_by). INCRBYFLOAT does not: it
// writes the resulting string (last writer wins), as Redis replicates it. A mutator
// refuses with a Status and never replies (mutate_or_reply, data_helpers.h).
// Reads use RegionReader::get with a visitor, which touches LRU and lets the
// reply be written straight from the stored bytes without a copy.
//
// Record kinds and the default TTL: see data_helpers.h.
//
// Multi-key commands (MSET, MSETNX) write key by key: keys live in different
// shards with their own locks, so they are not atomic as in Redis. MSETNX
// checks that every key is absent first and then writes them all; a key
// created by another client between the check and the write is overwritten.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/client_session.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// ---------------------------------------------------------------------------
// SET and GETEX options
// ---------------------------------------------------------------------------

enum ExtFlag : unsigned {
  kNx = 1u << 0,       // only if the key is absent
  kXx = 1u << 1,       // only if the key exists
  kGet = 1u << 2,      // reply the old value (SET ... GET)
  kKeepTtl = 1u << 3,  // keep the key's expiry
  kPersist = 1u << 4,  // drop the key's expiry (GETEX)
  kEx = 1u << 5,       // expiry in seconds from now
  kPx = 1u << 6,       // expiry in milliseconds from now
  kExAt = 1u << 7,     // expiry at a Unix time in seconds
  kPxAt = 1u << 8,     // expiry at a Unix time in milliseconds
};
constexpr unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;

struct ExtendedArgs {
  unsigned flags = 0;
  std::string_view expire;  // the number after EX/PX/EXAT/PXAT
};

// SET's (for_set) and GETEX's options, as Redis 7 reads them: repeating an
// option is fine (the last expiry wins), combining conflicting ones (NX with
// XX, two kinds of expiry, KEEPTTL or PERSIST with an expiry) or an option
// of the other command is a syntax error.
void parse_extended(ArgParser& p, bool for_set, ExtendedArgs* out) {
  unsigned& f = out->flags;
  // An expiry option conflicts with every expiry option but itself.
  auto expire_option = [&](std::string_view word, unsigned flag) {
    if ((f & ((kAnyExpire | kKeepTtl | kPersist) & ~flag)) != 0 || !p.check(word)) return false;
    f |= flag;
    out->expire = p.next();  // syntax error if the number is missing
    return true;
  };
  while (p.has_next()) {
    if (for_set && !(f & kXx) && p.check("NX")) {
      f |= kNx;
    } else if (for_set && !(f & kNx) && p.check("XX")) {
      f |= kXx;
    } else if (for_set && p.check("GET")) {
      f |= kGet;
    } else if (for_set && !(f & (kAnyExpire | kPersist)) && p.check("KEEPTTL")) {
      f |= kKeepTtl;
    } else if (!for_set && !(f & (kAnyExpire | kKeepTtl)) && p.check("PERSIST")) {
      f |= kPersist;
    } else if (expire_option("EX", kEx) || expire_option("PX", kPx) || expire_option("EXAT", kExAt) ||
               expire_option("PXAT", kPxAt)) {
    } else {
      p.fail(errors::kSyntax);
    }
  }
}

// The absolute expiry (Unix ms) an EX/PX/EXAT/PXAT number asks for. As in
// Redis the number must be a positive integer and the result must not
// overflow; else replies the error and returns false.
bool expire_at_or_reply(CommandContext& ctx, std::string_view text, unsigned flags, std::string_view command,
                        int64_t* at_ms) {
  int64_t v = 0;
  if (!parse_int64(text, &v)) {
    ctx.reply.error(errors::kNotInteger);
    return false;
  }
  const bool seconds = (flags & (kEx | kExAt)) != 0;
  if (v <= 0 || (seconds && v > std::numeric_limits<int64_t>::max() / 1000)) {
    ctx.reply.error(errors::invalid_expire(command));
    return false;
  }
  if (seconds) v *= 1000;
  if (flags & (kEx | kPx)) {
    const int64_t now = ctx.cache.now_ms();
    if (v > std::numeric_limits<int64_t>::max() - now) {
      ctx.reply.error(errors::invalid_expire(command));
      return false;
    }
    v += now;
  }
  *at_ms = v;
  return true;
}

// ---------------------------------------------------------------------------
// Shared write paths
// ---------------------------------------------------------------------------

enum class SetResult {
  kWritten,
  kConditionFailed,  // NX found the key, or XX did not
  kRefused,          // refused (GET of an old value that is no string, OOM); already replied
};

// SET's core, shared by SET, SETEX, PSETEX, SETNX, GETSET and MSET. flags
// are ExtFlags; expire_at_ms is used when flags hold an expiry. With kGet the
// old string is copied to *old (it is replied after the write).
SetResult set_generic(CommandContext& ctx, std::string_view key, std::string_view value, unsigned flags,
                      int64_t expire_at_ms, std::optional<std::string>* old = nullptr) {
  SetResult result = SetResult::kWritten;
  const bool ok = mutate_or_reply(ctx, key, [&](const RecordView* cur, std::optional<Record>* next) {
    if ((flags & kGet) && cur != nullptr) {
      std::string scratch;
      std::string_view text;
      if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
      old->emplace(text);
    }
    if (((flags & kNx) && cur != nullptr) || ((flags & kXx) && cur == nullptr)) {
      result = SetResult::kConditionFailed;
      return Status::Ok();
    }
    int64_t at = expire_at_ms;
    if (flags & kKeepTtl) {
      at = cur != nullptr ? cur->expire_at_ms : default_expire_at(ctx.cache);
    } else if (!(flags & kAnyExpire)) {
      at = default_expire_at(ctx.cache);
    }
    *next = make_record(ValueKind::kString, std::string(value), at);
    return Status::Ok();
  });
  return ok ? result : SetResult::kRefused;
}

void reply_bulk_or_null(ReplyWriter& reply, const std::optional<std::string>& s) {
  if (s) {
    reply.bulk(*s);
  } else {
    reply.null();
  }
}

// Adds delta to the integer stored at key (absent = 0) and replies the
// result: INCR, DECR, INCRBY, DECRBY. The key becomes a counter (kCounter,
// core/versioned_hash.h) holding this region's running sum of increments
// beside the value it was (its base): the write replicates that sum alone,
// and increments made at once in several regions add up.
void incr_by(CommandContext& ctx, std::string_view key, int64_t delta) {
  int64_t result = 0;
  const bool ok = mutate_or_reply(ctx, key, [&](const RecordView* cur, std::optional<Record>* next) {
    int64_t value = 0;
    int64_t own = 0;  // this region's contribution so far
    HashDelta change;
    if (cur == nullptr) {
      change.set_expiry(default_expire_at(ctx.cache));
    } else if (cur->kind == ValueKind::kCounter) {
      const VersionedHash& counter = *cur->hash;
      value = counter.counter_total();
      if (const std::string* mine = counter.find(VersionedHash::counter_field(ctx.region))) {
        own = VersionedHash::decode_i64(*mine);
      }
      if (!counter.base().is_zero()) change.keep_base(counter.base(), counter.base_value());
      if (!counter.expire_version().is_zero()) change.keep_expiry(counter.expire_at_ms(), counter.expire_version());
    } else {
      std::string scratch;
      std::string_view text;
      if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
      if (!parse_int64(text, &value)) return Status::NotInteger();
      change.keep_base(cur->version, value);
      if (cur->expire_at_ms != kNoExpiry) change.keep_expiry(cur->expire_at_ms, cur->version);
    }
    if (__builtin_add_overflow(value, delta, &result)) return Status::Overflow();
    // Wrapping: the contribution alone may pass int64 while the total does not.
    own = static_cast<int64_t>(static_cast<uint64_t>(own) + static_cast<uint64_t>(delta));
    change.put(VersionedHash::counter_field(ctx.region), VersionedHash::encode_i64(own));
    *next = make_record(ValueKind::kCounter, change.encode(), change.expire_at_ms());
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(result);
}

// The proto-max-bulk-len setting: no string may grow past it.
size_t max_string_len(CommandContext& ctx) { return ctx.server.proto_max_bulk_len.load(std::memory_order_relaxed); }
Status string_too_long() { return Status::TooLarge("string exceeds maximum allowed size (proto-max-bulk-len)"); }

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

void get_command(CommandContext& ctx, Args args) {
  const bool found = ctx.cache.reader(ctx.region).get(args[1], [&](const RecordView& rec) {
    std::string scratch;
    std::string_view text;
    if (ok_or_reply(ctx, read_string(rec, &scratch, &text))) ctx.reply.bulk(text);
  });
  const uint64_t ticket = std::exchange(ctx.session.fetch_ticket, 0);
  if (found) return;
  if (!ctx.session.answer_now) {
    // Miss fallback (opt-in): wait for the closest other region's answer,
    // then run again (Connection::resume).
    if (std::optional<uint64_t> t = ctx.cache.fetch_missing(ctx.region, args[1])) {
      GeoCache& cache = ctx.cache;
      ctx.session.fetch_ticket = *t;
      ctx.session.wait = ClientSession::Wait{[&cache, t = *t] { return cache.fetch_done(t); },
                                             ctx.server.now_ms() + cache.miss_fallback().timeout_ms()};
      return;
    }
  } else if (ticket != 0) {
    // Still a miss: the store did not keep the answer (it may have forgotten
    // a newer write of the key), but this read may use it.
    std::optional<Record> rec = ctx.cache.fetched(ticket);
    if (rec && !rec->is_tombstone() && !rec->expired_at(ctx.cache.now_ms())) {
      RecordView view{rec->kind, rec->bytes, rec->expire_at_ms, rec->version};
      Result<VersionedHash> held = VersionedHash();  // a collection's elements (a counter's sums)
      if (is_collection(rec->kind)) {
        held = VersionedHash::decode(rec->bytes, rec->version, collection_kind(rec->kind));
        if (!held.ok()) return ctx.reply.error(errors::kCorruptValue);
        view.bytes = {};
        view.hash = &*held;
      }
      std::string scratch;
      std::string_view text;
      if (ok_or_reply(ctx, read_string(view, &scratch, &text))) ctx.reply.bulk(text);
      return;
    }
  }
  ctx.reply.null();
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
void set_command(CommandContext& ctx, Args args) {
  ArgParser p(args, 3);
  ExtendedArgs ext;
  parse_extended(p, /*for_set=*/true, &ext);
  if (!p.ok_or_reply(ctx.reply)) return;
  int64_t at = kNoExpiry;
  if ((ext.flags & kAnyExpire) && !expire_at_or_reply(ctx, ext.expire, ext.flags, "set", &at)) return;
  std::optional<std::string> old;
  switch (set_generic(ctx, args[1], args[2], ext.flags, at, &old)) {
    case SetResult::kRefused: return;
    case SetResult::kConditionFailed:
      // With GET the reply is the old value whether or not the write happened.
      if (ext.flags & kGet) {
        reply_bulk_or_null(ctx.reply, old);
      } else {
        ctx.reply.null();
      }
      return;
    case SetResult::kWritten:
      if (ext.flags & kGet) {
        reply_bulk_or_null(ctx.reply, old);
      } else {
        ctx.reply.ok();
      }
      return;
  }
}

// SETEX key seconds value / PSETEX key milliseconds value
void setex_generic(CommandContext& ctx, Args args, unsigned unit, std::string_view name) {
  int64_t at = kNoExpiry;
  if (!expire_at_or_reply(ctx, args[2], unit, name, &at)) return;
  if (set_generic(ctx, args[1], args[3], unit, at) == SetResult::kWritten) ctx.reply.ok();
}
void setex_command(CommandContext& ctx, Args args) { setex_generic(ctx, args, kEx, "setex"); }
void psetex_command(CommandContext& ctx, Args args) { setex_generic(ctx, args, kPx, "psetex"); }

void setnx_command(CommandContext& ctx, Args args) {
  switch (set_generic(ctx, args[1], args[2], kNx, kNoExpiry)) {
    case SetResult::kWritten: ctx.reply.integer(1); return;
    case SetResult::kConditionFailed: ctx.reply.integer(0); return;
    default: return;  // refused: replied
  }
}

void getset_command(CommandContext& ctx, Args args) {
  std::optional<std::string> old;
  if (set_generic(ctx, args[1], args[2], kGet, kNoExpiry, &old) != SetResult::kRefused) {
    reply_bulk_or_null(ctx.reply, old);
  }
}

void getdel_command(CommandContext& ctx, Args args) {
  std::optional<std::string> old;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur != nullptr) {
      std::string scratch;
      std::string_view text;
      if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
      old.emplace(text);
    }
    // Absent here, deleted anyway: a write elsewhere not received yet is older.
    *next = tombstone_record();
    return Status::Ok();
  });
  if (ok) reply_bulk_or_null(ctx.reply, old);
}

// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
void getex_command(CommandContext& ctx, Args args) {
  ArgParser p(args, 2);
  ExtendedArgs ext;
  parse_extended(p, /*for_set=*/false, &ext);
  if (!p.ok_or_reply(ctx.reply)) return;
  int64_t at = kNoExpiry;
  if ((ext.flags & kAnyExpire) && !expire_at_or_reply(ctx, ext.expire, ext.flags, "getex", &at)) return;
  if (ext.flags == 0) {  // no option: a plain read, nothing to replicate
    get_command(ctx, args);
    return;
  }
  std::optional<std::string> value;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr) return Status::Ok();
    std::string scratch;
    std::string_view text;
    if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
    value.emplace(text);
    if ((ext.flags & kPersist) && cur->expire_at_ms == kNoExpiry) return Status::Ok();  // nothing changes
    // Same kind and bytes: a kApiValue stays a kApiValue. A past expiry deletes (mutate).
    *next = cur->with_expiry((ext.flags & kPersist) ? kNoExpiry : at);
    return Status::Ok();
  });
  if (ok) reply_bulk_or_null(ctx.reply, value);
}

// MGET key...: a key that is absent or not a string reads as nil.
void mget_command(CommandContext& ctx, Args args) {
  ctx.reply.array_header(args.size() - 1);
  const RegionReader reader = ctx.cache.reader(ctx.region);
  for (size_t i = 1; i < args.size(); ++i) {
    bool replied = false;
    reader.get(args[i], [&](const RecordView& rec) {
      std::string scratch;
      std::string_view text;
      if (!read_string(rec, &scratch, &text).ok()) return;
      ctx.reply.bulk(text);
      replied = true;
    });
    if (!replied) ctx.reply.null();
  }
}

void mset_command(CommandContext& ctx, Args args) {
  if (args.size() % 2 == 0) {
    ctx.reply.error(errors::wrong_arity("mset"));
    return;
  }
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    if (set_generic(ctx, args[i], args[i + 1], 0, kNoExpiry) == SetResult::kRefused) return;
  }
  ctx.reply.ok();
}

void msetnx_command(CommandContext& ctx, Args args) {
  if (args.size() % 2 == 0) {
    ctx.reply.error(errors::wrong_arity("msetnx"));
    return;
  }
  const RegionReader reader = ctx.cache.reader(ctx.region);
  for (size_t i = 1; i < args.size(); i += 2) {
    if (reader.contains(args[i])) {
      ctx.reply.integer(0);
      return;
    }
  }
  for (size_t i = 1; i + 1 < args.size(); i += 2) {
    if (set_generic(ctx, args[i], args[i + 1], 0, kNoExpiry) == SetResult::kRefused) return;
  }
  ctx.reply.integer(1);
}

void incr_command(CommandContext& ctx, Args args) { incr_by(ctx, args[1], 1); }
void decr_command(CommandContext& ctx, Args args) { incr_by(ctx, args[1], -1); }

void incrby_command(CommandContext& ctx, Args args) {
  int64_t delta = 0;
  if (!parse_int64(args[2], &delta)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  incr_by(ctx, args[1], delta);
}

void decrby_command(CommandContext& ctx, Args args) {
  int64_t delta = 0;
  if (!parse_int64(args[2], &delta)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  // -INT64_MIN does not exist (Redis 7 says so rather than overflowing).
  if (delta == std::numeric_limits<int64_t>::min()) {
    ctx.reply.error(errors::kDecrementOverflow);
    return;
  }
  incr_by(ctx, args[1], -delta);
}

// INCRBYFLOAT key increment: long double arithmetic, the result stored and
// replied in Redis' human-friendly form (no exponent, no trailing zeros).
void incrbyfloat_command(CommandContext& ctx, Args args) {
  long double incr = 0;
  const bool incr_ok = parse_long_double(args[2], &incr);
  std::string result;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    long double value = 0;
    int64_t at = default_expire_at(ctx.cache);
    if (cur != nullptr) {
      std::string scratch;
      std::string_view text;
      if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
      if (!parse_long_double(text, &value)) return Status::NotFloat();
      at = cur->expire_at_ms;
    }
    // Redis checks the stored value before the increment.
    if (!incr_ok) return Status::NotFloat();
    const long double sum = value + incr;
    if (std::isnan(sum) || std::isinf(sum)) return Status::NanOrInfinity();
    result = format_long_double(sum);
    *next = make_record(ValueKind::kString, result, at);
    return Status::Ok();
  });
  if (ok) ctx.reply.bulk(result);
}

void append_command(CommandContext& ctx, Args args) {
  const std::string_view suffix = args[2];
  const size_t limit = max_string_len(ctx);
  size_t length = 0;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr) {
      length = suffix.size();
      *next = make_record(ValueKind::kString, std::string(suffix), default_expire_at(ctx.cache));
      return Status::Ok();
    }
    std::string scratch;
    std::string_view text;
    if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
    if (text.size() + suffix.size() > limit) return string_too_long();
    std::string bytes;
    bytes.reserve(text.size() + suffix.size());
    bytes.append(text).append(suffix);
    length = bytes.size();
    *next = make_record(ValueKind::kString, std::move(bytes), cur->expire_at_ms);
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(static_cast<int64_t>(length));
}

void strlen_command(CommandContext& ctx, Args args) {
  const bool found = ctx.cache.reader(ctx.region).get(args[1], [&](const RecordView& rec) {
    std::string scratch;
    std::string_view text;
    if (ok_or_reply(ctx, read_string(rec, &scratch, &text))) ctx.reply.integer(static_cast<int64_t>(text.size()));
  });
  if (!found) ctx.reply.integer(0);
}

// GETRANGE key start end (and its old name SUBSTR): inclusive offsets,
// negative ones counted from the end, clamped to the string.
void getrange_command(CommandContext& ctx, Args args) {
  ArgParser p(args, 2);
  int64_t start = p.next_int();
  int64_t end = p.next_int();
  if (!p.ok_or_reply(ctx.reply)) return;
  const bool found = ctx.cache.reader(ctx.region).get(args[1], [&](const RecordView& rec) {
    std::string scratch;
    std::string_view text;
    if (!ok_or_reply(ctx, read_string(rec, &scratch, &text))) return;
    const int64_t len = static_cast<int64_t>(text.size());
    if (start < 0 && end < 0 && start > end) {
      ctx.reply.bulk("");
      return;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) {
      ctx.reply.bulk("");
    } else {
      ctx.reply.bulk(text.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
    }
  });
  if (!found) ctx.reply.bulk("");
}

// SETRANGE key offset value: overwrites from offset, padding with zero bytes.
void setrange_command(CommandContext& ctx, Args args) {
  int64_t offset = 0;
  if (!parse_int64(args[2], &offset)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  if (offset < 0) {
    ctx.reply.error(errors::kOffsetOutOfRange);
    return;
  }
  const std::string_view value = args[3];
  const size_t limit = max_string_len(ctx);
  const size_t off = static_cast<size_t>(offset);
  size_t length = 0;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    std::string scratch;
    std::string_view text;
    if (cur != nullptr) {
      if (Status st = read_string(*cur, &scratch, &text); !st.ok()) return st;
    }
    length = text.size();
    if (value.empty()) return Status::Ok();  // nothing to write, not even a new key
    if (off + value.size() > limit) return string_too_long();
    std::string bytes(text);
    if (bytes.size() < off + value.size()) bytes.resize(off + value.size(), '\0');
    bytes.replace(off, value.size(), value);
    length = bytes.size();
    *next = make_record(ValueKind::kString, std::move(bytes),
                        cur != nullptr ? cur->expire_at_ms : default_expire_at(ctx.cache));
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(static_cast<int64_t>(length));
}

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kStringCommands[] = {
    {"get", 2, kR | kF, get_command, 1, 1, 1},
    {"set", -3, kW | kM, set_command, 1, 1, 1},
    {"setex", 4, kW | kM, setex_command, 1, 1, 1},
    {"psetex", 4, kW | kM, psetex_command, 1, 1, 1},
    {"setnx", 3, kW | kM | kF, setnx_command, 1, 1, 1},
    {"getset", 3, kW | kM | kF, getset_command, 1, 1, 1},
    {"getdel", 2, kW | kF, getdel_command, 1, 1, 1},
    {"getex", -2, kW | kF, getex_command, 1, 1, 1},
    {"mget", -2, kR | kF, mget_command, 1, -1, 1},
    {"mset", -3, kW | kM, mset_command, 1, -1, 2},
    {"msetnx", -3, kW | kM, msetnx_command, 1, -1, 2},
    {"incr", 2, kW | kM | kF, incr_command, 1, 1, 1},
    {"decr", 2, kW | kM | kF, decr_command, 1, 1, 1},
    {"incrby", 3, kW | kM | kF, incrby_command, 1, 1, 1},
    {"decrby", 3, kW | kM | kF, decrby_command, 1, 1, 1},
    {"incrbyfloat", 3, kW | kM | kF, incrbyfloat_command, 1, 1, 1},
    {"append", 3, kW | kM | kF, append_command, 1, 1, 1},
    {"strlen", 2, kR | kF, strlen_command, 1, 1, 1},
    {"getrange", 4, kR, getrange_command, 1, 1, 1},
    {"substr", 4, kR, getrange_command, 1, 1, 1},
    {"setrange", 4, kW | kM, setrange_command, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> string_family() { return kStringCommands; }

}  // namespace geocache
