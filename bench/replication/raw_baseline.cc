// The raw baseline: the least code that moves the same events through the
// same broker with the same batching, so the benchmark can tell our overhead
// from the broker's and the machine's.
//
// Publisher: events go into a queue; one thread packs up to batch_events of
// them into one message, waiting at most linger_us for a batch to fill (as
// the Replicator does), publishes it to a topic exchange with routing key
// "east" and waits for its publisher confirm. Two durable queues ("west",
// "north") are bound to it, as in a three-region deployment, each with its
// own consumer connection; visibility is recorded at the "west" consumer,
// after which the message is acked.
//
// Message: u32 count, then per event u32 run, u64 index, and padding so an
// event is as large as our encoded event.

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>

#include "bench_common.h"

namespace geocache::bench {
namespace {

void die_on(amqp_rpc_reply_t r, const char* what) {
  if (r.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error(std::string("raw baseline: ") + what + " failed");
}

amqp_connection_state_t connect(const std::string& url) {
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) throw std::runtime_error("raw baseline: bad URL");
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (amqp_socket_open(s, info.host, info.port) != AMQP_STATUS_OK) throw std::runtime_error("raw baseline: connect");
  const char* vhost = (info.vhost && *info.vhost) ? info.vhost : "/";
  die_on(amqp_login(c, vhost, 0, 131072, 10, AMQP_SASL_METHOD_PLAIN, info.user, info.password), "login");
  amqp_channel_open(c, 1);
  die_on(amqp_get_rpc_reply(c), "channel.open");
  return c;
}

template <typename T>
void put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T get(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

class RawBaseline final : public Pipeline {
 public:
  RawBaseline(const BenchConfig& config, size_t event_bytes)
      : config_(config), event_bytes_(std::max<size_t>(event_bytes, 12)) {
    const std::string tag = std::to_string(getpid());
    exchange_ = "geocache.bench.raw." + tag;
    pub_ = connect(config_.url);
    amqp_exchange_declare(pub_, 1, amqp_cstring_bytes(exchange_.c_str()), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    die_on(amqp_get_rpc_reply(pub_), "exchange.declare");
    for (const char* region : {"west", "north"}) {
      const std::string queue = exchange_ + "." + region;
      amqp_queue_declare(pub_, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, amqp_empty_table);
      die_on(amqp_get_rpc_reply(pub_), "queue.declare");
      amqp_queue_bind(pub_, 1, amqp_cstring_bytes(queue.c_str()), amqp_cstring_bytes(exchange_.c_str()),
                      amqp_cstring_bytes("east"), amqp_empty_table);
      die_on(amqp_get_rpc_reply(pub_), "queue.bind");
      consumers_.emplace_back([this, queue, west = std::string(region) == "west"] { consume(queue, west); });
    }
    amqp_confirm_select(pub_, 1);
    die_on(amqp_get_rpc_reply(pub_), "confirm.select");
    publisher_ = std::thread([this] { publish_loop(); });
  }

  ~RawBaseline() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    publisher_.join();
    for (auto& t : consumers_) t.join();
    for (const char* region : {"west", "north"}) {
      amqp_queue_delete(pub_, 1, amqp_cstring_bytes((exchange_ + "." + region).c_str()), 0, 0);
    }
    amqp_exchange_delete(pub_, 1, amqp_cstring_bytes(exchange_.c_str()), 0);
    amqp_connection_close(pub_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(pub_);
  }

  const char* name() const override { return "raw rabbitmq-c"; }

  void begin_run(int run, LagSink* sink) override {
    run_.store(run);
    sink_.store(sink);
  }

  void write(uint64_t idx) override {
    sink_.load()->on_write(idx);
    {
      std::lock_guard lock(mu_);
      queue_.push_back({static_cast<uint32_t>(run_.load()), idx});
    }
    cv_.notify_one();
  }

 private:
  struct Item {
    uint32_t run;
    uint64_t idx;
  };

  void publish_loop() {
    std::string msg;
    std::vector<Item> batch;
    uint64_t tag = 0;
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      if (queue_.size() < config_.batch_events && config_.linger_us > 0) {
        cv_.wait_for(lock, std::chrono::microseconds(config_.linger_us),
                     [&] { return stop_ || queue_.size() >= config_.batch_events; });
      }
      batch.clear();
      while (!queue_.empty() && batch.size() < config_.batch_events) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      lock.unlock();
      msg.clear();
      put<uint32_t>(&msg, static_cast<uint32_t>(batch.size()));
      for (const Item& it : batch) {
        put<uint32_t>(&msg, it.run);
        put<uint64_t>(&msg, it.idx);
        msg.append(event_bytes_ - 12, 'v');
      }
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
      props.delivery_mode = config_.persistent ? 2 : 1;
      amqp_basic_publish(pub_, 1, amqp_cstring_bytes(exchange_.c_str()), amqp_cstring_bytes("east"), 0, 0, &props,
                         amqp_bytes_t{msg.size(), msg.data()});
      ++tag;
      // Wait for this message's confirm, as our transport does.
      while (true) {
        amqp_frame_t frame;
        amqp_maybe_release_buffers(pub_);
        if (amqp_simple_wait_frame(pub_, &frame) != AMQP_STATUS_OK) throw std::runtime_error("raw baseline: lost");
        if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
          auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
          if (ack->delivery_tag >= tag) break;
        }
      }
      lock.lock();
    }
  }

  void consume(const std::string& queue, bool record) {
    amqp_connection_state_t c = connect(config_.url);
    amqp_basic_qos(c, 1, 0, 256, 0);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    die_on(amqp_get_rpc_reply(c), "basic.consume");
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) break;
      }
      amqp_maybe_release_buffers(c);
      amqp_envelope_t env;
      timeval tv{0, 200'000};
      amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) continue;
      const char* p = static_cast<const char*>(env.message.body.bytes);
      const uint32_t n = get<uint32_t>(p);
      LagSink* sink = sink_.load();
      const uint32_t run = static_cast<uint32_t>(run_.load());
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t ev_run = get<uint32_t>(p);
        const uint64_t idx = get<uint64_t>(p);
        p += event_bytes_ - 12;
        if (record && sink && ev_run == run) sink->on_visible(idx);
      }
      amqp_basic_ack(c, 1, env.delivery_tag, 0);
      amqp_destroy_envelope(&env);
    }
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
  }

  const BenchConfig config_;
  const size_t event_bytes_;
  std::string exchange_;
  amqp_connection_state_t pub_;
  std::atomic<int> run_{0};
  std::atomic<LagSink*> sink_{nullptr};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread publisher_;
  std::vector<std::thread> consumers_;
};

}  // namespace

std::unique_ptr<Pipeline> make_raw_baseline(const BenchConfig& config, size_t event_bytes) {
  return std::make_unique<RawBaseline>(config, event_bytes);
}

}  // namespace geocache::bench
