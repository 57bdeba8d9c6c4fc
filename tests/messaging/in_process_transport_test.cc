#include "messaging/in_process_transport.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace geocache {
namespace {

// What only the in-process transport does: wait_idle, cut and heal, loss,
// delay. The contract every transport keeps is in transport_contract_test.cc.
//
// Three regions on one transport; each records what it receives.
class InProcessTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (RegionId r : {1, 2, 3}) {
      transport_.attach(r, [this, r](std::string_view payload) {
        std::lock_guard lock(mu_);
        got_[r].emplace_back(payload);
      });
    }
    ASSERT_TRUE(transport_.start().ok());
  }
  std::vector<std::string> got(RegionId r) {
    std::lock_guard lock(mu_);
    return got_[r];
  }
  void publish(RegionId from, const std::vector<std::string>& payloads) {
    for (const auto& p : payloads) ASSERT_TRUE(transport_.publish(from, p).ok());
  }

  InProcessTransport transport_;
  std::mutex mu_;
  std::map<RegionId, std::vector<std::string>> got_;
};

using Batches = std::vector<std::string>;

TEST_F(InProcessTransportTest, WaitIdleReturnsOnlyAfterEverythingIsDelivered) {
  Batches sent;
  for (int i = 0; i < 2000; ++i) sent.push_back(std::to_string(i));
  publish(1, sent);
  transport_.wait_idle();
  EXPECT_EQ(got(2).size(), sent.size());
  EXPECT_EQ(got(3).size(), sent.size());
}

TEST_F(InProcessTransportTest, CutHoldsBatchesAndHealDeliversThemInOrder) {
  transport_.cut(1, 2);
  EXPECT_TRUE(transport_.is_cut(1, 2));
  EXPECT_FALSE(transport_.is_cut(2, 1));  // one direction only
  publish(1, {"x", "y", "z"});
  publish(2, {"back"});
  transport_.wait_idle();  // does not wait for the cut link
  EXPECT_EQ(got(2), Batches{});
  Batches at3 = got(3);
  std::erase(at3, "back");
  EXPECT_EQ(at3, (Batches{"x", "y", "z"}));
  EXPECT_EQ(got(1), Batches{"back"});
  transport_.heal(1, 2);
  EXPECT_FALSE(transport_.is_cut(1, 2));
  transport_.wait_idle();
  EXPECT_EQ(got(2), (Batches{"x", "y", "z"}));
}

TEST_F(InProcessTransportTest, BatchesPublishedAfterHealComeAfterHeldOnes) {
  transport_.cut(1, 2);
  publish(1, {"held1", "held2"});
  transport_.heal(1, 2);
  publish(1, {"after"});
  transport_.wait_idle();
  EXPECT_EQ(got(2), (Batches{"held1", "held2", "after"}));
}

TEST_F(InProcessTransportTest, DropNextLosesExactlyThatManyBatchesOnThatLink) {
  transport_.drop_next(1, 2, 2);
  publish(1, {"a", "b", "c", "d"});
  transport_.wait_idle();
  EXPECT_EQ(got(2), (Batches{"c", "d"}));
  EXPECT_EQ(got(3), (Batches{"a", "b", "c", "d"}));
}

TEST_F(InProcessTransportTest, DelayedBatchesAreStillDeliveredInOrder) {
  transport_.set_link_delay(1, 2, 30);
  publish(1, {"slow1"});
  transport_.set_link_delay(1, 2, 0);  // a shrinking delay must not reorder
  publish(1, {"fast2"});
  transport_.wait_idle();
  EXPECT_EQ(got(2), (Batches{"slow1", "fast2"}));
}

}  // namespace
}  // namespace geocache
