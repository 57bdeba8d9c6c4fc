// Mailbox: how bytes reach a connection from other threads (PUBLISH from a
// client of another event loop, a key invalidation for a tracking client).
// The sender appends already encoded replies and wakes the connection's
// loop, which hands them to the connection's output at its next turn: only
// the loop ever touches its connections.
//
// A mailbox that holds more than the limit a sender passes (client-output-
// buffer-limit's pubsub class) stops taking bytes and is marked overflowed:
// its loop then closes the connection, as Redis drops a slow subscriber.
//
// Thread-safety: deliver() from any thread; take() on the owning loop's
// thread. The lock is held while the loop is woken (its pending_mu_ is
// taken under it); nothing else is.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/mutex.h"

namespace geocache {

class Mailbox;

// The owning loop's side: post() puts a mailbox with new bytes on the
// loop's list and wakes it. Thread-safe.
class MailWaker {
 public:
  virtual ~MailWaker() = default;
  virtual void post(std::shared_ptr<Mailbox> box) = 0;
};

class Mailbox : public std::enable_shared_from_this<Mailbox> {
 public:
  // waker: nullptr for a connection with no loop (tests read take()).
  // owner: the loop's handle for the connection, opaque here.
  Mailbox(MailWaker* waker, void* owner) : waker_(waker), owner_(owner) {}

  // Appends bytes unless that would pass limit (0: none) counting what
  // waits already plus unsent_elsewhere (the connection's own unsent
  // replies, as last published); then the mailbox overflows and takes
  // nothing more. Wakes the loop on the first bytes since its last take().
  void deliver(std::string_view bytes, size_t limit, size_t unsent_elsewhere = 0) {
    MutexLock lock(mu_);
    if (closed_ || overflow_) return;
    if (limit > 0 && bytes_.size() + bytes.size() + unsent_elsewhere > limit) {
      overflow_ = true;
      bytes_.clear();
    } else {
      bytes_.append(bytes);
    }
    const bool wake = !queued_;
    queued_ = true;
    // Under the lock: close() waits for it, so once a connection is closed
    // nothing wakes its loop, which may be gone (a replication thread can
    // deliver an invalidation while the server shuts down).
    if (wake && waker_ != nullptr) waker_->post(shared_from_this());
  }

  // Wakes the loop with nothing to deliver (CLIENT KILL: the loop then
  // sees the session's kill request).
  void poke() { deliver({}, 0); }

  // Moves what waits to the end of *out; true if the mailbox overflowed.
  bool take(std::string* out) {
    MutexLock lock(mu_);
    queued_ = false;
    out->append(bytes_);
    bytes_.clear();
    return overflow_;
  }

  // The connection is gone: later deliveries are dropped.
  void close() {
    MutexLock lock(mu_);
    closed_ = true;
    bytes_.clear();
  }
  bool closed() const {
    MutexLock lock(mu_);
    return closed_;
  }

  void* owner() const { return owner_; }

 private:
  MailWaker* const waker_;
  void* const owner_;
  mutable Mutex mu_;
  std::string bytes_ ABSL_GUARDED_BY(mu_);
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;
  bool queued_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace geocache
