// GeocachedProcess: starts the real geocached binary on loopback ports,
// waits (polling, with a deadline) until every port answers, and stops it at
// the end. Tests then drive it with hiredis or raw sockets. It serves the
// one-process tests (every region in one process) and the replication tests
// (one process per region, killed and restarted), and the fault harness
// (tests/faults: each process in a network namespace of its own).
//
//   GeocachedProcess server({"--requirepass", "pw"});
//   auto c = server.connect();
//   auto east = GeocachedProcess::one_region("east", {"east", "west"}, {"--amqp-url", url});
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace geocache::testing {

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisConnection = std::unique_ptr<redisContext, RedisContextDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// The event-loop engine the test run asks for: GEOCACHE_TEST_IO_ENGINE
// (epoll or uring; ctest runs the key programs once per engine), given as
// --io-engine unless args name one. Empty: geocached's default.
std::vector<std::string> io_engine_args(const std::vector<std::string>& args);

// A port that was free a moment ago (bound to port 0, then released).
int free_port();
// Whether something accepts connections on 127.0.0.1:port.
bool port_accepts(int port);

// Where and how a process runs, beyond its arguments.
struct Placement {
  // Network namespace (an `ip netns` name) the process runs in, and where
  // its clients connect to 127.0.0.1:port; empty = this process's own.
  std::string netns;
  // NAME=value entries added to the inherited environment (libfaketime's).
  std::vector<std::string> env;
};

class GeocachedProcess {
 public:
  // regions: every region, all hosted by this process; the first is home.
  // Each gets a free port. extra_args are passed through (flags).
  explicit GeocachedProcess(std::vector<std::string> extra_args = {},
                            std::vector<std::string> regions = {"local"});
  // A process serving one region of a deployment that runs in several
  // processes: --region region --regions deployment (none if empty: the
  // process learns the others), listening on `port` (0 = a free one).
  // extra_args are passed through.
  static std::unique_ptr<GeocachedProcess> one_region(const std::string& region,
                                                      const std::vector<std::string>& deployment,
                                                      std::vector<std::string> extra_args = {}, int port = 0,
                                                      Placement placement = {});
  ~GeocachedProcess();
  GeocachedProcess(const GeocachedProcess&) = delete;
  GeocachedProcess& operator=(const GeocachedProcess&) = delete;

  bool started() const { return started_; }
  int port(const std::string& region = {}) const;
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The network namespace it runs in ("" = this process's own).
  const std::string& netns() const { return placement_.netns; }
  std::string log() const;

  RedisConnection connect(const std::string& region = {}) const;
  // Sends SIGTERM and waits up to timeout_ms; the exit status, or -1.
  int terminate(int timeout_ms = 10'000);
  // Waits for the process to exit by itself (SHUTDOWN); exit status or -1.
  int wait_exit(int timeout_ms = 10'000);
  // SIGKILL: no chance to flush or say goodbye, like a crash.
  void kill_now();
  // SIGSTOP / SIGCONT: the process freezes (its sockets stay open, nothing is
  // read or sent) and thaws; pause() returns once it is frozen. terminate()
  // and the destructor thaw it first.
  void pause();
  void resume();
  // Starts the binary again, same arguments and ports, once it has stopped;
  // whether it became ready. The log goes on in the same file.
  bool restart();
  bool running() const;

 private:
  GeocachedProcess(std::vector<std::string> args, std::vector<std::string> regions, std::map<std::string, int> ports,
                   Placement placement);
  // Forks and execs, then waits until every port answers a PING (any reply:
  // with requirepass it is an error) or the process exits.
  bool start();

  std::vector<std::string> args_;     // the whole command line
  std::vector<std::string> regions_;  // hosted here; the first is home
  std::map<std::string, int> ports_;
  Placement placement_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool started_ = false;
  int exit_status_ = -1;
};

// A hiredis connection to 127.0.0.1:port that gives up connecting after
// connect_ms and waiting for a reply after reply_ms (it then has err set).
// With netns, 127.0.0.1 of that network namespace (nullptr if it cannot be
// entered).
RedisConnection connect_port(int port, int connect_ms = 10'000, int reply_ms = 10'000, const std::string& netns = "");

// Runs one command through hiredis (argv form, binary safe).
Reply command(redisContext* c, const std::vector<std::string>& args);
// The same, answering in text: strings and statuses as they are, errors as
// "ERR:" + message, integers in decimal; nil, arrays and a broken connection
// as nullopt.
std::optional<std::string> command_text(redisContext* c, const std::vector<std::string>& args);

// A raw TCP connection to 127.0.0.1:port, for bytes hiredis would never send.
class RawSocket {
 public:
  explicit RawSocket(int port, const std::string& host = "127.0.0.1");
  ~RawSocket();
  bool ok() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes);
  // Reads until `expected_bytes` arrived, the peer closed or timeout.
  std::string read_some(size_t expected_bytes, int timeout_ms = 5000);
  // True if the peer closes the connection within timeout_ms.
  bool closed_by_peer(int timeout_ms = 5000);

 private:
  int fd_ = -1;
};

// The peak resident set of a live process so far (VmHWM of /proc/PID/status),
// in KiB; -1 if it cannot be read.
int64_t peak_rss_kb(pid_t pid);

// The first IPv4 address of this host that is not loopback, or "".
std::string non_loopback_ipv4();

// Runs a program and returns its exit status (and stdout in *out).
int run_program(const std::vector<std::string>& argv, std::string* out);

}  // namespace geocache::testing
