// LruCache design
//
// Entry layout. Each entry is one block from the shard's SlabArena
// (detail/slab_arena.h), addressed by a 32-bit handle: a 32-byte header (the
// two LRU links as handles, the version's hlc, a word packing the absolute
// expiry in 48 bits with the version's region slot and the value kind, and the
// key and value lengths) followed by the key bytes and the value bytes. A 16-byte
// key with a 32-byte value is an 80-byte block with no allocator header. The
// hash table (absl::flat_hash_set) holds only the 4-byte handle and finds
// entries by key through transparent hashing, so a lookup never builds a
// std::string. A region id is 32 bits; the entry keeps the byte the store's
// RegionSlots (detail/region_slots.h) numbered it with.
//
// Shards. A key's hash picks its shard; each shard has its own mutex, arena,
// table, LRU list, counters and limits (the configured limits divided evenly),
// so threads working on different shards never contend. With thousands of
// keys per shard the hit ratio is that of one global LRU to within noise (see
// bench/engine/hit_ratio_bench).
//
// LRU list. A doubly linked list of handles: mru is the most recently used
// entry, lru the least; prev points toward mru, next toward lru, kNil at the
// ends. Invariants, checked by TEST_check_invariants: every entry in the table
// is on the list once and vice versa; live + tombstones == table size; bytes ==
// sum of charges.
//
// Expiry. Lazily, an expired entry found by a lookup is removed then and there.
// Actively, active_expire_cycle() advances a per-shard cursor from the LRU end
// toward the MRU end, examining a bounded number of entries per call and
// reclaiming those that expired (and tombstones past their retention). The
// cursor survives between calls, so repeated calls sweep the whole shard and
// memory held by expired keys that are never read again comes back within one
// sweep. The cursor is fixed up whenever the entry it points at moves or goes.
//
// Collections. A hash's, set's, sorted set's or counter's entry (kHash,
// kSet, kZset, kCounter: "hash" entries below, whatever their kind) holds
// the address of its VersionedHash, which the entry owns; the entry's version is the hash's newest one, and its
// charge adds the hash's. A hash whose fields are all deleted counts as a
// tombstone and, like one, retires after the retention window.
//
// Snapshot marks. A resync snapshot from origin O must end by dropping the
// entries of O's that it did not contain (O forgot them). Rather than keep
// every key of a snapshot in memory until its end, each entry has a mark bit
// (bit 7 of its kind byte), and the store one "seen" value per region slot:
// a record applied from O's snapshot marks the key's entry seen (if the entry
// is O's); a later write of O's keeps the mark (it may have been queued
// behind the snapshot, older than it); a new key, or a write of another
// region's, starts unseen. The snapshot's end drops O's entries older than
// the snapshot that are still unseen, marks O's others unseen and flips O's
// seen value, in one pass. A write racing the flip may read as seen: it is
// kept, never wrongly dropped.
//
// Forgetting. When an entry leaves without being superseded (eviction, expiry,
// tombstone retirement, flush, resync) its version is folded into a
// "forgotten" high-water mark. Marks are kept per shard in kMarkSlots slots
// chosen by hash, so one forgotten key only raises the bar for 1/64 of the
// shard's keys. An event for an absent key is applied only if it is newer than
// its slot's mark: a late, older write can then cause a miss, never a stale
// value.
#include "cache/lru_cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "cache/detail/adaptive_mutex.h"
#include "cache/detail/region_slots.h"
#include "cache/detail/slab_arena.h"
#include "core/decimal.h"
#include "core/list.h"

namespace geocache {
namespace {

using detail::RegionSlots;
using detail::SlabArena;
using Handle = uint32_t;
constexpr Handle kNil = SlabArena::kNil;

constexpr int kMarkSlots = 64;
// Table cost per entry beyond the entry block: one 4-byte slot and one control
// byte, at absl's load factor between 7/16 and 7/8.
constexpr size_t kTableBytesPerEntry = 8;

struct Entry {
  Handle prev;  // toward the most recently used end
  Handle next;  // toward the least recently used end
  uint64_t hlc;
  uint64_t meta;  // expire_at_ms << 16 | region slot << 8 | snapshot mark << 7 | kind
  uint32_t key_len;
  uint32_t value_len;

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view value() const { return {data() + key_len, value_len}; }
  size_t block_bytes() const { return sizeof(Entry) + key_len + value_len; }
  int64_t expire_at_ms() const { return static_cast<int64_t>(meta >> 16); }
  ValueKind kind() const { return static_cast<ValueKind>(meta & 0x7f); }
  bool mark() const { return (meta & 0x80) != 0; }
  void set_mark(bool m) { meta = (meta & ~uint64_t{0x80}) | (m ? 0x80 : 0); }
  uint8_t slot() const { return static_cast<uint8_t>((meta >> 8) & 0xff); }
  // The VersionedHash a collection's entry owns.
  VersionedHash* hash() const {
    VersionedHash* h;
    std::memcpy(&h, data() + key_len, sizeof h);
    return h;
  }
  // A collection of any kind (is_collection in core/record.h).
  bool is_hash() const { return is_collection(kind()); }
  // Holds no live value: a tombstone, or a hash whose fields are all deleted.
  bool is_tombstone() const { return kind() == ValueKind::kTombstone || (is_hash() && hash()->empty()); }
  Version version(const RegionSlots& slots) const {
    return Version{hlc, slots.id_of(slot())};
  }
  bool expired_at(int64_t now) const {
    const int64_t at = expire_at_ms();
    return at != kNoExpiry && at <= now;
  }
  RecordView view(const RegionSlots& slots) const {
    if (is_hash()) return RecordView{kind(), {}, expire_at_ms(), version(slots), hash()};
    return RecordView{kind(), value(), expire_at_ms(), version(slots)};
  }
  void set_meta(int64_t expire_at, uint8_t region_slot, ValueKind kind, bool mark) {
    meta = static_cast<uint64_t>(std::clamp<int64_t>(expire_at, 0, kMaxExpireAtMs)) << 16 |
           static_cast<uint64_t>(region_slot) << 8 | (mark ? 0x80 : 0) | static_cast<uint8_t>(kind);
  }
};
static_assert(sizeof(Entry) == 32);

size_t hash_key(std::string_view key) { return absl::Hash<std::string_view>{}(key); }

size_t charge_for(size_t key_len, size_t value_len) {
  return SlabArena::block_size(sizeof(Entry) + key_len + value_len) + kTableBytesPerEntry;
}

size_t charge_of(const Entry* e) {
  return charge_for(e->key_len, e->value_len) + (e->is_hash() ? e->hash()->charge() : 0);
}

// Where a hash entry's expiry stands: the hash's own, or the tombstone
// retention once its fields are all deleted.
int64_t hash_entry_expiry(const VersionedHash& h, int64_t now, int64_t tombstone_retention_ms) {
  return h.empty() ? now + tombstone_retention_ms : h.expire_at_ms();
}

// What a counter that replaces entry e takes as its base value: the integer
// a string holds (0 for any other value, or a string that is no integer).
int64_t base_value_of(const Entry* e) {
  int64_t v = 0;
  if (e->kind() == ValueKind::kString && parse_int64(e->value(), &v)) return v;
  if (e->kind() == ValueKind::kCounter) return e->hash()->counter_total();
  return 0;
}

// A live entry's own expiry (a collection's, not its entry's retention).
int64_t hash_expiry_of(const Entry* e) { return e->is_hash() ? e->hash()->expire_at_ms() : e->expire_at_ms(); }

// A lookup that matches nothing: each entry it would compare with its key
// is prefetched instead of read (LruCache::prefetch).
struct EntryPrefetch {
  std::string_view key;
};

// The table stores handles; hashing and comparing them needs the arena.
struct KeyHash {
  using is_transparent = void;
  const SlabArena* arena;
  size_t operator()(std::string_view k) const { return hash_key(k); }
  size_t operator()(const EntryPrefetch& p) const { return hash_key(p.key); }
  size_t operator()(Handle h) const { return hash_key(reinterpret_cast<const Entry*>(arena->at(h))->key()); }
};

struct KeyEq {
  using is_transparent = void;
  const SlabArena* arena;
  std::string_view k(std::string_view s) const { return s; }
  std::string_view k(Handle h) const { return reinterpret_cast<const Entry*>(arena->at(h))->key(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return k(a) == k(b);
  }
  bool operator()(const EntryPrefetch&, Handle h) const {
    __builtin_prefetch(arena->at(h));
    return false;
  }
  bool operator()(Handle h, const EntryPrefetch& p) const { return (*this)(p, h); }
};

using Table = absl::flat_hash_set<Handle, KeyHash, KeyEq>;

size_t per_shard(size_t limit, int shards) {
  if (limit == 0) return 0;
  return std::max<size_t>(1, (limit + shards - 1) / shards);
}

enum class Removal { kSuperseded, kEvicted, kExpired, kForgotten };

}  // namespace

// The byte limit is one budget for the whole store. Each shard has an even
// share of it and evicts down to that share once the store as a whole is over
// budget; below that a shard may borrow, so one value can be as large as the
// whole budget, not just a shard's share.
struct LruCache::SeenMarks : std::array<std::atomic<uint8_t>, 256> {};

struct LruCache::ByteBudget {
  std::atomic<size_t> used{0};
  std::atomic<size_t> max{0};  // 0: no limit
};

struct LruCache::Shard {
  // Spins briefly before sleeping (detail/adaptive_mutex.h).
  mutable detail::AdaptiveMutex mu;
  SlabArena arena ABSL_GUARDED_BY(mu);
  Table table ABSL_GUARDED_BY(mu){0, KeyHash{&arena}, KeyEq{&arena}};
  Handle mru ABSL_GUARDED_BY(mu) = kNil;
  Handle lru ABSL_GUARDED_BY(mu) = kNil;
  Handle expiry_cursor ABSL_GUARDED_BY(mu) = kNil;  // kNil: start the next sweep at the LRU end
  size_t max_items ABSL_GUARDED_BY(mu) = 0;
  size_t byte_share ABSL_GUARDED_BY(mu) = 0;  // this shard's even share of the byte budget
  ByteBudget* budget = nullptr;
  RegionSlots* slots = nullptr;  // the store's, shared by its shards
  const SeenMarks* seen = nullptr;  // the store's, shared by its shards
  LruCacheStats st ABSL_GUARDED_BY(mu);
  size_t expiring ABSL_GUARDED_BY(mu) = 0;  // entries with an expiry, tombstones included; 0 lets the expiry cycle skip the shard
  Version forgotten[kMarkSlots] ABSL_GUARDED_BY(mu);
  Version flushed ABSL_GUARDED_BY(mu);  // the highest flush_before() version (resync sends it on)

  ~Shard() {
    for (Handle h : table) {
      const Entry* e = reinterpret_cast<const Entry*>(arena.at(h));
      if (e->is_hash()) delete e->hash();
    }
  }

  Entry* at(Handle h) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return reinterpret_cast<Entry*>(arena.at(h)); }
  Version version_of(Handle h) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return at(h)->version(*slots); }
  RecordView view_of(const Entry* e) const { return e->view(*slots); }
  Version& mark_for(size_t hash) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return forgotten[(hash >> 24) % kMarkSlots]; }
  // The snapshot mark meaning "not seen" for region slot `slot`.
  bool unseen(uint8_t slot) const { return (*seen)[slot].load(std::memory_order_relaxed) == 0; }
  // The snapshot mark an ordinary write of region slot `slot` leaves on the
  // key whose entry was `cur` (may be null): the entry's own while the
  // version stays the region's, so a snapshot record applied before a later
  // write of the key (one that was queued, older than the snapshot) still
  // counts; unseen for a new key or another region's entry.
  bool mark_for_write(const Entry* cur, uint8_t slot) const {
    return cur != nullptr && cur->slot() == slot ? cur->mark() : unseen(slot);
  }

  // --- LRU list -----------------------------------------------------------
  void link_front_locked(Handle h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Entry* e = at(h);
    e->prev = kNil;
    e->next = mru;
    if (mru != kNil) at(mru)->prev = h;
    mru = h;
    if (lru == kNil) lru = h;
  }
  // h takes the place of pos in recency order (pos is unlinked right after).
  void link_before_locked(Handle pos, Handle h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Entry* e = at(h);
    Entry* p = at(pos);
    e->next = pos;
    e->prev = p->prev;
    if (p->prev != kNil) at(p->prev)->next = h;
    else mru = h;
    p->prev = h;
  }
  void unlink_locked(Handle h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Entry* e = at(h);
    if (expiry_cursor == h) expiry_cursor = e->prev;
    if (e->prev != kNil) at(e->prev)->next = e->next;
    else mru = e->next;
    if (e->next != kNil) at(e->next)->prev = e->prev;
    else lru = e->prev;
  }
  void touch_locked(Handle h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (mru == h) return;
    unlink_locked(h);
    link_front_locked(h);
  }

  // --- accounting ---------------------------------------------------------
  // Counts by kind, apart from bytes: an in-place overwrite within one size
  // class changes the former and not the latter, and so never touches the
  // store-wide budget counter other threads share.
  void count_locked(const Entry* e, int delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (e->expire_at_ms() != kNoExpiry) expiring += delta;
    if (e->is_tombstone()) st.tombstones += delta;
    else st.items += delta;
  }
  void account_add_locked(const Entry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    count_locked(e, +1);
    const size_t charge = charge_of(e);
    st.bytes += charge;
    budget->used.fetch_add(charge, std::memory_order_relaxed);
  }
  void account_remove_locked(const Entry* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    count_locked(e, -1);
    const size_t charge = charge_of(e);
    st.bytes -= charge;
    budget->used.fetch_sub(charge, std::memory_order_relaxed);
  }

  // Takes the entry out of table and list and frees it. REQUIRES: h is in the shard.
  void remove_locked(Handle h, Removal why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Entry* e = at(h);
    if (why != Removal::kSuperseded) {
      Version& mark = mark_for(hash_key(e->key()));
      mark = std::max(mark, e->version(*slots));
      if (why == Removal::kEvicted) ++st.evictions;
      if (why == Removal::kExpired && !e->is_tombstone()) ++st.expirations;
    }
    table.erase(h);
    unlink_locked(h);
    account_remove_locked(e);
    if (e->is_hash()) delete e->hash();
    arena.release(h, e->block_bytes());
  }

  // Changes a hash entry in place: fn changes its hash; counts, charge and
  // the entry's version and expiry follow. new_max: the hash's newest version
  // once fn is done.
  // Returns false if the hash's newest version would be the store's 256th
  // region (nothing changed then: fn is not called).
  template <typename Fn>
  bool change_hash_locked(Handle h, Version new_max, int64_t now, int64_t tombstone_retention_ms, Fn&& fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const std::optional<uint8_t> slot = slots->slot_of(new_max.region);
    if (!slot) return false;
    Entry* e = at(h);
    VersionedHash* hash = e->hash();
    count_locked(e, -1);
    const size_t before = charge_of(e);
    fn(*hash);
    e->hlc = hash->max_version().hlc;
    const uint8_t max_slot = *slots->slot_of(hash->max_version().region);
    e->set_meta(hash_entry_expiry(*hash, now, tombstone_retention_ms), max_slot, e->kind(),
                mark_for_write(e, max_slot));
    count_locked(e, +1);
    const size_t after = charge_of(e);
    st.bytes += after - before;
    if (after >= before) budget->used.fetch_add(after - before, std::memory_order_relaxed);
    else budget->used.fetch_sub(before - after, std::memory_order_relaxed);
    return true;
  }

  bool over_limits_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (max_items != 0 && table.size() > max_items) return true;
    const size_t max = budget->max.load(std::memory_order_relaxed);
    if (max == 0) return false;
    return st.bytes > max || (st.bytes > byte_share && budget->used.load(std::memory_order_relaxed) > max);
  }

  // Evicts least recently used entries until within limits, never `keep`.
  void evict_locked(Handle keep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (over_limits_locked() && lru != kNil) {
      Handle victim = lru;
      if (victim == keep) {
        victim = at(victim)->prev;
        if (victim == kNil) break;
      }
      remove_locked(victim, Removal::kEvicted);
    }
  }

  // Stores rec for key, replacing `cur` (may be kNil). REQUIRES: rec is newer
  // than cur and than the key's mark. Returns kTooLarge if it can never fit,
  // kTooManyRegions if its region would be the 256th this store holds.
  ApplyResult store_locked(std::string_view key, size_t hash, Handle cur, const Record& rec, bool to_front,
                           int64_t now, int64_t tombstone_retention_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!rec.is_tombstone() && rec.expired_at(now)) {
      // Already dead on arrival: forget the older state and remember the version.
      if (cur != kNil) remove_locked(cur, Removal::kSuperseded);
      Version& mark = mark_for(hash);
      mark = std::max(mark, rec.version);
      return ApplyResult::kApplied;
    }
    const size_t max = budget->max.load(std::memory_order_relaxed);
    if (max != 0 && charge_for(key.size(), rec.bytes.size()) > max) return ApplyResult::kTooLarge;
    if (key.size() > UINT32_MAX || rec.bytes.size() > UINT32_MAX) return ApplyResult::kTooLarge;
    const std::optional<uint8_t> slot = slots->slot_of(rec.version.region);
    if (!slot) return ApplyResult::kTooManyRegions;
    const int64_t expire_at = rec.is_tombstone() ? now + tombstone_retention_ms : rec.expire_at_ms;
    const size_t block = sizeof(Entry) + key.size() + rec.bytes.size();
    if (cur != kNil && !at(cur)->is_hash() &&
        SlabArena::block_size(block) == SlabArena::block_size(at(cur)->block_bytes())) {
      // Same size class: overwrite in place. No allocation, and the table and
      // the list keep their handle, which makes same-size SETs cheap.
      Entry* e = at(cur);
      count_locked(e, -1);
      st.bytes -= charge_of(e);
      e->hlc = rec.version.hlc;
      e->set_meta(expire_at, *slot, rec.kind, mark_for_write(e, *slot));
      e->value_len = static_cast<uint32_t>(rec.bytes.size());
      std::memcpy(e->data() + key.size(), rec.bytes.data(), rec.bytes.size());
      count_locked(e, +1);
      st.bytes += charge_of(e);  // same size class: the budget is unchanged
      if (to_front) touch_locked(cur);
      evict_locked(cur);
      return ApplyResult::kApplied;
    }
    insert_locked(key, cur, rec.kind, rec.bytes, rec.version.hlc, expire_at, *slot, to_front);
    return ApplyResult::kApplied;
  }

  // Applies a kListOp record (core/list.h) to key: its ops change the list
  // it was applied to (version prev) if that is what the key holds (or, prev
  // zero, nothing live); a snapshot piece continues the list of its own
  // version if it holds exactly the elements before the piece. kNeedsState
  // if the op is newer than what is held but cannot apply: the key's whole
  // state must come from the op's origin. REQUIRES: rec validated.
  ApplyResult apply_list_op_locked(std::string_view key, size_t hash, Handle cur, const Record& rec, int64_t now,
                                   int64_t tombstone_retention_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const Version prev = list_op_prev(rec.bytes).value();
    const bool holds_list = cur != kNil && at(cur)->kind() == ValueKind::kList;
    if (std::optional<uint64_t> offset = list_piece_offset(rec.bytes, rec.version)) {
      if (!holds_list || version_of(cur) != rec.version || ListView(at(cur)->value()).size() != *offset) {
        ++st.stale_applies;
        return ApplyResult::kStale;
      }
    } else {
      const Version bar = cur != kNil ? version_of(cur) : mark_for(hash);
      if (!(rec.version > bar)) {
        ++st.stale_applies;
        return ApplyResult::kStale;
      }
      const bool at_prev = holds_list ? version_of(cur) == prev : prev.is_zero() && (cur == kNil || at(cur)->is_tombstone());
      if (!at_prev) return ApplyResult::kNeedsState;
    }
    static constexpr char kEmptyList[4] = {0, 0, 0, 0};
    const std::string_view base = holds_list ? at(cur)->value() : std::string_view(kEmptyList, sizeof kEmptyList);
    Record next{ValueKind::kList, apply_list_ops(base, rec.bytes), rec.expire_at_ms, rec.version};
    if (ListView(next.bytes).size() == 0) next = Record{ValueKind::kTombstone, {}, kNoExpiry, rec.version};
    return store_locked(key, hash, cur, next, /*to_front=*/false, now, tombstone_retention_ms);
  }

  // A new entry for key holding `value`, in place of `cur` (may be kNil),
  // then evicts down to the limits (never the new entry).
  void insert_locked(std::string_view key, Handle cur, ValueKind kind, std::string_view value, uint64_t hlc,
                     int64_t expire_at, uint8_t slot, bool to_front) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const bool mark = mark_for_write(cur != kNil ? at(cur) : nullptr, slot);
    const Handle h = arena.allocate(sizeof(Entry) + key.size() + value.size());
    Entry* e = at(h);
    e->hlc = hlc;
    e->set_meta(expire_at, slot, kind, mark);
    e->key_len = static_cast<uint32_t>(key.size());
    e->value_len = static_cast<uint32_t>(value.size());
    std::memcpy(e->data(), key.data(), key.size());
    std::memcpy(e->data() + key.size(), value.data(), value.size());
    if (cur != kNil) {
      if (to_front) link_front_locked(h);
      else link_before_locked(cur, h);
      remove_locked(cur, Removal::kSuperseded);
    } else {
      link_front_locked(h);
    }
    table.insert(h);
    account_add_locked(at(h));
    evict_locked(h);
  }

  // Merges the collection record `rec` into key's state (the class comment,
  // and core/versioned_hash.h). REQUIRES: rec's bytes decode (checked on
  // receipt; the store's own writes always do).
  ApplyResult merge_hash_locked(std::string_view key, size_t hash, Handle cur, const Record& rec, bool to_front,
                                int64_t now, int64_t tombstone_retention_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto decoded = VersionedHash::decode(rec.bytes, rec.version, collection_kind(rec.kind));
    if (!decoded.ok()) {
      ++st.stale_applies;
      return ApplyResult::kStale;
    }
    VersionedHash& in = *decoded;
    const size_t max = budget->max.load(std::memory_order_relaxed);
    if (cur != kNil && at(cur)->is_hash() && at(cur)->kind() != rec.kind && !at(cur)->is_tombstone()) {
      // Another kind of collection: the newer wins whole, the other counting
      // as a whole-key write at its newest version (as a string would).
      if (!(in.max_version() > version_of(cur))) {
        if (!(in.max_version() > at(cur)->hash()->base())) {
          ++st.stale_applies;
          return ApplyResult::kStale;
        }
        Record as_write{rec.kind, {}, in.expire_at_ms(), in.max_version()};
        lose_to_hash_locked(cur, as_write, now, tombstone_retention_ms);
        return ApplyResult::kApplied;
      }
    } else if (cur != kNil && at(cur)->is_hash() && at(cur)->kind() == rec.kind) {
      Entry* e = at(cur);
      if (max != 0 && charge_of(e) + in.charge() > max) return ApplyResult::kTooLarge;
      bool changed = false;
      if (!change_hash_locked(cur, std::max(e->hash()->max_version(), in.max_version()), now, tombstone_retention_ms,
                              [&](VersionedHash& h) { changed = h.merge(in); })) {
        return ApplyResult::kTooManyRegions;
      }
      if (!changed) {
        ++st.stale_applies;
        return ApplyResult::kStale;
      }
      if (e->hash()->expire_at_ms() != kNoExpiry && e->hash()->expire_at_ms() <= now) {
        remove_locked(cur, Removal::kExpired);  // merged into a past expiry: the whole hash is gone
        return ApplyResult::kApplied;
      }
      if (to_front) touch_locked(cur);
      evict_locked(cur);
      return ApplyResult::kApplied;
    }
    // The hash starts from what it replaces: an absent key's forgotten mark,
    // a tombstone or another kind of value, whose write becomes its base.
    const Version bar = cur != kNil ? version_of(cur) : mark_for(hash);
    if (!(in.max_version() > bar)) {
      ++st.stale_applies;
      return ApplyResult::kStale;
    }
    in.raise_base(bar, cur != kNil ? base_value_of(at(cur)) : 0);
    if (cur != kNil) in.set_expiry(at(cur)->is_tombstone() ? kNoExpiry : hash_expiry_of(at(cur)), bar);
    if (in.expire_at_ms() != kNoExpiry && in.expire_at_ms() <= now) {
      if (cur != kNil) remove_locked(cur, Removal::kSuperseded);
      Version& mark = mark_for(hash);
      mark = std::max(mark, in.max_version());
      return ApplyResult::kApplied;
    }
    VersionedHash* owned = nullptr;
    if (max != 0 && charge_for(key.size(), sizeof owned) + in.charge() > max) return ApplyResult::kTooLarge;
    if (key.size() > UINT32_MAX) return ApplyResult::kTooLarge;
    const std::optional<uint8_t> slot = slots->slot_of(in.max_version().region);
    if (!slot) return ApplyResult::kTooManyRegions;
    owned = new VersionedHash(std::move(in));
    insert_locked(key, cur, rec.kind, std::string_view(reinterpret_cast<const char*>(&owned), sizeof owned),
                  owned->max_version().hlc, hash_entry_expiry(*owned, now, tombstone_retention_ms), *slot, to_front);
    return ApplyResult::kApplied;
  }

  // A whole-key write older than some fields of the hash at `cur` but newer
  // than its base: those fields survive it, the older ones go, and it sets
  // the hash's expiry if newer than what did.
  void lose_to_hash_locked(Handle cur, const Record& rec, int64_t now, int64_t tombstone_retention_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const int64_t expiry = rec.is_tombstone() ? kNoExpiry : rec.expire_at_ms;
    int64_t base_value = 0;
    if (rec.kind == ValueKind::kString && !parse_int64(rec.bytes, &base_value)) base_value = 0;
    // The hash's newest version stays what it was: the write is older.
    change_hash_locked(cur, at(cur)->hash()->max_version(), now, tombstone_retention_ms, [&](VersionedHash& h) {
      h.raise_base(rec.version, base_value);
      h.set_expiry(expiry, rec.version);
    });
  }

  // The entry for key if any; an expired live entry (or retired tombstone)
  // is removed on the way and reported as absent.
  Handle find_locked(std::string_view key, size_t hash, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = table.find(key, hash);
    if (it == table.end()) return kNil;
    const Handle h = *it;
    if (at(h)->expired_at(now)) {
      remove_locked(h, Removal::kExpired);
      return kNil;
    }
    return h;
  }
};

void LruCacheOptions::validate() const {
  if (shards < 1 || shards > 1024 || (shards & (shards - 1)) != 0) {
    throw std::invalid_argument("shards must be a power of two between 1 and 1024");
  }
  if (tombstone_retention_ms < 0) throw std::invalid_argument("tombstone_retention_ms must not be negative");
  if (expiry_cycle_budget < 1) throw std::invalid_argument("expiry_cycle_budget must be at least 1");
}

LruCache::LruCache(const LruCacheOptions& options)
    : options_(options), clock_(options.clock ? options.clock : SystemClock::instance()) {
  options_.validate();
  shard_bits_ = 0;
  while ((1 << shard_bits_) < options_.shards) ++shard_bits_;
  shards_ = std::make_unique<Shard[]>(options_.shards);
  budget_ = std::make_unique<ByteBudget>();
  slots_ = std::make_unique<RegionSlots>();
  seen_ = std::make_unique<SeenMarks>();
  for (int i = 0; i < options_.shards; ++i) {
    shards_[i].budget = budget_.get();
    shards_[i].slots = slots_.get();
    shards_[i].seen = seen_.get();
  }
  set_limits(options_.max_items, options_.max_bytes);
}

LruCache::~LruCache() = default;

Record RecordView::to_record() const {
  // A hash's own expiry: the entry's is the retention once its fields are all deleted.
  if (hash != nullptr) return Record{kind, hash->encode(), hash->expire_at_ms(), version};
  return Record{kind, std::string(bytes), expire_at_ms, version};
}

Record RecordView::with_expiry(int64_t at) const {
  if (hash != nullptr) {
    HashDelta delta;
    delta.set_expiry(at);
    return Record{kind, delta.encode(), at, version};
  }
  if (kind == ValueKind::kList) return Record{ValueKind::kListOp, ListOps().encode(version), at, version};
  return Record{kind, std::string(bytes), at, version};
}

int LruCache::shard_count() const { return options_.shards; }

LruCache::Shard& LruCache::shard_for(std::string_view key) const { return shard_for_hash(hash_key(key)); }

LruCache::Shard& LruCache::shard_for_hash(size_t hash) const {
  // The table uses the low bits of the hash; take the shard from the top.
  return shards_[shard_bits_ == 0 ? 0 : hash >> (64 - shard_bits_)];
}

void LruCache::prefetch(std::span<const std::string_view> keys) const {
  // In stages, each over every key, so that each stage's misses are in
  // flight together: the table's control bytes and slots; then the entries
  // the slots name (read only once the slots are in); then the neighbours
  // in the LRU list that a hit relinks, and the value's first bytes.
  constexpr size_t kMaxKeys = 64;
  size_t hashes[kMaxKeys];
  const size_t n = std::min(keys.size(), kMaxKeys);
  for (size_t i = 0; i < n; ++i) {
    hashes[i] = hash_key(keys[i]);
    Shard& s = shard_for_hash(hashes[i]);
    detail::AdaptiveMutexLock lock(s.mu);
    s.table.prefetch(keys[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    Shard& s = shard_for_hash(hashes[i]);
    detail::AdaptiveMutexLock lock(s.mu);
    s.table.find(EntryPrefetch{keys[i]}, hashes[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    Shard& s = shard_for_hash(hashes[i]);
    detail::AdaptiveMutexLock lock(s.mu);
    auto it = s.table.find(keys[i], hashes[i]);
    if (it == s.table.end()) continue;
    const Entry* e = s.at(*it);
    if (e->prev != kNil) __builtin_prefetch(s.at(e->prev), 1);
    if (e->next != kNil) __builtin_prefetch(s.at(e->next), 1);
    // The value's first bytes, which a reply copies, may be on the block's
    // next line.
    if (!e->is_hash() && e->value_len > 0) __builtin_prefetch(e->value().data() + std::min<size_t>(e->value_len, 64) - 1);
  }
}

bool LruCache::get(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) {
  const size_t hash = hash_key(key);
  Shard& s = shard_for_hash(hash);
  detail::AdaptiveMutexLock lock(s.mu);
  const Handle h = s.find_locked(key, hash, clock_->now_ms());
  if (h == kNil || s.at(h)->is_tombstone()) {
    ++s.st.misses;
    return false;
  }
  ++s.st.hits;
  s.touch_locked(h);
  fn(s.view_of(s.at(h)));
  return true;
}

std::optional<Record> LruCache::get(std::string_view key) {
  std::optional<Record> out;
  get(key, [&](const RecordView& v) { out = v.to_record(); });
  return out;
}

bool LruCache::peek(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) const {
  Shard& s = shard_for(key);
  detail::AdaptiveMutexLock lock(s.mu);
  auto it = s.table.find(key);
  if (it == s.table.end()) return false;
  const Entry* e = s.at(*it);
  if (e->is_tombstone() || e->expired_at(clock_->now_ms())) return false;
  fn(s.view_of(e));
  return true;
}

std::optional<Record> LruCache::peek(std::string_view key) const {
  std::optional<Record> out;
  peek(key, [&](const RecordView& v) { out = v.to_record(); });
  return out;
}

std::optional<Record> LruCache::peek_with_tombstone(std::string_view key) const {
  Shard& s = shard_for(key);
  detail::AdaptiveMutexLock lock(s.mu);
  auto it = s.table.find(key);
  if (it == s.table.end() || s.at(*it)->expired_at(clock_->now_ms())) return std::nullopt;
  return s.view_of(s.at(*it)).to_record();
}

void LruCache::restore(std::string_view key, const std::optional<Record>& prior) {
  const size_t hash = hash_key(key);
  Shard& s = shard_for_hash(hash);
  const int64_t now = clock_->now_ms();
  {
    detail::AdaptiveMutexLock lock(s.mu);
    const Handle cur = s.find_locked(key, hash, now);
    // Superseded, not forgotten: the versions written since never left
    // this process, so no mark needs to remember them.
    if (cur != kNil) s.remove_locked(cur, Removal::kSuperseded);
    if (prior) {
      if (prior->kind == ValueKind::kHash) {
        s.merge_hash_locked(key, hash, kNil, *prior, /*to_front=*/false, now, options_.tombstone_retention_ms);
      } else {
        s.store_locked(key, hash, kNil, *prior, /*to_front=*/false, now, options_.tombstone_retention_ms);
      }
    }
  }
  settle_budget();
}

ApplyResult LruCache::apply(std::string_view key, const Record& record) {
  const size_t hash = hash_key(key);
  Shard& s = shard_for_hash(hash);
  const int64_t now = clock_->now_ms();
  ApplyResult result;
  {
    detail::AdaptiveMutexLock lock(s.mu);
    const Handle cur = s.find_locked(key, hash, now);
    if (is_collection(record.kind)) {
      result = s.merge_hash_locked(key, hash, cur, record, /*to_front=*/false, now, options_.tombstone_retention_ms);
    } else if (record.kind == ValueKind::kListOp) {
      result = s.apply_list_op_locked(key, hash, cur, record, now, options_.tombstone_retention_ms);
      if (result == ApplyResult::kStale || result == ApplyResult::kNeedsState) return result;
    } else {
      const Version bar = cur != kNil ? s.version_of(cur) : s.mark_for(hash);
      if (record.version > bar) {
        result = s.store_locked(key, hash, cur, record, /*to_front=*/false, now, options_.tombstone_retention_ms);
      } else if (cur != kNil && s.at(cur)->is_hash() && record.version > s.at(cur)->hash()->base()) {
        s.lose_to_hash_locked(cur, record, now, options_.tombstone_retention_ms);
        result = ApplyResult::kApplied;
      } else {
        ++s.st.stale_applies;
        return ApplyResult::kStale;
      }
    }
  }
  settle_budget();
  return result;
}

Status LruCache::update(std::string_view key, Mutator fn, std::optional<Record>* written) {
  const size_t hash = hash_key(key);
  Shard& s = shard_for_hash(hash);
  const int64_t now = clock_->now_ms();
  {
    detail::AdaptiveMutexLock lock(s.mu);
    const Handle cur = s.find_locked(key, hash, now);
    const bool live = cur != kNil && !s.at(cur)->is_tombstone();
    RecordView view{};
    if (live) view = s.view_of(s.at(cur));
    std::optional<Record> next;
    Status st = fn(live ? &view : nullptr, &next);
    if (!st.ok() || !next) return st;
    assert(cur == kNil || next->version > s.version_of(cur));
    assert(cur != kNil || next->version > s.mark_for(hash));
    const ApplyResult result =
        is_collection(next->kind)
            ? s.merge_hash_locked(key, hash, cur, *next, /*to_front=*/true, now, options_.tombstone_retention_ms)
            : s.store_locked(key, hash, cur, *next, /*to_front=*/true, now, options_.tombstone_retention_ms);
    switch (result) {
      case ApplyResult::kTooLarge: return Status::OutOfMemory("command not allowed when used memory > 'maxmemory'");
      case ApplyResult::kTooManyRegions: return Status::Unavailable("the store holds 255 regions' records already");
      default: break;
    }
    if (written != nullptr) *written = std::move(next);
  }
  settle_budget();
  return Status::Ok();
}

// A shard that made room only down to its share can leave the store over
// budget while others hold borrowed bytes: have those give them back. Runs
// without any shard lock held, taking one at a time.
void LruCache::settle_budget() {
  const size_t max = budget_->max.load(std::memory_order_relaxed);
  if (max == 0 || budget_->used.load(std::memory_order_relaxed) <= max) return;
  for (int i = 0; i < options_.shards && budget_->used.load(std::memory_order_relaxed) > max; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    s.evict_locked(kNil);
  }
}

void LruCache::flush_before(Version version) {
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    std::vector<Handle> doomed;
    for (Handle h : s.table) {
      if (s.version_of(h) < version) {
        doomed.push_back(h);
      } else if (s.at(h)->is_hash() && s.at(h)->hash()->base() < version) {
        // The hash's older fields go. Its expiry stays: a region that had
        // forgotten the hash would rebuild it with the newer fields' expiry.
        s.change_hash_locked(h, s.at(h)->hash()->max_version(), clock_->now_ms(), options_.tombstone_retention_ms,
                             [&](VersionedHash& hash) { hash.raise_base(version); });
      }
    }
    for (Handle h : doomed) s.remove_locked(h, Removal::kSuperseded);
    for (Version& mark : s.forgotten) mark = std::max(mark, version);
    s.flushed = std::max(s.flushed, version);
  }
}

Version LruCache::flush_mark() const {
  Version mark;
  for (int i = 0; i < options_.shards; ++i) {
    detail::AdaptiveMutexLock lock(shards_[i].mu);
    mark = std::max(mark, shards_[i].flushed);
  }
  return mark;
}

size_t LruCache::active_expire_cycle() {
  const int64_t now = clock_->now_ms();
  size_t reclaimed = 0;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    for (int n = 0; n < options_.expiry_cycle_budget && s.expiring > 0; ++n) {
      if (s.expiry_cursor == kNil) s.expiry_cursor = s.lru;  // start a new sweep at the LRU end
      const Handle h = s.expiry_cursor;
      s.expiry_cursor = s.at(h)->prev;
      if (s.at(h)->expired_at(now)) {
        s.remove_locked(h, Removal::kExpired);
        ++reclaimed;
      }
    }
  }
  return reclaimed;
}

void LruCache::scan_shard(int shard, bool include_tombstones,
                          absl::FunctionRef<void(std::string_view, const RecordView&)> fn) const {
  Shard& s = shards_[shard];
  const int64_t now = clock_->now_ms();
  detail::AdaptiveMutexLock lock(s.mu);
  for (Handle h : s.table) {
    const Entry* e = s.at(h);
    if (e->expired_at(now) || (e->is_tombstone() && !include_tombstones)) continue;
    fn(e->key(), s.view_of(e));
  }
}

std::optional<std::string> LruCache::random_key() const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t now = clock_->now_ms();
  const int start = static_cast<int>(rng() % options_.shards);
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[(start + i) % options_.shards];
    detail::AdaptiveMutexLock lock(s.mu);
    if (s.st.items == 0) continue;
    // The table has no random access; walk a random number of slots from its
    // start, then on to the first live key.
    size_t skip = rng() % std::min<size_t>(s.table.size(), 64);
    std::optional<std::string> fallback;
    for (Handle h : s.table) {
      const Entry* e = s.at(h);
      if (e->is_tombstone() || e->expired_at(now)) continue;
      if (!fallback) fallback = std::string(e->key());
      if (skip == 0) return std::string(e->key());
      --skip;
    }
    if (fallback) return fallback;
  }
  return std::nullopt;
}

ApplyResult LruCache::apply_seen(std::string_view key, const Record& record, RegionId origin) {
  const ApplyResult result = apply(key, record);
  const std::optional<uint8_t> slot = slots_->slot_of(origin);
  if (!slot) return result;
  Shard& s = shard_for(key);
  detail::AdaptiveMutexLock lock(s.mu);
  auto it = s.table.find(key);
  if (it != s.table.end() && s.at(*it)->slot() == *slot) s.at(*it)->set_mark(!s.unseen(*slot));
  return result;
}

size_t LruCache::end_snapshot(RegionId origin, std::optional<uint64_t> drop_before_hlc) {
  const std::optional<uint8_t> slot = slots_->slot_of(origin);
  if (!slot) return 0;
  std::atomic<uint8_t>& seen = (*seen_)[*slot];
  const bool seen_mark = seen.load(std::memory_order_relaxed) != 0;
  size_t dropped = 0;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    std::vector<Handle> doomed;
    for (Handle h : s.table) {
      Entry* e = s.at(h);
      if (e->slot() != *slot) continue;
      if (drop_before_hlc && e->hlc < *drop_before_hlc && e->mark() != seen_mark) doomed.push_back(h);
      else e->set_mark(seen_mark);  // unseen once the seen value flips below
    }
    for (Handle h : doomed) s.remove_locked(h, Removal::kForgotten);
    dropped += doomed.size();
  }
  seen.store(seen_mark ? 0 : 1, std::memory_order_relaxed);
  return dropped;
}

LruCacheStats LruCache::stats() const {
  LruCacheStats total;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    total.hits += s.st.hits;
    total.misses += s.st.misses;
    total.evictions += s.st.evictions;
    total.expirations += s.st.expirations;
    total.items += s.st.items;
    total.tombstones += s.st.tombstones;
    total.bytes += s.st.bytes;
    total.stale_applies += s.st.stale_applies;
  }
  return total;
}

void LruCache::set_limits(size_t max_items, size_t max_bytes) {
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    s.max_items = per_shard(max_items, options_.shards);
    s.byte_share = per_shard(max_bytes, options_.shards);
  }
  budget_->max.store(max_bytes, std::memory_order_relaxed);
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    s.evict_locked(kNil);
  }
}

void LruCache::TEST_check_invariants() const {
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    detail::AdaptiveMutexLock lock(s.mu);
    size_t n = 0, bytes = 0, live = 0, dead = 0, expiring = 0;
    bool cursor_seen = s.expiry_cursor == kNil;
    Handle prev = kNil;
    for (Handle h = s.mru; h != kNil; h = s.at(h)->next) {
      const Entry* e = s.at(h);
      if (e->prev != prev) std::abort();
      auto it = s.table.find(e->key());
      if (it == s.table.end() || *it != h) std::abort();
      if (h == s.expiry_cursor) cursor_seen = true;
      ++n;
      bytes += charge_of(e);
      if (e->is_tombstone()) ++dead;
      else ++live;
      if (e->expire_at_ms() != kNoExpiry) ++expiring;
      prev = h;
    }
    if (prev != s.lru) std::abort();
    if (n != s.table.size() || bytes != s.st.bytes || live != s.st.items || dead != s.st.tombstones) std::abort();
    if (expiring != s.expiring) std::abort();
    if (!cursor_seen) std::abort();
    const size_t max = budget_->max.load();
    if ((s.max_items != 0 && s.table.size() > s.max_items) || (max != 0 && s.st.bytes > max)) std::abort();
  }
}

}  // namespace geocache
