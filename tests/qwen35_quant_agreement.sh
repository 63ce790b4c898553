#!/usr/bin/env bash
# qwen35_quant_agreement.sh — moevk on llama.cpp-quantized qwen35moe files against llama.cpp's own
# dequantization of the same files (tests/quant_agreement.sh does this for the Qwen3 families).
#
# 1. tools/gen_synthetic_model.py writes an f32 qwen35moe text GGUF whose matrix rows are multiples of
#    256 (d 256; attention 4/2 heads of 64 with the gate half; DeltaNet H_k 2, H_v 4, S 64, d_inner 256;
#    16 experts top-4 of FFN 256 and a shared expert of 256; 5 layers: DeltaNet x3, attention, DeltaNet),
#    so the K-quants apply to every matrix.
# 2. llama.cpp's quantizer (tools/llamacpp/quantize over node-llama-cpp's libllama) writes Q8_0 and
#    Q4_K_M (llama.cpp chooses the per-tensor mixture); requantizing each to F32 gives llama.cpp's exact
#    dequantization: the reference.
# 3. `moevk eval` on the quantized file vs llama.cpp (CPU, f32 KV) on its dequantized F32, at every
#    position of a 48-token prompt: every row's NMSE <= 1e-5 and the same top-1 everywhere. Harness
#    self-checks: the quantized file holds the ftype's main type, the dequantized file holds none, and
#    the dequantized logits differ from the f32 source's (the quantization did something).
# ctest-labels: slow e2e
set -euo pipefail
# The reference is the dequantized F32 model: f32 activations, so the lane GEMM's int8 x for Q4_K (MOEVK_GEMM_XQ,
# on by default on CPU devices; test_op_quant_x checks it against its reference) is off, as quant_agreement.sh does.
export MOEVK_GEMM_XQ=0
. "$(dirname "$0")/lib.sh"
CMP="$SRC/tests/tools/compare.py"
need_cli
need_numpy
need_node_llama_cpp

new_workdir
rc=0
bash "$SRC/tools/llamacpp/build_quantize.sh" "$WORK/q" || rc=$?
[ "$rc" -eq 77 ] && skip "llama.cpp's quantizer could not be built (see above)"
[ "$rc" -eq 0 ] || { echo "FAIL: tools/llamacpp/build_quantize.sh exited $rc"; exit 1; }
QUANT="$WORK/q/quantize"

TEXT="$WORK/src-text.gguf"
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch qwen35moe --preset tiny --seed 3535 --layers 5 --text-only \
    --embd 256 --heads 4 --kv-heads 2 --head-dim 64 --rope-dim 16 --rope-sections 3,3,2,0 \
    --experts 16 --top-k 4 --ff-exp 256 --ff-shexp 256 --ssm-k-heads 2 --ssm-v-heads 4 --ssm-state 64 \
    --vocab-merges 100 --out-prefix "$WORK/src-" >/dev/null
"$PY" - "$SRC/tools" "$TEXT" "$WORK/p.i32" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2])
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(99)
np.asarray([toks.index("<|im_start|>")] + [normal[i] for i in rng.integers(0, len(normal), 47)], "<i4").tofile(sys.argv[3])
EOF
N=48

quantize() { # in out ftype
    "$QUANT" "$1" "$2" "$3" >"$2.log" 2>&1 || { tail -5 "$2.log"; echo "FAIL: quantize $1 -> $3"; exit 1; }
}
types_of() { # file -> the ggml types of its tensors, from `moevk info`
    "$CLI" info "$1" 2>/dev/null | awk '/^tensors:/ { on = 1; getline; next } on && /^  total/ { on = 0 } on && NF >= 3 { n[$2]++ }
        END { s = ""; for (t in n) s = s (s == "" ? "" : ", ") t " x" n[t]; print s }'
}

echo "$TEXT $WORK/p.i32 $WORK/src.ll.f32" >"$WORK/jobs.txt"
for ft in Q8_0 Q4_K_M; do
    quantize "$TEXT" "$WORK/$ft.gguf" "$ft"
    quantize "$WORK/$ft.gguf" "$WORK/$ft-f32.gguf" F32
    echo "$WORK/$ft-f32.gguf $WORK/p.i32 $WORK/$ft.lld.f32" >>"$WORK/jobs.txt"
done
env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
    --batch "$WORK/jobs.txt" 2>>"$WORK/llama.log" || { tail -5 "$WORK/llama.log"; echo "FAIL: bench/llama_ref.mjs --batch"; exit 1; }
V=$(($(stat -c%s "$WORK/src.ll.f32") / 4 / N))

fails=0
for ftm in Q8_0:q8_0 Q4_K_M:q4_K; do
    ft=${ftm%%:*} main=${ftm##*:}
    tq=$(types_of "$WORK/$ft.gguf") td=$(types_of "$WORK/$ft-f32.gguf")
    echo "== $ft: $tq"
    case ", $tq" in *", $main x"*) ;; *) echo "   FAIL harness: no $main tensor in the $ft file"; fails=$((fails + 1)) ;; esac
    case "$td" in *q[0-9]*|*iq*) echo "   FAIL harness: the dequantized file still has $td"; fails=$((fails + 1)) ;; esac
    if "$PY" "$CMP" nmse "$WORK/$ft.lld.f32" "$WORK/src.ll.f32" 1e-12 >/dev/null; then
        echo "   FAIL harness: llama.cpp's logits on the dequantized $ft equal those on the f32 source"
        fails=$((fails + 1))
    fi
    if "$CLI" eval -m "$WORK/$ft.gguf" --tokens "$WORK/p.i32" --kv-type f32 --dump-logits "$WORK/$ft.mv.f32" 2>"$WORK/$ft.mv.log"; then
        if out=$("$PY" "$CMP" rows "$WORK/$ft.mv.f32" "$WORK/$ft.lld.f32" 1e-5 "$V"); then
            echo "   ok moevk vs llama.cpp on the dequantized F32: $out"
        else
            echo "   FAIL moevk vs llama.cpp on the dequantized F32: $out"
            fails=$((fails + 1))
        fi
    else
        echo "   FAIL moevk eval: $(tail -1 "$WORK/$ft.mv.log")"
        fails=$((fails + 1))
    fi
done
[ "$fails" = 0 ] || { echo "FAIL: $fails check(s)"; exit 1; }
echo "PASS: moevk agrees with llama.cpp's dequantization of its Q8_0 and Q4_K_M qwen35moe files"
