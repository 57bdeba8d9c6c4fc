#!/usr/bin/env bash
# Installs every Debian package geocache needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config lld
  # the lock-annotation check (clang -Wthread-safety)
  clang
  # libraries
  librabbitmq-dev libssl-dev libasio-dev libtomlplusplus-dev libcli11-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libabsl-dev
  # scripting (EVAL): Lua 5.1, as Redis embeds it
  liblua5.1-0-dev
  # the io_uring event loop (server.io-engine)
  liburing-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libhiredis-dev
  redis-server redis-tools memcached python3-redis rabbitmq-server
  # client libraries run against geocached (tests/clients); npm brings the
  # Node.js ones (ioredis, node-redis, cache-manager) when the tests run
  python3-django python3-django-redis nodejs
  # the fault harness (tests/faults): network namespaces; a shifted clock
  # (tests/faults, tests/replication/forged_events_test)
  iproute2 faketime
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Packaged services must not start system-wide instances: we run private ones.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's nodejs leaves npm to a package of its own (NodeSource's bundles it).
if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends npm
fi
