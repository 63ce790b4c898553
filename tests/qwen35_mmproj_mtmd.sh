#!/usr/bin/env bash
# qwen35_mmproj_mtmd.sh — llama.cpp's multimodal library (libmtmd, bench/node/mtmd) encodes an image with
# the mmproj tools/gen_synthetic_model.py writes for qwen35moe: the qwen3vl_merger without DeepStack
# (clip.vision.is_deepstack_layers all false, no v.deepstack.* tensors). libmtmd loads the pair (it checks
# that the projector's width equals the text model's input width), and mtmd_ref's embeddings must be
# [n_tokens][d] with d the text width (no DeepStack features appended: not d·(1 + taps)), finite and
# non-constant. mtmd_ref is taken from MOEVK_MTMD_DIR, or built there (default
# ${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd; bench/node/mtmd/build_mtmd.sh, a few CPU-minutes, kept for later runs).
# ctest-labels: e2e slow
set -euo pipefail
. "$(dirname "$0")/lib.sh"
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
"$PY" -c 'import numpy as np,sys; np.random.default_rng(7).integers(0,256,64*96*3,dtype=np.uint8).tofile(sys.argv[1])' "$WORK/img.u8"
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
out=$(env -u VK_INSTANCE_LAYERS "$MT/mtmd_ref" "$WORK/q-text.gguf" "$WORK/q-mmproj.gguf" "$WORK/img.u8" 96 64 "$WORK/emb.f32" 1 \
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
echo "PASS: libmtmd encodes an image with the qwen35moe mmproj (no DeepStack)"
