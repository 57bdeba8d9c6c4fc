// INFO sections. Figures come from ServerState (connections, commands,
// bytes), the stores of the local regions (items, hits, evictions) and the
// replicator (outbox and inbound links). Fields keep Redis' names where
// Redis has one, so monitoring that reads Redis' INFO reads ours.
#include "server/info_sections.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

#include "fmt/format.h"
#include "server/arg_parser.h"
#include "server/client_info.h"
#include "server/client_session.h"
#include "server/databases.h"
#include "server/process_stats.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Out = std::back_insert_iterator<std::string>;

LruCacheStats all_local_stats(GeoCache& cache) {
  LruCacheStats total;
  for (RegionId r : cache.local_regions()) {
    LruCacheStats s = cache.region_stats(r);
    total.hits += s.hits;
    total.misses += s.misses;
    total.evictions += s.evictions;
    total.expirations += s.expirations;
    total.items += s.items;
    total.tombstones += s.tombstones;
    total.bytes += s.bytes;
    total.stale_applies += s.stale_applies;
  }
  return total;
}

// Redis' bytesToHuman: "1.23K", "14.50M".
std::string human_bytes(uint64_t n) {
  const double d = static_cast<double>(n);
  if (n < 1024) return fmt::format("{}B", n);
  if (n < 1024ull * 1024) return fmt::format("{:.2f}K", d / 1024);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.2f}M", d / (1024.0 * 1024));
  if (n < 1024ull * 1024 * 1024 * 1024) return fmt::format("{:.2f}G", d / (1024.0 * 1024 * 1024));
  return fmt::format("{:.2f}T", d / (1024.0 * 1024 * 1024 * 1024));
}

// A stable 40-hex-digit id for this process (Redis' run_id), from the
// instance id hellos carry.
std::string run_id(const GeoCache& cache) {
  const uint64_t id = cache.instance_id();
  return fmt::format("{:016x}{:016x}{:08x}", id, id * 0x9e3779b97f4a7c15ull, static_cast<uint32_t>(id >> 17));
}

// Redis' name for the engine's way of waiting.
std::string_view multiplexing_api(std::string_view engine) { return engine == "uring" ? "io_uring" : "epoll"; }

void server_section(CommandContext& ctx, Out out) {
  const Config& c = ctx.server.config();
  const int64_t uptime = (ctx.server.now_ms() - ctx.server.start_ms()) / 1000;
  char exe[4096] = {};
  const ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  fmt::format_to(out,
                 "# Server\r\nredis_version:{}\r\ngeocache_version:{}\r\nredis_git_sha1:00000000\r\n"
                 "redis_git_dirty:0\r\nredis_mode:standalone\r\nos:Linux\r\narch_bits:{}\r\n"
                 "multiplexing_api:{}\r\nio_engine:{}\r\ngcc_version:{}.{}.{}\r\nprocess_id:{}\r\nprocess_supervised:no\r\n"
                 "run_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\n"
                 "uptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\nexecutable:{}\r\nconfig_file:{}\r\n"
                 "io_threads_active:0\r\nserver_threads:{}\r\n\r\n",
                 kRedisCompatVersion, geocache_version(), sizeof(void*) * 8, multiplexing_api(ctx.server.io_engine.load()),
                 ctx.server.io_engine.load(), __GNUC__, __GNUC_MINOR__,
                 __GNUC_PATCHLEVEL__, getpid(), run_id(ctx.cache), c.server.port, ctx.server.clock().now_us(),
                 uptime, uptime / 86400, exe_len > 0 ? std::string_view(exe, static_cast<size_t>(exe_len)) : "",
                 c.config_file, ctx.server.server_threads.load());
}

void clients_section(CommandContext& ctx, Out out) {
  uint64_t max_in = 0, max_out = 0;
  ctx.server.for_each_client([&](const ClientSession& s) {
    max_in = std::max<uint64_t>(max_in, s.input_buffer_bytes.load(std::memory_order_relaxed));
    max_out = std::max<uint64_t>(max_out, s.output_buffer_bytes.load(std::memory_order_relaxed));
  });
  fmt::format_to(out,
                 "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n"
                 "client_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\n"
                 "blocked_clients:0\r\ntracking_clients:{}\r\nclients_in_timeout_table:0\r\n"
                 "pubsub_clients:{}\r\n\r\n",
                 ctx.server.connected_clients(), ctx.server.maxclients.load(), max_in, max_out,
                 ctx.server.tracking_clients(), ctx.server.pubsub_clients());
}

void memory_section(CommandContext& ctx, Out out) {
  const LruCacheStats s = all_local_stats(ctx.cache);
  const uint64_t used = heap_in_use_bytes(), rss = rss_bytes(), system = total_system_memory_bytes();
  uint64_t peak = ctx.server.used_memory_peak.load();
  while (used > peak && !ctx.server.used_memory_peak.compare_exchange_weak(peak, used)) {
  }
  peak = std::max(peak, used);
  const size_t maxmemory = ctx.server.maxmemory.load();
  // used_memory is the allocator's figure, as in Redis: everything the
  // process allocated (stores, buffers, outboxes, backlog). used_memory_dataset
  // is what the stores count against maxmemory (which bounds each region's
  // store, not the process).
  fmt::format_to(out,
                 "# Memory\r\nused_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\n"
                 "used_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\n"
                 "used_memory_peak_perc:{:.2f}%\r\nused_memory_overhead:{}\r\nused_memory_dataset:{}\r\n"
                 "used_memory_dataset_perc:{:.2f}%\r\ntotal_system_memory:{}\r\ntotal_system_memory_human:{}\r\n"
                 "maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:allkeys-lru\r\nmaxmemory_per_region:1\r\n"
                 "mem_fragmentation_ratio:{:.2f}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\n\r\n",
                 used, human_bytes(used), rss, human_bytes(rss), peak, human_bytes(peak),
                 peak == 0 ? 0.0 : 100.0 * static_cast<double>(used) / static_cast<double>(peak),
                 used > s.bytes ? used - s.bytes : 0, s.bytes,
                 used == 0 ? 0.0 : 100.0 * static_cast<double>(s.bytes) / static_cast<double>(used), system,
                 human_bytes(system), maxmemory, human_bytes(maxmemory),
                 used == 0 ? 0.0 : static_cast<double>(rss) / static_cast<double>(used));
}

// A cache without persistence: what clients and tools look for (loading:0
// above all: ioredis waits while it is 1), all idle. A node warming up after
// a start serves meanwhile (misses for what has not come), so it says 0 here
// too, where Redis' 1 means it refuses commands; INFO geo's loading tells.
void persistence_section(CommandContext& ctx, Out out) {
  fmt::format_to(out,
                 "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
                 "rdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\n"
                 "rdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\n"
                 "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
                 "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
                 "aof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n\r\n",
                 ctx.server.start_ms() / 1000);
}

void stats_section(CommandContext& ctx, Out out) {
  ServerStats& st = ctx.server.stats();
  HotTotals hot = ctx.server.hot_totals();
  LruCacheStats s = all_local_stats(ctx.cache);
  const OpsRate rate = ctx.server.ops_rate(hot);
  fmt::format_to(out,
                 "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
                 "instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n"
                 "instantaneous_input_kbps:{:.2f}\r\ninstantaneous_output_kbps:{:.2f}\r\nrejected_connections:{}\r\n"
                 "expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n"
                 "pubsub_channels:{}\r\npubsub_patterns:{}\r\nlatest_fork_usec:0\r\n"
                 "total_error_replies_protocol:{}\r\nunknown_commands:{}\r\n"
                 "client_query_buffer_limit_disconnections:{}\r\n"
                 "client_output_buffer_limit_disconnections:{}\r\nidle_timeout_disconnections:{}\r\n"
                 "stale_applies:{}\r\n\r\n",
                 st.connections_received.load(), hot.commands, rate.ops_per_sec, hot.input_bytes, hot.output_bytes,
                 rate.input_kbps, rate.output_kbps, st.rejected_connections.load(), s.expirations, s.evictions,
                 s.hits, s.misses, ctx.server.pubsub_channels(), ctx.server.pubsub_patterns(),
                 st.protocol_errors.load(), st.unknown_commands.load(), st.closed_query_limit.load(),
                 st.closed_output_limit.load(), st.closed_idle.load(), s.stale_applies);
}

// How far behind this port's region is on each other region, ms: the last
// event's lag (written there to applied here) and the p50/p99 of recent
// ones, and the transit of the last hello (sent there to received here),
// which keeps measuring when nothing is written. All by the two wall clocks,
// so they include the clocks' offset (NTP keeps it to a few ms).
struct RegionLag {
  bool events = false;  // an event from it has been applied here
  int64_t last_ms = 0, p50_ms = 0, p99_ms = 0;
  std::optional<int64_t> hello_transit_ms;
};

RegionLag region_lag(CommandContext& ctx, const PeerStatus& p, const std::vector<InboundStats>& inbound) {
  RegionLag lag;
  for (const InboundStats& in : inbound) {
    if (in.region != ctx.region || in.origin != p.region.id || in.events_in == 0) continue;
    lag.events = true;
    lag.last_ms = in.lag_last_ms;
    lag.p50_ms = in.lag_p50_ms;
    lag.p99_ms = in.lag_p99_ms;
  }
  // Membership's lag_ms is the last hello's delay beyond the fastest recent
  // one, and its offset estimate the fastest one's (send - receive); their
  // difference is the last hello's own receive - send.
  if (p.clock_offset_ms) lag.hello_transit_ms = p.lag_ms - *p.clock_offset_ms;
  return lag;
}

// The lag to report: the last event's if any, else the last hello's transit.
int64_t lag_ms(const RegionLag& lag) {
  if (lag.events) return lag.last_ms;
  return lag.hello_transit_ms ? std::max<int64_t>(0, *lag.hello_transit_ms) : 0;
}

void replication_section(CommandContext& ctx, Out out) {
  // Replication between regions is multi-master; Redis-style master/replica
  // replication does not exist, so to Redis tools this is a master without
  // replicas. The other regions are listed as geo_region<i> lines (as
  // parseable as Redis' slave<i> lines) with their state and lag.
  uint64_t offset = 0, backlog = 0;
  for (const OutboxStats& o : ctx.cache.replicator().outbox_stats()) {
    offset += o.appended;
    backlog += o.backlog_bytes;
  }
  const std::string id = run_id(ctx.cache);
  fmt::format_to(out,
                 "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                 "master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                 "master_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:1\r\n"
                 "repl_backlog_size:{}\r\nrepl_backlog_histlen:{}\r\n",
                 id, offset, ctx.server.config().cache.replication.backlog_max_bytes, backlog);
  const std::vector<InboundStats> inbound = ctx.cache.replicator().inbound_stats();
  int i = 0;
  for (const PeerStatus& p : ctx.cache.peers()) {
    if (p.region.id == ctx.region) continue;
    const RegionLag lag = region_lag(ctx, p, inbound);
    fmt::format_to(out, "geo_region{}:name={},state={},lag_ms={},lag_p50_ms={},lag_p99_ms={}", i++,
                   ctx.cache.region_name(p.region.id), peer_state_name(p.state), lag_ms(lag), lag.p50_ms, lag.p99_ms);
    if (lag.hello_transit_ms) fmt::format_to(out, ",hello_transit_ms={}", *lag.hello_transit_ms);
    fmt::format_to(out, "\r\n");
  }
  fmt::format_to(out, "\r\n");
}

void cpu_section(CommandContext&, Out out) {
  const CpuTimes self = process_cpu(), children = children_cpu(), thread = thread_cpu();
  // Redis' "main thread" runs every command; here each event loop runs its
  // own connections', so the figure is the loop thread's that answers.
  fmt::format_to(out,
                 "# CPU\r\nused_cpu_sys:{:.6f}\r\nused_cpu_user:{:.6f}\r\nused_cpu_sys_children:{:.6f}\r\n"
                 "used_cpu_user_children:{:.6f}\r\nused_cpu_sys_main_thread:{:.6f}\r\n"
                 "used_cpu_user_main_thread:{:.6f}\r\n\r\n",
                 self.sys_s, self.user_s, children.sys_s, children.user_s, thread.sys_s, thread.user_s);
}

// Keys, keys with a TTL and their mean remaining TTL, per database (Redis
// shows only databases with keys). Shards are walked whole, in order, until
// kKeyspaceSample keys are seen: a store that small is counted exactly; a
// bigger one is estimated from the shards walked (each a uniform hash
// sample of the keys), scaled to the store's exact key count, so INFO stays
// cheap at any size (a whole walk of 1M keys took 200 ms). Database 0's
// count is exact whenever no other database is in use.
constexpr uint64_t kKeyspaceSample = 65'536;

void keyspace_section(CommandContext& ctx, Out out) {
  struct Db {
    uint64_t keys = 0, expires = 0;
    long double ttl_sum = 0;
  };
  std::array<Db, kDatabases> dbs{};
  const RegionReader reader = ctx.cache.reader(ctx.region);
  const uint64_t items = reader.stats().items;
  const int64_t now = ctx.cache.now_ms();
  uint64_t seen = 0;
  for (int shard = 0; shard < reader.shard_count() && seen < kKeyspaceSample; ++shard) {
    reader.scan_shard(shard, [&](std::string_view stored, const RecordView& rec) {
      std::string_view key;
      Db& db = dbs[static_cast<size_t>(key_db(stored, &key))];
      ++seen;
      ++db.keys;
      if (rec.expire_at_ms != kNoExpiry) {
        ++db.expires;
        db.ttl_sum += static_cast<long double>(std::max<int64_t>(0, rec.expire_at_ms - now));
      }
    });
  }
  // A sample scales up; a whole walk (seen == items, give or take the writes
  // since) is taken as it is.
  const long double scale =
      seen >= kKeyspaceSample && seen < items ? static_cast<long double>(items) / static_cast<long double>(seen) : 1.0L;
  const bool only_db0 = !other_databases_seen().load(std::memory_order_relaxed);
  fmt::format_to(out, "# Keyspace\r\n");
  for (size_t i = 0; i < dbs.size(); ++i) {
    const Db& db = dbs[i];
    if (db.keys == 0) continue;
    const uint64_t keys = only_db0 && i == 0 ? items : static_cast<uint64_t>(static_cast<long double>(db.keys) * scale);
    const uint64_t expires = std::min<uint64_t>(keys, static_cast<uint64_t>(static_cast<long double>(db.expires) * scale));
    const int64_t avg_ttl = db.expires == 0 ? 0 : static_cast<int64_t>(db.ttl_sum / db.expires);
    fmt::format_to(out, "db{}:keys={},expires={},avg_ttl={}\r\n", i, keys, expires, avg_ttl);
  }
  fmt::format_to(out, "\r\n");
}

const char* breaker_name(CircuitBreaker::State s) { return CircuitBreaker::state_name(s); }

void geo_section(CommandContext& ctx, Out out) {
  GeoCache& cache = ctx.cache;
  const Config& c = ctx.server.config();
  auto ports = ctx.server.ports();
  fmt::format_to(out,
                 "# Geo\r\nregion:{}\r\nregion_id:{}\r\nhome_region:{}\r\ntransport:{}\r\n"
                 "instance_id:{:016x}\r\n",
                 cache.region_name(ctx.region), ctx.region, cache.region_name(cache.home_region()),
                 c.uses_amqp() ? "amqp" : "in-process", cache.instance_id());
  const std::vector<PeerStatus> peers = cache.peers();
  const std::vector<InboundStats> inbound = cache.replicator().inbound_stats();
  std::string all, local;
  for (const PeerStatus& p : peers) {
    if (!all.empty()) all += ',';
    all += cache.region_name(p.region.id);
  }
  for (RegionId r : cache.local_regions()) {
    if (!local.empty()) local += ',';
    local += cache.region_name(r);
  }
  fmt::format_to(out, "regions:{}\r\nregions_known:{}\r\nlocal_regions:{}\r\n", all, peers.size(), local);
  // A local region's state is its read circuit; another region's, what its
  // heartbeats tell (up, stale, down; unknown without heartbeats).
  for (const PeerStatus& p : peers) {
    const RegionId r = p.region.id;
    const std::string name = cache.region_name(r);
    if (p.region.local) {
      auto port = ports.find(name);
      const LruCacheStats s = cache.region_stats(r);
      fmt::format_to(out, "region_{}:id={},local=1,port={},state={},keys={},bytes={}", name, r,
                     port == ports.end() ? 0 : port->second, breaker_name(cache.region_state(r)), s.items, s.bytes);
      // Another region of this process: its events travel in-process.
      if (const RegionLag lag = region_lag(ctx, p, inbound); r != ctx.region && lag.events) {
        fmt::format_to(out, ",lag_ms={}", lag_ms(lag));
      }
      fmt::format_to(out, "\r\n");
      continue;
    }
    const RegionLag lag = region_lag(ctx, p, inbound);
    fmt::format_to(out, "region_{}:id={},local=0,configured={},state={},last_seen_ms={},lag_ms={},hello_jitter_ms={}",
                   name, r, p.region.configured ? 1 : 0, peer_state_name(p.state), p.last_seen_ms, lag_ms(lag),
                   p.lag_ms);
    if (lag.hello_transit_ms) fmt::format_to(out, ",hello_transit_ms={}", *lag.hello_transit_ms);
    if (p.clock_offset_ms) fmt::format_to(out, ",clock_offset_ms={}", *p.clock_offset_ms);
    if (p.instance_id != 0) fmt::format_to(out, ",instance={:016x},protocol={}", p.instance_id, p.protocol);
    fmt::format_to(out, ",hellos={}\r\n", p.hellos);
  }
  uint64_t depth = 0;
  for (const OutboxStats& o : cache.replicator().outbox_stats()) {
    depth += o.depth_events;
    fmt::format_to(out,
                   "outbox_{}:epoch={},depth_events={},depth_bytes={},appended={},published={},dropped={},"
                   "publish_failures={},link={}\r\n",
                   cache.region_name(o.origin), o.epoch, o.depth_events, o.depth_bytes, o.appended, o.published,
                   o.dropped, o.publish_failures, breaker_name(o.breaker));
  }
  int64_t lag_last = 0, lag_p50 = 0, lag_p99 = 0;
  uint64_t gaps = 0;
  std::array<uint64_t, kRefusalReasons> refused{};
  for (const InboundStats& in : inbound) {
    fmt::format_to(out,
                   "inbound_{}_from_{}:epoch={},next_seq={},events={},batches={},duplicates={},gaps={},"
                   "epoch_changes={},corrupt={},lag_last_ms={},lag_p50_ms={},lag_p99_ms={}",
                   cache.region_name(in.region), cache.region_name(in.origin), in.epoch, in.next_seq, in.events_in,
                   in.batches_in, in.duplicates, in.gaps, in.epoch_changes, in.corrupt_batches, in.lag_last_ms,
                   in.lag_p50_ms, in.lag_p99_ms);
    // Refused input, per reason (docs/replication.md, "Validation").
    for (size_t r = 0; r < kRefusalReasons; ++r) {
      fmt::format_to(out, ",refused_{}={}", refusal_name(static_cast<Refusal>(r)), in.refused[r]);
      refused[r] += in.refused[r];
    }
    fmt::format_to(out, "\r\n");
    gaps += in.gaps;
    if (in.region == ctx.region) {
      // This port's region: the worst link is what its readers see.
      lag_last = std::max(lag_last, in.lag_last_ms);
      lag_p50 = std::max(lag_p50, in.lag_p50_ms);
      lag_p99 = std::max(lag_p99, in.lag_p99_ms);
    }
  }
  fmt::format_to(out,
                 "outbox_depth_events:{}\r\nreplication_lag_last_ms:{}\r\nreplication_lag_p50_ms:{}\r\n"
                 "replication_lag_p99_ms:{}\r\ngaps:{}\r\nresyncs:{}\r\nresyncs_completed:{}\r\n",
                 depth, lag_last, lag_p50, lag_p99, gaps, cache.resyncs(), cache.resyncs_completed());
  // What the resyncs took: answered from a backlog or by a snapshot (warm-ups
  // included), the records and bytes received, the last one's duration.
  const Resync::Stats rs = cache.resync_stats();
  fmt::format_to(out,
                 "resyncs_by_backlog:{}\r\nresyncs_by_snapshot:{}\r\nresync_records_in:{}\r\n"
                 "resync_bytes_in:{}\r\nresync_last_ms:{}\r\n",
                 rs.by_backlog, rs.by_snapshot, rs.records_in, rs.bytes_in, rs.last_ms);
  // Pairs (local region, remote region) still warming up after a start.
  fmt::format_to(out, "warming:{}\r\n", cache.warming());
  // This connection's region has not ended its start-up warm-up: misses may
  // be keys not received yet (Redis' INFO persistence field of that name).
  fmt::format_to(out, "loading:{}\r\n", cache.loading(ctx.region) ? 1 : 0);
  // Miss fallback: fetches asked of the closest region, and answered for others.
  const MissFallback::Stats mf = cache.miss_fallback().stats();
  fmt::format_to(out,
                 "miss_fallback:{}\r\nmiss_fallback_fetches:{}\r\nmiss_fallback_found:{}\r\n"
                 "miss_fallback_timed_out:{}\r\nmiss_fallback_skipped:{}\r\nmiss_fallback_served:{}\r\n",
                 cache.miss_fallback().enabled() ? "yes" : "no", mf.fetches, mf.found, mf.timed_out, mf.skipped,
                 mf.served);
  // List writes that could not apply here, whose whole key was asked of the
  // writer; and such requests sent again, unanswered in time.
  fmt::format_to(out, "list_state_fetches:{}\r\nlist_state_retries:{}\r\n", cache.list_state_fetches(),
                 mf.state_retries);
  // Validation: totals of refused input over every link, and whether
  // batches are sealed (the secret itself is never shown).
  const ReplicatorOptions& validation = c.cache.replication;
  for (size_t r = 0; r < kRefusalReasons; ++r) {
    fmt::format_to(out, "refused_{}:{}\r\n", refusal_name(static_cast<Refusal>(r)), refused[r]);
  }
  fmt::format_to(out, "replication_auth:{}\r\nmax_clock_offset_ms:{}\r\nsequence_window:{}\r\n",
                 validation.secret.empty() ? "none" : "hmac-sha256", validation.max_clock_offset_ms,
                 validation.sequence_window);
  // What an operator must look at: logged as errors too.
  const std::vector<std::string> problems = cache.problems();
  fmt::format_to(out, "problems:{}\r\n", problems.size());
  for (size_t i = 0; i < problems.size(); ++i) fmt::format_to(out, "problem_{}:{}\r\n", i + 1, problems[i]);
  fmt::format_to(out, "\r\n");
}

struct Section {
  std::string_view name;
  void (*fn)(CommandContext&, Out);
};

constexpr Section kSections[] = {
    {"server", server_section}, {"clients", clients_section},         {"memory", memory_section},
    {"persistence", persistence_section}, {"stats", stats_section}, {"replication", replication_section},
    {"cpu", cpu_section},       {"keyspace", keyspace_section},       {"geo", geo_section},
};

}  // namespace

std::string info_text(CommandContext& ctx, std::string_view section) {
  std::string text;
  Out out(text);
  bool all = section.empty() || equals_ci(section, "default") || equals_ci(section, "all") ||
             equals_ci(section, "everything");
  for (const Section& s : kSections) {
    if (all || equals_ci(section, s.name)) s.fn(ctx, out);
  }
  // Redis ends the text without the blank line after the last section.
  if (text.size() >= 2) text.resize(text.size() - 2);
  return text;
}

int64_t region_lag_ms(CommandContext& ctx, const PeerStatus& p) {
  if (p.region.id == ctx.region) return 0;
  return lag_ms(region_lag(ctx, p, ctx.cache.replicator().inbound_stats()));
}

}  // namespace geocache
