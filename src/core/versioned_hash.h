// VersionedHash: a hash (the HSET family) whose fields merge one by one
// across regions (DESIGN.md, "Merging finer than the key"). Each field keeps
// the version of its last write, and a deleted field keeps a tombstone, so
// two regions setting different fields at once both keep theirs, and a field
// write costs O(1) whatever the hash's size, in the store and on the wire.
//
// The state: the fields (live or deleted, each with its version), the hash's
// expiry with the version that set it, and a base version: the last
// whole-key write (SET, DEL, a type change) the hash survived because some
// of its fields are newer. Every field at or below the base is gone.
//
// Every write is a join (a least upper bound): a field takes the newer of two
// versions, the expiry the newer of two, the base the higher. So merging is
// idempotent, commutative and associative: regions that received the same
// writes hold the same state in whatever order they came.
//
// Records. A kHash record's bytes are a VersionedHash in its encoded form,
// and applying one merges it into what the store holds. A command's write is
// a small one: the fields it changed (HashDelta), whose versions are left out
// and read as the record's own version; a resync snapshot carries the whole
// state with every version written out.
//
// Thread-safety: a plain value type; the store guards it with its shard lock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "core/status.h"
#include "core/version.h"

namespace geocache {

class VersionedHash {
 public:
  struct Field {
    std::string value;
    Version version;
    bool deleted = false;  // a tombstone: an older write of the field elsewhere must not bring it back
  };

  // Bytes charged per field on top of its name and value: the table slot and
  // its control byte, the two strings' heads and the version.
  static constexpr size_t kFieldOverhead = 96;

  // The newest version anywhere in the hash: what a whole-key write must beat
  // to replace it (and the version the store files the key under).
  Version max_version() const { return max_; }
  Version base() const { return base_; }
  int64_t expire_at_ms() const { return expire_at_ms_; }
  Version expire_version() const { return expire_version_; }
  // Fields that are not deleted. A hash with none reads as an absent key but
  // is kept (its tombstones still matter) until the store retires it.
  size_t live_fields() const { return live_; }
  bool empty() const { return live_ == 0; }
  // Every field, deleted ones too.
  size_t field_count() const { return fields_.size(); }
  // Memory the hash holds, for the store's byte limit.
  size_t charge() const { return charge_; }

  // The value of a live field, or null. O(1).
  const std::string* find(std::string_view field) const;
  // Calls fn for every live field, in no particular order.
  void for_each(absl::FunctionRef<void(std::string_view field, std::string_view value)> fn) const;

  // ---- Writes. Each is a join, and returns whether the state changed.
  // Sets (deleted = false) or deletes a field at version v: only if v is
  // newer than the field's version and than the base.
  bool write_field(std::string_view field, std::string_view value, bool deleted, Version v);
  // Takes the expiry if v is newer than the one held.
  bool set_expiry(int64_t expire_at_ms, Version v);
  // A whole-key write at version v that lost to newer fields: every field at
  // or below v goes. O(fields) when it raises the base.
  bool raise_base(Version v);
  // Joins other into this hash.
  bool merge(const VersionedHash& other);

  // The encoded form with every version written out (a snapshot's record).
  std::string encode() const;
  // The same in pieces of about max_bytes each (at least one field each, and
  // one piece for an empty hash), each with the base and the expiry: merged
  // in any order they give the whole, so a snapshot can send a hash bigger
  // than a broker message in several.
  std::vector<std::string> encode_in_pieces(size_t max_bytes) const;
  // Parses the encoded form (a whole hash or a HashDelta); versions left out
  // read as record_version. kCorruption for malformed bytes and for any
  // version newer than record_version, so a record's version bounds all the
  // versions inside it.
  static Result<VersionedHash> decode(std::string_view bytes, Version record_version);

  friend bool operator==(const VersionedHash& a, const VersionedHash& b);

 private:
  void note_version(Version v) { max_ = std::max(max_, v); }
  static size_t field_charge(std::string_view field, std::string_view value) {
    return kFieldOverhead + field.size() + value.size();
  }

  // Looks fields up by std::string_view, which Debian's absl does not take
  // for absl::string_view.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
  };
  absl::flat_hash_map<std::string, Field, NameHash, std::equal_to<>> fields_;
  Version base_;
  Version max_;
  int64_t expire_at_ms_ = 0;  // kNoExpiry
  Version expire_version_;
  size_t live_ = 0;
  size_t charge_ = 0;
};

// What one hash command changes, built before the write has a version: the
// bytes of the kHash record it writes (and replicates), every version in it
// being the record's own, bar an expiry kept from before.
class HashDelta {
 public:
  void put(std::string_view field, std::string_view value) { fields_.push_back({std::string(field), std::string(value), false}); }
  void remove(std::string_view field) { fields_.push_back({std::string(field), {}, true}); }
  // The hash's expiry, set by this write.
  void set_expiry(int64_t expire_at_ms) { expiry_ = {expire_at_ms, std::nullopt}; }
  // The hash's expiry as an earlier write set it: sent along so that a region
  // that lacks the hash creates it with the same expiry.
  void keep_expiry(int64_t expire_at_ms, Version set_by) { expiry_ = {expire_at_ms, set_by}; }
  bool empty() const { return fields_.empty() && !expiry_; }
  // The expiry the record carries (kNoExpiry if none was given).
  int64_t expire_at_ms() const { return expiry_ ? expiry_->at : 0; }
  std::string encode() const;

 private:
  friend class VersionedHash;
  struct Change {
    std::string field;
    std::string value;
    bool deleted;
  };
  struct Expiry {
    int64_t at;
    std::optional<Version> set_by;  // nullopt: this write
  };
  std::vector<Change> fields_;
  std::optional<Expiry> expiry_;
};

}  // namespace geocache
