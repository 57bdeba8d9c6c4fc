#!/usr/bin/env bash
# big_zset.sh: a few members' ZADD, ZSCORE, ZRANK and ZRANGE in a big sorted
# set, geocached against Debian's redis-server on this machine (issue 10: a
# 1M-member sorted set must answer them in microseconds).
#
#   bench/server/big_zset.sh [MEMBERS...]
#
# For each size (default 1000 and 1000000 members) both servers get one
# sorted set of that many members ("m:" and 12 digits, random scores below
# the member count; ZADDs of 1000 members piped by redis-cli --pipe), then
# redis-benchmark times, against it (-c 1 -P 1, random members and scores):
#   ZADD   an existing member's new score      ZADD bigzset S m:R
#   ZSCORE one member                          ZSCORE bigzset m:R
#   ZRANK  one member                          ZRANK bigzset m:R
#   ZRANGE 3 members from a random score       ZRANGEBYSCORE bigzset S +inf LIMIT 0 3
#   ZRANGE 3 members at the middle rank        ZRANGE bigzset N/2 N/2+2 WITHSCORES
# Prints ops/s and p50/p99 latency per server, the geocached/redis ratio of
# ops/s, load time and RSS after the load. Builds a Release tree in
# build-server-rel; both servers without persistence or maxmemory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-server-rel
N_OPS=${N_OPS:-50000}
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1000 1000000)

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEOCACHE_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD" -j2 geocached >/dev/null
source "$ROOT/bench/server/servers.sh"

# RESP for ZADDs of every member, 1000 a command, scores from a fixed seed.
load_commands() {  # members
  python3 - "$1" <<'PY'
import random, sys
n = int(sys.argv[1]); rng = random.Random(7); out = sys.stdout.buffer
for base in range(0, n, 1000):
    end = min(n, base + 1000)
    parts = [b"ZADD", b"bigzset"]
    for i in range(base, end):
        parts += [str(rng.randrange(n)).encode(), b"m:%012d" % i]
    out.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
PY
}

RESULTS=$(mktemp)
for members in "${SIZES[@]}"; do
  CMDS=$(mktemp)
  load_commands "$members" >"$CMDS"
  mid=$((members / 2))
  for server in redis geocached; do
    P=$(free_port)
    if [[ $server == redis ]]; then start_redis "$P" 0; PID=$REDIS_PID; else start_geocached "$P" 0; PID=$GEO_PID; fi
    START=$(date +%s.%N)
    redis-cli -p "$P" --pipe <"$CMDS" >/dev/null
    LOAD_S=$(python3 -c "print(f'{$(date +%s.%N) - $START:.2f}')")
    [[ $(redis-cli -p "$P" zcard bigzset) == "$members" ]] || { echo "$server: bigzset has not $members members" >&2; exit 1; }
    RSS_MB=$(( $(rss_kb "$PID") / 1024 ))
    while IFS='|' read -r name cmd; do
      # shellcheck disable=SC2086 # the command's words
      out=$(redis-benchmark -p "$P" -c 1 -P 1 -n "$N_OPS" -r "$members" --csv $cmd 2>/dev/null | tail -n 1)
      echo "$members,$server,$name,$LOAD_S,$RSS_MB,$(echo "$out" | tr -d '"' | cut -d, -f2,5,7)" >>"$RESULTS"
    done <<EOF2
ZADD|ZADD bigzset __rand_int__ m:__rand_int__
ZSCORE|ZSCORE bigzset m:__rand_int__
ZRANK|ZRANK bigzset m:__rand_int__
ZRANGEBYSCORE|ZRANGEBYSCORE bigzset __rand_int__ +inf LIMIT 0 3
ZRANGE-mid|ZRANGE bigzset $mid $((mid + 2)) WITHSCORES
EOF2
    stop "$PID"
  done
  rm -f "$CMDS"
done

echo "== a few members of a big sorted set: redis-benchmark -c 1 -P 1 -n $N_OPS (ops/s, ms)"
python3 - "$RESULTS" <<'PY'
import csv, sys
rows = {(m, s, op): (load, rss, float(rps), float(p50), float(p99)) for m, s, op, load, rss, rps, p50, p99 in csv.reader(open(sys.argv[1]))}
print(f"{'members':>9} {'op':<14}{'redis ops/s':>12}{'geo ops/s':>11}{'ratio':>7}{'redis p50':>11}{'geo p50':>9}{'redis p99':>11}{'geo p99':>9}{'load s r/g':>12}{'RSS MB r/g':>12}")
order = ["ZADD", "ZSCORE", "ZRANK", "ZRANGEBYSCORE", "ZRANGE-mid"]
for m, op in sorted({(m, op) for m, _, op in rows}, key=lambda k: (int(k[0]), order.index(k[1]))):
    r, g = rows[(m, "redis", op)], rows[(m, "geocached", op)]
    print(f"{int(m):>9,} {op:<14}{r[2]:>12,.0f}{g[2]:>11,.0f}{g[2]/r[2]:>7.2f}{r[3]:>11.3f}{g[3]:>9.3f}{r[4]:>11.3f}{g[4]:>9.3f}{r[0]+'/'+g[0]:>12}{r[1]+'/'+g[1]:>12}")
PY
rm -f "$RESULTS"
