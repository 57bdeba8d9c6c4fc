#include "messaging/encoded_log.h"

#include <algorithm>

namespace geocache {

size_t EncodedLog::append(uint64_t seq, EventRef e) {
  const size_t before = buf_.size();
  encode_event(e, &buf_);
  const size_t size = buf_.size() - before;
  entries_.push_back(Entry{seq, end_, e.group_next});
  end_ += size;
  return size;
}

uint64_t EncodedLog::next_seq_to_publish() const { return queue_empty() ? 0 : entries_[published_].seq; }

void EncodedLog::pop_front() {
  entries_.pop_front();
  if (published_ > 0) --published_;
  if (entries_.empty()) {
    buf_.clear();
    base_ = end_;
    return;
  }
  // The bytes before the oldest entry are dead: given back once they are
  // most of the buffer, so each byte is moved at most about once.
  const size_t dead = entries_.front().at - base_;
  if (dead >= 4096 && dead * 2 >= buf_.size()) {
    buf_.erase(0, dead);
    base_ += dead;
  }
}

size_t EncodedLog::drop_oldest_queued() {
  clear_backlog();
  const size_t size = offset(1) - offset(0);
  pop_front();
  return size;
}

void EncodedLog::clear_backlog() {
  while (published_ > 0) pop_front();
}

EncodedLog::Slice EncodedLog::next_batch(size_t max_events, size_t max_bytes) const {
  Slice s;
  if (queue_empty()) return s;
  s.first_seq = entries_[published_].seq;
  size_t i = published_;
  while (i < entries_.size()) {
    const bool in_group = i > published_ && entries_[i - 1].group_next;
    if (!in_group && s.count >= max_events) break;
    if (!in_group && s.count > 0 && offset(i + 1) - offset(published_) > max_bytes) break;
    // Consecutive sequences only (a log appended after a drop restarts them).
    if (entries_[i].seq != s.first_seq + s.count) break;
    ++s.count;
    ++i;
  }
  s.bytes = bytes(offset(published_), offset(i));
  return s;
}

size_t EncodedLog::mark_published(uint64_t last_seq, size_t backlog_max_bytes) {
  size_t moved = 0;
  while (published_ < entries_.size() && entries_[published_].seq <= last_seq) {
    ++published_;
    ++moved;
  }
  while (published_ > 0 && backlog_bytes() > backlog_max_bytes) pop_front();
  return moved;
}

std::optional<uint64_t> EncodedLog::copy(uint64_t from, uint64_t until, size_t max_events, size_t max_bytes,
                                         std::vector<Event>* out) const {
  if (entries_.empty() || from < entries_.front().seq) return std::nullopt;
  // Sequences are consecutive from the front (a drop clears what is before).
  size_t i = from - entries_.front().seq;
  const uint64_t start = offset(std::min(i, entries_.size()));
  size_t copied = 0;
  uint64_t seq = from;
  for (; i < entries_.size() && seq < until; ++i, ++seq) {
    if (entries_[i].seq != seq) return std::nullopt;
    const bool in_group = copied > 0 && entries_[i - 1].group_next;
    if (!in_group && (copied >= max_events || (copied > 0 && offset(i + 1) - start > max_bytes))) break;
    std::string_view in = bytes(offset(i), offset(i + 1));
    Event e;
    if (!decode_event(&in, &e).ok()) return std::nullopt;  // our own bytes: cannot happen
    out->push_back(std::move(e));
    ++copied;
  }
  return seq;
}

}  // namespace geocache
