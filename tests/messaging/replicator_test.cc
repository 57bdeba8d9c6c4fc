#include "messaging/replicator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/versioned_hash.h"

namespace geocache {
namespace {

using namespace std::chrono_literals;

// Waits for a condition another thread brings about. The deadline only keeps
// a broken build from hanging; no test relies on how long anything takes.
bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A Transport that keeps what is published and fails when told to.
class FakeTransport final : public Transport {
 public:
  void attach(RegionId region, Receiver receiver) override {
    std::lock_guard lock(mu_);
    receivers_[region] = std::move(receiver);
  }
  Status start() override { return Status::Ok(); }
  void stop() override {}
  Status publish(RegionId origin, std::string_view payload) override {
    std::lock_guard lock(mu_);
    ++attempts_;
    if (fail_next_ > 0 || fail_all_) {
      if (fail_next_ > 0) --fail_next_;
      return Status::Unavailable("fake broker down");
    }
    origins_.push_back(origin);
    payloads_.emplace_back(payload);
    return Status::Ok();
  }
  Status send_to(RegionId from, RegionId to, std::string_view payload) override {
    std::lock_guard lock(mu_);
    direct_.push_back({from, to, std::string(payload)});
    return Status::Ok();
  }
  struct Direct {
    RegionId from, to;
    std::string payload;
  };
  std::vector<Direct> direct() const {
    std::lock_guard lock(mu_);
    return direct_;
  }

  void fail_next(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  void fail_all(bool on) {
    std::lock_guard lock(mu_);
    fail_all_ = on;
  }
  int attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::vector<EventBatch> batches() const {
    std::lock_guard lock(mu_);
    std::vector<EventBatch> out;
    for (const auto& p : payloads_) {
      auto b = decode_batch(p);
      EXPECT_TRUE(b.ok());
      if (b.ok()) out.push_back(std::move(b).value());
    }
    return out;
  }
  // What was published, as sent (sealed or not).
  std::vector<std::string> payloads() const {
    std::lock_guard lock(mu_);
    return payloads_;
  }
  bool has_receiver(RegionId r) const {
    std::lock_guard lock(mu_);
    return receivers_.count(r) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::map<RegionId, Receiver> receivers_;
  std::vector<RegionId> origins_;
  std::vector<std::string> payloads_;
  std::vector<Direct> direct_;
  int attempts_ = 0;
  int fail_next_ = 0;
  bool fail_all_ = false;
};

Event put_event(const std::string& key, size_t value_size = 8, int64_t wall_ms = 0) {
  Event e;
  e.key = key;
  e.record = Record{ValueKind::kString, std::string(value_size, 'v'), kNoExpiry, Version{1, 1}};
  e.origin_wall_ms = wall_ms;
  return e;
}

// The keys of all events published, in order.
std::vector<std::string> keys_of(const std::vector<EventBatch>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) {
    for (const auto& e : b.events) out.push_back(e.key);
  }
  return out;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// ---- sending --------------------------------------------------------------------

class ReplicatorSendTest : public ::testing::Test {
 protected:
  void make(ReplicatorOptions o) {
    // Retries at once and no lingering: the tests control timing through what
    // they queue before start() and through the fake's failures.
    o.linger_us = 0;
    o.retry_backoff_ms = 0;
    rep_ = std::make_unique<Replicator>(o, &transport_, &clock_, [](RegionId, const Event&) {}, nullptr);
    rep_->add_region(1);
  }
  OutboxStats outbox() { return rep_->outbox_stats().at(0); }

  ManualClock clock_;
  FakeTransport transport_;
  std::unique_ptr<Replicator> rep_;
};

TEST_F(ReplicatorSendTest, AddRegionAttachesItsReceiver) {
  make({});
  EXPECT_TRUE(transport_.has_receiver(1));
}

TEST_F(ReplicatorSendTest, PacksAtMostBatchMaxEventsPerBatch) {
  ReplicatorOptions o;
  o.batch_max_events = 10;
  make(o);
  for (const auto& k : numbered("k", 25)) rep_->append(1, put_event(k));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  const auto batches = transport_.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].events.size(), 10u);
  EXPECT_EQ(batches[1].events.size(), 10u);
  EXPECT_EQ(batches[2].events.size(), 5u);
  EXPECT_EQ(batches[0].first_seq, 1u);
  EXPECT_EQ(batches[1].first_seq, 11u);
  EXPECT_EQ(batches[2].first_seq, 21u);
  for (const auto& b : batches) EXPECT_EQ(b.origin, 1);
  EXPECT_EQ(keys_of(batches), numbered("k", 25));
  EXPECT_EQ(outbox().published, 25u);
  EXPECT_EQ(outbox().depth_events, 0u);
  EXPECT_EQ(outbox().depth_bytes, 0u);
}

TEST_F(ReplicatorSendTest, AGroupIsNeverSplitBetweenBatches) {
  ReplicatorOptions o;
  o.batch_max_events = 2;
  make(o);
  rep_->append(1, put_event("before"));
  std::vector<Event> group;
  for (const auto& k : numbered("g", 5)) group.push_back(put_event(k));
  rep_->append_group(1, std::move(group));
  rep_->append(1, put_event("after1"));
  rep_->append(1, put_event("after2"));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  const auto batches = transport_.batches();
  // "before" opens a batch the group then fills past batch_max_events.
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_EQ(batches[0].events.size(), 6u);
  EXPECT_FALSE(batches[0].events[0].group_next);
  for (size_t i = 1; i < 5; ++i) EXPECT_TRUE(batches[0].events[i].group_next) << i;
  EXPECT_FALSE(batches[0].events[5].group_next);  // the group's last
  EXPECT_EQ(keys_of(batches), (std::vector<std::string>{"before", "g0", "g1", "g2", "g3", "g4", "after1", "after2"}));
}

TEST_F(ReplicatorSendTest, PublishedEventsStayInTheBacklogForResyncs) {
  const size_t each = encoded_event_size(put_event("k00"));
  ReplicatorOptions o;
  o.backlog_max_bytes = 10 * each;  // the last ten
  make(o);
  for (const auto& k : numbered("k", 25)) rep_->append(1, put_event(k));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  EXPECT_EQ(outbox().backlog_events, 10u);
  const uint64_t epoch = outbox().epoch;
  auto keys = [](const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const Event& e : events) out.push_back(e.key);
    return out;
  };
  // Events 18..21 (keys k17..k20): held, and given in chunks.
  std::vector<Event> got;
  EXPECT_EQ(rep_->copy_backlog(1, epoch, 18, 22, 3, 1 << 20, &got), std::optional<uint64_t>(21));
  EXPECT_EQ(rep_->copy_backlog(1, epoch, 21, 22, 3, 1 << 20, &got), std::optional<uint64_t>(22));
  EXPECT_EQ(keys(got), (std::vector<std::string>{"k17", "k18", "k19", "k20"}));
  // Up to what was assigned, however far the request goes.
  got.clear();
  EXPECT_EQ(rep_->copy_backlog(1, epoch, 25, 1000, 100, 1 << 20, &got), std::optional<uint64_t>(26));
  EXPECT_EQ(keys(got), std::vector<std::string>{"k24"});
  // No longer held, another epoch, a region not hosted: none.
  got.clear();
  EXPECT_EQ(rep_->copy_backlog(1, epoch, 15, 20, 100, 1 << 20, &got), std::nullopt);
  EXPECT_EQ(rep_->copy_backlog(1, epoch + 1, 18, 20, 100, 1 << 20, &got), std::nullopt);
  EXPECT_EQ(rep_->copy_backlog(9, epoch, 18, 20, 100, 1 << 20, &got), std::nullopt);
  EXPECT_TRUE(got.empty());
}

// Lingering for a batch to fill only pays in a stream of writes: a lone
// write to an idle outbox is published at once (here the linger is a minute,
// longer than the wait below).
TEST(ReplicatorLinger, LoneWriteToAnIdleOutboxIsPublishedWithoutLingering) {
  ManualClock clock;
  FakeTransport transport;
  ReplicatorOptions o;
  o.linger_us = 60'000'000;
  Replicator rep(o, &transport, &clock, [](RegionId, const Event&) {}, nullptr);
  rep.add_region(1);
  ASSERT_TRUE(rep.start().ok());
  rep.append(1, put_event("alone"));
  EXPECT_TRUE(eventually([&] { return transport.batches().size() == 1; }));
  rep.stop();
}

TEST_F(ReplicatorSendTest, PacksAtMostBatchMaxBytesPerBatch) {
  const size_t each = encoded_event_size(put_event("k00", 100));
  ReplicatorOptions o;
  o.batch_max_bytes = 3 * each + each / 2;  // three events fit, four do not
  make(o);
  for (const auto& k : numbered("k0", 10)) rep_->append(1, put_event(k, 100));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  const auto batches = transport_.batches();
  ASSERT_EQ(batches.size(), 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(batches[i].events.size(), 3u) << i;
  EXPECT_EQ(batches[3].events.size(), 1u);
  EXPECT_EQ(keys_of(batches), numbered("k0", 10));
}

TEST_F(ReplicatorSendTest, EventLargerThanBatchMaxBytesTravelsAlone) {
  ReplicatorOptions o;
  o.batch_max_bytes = 64;
  make(o);
  rep_->append(1, put_event("small1", 1));
  rep_->append(1, put_event("big", 500));
  rep_->append(1, put_event("small2", 1));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  const auto batches = transport_.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(keys_of(batches), (std::vector<std::string>{"small1", "big", "small2"}));
}

TEST_F(ReplicatorSendTest, EventsOfAnUnknownRegionAreNotReplicated) {
  make({});
  rep_->append(9, put_event("k"));
  EXPECT_EQ(outbox().appended, 0u);
}

TEST_F(ReplicatorSendTest, FailedPublishIsRetriedAndNothingIsLost) {
  ReplicatorOptions o;
  o.batch_max_events = 4;
  make(o);
  transport_.fail_next(2);
  for (const auto& k : numbered("k", 10)) rep_->append(1, put_event(k));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  EXPECT_EQ(transport_.attempts(), 3 + 2);
  EXPECT_EQ(keys_of(transport_.batches()), numbered("k", 10));  // each once, in order
  EXPECT_EQ(outbox().publish_failures, 2u);
  EXPECT_EQ(outbox().published, 10u);
  EXPECT_EQ(outbox().dropped, 0u);
  EXPECT_EQ(outbox().breaker, CircuitBreaker::State::kClosed);
}

TEST_F(ReplicatorSendTest, BreakerOpensAfterRepeatedFailuresAndClosesOnceTransportRecovers) {
  ReplicatorOptions o;
  o.breaker.failure_threshold = 3;
  o.breaker.open_interval_ms = 5'000;
  make(o);
  transport_.fail_all(true);
  for (const auto& k : numbered("k", 5)) rep_->append(1, put_event(k));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(eventually([&] { return outbox().breaker == CircuitBreaker::State::kOpen; }));
  // Open: the transport is left alone, the events wait in the outbox.
  EXPECT_EQ(transport_.attempts(), 3);
  EXPECT_EQ(outbox().publish_failures, 3u);
  EXPECT_EQ(outbox().depth_events, 5u);
  EXPECT_FALSE(rep_->wait_drained(0));
  EXPECT_EQ(transport_.attempts(), 3);

  transport_.fail_all(false);
  clock_.advance_ms(5'000);  // half-open: the next publish is a probe
  ASSERT_TRUE(rep_->wait_drained(20'000));
  EXPECT_EQ(outbox().breaker, CircuitBreaker::State::kClosed);
  EXPECT_EQ(keys_of(transport_.batches()), numbered("k", 5));
}

TEST_F(ReplicatorSendTest, OutboxOverflowDropsOldestCountsThemAndBumpsEpoch) {
  const size_t each = encoded_event_size(put_event("k00", 100));
  ReplicatorOptions o;
  o.outbox_max_bytes = 1024;
  make(o);
  const uint64_t epoch0 = outbox().epoch;
  const size_t fits = 1024 / each;
  const int total = 30;
  for (const auto& k : numbered("k", total)) rep_->append(1, put_event(k.size() == 2 ? "k0" + k.substr(1) : k, 100));
  const OutboxStats st = outbox();
  EXPECT_EQ(st.appended, static_cast<uint64_t>(total));
  EXPECT_EQ(st.depth_events, fits);
  EXPECT_EQ(st.dropped, total - fits);
  EXPECT_LE(st.depth_bytes, 1024u);
  EXPECT_GT(st.epoch, epoch0);

  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  const auto batches = transport_.batches();
  ASSERT_FALSE(batches.empty());
  // The survivors are the newest events, sent under the new epoch and with
  // their original sequence numbers, so a receiver can tell what it missed.
  EXPECT_EQ(batches.front().epoch, st.epoch);
  EXPECT_EQ(batches.front().first_seq, total - fits + 1);
  const auto keys = keys_of(batches);
  ASSERT_EQ(keys.size(), fits);
  EXPECT_EQ(keys.back(), "k29");
}

TEST_F(ReplicatorSendTest, StopMakesOneLastAttemptToSendWhatIsQueued) {
  make({});
  ASSERT_TRUE(rep_->start().ok());
  for (const auto& k : numbered("k", 50)) rep_->append(1, put_event(k));
  rep_->stop();
  EXPECT_EQ(keys_of(transport_.batches()), numbered("k", 50));
}

// ---- receiving -------------------------------------------------------------------

class ReplicatorReceiveTest : public ::testing::Test {
 protected:
  ReplicatorReceiveTest()
      : rep_({}, &transport_, &clock_,
             [this](RegionId region, const Event& e) {
               std::lock_guard lock(mu_);
               applied_.push_back(std::to_string(region) + ":" + e.key);
             },
             [this](RegionId region, RegionId origin, ResyncReason why, std::optional<MissedRange> missed) {
               std::lock_guard lock(mu_);
               resyncs_.emplace_back(region, origin, why);
               missed_.push_back(missed);
             },
             [this](RegionId region, const EventBatch& b) {
               std::lock_guard lock(mu_);
               control_.emplace_back(region, b.kind, b.request_id);
             }) {
    rep_.add_region(2);
  }

  // A batch from `origin` with events named key<seq>.
  static std::string batch(RegionId origin, uint64_t epoch, uint64_t first_seq, int count, int64_t wall_ms = 0) {
    EventBatch b;
    b.origin = origin;
    b.epoch = epoch;
    b.first_seq = first_seq;
    for (int i = 0; i < count; ++i) {
      b.events.push_back(put_event("key" + std::to_string(first_seq + i), 8, wall_ms));
      b.events.back().record.version.region = origin;  // an origin stamps its own writes
    }
    std::string out;
    encode_batch(b, &out);
    return out;
  }
  std::vector<std::string> applied() {
    std::lock_guard lock(mu_);
    auto out = applied_;
    applied_.clear();
    return out;
  }
  InboundStats inbound(RegionId origin) {
    for (const auto& s : rep_.inbound_stats()) {
      if (s.region == 2 && s.origin == origin) return s;
    }
    return {};
  }

  ManualClock clock_;
  FakeTransport transport_;
  Replicator rep_;
  std::mutex mu_;
  std::vector<std::string> applied_;
  std::vector<std::tuple<RegionId, RegionId, ResyncReason>> resyncs_;
  std::vector<std::optional<MissedRange>> missed_;
  std::vector<std::tuple<RegionId, BatchKind, uint64_t>> control_;
};

using Keys = std::vector<std::string>;

std::string control(BatchKind kind, RegionId origin, RegionId target, uint64_t request_id) {
  EventBatch b;
  b.kind = kind;
  b.origin = origin;
  b.target = target;
  b.request_id = request_id;
  if (kind == BatchKind::kSnapshotChunk) b.events.push_back(put_event("snap"));
  std::string out;
  encode_batch(b, &out);
  return out;
}

TEST_F(ReplicatorReceiveTest, ControlBatchesGoToTheControlHookAndSkipTheSequenceCheck) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  rep_.TEST_receive(2, control(BatchKind::kResyncRequest, 1, 2, 5));
  rep_.TEST_receive(2, control(BatchKind::kSnapshotChunk, 1, 2, 5));
  rep_.TEST_receive(2, control(BatchKind::kSnapshotEnd, 1, 2, 5));
  rep_.TEST_receive(2, batch(1, 7, 3, 1));  // still in sequence: control took no numbers
  EXPECT_EQ(applied(), (Keys{"2:key1", "2:key2", "2:key3"}));  // chunk records are not applied as events
  EXPECT_TRUE(resyncs_.empty());
  const std::vector<std::tuple<RegionId, BatchKind, uint64_t>> want = {
      {2, BatchKind::kResyncRequest, 5}, {2, BatchKind::kSnapshotChunk, 5}, {2, BatchKind::kSnapshotEnd, 5}};
  EXPECT_EQ(control_, want);
  EXPECT_EQ(inbound(1).batches_in, 2u);
  EXPECT_EQ(inbound(1).gaps, 0u);
}

TEST_F(ReplicatorReceiveTest, ControlBatchForAnotherRegionIsIgnored) {
  rep_.TEST_receive(2, control(BatchKind::kResyncRequest, 1, 3, 1));
  EXPECT_TRUE(control_.empty());
}

TEST(ReplicatorControl, SendControlGoesPointToPoint) {
  FakeTransport transport;
  Replicator rep({}, &transport, nullptr, [](RegionId, const Event&) {}, nullptr);
  rep.add_region(1);
  EventBatch req;
  req.kind = BatchKind::kResyncRequest;
  req.origin = 1;
  req.target = 3;
  req.request_id = 9;
  ASSERT_TRUE(rep.send_control(req).ok());
  EventBatch events;  // an ordinary batch is not control
  EXPECT_EQ(rep.send_control(events).code(), StatusCode::kInvalidArgument);
  const auto sent = transport.direct();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].from, 1);
  EXPECT_EQ(sent[0].to, 3);
  auto back = decode_batch(sent[0].payload);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, BatchKind::kResyncRequest);
  EXPECT_EQ(back->request_id, 9u);
  EXPECT_TRUE(transport.batches().empty());  // nothing broadcast
}

TEST_F(ReplicatorReceiveTest, AppliesEventsOfABatchInOrder) {
  rep_.TEST_receive(2, batch(1, 7, 1, 3));
  EXPECT_EQ(applied(), (Keys{"2:key1", "2:key2", "2:key3"}));
  EXPECT_TRUE(resyncs_.empty());
  EXPECT_EQ(inbound(1).next_seq, 4u);
  EXPECT_EQ(inbound(1).events_in, 3u);
  EXPECT_EQ(inbound(1).batches_in, 1u);
}

TEST_F(ReplicatorReceiveTest, AppliesAGroupThroughTheGroupRunner) {
  std::vector<std::pair<RegionId, size_t>> runs;  // (region, events applied by the run)
  rep_.set_group_runner([&](RegionId region, absl::FunctionRef<void()> apply) {
    const size_t before = applied_.size();
    apply();
    runs.emplace_back(region, applied_.size() - before);
  });
  EventBatch b;
  b.origin = 1;
  b.epoch = 7;
  b.first_seq = 1;
  for (const char* k : {"solo", "g1", "g2", "g3", "tail"}) {
    b.events.push_back(put_event(k));
    b.events.back().record.version.region = 1;
  }
  b.events[1].group_next = b.events[2].group_next = true;  // g1, g2, g3: one group
  std::string bytes;
  encode_batch(b, &bytes);
  rep_.TEST_receive(2, bytes);
  EXPECT_EQ(applied(), (Keys{"2:solo", "2:g1", "2:g2", "2:g3", "2:tail"}));
  EXPECT_EQ(runs, (std::vector<std::pair<RegionId, size_t>>{{2, 3}}));
}

TEST_F(ReplicatorReceiveTest, SkipsDuplicateBatches) {
  rep_.TEST_receive(2, batch(1, 7, 1, 3));
  applied();
  rep_.TEST_receive(2, batch(1, 7, 1, 3));
  rep_.TEST_receive(2, batch(1, 7, 2, 1));
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(inbound(1).duplicates, 4u);
  EXPECT_TRUE(resyncs_.empty());
}

TEST_F(ReplicatorReceiveTest, AppliesOnlyTheNewPartOfAnOverlappingBatch) {
  rep_.TEST_receive(2, batch(1, 7, 1, 3));
  applied();
  rep_.TEST_receive(2, batch(1, 7, 2, 4));  // 2..5, of which 2 and 3 were seen
  EXPECT_EQ(applied(), (Keys{"2:key4", "2:key5"}));
  EXPECT_EQ(inbound(1).duplicates, 2u);
  EXPECT_EQ(inbound(1).next_seq, 6u);
}

TEST_F(ReplicatorReceiveTest, GapCallsResyncThenAppliesTheBatch) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  applied();
  rep_.TEST_receive(2, batch(1, 7, 5, 2));  // 3 and 4 never came
  ASSERT_EQ(resyncs_.size(), 1u);
  EXPECT_EQ(resyncs_[0], std::make_tuple(RegionId{2}, RegionId{1}, ResyncReason::kGap));
  EXPECT_EQ(missed_[0], (MissedRange{7, 3, 5}));  // what to ask the origin's backlog for
  EXPECT_EQ(applied(), (Keys{"2:key5", "2:key6"}));
  EXPECT_EQ(inbound(1).gaps, 1u);
  EXPECT_EQ(inbound(1).next_seq, 7u);
  rep_.TEST_receive(2, batch(1, 7, 7, 1));  // back in step: no further resync
  EXPECT_EQ(resyncs_.size(), 1u);
}

TEST_F(ReplicatorReceiveTest, TailLostWithNoLaterBatchIsFoundFromTheHellos) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  // Origin 1 published up to 5; 3..5 never came (a full queue dropped them)
  // and nothing follows them. One hello may just have overtaken the batches:
  rep_.on_stream_position(2, 1, 7, 5);
  EXPECT_TRUE(resyncs_.empty());
  // ... a batch in between shows the stream moving: still nothing lost.
  rep_.TEST_receive(2, batch(1, 7, 3, 1));
  rep_.on_stream_position(2, 1, 7, 5);
  EXPECT_TRUE(resyncs_.empty());
  // Nothing more by the next hello: the tail is lost.
  rep_.on_stream_position(2, 1, 7, 5);
  ASSERT_EQ(resyncs_.size(), 1u);
  EXPECT_EQ(resyncs_[0], std::make_tuple(RegionId{2}, RegionId{1}, ResyncReason::kGap));
  EXPECT_EQ(missed_[0], (MissedRange{7, 4, 6}));
  EXPECT_EQ(inbound(1).gaps, 1u);
  // Caught up: hellos that say where we are ask for nothing.
  rep_.TEST_receive(2, batch(1, 7, 4, 2));
  rep_.on_stream_position(2, 1, 7, 5);
  rep_.on_stream_position(2, 1, 7, 5);
  EXPECT_EQ(resyncs_.size(), 1u);
  // A newer epoch of which nothing came, twice: a snapshot.
  rep_.on_stream_position(2, 1, 8, 3);
  rep_.on_stream_position(2, 1, 8, 3);
  ASSERT_EQ(resyncs_.size(), 2u);
  EXPECT_EQ(std::get<2>(resyncs_[1]), ResyncReason::kNewEpoch);
  EXPECT_EQ(missed_[1], std::nullopt);
}

// Read-your-writes (GEO.WAIT) asks whether a stream point has been applied.
TEST_F(ReplicatorReceiveTest, StreamPointCountsAsAppliedOnceItsEventAndEveryOneBeforeItArePast) {
  EXPECT_TRUE(rep_.has_applied(2, StreamPoint{1, 7, 0}));   // before any write: nothing to wait for
  EXPECT_FALSE(rep_.has_applied(2, StreamPoint{1, 7, 1}));  // never heard of origin 1
  rep_.TEST_receive(2, batch(1, 7, 1, 3));
  EXPECT_TRUE(rep_.has_applied(2, StreamPoint{1, 7, 3}));
  EXPECT_FALSE(rep_.has_applied(2, StreamPoint{1, 7, 4}));
  EXPECT_FALSE(rep_.has_applied(2, StreamPoint{1, 8, 1}));  // an epoch not reached
  // A newer epoch: the points of the old one it may have lost count only
  // once a resync has ended since.
  rep_.TEST_receive(2, batch(1, 8, 1, 2));
  EXPECT_TRUE(rep_.has_applied(2, StreamPoint{1, 8, 2}));
  EXPECT_FALSE(rep_.has_applied(2, StreamPoint{1, 7, 3}));
  rep_.caught_up(2, 1);
  EXPECT_TRUE(rep_.has_applied(2, StreamPoint{1, 7, 3}));
  EXPECT_TRUE(rep_.has_applied(2, StreamPoint{1, 7, 1000}));
}

TEST_F(ReplicatorSendTest, StreamPointIsTheLastEventAppendedOfTheCurrentEpoch) {
  make({});
  ASSERT_TRUE(rep_->stream_point(1).has_value());
  const StreamPoint before = *rep_->stream_point(1);
  EXPECT_EQ(before.seq, 0u);
  rep_->append(1, put_event("a"));
  rep_->append(1, put_event("b"));
  EXPECT_EQ(*rep_->stream_point(1), (StreamPoint{1, before.epoch, 2}));
  EXPECT_FALSE(rep_->stream_point(99).has_value());  // not a local region
}

TEST_F(ReplicatorReceiveTest, NewEpochCallsResync) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  rep_.TEST_receive(2, batch(1, 8, 40, 1));
  ASSERT_EQ(resyncs_.size(), 1u);
  EXPECT_EQ(std::get<2>(resyncs_[0]), ResyncReason::kNewEpoch);
  EXPECT_EQ(missed_[0], std::nullopt);  // the old epoch's lost tail has no numbers: a snapshot
  EXPECT_EQ(inbound(1).epoch_changes, 1u);
  EXPECT_EQ(inbound(1).epoch, 8u);
}

TEST_F(ReplicatorReceiveTest, FirstContactInTheMiddleOfAStreamCallsResync) {
  rep_.TEST_receive(2, batch(3, 7, 100, 1));
  ASSERT_EQ(resyncs_.size(), 1u);
  EXPECT_EQ(resyncs_[0], std::make_tuple(RegionId{2}, RegionId{3}, ResyncReason::kFirstContact));
  EXPECT_EQ(missed_[0], (MissedRange{7, 1, 100}));
  EXPECT_EQ(applied(), Keys{"2:key100"});
}

TEST_F(ReplicatorReceiveTest, FirstContactAtSequenceOneNeedsNoResync) {
  rep_.TEST_receive(2, batch(3, 7, 1, 1));
  EXPECT_TRUE(resyncs_.empty());
}

TEST_F(ReplicatorReceiveTest, TracksEachOriginSeparately) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  rep_.TEST_receive(2, batch(3, 9, 1, 1));
  rep_.TEST_receive(2, batch(1, 7, 3, 1));
  EXPECT_TRUE(resyncs_.empty());
  EXPECT_EQ(inbound(1).next_seq, 4u);
  EXPECT_EQ(inbound(3).next_seq, 2u);
}

TEST_F(ReplicatorReceiveTest, CorruptBatchIsCountedAndTheNextGoodOneIsApplied) {
  rep_.TEST_receive(2, batch(1, 7, 1, 2));
  applied();
  std::string bad = batch(1, 7, 3, 2);
  bad.resize(bad.size() - 3);
  rep_.TEST_receive(2, bad);
  rep_.TEST_receive(2, "not a batch at all");
  EXPECT_EQ(applied(), Keys{});
  uint64_t corrupt = 0;
  for (const auto& s : rep_.inbound_stats()) corrupt += s.corrupt_batches;
  EXPECT_EQ(corrupt, 2u);
  // The corrupt batch never counted as received; the resent one applies normally.
  rep_.TEST_receive(2, batch(1, 7, 3, 2));
  EXPECT_EQ(applied(), (Keys{"2:key3", "2:key4"}));
  EXPECT_TRUE(resyncs_.empty());
}

TEST_F(ReplicatorReceiveTest, IgnoresItsOwnEventsEchoedBack) {
  rep_.TEST_receive(2, batch(2, 7, 1, 2));
  EXPECT_EQ(applied(), Keys{});
}

TEST_F(ReplicatorReceiveTest, RecordsReplicationLagFromOriginWallClock) {
  rep_.TEST_receive(2, batch(1, 7, 1, 3, clock_.now_ms() - 40));
  EXPECT_EQ(inbound(1).lag_last_ms, 40);
  EXPECT_EQ(inbound(1).lag_p50_ms, 40);
  EXPECT_EQ(inbound(1).lag_p99_ms, 40);
}


// ---- validation: every field of what arrives is bounded ----------------------------

// A receiver at region 2 of a deployment of regions 1..3, with the options a
// test gives; records what is applied (region:key) and the resyncs asked.
class ReplicatorValidationTest : public ::testing::Test {
 protected:
  void make(ReplicatorOptions o = {}) {
    rep_ = std::make_unique<Replicator>(
        o, &transport_, &clock_,
        [this](RegionId region, const Event& e) {
          std::lock_guard lock(mu_);
          applied_.push_back(std::to_string(region) + ":" + e.key);
        },
        [this](RegionId, RegionId origin, ResyncReason why, std::optional<MissedRange>) {
          std::lock_guard lock(mu_);
          resyncs_.emplace_back(origin, why);
        },
        [this](RegionId, const EventBatch& b) {
          std::lock_guard lock(mu_);
          for (const Event& e : b.events) control_keys_.push_back(e.key);
          ++control_batches_;
        });
    rep_->set_known_regions([](RegionId r) { return r >= 1 && r <= 3; });
    rep_->add_region(2);
  }

  // An event of origin `origin` written now (by the test's clock).
  Event event(const std::string& key, RegionId origin = 1) {
    Event e = put_event(key, 8, clock_.now_ms());
    e.record.version = Version{Hlc::pack(clock_.now_ms(), 0), origin};
    return e;
  }
  static std::string encode(RegionId origin, uint64_t epoch, uint64_t first_seq, std::vector<Event> events,
                            std::string_view secret = {}) {
    EventBatch b;
    b.origin = origin;
    b.epoch = epoch;
    b.first_seq = first_seq;
    b.events = std::move(events);
    std::string out;
    encode_batch(b, &out, secret);
    return out;
  }
  // A batch of `count` good events key<seq> from region 1, epoch 7.
  std::string good(uint64_t first_seq, int count = 1) {
    std::vector<Event> events;
    for (int i = 0; i < count; ++i) events.push_back(event("key" + std::to_string(first_seq + i)));
    return encode(1, 7, first_seq, std::move(events));
  }
  void receive(const std::string& payload) { rep_->TEST_receive(2, payload); }
  Keys applied() {
    std::lock_guard lock(mu_);
    return std::exchange(applied_, {});
  }
  size_t resyncs() {
    std::lock_guard lock(mu_);
    return resyncs_.size();
  }
  // Refusals of `why` on every link into region 2.
  uint64_t refused(Refusal why) {
    uint64_t n = 0;
    for (const auto& s : rep_->inbound_stats()) n += s.refused_of(why);
    return n;
  }
  InboundStats from(RegionId origin) {
    for (const auto& s : rep_->inbound_stats()) {
      if (s.region == 2 && s.origin == origin) return s;
    }
    return {};
  }

  ManualClock clock_;
  FakeTransport transport_;
  std::unique_ptr<Replicator> rep_;
  std::mutex mu_;
  Keys applied_;
  std::vector<std::pair<RegionId, ResyncReason>> resyncs_;
  Keys control_keys_;
  int control_batches_ = 0;
};

TEST_F(ReplicatorValidationTest, VersionFurtherAheadThanTheClockGuardIsRefusedAndTheRestOfTheBatchApplied) {
  ReplicatorOptions o;
  o.max_clock_offset_ms = 500;
  make(o);
  Event ahead = event("ahead");
  ahead.record.version.hlc = Hlc::pack(clock_.now_ms() + 501, 0);
  Event edge = event("edge");  // exactly at the bound: taken
  edge.record.version.hlc = Hlc::pack(clock_.now_ms() + 500, 0xffff);
  receive(encode(1, 7, 1, {event("a"), ahead, edge, event("b")}));
  EXPECT_EQ(applied(), (Keys{"2:a", "2:edge", "2:b"}));
  EXPECT_EQ(refused(Refusal::kClock), 1u);
  EXPECT_EQ(from(1).refused_of(Refusal::kClock), 1u);
  // The refused event kept its sequence: the next batch is in step.
  EXPECT_EQ(from(1).next_seq, 5u);
  receive(good(5));
  EXPECT_EQ(applied(), Keys{"2:key5"});
  EXPECT_EQ(resyncs(), 0u);
}

TEST_F(ReplicatorValidationTest, LargestHlcIsRefusedNotObserved) {
  make();
  Event forged = event("forged");
  forged.record.version.hlc = UINT64_MAX;  // would wrap the HLC of whoever observed it
  receive(encode(1, 7, 1, {forged}));
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kClock), 1u);
}

TEST_F(ReplicatorValidationTest, TheClockGuardFollowsTheLocalClock) {
  make();
  Event later = event("later");
  later.record.version.hlc = Hlc::pack(clock_.now_ms() + 60'000, 0);
  receive(encode(1, 7, 1, {later}));
  EXPECT_EQ(applied(), Keys{});
  clock_.advance_ms(60'000);  // now it is the present: the same version is taken
  receive(encode(1, 7, 2, {later}));
  EXPECT_EQ(applied(), Keys{"2:later"});
}

TEST_F(ReplicatorValidationTest, VersionTheLocalHlcAlreadyReachedPassesTheGuardWhateverTheWallClock) {
  make();
  // The HLC ran to now + 2 s (the wall clock stepped back since).
  Hlc hlc(&clock_);
  clock_.advance_ms(2'000);
  const uint64_t reached = hlc.now();
  clock_.advance_ms(-2'000);
  rep_->set_clock_guard(&hlc);
  Event behind_hlc = event("behind-hlc");
  behind_hlc.record.version.hlc = reached - 1;
  Event same_ms = event("same-ms");
  same_ms.record.version.hlc = reached + 5;  // jumps logical ticks, not milliseconds
  Event beyond = event("beyond");
  beyond.record.version.hlc = Hlc::pack(Version{reached, 0}.wall_ms() + 1, 0);
  receive(encode(1, 7, 1, {behind_hlc, same_ms, beyond}));
  EXPECT_EQ(applied(), (Keys{"2:behind-hlc", "2:same-ms"}));
  EXPECT_EQ(refused(Refusal::kClock), 1u);
}

TEST_F(ReplicatorValidationTest, OriginWallTimeAheadOrNegativeIsRefused) {
  make();
  Event ahead = event("ahead");
  ahead.origin_wall_ms = clock_.now_ms() + 10 * 60'000;
  Event negative = event("negative");
  negative.origin_wall_ms = -5;
  receive(encode(1, 7, 1, {ahead, negative, event("ok")}));
  EXPECT_EQ(applied(), Keys{"2:ok"});
  EXPECT_EQ(refused(Refusal::kClock), 1u);
  EXPECT_EQ(refused(Refusal::kValue), 1u);
}

TEST_F(ReplicatorValidationTest, BatchFromAnUnknownRegionIsRefusedWhole) {
  make();
  for (RegionId origin : {RegionId{0}, RegionId{4}, RegionId{255}}) {
    receive(encode(origin, 7, 1, {event("k", origin)}));
  }
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kRegion), 3u);
  EXPECT_EQ(from(0).refused_of(Refusal::kRegion), 3u);  // counted with no origin: it cannot be trusted
  EXPECT_EQ(resyncs(), 0u);
}

TEST_F(ReplicatorValidationTest, EventCarryingAnotherRegionsVersionIsRefused) {
  make();
  // Region 1 writing with region 3's id (or an unknown one) would pass for
  // their writes in every conflict and every resync.
  receive(encode(1, 7, 1, {event("k1", 3), event("k2", 9), event("k3", 1)}));
  EXPECT_EQ(applied(), Keys{"2:k3"});
  EXPECT_EQ(from(1).refused_of(Refusal::kRegion), 2u);
}

TEST_F(ReplicatorValidationTest, ValueThatDoesNotDecodeForItsKindIsRefused) {
  make();
  Event hash = event("hash");
  hash.record.kind = ValueKind::kHash;
  hash.record.bytes = "\x06\x05";  // a list of five, cut short
  Event whole_map = event("whole-map");  // a hash as it was before it merged per field
  whole_map.record.kind = ValueKind::kHash;
  whole_map.record.bytes = Value(Value::Map{{"f", Value("v")}}).encode();
  Event json = event("json");
  json.record.kind = ValueKind::kJson;
  json.record.bytes = "not an encoded value";
  Event tomb = event("tomb");
  tomb.record.kind = ValueKind::kTombstone;
  tomb.record.bytes = "x";
  Event expiry = event("expiry");
  expiry.record.expire_at_ms = int64_t{1} << 50;  // beyond what a store holds
  Event fine = event("fine");
  fine.record.kind = ValueKind::kHash;
  HashDelta delta;
  delta.put("f", "v");
  fine.record.bytes = delta.encode();
  receive(encode(1, 7, 1, {hash, whole_map, json, tomb, expiry, fine}));
  EXPECT_EQ(applied(), Keys{"2:fine"});
  EXPECT_EQ(refused(Refusal::kValue), 5u);
}

TEST_F(ReplicatorValidationTest, SequenceBeyondAnyAnOriginReachesIsRefusedAndReplicationGoesOn) {
  make();
  receive(good(1, 2));
  applied();
  receive(good(uint64_t{1} << 62));  // the forged batch
  receive(good(UINT64_MAX));         // would wrap first + count
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kSequence), 2u);
  receive(good(3, 2));  // the real stream goes on
  EXPECT_EQ(applied(), (Keys{"2:key3", "2:key4"}));
  EXPECT_EQ(from(1).next_seq, 5u);
}

TEST_F(ReplicatorValidationTest, BatchFarAheadIsRefusedAndResyncedAndTheRealStreamGoesOn) {
  ReplicatorOptions o;
  o.sequence_window = 100;
  make(o);
  receive(good(1, 2));
  applied();
  receive(good(1000));  // 997 ahead of the expected 3
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kSequence), 1u);
  EXPECT_EQ(from(1).next_seq, 3u);  // expectations unmoved
  EXPECT_EQ(resyncs(), 1u);         // had it been real, a snapshot brings what it carried
  receive(good(3, 2));
  EXPECT_EQ(applied(), (Keys{"2:key3", "2:key4"}));
  EXPECT_EQ(from(1).gaps, 0u);
  // Within the window a jump is an ordinary gap.
  receive(good(105));
  EXPECT_EQ(applied(), Keys{"2:key105"});
  EXPECT_EQ(from(1).gaps, 1u);
}

TEST_F(ReplicatorValidationTest, JumpBeyondTheWindowIsFollowedOnceTheNextBatchContinuesIt) {
  ReplicatorOptions o;
  o.sequence_window = 100;
  make(o);
  receive(good(1));
  applied();
  // The receiver's queue lost a thousand events (say): the origin really is
  // there, and its next batch says so.
  receive(good(1000, 3));
  EXPECT_EQ(applied(), Keys{});
  receive(good(1003, 2));
  EXPECT_EQ(applied(), (Keys{"2:key1003", "2:key1004"}));
  EXPECT_EQ(from(1).next_seq, 1005u);
  EXPECT_EQ(from(1).gaps, 1u);
  EXPECT_EQ(resyncs(), 2u);  // one for the refused batch, one for the jump
  EXPECT_EQ(refused(Refusal::kSequence), 1u);
  receive(good(1005));
  EXPECT_EQ(applied(), Keys{"2:key1005"});
}

TEST_F(ReplicatorValidationTest, BatchInTheWindowBetweenTwoFarOnesCancelsTheJump) {
  ReplicatorOptions o;
  o.sequence_window = 100;
  make(o);
  receive(good(1));
  receive(good(1000));
  receive(good(2));     // the real stream
  receive(good(1001));  // continues the far one, but not right after it
  EXPECT_EQ(applied(), (Keys{"2:key1", "2:key2"}));
  EXPECT_EQ(refused(Refusal::kSequence), 2u);
  EXPECT_EQ(from(1).next_seq, 3u);
}

TEST_F(ReplicatorValidationTest, BatchFarBehindIsRefusedAndTwoInARowAreFollowed) {
  ReplicatorOptions o;
  o.sequence_window = 100;
  make(o);
  receive(good(1000));  // first contact
  applied();
  receive(good(5));
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kSequence), 1u);
  EXPECT_EQ(from(1).next_seq, 1001u);
  const size_t before = resyncs();
  // Two in a row: the origin is back there (the first contact was the
  // forgery). Follow it; applying old writes again is harmless (LWW).
  receive(good(6));
  EXPECT_EQ(applied(), Keys{"2:key6"});
  EXPECT_EQ(from(1).next_seq, 7u);
  EXPECT_EQ(resyncs(), before + 1);
}

TEST_F(ReplicatorValidationTest, NewEpochIsFollowedWhateverItsSequence) {
  ReplicatorOptions o;
  o.sequence_window = 100;
  make(o);
  receive(good(1));
  // A restarted origin (new epoch) starts wherever it starts.
  receive(encode(1, 8, 123'456, {event("restarted")}));
  EXPECT_EQ(applied(), (Keys{"2:key1", "2:restarted"}));
  EXPECT_EQ(refused(Refusal::kSequence), 0u);
  EXPECT_EQ(from(1).epoch_changes, 1u);
}

TEST_F(ReplicatorValidationTest, WithASecretOnlyBatchesSealedWithItAreApplied) {
  ReplicatorOptions o;
  o.secret = "s3cret";
  make(o);
  receive(encode(1, 7, 1, {event("unsealed")}));
  receive(encode(1, 7, 1, {event("wrong")}, "other"));
  std::string tampered = encode(1, 7, 1, {event("tampered")}, "s3cret");
  tampered.back() ^= 1;
  receive(tampered);
  EXPECT_EQ(applied(), Keys{});
  EXPECT_EQ(refused(Refusal::kMac), 3u);
  EXPECT_EQ(from(0).refused_of(Refusal::kMac), 3u);
  EXPECT_EQ(from(1).batches_in, 0u);  // nothing refused took a sequence
  receive(encode(1, 7, 1, {event("sealed")}, "s3cret"));
  EXPECT_EQ(applied(), Keys{"2:sealed"});
  EXPECT_EQ(resyncs(), 0u);
}

TEST_F(ReplicatorValidationTest, ControlBatchesNeedTheSealToo) {
  ReplicatorOptions o;
  o.secret = "s3cret";
  make(o);
  EventBatch req;
  req.kind = BatchKind::kResyncRequest;
  req.origin = 1;
  req.target = 2;
  std::string plain, sealed;
  encode_batch(req, &plain);
  encode_batch(req, &sealed, "s3cret");
  receive(plain);
  EXPECT_EQ(control_batches_, 0);
  receive(sealed);
  EXPECT_EQ(control_batches_, 1);
  EXPECT_EQ(refused(Refusal::kMac), 1u);
}

TEST_F(ReplicatorValidationTest, WithoutASecretSealedBatchesAreReadToo) {
  make();
  receive(encode(1, 7, 1, {event("sealed")}, "s3cret"));
  EXPECT_EQ(applied(), Keys{"2:sealed"});
}

TEST_F(ReplicatorValidationTest, BatchesSentCarryTheSeal) {
  ReplicatorOptions o;
  o.secret = "s3cret";
  o.linger_us = 0;
  make(o);
  rep_->append(2, event("mine", 2));
  ASSERT_TRUE(rep_->start().ok());
  ASSERT_TRUE(rep_->wait_drained(20'000));
  EventBatch req;
  req.kind = BatchKind::kResyncRequest;
  req.origin = 2;
  req.target = 1;
  ASSERT_TRUE(rep_->send_control(req).ok());
  rep_->stop();
  ASSERT_EQ(transport_.payloads().size(), 1u);
  ASSERT_EQ(transport_.direct().size(), 1u);
  for (const std::string& payload : {transport_.payloads()[0], transport_.direct()[0].payload}) {
    EXPECT_EQ(decode_batch(payload).status().code(), StatusCode::kCorruption);  // not plain
    auto inner = unseal_batch(payload, "s3cret");
    ASSERT_TRUE(inner.has_value());
    EXPECT_TRUE(decode_batch(*inner).ok());
  }
}

EventBatch chunk(std::vector<Event> records) {
  EventBatch b;
  b.kind = BatchKind::kSnapshotChunk;
  b.origin = 1;
  b.target = 2;
  b.events = std::move(records);
  return b;
}

TEST_F(ReplicatorValidationTest, SnapshotRecordsAreCheckedOneByOne) {
  make();
  Event ahead = event("ahead");
  ahead.record.version.hlc = UINT64_MAX;
  Event bad_json = event("bad-json");
  bad_json.record.kind = ValueKind::kJson;
  bad_json.record.bytes = "\xff";
  // A snapshot holds the origin's whole store: other known regions' writes
  // are fine, unknown ones are not.
  std::string bytes;
  encode_batch(chunk({event("mine"), event("from-3", 3), event("from-7", 7), ahead, bad_json}), &bytes);
  receive(bytes);
  EXPECT_EQ(control_keys_, (Keys{"mine", "from-3"}));
  EXPECT_EQ(from(1).refused_of(Refusal::kRegion), 1u);
  EXPECT_EQ(from(1).refused_of(Refusal::kClock), 1u);
  EXPECT_EQ(from(1).refused_of(Refusal::kValue), 1u);
}

TEST_F(ReplicatorValidationTest, SnapshotEndAheadOfTheClockIsRefused) {
  make();
  EventBatch end;
  end.kind = BatchKind::kSnapshotEnd;
  end.origin = 1;
  end.target = 2;
  // Taken, its snapshot time would drop every key of region 1, its flush
  // mark refuse every later write.
  for (auto [hlc, mark] : {std::pair{UINT64_MAX, Version{}}, std::pair{uint64_t{1}, Version{UINT64_MAX, 1}}}) {
    end.snapshot_hlc = hlc;
    end.flush_mark = mark;
    std::string bytes;
    encode_batch(end, &bytes);
    receive(bytes);
  }
  end.snapshot_hlc = Hlc::pack(clock_.now_ms(), 0);
  end.flush_mark = Version{Hlc::pack(clock_.now_ms(), 0), 9};  // an unknown region's flush
  std::string bytes;
  encode_batch(end, &bytes);
  receive(bytes);
  EXPECT_EQ(control_batches_, 0);
  EXPECT_EQ(from(1).refused_of(Refusal::kClock), 2u);
  EXPECT_EQ(from(1).refused_of(Refusal::kRegion), 1u);
  end.flush_mark = Version{Hlc::pack(clock_.now_ms(), 0), 3};
  bytes.clear();
  encode_batch(end, &bytes);
  receive(bytes);
  EXPECT_EQ(control_batches_, 1);
}

TEST_F(ReplicatorValidationTest, RefusalsAreLoggedAtMostOncePerReasonPerInterval) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto logger = std::make_shared<spdlog::logger>("refusals", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  make();
  Event ahead = event("ahead");
  ahead.record.version.hlc = UINT64_MAX;
  for (int i = 0; i < 50; ++i) receive(encode(1, 7, 1 + i, {ahead}));
  for (int i = 0; i < 50; ++i) receive(encode(9, 7, 1 + i, {event("k", 9)}));
  EXPECT_EQ(sink->last_formatted().size(), 2u);  // one line per reason
  clock_.advance_ms(kRefusalLogIntervalMs);
  receive(encode(1, 7, 51, {ahead}));
  const auto lines = sink->last_raw();
  spdlog::set_default_logger(previous);
  ASSERT_EQ(lines.size(), 3u);
  const std::string last(lines.back().payload.data(), lines.back().payload.size());
  EXPECT_NE(last.find("(clock)"), std::string::npos) << last;
  EXPECT_NE(last.find("50 refused for 'clock' since the last report"), std::string::npos) << last;
  EXPECT_EQ(refused(Refusal::kClock), 51u);
  EXPECT_EQ(refused(Refusal::kRegion), 50u);
}

}  // namespace
}  // namespace geocache
