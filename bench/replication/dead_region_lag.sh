#!/usr/bin/env bash
# Replication lag between two live regions, with the third one up, then dead
# with its queue full (docs/replication.md, "A full queue: drop-head").
#
#   bench/replication/dead_region_lag.sh [BUILD_DIR] [ROUNDS]
#
# Three geocached nodes (east, west, north) on a private RabbitMQ broker, every
# queue bounded at 1 MiB. Each round: redis-benchmark writes N keys to east
# (SET, -d 100, -c 4, no pipelining) with north up, then again after north was
# killed and its queue filled by a first run; after each run, west's lag from
# east (INFO geo, inbound_west_from_east: p50 and p99 of the last 1024 events
# applied) and its ops/s are printed. North is restarted between rounds.
# Everything shares this machine's cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
ROUNDS=${2:-3}
N=${N:-50000}
BIN=$BUILD/apps/geocached
[[ -x $BIN ]] || { echo "dead_region_lag.sh: $BIN not built" >&2; exit 1; }
PORT=${PORT:-26791}
DIR=$(mktemp -d /tmp/geocache-bench-broker.XXXXXX)
declare -A PID
cleanup() {
  for p in "${PID[@]:-}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/scripts/rabbitmq.sh" stop "$DIR" >/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$ROOT/scripts/rabbitmq.sh" start "$DIR" "$PORT" >/dev/null
URL=$("$ROOT/scripts/rabbitmq.sh" url "$DIR")
declare -A NODE_PORT=([east]=26781 [west]=26782 [north]=26783)

start() {  # region: starts its node, waits until it answers
  "$BIN" --port "${NODE_PORT[$1]}" --region "$1" --loglevel warning --amqp-url "$URL" \
    --amqp-queue-max-bytes 1mb --amqp-persistent no >/dev/null 2>&1 &
  PID[$1]=$!
  for _ in $(seq 500); do redis-cli -p "${NODE_PORT[$1]}" PING >/dev/null 2>&1 && return; sleep 0.02; done
  echo "dead_region_lag.sh: $1 did not start" >&2
  exit 1
}
load() {  # -> ops/s of N SETs on east
  redis-benchmark -p "${NODE_PORT[east]}" -t set -n "$N" -d 100 -r 1000000 -c 4 --csv 2>/dev/null | tail -n 1 |
    awk -F'"' '{print $4}'
}
lag() {  # -> "p50 p99" of west's lag from east, ms
  redis-cli -p "${NODE_PORT[west]}" INFO geo | tr -d '\r' | grep '^inbound_west_from_east:' |
    sed -E 's/.*lag_p50_ms=([0-9]+),lag_p99_ms=([0-9]+).*/\1 \2/'
}
# Lets west apply the last batches before its lag is read.
settle() { sleep 1; }

for r in east west north; do start "$r"; done
printf "%-6s %-22s %10s %12s %12s\n" round north ops/s lag_p50_ms lag_p99_ms
for round in $(seq "$ROUNDS"); do
  ops=$(load); settle
  printf "%-6s %-22s %10s %12s %12s\n" "$round" up "$ops" $(lag)
  kill -9 "${PID[north]}"; wait "${PID[north]}" 2>/dev/null || true
  load >/dev/null  # fills north's queue (1 MiB) many times over
  ops=$(load); settle
  printf "%-6s %-22s %10s %12s %12s\n" "$round" "dead, queue full" "$ops" $(lag)
  start north
done
