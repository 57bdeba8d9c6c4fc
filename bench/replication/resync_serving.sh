#!/usr/bin/env bash
# resync_serving.sh: what a full resync costs the serving of both its sides
# (issue 9, item 2: serving p99 during a resync within 2x of the quiet value).
#
#   bench/replication/resync_serving.sh [BUILD_DIR] [KEYS]
#
# Two nodes, east and west, through a private broker; east holds KEYS keys of
# 100 bytes, west the same by replication. redis-benchmark GETs (16 clients,
# random keys) measure each node quiet; then west is killed (SIGKILL) and
# restarted over and over, each start warming up from east with a snapshot of
# the whole store, while the same GETs run against east (the origin, sending
# snapshots) and then against west (the receiver, loading). Prints a table:
# throughput, p50 and p99 per phase, and the p99 ratio to the quiet run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
KEYS=${2:-300000}
source bench/server/servers.sh

start_broker

east_port=$(free_port)
west_port=$(free_port)
common=(--regions east,west --amqp-url "$url" --amqp-exchange rsx --amqp-queue-prefix rsq. --loglevel warning)
"$BUILD/apps/geocached" --region east --port "$east_port" "${common[@]}" >/dev/null 2>&1 &
PIDS+=($!)
# West's pid lives in a file: the restart loop runs in a subshell.
start_west() {
  "$BUILD/apps/geocached" --region west --port "$west_port" "${common[@]}" >/dev/null 2>&1 &
  echo $! > "$broker/west.pid"
  disown
  wait_port "$west_port"
}
kill_west() {
  local pid
  pid=$(cat "$broker/west.pid")
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
}
trap 'kill_west; cleanup; stop_broker' EXIT
wait_port "$east_port"
start_west
loading() { redis-cli -p "$1" info geo | tr -d '\r' | awk -F: '$1=="loading" {print $2}'; }
until [ "$(loading "$west_port")" = 0 ]; do sleep 0.1; done

redis-benchmark -p "$east_port" -t set -r "$KEYS" -n $((KEYS * 3)) -d 100 -P 16 -q >/dev/null
until [ "$(redis-cli -p "$west_port" dbsize)" = "$(redis-cli -p "$east_port" dbsize)" ]; do sleep 0.2; done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; keys: $(redis-cli -p "$east_port" dbsize)"

# rps p50 p99 of GETs against a port.
gets() {
  redis-benchmark -p "$1" -t get -r "$KEYS" -n "$2" -c 16 --csv 2>/dev/null |
    awk -F'"' 'NR==2 {print $4, $10, $14}'
}
restarts=0
restart_loop() {
  while [ ! -e "$broker/stop-restarts" ]; do
    kill_west
    start_west
    until [ "$(loading "$west_port" 2>/dev/null)" = 0 ]; do sleep 0.05; done
    echo x >> "$broker/restarts"
  done
}

printf '%-34s %10s %9s %9s %9s\n' phase rps p50_ms p99_ms p99/quiet
read -r e_rps e_p50 e_p99 < <(gets "$east_port" 300000)
printf '%-34s %10s %9s %9s %9s\n' "east quiet" "$e_rps" "$e_p50" "$e_p99" 1.00
read -r w_rps w_p50 w_p99 < <(gets "$west_port" 300000)
printf '%-34s %10s %9s %9s %9s\n' "west quiet" "$w_rps" "$w_p50" "$w_p99" 1.00

# The origin while it sends one snapshot after another.
restart_loop &
loop=$!
read -r rps p50 p99 < <(gets "$east_port" 300000)
touch "$broker/stop-restarts"
wait "$loop" || true
n=$(wc -l < "$broker/restarts" 2>/dev/null || echo 0)
printf '%-34s %10s %9s %9s %9s\n' "east sending snapshots ($n)" "$rps" "$p50" "$p99" \
  "$(awk -v a="$p99" -v b="$e_p99" 'BEGIN {printf "%.2f", a / b}')"

# The receiver while it loads: restarted, then read at once.
kill_west
start_west
read -r rps p50 p99 < <(gets "$west_port" 100000)
was=$(loading "$west_port")
printf '%-34s %10s %9s %9s %9s\n' "west loading (loading:$was after)" "$rps" "$p50" "$p99" \
  "$(awk -v a="$p99" -v b="$w_p99" 'BEGIN {printf "%.2f", a / b}')"
