#include "fault_network.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "geocached_process.h"  // run_program

namespace geocache::testing {
namespace {

constexpr const char* kBridge = "br0";
constexpr const char* kRegionDevice = "eth0";

// The watchdog: waits for its stdin (a pipe whose write end only the harness
// holds) to close, then removes whatever is left of the harness's namespaces
// and its directory. $1 = namespace prefix, $2 = directory.
constexpr const char* kWatchdogScript = R"(
cat >/dev/null
for ns in $(ip netns list | cut -d' ' -f1); do
  case $ns in
    "$1"*) for p in $(ip netns pids "$ns"); do kill -9 "$p"; done ;;
  esac
done
for ns in $(ip netns list | cut -d' ' -f1); do
  case $ns in "$1"*) ip netns del "$ns" ;; esac
done
[ -n "$2" ] && rm -rf "$2"
)";

std::vector<pid_t> pids_in(const std::string& ns) {
  std::string out;
  std::vector<pid_t> pids;
  if (run_program({"ip", "netns", "pids", ns}, &out) != 0) return pids;
  std::istringstream in(out);
  for (long pid; in >> pid;) {
    if (pid > 1 && pid != getpid()) pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

}  // namespace

std::string FaultNetwork::unavailable_reason() {
  if (geteuid() != 0) return "needs root to create network namespaces (ip netns); the test machines and CI run as root";
  std::string out;
  if (run_program({"ip", "netns", "list"}, &out) != 0) return "`ip netns list` failed (iproute2 missing?): " + out;
  return "";
}

FaultNetwork::FaultNetwork(std::vector<std::string> regions) : regions_(std::move(regions)) {
  static std::atomic<int> instances{0};
  prefix_ = "gcf" + std::to_string(getpid()) + "-" + std::to_string(instances++) + "-";
  hub_ = prefix_ + "hub";
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix_ + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  temp_dir_ = tmpl;
  start_watchdog();

  auto add_netns = [&](const std::string& ns) {
    if (!ip({"netns", "add", ns})) return false;
    created_.push_back(ns);
    return ip({"-n", ns, "link", "set", "lo", "up"});
  };
  if (!add_netns(hub_) || !ip({"-n", hub_, "link", "add", kBridge, "type", "bridge"}) ||
      !ip({"-n", hub_, "addr", "add", std::string(kHubAddress) + "/24", "dev", kBridge}) ||
      !ip({"-n", hub_, "link", "set", kBridge, "up"})) {
    return;
  }
  for (size_t i = 0; i < regions_.size(); ++i) {
    const std::string& region = regions_[i];
    const std::string ns = prefix_ + region;
    const std::string hub_side = "v" + std::to_string(i);
    netns_[region] = ns;
    cut_[region] = false;
    // Both ends are created inside our namespaces, never in the host's.
    if (!add_netns(ns) ||
        !ip({"-n", hub_, "link", "add", hub_side, "type", "veth", "peer", "name", kRegionDevice, "netns", ns}) ||
        !ip({"-n", hub_, "link", "set", hub_side, "master", kBridge}) ||
        !ip({"-n", hub_, "link", "set", hub_side, "up"}) ||
        !ip({"-n", ns, "addr", "add", address(region) + "/24", "dev", kRegionDevice}) ||
        !ip({"-n", ns, "link", "set", kRegionDevice, "up"})) {
      return;
    }
  }
}

FaultNetwork::~FaultNetwork() {
  teardown();
  if (watchdog_fd_ >= 0) close(watchdog_fd_);  // the watchdog finds nothing left and exits
}

std::string FaultNetwork::address(const std::string& region) const {
  for (size_t i = 0; i < regions_.size(); ++i) {
    if (regions_[i] == region) return "10.99.0." + std::to_string(10 + i);
  }
  return "";
}

bool FaultNetwork::cut(const std::string& region) {
  if (!ip({"-n", netns(region), "link", "set", kRegionDevice, "down"})) return false;
  cut_[region] = true;
  return true;
}

bool FaultNetwork::heal(const std::string& region) {
  if (!ip({"-n", netns(region), "link", "set", kRegionDevice, "up"})) return false;
  cut_[region] = false;
  return true;
}

int FaultNetwork::run_in(const std::string& ns, const std::vector<std::string>& argv, std::string* out) const {
  std::vector<std::string> full = {"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  std::string ignored;
  return run_program(full, out ? out : &ignored);
}

bool FaultNetwork::ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  if (run_program(argv, &out) == 0) return true;
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  if (error_.empty()) error_ = cmd + "failed: " + out;
  return false;
}

void FaultNetwork::start_watchdog() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  const std::vector<std::string> args = {"setsid",        "-f",           "/bin/sh", "-c",
                                         kWatchdogScript, "gcf-watchdog", prefix_,   temp_dir_};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    // Only system calls until exec. Output goes nowhere: a watchdog holding
    // ctest's output pipe would make ctest wait for it.
    dup2(fds[0], 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    close_range(3, ~0U, 0);  // hold none of the test's sockets
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[0]);
  close(devnull);
  if (pid < 0) {
    close(fds[1]);
    return;
  }
  // setsid -f forks the watchdog off (its parent becomes init, out of reach of
  // whoever kills our process tree) and exits at once.
  int status = 0;
  waitpid(pid, &status, 0);
  watchdog_fd_ = fds[1];
}

void FaultNetwork::teardown() {
  for (const auto& ns : created_) {
    for (pid_t pid : pids_in(ns)) kill(pid, SIGKILL);
  }
  // Our own children (the nodes) become zombies, which `ip netns pids` no
  // longer lists; the broker's processes belong to init and vanish.
  for (const auto& ns : created_) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pids_in(ns).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    std::string out;
    run_program({"ip", "netns", "del", *it}, &out);
  }
  created_.clear();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

}  // namespace geocache::testing
