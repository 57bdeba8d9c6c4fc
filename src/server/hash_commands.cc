// Hash commands: HSET/HMSET/HSETNX, HGET/HMGET/HGETALL, HDEL, HEXISTS, HLEN,
// HKEYS, HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT. Redis 7 semantics and reply
// bytes.
//
// A hash is one record of kind kHash whose bytes are an encoded Value::Map of
// string fields. Every write decodes the map, changes it and stores (and so
// replicates) the whole new map: DESIGN.md asks for whole states, never
// deltas, so two regions writing different fields at once converge on one of
// the two hashes instead of diverging. Removing the last field deletes the
// key, as in Redis. Fields come back in byte order of their names (the map is
// ordered), where Redis gives insertion or hash order.
//
// An existing hash keeps its TTL across writes; a hash created by a write
// gets the default TTL (data_helpers.h).
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// The text of a field's value. Only HSET and friends write kHash records, so
// every field is a string; anything else is shown as its JSON text.
std::string field_text(const Value& v) { return v.is_string() ? v.as_string() : v.to_json(); }

// Decodes a kHash record's map: kWrongType for other kinds, kCorruption for
// bytes that are no map.
Status decode_hash(const RecordView& rec, Value::Map* out) {
  if (rec.kind != ValueKind::kHash) return Status::WrongType();
  auto v = Value::decode(rec.bytes);
  if (!v.ok() || v->type() != Value::Type::kMap) return Status::Corruption("hash bytes are not a map");
  *out = std::move(v->as_map());
  return Status::Ok();
}

// Reads the hash at key for a read command. Returns false (after replying
// the error) if the key holds something else; *found tells whether it exists.
bool read_hash_or_reply(CommandContext& ctx, std::string_view key, Value::Map* map, bool* found) {
  Status st;
  *found = ctx.cache.reader(ctx.region).get(key, [&](const RecordView& rec) { st = decode_hash(rec, map); });
  return ok_or_reply(ctx, st);
}

// Read-modify-write of the hash at key. fn changes the map (empty if the key
// is absent) and returns a non-ok status to refuse; an empty map afterwards
// deletes the key. Returns false once it has replied an error.
template <typename Fn>
bool update_hash_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return mutate_or_reply(ctx, key, [&](const RecordView* cur, std::optional<Record>* next) {
    Value::Map map;
    int64_t at = default_expire_at(ctx.cache);
    if (cur != nullptr) {
      if (Status st = decode_hash(*cur, &map); !st.ok()) return st;
      at = cur->expire_at_ms;
    }
    bool changed = false;
    if (Status st = fn(map, &changed); !st.ok() || !changed) return st;
    if (map.empty()) {
      *next = tombstone_record();
    } else {
      *next = make_record(ValueKind::kHash, Value(std::move(map)).encode(), at);
    }
    return Status::Ok();
  });
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

// Sets the field/value pairs in args[2..]; returns how many fields are new.
// REQUIRES: an even number of them (checked by the caller).
bool hset_pairs_or_reply(CommandContext& ctx, Args args, int64_t* added) {
  *added = 0;
  return update_hash_or_reply(ctx, args[1], [&](Value::Map& map, bool* changed) -> Status {
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      auto [it, inserted] = map.insert_or_assign(std::string(args[i]), Value(args[i + 1]));
      if (inserted) ++*added;
    }
    *changed = true;
    return Status::Ok();
  });
}

void hset_command(CommandContext& ctx, Args args) {
  if (args.size() % 2 != 0) {
    ctx.reply.error(errors::wrong_arity("hset"));
    return;
  }
  int64_t added = 0;
  if (hset_pairs_or_reply(ctx, args, &added)) ctx.reply.integer(added);
}

void hmset_command(CommandContext& ctx, Args args) {
  if (args.size() % 2 != 0) {
    ctx.reply.error(errors::wrong_arity("hmset"));
    return;
  }
  int64_t added = 0;
  if (hset_pairs_or_reply(ctx, args, &added)) ctx.reply.ok();
}

void hsetnx_command(CommandContext& ctx, Args args) {
  bool set = false;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](Value::Map& map, bool* changed) -> Status {
    if (map.find(args[2]) != map.end()) return Status::Ok();
    map.emplace(std::string(args[2]), Value(args[3]));
    set = *changed = true;
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(set ? 1 : 0);
}

void hdel_command(CommandContext& ctx, Args args) {
  int64_t removed = 0;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](Value::Map& map, bool* changed) -> Status {
    for (size_t i = 2; i < args.size(); ++i) {
      auto it = map.find(args[i]);
      if (it == map.end()) continue;
      map.erase(it);
      ++removed;
    }
    *changed = removed > 0;
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(removed);
}

void hincrby_command(CommandContext& ctx, Args args) {
  int64_t delta = 0;
  if (!parse_int64(args[3], &delta)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  int64_t result = 0;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](Value::Map& map, bool* changed) -> Status {
    int64_t value = 0;
    auto it = map.find(args[2]);
    if (it != map.end() && !parse_int64(field_text(it->second), &value)) return Status::HashNotInteger();
    if ((delta < 0 && value < 0 && delta < std::numeric_limits<int64_t>::min() - value) ||
        (delta > 0 && value > 0 && delta > std::numeric_limits<int64_t>::max() - value)) {
      return Status::Overflow();
    }
    result = value + delta;
    map.insert_or_assign(std::string(args[2]), Value(std::to_string(result)));
    *changed = true;
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(result);
}

void hincrbyfloat_command(CommandContext& ctx, Args args) {
  long double delta = 0;
  if (!parse_long_double(args[3], &delta)) {
    ctx.reply.error(errors::kNotFloat);
    return;
  }
  // Redis 7 refuses an infinite increment before looking at the key.
  if (std::isinf(delta)) {
    ctx.reply.error(errors::kValueNanOrInfinity);
    return;
  }
  std::string result;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](Value::Map& map, bool* changed) -> Status {
    long double value = 0;
    auto it = map.find(args[2]);
    if (it != map.end() && !parse_long_double(field_text(it->second), &value)) return Status::HashNotFloat();
    const long double sum = value + delta;
    if (std::isnan(sum) || std::isinf(sum)) return Status::NanOrInfinity();
    result = format_long_double(sum);
    map.insert_or_assign(std::string(args[2]), Value(result));
    *changed = true;
    return Status::Ok();
  });
  if (ok) ctx.reply.bulk(result);
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

void hget_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  auto it = map.find(args[2]);
  if (it == map.end()) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk(field_text(it->second));
  }
}

void hmget_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.array_header(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    auto it = map.find(args[i]);
    if (it == map.end()) {
      ctx.reply.null();
    } else {
      ctx.reply.bulk(field_text(it->second));
    }
  }
}

// HGETALL: a map in RESP3, a flat field, value, ... array in RESP2.
void hgetall_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.map_header(map.size());
  for (const auto& [field, value] : map) {
    ctx.reply.bulk(field);
    ctx.reply.bulk(field_text(value));
  }
}

void hkeys_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.array_header(map.size());
  for (const auto& [field, value] : map) ctx.reply.bulk(field);
}

void hvals_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.array_header(map.size());
  for (const auto& [field, value] : map) ctx.reply.bulk(field_text(value));
}

void hlen_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.integer(static_cast<int64_t>(map.size()));
}

void hexists_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  ctx.reply.integer(map.find(args[2]) != map.end() ? 1 : 0);
}

void hstrlen_command(CommandContext& ctx, Args args) {
  Value::Map map;
  bool found = false;
  if (!read_hash_or_reply(ctx, args[1], &map, &found)) return;
  auto it = map.find(args[2]);
  ctx.reply.integer(it == map.end() ? 0 : static_cast<int64_t>(field_text(it->second).size()));
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadOnly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

// Arity and key positions as in Redis 7's COMMAND output.
constexpr CommandSpec kHashCommands[] = {
    {"hset", -4, kW | kM | kF, hset_command, 1, 1, 1},
    {"hmset", -4, kW | kM | kF, hmset_command, 1, 1, 1},
    {"hsetnx", 4, kW | kM | kF, hsetnx_command, 1, 1, 1},
    {"hget", 3, kR | kF, hget_command, 1, 1, 1},
    {"hmget", -3, kR | kF, hmget_command, 1, 1, 1},
    {"hgetall", 2, kR, hgetall_command, 1, 1, 1},
    {"hdel", -3, kW | kF, hdel_command, 1, 1, 1},
    {"hexists", 3, kR | kF, hexists_command, 1, 1, 1},
    {"hlen", 2, kR | kF, hlen_command, 1, 1, 1},
    {"hkeys", 2, kR, hkeys_command, 1, 1, 1},
    {"hvals", 2, kR, hvals_command, 1, 1, 1},
    {"hstrlen", 3, kR | kF, hstrlen_command, 1, 1, 1},
    {"hincrby", 4, kW | kM | kF, hincrby_command, 1, 1, 1},
    {"hincrbyfloat", 4, kW | kM | kF, hincrbyfloat_command, 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> hash_family() { return kHashCommands; }

}  // namespace geocache
