#!/usr/bin/env bash
# Starts geocached on a free loopback port, runs a client library's script
# against it (GEOCACHE_PORT tells the script where), stops it. The script's
# exit status is the test's; 77 means skipped (ctest SKIP_RETURN_CODE).
#   run_with_geocached.sh GEOCACHED SCRIPT-COMMAND...
set -uo pipefail
geocached=$1; shift
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$geocached" --bind 127.0.0.1 --port "$port" --threads 2 >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"; }
trap cleanup EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done
if ! redis-cli -p "$port" PING >/dev/null 2>&1; then
  echo "geocached did not start:"; cat "$log"; exit 1
fi
GEOCACHE_PORT=$port "$@"
