// ryw_bench: read-your-writes across regions (issue 9's bar: 10,000 of
// 10,000 cross-region checks). Three regions 1, 40 and 120 ms from the
// clients (geocached processes behind DelayRelays) replicate through a real
// broker; the closest region's own link to the broker is delayed too, so it
// applies a write about when the writer gets its reply, sometimes before,
// sometimes after.
//
//   ryw_bench --amqp-url URL [--checks N] [--clients N] [--broker-delay-ms MS] [--wait-ms MS]
//
// Each client (a thread with its own geocache::Client, home "mid") writes a
// key and at once reads it back (from "near", the closest), N times in all.
// It runs twice: with read-your-writes (the client's token: the read waits
// for near to apply the write, or goes home) and without (the token
// cleared before each read: what a plain closest-region read returns).
// Prints, for each: checks, reads that returned the write, reads served by
// near and sent home, and the read latency.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "relayed_region.h"

namespace {

using geocache::testing::RelayedRegion;
using SteadyClock = std::chrono::steady_clock;

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

struct Totals {
  std::atomic<int> checks{0}, own{0}, from_near{0}, failed{0};
  std::atomic<uint64_t> sent_home{0};
  std::mutex mu;
  std::vector<double> read_ms;
};

void run_client(const geocache::ClientOptions& o, int id, int checks, bool ryw, Totals* t) {
  geocache::Client client(o);
  std::vector<double> lat;
  for (int i = 0; i < checks; ++i) {
    const std::string key = (ryw ? "ryw:" : "plain:") + std::to_string(id) + ":" + std::to_string(i);
    const std::string value = std::to_string(i);
    if (!client.set(key, value).ok()) {
      ++t->failed;
      continue;
    }
    if (!ryw) client.set_session_token("");
    const auto t0 = SteadyClock::now();
    auto read = client.get(key);
    lat.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    ++t->checks;
    if (!read.ok()) {
      ++t->failed;
      continue;
    }
    t->own += *read == std::optional<std::string>(value);
    t->from_near += client.last_read_region() == "near";
  }
  t->sent_home += client.reads_sent_home();
  std::lock_guard lock(t->mu);
  t->read_ms.insert(t->read_ms.end(), lat.begin(), lat.end());
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int checks = 10'000, clients = 8;
  double broker_delay_ms = 22;
  int64_t wait_ms = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--amqp-url")) url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--checks")) checks = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--clients")) clients = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--broker-delay-ms")) broker_delay_ms = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--wait-ms")) wait_ms = std::atoll(argv[i + 1]);
    else url = "";
  }
  if (url.empty() || clients < 1 || checks < clients) {
    std::fprintf(stderr,
                 "usage: ryw_bench --amqp-url URL [--checks N] [--clients N] [--broker-delay-ms MS] [--wait-ms MS]\n");
    return 2;
  }
  const std::string base = "ryw-bench-" + std::to_string(getpid()) + "-";
  const std::vector<std::string> args = {"--regions", "near,mid,far", "--amqp-url", url, "--amqp-exchange", base + "x",
                                         "--amqp-queue-prefix", base + "q.", "--loglevel", "warning"};
  auto near = RelayedRegion::start("near", 1.0, args, broker_delay_ms);
  auto mid = RelayedRegion::start("mid", 40.0, args);
  auto far = RelayedRegion::start("far", 120.0, args);
  if (!near || !mid || !far) return 1;
  std::this_thread::sleep_for(std::chrono::seconds(2));  // warm-ups (a bench: no assertion rides on it)

  geocache::ClientOptions o;
  o.regions = {{"near", "127.0.0.1", near->port()}, {"mid", "127.0.0.1", mid->port()}, {"far", "127.0.0.1", far->port()}};
  o.home = "mid";
  o.read_your_writes_wait_ms = wait_ms;
  std::printf("read-your-writes: %d checks, %d clients, home mid (40 ms), reads near (1 ms), near's broker link +%.0f ms "
              "each way, wait bound %lld ms\n\n",
              checks, clients, broker_delay_ms, static_cast<long long>(wait_ms));
  std::printf("%-22s %8s %12s %10s %10s %8s %10s %10s\n", "mode", "checks", "own writes", "from near", "sent home",
              "failed", "read p50", "read p99");
  for (bool ryw : {true, false}) {
    Totals t;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      const int mine = checks / clients + (c < checks % clients ? 1 : 0);
      threads.emplace_back(run_client, o, c, mine, ryw, &t);
    }
    for (auto& th : threads) th.join();
    std::printf("%-22s %8d %12d %10d %10llu %8d %8.2fms %8.2fms\n", ryw ? "GEO.WAIT token" : "plain closest read",
                t.checks.load(), t.own.load(), t.from_near.load(), static_cast<unsigned long long>(t.sent_home.load()),
                t.failed.load(), quantile(t.read_ms, 0.5), quantile(t.read_ms, 0.99));
  }
  return 0;
}
