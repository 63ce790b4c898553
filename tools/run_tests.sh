#!/usr/bin/env bash
# Builds moevk (if needed) and runs the whole test suite with ctest.
# The tests run on the Vulkan device moevk picks (lavapipe on a machine without
# a GPU) with the Khronos validation layer on; any validation message fails.
#   MOEVK_BUILD_DIR=build     build directory (default: build)
#   MOEVK_REQUIRE_DEVICE=1    a missing Vulkan device fails instead of skipping
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/install_deps.sh"
build=${MOEVK_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
args=(--output-on-failure -j1)
[ -n "${MOEVK_TEST_LABEL_EXCLUDE:-}" ] && args+=(-LE "$MOEVK_TEST_LABEL_EXCLUDE")
cd "$build" && ctest "${args[@]}"
