#include "cache/miss_fallback.h"

#include <chrono>
#include <stdexcept>
#include <utility>

#include "spdlog/spdlog.h"

namespace geocache {

void MissFallbackOptions::validate() const {
  if (timeout_ms < 1) throw std::invalid_argument("miss_fallback.timeout_ms must be at least 1");
  if (max_pending < 1) throw std::invalid_argument("miss_fallback.max_pending must be at least 1");
  if (state_timeout_ms < 1) throw std::invalid_argument("miss_fallback.state_timeout_ms must be at least 1");
  if (state_attempts < 1) throw std::invalid_argument("miss_fallback.state_attempts must be at least 1");
  breaker.validate();
}

MissFallback::MissFallback(const MissFallbackOptions& options, const Clock* clock, SendFn send, LookupFn lookup,
                           ApplyFn apply, PeersFn peers, DoneFn done)
    : options_(options),
      clock_(clock ? clock : SystemClock::instance()),
      send_(std::move(send)),
      lookup_(std::move(lookup)),
      apply_(std::move(apply)),
      peers_(std::move(peers)),
      done_(std::move(done)) {
  options_.validate();
}

MissFallback::~MissFallback() { stop(); }

void MissFallback::start() {
  // Even when off here: this node answers the fetches of the others.
  MutexLock lock(mu_);
  if (running_) return;
  running_ = true;
  worker_ = std::thread([this] { run(); });
}

void MissFallback::stop() {
  {
    MutexLock lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  worker_.join();
  MutexLock lock(mu_);
  pending_.clear();  // their readers answer at their own deadline
  by_key_.clear();
  outgoing_.clear();
}

CircuitBreaker& MissFallback::breaker_locked(RegionId peer) {
  auto& slot = breakers_[peer];
  if (!slot) slot = std::make_unique<CircuitBreaker>(options_.breaker, clock_);
  return *slot;
}

std::optional<uint64_t> MissFallback::fetch(RegionId region, std::string_view key) {
  if (!options_.enabled) return std::nullopt;
  MutexLock lock(mu_);
  if (!running_) return std::nullopt;
  if (auto it = by_key_.find({region, std::string(key)}); it != by_key_.end()) return it->second;
  RegionId peer = 0;
  if (pending_.size() < options_.max_pending) {
    for (RegionId candidate : peers_(region)) {
      if (breaker_locked(candidate).allow()) {
        peer = candidate;
        break;
      }
    }
  }
  if (peer == 0) {
    ++stats_.skipped;
    return std::nullopt;
  }
  return ask_locked(region, peer, key, options_.timeout_ms);
}

std::optional<uint64_t> MissFallback::fetch_from(RegionId region, RegionId peer, std::string_view key) {
  MutexLock lock(mu_);
  if (!running_) return std::nullopt;
  // Shared only with a fetch from the same peer: another's answer may be
  // older than what this peer holds.
  if (auto it = by_key_.find({region, std::string(key)}); it != by_key_.end() && pending_.at(it->second).peer == peer) {
    pending_.at(it->second).ask_again = true;
    return it->second;
  }
  if (pending_.size() >= options_.max_pending) {
    ++stats_.skipped;
    return std::nullopt;
  }
  ++stats_.state_fetches;
  const uint64_t ticket = ask_locked(region, peer, key, options_.state_timeout_ms);
  pending_.at(ticket).state_attempts_left = options_.state_attempts - 1;
  return ticket;
}

uint64_t MissFallback::ask_locked(RegionId region, RegionId peer, std::string_view key, int64_t timeout_ms) {
  const uint64_t ticket = next_ticket_++;
  pending_[ticket] = Pending{region, peer, std::string(key), clock_->now_ms() + timeout_ms};
  by_key_.try_emplace({region, std::string(key)}, ticket);  // a miss shares the first fetch out
  EventBatch request;
  request.kind = BatchKind::kFetchRequest;
  request.origin = region;
  request.target = peer;
  request.request_id = ticket;
  request.events.push_back(Event{EventKind::kPut, std::string(key), Record{ValueKind::kTombstone, {}, kNoExpiry, {}}, 0});
  outgoing_.push_back(std::move(request));
  ++stats_.fetches;
  cv_.notify_one();
  return ticket;
}

void MissFallback::forget_key_locked(RegionId region, const std::string& key, uint64_t ticket) {
  auto it = by_key_.find({region, key});
  if (it != by_key_.end() && it->second == ticket) by_key_.erase(it);
}

bool MissFallback::done(uint64_t ticket) const {
  MutexLock lock(mu_);
  return pending_.count(ticket) == 0;
}

void MissFallback::handle_control(RegionId region, const EventBatch& batch) {
  if (batch.kind == BatchKind::kFetchRequest) {
    if (batch.events.empty()) return;
    EventBatch reply;
    reply.kind = BatchKind::kFetchReply;
    reply.origin = region;
    reply.target = batch.origin;
    reply.request_id = batch.request_id;
    if (std::optional<Record> held = lookup_(region, batch.events[0].key)) {
      reply.events.push_back(Event{EventKind::kPut, batch.events[0].key, std::move(*held), clock_->now_ms()});
    }
    MutexLock lock(mu_);
    if (!running_) return;  // stopping: the asker times out
    ++stats_.served;
    outgoing_.push_back(std::move(reply));
    cv_.notify_one();
    return;
  }
  if (batch.kind != BatchKind::kFetchReply) return;
  Pending answered;
  {
    MutexLock lock(mu_);
    auto it = pending_.find(batch.request_id);
    // Late (timed out already), or not from the region asked: ignored.
    if (it == pending_.end() || it->second.region != region || it->second.peer != batch.origin) return;
    if (!batch.events.empty() && batch.events[0].key != it->second.key) return;
    answered = std::move(it->second);
    pending_.erase(it);
    forget_key_locked(answered.region, answered.key, batch.request_id);
    breaker_locked(answered.peer).record_success();
    ++stats_.answered;
    if (!batch.events.empty()) {
      ++stats_.found;
      answers_[batch.request_id] = Answer{batch.events[0].record, clock_->now_ms() + kAnswerKeptMs};
    }
  }
  // Applied before the reader is told: its second read finds it.
  if (!batch.events.empty()) apply_(region, answered.key, batch.events[0].record);
  // A write that needed the state came while this fetch was out: the peer
  // may have answered before making it. Asked now, it has made it.
  if (answered.ask_again) fetch_from(answered.region, answered.peer, answered.key);
  if (done_) done_();
}

std::optional<Record> MissFallback::answer(uint64_t ticket) const {
  MutexLock lock(mu_);
  auto it = answers_.find(ticket);
  if (it == answers_.end()) return std::nullopt;
  return it->second.record;
}

MissFallback::Stats MissFallback::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

void MissFallback::run() {
  MutexLock lock(mu_);
  while (running_) {
    while (running_ && !outgoing_.empty()) {
      EventBatch batch = std::move(outgoing_.front());
      outgoing_.pop_front();
      lock.unlock();
      if (Status st = send_(batch); !st.ok()) {
        // The fetch times out and counts against the peer's breaker.
        spdlog::debug("miss fallback: sending to region {} failed: {}", batch.target, st.message());
      }
      lock.lock();
    }
    bool expired = false;
    const int64_t now = clock_->now_ms();
    std::erase_if(answers_, [&](const auto& a) { return a.second.kept_until_ms <= now; });
    std::vector<Pending> again;  // state fetches to send once more
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline_ms > now) {
        ++it;
        continue;
      }
      breaker_locked(it->second.peer).record_failure();
      ++stats_.timed_out;
      forget_key_locked(it->second.region, it->second.key, it->first);
      if (it->second.state_attempts_left > 0) {
        again.push_back(std::move(it->second));
      } else {
        expired = true;
      }
      it = pending_.erase(it);
    }
    for (Pending& p : again) {
      ++stats_.state_retries;
      const uint64_t ticket = ask_locked(p.region, p.peer, p.key, options_.state_timeout_ms);
      Pending& sent = pending_.at(ticket);
      sent.state_attempts_left = p.state_attempts_left - 1;
      sent.ask_again = p.ask_again;
    }
    if (expired && done_) {
      lock.unlock();
      done_();
      lock.lock();
    }
    if (!running_ || !outgoing_.empty()) continue;
    // Deadlines are on the injected clock: with fetches out, look often.
    lock.wait_for(cv_, std::chrono::milliseconds(pending_.empty() && answers_.empty() ? 100 : 2));
  }
}

}  // namespace geocache
