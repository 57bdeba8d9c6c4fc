#include "messaging/membership.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace geocache {
namespace {

// Heartbeats a region may miss before it counts as stale.
constexpr int64_t kStaleAfterBeats = 3;
// A problem that goes on is logged again this often, ms.
constexpr int64_t kRelogMs = 60'000;

std::string hex(uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace

void MembershipOptions::validate() const {
  if (heartbeat_ms < 0) throw std::invalid_argument("heartbeat_ms must not be negative");
  if (down_after_ms < 1) throw std::invalid_argument("peer down_after_ms must be at least 1");
  if (max_clock_offset_ms < 0) throw std::invalid_argument("peer max_clock_offset_ms must not be negative");
}

const char* peer_state_name(PeerState state) {
  switch (state) {
    case PeerState::kUnknown: return "unknown";
    case PeerState::kUp: return "up";
    case PeerState::kStale: return "stale";
    case PeerState::kDown: return "down";
  }
  return "unknown";
}

Membership::Membership(const MembershipOptions& options, RegionRegistry* regions, const Clock* clock,
                       uint64_t instance_id, SendFn send)
    : options_(options),
      regions_(regions),
      clock_(clock),
      instance_id_(instance_id),
      started_ms_(clock->now_ms()),
      send_(std::move(send)) {
  options_.validate();
}

Membership::~Membership() { stop(); }

void Membership::start() {
  MutexLock lock(mu_);
  if (running_ || options_.heartbeat_ms == 0) return;
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void Membership::stop() {
  {
    MutexLock lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  thread_.join();
}

EventBatch Membership::hello_from(RegionId region) const {
  EventBatch hello;
  hello.kind = BatchKind::kHello;
  hello.origin = region;
  hello.region_name = regions_->name(region);
  hello.instance_id = instance_id_;
  hello.protocol = kProtocolVersion;
  hello.wall_ms = clock_->now_ms();
  if (auto it = options_.endpoints.find(hello.region_name); it != options_.endpoints.end()) hello.endpoint = it->second;
  return hello;
}

// The heartbeat thread: one hello per local region per interval, in real
// time. A hello that cannot be sent (broker down) is simply skipped: the
// next one follows an interval later.
void Membership::run() {
  MutexLock lock(mu_);
  while (running_) {
    lock.unlock();
    for (RegionId region : regions_->local()) {
      if (Status st = send_(hello_from(region)); !st.ok()) {
        spdlog::debug("region {}: hello not sent: {}", regions_->name(region), st.message());
      }
    }
    lock.lock();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.heartbeat_ms);
    while (running_ && lock.wait_until(cv_, deadline)) {
    }
  }
}

void Membership::on_hello(RegionId region, const EventBatch& hello) {
  if (hello.instance_id == instance_id_) return;  // this process's own, back through the broker
  if (hello.origin == 0 || region_id_for(hello.region_name) != hello.origin) {
    spdlog::debug("region {}: ignored a hello whose name '{}' does not match its id {}", regions_->name(region),
                  hello.region_name, hello.origin);
    return;
  }
  const RegionRegistry::Learned learned = regions_->learn(hello.origin, hello.region_name);
  if (learned == RegionRegistry::Learned::kFull) {
    const int64_t now = clock_->now_ms();
    MutexLock lock(mu_);
    if (full_logged_at_ms_ < 0 || now - full_logged_at_ms_ >= kRelogMs) {
      full_logged_at_ms_ = now;
      spdlog::error("region {}: ignored a hello of region {}: {} regions are known already", regions_->name(region),
                    hello.region_name, kMaxRegions);
    }
    return;
  }
  if (learned == RegionRegistry::Learned::kNew) {
    spdlog::info("region {} joined: heard its first hello (instance {})", hello.region_name, hex(hello.instance_id));
  }
  const int64_t now = clock_->now_ms();
  MutexLock lock(mu_);
  Peer& p = peers_[hello.origin];
  if (learned == RegionRegistry::Learned::kClash) {
    p.clash_at_ms = now;
    p.clash_name = regions_->name(hello.origin);
  }
  if (hello.protocol != kProtocolVersion) p.mismatch_at_ms = now;
  if (regions_->is_local(hello.origin)) {
    // Another live process serves one of our regions: both consume its queue.
    // Unless the hello was sent before this process started: the last words
    // of the process this one replaces, left in the queue.
    if (hello.wall_ms < started_ms_) return;
    p.duplicate_at_ms = now;
    p.duplicate_instance = hello.instance_id;
  } else if (p.instance == 0 || hello.instance_id == p.instance) {
    p.instance = hello.instance_id;
    p.instance_wall = std::max(p.instance_wall, hello.wall_ms);
  } else if (hello.instance_id == p.previous && hello.wall_ms > p.previous_wall) {
    // A newer hello of the instance we took for replaced: both are alive.
    // (A repeat of an old one, redelivered, has no newer wall time.)
    p.duplicate_at_ms = now;
    p.duplicate_instance = p.instance;
    std::swap(p.instance, p.previous);
    std::swap(p.instance_wall, p.previous_wall);
    p.instance_wall = hello.wall_ms;
  } else {
    if (p.duplicate_at_ms < 0 || now - p.duplicate_at_ms > options_.down_after_ms) {
      spdlog::info("region {} is served by a new process (instance {}, was {})", hello.region_name,
                   hex(hello.instance_id), hex(p.instance));
    }
    p.previous = p.instance;
    p.previous_wall = p.instance_wall;
    p.instance = hello.instance_id;
    p.instance_wall = hello.wall_ms;
  }
  // Paced: it came at least half as long after the previous hello of its
  // process as it was sent after it (a backlog drains faster than that).
  p.paced = hello.instance_id == p.last_instance && hello.wall_ms > p.last_wall_ms && p.last_seen_ms >= 0 &&
            (now - p.last_seen_ms) * 2 >= hello.wall_ms - p.last_wall_ms;
  p.last_instance = hello.instance_id;
  p.last_wall_ms = hello.wall_ms;
  if (hello.instance_id == p.instance) p.endpoint = hello.endpoint;
  p.last_seen_ms = now;
  p.protocol = hello.protocol;
  ++p.hellos;
  p.deltas.push_back(hello.wall_ms - now);
  if (p.deltas.size() > kOffsetWindow) p.deltas.pop_front();
  log_problem_locked(hello.origin, p, now);
  log_clock_locked(hello.origin, p, now);
}

void Membership::report_problem(const std::string& key, const std::string& text) {
  std::string line = text;  // one line: INFO shows it as a field
  for (char& c : line) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  MutexLock lock(mu_);
  if (line.empty()) {
    reported_.erase(key);
  } else {
    reported_[key] = std::move(line);
  }
}

PeerState Membership::state_of(const Peer& p, int64_t now) const {
  if (options_.heartbeat_ms == 0) return PeerState::kUnknown;
  if (p.last_seen_ms < 0) return PeerState::kDown;
  const int64_t age = now - p.last_seen_ms;
  if (age <= kStaleAfterBeats * options_.heartbeat_ms) return PeerState::kUp;
  if (age <= options_.down_after_ms) return PeerState::kStale;
  return PeerState::kDown;
}

std::optional<int64_t> Membership::offset_of(const Peer& p) {
  if (p.deltas.empty()) return std::nullopt;
  return *std::max_element(p.deltas.begin(), p.deltas.end());
}

std::string Membership::problem_of(RegionId id, const Peer& p, int64_t now) const {
  std::string out = deployment_problem_of(id, p, now);
  const std::string clock = clock_problem_of(id, p, now);
  if (!clock.empty()) out += (out.empty() ? "" : "; ") + clock;
  return out;
}

std::string Membership::clock_problem_of(RegionId id, const Peer& p, int64_t now) const {
  const std::optional<int64_t> offset = offset_of(p);
  // A region gone quiet has no clock that matters now; local regions share ours.
  if (!offset || regions_->is_local(id) || now - p.last_seen_ms > options_.down_after_ms) return "";
  const int64_t bound = options_.max_clock_offset_ms;
  if (*offset > bound) {
    return fmt::format(
        "region {}'s clock is at least {} ms ahead of this node's (beyond max-clock-offset, {} ms): this node "
        "refuses its writes; fix the clocks (NTP)",
        regions_->name(id), *offset, bound);
  }
  if (*offset < -bound && p.paced) {
    return fmt::format(
        "region {}'s clock seems {} ms behind this node's (beyond max-clock-offset, {} ms; or its hellos arrive "
        "that late): it refuses this node's writes; fix the clocks (NTP)",
        regions_->name(id), -*offset, bound);
  }
  return "";
}

void Membership::log_clock_locked(RegionId id, Peer& p, int64_t now) {
  const std::string problem = clock_problem_of(id, p, now);
  if (!problem.empty()) {
    if (p.clock_log.allow(now)) spdlog::warn("{}", problem);
  } else if (p.clock_beyond) {
    spdlog::info("region {}'s clock is within max-clock-offset ({} ms) of this node's again", regions_->name(id),
                 options_.max_clock_offset_ms);
  }
  p.clock_beyond = !problem.empty();
}

std::string Membership::deployment_problem_of(RegionId id, const Peer& p, int64_t now) const {
  auto recent = [&](int64_t at) { return at >= 0 && now - at <= options_.down_after_ms; };
  const std::string name = regions_->name(id);
  std::string out;
  auto add = [&](const std::string& text) { out += (out.empty() ? "" : "; ") + text; };
  if (recent(p.duplicate_at_ms)) {
    if (regions_->is_local(id)) {
      const std::string ids = fmt::format("instance {}; this one is {}", hex(p.duplicate_instance), hex(instance_id_));
      add("region " + name + " is also served by another live process (" + ids +
          "): both consume its queue and each misses what the other takes; stop one");
    } else {
      add(fmt::format("region {} is served by two live processes (instances {} and {}): stop one", name,
                      hex(p.instance), hex(p.previous)));
    }
  }
  if (recent(p.mismatch_at_ms)) {
    add(fmt::format("region {} speaks replication protocol {}, this node {}: run one geocache version everywhere", name,
                    p.protocol, kProtocolVersion));
  }
  if (recent(p.clash_at_ms)) {
    add(fmt::format("regions '{}' and another name share the id {} (a hash of the name): rename one", p.clash_name,
                    id));
  }
  return out;
}

void Membership::log_problem_locked(RegionId id, Peer& p, int64_t now) {
  const std::string problem = deployment_problem_of(id, p, now);
  if (problem.empty()) return;
  if (p.logged_at_ms >= 0 && now - p.logged_at_ms < kRelogMs) return;
  p.logged_at_ms = now;
  spdlog::error("{}", problem);
}

std::vector<PeerStatus> Membership::peers() const {
  const std::vector<RegionInfo> regions = regions_->all();
  const int64_t now = clock_->now_ms();
  std::vector<PeerStatus> out;
  MutexLock lock(mu_);
  for (const RegionInfo& info : regions) {
    PeerStatus s;
    s.region = info;
    auto it = peers_.find(info.id);
    if (info.local) {
      s.state = PeerState::kUp;
      s.last_seen_ms = 0;
      s.instance_id = instance_id_;
      s.protocol = kProtocolVersion;
      if (auto e = options_.endpoints.find(regions_->name(info.id)); e != options_.endpoints.end()) s.endpoint = e->second;
    } else if (it != peers_.end()) {
      const Peer& p = it->second;
      s.state = state_of(p, now);
      s.last_seen_ms = p.last_seen_ms < 0 ? -1 : now - p.last_seen_ms;
      if (const std::optional<int64_t> offset = offset_of(p)) {
        s.clock_offset_ms = offset;
        s.lag_ms = *offset - p.deltas.back();
      }
      s.instance_id = p.instance;
      s.protocol = p.protocol;
      s.hellos = p.hellos;
      s.endpoint = p.endpoint;
    } else {
      s.state = options_.heartbeat_ms == 0 ? PeerState::kUnknown : PeerState::kDown;
    }
    if (it != peers_.end()) s.problem = problem_of(info.id, it->second, now);
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<int64_t> Membership::clock_offset_ms(RegionId region) const {
  MutexLock lock(mu_);
  auto it = peers_.find(region);
  if (it == peers_.end() || regions_->is_local(region)) return std::nullopt;
  return offset_of(it->second);
}

std::vector<std::string> Membership::problems() const {
  const int64_t now = clock_->now_ms();
  std::vector<std::string> out;
  MutexLock lock(mu_);
  for (const auto& [id, p] : peers_) {
    std::string text = problem_of(id, p, now);
    if (!text.empty()) out.push_back(std::move(text));
  }
  for (const auto& [key, text] : reported_) out.push_back(text);
  return out;
}

}  // namespace geocache
