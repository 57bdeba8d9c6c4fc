#!/usr/bin/env bash
# redis_compare.sh: geocached against Debian's redis-server on this machine.
#
#   bench/server/redis_compare.sh [ROUNDS]
#
# 1. Throughput, latency and CPU: redis-benchmark (SET, GET with -d 32 -r
#    1000000 -c 50, at -P 1 and -P 16, and PING_MBULK at -P 16) against
#    redis-server and geocached on each event-loop engine (--io-engine epoll,
#    uring), in turn, ROUNDS rounds (default 3; the order rotates each
#    round); prints median ops/s, p50, p99, the server's CPU time per
#    request and its kernel part, and the ratios geocached/redis.
#    PARTS=throughput stops there.
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
RP=$(free_port); EP=$(free_port); UP=$(free_port)
start_redis "$RP" "$MAXMEM_BENCH"
GEO_ARGS="${GEO_ARGS:-} --io-engine epoll" start_geocached "$EP" "$MAXMEM_BENCH"; EPOLL_PID=$GEO_PID
GEO_ARGS="${GEO_ARGS:-} --io-engine uring" start_geocached "$UP" "$MAXMEM_BENCH"; URING_PID=$GEO_PID
[[ $(redis-cli -p "$UP" info server | tr -d '\r' | grep io_engine:) == io_engine:uring ]] ||
  echo "warning: io_uring refused here, 'uring' below runs epoll" >&2
SERVERS=("redis $RP $REDIS_PID" "epoll $EP $EPOLL_PID" "uring $UP $URING_PID")

RESULTS=$(mktemp)
run_bench() {  # server port pid test pipeline n
  local out before after sys_before sys_after
  before=$(cpu_ticks "$3")
  sys_before=$(sys_ticks "$3")
  out=$(redis-benchmark -p "$2" -t "$4" -P "$5" -n "$6" -d 32 -r 1000000 -c 50 --csv 2>/dev/null | tail -n 1)
  after=$(cpu_ticks "$3")
  sys_after=$(sys_ticks "$3")
  # "test","rps","avg","min","p50","p95","p99","max"; then the server's CPU
  # (user + system) per request, µs, and its system part.
  echo "$1,$4,P$5,$(echo "$out" | tr -d '"' | cut -d, -f2,5,7),$(cpu_us_per "$before" "$after" "$6")"\
",$(cpu_us_per "$sys_before" "$sys_after" "$6")" >>"$RESULTS"
}
for round in $(seq 1 "$ROUNDS"); do
  for spec in "set 1 $N_P1" "get 1 $N_P1" "set 16 $N_P16" "get 16 $N_P16" "ping_mbulk 16 $N_P16"; do
    # Rotate which server goes first, so none always gets a warm machine.
    for i in 0 1 2; do
      server=(${SERVERS[$(( (i + round) % 3 ))]})
      run_bench "${server[@]}" $spec
    done
  done
done
stop "$REDIS_PID"; stop "$EPOLL_PID"; stop "$URING_PID"

echo
echo "== throughput: median of $ROUNDS rounds, -c 50 -d 32 -r 1000000 (ops/s, ms)"
python3 - "$RESULTS" <<'PY'
import csv, statistics, sys
rows = {}
for server, test, pipe, rps, p50, p99, cpu, sys_cpu in csv.reader(open(sys.argv[1])):
    rows.setdefault((test, pipe, server), []).append((float(rps), float(p50), float(p99), float(cpu),
                                                      float(sys_cpu)))
def med(vals, i): return statistics.median(v[i] for v in vals)
tests = sorted({(t, p) for t, p, _ in rows}, key=lambda k: (int(k[1][1:]), k[0]))
for title, i, fmt in (("ops/s", 0, ",.0f"), ("p50 ms", 1, ".3f"), ("p99 ms", 2, ".3f"),
                      ("cpu µs/request", 3, ".2f"), ("of which kernel", 4, ".2f")):
    print(f"-- {title}")
    print(f"{'test':<12}{'pipe':>5}{'redis':>12}{'epoll':>12}{'uring':>12}{'epoll/redis':>13}{'uring/redis':>13}")
    for test, pipe in tests:
        r, e, u = (med(rows[(test, pipe, s)], i) for s in ("redis", "epoll", "uring"))
        print(f"{test.upper():<12}{pipe:>5}{r:>12{fmt}}{e:>12{fmt}}{u:>12{fmt}}{e/r:>13.2f}{u/r:>13.2f}")
print("epoll, uring: geocached --io-engine epoll / uring. cpu: the server process's user+system time per "
      "request, µs (/proc/PID/stat); kernel: its system time alone")
# The kernel's part bounds what work in the server's own code can save: a
# server whose kernel time per request alone exceeds a share of the peer's
# whole CPU cannot come under that share by changing its own code.
print("-- kernel time of geocached (uring) per request / Redis' whole CPU per request")
for test, pipe in tests:
    k, r = med(rows[(test, pipe, "uring")], 4), med(rows[(test, pipe, "redis")], 3)
    print(f"{test.upper():<12}{pipe:>5}{k / r:>13.2f}")
PY
rm -f "$RESULTS"
[[ ${PARTS:-all} == throughput ]] && exit 0

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
