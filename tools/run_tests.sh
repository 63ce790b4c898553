#!/usr/bin/env bash
# Builds moevk (if needed) and runs the whole test suite with ctest.
# The tests run on the Vulkan device moevk picks (lavapipe on a machine without
# a GPU) with the Khronos validation layer on; any validation message fails.
# A test whose inputs are missing (the goldens in ../shared, node packages) is
# reported as skipped, never as passed; with CI=true it fails instead.
# The last line counts them: "N passed, M skipped, K failed".
#   MOEVK_BUILD_DIR=build          build directory (default: build)
#   MOEVK_REQUIRE_DEVICE=1         a missing Vulkan device fails instead of skipping
#   MOEVK_TEST_LABEL=ops|e2e       run only the tests with this ctest label (regex)
#   MOEVK_TEST_LABEL_EXCLUDE=slow  leave out the tests with this label (regex)
#   MOEVK_TEST_REGEX=cli_          run only the tests whose name matches (regex)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/install_deps.sh"
build=${MOEVK_BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
# llama.cpp (npm node-llama-cpp) before ctest: C tests (test_quant_ggml) load its
# libggml directly, and the shell tests' own install would come after them.
# A failure here is not fatal: each test that needs it skips (or fails under CI=true).
(. "$root/tests/lib.sh" && install_node_llama_cpp) || echo "moevk: node-llama-cpp unavailable; the tests that need it will say so" >&2
args=(--output-on-failure -j1)
[ -n "${MOEVK_TEST_LABEL:-}" ] && args+=(-L "$MOEVK_TEST_LABEL")
[ -n "${MOEVK_TEST_LABEL_EXCLUDE:-}" ] && args+=(-LE "$MOEVK_TEST_LABEL_EXCLUDE")
[ -n "${MOEVK_TEST_REGEX:-}" ] && args+=(-R "$MOEVK_TEST_REGEX")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
(cd "$build" && ctest "${args[@]}") | tee "$log" || rc=$?
# one line per test: "... Test  #3: name ....   Passed" / "***Skipped" / "***Failed" / "***Timeout" / "Not Run"
passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +[0-9.]+ sec' "$log" || true)
skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
total=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" || true)
failed=$((total - passed - skipped))
if [ "$skipped" -gt 0 ]; then
  # ctest shows no output for a skipped test: name each with its first SKIP line (from LastTest.log)
  echo "skipped:"
  grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log" | sed -E 's/^.*#[0-9]+: ([^ ]+).*/\1/' |
    while read -r name; do
      why=$(awk -v t="$name" '$2 == "Testing:" { on = ($3 == t) } on && /^SKIP/ { print; exit }' \
            "$build/Testing/Temporary/LastTest.log" 2>/dev/null || true)
      echo "  $name: ${why:-(no SKIP line)}"
    done
fi
echo "moevk tests: $passed passed, $skipped skipped, $failed failed (of $total)"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
