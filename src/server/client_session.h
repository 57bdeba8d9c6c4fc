// ClientSession: what the server knows about one connection, shared with
// the command handlers (CommandContext::session).
//
// Thread-safety: a session is owned by its connection's event-loop thread;
// handlers run on that thread and may use every field. Other threads (CLIENT
// LIST from another connection) read only through ServerState's client
// registry, which takes its mutex; the fields they read are marked.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "core/version.h"
#include "server/transaction.h"

namespace geocache {

struct CommandSpec;
class Mailbox;

struct ClientSession {
  uint64_t id = 0;                 // unique per process, from 1 (CLIENT ID)
  int fd = -1;
  RegionId region = 0;             // the region whose port the client used
  std::string addr;                // "ip:port" of the peer
  std::string laddr;               // "ip:port" of our end
  int64_t created_ms = 0;          // server clock at accept (ServerState::now_ms)
  std::atomic<int> protocol{2};    // RESP version (HELLO); read by CLIENT LIST
  std::atomic<int> db{0};          // SELECT; read by CLIENT LIST
  bool authenticated = false;      // true once AUTH succeeded or none is needed
  bool close_after_reply = false;  // QUIT, protocol errors, SHUTDOWN
  std::string name;                // CLIENT SETNAME; guarded by the registry mutex
  std::string lib_name, lib_ver;   // CLIENT SETINFO; guarded by the registry mutex
  // MULTI and WATCH state; made at the first of them (server/transaction.h).
  std::unique_ptr<Transaction> txn;

  // Set by a command that cannot answer yet (GEO.WAIT, a GET waiting for a
  // miss fallback), which then writes no reply: the connection keeps the
  // command and everything behind it in its input until `ready` holds or
  // deadline_ms (server clock) passes, then runs it again with answer_now
  // set. ready runs on the connection's loop thread; it must not block.
  struct Wait {
    std::function<bool()> ready;
    int64_t deadline_ms = 0;
  };
  std::optional<Wait> wait;
  // The command must answer now, not wait: it runs again after its wait
  // (or inside a transaction or script).
  bool answer_now = false;
  // The miss fallback a waiting GET asked for (GeoCache::fetch_missing); 0: none.
  uint64_t fetch_ticket = 0;

  // Read by other threads without a lock (CLIENT LIST, idle timeout).
  std::atomic<int64_t> last_interaction_ms{0};
  std::atomic<const CommandSpec*> last_command{nullptr};  // a row of the command table
  std::atomic<uint64_t> input_buffer_bytes{0};
  std::atomic<uint64_t> output_buffer_bytes{0};

  // How other threads reach this connection (PUBLISH, invalidations); null
  // for a session without a connection.
  std::shared_ptr<Mailbox> mailbox;
  // Pub/sub (server/pubsub.h): changed only by PubSub on this session's
  // thread; the counts are read by CLIENT LIST.
  std::set<std::string, std::less<>> channels, patterns;
  std::atomic<int> subscriptions{0}, pattern_subscriptions{0};
  bool tracking = false;    // CLIENT TRACKING ON (server/tracking.h)
  std::atomic<bool> kill_requested{false};  // set by CLIENT KILL from any thread
};

}  // namespace geocache
