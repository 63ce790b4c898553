#!/usr/bin/env bash
# bitident.sh — the proof of a refactoring that must change no number (issue 17: "the move itself
# changes nothing"): dump logits, routing, greedy tokens, vision rows and caption/chat text of one
# build on a fixed set of models, then compare two dumps byte for byte (cmp).
#
#   bash tools/bitident.sh models DIR            write the models once (synthetic, all 4 archs, F32 /
#                                                Q8_0 / llama.cpp's Q4_K_M mixture) into DIR
#   bash tools/bitident.sh dump DIR OUT [CLI]    run CLI (default build/moevk) on DIR's models -> OUT
#   bash tools/bitident.sh compare REF OUT       cmp every file of REF against OUT; exit 1 on a difference
#
# Typical use: build the commit before the change, `dump models ref`; after it, `dump models new`,
# `compare ref new` must say "identical". Cases per model (the vision archs with an image):
#   eval, F32 KV and F16 KV: logits at every position, routing ids + weights, 6 greedy tokens, vision rows;
#   eval with --device-mem between the minimum and everything resident (experts stream), MoE archs only;
#   caption (greedy, 8 tokens) and a two-turn chat with --routing JSON, on the F32 files.
# The golden pair (../shared/goldens/qwen3vlmoe-tiny-a) runs with its image too.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PY=/usr/bin/python3
ARCHS="qwen3vlmoe qwen3vl qwen3moe qwen3"
DTYPES="f32 q8_0 q4km"

has_vision() { case "$1" in qwen3vlmoe | qwen3vl) return 0 ;; *) return 1 ;; esac; }
is_moe() { case "$1" in qwen3vlmoe | qwen3moe) return 0 ;; *) return 1 ;; esac; }

models() {
    local D=$1
    mkdir -p "$D"
    local Q="$D/q/quantize"
    [ -x "$Q" ] || bash "$SRC/tools/llamacpp/build_quantize.sh" "$D/q" >/dev/null
    for a in $ARCHS; do
        local extra=(--text-only)
        has_vision "$a" && extra=(--vision-depth 2 --vision-width 64 --vision-heads 2 --vision-ff 128 --vision-pos-side 4 --deepstack 1)
        for dt in f32 q8_0; do
            [ -f "$D/$a-$dt-text.gguf" ] && continue
            # every row a multiple of 256 so that llama.cpp's Q4_K_M applies to every matrix
            "$PY" "$SRC/tools/gen_synthetic_model.py" --preset tiny --seed 17 --arch "$a" --dtype "$dt" --layers 3 \
                --experts 8 --top-k 2 --embd 256 --heads 4 --kv-heads 2 --head-dim 64 --ff-exp 256 --ff 256 \
                --vocab-merges 100 "${extra[@]}" --out-prefix "$D/$a-$dt-" >/dev/null
        done
        if [ ! -f "$D/$a-q4km-text.gguf" ]; then
            "$Q" "$D/$a-f32-text.gguf" "$D/$a-q4km-text.gguf" Q4_K_M >"$D/$a-q4km.log" 2>&1
            has_vision "$a" && cp "$D/$a-f32-mmproj.gguf" "$D/$a-q4km-mmproj.gguf"
        fi
    done
    "$PY" - "$SRC/tools" "$D" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r = GGUFReader(sys.argv[2] + "/qwen3vlmoe-f32-text.gguf")
toks, types = r.kv["tokenizer.ggml.tokens"], r.kv["tokenizer.ggml.token_type"]
sp = {t: toks.index(t) for t in ("<|im_start|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>")}
normal = [i for i, t in enumerate(types) if t == 1]
rng = np.random.default_rng(5)
pick = lambda n: [normal[i] for i in rng.integers(0, len(normal), n)]
np.asarray([sp["<|im_start|>"]] + pick(23), "<i4").tofile(sys.argv[2] + "/text.i32")
img = [sp["<|im_start|>"]] + pick(5) + [sp["<|vision_start|>"]] + [sp["<|image_pad|>"]] * 6 + \
      [sp["<|vision_end|>"]] + pick(8)
np.asarray(img, "<i4").tofile(sys.argv[2] + "/image.i32")
(rng.random((3, 64, 96), dtype=np.float32) * 2 - 1).astype("<f4").tofile(sys.argv[2] + "/pixels.f32")
EOF
    "$PY" -c 'import numpy as np,sys; from PIL import Image; Image.fromarray(np.random.default_rng(3).integers(0,256,(64,96,3),dtype=np.uint8)).save(sys.argv[1])' "$D/image.png"
}

# the smallest budget (MiB) the model accepts, + 1: experts stream
stream_budget() {
    local min
    min=$("$CLI" eval "$@" --device-mem 1 2>&1 | sed -n 's/.*minimum of \([0-9.]*\) MiB.*/\1/p' || true)
    [ -n "$min" ] || { echo "bitident: no minimum budget reported for $*" >&2; return 1; }
    "$PY" -c "import math,sys; print(math.ceil(float(sys.argv[1])) + 1)" "$min"
}

dump() {
    local D=$1 O=$2
    CLI=${3:-$SRC/build/moevk}
    mkdir -p "$O"
    run() { # tag args...
        local t=$1
        shift
        "$CLI" eval "$@" --dump-logits "$O/$t.logits" --dump-routing-ids "$O/$t.rid" --dump-routing-weights "$O/$t.rw" \
            --greedy 6 --dump-tokens "$O/$t.greedy" 2>"$O/$t.err" || { echo "FAIL: $t"; tail -3 "$O/$t.err"; return 1; }
        rm -f "$O/$t.err"
    }
    for a in $ARCHS; do
        for dt in $DTYPES; do
            local m=(-m "$D/$a-$dt-text.gguf") tk="$D/text.i32" vin=() v32=() v16=() vst=()
            if has_vision "$a"; then
                m+=(--mmproj "$D/$a-$dt-mmproj.gguf")
                tk="$D/image.i32"
                vin=(--pixels "$D/pixels.f32" --pixels-hw 64,96)
                v32=(--dump-vision "$O/$a-$dt-kvf32.vis") v16=(--dump-vision "$O/$a-$dt-kvf16.vis")
                vst=(--dump-vision "$O/$a-$dt-stream.vis")
            fi
            run "$a-$dt-kvf32" "${m[@]}" "${vin[@]}" "${v32[@]}" --tokens "$tk" --kv-type f32
            run "$a-$dt-kvf16" "${m[@]}" "${vin[@]}" "${v16[@]}" --tokens "$tk" --kv-type f16
            if is_moe "$a"; then
                local b
                b=$(stream_budget "${m[@]}" "${vin[@]}" --tokens "$tk")
                run "$a-$dt-stream" "${m[@]}" "${vin[@]}" "${vst[@]}" --tokens "$tk" --kv-type f32 --device-mem "$b"
            fi
        done
        # the prompt format: caption and a two-turn chat (text models: chat without an image)
        local m=(-m "$D/$a-f32-text.gguf")
        if has_vision "$a"; then
            m+=(--mmproj "$D/$a-f32-mmproj.gguf")
            "$CLI" caption "${m[@]}" --image "$D/image.png" -n 8 -q --routing "$O/$a.cap.json" >"$O/$a.cap.txt" 2>/dev/null
            printf 'What is it?\nAnd then?\n' | "$CLI" chat "${m[@]}" --image "$D/image.png" -n 6 -q --routing "$O/$a.chat.json" >"$O/$a.chat.txt" 2>/dev/null
        else
            printf 'Hello there\nAnd then?\n' | "$CLI" chat "${m[@]}" -n 6 -q --routing "$O/$a.chat.json" >"$O/$a.chat.txt" 2>/dev/null
        fi
    done
    local G="$SRC/../shared/goldens/qwen3vlmoe-tiny-a"
    if [ -f "$G/manifest.json" ]; then
        run golden-kvf32 -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 \
            --tokens "$G/prompt_tokens.i32" --kv-type f32 --dump-vision "$O/golden.vis"
        run golden-stream -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 \
            --tokens "$G/prompt_tokens.i32" --kv-type f32 \
            --device-mem "$(stream_budget -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 --tokens "$G/prompt_tokens.i32")"
    else
        echo "bitident: goldens not found at $G (not dumped)" >&2
    fi
    echo "dumped $(ls "$O" | wc -l) files into $O"
}

compare() {
    local R=$1 O=$2 bad=0 n=0
    for f in "$R"/*; do
        n=$((n + 1))
        cmp -s "$f" "$O/$(basename "$f")" || { echo "DIFFERS: $(basename "$f")"; bad=1; }
    done
    for f in "$O"/*; do [ -e "$R/$(basename "$f")" ] || { echo "EXTRA: $(basename "$f")"; bad=1; }; done
    [ "$n" -gt 0 ] || { echo "FAIL: $R is empty"; exit 1; }
    [ $bad = 0 ] && echo "identical: $n files" || { echo "FAIL: the dumps differ"; exit 1; }
}

case "${1:-}" in
models) models "$2" ;;
dump) dump "$2" "$3" "${4:-}" ;;
compare) compare "$2" "$3" ;;
*) sed -n '2,16p' "$0"; exit 2 ;;
esac
