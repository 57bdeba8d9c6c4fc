#include "cache/miss_fallback.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
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

}  // namespace
}  // namespace geocache
