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
# Skips (exit 0, "SKIP:") only when g++, node/npm or the npm package are
# unavailable outside CI (under CI=true that is a failure).
set -euo pipefail

SRC="${MOEVK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
GOLDENS="${MOEVK_GOLDENS:-$SRC/../shared/goldens}"
NODE_DIR="$SRC/bench/node"
BUNDLE="$NODE_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle"
PY=/usr/bin/python3

skip() {
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: $1 (required under CI)"
        exit 1
    fi
    echo "SKIP: $1"
    exit 0
}

command -v g++ >/dev/null 2>&1 || skip "g++ is not installed"
command -v git >/dev/null 2>&1 || skip "git is not installed"
"$PY" -c 'import numpy' 2>/dev/null || skip "$PY with numpy is not available"
if [ ! -f "$BUNDLE" ]; then
    command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
    echo "installing node-llama-cpp (npm install in bench/node, versions from package-lock.json) ..."
    (cd "$NODE_DIR" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --no-audit --no-fund --loglevel=error) ||
        skip "npm install failed in bench/node (offline?)"
fi
[ -f "$BUNDLE" ] || skip "node-llama-cpp's llama/gitRelease.bundle is missing"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Only the headers and the one source file are needed from the bundle.
git clone -q --no-checkout "$BUNDLE" "$WORK/llama" 2>/dev/null
git -C "$WORK/llama" -c advice.detachedHead=false checkout -q HEAD -- tools/mtmd ggml/include include
echo "llama.cpp from $BUNDLE at $(git -C "$WORK/llama" rev-parse --short HEAD)"

L="$WORK/llama"
g++ -std=c++17 -O1 -w -I"$L/tools/mtmd" -I"$L/ggml/include" -I"$L/include" \
    "$SRC/tests/llamacpp_preproc/harness.cpp" "$L/tools/mtmd/mtmd-image.cpp" -o "$WORK/harness"
cc -std=c11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$SRC/include" -I"$SRC/backend" -I"$SRC/engine" \
    "$SRC/tests/llamacpp_preproc/ours.c" "$SRC/engine/image.c" "$SRC/engine/stb_impl.c" \
    "$SRC/backend/mvk_status.c" -lm -o "$WORK/ours"

GOLDEN_PNG="$GOLDENS/qwen3vlmoe-tiny-a/image.png"
if [ ! -f "$GOLDEN_PNG" ]; then
    echo "note: goldens not found at $GOLDENS; synthetic images only"
    GOLDEN_PNG=""
fi
"$PY" "$SRC/tests/llamacpp_preproc/compare.py" "$WORK" "$GOLDEN_PNG"
