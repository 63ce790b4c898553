#!/usr/bin/env bash
# make_a3b_model.sh — random-weight text GGUFs of Qwen3-VL-30B-A3B's layer shape, quantized by llama.cpp's
# own quantizer (tools/llamacpp/quantize: llama_model_quantize in node-llama-cpp's libllama).
#
#   bash bench/make_a3b_model.sh [OUT_DIR]          (default /tmp/moevk-a3b; never commit the files)
#
# Shape: d 2048, 32 query / 4 KV heads of 128, 32 experts top-8 of expert FFN 768, vocab 151936, 8 layers
# (the real model: 48 layers, 128 experts; everything else as here). tools/gen_synthetic_model.py writes
# an f16 source (~4.3 GB, deleted afterwards unless KEEP_SRC=1), then each of $FTYPES (default
# "Q8_0 Q4_K_M") is made from it: OUT_DIR/a3b-<FTYPE>.gguf. `moevk info` of each is saved beside it
# (a3b-<FTYPE>.info.txt: tensor types and bytes). Needs ~6 GB of RAM, ~8 GB of disk, a few CPU-minutes.
# Existing outputs are kept (delete them to remake).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/moevk-a3b}"
FTYPES="${FTYPES:-Q8_0 Q4_K_M}"
THREADS="${THREADS:-2}"
MOEVK="${MOEVK:-$SRC/build/moevk}"
mkdir -p "$OUT"
[ -x "$OUT/q/quantize" ] || bash "$SRC/tools/llamacpp/build_quantize.sh" "$OUT/q"
need=0
for ft in $FTYPES; do [ -f "$OUT/a3b-$ft.gguf" ] || need=1; done
if [ "$need" = 1 ] && [ ! -f "$OUT/a3b-f16.gguf" ]; then
    echo "generating the f16 source (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
    /usr/bin/python3 "$SRC/tools/gen_synthetic_model.py" --preset bench --text-only --seed 3030 --dtype f16 \
        --layers 8 --experts 32 --top-k 8 --embd 2048 --heads 32 --kv-heads 4 --head-dim 128 --ff-exp 768 \
        --vocab-size 151936 --ctx 4096 --name synthetic-qwen3vlmoe-a3b-shape --out-prefix "$OUT/a3b-src-"
    mv "$OUT/a3b-src-text.gguf" "$OUT/a3b-f16.gguf"
fi
for ft in $FTYPES; do
    f="$OUT/a3b-$ft.gguf"
    if [ ! -f "$f" ]; then
        echo "quantizing to $ft (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
        "$OUT/q/quantize" "$OUT/a3b-f16.gguf" "$f.tmp" "$ft" "$THREADS" >"$f.log" 2>&1 || { tail -5 "$f.log"; exit 1; }
        mv "$f.tmp" "$f"
    fi
    [ -x "$MOEVK" ] && "$MOEVK" info "$f" >"$OUT/a3b-$ft.info.txt" 2>&1 || true
    echo "$f: $(stat -c%s "$f") bytes"
done
[ -n "${KEEP_SRC:-}" ] || rm -f "$OUT/a3b-f16.gguf"
