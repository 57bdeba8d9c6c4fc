// Tracking: client-side caching (CLIENT TRACKING), Redis' default mode and
// BCAST mode. In the default mode the server remembers the keys each
// tracking client read and, when one of them is written, sends that client
// one invalidation and forgets the key for it (it must read it again to be
// told again). In BCAST mode a client is told of every written key that
// starts with one of its prefixes (all keys without a prefix). FLUSHDB and
// FLUSHALL invalidate everything (a null key list, as Redis sends).
//
// An invalidation is a RESP3 push ["invalidate", [key]] to the client
// itself, or, with REDIRECT id, a message on channel __redis__:invalidate
// to that client (RESP2 clients use a second connection subscribed there).
//
// What writes are seen: every write a client of this process makes, through
// dispatch, and every write another region's event makes to a local store
// (GeoCache's RemoteWriteObserver, set by Server::start). Evictions and
// expiries are not (Redis tells of those too).
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "cache/geo_cache.h"
#include "core/mutex.h"
#include "server/client_session.h"

namespace geocache {

class Mailbox;

struct TrackingOptions {
  bool bcast = false;
  bool noloop = false;                // not told of its own writes
  std::vector<std::string> prefixes;  // BCAST only
  // Where invalidations go: the client's own mailbox, or the REDIRECT
  // client's, whose protocol then decides the form.
  std::shared_ptr<Mailbox> target;
  int target_protocol = 3;
  bool redirected = false;
};

class Tracking : public RemoteWriteObserver {
 public:
  void enable(const ClientSession* s, TrackingOptions options);
  void disable(const ClientSession* s);
  bool enabled(const ClientSession* s) const;
  // Cheap check for dispatch: is any client tracking?
  bool active() const { return clients_count_.load(std::memory_order_relaxed) > 0; }
  size_t clients() const { return clients_count_.load(std::memory_order_relaxed); }

  // s read key (default mode only; BCAST clients need no memory of reads).
  void remember(const ClientSession* s, std::string_view key);
  // key was written by writer.
  void invalidate(std::string_view key, const ClientSession* writer);
  // Everything was (FLUSHDB, FLUSHALL).
  void invalidate_all();
  // A write from another region (keys as stored: a database's prefix goes).
  void on_remote_write(RegionId region, std::optional<std::string_view> key) override;

 private:
  struct Client {
    TrackingOptions options;
  };
  void send_locked(const Client& c, const std::string* key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  std::map<uint64_t, Client> clients_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<uint64_t>> keys_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> clients_count_{0};
};

}  // namespace geocache
