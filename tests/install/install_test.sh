#!/usr/bin/env bash
# Installs a build tree into a temporary prefix (cmake --install), then builds
# and runs programs against it both ways a user would: find_package(geocache)
# (tests/install/consumer) and pkg-config (geocache.pc).
#   install_test.sh BUILD_DIR SOURCE_DIR LIBDIR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) libdir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/geocache/cache/geo_cache.h"
test -f "$prefix/$libdir/cmake/geocache/geocacheConfig.cmake"
test -f "$prefix/$libdir/pkgconfig/geocache.pc"
test -f "$prefix/share/doc/geocache/LICENSE"

echo "== find_package(geocache)"
cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DGEOCACHE_EXAMPLES="$src/examples" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/two_regions"
"$tmp/consumer/consumer"

echo "== pkg-config geocache"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs geocache)
c++ -O1 "$src/examples/two_regions.cc" $flags -o "$tmp/two_regions_pc"
c++ -O1 "$src/tests/install/consumer/consumer.cc" $flags -o "$tmp/consumer_pc"
"$tmp/two_regions_pc"
"$tmp/consumer_pc"
echo "install test passed"
