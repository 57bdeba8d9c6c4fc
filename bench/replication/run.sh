#!/usr/bin/env bash
# Replication benchmark: starts a private RabbitMQ node, runs replication_bench
# (ours against a raw rabbitmq-c baseline, same broker, same batching) with
# transient and then persistent messages, and stops the node.
#
#   bench/replication/run.sh [BUILD_DIR] [-- extra replication_bench args]
#
# BUILD_DIR defaults to build/ (it must hold bench/replication/replication_bench;
# `ninja -C BUILD_DIR replication_bench`). PORT (default 26672) picks the node's
# AMQP port; the node also uses PORT+10000 and PORT+20000.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
[[ $# -gt 0 ]] && shift
[[ ${1:-} == -- ]] && shift
BIN=$BUILD/bench/replication/replication_bench
[[ -x $BIN ]] || { echo "run.sh: $BIN not built (ninja -C $BUILD replication_bench)" >&2; exit 1; }
PORT=${PORT:-26672}
DIR=$(mktemp -d /tmp/geocache-bench-broker.XXXXXX)
cleanup() { "$ROOT/scripts/rabbitmq.sh" stop "$DIR" >/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
"$ROOT/scripts/rabbitmq.sh" start "$DIR" "$PORT"
URL="amqp://guest:guest@127.0.0.1:$PORT/"
echo "machine: $(nproc) cores, $(uname -r); broker: RabbitMQ 3.10.8 on 127.0.0.1:$PORT"
echo "ours/baseline: delivered/s below 1 and lag above 1 mean ours is slower"
echo
"$BIN" --url "$URL" "$@"
echo
"$BIN" --url "$URL" --persistent "$@"
