#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts the embedded
# default deployment: three regions (us-east, eu-west, ap-south) in one
# geocached process, one port each (6390, 6391, 6392), replicating in-process
# with the simulated inter-region delay of examples/three-regions.toml. It
# shows a redis-cli session writing in one region and reading in another, then
# keeps serving until Ctrl-C.
#
#   GEOCACHE_DEMO_ONLY=1   stop after the session (used by the test command)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${GEOCACHE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" geocached two_regions

echo "== the library: examples/two_regions.cc"
"$build/examples/two_regions"

config=examples/three-regions.toml
ports=(6390 6391 6392)
if [ -n "${GEOCACHE_DEMO_ONLY:-}" ]; then
  # Ports the kernel says are free now (a random pick in the ephemeral range
  # collided with outgoing connections), so a smoke test never collides with
  # a running demo either.
  read -r -a ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
fi
"$build/apps/geocached" "$config" --port "${ports[0]}" \
  --region-ports "eu-west=${ports[1]},ap-south=${ports[2]}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
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
  exit 0
fi
echo "== serving; connect with redis-cli -p 6390 (us-east), 6391 (eu-west), 6392 (ap-south). Ctrl-C stops."
wait $server
