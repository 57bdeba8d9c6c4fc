#include "server/slowlog.h"

#include "fmt/format.h"

namespace geocache {
namespace {

// Redis' SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
constexpr size_t kMaxArgs = 32;
constexpr size_t kMaxArgBytes = 128;

}  // namespace

void SlowLog::add(std::span<const std::string_view> args, int64_t unix_s, int64_t duration_us, std::string_view addr,
                  std::string_view name, size_t max_len) {
  SlowLogEntry e;
  e.unix_s = unix_s;
  e.duration_us = duration_us;
  const size_t n = std::min(args.size(), kMaxArgs);
  for (size_t i = 0; i < n; ++i) {
    if (i == kMaxArgs - 1 && args.size() > kMaxArgs) {
      e.args.push_back(fmt::format("... ({} more arguments)", args.size() - kMaxArgs + 1));
    } else if (args[i].size() > kMaxArgBytes) {
      e.args.push_back(
          fmt::format("{}... ({} more bytes)", args[i].substr(0, kMaxArgBytes), args[i].size() - kMaxArgBytes));
    } else {
      e.args.emplace_back(args[i]);
    }
  }
  e.addr.assign(addr);
  e.name.assign(name);
  MutexLock lock(mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len) entries_.pop_back();
}

std::vector<SlowLogEntry> SlowLog::get(int64_t count) const {
  MutexLock lock(mu_);
  const size_t n = count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  return std::vector<SlowLogEntry>(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
}

size_t SlowLog::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

void SlowLog::reset() {
  MutexLock lock(mu_);
  entries_.clear();
}

void SlowLog::trim(size_t max_len) {
  MutexLock lock(mu_);
  while (entries_.size() > max_len) entries_.pop_back();
}

}  // namespace geocache
