#!/usr/bin/env bash
# federation.sh: one RabbitMQ broker per region, joined by rabbitmq_federation,
# each in a network namespace of its own so that its links can be cut.
#
#   scripts/federation.sh start DIR REGION... [--shared] [--port P] [--exchange NAME] [--exchanges REGEX]
#                                [--timeout S]
#       Creates a hub namespace holding a bridge (10.98.0.1/24) and one namespace
#       per region (eth0 10.98.0.10, .11, ... on the bridge, and lo), then starts a
#       broker in every region's namespace, listening on PORT (default 5672) of
#       every address there, and federates them (`brokers` below). A node of a
#       region runs in its region's namespace (`exec`) and reaches its broker on
#       127.0.0.1 (`url`). --shared starts one broker in the hub instead, which
#       every region reaches over its link: the single-broker layout, for side by
#       side comparisons (bench/replication/federation_lag.sh).
#   scripts/federation.sh brokers DIR REGION=NETNS=ADDRESS... [--port P] [--exchange NAME] [--timeout S]
#       The broker part of `start`, in namespaces made by someone else
#       (tests/faults): starts one broker per region in NETNS with
#       rabbitmq_federation enabled at boot, gives each one upstream per peer
#       (amqp://guest:guest@ADDRESS:PORT, max-hops 1, ack-mode on-confirm,
#       resource-cleanup-mode never), a policy federating exchange NAME (default
#       geocache.replication) from all upstreams and one bounding the federation
#       buffer queues (1 GiB each, drop-head), declares the exchange (a durable topic
#       exchange, as geocached declares it) and waits until every broker has a
#       running link to every peer. --exchanges REGEX federates every exchange
#       whose name matches (for tests whose exchanges have names of their own:
#       '^geocache\.'); each one's links start once it exists on the brokers
#       (`await`).
#   scripts/federation.sh await DIR EXCHANGE [--timeout S]
#       Waits until every broker has a running link for EXCHANGE to every peer
#       and every peer's link has made its upstream exchange there.
#   scripts/federation.sh url DIR REGION [hub] amqp URL of REGION's broker as seen
#                                              from REGION's namespace (or the hub's)
#   scripts/federation.sh netns DIR REGION     REGION's namespace
#   scripts/federation.sh exec DIR REGION CMD...   runs CMD in REGION's namespace
#                                              (REGION hub: in the hub's, from
#                                              where every broker is reached on
#                                              its address: url DIR REGION hub)
#   scripts/federation.sh cut DIR REGION       takes REGION's link down (its broker
#                                              and node stay up, cut off the others)
#   scripts/federation.sh heal DIR REGION      takes it up again
#   scripts/federation.sh ctl DIR REGION ARGS...   rabbitmqctl ARGS on REGION's broker
#   scripts/federation.sh kill DIR REGION      SIGKILLs REGION's broker, like a crash
#   scripts/federation.sh restart DIR REGION   starts it again from its data (its
#                                              upstreams and policies are durable)
#   scripts/federation.sh status DIR           federation links of every broker
#   scripts/federation.sh stop DIR             stops the brokers, kills what else
#                                              runs in the namespaces `start` made,
#                                              deletes them
#
# Needs root (ip netns) and iproute2. Everything listens inside the namespaces
# only, so PORT (and the brokers' epmd PORT+10000 and distribution PORT+20000)
# never meet another broker of this machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RABBITMQ_SH="$ROOT/scripts/rabbitmq.sh"
SUBNET=10.98.0
# Every upstream's settings (docs/replication.md, "One broker per region"), as JSON
# inside an Erlang string.
UPSTREAM='\"max-hops\":1,\"ack-mode\":\"on-confirm\",\"prefetch-count\":1000,\"reconnect-delay\":1,\"resource-cleanup-mode\":\"never\"'

die() { echo "federation.sh: $*" >&2; exit 1; }
usage() { sed -n '2,52p' "$0" >&2; exit 2; }

# State of DIR: MODE (federated|shared), PORT, EXCHANGE, REGIONS, NETNS_<i>,
# ADDRESS_<i>, HUB (namespace of a shared broker), CREATED (namespaces to delete).
load() {
  [[ -f "$1/federation.env" ]] || die "nothing was started in $1"
  # shellcheck disable=SC1091
  source "$1/federation.env"
}
index_of() {  # region -> its index in REGIONS
  local i=0 r
  for r in $REGIONS; do
    [[ $r == "$1" ]] && { echo $i; return; }
    i=$((i + 1))
  done
  die "no region $1 (regions: $REGIONS)"
}
netns_of() { local i; i=$(index_of "$1"); eval echo "\$NETNS_$i"; }
broker_dir_of() { if [[ $MODE == shared ]]; then echo "$DIR/broker"; else echo "$DIR/broker-$1"; fi; }
broker_netns_of() { if [[ $MODE == shared ]]; then echo "$HUB"; else netns_of "$1"; fi; }

# ctl_eval REGION EXPR: evaluates an Erlang expression on REGION's broker (one
# rabbitmqctl call, about 1.3 s, instead of one per setting).
ctl_eval() {
  ip netns exec "$(broker_netns_of "$1")" bash "$RABBITMQ_SH" ctl "$(broker_dir_of "$1")" eval "$2"
}

# federate REGION: a cluster name of its own, upstreams to every peer, the
# policies, the exchange; then waits until it has a running link to every peer
# and every peer's link has made its own upstream exchange here. Runs on all
# brokers at once.
#
# The cluster name matters: a link names the exchange and queue it makes on
# its upstream after its own broker's cluster name, which defaults to the node
# name. Every broker here is geocache-PORT@localhost (as every broker in
# containers is often rabbit@localhost), so two peers' links would share one
# buffer queue on the upstream and each event would reach only one of them.
federate() {
  local region=$1 i=0 n=0 r address upstreams=""
  for r in $REGIONS; do
    if [[ $r != "$region" ]]; then
      eval address="\$ADDRESS_$i"
      upstreams+="ok = rabbit_runtime_parameters:parse_set(<<\"/\">>, <<\"federation-upstream\">>, <<\"$r\">>, \"{\\\"uri\\\":\\\"amqp://guest:guest@$address:$PORT\\\",$UPSTREAM}\", <<\"federation.sh\">>),"
      n=$((n + 1))
    fi
    i=$((i + 1))
  done
  # The exchange's name as a regex inside an Erlang string: dots escaped twice.
  local pattern
  pattern=$(printf '%s' "$EXCHANGE" | sed 's/\./\\\\./g')
  local policy_pattern="^$pattern\$"
  # (An Erlang string: its backslashes doubled.)
  if [[ -n $EXCHANGES ]]; then policy_pattern=${EXCHANGES//\\/\\\\}; fi
  local expr
  expr=$(cat <<EOF
ok = rabbit_nodes:set_cluster_name(<<"geocache-$region">>, <<"federation.sh">>),
$upstreams
ok = rabbit_policy:parse_set(<<"/">>, <<"geocache-federation">>, <<"$policy_pattern">>,
       <<"{\"federation-upstream-set\":\"all\"}">>, <<"0">>, <<"exchanges">>, <<"federation.sh">>),
ok = rabbit_policy:parse_set(<<"/">>, <<"geocache-federation-bound">>, <<"^federation: ">>,
       <<"{\"max-length-bytes\":1073741824,\"overflow\":\"drop-head\"}">>, <<"1">>, <<"queues">>,
       <<"federation.sh">>),
_ = rabbit_exchange:declare(rabbit_misc:r(<<"/">>, exchange, <<"$EXCHANGE">>), topic, true, false, false, [],
                                  <<"federation.sh">>),
$(wait_expr "$EXCHANGE" "$n")
EOF
)
  local out
  out=$(ctl_eval "$region" "$expr" 2>&1) || die "configuring the broker of $region failed: $out"
  [[ $out == ok ]] || die "broker of $region: federation links not running after ${TIMEOUT}s: $out"
}

# wait_expr EXCHANGE N: an Erlang expression waiting (TIMEOUT) until this
# broker has N running links for EXCHANGE and N peers' upstream exchanges for it.
wait_expr() {
  cat <<EOF
X = <<"$1">>,
Running = fun() -> length([S || S <- rabbit_federation_status:status(), proplists:get_value(status, S) =:= running,
                                proplists:get_value(exchange, S) =:= X]) end,
Upstreams = fun() -> length([E || E <- rabbit_exchange:list(<<"/">>), element(3, E) =:= 'x-federation-upstream',
                                  binary:match(element(4, element(2, E)), <<"federation: ", X/binary, " -> ">>) =/= nomatch]) end,
Wait = fun W(0) -> {links_running, Running(), upstream_exchanges, Upstreams(), expected, $2};
           W(K) -> case Running() >= $2 andalso Upstreams() >= $2 of
                     true -> ok;
                     false -> timer:sleep(100), W(K - 1)
                   end
       end,
Wait($((TIMEOUT * 10))).
EOF
}

await_region() {  # REGION: waits for its links of AWAIT_EXCHANGE
  local out
  out=$(ctl_eval "$1" "$(wait_expr "$AWAIT_EXCHANGE" "$(($(wc -w <<<"$REGIONS") - 1))")" 2>&1) ||
    die "broker of $1: $out"
  [[ $out == ok ]] || die "broker of $1: federation of $AWAIT_EXCHANGE not running after ${TIMEOUT}s: $out"
}

start_broker() {  # REGION: starts its broker (in the background of the caller)
  ip netns exec "$(broker_netns_of "$1")" bash "$RABBITMQ_SH" start "$(broker_dir_of "$1")" "$PORT" \
    --federation --address 0.0.0.0 --timeout "$TIMEOUT"
}

# Runs "$@" once per region, all at once; fails if any failed.
each_region() {
  local pids=() r failed=0
  for r in $REGIONS; do "$@" "$r" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return $failed
}

parse_common() {  # the options of start and brokers; the rest into ARGS
  PORT=5672 EXCHANGE=geocache.replication EXCHANGES="" TIMEOUT=90 MODE=federated ARGS=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --port) PORT=$2; shift ;;
      --exchange) EXCHANGE=$2; shift ;;
      --exchanges) EXCHANGES=$2; shift ;;
      --timeout) TIMEOUT=$2; shift ;;
      --shared) MODE=shared ;;
      -*) usage ;;
      *) ARGS+=("$1") ;;
    esac
    shift
  done
  [[ $EXCHANGE =~ ^[A-Za-z0-9._-]+$ ]] || die "exchange name: letters, digits, . _ - only"
}

write_env() {
  {
    echo "MODE=$MODE PORT=$PORT EXCHANGE='$EXCHANGE' REGIONS='$REGIONS' HUB='${HUB:-}' CREATED='${CREATED:-}'"
    local i=0 r
    for r in $REGIONS; do
      local ns address
      eval "ns=\${NETNS_$i:-} address=\${ADDRESS_$i:-}"
      [[ -n $ns ]] && echo "NETNS_$i='$ns' ADDRESS_$i='$address'"
      i=$((i + 1))
    done
  } >"$DIR/federation.env"
}

start_all() {
  if [[ $MODE == shared ]]; then
    start_broker "${REGIONS%% *}" >/dev/null
  else
    each_region start_broker >/dev/null
    each_region federate
  fi
}

cmd_brokers() {
  [[ $# -ge 2 ]] || usage
  DIR=$1
  shift
  parse_common "$@"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  REGIONS=""
  local i=0 spec
  for spec in "${ARGS[@]}"; do
    IFS='=' read -r region ns address <<<"$spec"
    [[ -n $region && -n $ns && -n $address ]] || die "bad region spec $spec (REGION=NETNS=ADDRESS)"
    REGIONS+="${REGIONS:+ }$region"
    eval "NETNS_$i=\$ns ADDRESS_$i=\$address"
    i=$((i + 1))
  done
  [[ $MODE == federated ]] || die "brokers: --shared needs start"
  write_env
  start_all
}

cmd_start() {
  [[ $# -ge 2 ]] || usage
  DIR=$1
  shift
  parse_common "$@"
  [[ ${#ARGS[@]} -ge 1 ]] || usage
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  [[ -f "$DIR/federation.env" ]] && die "$DIR already holds a federation (stop it first)"
  local prefix
  prefix="gfed$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')-"
  HUB=${prefix}hub
  CREATED=$HUB
  REGIONS="${ARGS[*]}"
  ip netns add "$HUB"
  write_env  # from here on, stop removes what exists
  ip -n "$HUB" link set lo up
  ip -n "$HUB" link add br0 type bridge
  ip -n "$HUB" addr add "$SUBNET.1/24" dev br0
  ip -n "$HUB" link set br0 up
  local i=0 r
  for r in $REGIONS; do
    [[ $r =~ ^[A-Za-z0-9_-]+$ ]] || die "region name: letters, digits, _ - only"
    local ns=$prefix$r
    eval "NETNS_$i=\$ns ADDRESS_$i=$SUBNET.$((10 + i))"
    ip netns add "$ns"
    CREATED+=" $ns"
    write_env
    ip -n "$ns" link set lo up
    ip -n "$HUB" link add "v$i" type veth peer name eth0 netns "$ns"
    ip -n "$HUB" link set "v$i" master br0
    ip -n "$HUB" link set "v$i" up
    ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
    i=$((i + 1))
  done
  start_all
  for r in $REGIONS; do echo "$r: netns $(netns_of "$r"), broker $(cmd_url_of "$r")"; done
}

cmd_url_of() {  # REGION [hub]
  local host=127.0.0.1
  if [[ $MODE == shared ]]; then
    host=$SUBNET.1
  elif [[ ${2:-} == hub ]]; then
    eval "host=\$ADDRESS_$(index_of "$1")"
  else
    index_of "$1" >/dev/null
  fi
  echo "amqp://guest:guest@$host:$PORT/"
}

cmd_stop() {
  DIR=$1
  [[ -f "$DIR/federation.env" ]] || { echo "federation.sh: nothing started in $DIR"; return 0; }
  load "$DIR"
  local r
  if [[ $MODE == shared ]]; then
    ip netns exec "$HUB" bash "$RABBITMQ_SH" stop "$DIR/broker" >/dev/null 2>&1 || true
  else
    # Stopped at once: with resource-cleanup-mode never, their links keep the
    # buffer queues, so the order does not matter.
    for r in $REGIONS; do
      ip netns exec "$(netns_of "$r")" bash "$RABBITMQ_SH" stop "$DIR/broker-$r" >/dev/null 2>&1 &
    done
    wait
  fi
  local ns p
  for ns in $CREATED; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  for ns in $CREATED; do ip netns del "$ns" 2>/dev/null || true; done
  rm -f "$DIR/federation.env"
  echo "federation.sh: stopped"
}

[[ $# -ge 2 ]] || usage
command=$1
shift
case $command in
  start) cmd_start "$@" ;;
  brokers) cmd_brokers "$@" ;;
  stop) cmd_stop "$1" ;;
  url) DIR=$1; load "$1"; cmd_url_of "$2" "${3:-}" ;;
  netns) DIR=$1; load "$1"; netns_of "$2" ;;
  await) DIR=$1; load "$1"; AWAIT_EXCHANGE=$2 TIMEOUT=90
         [[ ${3:-} == --timeout ]] && TIMEOUT=$4
         [[ $MODE == federated ]] && each_region await_region ;;
  exec) DIR=$1; load "$1"
        if [[ $2 == hub ]]; then ns=$HUB; else ns=$(netns_of "$2"); fi
        shift 2; exec ip netns exec "$ns" "$@" ;;
  cut) DIR=$1; load "$1"; ip -n "$(netns_of "$2")" link set eth0 down ;;
  heal) DIR=$1; load "$1"; ip -n "$(netns_of "$2")" link set eth0 up ;;
  kill) DIR=$1; load "$1"
        ip netns exec "$(broker_netns_of "$2")" bash "$RABBITMQ_SH" kill "$(broker_dir_of "$2")" ;;
  restart) DIR=$1; load "$1"; TIMEOUT=90; start_broker "$2" ;;
  ctl) DIR=$1; load "$1"; region=$2; shift 2
       ip netns exec "$(broker_netns_of "$region")" bash "$RABBITMQ_SH" ctl "$(broker_dir_of "$region")" "$@" ;;
  status)
    DIR=$1; load "$1"
    [[ $MODE == federated ]] || { echo "one shared broker: no federation"; exit 0; }
    for r in $REGIONS; do
      echo "== $r"
      # One {upstream, exchange, status} per link.
      ctl_eval "$r" '[{proplists:get_value(upstream, S), proplists:get_value(exchange, S),
                       proplists:get_value(status, S)} || S <- rabbit_federation_status:status()].' 2>&1 || true
    done ;;
  *) usage ;;
esac
