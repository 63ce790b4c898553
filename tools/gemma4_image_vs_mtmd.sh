#!/usr/bin/env bash
# gemma4_image_vs_mtmd.sh — a diagnostic, not (yet) a ctest: an image inside a gemma4 prompt against llama.cpp
# through libmtmd (run by hand: MOEVK_BINARY_DIR=build bash tools/gemma4_image_vs_mtmd.sh [--seed N ...gen flags])
# (bench/node/mtmd/mtmd_chat_ref: mtmd_tokenize wraps the image in <|image> ... <image|>, mtmd_helper evaluates the
# image chunk with causal attention off, which llama.cpp applies on the sliding layers only, SWA_ONLY; the text after
# the image is then decoded as one batch with logits at every token, then 16 greedy tokens one at a time).
# moevk gets the same token ids (the harness prints its chunks) with the image rows at the <|image|> pads, and must
# give: logits at every text position after the image within NMSE 1e-5 of llama.cpp's (llama.cpp's CPU GELU in the
# text model reads an f16 table: tests/gemma4_agreement.sh measures that alone at ~1e-6), the same top-1 at every one
# of them, and the same 16 greedy tokens. The tiny file's window (16) is shorter than the image (80 tokens): an image
# row sees every later row of its image and the earlier ones within the window on sliding layers, and only the
# earlier ones on the global layer. The mmproj uses clip.use_silu (f32 in llama.cpp): the tower agrees with libmtmd
# to about 4e-7 (tests/gemma4_mmproj_mtmd.sh), so what is compared here is the text model's handling of the image.
# Status (2026-12-05): with the window (16) shorter than the image (80 tokens), most rows after the image agree to
# 1e-6..6e-5 (llama.cpp's f16-table GELU), but a few single rows differ by 1e-2 (seed 5: one row, seed 6: three):
# with every expert active (--top-k 8, no selection to flip) every row agrees (4.9e-6..1.1e-5, seeds 5-7), so these
# are near-tied experts flipped by llama.cpp's f16-table GELU, not the mask (tests/gemma4_image_mtmd.sh). With a window of
# 64 or more the whole run is 1.1e-5 .. 1.5e-5; with causal image attention instead it is 4.8e-2.
set -euo pipefail
. "$(dirname "$0")/../tests/lib.sh"
need_cli
need_numpy
need_pil
need_node_llama_cpp
command -v g++ >/dev/null 2>&1 || skip "g++ is missing (apt-get install build-essential): cannot build libmtmd"

MT="${MOEVK_MTMD_DIR:-${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd}"
# (re)built when missing or older than its source (the --all-logits option)
if [ ! -x "$MT/mtmd_chat_ref" ] || [ "$SRC/bench/node/mtmd/mtmd_chat_ref.c" -nt "$MT/mtmd_chat_ref.bin" ]; then
    echo "building libmtmd and mtmd_chat_ref in $MT ..."
    mkdir -p "$MT"
    bash "$SRC/bench/node/mtmd/build_mtmd.sh" "$MT" >"$MT/build.log" 2>&1 || { tail -20 "$MT/build.log"; die "build_mtmd.sh failed"; }
fi

new_workdir
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch gemma4 --preset tiny --vision-patch 4 --vision-width 32 --vision-heads 2 \
    --vision-depth 2 --vision-ff 48 --vision-act silu --seed 5 "$@" --out-prefix "$WORK/g-" >/dev/null
W=120 H=96
"$PY" - "$WORK/img" $W $H <<'PYEOF'
import sys
import numpy as np
from PIL import Image
w, h = int(sys.argv[2]), int(sys.argv[3])
a = np.random.default_rng(11).integers(0, 256, (h, w, 3), dtype=np.uint8)
a.tofile(sys.argv[1] + ".u8")
Image.fromarray(a).save(sys.argv[1] + ".png")
PYEOF
printf '<bos><|turn>user\nLook at this: <__media__>what is in the picture?<turn|>\n<|turn>model\n' >"$WORK/prompt.txt"
out=$("$MT/mtmd_chat_ref" "$WORK/g-text.gguf" "$WORK/g-mmproj.gguf" "$WORK/prompt.txt" 16 "$WORK/ref-tok.i32" \
    "$WORK/img.u8" $W $H --all-logits "$WORK/ref-logits.f32" 2>"$WORK/ref.err") ||
    { tail -5 "$WORK/ref.err"; die "mtmd_chat_ref failed"; }
echo "llama.cpp: ${out:0:200}..."
"$PY" - "$out" "$WORK/g-text.gguf" "$SRC/tools" "$WORK/tok.i32" "$WORK/n_after" <<'PYEOF'
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[3])
from gguf.gguf_reader import GGUFReader
info = json.loads(sys.argv[1])
toks = GGUFReader(sys.argv[2]).kv["tokenizer.ggml.tokens"]
pad = toks.index("<|image|>")
ids = []
for c in info["chunks"]:
    ids += c if isinstance(c, list) else [pad] * c
if info["image_tokens"] != [80] or not isinstance(info["chunks"][-1], list):
    sys.exit("FAIL: expected one image of 80 tokens followed by text, got %s" % info["image_tokens"])
np.asarray(ids, "<i4").tofile(sys.argv[4])
open(sys.argv[5], "w").write(str(len(info["chunks"][-1])))
print("prompt: %d ids, the image's 80 rows at %d, %d text tokens after it (%s ... %s)"
      % (len(ids), ids.index(pad), len(info["chunks"][-1]), toks[ids[ids.index(pad) - 1]], toks[ids[-1]]))
PYEOF
"$CLI" eval -m "$WORK/g-text.gguf" --mmproj "$WORK/g-mmproj.gguf" --image "$WORK/img.png" --tokens "$WORK/tok.i32" \
    --kv-type f32 --dump-logits "$WORK/mv-logits.f32" --greedy 16 --dump-tokens "$WORK/mv-tok.i32" >"$WORK/mv.log" 2>&1 ||
    { tail -5 "$WORK/mv.log"; die "moevk eval with the image failed"; }
"$PY" - "$WORK/mv-logits.f32" "$WORK/ref-logits.f32" "$(cat "$WORK/n_after")" "$WORK/mv-tok.i32" "$WORK/ref-tok.i32" <<'PYEOF'
import os, sys
import numpy as np
n = int(sys.argv[3])
r = np.fromfile(sys.argv[2], "<f4").astype(np.float64)
V = r.size // n
r = r.reshape(n, V)
m = np.fromfile(sys.argv[1], "<f4").astype(np.float64).reshape(-1, V)[-n:]
nmse = ((m - r) ** 2).sum() / (r ** 2).sum()
worst = max(((m[i] - r[i]) ** 2).sum() / (r[i] ** 2).sum() for i in range(n))
top = int((m.argmax(1) == r.argmax(1)).sum())
mt, rt = np.fromfile(sys.argv[4], "<i4"), np.fromfile(sys.argv[5], "<i4")
# llama.cpp stops early at an end-of-generation token; moevk's first tokens must then be the same
bound = float(os.environ.get("G4IMG_NMSE", "1e-5"))
ok = nmse <= bound and top == n and 0 < rt.size <= mt.size == 16 and np.array_equal(mt[:rt.size], rt)
print("per-row NMSE:", " ".join("%.1e" % (((m[i] - r[i]) ** 2).sum() / (r[i] ** 2).sum()) for i in range(n)))
print("text after the image: %d positions x %d logits, NMSE %.3g (<= %g), worst row %.3g, top-1 %d/%d; "
      "greedy moevk %s / llama.cpp %s: %s" % (n, V, nmse, bound, worst, top, n, mt.tolist(), rt.tolist(), "ok" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PYEOF
echo "PASS: an image in a gemma4 prompt gives llama.cpp's logits after it and its greedy tokens"
