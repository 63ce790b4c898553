#!/usr/bin/env bash
# app_cache.sh — moevk-view with experts streaming: --device-mem small enough
# that the embedded model's experts do not all fit; after a caption, key E
# marks the resident experts on the heatmap (`expect resident-marks` checks
# the worker reports streaming and one mark per layer x expert cell), and the
# screenshot with the marks has more white pixels than the one without
# (the dots; nothing else changed between the two).
set -euo pipefail
SRC="${MOEVK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
BIN="${MOEVK_BINARY_DIR:-$SRC/build}"
VIEW="$BIN/moevk-view"
PY=/usr/bin/python3
skip() {
    if [ "${CI:-}" = "true" ]; then echo "FAIL: $1 (required under CI)"; exit 1; fi
    echo "SKIP: $1"; exit 77
}
[ -x "$VIEW" ] || skip "$VIEW is not built (MOEVK_BUILD_APP=OFF or SDL2 missing)"
$PY -c "import PIL" 2>/dev/null || skip "python3-pil is missing"
MODEL="$SRC/assets/models/moevk-tiny.gguf"
MMPROJ="$SRC/assets/models/moevk-tiny-mmproj.gguf"
IMAGE="$SRC/assets/samples/02-scene-three-umbrellas.png"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# the smallest budget that holds the model (its error names the minimum), and 2 MiB more
MIN=$( ("$BIN/moevk" caption -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" --device-mem 1 2>&1 || true) | sed -n 's/.*minimum of \([0-9.]*\) MiB.*/\1/p')
[ -n "$MIN" ] || { echo "FAIL: a 1 MiB budget did not name the minimum"; exit 1; }
MEM=$($PY -c "import math; print(math.ceil($MIN) + 2)")
cat >"$WORK/s.txt" <<EOS
wait model 600
load $IMAGE
wait caption 900
expect caption-nonempty
screenshot plain.png
key e
expect resident-marks
screenshot marks.png
quit
EOS
timeout 900 "$VIEW" --headless --device-mem "$MEM" -m "$MODEL" --mmproj "$MMPROJ" --out "$WORK" --script "$WORK/s.txt" \
    >"$WORK/out.txt" 2>"$WORK/err.txt" || { cat "$WORK/err.txt"; echo "FAIL: moevk-view --device-mem $MEM failed"; exit 1; }
$PY - "$WORK/plain.png" "$WORK/marks.png" <<'EOP'
import sys
from PIL import Image
def white(p):
    im = Image.open(p).convert("RGB")
    return sum(1 for px in im.getdata() if px == (255, 255, 255))
a, b = white(sys.argv[1]), white(sys.argv[2])
print(f"white pixels: {a} without marks, {b} with")
sys.exit(0 if b > a else 1)
EOP
echo "OK: moevk-view marks the resident experts at --device-mem $MEM"
