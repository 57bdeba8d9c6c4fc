// LruCache: one region's store. A sharded hash table with an exact LRU list per
// shard, per-entry absolute expiry, tombstones, and limits in items and bytes.
//
// Thread-safety: every method is thread-safe. Each key lives in one shard and
// every operation on a key takes only that shard's mutex, so operations on
// different shards run in parallel. Callbacks (visitors, mutators) run under
// the shard mutex: they must be short and must not call back into the cache.
//
// Recency: get() and update() move the key to the most recently used end;
// peek(), contains(), apply() of a remote event and scan() do not (a write
// replicated from another region says nothing about local access patterns,
// except that a newly created key starts as most recently used).
//
// Versions: apply() stores a record only if its version is greater than the
// version held for the key (a live entry or a tombstone) and, for an absent
// key, greater than the highest version this part of the shard has forgotten
// (evicted, expired or retired tombstone). So applying is idempotent and
// commutative, and forgetting never lets older data back (DESIGN.md).
//
// Hashes merge per field (core/versioned_hash.h), and so do sets, sorted sets
// and counters: such a record, applied or written, is merged into the
// collection of its kind held (another kind's is replaced if older than the
// record, else loses its elements older than the record's newest version), starting from what the key held
// before if it was something else (whose version becomes the hash's base). A
// whole-key record (a string, a tombstone) replaces a hash only if newer than
// all of it; if only newer than its base, the hash keeps its newer fields and
// the write becomes its base. A hash whose fields are all deleted reads as
// absent and is kept as long as a tombstone is.
//
// A list is a whole value (kList), but a list write's event is its ops
// (kListOp, core/list.h): apply() runs them on the list they were applied
// to, if that is the one held, and answers kNeedsState otherwise (the
// caller fetches the key's whole state from the ops' origin). The store
// never holds a kListOp.
//
// Eviction and expiry are local and never replicated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "core/clock.h"
#include "core/record.h"
#include "core/status.h"
#include "core/versioned_hash.h"

namespace geocache {

namespace detail {
class RegionSlots;
}  // namespace detail

struct LruCacheOptions {
  // Most entries (live keys and tombstones) the store holds; 0 = no limit.
  size_t max_items = 0;
  // Most bytes the store holds, counting key, value and each entry's real
  // overhead (allocation and table slot); 0 = no limit. One budget for the
  // whole store: a single value may use all of it.
  size_t max_bytes = 0;
  // Number of shards, each with its own lock, table and LRU list. The item
  // limit is split evenly between shards; over the byte budget each shard
  // evicts down to its even share. Must be a power of two in [1, 1024].
  int shards = 64;
  // How long a delete's tombstone is kept, in ms (DESIGN.md). Default 1 hour.
  int64_t tombstone_retention_ms = 3'600'000;
  // Entries the active expiry cycle examines per shard and call.
  int expiry_cycle_budget = 1000;
  // The time source. Not owned; defaults to the system clock.
  const Clock* clock = nullptr;

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

// A borrowed view of a stored record, valid only inside the callback it is
// passed to.
struct RecordView {
  ValueKind kind;
  std::string_view bytes;  // empty for a hash: see `hash`
  int64_t expire_at_ms;
  Version version;          // a hash's newest version (VersionedHash::max_version)
  const VersionedHash* hash = nullptr;  // collections only (is_collection): the one held, read in O(1) per element

  // A copy; a hash's whole state, encoded with every version (O(fields)).
  Record to_record() const;
  // The record that changes this one's expiry to expire_at_ms (EXPIRE,
  // PERSIST): the same value with the new expiry, or for a hash a write of
  // its expiry alone (a hash merges per field, so none of its fields need go),
  // for a list an empty kListOp (GeoCache::mutate makes it the list with the
  // new expiry, and replicates the op, not the list).
  Record with_expiry(int64_t expire_at_ms) const;
};

struct LruCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t expirations = 0;
  uint64_t items = 0;       // live keys
  uint64_t tombstones = 0;  // deleted keys still remembered
  uint64_t bytes = 0;       // as counted against max_bytes
  uint64_t stale_applies = 0;  // events refused as older than what is held or forgotten
};

enum class ApplyResult {
  kApplied,    // the record is now the key's state (or removed it, if already expired)
  kStale,      // older than (or equal to) the version held or forgotten: ignored
  kTooLarge,   // bigger than a whole shard's byte budget: ignored
  kTooManyRegions,  // its version's region would be the 256th this store holds: ignored
  kNeedsState,  // list ops newer than what is held, applied elsewhere to a list this store does not hold: ignored; the key's whole state must be fetched
};

class LruCache {
 public:
  explicit LruCache(const LruCacheOptions& options);
  ~LruCache();
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // Calls fn with the key's live record and returns true; false if the key is
  // absent, expired or deleted. Touches LRU; counts a hit or a miss.
  bool get(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn);
  // A copy of the key's live record. Touches LRU; counts a hit or a miss.
  std::optional<Record> get(std::string_view key);
  // Like get() but changes neither recency nor counters.
  bool peek(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) const;
  std::optional<Record> peek(std::string_view key) const;
  // A hint before a batch of lookups of these keys (a pipeline's): brings
  // what finding them and relinking them in LRU order reads into the CPU
  // cache, all keys at once, so that the misses of a store far larger than
  // the cache overlap instead of stalling one lookup after the next. Changes
  // nothing. Looks at the first 64 keys.
  void prefetch(std::span<const std::string_view> keys) const;
  // The key's live record or tombstone, without touching anything (resync,
  // tests). nullopt if the store holds nothing for the key.
  std::optional<Record> peek_with_tombstone(std::string_view key) const;
  bool contains(std::string_view key) const {
    return peek(key, [](const RecordView&) {});
  }

  // Stores `record` for `key` under the last-writer-wins rule above. A record
  // that is already expired removes an older entry and is not stored. Does not
  // touch LRU for an existing key; a new key starts most recently used.
  ApplyResult apply(std::string_view key, const Record& record);

  // Puts key back as it was before writes that never left this process (a
  // killed script's, GeoCache::undo_exclusive): `prior` as
  // peek_with_tombstone() returned it then, or nothing. Versions are not
  // compared: prior is older than what it replaces.
  void restore(std::string_view key, const std::optional<Record>& prior);

  // Read-modify-write of one key under its shard lock. fn sees the live
  // record (nullptr if absent, expired or deleted) and either leaves *next
  // empty (no change) or fills it with the key's new state, whose version must
  // exceed the current one. A non-ok status from fn is returned unchanged and
  // nothing is written. Touches LRU when it writes. If `written` is given, it
  // receives the record stored (moved, not copied), or stays empty.
  using Mutator = absl::FunctionRef<Status(const RecordView* current, std::optional<Record>* next)>;
  Status update(std::string_view key, Mutator fn, std::optional<Record>* written = nullptr);

  // Removes every entry with a version below `version` (FLUSHALL); entries
  // written later survive, and older events for absent keys are refused from
  // now on.
  void flush_before(Version version);
  // The highest version flush_before() was given (zero if never): a resync
  // snapshot carries it so a receiver that missed the FLUSHALL applies it.
  Version flush_mark() const;

  // Bounded active expiry: examines at most options.expiry_cycle_budget
  // entries per shard, reclaiming expired keys and retired tombstones. Returns
  // the number reclaimed. Call it periodically (GeoCache does).
  size_t active_expire_cycle();

  // Visits the live records of shard `shard` (0 <= shard < shard_count()),
  // without touching LRU. The shard is locked for the whole visit.
  // include_tombstones also visits tombstones (for resync snapshots).
  void scan_shard(int shard, bool include_tombstones,
                  absl::FunctionRef<void(std::string_view key, const RecordView&)> fn) const;
  int shard_count() const;

  // A uniformly chosen shard's random live key, or nullopt if empty.
  std::optional<std::string> random_key() const;

  // A resync snapshot from `origin` (DESIGN.md): apply_seen() applies one of
  // its records like apply() and marks the key's entry, if it is origin's, as
  // seen; end_snapshot() then drops origin's entries older than
  // drop_before_hlc that no record marked (origin forgot them), unless
  // drop_before_hlc is none, and readies the marks for the next snapshot.
  // Returns how many went. Memory: one bit per entry, whatever the
  // snapshot's size. One snapshot per origin at a time.
  ApplyResult apply_seen(std::string_view key, const Record& record, RegionId origin);
  size_t end_snapshot(RegionId origin, std::optional<uint64_t> drop_before_hlc);

  LruCacheStats stats() const;

  // Changes the limits at runtime (CONFIG SET maxmemory); evicts down to them.
  void set_limits(size_t max_items, size_t max_bytes);

  // Walks every shard and checks that table, LRU list, counts and byte total
  // agree. Aborts on a violation. For tests.
  void TEST_check_invariants() const;

 private:
  struct Shard;
  struct ByteBudget;
  struct SeenMarks;
  Shard& shard_for(std::string_view key) const;
  Shard& shard_for_hash(size_t hash) const;
  void settle_budget();
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<ByteBudget> budget_;
  std::unique_ptr<detail::RegionSlots> slots_;  // region ids of the entries' versions
  std::unique_ptr<SeenMarks> seen_;             // per region slot: the snapshot mark meaning "seen"
  const LruCacheOptions options_;
  const Clock* clock_;
  int shard_bits_;
};

}  // namespace geocache
