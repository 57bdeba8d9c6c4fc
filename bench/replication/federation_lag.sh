#!/usr/bin/env bash
# The extra lag of a federation hop: replication lag of a write from east to
# west through one shared broker, and through two brokers (one per region)
# joined by rabbitmq_federation, side by side in one run.
#
#   bench/replication/federation_lag.sh [BUILD_DIR] [ROUNDS]
#
# Both layouts are made by scripts/federation.sh with the same network
# namespaces and links: "shared" is one broker in the hub namespace, which
# east and west reach over their links; "federated" is a broker in east's
# namespace and one in west's, federated over those links. replication_bench
# (ours only, no baseline) runs in the hub namespace: east (and north, on
# east's broker) publish to east's broker, west consumes from west's. Each
# round runs the shared layout then the federated one, at each rate of RATES
# (default 1000,10000 events/s) for BENCH_SECONDS (default 10) each, so both see the
# same background load on this machine; the figures are p50/p99 of the lag of
# every event (write on east to applied on west), transient messages, default
# batching (linger 1 ms) unless ARGS (extra replication_bench flags) says else.
# Needs root (ip netns).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
ROUNDS=${2:-3}
RATES=${RATES:-1000,10000}
SECONDS_PER_RATE=${BENCH_SECONDS:-10}
BIN=$BUILD/bench/replication/replication_bench
[[ -x $BIN ]] || { echo "federation_lag.sh: $BIN not built (ninja -C $BUILD replication_bench)" >&2; exit 1; }
FED=$ROOT/scripts/federation.sh
SHARED_DIR=$(mktemp -d /tmp/geocache-bench-shared.XXXXXX)
FEDERATED_DIR=$(mktemp -d /tmp/geocache-bench-federated.XXXXXX)
cleanup() {
  bash "$FED" stop "$SHARED_DIR" >/dev/null 2>&1 || true
  bash "$FED" stop "$FEDERATED_DIR" >/dev/null 2>&1 || true
  rm -rf "$SHARED_DIR" "$FEDERATED_DIR"
}
trap cleanup EXIT

bash "$FED" start "$SHARED_DIR" east west --shared >/dev/null
bash "$FED" start "$FEDERATED_DIR" east west >/dev/null
# From the hub, each region's broker is at its address on the bridge.
SHARED_URL=$(bash "$FED" url "$SHARED_DIR" east hub)
EAST_URL=$(bash "$FED" url "$FEDERATED_DIR" east hub)
WEST_URL=$(bash "$FED" url "$FEDERATED_DIR" west hub)

bench() {  # LAYOUT: prints "RATE p50 p99 lost" per rate
  local dir args
  if [[ $1 == shared ]]; then
    dir=$SHARED_DIR args=(--url "$SHARED_URL")
  else
    dir=$FEDERATED_DIR args=(--url "$EAST_URL" --url-of "west=$WEST_URL")
  fi
  # shellcheck disable=SC2086
  bash "$FED" exec "$dir" hub "$BIN" "${args[@]}" --exchange geocache.replication --no-baseline --burst 0 \
    --rates "$RATES" --seconds "$SECONDS_PER_RATE" ${ARGS:-} |
    awk '$2 == "geocache" { print $1, $5, $6, $8 }'
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "replication lag east -> west, ms; each row one run of ${SECONDS_PER_RATE} s at the offered rate"
printf "%-6s %-10s %-10s %9s %9s %6s\n" round layout offered/s p50_ms p99_ms lost
declare -A P50 P99
for round in $(seq "$ROUNDS"); do
  for layout in shared federated; do
    while read -r rate p50 p99 lost; do
      printf "%-6s %-10s %-10s %9s %9s %6s\n" "$round" "$layout" "$rate" "$p50" "$p99" "$lost"
      P50[$layout/$rate]+="$p50 " P99[$layout/$rate]+="$p99 "
    done < <(bench "$layout")
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "median over rounds (p50 / p99 ms), and the hop's extra lag (federated - shared):"
for rate in ${RATES//,/ }; do
  s50=$(median <<<"${P50[shared/$rate]}") s99=$(median <<<"${P99[shared/$rate]}")
  f50=$(median <<<"${P50[federated/$rate]}") f99=$(median <<<"${P99[federated/$rate]}")
  printf "%6s/s  shared %7s / %-7s  federated %7s / %-7s  extra %+.2f / %+.2f\n" "$rate" "$s50" "$s99" "$f50" "$f99" \
    "$(echo "$f50 - $s50" | bc)" "$(echo "$f99 - $s99" | bc)"
done
