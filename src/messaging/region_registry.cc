#include "messaging/region_registry.h"

#include <algorithm>
#include <stdexcept>

namespace geocache {
namespace {

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

void check_region_names(const std::vector<std::string>& names, const std::string& what) {
  std::map<RegionId, std::string> ids;
  for (const auto& name : names) {
    if (name.empty()) throw std::invalid_argument(what + ": a region name is empty");
    if (name.size() > kMaxRegionName) {
      throw std::invalid_argument(what + ": region name '" + name + "' is longer than " +
                                  std::to_string(kMaxRegionName) + " bytes");
    }
    if (!std::all_of(name.begin(), name.end(), valid_name_char)) {
      throw std::invalid_argument(what + ": region name '" + name + "' may hold only letters, digits, '-' and '_'");
    }
    const auto [it, added] = ids.emplace(region_id_for(name), name);
    if (!added && it->second == name) throw std::invalid_argument(what + ": '" + name + "' is listed twice");
    if (!added) {
      throw std::invalid_argument(what + ": regions '" + it->second + "' and '" + name + "' have the same id " +
                                  std::to_string(it->first) + " (a hash of the name); rename one of them");
    }
  }
}

RegionRegistry::RegionRegistry(const std::vector<std::string>& configured, const std::vector<std::string>& local,
                               const LatencyMap& latency)
    : latency_(latency) {
  for (const auto& name : configured) {
    RegionInfo info;
    info.id = region_id_for(name);
    info.name = name;
    info.configured = true;
    info.local = std::find(local.begin(), local.end(), name) != local.end();
    fixed_.push_back(info);
    configured_.push_back(info.id);
    if (info.local) local_.push_back(info.id);
  }
  for (RegionId from : configured_) {
    auto latency = [&](RegionId to) -> int64_t {
      if (to == from) return -1;
      return latency_ms(from, to).value_or(kUnknownLatencyMs);
    };
    std::vector<RegionId> order = configured_;
    std::stable_sort(order.begin(), order.end(), [&](RegionId a, RegionId b) { return latency(a) < latency(b); });
    by_distance_.emplace_back(from, std::move(order));
  }
}

std::optional<RegionId> RegionRegistry::find(std::string_view name) const {
  for (const auto& r : fixed_) {
    if (r.name == name) return r.id;
  }
  MutexLock lock(mu_);
  for (const auto& r : learned_) {
    if (r.name == name) return r.id;
  }
  return std::nullopt;
}

std::string RegionRegistry::name(RegionId id) const {
  for (const auto& r : fixed_) {
    if (r.id == id) return r.name;
  }
  MutexLock lock(mu_);
  for (const auto& r : learned_) {
    if (r.id == id && !r.name.empty()) return r.name;
  }
  return "#" + std::to_string(id);
}

bool RegionRegistry::is_local(RegionId id) const { return std::find(local_.begin(), local_.end(), id) != local_.end(); }

bool RegionRegistry::is_configured(RegionId id) const {
  return std::find(configured_.begin(), configured_.end(), id) != configured_.end();
}

const std::vector<RegionId>& RegionRegistry::by_distance(RegionId from) const {
  static const std::vector<RegionId> kNone;
  for (const auto& [id, order] : by_distance_) {
    if (id == from) return order;
  }
  return kNone;
}

std::optional<int64_t> RegionRegistry::latency_ms(RegionId a, RegionId b) const {
  const std::string* na = nullptr;
  const std::string* nb = nullptr;
  for (const auto& r : fixed_) {
    if (r.id == a) na = &r.name;
    if (r.id == b) nb = &r.name;
  }
  if (na == nullptr || nb == nullptr) return std::nullopt;
  auto it = latency_.find({*na, *nb});
  if (it == latency_.end()) it = latency_.find({*nb, *na});
  if (it == latency_.end()) return std::nullopt;
  return it->second;
}

RegionRegistry::Learned RegionRegistry::learn(RegionId id, std::string_view name) {
  if (id == 0) return Learned::kKnown;
  for (const auto& r : fixed_) {
    if (r.id == id) return name.empty() || r.name == name ? Learned::kKnown : Learned::kClash;
  }
  MutexLock lock(mu_);
  for (auto& r : learned_) {
    if (r.id != id) continue;
    if (name.empty() || r.name == name) return Learned::kKnown;
    if (r.name.empty()) {
      r.name.assign(name);
      return Learned::kKnown;
    }
    return Learned::kClash;
  }
  if (fixed_.size() + learned_.size() >= static_cast<size_t>(kMaxRegions)) return Learned::kFull;
  RegionInfo info;
  info.id = id;
  info.name.assign(name);
  learned_.push_back(std::move(info));
  return Learned::kNew;
}

std::vector<RegionInfo> RegionRegistry::all() const {
  std::vector<RegionInfo> out = fixed_;
  MutexLock lock(mu_);
  out.insert(out.end(), learned_.begin(), learned_.end());
  return out;
}

}  // namespace geocache
