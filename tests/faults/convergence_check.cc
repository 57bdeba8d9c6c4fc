#include "convergence_check.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

namespace geocache::testing {
namespace {

bool is_hash_key(const std::string& key) { return key.rfind("h:", 0) == 0; }

bool same_view(const KeyView& a, const KeyView& b, int64_t ttl_tolerance_us) {
  if (a.exists != b.exists) return false;
  if (!a.exists) return true;
  if (a.value != b.value || a.fields != b.fields) return false;
  if ((a.expiry_us < 0) != (b.expiry_us < 0)) return false;
  return a.expiry_us < 0 || std::llabs(a.expiry_us - b.expiry_us) <= ttl_tolerance_us;
}

// A hash's possible content: nullopt = absent.
using HashState = std::optional<std::map<std::string, std::string>>;

class KeyChecker {
 public:
  KeyChecker(const std::vector<const Write*>& writes, const CheckOptions& options)
      : writes_(writes), options_(options) {}

  // Whether `found` is a state the writes allow. With exposed_as_maybe, the
  // writes a crash may have taken count as unanswered.
  bool allows(const KeyView& found, bool exposed_as_maybe) const {
    if (!writes_.empty() && is_hash_key(writes_.front()->key)) return hash_allows(found, exposed_as_maybe);
    return string_allows(found, exposed_as_maybe);
  }

  // The writes the key's final state should come from: the candidates of a
  // string key; a hash's last writes (its state is their fold).
  std::vector<Write> candidates(bool exposed_as_maybe) const {
    std::vector<Write> out;
    if (!writes_.empty() && is_hash_key(writes_.front()->key)) {
      constexpr size_t kLast = 6;
      for (size_t i = writes_.size() > kLast ? writes_.size() - kLast : 0; i < writes_.size(); ++i) {
        out.push_back(*writes_[i]);
      }
      return out;
    }
    const int64_t last_sent = last_acked_sent(exposed_as_maybe);
    for (const Write* w : writes_) {
      if (w->done_us + options_.order_margin_us >= last_sent) out.push_back(*w);
    }
    return out;
  }

 private:
  bool exposed(const Write& w) const {
    for (const Crash& c : options_.crashes) {
      if (c.region == w.region && c.at_us >= w.done_us && c.at_us - w.done_us <= options_.crash_exposure_us) {
        return true;
      }
    }
    return false;
  }
  bool certain(const Write& w, bool exposed_as_maybe) const {
    if (!options_.deletes_of_absent_keys_win && w.op == Write::Op::kDel && w.reply == 0) return false;
    return w.acked && !(exposed_as_maybe && exposed(w));
  }
  int64_t last_acked_sent(bool exposed_as_maybe) const {
    int64_t last = INT64_MIN;
    for (const Write* w : writes_) {
      if (certain(*w, exposed_as_maybe)) last = std::max(last, w->sent_us);
    }
    return last;
  }

  bool outcome_matches(const Write& w, const KeyView& found) const {
    switch (w.op) {
      case Write::Op::kSet: return found.exists && found.value == w.value && found.expiry_us < 0;
      case Write::Op::kSetEx: {
        if (!found.exists || found.value != w.value || found.expiry_us < 0) return false;
        const int64_t ttl_us = w.ttl_ms * 1000;
        return found.expiry_us >= w.sent_us + ttl_us - options_.ttl_tolerance_us &&
               found.expiry_us <= w.done_us + ttl_us + options_.ttl_tolerance_us;
      }
      case Write::Op::kDel: return !found.exists;
      case Write::Op::kHset: return false;  // not on string keys
    }
    return false;
  }

  bool string_allows(const KeyView& found, bool exposed_as_maybe) const {
    // Before any certain write, the key did not exist.
    if (last_acked_sent(exposed_as_maybe) == INT64_MIN && !found.exists) return true;
    for (const Write& w : candidates(exposed_as_maybe)) {
      if (outcome_matches(w, found)) return true;
    }
    return false;
  }

  bool hash_allows(const KeyView& found, bool exposed_as_maybe) const {
    std::vector<HashState> states = {std::nullopt};
    for (const Write* w : writes_) {
      std::vector<HashState> next;
      for (const HashState& s : states) {
        HashState applied;
        if (w->op == Write::Op::kHset) {
          applied = s.value_or(std::map<std::string, std::string>{});
          (*applied)[w->field] = w->value;
        }
        next.push_back(applied);
        if (!certain(*w, exposed_as_maybe)) next.push_back(s);  // it may not have happened
      }
      std::sort(next.begin(), next.end());
      next.erase(std::unique(next.begin(), next.end()), next.end());
      if (next.size() > 4096) return true;  // too many unanswered writes to tell: not judged
      states = std::move(next);
    }
    if (found.exists && found.expiry_us >= 0) return false;  // hashes are written without a TTL
    for (const HashState& s : states) {
      if (s.has_value() == found.exists && (!s || *s == found.fields)) return true;
    }
    return false;
  }

  const std::vector<const Write*>& writes_;
  const CheckOptions& options_;
};

std::string list_lost(const std::vector<LostWrite>& lost, size_t max_listed) {
  std::ostringstream out;
  for (size_t i = 0; i < lost.size() && i < max_listed; ++i) {
    const bool hash = is_hash_key(lost[i].key);
    out << "  " << lost[i].key << ": found " << describe(lost[i].found)
        << (hash ? "; its last writes:\n" : "; should be one of:\n");
    for (const Write& w : lost[i].candidates) out << "    " << describe(w) << "\n";
  }
  if (lost.size() > max_listed) out << "  ... and " << lost.size() - max_listed << " more\n";
  return out.str();
}

}  // namespace

std::string describe(const KeyView& v) {
  if (!v.exists) return "(absent)";
  std::string out;
  if (!v.fields.empty()) {
    out = "{";
    for (const auto& [f, val] : v.fields) out += f + "=" + val + " ";
    out += "}";
  } else {
    out = "'" + v.value + "'";
  }
  if (v.expiry_us >= 0) out += " expiring at " + std::to_string(v.expiry_us) + " us";
  return out;
}

bool read_keys(redisContext* c, const std::vector<std::string>& keys, std::map<std::string, KeyView>* out) {
  if (c == nullptr || c->err) return false;
  constexpr size_t kChunk = 256;
  for (size_t begin = 0; begin < keys.size(); begin += kChunk) {
    const size_t end = std::min(keys.size(), begin + kChunk);
    for (size_t i = begin; i < end; ++i) {
      const std::string& key = keys[i];
      const char* read = is_hash_key(key) ? "HGETALL" : "GET";
      const char* argv1[] = {read, key.c_str()};
      const size_t len1[] = {std::strlen(read), key.size()};
      redisAppendCommandArgv(c, 2, argv1, len1);
      const char* argv2[] = {"PTTL", key.c_str()};
      const size_t len2[] = {4, key.size()};
      redisAppendCommandArgv(c, 2, argv2, len2);
    }
    for (size_t i = begin; i < end; ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK) return false;
      Reply content(static_cast<redisReply*>(raw));
      if (redisGetReply(c, &raw) != REDIS_OK) return false;
      Reply pttl(static_cast<redisReply*>(raw));
      const int64_t now = wall_now_us();
      KeyView view;
      if (content->type == REDIS_REPLY_STRING) {
        view.exists = true;
        view.value.assign(content->str, content->len);
      } else if (content->type == REDIS_REPLY_ARRAY && content->elements > 0) {
        view.exists = true;
        for (size_t e = 0; e + 1 < content->elements; e += 2) {
          view.fields[std::string(content->element[e]->str, content->element[e]->len)] =
              std::string(content->element[e + 1]->str, content->element[e + 1]->len);
        }
      } else if (content->type == REDIS_REPLY_ERROR) {
        view.exists = true;
        view.value = "<error: " + std::string(content->str, content->len) + ">";
      }
      if (view.exists && pttl->type == REDIS_REPLY_INTEGER && pttl->integer >= 0) {
        view.expiry_us = now + pttl->integer * 1000;
      }
      (*out)[keys[i]] = std::move(view);
    }
  }
  return true;
}

std::vector<std::string> disagreements(const Snapshot& snapshot, int64_t ttl_tolerance_us) {
  std::set<std::string> keys;
  for (const auto& [region, views] : snapshot) {
    for (const auto& [key, view] : views) keys.insert(key);
  }
  std::vector<std::string> out;
  const KeyView absent;
  for (const auto& key : keys) {
    const KeyView* first = nullptr;
    for (const auto& [region, views] : snapshot) {
      auto it = views.find(key);
      const KeyView& view = it == views.end() ? absent : it->second;
      if (first == nullptr) {
        first = &view;
      } else if (!same_view(*first, view, ttl_tolerance_us)) {
        out.push_back(key);
        break;
      }
    }
  }
  return out;
}

std::string Agreement::summary() const {
  std::ostringstream out;
  out << (reached ? "agreed" : "did not agree") << " after " << elapsed_ms << " ms (" << polls << " polls); "
      << disagreeing.size() << " keys differ";
  for (size_t i = 0; i < disagreeing.size() && i < 10; ++i) {
    out << "\n  " << disagreeing[i] << ":";
    for (const auto& [region, views] : last) {
      auto it = views.find(disagreeing[i]);
      out << " " << region << "=" << (it == views.end() ? "(unread)" : describe(it->second));
    }
  }
  return out.str();
}

Agreement await_agreement(const std::vector<std::string>& regions,
                          const std::function<RedisConnection(const std::string&)>& connect,
                          const std::vector<std::string>& keys, int64_t timeout_ms, int64_t ttl_tolerance_us,
                          int64_t poll_ms) {
  using Steady = std::chrono::steady_clock;
  const auto start = Steady::now();
  const auto deadline = start + std::chrono::milliseconds(timeout_ms);
  std::map<std::string, RedisConnection> conns;
  Agreement result;
  while (true) {
    ++result.polls;
    bool all_read = true;
    result.last.clear();
    for (const auto& region : regions) {
      RedisConnection& c = conns[region];
      if (!c || c->err) c = connect(region);
      if (!read_keys(c.get(), keys, &result.last[region])) {
        c.reset();
        all_read = false;
      }
    }
    result.disagreeing = disagreements(result.last, ttl_tolerance_us);
    result.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
    if (all_read && result.disagreeing.empty()) {
      result.reached = true;
      return result;
    }
    if (Steady::now() >= deadline) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

std::vector<std::string> keys_of(const std::vector<Write>& history) {
  std::set<std::string> keys;
  for (const Write& w : history) keys.insert(w.key);
  return {keys.begin(), keys.end()};
}

std::string Verdict::summary(size_t max_listed) const {
  std::ostringstream out;
  out << keys << " keys, " << writes << " writes (" << acked_writes << " acknowledged): " << lost.size()
      << " keys lost an acknowledged write, " << lost_in_crash.size()
      << " more only by writes a SIGKILLed node had not yet published\n";
  if (!lost.empty()) out << "lost:\n" << list_lost(lost, max_listed);
  if (!lost_in_crash.empty()) out << "lost with a killed node's outbox:\n" << list_lost(lost_in_crash, max_listed);
  return out.str();
}

Verdict check_history(const std::vector<Write>& history, const std::map<std::string, KeyView>& final_state,
                      const CheckOptions& options) {
  std::map<std::string, std::vector<const Write*>> by_key;
  for (const Write& w : history) by_key[w.key].push_back(&w);  // in send order
  Verdict verdict;
  verdict.keys = by_key.size();
  verdict.writes = history.size();
  for (const Write& w : history) verdict.acked_writes += w.acked;
  const KeyView absent;
  for (const auto& [key, writes] : by_key) {
    auto it = final_state.find(key);
    const KeyView& found = it == final_state.end() ? absent : it->second;
    KeyChecker check(writes, options);
    if (check.allows(found, false)) continue;
    LostWrite lost{key, found, check.candidates(false)};
    (check.allows(found, true) ? verdict.lost_in_crash : verdict.lost).push_back(std::move(lost));
  }
  return verdict;
}

}  // namespace geocache::testing
