#!/usr/bin/env bash
# weight_ilv.sh — the row-interleaved weight layout (MOEVK_WEIGHT_ILV=1; docs/QUANT_LAYOUTS.md "Interleaved rows")
# gives the plain layout's results bit for bit: the same kernels' arithmetic in the same order, only the addresses
# differ. Per text architecture (random-weight Q8_0 models of tools/gen_synthetic_model.py's tiny preset: MoE and
# dense FFNs, Gated DeltaNet layers, Gemma 4's tied embeddings and GeGLU; a qwen3vlmoe with tied embeddings):
#   - `moevk eval` on a 40-token prompt (the lane GEMMs) with 4 greedy tokens (the mat-vecs): logits at every
#     position and the tokens byte-identical with MOEVK_WEIGHT_ILV=1 and =0;
#   - the same at -ub 1 (every prompt token through the mat-vecs);
#   - the layout was applied: with the texel views off (MOEVK_WTEX=0: the GEMM falls back to matmul.comp, which
#     reads plain rows only) the interleaved run is refused with the layout named, and the plain one runs.
# CPU devices only (the layout is theirs): skipped elsewhere.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
"$CLI" devices 2>/dev/null | grep -qi "cpu" || skip "no CPU Vulkan device (the interleaved layout is for lavapipe's lane kernels)"
new_workdir
"$PY" -c "
import numpy as np
np.random.default_rng(7).integers(3, 200, 40).astype('<i4').tofile('$WORK/tok.i32')"

ev() { # model ilv out [args...]
    local m=$1 v=$2 o=$3
    shift 3
    MOEVK_WEIGHT_ILV=$v "$CLI" eval -m "$m" --tokens "$WORK/tok.i32" --kv-type f32 --dump-logits "$o.f32" --greedy 4 \
        --dump-tokens "$o.i32" "$@" >"$o.log" 2>&1 || { cat "$o.log"; die "moevk eval failed (MOEVK_WEIGHT_ILV=$v $*)"; }
}

for spec in qwen3vlmoe qwen3 qwen35moe gemma4 "qwen3vlmoe --tie-embeddings"; do
    read -r arch extra <<<"$spec"
    tag=$arch${extra:+-tied}
    "$PY" "$SRC/tools/gen_synthetic_model.py" --preset tiny --arch "$arch" ${extra:-} --text-only --dtype q8_0 \
        --out-prefix "$WORK/$tag-" >"$WORK/$tag.gen.log" 2>&1 || { cat "$WORK/$tag.gen.log"; die "gen_synthetic_model.py --arch $arch"; }
    m=$WORK/$tag-text.gguf
    for ub in 512 1; do
        ev "$m" 0 "$WORK/$tag-$ub-plain" -ub $ub
        ev "$m" 1 "$WORK/$tag-$ub-ilv" -ub $ub
        cmp -s "$WORK/$tag-$ub-plain.f32" "$WORK/$tag-$ub-ilv.f32" || die "$tag -ub $ub: logits differ with MOEVK_WEIGHT_ILV=1"
        cmp -s "$WORK/$tag-$ub-plain.i32" "$WORK/$tag-$ub-ilv.i32" || die "$tag -ub $ub: greedy tokens differ with MOEVK_WEIGHT_ILV=1"
        echo "ok: $tag -ub $ub: logits ($(stat -c %s "$WORK/$tag-$ub-ilv.f32") bytes) and 4 greedy tokens identical"
    done
    MOEVK_WTEX=0 ev "$m" 0 "$WORK/$tag-notex-plain"
    if MOEVK_WTEX=0 MOEVK_WEIGHT_ILV=1 "$CLI" eval -m "$m" --tokens "$WORK/tok.i32" --dump-logits "$WORK/x.f32" >"$WORK/x.log" 2>&1; then
        die "$tag: MOEVK_WEIGHT_ILV=1 MOEVK_WTEX=0 ran: were the weights interleaved at all?"
    fi
    grep -q "rows interleaved in groups of" "$WORK/x.log" || { cat "$WORK/x.log"; die "$tag: the refusal does not name the layout"; }
    echo "ok: $tag: interleaved (the storage-buffer GEMM refuses it: $(grep -o 'vk_op_[a-z_]*: w has rows interleaved in groups of [0-9]*' "$WORK/x.log" | head -1))"
done
echo "PASS"
