#include "server/server_state.h"

#include "server/script_engine.h"

namespace geocache {

ServerState::ServerState(const Config& config, const Clock* clock)
    : maxclients(config.server.maxclients),
      timeout_s(config.server.timeout_s),
      proto_max_bulk_len(config.server.proto_max_bulk_len),
      client_query_buffer_limit(config.server.client_query_buffer_limit),
      client_output_buffer_limit(config.server.client_output_buffer_limit),
      maxmemory(config.cache.store.max_bytes),
      lua_time_limit_ms(config.server.lua_time_limit_ms),
      clock_(clock != nullptr ? clock : SystemClock::instance()),
      config_(config),
      start_ms_(clock_->now_ms()),
      scripts_(std::make_unique<ScriptEngine>()) {
  set_requirepass(config.server.requirepass);
}

ServerState::~ServerState() = default;

std::string ServerState::requirepass() const {
  MutexLock lock(mu_);
  return password_;
}

void ServerState::set_requirepass(std::string_view pass) {
  MutexLock lock(mu_);
  password_.assign(pass);
  has_password_.store(!password_.empty());
}

bool ServerState::check_password(std::string_view pass) const {
  MutexLock lock(mu_);
  // Compare every byte whatever the first difference, so the time taken
  // does not tell how much of a guess was right.
  unsigned diff = pass.size() != password_.size();
  for (size_t i = 0; i < pass.size(); ++i) {
    diff |= static_cast<unsigned char>(pass[i]) ^
            static_cast<unsigned char>(password_.empty() ? 0 : password_[i % password_.size()]);
  }
  return diff == 0 && !password_.empty();
}

void ServerState::set_ports(std::map<std::string, int> ports) {
  MutexLock lock(mu_);
  ports_ = std::move(ports);
}

std::map<std::string, int> ServerState::ports() const {
  MutexLock lock(mu_);
  return ports_;
}

void ServerState::register_client(ClientSession* session) {
  session->id = next_client_id_.fetch_add(1);
  MutexLock lock(mu_);
  clients_[session->id] = session;
  connected_.fetch_add(1, std::memory_order_relaxed);
}

void ServerState::unregister_client(ClientSession* session) {
  MutexLock lock(mu_);
  if (clients_.erase(session->id) > 0) connected_.fetch_sub(1, std::memory_order_relaxed);
}

bool ServerState::try_reserve_slot() {
  size_t n = slots_.fetch_add(1) + 1;
  if (n > maxclients.load(std::memory_order_relaxed)) {
    slots_.fetch_sub(1);
    return false;
  }
  return true;
}

void ServerState::release_slot() { slots_.fetch_sub(1); }

void ServerState::for_each_client(const std::function<void(const ClientSession&)>& fn) const {
  MutexLock lock(mu_);
  for (const auto& [id, s] : clients_) fn(*s);
}

void ServerState::set_client_name(ClientSession* session, std::string_view name) {
  MutexLock lock(mu_);
  session->name.assign(name);
}

std::string ServerState::client_name(const ClientSession* session) const {
  MutexLock lock(mu_);
  return session->name;
}

void ServerState::set_client_lib(ClientSession* session, std::string_view name, std::string_view ver) {
  MutexLock lock(mu_);
  if (!name.empty()) session->lib_name.assign(name);
  if (!ver.empty()) session->lib_ver.assign(ver);
}

HotCounters* ServerState::add_hot_counters() {
  MutexLock lock(mu_);
  hot_.push_back(std::make_unique<HotCounters>());
  return hot_.back().get();
}

HotTotals ServerState::hot_totals() const {
  MutexLock lock(mu_);
  HotTotals t;
  for (const auto& h : hot_) {
    t.commands += h->commands.load(std::memory_order_relaxed);
    t.input_bytes += h->input_bytes.load(std::memory_order_relaxed);
    t.output_bytes += h->output_bytes.load(std::memory_order_relaxed);
  }
  t.commands -= hot_baseline_.commands;
  t.input_bytes -= hot_baseline_.input_bytes;
  t.output_bytes -= hot_baseline_.output_bytes;
  return t;
}

void ServerState::reset_hot_totals() {
  HotTotals now = hot_totals();
  MutexLock lock(mu_);
  // The owners keep counting; a reset moves the zero instead.
  hot_baseline_.commands += now.commands;
  hot_baseline_.input_bytes += now.input_bytes;
  hot_baseline_.output_bytes += now.output_bytes;
}

OpsRate ServerState::ops_rate(const HotTotals& now) {
  const int64_t t = now_ms();
  MutexLock lock(mu_);
  if (rate_sample_ms_ < 0 || now.commands < rate_sample_.commands) {  // first call, or RESETSTAT since
    rate_sample_ = now;
    rate_sample_ms_ = t;
    return rate_;
  }
  const int64_t dt = t - rate_sample_ms_;
  if (dt >= 1000) {
    const double secs = static_cast<double>(dt) / 1000.0;
    rate_.ops_per_sec = static_cast<int64_t>(static_cast<double>(now.commands - rate_sample_.commands) / secs);
    rate_.input_kbps = static_cast<double>(now.input_bytes - rate_sample_.input_bytes) / 1024.0 / secs;
    rate_.output_kbps = static_cast<double>(now.output_bytes - rate_sample_.output_bytes) / 1024.0 / secs;
    rate_sample_ = now;
    rate_sample_ms_ = t;
  }
  return rate_;
}

void ServerState::set_shutdown_hook(std::function<void()> hook) {
  MutexLock lock(mu_);
  hook_ = std::move(hook);
}

void ServerState::request_shutdown() {
  shutdown_.store(true);
  std::function<void()> hook;
  {
    MutexLock lock(mu_);
    hook = hook_;
  }
  if (hook) hook();
}

}  // namespace geocache
