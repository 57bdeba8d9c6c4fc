// AdaptiveMutex: a mutex that spins a little before it sleeps.
//
// A shard's critical sections are a few cache misses long (under a
// microsecond), while a futex sleep and wake-up costs several microseconds on
// a VM: with a plain std::mutex, two threads meeting on one shard made two
// threads slower than one. (glibc's PTHREAD_MUTEX_ADAPTIVE_NP spins too, but
// measured ~200 ns slower per uncontended lock here.)
#pragma once

#include <mutex>

namespace geocache::detail {

class AdaptiveMutex {
 public:
  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      __builtin_ia32_pause();
    }
    mu_.lock();
  }
  void unlock() { mu_.unlock(); }
  bool try_lock() { return mu_.try_lock(); }

 private:
  static constexpr int kSpins = 100;  // ~a few µs of pause instructions
  std::mutex mu_;
};

}  // namespace geocache::detail
