#!/bin/sh
# make_screenshot_q36.sh — regenerates docs/screenshot-q36.png: moevk-view at Qwen3.6-35B-A3B's shape
# (qwen35moe, 40 layers = 30 Gated DeltaNet + 10 attention, 256 experts, top-8) on a random-weight pair
# tools/gen_synthetic_model.py writes with tiny widths (so its words are noise: the picture is about the
# layout), thinking on with a small reasoning budget: the caption, a question whose reasoning shows dimmed
# apart from its answer, the overlay at a DeltaNet layer, an attention layer's cell hovered (the info line
# names the kind), the token trace with the reasoning tokens marked.
# Usage: app/view/make_screenshot_q36.sh [SAMPLE.png]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MOEVK_BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SAMPLE=${1:-$(ls "$ROOT"/assets/samples/*.png | sort | sed -n 2p)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 "$ROOT/tools/gen_synthetic_model.py" --arch qwen35moe --preset tiny --out-prefix "$TMP/q36-" --layers 40 \
    --experts 256 --top-k 8 --embd 64 --ff-exp 16 --ff-shexp 16 --ctx 1024 --name synth-qwen36-shape >/dev/null
cat >"$TMP/script.txt" <<EOS
wait model 900
load $SAMPLE
wait caption 900
ask what is it?
wait answer 600
overlay on
layer 37
hover cell 39 200
wait frames 5
screenshot shot.png
quit
EOS
xvfb-run -a -s "-screen 0 1400x900x24" "$BUILD/moevk-view" --size 1280x800 -m "$TMP/q36-text.gguf" \
    --mmproj "$TMP/q36-mmproj.gguf" -n 12 --think --reasoning-budget 4 --script "$TMP/script.txt" --out "$TMP" >/dev/null
cp "$TMP/shot.png" "$ROOT/docs/screenshot-q36.png"
echo "docs/screenshot-q36.png: $(/usr/bin/python3 -c "import json; v=json.load(open('$TMP/shot.view.json')); h=v['heatmap']; print('%dx%d cells of %dx%d px;' % (h['n_layers'], h['n_experts'], h['cell_w'], h['cell_h']), v['info'][0])")"
