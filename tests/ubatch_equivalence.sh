#!/usr/bin/env bash
# ubatch_equivalence.sh — a prompt prefilled in micro-batches (-ub N, llama.cpp's n_ubatch) gives what one
# batch gives. On the golden Qwen3-VL MoE pair (tests/goldens): the golden multimodal prompt (a 6-token image
# run at positions 7..12) followed by text up to 240 tokens, through `moevk eval` at -ub 1, 4 (the image run
# spans micro-batches), 7, 64 and 512 (one batch); against the one-batch run:
#   - logits at every prompt position: NMSE <= 1e-10;
#   - routing at every position and layer: the same experts, weights within 1e-5 (float noise of other kernels at small micro-batches);
#   - 8 greedy tokens identical.
# And the scratch reserve no longer grows with the context: the budget error of a tiny --device-mem names the
# same scratch (within 0.1 MiB) at -c 64 and -c 256.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
have_goldens || skip "the golden pair is missing ($GOLD_A)"
new_workdir
G=$GOLD_A
"$PY" - "$G" "$WORK/tokens.i32" <<'PYEOF'
import sys
import numpy as np
g, out = sys.argv[1:3]
mm = np.fromfile(g + "/prompt_tokens.i32", dtype="<i4")
tx = np.fromfile(g + "/text_prompt_tokens.i32", dtype="<i4")
tok = list(mm)
while len(tok) < 240:
    tok += list(tx)
np.asarray(tok[:240], dtype="<i4").tofile(out)
PYEOF
run() { # ub
    "$CLI" eval -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 --validation \
        --tokens "$WORK/tokens.i32" --kv-type f32 -ub "$1" --dump-logits "$WORK/l$1.f32" --dump-routing-ids "$WORK/i$1.i32" \
        --dump-routing-weights "$WORK/w$1.f32" --greedy 8 --dump-tokens "$WORK/g$1.i32" >"$WORK/o$1.txt" 2>&1 ||
        { cat "$WORK/o$1.txt"; die "moevk eval -ub $1 failed"; }
}
for ub in 512 1 4 7 64; do run $ub; done
"$PY" - "$WORK" <<'PYEOF'
import sys
import numpy as np
w = sys.argv[1]
ld = lambda n, t: np.fromfile(w + "/" + n, dtype=t)
base = {k: ld(k + "512" + e, t) for k, e, t in (("l", ".f32", "<f4"), ("i", ".i32", "<i4"), ("w", ".f32", "<f4"), ("g", ".i32", "<i4"))}
fails = 0
for ub in (1, 4, 7, 64):
    l, i, wt, g = (ld(k + str(ub) + e, t) for k, e, t in (("l", ".f32", "<f4"), ("i", ".i32", "<i4"), ("w", ".f32", "<f4"), ("g", ".i32", "<i4")))
    nmse = float(np.sum((l.astype(np.float64) - base["l"]) ** 2) / np.sum(base["l"].astype(np.float64) ** 2))
    same_ids = np.array_equal(i, base["i"])
    dw = float(np.max(np.abs(wt - base["w"]))) if wt.size == base["w"].size else float("inf")
    same_g = np.array_equal(g, base["g"])
    ok = l.size == base["l"].size and nmse <= 1e-10 and same_ids and dw <= 1e-5 and same_g
    print("%s -ub %-3d logits NMSE %.2e, routing ids %s, weights max diff %.1e, greedy %s" %
          ("ok  " if ok else "FAIL", ub, nmse, "equal" if same_ids else "DIFFER", dw, "equal" if same_g else "DIFFER"))
    fails += not ok
sys.exit(1 if fails else 0)
PYEOF
# the scratch reserve is sized by the micro-batch, not the context: a budget too small to load names it, the
# same at -c 64 and -c 256 (text only; what still depends on -c is attention's key-side buffers, KiB here)
scratch() {
    { "$CLI" caption -m "$G/text.gguf" -p hi -n 1 --device-mem 1 -c "$1" -ub 32 2>&1 || true; } |
        sed -n 's/.*scratch reserve \([0-9.]*\).*/\1/p' | head -1
}
s64=$(scratch 64)
s256=$(scratch 256)
[ -n "$s64" ] && [ -n "$s256" ] && awk -v a="$s64" -v b="$s256" 'BEGIN{d=a-b; if (d<0) d=-d; exit !(d <= 0.1)}' ||
    die "the scratch reserve depends on -c: '$s64' MiB at -c 64, '$s256' MiB at -c 256"
echo "ok   scratch reserve $s64 MiB at -c 64, $s256 MiB at -c 256 (-ub 32)"
echo "PASS: micro-batches give one batch's logits, routing and greedy tokens"
