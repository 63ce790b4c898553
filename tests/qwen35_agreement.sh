#!/usr/bin/env bash
# qwen35_agreement.sh — moevk runs the qwen35moe / qwen35 families (engine/arch/qwen35.c: Gated DeltaNet
# layers, gated full attention, the shared expert, the recurrent state) on the files
# tools/gen_synthetic_model.py writes with llama.cpp's names:
#   A qwen35moe f32, 8 layers (the 3:1 DeltaNet/attention pattern twice), H_k 2 < H_v 4 (tiled V heads),
#     shared expert, attention.recurrent_layers written
#   B qwen35 (dense FFN) f32, 6 layers + 1 MTP block (skipped), tied embeddings, pattern from
#     full_attention_interval
# For each: `moevk eval --kv-type f32` logits at every prompt position (one prefill: the whole-prefill
# delta rule) and 16 greedy tokens (decode steps: one recurrent step per DeltaNet layer), against
#   - tools/qwen35_ref.py (numpy, float64, written from docs/families/qwen35.md): NMSE <= 1e-6, the
#     same argmax at every position;
#   - llama.cpp itself (CPU libllama of npm node-llama-cpp, bench/llama_ref.mjs, decoding step by step):
#     NMSE <= 1e-6, the same argmax everywhere, the 16 greedy tokens identical.
# C (the state carried right): a three-turn `moevk chat` on A (greedy, f32 KV) gives, at every position
#   of the conversation, the routing and the next token that one `moevk eval` prefill of the very
#   tokens the chat fed gives; then /clear and the first question again reproduce turn 0 exactly (the
#   state was reset).
# E: C again on a qwen35moe file with larger experts, the chat under a device-memory budget that makes
#   the experts stream (the prefill with every expert resident).
# (CI runs this e2e test again under MOEVK_FORCE_STAGING=1 and at subgroup sizes 4 and 16.)
# D (vision): A with its mmproj (qwen3vl_merger without DeepStack): `moevk caption` runs the image path
#   (image tokens in the routing record, an answer).
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

"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 8 --out-prefix "$WORK/a-" >/dev/null || die "gen qwen35moe"
"$PY" "$GEN" --arch qwen35 --preset tiny --layers 6 --nextn 1 --tie-embeddings --no-recurrent-array --text-only \
    --seed 7 --out-prefix "$WORK/b-" >/dev/null || die "gen qwen35"

make_prompt() { # model out.i32 -- <|im_start|> + 47 NORMAL tokens (fixed seed)
    "$PY" - "$SRC/tools" "$1" "$2" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2])
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(99)
ids = [toks.index("<|im_start|>")] + [normal[i] for i in rng.integers(0, len(normal), 47)]
np.asarray(ids, "<i4").tofile(sys.argv[3])
EOF
}

compare() { # name tokens ours ours_tokens ref llama llama_tokens
    "$PY" - "$@" <<'EOF'
import sys
import numpy as np
name, tokf, of, otf, rf, lf, ltf = sys.argv[1:8]
n = np.fromfile(tokf, "<i4").size
def load(f):
    a = np.fromfile(f, "<f4").astype(np.float64)
    if a.size == 0 or a.size % n:
        sys.exit("FAIL %s: %s has %d floats for %d positions" % (name, f, a.size, n))
    return a.reshape(n, -1)
O, R, L = load(of), load(rf), load(lf)
ot, lt = np.fromfile(otf, "<i4"), np.fromfile(ltf, "<i4")
ok = O.shape == R.shape == L.shape and bool(np.all(np.isfinite(O)))
for what, X in (("tools/qwen35_ref.py", R), ("llama.cpp", L)):
    nmse = ((O - X) ** 2).sum() / (X ** 2).sum()
    agree = int((O.argmax(1) == X.argmax(1)).sum())
    s = np.sort(X, 1)
    good = nmse <= 1e-6 and agree == n
    print("%s: moevk vs %s: logits NMSE %.3g (<= 1e-6), argmax agree %d/%d (min top1-top2 gap %.3g): %s"
          % (name, what, nmse, agree, n, (s[:, -1] - s[:, -2]).min(), "ok" if good else "FAIL"))
    ok &= good
good = ot.size == 16 and np.array_equal(ot, lt)
print("%s: greedy moevk %s / llama.cpp %s: %s" % (name, ot.tolist(), lt.tolist(), "ok" if good else "FAIL"))
sys.exit(0 if ok and good else 1)
EOF
}

for c in a b; do
    make_prompt "$WORK/$c-text.gguf" "$WORK/$c-p.i32"
    if ! "$CLI" eval -m "$WORK/$c-text.gguf" --tokens "$WORK/$c-p.i32" --kv-type f32 --dump-logits "$WORK/$c-o.f32" \
        --greedy 16 --dump-tokens "$WORK/$c-ot.i32" >"$WORK/$c-eval.log" 2>&1; then
        bad "$c: moevk eval failed"
        tail -5 "$WORK/$c-eval.log"
        continue
    fi
    "$PY" "$SRC/tools/qwen35_ref.py" "$WORK/$c-text.gguf" "$WORK/$c-p.i32" "$WORK/$c-r.f32" || { bad "$c: qwen35_ref.py"; continue; }
    if ! env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
        --model "$WORK/$c-text.gguf" --tokens "$WORK/$c-p.i32" --out-logits "$WORK/$c-l.f32" --greedy 16 \
        --out-tokens "$WORK/$c-lt.i32" >"$WORK/$c-llama.log" 2>&1; then
        bad "$c: llama.cpp did not run $c-text.gguf"
        tail -5 "$WORK/$c-llama.log"
        continue
    fi
    compare "$c" "$WORK/$c-p.i32" "$WORK/$c-o.f32" "$WORK/$c-ot.i32" "$WORK/$c-r.f32" "$WORK/$c-l.f32" "$WORK/$c-lt.i32" &&
        ok "$c: agrees with the numpy oracle and llama.cpp" || bad "$c: agreement"
done

# C / E: a three-turn chat equals one prefill of the tokens it fed; /clear resets the state.
# chat_vs_prefill TAG MODEL [ENV=VALUE...]: the chat runs under the given environment (E: a budget that
# streams experts), the prefill with every expert resident.
chat_vs_prefill() {
    local tag=$1 model=$2
    shift 2
    printf 'the cat\nand the dog\nwhere\n/clear\nthe cat\n' | env "$@" "$CLI" chat -m "$model" --kv-type f32 --temp 0 -n 6 \
        --routing "$WORK/$tag-clear.json" >"$WORK/$tag-clear.out" 2>"$WORK/$tag-clear.err" ||
        { bad "$tag: chat with /clear failed"; tail -5 "$WORK/$tag-clear.err"; return; }
    # the routing record after /clear is the new conversation: the three turns alone give the record
    printf 'the cat\nand the dog\nwhere\n' | env "$@" "$CLI" chat -m "$model" --kv-type f32 --temp 0 -n 6 \
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
# (tokens and routing weights: the conv state alone reaches the first K-1 positions)
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

# E: the same with the experts streaming (a budget between the minimum and everything resident):
# larger experts than A's, so that the smallest budget cannot hold them all
"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 4 --experts 32 --top-k 4 --ff-exp 128 --text-only --seed 11 \
    --out-prefix "$WORK/e-" >/dev/null || die "gen qwen35moe (streaming)"
printf '\1\0\0\0' >"$WORK/one.i32"
msg=$("$CLI" eval -m "$WORK/e-text.gguf" --tokens "$WORK/one.i32" --device-mem 1 2>&1)
if budget=$("$PY" - "$msg" <<'EOF'
import math, re, sys
m = re.search(r"minimum of ([0-9.]+) MiB: the resident set is ([0-9.]+) MiB.*all \d+ experts: ([0-9.]+) MiB", sys.argv[1], re.S)
if not m: sys.exit("no minimum in: " + sys.argv[1][-300:])
mn, res, allx = map(float, m.groups())
b = math.ceil(mn) + 1
if b >= res + allx: sys.exit("a budget of %d MiB holds every expert (resident %.1f + %.1f): nothing would stream" % (b, res, allx))
print(b)
EOF
); then
    chat_vs_prefill E "$WORK/e-text.gguf" MOEVK_DEVICE_MEM="$budget"
else
    bad "E: no budget that streams"
fi

# D: the image path with the mmproj without DeepStack
"$PY" - "$WORK/img.png" <<'EOF'
import struct, sys, zlib
import numpy as np
a = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
raw = b"".join(b"\0" + a[y].tobytes() for y in range(64))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
if "$CLI" caption -m "$WORK/a-text.gguf" --mmproj "$WORK/a-mmproj.gguf" --image "$WORK/img.png" --temp 0 -n 4 -p "what" \
    --routing "$WORK/img.json" >"$WORK/img.out" 2>"$WORK/img.err"; then
    "$PY" -c "
import json, sys
r = json.load(open('$WORK/img.json'))
ni = sum(t['kind'] == 'image' for t in r); ng = sum(t['kind'] == 'generated' for t in r)
print('D: %d image tokens, %d generated' % (ni, ng))
sys.exit(0 if ni > 0 and ng > 0 else 1)" && ok "D: text + image (mmproj without DeepStack)" || bad "D: image path"
else
    bad "D: caption failed"
    tail -5 "$WORK/img.err"
fi

[ $fails = 0 ] || { echo "FAIL: $fails check(s)"; exit 1; }
echo "PASS: moevk runs qwen35moe / qwen35 in agreement with the numpy oracle and llama.cpp"
