#!/usr/bin/env bash
# gemma4_agreement.sh — moevk runs the gemma4 family (engine/arch/gemma4.c: sliding-window and global attention
# layers with their own head dims and KV heads, V = K without attn_v, the weightless V norm, proportional RoPE
# through rope_freqs, the dense GeGLU MLP beside the GeGLU experts with their post-norms, the router's input
# scale, the per-expert output scale, layer_output_scale, text embeddings x sqrt(d), the logit soft-cap, tied
# embeddings) on the files tools/gen_synthetic_model.py writes with llama.cpp's names:
#   A gemma4 f32, 6 layers in a 2:1 sliding/global pattern (sliding hd 16 x 2 KV heads, global hd 32 x 1 KV
#     head, no attn_v there), window 16, 8 experts top-2
#   B gemma4 f32, 6 layers, one global layer (period 6) with attn_v, soft-cap 0 (none)
# The prompt (<bos> + 47 tokens) is longer than the window, and 16 greedy tokens run on past it.
# For each: `moevk eval --kv-type f32` logits at every prompt position (one prefill) and 16 greedy tokens
# (decode steps), against
#   - tools/gemma4_ref.py (numpy, float64, exact GELU, written from docs/families/gemma4.md): NMSE <= 1e-6,
#     the same argmax at every position;
#   - llama.cpp itself (CPU libllama of npm node-llama-cpp, bench/llama_ref.mjs, decoding step by step):
#     the same argmax everywhere, the 16 greedy tokens identical, NMSE <= 1e-5: llama.cpp's CPU GELU goes
#     through an f16 table (docs/families/gemma4.md §3), moevk's is exact, and that alone puts the two
#     1e-7..2e-6 apart on these files (tools/gemma4_ref.py, exact, is 2e-7..4e-6 from llama.cpp too; with
#     --gelu-f16, llama.cpp's rounding reproduced, 2e-8). The NMSE to the --gelu-f16 oracle is printed.
# C: a three-turn `moevk chat` on A (greedy, f32 KV) gives, at every position of the conversation, the
#   routing and the next token that one `moevk eval` prefill of the very tokens the chat fed gives; /clear
#   and the first question again reproduce turn 0. C-ring: the same with the chat's micro-batches of 8, so its
#   sliding layers keep 16 + 8 rows (engine/lm.c moves the last 15 to the front as the turns go on) while the
#   one prefill's hold the whole conversation.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_node_llama_cpp
new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --out-prefix "$WORK/a-" >/dev/null || die "gen gemma4 A"
"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --swa-period 6 --global-v --softcap 0 --seed 7 \
    --out-prefix "$WORK/b-" >/dev/null || die "gen gemma4 B"
# c: the released 26B-A4B's head dims (global 512 through the wide attention kernels, sliding 256); run by
# tests/gemma4_wide_agreement.sh (labelled slow: the hd-512 kernels take minutes to compile cold)
CASES="${GEMMA4_CASES:-a b}"
case " $CASES " in *" c "*)
"$PY" "$GEN" --arch gemma4 --preset tiny --layers 6 --head-dim 256 --head-dim-global 512 --seed 11 \
    --out-prefix "$WORK/c-" >/dev/null || die "gen gemma4 C" ;;
esac

make_prompt() { # model out.i32 -- <bos> + 47 NORMAL tokens (fixed seed)
    "$PY" - "$SRC/tools" "$1" "$2" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2])
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(99)
ids = [toks.index("<bos>")] + [normal[i] for i in rng.integers(0, len(normal), 47)]
np.asarray(ids, "<i4").tofile(sys.argv[3])
EOF
}

compare() { # name tokens ours ours_tokens ref ref_f16 llama llama_tokens [llama_limit]
    "$PY" - "$@" <<'EOF'
import sys
import numpy as np
name, tokf, of, otf, rf, r16, lf, ltf = sys.argv[1:9]
llim = float(sys.argv[9]) if len(sys.argv) > 9 else 1e-5
n = np.fromfile(tokf, "<i4").size
def load(f):
    a = np.fromfile(f, "<f4").astype(np.float64)
    if a.size == 0 or a.size % n:
        sys.exit("FAIL %s: %s has %d floats for %d positions" % (name, f, a.size, n))
    return a.reshape(n, -1)
O, R, R16, L = load(of), load(rf), load(r16), load(lf)
ot, lt = np.fromfile(otf, "<i4"), np.fromfile(ltf, "<i4")
ok = O.shape == R.shape == L.shape and bool(np.all(np.isfinite(O)))
for what, X, lim in (("tools/gemma4_ref.py (exact GELU)", R, 1e-6), ("llama.cpp (f16-table GELU)", L, llim),
                     ("tools/gemma4_ref.py --gelu-f16", R16, None)):
    nmse = ((O - X) ** 2).sum() / (X ** 2).sum()
    agree = int((O.argmax(1) == X.argmax(1)).sum())
    s = np.sort(X, 1)
    good = lim is None or (nmse <= lim and agree == n)
    print("%s: moevk vs %s: logits NMSE %.3g%s, argmax agree %d/%d (min top1-top2 gap %.3g): %s"
          % (name, what, nmse, " (<= %g)" % lim if lim else " (measured)", agree, n, (s[:, -1] - s[:, -2]).min(),
             "ok" if good else "FAIL"))
    ok &= good
# where llama.cpp is held to a looser bound, its distance must be its own GELU table's: the oracle with that
# rounding agrees with llama.cpp
if llim > 1e-5:
    nmse = ((R16 - L) ** 2).sum() / (L ** 2).sum()
    good = nmse <= 1e-6
    print("%s: tools/gemma4_ref.py --gelu-f16 vs llama.cpp: logits NMSE %.3g (<= 1e-06): %s" % (name, nmse, "ok" if good else "FAIL"))
    ok &= good
good = ot.size == 16 and np.array_equal(ot, lt)
print("%s: greedy moevk %s / llama.cpp %s: %s" % (name, ot.tolist(), lt.tolist(), "ok" if good else "FAIL"))
sys.exit(0 if ok and good else 1)
EOF
}

for c in $CASES; do
    make_prompt "$WORK/$c-text.gguf" "$WORK/$c-p.i32"
    if ! "$CLI" eval -m "$WORK/$c-text.gguf" --tokens "$WORK/$c-p.i32" --kv-type f32 --dump-logits "$WORK/$c-o.f32" \
        --greedy 16 --dump-tokens "$WORK/$c-ot.i32" >"$WORK/$c-eval.log" 2>&1; then
        bad "$c: moevk eval failed"
        tail -5 "$WORK/$c-eval.log"
        continue
    fi
    "$PY" "$SRC/tools/gemma4_ref.py" "$WORK/$c-text.gguf" "$WORK/$c-p.i32" "$WORK/$c-r.f32" || { bad "$c: gemma4_ref.py"; continue; }
    "$PY" "$SRC/tools/gemma4_ref.py" "$WORK/$c-text.gguf" "$WORK/$c-p.i32" "$WORK/$c-r16.f32" --gelu-f16 ||
        { bad "$c: gemma4_ref.py --gelu-f16"; continue; }
    if ! env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
        --model "$WORK/$c-text.gguf" --tokens "$WORK/$c-p.i32" --out-logits "$WORK/$c-l.f32" --greedy 16 \
        --out-tokens "$WORK/$c-lt.i32" >"$WORK/$c-llama.log" 2>&1; then
        bad "$c: llama.cpp did not run $c-text.gguf"
        tail -5 "$WORK/$c-llama.log"
        continue
    fi
    # C's 512-wide heads carry larger activations through the GELU: llama.cpp's f16 table moves the logits ~1e-4
    compare "$c" "$WORK/$c-p.i32" "$WORK/$c-o.f32" "$WORK/$c-ot.i32" "$WORK/$c-r.f32" "$WORK/$c-r16.f32" "$WORK/$c-l.f32" \
        "$WORK/$c-lt.i32" "$([ "$c" = c ] && echo 2e-4 || echo 1e-5)" && ok "$c: agrees with the numpy oracle and llama.cpp" || bad "$c: agreement"
done

# C: a three-turn chat equals one prefill of the tokens it fed; /clear starts over.
# chat_vs_prefill TAG MODEL [ENV=VALUE...]; CHAT_UB: the chat's -ub (default: the CLI's)
chat_vs_prefill() {
    local tag=$1 model=$2 ub=()
    shift 2
    [ -n "${CHAT_UB:-}" ] && ub=(-ub "$CHAT_UB")
    printf 'the cat\nand the dog\nwhere\n/clear\nthe cat\n' | env "$@" "$CLI" chat -m "$model" --kv-type f32 --temp 0 -n 6 "${ub[@]}" \
        --routing "$WORK/$tag-clear.json" >"$WORK/$tag-clear.out" 2>"$WORK/$tag-clear.err" ||
        { bad "$tag: chat with /clear failed"; tail -5 "$WORK/$tag-clear.err"; return; }
    # the routing record after /clear is the new conversation: the three turns alone give the record
    printf 'the cat\nand the dog\nwhere\n' | env "$@" "$CLI" chat -m "$model" --kv-type f32 --temp 0 -n 6 "${ub[@]}" \
        --routing "$WORK/$tag-chat.json" >"$WORK/$tag-chat.out" 2>"$WORK/$tag-chat.err" ||
        { bad "$tag: chat failed"; tail -5 "$WORK/$tag-chat.err"; return; }
    "$PY" -c "
import json, sys, numpy as np
np.asarray([t['token'] for t in json.load(open(sys.argv[1]))], '<i4').tofile(sys.argv[2])" "$WORK/$tag-chat.json" "$WORK/$tag-all.i32"
    "$CLI" eval -m "$model" --tokens "$WORK/$tag-all.i32" --kv-type f32 --dump-logits "$WORK/$tag-all.f32" \
        --dump-routing-ids "$WORK/$tag-all.ids" --dump-routing-weights "$WORK/$tag-all.w" >"$WORK/$tag-all.log" 2>&1 ||
        { bad "$tag: eval of the chat's tokens"; tail -5 "$WORK/$tag-all.log"; return; }
    "$PY" - "$tag" "$WORK/$tag-chat.json" "$WORK/$tag-clear.json" "$WORK/$tag-all.f32" "$WORK/$tag-all.ids" "$WORK/$tag-all.w" <<'EOF' &&
import json, sys
import numpy as np
tag = sys.argv[1]
chat, after = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
n = len(chat)
L = np.fromfile(sys.argv[4], "<f4").reshape(n, -1)
nl = len(chat[0]["layers"]); k = len(chat[0]["layers"][0]["experts"])
ids = np.fromfile(sys.argv[5], "<i4").reshape(nl, n, k)
w = np.fromfile(sys.argv[6], "<f4").reshape(nl, n, k)
bad = []
turns = sorted(set(t["turn"] for t in chat))
if turns != [0, 1, 2]: bad.append("turns %s, want [0, 1, 2]" % turns)
gen = [i for i, t in enumerate(chat) if t["kind"] == "generated"]
if len(gen) < 6: bad.append("only %d generated tokens" % len(gen))
for i in gen:
    if i > 0 and int(L[i - 1].argmax()) != chat[i]["token"]:
        bad.append("position %d: the chat generated %d, the prefill's argmax is %d" % (i, chat[i]["token"], int(L[i - 1].argmax())))
dw = 0.0
for i, t in enumerate(chat):
    ci = np.array([l["experts"] for l in t["layers"]])
    cw = np.array([l["weights"] for l in t["layers"]], dtype=np.float64)
    if not np.array_equal(ci, ids[:, i, :]):
        bad.append("position %d: routing %s, prefill %s" % (i, ci.tolist(), ids[:, i, :].tolist()))
    dw = max(dw, float(np.abs(cw - w[:, i, :]).max()))
if dw > 1e-4: bad.append("routing weights differ by %.3g" % dw)
# after /clear: the first question again, from an empty state, gives turn 0 again
# (tokens and routing weights)
t0 = [(t["token"], t["kind"]) for t in chat if t["turn"] == 0]
a0 = [(t["token"], t["kind"]) for t in after]
if len(a0) < len(t0) - 1 or a0 != t0[:len(a0)]:
    bad.append("after /clear: %s, turn 0 was %s" % ([t[0] for t in a0], [t[0] for t in t0]))
wc = max(abs(x - y) for ta, tc in zip(after, chat) for la, lc in zip(ta["layers"], tc["layers"])
         for x, y in zip(la["weights"], lc["weights"]))
if wc > 1e-6: bad.append("after /clear: routing weights differ from turn 0's by %.3g" % wc)
for b in bad[:8]: print("FAIL %s:" % tag, b)
print("%s: %d positions, 3 turns, %d generated, routing weights max|d| %.3g" % (tag, n, len(gen), dw))
sys.exit(1 if bad else 0)
EOF
        ok "$tag: three turns = one prefill (routing and next token at every position); /clear resets" ||
        bad "$tag: chat vs prefill"
}
chat_vs_prefill C "$WORK/a-text.gguf"
CHAT_UB=8 chat_vs_prefill C-ring "$WORK/a-text.gguf"

[ "$fails" = 0 ] || die "$fails check(s) failed"
echo "PASS: gemma4 agrees with tools/gemma4_ref.py and llama.cpp; a chat equals one prefill"
