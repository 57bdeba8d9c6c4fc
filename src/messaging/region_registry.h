// RegionRegistry: the one place that knows the regions: their names and ids,
// which of them this process hosts, and how far the configured ones are from
// each other (the order reads fall back in).
//
// A region's identity is its name. Its id is a hash of the name
// (region_id_for), so every process derives the same id for the same name,
// whatever list of regions it was started with and in whatever order, and a
// process may be started knowing no region but its own: it learns the others
// from what arrives. Names of one configuration whose ids collide are refused
// at start (check_region_names); a name learned later whose id is already
// another name's is reported by learn().
//
// The configured and local regions are fixed at construction and read
// without a lock; regions learned later are added under a mutex.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/version.h"

namespace geocache {

// A region name is at most this many bytes of letters, digits, '-' and '_':
// it is an AMQP routing key word and appears in INFO lines.
inline constexpr size_t kMaxRegionName = 64;

// The id of the region called `name`: 32-bit FNV-1a of its bytes, with 0
// (reserved for "no region") mapped to 1.
constexpr RegionId region_id_for(std::string_view name) {
  uint32_t h = 2166136261u;
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

// Throws std::invalid_argument, starting with `what`, if a name is empty,
// longer than kMaxRegionName, has another character than letters, digits,
// '-' and '_', is listed twice, or has the id of another name in the list.
void check_region_names(const std::vector<std::string>& names, const std::string& what);

struct RegionInfo {
  RegionId id = 0;
  std::string name;         // empty while only the id is known
  bool local = false;       // hosted by this process
  bool configured = false;  // named by the configuration (else learned)
};

class RegionRegistry {
 public:
  // Round trips between regions by name (either order), ms.
  using LatencyMap = std::map<std::pair<std::string, std::string>, int64_t>;
  // Pairs not in the latency map count as this far apart, ms.
  static constexpr int64_t kUnknownLatencyMs = 1000;

  // configured: the regions the configuration names; local: those hosted
  // here (each also configured). REQUIRES: check_region_names() passed.
  RegionRegistry(const std::vector<std::string>& configured, const std::vector<std::string>& local,
                 const LatencyMap& latency = {});
  RegionRegistry(const RegionRegistry&) = delete;
  RegionRegistry& operator=(const RegionRegistry&) = delete;

  // The id of a configured or learned region called `name`.
  std::optional<RegionId> find(std::string_view name) const;
  // The region's name; "#" and the id in decimal while only the id is known.
  std::string name(RegionId id) const;
  bool is_local(RegionId id) const;
  bool is_configured(RegionId id) const;
  // Hosted here, and configured, in the configuration's order.
  const std::vector<RegionId>& local() const { return local_; }
  const std::vector<RegionId>& configured() const { return configured_; }
  // The configured regions ordered by round trip from configured region
  // `from`, closest first (`from` itself first); empty for any other id.
  const std::vector<RegionId>& by_distance(RegionId from) const;
  // The configured round trip between two regions, if any.
  std::optional<int64_t> latency_ms(RegionId a, RegionId b) const;

  enum class Learned {
    kKnown,  // known already (under this name, or the name was not given)
    kNew,    // added
    kClash,  // `id` is known under another name: two names share an id
    kFull,   // kMaxRegions regions known already: not added
  };
  // Records that region `id` exists and is called `name` (empty: not known
  // yet; a later call may name it).
  Learned learn(RegionId id, std::string_view name);

  // Every region known: the configured ones in the configuration's order,
  // then the learned ones in the order they were learned.
  std::vector<RegionInfo> all() const;

 private:
  const LatencyMap latency_;
  std::vector<RegionInfo> fixed_;  // the configured regions
  std::vector<RegionId> configured_;
  std::vector<RegionId> local_;
  std::vector<std::pair<RegionId, std::vector<RegionId>>> by_distance_;

  mutable Mutex mu_;
  std::vector<RegionInfo> learned_ ABSL_GUARDED_BY(mu_);
};

}  // namespace geocache
