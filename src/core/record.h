// Record: the state of one key as the store holds it and as events carry it.
//
// An event carries a key's whole new state, never a delta (DESIGN.md): the
// kind of value, its bytes, its absolute expiry and the version that wrote
// it. A tombstone is a record too: it keeps a deleted key's version so that an
// older write arriving late cannot bring the key back. Hashes merge per field
// instead (core/versioned_hash.h): a kHash record holds the fields a write
// changed, each with its version, and is merged into the hash held. Sets,
// sorted sets and counters are such collections too (kSet, kZset, kCounter).
// A list is a whole value (kList), but its writes travel as ops on the
// version they were applied to (kListOp, core/list.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/value.h"
#include "core/version.h"
#include "core/versioned_hash.h"

namespace geocache {

// How a record's bytes are to be read. Stored in one byte per entry.
enum class ValueKind : uint8_t {
  kString = 0,     // raw bytes (Redis strings, INCR counters as decimal text)
  kApiValue = 1,   // an encoded Value put through the C++ API (not a string)
  kHash = 2,       // an encoded VersionedHash (HSET family): merged, not replaced
  kJson = 3,       // an encoded Value: a JSON document (JSON.SET)
  kTombstone = 4,  // a deleted key; bytes are empty
  kSet = 5,        // an encoded VersionedHash of kind kSet (SADD family): merged
  kZset = 6,       // an encoded VersionedHash of kind kZset (ZADD family): merged
  kCounter = 7,    // an encoded VersionedHash of kind kCounter (INCR family): merged; a string to commands
  kList = 8,       // an encoded list (core/list.h): a whole list, last-writer-wins
  kListOp = 9,     // list ops (core/list.h) applied to the list of a given version: events only, never stored
};
inline constexpr ValueKind kLastValueKind = ValueKind::kListOp;

// Whether records of `kind` hold a VersionedHash, merged element by element
// rather than replacing the key's state.
inline bool is_collection(ValueKind kind) {
  return kind == ValueKind::kHash || kind == ValueKind::kSet || kind == ValueKind::kZset ||
         kind == ValueKind::kCounter;
}

inline constexpr int64_t kNoExpiry = 0;
// Stores keep expiries in 48 bits of Unix ms; nothing later can be represented.
inline constexpr int64_t kMaxExpireAtMs = (int64_t{1} << 48) - 1;

// The VersionedHash kind of a collection's records. REQUIRES: is_collection(kind).
inline VersionedHash::Kind collection_kind(ValueKind kind) {
  switch (kind) {
    case ValueKind::kSet: return VersionedHash::Kind::kSet;
    case ValueKind::kZset: return VersionedHash::Kind::kZset;
    case ValueKind::kCounter: return VersionedHash::Kind::kCounter;
    default: return VersionedHash::Kind::kHash;
  }
}

inline ValueKind value_kind(VersionedHash::Kind kind) {
  switch (kind) {
    case VersionedHash::Kind::kSet: return ValueKind::kSet;
    case VersionedHash::Kind::kZset: return ValueKind::kZset;
    case VersionedHash::Kind::kCounter: return ValueKind::kCounter;
    case VersionedHash::Kind::kHash: break;
  }
  return ValueKind::kHash;
}

struct Record {
  ValueKind kind = ValueKind::kString;
  std::string bytes;
  int64_t expire_at_ms = kNoExpiry;  // absolute Unix ms; kNoExpiry for none
  Version version;

  bool is_tombstone() const { return kind == ValueKind::kTombstone; }
  bool expired_at(int64_t now_ms) const { return expire_at_ms != kNoExpiry && expire_at_ms <= now_ms; }

  // The record's content as a Value (strings as strings, encoded kinds decoded).
  Result<Value> to_value() const;
  // Ok if the bytes are what the kind promises (a hash, set, sorted set or
  // counter: an encoded VersionedHash of that kind with no version newer
  // than the record's; a list: an encoded list; list ops: well-formed ops on
  // an older version (or a snapshot piece at its own); JSON and API
  // values: an encoded Value; a tombstone: nothing;
  // a string: anything) and the expiry is storable (0..kMaxExpireAtMs);
  // kCorruption saying what is not. For records from elsewhere (replication):
  // the store and the commands trust what they hold. Decodes the bytes: O(size).
  Status well_formed() const;
  // A record holding v: strings stay raw bytes, anything else is encoded.
  static Record from_value(const Value& v);
};

}  // namespace geocache
