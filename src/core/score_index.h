// ScoreIndex: the order of a sorted set's members, by (score, member), with
// ranks. A skiplist whose links carry spans (how many elements a link jumps
// over), as Redis keeps its sorted sets: inserting, erasing, finding the
// rank of a member and the member at a rank are O(log n) expected, so a
// sorted set of millions answers ZADD, ZRANK and ZRANGE of a few members in
// microseconds. Iterating from a node is O(1) per step, both ways.
//
// Only the order lives here; the members' scores and versions live in the
// VersionedHash that owns the index (core/versioned_hash.h), which keeps the
// two in step.
//
// Thread-safety: a plain value type (copying rebuilds it); the store guards
// it with its shard lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace geocache {

class ScoreIndex {
 public:
  struct Node;

  // Bytes charged per element on top of the member's length: the node's
  // head, its links (1.33 on average) and the member's copy's head.
  static constexpr size_t kNodeOverhead = 80;

  ScoreIndex();
  ~ScoreIndex();
  ScoreIndex(const ScoreIndex& other);
  ScoreIndex& operator=(const ScoreIndex& other);
  ScoreIndex(ScoreIndex&& other) noexcept;
  ScoreIndex& operator=(ScoreIndex&& other) noexcept;

  size_t size() const { return length_; }

  // REQUIRES: (score, member) is not in the index.
  void insert(double score, std::string_view member);
  // Removes (score, member); false if it is not there.
  bool erase(double score, std::string_view member);
  // The 0-based rank of (score, member). REQUIRES: it is in the index.
  size_t rank(double score, std::string_view member) const;
  // How many elements come before the first one for which `before` is
  // false. REQUIRES: `before` holds for a prefix of the order and for no
  // element after it (a lower bound by score, or by member among equal
  // scores).
  size_t count_before(absl::FunctionRef<bool(double score, std::string_view member)> before) const;

  // The element at 0-based rank `rank`, or null past the end.
  const Node* at(size_t rank) const;
  static const Node* next(const Node* n);
  static const Node* prev(const Node* n);
  static double score(const Node* n);
  static std::string_view member(const Node* n);

 private:
  void clear();
  int random_level();

  Node* header_;
  Node* tail_ = nullptr;
  size_t length_ = 0;
  int level_ = 1;
  uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace geocache
