// faults_bench: the long fault scenarios of issue 8, with the figures of its
// bars, on the fault harness of tests/faults (regions as network namespaces,
// a private broker, kill -9, link cuts). Needs root.
//
//   faults_bench [--scenario partition|kill|queue-full|misconfig|all]
//                [--rate N] [--partition-s S] [--down-s S] [--after-s S]
//                [--preload N] [--queue-bytes B] [--lag-s S] [--control-s S]
//                [--fast-reconnect] [--node-arg ARG]... [--seed N]
//
// partition:  3 regions under --rate writes/s each (default 500); east's link
//             cut for --partition-s (30); at the heal the load stops; prints
//             the time from the heal to agreement and the acknowledged writes
//             lost (deletes included), and each node's resyncs (by backlog or
//             snapshot, records moved). With --queue-bytes the queues are
//             bounded too, so east's overflows and east resyncs.
// kill:       the same load; west killed with SIGKILL, started again after
//             --down-s (5), the load goes on --after-s (5) more; prints the
//             time from the restart to agreement and the lost writes.
//             --preload N first writes N keys to every region (a store large
//             enough that the restarted node's warm-up takes a while).
// queue-full: every queue bounded at --queue-bytes (1 MiB); the lag of
//             east's writes seen in west (a probe every 20 ms) for --lag-s
//             (10) with all regions up, then again once north is down and its
//             queue is full. Each window also prints how busy the machine's
//             cores were (/proc/stat): other work on a shared machine is
//             noise the lag figures do not show. --control-s S: north stays
//             up and the second window comes S s after the first ends (the
//             time a fill takes, polled alike): what time alone changes.
// misconfig:  no load; each misconfigured start of issue 8, and the time from
//             the misconfigured process's start until each node concerned
//             shows it, in its log (the line's level) and as a problem in
//             INFO geo (which GEO.REGIONS shows too): a second west (another
//             port in west's namespace); a hello of the next protocol
//             version, as a node of another geocache version sends at its
//             start (published from the hub as region "south"); west started
//             again with the queue arguments of another configuration
//             (reject-publish: PRECONDITION_FAILED); north started again with
//             its clock 10 minutes ahead (libfaketime).
//
// Nodes run with geocached's own defaults; --fast-reconnect gives them the
// harness's short reconnect and heartbeat settings (FaultClusterOptions).
// --node-arg adds one argument to every node's flags (repeat it: --node-arg
// --amqp-reconnect-max-ms --node-arg 10000).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "convergence_check.h"
#include "fault_cluster.h"
#include "messaging/amqp_transport.h"
#include "messaging/event.h"
#include "messaging/region_registry.h"
#include "netns.h"
#include "write_load.h"

namespace geocache::bench {
namespace {

using namespace geocache::testing;

struct Config {
  std::string scenario = "all";
  double rate = 500;
  double partition_s = 30;
  double down_s = 5;
  double after_s = 5;
  int preload = 0;
  int64_t queue_bytes = 1 << 20;
  bool queue_bytes_given = false;  // partition: bound the queues too
  double lag_s = 10;
  double control_s = 0;
  bool fast_reconnect = false;
  std::vector<std::string> node_args;
  uint64_t seed = 1;
};

double ms_since(int64_t since_us) { return static_cast<double>(wall_now_us() - since_us) / 1000.0; }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

FaultClusterOptions cluster_options(const Config& config) {
  FaultClusterOptions options;
  if (!config.fast_reconnect) options.node_args.clear();
  options.node_args.insert(options.node_args.end(), config.node_args.begin(), config.node_args.end());
  return options;
}

LoadOptions load_options(const Config& config) {
  LoadOptions options;
  options.writes_per_second = config.rate;
  options.string_keys = 5000;
  options.hashes_per_region = 200;
  options.seed = config.seed;
  return options;
}

void start_or_throw(FaultCluster& cluster) {
  if (!cluster.start()) throw std::runtime_error("cluster did not start: " + cluster.error());
}

// Waits for agreement on the history's keys and prints what the check finds,
// both by the rule and by geocached's behaviour before the fix of
// deletes of absent keys, so the two kinds of loss can be told apart.
void report_convergence(FaultCluster& cluster, const std::vector<Write>& history, int64_t since_us,
                        const char* since_what, const std::vector<Crash>& crashes) {
  const Agreement agreement =
      await_agreement(cluster.regions(), cluster.connector(2'000, 30'000), keys_of(history), 120'000);
  const double since_ms = ms_since(since_us);
  if (!agreement.reached) {
    std::printf("  NO AGREEMENT within 120 s of the load's end: %s\n", agreement.summary().c_str());
  } else {
    std::printf("  agreement: %.0f ms after the %s (%lld ms after the load stopped, %d polls)\n", since_ms, since_what,
                static_cast<long long>(agreement.elapsed_ms), agreement.polls);
  }
  CheckOptions strict;
  strict.crashes = crashes;
  const Verdict verdict = check_history(history, agreement.last.at(cluster.regions().front()), strict);
  CheckOptions lenient = strict;
  lenient.deletes_of_absent_keys_win = false;
  const Verdict before_fix = check_history(history, agreement.last.at(cluster.regions().front()), lenient);
  std::printf(
      "  keys with a lost acknowledged write: %zu (%zu of them only DELs that found the key absent where "
      "they ran); lost with a killed node's unpublished outbox: %zu\n",
      verdict.lost.size(), verdict.lost.size() - before_fix.lost.size(), verdict.lost_in_crash.size());
  std::printf("  %s", verdict.summary(5).c_str());
}

void print_load(const WriteLoad& load, const std::vector<std::string>& regions) {
  for (const auto& r : regions) {
    const auto c = load.counts(r);
    std::printf("  %s: %lld acknowledged, %lld unanswered, %lld refused\n", r.c_str(), static_cast<long long>(c.acked),
                static_cast<long long>(c.unanswered), static_cast<long long>(c.refused));
  }
}

std::vector<Write> preload(FaultCluster& cluster, int per_region) {
  std::vector<Write> out;
  if (per_region <= 0) return out;
  for (const auto& region : cluster.regions()) {
    auto c = cluster.connect(region, 2'000, 30'000);
    if (!c || c->err) throw std::runtime_error("cannot connect to " + region);
    auto writes = bulk_set(c.get(), region, "p:" + region + ":", per_region);
    out.insert(out.end(), writes.begin(), writes.end());
  }
  const Agreement a = await_agreement(cluster.regions(), cluster.connector(2'000, 30'000), keys_of(out), 120'000);
  std::printf("  preloaded %d keys per region; %s\n", per_region,
              a.reached ? "replicated everywhere" : "NOT replicated");
  return out;
}

std::string info_line(const std::string& info, const std::string& name);

// What the resyncs of each node took (INFO geo): by backlog or snapshot, the
// records they carried, the gaps seen.
void print_resyncs(FaultCluster& cluster) {
  for (const std::string& r : cluster.regions()) {
    auto c = cluster.connect(r);
    const std::string info = c && !c->err ? command_text(c.get(), {"INFO", "geo"}).value_or("") : "";
    std::printf("  %s:", r.c_str());
    for (const char* name : {"gaps", "resyncs_by_backlog", "resyncs_by_snapshot", "resync_records_in",
                             "resync_bytes_in", "resync_last_ms"}) {
      const std::string line = info_line(info, name);
      std::printf(" %s", line.empty() ? (std::string(name) + ":?").c_str() : line.c_str());
    }
    std::printf("\n");
  }
}

void partition(const Config& config) {
  std::printf("== partition: east cut for %.0f s under %zu x %.0f writes/s%s\n", config.partition_s, size_t{3},
              config.rate, config.queue_bytes_given ? ", queues bounded (drop-head)" : "");
  FaultClusterOptions options = cluster_options(config);
  if (config.queue_bytes_given) {
    // A bound the cut region's queue outgrows: it loses events, and resyncs.
    options.node_args.insert(options.node_args.end(), {"--amqp-queue-max-bytes", std::to_string(config.queue_bytes)});
  }
  FaultCluster cluster(options);
  start_or_throw(cluster);
  WriteLoad load(cluster.regions(), cluster.connector(), load_options(config));
  load.start();
  sleep_s(2);  // warm: every region writing, replicating
  cluster.cut("east");
  const int64_t east_before = load.counts("east").acked;
  sleep_s(config.partition_s);
  cluster.heal("east");
  const int64_t healed_us = wall_now_us();
  load.stop();
  std::printf("  east acknowledged %lld writes while cut off\n",
              static_cast<long long>(load.counts("east").acked - east_before));
  print_load(load, cluster.regions());
  report_convergence(cluster, load.history(), healed_us, "heal", {});
  print_resyncs(cluster);
}

void kill_restart(const Config& config) {
  std::printf("== kill -9 of west, down %.0f s, under %zu x %.0f writes/s, %.0f s more after its restart\n",
              config.down_s, size_t{3}, config.rate, config.after_s);
  FaultCluster cluster(cluster_options(config));
  start_or_throw(cluster);
  std::vector<Write> history = preload(cluster, config.preload);
  WriteLoad load(cluster.regions(), cluster.connector(), load_options(config));
  load.start();
  sleep_s(2);
  cluster.kill_node("west");
  const std::vector<Crash> crashes = {{"west", wall_now_us()}};
  sleep_s(config.down_s);
  const auto t0 = std::chrono::steady_clock::now();
  if (!cluster.restart_node("west")) throw std::runtime_error(cluster.error());
  const int64_t restarted_us = wall_now_us();
  std::printf("  west answered PING %.0f ms after its start\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  sleep_s(config.after_s);
  load.stop();
  print_load(load, cluster.regions());
  history.insert(history.end(), load.history().begin(), load.history().end());
  report_convergence(cluster, history, restarted_us, "restart", crashes);
}

// The machine's CPU time so far (/proc/stat, all cores): busy and total jiffies.
struct CpuTimes {
  uint64_t busy = 0, total = 0;
};
CpuTimes cpu_times() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  f >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  CpuTimes t;
  t.busy = user + nice + system + irq + softirq + steal;
  t.total = t.busy + idle + iowait;
  return t;
}

// Lag of writes at `from` seen at `to`: every 20 ms a SET, then GETs on the
// other side until it shows (or 5 s pass: counted as a timeout).
struct LagResult {
  std::vector<double> lags_ms;
  int timeouts = 0;
  double busy_percent = 0;  // of all cores, over the window
  double quantile(double q) const {
    if (lags_ms.empty()) return 0;
    std::vector<double> v = lags_ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  }
};

LagResult measure_lag(FaultCluster& cluster, const std::string& from, const std::string& to, double seconds,
                      int* probe_id) {
  LagResult out;
  auto writer = cluster.connect(from);
  auto reader = cluster.connect(to);
  const CpuTimes cpu_before = cpu_times();
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const std::string key = "lag:" + std::to_string(++*probe_id);
    if (command_text(writer.get(), {"SET", key, "1"}) != "OK") throw std::runtime_error("probe SET failed");
    const auto acked = std::chrono::steady_clock::now();
    bool seen = false;
    while (std::chrono::steady_clock::now() - acked < std::chrono::seconds(5)) {
      if (command_text(reader.get(), {"GET", key}) == "1") {
        seen = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (seen) {
      out.lags_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - acked).count());
    } else {
      ++out.timeouts;
    }
    std::this_thread::sleep_until(acked + std::chrono::milliseconds(20));
  }
  const CpuTimes cpu_after = cpu_times();
  if (cpu_after.total > cpu_before.total) {
    out.busy_percent = 100.0 * static_cast<double>(cpu_after.busy - cpu_before.busy) /
                       static_cast<double>(cpu_after.total - cpu_before.total);
  }
  return out;
}

void print_lag(const char* label, const LagResult& r) {
  std::printf(
      "  %-34s probes %4zu  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  not seen within 5 s: %d  cores busy %3.0f%%\n",
      label, r.lags_ms.size(), r.quantile(0.5), r.quantile(0.99), r.quantile(1.0), r.timeouts, r.busy_percent);
}

int64_t queue_bytes(FaultCluster& cluster, const std::string& region) {
  std::string out;
  if (!cluster.broker_ctl({"list_queues", "-q", "name", "message_bytes"}, &out)) return -1;
  const std::string name = "geocache.region." + region;
  size_t at = out.find(name + "\t");
  if (at == std::string::npos) return -1;
  return std::stoll(out.substr(at + name.size() + 1));
}

void queue_full(const Config& config) {
  std::printf("== queue full: queues bounded at %lld bytes, north %s; east->west lag under %zu x %.0f writes/s\n",
              static_cast<long long>(config.queue_bytes), config.control_s > 0 ? "up (control)" : "down", size_t{3},
              config.rate);
  FaultClusterOptions options = cluster_options(config);
  options.node_args.insert(options.node_args.end(), {"--amqp-queue-max-bytes", std::to_string(config.queue_bytes)});
  FaultCluster cluster(options);
  start_or_throw(cluster);
  WriteLoad load(cluster.regions(), cluster.connector(), load_options(config));
  load.start();
  sleep_s(2);
  int probe = 0;
  print_lag("all regions up:", measure_lag(cluster, "east", "west", config.lag_s, &probe));
  if (config.control_s > 0) {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(config.control_s)) {
      queue_bytes(cluster, "north");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    print_lag("control: all up, as much later:", measure_lag(cluster, "east", "west", config.lag_s, &probe));
    load.stop();
    print_load(load, cluster.regions());
    return;
  }
  cluster.kill_node("north");
  const auto t0 = std::chrono::steady_clock::now();
  int64_t bytes = 0;
  while ((bytes = queue_bytes(cluster, "north")) < config.queue_bytes * 9 / 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(300)) {
      std::printf("  north's queue did not fill in 300 s (%lld bytes)\n", static_cast<long long>(bytes));
      break;
    }
  }
  std::printf("  north's queue at %lld bytes %.1f s after north went down\n", static_cast<long long>(bytes),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  print_lag("north down, its queue full:", measure_lag(cluster, "east", "west", config.lag_s, &probe));
  load.stop();
  print_load(load, cluster.regions());
}

// ---------------------------------------------------------------- misconfig

using SteadyTime = std::chrono::steady_clock::time_point;

double ms_since(SteadyTime t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// INFO geo of a node, through a connection kept across calls ("" while it
// cannot be reached).
std::function<std::string()> info_reader(std::function<RedisConnection()> connect) {
  auto c = std::make_shared<RedisConnection>();
  return [c, connect]() -> std::string {
    if (!*c || (*c)->err) *c = connect();
    if (!*c || (*c)->err) return "";
    return command_text(c->get(), {"INFO", "geo"}).value_or("");
  };
}

// Something a node shows: `text` in its log or its INFO geo.
struct Sign {
  std::string node;
  std::string where;  // "log" or "INFO"
  std::string text;
  std::function<std::string()> read;
  double seen_ms = -1;
  std::string line;  // the line that showed it
};

// One sign in the log and one in INFO geo of a node.
void add_signs(std::vector<Sign>* signs, const std::string& node, const GeocachedProcess& process,
               std::function<RedisConnection()> connect, const std::string& text) {
  signs->push_back({node, "log", text, [&process] { return process.log(); }, -1, ""});
  signs->push_back({node, "INFO", text, info_reader(std::move(connect)), -1, ""});
}

// Polls every sign every 10 ms until all are seen or timeout_s passes since
// t0; prints when each was seen and the line that showed it.
void await_signs(std::vector<Sign>& signs, SteadyTime t0, double timeout_s) {
  while (true) {
    bool all = true;
    for (Sign& s : signs) {
      if (s.seen_ms >= 0) continue;
      const std::string text = s.read();
      const size_t at = text.find(s.text);
      if (at == std::string::npos) {
        all = false;
        continue;
      }
      s.seen_ms = ms_since(t0);
      const size_t from = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
      s.line = text.substr(from, std::min<size_t>(text.find_first_of("\r\n", at) - from, 150));
    }
    if (all || ms_since(t0) > timeout_s * 1000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const Sign& s : signs) {
    if (s.seen_ms < 0) {
      // What it shows instead: the end of its log, or its INFO's problems.
      const std::string text = s.read();
      const size_t from =
          s.where == "log" ? (text.size() > 1500 ? text.find('\n', text.size() - 1500) : 0) : text.find("# Geo");
      std::printf("    %-8s %-4s  NOT SEEN within %.0f s: \"%s\"; it shows:\n%s\n", s.node.c_str(), s.where.c_str(),
                  timeout_s, s.text.c_str(), from == std::string::npos ? "" : text.substr(from).c_str());
    } else {
      std::printf("    %-8s %-4s %6.0f ms  %s\n", s.node.c_str(), s.where.c_str(), s.seen_ms, s.line.c_str());
    }
  }
}

// The line "name:..." of an INFO text, or "".
std::string info_line(const std::string& info, const std::string& name) {
  const size_t at = ("\n" + info).find("\n" + name + ":");
  if (at == std::string::npos) return "";
  return info.substr(at, info.find_first_of("\r\n", at) - at);
}

// Polls until every node's INFO geo shows every other region up and no problem.
bool await_healthy(FaultCluster& cluster, double timeout_s) {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  while (ms_since(t0) < timeout_s * 1000) {
    bool healthy = true;
    for (const auto& r : cluster.regions()) {
      auto c = cluster.connect(r);
      const std::string info = c && !c->err ? command_text(c.get(), {"INFO", "geo"}).value_or("") : "";
      healthy = healthy && info_line(info, "problems") == "problems:0";
      for (const auto& other : cluster.regions()) {
        if (other == r) continue;
        healthy = healthy && info_line(info, "region_" + other).find(",state=up,") != std::string::npos;
      }
    }
    if (healthy) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void misconfig(const Config& config) {
  std::printf("== misconfigured starts: time from the misconfigured process's start until each node shows it\n");
  FaultClusterOptions options = cluster_options(config);
  FaultClusterOptions skewed = options;
  skewed.clock_offsets["north"] = "+600";
  if (const std::string why = FaultCluster::unavailable_reason(skewed); !why.empty()) throw std::runtime_error(why);
  FaultCluster cluster(options);
  start_or_throw(cluster);
  auto connect_to = [&cluster](const std::string& region) {
    return [&cluster, region] { return cluster.connect(region); };
  };
  auto await_healthy_or_say = [&] {
    if (!await_healthy(cluster, 30)) std::printf("  (the deployment did not look healthy within 30 s)\n");
  };
  await_healthy_or_say();
  constexpr double kTimeoutS = 15;

  {
    const int port = FaultCluster::kNodePort + 1;
    std::printf("  -- a second west (port %d in west's namespace)\n", port);
    const SteadyTime t0 = std::chrono::steady_clock::now();
    auto twin = cluster.start_extra_node("west", port, {});
    if (!twin->started()) throw std::runtime_error("the second west did not start:\n" + twin->log());
    std::printf("    answered PING after %.0f ms\n", ms_since(t0));
    const std::string ns = cluster.network().netns("west");
    std::vector<Sign> signs;
    add_signs(
        &signs, "west-2", *twin, [port, ns] { return connect_port(port, 2'000, 5'000, ns); },
        "also served by another live process");
    add_signs(&signs, "west", cluster.node("west"), connect_to("west"), "also served by another live process");
    for (const char* r : {"east", "north"}) {
      add_signs(&signs, r, cluster.node(r), connect_to(r), "region west is served by two live processes");
    }
    await_signs(signs, t0, kTimeoutS);
    twin->terminate();
  }

  {
    std::printf("  -- a hello of protocol %u (this build speaks %u) from region south, published in the hub\n",
                kProtocolVersion + 1, kProtocolVersion);
    AmqpOptions o;
    o.url = cluster.broker_url();
    std::unique_ptr<AmqpTransport> south;
    {
      NetnsScope in(cluster.network().hub());  // the transport's threads are born here too
      if (!in.ok()) throw std::runtime_error("cannot enter the hub namespace");
      south = std::make_unique<AmqpTransport>(o, std::vector<std::string>{"south"});
      if (Status st = south->start(); !st.ok()) throw std::runtime_error("south: " + st.message());
    }
    EventBatch hello;
    hello.kind = BatchKind::kHello;
    hello.origin = region_id_for("south");
    hello.region_name = "south";
    hello.instance_id = 0x5eed;
    hello.protocol = kProtocolVersion + 1;
    hello.wall_ms = wall_now_us() / 1000;
    std::string bytes;
    encode_batch(hello, &bytes);
    const SteadyTime t0 = std::chrono::steady_clock::now();
    if (Status st = south->broadcast(hello.origin, bytes); !st.ok()) {
      throw std::runtime_error("south: " + st.message());
    }
    std::vector<Sign> signs;
    for (const auto& r : cluster.regions()) {
      add_signs(&signs, r, cluster.node(r), connect_to(r), "region south speaks replication protocol");
    }
    await_signs(signs, t0, kTimeoutS);
    south->stop();
  }

  {
    std::printf("  -- west started again with --amqp-queue-overflow reject-publish (its queue: drop-head)\n");
    cluster.node("west").terminate();
    const SteadyTime t0 = std::chrono::steady_clock::now();
    auto other = cluster.start_extra_node("west", FaultCluster::kNodePort, {"--amqp-queue-overflow", "reject-publish"});
    if (!other->started()) throw std::runtime_error("west did not start:\n" + other->log());
    std::printf("    answered PING after %.0f ms\n", ms_since(t0));
    std::vector<Sign> signs;
    add_signs(&signs, "west", *other, connect_to("west"), "PRECONDITION_FAILED");
    await_signs(signs, t0, kTimeoutS);
    other->terminate();
    if (!cluster.restart_node("west")) throw std::runtime_error(cluster.error());
  }

  {
    std::printf("  -- north started again with its clock 10 minutes ahead (libfaketime)\n");
    cluster.node("north").terminate();
    const SteadyTime t0 = std::chrono::steady_clock::now();
    auto ahead = cluster.start_extra_node("north", FaultCluster::kNodePort, {}, "+600");
    if (!ahead->started()) throw std::runtime_error("north did not start:\n" + ahead->log());
    std::printf("    answered PING after %.0f ms\n", ms_since(t0));
    std::vector<Sign> signs;
    for (const char* r : {"east", "west"}) {
      add_signs(&signs, r, cluster.node(r), connect_to(r), "region north's clock is at least");
    }
    add_signs(&signs, "north", *ahead, connect_to("north"), "clock seems");
    await_signs(signs, t0, kTimeoutS);
    // What showed it before heartbeats did: the clock guard's refusal of a write.
    std::printf("    then north writes one key:\n");
    auto c = cluster.connect("north");
    const SteadyTime t1 = std::chrono::steady_clock::now();
    if (command_text(c.get(), {"SET", "skewed", "1"}) != "OK") throw std::runtime_error("north refused a SET");
    std::vector<Sign> refusals;
    for (const char* r : {"east", "west"}) {
      refusals.push_back(
          {r, "log", "key 'skewed' carries version", [&cluster, r] { return cluster.node(r).log(); }, -1, ""});
    }
    await_signs(refusals, t1, kTimeoutS);
  }
}

int main_impl(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--scenario")
      config.scenario = next();
    else if (a == "--rate")
      config.rate = std::stod(next());
    else if (a == "--partition-s")
      config.partition_s = std::stod(next());
    else if (a == "--down-s")
      config.down_s = std::stod(next());
    else if (a == "--after-s")
      config.after_s = std::stod(next());
    else if (a == "--preload")
      config.preload = std::stoi(next());
    else if (a == "--queue-bytes")
      config.queue_bytes = std::stoll(next()), config.queue_bytes_given = true;
    else if (a == "--lag-s")
      config.lag_s = std::stod(next());
    else if (a == "--control-s")
      config.control_s = std::stod(next());
    else if (a == "--fast-reconnect")
      config.fast_reconnect = true;
    else if (a == "--node-arg")
      config.node_args.push_back(next());
    else if (a == "--seed")
      config.seed = std::stoull(next());
    else
      throw std::invalid_argument("unknown argument " + a);
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines show as they come, also into a file
  const std::string why = FaultCluster::unavailable_reason();
  if (!why.empty()) throw std::runtime_error(why);
  std::string node_args;
  for (const auto& a : config.node_args) node_args += " " + a;
  std::printf(
      "faults_bench: %u cores; regions east, west, north in network namespaces; a private RabbitMQ in the "
      "hub namespace; nodes with %s%s%s\n",
      std::thread::hardware_concurrency(),
      config.fast_reconnect ? "the harness's fast reconnect settings" : "geocached's defaults",
      node_args.empty() ? "" : ", and", node_args.c_str());
  std::fflush(stdout);
  const bool all = config.scenario == "all";
  if (all || config.scenario == "partition") partition(config);
  if (all || config.scenario == "kill") kill_restart(config);
  if (all || config.scenario == "queue-full") queue_full(config);
  if (all || config.scenario == "misconfig") misconfig(config);
  return 0;
}

}  // namespace
}  // namespace geocache::bench

int main(int argc, char** argv) {
  try {
    return geocache::bench::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faults_bench: %s\n", e.what());
    return 1;
  }
}
