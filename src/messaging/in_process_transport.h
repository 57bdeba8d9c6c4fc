// InProcessTransport: carries batches between regions hosted in one process.
//
// Each directed link (from, to) is a FIFO queue served by one delivery thread.
// A link can be given a delay (to simulate geography), cut (batches wait on
// the link, as they would in a broker queue, until it heals), or told to drop
// its next batches (to simulate loss, which receivers detect as a gap).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "core/mutex.h"
#include "messaging/transport.h"

namespace geocache {

class InProcessTransport final : public Transport {
 public:
  InProcessTransport() = default;
  ~InProcessTransport() override;

  void attach(RegionId region, Receiver receiver) override;
  Status start() override;
  void stop() override;
  // Always succeeds: the batch is queued on every link out of origin.
  Status publish(RegionId origin, std::string_view payload) override;
  // Queued on the (from, to) link only; delay, cut and drop_next apply.
  Status send_to(RegionId from, RegionId to, std::string_view payload) override;

  // Delay applied to batches published on (from, to) from now on, in ms.
  void set_link_delay(RegionId from, RegionId to, int64_t delay_ms);
  // Holds batches on (from, to) until heal(). Both directions: call twice.
  void cut(RegionId from, RegionId to);
  void heal(RegionId from, RegionId to);
  bool is_cut(RegionId from, RegionId to) const;
  // The next n batches published on (from, to) are lost.
  void drop_next(RegionId from, RegionId to, int n);

  // Blocks until no batch is waiting on a link that is not cut, and no
  // receiver is running. For tests and demos.
  void wait_idle() override;

 private:
  struct Pending {
    int64_t due_us;  // steady clock
    std::string payload;
  };
  struct Link {
    std::deque<Pending> queue;
    int64_t delay_ms = 0;
    bool cut = false;
    int drop_next = 0;
  };
  using LinkKey = std::pair<RegionId, RegionId>;

  void run();
  // Queues payload on `link` unless the link is told to drop it.
  void enqueue_locked(Link& link, std::string_view payload, int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Link& link_locked(RegionId from, RegionId to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return links_[{from, to}]; }
  bool idle_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  std::condition_variable cv_;       // wakes the delivery thread
  std::condition_variable idle_cv_;  // wakes wait_idle()
  std::map<RegionId, Receiver> receivers_ ABSL_GUARDED_BY(mu_);
  std::map<LinkKey, Link> links_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace geocache
