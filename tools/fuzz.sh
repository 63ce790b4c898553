#!/usr/bin/env bash
# tools/fuzz.sh TARGET|all SECONDS [libFuzzer options...]
#
# Builds the libFuzzer harnesses (tests/fuzz, CMake MOEVK_FUZZ=ON with clang-15,
# ASan + UBSan) in $MOEVK_FUZZ_BUILD (default build-fuzz), writes their seed
# corpora (tests/fuzz/make_seeds.py) and runs TARGET (gguf, image, tokenizer,
# camera, script, request, or all of them one after the other) for SECONDS each.
# The growing corpus stays in $MOEVK_FUZZ_BUILD/corpus/TARGET; a crash is
# written to $MOEVK_FUZZ_BUILD/crashes/TARGET-* and fails the run.
# Prints one line per target: executions, coverage (edges, cov:), features,
# corpus size and wall time. Run long campaigns niced: nice -n 10 tools/fuzz.sh all 600
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
TARGETS="gguf image tokenizer camera script request"
[ $# -ge 2 ] || { echo "usage: tools/fuzz.sh TARGET|all SECONDS [libFuzzer options...]  (targets: $TARGETS)" >&2; exit 2; }
what=$1 secs=$2
shift 2
[ "$what" = all ] && what=$TARGETS
for t in $what; do
  case " $TARGETS " in *" $t "*) ;; *) echo "tools/fuzz.sh: unknown target '$t' (targets: $TARGETS)" >&2; exit 2 ;; esac
done
B=${MOEVK_FUZZ_BUILD:-build-fuzz}
CC_FUZZ=${MOEVK_FUZZ_CC:-clang-15}
command -v "$CC_FUZZ" >/dev/null || { echo "tools/fuzz.sh: $CC_FUZZ not found (apt-get install clang-15 libfuzzer-15-dev)" >&2; exit 1; }
if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=$CC_FUZZ cmake -S . -B "$B" -DMOEVK_FUZZ=ON -DMOEVK_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
cmake --build "$B" -j"$(nproc)" >/dev/null
# seeds: made once per build dir (delete $B/seeds to remake them)
if [ ! -f "$B/seeds/.done" ]; then
  rm -rf "$B/seeds"
  /usr/bin/python3 tests/fuzz/make_seeds.py "$B/seeds"
  touch "$B/seeds/.done"
fi
mkdir -p "$B/crashes"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fail=0
for t in $what; do
  mkdir -p "$B/corpus/$t"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log="$B/fuzz-$t.log"
  t0=$(date +%s.%N)
  rc=0
  "$B/fuzz_$t" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$B/crashes/$t-" "${dict[@]}" "$@" "$B/corpus/$t" "$B/seeds/$t" >"$log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  printf 'fuzz %-9s %s: %s executions, cov %s edges, ft %s, corpus %s, %.0f s wall\n' "$t" \
    "$([ $rc = 0 ] && echo ok || echo FAILED)" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$(awk "BEGIN{print $t1 - $t0}")"
  if [ $rc != 0 ]; then
    fail=1
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|==[0-9]+==' "$log" | head -20
    echo "  (full log: $log)"
  fi
done
exit $fail
