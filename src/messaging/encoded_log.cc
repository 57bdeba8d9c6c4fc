#include "messaging/encoded_log.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

namespace geocache {

EncodedLog::EncodedLog(size_t block_bytes) : block_bytes_(std::max<size_t>(block_bytes, 1)) {}

void EncodedLog::append(uint64_t seq, std::string_view encoded, bool group_next) {
  assert(entries_.empty() || seq == first_seq_ + entries_.size());
  if (entries_.empty()) first_seq_ = seq;
  if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < encoded.size()) {
    const size_t capacity = std::max(block_bytes_, encoded.size());
    blocks_.push_back(Block{std::shared_ptr<char[]>(new char[capacity]), capacity, 0, end_});
    held_bytes_ += capacity;
  }
  Block& block = blocks_.back();
  std::memcpy(block.mem.get() + block.used, encoded.data(), encoded.size());
  block.used += encoded.size();
  entries_.push_back(Entry{end_, group_next});
  end_ += encoded.size();
}

size_t EncodedLog::block_of(uint64_t at) const {
  auto after = std::upper_bound(blocks_.begin(), blocks_.end(), at,
                                [](uint64_t v, const Block& b) { return v < b.first_at; });
  return static_cast<size_t>(after - blocks_.begin()) - 1;
}

std::string_view EncodedLog::entry_bytes(size_t block, size_t i) const {
  const Block& b = blocks_[block];
  return std::string_view(b.mem.get() + (offset(i) - b.first_at), offset(i + 1) - offset(i));
}

void EncodedLog::drop_front(size_t n) {
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
  first_seq_ += n;
  published_ -= std::min(published_, n);
  const uint64_t oldest = offset(0);
  while (!blocks_.empty() && blocks_.front().first_at + blocks_.front().used <= oldest) {
    held_bytes_ -= blocks_.front().capacity;
    blocks_.pop_front();
  }
}

size_t EncodedLog::drop_oldest_queued() {
  clear_backlog();
  const size_t size = offset(1) - offset(0);
  drop_front(1);
  return size;
}

void EncodedLog::clear_backlog() { drop_front(published_); }

EncodedLog::Slice EncodedLog::next_batch(size_t max_events, size_t max_bytes) const {
  Slice s;
  if (queue_empty()) return s;
  const size_t first = published_;
  const size_t most = first + std::min(std::max<size_t>(max_events, 1), queued_events());
  const uint64_t start = offset(first);
  const uint64_t limit = max_bytes > std::numeric_limits<uint64_t>::max() - start
                             ? std::numeric_limits<uint64_t>::max()
                             : start + max_bytes;
  size_t end = most;
  if (offset(most) > limit) {
    // The first event starting past the limit ends past it too: the batch
    // stops one event before it (but holds one at least).
    auto past = std::upper_bound(entries_.begin() + static_cast<std::ptrdiff_t>(first + 1),
                                 entries_.begin() + static_cast<std::ptrdiff_t>(most), limit,
                                 [](uint64_t v, const Entry& e) { return v < e.at; });
    end = std::max(first + 1, static_cast<size_t>(past - entries_.begin()) - 1);
  }
  // The limits end a batch only between groups.
  while (end < entries_.size() && entries_[end - 1].group_next) ++end;
  s.first_seq = first_seq_ + first;
  s.count = end - first;
  const uint64_t stop = offset(end);
  s.bytes = stop - start;
  for (size_t b = block_of(start); b < blocks_.size() && blocks_[b].first_at < stop; ++b) {
    const Block& block = blocks_[b];
    const uint64_t from = std::max(start, block.first_at);
    const uint64_t to = std::min(stop, block.first_at + block.used);
    s.pieces.emplace_back(block.mem.get() + (from - block.first_at), to - from);
    s.blocks.push_back(block.mem);
  }
  return s;
}

size_t EncodedLog::mark_published(uint64_t last_seq, size_t backlog_max_bytes) {
  size_t moved = 0;
  const uint64_t next = first_seq_ + published_;
  if (!queue_empty() && last_seq >= next) {
    moved = static_cast<size_t>(std::min<uint64_t>(last_seq - next + 1, queued_events()));
    published_ += moved;
  }
  if (backlog_bytes() > backlog_max_bytes) {
    // The backlog keeps the events from the oldest one within its bound.
    const uint64_t keep_from = offset(published_) - backlog_max_bytes;
    auto kept = std::lower_bound(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(published_),
                                 keep_from, [](const Entry& e, uint64_t v) { return e.at < v; });
    drop_front(static_cast<size_t>(kept - entries_.begin()));
  }
  return moved;
}

std::optional<uint64_t> EncodedLog::copy(uint64_t from, uint64_t until, size_t max_events, size_t max_bytes,
                                         std::vector<Event>* out) const {
  if (entries_.empty() || from < first_seq_) return std::nullopt;
  size_t i = from - first_seq_;
  if (i >= entries_.size()) return from;  // nothing yet past the end
  const uint64_t start = offset(i);
  size_t block = block_of(start);
  size_t copied = 0;
  uint64_t seq = from;
  for (; i < entries_.size() && seq < until; ++i, ++seq) {
    const bool in_group = copied > 0 && entries_[i - 1].group_next;
    if (!in_group && (copied >= max_events || (copied > 0 && offset(i + 1) - start > max_bytes))) break;
    while (blocks_[block].first_at + blocks_[block].used <= entries_[i].at) ++block;
    std::string_view in = entry_bytes(block, i);
    Event e;
    if (!decode_event(&in, &e).ok()) return std::nullopt;  // our own bytes: cannot happen
    out->push_back(std::move(e));
    ++copied;
  }
  return seq;
}

}  // namespace geocache
