// Lists: the encoded form a kList record holds, and the ops a kListOp record
// carries (docs/design.md, "Lists").
//
// A list is last-writer-wins as a whole key (DESIGN.md), yet a write must
// not send the whole list (O(n) on the wire per LPUSH). So a list write
// replicates its op (push these at the head, pop n at the tail, set index i,
// ...) with the version of the list it was applied to (`prev`) and its own
// version. A region whose list is at exactly `prev` applies the op and takes
// the new version; one that is not (it missed a write, or two regions wrote
// at once) asks the op's origin for the key's whole state, which then wins
// or loses by version like any whole-key record. Ops are deterministic: the
// same op on the same list gives the same list everywhere.
//
// Encoded list (kList bytes): fixed32 element count, then each element
// length-prefixed (varint length, bytes). LLEN is O(1); LINDEX and LRANGE
// walk from the head.
//
// Encoded ops (kListOp bytes): prev (fixed64 hlc, fixed32 region), then a
// varint op count and each op (a code byte and its arguments). An op record
// with prev == its own version is a snapshot piece: one kAppendAt op that
// continues the list a kList record of that version started (a big list
// travels in a snapshot in pieces, as a big hash does).
//
// Thread-safety: plain values and functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/version.h"

namespace geocache {

// The elements of an encoded list, read in place. REQUIRES: bytes passed
// validate_list (the store's own lists always do).
class ListView {
 public:
  ListView() = default;
  explicit ListView(std::string_view bytes);
  size_t size() const { return size_; }
  // The elements [start, end) in order (views into the bytes). O(end).
  std::vector<std::string_view> range(size_t start, size_t end) const;
  std::vector<std::string_view> elements() const { return range(0, size_); }
  std::string_view at(size_t index) const;  // REQUIRES: index < size(). O(index)

 private:
  std::string_view elements_;  // after the count
  size_t size_ = 0;
};

// Ok if bytes are an encoded list; kCorruption saying what is not.
Status validate_list(std::string_view bytes);
// The encoded list of these elements.
std::string encode_list(const std::vector<std::string_view>& elements);

// A list write's ops, built by a command, applied by apply_list_ops.
class ListOps {
 public:
  enum class Code : uint8_t {
    kPushHead = 1,  // elements become the head, in the order given
    kPushTail = 2,  // elements become the tail, in the order given
    kPopHead = 3,   // n elements go from the head
    kPopTail = 4,   // n elements go from the tail
    kSet = 5,       // the element at index (from the head) becomes value
    kTrim = 6,      // only [start, start + count) stays
    kRemove = 7,    // LREM count value
    kInsert = 8,    // LINSERT BEFORE/AFTER pivot value
    kAppendAt = 9,  // a snapshot piece: elements appended to a list of exactly `offset` elements
  };
  void push_head(const std::vector<std::string_view>& elements);
  void push_tail(const std::vector<std::string_view>& elements);
  void pop_head(uint64_t n);
  void pop_tail(uint64_t n);
  void set(uint64_t index, std::string_view value);
  void trim(uint64_t start, uint64_t count);
  void remove(int64_t count, std::string_view value);
  void insert(bool after, std::string_view pivot, std::string_view value);
  bool empty() const { return count_ == 0; }

  // The kListOp bytes with these ops, applied to the list of version prev.
  std::string encode(Version prev) const;
  // A snapshot piece: the bytes of a kListOp record, of the version of the
  // kList record it continues, appending `elements` to the first `offset`.
  static std::string encode_piece(Version version, uint64_t offset, const std::vector<std::string_view>& elements);

 private:
  std::string ops_;
  uint64_t count_ = 0;
};

// The version a kListOp's bytes say they were applied to (see above), or
// kCorruption.
Result<Version> list_op_prev(std::string_view op_bytes);
// Rewrites the prev of encoded ops (GeoCache stamps it under the key's lock).
void set_list_op_prev(std::string* op_bytes, Version prev);
// Ok if op_bytes are well-formed ops of a record of version `version`: prev
// older than version (or equal, for a snapshot piece: one kAppendAt op).
Status validate_list_ops(std::string_view op_bytes, Version version);
// A snapshot piece's offset (the elements the list must hold before it), or
// nullopt if op_bytes are not a piece. REQUIRES: validated.
std::optional<uint64_t> list_piece_offset(std::string_view op_bytes, Version version);

// The encoded list `list` (validated) becomes after the ops of op_bytes
// (validated): one copy of the list's bytes per op; pushes, pops, LSET and
// LTRIM splice bytes (plus a walk to the index they touch), LREM and
// LINSERT rebuild the list element by element.
std::string apply_list_ops(std::string_view list, std::string_view op_bytes);

}  // namespace geocache
