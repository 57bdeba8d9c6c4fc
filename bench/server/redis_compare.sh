#!/usr/bin/env bash
# redis_compare.sh: geocached against Debian's redis-server on this machine.
#
#   bench/server/redis_compare.sh [ROUNDS]
#
# 1. Throughput, latency and CPU: redis-benchmark (SET, GET with -d 32 -r
#    1000000 -c 50, at -P 1 and -P 16, and PING_MBULK at -P 16), the two
#    servers alternately, ROUNDS rounds (default 3); prints median ops/s, p50,
#    p99, the server's CPU time per request, and the ratios geocached/redis.
# 2. Memory: RSS per key after loading 1M keys (16-byte keys, 32-byte values).
# 3. Hit ratio: one Zipf(0.99) cache-aside trace replayed against both at the
#    same maxmemory (Redis with allkeys-lru).
#
# Builds a Release tree in build-server-rel. Both servers run with the same
# maxmemory and no persistence.
set -euo pipefail

ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-server-rel
MAXMEM_BENCH=${MAXMEM_BENCH:-1gb}
MAXMEM_ZIPF=${MAXMEM_ZIPF:-32mb}
N_P1=${N_P1:-300000}
N_P16=${N_P16:-3000000}

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEOCACHE_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD" -j2 geocached zipf_replay load_keys >/dev/null

source "$ROOT/bench/server/servers.sh"

# ---------------------------------------------------------------- throughput
RP=$(free_port); GP=$(free_port)
start_redis "$RP" "$MAXMEM_BENCH"
start_geocached "$GP" "$MAXMEM_BENCH"

RESULTS=$(mktemp)
run_bench() {  # server port pid test pipeline n
  local out before after
  before=$(cpu_ticks "$3")
  out=$(redis-benchmark -p "$2" -t "$4" -P "$5" -n "$6" -d 32 -r 1000000 -c 50 --csv 2>/dev/null | tail -n 1)
  after=$(cpu_ticks "$3")
  # "test","rps","avg","min","p50","p95","p99","max"; then the server's CPU
  # (user + system) per request, µs.
  echo "$1,$4,P$5,$(echo "$out" | tr -d '"' | cut -d, -f2,5,7),$(cpu_us_per "$before" "$after" "$6")" >>"$RESULTS"
}
for round in $(seq 1 "$ROUNDS"); do
  for spec in "set 1 $N_P1" "get 1 $N_P1" "set 16 $N_P16" "get 16 $N_P16" "ping_mbulk 16 $N_P16"; do
    set -- $spec
    # Alternate which server goes first, so neither always gets a warm machine.
    if (( round % 2 )); then
      run_bench redis "$RP" "$REDIS_PID" "$1" "$2" "$3"; run_bench geocached "$GP" "$GEO_PID" "$1" "$2" "$3"
    else
      run_bench geocached "$GP" "$GEO_PID" "$1" "$2" "$3"; run_bench redis "$RP" "$REDIS_PID" "$1" "$2" "$3"
    fi
  done
done
stop "$REDIS_PID"; stop "$GEO_PID"

echo
echo "== throughput: median of $ROUNDS rounds, -c 50 -d 32 -r 1000000 (ops/s, ms)"
python3 - "$RESULTS" <<'PY'
import csv, statistics, sys
rows = {}
for server, test, pipe, rps, p50, p99, cpu in csv.reader(open(sys.argv[1])):
    rows.setdefault((test, pipe, server), []).append((float(rps), float(p50), float(p99), float(cpu)))
def med(vals, i): return statistics.median(v[i] for v in vals)
print(f"{'test':<12}{'pipe':>5}{'redis ops/s':>14}{'geo ops/s':>14}{'ratio':>8}{'redis p50':>11}{'geo p50':>9}"
      f"{'redis p99':>11}{'geo p99':>9}{'redis cpu':>11}{'geo cpu':>9}{'ratio':>7}")
for test, pipe in sorted({(t, p) for t, p, _ in rows}, key=lambda k: (int(k[1][1:]), k[0])):
    r, g = rows[(test, pipe, "redis")], rows[(test, pipe, "geocached")]
    print(f"{test.upper():<12}{pipe:>5}{med(r,0):>14,.0f}{med(g,0):>14,.0f}{med(g,0)/med(r,0):>8.2f}"
          f"{med(r,1):>11.3f}{med(g,1):>9.3f}{med(r,2):>11.3f}{med(g,2):>9.3f}"
          f"{med(r,3):>11.2f}{med(g,3):>9.2f}{med(g,3)/med(r,3):>7.2f}")
print("cpu: the server process's user+system time per request, µs (/proc/PID/stat)")
PY
rm -f "$RESULTS"

# ---------------------------------------------------------------- memory
echo
echo "== memory: 1,000,000 keys (16-byte keys, 32-byte values), no maxmemory"
for server in redis geocached; do
  P=$(free_port)
  if [[ $server == redis ]]; then start_redis "$P" 0; PID=$REDIS_PID; else start_geocached "$P" 0; PID=$GEO_PID; fi
  BEFORE=$(rss_kb "$PID")
  "$BUILD/bench/server/load_keys" "$P" 1000000
  sleep 0.5
  AFTER=$(rss_kb "$PID")
  KEYS=$(redis-cli -p "$P" dbsize)
  python3 -c "print(f'{\"$server\":<10} keys={$KEYS:,} rss_before={$BEFORE/1024:.1f}MiB rss_after={$AFTER/1024:.1f}MiB bytes_per_key={($AFTER-$BEFORE)*1024/$KEYS:.1f}')"
  stop "$PID"
done

# ---------------------------------------------------------------- hit ratio
echo
echo "== hit ratio: Zipf(0.99) cache-aside trace, 1M keys, 3M requests, maxmemory $MAXMEM_ZIPF"
for server in redis geocached; do
  P=$(free_port)
  if [[ $server == redis ]]; then start_redis "$P" "$MAXMEM_ZIPF"; PID=$REDIS_PID; else start_geocached "$P" "$MAXMEM_ZIPF"; PID=$GEO_PID; fi
  printf '%-10s ' "$server"
  "$BUILD/bench/server/zipf_replay" "$P" --keys 1000000 --ops 3000000 --theta 0.99 --seed 7 | tr '\n' ' '
  echo "keys_held=$(redis-cli -p "$P" dbsize)"
  stop "$PID"
done
