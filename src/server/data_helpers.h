// Helpers shared by the data command families (string, key, hash, JSON):
// how a stored record looks to Redis commands, default expiry, and the one
// way their writes run and report errors (mutate_or_reply).
//
// How record kinds map to Redis types (the choices are ours; DESIGN.md
// leaves them open):
//   kString            "string"; raw bytes.
//   kHash              "hash"; a VersionedHash of string fields.
//   kSet, kZset        "set", "zset"; a VersionedHash of members (and scores).
//   kList              "list"; an encoded list (core/list.h).
//   kCounter           "string" (INCR on a string makes one): a VersionedHash
//                      of per-region contributions; string commands read its
//                      decimal total.
//   kJson              "ReJSON-RL" (RedisJSON's type name); an encoded Value.
//   kApiValue          put through the C++ API: scalars (bool, int, double,
//                      string) are strings to string commands: ints print
//                      in decimal, doubles in the shortest text that reads
//                      back exactly, booleans as "1"/"0" (how RESP2 shows a
//                      boolean). A null, a list or a map is a JSON document:
//                      TYPE says "ReJSON-RL", JSON.GET reads it, string
//                      commands get WRONGTYPE. Writes by string commands
//                      store the result as kString.
//
// Default TTL (GeoCache::default_ttl_ms, 0 = none): a command that writes a
// key's whole value without an expiry option (SET, SETNX, GETSET, MSET, JSON.SET
// creating a key) or creates a key (INCR, APPEND, HSET on an absent key) gives
// it the default TTL; a command that changes an existing value in place (INCR,
// APPEND, HSET, SETRANGE, JSON.SET on an existing key) keeps the key's TTL, as
// Redis does.
//
// Not for use outside the data families.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache/geo_cache.h"
#include "cache/lru_cache.h"
#include "core/record.h"
#include "core/value.h"
#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/command.h"
#include "server/errors.h"

namespace geocache {

// The arguments of SCAN and its per-key forms (SSCAN, ZSCAN): the cursor at
// args[cursor_at], then MATCH pattern and COUNT n (and, with_type, TYPE t)
// in any order. False, the error replied, if one is bad.
struct ScanArgs {
  int64_t cursor = 0;
  int64_t count = 10;
  std::optional<std::string_view> match, type;
};
inline bool parse_scan_or_reply(CommandContext& ctx, std::span<const std::string_view> args, size_t cursor_at,
                                bool with_type, ScanArgs* out) {
  if (!parse_int64(args[cursor_at], &out->cursor) || out->cursor < 0) {
    ctx.reply.error(errors::kInvalidCursor);
    return false;
  }
  ArgParser p(args, cursor_at + 1);
  while (p.has_next()) {
    if (p.remaining() >= 2 && p.check("COUNT")) {
      out->count = p.next_int();
      if (p.ok() && out->count < 1) p.fail(errors::kSyntax);
    } else if (p.remaining() >= 2 && p.check("MATCH")) {
      out->match = p.next();
    } else if (with_type && p.remaining() >= 2 && p.check("TYPE")) {
      out->type = p.next();
    } else {
      p.fail(errors::kSyntax);
    }
  }
  return p.ok_or_reply(ctx.reply);
}

// The string content of a record for string commands. For kString *out views
// rec.bytes (no copy, valid as long as rec); for a kApiValue scalar the text is
// rendered into *scratch and *out views it. kWrongType for anything else
// (hash, JSON, tombstone, non-scalar kApiValue), kCorruption for kApiValue bytes
// that do not decode.
inline Status read_string(const RecordView& rec, std::string* scratch, std::string_view* out) {
  if (rec.kind == ValueKind::kString) {
    *out = rec.bytes;
    return Status::Ok();
  }
  if (rec.kind == ValueKind::kCounter) {
    *scratch = std::to_string(rec.hash->counter_total());
    *out = *scratch;
    return Status::Ok();
  }
  if (rec.kind != ValueKind::kApiValue) return Status::WrongType();
  auto v = Value::decode(rec.bytes);
  if (!v.ok()) return v.status();
  switch (v->type()) {
    case Value::Type::kBool: scratch->assign(1, v->as_bool() ? '1' : '0'); break;
    case Value::Type::kInt: *scratch = std::to_string(v->as_int()); break;
    case Value::Type::kDouble: *scratch = format_double(v->as_double()); break;
    case Value::Type::kString: *scratch = std::move(v->as_string()); break;
    default: return Status::WrongType();
  }
  *out = *scratch;
  return Status::Ok();
}

// TYPE's name for a record: "string", "hash", "ReJSON-RL".
inline std::string_view type_name(const RecordView& rec) {
  switch (rec.kind) {
    case ValueKind::kString:
    case ValueKind::kCounter: return "string";
    case ValueKind::kHash: return "hash";
    case ValueKind::kSet: return "set";
    case ValueKind::kZset: return "zset";
    case ValueKind::kList: return "list";
    case ValueKind::kJson: return "ReJSON-RL";
    case ValueKind::kApiValue: {
      std::string scratch;
      std::string_view text;
      return read_string(rec, &scratch, &text).ok() ? "string" : "ReJSON-RL";
    }
    case ValueKind::kTombstone:
    case ValueKind::kListOp: return "none";  // never stored
  }
  return "none";
}

// OBJECT ENCODING's name for a record, as Redis 7 names its encodings for
// the same content: an integer string "int", a short one "embstr"; our
// collections are hash tables and a skiplist, which Redis reports for big
// ones ("hashtable", "skiplist").
inline std::string_view encoding_name(const RecordView& rec) {
  switch (rec.kind) {
    case ValueKind::kCounter: return "int";
    case ValueKind::kHash:
    case ValueKind::kSet: return "hashtable";
    case ValueKind::kZset: return "skiplist";
    case ValueKind::kList: return "quicklist";  // what Redis 7.0 reports for every list
    case ValueKind::kJson: return "raw";
    default: break;
  }
  std::string scratch;
  std::string_view text;
  if (!read_string(rec, &scratch, &text).ok()) return "raw";
  int64_t v;
  if (text.size() <= 20 && parse_int64(text, &v)) return "int";
  return text.size() <= 44 ? "embstr" : "raw";
}

// The absolute expiry a newly written whole value gets: now + the default
// TTL, or kNoExpiry if there is none.
inline int64_t default_expire_at(const GeoCache& cache) {
  const int64_t ttl = cache.default_ttl_ms();
  return ttl > 0 ? cache.now_ms() + ttl : kNoExpiry;
}

inline Record make_record(ValueKind kind, std::string bytes, int64_t expire_at_ms) {
  Record r;
  r.kind = kind;
  r.bytes = std::move(bytes);
  r.expire_at_ms = expire_at_ms;
  return r;
}

inline Record tombstone_record() { return make_record(ValueKind::kTombstone, {}, kNoExpiry); }

// Replies the error line of a non-ok status and returns false; true if ok.
inline bool ok_or_reply(CommandContext& ctx, const Status& st) {
  if (st.ok()) return true;
  ctx.reply.error(errors::from_status(st));
  return false;
}

// Runs a read-modify-write through GeoCache::mutate (which versions and
// replicates the new record). A mutator refuses a write by returning a
// non-ok status (WRONGTYPE, not an integer, ...), the cache by OOM: either
// way nothing is written, the error is replied here and false returned, and
// the handler just returns. So a mutator never replies itself: it leaves its
// outcome in locals and the handler replies once the write is done.
inline bool mutate_or_reply(CommandContext& ctx, std::string_view key, GeoCache::Mutator fn) {
  return ok_or_reply(ctx, ctx.cache.mutate(key, ctx.region, fn));
}

// ---------------------------------------------------------------------------
// Collections: hashes, sets, sorted sets (a VersionedHash each)
// ---------------------------------------------------------------------------

// Calls fn with the collection of `kind` at key (null if absent) under the
// store's lock: fn may reply but must not touch the cache. Returns false
// after replying WRONGTYPE if the key holds something else.
template <typename Fn>
bool read_collection_or_reply(CommandContext& ctx, std::string_view key, ValueKind kind, Fn&& fn) {
  bool wrong_type = false;
  const bool found = ctx.cache.reader(ctx.region).get(key, [&](const RecordView& rec) {
    if (rec.kind != kind) {
      wrong_type = true;
      return;
    }
    fn(rec.hash);
  });
  if (wrong_type) return ok_or_reply(ctx, Status::WrongType());
  if (!found) fn(static_cast<const VersionedHash*>(nullptr));
  return true;
}

// Members of a set or zset (null: absent, none).
inline size_t card(const VersionedHash* collection) { return collection != nullptr ? collection->live_fields() : 0; }

// Read-modify-write of the collection of `kind` at key: fn(collection or
// null, HashDelta*, bool* delete_key) puts what it changes in the delta and
// returns a non-ok status to refuse; an empty delta writes nothing, and
// *delete_key set deletes the key instead. The write carries only the
// delta (and the collection's expiry: a new one gets the default TTL), so
// it costs O(elements changed) whatever the collection's size. Returns
// false once it has replied an error.
template <typename Fn>
bool update_collection_or_reply(CommandContext& ctx, std::string_view key, ValueKind kind, Fn&& fn) {
  return mutate_or_reply(ctx, key, [&](const RecordView* cur, std::optional<Record>* next) {
    if (cur != nullptr && cur->kind != kind) return Status::WrongType();
    const VersionedHash* collection = cur != nullptr ? cur->hash : nullptr;
    HashDelta delta;
    bool delete_key = false;
    if (Status st = fn(collection, &delta, &delete_key); !st.ok()) return st;
    if (delete_key) {
      *next = tombstone_record();
      return Status::Ok();
    }
    if (delta.empty()) return Status::Ok();
    if (collection == nullptr) {
      delta.set_expiry(default_expire_at(ctx.cache));
    } else if (!collection->expire_version().is_zero()) {
      delta.keep_expiry(collection->expire_at_ms(), collection->expire_version());
    }
    *next = make_record(kind, delta.encode(), delta.expire_at_ms());
    return Status::Ok();
  });
}

}  // namespace geocache
