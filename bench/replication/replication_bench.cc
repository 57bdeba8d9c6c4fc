// replication_bench: replication lag and throughput through RabbitMQ, ours
// against a raw rabbitmq-c baseline, in one run on one broker.
//
// Ours: one process, three GeoCache objects ("east", "west", "north"), each
// with its own AmqpTransport and one local region, as three nodes would be.
// Only east writes. An event is visible in west when west's Replicator has
// applied the batch holding it (a thin Transport decorator around west's
// AmqpTransport notes the time after the receiver returns): the lag is the
// time from just before GeoCache::put on east to then.
//
// Baseline (raw_baseline.cc): the same event sizes, batch size and linger
// through the same broker, with publisher confirms and two consumers.
//
// For each offered rate (paced in 1 ms steps) both run for --seconds; then
// each writes --burst events as fast as it can, for the highest sustained
// replicated events/s from one origin (first write to last visible).
//
//   replication_bench --url amqp://guest:guest@127.0.0.1:5672/ [--persistent]
//       [--rates 1000,10000,50000] [--seconds 5] [--burst 300000]
//       [--value-size 100] [--batch 1024] [--linger-us 1000]
//       [--url-of REGION=URL]... [--exchange NAME] [--no-baseline]
//
// --url-of gives one region (east, west, north) a broker of its own, e.g.
// east and west on two federated brokers (federation_lag.sh); --exchange
// names ours' exchange (default: one of the run's own), for brokers that
// federate only a given one; --no-baseline runs ours only; --burst 0 skips
// the burst.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "bench_common.h"
#include "cache/geo_cache.h"
#include "messaging/amqp_transport.h"
#include "messaging/event.h"

namespace geocache::bench {
namespace {

// Notes, after the real receiver returned, which events became visible.
class TimingTransport final : public Transport {
 public:
  TimingTransport(std::unique_ptr<Transport> inner, std::atomic<LagSink*>* sink, std::atomic<int>* run)
      : inner_(std::move(inner)), sink_(sink), run_(run) {}
  void attach(RegionId region, Receiver receiver) override {
    inner_->attach(region, [this, receiver = std::move(receiver)](std::string_view payload) {
      receiver(payload);
      note_visible(payload);
    });
  }
  Status start() override { return inner_->start(); }
  void stop() override { inner_->stop(); }
  Status publish(RegionId origin, std::string_view payload) override { return inner_->publish(origin, payload); }
  Status send_to(RegionId from, RegionId to, std::string_view payload) override {
    return inner_->send_to(from, to, payload);
  }

 private:
  void note_visible(std::string_view payload) {
    LagSink* sink = sink_->load();
    if (!sink) return;
    auto batch = decode_batch(payload);
    if (!batch.ok()) return;
    const std::string prefix = "r" + std::to_string(run_->load()) + ":";
    for (const Event& e : batch->events) {
      if (e.key.compare(0, prefix.size(), prefix) != 0) continue;
      sink->on_visible(std::strtoull(e.key.c_str() + prefix.size(), nullptr, 10));
    }
  }
  std::unique_ptr<Transport> inner_;
  std::atomic<LagSink*>* sink_;
  std::atomic<int>* run_;
};

class Ours final : public Pipeline {
 public:
  Ours(const BenchConfig& config) : value_(config.value_size, 'v') {
    const std::vector<std::string> regions = {"east", "west", "north"};
    AmqpOptions amqp;
    const std::string tag = std::to_string(getpid());
    amqp.exchange = config.exchange.empty() ? "geocache.bench.ours." + tag : config.exchange;
    amqp.queue_prefix = "geocache.bench.ours." + tag + ".";
    amqp.persistent = config.persistent;
    for (const auto& r : regions) {
      GeoCacheOptions o;
      o.regions = regions;
      o.local_regions = {r};
      o.replication.batch_max_events = config.batch_events;
      o.replication.linger_us = config.linger_us;
      o.replication.outbox_max_bytes = size_t{1} << 30;
      auto url = config.url_of.find(r);
      amqp.url = url == config.url_of.end() ? config.url : url->second;
      std::unique_ptr<Transport> t = std::make_unique<AmqpTransport>(amqp, regions);
      if (r == "west") t = std::make_unique<TimingTransport>(std::move(t), &sink_, &run_);
      caches_.push_back(std::make_unique<GeoCache>(o, std::move(t)));
      Status st = caches_.back()->start();
      if (!st.ok()) throw std::runtime_error("GeoCache start: " + st.to_string());
    }
  }
  ~Ours() override {
    for (auto& c : caches_) c->stop();
  }
  const char* name() const override { return "geocache"; }
  void begin_run(int run, LagSink* sink) override {
    run_.store(run);
    sink_.store(sink);
    prefix_ = "r" + std::to_string(run) + ":";
  }
  void write(uint64_t idx) override {
    std::string key = prefix_ + std::to_string(idx);
    sink_.load()->on_write(idx);
    // A refused write would never arrive: the run's lag would be wrong.
    Status st = caches_[0]->put(key, value_, "east");
    if (!st.ok()) throw std::runtime_error("GeoCache put: " + st.to_string());
  }
  // Bytes one of our events takes in a batch (for the baseline's padding).
  size_t event_bytes() const {
    Event e;
    e.key = "r1:100000";
    e.record.bytes = value_;
    e.origin_wall_ms = 1;
    return encoded_event_size(e);
  }

 private:
  const std::string value_;
  std::vector<std::unique_ptr<GeoCache>> caches_;
  std::atomic<LagSink*> sink_{nullptr};
  std::atomic<int> run_{0};
  std::string prefix_;
};

struct RunResult {
  uint64_t events = 0;
  uint64_t visible = 0;
  double events_per_s = 0;
  double p50 = 0, p99 = 0, p999 = 0;
};

// Offers `rate` events/s (0 = as fast as possible) for `count` events, then
// waits (up to 120 s) until all are visible.
RunResult run(Pipeline& p, int run_id, double rate, uint64_t count) {
  LagSink sink(count);
  p.begin_run(run_id, &sink);
  const int64_t start = now_ns();
  uint64_t i = 0;
  while (i < count) {
    const uint64_t due =
        rate <= 0 ? count : std::min<uint64_t>(count, static_cast<uint64_t>((now_ns() - start) * rate / 1e9) + 1);
    for (; i < due; ++i) p.write(i);
    if (i < count) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const int64_t deadline = now_ns() + 120'000'000'000;
  while (sink.visible() < count && now_ns() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  RunResult r;
  r.events = count;
  r.visible = sink.visible();
  const double secs = static_cast<double>(sink.last_visible_ns() - start) / 1e9;
  r.events_per_s = secs > 0 ? static_cast<double>(r.visible) / secs : 0;
  r.p50 = sink.lag_ms(0.50);
  r.p99 = sink.lag_ms(0.99);
  r.p999 = sink.lag_ms(0.999);
  p.begin_run(run_id, nullptr);
  return r;
}

std::vector<double> parse_rates(const std::string& s) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) out.push_back(std::stod(part));
  return out;
}

int main_impl(int argc, char** argv) {
  BenchConfig config;
  std::vector<double> rates = {1000, 10000, 50000};
  double seconds = 5;
  uint64_t burst = 300'000;
  bool baseline = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") config.url = next();
    else if (a == "--persistent") config.persistent = true;
    else if (a == "--rates") rates = parse_rates(next());
    else if (a == "--seconds") seconds = std::stod(next());
    else if (a == "--burst") burst = std::stoull(next());
    else if (a == "--value-size") config.value_size = std::stoul(next());
    else if (a == "--batch") config.batch_events = std::stoul(next());
    else if (a == "--linger-us") config.linger_us = std::stol(next());
    else if (a == "--exchange") config.exchange = next();
    else if (a == "--no-baseline") baseline = false;
    else if (a == "--url-of") {
      const std::string spec = next();
      const size_t eq = spec.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--url-of wants REGION=URL");
      config.url_of[spec.substr(0, eq)] = spec.substr(eq + 1);
    } else throw std::invalid_argument("unknown argument " + a);
  }
  if (config.url.empty()) throw std::invalid_argument("--url is required");
  for (const auto& [region, url] : config.url_of) {
    if (region != "east" && region != "west" && region != "north") throw std::invalid_argument("--url-of " + region);
  }
  spdlog::set_level(spdlog::level::warn);

  Ours ours(config);
  std::unique_ptr<Pipeline> raw;
  if (baseline) raw = make_raw_baseline(config, ours.event_bytes());
  std::printf("replication through RabbitMQ: %s messages, %zu-byte values (%zu bytes/event), "
              "batch <= %zu events, linger %ld us\n",
              config.persistent ? "persistent" : "transient", config.value_size, ours.event_bytes(),
              config.batch_events, static_cast<long>(config.linger_us));
  std::printf("%-10s %-15s %9s %12s %9s %9s %9s %9s\n", "offered/s", "pipeline", "events", "delivered/s", "p50 ms",
              "p99 ms", "p999 ms", "lost");

  // Warm both up (connections, JIT-free but caches and queues).
  run(ours, 1, 0, 2000);
  if (raw) run(*raw, 1, 0, 2000);

  int id = 2;
  // lost < 0: batches delivered twice (a publish retried after its confirm
  // timed out, a redelivery), whose events were counted twice.
  auto row = [](const char* offered, const char* name, const RunResult& r) {
    std::printf("%-10s %-15s %9llu %12.0f %9.2f %9.2f %9.2f %9lld\n", offered, name,
                static_cast<unsigned long long>(r.events), r.events_per_s, r.p50, r.p99, r.p999,
                static_cast<long long>(r.events) - static_cast<long long>(r.visible));
    std::fflush(stdout);
  };
  auto ratio = [](const RunResult& a, const RunResult& b) {
    std::printf("%-10s %-15s %9s %11.2fx %8.2fx %8.2fx %8.2fx\n", "", "ours/baseline", "",
                b.events_per_s > 0 ? a.events_per_s / b.events_per_s : 0, b.p50 > 0 ? a.p50 / b.p50 : 0,
                b.p99 > 0 ? a.p99 / b.p99 : 0, b.p999 > 0 ? a.p999 / b.p999 : 0);
  };
  for (double rate : rates) {
    const auto count = static_cast<uint64_t>(rate * seconds);
    const std::string offered = std::to_string(static_cast<long>(rate));
    const RunResult a = run(ours, id++, rate, count);
    row(offered.c_str(), ours.name(), a);
    if (!raw) continue;
    const RunResult b = run(*raw, id++, rate, count);
    row(offered.c_str(), raw->name(), b);
    ratio(a, b);
  }
  if (burst == 0) return 0;
  const RunResult a = run(ours, id++, 0, burst);
  row("max", ours.name(), a);
  if (!raw) return 0;
  const RunResult b = run(*raw, id++, 0, burst);
  row("max", raw->name(), b);
  ratio(a, b);
  return 0;
}

}  // namespace
}  // namespace geocache::bench

int main(int argc, char** argv) {
  try {
    return geocache::bench::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replication_bench: %s\n", e.what());
    return 1;
  }
}
