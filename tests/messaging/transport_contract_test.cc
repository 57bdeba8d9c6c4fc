// The Transport contract (messaging/transport.h), run over every transport:
// one typed suite, instantiated for InProcessTransport and AmqpTransport. A
// new transport earns its place by passing it. What only one transport does
// (in-process delay, cut and heal; AMQP stats, full queues, broker restarts)
// is tested beside that transport.
//
// The AMQP instantiation skips unless GEOCACHE_TEST_AMQP_URL is set; each
// test uses exchange and queue names of its own.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../replication/test_broker.h"
#include "messaging/amqp_transport.h"
#include "messaging/in_process_transport.h"
#include "messaging/region_registry.h"

namespace geocache {
namespace {

using testing::test_amqp_url;
using testing::unique_name;
using testing::wait_until;

const std::vector<std::string> kRegions = {"east", "west", "north"};
constexpr RegionId kEast = region_id_for("east"), kWest = region_id_for("west"), kNorth = region_id_for("north");
// A region's place in kRegions.
size_t index_of(RegionId r) { return r == kEast ? 0 : r == kWest ? 1 : 2; }

// ---------------------------------------------------------------------------
// One "net" per transport: the transports hosting regions 1..3, and how long
// to wait before asserting that something did not arrive.
// ---------------------------------------------------------------------------

// Every region in one transport, as in one process.
class InProcessNet {
 public:
  static bool available() { return true; }
  Transport& host(RegionId) { return transport_; }
  std::vector<Transport*> all() { return {&transport_}; }
  // Everything handed over has been delivered.
  void settle() { transport_.wait_idle(); }
  // Stopped, it has no delivery thread left (and wait_idle() would wait for
  // the held batches forever).
  void settle_after_stop() {}

 private:
  InProcessTransport transport_;
};

// One transport per region, as in one process per region, on names of the
// test's own.
class AmqpNet {
 public:
  static bool available() { return !test_amqp_url().empty(); }
  AmqpNet() {
    AmqpOptions o;
    o.url = test_amqp_url();
    o.exchange = unique_name("contract") + "x";
    o.queue_prefix = unique_name("contract") + "q.";
    for (size_t i = 0; i < kRegions.size(); ++i) transports_.push_back(std::make_unique<AmqpTransport>(o, kRegions));
  }
  Transport& host(RegionId r) { return *transports_[index_of(r)]; }
  std::vector<Transport*> all() {
    std::vector<Transport*> out;
    for (auto& t : transports_) out.push_back(t.get());
    return out;
  }
  // The broker gives no "all delivered" signal: what has not arrived after a
  // pause this long (a local broker delivers in a few ms) counts as not sent.
  void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }
  void settle_after_stop() { settle(); }

 private:
  std::vector<std::unique_ptr<AmqpTransport>> transports_;
};

template <typename Net>
class TransportContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Net::available()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
    net_ = std::make_unique<Net>();
    for (RegionId r : {kEast, kWest, kNorth}) {
      net_->host(r).attach(r, [this, r](std::string_view payload) {
        in_receiver_[index_of(r)].fetch_add(1);
        {
          std::unique_lock lock(mu_);
          hold_cv_.wait(lock, [&] { return held_ != r; });
        }
        if (receive_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(receive_delay_ms_));
        {
          std::lock_guard lock(mu_);
          got_[r].emplace_back(payload);
        }
        in_receiver_[index_of(r)].fetch_sub(1);
      });
    }
  }
  void TearDown() override {
    if (net_) {
      for (Transport* t : net_->all()) t->stop();
    }
  }
  void start() {
    for (Transport* t : net_->all()) ASSERT_TRUE(t->start().ok());
  }
  void publish(RegionId from, const std::vector<std::string>& payloads) {
    for (const auto& p : payloads) ASSERT_TRUE(net_->host(from).publish(from, p).ok()) << p;
  }
  std::vector<std::string> got(RegionId r) {
    std::lock_guard lock(mu_);
    return got_[r];
  }
  bool wait_for(RegionId r, size_t n) {
    return wait_until(10'000, [&] { return got(r).size() >= n; });
  }

  std::unique_ptr<Net> net_;
  std::mutex mu_;
  std::condition_variable hold_cv_;
  RegionId held_ = 0;  // this region's receiver waits while it is set (under mu_)
  std::map<RegionId, std::vector<std::string>> got_;
  std::array<std::atomic<int>, 3> in_receiver_{};  // receivers running, by index_of(region)
  std::atomic<int> receive_delay_ms_{0};
};

using Transports = ::testing::Types<InProcessNet, AmqpNet>;
class TransportNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, InProcessNet> ? "InProcess" : "Amqp";
  }
};
TYPED_TEST_SUITE(TransportContractTest, Transports, TransportNames);

using Batches = std::vector<std::string>;

TYPED_TEST(TransportContractTest, DeliversToEveryOtherRegionButNotBackToOrigin) {
  this->start();
  this->publish(kEast, {"a"});
  ASSERT_TRUE(this->wait_for(kWest, 1));
  ASSERT_TRUE(this->wait_for(kNorth, 1));
  this->net_->settle();
  EXPECT_EQ(this->got(kWest), Batches{"a"});
  EXPECT_EQ(this->got(kNorth), Batches{"a"});
  EXPECT_EQ(this->got(kEast), Batches{});
}

TYPED_TEST(TransportContractTest, EveryRegionReceivesEveryOtherRegion) {
  this->start();
  for (RegionId r : {kEast, kWest, kNorth}) this->publish(r, {kRegions[index_of(r)]});
  for (RegionId r : {kEast, kWest, kNorth}) {
    ASSERT_TRUE(this->wait_for(r, 2));
    const auto all = this->got(r);
    const std::set<std::string> from(all.begin(), all.end());
    std::set<std::string> want(kRegions.begin(), kRegions.end());
    want.erase(kRegions[index_of(r)]);
    EXPECT_EQ(from, want) << "region " << kRegions[index_of(r)];
  }
  this->net_->settle();
  for (RegionId r : {kEast, kWest, kNorth}) EXPECT_EQ(this->got(r).size(), 2u) << "region " << kRegions[index_of(r)];
}

TYPED_TEST(TransportContractTest, KeepsPublishOrderPerOrigin) {
  this->start();
  Batches from1, from2;
  for (int i = 0; i < 200; ++i) {
    from1.push_back("one" + std::to_string(i));
    from2.push_back("two" + std::to_string(i));
    this->publish(kEast, {from1.back()});
    this->publish(kWest, {from2.back()});
  }
  ASSERT_TRUE(this->wait_for(kWest, from1.size()));
  ASSERT_TRUE(this->wait_for(kEast, from2.size()));
  ASSERT_TRUE(this->wait_for(kNorth, from1.size() + from2.size()));
  this->net_->settle();
  EXPECT_EQ(this->got(kWest), from1);
  EXPECT_EQ(this->got(kEast), from2);
  Batches at3_from1, at3_from2;
  for (const auto& p : this->got(kNorth)) (p.rfind("one", 0) == 0 ? at3_from1 : at3_from2).push_back(p);
  EXPECT_EQ(at3_from1, from1);
  EXPECT_EQ(at3_from2, from2);
}

TYPED_TEST(TransportContractTest, SendToReachesOnlyItsTarget) {
  this->start();
  ASSERT_TRUE(this->net_->host(kEast).send_to(kEast, kNorth, "to north").ok());
  ASSERT_TRUE(this->net_->host(kNorth).send_to(kNorth, kEast, "to east").ok());
  ASSERT_TRUE(this->wait_for(kNorth, 1));
  ASSERT_TRUE(this->wait_for(kEast, 1));
  this->net_->settle();
  EXPECT_EQ(this->got(kNorth), Batches{"to north"});
  EXPECT_EQ(this->got(kEast), Batches{"to east"});
  EXPECT_EQ(this->got(kWest), Batches{});
}

// Published after the receiver's transport stopped: never delivered there.
// (In-process, one transport hosts every region: the publish is taken and
// held; over AMQP the broker keeps it in west's queue.)
TYPED_TEST(TransportContractTest, NothingIsDeliveredAfterStop) {
  this->start();
  this->net_->host(kWest).stop();
  this->publish(kEast, {"late"});
  this->net_->settle_after_stop();
  EXPECT_EQ(this->got(kWest), Batches{});
  this->net_->host(kWest).stop();  // idempotent
}

TYPED_TEST(TransportContractTest, NoReceiverRunsAfterStopReturns) {
  this->start();
  // Slow receivers, west's held at the first batch until every batch is published,
  // so that stop() comes while deliveries are under way: it has 49 of them
  // (half a second) to come in, however slow publishing was.
  this->receive_delay_ms_ = 10;
  {
    std::lock_guard lock(this->mu_);
    this->held_ = kWest;
  }
  Batches sent;
  for (int i = 0; i < 50; ++i) sent.push_back("b" + std::to_string(i));
  this->publish(kEast, sent);
  ASSERT_TRUE(wait_until(10'000, [&] { return this->in_receiver_[index_of(kWest)].load() == 1; }));
  {
    std::lock_guard lock(this->mu_);
    this->held_ = 0;
  }
  this->hold_cv_.notify_all();
  this->net_->host(kWest).stop();
  EXPECT_EQ(this->in_receiver_[index_of(kWest)].load(), 0);
  const size_t at_stop = this->got(kWest).size();
  EXPECT_LT(at_stop, sent.size());  // it did stop in the middle
  this->net_->settle_after_stop();
  EXPECT_EQ(this->got(kWest).size(), at_stop);
}

TYPED_TEST(TransportContractTest, StartIsIdempotent) {
  this->start();
  this->start();
  this->publish(kEast, {"once"});
  ASSERT_TRUE(this->wait_for(kWest, 1));
  ASSERT_TRUE(this->wait_for(kNorth, 1));
  this->net_->settle();
  EXPECT_EQ(this->got(kWest), Batches{"once"});
  EXPECT_EQ(this->got(kNorth), Batches{"once"});
}

}  // namespace
}  // namespace geocache
