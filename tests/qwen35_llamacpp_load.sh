#!/usr/bin/env bash
# qwen35_llamacpp_load.sh — the qwen35moe / qwen35 files tools/gen_synthetic_model.py writes, run by
# llama.cpp itself (CPU build of npm node-llama-cpp, bench/llama_ref.mjs: logits at every prompt position
# and 8 greedy tokens decoded step by step). llama.cpp must accept each file (a refusal or an abort fails
# the test) and give finite, non-degenerate logits: every position's logits spread out (std > 0.05), not
# all positions alike, and more than one distinct argmax over the prompt. Cases:
#   A qwen35moe f32, 8 layers (the 3:1 DeltaNet/attention pattern twice), Hk 2 < Hv 4 (tiled V heads),
#     shared expert, attention.recurrent_layers written
#   B qwen35 (dense FFN) f32, 6 layers + 1 MTP block, tied embeddings, pattern from full_attention_interval
#   C qwen35moe q8_0, 5 layers + 1 MTP block
# For the f32 files (A, B) tools/qwen35_ref.py, our independent numpy forward written from
# docs/families/qwen35.md, must agree with llama.cpp: logits NMSE <= 1e-8 and the same argmax at every
# position; that pins every equation of the doc (and gives the engine an oracle for intermediate values).
# These files are the inputs of moevk's own qwen35 agreement tests; this one pins that they are valid
# llama.cpp models in the first place. (node-llama-cpp 3.22.1's llama.cpp aborts with GGML_ASSERT(buffer)
# on the d=64 tiny shape with 3 or 4 layers; 5 or more load.)
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_numpy
need_node_llama_cpp

new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 8 --out-prefix "$WORK/a-" >/dev/null
"$PY" "$GEN" --arch qwen35 --preset tiny --layers 6 --nextn 1 --tie-embeddings --no-recurrent-array --text-only \
    --seed 7 --out-prefix "$WORK/b-" >/dev/null
"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 5 --nextn 1 --dtype q8_0 --text-only --seed 9 \
    --out-prefix "$WORK/c-" >/dev/null
# a chat-shaped prompt: <|im_start|> user text <|im_end|> <|im_start|> assistant <think> </think> text
"$PY" -c "import numpy as np; np.array([297, 117, 120, 104, 101, 114, 298, 10, 297, 97, 115, 10, 304, 10, 305, 10, 84, 104, 101],
    dtype='<i4').tofile('$WORK/p.i32')"

fails=0
for c in a b c; do
    if ! env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
        --model "$WORK/$c-text.gguf" --tokens "$WORK/p.i32" --out-logits "$WORK/$c.f32" --greedy 8 \
        --out-tokens "$WORK/$c.tok" >"$WORK/$c.log" 2>&1; then
        echo "FAIL $c: llama.cpp did not run $c-text.gguf:"
        tail -5 "$WORK/$c.log"
        fails=$((fails + 1))
        continue
    fi
    ref=""
    if [ "$c" != c ]; then
        "$PY" "$SRC/tools/qwen35_ref.py" "$WORK/$c-text.gguf" "$WORK/p.i32" "$WORK/$c-ref.f32"
        ref="$WORK/$c-ref.f32"
    fi
    "$PY" - "$c" "$WORK/p.i32" "$WORK/$c.f32" "$WORK/$c.tok" $ref <<'PYEOF' || fails=$((fails + 1))
import sys
import numpy as np
name, tokf, lf, tf = sys.argv[1:5]
n = np.fromfile(tokf, "<i4").size
L = np.fromfile(lf, "<f4")
if L.size == 0 or L.size % n:
    sys.exit("FAIL %s: %d logits for %d positions" % (name, L.size, n))
L = L.reshape(n, -1).astype(np.float64)
V = L.shape[1]
g = np.fromfile(tf, "<i4")
std = L.std(1)
spread = np.abs(L - L[0]).max()
top = L.argmax(1)
ok = bool(np.all(np.isfinite(L))) and std.min() > 0.05 and spread > 1e-2 and len(set(top.tolist())) > 1 \
    and g.size == 8 and bool(np.all((g >= 0) & (g < V)))
print("%s: n_vocab %d, logit std min %.3g, max |row - row0| %.3g, distinct argmax %d/%d, greedy %s: %s"
      % (name, V, std.min(), spread, len(set(top.tolist())), n, g.tolist(), "ok" if ok else "FAIL"))
if len(sys.argv) > 5:
    R = np.fromfile(sys.argv[5], "<f4").astype(np.float64)
    if R.size != L.size:
        sys.exit("FAIL %s: tools/qwen35_ref.py wrote %d logits, llama.cpp %d" % (name, R.size, L.size))
    R = R.reshape(n, V)
    nmse = ((R - L) ** 2).sum() / (L ** 2).sum()
    agree = int((R.argmax(1) == top).sum())
    good = nmse <= 1e-8 and agree == n
    print("%s: tools/qwen35_ref.py vs llama.cpp: nmse %.3g (<= 1e-8), argmax agree %d/%d: %s"
          % (name, nmse, agree, n, "ok" if good else "FAIL"))
    ok = ok and good
sys.exit(0 if ok else 1)
PYEOF
done
[ "$fails" = 0 ] || die "$fails case(s) failed"
echo "PASS: llama.cpp runs the generated qwen35moe / qwen35 files"
