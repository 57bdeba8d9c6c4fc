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

std::vector<std::string> keys(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.key);
  return out;
}

// What a batch of the slice decodes to: the events appended, in order.
std::vector<std::string> batch_keys(const EncodedLog::Slice& s) {
  std::string payload;
  encode_event_batch(7, 1, s.first_seq, s.count, s.bytes, &payload);
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
    encode_event_batch(b.origin, b.epoch, b.first_seq, b.events.size(), events, &from_encoded, secret);
    EXPECT_EQ(whole, from_encoded) << secret;
  }
}

TEST(EncodedLogTest, BatchesKeepTheLimitsAndNeverSplitAGroup) {
  EncodedLog log;
  for (uint64_t seq = 1; seq <= 3; ++seq) log.append(seq, write("k" + std::to_string(seq)));
  // A group of three, then one more.
  log.append(4, write("g1", 8, true));
  log.append(5, write("g2", 8, true));
  log.append(6, write("g3"));
  log.append(7, write("after"));
  EXPECT_EQ(log.queued_events(), 7u);

  EncodedLog::Slice s = log.next_batch(2, 1 << 20);
  EXPECT_EQ(s.first_seq, 1u);
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(log.mark_published(2, 1 << 20), 2u);

  s = log.next_batch(2, 1 << 20);  // k3 and g1: the group goes on past the limit
  EXPECT_EQ(batch_keys(s), (std::vector<std::string>{"k3", "g1", "g2", "g3"}));
  log.mark_published(6, 1 << 20);

  // The byte limit: a lone event larger than it still goes.
  log.append(8, write("big", 500));
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
    log.append(seq, appended.back());
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

TEST(EncodedLogTest, DroppingTheOldestQueuedEventDropsTheBacklog) {
  EncodedLog log;
  for (uint64_t seq = 1; seq <= 5; ++seq) log.append(seq, write("k" + std::to_string(seq)));
  log.mark_published(2, 1 << 20);
  const size_t bytes = log.queued_bytes();
  const size_t dropped = log.drop_oldest_queued();  // k3
  EXPECT_EQ(log.backlog_events(), 0u);
  EXPECT_EQ(log.queued_bytes(), bytes - dropped);
  EXPECT_EQ(batch_keys(log.next_batch(100, 1 << 20)), (std::vector<std::string>{"k4", "k5"}));
  std::vector<Event> out;
  EXPECT_EQ(log.copy(2, 6, 100, 1 << 20, &out), std::nullopt);
}

// The buffer gives back the bytes of events that left: a long run through a
// small backlog keeps it small, and what remains still decodes.
TEST(EncodedLogTest, LongRunKeepsTheBufferBoundedByWhatIsHeld) {
  EncodedLog log;
  for (uint64_t seq = 1; seq <= 100'000; ++seq) {
    log.append(seq, write("key:" + std::to_string(seq), 100));
    if (seq % 100 == 0) log.mark_published(seq - 50, 64 << 10);
  }
  EXPECT_LE(log.backlog_bytes(), size_t{64} << 10);
  EXPECT_EQ(log.queued_events(), 50u);
  EXPECT_LE(log.buffer_bytes(), 3 * (log.backlog_bytes() + log.queued_bytes()) + 8192);
  std::vector<Event> out;
  ASSERT_EQ(log.copy(99'951, 100'001, 100, 1 << 20, &out), 100'001u);
  EXPECT_EQ(out.front().key, "key:99951");
  EXPECT_EQ(out.back().key, "key:100000");
}

}  // namespace
}  // namespace geocache
