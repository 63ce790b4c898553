#!/usr/bin/env bash
# image_vs_llamacpp.sh — engine/image.c's preprocessing against llama.cpp's own.
#
# The llama.cpp source is the one bundled in npm node-llama-cpp 3.22.1
# (bench/node, pinned in bench/node/package-lock.json; llama/gitRelease.bundle).
# Its tools/mtmd/mtmd-image.cpp (the Qwen2/2.5/3-VL "dyn_size" preprocessor:
# smart resize, Pillow-style bicubic, letterbox, normalisation) is compiled
# with a small driver (tests/llamacpp_preproc/harness.cpp) and run next to
# moevk's mvk_image_preprocess (tests/llamacpp_preproc/ours.c) on the golden
# image and on synthetic images that exercise up-, down- and mixed scaling and
# token-budget clamping. Sizes and normalised pixels must be bit-identical.
#
# Skips (exit 77) when g++, node/npm or the npm package are unavailable
# outside CI (under CI=true that is a failure); without the goldens it runs
# the synthetic images and reports the golden image as not run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUNDLE="$NODE_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle"
command -v g++ >/dev/null 2>&1 || skip "g++ is not installed"
command -v git >/dev/null 2>&1 || skip "git is not installed"
need_numpy
need_node_llama_cpp
[ -f "$BUNDLE" ] || skip "node-llama-cpp's llama/gitRelease.bundle is missing"
new_workdir

# Only the headers and the one source file are needed from the bundle.
git clone -q --no-checkout "$BUNDLE" "$WORK/llama" 2>/dev/null
git -C "$WORK/llama" -c advice.detachedHead=false checkout -q HEAD -- tools/mtmd ggml/include include
echo "llama.cpp from $BUNDLE at $(git -C "$WORK/llama" rev-parse --short HEAD)"

L="$WORK/llama"
g++ -std=c++17 -O1 -w -I"$L/tools/mtmd" -I"$L/ggml/include" -I"$L/include" \
    "$SRC/tests/llamacpp_preproc/harness.cpp" "$L/tools/mtmd/mtmd-image.cpp" -o "$WORK/harness"
# ours: the engine's image files (decoders through Debian's libraries: engine/image_decoders.cmake)
cc -std=c11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$SRC/include" -I"$SRC/core" -I"$SRC/backend" -I"$SRC/engine" \
    "$SRC/tests/llamacpp_preproc/ours.c" "$SRC"/engine/image*.c "$SRC/engine/stb_impl.c" \
    "$SRC/core/mvk_status.c" $(pkg-config --cflags --libs libjpeg libpng libwebp libwebpdemux libexif libheif) -lgif \
    -lm -o "$WORK/ours"

GOLDEN_PNG="$GOLD_A/image.png"
if [ ! -f "$GOLDEN_PNG" ]; then
    skip_part "the golden image: $GOLDEN_PNG not found (set MOEVK_GOLDENS); synthetic images only"
    GOLDEN_PNG=""
fi
"$PY" "$SRC/tests/llamacpp_preproc/compare.py" "$WORK" "$GOLDEN_PNG"
finish
