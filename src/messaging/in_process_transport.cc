#include "messaging/in_process_transport.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

namespace geocache {
namespace {

int64_t steady_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

InProcessTransport::~InProcessTransport() { stop(); }

void InProcessTransport::attach(RegionId region, Receiver receiver) {
  MutexLock lock(mu_);
  receivers_[region] = std::move(receiver);
}

Status InProcessTransport::start() {
  MutexLock lock(mu_);
  if (running_) return Status::Ok();
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void InProcessTransport::stop() {
  {
    MutexLock lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  thread_.join();
}

void InProcessTransport::enqueue_locked(Link& link, std::string_view payload, int64_t now_us) {
  if (link.drop_next > 0) {
    --link.drop_next;
    return;
  }
  // FIFO per link even if the delay shrinks: never due before the one ahead.
  int64_t due = now_us + link.delay_ms * 1000;
  if (!link.queue.empty()) due = std::max(due, link.queue.back().due_us);
  link.queue.push_back({due, std::string(payload)});
}

Status InProcessTransport::publish(RegionId origin, std::string_view payload) {
  {
    MutexLock lock(mu_);
    const int64_t now = steady_us();
    for (const auto& [region, receiver] : receivers_) {
      if (region != origin) enqueue_locked(link_locked(origin, region), payload, now);
    }
  }
  cv_.notify_all();
  return Status::Ok();
}

Status InProcessTransport::send_to(RegionId from, RegionId to, std::string_view payload) {
  {
    MutexLock lock(mu_);
    if (!receivers_.count(to)) return Status::Unavailable("no region " + std::to_string(to) + " on this transport");
    enqueue_locked(link_locked(from, to), payload, steady_us());
  }
  cv_.notify_all();
  return Status::Ok();
}

void InProcessTransport::set_link_delay(RegionId from, RegionId to, int64_t delay_ms) {
  MutexLock lock(mu_);
  link_locked(from, to).delay_ms = delay_ms;
}

void InProcessTransport::cut(RegionId from, RegionId to) {
  MutexLock lock(mu_);
  link_locked(from, to).cut = true;
}

void InProcessTransport::heal(RegionId from, RegionId to) {
  {
    MutexLock lock(mu_);
    link_locked(from, to).cut = false;
  }
  cv_.notify_all();
}

bool InProcessTransport::is_cut(RegionId from, RegionId to) const {
  MutexLock lock(mu_);
  auto it = links_.find({from, to});
  return it != links_.end() && it->second.cut;
}

void InProcessTransport::drop_next(RegionId from, RegionId to, int n) {
  MutexLock lock(mu_);
  link_locked(from, to).drop_next += n;
}

bool InProcessTransport::idle_locked() const {
  if (delivering_) return false;
  for (const auto& [key, link] : links_) {
    if (!link.cut && !link.queue.empty()) return false;
  }
  return true;
}

void InProcessTransport::wait_idle() {
  MutexLock lock(mu_);
  while (!idle_locked()) lock.wait(idle_cv_);
}

// One thread serves every link: it delivers whatever is due, oldest due
// first, and otherwise sleeps until the next due time or a change.
void InProcessTransport::run() {
  MutexLock lock(mu_);
  while (running_) {
    int64_t next_due = std::numeric_limits<int64_t>::max();
    Link* ready = nullptr;
    RegionId to = 0;
    const int64_t now = steady_us();
    for (auto& [key, link] : links_) {
      if (link.cut || link.queue.empty()) continue;
      const int64_t due = link.queue.front().due_us;
      if (due <= now && (ready == nullptr || due < ready->queue.front().due_us)) {
        ready = &link;
        to = key.second;
      }
      next_due = std::min(next_due, due);
    }
    if (ready == nullptr) {
      idle_cv_.notify_all();
      if (next_due == std::numeric_limits<int64_t>::max()) lock.wait(cv_);
      else lock.wait_for(cv_, std::chrono::microseconds(next_due - now));
      continue;
    }
    std::string payload = std::move(ready->queue.front().payload);
    ready->queue.pop_front();
    Receiver receiver = receivers_[to];
    delivering_ = true;
    lock.unlock();
    receiver(payload);
    lock.lock();
    delivering_ = false;
  }
  idle_cv_.notify_all();
}

}  // namespace geocache
