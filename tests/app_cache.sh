#!/usr/bin/env bash
# app_cache.sh — moevk-view with experts streaming: --device-mem small enough
# that the embedded model's experts do not all fit; after a caption, key E
# marks the resident experts on the heatmap (`expect resident-marks` checks
# the worker reports streaming and one mark per layer x expert cell), and the
# screenshot with the marks has more white pixels than the one without
# (the dots; nothing else changed between the two).
# ctest-labels: app
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_view
need_pil
MODEL=$EMBED_MODEL
MMPROJ=$EMBED_MMPROJ
IMAGE="$SRC/assets/samples/03-scene-two-orange-circles.png"
new_workdir
# the smallest budget that holds the model (its error names the minimum), and 2 MiB more
MIN=$( ("$CLI" caption -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" --device-mem 1 2>&1 || true) | sed -n 's/.*minimum of \([0-9.]*\) MiB.*/\1/p')
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
