// EncodedLog: one origin's outgoing events, encoded once, as they are
// appended, into one buffer: first the backlog (published, kept for resyncs
// from a gap, as Redis' repl-backlog), then the queue (not yet published).
//
// Why encoded: the origin pays for replication on its request path. An event
// kept as an Event object costs allocations to keep, to copy into a batch
// and to free; kept as bytes, a batch is a header and one copy of a slice,
// and a resync from the backlog (rare) is what decodes.
//
// Sequences are consecutive through the backlog and the queue: dropping the
// oldest queued event (an outbox over its bound) drops the backlog with it.
//
// Thread-safety: none; the replicator holds its outbox lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messaging/event.h"

namespace geocache {

class EncodedLog {
 public:
  // Appends e as sequence `seq` (the last one's + 1, or any after a drop or
  // at the start). Returns its encoded size.
  size_t append(uint64_t seq, EventRef e);

  bool empty() const { return entries_.empty(); }
  bool queue_empty() const { return published_ == entries_.size(); }
  size_t queued_events() const { return entries_.size() - published_; }
  size_t queued_bytes() const { return end_ - offset(published_); }
  size_t backlog_events() const { return published_; }
  size_t backlog_bytes() const { return offset(published_) - offset(0); }
  uint64_t next_seq_to_publish() const;
  // What the buffer holds, dead bytes not yet given back included.
  size_t buffer_bytes() const { return buf_.size(); }

  // Drops the oldest queued event, and the backlog with it. Returns the
  // bytes of the event dropped. REQUIRES: !queue_empty().
  size_t drop_oldest_queued();
  void clear_backlog();

  // The oldest queued events, as many as max_events and max_bytes allow
  // (at least one), never ending inside a group (Event::group_next).
  struct Slice {
    uint64_t first_seq = 0;
    size_t count = 0;
    std::string_view bytes;  // valid until the log changes
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
    uint64_t seq;
    uint64_t at;  // where its bytes start, counted from the first byte ever appended
    bool group_next;
  };
  // Where entry i's bytes start (end_ for i == size).
  uint64_t offset(size_t i) const { return i < entries_.size() ? entries_[i].at : end_; }
  std::string_view bytes(uint64_t from, uint64_t to) const {
    return std::string_view(buf_).substr(from - base_, to - from);
  }
  void pop_front();

  std::deque<Entry> entries_;
  size_t published_ = 0;  // entries_[0, published_) are the backlog
  std::string buf_;       // bytes from base_ to end_
  uint64_t base_ = 0, end_ = 0;
};

}  // namespace geocache
