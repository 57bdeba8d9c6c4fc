// EncodedLog: one origin's outgoing events, encoded once (encode_event), in
// order: first the backlog (published, kept for resyncs from a gap, as Redis'
// repl-backlog), then the queue (not yet published).
//
// Why encoded: the origin pays for replication on its request path. An event
// kept as an Event object costs allocations to keep, to copy into a batch
// and to free; kept as bytes, a batch is a header and one copy of a slice,
// and a resync from the backlog (rare) is what decodes.
//
// Why blocks: the bytes live in fixed blocks that never move, so a batch's
// slice stays valid once its owner's lock is released (the slice shares its
// blocks): the sender copies it into a message while writers go on
// appending. Blocks are given back whole as the events in them leave, so
// nothing is ever moved to reclaim space. Every operation but copy() costs
// the same however many events a batch or a trim covers.
//
// Sequences are consecutive from the oldest event held: dropping the oldest
// queued event (an outbox over its bound) drops the backlog with it.
//
// Thread-safety: none; the replicator holds its outbox lock. A Slice may be
// read on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "messaging/event.h"

namespace geocache {

class EncodedLog {
 public:
  static constexpr size_t kDefaultBlockBytes = 64 << 10;
  // An event larger than block_bytes gets a block of its own.
  explicit EncodedLog(size_t block_bytes = kDefaultBlockBytes);

  // Appends an event encoded by encode_event as sequence `seq`: the last
  // one's + 1, or any while the log is empty.
  void append(uint64_t seq, std::string_view encoded, bool group_next);

  bool empty() const { return entries_.empty(); }
  bool queue_empty() const { return published_ == entries_.size(); }
  size_t queued_events() const { return entries_.size() - published_; }
  size_t queued_bytes() const { return end_ - offset(published_); }
  size_t backlog_events() const { return published_; }
  size_t backlog_bytes() const { return offset(published_) - offset(0); }
  uint64_t next_seq_to_publish() const { return queue_empty() ? 0 : first_seq_ + published_; }
  // What the blocks held hold, the unused ends of blocks included.
  size_t buffer_bytes() const { return held_bytes_; }

  // Drops the oldest queued event, and the backlog with it. Returns the
  // bytes of the event dropped. REQUIRES: !queue_empty().
  size_t drop_oldest_queued();
  void clear_backlog();

  // The oldest queued events, as many as max_events and max_bytes allow
  // (at least one), never ending inside a group (Event::group_next).
  struct Slice {
    uint64_t first_seq = 0;
    size_t count = 0;
    size_t bytes = 0;
    // The events' bytes, in order, in the log's blocks; the slice holds
    // those blocks, so the views stay valid whatever the log does next.
    std::vector<std::string_view> pieces;
    std::vector<std::shared_ptr<const char[]>> blocks;
  };
  Slice next_batch(size_t max_events, size_t max_bytes) const;

  // The queued events through `last_seq` were published: they join the
  // backlog, which then keeps its newest backlog_max_bytes. Returns how many
  // moved.
  size_t mark_published(uint64_t last_seq, size_t backlog_max_bytes);

  // Decodes events from..until-1 (backlog or queue) into *out, at most
  // max_events and about max_bytes (at least one), never ending inside a
  // group. Returns the sequence after the last one copied, or nullopt if
  // `from` is no longer held.
  std::optional<uint64_t> copy(uint64_t from, uint64_t until, size_t max_events, size_t max_bytes,
                               std::vector<Event>* out) const;

 private:
  struct Entry {
    uint64_t at;  // where its bytes start, counted from the first byte ever appended
    bool group_next;
  };
  struct Block {
    std::shared_ptr<char[]> mem;
    size_t capacity;
    size_t used;
    uint64_t first_at;  // the `at` of its first event: its events follow each other from mem
  };
  // Where entry i's bytes start (end_ for i == size).
  uint64_t offset(size_t i) const { return i < entries_.size() ? entries_[i].at : end_; }
  // The block holding the byte at `at`, which some entry's bytes cover.
  size_t block_of(uint64_t at) const;
  std::string_view entry_bytes(size_t block, size_t i) const;
  // Forgets the oldest n entries, and the blocks left with none.
  void drop_front(size_t n);

  size_t block_bytes_;
  std::deque<Entry> entries_;
  std::deque<Block> blocks_;
  uint64_t first_seq_ = 0;  // entries_.front()'s
  size_t published_ = 0;    // entries_[0, published_) are the backlog
  uint64_t end_ = 0;
  size_t held_bytes_ = 0;
};

}  // namespace geocache
