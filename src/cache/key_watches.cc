#include "cache/key_watches.h"

#include <algorithm>

#include "absl/strings/string_view.h"

namespace geocache {

void KeyWatches::watch(Watcher* w, RegionId region, std::string_view key) {
  for (const auto& [r, k] : w->keys) {
    if (r == region && k == key) return;  // WATCH k k: once
  }
  w->keys.emplace_back(region, std::string(key));
  MutexLock lock(mu_);
  by_key_[absl::string_view(key.data(), key.size())].emplace_back(region, w);
  watched_.fetch_add(1, std::memory_order_relaxed);
}

void KeyWatches::unwatch_all(Watcher* w) {
  if (!w->keys.empty()) {
    MutexLock lock(mu_);
    for (const auto& entry : w->keys) {
      const RegionId region = entry.first;
      auto it = by_key_.find(entry.second);
      if (it == by_key_.end()) continue;
      auto& list = it->second;
      const size_t before = list.size();
      std::erase_if(list, [&](const auto& e) { return e.second == w && e.first == region; });
      watched_.fetch_sub(before - list.size(), std::memory_order_relaxed);
      if (list.empty()) by_key_.erase(it);
    }
  }
  w->keys.clear();
  w->touched.store(false, std::memory_order_relaxed);
}

void KeyWatches::touch_slow(RegionId region, std::string_view key) {
  MutexLock lock(mu_);
  auto it = by_key_.find(absl::string_view(key.data(), key.size()));
  if (it == by_key_.end()) return;
  for (const auto& [r, w] : it->second) {
    if (r == region) w->touched.store(true, std::memory_order_relaxed);
  }
}

void KeyWatches::touch_region(RegionId region) {
  if (watched_.load(std::memory_order_relaxed) == 0) return;
  MutexLock lock(mu_);
  for (const auto& [key, list] : by_key_) {
    for (const auto& [r, w] : list) {
      if (r == region) w->touched.store(true, std::memory_order_relaxed);
    }
  }
}

}  // namespace geocache
