#!/bin/sh
# make_screenshot.sh — regenerates docs/screenshot.png with the real app under
# Xvfb and the embedded model: a sample image captioned, all tokens, a heatmap
# cell hovered. Usage: app/view/make_screenshot.sh [SAMPLE.png]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MOEVK_BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SAMPLE=${1:-$(ls "$ROOT"/assets/samples/*.png | sort | head -n 1)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/script.txt" <<EOS
wait model 900
load $SAMPLE
wait caption 900
key b
hover cell 1 3
wait frames 5
screenshot shot.png
quit
EOS
xvfb-run -a -s "-screen 0 1400x900x24" "$BUILD/moevk-view" --size 1280x800 --script "$TMP/script.txt" --out "$TMP" >/dev/null
cp "$TMP/shot.png" "$ROOT/docs/screenshot.png"
echo "docs/screenshot.png: $(/usr/bin/python3 -c "import json; v=json.load(open('$TMP/shot.view.json')); print(v['frame']['name'], '->', repr(v['caption']))")"
