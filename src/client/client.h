// geocache::Client: a C++ client that reads from the closest healthy region
// and writes to its home region (docs/client.md).
//
//   ClientOptions o;
//   o.regions = {{"us-east", "10.0.0.1", 6390}, {"eu-west", "10.0.1.1", 6390}};
//   o.home = "us-east";
//   geocache::Client client(o);
//   client.set("greeting", "hello", 3600'000);
//   auto v = client.get("greeting");  // from the region with the shortest round trip
//
// The endpoints can also come from any one node: Client::discover(host, port)
// (GEO.REGIONS: the endpoint each region announces).
//
// A thread of its own PINGs every region each probe_interval_ms and keeps a
// round trip per region (the median of its last samples). Reads go to the
// read region, which changes only when another region is clearly closer
// (hysteresis, below) or when the read region fails. Every region has a
// CircuitBreaker (messaging/circuit_breaker.h): failed reads and probes open
// it, and an open region is neither read from nor probed until its interval
// has passed; a probe then closes it again, and the region is picked once
// more if it is the closest.
//
// Hysteresis: the read region moves to another healthy one only after
// switch_samples probe rounds in a row in which that region's round trip was
// shorter by more than max(switch_margin_us, switch_ratio * the read
// region's). Moves at once when the read region's breaker is not closed.
//
// A read that fails on the read region is retried at once on the next
// closest healthy regions (so a dead region costs one failed attempt, not a
// breaker interval). Writes go to the home region only; with the home region
// unreachable they fail (Unavailable) rather than land elsewhere.
//
// Read-your-writes: every write returns a token of the home region's stream
// (GEO.TOKEN, pipelined with it), and a read in another region runs behind
// GEO.WAIT on the client's last token: it answers once that region has
// applied the write, or, if it has not within read_your_writes_wait_ms, the
// read goes to the home region. So a client always reads its own writes, and
// reads from the closest region whenever replication keeps up. The token
// can be carried to another client (session_token(), set_session_token()):
// a web session's cookie, say.
//
// Thread-safety: every public method is thread-safe. Each region has one
// connection for commands, used by one call at a time, and one for probes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "messaging/circuit_breaker.h"

namespace geocache {

struct RegionEndpoint {
  std::string name;
  std::string host;
  int port = 0;
};

struct ClientOptions {
  std::vector<RegionEndpoint> regions;  // every region; names unique
  std::string home;                     // where writes go: one of regions
  std::string password;                 // AUTH on every connection if set
  int64_t probe_interval_ms = 100;      // between two probe rounds
  size_t rtt_window = 5;                // probe samples a round trip is the median of
  int64_t switch_margin_us = 1000;      // hysteresis: another region must be closer by more
  double switch_ratio = 0.2;            //   than max(margin, ratio * read region's round trip)
  int switch_samples = 3;               //   for this many probe rounds in a row
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  // How long a read in a region other than home waits for that region to
  // apply this client's last write before it goes home (below command_timeout_ms).
  int64_t read_your_writes_wait_ms = 50;
  // Two failures in a row open a region's circuit for a second.
  CircuitBreakerOptions breaker{.failure_threshold = 2, .open_interval_ms = 1000, .half_open_probes = 1};
  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

// What the client knows of one region now.
struct RegionHealth {
  std::string name;
  std::optional<int64_t> rtt_us;  // median of the recent probes; none before one succeeded
  CircuitBreaker::State breaker = CircuitBreaker::State::kClosed;
  bool reading = false;  // the read region
  bool home = false;
};

class Client {
 public:
  // Connects lazily: regions that are down now are tried again later. Starts
  // the probe thread, which makes a first round before the constructor
  // returns, so the first read already goes to the closest region.
  explicit Client(ClientOptions options);

  // Every region the node at host:port knows and the endpoint it announces
  // (GEO.REGIONS; geocached's `announce` setting): a deployment's endpoints
  // from any one of its nodes. Regions that announce none are left out; so
  // are remote regions it has not heard a hello from (heartbeats travel only
  // between processes). Unavailable if the node does not answer.
  static Result<std::vector<RegionEndpoint>> discover(const std::string& host, int port,
                                                      const std::string& password = {}, int64_t timeout_ms = 1000);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The value, nullopt if the key is missing; Unavailable if no region
  // answered; WrongType for a key that holds no string.
  Result<std::optional<std::string>> get(const std::string& key);
  // SET key value, with PX ttl_ms if it is positive.
  Status set(const std::string& key, const std::string& value, int64_t ttl_ms = 0);
  // DEL key: whether it existed.
  Result<bool> del(const std::string& key);

  // The token of this client's last write (empty before one): reads wait
  // for it. Another client given it (set_session_token) reads that write too.
  std::string session_token() const;
  void set_session_token(std::string token);
  // Reads that went to home because the closer region had not applied the
  // client's last write within read_your_writes_wait_ms.
  uint64_t reads_sent_home() const;

  // The region that answered the last successful read (empty before one).
  std::string last_read_region() const;
  // The region reads go to first now.
  std::string read_region() const;
  std::vector<RegionHealth> health() const;
  // Probe rounds made so far (tests await a number of them).
  uint64_t probe_rounds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace geocache
