// AdaptiveMutex: a mutex that spins a little before it sleeps.
//
// A shard's critical sections are a few cache misses long (under a
// microsecond), while a futex sleep and wake-up costs several microseconds on
// a VM: with a plain std::mutex, two threads meeting on one shard made two
// threads slower than one. (glibc's PTHREAD_MUTEX_ADAPTIVE_NP spins too, but
// measured ~200 ns slower per uncontended lock here.)
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace geocache::detail {

class ABSL_LOCKABLE AdaptiveMutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      __builtin_ia32_pause();
    }
    mu_.lock();
  }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

 private:
  static constexpr int kSpins = 100;  // ~a few µs of pause instructions
  std::mutex mu_;
};

// Holds an AdaptiveMutex for its scope (annotated, unlike std::lock_guard).
class ABSL_SCOPED_LOCKABLE AdaptiveMutexLock {
 public:
  explicit AdaptiveMutexLock(AdaptiveMutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.lock(); }
  ~AdaptiveMutexLock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  AdaptiveMutexLock(const AdaptiveMutexLock&) = delete;
  AdaptiveMutexLock& operator=(const AdaptiveMutexLock&) = delete;

 private:
  AdaptiveMutex& mu_;
};

}  // namespace geocache::detail
