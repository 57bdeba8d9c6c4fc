// AmqpTransport: replication through RabbitMQ with rabbitmq-c.
//
// Two connections per transport, because a rabbitmq-c connection is not
// thread-safe and the two directions have different rhythms:
//
//   publisher  channel 1 in confirm mode. publish() sends one message (one
//              batch) and waits for its basic.ack / basic.nack up to
//              publish_timeout_ms. Only a confirmed batch is reported ok; a
//              nack (a queue full under x-overflow=reject-publish), a timeout or a
//              broken connection is an error and the Replicator keeps the
//              batch and retries (duplicates are dropped by the receivers'
//              (epoch, seq) check). Since publish() and send_to() hold the
//              publisher lock while they wait for their confirm, the delivery
//              tag of the message in flight is the only one that matters;
//              late confirms of earlier, timed-out messages are ignored.
//   consumer   one channel per attached local region (channel 1 + index),
//              basic.qos prefetch, basic.consume on the region's queue. A
//              delivery is handed to the region's Receiver and acked after
//              the receiver returns, so a crash between the two redelivers
//              the batch rather than losing it.
//
// Threads. The supervisor thread owns publisher (re)connection and, while
// publish() is idle, services the publisher connection (rabbitmq-c only
// sends and checks heartbeats when it reads or writes). The consumer thread
// owns the consumer connection entirely: it connects, consumes, and
// reconnects. Both reconnect with exponential backoff and jitter between
// reconnect_min_ms and reconnect_max_ms.
//
// start() makes one synchronous attempt at both connections so that, with
// the broker up, the topology exists when it returns; a broker that is down
// is logged and retried in the background, and publish() answers
// kUnavailable meanwhile so the Replicator's circuit opens and its outbox
// buffers.
//
// Topology, declared on every (re)connect by both connections (declares are
// idempotent): the durable topic exchange, and per attached region a durable
// queue "<queue_prefix><region>" with x-max-length-bytes and x-overflow
// (queue_overflow: drop-head by default, so a queue that fills up costs only
// its own region), bound to "*", "hello.*" and its own "direct.<id>".
// A region publishes its batches with its name as routing key (a name is
// one word: letters, digits, '-', '_'), so "*" delivers every region's: a
// region that joins later is heard at once, without the others knowing of it
// beforehand. Its own come back too; the consumer acks them unread, so they
// never reach its receiver. Hellos (broadcast) go with "hello.<name>" to
// every queue, its own included: a second process serving the same region
// hears the first. But a region's queue hands each message to one of the
// processes consuming it, so two processes serving one region would each get
// only some of the other's hellos (none at all when their hellos fall in step
// with the other messages: seen). So each consumer connection also has a
// queue of its own (server-named, exclusive: gone with the connection, and
// bounded) bound to "hello.<name>" of its local regions: every process of a
// region hears every other's. send_to(from, to) publishes with "direct.<to's id>",
// which neither "*" nor "hello.*" matches: resync traffic reaches its one
// region only, and needs no name (a region may be known by its id alone).
//
// A queue that exists with other arguments (declared by an older version, or
// by a node with another queue_max_bytes) makes the broker refuse the
// declare (PRECONDITION_FAILED). The queue is then used as it is, and the
// problem is logged as an error and reported (set_problem_sink), rather than
// not replicating at all.

#include "messaging/amqp_transport.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/mutex.h"
#include "messaging/region_registry.h"

namespace geocache {
namespace {

constexpr amqp_channel_t kPublishChannel = 1;
constexpr int kFrameMax = 131072;
constexpr int64_t kConsumePollMs = 200;     // how often the consumer checks for stop
constexpr int64_t kSupervisorTickMs = 200;  // how often the supervisor services the publisher
constexpr char kContentType[] = "application/x-geocache-batch";
constexpr char kEveryRegion[] = "*";       // binding: every one-word routing key, i.e. every region's name
constexpr char kEveryHello[] = "hello.*";  // binding: every region's hellos

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval to_timeval(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

amqp_bytes_t bytes_of(const std::string& s) { return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; }
std::string string_of(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

// Human-readable text of a failed RPC reply.
std::string reply_text(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "no RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "broker closed the connection: " + std::to_string(m->reply_code) + " " + string_of(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "broker closed the channel: " + std::to_string(m->reply_code) + " " + string_of(m->reply_text);
      }
      return std::string("broker error ") + amqp_method_name(r.reply.id);
  }
  return "unknown RPC reply";
}

// Exponential backoff with jitter: attempt n waits a random time in
// [d/2, d] with d = min(max, min * 2^n), never less than min.
class Backoff {
 public:
  Backoff(int64_t min_ms, int64_t max_ms) : min_ms_(min_ms), max_ms_(max_ms), rng_(std::random_device{}()) {}
  int64_t next_ms() {
    const int shift = std::min(attempt_++, 30);
    const int64_t d = std::min<int64_t>(max_ms_, min_ms_ << shift);
    std::uniform_int_distribution<int64_t> dist(d / 2, d);
    return std::max(min_ms_, dist(rng_));
  }
  void reset() { attempt_ = 0; }

 private:
  const int64_t min_ms_, max_ms_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// The parts of the broker URL; the strings point into `buffer`.
struct BrokerUrl {
  std::vector<char> buffer;
  amqp_connection_info info{};
  std::string vhost;
  std::string display;  // host:port/vhost, never the password
};

// One AMQP connection. Not thread-safe; owned by one thread at a time.
class Connection {
 public:
  ~Connection() { close(); }

  // Opens the socket (TLS for amqps) and logs in. The handshake and every
  // RPC are bounded by timeout_ms.
  Status open(const BrokerUrl& url, const AmqpOptions& o, int64_t timeout_ms) {
    state_ = amqp_new_connection();
    if (!state_) return Status::Unavailable("amqp: out of memory");
    amqp_socket_t* socket = nullptr;
    if (url.info.ssl) {
      socket = amqp_ssl_socket_new(state_);
      if (!socket) return fail("amqp: cannot create TLS socket");
      if (!o.tls_ca_file.empty() && amqp_ssl_socket_set_cacert(socket, o.tls_ca_file.c_str()) != AMQP_STATUS_OK) {
        return fail("amqp: cannot load CA file " + o.tls_ca_file);
      }
      amqp_ssl_socket_set_verify_peer(socket, o.tls_verify_peer ? 1 : 0);
      amqp_ssl_socket_set_verify_hostname(socket, o.tls_verify_peer ? 1 : 0);
    } else {
      socket = amqp_tcp_socket_new(state_);
      if (!socket) return fail("amqp: cannot create socket");
    }
    const timeval tv = to_timeval(timeout_ms);
    amqp_set_handshake_timeout(state_, &tv);
    amqp_set_rpc_timeout(state_, &tv);
    int rc = amqp_socket_open_noblock(socket, url.info.host, url.info.port, &tv);
    if (rc != AMQP_STATUS_OK) return fail(std::string("amqp: cannot connect to ") + url.display + ": " + amqp_error_string2(rc));
    amqp_rpc_reply_t r = amqp_login(state_, url.vhost.c_str(), 0, kFrameMax, o.heartbeat_s, AMQP_SASL_METHOD_PLAIN,
                                    url.info.user, url.info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) return fail("amqp: login to " + url.display + " failed: " + reply_text(r));
    logged_in_ = true;
    return Status::Ok();
  }

  Status open_channel(amqp_channel_t ch) {
    amqp_channel_open(state_, ch);
    return check("channel.open");
  }

  // Checks the reply of the last RPC; a failure breaks the connection.
  Status check(const char* what) {
    amqp_rpc_reply_t r = amqp_get_rpc_reply(state_);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status::Ok();
    return fail(std::string("amqp: ") + what + " failed: " + reply_text(r));
  }

  // Marks the connection unusable: it is freed without a graceful close.
  void mark_broken() { broken_ = true; }
  // mark_broken(), returning the error that broke it.
  Status fail(std::string message) {
    mark_broken();
    return Status::Unavailable(std::move(message));
  }

  // Closes gracefully if the connection is healthy, else just frees it.
  void close() {
    if (!state_) return;
    if (logged_in_ && !broken_) {
      amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(state_);
    state_ = nullptr;
  }

  amqp_connection_state_t get() const { return state_; }
  bool healthy() const { return state_ && logged_in_ && !broken_; }

 private:
  amqp_connection_state_t state_ = nullptr;
  bool logged_in_ = false;
  bool broken_ = false;
};

}  // namespace

struct AmqpTransport::Impl {
  Impl(const AmqpOptions& o, std::vector<std::string> r)
      : options(o), regions(std::move(r)), pub_backoff(o.reconnect_min_ms, o.reconnect_max_ms),
        cons_backoff(o.reconnect_min_ms, o.reconnect_max_ms) {}

  const AmqpOptions options;
  const std::vector<std::string> regions;  // names of the regions that may attach
  BrokerUrl url;
  int64_t connect_timeout_ms = 5000;

  // Attached local regions, in attach order; consumer channel = 1 + index,
  // then the channel of the own hellos' queue (own_hellos_channel()).
  struct Local {
    RegionId id;
    std::string name;  // also the routing key of its batches
    Receiver receiver;
  };
  std::vector<Local> local;

  Mutex life_mu;  // serializes start/stop
  std::condition_variable life_cv;
  bool started ABSL_GUARDED_BY(life_mu) = false;
  bool stopping ABSL_GUARDED_BY(life_mu) = false;

  // Publisher side.
  Mutex pub_mu;
  std::unique_ptr<Connection> pub ABSL_GUARDED_BY(pub_mu);
  uint64_t pub_tag ABSL_GUARDED_BY(pub_mu) = 0;  // delivery tag of the last message published on pub
  Backoff pub_backoff;   // supervisor thread only (and start())
  int64_t pub_retry_at_ms = 0;
  int pub_failures_in_a_row = 0;
  std::thread supervisor;

  // Consumer side: owned by the consumer thread.
  Backoff cons_backoff;
  int cons_failures_in_a_row = 0;
  std::unique_ptr<Connection> first_consumer;  // handed from start() to the thread
  std::thread consumer;

  ProblemFn problem_sink;  // set before start
  Mutex problem_mu;
  std::map<std::string, std::string> problems ABSL_GUARDED_BY(problem_mu);  // key -> text, as last reported

  std::atomic<bool> pub_connected{false};
  std::atomic<bool> cons_connected{false};
  std::atomic<uint64_t> connects{0}, connect_failures{0}, published{0}, nacked{0}, consumed{0};

  // The name of attachable region `id` ("" if none: attach() refuses it).
  const std::string& name_of(RegionId id) const {
    static const std::string kNone;
    for (const auto& name : regions) {
      if (region_id_for(name) == id) return name;
    }
    return kNone;
  }
  std::string queue_name(RegionId id) const { return options.queue_prefix + name_of(id); }
  amqp_channel_t own_hellos_channel() const { return static_cast<amqp_channel_t>(local.size() + 1); }
  static std::string direct_key(RegionId id) { return "direct." + std::to_string(id); }
  static std::string hello_key(const std::string& name) { return "hello." + name; }

  // Logs a problem as an error (once per text) and tells the sink; empty
  // text: the problem is over.
  void report(const std::string& key, const std::string& text) {
    {
      MutexLock lock(problem_mu);
      auto it = problems.find(key);
      const std::string before = it == problems.end() ? "" : it->second;
      if (before == text) return;
      if (text.empty()) {
        problems.erase(it);
      } else {
        problems[key] = text;
      }
    }
    if (text.empty()) {
      spdlog::info("amqp: solved: {}", key);
    } else {
      spdlog::error("amqp: {}", text);
    }
    if (problem_sink) problem_sink(key, text);
  }

  bool wait_stop(int64_t ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    MutexLock lock(life_mu);
    while (!stopping && lock.wait_until(life_cv, deadline)) {
    }
    return stopping;
  }
  bool is_stopping() {
    MutexLock lock(life_mu);
    return stopping;
  }

  // ---------------------------------------------------------------- topology

  // The broker's refusal of the last RPC on `ch` if it closed the channel
  // with PRECONDITION_FAILED (an object exists with other properties), after
  // acknowledging the close and opening `ch` again; nullopt otherwise.
  static std::optional<std::string> precondition_failed(Connection& c, amqp_channel_t ch) {
    const amqp_rpc_reply_t r = amqp_get_rpc_reply(c.get());
    if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || r.reply.id != AMQP_CHANNEL_CLOSE_METHOD) return std::nullopt;
    auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    if (m->reply_code != AMQP_PRECONDITION_FAILED) return std::nullopt;
    std::string text = string_of(m->reply_text);
    amqp_channel_close_ok_t ok{};
    if (amqp_send_method(c.get(), ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) != AMQP_STATUS_OK) return std::nullopt;
    if (!c.open_channel(ch).ok()) return std::nullopt;
    return text;
  }

  // Declares `queue` with this node's arguments. If it exists with others,
  // uses it as it is and reports that.
  Status declare_queue(Connection& c, amqp_channel_t ch, const std::string& queue) {
    amqp_table_entry_t args[2];
    args[0].key = amqp_cstring_bytes("x-max-length-bytes");
    args[0].value.kind = AMQP_FIELD_KIND_I64;
    args[0].value.value.i64 = static_cast<int64_t>(options.queue_max_bytes);
    args[1].key = amqp_cstring_bytes("x-overflow");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = amqp_cstring_bytes(options.queue_overflow.c_str());
    amqp_table_t table{2, args};
    amqp_queue_declare(c.get(), ch, bytes_of(queue), /*passive=*/0, /*durable=*/1, /*exclusive=*/0,
                       /*auto_delete=*/0, table);
    const std::string key = "queue " + queue;
    if (amqp_get_rpc_reply(c.get()).reply_type == AMQP_RESPONSE_NORMAL) {
      report(key, "");
      return Status::Ok();
    }
    const std::optional<std::string> refused = precondition_failed(c, ch);
    if (!refused) return c.check("queue.declare");
    amqp_queue_declare(c.get(), ch, bytes_of(queue), /*passive=*/1, /*durable=*/1, /*exclusive=*/0,
                       /*auto_delete=*/0, amqp_empty_table);
    if (Status st = c.check("queue.declare (passive)"); !st.ok()) return st;
    report(key, "queue " + queue + " exists with other arguments than this node's (x-max-length-bytes " +
                    std::to_string(options.queue_max_bytes) + ", x-overflow " + options.queue_overflow +
                    "), so the broker refused to declare it (" + *refused +
                    "); it is used as it is. To apply this node's, stop the node, delete the queue "
                    "(rabbitmqctl delete_queue " + queue + ") and start it again; give every node the same "
                    "amqp-queue-max-bytes and amqp-queue-overflow");
    return Status::Ok();
  }

  Status declare_topology(Connection& c, amqp_channel_t ch) {
    amqp_exchange_declare(c.get(), ch, amqp_cstring_bytes(options.exchange.c_str()), amqp_cstring_bytes("topic"),
                          /*passive=*/0, /*durable=*/1, /*auto_delete=*/0, /*internal=*/0, amqp_empty_table);
    const std::string exchange_key = "exchange " + options.exchange;
    if (amqp_get_rpc_reply(c.get()).reply_type != AMQP_RESPONSE_NORMAL) {
      if (auto refused = precondition_failed(c, ch)) {
        report(exchange_key, "exchange " + options.exchange + " exists with other properties than a durable topic "
                             "exchange (" + *refused + "): nothing replicates until it is deleted or another "
                             "amqp-exchange is given");
        return c.fail("amqp: exchange.declare refused: " + *refused);
      }
      return c.check("exchange.declare");
    }
    report(exchange_key, "");
    for (const Local& region : local) {
      const std::string queue = queue_name(region.id);
      if (Status st = declare_queue(c, ch, queue); !st.ok()) return st;
      for (const std::string& key : {std::string(kEveryRegion), std::string(kEveryHello), direct_key(region.id)}) {
        amqp_queue_bind(c.get(), ch, bytes_of(queue), amqp_cstring_bytes(options.exchange.c_str()), bytes_of(key),
                        amqp_empty_table);
        if (Status st = c.check("queue.bind"); !st.ok()) return st;
      }
    }
    return Status::Ok();
  }

  // ---------------------------------------------------------------- publisher

  Status connect_publisher(std::unique_ptr<Connection>* out) {
    auto c = std::make_unique<Connection>();
    Status st = c->open(url, options, connect_timeout_ms);
    if (st.ok()) st = c->open_channel(kPublishChannel);
    if (st.ok()) st = declare_topology(*c, kPublishChannel);
    if (st.ok()) {
      amqp_confirm_select(c->get(), kPublishChannel);
      st = c->check("confirm.select");
    }
    if (st.ok()) *out = std::move(c);
    return st;
  }

  void drop_publisher_locked(const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu) {
    if (pub) {
      spdlog::warn("amqp publisher connection to {} lost: {}", url.display, why);
      pub->mark_broken();  // no graceful close on a connection that just failed
    }
    pub.reset();
    pub_connected = false;
  }

  // Handles a method frame that arrived on the publisher connection outside
  // the expected confirms. Returns an error if the connection is now unusable.
  Status handle_publisher_method_locked(const amqp_frame_t& frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu) {
    switch (frame.payload.method.id) {
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        return Status::Unavailable("broker closed the publish channel: " + std::to_string(m->reply_code) + " " +
                                   string_of(m->reply_text));
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(pub->get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        return Status::Unavailable("broker closed the connection: " + std::to_string(m->reply_code) + " " +
                                   string_of(m->reply_text));
      }
      case AMQP_CONNECTION_BLOCKED_METHOD:
        spdlog::warn("amqp broker {} blocked publishing (resource alarm)", url.display);
        return Status::Ok();
      case AMQP_CONNECTION_UNBLOCKED_METHOD:
        spdlog::info("amqp broker {} unblocked publishing", url.display);
        return Status::Ok();
      default:  // late confirms of timed-out messages, basic.return: nothing to do
        return Status::Ok();
    }
  }

  // Publishes with `routing_key` and waits for the broker's confirm.
  Status publish(const std::string& routing_key, std::string_view payload) {
    MutexLock lock(pub_mu);
    if (!pub) return Status::Unavailable("amqp: not connected to the broker");
    amqp_connection_state_t conn = pub->get();
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = options.persistent ? 2 : 1;
    props.content_type = amqp_cstring_bytes(kContentType);
    amqp_bytes_t body{payload.size(), const_cast<char*>(payload.data())};
    int rc = amqp_basic_publish(conn, kPublishChannel, amqp_cstring_bytes(options.exchange.c_str()),
                                bytes_of(routing_key), /*mandatory=*/0, /*immediate=*/0, &props, body);
    if (rc != AMQP_STATUS_OK) {
      const std::string why = amqp_error_string2(rc);
      drop_publisher_locked(why);
      return Status::Unavailable("amqp: publish failed: " + why);
    }
    const uint64_t tag = ++pub_tag;
    const int64_t deadline = steady_ms() + options.publish_timeout_ms;
    while (true) {
      const int64_t left = deadline - steady_ms();
      if (left <= 0) {
        ++nacked;
        return Status::Unavailable("amqp: no publisher confirm within " + std::to_string(options.publish_timeout_ms) +
                                   " ms");
      }
      amqp_maybe_release_buffers(conn);
      amqp_frame_t frame;
      const timeval tv = to_timeval(left);
      rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
      if (rc == AMQP_STATUS_TIMEOUT) continue;
      if (rc != AMQP_STATUS_OK) {
        const std::string why = amqp_error_string2(rc);
        drop_publisher_locked(why);
        ++nacked;
        return Status::Unavailable("amqp: waiting for confirm: " + why);
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;  // content of a basic.return
      const amqp_method_number_t id = frame.payload.method.id;
      if (id == AMQP_BASIC_ACK_METHOD || id == AMQP_BASIC_NACK_METHOD) {
        uint64_t acked_tag;
        bool multiple;
        if (id == AMQP_BASIC_ACK_METHOD) {
          auto* m = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          acked_tag = m->delivery_tag;
          multiple = m->multiple;
        } else {
          auto* m = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
          acked_tag = m->delivery_tag;
          multiple = m->multiple;
        }
        // Only the confirm covering our tag counts; earlier tags belong to
        // messages whose wait already timed out.
        if (acked_tag == tag || (multiple && acked_tag >= tag)) {
          if (id == AMQP_BASIC_ACK_METHOD) {
            ++published;
            return Status::Ok();
          }
          ++nacked;
          return Status::Unavailable("amqp: broker nacked the batch (queue full?)");
        }
        continue;
      }
      if (Status st = handle_publisher_method_locked(frame); !st.ok()) {
        drop_publisher_locked(st.message());
        ++nacked;
        return st;
      }
    }
  }

  // Reads whatever the broker sent to an idle publisher connection, which
  // also sends a heartbeat when one is due.
  void service_publisher_locked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pub_mu) {
    if (!pub) return;
    amqp_connection_state_t conn = pub->get();
    while (true) {
      amqp_maybe_release_buffers(conn);
      amqp_frame_t frame;
      const timeval zero = to_timeval(0);
      const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
      if (rc == AMQP_STATUS_TIMEOUT) return;
      if (rc != AMQP_STATUS_OK) {
        drop_publisher_locked(amqp_error_string2(rc));
        return;
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (Status st = handle_publisher_method_locked(frame); !st.ok()) {
        drop_publisher_locked(st.message());
        return;
      }
    }
  }

  // Makes one attempt to connect the publisher and installs it on success.
  bool try_connect_publisher() {
    std::unique_ptr<Connection> c;
    Status st = connect_publisher(&c);
    if (!st.ok()) {
      ++connect_failures;
      const int64_t delay = pub_backoff.next_ms();
      pub_retry_at_ms = steady_ms() + delay;
      // The first failure of a streak is a warning; the rest are noise.
      const auto level = pub_failures_in_a_row++ % 50 == 0 ? spdlog::level::warn : spdlog::level::debug;
      spdlog::log(level, "amqp publisher: {}; retrying in {} ms", st.message(), delay);
      return false;
    }
    pub_backoff.reset();
    pub_failures_in_a_row = 0;
    MutexLock lock(pub_mu);
    pub = std::move(c);
    pub_tag = 0;
    pub_connected = true;
    ++connects;
    spdlog::info("amqp publisher connected to {}", url.display);
    return true;
  }

  void supervise() {
    while (!wait_stop(kSupervisorTickMs)) {
      bool connected;
      {
        if (!pub_mu.try_lock()) continue;  // a publish is running: it services the connection
        connected = pub != nullptr;
        if (connected) service_publisher_locked();
        pub_mu.unlock();
      }
      if (!connected && steady_ms() >= pub_retry_at_ms) try_connect_publisher();
    }
  }

  // ---------------------------------------------------------------- consumer

  Status connect_consumer(std::unique_ptr<Connection>* out) {
    auto c = std::make_unique<Connection>();
    Status st = c->open(url, options, connect_timeout_ms);
    for (size_t i = 0; st.ok() && i < local.size(); ++i) st = c->open_channel(static_cast<amqp_channel_t>(i + 1));
    if (st.ok()) st = declare_topology(*c, 1);
    for (size_t i = 0; st.ok() && i < local.size(); ++i) {
      const auto ch = static_cast<amqp_channel_t>(i + 1);
      amqp_basic_qos(c->get(), ch, 0, static_cast<uint16_t>(options.prefetch), 0);
      st = c->check("basic.qos");
      if (!st.ok()) break;
      const std::string queue = queue_name(local[i].id);
      amqp_basic_consume(c->get(), ch, bytes_of(queue), amqp_empty_bytes, /*no_local=*/0, /*no_ack=*/0,
                         /*exclusive=*/0, amqp_empty_table);
      st = c->check("basic.consume");
    }
    if (st.ok()) st = consume_own_hellos(*c);
    if (st.ok()) *out = std::move(c);
    return st;
  }

  // Declares this connection's queue of the local regions' hellos (top of
  // file) and consumes it.
  Status consume_own_hellos(Connection& c) {
    const amqp_channel_t ch = own_hellos_channel();
    if (Status st = c.open_channel(ch); !st.ok()) return st;
    // A few seconds of hellos: only the latest matter.
    amqp_table_entry_t bound;
    bound.key = amqp_cstring_bytes("x-max-length");
    bound.value.kind = AMQP_FIELD_KIND_I64;
    bound.value.value.i64 = 64;
    const amqp_queue_declare_ok_t* declared =
        amqp_queue_declare(c.get(), ch, amqp_empty_bytes, /*passive=*/0, /*durable=*/0, /*exclusive=*/1,
                           /*auto_delete=*/1, amqp_table_t{1, &bound});
    if (Status st = c.check("queue.declare (own hellos)"); !st.ok()) return st;
    const std::string queue = string_of(declared->queue);
    for (const Local& region : local) {
      amqp_queue_bind(c.get(), ch, bytes_of(queue), amqp_cstring_bytes(options.exchange.c_str()),
                      bytes_of(hello_key(region.name)), amqp_empty_table);
      if (Status st = c.check("queue.bind (own hellos)"); !st.ok()) return st;
    }
    amqp_basic_qos(c.get(), ch, 0, static_cast<uint16_t>(options.prefetch), 0);
    if (Status st = c.check("basic.qos"); !st.ok()) return st;
    amqp_basic_consume(c.get(), ch, bytes_of(queue), amqp_empty_bytes, /*no_local=*/0, /*no_ack=*/0,
                       /*exclusive=*/1, amqp_empty_table);
    return c.check("basic.consume (own hellos)");
  }

  bool try_connect_consumer(std::unique_ptr<Connection>* out) {
    Status st = connect_consumer(out);
    if (!st.ok()) {
      ++connect_failures;
      const auto level = cons_failures_in_a_row++ % 50 == 0 ? spdlog::level::warn : spdlog::level::debug;
      spdlog::log(level, "amqp consumer: {}", st.message());
      return false;
    }
    cons_backoff.reset();
    cons_failures_in_a_row = 0;
    ++connects;
    cons_connected = true;
    spdlog::info("amqp consumer connected to {} ({} queue(s))", url.display, local.size());
    return true;
  }

  // Delivers one envelope to its region and acks it. Returns false if the
  // connection broke.
  bool deliver(Connection& c, amqp_envelope_t& env) {
    const size_t index = env.channel - 1;
    const std::string_view key(static_cast<const char*>(env.routing_key.bytes), env.routing_key.len);
    const Local* to = nullptr;
    if (index < local.size()) {
      // The region's own batches come back through "*": acked unread.
      if (key != local[index].name) to = &local[index];
    } else if (env.channel == own_hellos_channel()) {
      for (const Local& region : local) {
        if (key == hello_key(region.name)) to = &region;
      }
    }
    if (to != nullptr) {
      const std::string_view payload(static_cast<const char*>(env.message.body.bytes), env.message.body.len);
      try {
        to->receiver(payload);
      } catch (const std::exception& e) {
        // A receiver that throws would be redelivered the same batch forever;
        // count it as consumed and go on (the Replicator counts corrupt input).
        spdlog::error("amqp receiver of region {} threw: {}", to->name, e.what());
      }
    }
    if (amqp_basic_ack(c.get(), env.channel, env.delivery_tag, 0) != AMQP_STATUS_OK) return false;
    ++consumed;
    return true;
  }

  void consume_loop(Connection& c) {
    while (!is_stopping()) {
      amqp_maybe_release_buffers(c.get());
      amqp_envelope_t env;
      const timeval tv = to_timeval(kConsumePollMs);
      amqp_rpc_reply_t r = amqp_consume_message(c.get(), &env, &tv, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        const bool ok = deliver(c, env);
        amqp_destroy_envelope(&env);
        if (!ok) {
          spdlog::warn("amqp consumer: basic.ack failed; reconnecting");
          return;
        }
        continue;
      }
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) continue;
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Something other than a delivery: read it.
        amqp_frame_t frame;
        const timeval zero = to_timeval(0);
        const int rc = amqp_simple_wait_frame_noblock(c.get(), &frame, &zero);
        if (rc == AMQP_STATUS_TIMEOUT) continue;
        if (rc != AMQP_STATUS_OK) {
          spdlog::warn("amqp consumer connection to {} lost: {}", url.display, amqp_error_string2(rc));
          return;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        switch (frame.payload.method.id) {
          case AMQP_CHANNEL_CLOSE_METHOD: {
            auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
            spdlog::warn("amqp broker closed consumer channel {}: {} {}", frame.channel, m->reply_code,
                         string_of(m->reply_text));
            return;
          }
          case AMQP_CONNECTION_CLOSE_METHOD: {
            auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
            amqp_connection_close_ok_t ok{};
            amqp_send_method(c.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
            spdlog::warn("amqp broker closed the consumer connection: {} {}", m->reply_code, string_of(m->reply_text));
            c.mark_broken();
            return;
          }
          case AMQP_BASIC_CANCEL_METHOD:
            spdlog::warn("amqp broker cancelled a consumer (queue deleted?); reconnecting");
            return;
          default:
            continue;
        }
      }
      spdlog::warn("amqp consumer connection to {} lost: {}", url.display, reply_text(r));
      c.mark_broken();
      return;
    }
  }

  void consume() {
    std::unique_ptr<Connection> c = std::move(first_consumer);
    while (!is_stopping()) {
      if (!c) {
        if (!try_connect_consumer(&c)) {
          c.reset();
          const int64_t delay = cons_backoff.next_ms();
          spdlog::debug("amqp consumer retrying in {} ms", delay);
          if (wait_stop(delay)) break;
          continue;
        }
      }
      consume_loop(*c);
      if (is_stopping()) break;
      // The connection broke: start over after a short, growing pause.
      c->mark_broken();
      c.reset();
      cons_connected = false;
      if (wait_stop(cons_backoff.next_ms())) break;
    }
    c.reset();  // graceful close when healthy: unacked deliveries go back to the queue
    cons_connected = false;
  }
};

AmqpTransport::AmqpTransport(const AmqpOptions& options, std::vector<std::string> regions)
    : impl_(std::make_unique<Impl>(options, std::move(regions))) {}

AmqpTransport::~AmqpTransport() { stop(); }

void AmqpTransport::attach(RegionId region, Receiver receiver) {
  MutexLock lock(impl_->life_mu);
  if (impl_->started) {
    spdlog::error("AmqpTransport::attach after start ignored (region {})", region);
    return;
  }
  const std::string& name = impl_->name_of(region);
  if (name.empty()) {
    spdlog::error("AmqpTransport::attach of region {}, whose name it was not given, ignored", region);
    return;
  }
  for (auto& r : impl_->local) {
    if (r.id == region) {
      r.receiver = std::move(receiver);
      return;
    }
  }
  impl_->local.push_back({region, name, std::move(receiver)});
}

Status AmqpTransport::start() {
  Impl& d = *impl_;
  {
    MutexLock lock(d.life_mu);
    if (d.started) return Status::Ok();
  }
  if (d.options.url.empty()) return Status::InvalidArgument("amqp: no broker URL");
  if (d.regions.empty()) return Status::InvalidArgument("amqp: no regions");
  d.url.buffer.assign(d.options.url.begin(), d.options.url.end());
  d.url.buffer.push_back('\0');
  amqp_default_connection_info(&d.url.info);
  if (amqp_parse_url(d.url.buffer.data(), &d.url.info) != AMQP_STATUS_OK) {
    return Status::InvalidArgument("amqp: malformed broker URL");
  }
  // "amqp://host/" names the empty vhost, which RabbitMQ refuses; most
  // clients read it as the default vhost "/", and so do we.
  d.url.vhost = (d.url.info.vhost && *d.url.info.vhost) ? d.url.info.vhost : "/";
  d.url.display = std::string(d.url.info.ssl ? "amqps://" : "amqp://") + d.url.info.host + ":" +
                  std::to_string(d.url.info.port) + "/" + (d.url.vhost == "/" ? "" : d.url.vhost);
  d.connect_timeout_ms = std::clamp<int64_t>(d.options.publish_timeout_ms, 1000, 10'000);

  // One attempt each now, so that with the broker up the topology exists
  // when start() returns; otherwise the background threads keep trying.
  const bool pub_ok = d.try_connect_publisher();
  bool cons_ok = true;
  if (!d.local.empty()) {
    cons_ok = d.try_connect_consumer(&d.first_consumer);
    if (!cons_ok) d.first_consumer.reset();
  }
  if (!pub_ok || !cons_ok) {
    spdlog::warn("amqp broker {} unreachable at start; replication buffers locally and retries in the background",
                 d.url.display);
  }
  {
    MutexLock lock(d.life_mu);
    d.started = true;
    d.stopping = false;
  }
  d.supervisor = std::thread([&d] { d.supervise(); });
  if (!d.local.empty()) d.consumer = std::thread([&d] { d.consume(); });
  return Status::Ok();
}

void AmqpTransport::stop() {
  Impl& d = *impl_;
  {
    MutexLock lock(d.life_mu);
    if (!d.started || d.stopping) return;
    d.stopping = true;
  }
  d.life_cv.notify_all();
  if (d.supervisor.joinable()) d.supervisor.join();
  if (d.consumer.joinable()) d.consumer.join();
  {
    MutexLock lock(d.pub_mu);
    d.pub.reset();
    d.pub_connected = false;
  }
  MutexLock lock(d.life_mu);
  d.started = false;
}

Status AmqpTransport::publish(RegionId origin, std::string_view payload) {
  const std::string& name = impl_->name_of(origin);
  if (name.empty()) return Status::InvalidArgument("amqp: unknown origin region");
  return impl_->publish(name, payload);
}

Status AmqpTransport::broadcast(RegionId origin, std::string_view payload) {
  const std::string& name = impl_->name_of(origin);
  if (name.empty()) return Status::InvalidArgument("amqp: unknown origin region");
  return impl_->publish(Impl::hello_key(name), payload);
}

Status AmqpTransport::send_to(RegionId from, RegionId to, std::string_view payload) {
  if (impl_->name_of(from).empty() || to == 0) return Status::InvalidArgument("amqp: unknown region");
  return impl_->publish(Impl::direct_key(to), payload);
}

void AmqpTransport::set_problem_sink(ProblemFn fn) {
  MutexLock lock(impl_->life_mu);
  impl_->problem_sink = std::move(fn);
}

AmqpStats AmqpTransport::stats() const {
  const Impl& d = *impl_;
  AmqpStats s;
  s.connected = d.pub_connected && (d.local.empty() || d.cons_connected);
  s.connects = d.connects;
  s.connect_failures = d.connect_failures;
  s.messages_published = d.published;
  s.messages_nacked = d.nacked;
  s.messages_consumed = d.consumed;
  return s;
}

}  // namespace geocache
