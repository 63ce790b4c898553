#!/usr/bin/env bash
# build_mtmd.sh — build llama.cpp's multimodal library (tools/mtmd: clip + mtmd) from the exact source
# bundled in npm node-llama-cpp (llama/gitRelease.bundle), link it with node-llama-cpp's prebuilt CPU
# libllama/libggml, and build mtmd_ref (mtmd_ref.c) against it.
#
#   bash bench/node/mtmd/build_mtmd.sh [BUILD_DIR]      (default /tmp/moevk-mtmd)
#   BUILD_DIR/mtmd_ref TEXT.gguf MMPROJ.gguf IMAGE_RGB.u8 W H OUT.f32 [threads] [min_tokens] [runs]
#   BUILD_DIR/mtmd_chat_ref TEXT.gguf MMPROJ.gguf PROMPT.txt N_GREEDY OUT.i32 [IMAGE_RGB.u8 W H]... [--min-tokens N]
#     (mtmd_chat_ref.c: a whole prompt with several images through mtmd's helper, then greedy tokens; it also
#      needs mtmd-helper.cpp and the vendored hashes it uses)
#
# node-llama-cpp does not ship libmtmd, and compiling only these ~50 C++ files is much cheaper than a full
# llama.cpp build. The result runs llama.cpp's image encoder on CPU (e.g. on a tools/gen_synthetic_model.py
# mmproj). Needs g++ (build-essential) and bench/node/node_modules. Compiles at -O0 by default (about
# 10 CPU-minutes, JOBS files at a time, default every core); OPT=-O2 for timing figures.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
NODE_DIR="$(cd "$HERE/.." && pwd)"
OUT="${1:-/tmp/moevk-mtmd}"
OPT="${OPT:--O0}"
BUNDLE="$NODE_DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle"
BINS="$NODE_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
[ -f "$BUNDLE" ] || { echo "missing $BUNDLE (npm install in bench/node first)"; exit 1; }
[ -d "$BINS" ] || { echo "missing $BINS"; exit 1; }
mkdir -p "$OUT/obj"
L="$OUT/llama.cpp"
[ -d "$L/tools/mtmd" ] || git clone -q "$BUNDLE" "$L"

cd "$L/tools/mtmd"
# the library's own source list (tools/mtmd/CMakeLists.txt), minus the two helper files: mtmd_ref feeds
# raw RGB, so it needs neither the image-file helpers (stb/miniaudio/subprocess) nor the generation helper
srcs=$(sed -n '/^add_library(mtmd$/,/^ *)/p' CMakeLists.txt | grep -oE '[A-Za-z0-9_./-]+\.cpp' | grep -v '^mtmd-helper')
# compiled JOBS at a time (default: every core)
compile_one() {
    local f=$1 o
    o="$OUT/obj/$(echo "$f" | tr / _).o"
    [ -f "$o" ] && return 0
    g++ -std=c++17 $OPT -fPIC -DLLAMA_SHARED -DLLAMA_BUILD -I. -I"$L/include" -I"$L/ggml/include" \
        -I"$L/vendor" -I"$L/src" -c "$f" -o "$o.tmp"
    mv "$o.tmp" "$o"
}
export -f compile_one
export OUT OPT L
printf '%s\n' $srcs | xargs -P "${JOBS:-$(nproc)}" -I{} bash -c 'compile_one "$1"' _ {}
gcc -std=c11 -O2 -I"$L/tools/mtmd" -I"$L/include" -I"$L/ggml/include" -c "$HERE/mtmd_ref.c" -o "$OUT/obj/mtmd_ref.o"
g++ -o "$OUT/mtmd_ref.bin" "$OUT/obj/mtmd_ref.o" "$OUT"/obj/*.cpp.o \
    "$BINS/libllama.v0.5.0.so" "$BINS/libggml.v0.5.0.so" "$BINS/libggml-base.so" -Wl,-rpath,"$BINS" -lpthread -lm
cat >"$OUT/mtmd_ref" <<EOF
#!/bin/sh
GGML_BACKEND_DIR="$BINS" exec "$OUT/mtmd_ref.bin" "\$@"
EOF
chmod +x "$OUT/mtmd_ref"
echo "built $OUT/mtmd_ref"

# mtmd_chat_ref: the helper (chunk evaluation with llama.cpp's positions) and the hashes it links
V="$L/vendor"
hobj="$OUT/obj/helper"
mkdir -p "$hobj"
[ -f "$hobj/mtmd-helper.o" ] || g++ -std=c++17 $OPT -fPIC -w -I. -I"$L/include" -I"$L/ggml/include" -I"$V" \
    -c mtmd-helper.cpp -o "$hobj/mtmd-helper.o"
[ -f "$hobj/hash.o" ] || g++ -std=c++17 $OPT -fPIC -w -I"$V" -I"$V/hash" -c "$V/hash/hash.cpp" -o "$hobj/hash.o"
[ -f "$hobj/sha1.o" ] || g++ -std=c++17 $OPT -fPIC -w -I"$V/hash" -x c++ -c "$V/hash/sha1/sha1.c" -o "$hobj/sha1.o"
[ -f "$hobj/sha256.o" ] || gcc $OPT -fPIC -w -I"$V/hash" -c "$V/hash/sha256/sha256.c" -o "$hobj/sha256.o"
[ -f "$hobj/xxhash.o" ] || gcc $OPT -fPIC -w -I"$V/hash" -c "$V/hash/xxhash/xxhash.c" -o "$hobj/xxhash.o"
gcc -std=c11 -O2 -I"$L/tools/mtmd" -I"$L/include" -I"$L/ggml/include" -c "$HERE/mtmd_chat_ref.c" -o "$OUT/obj/mtmd_chat_ref.o"
g++ -o "$OUT/mtmd_chat_ref.bin" "$OUT/obj/mtmd_chat_ref.o" "$hobj"/*.o "$OUT"/obj/*.cpp.o \
    "$BINS/libllama.v0.5.0.so" "$BINS/libggml.v0.5.0.so" "$BINS/libggml-base.so" -Wl,-rpath,"$BINS" -lpthread -lm -ldl
cat >"$OUT/mtmd_chat_ref" <<EOF
#!/bin/sh
GGML_BACKEND_DIR="$BINS" exec "$OUT/mtmd_chat_ref.bin" "\$@"
EOF
chmod +x "$OUT/mtmd_chat_ref"
echo "built $OUT/mtmd_chat_ref"
