#include "server/tracking.h"

#include "server/databases.h"
#include "server/mailbox.h"
#include "server/reply_writer.h"

namespace geocache {

void Tracking::enable(const ClientSession* s, TrackingOptions options) {
  MutexLock lock(mu_);
  clients_[s->id] = Client{std::move(options)};
  clients_count_.store(clients_.size(), std::memory_order_relaxed);
}

void Tracking::disable(const ClientSession* s) {
  MutexLock lock(mu_);
  if (clients_.erase(s->id) == 0) return;
  clients_count_.store(clients_.size(), std::memory_order_relaxed);
  // Its remembered keys go lazily: an invalidation finds no client and
  // drops the id (a cheap sweep here would be a walk of every key).
}

bool Tracking::enabled(const ClientSession* s) const {
  MutexLock lock(mu_);
  return clients_.contains(s->id);
}

void Tracking::remember(const ClientSession* s, std::string_view key) {
  MutexLock lock(mu_);
  auto it = clients_.find(s->id);
  if (it == clients_.end() || it->second.options.bcast) return;
  keys_[std::string(key)].insert(s->id);
}

void Tracking::send_locked(const Client& c, const std::string* key) {
  if (!c.options.target) return;
  std::string out;
  ReplyWriter w(&out);
  w.set_protocol(c.options.target_protocol);
  if (c.options.redirected) {
    // A message on __redis__:invalidate whose payload is the key list.
    w.push_header(3);
    w.bulk("message");
    w.bulk("__redis__:invalidate");
  } else {
    w.push_header(2);
    w.bulk("invalidate");
  }
  if (key == nullptr) {
    w.null_array();
  } else {
    w.array_header(1);
    w.bulk(*key);
  }
  c.options.target->deliver(out, 0);
}

void Tracking::invalidate(std::string_view key, const ClientSession* writer) {
  MutexLock lock(mu_);
  const std::string k(key);
  if (auto it = keys_.find(k); it != keys_.end()) {
    for (uint64_t id : it->second) {
      auto c = clients_.find(id);
      if (c == clients_.end()) continue;
      if (c->second.options.noloop && writer != nullptr && writer->id == id) continue;
      send_locked(c->second, &k);
    }
    keys_.erase(it);
  }
  for (const auto& [id, c] : clients_) {
    if (!c.options.bcast) continue;
    if (c.options.noloop && writer != nullptr && writer->id == id) continue;
    bool match = c.options.prefixes.empty();
    for (const std::string& p : c.options.prefixes) match = match || key.substr(0, p.size()) == p;
    if (match) send_locked(c, &k);
  }
}

void Tracking::invalidate_all() {
  MutexLock lock(mu_);
  keys_.clear();
  for (const auto& [id, c] : clients_) send_locked(c, nullptr);
}

void Tracking::on_remote_write(RegionId, std::optional<std::string_view> key) {
  if (!active()) return;
  if (!key) return invalidate_all();
  std::string_view user_key;
  key_db(*key, &user_key);
  invalidate(user_key, nullptr);
}

}  // namespace geocache
