# servers.sh: starting and stopping the two servers the server benchmarks
# compare. Sourced; needs BUILD (a tree with apps/geocached built).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 500); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start_redis() {  # port maxmemory
  redis-server --port "$1" --save '' --appendonly no --maxmemory "$2" --maxmemory-policy allkeys-lru \
    --daemonize no --loglevel warning >/dev/null 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  wait_port "$1"
}
start_geocached() {  # port maxmemory
  # GEO_ARGS: extra flags, e.g. GEO_ARGS="--threads 1".
  "$BUILD/apps/geocached" --port "$1" --maxmemory "$2" --loglevel warning ${GEO_ARGS:-} >/dev/null 2>&1 &
  GEO_PID=$!
  PIDS+=("$GEO_PID")
  wait_port "$1"
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# User + system clock ticks a process has used (fields 14 and 15 of
# /proc/PID/stat; the name, field 2, holds no space for these servers).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The system (kernel) part alone.
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
# µs of CPU per request between two cpu_ticks readings over n requests.
cpu_us_per() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", (b - a) * 1e6 / hz / n}'; }

# A private RabbitMQ broker for benchmarks that replicate: sets $broker (its
# directory) and $url. stop_broker stops it; call it on exit.
start_broker() {
  broker=$(mktemp -d /tmp/geocache-bench-broker.XXXXXX)
  bash scripts/rabbitmq.sh start "$broker" $((11000 + RANDOM % 1000)) >/dev/null
  url=$(bash scripts/rabbitmq.sh url "$broker")
}
stop_broker() { bash scripts/rabbitmq.sh stop "$broker" >/dev/null 2>&1 || true; rm -rf "$broker"; }
