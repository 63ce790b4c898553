#!/bin/sh
# make_screenshot.sh — regenerates docs/screenshot.png and
# docs/screenshot-overlay.png with the real app under Xvfb and the embedded
# model: a sample image captioned, two questions asked about it, the per-patch
# overlay at layer 1, all tokens, a heatmap cell hovered (then an overlay
# region hovered: its experts at every layer). Usage: app/view/make_screenshot.sh [SAMPLE.png]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MOEVK_BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SAMPLE=${1:-$(ls "$ROOT"/assets/samples/*.png | sort | head -n 1)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
Q1=${MOEVK_SHOT_Q1:-What is in the picture?}
Q2=${MOEVK_SHOT_Q2:-What colour is it?}
cat >"$TMP/script.txt" <<EOS
wait model 900
load $SAMPLE
wait caption 900
key b
ask $Q1
wait answer 600
ask $Q2
wait answer 600
overlay on
layer 1
hover cell 1 3
wait frames 5
screenshot shot.png
hover region 5
wait frames 5
screenshot overlay.png
quit
EOS
xvfb-run -a -s "-screen 0 1400x900x24" "$BUILD/moevk-view" --size 1280x800 --script "$TMP/script.txt" --out "$TMP" >/dev/null
cp "$TMP/shot.png" "$ROOT/docs/screenshot.png"
cp "$TMP/overlay.png" "$ROOT/docs/screenshot-overlay.png"
echo "docs/screenshot.png, docs/screenshot-overlay.png: $(/usr/bin/python3 -c "import json; v=json.load(open('$TMP/shot.view.json')); print(v['frame']['name'], '->', ' | '.join(repr(c['role'] + ': ' + c['text']) for c in v['chat']))")"
