#!/usr/bin/env bash
# origin_cpu.sh: what replication costs the origin (issue 11: origin CPU per
# write with replication on <= 1.25x off).
#
#   bench/replication/origin_cpu.sh [BUILD_DIR] [ROUNDS] [BASE_BUILD_DIR]
#
# The same redis-benchmark SETs (-d 32 -r 1000000 -c 50, at -P 1 and -P 16)
# against geocached alone (one region: nothing replicated) and against
# geocached serving east of east+west through a private broker (every write
# encoded, published and confirmed; west, a process of its own, applies it).
# Prints the east process's CPU (user + system) per write and throughput,
# medians of ROUNDS rounds (default 3), and on/off: the median of each
# round's ratio (the machine drifts between rounds more than within one).
# BASE_BUILD_DIR: east+west of another build too (its own exchange and
# queues, on the same broker), run in each round right after the first, to
# compare two builds on the same machine state ("base" rows).
# PEER=idle: west is stopped once the topology exists (its queue takes the
# events, up to its bound), so that only east and the broker share the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
ROUNDS=${2:-3}
BASE=${3:-}
source bench/server/servers.sh

start_broker
trap 'cleanup; stop_broker' EXIT

alone=$(free_port)
"$BUILD/apps/geocached" --port "$alone" --loglevel warning >/dev/null 2>&1 &
alone_pid=$!
PIDS+=("$alone_pid")
ports=("$alone")
start_pair() {  # build name: starts east and west of that build, sets ${name}_port and ${name}_pid
  local east west west_pid
  east=$(free_port)
  west=$(free_port)
  local common=(--regions east,west --amqp-url "$url" --amqp-exchange "ocx-$2" --amqp-queue-prefix "ocq-$2."
                --loglevel warning)
  "$1/apps/geocached" --region east --port "$east" "${common[@]}" >/dev/null 2>&1 &
  printf -v "$2_pid" %s $!
  PIDS+=($!)
  "$1/apps/geocached" --region west --port "$west" "${common[@]}" >/dev/null 2>&1 &
  west_pid=$!
  PIDS+=("$west_pid")
  printf -v "$2_port" %s "$east"
  wait_port "$east"
  wait_port "$west"
  [[ ${PEER:-} == idle ]] && stop "$west_pid"
  return 0
}
start_pair "$BUILD" on
modes=(off on)
if [[ -n $BASE ]]; then
  start_pair "$BASE" base
  modes+=(base)
fi
wait_port "$alone"
off_port=$alone
off_pid=$alone_pid

results=$(mktemp)
run() {  # round mode pipeline n
  local port pid before after rps
  port=${2}_port
  pid=${2}_pid
  before=$(cpu_ticks "${!pid}")
  rps=$(redis-benchmark -p "${!port}" -t set -P "$3" -n "$4" -d 32 -r 1000000 -c 50 --csv 2>/dev/null | tail -n 1 |
        tr -d '"' | cut -d, -f2)
  after=$(cpu_ticks "${!pid}")
  echo "$1,$2,P$3,$rps,$(cpu_us_per "$before" "$after" "$4")" >>"$results"
}
for round in $(seq 1 "$ROUNDS"); do
  for spec in "1 200000" "16 2000000"; do
    for mode in "${modes[@]}"; do run "$round" "$mode" $spec; done
  done
done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; build $BUILD${BASE:+, base $BASE}"
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = {}
for rnd, mode, pipe, rps, cpu in csv.reader(open(sys.argv[1])):
    rows.setdefault((pipe, mode), {})[rnd] = (float(rps), float(cpu))
print(f"{'SET':<6}{'':<6}{'ops/s':>12}{'cpu us':>10}{'on/off cpu':>12}")
for pipe in ("P1", "P16"):
    off = rows[(pipe, "off")]
    for mode in ("off", "on", "base"):
        got = rows.get((pipe, mode))
        if not got:
            continue
        ratio = statistics.median(got[r][1] / off[r][1] for r in got) if mode != "off" else 1.0
        print(f"{pipe:<6}{mode:<6}{statistics.median(v[0] for v in got.values()):>12,.0f}"
              f"{statistics.median(v[1] for v in got.values()):>10.2f}{ratio:>12.2f}")
PY
rm -f "$results"
