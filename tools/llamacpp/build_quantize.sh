#!/usr/bin/env bash
# build_quantize.sh — build tools/llamacpp/quantize.c against node-llama-cpp's prebuilt CPU libllama
# (bench/node/node_modules, npm node-llama-cpp 3.22.1), with the headers of the exact llama.cpp source
# it bundles (llama/gitRelease.bundle). Nothing is installed; the binary gets an rpath to the npm libs.
#
#   bash tools/llamacpp/build_quantize.sh OUT_DIR        -> OUT_DIR/quantize
#
# Exit 77 when node-llama-cpp (or gcc/git) is not there, so callers can skip (or fail under CI).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:?usage: build_quantize.sh OUT_DIR}"
NODE_DIR="$SRC/bench/node"
BUNDLE="$NODE_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle"
BINS="$NODE_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
for tool in gcc git; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build_quantize: $tool is not installed"; exit 77; }
done
if [ ! -f "$BUNDLE" ] || [ ! -f "$BINS/libllama.v0.5.0.so" ]; then
    echo "build_quantize: node-llama-cpp is not installed ($BUNDLE, $BINS/libllama.v0.5.0.so); npm install in bench/node"
    exit 77
fi
mkdir -p "$OUT"
H="$OUT/llama-headers"
if [ ! -f "$H/include/llama.h" ]; then
    rm -rf "$H"
    git clone -q --no-checkout "$BUNDLE" "$H" 2>/dev/null
    git -C "$H" -c advice.detachedHead=false checkout -q HEAD -- include ggml/include
fi
gcc -std=c11 -O1 -Wall -Wextra -Werror -I"$H/include" -I"$H/ggml/include" "$SRC/tools/llamacpp/quantize.c" \
    -o "$OUT/quantize" "$BINS/libllama.v0.5.0.so" "$BINS/libggml.v0.5.0.so" "$BINS/libggml-base.so" \
    -Wl,-rpath,"$BINS"
echo "built $OUT/quantize (llama.cpp $(git -C "$H" rev-parse --short HEAD))"
