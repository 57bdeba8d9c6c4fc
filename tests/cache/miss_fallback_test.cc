#include "cache/miss_fallback.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace geocache {
namespace {

constexpr RegionId kHere = 1, kOrigin = 2;

// A MissFallback whose requests are kept here, to be answered by hand.
class MissFallbackStateTest : public ::testing::Test {
 protected:
  MissFallbackStateTest()
      : fallback_(MissFallbackOptions{}, &clock_,
                  [this](const EventBatch& batch) {
                    std::lock_guard<std::mutex> lock(mu_);
                    sent_.push_back(batch);
                    cv_.notify_all();
                    return Status::Ok();
                  },
                  [](RegionId, std::string_view) { return std::optional<Record>(); },
                  [this](RegionId, std::string_view, const Record& record) {
                    std::lock_guard<std::mutex> lock(mu_);
                    applied_.push_back(record.bytes);
                  },
                  [](RegionId) { return std::vector<RegionId>{kOrigin}; }, nullptr) {
    fallback_.start();
  }

  // The n-th request sent (0 first), once it is.
  std::optional<EventBatch> request(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return sent_.size() > n; })) return std::nullopt;
    return sent_[n];
  }
  void answer(const EventBatch& request, std::string list_bytes) {
    EventBatch reply;
    reply.kind = BatchKind::kFetchReply;
    reply.origin = request.target;
    reply.target = request.origin;
    reply.request_id = request.request_id;
    reply.events.push_back(
        Event{EventKind::kPut, request.events[0].key, Record{ValueKind::kString, std::move(list_bytes), kNoExpiry, {}}, 0});
    fallback_.handle_control(kHere, reply);
  }

  ManualClock clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventBatch> sent_;
  std::vector<std::string> applied_;
  MissFallback fallback_;
};

// A list write that needs the list's state while a fetch of it from the
// same origin is out shares that fetch; but the origin may have answered
// before making that write, so the state is asked for once more after the
// answer (seen: a region kept an older list for good when the writes ended
// during a fetch).
TEST_F(MissFallbackStateTest, StateNeededAgainDuringAFetchIsFetchedOnceMoreAfterItsAnswer) {
  const std::optional<uint64_t> first = fallback_.fetch_from(kHere, kOrigin, "list");
  ASSERT_TRUE(first.has_value());
  const std::optional<EventBatch> asked = request(0);
  ASSERT_TRUE(asked.has_value());
  EXPECT_EQ(asked->kind, BatchKind::kFetchRequest);
  EXPECT_EQ(asked->target, kOrigin);
  EXPECT_EQ(fallback_.fetch_from(kHere, kOrigin, "list"), first);  // shared, not sent twice

  answer(*asked, "older");
  const std::optional<EventBatch> again = request(1);
  ASSERT_TRUE(again.has_value()) << "the state was not asked for again after the first answer";
  EXPECT_EQ(again->events[0].key, "list");
  EXPECT_NE(again->request_id, asked->request_id);

  answer(*again, "newer");
  EXPECT_TRUE(fallback_.done(again->request_id));
  EXPECT_EQ(fallback_.stats().state_fetches, 2u);  // asked once meanwhile: once more, not forever
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(applied_, (std::vector<std::string>{"older", "newer"}));
}

// A state request or its answer lost (a queue that overflowed, a broker
// restart) would leave the older list until the key's next write: the
// request goes again after each timeout, state_attempts times in all, and an
// answer to any of them applies.
TEST_F(MissFallbackStateTest, UnansweredStateFetchIsSentAgainUpToItsAttempts) {
  ASSERT_TRUE(fallback_.fetch_from(kHere, kOrigin, "list").has_value());
  const std::optional<EventBatch> first = request(0);
  ASSERT_TRUE(first.has_value());

  clock_.advance_ms(MissFallbackOptions{}.state_timeout_ms);
  const std::optional<EventBatch> second = request(1);
  ASSERT_TRUE(second.has_value()) << "not sent again after its timeout";
  EXPECT_EQ(second->target, kOrigin);
  EXPECT_EQ(second->events[0].key, "list");
  EXPECT_NE(second->request_id, first->request_id);
  answer(*first, "late");  // the first request's answer, after its timeout: ignored
  answer(*second, "state");
  EXPECT_TRUE(fallback_.done(second->request_id));
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(applied_, (std::vector<std::string>{"state"}));
  }

  // Never answered: given up after state_attempts sends.
  ASSERT_TRUE(fallback_.fetch_from(kHere, kOrigin, "other").has_value());
  const int attempts = MissFallbackOptions{}.state_attempts;
  for (int i = 0; i < attempts; ++i) {
    ASSERT_TRUE(request(2 + i).has_value()) << "send " << i + 1;
    clock_.advance_ms(MissFallbackOptions{}.state_timeout_ms);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fallback_.stats().timed_out < 1 + static_cast<uint64_t>(attempts) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const MissFallback::Stats stats = fallback_.stats();
  EXPECT_EQ(stats.timed_out, 1u + attempts);
  EXPECT_EQ(stats.state_retries, 1u + (attempts - 1));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(sent_.size(), 2u + attempts);
}

}  // namespace
}  // namespace geocache
