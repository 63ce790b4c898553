#!/usr/bin/env bash
# lavapipe_jit_hist.sh — where one kernel's time goes, instruction by instruction: perf samples of a running
# `moevk bench ops` case, counted per address over the JIT code's whole hot range and printed next to gdb's
# disassembly of that range (lavapipe_jit.sh shows the neighbourhood of the single hottest address instead).
# On Mesa 22.3 each texel fetch is a call into a fetch function of its own: the histogram shows the
# share of the kernel body and of each fetch function (docs/PERFORMANCE.md section 22). Needs perf and gdb.
#
#   bash bench/lavapipe_jit_hist.sh OUT_PREFIX "FILTER" [ENV=VALUE ...]
#   e.g. bash bench/lavapipe_jit_hist.sh /tmp/q8 "matmul q8_0 (decode)"
#
# Writes OUT_PREFIX.ann: "samples percent address: instruction" for every instruction of the range.
# MOEVK=path picks the binary (build/moevk); WARMUP_S / SAMPLE_S the seconds before / of sampling.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:?usage: lavapipe_jit_hist.sh OUT_PREFIX FILTER [ENV=VALUE ...]}"
FILTER="${2:?usage: lavapipe_jit_hist.sh OUT_PREFIX FILTER [ENV=VALUE ...]}"
shift 2
MOEVK="${MOEVK:-$SRC/build/moevk}"
for t in perf gdb python3; do command -v "$t" >/dev/null || { echo "lavapipe_jit_hist: $t is not installed" >&2; exit 77; }; done
env "$@" "$MOEVK" bench ops --no-probes --reps 100000 --filter "$FILTER" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
sleep "${WARMUP_S:-15}" # pipeline compiles and weight upload first
perf record -q -o "$OUT.perf" -F 4999 -p "$pid" -- sleep "${SAMPLE_S:-5}" >/dev/null 2>&1
# JIT code has no symbols: its samples are the ones perf maps to /tmp/perf-PID.map or [JIT]
perf script -i "$OUT.perf" -F ip,dso 2>/dev/null | awk '$2 ~ /perf-[0-9]+\.map|JIT/ {print $1}' | sort | uniq -c >"$OUT.cnt"
[ -s "$OUT.cnt" ] || { echo "lavapipe_jit_hist: no JIT samples (is the case name right?)" >&2; exit 1; }
lo=$(awk '{print $2}' "$OUT.cnt" | sort | awk "NR == 1")
hi=$(awk '{print $2}' "$OUT.cnt" | sort | awk "END { print }")
gdb -p "$pid" -batch -ex "disassemble 0x$lo,0x$hi+16" >"$OUT.gdb" 2>&1 || true
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
cnt = {}
for line in open(out + ".cnt"):
    c, a = line.split()
    cnt[int(a, 16)] = int(c)
tot = sum(cnt.values())
with open(out + ".ann", "w") as f:
    for line in open(out + ".gdb"):
        m = re.match(r"\s*(0x[0-9a-f]+)", line)
        if m:
            c = cnt.get(int(m.group(1), 16), 0)
            f.write("%6d %5.1f%% %s" % (c, 100.0 * c / tot, line.lstrip()))
print("%d JIT samples; %s.ann (sort -rn %s.ann | head for the hot spots)" % (tot, out, out))
PY
