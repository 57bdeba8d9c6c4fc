// Hash commands: HSET/HMSET/HSETNX, HGET/HMGET/HGETALL, HDEL, HEXISTS, HLEN,
// HKEYS, HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT. Redis 7 semantics and reply
// bytes.
//
// A hash is a VersionedHash in the store (core/versioned_hash.h): fields
// merge one by one across regions, so two regions writing different fields
// at once both keep theirs. A command reads the fields it names in O(1) and
// writes only what it changes (a HashDelta), in the store and on the wire,
// whatever the hash's size. Removing the last field deletes the key, as in
// Redis (a whole-key delete, which wins over older field writes elsewhere).
// Fields come back in no particular order, as Redis gives them for a big
// hash.
//
// An existing hash keeps its TTL across writes; a hash created by a write
// gets the default TTL (data_helpers.h).
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "core/versioned_hash.h"
#include "server/arg_parser.h"
#include "server/command_families.h"
#include "server/data_helpers.h"
#include "server/errors.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// The shared collection paths (data_helpers.h), for hashes.
template <typename Fn>
bool read_hash_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return read_collection_or_reply(ctx, key, ValueKind::kHash, std::forward<Fn>(fn));
}

template <typename Fn>
bool update_hash_or_reply(CommandContext& ctx, std::string_view key, Fn&& fn) {
  return update_collection_or_reply(ctx, key, ValueKind::kHash, std::forward<Fn>(fn));
}

bool has_field(const VersionedHash* hash, std::string_view field) {
  return hash != nullptr && hash->find(field) != nullptr;
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

// Sets the field/value pairs in args[2..]; returns how many fields are new.
// REQUIRES: an even number of them (checked by the caller).
bool hset_pairs_or_reply(CommandContext& ctx, Args args, int64_t* added) {
  *added = 0;
  return update_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash, HashDelta* delta, bool*) {
    absl::flat_hash_set<std::string_view> seen;  // a field named twice is new once
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      if (!has_field(hash, args[i]) && seen.insert(args[i]).second) ++*added;
      delta->put(args[i], args[i + 1]);
    }
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
  const bool ok = update_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash, HashDelta* delta, bool*) {
    if (has_field(hash, args[2])) return Status::Ok();
    delta->put(args[2], args[3]);
    set = true;
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(set ? 1 : 0);
}

void hdel_command(CommandContext& ctx, Args args) {
  int64_t removed = 0;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash, HashDelta* delta, bool* delete_key) {
    absl::flat_hash_set<std::string_view> seen;
    for (size_t i = 2; i < args.size(); ++i) {
      if (!has_field(hash, args[i]) || !seen.insert(args[i]).second) continue;
      delta->remove(args[i]);
      ++removed;
    }
    *delete_key = removed > 0 && static_cast<size_t>(removed) == hash->live_fields();
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(removed);
}

void hincrby_command(CommandContext& ctx, Args args) {
  int64_t delta_by = 0;
  if (!parse_int64(args[3], &delta_by)) {
    ctx.reply.error(errors::kNotInteger);
    return;
  }
  int64_t result = 0;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash, HashDelta* delta, bool*) {
    int64_t value = 0;
    const std::string* old = hash != nullptr ? hash->find(args[2]) : nullptr;
    if (old != nullptr && !parse_int64(*old, &value)) return Status::HashNotInteger();
    if ((delta_by < 0 && value < 0 && delta_by < std::numeric_limits<int64_t>::min() - value) ||
        (delta_by > 0 && value > 0 && delta_by > std::numeric_limits<int64_t>::max() - value)) {
      return Status::Overflow();
    }
    result = value + delta_by;
    delta->put(args[2], std::to_string(result));
    return Status::Ok();
  });
  if (ok) ctx.reply.integer(result);
}

void hincrbyfloat_command(CommandContext& ctx, Args args) {
  long double delta_by = 0;
  if (!parse_long_double(args[3], &delta_by)) {
    ctx.reply.error(errors::kNotFloat);
    return;
  }
  // Redis 7 refuses an infinite increment before looking at the key.
  if (std::isinf(delta_by)) {
    ctx.reply.error(errors::kValueNanOrInfinity);
    return;
  }
  std::string result;
  const bool ok = update_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash, HashDelta* delta, bool*) {
    long double value = 0;
    const std::string* old = hash != nullptr ? hash->find(args[2]) : nullptr;
    if (old != nullptr && !parse_long_double(*old, &value)) return Status::HashNotFloat();
    const long double sum = value + delta_by;
    if (std::isnan(sum) || std::isinf(sum)) return Status::NanOrInfinity();
    result = format_long_double(sum);
    delta->put(args[2], result);
    return Status::Ok();
  });
  if (ok) ctx.reply.bulk(result);
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

void reply_field(CommandContext& ctx, const VersionedHash* hash, std::string_view field) {
  const std::string* value = hash != nullptr ? hash->find(field) : nullptr;
  if (value == nullptr) ctx.reply.null();
  else ctx.reply.bulk(*value);
}

void hget_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) { reply_field(ctx, hash, args[2]); });
}

void hmget_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) {
    ctx.reply.array_header(args.size() - 2);
    for (size_t i = 2; i < args.size(); ++i) reply_field(ctx, hash, args[i]);
  });
}

size_t live_fields(const VersionedHash* hash) { return hash != nullptr ? hash->live_fields() : 0; }

// HGETALL: a map in RESP3, a flat field, value, ... array in RESP2.
void hgetall_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) {
    ctx.reply.map_header(live_fields(hash));
    if (hash == nullptr) return;
    hash->for_each([&](std::string_view field, std::string_view value) {
      ctx.reply.bulk(field);
      ctx.reply.bulk(value);
    });
  });
}

void hkeys_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) {
    ctx.reply.array_header(live_fields(hash));
    if (hash != nullptr) hash->for_each([&](std::string_view field, std::string_view) { ctx.reply.bulk(field); });
  });
}

void hvals_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) {
    ctx.reply.array_header(live_fields(hash));
    if (hash != nullptr) hash->for_each([&](std::string_view, std::string_view value) { ctx.reply.bulk(value); });
  });
}

void hlen_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1],
                     [&](const VersionedHash* hash) { ctx.reply.integer(static_cast<int64_t>(live_fields(hash))); });
}

void hexists_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) { ctx.reply.integer(has_field(hash, args[2])); });
}

void hstrlen_command(CommandContext& ctx, Args args) {
  read_hash_or_reply(ctx, args[1], [&](const VersionedHash* hash) {
    const std::string* value = hash != nullptr ? hash->find(args[2]) : nullptr;
    ctx.reply.integer(value == nullptr ? 0 : static_cast<int64_t>(value->size()));
  });
}

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
