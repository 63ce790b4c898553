#!/usr/bin/env bash
# multi_image_mtmd.sh — several images in one conversation against llama.cpp's own multimodal evaluation:
# libmtmd and its helper (bench/node/mtmd/mtmd_chat_ref.c) tokenize a prompt with one marker per image,
# encode each image and evaluate the chunks with the positions llama.cpp assigns, then decode greedily.
# On the embedded model (its answers have clear margins), `moevk chat --image A` with `/image B` before the
# first question and `/image C` before the second must generate the same tokens as llama.cpp given
#   turn 0: <|im_start|>user\n[A][B]Q1<|im_end|>\n<|im_start|>assistant\n            -> answer 1
#   turn 1: ... answer 1<|im_end|>\n<|im_start|>user\n[C]Q2<|im_end|>\n<|im_start|>assistant\n  -> answer 2
# (turn 1 evaluated by llama.cpp as one prompt: images A, B, C at their places, positions running on).
# mtmd_chat_ref is taken from MOEVK_MTMD_DIR, or built there (default ${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd;
# bench/node/mtmd/build_mtmd.sh, a few CPU-minutes, kept for later runs).
# ctest-labels: e2e slow
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_pil
need_node_llama_cpp
command -v g++ >/dev/null 2>&1 || skip "g++ is missing (apt-get install build-essential): cannot build libmtmd"
[ -f "$EMBED_MODEL" ] && [ -f "$EMBED_MMPROJ" ] || skip "the embedded model is missing ($EMBED_MODEL)"

MT="${MOEVK_MTMD_DIR:-${MOEVK_CACHE_DIR:-/tmp}/moevk-mtmd}"
if [ ! -x "$MT/mtmd_chat_ref" ]; then
    echo "building libmtmd and mtmd_chat_ref in $MT ..."
    mkdir -p "$MT"
    bash "$SRC/bench/node/mtmd/build_mtmd.sh" "$MT" >"$MT/build.log" 2>&1 || { tail -20 "$MT/build.log"; die "build_mtmd.sh failed"; }
fi

new_workdir
mapfile -t IMG < <(ls "$SRC"/assets/samples/*scene*.png | sort | sed -n '1p;5p;3p')
[ "${#IMG[@]}" = 3 ] || die "need three sample scenes in assets/samples"
sizes=()
for i in 0 1 2; do
    sizes+=("$("$PY" -c 'import sys; from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB"); open(sys.argv[2], "wb").write(im.tobytes()); print(im.width, im.height)' \
        "${IMG[$i]}" "$WORK/img$i.u8")")
done
Q1="Describe this image in one sentence."
Q2="How many stars are there?"
N=12
printf '/image %s\n%s\n/image %s\n%s\n' "${IMG[1]}" "$Q1" "${IMG[2]}" "$Q2" |
    "$CLI" chat -m "$EMBED_MODEL" --mmproj "$EMBED_MMPROJ" --image "${IMG[0]}" -n $N --routing "$WORK/r.json" \
    >"$WORK/chat.txt" 2>"$WORK/chat.err" || { cat "$WORK/chat.err"; die "moevk chat failed"; }
mapfile -t ANS <"$WORK/chat.txt"
echo "moevk: ${ANS[0]} | ${ANS[1]}"
M='<__media__>'
printf '<|im_start|>user\n%s%s%s<|im_end|>\n<|im_start|>assistant\n' "$M" "$M" "$Q1" >"$WORK/p0.txt"
printf '<|im_start|>user\n%s%s%s<|im_end|>\n<|im_start|>assistant\n%s<|im_end|>\n<|im_start|>user\n%s%s<|im_end|>\n<|im_start|>assistant\n' \
    "$M" "$M" "$Q1" "${ANS[0]}" "$M" "$Q2" >"$WORK/p1.txt"
read -r w0 h0 <<<"${sizes[0]}"
read -r w1 h1 <<<"${sizes[1]}"
read -r w2 h2 <<<"${sizes[2]}"
# the embedded pair was trained on 16 image tokens (its mmproj's moevk.vision.image_*_tokens, which llama.cpp does not read)
ref() { env -u VK_INSTANCE_LAYERS "$MT/mtmd_chat_ref" "$EMBED_MODEL" "$EMBED_MMPROJ" "$@" --min-tokens 16; }
ref "$WORK/p0.txt" $N "$WORK/ref0.i32" "$WORK/img0.u8" "$w0" "$h0" "$WORK/img1.u8" "$w1" "$h1" >"$WORK/ref0.json" 2>"$WORK/ref0.err" ||
    { tail -5 "$WORK/ref0.err"; die "mtmd_chat_ref failed on turn 0"; }
ref "$WORK/p1.txt" $N "$WORK/ref1.i32" "$WORK/img0.u8" "$w0" "$h0" "$WORK/img1.u8" "$w1" "$h1" "$WORK/img2.u8" "$w2" "$h2" \
    >"$WORK/ref1.json" 2>"$WORK/ref1.err" || { tail -5 "$WORK/ref1.err"; die "mtmd_chat_ref failed on turn 1"; }
echo "llama.cpp turn 0: $(cat "$WORK/ref0.json")"
echo "llama.cpp turn 1: $(cat "$WORK/ref1.json")"
"$PY" - "$WORK" <<'PYEOF'
import json, sys
import numpy as np
w = sys.argv[1]
r = json.load(open(w + "/r.json"))
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: fails.append(what)
for turn in (0, 1):
    ref = np.fromfile(w + "/ref%d.i32" % turn, dtype="<i4").tolist()
    info = json.load(open(w + "/ref%d.json" % turn))
    ours = [t["token"] for t in r if t["kind"] == "generated" and t["turn"] == turn]
    img = [t for t in r if t["kind"] == "image"]
    n_img = len({t["image"] for t in img if t["turn"] <= turn})
    check(info["image_tokens"] == [sum(1 for t in img if t["image"] == i) for i in range(n_img)],
          "turn %d: image tokens per image, llama.cpp %s" % (turn, info["image_tokens"]))
    # moevk does not feed the end-of-turn token it samples, llama.cpp's list ends with it: compare the common part
    k = min(len(ours), len(ref))
    check(k >= 3 and ours[:k] == ref[:k], "turn %d: greedy tokens, moevk %s vs llama.cpp %s" % (turn, ours, ref))
ans_pos = [t for t in r if t["turn"] == 1]
check(bool(ans_pos) and max(t["pos"] for t in r) + 1 == len(r), "the conversation's records are one sequence")
sys.exit(1 if fails else 0)
PYEOF
echo "PASS: two images in one turn and a third in a follow-up generate llama.cpp's tokens"
