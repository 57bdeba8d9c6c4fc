#include "client/client.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/mutex.h"

namespace geocache {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(int64_t ms) { return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)}; }

using Command = std::vector<std::string>;

// Sends the commands in one write (a pipeline) and reads their replies, in
// order; fewer replies than commands if the connection failed (hiredis then
// leaves the context unusable).
std::vector<Reply> pipeline(redisContext* c, const std::vector<Command>& commands) {
  for (const Command& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) return {};
  }
  std::vector<Reply> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) break;
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

Reply command(redisContext* c, const Command& args) {
  std::vector<Reply> replies = pipeline(c, {args});
  return replies.empty() ? nullptr : std::move(replies[0]);
}

int64_t micros_since(SteadyClock::time_point t0, SteadyClock::time_point t1) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
}

// A reply error the region gives while it cannot serve reads yet (a node
// warming up after a restart): the read goes elsewhere, and the region is
// not counted as failed.
bool not_ready(const redisReply& r) { return std::string_view(r.str, r.len).starts_with("LOADING"); }

}  // namespace

void ClientOptions::validate() const {
  if (regions.empty()) throw std::invalid_argument("client regions must not be empty");
  std::set<std::string> names;
  for (const RegionEndpoint& r : regions) {
    if (r.name.empty() || !names.insert(r.name).second) {
      throw std::invalid_argument("client region names must be unique and not empty: '" + r.name + "'");
    }
    if (r.host.empty() || r.port <= 0 || r.port > 65535) {
      throw std::invalid_argument("client region '" + r.name + "' needs a host and a port in 1..65535");
    }
  }
  if (!names.contains(home)) throw std::invalid_argument("client home '" + home + "' is not one of the regions");
  if (probe_interval_ms < 1) throw std::invalid_argument("client probe_interval_ms must be at least 1");
  if (rtt_window < 1) throw std::invalid_argument("client rtt_window must be at least 1");
  if (switch_margin_us < 0 || switch_ratio < 0) throw std::invalid_argument("client switch margins must not be negative");
  if (switch_samples < 1) throw std::invalid_argument("client switch_samples must be at least 1");
  if (connect_timeout_ms < 1 || command_timeout_ms < 1) throw std::invalid_argument("client timeouts must be positive");
  if (read_your_writes_wait_ms < 0 || read_your_writes_wait_ms >= command_timeout_ms) {
    throw std::invalid_argument("client read_your_writes_wait_ms must be in 0..command_timeout_ms");
  }
  breaker.validate();
}

struct Client::Impl {
  struct Region {
    Region(int i, const RegionEndpoint& e, const CircuitBreakerOptions& b) : index(i), endpoint(e), breaker(b) {}
    const int index;  // in options.regions
    const RegionEndpoint endpoint;
    CircuitBreaker breaker;
    // For get/set/del: one call at a time per region.
    Mutex mu;
    Context conn ABSL_GUARDED_BY(mu);
    // The prober thread's own.
    Context probe;
    std::deque<int64_t> samples;  // round trips, us, the latest last
    // The median of samples; -1: none (never answered, or failed since).
    std::atomic<int64_t> rtt_us{-1};
  };

  explicit Impl(ClientOptions o) : options(std::move(o)) {
    options.validate();
    for (size_t i = 0; i < options.regions.size(); ++i) {
      regions.push_back(std::make_unique<Region>(static_cast<int>(i), options.regions[i], options.breaker));
      if (options.regions[i].name == options.home) home = static_cast<int>(i);
    }
  }

  // A connection to r, AUTHed if a password is set; null if it cannot be had.
  Context connect(const Region& r) const {
    Context c(redisConnectWithTimeout(r.endpoint.host.c_str(), r.endpoint.port, to_timeval(options.connect_timeout_ms)));
    if (!c || c->err) return nullptr;
    redisSetTimeout(c.get(), to_timeval(options.command_timeout_ms));
    if (!options.password.empty()) {
      Reply reply = command(c.get(), {"AUTH", options.password});
      if (!reply || reply->type == REDIS_REPLY_ERROR) return nullptr;
    }
    return c;
  }

  // Runs one command on r's connection, (re)connecting as needed. A reply of
  // any kind (errors included) counts as a success of the region; no reply
  // as a failure. A connection that was already open is given a second
  // chance on a fresh one: it may have been closed under us by a restart.
  Reply call(Region& r, const Command& args) {
    std::vector<Reply> replies = call(r, std::vector<Command>{args});
    return replies.empty() ? nullptr : std::move(replies[0]);
  }
  // The same for a pipeline: every reply, or none.
  std::vector<Reply> call(Region& r, const std::vector<Command>& commands) {
    std::vector<Reply> replies;
    {
      MutexLock lock(r.mu);
      const bool reused = r.conn != nullptr;
      for (int attempt = 0; attempt < (reused ? 2 : 1) && replies.empty(); ++attempt) {
        if (!r.conn) r.conn = connect(r);
        if (!r.conn) break;
        replies = pipeline(r.conn.get(), commands);
        if (replies.size() != commands.size()) {
          replies.clear();
          r.conn.reset();  // the context is unusable after an error
        }
      }
    }
    if (!replies.empty()) {
      r.breaker.record_success();
    } else {
      r.breaker.record_failure();
    }
    return replies;
  }

  // Runs a write on the home region with GEO.TOKEN behind it, and keeps the
  // token: the reply to the write, or null if home did not answer.
  Reply write_home(const Command& args) {
    Region& r = *regions[home];
    std::vector<Reply> replies = call(r, {args, {"GEO.TOKEN"}});
    if (replies.empty()) return nullptr;
    if (replies[1]->type == REDIS_REPLY_STRING) {
      MutexLock lock(token_mu);
      token = std::string(replies[1]->str, replies[1]->len);
    }
    return std::move(replies[0]);
  }

  // Regions to read from, in order: the read region, then the others by
  // round trip (unknown last). Regions whose breaker refuses are left out.
  std::vector<Region*> read_order() {
    const int first = read_index.load();
    std::vector<Region*> order;
    for (const auto& r : regions) order.push_back(r.get());
    std::stable_sort(order.begin(), order.end(), [&](Region* a, Region* b) {
      const bool a_first = first >= 0 && a == regions[first].get(), b_first = first >= 0 && b == regions[first].get();
      if (a_first != b_first) return a_first;
      const int64_t ra = a->rtt_us.load(), rb = b->rtt_us.load();
      if ((ra < 0) != (rb < 0)) return rb < 0;
      return ra < rb;
    });
    std::erase_if(order, [](Region* r) { return !r->breaker.allow(); });
    return order;
  }

  // ------------------------------------------------------------ probing

  void run() {
    MutexLock lock(stop_mu);
    while (!stopping) {
      lock.unlock();
      probe_round();
      lock.lock();
      if (stopping) break;
      lock.wait_for(stop_cv, std::chrono::milliseconds(options.probe_interval_ms));
    }
  }

  // PINGs every region whose breaker allows it, all at once (one slow region
  // does not lengthen the others' samples), then reconsiders the read region.
  void probe_round() {
    struct Pending {
      Region* region;
      SteadyClock::time_point sent;
    };
    std::vector<Pending> pending;
    for (const auto& r : regions) {
      if (!r->breaker.allow()) continue;
      if (!r->probe) r->probe = connect(*r);
      int done = 0;
      bool sent = r->probe && redisAppendCommand(r->probe.get(), "PING") == REDIS_OK;
      while (sent && !done) sent = redisBufferWrite(r->probe.get(), &done) == REDIS_OK;
      if (sent) {
        pending.push_back({r.get(), SteadyClock::now()});
      } else {
        probe_failed(*r);
      }
    }
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options.command_timeout_ms);
    while (!pending.empty()) {
      const int64_t left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      std::vector<pollfd> fds;
      for (const Pending& p : pending) fds.push_back({p.region->probe->fd, POLLIN, 0});
      const int n = left_ms > 0 ? poll(fds.data(), fds.size(), static_cast<int>(left_ms)) : 0;
      const auto now = SteadyClock::now();
      if (n <= 0) break;
      for (size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents == 0) continue;
        Region& r = *pending[i].region;
        void* raw = nullptr;
        // The PONG is 7 bytes: once the socket is readable it is all there
        // (or the connection is gone), so this does not block long.
        const bool ok = redisGetReply(r.probe.get(), &raw) == REDIS_OK && raw != nullptr;
        Reply reply(static_cast<redisReply*>(raw));
        if (ok && reply->type != REDIS_REPLY_ERROR) {
          probe_answered(r, micros_since(pending[i].sent, now));
        } else {
          probe_failed(r);
        }
        pending.erase(pending.begin() + static_cast<ptrdiff_t>(i));
      }
    }
    for (const Pending& p : pending) probe_failed(*p.region);  // no answer in time
    choose_read_region();
    rounds.fetch_add(1);
  }

  void probe_answered(Region& r, int64_t rtt_us) {
    r.breaker.record_success();
    r.samples.push_back(rtt_us);
    while (r.samples.size() > options.rtt_window) r.samples.pop_front();
    std::vector<int64_t> sorted(r.samples.begin(), r.samples.end());
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(sorted.size() / 2), sorted.end());
    r.rtt_us.store(sorted[sorted.size() / 2]);
  }

  // A region that failed starts its round trip afresh when it answers again:
  // what it measured before it died says nothing about it after.
  void probe_failed(Region& r) {
    r.breaker.record_failure();
    r.probe.reset();
    r.samples.clear();
    r.rtt_us.store(-1);
  }

  bool healthy(const Region& r) const { return r.breaker.state() == CircuitBreaker::State::kClosed && r.rtt_us >= 0; }

  // The hysteresis rule (client.h). Runs on the prober thread only.
  void choose_read_region() {
    int best = -1;
    for (size_t i = 0; i < regions.size(); ++i) {
      if (healthy(*regions[i]) && (best < 0 || regions[i]->rtt_us < regions[best]->rtt_us)) best = static_cast<int>(i);
    }
    const int current = read_index.load();
    if (best < 0) return;  // nobody answers: keep the read region, reads try them all
    if (current < 0 || !healthy(*regions[current])) {
      read_index.store(best);
      candidate = -1;
      return;
    }
    const int64_t current_rtt = regions[current]->rtt_us;
    const int64_t margin = std::max<int64_t>(options.switch_margin_us, static_cast<int64_t>(options.switch_ratio * current_rtt));
    if (best == current || regions[best]->rtt_us + margin >= current_rtt) {
      candidate = -1;
      return;
    }
    if (candidate != best) {
      candidate = best;
      streak = 0;
    }
    if (++streak >= options.switch_samples) {
      read_index.store(best);
      candidate = -1;
    }
  }

  ClientOptions options;
  std::vector<std::unique_ptr<Region>> regions;
  int home = 0;
  // The token of this client's last write (read-your-writes); empty: none.
  mutable Mutex token_mu;
  std::string token ABSL_GUARDED_BY(token_mu);
  std::atomic<int> read_index{-1};
  std::atomic<int> last_read{-1};
  std::atomic<uint64_t> rounds{0};
  std::atomic<uint64_t> ryw_sent_home{0};
  // Hysteresis: the region that has been clearly closer, and for how many
  // rounds in a row (the prober thread's own).
  int candidate = -1;
  int streak = 0;

  Mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping ABSL_GUARDED_BY(stop_mu) = false;
  std::thread prober;
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->probe_round();
  impl_->prober = std::thread([this] { impl_->run(); });
}

Client::~Client() {
  {
    MutexLock lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->prober.join();
}

namespace {

// GET's reply as get() answers; nullopt for a reply that sends the read
// elsewhere (a region still loading).
std::optional<Result<std::optional<std::string>>> get_result(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    if (not_ready(reply)) return std::nullopt;
    const std::string message(reply.str, reply.len);
    if (message.starts_with("WRONGTYPE")) return Status::WrongType(message);
    return Status::InvalidArgument(message);
  }
  if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
  return std::optional<std::string>(std::string(reply.str, reply.len));
}

}  // namespace

Result<std::optional<std::string>> Client::get(const std::string& key) {
  const std::string token = session_token();
  for (Impl::Region* r : impl_->read_order()) {
    const bool wait = !token.empty() && r->index != impl_->home;
    if (!wait) {
      Reply reply = impl_->call(*r, {"GET", key});
      if (!reply) continue;
      auto result = get_result(*reply);
      if (!result) continue;
      impl_->last_read.store(r->index);
      return *std::move(result);
    }
    // Read-your-writes: the GET runs once the region has applied this
    // client's last write, or is not taken (0: not within the bound, an
    // error: a server without GEO.WAIT) and the read goes on to home.
    std::vector<Reply> replies =
        impl_->call(*r, {{"GEO.WAIT", token, std::to_string(impl_->options.read_your_writes_wait_ms)}, {"GET", key}});
    if (replies.empty()) continue;
    if (replies[0]->type != REDIS_REPLY_INTEGER || replies[0]->integer != 1) {
      impl_->ryw_sent_home.fetch_add(1, std::memory_order_relaxed);
      Reply reply = impl_->call(*impl_->regions[impl_->home], {"GET", key});
      if (!reply) continue;
      auto result = get_result(*reply);
      if (!result) continue;
      impl_->last_read.store(impl_->home);
      return *std::move(result);
    }
    auto result = get_result(*replies[1]);
    if (!result) continue;
    impl_->last_read.store(r->index);
    return *std::move(result);
  }
  return Status::Unavailable("no region answered the read");
}

Status Client::set(const std::string& key, const std::string& value, int64_t ttl_ms) {
  Impl::Region& home = *impl_->regions[impl_->home];
  if (!home.breaker.allow()) return Status::Unavailable("home region " + home.endpoint.name + " is unreachable");
  std::vector<std::string> args = {"SET", key, value};
  if (ttl_ms > 0) args.insert(args.end(), {"PX", std::to_string(ttl_ms)});
  Reply reply = impl_->write_home(args);
  if (!reply) return Status::Unavailable("home region " + home.endpoint.name + " did not answer");
  if (reply->type == REDIS_REPLY_ERROR) return Status::InvalidArgument(std::string(reply->str, reply->len));
  return Status::Ok();
}

Result<bool> Client::del(const std::string& key) {
  Impl::Region& home = *impl_->regions[impl_->home];
  if (!home.breaker.allow()) return Status::Unavailable("home region " + home.endpoint.name + " is unreachable");
  Reply reply = impl_->write_home({"DEL", key});
  if (!reply) return Status::Unavailable("home region " + home.endpoint.name + " did not answer");
  if (reply->type != REDIS_REPLY_INTEGER) {
    return Status::InvalidArgument(reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "unexpected reply");
  }
  return reply->integer > 0;
}

std::string Client::session_token() const {
  MutexLock lock(impl_->token_mu);
  return impl_->token;
}

void Client::set_session_token(std::string token) {
  MutexLock lock(impl_->token_mu);
  impl_->token = std::move(token);
}

uint64_t Client::reads_sent_home() const { return impl_->ryw_sent_home.load(std::memory_order_relaxed); }

Result<std::vector<RegionEndpoint>> Client::discover(const std::string& host, int port, const std::string& password,
                                                     int64_t timeout_ms) {
  Context c(redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout_ms)));
  if (!c || c->err) return Status::Unavailable("cannot connect to " + host + ":" + std::to_string(port));
  redisSetTimeout(c.get(), to_timeval(timeout_ms));
  if (!password.empty()) {
    Reply auth = command(c.get(), {"AUTH", password});
    if (!auth || auth->type == REDIS_REPLY_ERROR) return Status::Unavailable("AUTH refused by " + host);
  }
  Reply reply = command(c.get(), {"GEO.REGIONS"});
  if (!reply) return Status::Unavailable("no answer to GEO.REGIONS from " + host + ":" + std::to_string(port));
  if (reply->type != REDIS_REPLY_ARRAY) return Status::InvalidArgument("GEO.REGIONS did not answer an array");
  std::vector<RegionEndpoint> out;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* region = reply->element[i];
    if (region->type != REDIS_REPLY_ARRAY) return Status::InvalidArgument("GEO.REGIONS: a region is not a map");
    std::string name, endpoint;
    for (size_t f = 0; f + 1 < region->elements; f += 2) {  // RESP2: field, value, ...
      const redisReply* key = region->element[f];
      const redisReply* value = region->element[f + 1];
      if (key->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) continue;
      const std::string_view k(key->str, key->len);
      if (k == "name") name.assign(value->str, value->len);
      if (k == "endpoint") endpoint.assign(value->str, value->len);
    }
    const size_t colon = endpoint.rfind(':');
    if (name.empty() || colon == std::string::npos || colon == 0) continue;
    std::string region_host = endpoint.substr(0, colon);
    if (region_host.size() > 2 && region_host.front() == '[' && region_host.back() == ']') {
      region_host = region_host.substr(1, region_host.size() - 2);  // [IPv6]:port
    }
    const int region_port = std::atoi(endpoint.c_str() + colon + 1);
    if (region_port <= 0 || region_port > 65535) continue;  // not an endpoint a client can use
    out.push_back({name, region_host, region_port});
  }
  return out;
}

std::string Client::last_read_region() const {
  const int i = impl_->last_read.load();
  return i < 0 ? std::string() : impl_->regions[i]->endpoint.name;
}

std::string Client::read_region() const {
  const int i = impl_->read_index.load();
  return i < 0 ? std::string() : impl_->regions[i]->endpoint.name;
}

std::vector<RegionHealth> Client::health() const {
  std::vector<RegionHealth> out;
  for (size_t i = 0; i < impl_->regions.size(); ++i) {
    const Impl::Region& r = *impl_->regions[i];
    RegionHealth h;
    h.name = r.endpoint.name;
    if (const int64_t rtt = r.rtt_us.load(); rtt >= 0) h.rtt_us = rtt;
    h.breaker = r.breaker.state();
    h.reading = impl_->read_index.load() == static_cast<int>(i);
    h.home = impl_->home == static_cast<int>(i);
    out.push_back(std::move(h));
  }
  return out;
}

uint64_t Client::probe_rounds() const { return impl_->rounds.load(); }

}  // namespace geocache
