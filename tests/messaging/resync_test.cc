// Resync against a fake store and a recording send function: the protocol
// alone, without a transport or a GeoCache (tests/cache/geo_cache_test.cc
// runs it end to end).
#include "messaging/resync.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace geocache {
namespace {

constexpr RegionId kOrigin = 1, kHere = 2;

// Records by region, one shard each; LWW by version.
class FakeStore final : public ResyncStore {
 public:
  FakeStore(std::set<RegionId> local, const Clock* clock) : local_(std::move(local)), hlc_(clock) {}

  bool is_local(RegionId region) const override { return local_.count(region) != 0; }
  int shard_count(RegionId) const override { return 1; }
  std::vector<Event> copy_shard(RegionId region, int) const override {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const auto& [key, rec] : records_[region]) {
      Event e;
      e.key = key;
      e.record = rec;
      out.push_back(std::move(e));
    }
    return out;
  }
  void apply(RegionId region, std::string_view key, const Record& record) override {
    std::lock_guard lock(mu_);
    auto [it, fresh] = records_[region].try_emplace(std::string(key), record);
    if (!fresh && it->second.version < record.version) it->second = record;
  }
  Version flush_mark(RegionId region) const override {
    std::lock_guard lock(mu_);
    return flush_marks_[region];
  }
  void flush_before(RegionId region, Version version) override {
    std::lock_guard lock(mu_);
    std::erase_if(records_[region], [&](const auto& kv) { return kv.second.version < version; });
    flush_marks_[region] = std::max(flush_marks_[region], version);
  }
  void apply_seen(RegionId region, std::string_view key, const Record& record, RegionId origin) override {
    apply(region, key, record);
    std::lock_guard lock(mu_);
    seen_[{region, origin}].insert(std::string(key));
  }
  size_t end_snapshot(RegionId region, RegionId origin, std::optional<uint64_t> drop_before_hlc) override {
    std::lock_guard lock(mu_);
    std::set<std::string> seen = std::move(seen_[{region, origin}]);
    seen_.erase({region, origin});
    if (!drop_before_hlc) return 0;
    return std::erase_if(records_[region], [&](const auto& kv) {
      return kv.second.version.region == origin && kv.second.version.hlc < *drop_before_hlc && !seen.count(kv.first);
    });
  }
  std::optional<uint64_t> copy_backlog(RegionId origin, uint64_t epoch, uint64_t from, uint64_t until,
                                       size_t max_events, size_t, std::vector<Event>* out) const override {
    std::lock_guard lock(mu_);
    if (origin != kOrigin || epoch != backlog_epoch_ || backlog_.empty() || from < backlog_.begin()->first) {
      return std::nullopt;
    }
    uint64_t seq = from;
    for (auto it = backlog_.find(from); it != backlog_.end() && seq < until; ++it, ++seq) {
      if (out->size() >= max_events) break;
      out->push_back(it->second);
    }
    return seq;
  }
  uint64_t hlc_now() override { return hlc_.now(); }
  void hlc_observe(uint64_t hlc) override { hlc_.observe(hlc); }

  // kOrigin's backlog holds events first..last of `epoch`, each a write of key
  // "e<seq>"; a flush at `flush_at` if given.
  void fill_backlog(uint64_t epoch, uint64_t first, uint64_t last, uint64_t flush_at = 0) {
    std::lock_guard lock(mu_);
    backlog_epoch_ = epoch;
    backlog_.clear();
    for (uint64_t seq = first; seq <= last; ++seq) {
      Event e;
      e.key = "e" + std::to_string(seq);
      e.record.bytes = "v";
      e.record.version = Version{hlc_.now(), kOrigin};
      if (seq == flush_at) {
        e.kind = EventKind::kFlush;
        e.key.clear();
        e.record.kind = ValueKind::kTombstone;
        e.record.bytes.clear();
      }
      backlog_[seq] = std::move(e);
    }
  }

  // A record written by `origin` now.
  void write(RegionId region, const std::string& key, const std::string& bytes, RegionId origin) {
    Record rec;
    rec.bytes = bytes;
    rec.version = Version{hlc_.now(), origin};
    apply(region, key, rec);
  }
  std::set<std::string> keys(RegionId region) const {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& [key, rec] : records_[region]) out.insert(key);
    return out;
  }

 private:
  const std::set<RegionId> local_;
  Hlc hlc_;
  mutable std::mutex mu_;
  mutable std::map<RegionId, std::map<std::string, Record>> records_;
  mutable std::map<RegionId, Version> flush_marks_;
  std::map<std::pair<RegionId, RegionId>, std::set<std::string>> seen_;  // (region, origin): keys of its snapshot
  uint64_t backlog_epoch_ = 0;
  std::map<uint64_t, Event> backlog_;
};

class ResyncTest : public ::testing::Test {
 protected:
  // Hosts only kHere (kOrigin is in "another process") unless told otherwise.
  void make(std::set<RegionId> local = {kHere}, size_t batch_max_events = 1024, bool start = true) {
    store_ = std::make_unique<FakeStore>(std::move(local), &clock_);
    ResyncOptions o;
    o.batch_max_events = batch_max_events;
    o.retry_poll_ms = 1;
    resync_ = std::make_unique<Resync>(o, store_.get(), &clock_, [this](const EventBatch& b) {
      std::lock_guard lock(mu_);
      sent_.push_back(b);
      return Status::Ok();
    });
    resync_->set_on_resynced([this](RegionId region, RegionId origin) {
      std::lock_guard lock(mu_);
      resynced_.emplace_back(region, origin);
    });
    if (start) resync_->start();
  }
  std::vector<EventBatch> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // Polls until n batches have been sent.
  bool await_sent(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sent().size() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  // Chunk number `number` (1, 2, ...) of a snapshot.
  EventBatch chunk(uint64_t request_id, const std::vector<std::string>& keys, uint64_t number = 1) {
    EventBatch b;
    b.kind = BatchKind::kSnapshotChunk;
    b.origin = kOrigin;
    b.target = kHere;
    b.request_id = request_id;
    b.first_seq = number;
    for (const auto& key : keys) {
      Event e;
      e.key = key;
      e.record.bytes = "from origin";
      e.record.version = Version{store_->hlc_now(), kOrigin};
      b.events.push_back(std::move(e));
    }
    return b;
  }
  // Ends the warm-up of `local` from `remote` with an empty snapshot, so
  // that `local` answers remote's requests at once.
  void warmed_up(RegionId local, RegionId remote) {
    const size_t before = sent().size();
    resync_->warm_up(local, remote);
    ASSERT_TRUE(await_sent(before + 1));
    EventBatch e;
    e.kind = BatchKind::kSnapshotEnd;
    e.origin = remote;
    e.target = local;
    e.request_id = sent().back().request_id;
    e.snapshot_hlc = store_->hlc_now();
    resync_->handle_control(local, e);
    ASSERT_EQ(resync_->warming(), 0u);
  }
  // A request from kOrigin for a snapshot of kHere.
  EventBatch request_from_origin(uint64_t request_id, bool warming) {
    EventBatch b;
    b.kind = BatchKind::kResyncRequest;
    b.origin = kOrigin;
    b.target = kHere;
    b.request_id = request_id;
    b.warming = warming;
    return b;
  }
  // Keys of the snapshot chunks among `batches`.
  static std::set<std::string> snapshot_keys(const std::vector<EventBatch>& batches) {
    std::set<std::string> keys;
    for (const auto& b : batches) {
      if (b.kind != BatchKind::kSnapshotChunk) continue;
      for (const auto& e : b.events) keys.insert(e.key);
    }
    return keys;
  }
  // The end of a snapshot of `chunks` chunks.
  EventBatch end(uint64_t request_id, uint64_t chunks = 0) {
    EventBatch b;
    b.kind = BatchKind::kSnapshotEnd;
    b.origin = kOrigin;
    b.target = kHere;
    b.request_id = request_id;
    b.first_seq = chunks;
    b.snapshot_hlc = store_->hlc_now();
    return b;
  }

  ManualClock clock_;
  std::unique_ptr<FakeStore> store_;
  std::unique_ptr<Resync> resync_;
  std::mutex mu_;
  std::vector<EventBatch> sent_;
  std::vector<std::pair<RegionId, RegionId>> resynced_;
};

TEST_F(ResyncTest, LostRequestIsAskedAgainOnlyAfterTheTimeout) {
  make();
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const EventBatch first = sent()[0];
  EXPECT_EQ(first.kind, BatchKind::kResyncRequest);
  EXPECT_EQ(first.origin, kHere);
  EXPECT_EQ(first.target, kOrigin);

  // No answer yet: another gap and time short of the timeout ask nothing.
  resync_->resync(kHere, kOrigin);
  clock_.advance_ms(kResyncTimeoutMs - 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(sent().size(), 1u);
  EXPECT_EQ(resync_->started(), 2u);

  clock_.advance_ms(1);
  ASSERT_TRUE(await_sent(2));
  const EventBatch again = sent()[1];
  EXPECT_EQ(again.kind, BatchKind::kResyncRequest);
  EXPECT_NE(again.request_id, first.request_id);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(sent().size(), 2u);  // once, until the next timeout
  // The old request's answer is ignored; the new one's is taken.
  resync_->handle_control(kHere, end(first.request_id));
  EXPECT_EQ(resync_->completed(), 0u);
  resync_->handle_control(kHere, end(again.request_id));
  EXPECT_EQ(resync_->completed(), 1u);
}

TEST_F(ResyncTest, ChunkForAnUnknownRequestIdIsIgnored) {
  make();
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const uint64_t id = sent()[0].request_id;
  resync_->handle_control(kHere, chunk(id + 1, {"stranger"}));
  EXPECT_EQ(store_->keys(kHere), std::set<std::string>{});
  resync_->handle_control(kHere, chunk(id, {"expected"}));
  EXPECT_EQ(store_->keys(kHere), std::set<std::string>{"expected"});
  resync_->handle_control(kHere, end(id + 1));
  EXPECT_EQ(resync_->completed(), 0u);
}

TEST_F(ResyncTest, EndDropsTheOriginsRecordsAbsentFromTheSnapshot) {
  make();
  store_->write(kHere, "stale", "origin forgot it", kOrigin);
  store_->write(kHere, "kept", "old", kOrigin);
  store_->write(kHere, "mine", "written here", kHere);
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const uint64_t id = sent()[0].request_id;
  resync_->handle_control(kHere, chunk(id, {"kept", "new"}));
  resync_->handle_control(kHere, end(id, 1));
  EXPECT_EQ(store_->keys(kHere), (std::set<std::string>{"kept", "mine", "new"}));
  EXPECT_EQ(resync_->completed(), 1u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(resynced_, (std::vector<std::pair<RegionId, RegionId>>{{kHere, kOrigin}}));
}

// A full queue (x-overflow drop-head) can drop a chunk and keep its end: the
// keys of the lost chunk must not be dropped as forgotten by the origin.
TEST_F(ResyncTest, SnapshotMissingAChunkIsAskedForAgainNotApplied) {
  make();
  store_->write(kHere, "in lost chunk", "held here", kOrigin);
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const uint64_t id = sent()[0].request_id;
  resync_->handle_control(kHere, chunk(id, {"a"}, 1));
  resync_->handle_control(kHere, chunk(id, {"a"}, 1));  // a redelivery does not make up for chunk 2
  resync_->handle_control(kHere, chunk(id, {"b"}, 3));
  resync_->handle_control(kHere, end(id, 3));
  EXPECT_EQ(resync_->completed(), 0u);
  EXPECT_EQ(store_->keys(kHere), (std::set<std::string>{"a", "b", "in lost chunk"}));
  ASSERT_TRUE(await_sent(2));
  EXPECT_EQ(sent()[1].kind, BatchKind::kResyncRequest);
  EXPECT_NE(sent()[1].request_id, id);
}

TEST_F(ResyncTest, GapWhileARequestIsOutstandingEarnsOneMoreRequest) {
  make();
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  resync_->resync(kHere, kOrigin);  // missed more meanwhile
  const uint64_t id = sent()[0].request_id;
  resync_->handle_control(kHere, end(id));
  EXPECT_EQ(resync_->completed(), 1u);
  ASSERT_TRUE(await_sent(2));
  EXPECT_EQ(sent()[1].kind, BatchKind::kResyncRequest);
  EXPECT_NE(sent()[1].request_id, id);
}

TEST_F(ResyncTest, KnownGapAsksForJustTheEventsMissed) {
  make();
  resync_->resync(kHere, kOrigin, MissedRange{7, 3, 5});
  ASSERT_TRUE(await_sent(1));
  EXPECT_EQ(sent()[0].kind, BatchKind::kResyncRequest);
  EXPECT_EQ(sent()[0].epoch, 7u);
  EXPECT_EQ(sent()[0].first_seq, 3u);
  EXPECT_EQ(sent()[0].until_seq, 5u);
  // Two more gaps while it is out: the next request spans both.
  resync_->resync(kHere, kOrigin, MissedRange{7, 9, 10});
  resync_->resync(kHere, kOrigin, MissedRange{7, 6, 8});
  resync_->handle_control(kHere, end(sent()[0].request_id));
  ASSERT_TRUE(await_sent(2));
  EXPECT_EQ(sent()[1].first_seq, 6u);
  EXPECT_EQ(sent()[1].until_seq, 10u);
  // A gap that does not know what it missed (a new epoch) makes it a snapshot.
  resync_->resync(kHere, kOrigin, MissedRange{7, 12, 13});
  resync_->resync(kHere, kOrigin);
  resync_->handle_control(kHere, end(sent()[1].request_id));
  ASSERT_TRUE(await_sent(3));
  EXPECT_EQ(sent()[2].until_seq, 0u);
}

// The origin's side of a request for missed events.
EventBatch backlog_request(uint64_t request_id, MissedRange missed) {
  EventBatch request;
  request.kind = BatchKind::kResyncRequest;
  request.origin = kHere;
  request.target = kOrigin;
  request.request_id = request_id;
  request.epoch = missed.epoch;
  request.first_seq = missed.from;
  request.until_seq = missed.until;
  return request;
}

TEST_F(ResyncTest, OriginHoldingTheMissedEventsSendsJustThose) {
  make({kOrigin}, /*batch_max_events=*/2);
  warmed_up(kOrigin, kHere);
  for (int i = 0; i < 5; ++i) store_->write(kOrigin, "k" + std::to_string(i), "v", kOrigin);
  store_->fill_backlog(7, 10, 20);
  resync_->handle_control(kOrigin, backlog_request(42, MissedRange{7, 12, 17}));
  ASSERT_TRUE(await_sent(5));  // the warm-up request, 3 chunks, the end
  const std::vector<EventBatch> all = sent();
  std::vector<std::string> keys;
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(all[i].kind, BatchKind::kSnapshotChunk);
    EXPECT_TRUE(all[i].backlog);
    EXPECT_EQ(all[i].first_seq, i);
    for (const auto& e : all[i].events) keys.push_back(e.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"e12", "e13", "e14", "e15", "e16"}));
  EXPECT_EQ(all[4].kind, BatchKind::kSnapshotEnd);
  EXPECT_TRUE(all[4].backlog);
  EXPECT_EQ(all[4].first_seq, 3u);
}

TEST_F(ResyncTest, OriginNoLongerHoldingTheMissedEventsSendsASnapshot) {
  make({kOrigin});
  warmed_up(kOrigin, kHere);
  store_->write(kOrigin, "k", "v", kOrigin);
  store_->fill_backlog(7, 10, 20);
  // Before the backlog's start, and of another epoch: both a snapshot.
  for (MissedRange missed : {MissedRange{7, 5, 12}, MissedRange{6, 12, 14}}) {
    const size_t before = sent().size();
    resync_->handle_control(kOrigin, backlog_request(42, missed));
    ASSERT_TRUE(await_sent(before + 2));
    const std::vector<EventBatch> all = sent();
    EXPECT_FALSE(all[before].backlog);
    EXPECT_EQ(snapshot_keys({all[before]}), std::set<std::string>{"k"});
    EXPECT_FALSE(all[before + 1].backlog);
  }
}

TEST_F(ResyncTest, MissedEventsAreAppliedAndDropNothing) {
  make();
  store_->write(kHere, "mine-from-origin", "old", kOrigin);  // absent from what comes: kept
  resync_->resync(kHere, kOrigin, MissedRange{7, 1, 3});
  ASSERT_TRUE(await_sent(1));
  uint64_t id = sent()[0].request_id;
  EventBatch c = chunk(id, {"missed1", "missed2"});
  c.backlog = true;
  resync_->handle_control(kHere, c);
  EventBatch e = end(id, 1);
  e.backlog = true;
  resync_->handle_control(kHere, e);
  EXPECT_EQ(store_->keys(kHere), (std::set<std::string>{"mine-from-origin", "missed1", "missed2"}));
  EXPECT_EQ(resync_->completed(), 1u);
  EXPECT_EQ(resync_->stats().by_backlog, 1u);
  EXPECT_EQ(resync_->stats().records_in, 2u);

  // A FLUSHALL among the missed events is applied as the flush it is.
  resync_->resync(kHere, kOrigin, MissedRange{7, 3, 4});
  ASSERT_TRUE(await_sent(2));
  id = sent()[1].request_id;
  c = chunk(id, {});
  c.backlog = true;
  Event flush;
  flush.kind = EventKind::kFlush;
  flush.record.kind = ValueKind::kTombstone;
  flush.record.version = Version{store_->hlc_now(), kOrigin};
  c.events.push_back(flush);
  resync_->handle_control(kHere, c);
  e = end(id, 1);
  e.backlog = true;
  resync_->handle_control(kHere, e);
  EXPECT_EQ(store_->keys(kHere), std::set<std::string>{});
  EXPECT_EQ(resync_->stats().by_backlog, 2u);
}

TEST_F(ResyncTest, RequestIsAnsweredWithBoundedChunksAndAnEnd) {
  make({kOrigin}, /*batch_max_events=*/2);
  warmed_up(kOrigin, kHere);
  for (int i = 0; i < 5; ++i) store_->write(kOrigin, "k" + std::to_string(i), "v", kOrigin);
  EventBatch request;
  request.kind = BatchKind::kResyncRequest;
  request.origin = kHere;
  request.target = kOrigin;
  request.request_id = 42;
  resync_->handle_control(kOrigin, request);
  ASSERT_TRUE(await_sent(5));
  const std::vector<EventBatch> all = sent();
  const std::vector<EventBatch> batches(all.begin() + 1, all.end());  // past the warm-up request
  std::set<std::string> keys;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(batches[i].kind, BatchKind::kSnapshotChunk);
    EXPECT_EQ(batches[i].target, kHere);
    EXPECT_EQ(batches[i].request_id, 42u);
    EXPECT_LE(batches[i].events.size(), 2u);
    EXPECT_EQ(batches[i].first_seq, static_cast<uint64_t>(i + 1));  // numbered
    for (const auto& e : batches[i].events) keys.insert(e.key);
  }
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(batches[3].kind, BatchKind::kSnapshotEnd);
  EXPECT_EQ(batches[3].request_id, 42u);
  EXPECT_GT(batches[3].snapshot_hlc, 0u);
  EXPECT_EQ(batches[3].first_seq, 3u);  // how many chunks
}

TEST_F(ResyncTest, LocalOriginIsCopiedAtOnceWithoutAnyMessage) {
  make({kOrigin, kHere});
  store_->write(kOrigin, "a", "1", kOrigin);
  store_->write(kHere, "gone at origin", "x", kOrigin);
  resync_->resync(kHere, kOrigin);
  EXPECT_EQ(resync_->completed(), 1u);
  EXPECT_EQ(store_->keys(kHere), std::set<std::string>{"a"});
  EXPECT_TRUE(sent().empty());
}

// ---- warm-up ----------------------------------------------------------------------

// Restarted kHere must not answer kOrigin with a store that lacks what kOrigin
// holds (kOrigin would drop it): its answer waits for its own warm-up from
// kOrigin, and then holds what that brought.
TEST_F(ResyncTest, RegionWarmingUpAnswersARequesterThatIsNotOnlyOnceWarm) {
  make();
  store_->write(kHere, "mine", "written since the restart", kHere);
  resync_->warm_up(kHere, kOrigin);
  EXPECT_EQ(resync_->warming(), 1u);
  ASSERT_TRUE(await_sent(1));
  const EventBatch ask = sent()[0];
  EXPECT_EQ(ask.kind, BatchKind::kResyncRequest);
  EXPECT_EQ(ask.target, kOrigin);
  EXPECT_TRUE(ask.warming);

  resync_->handle_control(kHere, request_from_origin(42, /*warming=*/false));
  // kOrigin's snapshot for us, with a key of ours from before the restart.
  EventBatch theirs = chunk(ask.request_id, {"ours before the restart"});
  theirs.events[0].record.version.region = kHere;
  resync_->handle_control(kHere, theirs);
  resync_->handle_control(kHere, end(ask.request_id, 1));
  EXPECT_EQ(resync_->warming(), 0u);

  // Only now the answer: after the warm-up, with what it brought.
  ASSERT_TRUE(await_sent(3));
  const auto batches = sent();
  const std::vector<EventBatch> answer(batches.begin() + 1, batches.end());
  EXPECT_EQ(snapshot_keys(answer), (std::set<std::string>{"mine", "ours before the restart"}));
  ASSERT_EQ(answer.back().kind, BatchKind::kSnapshotEnd);
  EXPECT_EQ(answer.back().request_id, 42u);
  EXPECT_FALSE(answer.back().warming);
  EXPECT_EQ(resync_->completed(), 0u);  // a warm-up is not a resync of a reported gap
}

// Two regions that both just started cannot wait for each other: each answers
// at once, flagged, and neither drops anything on the other's word. The
// requester has just started, so our own request may have been lost before
// its queue existed: it is asked again at once.
TEST_F(ResyncTest, RegionsWarmingUpFromEachOtherAnswerAtOnceFlagged) {
  make();
  store_->write(kHere, "mine", "v", kHere);
  resync_->warm_up(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const uint64_t first_ask = sent()[0].request_id;
  resync_->handle_control(kHere, request_from_origin(42, /*warming=*/true));
  ASSERT_TRUE(await_sent(4));  // the answer (a chunk, the end) and our request again
  std::vector<EventBatch> asks, answer;
  for (const EventBatch& b : sent()) (b.kind == BatchKind::kResyncRequest ? asks : answer).push_back(b);
  EXPECT_EQ(snapshot_keys(answer), std::set<std::string>{"mine"});
  ASSERT_EQ(answer.back().kind, BatchKind::kSnapshotEnd);
  EXPECT_EQ(answer.back().request_id, 42u);
  EXPECT_TRUE(answer.back().warming);
  ASSERT_EQ(asks.size(), 2u);
  EXPECT_NE(asks[1].request_id, first_ask);
  EXPECT_TRUE(asks[1].warming);
  EXPECT_EQ(resync_->warming(), 1u);  // our own warm-up goes on
}

TEST_F(ResyncTest, EndFromASenderStillWarmingUpDropsNothing) {
  make();
  store_->write(kHere, "held", "the sender lacks it", kOrigin);
  resync_->resync(kHere, kOrigin);
  ASSERT_TRUE(await_sent(1));
  const uint64_t id = sent()[0].request_id;
  resync_->handle_control(kHere, chunk(id, {"new"}));
  EventBatch e = end(id, 1);
  e.warming = true;
  resync_->handle_control(kHere, e);
  EXPECT_EQ(store_->keys(kHere), (std::set<std::string>{"held", "new"}));  // applied, nothing dropped
  EXPECT_EQ(resync_->completed(), 1u);
}

// A region we did not know at start (GeoCache::start warms up from the
// regions it knows) is warmed up from at its first request all the same.
TEST_F(ResyncTest, RequestFromARegionNotWarmedUpFromYetWaitsForThatWarmUp) {
  make();
  store_->write(kHere, "mine", "v", kHere);
  resync_->handle_control(kHere, request_from_origin(42, /*warming=*/false));
  ASSERT_TRUE(await_sent(1));
  const EventBatch ask = sent()[0];
  EXPECT_EQ(ask.kind, BatchKind::kResyncRequest);
  EXPECT_TRUE(ask.warming);
  EXPECT_EQ(resync_->warming(), 1u);
  resync_->handle_control(kHere, end(ask.request_id));
  ASSERT_TRUE(await_sent(3));  // the answer: a chunk and the end
  EXPECT_EQ(sent()[2].kind, BatchKind::kSnapshotEnd);
  EXPECT_EQ(sent()[2].request_id, 42u);
  EXPECT_FALSE(sent()[2].warming);
  // Once per run: the next request is answered at once.
  resync_->handle_control(kHere, request_from_origin(43, /*warming=*/false));
  ASSERT_TRUE(await_sent(5));
  EXPECT_EQ(sent()[4].request_id, 43u);
}

// A gap asked for from the backlog before a warm-up from the same region
// starts (a region warming up from its closest peer alone meets the others
// first this way): the backlog's events are not the region's store, so their
// end must not end the warm-up. Ended by them, the region answered the other
// one's snapshot request without its own writes from before the restart, and
// the other dropped them.
TEST_F(ResyncTest, BacklogAnswerOutWhenAWarmUpStartsDoesNotEndIt) {
  make();
  resync_->resync(kHere, kOrigin, MissedRange{7, 3, 5});
  ASSERT_TRUE(await_sent(1));
  const uint64_t range_request = sent()[0].request_id;
  EXPECT_EQ(sent()[0].until_seq, 5u);
  resync_->warm_up(kHere, kOrigin);
  ASSERT_TRUE(await_sent(2));  // a request for the whole store, superseding the range
  const EventBatch ask = sent()[1];
  EXPECT_EQ(ask.until_seq, 0u);
  EXPECT_TRUE(ask.warming);
  EXPECT_NE(ask.request_id, range_request);

  // The range's answer, late: ignored, the region stays warming.
  EventBatch late = end(range_request);
  late.backlog = true;
  resync_->handle_control(kHere, late);
  EXPECT_EQ(resync_->warming(), 1u);
  EXPECT_FALSE(resync_->warmed_up(kHere));

  resync_->handle_control(kHere, end(ask.request_id));
  EXPECT_EQ(resync_->warming(), 0u);
  EXPECT_TRUE(resync_->warmed_up(kHere));
}

// A request queued for a node while it was down arrives before Resync::start:
// start answers it (here at once: the requester is warming up too).
TEST_F(ResyncTest, RequestReceivedBeforeStartIsAnsweredByStart) {
  make({kHere}, 1024, /*start=*/false);
  store_->write(kHere, "mine", "v", kHere);
  resync_->handle_control(kHere, request_from_origin(42, /*warming=*/true));
  EXPECT_TRUE(sent().empty());
  resync_->start();
  ASSERT_TRUE(await_sent(3));  // the answer (a chunk, the end) and our own warm-up request
  std::vector<EventBatch> ends;
  for (const EventBatch& b : sent()) {
    if (b.kind == BatchKind::kSnapshotEnd) ends.push_back(b);
  }
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].request_id, 42u);
  EXPECT_TRUE(ends[0].warming);
}

}  // namespace
}  // namespace geocache
