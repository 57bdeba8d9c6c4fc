#include "geocached_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "netns.h"

extern char** environ;

namespace geocache::testing {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

GeocachedProcess::GeocachedProcess(std::vector<std::string> extra_args, std::vector<std::string> regions)
    : regions_(std::move(regions)) {
  std::vector<std::string> region_ports;
  for (size_t i = 0; i < regions_.size(); ++i) {
    const int p = free_port();
    ports_[regions_[i]] = p;
    if (i > 0) region_ports.push_back(regions_[i] + "=" + std::to_string(p));
  }
  args_ = {GEOCACHED_PATH, "--regions", join(regions_), "--home-region", regions_[0], "--port",
           std::to_string(ports_[regions_[0]])};
  if (!region_ports.empty()) args_.insert(args_.end(), {"--region-ports", join(region_ports)});
  args_.insert(args_.end(), extra_args.begin(), extra_args.end());
  start();
}

GeocachedProcess::GeocachedProcess(std::vector<std::string> args, std::vector<std::string> regions,
                                   std::map<std::string, int> ports, Placement placement)
    : args_(std::move(args)), regions_(std::move(regions)), ports_(std::move(ports)), placement_(std::move(placement)) {
  start();
}

std::unique_ptr<GeocachedProcess> GeocachedProcess::one_region(const std::string& region,
                                                               const std::vector<std::string>& deployment,
                                                               std::vector<std::string> extra_args, int port,
                                                               Placement placement) {
  if (port == 0) port = free_port();
  std::vector<std::string> args = {GEOCACHED_PATH, "--port", std::to_string(port), "--region", region};
  if (!deployment.empty()) args.insert(args.end(), {"--regions", join(deployment)});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return std::unique_ptr<GeocachedProcess>(
      new GeocachedProcess(std::move(args), {region}, {{region, port}}, std::move(placement)));
}

std::vector<std::string> io_engine_args(const std::vector<std::string>& args) {
  const char* engine = std::getenv("GEOCACHE_TEST_IO_ENGINE");
  if (engine == nullptr || *engine == '\0') return {};
  for (const auto& a : args) {
    if (a == "--io-engine" || a.rfind("--io-engine=", 0) == 0) return {};
  }
  return {"--io-engine", engine};
}

bool GeocachedProcess::start() {
  if (log_path_.empty()) {
    char tmpl[] = "/tmp/geocached-test-XXXXXX";
    ::close(mkstemp(tmpl));
    log_path_ = tmpl;
  }
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_APPEND);
  exit_status_ = -1;
  started_ = false;
  // Everything the child needs is built before fork: between fork and exec
  // it may only make system calls.
  std::vector<std::string> engine = io_engine_args(args_);
  std::vector<char*> argv;
  for (auto& a : args_) argv.push_back(a.data());
  for (auto& a : engine) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  auto overridden = [&](const char* entry) {
    for (const auto& e : placement_.env) {
      const size_t name_end = e.find('=');
      if (std::strncmp(entry, e.data(), name_end + 1) == 0) return true;
    }
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e) {
    if (!overridden(*e)) envp.push_back(*e);
  }
  for (auto& e : placement_.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int netns_fd = placement_.netns.empty() ? -1 : open_netns(placement_.netns);
  if (!placement_.netns.empty() && netns_fd < 0) {
    ::close(log_fd);
    return false;
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(log_fd);
  if (netns_fd >= 0) ::close(netns_fd);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    bool all = true;
    for (auto& [r, p] : ports_) {
      all = all && command_text(connect_port(p, 10'000, 10'000, placement_.netns).get(), {"PING"}).has_value();
    }
    if (all) return started_ = true;
    if (!running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool GeocachedProcess::restart() {
  if (running()) return false;
  return start();
}

GeocachedProcess::~GeocachedProcess() {
  if (running()) {
    if (terminate(10'000) < 0) kill_now();
  }
  unlink(log_path_.c_str());
}

int GeocachedProcess::port(const std::string& region) const {
  auto it = ports_.find(region.empty() ? regions_[0] : region);
  return it == ports_.end() ? -1 : it->second;
}

std::string GeocachedProcess::log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

RedisConnection connect_port(int port, int connect_ms, int reply_ms, const std::string& netns) {
  auto tv = [](int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; };
  NetnsScope in(netns);  // the socket is created in the namespace and stays there
  if (!in.ok()) return nullptr;
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv(connect_ms));
  if (c != nullptr && c->err == 0) redisSetTimeout(c, tv(reply_ms));
  return RedisConnection(c);
}

RedisConnection GeocachedProcess::connect(const std::string& region) const {
  return connect_port(port(region), 10'000, 10'000, placement_.netns);
}

bool GeocachedProcess::running() const {
  if (pid_ <= 0 || exit_status_ >= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    const_cast<GeocachedProcess*>(this)->exit_status_ = decode_status(status);
    return false;
  }
  return r == 0;
}

int GeocachedProcess::wait_exit(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (!running()) return exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int GeocachedProcess::terminate(int timeout_ms) {
  if (!running()) return exit_status_;
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);  // a paused process acts on SIGTERM only once thawed
  return wait_exit(timeout_ms);
}

void GeocachedProcess::pause() {
  if (!running()) return;
  kill(pid_, SIGSTOP);
  // Returns once it is frozen: a signal takes effect some time after kill().
  int status = 0;
  if (waitpid(pid_, &status, WUNTRACED) == pid_ && !WIFSTOPPED(status)) exit_status_ = decode_status(status);
}

void GeocachedProcess::resume() {
  if (running()) kill(pid_, SIGCONT);
}

void GeocachedProcess::kill_now() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exit_status_ = decode_status(status);
}

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

std::optional<std::string> command_text(redisContext* c, const std::vector<std::string>& args) {
  if (c == nullptr || c->err != 0) return std::nullopt;
  Reply r = command(c, args);
  if (!r) return std::nullopt;
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return std::string(r->str, r->len);
    case REDIS_REPLY_ERROR: return "ERR:" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
    default: return std::nullopt;
  }
}

RawSocket::RawSocket(int port, const std::string& host) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send_all(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string RawSocket::read_some(size_t expected_bytes, int timeout_ms) {
  std::string out;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < expected_bytes) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool RawSocket::closed_by_peer(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

int64_t peak_rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    found = text;
  }
  freeifaddrs(list);
  return found;
}

int run_program(const std::vector<std::string>& argv, std::string* out) {
  std::string cmd;
  for (const auto& a : argv) {
    cmd += "'";
    for (char c : a) {
      if (c == '\'') cmd += "'\\''";
      else cmd += c;
    }
    cmd += "' ";
  }
  cmd += "2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  return decode_status(pclose(f));
}

}  // namespace geocache::testing
