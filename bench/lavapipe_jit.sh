#!/usr/bin/env bash
# lavapipe_jit.sh — the machine code llvmpipe generated for one kernel, and where its time goes.
# Mesa 22.3's release build ignores GALLIVM_DEBUG=ir,asm (a debug-build option), so this samples a running
# `moevk bench ops` case with perf (llvmpipe's JIT code shows as [JIT] addresses) and disassembles the
# hottest address's neighbourhood with gdb, in the live process. Needs perf and gdb.
#
#   bash bench/lavapipe_jit.sh OUT_PREFIX "FILTER" [ENV=VALUE ...]
#   e.g. bash bench/lavapipe_jit.sh /tmp/q8 "mul_mat_id q8_0 (decode)" MOEVK_LANE_XSG=0
#
# Writes OUT_PREFIX.hot (perf's top sample addresses: the JIT code's share of the run and its hot spots)
# and OUT_PREFIX.asm (x/700i around the hottest address). MOEVK=path picks the binary (build/moevk).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:?usage: lavapipe_jit.sh OUT_PREFIX FILTER [ENV=VALUE ...]}"
FILTER="${2:?usage: lavapipe_jit.sh OUT_PREFIX FILTER [ENV=VALUE ...]}"
shift 2
MOEVK="${MOEVK:-$SRC/build/moevk}"
for t in perf gdb; do command -v "$t" >/dev/null || { echo "lavapipe_jit: $t is not installed" >&2; exit 77; }; done
env "$@" "$MOEVK" bench ops --no-probes --reps 100000 --filter "$FILTER" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
sleep "${WARMUP_S:-20}" # pipeline compiles and weight upload first (longer on a loaded machine)
perf record -q -o "$OUT.perf" -F 1999 -p "$pid" -- sleep "${SAMPLE_S:-4}" >/dev/null 2>&1
perf report -i "$OUT.perf" --no-children --sort dso,sym -g none >"$OUT.report" 2>/dev/null
grep -v '^#' "$OUT.report" | grep -v '^$' | sed -n 1,40p >"$OUT.hot" || true
top=$(grep '\[JIT\]' "$OUT.hot" | grep -o '0x0000[0-9a-f]*' | sed -n 1p || true)
[ -n "$top" ] || { echo "lavapipe_jit: no JIT samples (is the case name right?)" >&2; exit 1; }
gdb -p "$pid" -batch -ex "x/700i $top-1400" >"$OUT.gdb" 2>&1 || true
grep '^ *0x\|^=>' "$OUT.gdb" >"$OUT.asm" || true
echo "hottest JIT address $top: $OUT.hot, $OUT.asm"
