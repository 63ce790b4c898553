#!/usr/bin/env bash
# gemma4_layer_info.sh — what moevk says about a gemma4 file's layers, on a tiny file of
# tools/gen_synthetic_model.py (3 layers: sliding, sliding, global; every layer routed):
#   - `moevk eval --layers` (moevk_moe_layer_info / moevk_moe_layer_ffn, what moevk-view names in its heatmap
#     and overlay labels): MoE layers 0-2 are layers 0-2, sliding-window attention on 0 and 1, attention on 2,
#     each with its routed experts beside a dense GeGLU MLP;
#   - the files moevk does not run are refused at load with a message naming what is missing
#     (engine/arch/gemma4.c read_hparams, docs/families/gemma4.md §8), the file with one key changed by
#     tools/gguf/set_keys.py: embedding_length_per_layer_input > 0 (Gemma 4 E2B/E4B): "per-layer embeddings";
#     attention.shared_kv_layers > 0 (E2B/E4B): "shared-KV layers" (the file as written loads).
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
new_workdir
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch gemma4 --preset tiny --layers 3 --out-prefix "$WORK/g-" >/dev/null ||
    die "gen gemma4"
"$CLI" plan -m "$WORK/g-text.gguf" >"$WORK/ok.log" 2>&1 || { tail -5 "$WORK/ok.log"; die "moevk plan refuses the plain file"; }
fails=0
printf '\2\0\0\0' >"$WORK/one.i32"
"$CLI" eval -m "$WORK/g-text.gguf" --tokens "$WORK/one.i32" --layers >"$WORK/layers.txt" 2>"$WORK/layers.err" ||
    { tail -5 "$WORK/layers.err"; die "moevk eval --layers"; }
printf '%s\n' "MoE layer 0: layer 0, sliding-window attention, the routed experts beside a dense GeGLU MLP" \
    "MoE layer 1: layer 1, sliding-window attention, the routed experts beside a dense GeGLU MLP" \
    "MoE layer 2: layer 2, attention, the routed experts beside a dense GeGLU MLP" >"$WORK/want.txt"
if diff "$WORK/want.txt" <(grep '^MoE layer' "$WORK/layers.txt"); then
    echo "ok   layers: sliding / global attention and the dense MLP beside the MoE, named per MoE layer"
else
    echo "FAIL layers: moevk eval --layers (above: want < > got)"
    fails=$((fails + 1))
fi
refuse() { # tag key value expected-text
    "$PY" "$SRC/tools/gguf/set_keys.py" "$WORK/g-text.gguf" "$WORK/$1.gguf" --u32 "gemma4.$2=$3" >/dev/null ||
        die "set_keys $2"
    if "$CLI" plan -m "$WORK/$1.gguf" >"$WORK/$1.log" 2>&1; then
        echo "FAIL $1: $2 = $3 loads"
        fails=$((fails + 1))
    elif grep -q "$4" "$WORK/$1.log"; then
        echo "ok   $1: $(grep -m1 "$4" "$WORK/$1.log")"
    else
        echo "FAIL $1: the message does not say '$4':"
        tail -3 "$WORK/$1.log"
        fails=$((fails + 1))
    fi
}
refuse ple embedding_length_per_layer_input 256 "per-layer embeddings"
refuse skv attention.shared_kv_layers 2 "shared-KV layers"
[ "$fails" = 0 ] || die "$fails refusal(s) wrong"
echo "PASS: gemma4's layers are named (sliding/global attention, dense MLP beside the MoE); E2B/E4B files are refused by name"
