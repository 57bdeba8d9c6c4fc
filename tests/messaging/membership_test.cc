// Membership against a manual clock: hellos are handed to on_hello() as the
// replicator would, and time is moved, never slept (except to watch the
// heartbeat thread send).
#include "messaging/membership.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace geocache {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr RegionId kEast = region_id_for("east");
constexpr RegionId kWest = region_id_for("west");
constexpr uint64_t kMe = 0x1111;

// Polls pred until it holds or 10 s pass.
bool eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : regions_({"east", "west"}, {"east"}) {
    options_.heartbeat_ms = 1000;
    options_.down_after_ms = 10'000;
    make();
  }
  void make() {
    membership_ = std::make_unique<Membership>(options_, &regions_, &clock_, kMe, [this](const EventBatch& b) {
      std::lock_guard lock(mu_);
      sent_.push_back(b);
      return Status::Ok();
    });
  }
  // A hello from `name`, sent by process `instance` at its wall time `wall`.
  static EventBatch hello(const std::string& name, uint64_t instance, int64_t wall,
                          uint32_t protocol = kProtocolVersion) {
    EventBatch b;
    b.kind = BatchKind::kHello;
    b.origin = region_id_for(name);
    b.region_name = name;
    b.instance_id = instance;
    b.protocol = protocol;
    b.wall_ms = wall;
    return b;
  }
  // Receives a hello from `name` sent `transit` ms ago by a clock `offset` ms ahead.
  void hear(const std::string& name, uint64_t instance, int64_t offset = 0, int64_t transit = 0) {
    membership_->on_hello(kEast, hello(name, instance, clock_.now_ms() + offset - transit));
  }
  PeerStatus peer(RegionId id) {
    for (const PeerStatus& p : membership_->peers()) {
      if (p.region.id == id) return p;
    }
    ADD_FAILURE() << "no region " << id;
    return {};
  }
  std::string all_problems() {
    std::string out;
    for (const auto& p : membership_->problems()) out += p + "\n";
    return out;
  }

  ManualClock clock_;
  RegionRegistry regions_;
  MembershipOptions options_;
  std::unique_ptr<Membership> membership_;
  std::mutex mu_;
  std::vector<EventBatch> sent_;
};

TEST_F(MembershipTest, RegionIsUpThenStaleThenDownAfterItsLastHello) {
  EXPECT_EQ(peer(kWest).state, PeerState::kDown);  // never heard
  EXPECT_EQ(peer(kWest).last_seen_ms, -1);
  EXPECT_EQ(peer(kEast).state, PeerState::kUp);  // local
  hear("west", 7);
  EXPECT_EQ(peer(kWest).state, PeerState::kUp);
  EXPECT_EQ(peer(kWest).instance_id, 7u);
  EXPECT_EQ(peer(kWest).hellos, 1u);
  clock_.advance_ms(3000);
  EXPECT_EQ(peer(kWest).state, PeerState::kUp);  // three heartbeats missed at most
  clock_.advance_ms(1);
  EXPECT_EQ(peer(kWest).state, PeerState::kStale);
  EXPECT_EQ(peer(kWest).last_seen_ms, 3001);
  clock_.advance_ms(7000);
  EXPECT_EQ(peer(kWest).state, PeerState::kDown);
  hear("west", 7);
  EXPECT_EQ(peer(kWest).state, PeerState::kUp);
}

TEST_F(MembershipTest, WithoutHeartbeatsOtherRegionsAreUnknown) {
  options_.heartbeat_ms = 0;
  make();
  EXPECT_EQ(peer(kWest).state, PeerState::kUnknown);
}

// Their clock minus ours, from the least delayed of the recent hellos; the
// lag of the latest is how much later than that one it came.
TEST_F(MembershipTest, ClockOffsetComesFromTheFastestHelloAndLagFromTheLatest) {
  EXPECT_EQ(membership_->clock_offset_ms(kWest), std::nullopt);
  hear("west", 7, /*offset=*/5000, /*transit=*/30);
  EXPECT_EQ(membership_->clock_offset_ms(kWest), 4970);
  clock_.advance_ms(1000);
  hear("west", 7, 5000, 10);
  EXPECT_EQ(membership_->clock_offset_ms(kWest), 4990);
  EXPECT_EQ(peer(kWest).lag_ms, 0);
  clock_.advance_ms(1000);
  hear("west", 7, 5000, 200);  // stuck behind a backlog
  EXPECT_EQ(membership_->clock_offset_ms(kWest), 4990);
  EXPECT_EQ(peer(kWest).clock_offset_ms, 4990);
  EXPECT_EQ(peer(kWest).lag_ms, 190);
  // Behind us works the same way.
  hear("west", 7, -60'000, 10);
  EXPECT_EQ(membership_->clock_offset_ms(kWest), 4990);  // still the max of the window
  for (size_t i = 0; i < Membership::kOffsetWindow; ++i) hear("west", 7, -60'000, 10);
  EXPECT_EQ(membership_->clock_offset_ms(kWest), -60'010);
  EXPECT_EQ(membership_->clock_offset_ms(kEast), std::nullopt);  // local
}

// The bound is max-clock-offset (default 500 ms). A hello's delta is a lower
// bound of the offset: one beyond it proves a clock that far ahead.
TEST_F(MembershipTest, ClockAheadBeyondTheBoundIsAProblemAtOnceUntilItComesBack) {
  hear("west", 7, /*offset=*/520, /*transit=*/30);  // maybe 520 ahead, maybe 490: not proven
  EXPECT_THAT(membership_->problems(), IsEmpty());
  clock_.advance_ms(1000);
  hear("west", 7, 600'000, 10);
  EXPECT_THAT(all_problems(), HasSubstr("region west's clock is at least 599990 ms ahead of this node's (beyond "
                                        "max-clock-offset, 500 ms): this node refuses its writes"));
  EXPECT_THAT(peer(kWest).problem, HasSubstr("599990 ms ahead"));
  // Its clock is fixed: the problem lasts while the window still holds a
  // hello from before.
  for (size_t i = 0; i + 1 < Membership::kOffsetWindow; ++i) {
    clock_.advance_ms(1000);
    hear("west", 7, 0, 10);
  }
  EXPECT_THAT(all_problems(), HasSubstr("ahead"));
  clock_.advance_ms(1000);
  hear("west", 7, 0, 10);
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

// Behind is not proven by one hello: it may just be late. Two that arrive as
// far apart as they were sent are live, so their delta is the clock's.
TEST_F(MembershipTest, ClockBehindBeyondTheBoundIsAProblemOnceHellosArriveAtTheirPace) {
  hear("west", 7, /*offset=*/-600'000, /*transit=*/10);
  EXPECT_THAT(membership_->problems(), IsEmpty());
  clock_.advance_ms(1000);
  hear("west", 7, -600'000, 10);
  EXPECT_THAT(all_problems(), HasSubstr("region west's clock seems 600010 ms behind this node's (beyond "
                                        "max-clock-offset, 500 ms; or its hellos arrive that late)"));
  clock_.advance_ms(1000);
  hear("west", 7, -400, 10);  // within the bound now: the largest delta of the window
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

// A queue drained after a partition or a restart delivers hellos sent long
// ago, all at once: late, not behind.
TEST_F(MembershipTest, BacklogOfOldHellosIsNoClockProblem) {
  const int64_t t = clock_.now_ms();
  for (int i = 60; i > 0; --i) {
    membership_->on_hello(kEast, hello("west", 7, t - i * 1000));
    clock_.advance_ms(5);
  }
  EXPECT_THAT(membership_->problems(), IsEmpty());
  clock_.advance_ms(700);
  hear("west", 7, 0, 10);  // the first live one
  EXPECT_THAT(membership_->problems(), IsEmpty());
  EXPECT_EQ(membership_->clock_offset_ms(kWest), -10);
}

TEST_F(MembershipTest, ClockProblemEndsWhenTheRegionGoesQuiet) {
  hear("west", 7, 600'000);
  EXPECT_THAT(all_problems(), HasSubstr("ahead"));
  clock_.advance_ms(options_.down_after_ms + 1);
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

// Loud, but once a minute while it lasts, however many hellos show it.
TEST_F(MembershipTest, ClockProblemIsLoggedAsAWarningAtMostOnceAMinute) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("membership", sink));
  for (int i = 0; i < 30; ++i) {
    hear("west", 7, 600'000);
    clock_.advance_ms(1000);
  }
  const auto first = sink->last_raw();
  for (int i = 0; i < 31; ++i) {
    hear("west", 7, 600'000);
    clock_.advance_ms(1000);
  }
  const auto second = sink->last_raw();
  spdlog::set_default_logger(previous);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].level, spdlog::level::warn);
  const std::string line(first[0].payload.data(), first[0].payload.size());
  EXPECT_THAT(line, HasSubstr("region west's clock is at least 600000 ms ahead"));
  EXPECT_EQ(second.size(), 2u);
}

TEST_F(MembershipTest, NewProcessAfterTheOldOneStoppedIsARestartNotAProblem) {
  for (int i = 0; i < 3; ++i) {
    hear("west", 7);
    clock_.advance_ms(1000);
  }
  for (int i = 0; i < 3; ++i) {
    hear("west", 8);
    clock_.advance_ms(1000);
  }
  EXPECT_THAT(membership_->problems(), IsEmpty());
  EXPECT_EQ(peer(kWest).instance_id, 8u);
}

TEST_F(MembershipTest, HellosOfTwoProcessesAlternatingAreTwoLiveProcesses) {
  hear("west", 7);
  clock_.advance_ms(500);
  hear("west", 8);
  clock_.advance_ms(500);
  hear("west", 7);
  EXPECT_THAT(all_problems(), HasSubstr("region west is served by two live processes"));
  EXPECT_THAT(peer(kWest).problem, HasSubstr("two live processes"));
  // Once one of them stops, the problem ends.
  for (int i = 0; i < 12; ++i) {
    clock_.advance_ms(1000);
    hear("west", 7);
  }
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

// A hello redelivered by the broker (e.g. after a reconnect) is older than
// what its process sent since: no second process.
TEST_F(MembershipTest, RedeliveredOldHelloIsNotASecondProcess) {
  const int64_t t = clock_.now_ms();
  membership_->on_hello(kEast, hello("west", 7, t));
  clock_.advance_ms(1000);
  membership_->on_hello(kEast, hello("west", 8, t + 1000));
  membership_->on_hello(kEast, hello("west", 7, t));
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

TEST_F(MembershipTest, AnotherProcessServingALocalRegionIsAProblemAtOnce) {
  hear("east", kMe);  // our own, back from the broker
  EXPECT_THAT(membership_->problems(), IsEmpty());
  hear("east", 99);
  EXPECT_THAT(all_problems(), HasSubstr("region east is also served by another live process (instance "
                                        "0000000000000063; this one is 0000000000001111)"));
  clock_.advance_ms(options_.down_after_ms + 1);
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

// A restarted process reads what its predecessor left in the queue, its
// hellos included: not a second process.
TEST_F(MembershipTest, HellosOfTheProcessThisOneReplacedAreNotASecondProcess) {
  membership_->on_hello(kEast, hello("east", 99, clock_.now_ms() - 1));
  EXPECT_THAT(membership_->problems(), IsEmpty());
  membership_->on_hello(kEast, hello("east", 99, clock_.now_ms()));
  EXPECT_THAT(all_problems(), HasSubstr("region east is also served by another live process"));
}

TEST_F(MembershipTest, EndpointsAreAnnouncedAndLearnedFromHellos) {
  options_.endpoints = {{"east", "10.0.0.1:6390"}};
  make();
  EXPECT_EQ(membership_->hello_from(kEast).endpoint, "10.0.0.1:6390");
  EXPECT_EQ(peer(kEast).endpoint, "10.0.0.1:6390");
  EXPECT_EQ(peer(kWest).endpoint, "");  // not heard yet
  EventBatch h = hello("west", 7, clock_.now_ms());
  h.endpoint = "10.0.1.1:6390";
  membership_->on_hello(kEast, h);
  EXPECT_EQ(peer(kWest).endpoint, "10.0.1.1:6390");
  // The process that replaces it announces its own.
  clock_.advance_ms(1000);
  h = hello("west", 8, clock_.now_ms());
  h.endpoint = "10.0.1.2:6390";
  membership_->on_hello(kEast, h);
  EXPECT_EQ(peer(kWest).endpoint, "10.0.1.2:6390");
}

TEST_F(MembershipTest, OtherProtocolIsAProblem) {
  membership_->on_hello(kEast, hello("west", 7, clock_.now_ms(), kProtocolVersion + 1));
  EXPECT_THAT(all_problems(),
              HasSubstr("region west speaks replication protocol " + std::to_string(kProtocolVersion + 1)));
  EXPECT_EQ(peer(kWest).protocol, kProtocolVersion + 1);
}

TEST_F(MembershipTest, HelloTeachesTheNameOfARegionNotConfigured) {
  hear("south", 5);
  ASSERT_EQ(regions_.find("south"), region_id_for("south"));
  const PeerStatus south = peer(region_id_for("south"));
  EXPECT_EQ(south.state, PeerState::kUp);
  EXPECT_FALSE(south.region.configured);
}

TEST_F(MembershipTest, HellosOfMoreRegionsThanCanBeKnownAreIgnored) {
  for (int i = 0; i < kMaxRegions + 10; ++i) hear("r" + std::to_string(i), 5);
  EXPECT_EQ(membership_->peers().size(), static_cast<size_t>(kMaxRegions));
  EXPECT_EQ(regions_.find("r" + std::to_string(kMaxRegions + 5)), std::nullopt);
}

TEST_F(MembershipTest, HelloWhoseNameIsNotItsIdIsIgnored) {
  EventBatch forged = hello("south", 5, clock_.now_ms());
  forged.origin = kWest;
  membership_->on_hello(kEast, forged);
  EXPECT_EQ(regions_.find("south"), std::nullopt);
  EXPECT_EQ(peer(kWest).hellos, 0u);
}

TEST_F(MembershipTest, TwoNamesWithOneIdAreAProblem) {
  RegionRegistry regions({"east", "r66999"}, {"east"});
  Membership m(options_, &regions, &clock_, kMe, [](const EventBatch&) { return Status::Ok(); });
  m.on_hello(kEast, hello("r916676", 5, clock_.now_ms()));
  ASSERT_EQ(m.problems().size(), 1u);
  EXPECT_THAT(m.problems()[0], HasSubstr("share the id 1874778082"));
}

TEST_F(MembershipTest, TransportProblemsLastUntilCleared) {
  membership_->report_problem("queue q", "queue q exists with\r\nother arguments");
  EXPECT_EQ(membership_->problems(), std::vector<std::string>{"queue q exists with  other arguments"});
  membership_->report_problem("queue q", "");
  EXPECT_THAT(membership_->problems(), IsEmpty());
}

TEST_F(MembershipTest, SendsAHelloFromEveryLocalRegionEachInterval) {
  RegionRegistry regions({"east", "west", "north"}, {"east", "west"});
  options_.heartbeat_ms = 5;
  Membership m(options_, &regions, &clock_, kMe, [this](const EventBatch& b) {
    std::lock_guard lock(mu_);
    sent_.push_back(b);
    return Status::Ok();
  });
  m.start();
  auto count = [&](RegionId r) {
    std::lock_guard lock(mu_);
    return std::count_if(sent_.begin(), sent_.end(), [&](const EventBatch& b) { return b.origin == r; });
  };
  EXPECT_TRUE(eventually([&] { return count(kEast) >= 3 && count(kWest) >= 3; }));
  m.stop();
  std::lock_guard lock(mu_);
  EXPECT_EQ(
      std::count_if(sent_.begin(), sent_.end(), [](const EventBatch& b) { return b.origin == region_id_for("north"); }),
      0);
  const EventBatch& b = sent_.front();
  EXPECT_EQ(b.kind, BatchKind::kHello);
  EXPECT_EQ(b.instance_id, kMe);
  EXPECT_EQ(b.protocol, kProtocolVersion);
  EXPECT_EQ(b.wall_ms, clock_.now_ms());
  EXPECT_EQ(b.region_name, regions.name(b.origin));
}

}  // namespace
}  // namespace geocache
