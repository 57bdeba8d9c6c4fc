#include "server/pubsub.h"

#include "server/glob_match.h"
#include "server/mailbox.h"
#include "server/reply_writer.h"

namespace geocache {
namespace {

using Subscribers = std::map<uint64_t, ClientSession*>;

}  // namespace

std::string pubsub_message(int protocol, std::string_view kind, std::string_view pattern, std::string_view channel,
                           std::string_view payload) {
  std::string out;
  ReplyWriter w(&out);
  w.set_protocol(protocol);
  w.push_header(pattern.empty() ? 3 : 4);
  w.bulk(kind);
  if (!pattern.empty()) w.bulk(pattern);
  w.bulk(channel);
  w.bulk(payload);
  return out;
}

bool PubSub::subscribe(ClientSession* s, std::string_view channel) {
  if (!s->channels.emplace(channel).second) return false;
  s->subscriptions.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end()) it = channels_.emplace(std::string(channel), Subscribers{}).first;
  it->second[s->id] = s;
  ++subscribed_[s->id];
  return true;
}

bool PubSub::psubscribe(ClientSession* s, std::string_view pattern) {
  if (!s->patterns.emplace(pattern).second) return false;
  s->pattern_subscriptions.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(mu_);
  auto it = patterns_.find(pattern);
  if (it == patterns_.end()) it = patterns_.emplace(std::string(pattern), Subscribers{}).first;
  it->second[s->id] = s;
  ++subscribed_[s->id];
  return true;
}

bool PubSub::unsubscribe(ClientSession* s, std::string_view channel) {
  auto mine = s->channels.find(channel);
  if (mine == s->channels.end()) return false;
  s->channels.erase(mine);
  s->subscriptions.fetch_sub(1, std::memory_order_relaxed);
  MutexLock lock(mu_);
  if (auto it = channels_.find(channel); it != channels_.end()) {
    it->second.erase(s->id);
    if (it->second.empty()) channels_.erase(it);
  }
  if (--subscribed_[s->id] == 0) subscribed_.erase(s->id);
  return true;
}

bool PubSub::punsubscribe(ClientSession* s, std::string_view pattern) {
  auto mine = s->patterns.find(pattern);
  if (mine == s->patterns.end()) return false;
  s->patterns.erase(mine);
  s->pattern_subscriptions.fetch_sub(1, std::memory_order_relaxed);
  MutexLock lock(mu_);
  if (auto it = patterns_.find(pattern); it != patterns_.end()) {
    it->second.erase(s->id);
    if (it->second.empty()) patterns_.erase(it);
  }
  if (--subscribed_[s->id] == 0) subscribed_.erase(s->id);
  return true;
}

void PubSub::drop(ClientSession* s) {
  while (!s->channels.empty()) unsubscribe(s, std::string(*s->channels.begin()));
  while (!s->patterns.empty()) punsubscribe(s, std::string(*s->patterns.begin()));
}

size_t PubSub::publish(std::string_view channel, std::string_view message, size_t limit) {
  // Encoded once per protocol, on first need.
  std::string resp2, resp3;
  auto send = [&](ClientSession* s, std::string_view pattern) {
    if (!s->mailbox) return;
    const int protocol = s->protocol.load(std::memory_order_relaxed);
    std::string& bytes = protocol == 3 ? resp3 : resp2;
    if (pattern.empty()) {
      if (bytes.empty()) bytes = pubsub_message(protocol, "message", {}, channel, message);
      s->mailbox->deliver(bytes, limit, s->output_buffer_bytes.load(std::memory_order_relaxed));
    } else {
      // A pattern's message names the pattern: encoded per pattern.
      s->mailbox->deliver(pubsub_message(protocol, "pmessage", pattern, channel, message), limit,
                          s->output_buffer_bytes.load(std::memory_order_relaxed));
    }
  };
  size_t n = 0;
  MutexLock lock(mu_);
  if (auto it = channels_.find(channel); it != channels_.end()) {
    for (const auto& [id, s] : it->second) {
      send(s, {});
      ++n;
    }
  }
  for (const auto& [pattern, subs] : patterns_) {
    if (!glob_match(pattern, channel)) continue;
    for (const auto& [id, s] : subs) {
      send(s, pattern);
      ++n;
    }
  }
  return n;
}

std::vector<std::string> PubSub::channels(std::string_view pattern) const {
  std::vector<std::string> out;
  MutexLock lock(mu_);
  for (const auto& [name, subs] : channels_) {
    if (pattern.empty() || glob_match(pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSub::numsub(std::string_view channel) const {
  MutexLock lock(mu_);
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.size();
}

size_t PubSub::numpat() const {
  MutexLock lock(mu_);
  return patterns_.size();
}

size_t PubSub::channel_count() const {
  MutexLock lock(mu_);
  return channels_.size();
}

size_t PubSub::clients() const {
  MutexLock lock(mu_);
  return subscribed_.size();
}

}  // namespace geocache
