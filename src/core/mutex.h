// Mutex and its scoped locks, annotated for Clang's -Wthread-safety.
//
// A member written `ABSL_GUARDED_BY(mu_)` and a helper declared
// `ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_)` are then checked at compile time (the
// clang build of scripts/test.sh). libstdc++'s std::mutex and lock_guard carry
// no annotations, so the analysis cannot see through them; these thin
// wrappers can. They wrap std::mutex rather than using absl::Mutex on purpose:
// ThreadSanitizer intercepts pthread mutexes, while Debian's Abseil is not
// built with TSan annotations and would show its internal atomics as races.
//
// Waiting: MutexLock::wait*() take a std::condition_variable and keep the
// analysis simple by presenting the lock as held throughout (it is, whenever
// the caller runs). Write waits as loops over a guarded condition:
//
//   MutexLock lock(mu_);
//   while (!ready_) lock.wait(cv_);
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace geocache {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds the lock (no run-time check).
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope; may be released and taken again (unlock() /
// lock()) around work that must not run under it, and waits on condition
// variables.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : lock_(mu.mu_) {}
  ~MutexLock() ABSL_UNLOCK_FUNCTION() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { lock_.unlock(); }

  // Releases the lock while blocked on cv; holds it again on return (spurious
  // wake-ups included: callers loop).
  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  // Like wait(), for at most `timeout`. Returns false on timeout.
  template <class Rep, class Period>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout) {
    return cv.wait_for(lock_, timeout) == std::cv_status::no_timeout;
  }
  template <class ClockT, class Duration>
  bool wait_until(std::condition_variable& cv, std::chrono::time_point<ClockT, Duration> deadline) {
    return cv.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace geocache
