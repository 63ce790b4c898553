#!/usr/bin/env bash
# weight_ilv.sh — the row-interleaved weight layout (the default on CPU devices; docs/QUANT_LAYOUTS.md "Interleaved rows")
# gives the plain layout's results bit for bit: the same kernels' arithmetic in the same order, only the addresses
# differ. Per text architecture (random-weight Q8_0 models of tools/gen_synthetic_model.py's tiny preset: MoE and
# dense FFNs, Gated DeltaNet layers, Gemma 4's tied embeddings and GeGLU; a qwen3vlmoe with tied embeddings):
#   - `moevk eval` on a 40-token prompt (the lane GEMMs) with 4 greedy tokens (the mat-vecs): logits at every
#     position and the tokens byte-identical by default and with MOEVK_WEIGHT_ILV=0;
#   - the same at -ub 1 (every prompt token through the mat-vecs);
#   - the layout was applied: by default (MOEVK_WEIGHT_ILV unset) `moevk eval` reports the rows interleaved by
#     the subgroup size, and with =0 it does not;
#   - an A/B switch that hands the GEMMs to a kernel reading plain rows only (MOEVK_WTEX=0: matmul.comp) keeps
#     the rows plain, and the run goes through;
#   - streamed experts (a budget below the experts' size): the same logits and tokens as the resident plain run.
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
    if [ "$v" = default ]; then unset MOEVK_WEIGHT_ILV; else export MOEVK_WEIGHT_ILV=$v; fi
    "$CLI" eval -m "$m" --tokens "$WORK/tok.i32" --kv-type f32 --dump-logits "$o.f32" --greedy 4 \
        --dump-tokens "$o.i32" "$@" >"$o.log" 2>&1 || { cat "$o.log"; die "moevk eval failed (MOEVK_WEIGHT_ILV=$v $*)"; }
    unset MOEVK_WEIGHT_ILV
}

for spec in qwen3vlmoe qwen3 qwen35moe gemma4 "qwen3vlmoe --tie-embeddings"; do
    read -r arch extra <<<"$spec"
    tag=$arch${extra:+-tied}
    "$PY" "$SRC/tools/gen_synthetic_model.py" --preset tiny --arch "$arch" ${extra:-} --text-only --dtype q8_0 \
        --out-prefix "$WORK/$tag-" >"$WORK/$tag.gen.log" 2>&1 || { cat "$WORK/$tag.gen.log"; die "gen_synthetic_model.py --arch $arch"; }
    m=$WORK/$tag-text.gguf
    for ub in 512 1; do
        ev "$m" 0 "$WORK/$tag-$ub-plain" -ub $ub
        ev "$m" default "$WORK/$tag-$ub-ilv" -ub $ub
        cmp -s "$WORK/$tag-$ub-plain.f32" "$WORK/$tag-$ub-ilv.f32" || die "$tag -ub $ub: logits differ between interleaved rows (default) and MOEVK_WEIGHT_ILV=0"
        cmp -s "$WORK/$tag-$ub-plain.i32" "$WORK/$tag-$ub-ilv.i32" || die "$tag -ub $ub: greedy tokens differ between interleaved rows (default) and MOEVK_WEIGHT_ILV=0"
        g=$(sed -n 's/^eval: quantised weights stored with rows interleaved by \([0-9]*\)$/\1/p' "$WORK/$tag-$ub-ilv.log")
        [ -n "$g" ] && [ "$g" -ge 4 ] || { cat "$WORK/$tag-$ub-ilv.log"; die "$tag: the default run did not interleave the rows"; }
        ! grep -q "interleaved" "$WORK/$tag-$ub-plain.log" || die "$tag: MOEVK_WEIGHT_ILV=0 still interleaved the rows"
        echo "ok: $tag -ub $ub: logits ($(stat -c %s "$WORK/$tag-$ub-ilv.f32") bytes) and 4 greedy tokens identical, rows interleaved by $g"
    done
    MOEVK_WTEX=0 ev "$m" default "$WORK/$tag-notex"
    ! grep -q "interleaved" "$WORK/$tag-notex.log" || die "$tag: MOEVK_WTEX=0 (matmul.comp) and the rows were interleaved"
    echo "ok: $tag: MOEVK_WTEX=0 keeps the rows plain (matmul.comp, which reads plain rows only, runs)"
done

# streamed experts (the expert cache's slots, interleaved on the host as each expert is fetched: expert_cache.c
# fetch_into): a Q8_0 MoE whose experts do not all fit the budget, at the smallest budget it loads with, gives
# the resident plain run's logits and tokens byte for byte; `bench model` at that budget shows experts streamed
"$PY" "$SRC/tools/gen_synthetic_model.py" --preset tiny --arch qwen3vlmoe --text-only --dtype q8_0 --layers 2 \
    --experts 8 --top-k 2 --embd 256 --ff-exp 512 --out-prefix "$WORK/xs-" >"$WORK/xs.gen.log" 2>&1 ||
    { cat "$WORK/xs.gen.log"; die "gen_synthetic_model.py (the streaming model)"; }
m=$WORK/xs-text.gguf
msg=$("$CLI" eval -m "$m" --tokens "$WORK/tok.i32" --device-mem 1 2>&1 || true)
min=$(sed -n 's/.*below this model.s minimum of \([0-9.]*\) MiB.*/\1/p' <<<"$msg")
[ -n "$min" ] || { echo "$msg"; die "no minimum budget in the error of --device-mem 1"; }
budget=$(( ${min%.*} + 1 ))
ev "$m" 0 "$WORK/xs-plain"
ev "$m" default "$WORK/xs-stream" --device-mem $budget
grep -q "interleaved" "$WORK/xs-stream.log" || { cat "$WORK/xs-stream.log"; die "streaming: the rows were not interleaved"; }
cmp -s "$WORK/xs-plain.f32" "$WORK/xs-stream.f32" || die "streamed interleaved experts (--device-mem $budget): logits differ from the resident plain run"
cmp -s "$WORK/xs-plain.i32" "$WORK/xs-stream.i32" || die "streamed interleaved experts (--device-mem $budget): greedy tokens differ"
"$CLI" bench model -m "$m" -p 40 -n 4 --reps 1 -c 256 --device-mem $budget >"$WORK/xs-bench.log" 2>&1 ||
    { cat "$WORK/xs-bench.log"; die "moevk bench model --device-mem $budget failed"; }
mib=$(sed -n 's/^expert cache: hit rate [0-9.]*%, \([0-9.]*\) MiB streamed per token.*/\1/p' "$WORK/xs-bench.log")
awk -v x="${mib:-0}" 'BEGIN{exit !(x > 0)}' || { cat "$WORK/xs-bench.log"; die "--device-mem $budget streamed no experts: the case tests nothing"; }
echo "ok: streamed interleaved experts (--device-mem $budget of minimum $min MiB, $mib MiB streamed a token): logits and tokens identical to the resident plain run"
echo "PASS"
