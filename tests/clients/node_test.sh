#!/usr/bin/env bash
# Runs one of the Node.js client scripts against geocached. Installs the
# pinned client libraries (package-lock.json) into NODE_DIR first, once for
# all the scripts (npm ci under a lock). Skips (exit 77) with a clear message
# only when npm is missing or cannot reach the registry.
#   node_test.sh GEOCACHED NODE_DIR SCRIPT.js
set -uo pipefail
geocached=$1 dir=$2 script=$3
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "SKIPPED: node/npm not installed (scripts/install-deps.sh installs nodejs)"; exit 77
fi
mkdir -p "$dir"
(
  flock 9
  if [ -d "$dir/node_modules" ] && cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then exit 0; fi
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  if npm ci --prefix "$dir" --no-audit --no-fund >"$dir/npm.log" 2>&1; then exit 0; fi
  if ! npm ping >/dev/null 2>&1; then
    echo "SKIPPED: npm cannot reach the registry, so ioredis, redis and cache-manager cannot be installed"
    exit 77
  fi
  echo "npm ci failed:"; cat "$dir/npm.log"; exit 1
) 9>"$dir/.lock"
status=$?
[ "$status" -eq 0 ] || exit "$status"
NODE_PATH="$dir/node_modules" exec bash "$here/run_with_geocached.sh" "$geocached" node "$here/$script"
