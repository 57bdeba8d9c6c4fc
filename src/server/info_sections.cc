// INFO sections. Figures come from ServerState (connections, commands,
// bytes), the stores of the local regions (items, hits, evictions) and the
// replicator (outbox and inbound links). Fields keep Redis' names where
// Redis has one, so monitoring that reads Redis' INFO reads ours.
#include "server/info_sections.h"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "fmt/format.h"
#include "server/arg_parser.h"
#include "server/client_info.h"
#include "server/client_session.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Out = std::back_insert_iterator<std::string>;

uint64_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

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

void server_section(CommandContext& ctx, Out out) {
  const Config& c = ctx.server.config();
  int64_t uptime = (ctx.server.now_ms() - ctx.server.start_ms()) / 1000;
  fmt::format_to(out,
                 "# Server\r\nredis_version:{}\r\ngeocache_version:{}\r\nredis_mode:standalone\r\n"
                 "os:Linux\r\narch_bits:64\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\n"
                 "tcp_port:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nio_threads_active:0\r\n"
                 "server_threads:{}\r\nconfig_file:{}\r\n\r\n",
                 kRedisCompatVersion, geocache_version(), getpid(), c.server.port, uptime, uptime / 86400,
                 c.server.threads, c.config_file);
}

void clients_section(CommandContext& ctx, Out out) {
  fmt::format_to(out,
                 "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n"
                 "tracking_clients:0\r\n\r\n",
                 ctx.server.connected_clients(), ctx.server.maxclients.load());
}

void memory_section(CommandContext& ctx, Out out) {
  LruCacheStats s = all_local_stats(ctx.cache);
  fmt::format_to(out,
                 "# Memory\r\nused_memory:{}\r\nused_memory_rss:{}\r\nmaxmemory:{}\r\n"
                 "maxmemory_policy:allkeys-lru\r\nmaxmemory_per_region:1\r\n\r\n",
                 s.bytes, rss_bytes(), ctx.server.maxmemory.load());
}

void stats_section(CommandContext& ctx, Out out) {
  ServerStats& st = ctx.server.stats();
  HotTotals hot = ctx.server.hot_totals();
  LruCacheStats s = all_local_stats(ctx.cache);
  fmt::format_to(out,
                 "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n"
                 "total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n"
                 "expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n"
                 "total_error_replies_protocol:{}\r\nunknown_commands:{}\r\n"
                 "client_query_buffer_limit_disconnections:{}\r\n"
                 "client_output_buffer_limit_disconnections:{}\r\nidle_timeout_disconnections:{}\r\n"
                 "stale_applies:{}\r\n\r\n",
                 st.connections_received.load(), hot.commands, hot.input_bytes, hot.output_bytes, st.rejected_connections.load(), s.expirations, s.evictions,
                 s.hits, s.misses, st.protocol_errors.load(), st.unknown_commands.load(),
                 st.closed_query_limit.load(), st.closed_output_limit.load(), st.closed_idle.load(),
                 s.stale_applies);
}

void replication_section(CommandContext&, Out out) {
  // Replication between regions is multi-master and reported under `geo`;
  // Redis-style master/replica replication does not exist here.
  fmt::format_to(out, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
}

void keyspace_section(CommandContext& ctx, Out out) {
  fmt::format_to(out, "# Keyspace\r\n");
  LruCacheStats s = ctx.cache.region_stats(ctx.region);
  if (s.items > 0) fmt::format_to(out, "db0:keys={},expires=0,avg_ttl=0\r\n", s.items);
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
      fmt::format_to(out, "region_{}:id={},local=1,port={},state={},keys={},bytes={}\r\n", name, r,
                     port == ports.end() ? 0 : port->second, breaker_name(cache.region_state(r)), s.items, s.bytes);
      continue;
    }
    fmt::format_to(out, "region_{}:id={},local=0,configured={},state={},last_seen_ms={},lag_ms={}", name, r,
                   p.region.configured ? 1 : 0, peer_state_name(p.state), p.last_seen_ms, p.lag_ms);
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
  for (const InboundStats& in : cache.replicator().inbound_stats()) {
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
    {"server", server_section},   {"clients", clients_section},         {"memory", memory_section},
    {"stats", stats_section},     {"replication", replication_section}, {"keyspace", keyspace_section},
    {"geo", geo_section},
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

}  // namespace geocache
