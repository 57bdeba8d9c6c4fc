// ExclusionGate: lets one thread run with every other user of a store held
// off (a transaction, a script, a replicated group of writes), at almost no
// cost to the ordinary users.
//
// It is a "big-reader" lock. Each ordinary user (an event loop, a region's
// replication receiver) owns a Slot, a mutex of its own that it holds while
// it touches the data (a loop: for a whole read's worth of commands), so the
// shared side never writes a cache line another thread writes: an
// uncontended lock and unlock. The exclusive side takes a mutex that orders
// the exclusive holders, then every slot in turn, so it waits for each user
// to finish what it is doing and keeps it out until done.
//
// A user that wants to go exclusive while holding its own slot must let go
// of it first (run_exclusive does): two loops each holding their slot and
// waiting for the other's would deadlock. The exclusive holder is
// re-entrant: run_exclusive and SharedLock within it just run (a script in a
// transaction, a group applied by a receiver).
//
// Slots are made once (a loop, a region) and live as long as the gate.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <deque>
#include <thread>

#include "absl/functional/function_ref.h"
#include "core/mutex.h"

namespace geocache {

class ExclusionGate {
 public:
  class Slot {
   private:
    friend class ExclusionGate;
    Mutex mu_;
  };

  // A new slot for one more user. Never freed before the gate.
  Slot* add_slot() {
    MutexLock lock(exclusive_mu_);
    return &slots_.emplace_back();
  }

  // True on the thread running an exclusive section.
  bool held_exclusively() const {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

  // Holds `slot` for its scope: shared use, kept out of exclusive sections.
  // Does nothing (holds nothing) on the thread running one. slot may be null
  // (a caller without a slot: tests), then nothing is held.
  class SharedLock {
   public:
    // Conditional locking the analysis cannot follow; this class is the one
    // place slots are taken shared.
    SharedLock(ExclusionGate& gate, Slot* slot) ABSL_NO_THREAD_SAFETY_ANALYSIS
        : slot_(slot != nullptr && !gate.held_exclusively() ? slot : nullptr) {
      if (slot_ != nullptr) slot_->mu_.lock();
    }
    ~SharedLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (slot_ != nullptr) slot_->mu_.unlock();
    }
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;

   private:
    Slot* slot_;
  };

  // Runs fn with every slot held: no shared user runs meanwhile. held: the
  // caller's own slot, which it holds now (or null): released first, held
  // again on return. Re-entrant on the exclusive thread.
  void run_exclusive(Slot* held, absl::FunctionRef<void()> fn) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (held_exclusively()) return fn();
    if (held != nullptr) held->mu_.unlock();
    {
      ExclusiveLock lock(*this);
      fn();
    }
    if (held != nullptr) held->mu_.lock();
  }

 private:
  // The analysis cannot follow a variable number of mutexes; this class is
  // where they are taken and released, in one place.
  class ExclusiveLock {
   public:
    explicit ExclusiveLock(ExclusionGate& gate) ABSL_NO_THREAD_SAFETY_ANALYSIS : gate_(gate) {
      gate_.exclusive_mu_.lock();
      for (Slot& s : gate_.slots_) s.mu_.lock();
      gate_.owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    ~ExclusiveLock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      gate_.owner_.store(std::thread::id(), std::memory_order_relaxed);
      for (Slot& s : gate_.slots_) s.mu_.unlock();
      gate_.exclusive_mu_.unlock();
    }

   private:
    ExclusionGate& gate_;
  };

  Mutex exclusive_mu_;                                // orders exclusive holders and add_slot
  std::deque<Slot> slots_ ABSL_GUARDED_BY(exclusive_mu_);  // a deque: slots never move
  std::atomic<std::thread::id> owner_{};              // the exclusive holder, if any
};

}  // namespace geocache
