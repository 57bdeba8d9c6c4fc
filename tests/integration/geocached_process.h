// GeocachedProcess: starts the real geocached binary on free loopback ports,
// waits (polling, with a deadline) until every port accepts connections,
// and stops it at the end. Tests then drive it with hiredis or raw sockets.
//
//   GeocachedProcess server({"--requirepass", "pw"});
//   auto c = server.connect();
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
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

// A port that was free a moment ago (bound to port 0, then released).
int free_port();

class GeocachedProcess {
 public:
  // regions: every region, all hosted by this process; the first is home.
  // Each gets a free port. extra_args are passed through (flags).
  explicit GeocachedProcess(std::vector<std::string> extra_args = {},
                            std::vector<std::string> regions = {"local"});
  ~GeocachedProcess();
  GeocachedProcess(const GeocachedProcess&) = delete;
  GeocachedProcess& operator=(const GeocachedProcess&) = delete;

  bool started() const { return started_; }
  int port(const std::string& region = {}) const;
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const;

  RedisConnection connect(const std::string& region = {}) const;
  // Sends SIGTERM and waits up to timeout_ms; the exit status, or -1.
  int terminate(int timeout_ms = 10'000);
  // Waits for the process to exit by itself (SHUTDOWN); exit status or -1.
  int wait_exit(int timeout_ms = 10'000);
  bool running() const;

 private:
  std::vector<std::string> regions_;
  std::map<std::string, int> ports_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool started_ = false;
  int exit_status_ = -1;
};

// Runs one command through hiredis (argv form, binary safe).
Reply command(redisContext* c, const std::vector<std::string>& args);

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

// The first IPv4 address of this host that is not loopback, or "".
std::string non_loopback_ipv4();

// Runs a program and returns its exit status (and stdout in *out).
int run_program(const std::vector<std::string>& argv, std::string* out);

}  // namespace geocache::testing
