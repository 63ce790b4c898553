#!/usr/bin/env bash
# make_qwen36_slice.sh — random-weight qwen35moe text GGUFs of Qwen3.6-35B-A3B's layer shape (issue 17's
# benchmark slice), quantized by llama.cpp's own quantizer (tools/llamacpp/quantize: llama_model_quantize in
# node-llama-cpp's libllama).
#
#   bash bench/make_qwen36_slice.sh [OUT_DIR]       (default /tmp/moevk-q36; never commit the files)
#
# Shape (docs/families/qwen35.md section 8): d 2048, 8 layers in the 3:1 DeltaNet/attention pattern
# (layers 3 and 7 full attention: 16 query / 2 KV heads of 256, rope.dimension_count 64, sections
# 11,11,10,0), DeltaNet 16 key / 32 value heads of 128 with conv kernel 4, 32 experts top-8 of expert FFN
# 512 plus the shared expert of 512, vocab 248320 (the real model: 40 layers, 256 experts). One MTP block
# is written too (nextn_predict_layers = 1), as in the published GGUFs; runners must skip it.
# tools/gen_synthetic_model.py writes an f16 source (deleted afterwards unless KEEP_SRC=1), then each of
# $FTYPES (default "Q8_0 Q4_K_M") is made from it: OUT_DIR/q36-<FTYPE>.gguf. Existing outputs are kept.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/moevk-q36}"
FTYPES="${FTYPES:-Q8_0 Q4_K_M}"
THREADS="${THREADS:-2}"
mkdir -p "$OUT"
[ -x "$OUT/q/quantize" ] || bash "$SRC/tools/llamacpp/build_quantize.sh" "$OUT/q"
need=0
for ft in $FTYPES; do [ -f "$OUT/q36-$ft.gguf" ] || need=1; done
if [ "$need" = 1 ] && [ ! -f "$OUT/q36-f16.gguf" ]; then
    echo "generating the f16 source (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
    /usr/bin/python3 "$SRC/tools/gen_synthetic_model.py" --arch qwen35moe --preset bench --text-only --seed 3636 \
        --dtype f16 --layers 8 --nextn 1 --experts 32 --top-k 8 --embd 2048 --heads 16 --kv-heads 2 --head-dim 256 \
        --rope-dim 64 --rope-sections 11,11,10,0 --ff-exp 512 --ff-shexp 512 --ssm-k-heads 16 --ssm-v-heads 32 \
        --ssm-state 128 --conv-kernel 4 --full-attn-interval 4 --vocab-size 248320 --ctx 4096 \
        --name synthetic-qwen35moe-q36-shape --out-prefix "$OUT/q36-src-"
    mv "$OUT/q36-src-text.gguf" "$OUT/q36-f16.gguf"
fi
for ft in $FTYPES; do
    f="$OUT/q36-$ft.gguf"
    if [ ! -f "$f" ]; then
        echo "quantizing to $ft (load $(cut -d' ' -f1-3 /proc/loadavg)) ..."
        "$OUT/q/quantize" "$OUT/q36-f16.gguf" "$f.tmp" "$ft" "$THREADS" >"$f.log" 2>&1 || { tail -5 "$f.log"; exit 1; }
        mv "$f.tmp" "$f"
    fi
    echo "$f: $(stat -c%s "$f") bytes"
done
[ -n "${KEEP_SRC:-}" ] || rm -f "$OUT/q36-f16.gguf"
