// VersionedHash: a collection whose elements merge one by one across
// regions (DESIGN.md, "Merging finer than the key"): a hash (fields), a set
// (members), a sorted set (members with their scores) or a counter (one
// contribution per region). One piece of code merges, versions, encodes and
// validates them all; a Kind says how the elements' values are read. Each field keeps
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
// The kinds (docs/design.md, "Merge rules"):
//  - kHash: a field's value is its value; a write or delete of a field is
//    last-writer-wins by version.
//  - kSet: a member's value is empty. A remove is written at the version of
//    the add it saw (not its own), and at an equal version a delete beats a
//    write: so a remove cancels the adds it saw (and older ones), and an add
//    it did not see, made concurrently elsewhere, wins (add wins).
//  - kZset: a member's value is its score (8 bytes, an IEEE double, never
//    NaN), last-writer-wins per member; a ScoreIndex keeps the live members
//    in (score, member) order with ranks.
//  - kCounter: a field per region (its 4-byte id) whose value is that
//    region's running sum of increments (8 bytes, two's complement); only
//    the region itself writes its field, so the field's version is its
//    region's. The base (a SET, DEL or type change the counter survived)
//    has a value too, and the counter's total is the base value plus every
//    contribution newer than the base: a SET drops the contributions it is
//    newer than, and increments made concurrently elsewhere add to it.
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
#include "core/score_index.h"
#include "core/status.h"
#include "core/version.h"

namespace geocache {

class VersionedHash {
 public:
  enum class Kind : uint8_t { kHash, kSet, kZset, kCounter };
  struct Field {
    std::string value;
    Version version;
    bool deleted = false;  // a tombstone: an older write of the field elsewhere must not bring it back
  };

  explicit VersionedHash(Kind kind = Kind::kHash);
  Kind kind() const { return kind_; }

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
  // is kept (its tombstones still matter) until the store retires it; a
  // counter always reads as its total.
  size_t live_fields() const { return live_; }
  bool empty() const { return live_ == 0 && kind_ != Kind::kCounter; }
  // Every field, deleted ones too.
  size_t field_count() const { return fields_.size(); }
  // Memory the hash holds, for the store's byte limit.
  size_t charge() const { return charge_; }

  // The value of a live field, or null. O(1).
  const std::string* find(std::string_view field) const;
  // A live field with its version, or null. O(1).
  const Field* find_field(std::string_view field) const;
  // Calls fn for every live field, in no particular order.
  void for_each(absl::FunctionRef<void(std::string_view field, std::string_view value)> fn) const;

  // kZset: the live members in order. Null for other kinds.
  const ScoreIndex* index() const { return index_ ? &*index_ : nullptr; }
  // kCounter: the base value plus every contribution (wrapping on overflow).
  int64_t counter_total() const;
  int64_t base_value() const { return base_value_; }

  // ---- Writes. Each is a join, and returns whether the state changed.
  // Sets (deleted = false) or deletes a field at version v: only if v is
  // newer than the field's version (or equal, the field live and this a
  // delete) and than the base. REQUIRES: value is well formed for the kind.
  bool write_field(std::string_view field, std::string_view value, bool deleted, Version v);
  // Takes the expiry if v is newer than the one held.
  bool set_expiry(int64_t expire_at_ms, Version v);
  // A whole-key write at version v that lost to newer fields: every field at
  // or below v goes; a counter takes base_value as its base value. O(fields)
  // when it raises the base.
  bool raise_base(Version v, int64_t base_value = 0);

  // The values of kZset and kCounter fields, and of a counter's field name.
  static std::string encode_score(double score);
  static double decode_score(std::string_view value);
  static std::string encode_i64(int64_t v);
  static int64_t decode_i64(std::string_view value);
  static std::string counter_field(RegionId region);
  // Joins other into this hash. REQUIRES: other is of the same kind.
  bool merge(const VersionedHash& other);

  // The encoded form with every version written out (a snapshot's record).
  std::string encode() const;
  // The same in pieces of about max_bytes each (at least one field each, and
  // one piece for an empty hash), each with the base and the expiry: merged
  // in any order they give the whole, so a snapshot can send a hash bigger
  // than a broker message in several.
  std::vector<std::string> encode_in_pieces(size_t max_bytes) const;
  // Parses the encoded form (a whole hash or a HashDelta) of a collection of
  // `kind`; versions left out read as record_version. kCorruption for
  // malformed bytes, values that are not what the kind holds (a score that is
  // NaN, a counter's field written by another region than its own...) and
  // any version newer than record_version, so a record's version bounds all
  // the versions inside it.
  static Result<VersionedHash> decode(std::string_view bytes, Version record_version, Kind kind = Kind::kHash);

  friend bool operator==(const VersionedHash& a, const VersionedHash& b);

 private:
  void note_version(Version v) { max_ = std::max(max_, v); }
  size_t field_charge(std::string_view field, std::string_view value, bool deleted) const {
    const size_t index = kind_ == Kind::kZset && !deleted ? ScoreIndex::kNodeOverhead + field.size() : 0;
    return kFieldOverhead + field.size() + value.size() + index;
  }
  // Why a field decoded from a record cannot be one of this kind, or null.
  const char* invalid_field(std::string_view name, std::string_view value, bool deleted, Version v) const;
  // The base value as encoded: counters with a nonzero one only.
  std::optional<int64_t> encoded_base_value() const {
    return kind_ == Kind::kCounter && base_value_ != 0 ? std::optional(base_value_) : std::nullopt;
  }
  // Keeps the ScoreIndex in step with a live field appearing or going.
  void index_add(std::string_view field, std::string_view value);
  void index_remove(std::string_view field, std::string_view value);

  // Looks fields up by std::string_view, which Debian's absl does not take
  // for absl::string_view.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
  };
  Kind kind_;
  absl::flat_hash_map<std::string, Field, NameHash, std::equal_to<>> fields_;
  std::optional<ScoreIndex> index_;  // kZset only
  Version base_;
  int64_t base_value_ = 0;  // kCounter only
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
  void put(std::string_view field, std::string_view value) {
    fields_.push_back({std::string(field), std::string(value), false, std::nullopt});
  }
  void remove(std::string_view field) { fields_.push_back({std::string(field), {}, true, std::nullopt}); }
  // A set's remove: the delete carries the version of the add it saw.
  void remove_seen(std::string_view field, Version seen) { fields_.push_back({std::string(field), {}, true, seen}); }
  // A counter's base as an earlier write set it (value and version): sent
  // along so that a region that lacks it starts from the same base.
  void keep_base(Version v, int64_t value) { base_ = Base{v, value}; }
  // The hash's expiry, set by this write.
  void set_expiry(int64_t expire_at_ms) { expiry_ = {expire_at_ms, std::nullopt}; }
  // The hash's expiry as an earlier write set it: sent along so that a region
  // that lacks the hash creates it with the same expiry.
  void keep_expiry(int64_t expire_at_ms, Version set_by) { expiry_ = {expire_at_ms, set_by}; }
  bool empty() const { return fields_.empty() && !expiry_ && !base_; }
  // The expiry the record carries (kNoExpiry if none was given).
  int64_t expire_at_ms() const { return expiry_ ? expiry_->at : 0; }
  std::string encode() const;

 private:
  friend class VersionedHash;
  struct Change {
    std::string field;
    std::string value;
    bool deleted;
    std::optional<Version> version;  // nullopt: this write
  };
  struct Base {
    Version version;
    int64_t value;
  };
  struct Expiry {
    int64_t at;
    std::optional<Version> set_by;  // nullopt: this write
  };
  std::vector<Change> fields_;
  std::optional<Expiry> expiry_;
  std::optional<Base> base_;
};

}  // namespace geocache
