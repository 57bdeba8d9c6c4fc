#!/usr/bin/env bash
# big_list.sh: writes and reads of a big list, geocached against Debian's
# redis-server on this machine. A geocached list write copies the list once
# in memory (docs/design.md, "Lists": O(n) bytes, where Redis' quicklist
# pushes in O(1)); this shows what that costs as the list grows.
#
#   bench/server/big_list.sh [ELEMENTS...]
#
# For each size (default 1000 and 10000 elements of 13 bytes, "e:" and 11
# digits; RPUSHes of 1000 piped by redis-cli --pipe) both servers get one
# list, then redis-benchmark times against it (-c 1 -P 1):
#   LPUSH   one element at the head            LPUSH biglist x
#   RPOP    one element from the tail          RPOP biglist   (back to the size)
#   LINDEX  the middle element                 LINDEX biglist N/2
#   LRANGE  the first 10 elements              LRANGE biglist 0 9
#   LSET    the middle element                 LSET biglist N/2 y
# Prints ops/s and p50/p99 latency per server and the geocached/redis ratio
# of ops/s. Builds a Release tree in build-server-rel (BUILD=dir to use
# another tree's geocached); both servers without persistence or maxmemory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-server-rel}
N_OPS=${N_OPS:-20000}
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1000 10000)

if [[ $BUILD == "$ROOT/build-server-rel" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGEOCACHE_BUILD_TESTS=OFF >/dev/null
  ninja -C "$BUILD" -j2 geocached >/dev/null
fi
source "$ROOT/bench/server/servers.sh"

load_commands() {  # elements
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1]); out = sys.stdout.buffer
for base in range(0, n, 1000):
    parts = [b"RPUSH", b"biglist"] + [b"e:%011d" % i for i in range(base, min(n, base + 1000))]
    out.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
PY
}

RESULTS=$(mktemp)
for elements in "${SIZES[@]}"; do
  CMDS=$(mktemp)
  load_commands "$elements" >"$CMDS"
  mid=$((elements / 2))
  for server in redis geocached; do
    P=$(free_port)
    if [[ $server == redis ]]; then start_redis "$P" 0; PID=$REDIS_PID; else start_geocached "$P" 0; PID=$GEO_PID; fi
    redis-cli -p "$P" --pipe <"$CMDS" >/dev/null
    [[ $(redis-cli -p "$P" llen biglist) == "$elements" ]] || { echo "$server: biglist has not $elements elements" >&2; exit 1; }
    while IFS='|' read -r name cmd; do
      # shellcheck disable=SC2086 # the command's words
      out=$(redis-benchmark -p "$P" -c 1 -P 1 -n "$N_OPS" --csv $cmd 2>/dev/null | tail -n 1)
      echo "$elements,$server,$name,$(echo "$out" | tr -d '"' | cut -d, -f2,5,7)" >>"$RESULTS"
    done <<EOF2
LPUSH|LPUSH biglist x
RPOP|RPOP biglist
LINDEX|LINDEX biglist $mid
LRANGE-10|LRANGE biglist 0 9
LSET|LSET biglist $mid y
EOF2
    stop "$PID"
  done
  rm -f "$CMDS"
done

echo "== a big list: redis-benchmark -c 1 -P 1 -n $N_OPS (ops/s, ms)"
python3 - "$RESULTS" <<'PY'
import csv, sys
rows = {(n, s, op): (float(rps), float(p50), float(p99)) for n, s, op, rps, p50, p99 in csv.reader(open(sys.argv[1]))}
print(f"{'elements':>9} {'op':<10}{'redis ops/s':>12}{'geo ops/s':>11}{'ratio':>7}{'redis p50':>11}{'geo p50':>9}{'redis p99':>11}{'geo p99':>9}")
order = ["LPUSH", "RPOP", "LINDEX", "LRANGE-10", "LSET"]
for n, op in sorted({(n, op) for n, _, op in rows}, key=lambda k: (int(k[0]), order.index(k[1]))):
    r, g = rows[(n, "redis", op)], rows[(n, "geocached", op)]
    print(f"{int(n):>9,} {op:<10}{r[0]:>12,.0f}{g[0]:>11,.0f}{g[0]/r[0]:>7.2f}{r[1]:>11.3f}{g[1]:>9.3f}{r[2]:>11.3f}{g[2]:>9.3f}")
PY
rm -f "$RESULTS"
