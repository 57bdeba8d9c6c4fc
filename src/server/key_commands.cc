// Key-space commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, the EXPIRE and TTL
// families, PERSIST, KEYS, SCAN, RANDOMKEY, FLUSHDB and FLUSHALL. Redis 7
// semantics and reply bytes, against the client's region's store.
//
// Writes go through GeoCache (mutate, remove, flush_all), which versions and
// replicates them; changing a TTL replicates the key's whole record with its
// new absolute expiry (DESIGN.md). Reads go through the region's
// RegionReader: those Redis does without touching LRU (EXISTS, TYPE, TTL)
// use peek(); TOUCH uses get() because touching is its point.
//
// SCAN's cursor is a shard index. The store can enumerate one shard at a time
// (RegionReader::scan_shard) but has no stable position inside a shard's hash
// table, so each SCAN call returns all matching keys of one shard and the
// next cursor is the next shard, 0 after the last. COUNT is accepted and
// checked but is no limit: a call returns a whole shard. This keeps SCAN's
// guarantee — a key present for the whole iteration is returned — because a
// shard is visited under its lock in one go.
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "core/versioned_hash.h"
#include "server/client_session.h"
#include "server/data_helpers.h"
#include "server/databases.h"
#include "server/errors.h"
#include "server/glob_match.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// ---------------------------------------------------------------------------
// Existence and type
// ---------------------------------------------------------------------------

void del_command(CommandContext& ctx, Args args) {
  int64_t removed = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    // A delete is refused only for a key too big ever to have been stored,
    // that is for a key that is not there: it counts as absent.
    const Result<bool> r = ctx.cache.remove(args[i], ctx.region);
    if (r.ok() && *r) ++removed;
  }
  ctx.reply.integer(removed);
}

// EXISTS key...: a key named twice counts twice, as in Redis.
void exists_command(CommandContext& ctx, Args args) {
  const RegionReader reader = ctx.cache.reader(ctx.region);
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (reader.contains(args[i])) ++n;
  }
  ctx.reply.integer(n);
}

// TOUCH key...: counts the keys that exist and marks them recently used.
void touch_command(CommandContext& ctx, Args args) {
  const RegionReader reader = ctx.cache.reader(ctx.region);
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (reader.get(args[i], [](const RecordView&) {})) ++n;
  }
  ctx.reply.integer(n);
}

void type_command(CommandContext& ctx, Args args) {
  std::string_view type = "none";
  ctx.cache.reader(ctx.region).peek(args[1], [&](const RecordView& view) { type = type_name(view); });
  ctx.reply.simple(type);
}

// ---------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------

enum ExpireFlag : unsigned {
  kExpireNx = 1u << 0,  // only if the key has no expiry
  kExpireXx = 1u << 1,  // only if the key has an expiry
  kExpireGt = 1u << 2,  // only if the new expiry is later (no expiry = infinitely late)
  kExpireLt = 1u << 3,  // only if the new expiry is earlier
};

// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]. basetime_ms is
// now for the relative forms and 0 for the absolute ones. As in Redis, a
// time in the past (negative numbers included) deletes the key and replies 1.
void expire_generic(CommandContext& ctx, Args args, int64_t basetime_ms, bool seconds, std::string_view name) {
  unsigned flags = 0;
  for (size_t i = 3; i < args.size(); ++i) {
    if (equals_ci(args[i], "nx")) {
      flags |= kExpireNx;
    } else if (equals_ci(args[i], "xx")) {
      flags |= kExpireXx;
    } else if (equals_ci(args[i], "gt")) {
      flags |= kExpireGt;
    } else if (equals_ci(args[i], "lt")) {
      flags |= kExpireLt;
    } else {
      ctx.reply.error(errors::unsupported_option(args[i]));
      return;
    }
  }
  if ((flags & kExpireNx) && (flags & (kExpireXx | kExpireGt | kExpireLt))) {
    ctx.reply.error(errors::kExpireNxConflict);
    return;
  }
  if ((flags & kExpireGt) && (flags & kExpireLt)) {
    ctx.reply.error(errors::kExpireGtLtConflict);
    return;
  }
  int64_t when = 0;
  if (!parse_int64(args[2], &when)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (seconds) {
    if (when > kMax / 1000 || when < kMin / 1000) {
      ctx.reply.error(errors::invalid_expire(name));
      return;
    }
    when *= 1000;
  }
  if (when > kMax - basetime_ms) {
    ctx.reply.error(errors::invalid_expire(name));
    return;
  }
  when += basetime_ms;

  bool changed = false;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr) return Status::Ok();
    const bool has_ttl = cur->expire_at_ms != kNoExpiry;
    if ((flags & kExpireNx) && has_ttl) return Status::Ok();
    if ((flags & kExpireXx) && !has_ttl) return Status::Ok();
    if ((flags & kExpireGt) && (!has_ttl || when <= cur->expire_at_ms)) return Status::Ok();
    if ((flags & kExpireLt) && has_ttl && when >= cur->expire_at_ms) return Status::Ok();
    changed = true;
    // kNoExpiry is 0, so a time at or before the epoch must be written as the
    // delete it means rather than as an expiry.
    if (when <= ctx.cache.now_ms()) {
      *next = tombstone_record();
    } else {
      *next = cur->with_expiry(when);
    }
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(changed ? 1 : 0);
}

void expire_command(CommandContext& ctx, Args args) {
  expire_generic(ctx, args, ctx.cache.now_ms(), /*seconds=*/true, "expire");
}
void pexpire_command(CommandContext& ctx, Args args) {
  expire_generic(ctx, args, ctx.cache.now_ms(), /*seconds=*/false, "pexpire");
}
void expireat_command(CommandContext& ctx, Args args) { expire_generic(ctx, args, 0, /*seconds=*/true, "expireat"); }
void pexpireat_command(CommandContext& ctx, Args args) {
  expire_generic(ctx, args, 0, /*seconds=*/false, "pexpireat");
}

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for no key, -1 for no expiry; the
// second forms round to the nearest second as Redis does.
void ttl_generic(CommandContext& ctx, Args args, bool in_ms, bool absolute) {
  int64_t expire_at_ms = 0;
  if (!ctx.cache.reader(ctx.region).peek(args[1], [&](const RecordView& view) { expire_at_ms = view.expire_at_ms; })) {
    ctx.reply.integer(-2);
    return;
  }
  if (expire_at_ms == kNoExpiry) {
    ctx.reply.integer(-1);
    return;
  }
  int64_t t = absolute ? expire_at_ms : expire_at_ms - ctx.cache.now_ms();
  if (t < 0) t = 0;
  ctx.reply.integer(in_ms ? t : (t + 500) / 1000);
}

void ttl_command(CommandContext& ctx, Args args) { ttl_generic(ctx, args, false, false); }
void pttl_command(CommandContext& ctx, Args args) { ttl_generic(ctx, args, true, false); }
void expiretime_command(CommandContext& ctx, Args args) { ttl_generic(ctx, args, false, true); }
void pexpiretime_command(CommandContext& ctx, Args args) { ttl_generic(ctx, args, true, true); }

void persist_command(CommandContext& ctx, Args args) {
  bool changed = false;
  const bool ok = mutate_or_reply(ctx, args[1], [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur == nullptr || cur->expire_at_ms == kNoExpiry) return Status::Ok();
    changed = true;
    *next = cur->with_expiry(kNoExpiry);
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(changed ? 1 : 0);
}

// ---------------------------------------------------------------------------
// Enumeration
// ---------------------------------------------------------------------------

// KEYS pattern: every live key of the region's store that matches. Walks the
// whole store (one shard lock at a time), like Redis' KEYS walks the keyspace.
void keys_command(CommandContext& ctx, Args args) {
  const std::string_view pattern = args[1];
  const bool all = pattern == "*";
  const int db = ctx.session.db.load();
  const RegionReader reader = ctx.cache.reader(ctx.region);
  std::vector<std::string> keys;
  for (int shard = 0; shard < reader.shard_count(); ++shard) {
    reader.scan_shard(shard, [&](std::string_view stored, const RecordView&) {
      std::string_view key;
      if (key_db(stored, &key) != db) return;
      if (all || glob_match(pattern, key)) keys.emplace_back(key);
    });
  }
  ctx.reply.array_header(keys.size());
  for (const auto& k : keys) ctx.reply.bulk(k);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: see the comment at
// the top of the file for what the cursor means.
void scan_command(CommandContext& ctx, Args args) {
  ScanArgs scan;
  if (!parse_scan_or_reply(ctx, args, 1, true, &scan)) return;
  const int64_t cursor = scan.cursor;
  const std::optional<std::string_view> match = scan.match;
  const std::optional<std::string_view> type = scan.type;

  const RegionReader reader = ctx.cache.reader(ctx.region);
  std::vector<std::string> keys;
  int64_t next_cursor = 0;
  if (cursor < reader.shard_count()) {
    const bool match_all = !match || *match == "*";
    const int db = ctx.session.db.load();
    reader.scan_shard(static_cast<int>(cursor), [&](std::string_view stored, const RecordView& rec) {
      std::string_view key;
      if (key_db(stored, &key) != db) return;
      if (type && !equals_ci(*type, type_name(rec))) return;
      if (match_all || glob_match(*match, key)) keys.emplace_back(key);
    });
    next_cursor = cursor + 1 < reader.shard_count() ? cursor + 1 : 0;
  }
  ctx.reply.array_header(2);
  ctx.reply.bulk(std::to_string(next_cursor));
  ctx.reply.array_header(keys.size());
  for (const auto& k : keys) ctx.reply.bulk(k);
}

// RANDOMKEY: a random key of the store, retried a few times while it falls
// in another database (then one walk picks the first key of this one).
void randomkey_command(CommandContext& ctx, Args) {
  const int db = ctx.session.db.load();
  const RegionReader reader = ctx.cache.reader(ctx.region);
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto stored = reader.random_key();
    if (!stored) break;
    std::string_view key;
    if (key_db(*stored, &key) == db) return ctx.reply.bulk(key);
    if (!other_databases_seen().load()) break;
  }
  std::optional<std::string> found;
  for (int shard = 0; shard < reader.shard_count() && !found; ++shard) {
    reader.scan_shard(shard, [&](std::string_view stored, const RecordView&) {
      std::string_view key;
      if (!found && key_db(stored, &key) == db) found.emplace(key);
    });
  }
  if (found) {
    ctx.reply.bulk(*found);
  } else {
    ctx.reply.null();
  }
}

bool flush_args_ok(CommandContext& ctx, Args args) {
  if (args.size() > 2 || (args.size() == 2 && !equals_ci(args[1], "async") && !equals_ci(args[1], "sync"))) {
    ctx.reply.error(errors::kSyntax);
    return false;
  }
  return true;
}

// Stored keys of database db in the client's region.
std::vector<std::string> keys_of_db(CommandContext& ctx, int db) {
  const RegionReader reader = ctx.cache.reader(ctx.region);
  std::vector<std::string> keys;
  for (int shard = 0; shard < reader.shard_count(); ++shard) {
    reader.scan_shard(shard, [&](std::string_view stored, const RecordView&) {
      std::string_view key;
      if (key_db(stored, &key) == db) keys.emplace_back(stored);
    });
  }
  return keys;
}

// FLUSHALL [ASYNC|SYNC]: everything, every database, in every region (a
// versioned flush: DESIGN.md). ASYNC and SYNC are accepted; the flush is
// always done before the reply.
void flushall_command(CommandContext& ctx, Args args) {
  if (!flush_args_ok(ctx, args)) return;
  ctx.cache.flush_all(ctx.region);
  ctx.reply.ok();
}

// FLUSHDB: while only database 0 was ever used, the versioned flush of
// everything; else a delete of each key of the client's database (each
// replicated as a tombstone: O(keys) events).
void flushdb_command(CommandContext& ctx, Args args) {
  if (!flush_args_ok(ctx, args)) return;
  const int db = ctx.session.db.load();
  if (db == 0 && !other_databases_seen().load()) {
    // One walk to be sure: other databases' keys may have come from another region.
    bool others = false;
    const RegionReader reader = ctx.cache.reader(ctx.region);
    for (int shard = 0; shard < reader.shard_count() && !others; ++shard) {
      reader.scan_shard(shard, [&](std::string_view stored, const RecordView&) {
        std::string_view key;
        others = others || key_db(stored, &key) != 0;
      });
    }
    if (!others) {
      ctx.cache.flush_all(ctx.region);
      ctx.reply.ok();
      return;
    }
  }
  for (const std::string& key : keys_of_db(ctx, db)) (void)ctx.cache.remove(key, ctx.region);
  ctx.reply.ok();
}

// ---------------------------------------------------------------------------
// Copies between keys: RENAME, RENAMENX, COPY, MOVE
// ---------------------------------------------------------------------------

// Writes src's value and expiry to dst (replacing what dst holds), as one
// write of dst, or for a hash a delete of dst and then its fields (a hash
// merges per field, so a whole-key replacement is a delete and a write).
// kNoSuchKey if src is absent. Not atomic with src's later delete (RENAME):
// two keys, two writes, as MSET.
Status copy_key(CommandContext& ctx, std::string_view src, std::string_view dst, bool replace, bool* copied) {
  *copied = false;
  std::optional<Record> value;
  // A hash, set or sorted set is held as versioned elements (rec.bytes is
  // empty): the copy writes each live one anew. A counter is a string to
  // every command, and is copied as its total.
  HashDelta fields;
  std::optional<ValueKind> collection;
  ctx.cache.reader(ctx.region).peek(src, [&](const RecordView& rec) {
    if (rec.kind == ValueKind::kCounter) {
      value = make_record(ValueKind::kString, std::to_string(rec.hash->counter_total()), rec.expire_at_ms);
    } else if (is_collection(rec.kind)) {
      collection = rec.kind;
      rec.hash->for_each([&](std::string_view f, std::string_view v) { fields.put(f, v); });
      fields.set_expiry(rec.expire_at_ms);
      value.emplace();
    } else {
      value = make_record(rec.kind, std::string(rec.bytes), rec.expire_at_ms);
    }
  });
  if (!value) return Status::NotFound("no such key");
  if (!replace && ctx.cache.reader(ctx.region).contains(dst)) return Status::Ok();
  if (collection) {
    // Removed first, or the elements would merge into what dst holds.
    if (ctx.cache.reader(ctx.region).contains(dst)) {
      if (Result<bool> r = ctx.cache.remove(dst, ctx.region); !r.ok()) return r.status();
    }
    Status st = ctx.cache.mutate(dst, ctx.region, [&](const RecordView*, std::optional<Record>* next) {
      *next = make_record(*collection, fields.encode(), fields.expire_at_ms());
      return Status::Ok();
    });
    if (!st.ok()) return st;
  } else {
    Status st = ctx.cache.mutate(dst, ctx.region, [&](const RecordView*, std::optional<Record>* next) {
      *next = *value;
      return Status::Ok();
    });
    if (!st.ok()) return st;
  }
  *copied = true;
  return Status::Ok();
}

void rename_generic(CommandContext& ctx, Args args, bool nx) {
  const std::string_view src = args[1], dst = args[2];
  if (!ctx.cache.reader(ctx.region).contains(src)) return ctx.reply.error(errors::kNoSuchKey);
  if (src == dst) return nx ? ctx.reply.integer(0) : ctx.reply.ok();
  bool copied = false;
  if (!ok_or_reply(ctx, copy_key(ctx, src, dst, /*replace=*/!nx, &copied))) return;
  if (copied) (void)ctx.cache.remove(src, ctx.region);
  if (nx) {
    ctx.reply.integer(copied ? 1 : 0);
  } else {
    ctx.reply.ok();
  }
}

void rename_command(CommandContext& ctx, Args args) { rename_generic(ctx, args, false); }
void renamenx_command(CommandContext& ctx, Args args) { rename_generic(ctx, args, true); }

// COPY source destination [DB destination-db] [REPLACE]
void copy_command(CommandContext& ctx, Args args) {
  bool replace = false;
  std::optional<int64_t> dst_db;
  ArgParser p(args, 3);
  while (p.has_next()) {
    if (p.check("REPLACE")) {
      replace = true;
    } else if (p.remaining() >= 2 && p.check("DB")) {
      dst_db = p.next_int();
      if (p.ok() && (*dst_db < 0 || *dst_db >= kDatabases)) p.fail(errors::kDbIndexOutOfRange);
    } else {
      p.fail(errors::kSyntax);
    }
  }
  if (!p.ok_or_reply(ctx.reply)) return;
  // args are stored keys (dispatch mapped them to the session's database);
  // DB names the destination's database afresh.
  std::string dst(args[2]);
  if (dst_db) {
    std::string_view user_key;
    key_db(args[2], &user_key);
    dst = *dst_db == 0 ? std::string(user_key) : db_key(static_cast<int>(*dst_db), user_key);
    if (*dst_db != 0) other_databases_seen().store(true);
  }
  if (args[1] == dst) return ctx.reply.error("ERR source and destination objects are the same");
  bool copied = false;
  const Status st = copy_key(ctx, args[1], dst, replace, &copied);
  if (st.code() == StatusCode::kNotFound) return ctx.reply.integer(0);
  if (!ok_or_reply(ctx, st)) return;
  ctx.reply.integer(copied ? 1 : 0);
}

// MOVE key db: to another database if absent there; 1 if moved.
void move_command(CommandContext& ctx, Args args) {
  int64_t db = 0;
  if (!parse_int64(args[2], &db)) return ctx.reply.error(errors::kNotInteger);
  if (db < 0 || db >= kDatabases) return ctx.reply.error(errors::kDbIndexOutOfRange);
  if (db == ctx.session.db.load()) return ctx.reply.error("ERR source and destination objects are the same");
  std::string_view user_key;
  key_db(args[1], &user_key);
  const std::string dst = db == 0 ? std::string(user_key) : db_key(static_cast<int>(db), user_key);
  if (db != 0) other_databases_seen().store(true);
  bool copied = false;
  const Status st = copy_key(ctx, args[1], dst, /*replace=*/false, &copied);
  if (st.code() == StatusCode::kNotFound) return ctx.reply.integer(0);
  if (!ok_or_reply(ctx, st)) return;
  if (copied) (void)ctx.cache.remove(args[1], ctx.region);
  ctx.reply.integer(copied ? 1 : 0);
}

// ---------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------

// Redis' encoding names for what a key holds: an integer string "int", a
// short one "embstr", others "raw"; a hash "hashtable" (ours is one at any
// size); JSON documents are RedisJSON's "raw".
std::string_view encoding_of(const RecordView& rec) {
  switch (rec.kind) {
    case ValueKind::kString: {
      int64_t v = 0;
      if (rec.bytes.size() <= 20 && parse_int64(rec.bytes, &v)) return "int";
      return rec.bytes.size() <= 44 ? "embstr" : "raw";
    }
    case ValueKind::kHash: return "hashtable";
    case ValueKind::kList: return "quicklist";  // Redis 7.0's for every list
    default: return "raw";
  }
}

void object_command(CommandContext& ctx, Args args) {
  const std::string_view sub = args[1];
  if (equals_ci(sub, "help") && args.size() == 2) {
    ctx.reply.array_header(5);
    ctx.reply.simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    ctx.reply.simple("ENCODING <key> -- Return the kind of internal representation used in order to store the value.");
    ctx.reply.simple("FREQ <key> -- Return the access frequency index of the key (LFU policies only).");
    ctx.reply.simple("IDLETIME <key> -- Return the idle time of the key (not tracked: 0).");
    ctx.reply.simple("REFCOUNT <key> -- Return the number of references of the value associated with the key.");
    return;
  }
  const bool known = equals_ci(sub, "encoding") || equals_ci(sub, "freq") || equals_ci(sub, "idletime") ||
                     equals_ci(sub, "refcount");
  if (!known) return ctx.reply.error(errors::unknown_subcommand(sub, "object"));
  if (args.size() != 3) {
    std::string name = "object|" + std::string(sub);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ctx.reply.error(errors::wrong_arity(name));
  }
  // The key: OBJECT's key is its third argument, which dispatch does not map
  // (the row names none), so map it here.
  const int db = ctx.session.db.load();
  const std::string key = db == 0 ? std::string(args[2]) : db_key(db, args[2]);
  std::string_view encoding;
  if (!ctx.cache.reader(ctx.region).peek(key, [&](const RecordView& rec) { encoding = encoding_of(rec); })) {
    return ctx.reply.null();
  }
  if (equals_ci(sub, "encoding")) {
    ctx.reply.bulk(encoding);
  } else if (equals_ci(sub, "freq")) {
    ctx.reply.error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching "
        "between policies at runtime LRU and LFU data will take some time to adjust.");
  } else if (equals_ci(sub, "idletime")) {
    // The store keeps recency as an order, not a time per key.
    ctx.reply.integer(0);
  } else {
    ctx.reply.integer(1);
  }
}

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kKeyCommands[] = {
    {"del", -2, kW, del_command, 1, -1, 1},
    {"unlink", -2, kW | kF, del_command, 1, -1, 1},
    {"exists", -2, kR | kF, exists_command, 1, -1, 1},
    {"touch", -2, kR | kF, touch_command, 1, -1, 1},
    {"type", 2, kR | kF, type_command, 1, 1, 1},
    {"expire", -3, kW | kF, expire_command, 1, 1, 1},
    {"pexpire", -3, kW | kF, pexpire_command, 1, 1, 1},
    {"expireat", -3, kW | kF, expireat_command, 1, 1, 1},
    {"pexpireat", -3, kW | kF, pexpireat_command, 1, 1, 1},
    {"ttl", 2, kR | kF, ttl_command, 1, 1, 1},
    {"pttl", 2, kR | kF, pttl_command, 1, 1, 1},
    {"expiretime", 2, kR | kF, expiretime_command, 1, 1, 1},
    {"pexpiretime", 2, kR | kF, pexpiretime_command, 1, 1, 1},
    {"persist", 2, kW | kF, persist_command, 1, 1, 1},
    {"keys", 2, kR, keys_command, 0, 0, 0},
    {"scan", -2, kR, scan_command, 0, 0, 0},
    {"randomkey", 1, kR, randomkey_command, 0, 0, 0},
    {"flushdb", -1, kW, flushdb_command, 0, 0, 0},
    {"flushall", -1, kW, flushall_command, 0, 0, 0},
    {"rename", 3, kW, rename_command, 1, 2, 1},
    {"renamenx", 3, kW | kF, renamenx_command, 1, 2, 1},
    {"copy", -3, kW, copy_command, 1, 2, 1},
    {"move", 3, kW | kF, move_command, 1, 1, 1},
    {"object", -2, kR, object_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> key_family() { return kKeyCommands; }

}  // namespace geocache
