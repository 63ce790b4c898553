#!/usr/bin/env bash
# quant_agreement.sh — issue 9's end-to-end reference: moevk on llama.cpp-quantized GGUFs against
# llama.cpp's own dequantization of the same files.
# ctest-labels: slow e2e
#
# 1. tools/gen_synthetic_model.py writes a random-weight f32 qwen3vlmoe text GGUF and a qwen3vl_merger
#    mmproj whose every matrix row length is a multiple of 256, so every K-quant applies to every tensor
#    (text: d 256, 4/2 heads of 64, 16 experts top-4 of FFN 256, 2 layers; vision: width 256, FFN 512).
# 2. tools/llamacpp/quantize (llama_model_quantize in node-llama-cpp's prebuilt libllama, built here)
#    quantizes the text GGUF to each ftype of the table below; llama.cpp chooses the per-tensor mixture
#    (`moevk info` of each file is summarised in the log). Requantizing that file to F32
#    (LLAMA_FTYPE_ALL_F32, allow_requantize) gives llama.cpp's exact dequantization of it: the reference.
# 3. bench/llama_ref.mjs --batch (llama.cpp CPU, one node process) writes llama.cpp's logits on the
#    source, on every dequantized and on every quantized file. Per ftype, at every position of a
#    48-token prompt (f32 KV cache on both sides):
#      asserted:  `moevk eval` on the quantized file vs llama.cpp on its dequantized F32: every row's
#                 NMSE <= 1e-5 and the same top-1 token at every position (tests/tools/compare.py rows).
#      reported:  the distance to llama.cpp on the quantized file itself (its CPU path quantizes the
#                 activations to 8 bits, so 1e-4..1e-3 is expected; never asserted).
#      asserted where q6_K matrices are stored as q6_K8 (CPU devices; Q4_K_M at least): `moevk eval` with 4 greedy
#                 tokens and int8 x gives byte for byte the logits and tokens of MOEVK_WEIGHT_WIDE=0; Q4_K_M at
#                 its smallest budget (experts streamed) keeps q6_K (placement.c drop_wide), same bytes again.
#      harness self-checks (asserted for every ftype): the dequantized file holds no quantized tensor,
#      the quantized file holds the ftype's main type, and llama.cpp's logits on the dequantized file
#      differ from those on the f32 source (the quantization did something).
# 4. mmproj: Q8_0 and Q4_K_M mmproj files. Reference: the same text model with llama.cpp's dequantized
#    F32 of that mmproj (moevk's f32 vision path is checked against llama.cpp elsewhere); a 64x96 image
#    (6 image tokens, --pixels) inside a prompt: the vision rows (--dump-vision) and the logits at every
#    position, NMSE <= 1e-5 and the same top-1. With MOEVK_MTMD_DIR=<a built bench/node/mtmd> the
#    distance of moevk's vision rows to llama.cpp's own encoder (mtmd_ref) on the dequantized and on the
#    quantized mmproj is reported too (not asserted: mtmd's f16 im2col and GELU table differ by ~1e-3).
#
# ASSERTED lists the ftypes whose every tensor type moevk supports (add an ftype here when its types
# land on main); the others still run, and their results are printed as "not asserted" so a type that
# starts to work or breaks is visible. Exit 77 (skip) when gcc, node or node-llama-cpp is missing;
# under CI=true that is a failure.
set -euo pipefail
# The asserted reference is llama.cpp's dequantized F32 model, so moevk runs with f32 activations throughout:
# on CPU devices its mat-vecs of quantised weights (M <= 8: decode, and here the mmproj merger's 6 rows) quantise
# x to int8 by default, as llama.cpp's own quantized CPU path does (MOEVK_LANE_XQ; test_op_quant_x checks that
# path against its reference, the golden and llama.cpp agreement tests run it end to end). The lane GEMM's
# int8 x for Q4_K (MOEVK_GEMM_XQ; M > 8: these prompts) likewise.
export MOEVK_LANE_XQ=0
export MOEVK_GEMM_XQ=0

# ftype      main ggml type in the quantized file (self-check)
FTYPES="
Q4_0       q4_0
Q4_1       q4_1
Q5_0       q5_0
Q5_1       q5_1
Q8_0       q8_0
Q2_K       q2_K
Q3_K_M     q3_K
Q4_K_S     q4_K
Q4_K_M     q4_K
Q5_K_M     q5_K
Q6_K       q6_K
IQ4_NL     iq4_nl
IQ4_XS     iq4_xs
MXFP4_MOE  mxfp4
"
ASSERTED="${MOEVK_QUANT_ASSERTED:-Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_M Q4_K_S Q4_K_M Q5_K_M Q6_K IQ4_NL IQ4_XS MXFP4_MOE}"
MMPROJ_FTYPES="Q8_0 Q4_K_M"
MMPROJ_ASSERTED="${MOEVK_QUANT_MMPROJ_ASSERTED:-Q8_0 Q4_K_M}"
TOL=1e-5

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

# ---- models and prompts ---------------------------------------------------------------------------------
"$PY" "$SRC/tools/gen_synthetic_model.py" --preset tiny --seed 909 --layers 2 --experts 16 --top-k 4 \
    --embd 256 --heads 4 --kv-heads 2 --head-dim 64 --ff-exp 256 --vocab-merges 100 \
    --vision-depth 2 --vision-width 256 --vision-heads 4 --vision-ff 512 --vision-pos-side 4 --deepstack 1 \
    --out-prefix "$WORK/src-" >/dev/null
TEXT="$WORK/src-text.gguf"
MMPROJ="$WORK/src-mmproj.gguf"
# text prompt: <|im_start|> + 47 ordinary tokens; image prompt: <|im_start|> 5 tokens <|vision_start|>
# 6 x <|image_pad|> <|vision_end|> 8 tokens (a 64x96 image is 4x6 patches, 2x3 after the 2x2 merge)
"$PY" - "$SRC/tools" "$TEXT" "$WORK" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2])
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
sp = {t: toks.index(t) for t in ("<|im_start|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>")}
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(99)
pick = lambda n: [normal[i] for i in rng.integers(0, len(normal), n)]
np.asarray([sp["<|im_start|>"]] + pick(47), "<i4").tofile(sys.argv[3] + "/text.i32")
img = [sp["<|im_start|>"]] + pick(5) + [sp["<|vision_start|>"]] + [sp["<|image_pad|>"]] * 6 + \
      [sp["<|vision_end|>"]] + pick(8)
np.asarray(img, "<i4").tofile(sys.argv[3] + "/image.i32")
(rng.random((3, 64, 96), dtype=np.float32) * 2 - 1).astype("<f4").tofile(sys.argv[3] + "/pixels.f32")
EOF
N_TEXT=48
N_IMG=21

run_llama() { # jobs.txt: lines "MODEL TOKENS OUT.f32", all in one node process (bench/llama_ref.mjs --batch)
    env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/bench/llama_ref.mjs" --gpu false --kv f32 --threads 1 \
        --batch "$1" 2>>"$WORK/llama.log" || { tail -5 "$WORK/llama.log"; echo "FAIL: bench/llama_ref.mjs --batch $1"; exit 1; }
}
quantize() { # in out ftype
    "$QUANT" "$1" "$2" "$3" >"$2.log" 2>&1 || { tail -5 "$2.log"; echo "FAIL: quantize $1 -> $3"; return 1; }
    ! grep -q "falling back" "$2.log" || grep "falling back" "$2.log" | sed "s/^/    llama.cpp ($3): /"
}
types_of() { # file -> "f32 x11, q4_K x13, q6_K x3 [output blk.1.attn_v ...] (moevk lacks: ...)", from `moevk info`
    "$CLI" info "$1" 2>/dev/null | awk '
        /^tensors:/ { on = 1; getline; next }
        on && /^  total/ { on = 0 }
        on && NF >= 3 {
            n[$2]++; nm = $1; sub(/\.weight$/, "", nm); names[$2] = names[$2] (n[$2] > 1 ? " " : "") nm
            if ($0 ~ /unsupported/ && !($2 in u)) { u[$2] = 1; ul = ul (ul == "" ? "" : ", ") $2 }
        }
        END {   # the tensors of a type that holds at most 4 of them are named: where the mixture differs
            s = ""
            for (t in n) s = s (s == "" ? "" : ", ") t " x" n[t] (t != "f32" && n[t] <= 4 ? " [" names[t] "]" : "")
            print s (ul != "" ? " (moevk lacks: " ul ")" : "")
        }'
}
dist() { # got ref n_vocab -> the distance line of compare.py rows, never failing (reported figures)
    "$PY" "$CMP" rows "$1" "$2" 1 "$3" | sed -E 's/^(ok|FAIL) rows: //; s/ \(tol [^)]*\)//' || true
}
is_in() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

fails=0
WIDENED=""
SUMMARY=() PENDING=()
# ---- text model: quantize to every ftype and dequantize back; llama.cpp's logits on all of them ---------
echo "$TEXT $WORK/text.i32 $WORK/src.ll.f32" >"$WORK/jobs.txt"
while read -r ft main <&3; do
    [ -n "$ft" ] || continue
    q="$WORK/$ft.gguf" d="$WORK/$ft-f32.gguf"
    quantize "$TEXT" "$q" "$ft" && quantize "$q" "$d" F32 || { echo "FAIL: llama.cpp's quantizer on $ft"; exit 1; }
    echo "$d $WORK/text.i32 $WORK/$ft.lld.f32" >>"$WORK/jobs.txt"
    echo "$q $WORK/text.i32 $WORK/$ft.llq.f32" >>"$WORK/jobs.txt"
done 3<<<"$FTYPES"
run_llama "$WORK/jobs.txt"
V=$(($(stat -c%s "$WORK/src.ll.f32") / 4 / N_TEXT))

# ---- text model, per ftype: moevk on the quantized file against llama.cpp on its dequantization -----------
while read -r ft main <&3; do
    [ -n "$ft" ] || continue
    q="$WORK/$ft.gguf" d="$WORK/$ft-f32.gguf"
    tq=$(types_of "$q") td=$(types_of "$d")
    echo "== $ft: $(stat -c%s "$q") B: $tq"
    bad=0
    case ", $tq" in *", $main x"*) ;; *) echo "   FAIL harness: $ft file has no $main tensor"; bad=1 ;; esac
    case "$td" in *q[0-9]*|*iq*|*mxfp4*) echo "   FAIL harness: the dequantized file still has $td"; bad=1 ;; esac
    if "$PY" "$CMP" nmse "$WORK/$ft.lld.f32" "$WORK/src.ll.f32" 1e-12 >/dev/null; then
        echo "   FAIL harness: llama.cpp's logits on the dequantized $ft equal those on the f32 source"
        bad=1
    fi
    echo "   llama.cpp quantized vs its dequantized F32 (reported): $(dist "$WORK/$ft.llq.f32" "$WORK/$ft.lld.f32" "$V")"
    if "$CLI" eval -m "$q" --tokens "$WORK/text.i32" --kv-type f32 --dump-logits "$WORK/$ft.mv.f32" \
        2>"$WORK/$ft.mv.log"; then
        vd=$("$PY" "$CMP" rows "$WORK/$ft.mv.f32" "$WORK/$ft.lld.f32" "$TOL" "$V") && ok=1 || ok=0
        echo "   moevk vs llama.cpp dequantized: $vd"
        echo "   moevk vs llama.cpp quantized (reported): $(dist "$WORK/$ft.mv.f32" "$WORK/$ft.llq.f32" "$V")"
    else
        ok=0 vd="moevk eval failed: $(tail -1 "$WORK/$ft.mv.log" | sed 's/.*: //')"
        echo "   $vd"
    fi
    if grep -q "stored as q6_K8" "$WORK/$ft.mv.log"; then # Q6_K matrices widened (CPU devices): Q6_K's results
        WIDENED="$WIDENED $ft"
        for w in 1 0; do # by default and with MOEVK_WEIGHT_WIDE=0; int8 x (the default) and 4 greedy tokens: decode too
            MOEVK_WEIGHT_WIDE=$w env -u MOEVK_LANE_XQ "$CLI" eval -m "$q" --tokens "$WORK/text.i32" --kv-type f32 \
                --greedy 4 --dump-logits "$WORK/$ft.w$w.f32" --dump-tokens "$WORK/$ft.w$w.i32" 2>"$WORK/$ft.w$w.log" ||
                { tail -1 "$WORK/$ft.w$w.log"; bad=1; }
        done
        if cmp -s "$WORK/$ft.w1.f32" "$WORK/$ft.w0.f32" && cmp -s "$WORK/$ft.w1.i32" "$WORK/$ft.w0.i32" &&
            ! grep -q "q6_K8" "$WORK/$ft.w0.log"; then
            echo "   q6_K stored as q6_K8: logits and 4 greedy tokens byte-identical to MOEVK_WEIGHT_WIDE=0 (q6_K as is)"
        else
            echo "   FAIL: q6_K stored as q6_K8 differs from MOEVK_WEIGHT_WIDE=0"
            bad=1
        fi
        if [ "$ft" = Q4_K_M ]; then # streamed experts: the placement keeps q6_K (placement.c drop_wide), same results
            msg=$("$CLI" eval -m "$q" --tokens "$WORK/text.i32" --kv-type f32 --greedy 4 --dump-tokens "$WORK/probe.i32" \
                --device-mem 1 2>&1 || true)
            min=$(sed -n 's/.*below this model.s minimum of \([0-9.]*\) MiB.*/\1/p' <<<"$msg")
            budget=$(( ${min%.*} + 1 ))
            env -u MOEVK_LANE_XQ "$CLI" eval -m "$q" --tokens "$WORK/text.i32" --kv-type f32 --greedy 4 --device-mem "$budget" \
                --dump-logits "$WORK/$ft.ws.f32" --dump-tokens "$WORK/$ft.ws.i32" 2>"$WORK/$ft.ws.log" || { tail -1 "$WORK/$ft.ws.log"; bad=1; }
            if [ -n "$min" ] && ! grep -q "q6_K8" "$WORK/$ft.ws.log" && cmp -s "$WORK/$ft.w1.f32" "$WORK/$ft.ws.f32" &&
                cmp -s "$WORK/$ft.w1.i32" "$WORK/$ft.ws.i32"; then
                echo "   --device-mem $budget (experts streamed): q6_K kept as is, logits and tokens byte-identical"
            else
                echo "   FAIL: --device-mem ${budget:-?} (minimum ${min:-not found}): q6_K8 despite streamed experts, or other results"
                bad=1
            fi
        fi
    fi
    if is_in "$ft" "$ASSERTED"; then
        [ "$ok" = 1 ] && [ "$bad" = 0 ] || fails=$((fails + 1))
        SUMMARY+=("$(printf '%-10s %-4s %s' "$ft" "$([ "$ok$bad" = 10 ] && echo PASS || echo FAIL)" "$vd")")
    else
        [ "$bad" = 0 ] || fails=$((fails + 1))
        PENDING+=("$(printf '%-10s %s' "$ft" "$([ "$ok" = 1 ] && echo "agrees: add it to ASSERTED" || echo "$vd")")")
    fi
done 3<<<"$FTYPES"

# ---- mmproj ---------------------------------------------------------------------------------------------------
MT="${MOEVK_MTMD_DIR:-}"
if [ -n "$MT" ] && [ -x "$MT/mtmd_ref" ]; then
    "$PY" -c 'import numpy as np,sys; np.random.default_rng(7).integers(0,256,64*96*3,dtype=np.uint8).tofile(sys.argv[1])' "$WORK/img.u8"
    "$PY" -c 'import numpy as np,sys; from PIL import Image; Image.fromarray(np.fromfile(sys.argv[1],np.uint8).reshape(64,96,3)).save(sys.argv[2])' "$WORK/img.u8" "$WORK/img.png"
fi
mm_eval() { # mmproj tag
    "$CLI" eval -m "$TEXT" --mmproj "$1" --pixels "$WORK/pixels.f32" --pixels-hw 64,96 --tokens "$WORK/image.i32" \
        --kv-type f32 --dump-vision "$WORK/mm-$2.vis.f32" --dump-logits "$WORK/mm-$2.log.f32" 2>"$WORK/mm-$2.err"
}
for ft in $MMPROJ_FTYPES; do
    q="$WORK/mm-$ft.gguf" d="$WORK/mm-$ft-f32.gguf"
    quantize "$MMPROJ" "$q" "$ft" && quantize "$q" "$d" F32 || { fails=$((fails + 1)); continue; }
    echo "== mmproj $ft: $(stat -c%s "$q") B: $(types_of "$q")"
    ok=0
    if mm_eval "$d" "$ft-f32" && mm_eval "$q" "$ft"; then
        vv=$("$PY" "$CMP" rows "$WORK/mm-$ft.vis.f32" "$WORK/mm-$ft-f32.vis.f32" "$TOL" 512) && vok=1 || vok=0
        vl=$("$PY" "$CMP" rows "$WORK/mm-$ft.log.f32" "$WORK/mm-$ft-f32.log.f32" "$TOL" "$V") && lok=1 || lok=0
        echo "   vision rows vs the dequantized F32 mmproj: $vv"
        echo "   logits after the image vs the dequantized F32 mmproj: $vl"
        [ "$vok$lok" = 11 ] && ok=1
        vd="vision: $vv; logits: $vl"
        if [ -n "$MT" ] && [ -x "$MT/mtmd_ref" ]; then
            "$CLI" eval -m "$TEXT" --mmproj "$q" --image "$WORK/img.png" --tokens "$WORK/image.i32" \
                --dump-vision "$WORK/mt-$ft.mv.f32" 2>/dev/null || true
            for m in "$d:dequantized" "$q:quantized"; do
                "$MT/mtmd_ref" "$TEXT" "${m%%:*}" "$WORK/img.u8" 96 64 "$WORK/mt-$ft.ref.f32" 1 >/dev/null 2>&1 &&
                    echo "   moevk (quantized) vs mtmd_ref on the ${m##*:} mmproj (reported): $(dist "$WORK/mt-$ft.mv.f32" "$WORK/mt-$ft.ref.f32" 512)"
            done
        fi
    else
        vd="moevk eval failed: $(tail -1 "$WORK/mm-$ft.err" | sed 's/.*: //')"
        echo "   $vd"
    fi
    if is_in "$ft" "$MMPROJ_ASSERTED"; then
        [ "$ok" = 1 ] || fails=$((fails + 1))
        SUMMARY+=("$(printf '%-10s %-4s %s' "mm-$ft" "$([ "$ok" = 1 ] && echo PASS || echo FAIL)" "$vd")")
    else
        PENDING+=("$(printf '%-10s %s' "mm-$ft" "$([ "$ok" = 1 ] && echo "agrees: add it to MMPROJ_ASSERTED" || echo "$vd")")")
    fi
done

echo
echo "== asserted (moevk vs llama.cpp's dequantized F32, every row NMSE <= $TOL, same top-1)"
printf '   %s\n' "${SUMMARY[@]}"
if [ "${#PENDING[@]}" -gt 0 ]; then
    echo "== NOT YET ASSERTED (moevk lacks a type, or the ftype is not in ASSERTED yet): ${#PENDING[@]}"
    printf '   %s\n' "${PENDING[@]}"
fi
echo "== q6_K matrices stored as q6_K8 (each checked byte-identical to MOEVK_WEIGHT_WIDE=0) in:${WIDENED:- none}"
if "$CLI" devices 2>/dev/null | grep -qi cpu && ! is_in Q4_K_M "$WIDENED"; then # the check above must have run
    echo "FAIL: on this CPU device the Q4_K_M file's q6_K matrices (output, attn_v) were not stored as q6_K8"
    fails=$((fails + 1))
fi
if [ "$fails" -ne 0 ]; then
    echo "FAIL: $fails check(s) failed"
    exit 1
fi
echo "PASS: every asserted ftype agrees with llama.cpp's dequantization"
