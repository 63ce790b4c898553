#!/bin/sh
# run_demo.sh — moevk-view on the embedded model with the sample images
# (assets/samples/; Left/Right step through them).
# Without a display ($DISPLAY and $WAYLAND_DISPLAY unset) it says so and runs
# the CLI instead: the caption of the first sample goes to stdout and the
# expert-routing heatmap to moevk-demo-heatmap.png (or $MOEVK_DEMO_OUT).
# Builds into build/ (or $MOEVK_BUILD_DIR) first if moevk is not built yet;
# $MOEVK_ASSETS overrides the assets directory.
# Extra arguments go to moevk-view (e.g. --camera /dev/video0). The embedded
# model was trained on 16 image tokens (128x128), so larger frames are capped there.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MOEVK_BUILD_DIR:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ASSETS=${MOEVK_ASSETS:-$ROOT/assets}
MODEL=$ASSETS/models/moevk-tiny.gguf
MMPROJ=$ASSETS/models/moevk-tiny-mmproj.gguf
SAMPLES=$ASSETS/samples

if [ ! -x "$BUILD/moevk" ]; then
    echo "run_demo: building moevk in $BUILD ..." >&2
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    if [ -x "$BUILD/moevk-view" ]; then
        exec "$BUILD/moevk-view" -m "$MODEL" --mmproj "$MMPROJ" --image-max-tokens 16 "$@" "$SAMPLES"
    fi
    echo "run_demo: $BUILD/moevk-view was not built (needs libsdl2-dev libsdl2-ttf-dev); using the CLI" >&2
fi

IMAGE=$(ls "$SAMPLES"/*.png "$SAMPLES"/*.jpg 2>/dev/null | sort | head -n 1 || true)
if [ -z "$IMAGE" ]; then
    echo "run_demo: no sample images in $SAMPLES" >&2
    exit 1
fi
OUT=${MOEVK_DEMO_OUT:-moevk-demo-heatmap.png}
echo "run_demo: no display (DISPLAY/WAYLAND_DISPLAY unset): running the CLI instead." >&2
echo "run_demo: caption of $IMAGE below; expert-routing heatmap -> $OUT" >&2
exec "$BUILD/moevk" caption -m "$MODEL" --mmproj "$MMPROJ" --image-max-tokens 16 --image "$IMAGE" --heatmap "$OUT"
