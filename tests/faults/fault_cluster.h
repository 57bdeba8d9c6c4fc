// FaultCluster: one geocached node per region, each in its region's network
// namespace (FaultNetwork), replicating through a private RabbitMQ broker in
// the hub namespace, or (broker_per_region) through one broker per region in
// the region's namespace, the brokers joined by rabbitmq_federation
// (scripts/federation.sh); and the faults: cut and heal a region's link, SIGKILL a
// node or the broker and start it again, a node whose clock is shifted
// (libfaketime). Everything it starts is stopped by its destructor, and by
// FaultNetwork's watchdog if the test process dies first.
//
//   FaultCluster cluster;                        // east, west, north
//   ASSERT_TRUE(cluster.start()) << cluster.error();
//   cluster.cut("east"); ... cluster.heal("east");
//   auto c = cluster.connect("west");            // a client inside west's namespace
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fault_network.h"
#include "geocached_process.h"

namespace geocache::testing {

struct FaultClusterOptions {
  std::vector<std::string> regions = {"east", "west", "north"};
  // Flags every node gets after its region, deployment and broker URL. The
  // default makes a node notice a dead or healed link within a few seconds
  // (the replication tests' settings); clear it to run with geocached's own
  // defaults (bench/faults does both).
  std::vector<std::string> node_args = {"--amqp-reconnect-max-ms", "1000", "--amqp-publish-timeout-ms",   "2000",
                                        "--amqp-heartbeat",        "3",    "--retry-backoff-ms",          "50",
                                        "--breaker-open-ms",       "200",  "--breaker-failure-threshold", "3"};
  // Flags for one region's node only, after node_args.
  std::map<std::string, std::vector<std::string>> region_args;
  // Regions whose node runs under libfaketime, with its FAKETIME offset (e.g.
  // "+600" is 10 minutes ahead). Monotonic clocks are not shifted.
  std::map<std::string, std::string> clock_offsets;
  // One broker per region, in the region's namespace next to its node, which
  // talks to it only (on 127.0.0.1); the brokers are federated over the
  // regions' links (scripts/federation.sh brokers). Cutting a region's link
  // then cuts its broker off the other brokers, as a partition between
  // regions does, while its node keeps its broker.
  bool broker_per_region = false;
};

class FaultCluster {
 public:
  static constexpr int kNodePort = 6390;    // every node, each on its namespace's 127.0.0.1
  static constexpr int kBrokerPort = 5672;  // in the hub namespace

  // Why this machine cannot run a FaultCluster with these options ("" if it
  // can): not root, no iproute2, no RabbitMQ, no libfaketime.
  static std::string unavailable_reason(const FaultClusterOptions& options = {});

  explicit FaultCluster(FaultClusterOptions options = {});
  ~FaultCluster();
  FaultCluster(const FaultCluster&) = delete;
  FaultCluster& operator=(const FaultCluster&) = delete;

  // Builds the network, starts the broker and then one node per region, each
  // answering PING. False if any part failed; error() says which.
  bool start();
  const std::string& error() const { return error_; }

  const std::vector<std::string>& regions() const { return options_.regions; }
  FaultNetwork& network() { return *network_; }
  // The URL of the broker of `region`'s node, as the node reaches it:
  // amqp://guest:guest@10.99.0.1:5672/ (the hub's), or with broker_per_region
  // amqp://guest:guest@127.0.0.1:5672/ (its own namespace's). No region: as
  // reached from the hub (with broker_per_region, the first region's broker).
  std::string broker_url(const std::string& region = "") const;

  // --- faults; each returns whether it was carried out ---
  bool cut(const std::string& region) { return network_->cut(region); }
  bool heal(const std::string& region) { return network_->heal(region); }
  // SIGKILL: the node's memory and its outbox are gone, as in a crash.
  void kill_node(const std::string& region);
  // Starts a stopped node again with the same flags; whether it answers PING.
  bool restart_node(const std::string& region);
  // Starts one more geocached for `region` in its namespace, as start()
  // starts its node but on `port`, with `extra_args` after the usual flags,
  // and under libfaketime with FAKETIME=clock_offset unless it is empty. It
  // is the caller's (kill_node and restart_node know only the nodes of
  // start()); started() says whether it answered PING. For misconfigured
  // starts: a second node of a region (another port), or one replacing a
  // killed node (kNodePort) with other flags or another clock.
  std::unique_ptr<GeocachedProcess> start_extra_node(const std::string& region, int port,
                                                     const std::vector<std::string>& extra_args,
                                                     const std::string& clock_offset = "");
  // SIGKILLs every process of the broker (scripts/rabbitmq.sh kill); with
  // broker_per_region, of `region`'s broker.
  bool kill_broker(const std::string& region = "");
  // Starts the broker again from its data (durable queues and persistent
  // messages survive, and a federated broker's upstreams and policies);
  // whether it accepts AMQP connections.
  bool restart_broker(const std::string& region = "");
  // Runs rabbitmqctl ARGS against the broker (e.g. list_queues name
  // message_bytes), with broker_per_region `region`'s; its output in *out.
  // About 1.3 s a call.
  bool broker_ctl(const std::vector<std::string>& args, std::string* out, const std::string& region = "");

  // A client inside the region's namespace; gives up connecting after
  // connect_ms and on a reply after reply_ms. nullptr or err set on failure.
  RedisConnection connect(const std::string& region, int connect_ms = 2'000, int reply_ms = 5'000) const;
  using Connector = std::function<RedisConnection(const std::string& region)>;
  Connector connector(int connect_ms = 2'000, int reply_ms = 5'000) const;
  // REQUIRES: region is one of regions() and start() returned true.
  GeocachedProcess& node(const std::string& region) { return *nodes_.at(region); }
  // The last lines of every node's log and of the broker's, for failure messages.
  std::string logs(size_t lines_per_node = 40) const;

 private:
  // Runs scripts/rabbitmq.sh ARGS in the hub, or scripts/federation.sh ARGS.
  bool broker_script(const std::vector<std::string>& args);
  bool federation_script(const std::vector<std::string>& args, std::string* out = nullptr);
  bool start_node(const std::string& region);

  FaultClusterOptions options_;
  std::unique_ptr<FaultNetwork> network_;  // destroyed last: it kills what is left
  std::string broker_dir_;
  bool broker_started_ = false;
  std::map<std::string, std::unique_ptr<GeocachedProcess>> nodes_;
  std::string error_;
};

}  // namespace geocache::testing
