#include "messaging/encoded_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace geocache {
namespace {

Event write(const std::string& key, size_t value_bytes = 8, bool group_next = false) {
  Event e;
  e.key = key;
  e.record.kind = ValueKind::kString;
  e.record.bytes = std::string(value_bytes, 'v');
  e.record.version = Version{1'000 + key.size(), 7};
  e.origin_wall_ms = 1'700'000'000'000;
  e.group_next = group_next;
  return e;
}

void add(EncodedLog& log, uint64_t seq, const Event& e) {
  std::string encoded;
  encode_event(e, &encoded);
  log.append(seq, encoded, e.group_next);
}

std::vector<std::string> keys(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.key);
  return out;
}

// What a batch of the slice decodes to: the events appended, in order.
std::vector<std::string> batch_keys(const EncodedLog::Slice& s) {
  std::string payload;
  encode_event_batch(7, 1, s.first_seq, s.count, s.pieces, &payload);
  Result<EventBatch> batch = decode_batch(payload);
  EXPECT_TRUE(batch.ok()) << batch.status().message();
  if (!batch.ok()) return {};
  EXPECT_EQ(batch->first_seq, s.first_seq);
  return keys(batch->events);
}

TEST(EncodedLogTest, BatchOfEncodedEventsIsTheBatchEncodeBatchWrites) {
  EventBatch b;
  b.origin = 7;
  b.epoch = 3;
  b.first_seq = 10;
  b.events = {write("a"), write("b", 300, true), write("c")};
  std::string events;
  for (const Event& e : b.events) encode_event(e, &events);
  for (std::string_view secret : {"", "s3cret"}) {
    std::string whole, from_encoded;
    encode_batch(b, &whole, secret);
    const std::vector<std::string_view> pieces{events};
    encode_event_batch(b.origin, b.epoch, b.first_seq, b.events.size(), pieces, &from_encoded, secret);
    EXPECT_EQ(whole, from_encoded) << secret;
  }
}

TEST(EncodedLogTest, BatchesKeepTheLimitsAndNeverSplitAGroup) {
  EncodedLog log;
  for (uint64_t seq = 1; seq <= 3; ++seq) add(log, seq, write("k" + std::to_string(seq)));
  // A group of three, then one more.
  add(log, 4, write("g1", 8, true));
  add(log, 5, write("g2", 8, true));
  add(log, 6, write("g3"));
  add(log, 7, write("after"));
  EXPECT_EQ(log.queued_events(), 7u);

  EncodedLog::Slice s = log.next_batch(2, 1 << 20);
  EXPECT_EQ(s.first_seq, 1u);
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(log.mark_published(2, 1 << 20), 2u);

  s = log.next_batch(2, 1 << 20);  // k3 and g1: the group goes on past the limit
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"k3", "g1", "g2", "g3"}));
  log.mark_published(6, 1 << 20);

  // The byte limit: a lone event larger than it still goes.
  add(log, 8, write("big", 500));
  s = log.next_batch(100, 64);
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"after"}));
  log.mark_published(7, 1 << 20);
  s = log.next_batch(100, 64);
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"big"}));
}

TEST(EncodedLogTest, PublishedEventsStayInABoundedBacklogAndCopyBack) {
  EncodedLog log;
  std::vector<Event> appended;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    appended.push_back(write("k" + std::to_string(seq), 20));
    add(log, seq, appended.back());
  }
  const size_t each = log.queued_bytes() / 10;
  log.mark_published(6, 4 * each);  // 1..6 published; the backlog keeps 3..6
  EXPECT_EQ(log.backlog_events(), 4u);
  EXPECT_EQ(log.queued_events(), 4u);
  EXPECT_EQ(log.next_seq_to_publish(), 7u);

  std::vector<Event> out;
  EXPECT_EQ(log.copy(2, 11, 100, 1 << 20, &out), std::nullopt);  // no longer held
  EXPECT_EQ(log.copy(4, 9, 100, 1 << 20, &out), 9u);             // backlog and queue
  EXPECT_EQ(keys(out), (std::vector<std::string>{"k4", "k5", "k6", "k7", "k8"}));
  EXPECT_EQ(out[0].record.bytes, appended[3].record.bytes);
  EXPECT_EQ(out[0].record.version, appended[3].record.version);
  out.clear();
  EXPECT_EQ(log.copy(4, 11, 2, 1 << 20, &out), 6u);  // at most two events
  EXPECT_EQ(log.copy(11, 12, 2, 1 << 20, &out), 11u);  // nothing yet past the end
}

TEST(EncodedLogTest, CopyFromTheBacklogNeverEndsInsideAGroup) {
  EncodedLog log;
  add(log, 1, write("a"));
  add(log, 2, write("g1", 8, true));
  add(log, 3, write("g2", 8, true));
  add(log, 4, write("g3"));
  add(log, 5, write("b"));
  log.mark_published(5, 1 << 20);
  std::vector<Event> out;
  EXPECT_EQ(log.copy(1, 6, 2, 1 << 20, &out), 5u);  // past the limit of two, to the group's end
  EXPECT_EQ(keys(out), (std::vector<std::string>{"a", "g1", "g2", "g3"}));
  EXPECT_TRUE(out[1].group_next);
  EXPECT_FALSE(out[3].group_next);
}

TEST(EncodedLogTest, DroppingTheOldestQueuedEventDropsTheBacklog) {
  EncodedLog log;
  for (uint64_t seq = 1; seq <= 5; ++seq) add(log, seq, write("k" + std::to_string(seq)));
  log.mark_published(2, 1 << 20);
  const size_t bytes = log.queued_bytes();
  const size_t dropped = log.drop_oldest_queued();  // k3
  EXPECT_EQ(log.backlog_events(), 0u);
  EXPECT_EQ(log.queued_bytes(), bytes - dropped);
  EXPECT_EQ(batch_keys(log.next_batch(100, 1 << 20)), (std::vector<std::string>{"k4", "k5"}));
  std::vector<Event> out;
  EXPECT_EQ(log.copy(2, 6, 100, 1 << 20, &out), std::nullopt);
}

// The log gives back the blocks of events that left: a long run through a
// small backlog keeps it small, and what remains still decodes.
TEST(EncodedLogTest, LongRunKeepsTheBufferBoundedByWhatIsHeld) {
  constexpr size_t kBlock = 4096;
  EncodedLog log(kBlock);
  for (uint64_t seq = 1; seq <= 100'000; ++seq) {
    add(log, seq, write("key:" + std::to_string(seq), 100));
    if (seq % 100 == 0) log.mark_published(seq - 50, 64 << 10);
  }
  EXPECT_LE(log.backlog_bytes(), size_t{64} << 10);
  EXPECT_EQ(log.queued_events(), 50u);
  EXPECT_LE(log.buffer_bytes(), log.backlog_bytes() + log.queued_bytes() + 2 * kBlock);
  std::vector<Event> out;
  ASSERT_EQ(log.copy(99'951, 100'001, 100, 1 << 20, &out), 100'001u);
  EXPECT_EQ(out.front().key, "key:99951");
  EXPECT_EQ(out.back().key, "key:100000");
}

// Events fill blocks one after another; a batch over several blocks is
// several pieces, and an event larger than a block gets one of its own.
TEST(EncodedLogTest, BatchesAndCopiesSpanBlocks) {
  EncodedLog log(256);
  std::vector<std::string> appended;
  for (uint64_t seq = 1; seq <= 40; ++seq) {
    appended.push_back("k" + std::to_string(seq));
    add(log, seq, write(appended.back(), seq == 20 ? 1000 : 30));
  }
  EncodedLog::Slice s = log.next_batch(1000, 1 << 20);
  EXPECT_EQ(s.count, 40u);
  EXPECT_GT(s.pieces.size(), 3u);
  EXPECT_EQ(batch_keys(s), appended);
  log.mark_published(40, 1 << 20);
  std::vector<Event> out;
  ASSERT_EQ(log.copy(15, 41, 1000, 1 << 20, &out), 41u);
  EXPECT_EQ(keys(out), std::vector<std::string>(appended.begin() + 14, appended.end()));
  EXPECT_EQ(out[5].record.bytes, std::string(1000, 'v'));
}

// The sender copies a batch out without the outbox lock while writers append
// and the backlog is trimmed: the slice keeps its bytes.
TEST(EncodedLogTest, SliceStaysValidAfterItsEventsLeaveTheLog) {
  EncodedLog log(128);
  for (uint64_t seq = 1; seq <= 10; ++seq) add(log, seq, write("old" + std::to_string(seq), 40));
  EncodedLog::Slice s = log.next_batch(1000, 1 << 20);
  log.mark_published(10, 0);  // no backlog: every block of the slice leaves the log
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.buffer_bytes(), 0u);
  for (uint64_t seq = 11; seq <= 60; ++seq) add(log, seq, write("new" + std::to_string(seq), 40));
  std::vector<std::string> expected;
  for (int i = 1; i <= 10; ++i) expected.push_back("old" + std::to_string(i));
  EXPECT_EQ(batch_keys(s), expected);
}

}  // namespace
}  // namespace geocache
