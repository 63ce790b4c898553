#!/usr/bin/env bash
# gemma4_llamacpp_load.sh — the gemma4 files tools/gen_synthetic_model.py writes, run by llama.cpp itself
# (CPU build of npm node-llama-cpp, bench/llama_ref.mjs: logits at every prompt position and 8 greedy tokens
# decoded step by step). llama.cpp must accept each file (a refusal or an abort fails the test) and give
# finite, non-degenerate logits (every row spread out, rows differ, more than one argmax over the prompt).
# For the f32 files tools/gemma4_ref.py, our numpy forward written from docs/families/gemma4.md, must
# agree with llama.cpp: with --gelu-f16 (llama.cpp's CPU GELU through its f16 table) logits NMSE <= 1e-7
# and the same argmax at every position, which pins every equation of the doc (the rest is float32 against
# float64, and inputs at an f16 rounding boundary going one way or the other); the exact-GELU reference's
# distance to llama.cpp is printed (it is what an exact-GELU engine can reach against llama.cpp CPU).
# Cases (the prompt of 48 tokens is longer than the window of 16, so the sliding window masks keys):
#   A gemma4 f32, 6 layers in a 2:1 sliding/global pattern, sliding hd 16 x 2 KV heads, global hd 32 x 1 KV
#     head without attn_v (V = K), 8 experts top-2, every optional tensor of the 26B layout
#   B gemma4 f32, 6 layers, period 6 (one global layer), attn_v on the global layer too, softcap 0 (none)
#   C gemma4 q8_0 (as A)
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_numpy
need_node_llama_cpp

new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --out-prefix "$WORK/a-" >/dev/null
"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --swa-period 6 --global-v --softcap 0 --seed 7 \
    --out-prefix "$WORK/b-" >/dev/null
"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --dtype q8_0 --seed 9 --out-prefix "$WORK/c-" >/dev/null
# a chat-shaped prompt in the files' vocabulary: <bos><|turn>user\n TEXT <turn|>\n<|turn>model\n<|channel>thought\n<channel|>
"$PY" -c "
import sys; sys.path.insert(0, '$SRC/tools')
from gguf.gguf_reader import GGUFReader
import numpy as np
toks = GGUFReader('$WORK/a-text.gguf').kv['tokenizer.ggml.tokens']
ids = {t: i for i, t in enumerate(toks)}
seq = ['<bos>', '<|turn>'] + list('user') + ['\n'] + list('The\u2581cat\u2581sat\u2581on\u2581the\u2581mat.') + ['<turn|>', '\n', '<|turn>'] \
    + list('model') + ['\n', '<|channel>'] + list('thought') + ['\n', '<channel|>']
np.array([ids[s] for s in seq], dtype='<i4').tofile('$WORK/p.i32')
"

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
    refs=""
    if [ "$c" != c ]; then
        "$PY" "$SRC/tools/gemma4_ref.py" "$WORK/$c-text.gguf" "$WORK/p.i32" "$WORK/$c-ref16.f32" --gelu-f16
        "$PY" "$SRC/tools/gemma4_ref.py" "$WORK/$c-text.gguf" "$WORK/p.i32" "$WORK/$c-ref.f32"
        refs="$WORK/$c-ref16.f32 $WORK/$c-ref.f32"
    fi
    "$PY" - "$c" "$WORK/p.i32" "$WORK/$c.f32" "$WORK/$c.tok" $refs <<'PYEOF' || fails=$((fails + 1))
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
    for what, path, lim in (("tools/gemma4_ref.py --gelu-f16", sys.argv[5], 1e-7), ("tools/gemma4_ref.py (exact GELU)", sys.argv[6], None)):
        R = np.fromfile(path, "<f4").astype(np.float64)
        if R.size != L.size:
            sys.exit("FAIL %s: %s wrote %d logits, llama.cpp %d" % (name, what, R.size, L.size))
        R = R.reshape(n, V)
        nmse = ((R - L) ** 2).sum() / (L ** 2).sum()
        agree = int((R.argmax(1) == top).sum())
        good = lim is None or (nmse <= lim and agree == n)
        print("%s: %s vs llama.cpp: nmse %.3g%s, argmax agree %d/%d: %s"
              % (name, what, nmse, " (<= %g)" % lim if lim else " (measured)", agree, n, "ok" if good else "FAIL"))
        ok = ok and good
sys.exit(0 if ok else 1)
PYEOF
done
[ "$fails" = 0 ] || die "$fails case(s) failed"
echo "PASS: llama.cpp runs the generated gemma4 files; tools/gemma4_ref.py agrees with it"
