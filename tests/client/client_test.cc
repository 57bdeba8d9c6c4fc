// geocache::Client against real geocached processes, each behind a
// DelayRelay that makes it 1, 40 or 120 ms away. The processes are separate
// deployments of one region each (no broker needed): the tests write what
// they read into each of them directly; but the read-your-writes test,
// whose regions replicate through the test broker. Conditions are awaited with a
// deadline; no upper bound on any time is asserted.
#include "client/client.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "geocached_process.h"
#include "relay/delay_relay.h"
#include "relayed_region.h"
#include "test_broker.h"

namespace geocache {
namespace {

using testing::GeocachedProcess;
using SteadyClock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

// A region: a geocached process and the relay in front of it.
struct Region {
  Region(const std::string& name, double rtt_ms) : name(name) {
    server = std::make_unique<GeocachedProcess>(std::vector<std::string>{}, std::vector<std::string>{name});
    DelayRelayOptions o;
    o.target_port = server->port();
    o.one_way = std::chrono::microseconds(static_cast<int64_t>(rtt_ms * 500));
    relay = std::make_unique<DelayRelay>(o);
    relay->start();
  }
  // Writes straight into this region's process, past the client.
  void put(const std::string& key, const std::string& value) {
    auto c = server->connect();
    ASSERT_EQ(testing::command_text(c.get(), {"SET", key, value}), "OK");
  }
  std::optional<std::string> read(const std::string& key) {
    auto c = server->connect();
    return testing::command_text(c.get(), {"GET", key});
  }
  std::string name;
  std::unique_ptr<GeocachedProcess> server;
  std::unique_ptr<DelayRelay> relay;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [name, rtt] : {std::pair{"near", 1.0}, {"mid", 40.0}, {"far", 120.0}}) {
      regions_[name] = std::make_unique<Region>(name, rtt);
      ASSERT_TRUE(regions_[name]->server->started()) << regions_[name]->server->log();
    }
  }
  ClientOptions options(const std::string& home = "mid") {
    ClientOptions o;
    for (const auto& [name, r] : regions_) o.regions.push_back({name, "127.0.0.1", r->relay->port()});
    o.home = home;
    o.probe_interval_ms = 50;
    o.breaker.open_interval_ms = 300;
    return o;
  }
  std::map<std::string, std::unique_ptr<Region>> regions_;
};

TEST_F(ClientTest, ReadsGoToTheClosestRegion) {
  for (auto& [name, r] : regions_) r->put("k", "v");
  Client client(options());
  // A first probe slowed down by a loaded machine may pick another region;
  // the next rounds correct it.
  ASSERT_TRUE(eventually([&] { return client.read_region() == "near"; })) << client.read_region();
  for (int i = 0; i < 20; ++i) {
    auto v = client.get("k");
    ASSERT_TRUE(v.ok()) << v.status().message();
    EXPECT_EQ(*v, std::optional<std::string>("v"));
    EXPECT_EQ(client.last_read_region(), "near");
  }
  auto missing = client.get("nothing here");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(ClientTest, WritesGoHome) {
  Client client(options("far"));
  ASSERT_TRUE(client.set("w", "x").ok());
  EXPECT_EQ(regions_["far"]->read("w"), "x");
  EXPECT_EQ(regions_["near"]->read("w"), std::nullopt);
  ASSERT_TRUE(client.set("t", "y", 100'000).ok());
  auto c = regions_["far"]->server->connect();
  const auto pttl = testing::command_text(c.get(), {"PTTL", "t"});
  ASSERT_TRUE(pttl.has_value());
  EXPECT_GT(std::stoll(*pttl), 0);
  auto existed = client.del("w");
  ASSERT_TRUE(existed.ok());
  EXPECT_TRUE(*existed);
  EXPECT_EQ(regions_["far"]->read("w"), std::nullopt);
  existed = client.del("w");
  ASSERT_TRUE(existed.ok());
  EXPECT_FALSE(*existed);
}

TEST_F(ClientTest, FailsOverWhenTheClosestDiesAndComesBackWhenItHeals) {
  for (auto& [name, r] : regions_) r->put("k", "v");
  Client client(options());
  ASSERT_TRUE(eventually([&] { return client.read_region() == "near"; })) << client.read_region();
  auto v = client.get("k");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(client.last_read_region(), "near");

  regions_["near"]->server->kill_now();
  // Every read succeeds, from the next closest region, from the first on.
  for (int i = 0; i < 10; ++i) {
    v = client.get("k");
    ASSERT_TRUE(v.ok()) << "read " << i << ": " << v.status().message();
    EXPECT_EQ(*v, std::optional<std::string>("v"));
    EXPECT_EQ(client.last_read_region(), "mid");
  }
  EXPECT_TRUE(eventually([&] { return client.read_region() == "mid"; }));

  ASSERT_TRUE(regions_["near"]->server->restart());
  regions_["near"]->put("k", "v");
  EXPECT_TRUE(eventually([&] { return client.read_region() == "near"; }));
  v = client.get("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(client.last_read_region(), "near");
}

TEST_F(ClientTest, WritesFailWhileHomeIsDown) {
  Client client(options("near"));
  regions_["near"]->server->kill_now();
  EXPECT_EQ(client.set("w", "x").code(), StatusCode::kUnavailable);
  ASSERT_TRUE(regions_["near"]->server->restart());
  EXPECT_TRUE(eventually([&] { return client.set("w", "x").ok(); }));
}

TEST_F(ClientTest, NoRegionAnswers) {
  Client client(options());
  for (auto& [name, r] : regions_) r->server->kill_now();
  auto v = client.get("k");
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
}

// Two regions a few percent apart: the read region stays where it is.
TEST(ClientHysteresis, DoesNotFlapBetweenTwoCloseRegions) {
  Region a("a", 40), b("b", 40);
  ASSERT_TRUE(a.server->started() && b.server->started());
  ClientOptions o;
  o.regions = {{"a", "127.0.0.1", a.relay->port()}, {"b", "127.0.0.1", b.relay->port()}};
  o.home = "a";
  o.probe_interval_ms = 10;
  Client client(o);
  const std::string first = client.read_region();
  ASSERT_FALSE(first.empty());
  const uint64_t until = client.probe_rounds() + 50;
  while (client.probe_rounds() < until) {
    ASSERT_EQ(client.read_region(), first);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The endpoints from any one node: what its regions announce (here, the
// relays in front of them), then reads from the closest.
TEST(ClientDiscovery, EndpointsComeFromAnyNode) {
  const std::vector<std::string> names = {"near", "mid", "far"};
  const std::vector<double> rtts = {1, 40, 120};
  std::vector<int> relay_ports;
  std::string announce;
  for (const std::string& name : names) {
    relay_ports.push_back(testing::free_port());
    announce += (announce.empty() ? "" : ",") + name + "=127.0.0.1:" + std::to_string(relay_ports.back());
  }
  GeocachedProcess server({"--announce", announce}, names);
  ASSERT_TRUE(server.started()) << server.log();
  std::vector<std::unique_ptr<DelayRelay>> relays;
  for (size_t i = 0; i < names.size(); ++i) {
    DelayRelayOptions o;
    o.listen_port = relay_ports[i];
    o.target_port = server.port(names[i]);
    o.one_way = std::chrono::microseconds(static_cast<int64_t>(rtts[i] * 500));
    relays.push_back(std::make_unique<DelayRelay>(o));
    relays.back()->start();
  }
  auto found = Client::discover("127.0.0.1", server.port("far"));
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_EQ(found->size(), 3u);
  for (const RegionEndpoint& e : *found) {
    const size_t i = std::find(names.begin(), names.end(), e.name) - names.begin();
    ASSERT_LT(i, names.size()) << e.name;
    EXPECT_EQ(e.host, "127.0.0.1");
    EXPECT_EQ(e.port, relay_ports[i]) << e.name;
  }
  ClientOptions o;
  o.regions = *found;
  o.home = "far";
  Client client(o);
  EXPECT_TRUE(eventually([&] { return client.read_region() == "near"; })) << client.read_region();

  // Without announce, the bind address and the region's port.
  GeocachedProcess plain;
  found = Client::discover("127.0.0.1", plain.port());
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].name, "local");
  EXPECT_EQ((*found)[0].port, plain.port());
  EXPECT_EQ(Client::discover("127.0.0.1", testing::free_port()).status().code(), StatusCode::kUnavailable);
}

// Read-your-writes across regions, with the client's closest region lagging
// behind its home region: the client writes at home (mid, 20 ms away) and
// reads from near (1 ms away), whose link to the broker is 40 ms long each
// way, so near applies a write well after the client has its reply. A read
// there waits for the write (GEO.WAIT) or goes home; either way the client
// reads what it wrote, every time.
TEST(ClientReadYourWrites, ClientReadsItsOwnWritesFromALaggingCloserRegion) {
  const std::string url = testing::test_amqp_url();
  if (url.empty()) GTEST_SKIP() << "GEOCACHE_TEST_AMQP_URL not set (scripts/test.sh starts a broker)";
  const std::string base = testing::unique_name("client-ryw");
  const std::vector<std::string> args = {"--regions", "near,mid", "--amqp-url", url, "--amqp-exchange", base + "x",
                                         "--amqp-queue-prefix", base + "q.", "--loglevel", "warning"};
  auto near = testing::RelayedRegion::start("near", 1.0, args, /*broker_delay_ms=*/40);
  auto mid = testing::RelayedRegion::start("mid", 20.0, args);
  ASSERT_TRUE(near && mid);
  // Both warm (each has had the other's snapshot): a warm-up under way holds
  // GEO.WAIT back.
  for (auto* r : {near.get(), mid.get()}) {
    ASSERT_TRUE(eventually([&] {
      auto c = r->server->connect();
      auto info = testing::command_text(c.get(), {"INFO", "geo"});
      return info && info->find("\nwarming:0") != std::string::npos;
    })) << r->name;
  }
  ClientOptions o;
  o.regions = {{"near", "127.0.0.1", near->port()}, {"mid", "127.0.0.1", mid->port()}};
  o.home = "mid";
  o.probe_interval_ms = 50;
  // Far beyond the lag (about 80 ms, longer under the sanitizers and a loaded
  // machine): reads wait rather than go home.
  o.read_your_writes_wait_ms = 5000;
  o.command_timeout_ms = 10000;
  Client client(o);
  ASSERT_TRUE(eventually([&] { return client.read_region() == "near"; })) << client.read_region();
  constexpr int kChecks = 40;
  int own = 0, from_near = 0;
  for (int i = 0; i < kChecks; ++i) {
    const std::string key = "ryw" + std::to_string(i), value = "v" + std::to_string(i);
    ASSERT_TRUE(client.set(key, value).ok());
    auto read = client.get(key);
    ASSERT_TRUE(read.ok()) << read.status().message();
    own += *read == std::optional<std::string>(value);
    from_near += client.last_read_region() == "near";
  }
  EXPECT_EQ(own, kChecks);
  EXPECT_EQ(from_near, kChecks);  // it waited for near rather than going home
  EXPECT_EQ(client.reads_sent_home(), 0u);

  // A bound shorter than the lag: the reads go home, and still read the write.
  o.read_your_writes_wait_ms = 1;
  Client hasty(o);
  ASSERT_TRUE(eventually([&] { return hasty.read_region() == "near"; })) << hasty.read_region();
  ASSERT_TRUE(hasty.set("hasty", "h").ok());
  auto read = hasty.get("hasty");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, std::optional<std::string>("h"));
  EXPECT_EQ(hasty.last_read_region(), "mid");
  EXPECT_EQ(hasty.reads_sent_home(), 1u);

  // The token carries to another client: it reads the first client's write.
  Client other(o);
  other.set_session_token(client.session_token());
  auto seen = other.get("ryw" + std::to_string(kChecks - 1));
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, std::optional<std::string>("v" + std::to_string(kChecks - 1)));
}

TEST(ClientOptions, Validates) {
  ClientOptions o;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.regions = {{"a", "127.0.0.1", 1}, {"a", "127.0.0.1", 2}};
  o.home = "a";
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.regions[1].name = "b";
  EXPECT_NO_THROW(o.validate());
  o.home = "c";
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace geocache
