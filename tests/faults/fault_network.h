// FaultNetwork: the regions of a test as Linux network namespaces, each with
// its own address, joined by a bridge in a hub namespace that also holds the
// broker; links cut and healed with `ip link set DEV down/up` (no iptables or
// tc here). Only addresses inside these namespaces ever carry traffic.
//
//          hub namespace (broker on 10.99.0.1)
//          br0 10.99.0.1/24 ── v0 ─┬─ v1 ─┬─ v2
//                                  │      │      (veth pairs)
//   namespace east: eth0 10.99.0.10   west: .11   north: .12,  each with lo
//
// A node listens on 127.0.0.1 of its own namespace and its clients connect
// there (NetnsScope), so cutting a region's link isolates it from the broker
// while its clients go on writing to it, as in a real partition.
//
// Names start with a prefix unique to the process and the instance
// ("gcf<pid>-<n>-"), so concurrent runs never meet. The destructor SIGKILLs
// every process left in the namespaces (by PID, from `ip netns pids`), deletes
// them and the temporary directory. A watchdog process started first does the
// same if this process dies without running its destructors (a crash, a
// timeout's SIGKILL): it waits for a pipe this process holds to close.
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2. Not thread-safe:
// one thread drives a FaultNetwork.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace geocache::testing {

class FaultNetwork {
 public:
  static constexpr const char* kHubAddress = "10.99.0.1";

  // Why namespaces cannot be made here ("" if they can): tests skip with it.
  static std::string unavailable_reason();

  // Creates the hub, its bridge and one namespace per region, each linked to
  // the bridge and up. ok() tells whether all of it worked.
  explicit FaultNetwork(std::vector<std::string> regions);
  ~FaultNetwork();
  FaultNetwork(const FaultNetwork&) = delete;
  FaultNetwork& operator=(const FaultNetwork&) = delete;

  bool ok() const { return error_.empty(); }
  // What failed (the command and its output), or "".
  const std::string& error() const { return error_; }

  const std::vector<std::string>& regions() const { return regions_; }
  // Every namespace of this network has a name that starts with it.
  const std::string& prefix() const { return prefix_; }
  // The namespace of the broker.
  const std::string& hub() const { return hub_; }
  // The namespace of a region; REQUIRES: region is one of regions().
  const std::string& netns(const std::string& region) const { return netns_.at(region); }
  // A region's address on the bridge.
  std::string address(const std::string& region) const;
  // A directory private to this network (broker data, logs); removed with it.
  const std::string& temp_dir() const { return temp_dir_; }

  // Takes the region's link down (its side: its packets to the broker fail
  // at once, the broker's to it are dropped) or up again. Whether `ip` did it.
  bool cut(const std::string& region);
  bool heal(const std::string& region);
  bool is_cut(const std::string& region) const { return cut_.at(region); }

  // Runs argv inside namespace ns (ip netns exec); its exit status, and its
  // stdout and stderr in *out if given.
  int run_in(const std::string& ns, const std::vector<std::string>& argv, std::string* out = nullptr) const;

 private:
  // Runs `ip ARGS...`; on failure records the command and its output in error_.
  bool ip(const std::vector<std::string>& args);
  void start_watchdog();
  // Kills what runs in the namespaces, deletes them, removes temp_dir_.
  void teardown();

  std::vector<std::string> regions_;
  std::string prefix_;
  std::string hub_;
  std::map<std::string, std::string> netns_;
  std::map<std::string, bool> cut_;
  std::vector<std::string> created_;  // namespaces to delete
  std::string temp_dir_;
  int watchdog_fd_ = -1;  // write end of the watchdog's pipe; closing it ends the watchdog
  std::string error_;
};

}  // namespace geocache::testing
