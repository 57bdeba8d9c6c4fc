#!/usr/bin/env bash
# rabbitmq.sh: a private RabbitMQ node for tests, benchmarks and demos.
#
#   scripts/rabbitmq.sh start DIR PORT [--federation] [--timeout S] [--address A]
#       Starts node geocache-PORT@localhost on 127.0.0.1:PORT, with everything
#       (data, logs, cookie, config) under DIR, and waits until it accepts AMQP
#       connections (default deadline 60 s). A node already running from DIR is
#       left alone. Starting again from the same DIR after `stop` or `kill` keeps
#       durable queues and persistent messages (it is a broker restart).
#       --federation enables rabbitmq_federation at boot (docs/replication.md).
#       --address A listens for AMQP on A instead of 127.0.0.1 (0.0.0.0: every
#       address) and lets guest log in from other hosts: only for a node inside
#       a network namespace of a test's own (tests/faults).
#   scripts/rabbitmq.sh wait DIR [--timeout S]
#       Waits until the node of DIR accepts AMQP connections.
#   scripts/rabbitmq.sh stop DIR
#       Stops the node (rabbitmqctl stop, then its private epmd). Safe when it
#       is already stopped or was never started.
#   scripts/rabbitmq.sh kill DIR
#       SIGKILLs the node's processes (its session), like a crash; its private
#       epmd stays for the next start. Safe when it is not running.
#   scripts/rabbitmq.sh ctl DIR ARGS...
#       Runs rabbitmqctl ARGS against the node (e.g. list_queues name messages).
#   scripts/rabbitmq.sh url DIR
#       Prints amqp://guest:guest@ADDRESS:PORT/ (ADDRESS 127.0.0.1 unless --address)
#
# Ports: AMQP PORT, Erlang distribution PORT+20000, epmd PORT+10000, unless
# RABBITMQ_DIST_PORT / ERL_EPMD_PORT are set. PORT must be at most 45000.
# Runs the real scripts under the rabbitmq_server lib dir, so the node runs as
# the caller (root here) instead of switching to the rabbitmq user.
set -euo pipefail

SBIN=${RABBITMQ_SBIN:-/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/sbin}

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }
usage() { sed -n '2,31p' "$0" >&2; exit 2; }

# port_open PORT [ADDRESS]: true if something accepts TCP connections on
# ADDRESS:PORT (default 127.0.0.1; 0.0.0.0 is reached through 127.0.0.1).
port_open() {
  local address=${2:-127.0.0.1}
  [[ $address == 0.0.0.0 ]] && address=127.0.0.1
  (exec 3<>"/dev/tcp/$address/$1") 2>/dev/null
}

# load_env DIR: reads the identity written by start; false if there is none.
load_env() {
  [[ -f "$1/broker.env" ]] || return 1
  # shellcheck disable=SC1091
  source "$1/broker.env"
  ADDRESS=${ADDRESS:-127.0.0.1}
  set_node_vars
}

# node_env CMD...: runs CMD in the environment of this node.
node_env() { env -u RABBITMQ_ALLOW_INPUT "${NODE_VARS[@]}" "$@"; }
set_node_vars() {
  NODE_VARS=(
    HOME="$DIR/home"
    RABBITMQ_NODENAME="$NODE"
    RABBITMQ_NODE_IP_ADDRESS="$ADDRESS"
    RABBITMQ_NODE_PORT="$PORT"
    RABBITMQ_DIST_PORT="$DIST_PORT"
    ERL_EPMD_PORT="$EPMD_PORT"
    RABBITMQ_MNESIA_BASE="$DIR/mnesia"
    RABBITMQ_LOG_BASE="$DIR/log"
    RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
    RABBITMQ_PID_FILE="$DIR/rabbitmq.pid"
    ERL_CRASH_DUMP="$DIR/log/erl_crash.dump"
  )
}

wait_up() {
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if port_open "$PORT" "$ADDRESS"; then return 0; fi
    if [[ -f "$DIR/launcher.pid" ]] && ! kill -0 "$(cat "$DIR/launcher.pid")" 2>/dev/null; then
      tail -n 30 "$DIR/log/console.log" >&2 || true
      die "node $NODE exited during start (logs in $DIR/log)"
    fi
    sleep 0.2
  done
  tail -n 30 "$DIR/log/console.log" >&2 || true
  die "node $NODE not accepting AMQP on $ADDRESS:$PORT after ${TIMEOUT}s (logs in $DIR/log)"
}

cmd_start() {
  [[ $# -ge 2 ]] || usage
  DIR=$1 PORT=$2
  shift 2
  local federation=0
  TIMEOUT=60
  ADDRESS=127.0.0.1
  while [[ $# -gt 0 ]]; do
    case $1 in
      --federation) federation=1 ;;
      --timeout) TIMEOUT=$2; shift ;;
      --address) ADDRESS=$2; shift ;;
      *) usage ;;
    esac
    shift
  done
  [[ $PORT =~ ^[0-9]+$ && $PORT -ge 1024 && $PORT -le 45000 ]] || die "PORT must be in [1024, 45000]"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  NODE="geocache-$PORT@localhost"
  DIST_PORT=${RABBITMQ_DIST_PORT:-$((PORT + 20000))}
  EPMD_PORT=${ERL_EPMD_PORT:-$((PORT + 10000))}

  if load_env "$DIR" && [[ -f "$DIR/launcher.pid" ]] && kill -0 "$(cat "$DIR/launcher.pid")" 2>/dev/null; then
    echo "rabbitmq.sh: $NODE already running from $DIR"
    wait_up
    return 0
  fi
  port_open "$PORT" "$ADDRESS" && die "port $PORT is already in use by something else"

  mkdir -p "$DIR/home" "$DIR/mnesia" "$DIR/log"
  cat >"$DIR/broker.env" <<EOF
DIR='$DIR'
PORT=$PORT
NODE='$NODE'
DIST_PORT=$DIST_PORT
EPMD_PORT=$EPMD_PORT
ADDRESS='$ADDRESS'
EOF
  # guest may log in from loopback only, unless the node listens elsewhere
  # (then it sits in a test's own network namespace).
  local loopback_users="loopback_users.guest = true"
  [[ $ADDRESS == 127.0.0.1 ]] || loopback_users="loopback_users = none"
  cat >"$DIR/rabbitmq.conf" <<EOF
# Private node for geocache tests and benchmarks (scripts/rabbitmq.sh).
listeners.tcp.default = $PORT
$loopback_users
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = info
EOF
  echo "[]." >"$DIR/advanced.config"
  if ((federation)); then
    echo "[rabbitmq_federation]." >"$DIR/enabled_plugins"
  else
    echo "[]." >"$DIR/enabled_plugins"
  fi
  # The cookie must be private to this node and shared by server and CLI.
  if [[ ! -f "$DIR/home/.erlang.cookie" ]]; then
    head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' >"$DIR/home/.erlang.cookie"
    chmod 400 "$DIR/home/.erlang.cookie"
  fi

  set_node_vars
  # In its own session (the launcher pid leads it), stdin closed, so it
  # survives the caller's shell and can be killed as a group if it hangs.
  setsid env -u RABBITMQ_ALLOW_INPUT "${NODE_VARS[@]}" "$SBIN/rabbitmq-server" </dev/null \
    >"$DIR/log/console.log" 2>&1 &
  echo $! >"$DIR/launcher.pid"
  wait_up
  echo "rabbitmq.sh: $NODE up on amqp://$ADDRESS:$PORT (dir $DIR)"
}

cmd_wait() {
  [[ $# -ge 1 ]] || usage
  DIR=$1
  shift
  TIMEOUT=60
  [[ ${1:-} == --timeout ]] && TIMEOUT=$2
  load_env "$DIR" || die "no node was started in $DIR"
  wait_up
}

cmd_stop() {
  [[ $# -ge 1 ]] || usage
  DIR=$1
  load_env "$DIR" || { echo "rabbitmq.sh: nothing started in $DIR"; return 0; }
  local pid=""
  [[ -f "$DIR/launcher.pid" ]] && pid=$(cat "$DIR/launcher.pid")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    node_env "$SBIN/rabbitmqctl" -n "$NODE" stop >/dev/null 2>&1 || true
    # The launcher leads its own session: wait for it, then make sure.
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "rabbitmq.sh: $NODE did not stop in 30 s; killing its session" >&2
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$DIR/launcher.pid"
  # The private epmd outlives the node; it is only ours on this port.
  ERL_EPMD_PORT=$EPMD_PORT epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
  echo "rabbitmq.sh: $NODE stopped"
}

cmd_kill() {
  [[ $# -ge 1 ]] || usage
  DIR=$1
  load_env "$DIR" || { echo "rabbitmq.sh: nothing started in $DIR"; return 0; }
  local pid=""
  [[ -f "$DIR/launcher.pid" ]] && pid=$(cat "$DIR/launcher.pid")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    # The launcher leads the node's session and process group (setsid).
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  fi
  rm -f "$DIR/launcher.pid"
  echo "rabbitmq.sh: $NODE killed"
}

cmd_ctl() {
  [[ $# -ge 1 ]] || usage
  DIR=$1
  shift
  load_env "$DIR" || die "no node was started in $DIR"
  node_env "$SBIN/rabbitmqctl" -n "$NODE" "$@"
}

cmd_url() {
  [[ $# -ge 1 ]] || usage
  DIR=$1
  load_env "$DIR" || die "no node was started in $DIR"
  echo "amqp://guest:guest@$ADDRESS:$PORT/"
}

[[ $# -ge 1 ]] || usage
command=$1
shift
case $command in
  start) cmd_start "$@" ;;
  wait) cmd_wait "$@" ;;
  stop) cmd_stop "$@" ;;
  kill) cmd_kill "$@" ;;
  ctl) cmd_ctl "$@" ;;
  url) cmd_url "$@" ;;
  *) usage ;;
esac
