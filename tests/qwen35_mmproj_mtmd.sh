#!/usr/bin/env bash
# qwen35_mmproj_mtmd.sh — llama.cpp's multimodal library (libmtmd, bench/node/mtmd) encodes an image with
# the mmproj tools/gen_synthetic_model.py writes for qwen35moe: the qwen3vl_merger without DeepStack
# (clip.vision.is_deepstack_layers all false, no v.deepstack.* tensors). libmtmd loads the pair (it checks
# that the projector's width equals the text model's input width), and mtmd_ref's embeddings must be
# [n_tokens][d] with d the text width (no DeepStack features appended: not d·(1 + taps)), finite and
# non-constant. mtmd_ref is taken from MOEVK_MTMD_DIR, or built there (default
# ${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd; bench/node/mtmd/build_mtmd.sh, a few CPU-minutes, kept for later runs).
# Then moevk encodes the same image with the same pair (`moevk eval --image --dump-vision`): the same
# number of image tokens, and rows within NMSE 1e-4 of libmtmd's (whose f16 im2col and GELU table
# differ from moevk's f32 path by about that; the figure is printed).
# ctest-labels: e2e slow
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_node_llama_cpp
command -v g++ >/dev/null 2>&1 || skip "g++ is missing (apt-get install build-essential): cannot build libmtmd"

MT="${MOEVK_MTMD_DIR:-${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd}"
if [ ! -x "$MT/mtmd_ref" ]; then
    echo "building libmtmd and mtmd_ref in $MT ..."
    mkdir -p "$MT"
    bash "$SRC/bench/node/mtmd/build_mtmd.sh" "$MT" >"$MT/build.log" 2>&1 || { tail -20 "$MT/build.log"; die "build_mtmd.sh failed"; }
fi

new_workdir
D=64
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch qwen35moe --preset tiny --layers 8 --embd $D --out-prefix "$WORK/q-" >/dev/null
W=128 H=96 # 4 x 3 merged tokens: above llama.cpp's minimum of 8, so neither side rescales for the budget
"$PY" -c 'import numpy as np,sys; np.random.default_rng(7).integers(0,256,96*128*3,dtype=np.uint8).tofile(sys.argv[1])' "$WORK/img.u8"
"$PY" - "$WORK/q-mmproj.gguf" "$SRC/tools" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[2])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[1])
ds = r.kv.get("clip.vision.is_deepstack_layers", [])
bad = [n for n in r.tensors if n.startswith("v.deepstack.")]
if any(ds) or bad:
    sys.exit("FAIL: the qwen35moe mmproj has DeepStack taps %s / tensors %s" % (ds, bad[:3]))
print("mmproj: projector %s, no DeepStack (%d layers flagged false)" % (r.kv["clip.projector_type"], len(ds)))
PYEOF
out=$(env -u VK_INSTANCE_LAYERS "$MT/mtmd_ref" "$WORK/q-text.gguf" "$WORK/q-mmproj.gguf" "$WORK/img.u8" $W $H "$WORK/emb.f32" 1 \
    2>"$WORK/mtmd.err") || { tail -5 "$WORK/mtmd.err"; die "libmtmd did not encode the image with the qwen35moe mmproj"; }
echo "mtmd_ref: $out"
"$PY" - "$out" "$WORK/emb.f32" "$D" <<'PYEOF'
import json, sys
import numpy as np
info, path, d = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
e = np.fromfile(path, "<f4")
n = info["n_img_tokens"]
ok = info["n_embd_inp"] == d and n > 0 and e.size == n * d and info["non_finite"] == 0 and np.isfinite(e).all()
ok = ok and e.reshape(n, d).std(1).min() > 1e-3 and np.abs(e.reshape(n, d) - e[:d]).max() > 1e-3
print("embeddings [%d][%d] (want width %d = d, no DeepStack), std min %.3g: %s"
      % (n, info["n_embd_inp"], d, e.reshape(n, -1).std(1).min() if n else 0, "ok" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PYEOF
# moevk on the same image and pair
"$PY" - "$WORK/img.u8" "$W" "$H" "$WORK/img.png" "$SRC/tools" "$WORK/q-text.gguf" "$out" "$WORK/tok.i32" <<'PYEOF'
import json, sys
import numpy as np
from PIL import Image
w, h = int(sys.argv[2]), int(sys.argv[3])
Image.fromarray(np.fromfile(sys.argv[1], np.uint8).reshape(h, w, 3)).save(sys.argv[4])
sys.path.insert(0, sys.argv[5])
from gguf.gguf_reader import GGUFReader
toks = GGUFReader(sys.argv[6]).kv["tokenizer.ggml.tokens"]
n = json.loads(sys.argv[7])["n_img_tokens"]
ids = [toks.index("<|im_start|>"), toks.index("<|vision_start|>")] + [toks.index("<|image_pad|>")] * n + \
      [toks.index("<|vision_end|>"), toks.index("a")]
np.asarray(ids, "<i4").tofile(sys.argv[8])
PYEOF
"$CLI" eval -m "$WORK/q-text.gguf" --mmproj "$WORK/q-mmproj.gguf" --image "$WORK/img.png" --tokens "$WORK/tok.i32" \
    --dump-vision "$WORK/mv.f32" --dump-logits "$WORK/mv-logits.f32" >"$WORK/mv.log" 2>&1 ||
    { tail -5 "$WORK/mv.log"; die "moevk eval with the image failed"; }
"$PY" - "$WORK/mv.f32" "$WORK/emb.f32" "$D" <<'PYEOF'
import sys
import numpy as np
a, b = np.fromfile(sys.argv[1], "<f4").astype(np.float64), np.fromfile(sys.argv[2], "<f4").astype(np.float64)
if a.size != b.size:
    sys.exit("FAIL: moevk wrote %d vision values, libmtmd %d" % (a.size, b.size))
nmse = ((a - b) ** 2).sum() / (b ** 2).sum()
print("moevk vs libmtmd: %d image rows of %d, NMSE %.3g (<= 1e-4), max |d| %.3g: %s"
      % (a.size // int(sys.argv[3]), int(sys.argv[3]), nmse, np.abs(a - b).max(), "ok" if nmse <= 1e-4 else "FAIL"))
sys.exit(0 if nmse <= 1e-4 else 1)
PYEOF
echo "PASS: libmtmd encodes an image with the qwen35moe mmproj (no DeepStack), and moevk agrees with it"
