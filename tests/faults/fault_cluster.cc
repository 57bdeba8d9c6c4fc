#include "fault_cluster.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace geocache::testing {
namespace {

// scripts/rabbitmq.sh runs the broker from here (RABBITMQ_SBIN overrides).
std::string rabbitmq_sbin() {
  const char* sbin = std::getenv("RABBITMQ_SBIN");
  return sbin && *sbin ? sbin : "/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/sbin";
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; n <= lines && at > 0; ++n) {
    const size_t nl = text.rfind('\n', at - 1);
    if (nl == std::string::npos) return text;
    at = nl;
  }
  return text.substr(at + 1);
}

}  // namespace

std::string FaultCluster::unavailable_reason(const FaultClusterOptions& options) {
  std::string why = FaultNetwork::unavailable_reason();
  if (!why.empty()) return why;
  if (!std::filesystem::exists(rabbitmq_sbin() + "/rabbitmq-server")) {
    return "RabbitMQ not installed (" + rabbitmq_sbin() + "; scripts/install-deps.sh installs it)";
  }
  if (!options.clock_offsets.empty() && !std::filesystem::exists(GEOCACHE_LIBFAKETIME)) {
    return std::string("libfaketime not found at ") + GEOCACHE_LIBFAKETIME +
           " (Debian package faketime; scripts/install-deps.sh installs it)";
  }
  return "";
}

FaultCluster::FaultCluster(FaultClusterOptions options) : options_(std::move(options)) {}

FaultCluster::~FaultCluster() {
  // The test is over: no need for a graceful stop. The network's teardown
  // kills whatever is left in the namespaces and deletes the broker's data.
  for (auto& [region, node] : nodes_) node->kill_now();
  if (!broker_started_) return;
  if (options_.broker_per_region) {
    for (const auto& region : options_.regions) federation_script({"kill", broker_dir_, region});
  } else {
    broker_script({"kill", broker_dir_});
  }
}

bool FaultCluster::start() {
  network_ = std::make_unique<FaultNetwork>(options_.regions);
  if (!network_->ok()) {
    error_ = "network: " + network_->error();
    return false;
  }
  broker_dir_ = network_->temp_dir() + "/broker";
  broker_started_ = true;
  if (options_.broker_per_region) {
    // The brokers boot at once and are federated before any node starts, so
    // the links (and the exchange) exist before the first event.
    std::vector<std::string> args = {"brokers", broker_dir_, "--port", std::to_string(kBrokerPort), "--timeout", "90"};
    for (const auto& region : options_.regions) {
      args.push_back(region + "=" + network_->netns(region) + "=" + network_->address(region));
    }
    if (!federation_script(args)) return false;
  } else if (!broker_script(
                 {"start", broker_dir_, std::to_string(kBrokerPort), "--address", "0.0.0.0", "--timeout", "90"})) {
    return false;
  }
  for (const auto& region : options_.regions) {
    if (!start_node(region)) return false;
  }
  return true;
}

std::string FaultCluster::broker_url(const std::string& region) const {
  std::string host = FaultNetwork::kHubAddress;
  if (options_.broker_per_region) host = region.empty() ? network_->address(options_.regions.front()) : "127.0.0.1";
  return "amqp://guest:guest@" + host + ":" + std::to_string(kBrokerPort) + "/";
}

bool FaultCluster::start_node(const std::string& region) {
  std::vector<std::string> args;
  if (auto it = options_.region_args.find(region); it != options_.region_args.end()) args = it->second;
  std::string clock_offset;
  if (auto it = options_.clock_offsets.find(region); it != options_.clock_offsets.end()) clock_offset = it->second;
  auto node = start_extra_node(region, kNodePort, args, clock_offset);
  const bool started = node->started();
  if (!started) error_ = "geocached for " + region + " did not answer PING:\n" + tail(node->log(), 40);
  nodes_[region] = std::move(node);
  return started;
}

std::unique_ptr<GeocachedProcess> FaultCluster::start_extra_node(const std::string& region, int port,
                                                                 const std::vector<std::string>& extra_args,
                                                                 const std::string& clock_offset) {
  std::vector<std::string> args = {"--amqp-url", broker_url(region)};
  args.insert(args.end(), options_.node_args.begin(), options_.node_args.end());
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  Placement placement{network_->netns(region), {}};
  if (!clock_offset.empty()) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    placement.env = {std::string("LD_PRELOAD=") + GEOCACHE_LIBFAKETIME, "FAKETIME=" + clock_offset,
                     "FAKETIME_DONT_FAKE_MONOTONIC=1",
                     // An ASan build wants its runtime first; libfaketime only
                     // wraps the clock functions, so the order is harmless.
                     std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") + "verify_asan_link_order=0"};
  }
  return GeocachedProcess::one_region(region, options_.regions, args, port, std::move(placement));
}

void FaultCluster::kill_node(const std::string& region) { nodes_.at(region)->kill_now(); }

bool FaultCluster::restart_node(const std::string& region) {
  if (nodes_.at(region)->restart()) return true;
  error_ = "geocached for " + region + " did not come back:\n" + tail(nodes_.at(region)->log(), 40);
  return false;
}

bool FaultCluster::kill_broker(const std::string& region) {
  if (options_.broker_per_region) return federation_script({"kill", broker_dir_, region});
  return broker_script({"kill", broker_dir_});
}

bool FaultCluster::restart_broker(const std::string& region) {
  if (options_.broker_per_region) return federation_script({"restart", broker_dir_, region});
  return broker_script({"start", broker_dir_, std::to_string(kBrokerPort), "--address", "0.0.0.0", "--timeout", "90"});
}

bool FaultCluster::broker_ctl(const std::vector<std::string>& args, std::string* out, const std::string& region) {
  if (options_.broker_per_region) {
    std::vector<std::string> argv = {"ctl", broker_dir_, region};
    argv.insert(argv.end(), args.begin(), args.end());
    return federation_script(argv, out);
  }
  std::vector<std::string> argv = {"bash", std::string(GEOCACHE_SOURCE_DIR) + "/scripts/rabbitmq.sh", "ctl",
                                   broker_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  return network_->run_in(network_->hub(), argv, out) == 0;
}

bool FaultCluster::federation_script(const std::vector<std::string>& args, std::string* out) {
  // It enters the regions' namespaces itself.
  std::vector<std::string> argv = {"bash", std::string(GEOCACHE_SOURCE_DIR) + "/scripts/federation.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string text;
  if (run_program(argv, out ? out : &text) == 0) return true;
  error_ = "federation.sh " + join(args, " ") + " failed: " + (out ? *out : text);
  return false;
}

bool FaultCluster::broker_script(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"bash", std::string(GEOCACHE_SOURCE_DIR) + "/scripts/rabbitmq.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  if (network_->run_in(network_->hub(), argv, &out) == 0) return true;
  error_ = "rabbitmq.sh " + join(args, " ") + " failed: " + out;
  return false;
}

RedisConnection FaultCluster::connect(const std::string& region, int connect_ms, int reply_ms) const {
  return connect_port(kNodePort, connect_ms, reply_ms, network_->netns(region));
}

FaultCluster::Connector FaultCluster::connector(int connect_ms, int reply_ms) const {
  return [this, connect_ms, reply_ms](const std::string& region) { return connect(region, connect_ms, reply_ms); };
}

std::string FaultCluster::logs(size_t lines_per_node) const {
  std::ostringstream out;
  for (const auto& [region, node] : nodes_) {
    out << "---- geocached " << region << " (" << node->log_path() << ")\n"
        << tail(node->log(), lines_per_node) << "\n";
  }
  if (!broker_dir_.empty()) {
    std::vector<std::pair<std::string, std::string>> brokers = {{"broker", broker_dir_}};
    if (options_.broker_per_region) {
      brokers.clear();
      for (const auto& region : options_.regions)
        brokers.emplace_back("broker of " + region, broker_dir_ + "/broker-" + region);
    }
    for (const auto& [name, dir] : brokers) {
      std::ifstream f(dir + "/log/console.log");
      std::stringstream ss;
      ss << f.rdbuf();
      out << "---- " << name << " console\n" << tail(ss.str(), 10) << "\n";
    }
  }
  return out.str();
}

}  // namespace geocache::testing
