#!/usr/bin/env bash
# qwen35_family.sh — the qwen35moe / qwen35 family descriptors (engine/arch/qwen35.c) on the files
# tools/gen_synthetic_model.py writes with llama.cpp's names (the files tests/qwen35_llamacpp_load.sh
# proves llama.cpp runs):
#   - `moevk info` reads the keys, finds every tensor of the mixed layers (Gated DeltaNet layers and a
#     gated full-attention layer every full_attention_interval, the shared expert, MTP blocks skipped)
#     with the expected shapes, and pairs the text file with its mmproj (no DeepStack);
#   - a file whose ssm.group_count does not fit its attn_qkv is refused naming the tensor and both
#     shapes; one whose attention.recurrent_layers disagree with full_attention_interval is refused
#     naming the key;
#   - a conv kernel longer than moevk's conv op runs (16 taps) is refused naming the key;
#   - loading the model and evaluating a prompt (moevk eval) works for each file.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 8 --out-prefix "$WORK/a-" >/dev/null || die "gen qwen35moe"
"$PY" "$GEN" --arch qwen35 --preset tiny --layers 6 --nextn 1 --tie-embeddings --no-recurrent-array --text-only \
    --out-prefix "$WORK/b-" >/dev/null || die "gen qwen35"
"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 5 --nextn 1 --dtype q8_0 --out-prefix "$WORK/c-" >/dev/null ||
    die "gen qwen35moe q8_0"

info_ok() { # tag file... : exit 0, every tensor found, the expected n_layer
    local tag=$1 nl=$2
    shift 2
    if "$CLI" info "$@" >"$WORK/$tag.out" 2>&1 && grep -q "all text tensors present with the expected shapes" "$WORK/$tag.out" &&
        grep -q "n_layer $nl," "$WORK/$tag.out"; then
        ok "$tag: moevk info reads every tensor (n_layer $nl)"
    else
        bad "$tag: moevk info"
        tail -5 "$WORK/$tag.out"
    fi
}
info_ok qwen35moe-f32 8 "$WORK/a-text.gguf"
info_ok qwen35-f32-nextn 6 "$WORK/b-text.gguf"
info_ok qwen35moe-q8_0-nextn 5 "$WORK/c-text.gguf"
"$CLI" info "$WORK/a-text.gguf" "$WORK/a-mmproj.gguf" >"$WORK/pair.out" 2>&1 &&
    grep -q "belong together" "$WORK/pair.out" && ok "text + mmproj (no DeepStack) pair" || { bad "pair"; tail -3 "$WORK/pair.out"; }

# patch one u32 key of a copy: patch SRC DST KEY VALUE
patch_u32() {
    "$PY" - "$@" <<'EOF'
import struct, sys
src, dst, key, val = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
b = bytearray(open(src, "rb").read())
i = b.find(struct.pack("<Q", len(key)) + key)
assert i >= 0, key
j = i + 8 + len(key)
assert struct.unpack_from("<I", b, j)[0] == 4, "not a u32 key"  # GGUF_TYPE_UINT32
struct.pack_into("<I", b, j + 4, val)
open(dst, "wb").write(bytes(b))
EOF
}
patch_u32 "$WORK/a-text.gguf" "$WORK/groups.gguf" qwen35moe.ssm.group_count 1
if "$CLI" info "$WORK/groups.gguf" >"$WORK/groups.out" 2>&1; then :; fi
grep -q "tensor 'blk.0.attn_qkv.weight' has shape \[64, 128\], expected \[64, 96\]" "$WORK/groups.out" &&
    ok "a DeltaNet projection of the wrong shape is refused naming both shapes" || { bad "group_count"; tail -3 "$WORK/groups.out"; }
patch_u32 "$WORK/a-text.gguf" "$WORK/interval.gguf" qwen35moe.full_attention_interval 2
if "$CLI" info "$WORK/interval.gguf" >"$WORK/interval.out" 2>&1; then :; fi
grep -q "attention.recurrent_layers': layer 1 is recurrent, but full_attention_interval 2" "$WORK/interval.out" &&
    ok "a layer pattern the interval does not give is refused naming the key" || { bad "interval"; tail -3 "$WORK/interval.out"; }

patch_u32 "$WORK/a-text.gguf" "$WORK/conv.gguf" qwen35moe.ssm.conv_kernel 17
if "$CLI" info "$WORK/conv.gguf" >"$WORK/conv.out" 2>&1; then :; fi
grep -q "not runnable by moevk: .*ssm.conv_kernel 17: moevk's causal conv runs kernels of 2..16 taps" "$WORK/conv.out" &&
    ok "a conv kernel the op cannot run is refused naming the key" || { bad "conv_kernel"; tail -3 "$WORK/conv.out"; }

# the families run: a model load and one prompt give logits for every file (the q8_0 one with its MTP
# block skipped); their agreement with llama.cpp is tests/qwen35_agreement.sh
printf '\1\0\0\0\2\0\0\0' >"$WORK/t.i32"
for f in "a-text.gguf --mmproj $WORK/a-mmproj.gguf" b-text.gguf c-text.gguf; do
    rm -f "$WORK/l.f32"
    # shellcheck disable=SC2086
    "$CLI" eval -m "$WORK/"$f --tokens "$WORK/t.i32" --dump-logits "$WORK/l.f32" >"$WORK/eval.out" 2>&1
    rc=$?
    if [ $rc = 0 ] && "$PY" -c "
import sys, numpy as np
a = np.fromfile('$WORK/l.f32', '<f4')
sys.exit(0 if a.size > 0 and a.size % 2 == 0 and np.all(np.isfinite(a)) and a.std() > 0 else 1)"; then
        ok "eval of ${f%% *} runs (rc 0, finite logits)"
    else
        bad "eval of ${f%% *}: rc $rc"
        tail -3 "$WORK/eval.out"
    fi
done
[ $fails = 0 ] || { echo "FAIL: $fails check(s)"; exit 1; }
echo "OK: the qwen35 families are read, checked and run"
