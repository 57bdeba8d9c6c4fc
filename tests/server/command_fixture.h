// CommandFixture: runs commands in-process through the server's own dispatch
// (CommandTable::dispatch, as a Connection calls it) and returns the raw
// reply bytes, so tests compare exactly what a client would read, refusals
// included (unknown command, arity, NOAUTH):
//
//   EXPECT_EQ(run({"SET", "k", "v"}), "+OK\r\n");
//
// It builds a GeoCache hosting two regions ("r1" = kR1, "r2" = kR2) linked by the
// in-process transport, and a ServerState, both on one ManualClock (TTL,
// uptime and client-age tests move time, never sleep). The session is
// registered like a connection's, and each command counts as an interaction
// at the clock's time, as a read does in Connection.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/geo_cache.h"
#include "config/config.h"
#include "core/clock.h"
#include "server/client_session.h"
#include "server/command.h"
#include "server/command_table.h"
#include "server/errors.h"
#include "server/reply_writer.h"
#include "server/server_state.h"

namespace geocache::testing {

class CommandFixture : public ::testing::Test {
 protected:
  static constexpr RegionId kR1 = region_id_for("r1");
  static constexpr RegionId kR2 = region_id_for("r2");

  // config: the server's settings (e.g. requirepass for AUTH tests).
  explicit CommandFixture(const Config& config = Config{}) : server_(config, &clock_) {
    GeoCacheOptions options;
    options.regions = {"r1", "r2"};
    options.home_region = "r1";
    auto transport = make_in_process_transport(options);
    transport_ = transport.get();
    cache_ = std::make_unique<GeoCache>(options, std::move(transport), &clock_);
    EXPECT_TRUE(cache_->start().ok());
    session_.authenticated = !server_.auth_required();
    session_.created_ms = clock_.now_ms();
    session_.last_interaction_ms.store(session_.created_ms);
    server_.register_client(&session_);
  }
  ~CommandFixture() override {
    server_.unregister_client(&session_);
    cache_->stop();
  }

  // Runs one command in `region` and returns its reply bytes.
  std::string run_in(RegionId region, std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyWriter writer(&out);
    writer.set_protocol(protocol_);
    session_.region = region;
    session_.protocol = protocol_;
    session_.last_interaction_ms.store(clock_.now_ms());
    CommandContext ctx{*cache_, region, writer, server_, session_};
    CommandTable::instance().dispatch(ctx, views);
    return out;
  }
  std::string run(std::vector<std::string> args) { return run_in(kR1, std::move(args)); }

  // Holds every write in its region until quiesce(): writes in the two
  // regions from now on are concurrent, whatever the timing.
  void partition() {
    transport_->cut(kR1, kR2);
    transport_->cut(kR2, kR1);
  }
  // Delivers every write to the other region (in-process replication).
  void quiesce() {
    transport_->heal(kR1, kR2);
    transport_->heal(kR2, kR1);
    ASSERT_TRUE(cache_->wait_replicated());
  }

  void use_resp3() { protocol_ = 3; }
  int64_t now_ms() const { return clock_.now_ms(); }

  // Expected reply bytes.
  static std::string ok() { return "+OK\r\n"; }
  static std::string nil() { return "$-1\r\n"; }
  static std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
  static std::string integer(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
  static std::string err(std::string_view line) { return "-" + std::string(line) + "\r\n"; }
  static std::string simple(std::string_view s) { return "+" + std::string(s) + "\r\n"; }
  // An array of bulk strings.
  static std::string bulks(std::initializer_list<std::string_view> items) {
    std::string out = "*" + std::to_string(items.size()) + "\r\n";
    for (auto s : items) out += bulk(s);
    return out;
  }
  static std::string wrongtype() { return err(errors::kWrongType); }

  ManualClock clock_;
  InProcessTransport* transport_ = nullptr;  // owned by cache_
  std::unique_ptr<GeoCache> cache_;
  ServerState server_;
  ClientSession session_;
  int protocol_ = 2;
};

}  // namespace geocache::testing
