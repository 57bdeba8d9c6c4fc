// PubSub: channels and patterns of one geocached process (PUBLISH,
// SUBSCRIBE, PSUBSCRIBE, PUBSUB). Local to the process: a message reaches
// the subscribers of every region this process serves, not other
// processes' (docs/data_commands.md, "Pub/sub").
//
// A subscriber is a session with a mailbox (server/mailbox.h): PUBLISH
// encodes the message once per protocol (RESP2 array, RESP3 push) and hands
// it to each subscriber's mailbox, whichever event loop owns it.
//
// Thread-safety: every method is thread-safe. A session's own subscription
// sets (ClientSession::channels, patterns) are changed only here, on its
// loop's thread, and read without the lock only there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutex.h"
#include "server/client_session.h"

namespace geocache {

class PubSub {
 public:
  // True if the session was not subscribed to it yet.
  bool subscribe(ClientSession* s, std::string_view channel);
  bool unsubscribe(ClientSession* s, std::string_view channel);
  bool psubscribe(ClientSession* s, std::string_view pattern);
  bool punsubscribe(ClientSession* s, std::string_view pattern);
  // Every subscription of the session (it is closing or RESET).
  void drop(ClientSession* s);

  // Delivers to the channel's subscribers and the matching patterns';
  // returns how many received it. limit: the pubsub output-buffer limit.
  size_t publish(std::string_view channel, std::string_view message, size_t limit);

  // Channels with at least one subscriber matching pattern ("" = all).
  std::vector<std::string> channels(std::string_view pattern) const;
  size_t numsub(std::string_view channel) const;
  size_t numpat() const;  // patterns subscribed, counted once each
  size_t channel_count() const;
  size_t clients() const;  // sessions with a subscription

 private:
  mutable Mutex mu_;
  std::map<std::string, std::map<uint64_t, ClientSession*>, std::less<>> channels_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<uint64_t, ClientSession*>, std::less<>> patterns_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, int> subscribed_ ABSL_GUARDED_BY(mu_);  // session id -> subscriptions
};

// The reply bytes of a pub/sub message for a session of `protocol`:
// [kind, channel, payload] (or [kind, pattern, channel, payload]) as a RESP2
// array or a RESP3 push.
std::string pubsub_message(int protocol, std::string_view kind, std::string_view pattern, std::string_view channel,
                           std::string_view payload);

}  // namespace geocache
