#!/usr/bin/env bash
# big_hash.sh: one field's HSET and HGET in a big hash, geocached against
# Debian's redis-server on this machine (issue 8: a field write or read must
# cost O(1) in the hash's size).
#
#   bench/server/big_hash.sh [FIELDS...]
#
# For each size (default 1000 and 1000000 fields) both servers get one hash
# of that many fields (16-byte names, 32-byte values, pipelined HSETs), then
# redis-benchmark times HSET of an existing field and HGET of one (-c 1 -P 1,
# random fields) against it. Prints ops/s and p50/p99 latency per server and
# the geocached/redis ratio of ops/s. Builds a Release tree in
# build-server-rel; both servers without persistence or maxmemory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build-server-rel
N_OPS=${N_OPS:-50000}
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1000 1000000)

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEOCACHE_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD" -j2 geocached load_keys >/dev/null
source "$ROOT/bench/server/servers.sh"

RESULTS=$(mktemp)
for fields in "${SIZES[@]}"; do
  for server in redis geocached; do
    P=$(free_port)
    if [[ $server == redis ]]; then start_redis "$P" 0; PID=$REDIS_PID; else start_geocached "$P" 0; PID=$GEO_PID; fi
    START=$(date +%s.%N)
    "$BUILD/bench/server/load_keys" "$P" "$fields" bighash
    LOAD_S=$(python3 -c "print(f'{$(date +%s.%N) - $START:.2f}')")
    [[ $(redis-cli -p "$P" hlen bighash) == "$fields" ]] || { echo "$server: bighash has not $fields fields" >&2; exit 1; }
    # Field names as load_keys writes them: key:%012d, which redis-benchmark's
    # 12-digit __rand_int__ matches (key:00000__rand_int__ named 17 digits: no such field).
    for op in "HSET bighash key:__rand_int__ w" "HGET bighash key:__rand_int__"; do
      out=$(redis-benchmark -p "$P" -c 1 -P 1 -n "$N_OPS" -r "$fields" --csv $op 2>/dev/null | tail -n 1)
      echo "$fields,$server,${op%% *},$LOAD_S,$(echo "$out" | tr -d '"' | cut -d, -f2,5,7)" >>"$RESULTS"
    done
    stop "$PID"
  done
done

echo "== one field of a big hash: redis-benchmark -c 1 -P 1 -n $N_OPS (ops/s, ms)"
python3 - "$RESULTS" <<'PY'
import csv, sys
rows = {(f, s, op): (load, float(rps), float(p50), float(p99)) for f, s, op, load, rps, p50, p99 in csv.reader(open(sys.argv[1]))}
print(f"{'fields':>9} {'op':<5}{'redis ops/s':>13}{'geo ops/s':>11}{'ratio':>7}{'redis p50':>11}{'geo p50':>9}{'redis p99':>11}{'geo p99':>9}{'load s r/g':>13}")
for f, op in sorted({(f, op) for f, _, op in rows}, key=lambda k: (int(k[0]), k[1])):
    r, g = rows[(f, "redis", op)], rows[(f, "geocached", op)]
    print(f"{int(f):>9,} {op:<5}{r[1]:>13,.0f}{g[1]:>11,.0f}{g[1]/r[1]:>7.2f}{r[2]:>11.3f}{g[2]:>9.3f}{r[3]:>11.3f}{g[3]:>9.3f}{r[0]+'/'+g[0]:>13}")
PY
rm -f "$RESULTS"
