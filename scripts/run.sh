#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts the embedded
# default deployment: three regions (us-east, eu-west, ap-south) in one
# geocached process, one port each (6390, 6391, 6392), replicating in-process
# with the simulated inter-region delay of examples/three-regions.toml. It
# shows a redis-cli session writing in one region and reading in another.
# Then a client sees the regions through delay relays (apps/geocache_relay)
# as 1, 40 and 120 ms away (ports 7390, 7391, 7392, which the node announces
# in GEO.REGIONS, where the client finds them) and reads from the closest; with
# the closest one's relay stopped, from the next. It keeps serving until Ctrl-C.
#
#   GEOCACHE_DEMO_ONLY=1   stop after the session (used by the test command)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${GEOCACHE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" geocached two_regions geocache_relay closest_region

echo "== the library: examples/two_regions.cc"
"$build/examples/two_regions"

config=examples/three-regions.toml
ports=(6390 6391 6392)
relay_ports=(7390 7391 7392)
if [ -n "${GEOCACHE_DEMO_ONLY:-}" ]; then
  # Ports the kernel says are free now (a random pick in the ephemeral range
  # collided with outgoing connections), so a smoke test never collides with
  # a running demo either.
  read -r -a all < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
  ports=("${all[@]:0:3}")
  relay_ports=("${all[@]:3:3}")
fi
# Clients are told (GEO.REGIONS) to reach the regions through the relays below.
"$build/apps/geocached" "$config" --port "${ports[0]}" \
  --region-ports "eu-west=${ports[1]},ap-south=${ports[2]}" \
  --announce "us-east=127.0.0.1:${relay_ports[0]},eu-west=127.0.0.1:${relay_ports[1]},ap-south=127.0.0.1:${relay_ports[2]}" &
server=$!
pids=("$server")
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  redis-cli -p "${ports[2]}" PING >/dev/null 2>&1 && break
  sleep 0.1
done

cli() { echo "\$ redis-cli -p $1 ${*:2}"; redis-cli -p "$1" "${@:2}"; }
echo "== a redis-cli session: us-east on ${ports[0]}, eu-west on ${ports[1]}, ap-south on ${ports[2]}"
cli "${ports[0]}" SET greeting "hello from us-east" EX 3600
cli "${ports[0]}" HSET user:1 name Ada city London
# Replication takes half the round trip of examples/three-regions.toml:
# 40 ms to eu-west, 100 ms to ap-south. Wait for it, up to 5 s.
await() { for _ in $(seq 100); do [ -n "$(redis-cli -p "$@")" ] && return; sleep 0.05; done; }
await "${ports[1]}" GET greeting
await "${ports[2]}" HGETALL user:1
cli "${ports[1]}" GET greeting
cli "${ports[1]}" TTL greeting
cli "${ports[2]}" HGETALL user:1
cli "${ports[2]}" INCR visits
cli "${ports[0]}" INFO geo

if [ -n "${GEOCACHE_DEMO_ONLY:-}" ]; then
  value=$(redis-cli -p "${ports[1]}" GET greeting)
  [ "$value" = "hello from us-east" ] || { echo "replication did not carry the write"; exit 1; }
fi

# The regions as a client far from eu-west and ap-south sees them: each
# behind a relay that adds its round trip (no tc netem on these machines).
names=(us-east eu-west ap-south)
rtts=(1 40 120)
relay_pid=()
start_relay() {  # start_relay INDEX
  "$build/apps/geocache_relay" --listen "${relay_ports[$1]}" --target "127.0.0.1:${ports[$1]}" \
    --rtt-ms "${rtts[$1]}" >/dev/null &
  relay_pid[$1]=$!
  pids+=("$!")
  for _ in $(seq 100); do redis-cli -p "${relay_ports[$1]}" PING >/dev/null 2>&1 && return; sleep 0.05; done
  echo "relay for ${names[$1]} did not start"; exit 1
}
for i in 0 1 2; do start_relay $i; done
echo "== geocache::Client (examples/closest_region.cc): us-east 1 ms, eu-west 40 ms, ap-south 120 ms away"
# The client finds the regions from any one node (GEO.REGIONS).
discover=(--discover "127.0.0.1:${ports[2]}")
out=$("$build/examples/closest_region" us-east "${discover[@]}" --get greeting)
echo "$out"
echo "== us-east's relay stopped: its link is down"
kill "${relay_pid[0]}"; wait "${relay_pid[0]}" 2>/dev/null || true
down=$("$build/examples/closest_region" us-east "${discover[@]}" --get greeting)
echo "$down"
start_relay 0

if [ -n "${GEOCACHE_DEMO_ONLY:-}" ]; then
  grep -q "served by us-east" <<<"$out" || { echo "the client did not read from the closest region"; exit 1; }
  grep -q "served by eu-west" <<<"$down" || { echo "the client did not fail over to the next region"; exit 1; }
  exit 0
fi
echo "== serving; connect with redis-cli -p 6390 (us-east), 6391 (eu-west), 6392 (ap-south),"
echo "   or through the relays: 7390 (1 ms), 7391 (40 ms), 7392 (120 ms). Ctrl-C stops."
wait $server
