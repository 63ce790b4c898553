#!/usr/bin/env bash
# gemma4_mmproj_mtmd.sh — the gemma4v vision tower (engine/arch/clip_gemma4v.c) against llama.cpp's multimodal
# library (libmtmd, bench/node/mtmd) on the mmproj tools/gen_synthetic_model.py writes for gemma4: every optional
# tensor a converted file may carry (Q/K norms, post-norms, out_scale, std_bias/std_scale) and the clamp scalars of
# the clippable linear layers, set to bite. libmtmd loads the pair and encodes two images; moevk encodes the same
# images with the same pair (`moevk eval --image --dump-vision`): the same number of image tokens, rows compared by
# NMSE. Images: 120x96 (10x8 tokens after the 3x3 pool, no resize) and 100x90 (below llama.cpp's 70-token floor:
# Pillow-bicubic upscaled and letterboxed to 108x96, 9x8 tokens).
# Two mmprojs: A as converted files are (no clip.use_gelu: llama.cpp runs the MLP as GeGLU with gelu_quick, whose CPU
# kernel reads an f16 table: bound 1e-5; measured 8.6e-7 / 6.8e-7) and B with clip.use_silu (llama.cpp's SiLU is f32:
# the issue's bound 1e-6; measured 3.8e-7 / 3.5e-7). mtmd_ref is taken from MOEVK_MTMD_DIR, or built there (default
# ${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd; bench/node/mtmd/build_mtmd.sh, a few CPU-minutes, kept for later runs).
# ctest-labels: e2e slow
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_pil
need_node_llama_cpp
command -v g++ >/dev/null 2>&1 || skip "g++ is missing (apt-get install build-essential): cannot build libmtmd"

MT="${MOEVK_MTMD_DIR:-${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd}"
if [ ! -x "$MT/mtmd_ref" ]; then
    echo "building libmtmd and mtmd_ref in $MT ..."
    mkdir -p "$MT"
    bash "$SRC/bench/node/mtmd/build_mtmd.sh" "$MT" >"$MT/build.log" 2>&1 || { tail -20 "$MT/build.log"; die "build_mtmd.sh failed"; }
fi

new_workdir
GEN=(--arch gemma4 --preset tiny --vision-patch 4 --vision-width 32 --vision-heads 2 --vision-depth 2 --vision-ff 48)
"$PY" "$SRC/tools/gen_synthetic_model.py" "${GEN[@]}" --out-prefix "$WORK/a-" >/dev/null
"$PY" "$SRC/tools/gen_synthetic_model.py" "${GEN[@]}" --vision-act silu --seed 99 --out-prefix "$WORK/b-" >/dev/null
"$PY" - "$WORK/a-mmproj.gguf" "$SRC/tools" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[2])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[1])
names = set(r.tensors)
want = ["v.blk.0.attn_q_norm.weight", "v.blk.0.attn_k_norm.weight", "v.blk.0.attn_post_norm.weight",
        "v.blk.0.ffn_post_norm.weight", "v.blk.0.out_scale.weight", "v.std_bias", "v.std_scale",
        "v.blk.1.attn_v.input_min", "v.blk.0.ffn_down.output_max", "mm.input_projection.input_max"]
miss = [n for n in want if n not in names]
if miss or r.kv["clip.projector_type"] != "gemma4v":
    sys.exit("FAIL: the gemma4v mmproj lacks %s" % miss)
print("mmproj: gemma4v, %d tensors, %d clamp scalars" % (len(names), sum(n.endswith(("_min", "_max")) for n in names)))
PYEOF

# the two images: raw RGB for mtmd_ref, PNG for moevk
for sz in 120x96 100x90; do
    "$PY" - "$WORK/img-$sz" "${sz%x*}" "${sz#*x}" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
w, h = int(sys.argv[2]), int(sys.argv[3])
y, x = np.mgrid[0:h, 0:w]
rng = np.random.default_rng(w * 1000 + h)
# smooth gradients plus noise: the bicubic resize sees structure, the tower sees every value range
a = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) * 7) % 256], -1).astype(np.int32)
a = np.clip(a + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
a.tofile(sys.argv[1] + ".u8")
Image.fromarray(a).save(sys.argv[1] + ".png")
PYEOF
done

fails=0
for v in a b; do
    bound=1e-5; [ $v = b ] && bound=1e-6
    for sz in 120x96 100x90; do
        W=${sz%x*} H=${sz#*x}
        out=$(env -u VK_INSTANCE_LAYERS "$MT/mtmd_ref" "$WORK/$v-text.gguf" "$WORK/$v-mmproj.gguf" "$WORK/img-$sz.u8" $W $H \
            "$WORK/ref-$v-$sz.f32" 1 2>"$WORK/mtmd-$v-$sz.err") ||
            { tail -5 "$WORK/mtmd-$v-$sz.err"; die "libmtmd did not encode the $sz image with the gemma4v mmproj $v"; }
        n=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["n_img_tokens"])' "$out")
        "$PY" - "$WORK/$v-text.gguf" "$SRC/tools" "$n" "$WORK/tok-$v-$sz.i32" <<'PYEOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from gguf.gguf_reader import GGUFReader
toks = GGUFReader(sys.argv[1]).kv["tokenizer.ggml.tokens"]
n = int(sys.argv[3])
ids = [toks.index("<bos>"), toks.index("<|image>")] + [toks.index("<|image|>")] * n + [toks.index("<image|>"), toks.index("a")]
np.asarray(ids, "<i4").tofile(sys.argv[4])
PYEOF
        "$CLI" eval -m "$WORK/$v-text.gguf" --mmproj "$WORK/$v-mmproj.gguf" --image "$WORK/img-$sz.png" \
            --tokens "$WORK/tok-$v-$sz.i32" --dump-vision "$WORK/mv-$v-$sz.f32" >"$WORK/mv-$v-$sz.log" 2>&1 ||
            { tail -5 "$WORK/mv-$v-$sz.log"; die "moevk eval with the $sz image (mmproj $v) failed"; }
        "$PY" - "$WORK/mv-$v-$sz.f32" "$WORK/ref-$v-$sz.f32" "$n" "$bound" "mmproj $v, $sz" <<'PYEOF' || fails=$((fails + 1))
import sys
import numpy as np
a = np.fromfile(sys.argv[1], "<f4").astype(np.float64)
b = np.fromfile(sys.argv[2], "<f4").astype(np.float64)
n, bound, what = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
if a.size != b.size or b.size % n:
    sys.exit("FAIL %s: moevk wrote %d vision values, libmtmd %d (%d tokens)" % (what, a.size, b.size, n))
nmse = ((a - b) ** 2).sum() / (b ** 2).sum()
ok = nmse <= bound and np.isfinite(a).all() and b.reshape(n, -1).std(1).min() > 1e-3
print("%s: %d image rows of %d, NMSE %.3g (<= %g), max |d| %.3g: %s"
      % (what, n, b.size // n, nmse, bound, np.abs(a - b).max(), "ok" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PYEOF
    done
done
[ $fails = 0 ] || die "$fails of 4 image encodings differ from libmtmd's"
echo "PASS: libmtmd and moevk encode both images alike with both gemma4v mmprojs"
