#!/usr/bin/env bash
# The test command: installs what is missing, builds (and checks the lock
# annotations with clang, which also compiles the benchmarks), starts a
# private RabbitMQ broker, runs every test, then the sanitizer builds
# (compiled while the plain tests run):
# ThreadSanitizer over the concurrent tests (building just their programs),
# AddressSanitizer+UBSan over all unit and integration tests (not the fault
# scenarios). Exits non-zero if anything fails.
#
#   bash scripts/test.sh            # everything
#   GEOCACHE_SKIP_SANITIZERS=1 bash scripts/test.sh   # plain build only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Each phase's heading says when it began (s since the start): CI has a
# time budget, and this shows where it goes.
started=$SECONDS
phase() { echo "== [$((SECONDS - started)) s] $*"; }

bash scripts/install-deps.sh

jobs=$(nproc)
# Line tables only (-g1): stack traces, sanitizer reports and perf keep
# file:line, and the compiler writes a fraction of full debug info. lld links
# the many test programs in a fraction of ld's time. The libraries of src/
# build as unity builds (16 files a compilation) in all but the clang check:
# their sources share most headers, so this halves their compile time; the
# clang check still compiles every file alone (it would see a missing include).
unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
build() {  # build DIR [cmake args...]; $targets: only those (default: all)
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld "$@" >/dev/null
  ninja -C "$dir" -j "$jobs" ${targets:-}
}
# The tests ThreadSanitizer runs: the concurrent parts.
tsan_tests='Concurrent|Replicator|Resync|TwoProcess|InProcessTransport|GeoCache|Geocached|BadInput|CircuitBreaker|Amqp|Membership|SeparateProcesses|ClientTest|ClientHysteresis|ClientReadYourWrites|DelayRelay|WarmUp|MissFallback|MergeConvergence'

# The benchmarks are compiled by the clang check below (no test needs them).
phase "build (RelWithDebInfo)"
targets="apps/all examples/all tests/all" build build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${unity[@]}"

# The other builds compile while the tests of this one run: those mostly wait
# (on the broker, on processes, on deadlines), so the compilers, niced, take
# the idle cores. Their output is kept and shown if one fails.
# The lock annotations (core/mutex.h) are checked by clang only: every
# library of src/ and the benchmarks compiled once with -Wthread-safety as
# errors, unoptimised and without debug info (nothing runs those objects;
# for the benchmarks this is their compile check). The TSan build comes
# before the ASan one and says when it is done (the file $tsan_built), so
# that its tests run while the ASan build compiles.
other_builds() {
  CXX=clang++ targets="$(cd src && printf 'src/%sall ' */) bench/all" \
    build build-clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g0 -DGEOCACHE_THREAD_SAFETY=ON \
    -DGEOCACHE_BUILD_TESTS=OFF
  if [ -z "${GEOCACHE_SKIP_SANITIZERS:-}" ]; then
    targets="geocached $tsan_targets" build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGEOCACHE_SANITIZE=thread \
      -DGEOCACHE_BUILD_BENCH=OFF "${unity[@]}"
    touch "$tsan_built"
    build build-asan -DCMAKE_BUILD_TYPE=Debug -DGEOCACHE_SANITIZE=address,undefined -DGEOCACHE_BUILD_BENCH=OFF \
      "${unity[@]}"
  fi
}
# The programs holding those tests, as the plain build's ctest names them:
# the TSan build compiles just these.
tsan_targets=$(ctest --test-dir build --show-only=json-v1 -R "$tsan_tests" | python3 -c '
import json, os, sys
tests = json.load(sys.stdin)["tests"]
print(" ".join(sorted({os.path.basename(t["command"][0]) for t in tests if t.get("command")})))')
builds_log=$(mktemp /tmp/geocache-builds.XXXXXX)
tsan_built=$builds_log.tsan-built
phase "clang -Wthread-safety and sanitizer builds (in the background, log $builds_log)"
# A session of its own, so that stopping it early stops its compilers too.
setsid nice -n 19 bash -c "$(declare -f build other_builds); $(declare -p unity); jobs=$jobs; tsan_targets='$tsan_targets'; tsan_built='$tsan_built'; other_builds" \
  >"$builds_log" 2>&1 &
builds_pid=$!
await_builds() {
  if ! wait "$builds_pid"; then
    cat "$builds_log"
    phase "a background build failed (above)"
    exit 1
  fi
  phase "background builds done"
}
# Until the TSan build is done, or the background builds have ended (failed,
# if it is not done: await_builds says so).
await_tsan_build() {
  while [ ! -e "$tsan_built" ] && kill -0 "$builds_pid" 2>/dev/null; do sleep 1; done
  [ -e "$tsan_built" ] || await_builds
  phase "TSan build done"
}

# A private broker for the replication tests: its own node name, ports and
# data directory, stopped on exit whatever happens.
broker_dir=$(mktemp -d /tmp/geocache-test-broker.XXXXXX)
# Ports 11000-11999 (and +10000, +20000 for epmd and distribution): below the
# kernel's ephemeral range, apart from the private brokers tests start.
broker_port=$((11000 + RANDOM % 1000))
cleanup() {
  kill -- "-$builds_pid" 2>/dev/null || true
  rm -f "$tsan_built"
  bash scripts/rabbitmq.sh stop "$broker_dir" >/dev/null 2>&1 || true
  rm -rf "$broker_dir"
}
trap cleanup EXIT
phase "private RabbitMQ on 127.0.0.1:$broker_port"
bash scripts/rabbitmq.sh start "$broker_dir" "$broker_port"
export GEOCACHE_TEST_AMQP_URL=$(bash scripts/rabbitmq.sh url "$broker_dir")
export GEOCACHE_TEST_BROKER_DIR="$broker_dir"

phase "tests"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600

phase "main job smoke test"
GEOCACHE_DEMO_ONLY=1 GEOCACHE_BUILD_DIR=build bash scripts/run.sh

if [ -z "${GEOCACHE_SKIP_SANITIZERS:-}" ]; then
  await_tsan_build
  phase "ThreadSanitizer (concurrent parts; the ASan build compiles meanwhile)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 900 -R "$tsan_tests"
fi
await_builds
if [ -z "${GEOCACHE_SKIP_SANITIZERS:-}" ]; then
  # The fault scenarios (five minutes of killed processes, broker
  # namespaces and links) run in the plain build only: under ASan they
  # exercise no code the unit and integration tests do not.
  phase "AddressSanitizer + UndefinedBehaviorSanitizer"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 -E '^Faults\.'
fi
phase "all tests passed"
