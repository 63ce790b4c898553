#!/usr/bin/env bash
# gemma4_refusals.sh — the gemma4 files moevk does not run are refused at load with a message naming what is
# missing (engine/arch/gemma4.c read_hparams, docs/families/gemma4.md §8), on a tiny file of
# tools/gen_synthetic_model.py with one key changed by tools/gguf/set_keys.py:
#   - embedding_length_per_layer_input > 0 (Gemma 4 E2B/E4B): "per-layer embeddings";
#   - attention.shared_kv_layers > 0 (E2B/E4B): "shared-KV layers";
#   - the file as written loads (`moevk plan` exits 0), so the refusals come from the keys.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
new_workdir
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch gemma4 --preset tiny --layers 3 --out-prefix "$WORK/g-" >/dev/null ||
    die "gen gemma4"
"$CLI" plan -m "$WORK/g-text.gguf" >"$WORK/ok.log" 2>&1 || { tail -5 "$WORK/ok.log"; die "moevk plan refuses the plain file"; }
fails=0
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
echo "PASS: gemma4 E2B/E4B files are refused, naming per-layer embeddings / shared-KV layers"
