#!/usr/bin/env bash
# origin_cpu.sh: what replication costs the origin (issue 11: origin CPU per
# write with replication on <= 1.25x off).
#
#   bench/replication/origin_cpu.sh [BUILD_DIR] [ROUNDS]
#
# The same redis-benchmark SETs (-d 32 -r 1000000 -c 50, at -P 1 and -P 16)
# against geocached alone (one region: nothing replicated) and against
# geocached serving east of east+west through a private broker (every write
# encoded, published and confirmed; west, a process of its own, applies it).
# Prints the east process's CPU (user + system) per write and throughput,
# medians of ROUNDS rounds (default 3), and the ratio on/off.
# PEER=idle: west is stopped once the topology exists (its queue takes the
# events, up to its bound), so that only east and the broker share the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
ROUNDS=${2:-3}
source bench/server/servers.sh

start_broker
trap 'cleanup; stop_broker' EXIT

alone=$(free_port)
"$BUILD/apps/geocached" --port "$alone" --loglevel warning >/dev/null 2>&1 &
alone_pid=$!
PIDS+=("$alone_pid")
east=$(free_port)
west=$(free_port)
common=(--regions east,west --amqp-url "$url" --amqp-exchange ocx --amqp-queue-prefix ocq. --loglevel warning)
"$BUILD/apps/geocached" --region east --port "$east" "${common[@]}" >/dev/null 2>&1 &
east_pid=$!
PIDS+=("$east_pid")
"$BUILD/apps/geocached" --region west --port "$west" "${common[@]}" >/dev/null 2>&1 &
west_pid=$!
PIDS+=("$west_pid")
for p in "$alone" "$east" "$west"; do wait_port "$p"; done
[[ ${PEER:-} == idle ]] && stop "$west_pid"

results=$(mktemp)
run() {  # mode port pid pipeline n
  local before after rps
  before=$(cpu_ticks "$3")
  rps=$(redis-benchmark -p "$2" -t set -P "$4" -n "$5" -d 32 -r 1000000 -c 50 --csv 2>/dev/null | tail -n 1 |
        tr -d '"' | cut -d, -f2)
  after=$(cpu_ticks "$3")
  echo "$1,P$4,$rps,$(cpu_us_per "$before" "$after" "$5")" >>"$results"
}
for round in $(seq 1 "$ROUNDS"); do
  for spec in "1 200000" "16 2000000"; do
    set -- $spec
    run off "$alone" "$alone_pid" "$1" "$2"
    run on "$east" "$east_pid" "$1" "$2"
  done
done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = {}
for mode, pipe, rps, cpu in csv.reader(open(sys.argv[1])):
    rows.setdefault((pipe, mode), []).append((float(rps), float(cpu)))
med = lambda v, i: statistics.median(x[i] for x in v)
print(f"{'SET':<6}{'off ops/s':>12}{'on ops/s':>12}{'off cpu us':>12}{'on cpu us':>12}{'on/off cpu':>12}")
for pipe in ("P1", "P16"):
    off, on = rows[(pipe, "off")], rows[(pipe, "on")]
    print(f"{pipe:<6}{med(off,0):>12,.0f}{med(on,0):>12,.0f}{med(off,1):>12.2f}{med(on,1):>12.2f}{med(on,1)/med(off,1):>12.2f}")
PY
rm -f "$results"
