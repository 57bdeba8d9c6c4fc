#include "write_load.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace geocache::testing {

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string describe(const Write& w) {
  static const char* const kOps[] = {"SET", "SET EX", "DEL", "HSET"};
  std::string out = w.region + " " + kOps[static_cast<int>(w.op)] + " " + w.key;
  if (w.op == Write::Op::kHset) out += " " + w.field;
  if (!w.value.empty()) out += " " + w.value;
  if (w.op == Write::Op::kSetEx) out += " ttl " + std::to_string(w.ttl_ms) + " ms";
  out += " sent " + std::to_string(w.sent_us) + " done +" + std::to_string(w.done_us - w.sent_us) + " us";
  out += w.acked ? " acked" : " UNANSWERED";
  if (w.acked && (w.op == Write::Op::kDel || w.op == Write::Op::kHset)) out += " reply " + std::to_string(w.reply);
  return out;
}

std::vector<Write> bulk_set(redisContext* c, const std::string& region, const std::string& prefix, int count) {
  constexpr int kPipeline = 500;
  std::vector<Write> out;
  for (int begin = 0; begin < count; begin += kPipeline) {
    const int end = std::min(count, begin + kPipeline);
    const int64_t sent = wall_now_us();
    for (int n = begin; n < end; ++n) {
      Write w;
      w.op = Write::Op::kSet;
      w.region = region;
      w.key = prefix + std::to_string(n);
      w.value = region + "#" + w.key;
      w.sent_us = sent;
      const char* argv[] = {"SET", w.key.c_str(), w.value.c_str()};
      const size_t lens[] = {3, w.key.size(), w.value.size()};
      redisAppendCommandArgv(c, 3, argv, lens);
      out.push_back(std::move(w));
    }
    for (int n = begin; n < end; ++n) {
      void* raw = nullptr;
      const bool replied = c->err == 0 && redisGetReply(c, &raw) == REDIS_OK;
      Reply reply(static_cast<redisReply*>(raw));
      out[n].done_us = wall_now_us();
      out[n].acked = replied && reply && reply->type == REDIS_REPLY_STATUS;
    }
  }
  return out;
}

WriteLoad::WriteLoad(std::vector<std::string> regions, Connector connect, LoadOptions options)
    : regions_(std::move(regions)), connect_(std::move(connect)), options_(options) {}

WriteLoad::~WriteLoad() { stop(); }

void WriteLoad::start() {
  stop_ = false;
  for (size_t i = 0; i < regions_.size(); ++i) {
    auto w = std::make_unique<Writer>();
    w->region = regions_[i];
    Writer* raw = w.get();
    const uint64_t seed = options_.seed * 1'000'003 + i;
    w->thread = std::thread([this, raw, seed] { run(raw, seed); });
    writers_.push_back(std::move(w));
  }
}

void WriteLoad::stop() {
  stop_ = true;
  bool joined = false;
  for (auto& w : writers_) {
    if (w->thread.joinable()) {
      w->thread.join();
      joined = true;
    }
  }
  if (!joined) return;
  history_.clear();
  for (auto& w : writers_) history_.insert(history_.end(), w->writes.begin(), w->writes.end());
  std::stable_sort(history_.begin(), history_.end(),
                   [](const Write& a, const Write& b) { return a.sent_us < b.sent_us; });
}

WriteLoad::Counts WriteLoad::counts(const std::string& region) const {
  Counts c;
  for (const auto& w : writers_) {
    if (w->region != region) continue;
    c.acked = w->acked;
    c.unanswered = w->unanswered;
    c.refused = w->refused;
  }
  return c;
}

WriteLoad::Counts WriteLoad::total() const {
  Counts c;
  for (const auto& w : writers_) {
    c.acked += w->acked;
    c.unanswered += w->unanswered;
    c.refused += w->refused;
  }
  return c;
}

void WriteLoad::run(Writer* w, uint64_t seed) {
  using namespace std::chrono;
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const auto period = duration_cast<steady_clock::duration>(duration<double>(1.0 / options_.writes_per_second));
  auto next = steady_clock::now();
  RedisConnection conn;
  int64_t seq = 0;
  while (!stop_) {
    // Keep to the rate without bursting: after a stall, start counting anew.
    const auto now = steady_clock::now();
    if (now > next + milliseconds(100)) next = now;
    std::this_thread::sleep_until(next);
    next += period;

    Write write;
    write.region = w->region;
    std::vector<std::string> argv;
    const int roll = pick(100);
    const std::string value = w->region + "#" + std::to_string(++seq);
    if (roll < options_.set_percent + options_.set_ex_percent + options_.del_percent) {
      write.key = "s:" + std::to_string(pick(options_.string_keys));
      if (roll < options_.set_percent) {
        write.op = Write::Op::kSet;
        write.value = value;
        argv = {"SET", write.key, value};
      } else if (roll < options_.set_percent + options_.set_ex_percent) {
        write.op = Write::Op::kSetEx;
        write.value = value;
        const int seconds = options_.ex_min_s + pick(options_.ex_max_s - options_.ex_min_s + 1);
        write.ttl_ms = seconds * 1000LL;
        argv = {"SET", write.key, value, "EX", std::to_string(seconds)};
      } else {
        write.op = Write::Op::kDel;
        argv = {"DEL", write.key};
      }
    } else {
      write.key = "h:" + w->region + ":" + std::to_string(pick(options_.hashes_per_region));
      if (pick(10) == 0) {
        write.op = Write::Op::kDel;
        argv = {"DEL", write.key};
      } else {
        write.op = Write::Op::kHset;
        write.field = "f" + std::to_string(pick(4));
        write.value = value;
        argv = {"HSET", write.key, write.field, value};
      }
    }

    if (!conn || conn->err) conn = connect_(w->region);
    if (!conn || conn->err) {  // not sent: the node is down or unreachable
      conn.reset();
      ++w->refused;
      continue;
    }
    write.sent_us = wall_now_us();
    Reply reply = command(conn.get(), argv);
    write.done_us = wall_now_us();
    if (!reply) {  // sent, no answer: it may or may not have been applied
      conn.reset();
      w->writes.push_back(std::move(write));
      ++w->unanswered;
      continue;
    }
    if (reply->type == REDIS_REPLY_ERROR) {  // refused: nothing was written
      ++w->refused;
      continue;
    }
    write.acked = true;
    if (reply->type == REDIS_REPLY_INTEGER) write.reply = reply->integer;
    w->writes.push_back(std::move(write));
    ++w->acked;
  }
}

}  // namespace geocache::testing
