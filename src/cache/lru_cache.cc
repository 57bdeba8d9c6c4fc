// LruCache design
//
// Entry layout. Each entry is a single malloc'd block: a 40-byte header (two
// LRU links, the version's hlc, a packed word holding the absolute expiry in
// 48 bits, the version's region and the value kind, and the key and value
// lengths) followed by the key bytes and the value bytes. A 16-byte key with a
// 32-byte value is one 88-byte request, a 96-byte malloc chunk. The hash table
// (absl::flat_hash_set) holds only the entry pointer, looked up by key through
// transparent hashing, so a lookup never builds a std::string.
//
// Shards. A key's hash picks its shard; each shard has its own mutex, table,
// LRU list, counters and limits (the configured limits divided evenly), so
// threads working on different shards never contend. With thousands of keys
// per shard the hit ratio is that of one global LRU to within noise (see
// bench/hit_ratio_bench).
//
// LRU list. A circular doubly linked list through a sentinel: head.next is the
// most recently used entry, head.prev the least. Invariants, checked by
// TEST_check_invariants: every entry in the table is on the list once and vice
// versa; live + tombstones == table size; bytes == sum of charges.
//
// Expiry. Lazily, an expired entry found by a lookup is removed then and there.
// Actively, active_expire_cycle() advances a per-shard cursor from the LRU end
// toward the MRU end, examining a bounded number of entries per call and
// reclaiming those that expired (and tombstones past their retention). The
// cursor survives between calls, so repeated calls sweep the whole shard and
// memory held by expired keys that are never read again comes back within one
// sweep. The cursor is fixed up whenever the entry it points at moves or goes.
//
// Forgetting. When an entry leaves without being superseded (eviction, expiry,
// tombstone retirement, flush, resync) its version is folded into a
// "forgotten" high-water mark. Marks are kept per shard in kMarkSlots slots
// chosen by hash, so one forgotten key only raises the bar for 1/64 of the
// shard's keys. An event for an absent key is applied only if it is newer than
// its slot's mark: a late, older write can then cause a miss, never a stale
// value.
#include "cache/lru_cache.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace geocache {
namespace {

constexpr int kMarkSlots = 64;
// Table cost per entry beyond the entry block: one 8-byte slot and one control
// byte, at absl's load factor between 7/16 and 7/8.
constexpr size_t kTableBytesPerEntry = 16;
constexpr int64_t kMaxExpiry = (int64_t{1} << 48) - 1;

struct Links {
  Links* prev;  // toward the most recently used end
  Links* next;  // toward the least recently used end
};

struct Entry : Links {
  uint64_t hlc;
  uint64_t meta;  // expire_at_ms << 16 | region << 8 | kind
  uint32_t key_len;
  uint32_t value_len;

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view value() const { return {data() + key_len, value_len}; }
  int64_t expire_at_ms() const { return static_cast<int64_t>(meta >> 16); }
  ValueKind kind() const { return static_cast<ValueKind>(meta & 0xff); }
  bool is_tombstone() const { return kind() == ValueKind::kTombstone; }
  Version version() const { return Version{hlc, static_cast<RegionId>((meta >> 8) & 0xff)}; }
  bool expired_at(int64_t now) const {
    const int64_t at = expire_at_ms();
    return at != kNoExpiry && at <= now;
  }
  RecordView view() const { return RecordView{kind(), value(), expire_at_ms(), version()}; }
  void set_meta(int64_t expire_at, RegionId region, ValueKind kind) {
    meta = static_cast<uint64_t>(std::clamp<int64_t>(expire_at, 0, kMaxExpiry)) << 16 |
           static_cast<uint64_t>(region) << 8 | static_cast<uint8_t>(kind);
  }
};

size_t hash_key(std::string_view key) { return absl::Hash<std::string_view>{}(key); }

struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view k) const { return hash_key(k); }
  size_t operator()(const Entry* e) const { return hash_key(e->key()); }
};

struct KeyEq {
  using is_transparent = void;
  static std::string_view k(std::string_view s) { return s; }
  static std::string_view k(const Entry* e) { return e->key(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return k(a) == k(b);
  }
};

using Table = absl::flat_hash_set<Entry*, KeyHash, KeyEq>;

Entry* new_entry(std::string_view key, ValueKind kind, std::string_view value, int64_t expire_at, Version v) {
  auto* e = static_cast<Entry*>(std::malloc(sizeof(Entry) + key.size() + value.size()));
  if (e == nullptr) throw std::bad_alloc();
  e->prev = e->next = nullptr;
  e->hlc = v.hlc;
  e->set_meta(expire_at, v.region, kind);
  e->key_len = static_cast<uint32_t>(key.size());
  e->value_len = static_cast<uint32_t>(value.size());
  std::memcpy(e->data(), key.data(), key.size());
  std::memcpy(e->data() + key.size(), value.data(), value.size());
  return e;
}

size_t charge_of(const Entry* e) { return malloc_usable_size(const_cast<Entry*>(e)) + kTableBytesPerEntry; }

size_t per_shard(size_t limit, int shards) {
  if (limit == 0) return 0;
  return std::max<size_t>(1, (limit + shards - 1) / shards);
}

enum class Removal { kSuperseded, kEvicted, kExpired, kForgotten };

}  // namespace

struct LruCache::Shard {
  mutable std::mutex mu;
  Table table;
  Links head{&head, &head};
  Links* expiry_cursor = &head;
  size_t max_items = 0;
  size_t max_bytes = 0;
  LruCacheStats st;
  Version forgotten[kMarkSlots];

  ~Shard() {
    for (Entry* e : table) std::free(e);
  }

  Version& mark_for(size_t hash) { return forgotten[(hash >> 24) % kMarkSlots]; }

  // --- LRU list -----------------------------------------------------------
  void link_front_locked(Entry* e) {
    e->next = head.next;
    e->prev = &head;
    head.next->prev = e;
    head.next = e;
  }
  void link_after_locked(Links* pos, Entry* e) {  // e takes the place right after pos
    e->prev = pos;
    e->next = pos->next;
    pos->next->prev = e;
    pos->next = e;
  }
  void unlink_locked(Entry* e) {
    if (expiry_cursor == e) expiry_cursor = e->prev;
    e->prev->next = e->next;
    e->next->prev = e->prev;
  }
  void touch_locked(Entry* e) {
    if (head.next == e) return;
    unlink_locked(e);
    link_front_locked(e);
  }

  // --- accounting ---------------------------------------------------------
  void account_add_locked(const Entry* e) {
    st.bytes += charge_of(e);
    if (e->is_tombstone()) ++st.tombstones;
    else ++st.items;
  }
  void account_remove_locked(const Entry* e) {
    st.bytes -= charge_of(e);
    if (e->is_tombstone()) --st.tombstones;
    else --st.items;
  }

  // Takes e out of table and list and frees it. REQUIRES: e is in the shard.
  void remove_locked(Entry* e, Removal why) {
    if (why != Removal::kSuperseded) {
      Version& mark = mark_for(hash_key(e->key()));
      mark = std::max(mark, e->version());
      if (why == Removal::kEvicted) ++st.evictions;
      if (why == Removal::kExpired && !e->is_tombstone()) ++st.expirations;
    }
    table.erase(e);
    unlink_locked(e);
    account_remove_locked(e);
    std::free(e);
  }

  bool over_limits_locked() const {
    return (max_items != 0 && table.size() > max_items) || (max_bytes != 0 && st.bytes > max_bytes);
  }

  // Evicts least recently used entries until within limits, never `keep`.
  void evict_locked(const Entry* keep) {
    while (over_limits_locked() && head.prev != &head) {
      auto* victim = static_cast<Entry*>(head.prev);
      if (victim == keep) {
        if (victim->prev == &head) break;
        victim = static_cast<Entry*>(victim->prev);
      }
      remove_locked(victim, Removal::kEvicted);
    }
  }

  // Stores rec for key, replacing `cur` (may be null). REQUIRES: rec is newer
  // than cur and than the key's mark. Returns kTooLarge if it can never fit.
  ApplyResult store_locked(std::string_view key, size_t hash, Entry* cur, const Record& rec, bool to_front,
                           int64_t now, int64_t tombstone_retention_ms) {
    if (!rec.is_tombstone() && rec.expired_at(now)) {
      // Already dead on arrival: forget the older state and remember the version.
      if (cur != nullptr) remove_locked(cur, Removal::kSuperseded);
      Version& mark = mark_for(hash);
      mark = std::max(mark, rec.version);
      return ApplyResult::kApplied;
    }
    const int64_t expire_at = rec.is_tombstone() ? now + tombstone_retention_ms : rec.expire_at_ms;
    const size_t need = sizeof(Entry) + key.size() + rec.bytes.size() + kTableBytesPerEntry;
    if (max_bytes != 0 && need > max_bytes) return ApplyResult::kTooLarge;
    Entry* e = new_entry(key, rec.kind, rec.bytes, expire_at, rec.version);
    // The allocator may round the block up past the budget even when `need`
    // fits; the entry is charged what it really got, so judge by that.
    if (max_bytes != 0 && charge_of(e) > max_bytes) {
      std::free(e);
      return ApplyResult::kTooLarge;
    }
    if (cur != nullptr) {
      if (to_front) link_front_locked(e);
      else link_after_locked(cur->prev, e);
      remove_locked(cur, Removal::kSuperseded);
    } else {
      link_front_locked(e);
    }
    table.insert(e);
    account_add_locked(e);
    evict_locked(e);
    return ApplyResult::kApplied;
  }

  // The entry for key if any; an expired live entry (or retired tombstone)
  // is removed on the way and reported as absent.
  Entry* find_locked(std::string_view key, int64_t now) {
    auto it = table.find(key);
    if (it == table.end()) return nullptr;
    Entry* e = *it;
    if (e->expired_at(now)) {
      remove_locked(e, Removal::kExpired);
      return nullptr;
    }
    return e;
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
  set_limits(options_.max_items, options_.max_bytes);
}

LruCache::~LruCache() = default;

int LruCache::shard_count() const { return options_.shards; }

LruCache::Shard& LruCache::shard_for(std::string_view key) const {
  // The table uses the low bits of the hash; take the shard from the top.
  const size_t h = hash_key(key);
  return shards_[shard_bits_ == 0 ? 0 : h >> (64 - shard_bits_)];
}

bool LruCache::get(std::string_view key, absl::FunctionRef<void(const RecordView&)> fn) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  Entry* e = s.find_locked(key, clock_->now_ms());
  if (e == nullptr || e->is_tombstone()) {
    ++s.st.misses;
    return false;
  }
  ++s.st.hits;
  s.touch_locked(e);
  fn(e->view());
  return true;
}

std::optional<Record> LruCache::get(std::string_view key) {
  std::optional<Record> out;
  get(key, [&](const RecordView& v) { out = v.to_record(); });
  return out;
}

std::optional<Record> LruCache::peek(std::string_view key) const {
  auto r = peek_with_tombstone(key);
  if (r && r->is_tombstone()) return std::nullopt;
  return r;
}

std::optional<Record> LruCache::peek_with_tombstone(std::string_view key) const {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto it = s.table.find(key);
  if (it == s.table.end() || (*it)->expired_at(clock_->now_ms())) return std::nullopt;
  return (*it)->view().to_record();
}

ApplyResult LruCache::apply(std::string_view key, const Record& record) {
  Shard& s = shard_for(key);
  const size_t hash = hash_key(key);
  const int64_t now = clock_->now_ms();
  std::lock_guard lock(s.mu);
  Entry* cur = s.find_locked(key, now);
  const Version bar = cur != nullptr ? cur->version() : s.mark_for(hash);
  if (!(record.version > bar)) {
    ++s.st.stale_applies;
    return ApplyResult::kStale;
  }
  return s.store_locked(key, hash, cur, record, /*to_front=*/false, now, options_.tombstone_retention_ms);
}

Status LruCache::update(std::string_view key, Mutator fn) {
  Shard& s = shard_for(key);
  const size_t hash = hash_key(key);
  const int64_t now = clock_->now_ms();
  std::lock_guard lock(s.mu);
  Entry* cur = s.find_locked(key, now);
  const bool live = cur != nullptr && !cur->is_tombstone();
  RecordView view{};
  if (live) view = cur->view();
  std::optional<Record> next;
  Status st = fn(live ? &view : nullptr, &next);
  if (!st.ok() || !next) return st;
  assert(cur == nullptr || next->version > cur->version());
  assert(cur != nullptr || next->version > s.mark_for(hash));
  if (s.store_locked(key, hash, cur, *next, /*to_front=*/true, now, options_.tombstone_retention_ms) ==
      ApplyResult::kTooLarge) {
    return Status::OutOfMemory("command not allowed when used memory > 'maxmemory'");
  }
  return Status::Ok();
}

void LruCache::flush_before(Version version) {
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    std::vector<Entry*> doomed;
    for (Entry* e : s.table) {
      if (e->version() < version) doomed.push_back(e);
    }
    for (Entry* e : doomed) s.remove_locked(e, Removal::kSuperseded);
    for (Version& mark : s.forgotten) mark = std::max(mark, version);
  }
}

size_t LruCache::active_expire_cycle() {
  const int64_t now = clock_->now_ms();
  size_t reclaimed = 0;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    for (int n = 0; n < options_.expiry_cycle_budget && !s.table.empty(); ++n) {
      if (s.expiry_cursor == &s.head) s.expiry_cursor = s.head.prev;  // start a new sweep at the LRU end
      auto* e = static_cast<Entry*>(s.expiry_cursor);
      s.expiry_cursor = e->prev;
      if (e->expired_at(now)) {
        s.remove_locked(e, Removal::kExpired);
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
  std::lock_guard lock(s.mu);
  for (const Entry* e : s.table) {
    if (e->expired_at(now) || (e->is_tombstone() && !include_tombstones)) continue;
    fn(e->key(), e->view());
  }
}

std::optional<std::string> LruCache::random_key() const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t now = clock_->now_ms();
  const int start = static_cast<int>(rng() % options_.shards);
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[(start + i) % options_.shards];
    std::lock_guard lock(s.mu);
    if (s.st.items == 0) continue;
    // The table has no random access; walk a random number of slots from its
    // start, then on to the first live key.
    size_t skip = rng() % std::min<size_t>(s.table.size(), 64);
    std::optional<std::string> fallback;
    for (const Entry* e : s.table) {
      if (e->is_tombstone() || e->expired_at(now)) continue;
      if (!fallback) fallback = std::string(e->key());
      if (skip == 0) return std::string(e->key());
      --skip;
    }
    if (fallback) return fallback;
  }
  return std::nullopt;
}

size_t LruCache::drop_from_origin_before(RegionId origin, uint64_t before_hlc,
                                         absl::FunctionRef<bool(std::string_view)> keep) {
  size_t dropped = 0;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    std::vector<Entry*> doomed;
    for (Entry* e : s.table) {
      const Version v = e->version();
      if (v.region == origin && v.hlc < before_hlc && !keep(e->key())) doomed.push_back(e);
    }
    for (Entry* e : doomed) s.remove_locked(e, Removal::kForgotten);
    dropped += doomed.size();
  }
  return dropped;
}

LruCacheStats LruCache::stats() const {
  LruCacheStats total;
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
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
    std::lock_guard lock(s.mu);
    s.max_items = per_shard(max_items, options_.shards);
    s.max_bytes = per_shard(max_bytes, options_.shards);
    s.evict_locked(nullptr);
  }
}

void LruCache::TEST_check_invariants() const {
  for (int i = 0; i < options_.shards; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    size_t n = 0, bytes = 0, live = 0, dead = 0;
    bool cursor_seen = s.expiry_cursor == &s.head;
    for (Links* l = s.head.next; l != &s.head; l = l->next) {
      auto* e = static_cast<Entry*>(l);
      if (l->next->prev != l) std::abort();
      if (s.table.find(e->key()) == s.table.end() || *s.table.find(e->key()) != e) std::abort();
      if (e == s.expiry_cursor) cursor_seen = true;
      ++n;
      bytes += charge_of(e);
      if (e->is_tombstone()) ++dead;
      else ++live;
    }
    if (n != s.table.size() || bytes != s.st.bytes || live != s.st.items || dead != s.st.tombstones) std::abort();
    if (!cursor_seen) std::abort();
    if (s.over_limits_locked()) std::abort();
  }
}

}  // namespace geocache
