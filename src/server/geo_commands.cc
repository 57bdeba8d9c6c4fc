// The GEO.* commands: what a client of a geo-distributed deployment asks
// beyond Redis. The regions and their health (GEO.REGIONS), and
// read-your-writes across regions: a client that wrote in one region takes
// a token (GEO.TOKEN) and, reading in another, waits until that region has
// applied it (GEO.WAIT) or goes back to the region it wrote in.
#include <charconv>
#include <string>

#include "fmt/format.h"
#include "server/arg_parser.h"
#include "server/client_session.h"
#include "server/command_families.h"
#include "server/errors.h"
#include "server/info_sections.h"
#include "server/server_state.h"

namespace geocache {
namespace {

using Args = std::span<const std::string_view>;

// One map per known region (RESP2: a flat array of field, value pairs):
// what INFO geo's region lines say, for programs.
void geo_regions_command(CommandContext& ctx, Args) {
  const std::vector<PeerStatus> peers = ctx.cache.peers();
  ctx.reply.array_header(peers.size());
  for (const PeerStatus& p : peers) {
    ctx.reply.map_header(14);
    ctx.reply.bulk("name");
    ctx.reply.bulk(ctx.cache.region_name(p.region.id));
    ctx.reply.bulk("id");
    ctx.reply.integer(p.region.id);
    ctx.reply.bulk("local");
    ctx.reply.integer(p.region.local ? 1 : 0);
    ctx.reply.bulk("configured");
    ctx.reply.integer(p.region.configured ? 1 : 0);
    ctx.reply.bulk("state");
    ctx.reply.bulk(peer_state_name(p.state));
    ctx.reply.bulk("last_seen_ms");
    ctx.reply.integer(p.last_seen_ms);
    ctx.reply.bulk("lag_ms");
    ctx.reply.integer(region_lag_ms(ctx, p));
    ctx.reply.bulk("hello_jitter_ms");
    ctx.reply.integer(p.lag_ms);
    ctx.reply.bulk("clock_offset_ms");
    if (p.clock_offset_ms) {
      ctx.reply.integer(*p.clock_offset_ms);
    } else {
      ctx.reply.null();
    }
    ctx.reply.bulk("instance");
    ctx.reply.bulk(p.instance_id == 0 ? std::string() : fmt::format("{:016x}", p.instance_id));
    ctx.reply.bulk("protocol");
    ctx.reply.integer(p.protocol);
    ctx.reply.bulk("hellos");
    ctx.reply.integer(static_cast<int64_t>(p.hellos));
    ctx.reply.bulk("problem");
    ctx.reply.bulk(p.problem);
    ctx.reply.bulk("endpoint");
    ctx.reply.bulk(p.endpoint);
  }
}

// ---------------------------------------------------------------- read-your-writes

// "<origin id>-<epoch>-<seq>", all decimal: opaque to clients.
std::string format_token(const StreamPoint& p) { return fmt::format("{}-{}-{}", p.origin, p.epoch, p.seq); }

bool parse_token(std::string_view text, StreamPoint* out) {
  uint64_t parts[3];
  const char* at = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(at, end, parts[i]);
    if (ec != std::errc() || next == at) return false;
    at = next;
    if (i < 2) {
      if (at == end || *at != '-') return false;
      ++at;
    }
  }
  if (at != end || parts[0] == 0 || parts[0] > UINT32_MAX) return false;
  *out = StreamPoint{static_cast<RegionId>(parts[0]), parts[1], parts[2]};
  return true;
}

// GEO.TOKEN: a token past every write made so far in this connection's
// region, its own included. Taken right after a write (pipelined with it).
void geo_token_command(CommandContext& ctx, Args) {
  Result<StreamPoint> point = ctx.cache.write_point(ctx.region);
  if (!point.ok()) return ctx.reply.error("ERR " + point.status().message());
  ctx.reply.bulk(format_token(*point));
}

// GEO.WAIT token timeout-ms: 1 once this connection's region has applied
// every write up to the token, 0 if it has not within timeout-ms (0: answer
// at once). The connection's later commands run after the answer, so a GET
// pipelined behind it reads what the token promised when the answer is 1.
void geo_wait_command(CommandContext& ctx, Args args) {
  StreamPoint point;
  if (!parse_token(args[1], &point)) return ctx.reply.error("ERR invalid token (GEO.TOKEN makes them)");
  int64_t timeout_ms = 0;
  if (!parse_int64(args[2], &timeout_ms) || timeout_ms < 0) {
    return ctx.reply.error("ERR timeout is negative or not an integer");
  }
  if (ctx.cache.has_applied(ctx.region, point)) return ctx.reply.integer(1);
  if (timeout_ms == 0 || ctx.session.answer_now) return ctx.reply.integer(0);
  // No reply now: the event loop runs this again once the region has
  // applied the point or at the deadline (Connection::resume).
  const int64_t now = ctx.server.now_ms();
  GeoCache& cache = ctx.cache;
  const RegionId region = ctx.region;
  ctx.session.wait = ClientSession::Wait{[&cache, region, point] { return cache.has_applied(region, point); },
                                         timeout_ms > INT64_MAX - now ? INT64_MAX : now + timeout_ms};
}

constexpr CommandSpec kGeoCommands[] = {
    {"geo.regions", 1, 0, geo_regions_command, 0, 0, 0},
    {"geo.token", 1, kCmdFast, geo_token_command, 0, 0, 0},
    {"geo.wait", 3, 0, geo_wait_command, 0, 0, 0},
};

}  // namespace

std::span<const CommandSpec> geo_family() { return kGeoCommands; }

}  // namespace geocache
