#!/usr/bin/env bash
# gemma4_merged.sh — gemma4 files whose MoE layers carry the merged ffn_gate_up_exps [d, 2*ff_exp, experts] (each
# expert's gate rows, then its up rows; llama.cpp src/models/gemma4.cpp, build_moe_ffn's gate_up path) instead of
# ffn_gate_exps / ffn_up_exps. tools/gen_synthetic_model.py --merged-gate-up writes the very weights it writes
# without the flag (same seed), F32 and Q8_0; 6 layers in a 2:1 sliding/global pattern, 32 experts top-4 of 128.
# For each type, over <bos> + 47 tokens and 16 greedy tokens:
#   - moevk on the merged file (gate and up read as views of its halves) = moevk on the separate one: the same
#     logits (NMSE <= 1e-12) and greedy tokens;
#   - llama.cpp (CPU libllama of npm node-llama-cpp) on the merged file = llama.cpp on the separate one (the same
#     logits exactly: both read the layout alike);
#   - F32: moevk on the merged file against llama.cpp on it: the same argmax at every position, the 16 greedy
#     tokens identical, NMSE <= 1e-5 (llama.cpp's f16-table GELU: gemma4.md §3);
#   - against tools/gemma4_ref.py (exact GELU, reading the merged tensor; Q8_0 dequantized): NMSE <= 1e-6, the
#     same argmax. Q8_0 against llama.cpp is printed, not bounded: it is 2e-2 here, on the separate file as much
#     as on the merged one, while moevk is 5e-11 from the oracle on the same bytes; llama.cpp's CPU rounds the
#     activations to 8 bits before a Q8_0 matmul (vec_dot_q8_0_q8_0), which would flip near-tie routes of these
#     32 experts (router gain 4) -- our reading, not verified here;
#   - F32 with the experts streaming (expert_cache.c copies each expert's halves into the gate and up pools; a
#     budget between the minimum and everything resident) = resident.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_node_llama_cpp
new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
G=(--arch gemma4 --preset tiny --layers 6 --experts 32 --top-k 4 --ff-exp 128 --seed 13)
for dt in f32 q8_0; do
    "$PY" "$GEN" "${G[@]}" --dtype "$dt" --out-prefix "$WORK/s-$dt-" >/dev/null || die "gen gemma4 $dt"
    "$PY" "$GEN" "${G[@]}" --dtype "$dt" --merged-gate-up --out-prefix "$WORK/m-$dt-" >/dev/null || die "gen gemma4 $dt merged"
done
"$PY" - "$SRC/tools" "$WORK/m-f32-text.gguf" "$WORK/p.i32" <<'EOF' || die "prompt"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2])
assert "blk.0.ffn_gate_up_exps.weight" in r.tensors and "blk.0.ffn_gate_exps.weight" not in r.tensors
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(31)
ids = [toks.index("<bos>")] + [normal[i] for i in rng.integers(0, len(normal), 47)]
np.asarray(ids, "<i4").tofile(sys.argv[3])
EOF

run() { # tag model [env...]
    local tag=$1 model=$2
    shift 2
    env "$@" "$CLI" eval -m "$model" --tokens "$WORK/p.i32" --kv-type f32 --dump-logits "$WORK/$tag.f32" --greedy 16 \
        --dump-tokens "$WORK/$tag-t.i32" >"$WORK/$tag.log" 2>&1 || { tail -5 "$WORK/$tag.log"; die "moevk eval ($tag)"; }
}
for dt in f32 q8_0; do
    run "s-$dt" "$WORK/s-$dt-text.gguf"
    run "m-$dt" "$WORK/m-$dt-text.gguf"
    for f in s m; do
        env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
            --model "$WORK/$f-$dt-text.gguf" --tokens "$WORK/p.i32" --out-logits "$WORK/l$f-$dt.f32" --greedy 16 \
            --out-tokens "$WORK/l$f-$dt-t.i32" >"$WORK/llama-$f-$dt.log" 2>&1 ||
            { tail -5 "$WORK/llama-$f-$dt.log"; die "llama.cpp ($f $dt)"; }
    done
    "$PY" "$SRC/tools/gemma4_ref.py" "$WORK/m-$dt-text.gguf" "$WORK/p.i32" "$WORK/r-$dt.f32" || die "gemma4_ref.py ($dt)"
done

# the experts streaming: a budget above the minimum that cannot hold every expert
printf '\1\0\0\0' >"$WORK/one.i32"
msg=$("$CLI" eval -m "$WORK/m-f32-text.gguf" --tokens "$WORK/one.i32" --device-mem 1 2>&1)
budget=$("$PY" - "$msg" <<'EOF'
import math, re, sys
m = re.search(r"minimum of ([0-9.]+) MiB: the resident set is ([0-9.]+) MiB.*all \d+ experts: ([0-9.]+) MiB", sys.argv[1], re.S)
if not m: sys.exit("no minimum in: " + sys.argv[1][-300:])
mn, res, allx = map(float, m.groups())
b = math.ceil(mn) + 1
if b >= res + allx: sys.exit("a budget of %d MiB holds every expert (resident %.1f + %.1f): nothing would stream" % (b, res, allx))
print(b)
EOF
) || die "no budget that streams the experts"
run "x-f32" "$WORK/m-f32-text.gguf" MOEVK_DEVICE_MEM="$budget"

"$PY" - "$WORK" <<'EOF' || die "the merged ffn_gate_up_exps disagrees"
import sys
import numpy as np
w = sys.argv[1]
n = np.fromfile(w + "/p.i32", "<i4").size
def L(tag):
    a = np.fromfile("%s/%s.f32" % (w, tag), "<f4").astype(np.float64)
    if a.size == 0 or a.size % n:
        sys.exit("FAIL %s.f32 has %d floats for %d positions" % (tag, a.size, n))
    return a.reshape(n, -1)
def T(tag): return np.fromfile("%s/%s-t.i32" % (w, tag), "<i4")
ok = True
def check(what, a, b, lim, tokens=True):
    global ok
    O, X = L(a), L(b)
    nmse = ((O - X) ** 2).sum() / (X ** 2).sum()
    agree = int((O.argmax(1) == X.argmax(1)).sum())
    good = bool(np.all(np.isfinite(O))) and (lim is None or (nmse <= lim and agree == n))
    msg = "%s: logits NMSE %.3g%s, argmax agree %d/%d" % (what, nmse, " (<= %g)" % lim if lim is not None else " (measured)",
                                                        agree, n)
    if tokens:
        same = T(a).size == 16 and np.array_equal(T(a), T(b))
        good &= same or lim is None
        msg += ", greedy %s" % ("identical" if same else "%s vs %s" % (T(a).tolist(), T(b).tolist()))
    print(msg + (": ok" if good else ": FAIL"))
    ok &= good
for dt in ("f32", "q8_0"):
    check("%s: moevk merged vs moevk separate" % dt, "m-" + dt, "s-" + dt, 1e-12)
    check("%s: llama.cpp merged vs llama.cpp separate" % dt, "lm-" + dt, "ls-" + dt, 0.0)
    check("%s: moevk merged vs llama.cpp merged" % dt, "m-" + dt, "lm-" + dt, 1e-5 if dt == "f32" else None)
    check("%s: moevk merged vs tools/gemma4_ref.py (exact GELU)" % dt, "m-" + dt, "r-" + dt, 1e-6, tokens=False)
check("f32: moevk merged, experts streaming vs resident", "x-f32", "m-f32", 1e-12)
sys.exit(0 if ok else 1)
EOF
echo "PASS: gemma4's merged ffn_gate_up_exps (F32, Q8_0, resident and streaming) = the separate stacks, and agrees with llama.cpp"
