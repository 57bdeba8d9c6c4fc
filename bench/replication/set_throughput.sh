#!/usr/bin/env bash
# SET throughput of one geocached node with replication on and off.
#
#   bench/replication/set_throughput.sh [BUILD_DIR] [ROUNDS]
#
# "on": three geocached nodes (regions a, b, c) replicating through a private
# RabbitMQ broker; redis-benchmark writes to node a while b and c apply what
# it replicates. "queued": node a replicating, b and c down (their durable
# queues, declared when they last ran, hold the events): the origin's and the
# broker's share without the peers' apply work on the same cores. "off": one
# geocached node alone (a one-region deployment does no replication work). Same redis-benchmark run for both (SET, -d 32
# -r 1000000 -c 50, at -P 1 and -P 16), alternated ROUNDS times (default 3);
# prints median ops/s and the ratio on/off. Everything shares this machine's
# cores, the broker and the two peers included.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
ROUNDS=${2:-3}
BIN=$BUILD/apps/geocached
[[ -x $BIN ]] || { echo "set_throughput.sh: $BIN not built" >&2; exit 1; }
PORT=${PORT:-26772}
DIR=$(mktemp -d /tmp/geocache-bench-broker.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/scripts/rabbitmq.sh" stop "$DIR" >/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"$ROOT/scripts/rabbitmq.sh" start "$DIR" "$PORT" >/dev/null
URL=$("$ROOT/scripts/rabbitmq.sh" url "$DIR")

wait_port() { for _ in $(seq 500); do redis-cli -p "$1" PING >/dev/null 2>&1 && return; sleep 0.02; done; exit 1; }
start() {  # port args...: starts geocached, waits until it answers
  local port=$1; shift
  "$BIN" --port "$port" --loglevel warning "$@" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  LAST_PID=$!
}
bench() {  # port pipeline -> ops/s
  redis-benchmark -p "$1" -t set -P "$2" -n "$3" -d 32 -r 1000000 -c 50 --csv 2>/dev/null | tail -n 1 |
    awk -F'"' '{print $4}'
}

declare -A results
for round in $(seq "$ROUNDS"); do
  for mode in off on queued; do
    if [[ $mode == off ]]; then
      start 26380; pids=($LAST_PID)
    elif [[ $mode == queued ]]; then
      start 26381 --region a --regions a,b,c --amqp-url "$URL" \
        --amqp-exchange "bench.q$round" --amqp-queue-prefix "bench.q$round."; pids=($LAST_PID)
      for r in b c; do  # declare their queues, then leave them down
        start 26382 --region $r --regions a,b,c --amqp-url "$URL" \
          --amqp-exchange "bench.q$round" --amqp-queue-prefix "bench.q$round."
        kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
      done
    else
      start 26381 --region a --regions a,b,c --amqp-url "$URL"; pids=($LAST_PID)
      start 26382 --region b --regions a,b,c --amqp-url "$URL"; pids+=($LAST_PID)
      start 26383 --region c --regions a,b,c --amqp-url "$URL"; pids+=($LAST_PID)
    fi
    port=$([[ $mode == off ]] && echo 26380 || echo 26381)
    results[$mode,1]+="$(bench "$port" 1 200000) "
    results[$mode,16]+="$(bench "$port" 16 2000000) "
    for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== SET throughput: replication on (3 nodes + broker), queued (peers down), off (1 node); median of $ROUNDS"
printf "%-6s %12s %12s %8s %12s %8s\n" pipe "off ops/s" "on ops/s" "on/off" "queued" "q/off"
for p in 1 16; do
  off=$(echo "${results[off,$p]}" | median)
  on=$(echo "${results[on,$p]}" | median)
  q=$(echo "${results[queued,$p]}" | median)
  printf "P%-5s %12.0f %12.0f %8.2f %12.0f %8.2f\n" "$p" "$off" "$on" "$(echo "$on / $off" | bc -l)" "$q" \
    "$(echo "$q / $off" | bc -l)"
done
