#!/usr/bin/env bash
# make_gemma4_slice.sh — random-weight gemma4 text GGUFs of Gemma 4 26B-A4B's layer shape (issue 18's benchmark
# slice), quantized by llama.cpp's own quantizer (tools/llamacpp/quantize: llama_model_quantize in node-llama-cpp's
# libllama).
#
#   bash bench/make_gemma4_slice.sh [OUT_DIR]       (default /tmp/moevk-g4; never commit the files)
#
# Shape (docs/families/gemma4.md): d 2816, 8 layers in the 5:1 sliding/global pattern (layer 5 global), 16 query
# heads; sliding layers 8 KV heads of 256 with window 1024, global layers 2 KV heads of 512 (no attn_v: V = K),
# dense GeGLU FFN 2112 beside 32 experts top-8 of expert FFN 704, vocab 262144, tied embeddings (the real model:
# 30 layers, 128 experts). tools/gen_synthetic_model.py writes an f16 source (deleted afterwards unless
# KEEP_SRC=1), then each of $FTYPES (default "Q8_0 Q4_K_M") is made from it: OUT_DIR/g4-<FTYPE>.gguf. Existing
# outputs are kept.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/moevk-g4}"
FTYPES="${FTYPES:-Q8_0 Q4_K_M}"
THREADS="${THREADS:-2}"
mkdir -p "$OUT"
[ -x "$OUT/q/quantize" ] || bash "$SRC/tools/llamacpp/build_quantize.sh" "$OUT/q"
need=0
for ft in $FTYPES; do [ -f "$OUT/g4-$ft.gguf" ] || need=1; done
if [ "$need" = 1 ] && [ ! -f "$OUT/g4-f16.gguf" ]; then
    echo "generating the f16 source (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
    /usr/bin/python3 "$SRC/tools/gen_synthetic_model.py" --arch gemma4 --preset bench --text-only --seed 2626 \
        --dtype f16 --layers 8 --swa-period 6 --window 1024 --experts 32 --top-k 8 --embd 2816 --heads 16 \
        --kv-heads 8 --head-dim 256 --kv-heads-global 2 --head-dim-global 512 --ff-exp 704 --ff 2112 \
        --vocab-size 262144 --ctx 4096 --name synthetic-gemma4-26b-a4b-shape --out-prefix "$OUT/g4-src-"
    mv "$OUT/g4-src-text.gguf" "$OUT/g4-f16.gguf"
fi
for ft in $FTYPES; do
    f="$OUT/g4-$ft.gguf"
    if [ ! -f "$f" ]; then
        echo "quantizing to $ft (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
        "$OUT/q/quantize" "$OUT/g4-f16.gguf" "$f.tmp" "$ft" "$THREADS" >"$f.log" 2>&1 || { tail -5 "$f.log"; exit 1; }
        mv "$f.tmp" "$f"
    fi
    echo "$f: $(stat -c%s "$f") bytes"
done
[ -n "${KEEP_SRC:-}" ] || rm -f "$OUT/g4-f16.gguf"
