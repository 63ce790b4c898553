#!/usr/bin/env bash
# run_race.sh — regenerate every figure in docs/PERFORMANCE.md: moevk against llama.cpp on the same
# machine, the same Vulkan device (lavapipe) and the same text GGUF.
#
#   bash bench/run_race.sh [OUT_DIR]          (default /tmp/moevk-race; takes ~20-40 min on 2 cores)
#
# Steps (all output in OUT_DIR; summary.txt collects the lines quoted in the doc):
#   1. env.txt: date, CPU model and cores, the commit, `moevk devices`, load average.
#   2. moevk built from the COMMITTED tree (git archive HEAD -> OUT_DIR/src, Release build in
#      OUT_DIR/build), so uncommitted edits in the working tree never leak into the figures.
#      MOEVK=/path/to/moevk skips the build and uses that binary (MOEVK_COMMIT=its commit, for env.txt).
#   3. models: goldens/qwen3vlmoe-tiny-a (text + mmproj), the synthetic "bench" preset of
#      tools/gen_synthetic_model.py (seed 1234) in each of $DTYPES, and assets/models/moevk-tiny*.gguf
#      if present; with A3B=1 also random-weight text GGUFs of Qwen3-VL-30B-A3B's layer shape
#      (bench/make_a3b_model.sh, made by llama.cpp's quantizer, one per $A3B_FTYPES, in $A3B_DIR).
#   4. ops.txt: `moevk bench ops --reps $OPS_REPS`.
#   5. per model: `moevk bench model` (median of $REPS) and bench/llama_bench.mjs (median of $REPS) with
#      the CPU build (--threads $THREADS) and the Vulkan build on lavapipe, at the same prompt/decode
#      lengths: P=128/N=64 for moevk and llama.cpp CPU, and the short Vulkan lengths ($VK_PROMPT/$VK_DECODE,
#      default 32/16; llama.cpp's Vulkan prefill on lavapipe is very slow) for moevk and llama.cpp Vulkan.
#      The a3b models (no mmproj) run at $A3B_PROMPT/$A3B_DECODE (default 32/32), CPU llama.cpp only.
#   6. mtmd-*.json: llama.cpp's image encoder (libmtmd, bench/node/mtmd, CPU, $THREADS thread) on the same
#      448x448 random image size moevk bench model uses (196 image tokens), median of $REPS.
#   7. profile-*.txt: MOEVK_PROFILE=1 `moevk caption` of the goldens' image on goldens-a and bench-f32, and
#      profile448-goldens-a.txt on a random 448x448 image (per-op GPU time from timestamp queries).
#   8. race.md (STEPS=race, A3B=1): the issue-19 race on the a3b slice, every run alone through solo (below).
# Env: REPS (5), OPS_REPS (10), THREADS (llama.cpp CPU threads, default 1), DTYPES ("f32 f16"),
#      VK_PROMPT/VK_DECODE (32/16), SKIP_VULKAN=1 (no llama.cpp Vulkan runs),
#      ONLY (space-separated model tags to keep, e.g. "goldens-a bench-f32 moevk-tiny"; default all),
#      STEPS (which of "ops models mtmd profile" to run; default all), MTMD_DIR (a built bench/node/mtmd),
#      A3B=1, A3B_FTYPES ("Q8_0 Q4_K_M"), A3B_DIR (/tmp/moevk-a3b; ~3.5 GB), A3B_PROMPT/A3B_DECODE (32/32).
#      e.g. A3B=1 ONLY="a3b-Q8_0 a3b-Q4_K_M" STEPS=models REPS=3 bash bench/run_race.sh /tmp/race-a3b
#      The race of issue 19: A3B=1 A3B_DIR=/work/models ONLY="a3b-Q8_0 a3b-Q4_K_M" STEPS=race REPS=3 \
#        MOEVK=... bash bench/run_race.sh /tmp/race   (RACE_P/RACE_N 128/64, RACE_THREADS 2, RACE_DEVMEM 4096, SOLO)
# Every timed line in summary.txt carries the load average (/proc/loadavg) at its start.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/moevk-race}"
GOLDENS="${MOEVK_GOLDENS:-$SRC/../shared/goldens}"
REPS="${REPS:-5}"
OPS_REPS="${OPS_REPS:-10}"
STEPS=" ${STEPS:-ops models mtmd profile} "
step() { case "$STEPS" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
THREADS="${THREADS:-1}"
DTYPES="${DTYPES:-f32 f16}"
VK_PROMPT="${VK_PROMPT:-32}"
VK_DECODE="${VK_DECODE:-16}"
export UV_THREADPOOL_SIZE=1          # see docs/LLAMACPP.md: set before node starts
mkdir -p "$OUT"
S="$OUT/summary.txt"
load() { cut -d' ' -f1-3 /proc/loadavg; }
say() { echo "$*" | tee -a "$S"; }

# ---- 1-2: environment, build -------------------------------------------------------------------------
COMMIT="$(git -C "$SRC" rev-parse --short HEAD)"
if [ -n "${MOEVK:-}" ]; then
    COMMIT="${MOEVK_COMMIT:-unknown: prebuilt binary, set MOEVK_COMMIT}"
else
    rm -rf "$OUT/src" && mkdir -p "$OUT/src"
    git -C "$SRC" archive HEAD | tar -x -C "$OUT/src"
    cmake -S "$OUT/src" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release >"$OUT/build.log" 2>&1
    cmake --build "$OUT/build" -j"$(nproc)" --target moevk_cli >>"$OUT/build.log" 2>&1
    MOEVK="$OUT/build/moevk"
fi
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
    echo "commit: $COMMIT (moevk binary: $MOEVK)"
    echo "node-llama-cpp: $(node -p 'require(process.argv[1]).version' "$SRC/bench/node/node_modules/node-llama-cpp/package.json")"
    echo "load: $(load)"
    "$MOEVK" devices
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" | tee -a "$S"

# ---- 3: models ------------------------------------------------------------------------------------------
MODELS=()   # tag:text:mmproj
[ -f "$GOLDENS/qwen3vlmoe-tiny-a/text.gguf" ] &&
    MODELS+=("goldens-a:$GOLDENS/qwen3vlmoe-tiny-a/text.gguf:$GOLDENS/qwen3vlmoe-tiny-a/mmproj.gguf")
for dt in $DTYPES; do
    case " ${ONLY:-bench-$dt} " in *" bench-$dt "*) ;; *) continue ;; esac # not asked for: not generated
    [ -f "$OUT/bench-$dt/text.gguf" ] ||
        /usr/bin/python3 "$SRC/tools/gen_synthetic_model.py" --dtype "$dt" --out-prefix "$OUT/bench-$dt/" >/dev/null
    MODELS+=("bench-$dt:$OUT/bench-$dt/text.gguf:$OUT/bench-$dt/mmproj.gguf")
done
[ -f "$SRC/assets/models/moevk-tiny.gguf" ] && [ -f "$SRC/assets/models/moevk-tiny-mmproj.gguf" ] &&
    MODELS+=("moevk-tiny:$SRC/assets/models/moevk-tiny.gguf:$SRC/assets/models/moevk-tiny-mmproj.gguf")
A3B_FTYPES="${A3B_FTYPES:-Q8_0 Q4_K_M}"
if [ -n "${A3B:-}" ]; then # text only: the tag's mmproj field stays empty
    A3B_DIR="${A3B_DIR:-/tmp/moevk-a3b}"
    FTYPES="$A3B_FTYPES" MOEVK="$MOEVK" bash "$SRC/bench/make_a3b_model.sh" "$A3B_DIR" >>"$OUT/a3b-make.log" 2>&1
    for ft in $A3B_FTYPES; do MODELS+=("a3b-$ft:$A3B_DIR/a3b-$ft.gguf:"); done
fi

if [ -n "${ONLY:-}" ]; then
    keep=()
    for m in "${MODELS[@]}"; do case " $ONLY " in *" ${m%%:*} "*) keep+=("$m") ;; esac; done
    MODELS=("${keep[@]}")
fi

for m in "${MODELS[@]}"; do
    IFS=: read -r tag text mmproj <<<"$m"
    say "model $tag: $text ($(stat -c%s "$text") B, md5 $(md5sum <"$text" | cut -c1-12))${mmproj:+, $mmproj ($(stat -c%s "$mmproj") B)}"
done

# ---- 4: ops ---------------------------------------------------------------------------------------------
if step ops; then
    say "== moevk bench ops --reps $OPS_REPS (load $(load))"
    "$MOEVK" bench ops --reps "$OPS_REPS" | tee "$OUT/ops.txt" >>"$S"
    say "   (load after: $(load))"
fi

# ---- 5: models, moevk vs llama.cpp -------------------------------------------------------------------
moevk_run() { # tag text mmproj P N
    local f="$OUT/moevk-$1-p$4-n$5.txt"
    say "== moevk $1 -p $4 -n $5 --reps $REPS (load $(load))"
    "$MOEVK" bench model -m "$2" ${3:+--mmproj "$3"} -p "$4" -n "$5" --reps "$REPS" 2>/dev/null | tee "$f" |
        grep -E '^(image encode|prefill|decode)' | sed 's/^/   /' | tee -a "$S"
}
llama_run() { # tag text P N gpu threads
    local f="$OUT/llama-$1-$5-t$6-p$3-n$4.json"
    say "== llama.cpp $1 gpu=$5 threads=$6 -p $3 -n $4 (load $(load))"
    node "$SRC/bench/llama_bench.mjs" --model "$2" --prompt "$3" --decode "$4" --gpu "$5" --threads "$6" \
        --runs "$REPS" >"$f"
    node -e 'const r=require(process.argv[1]);console.log(`   prefill ${r.prefill_tok_s} tok/s  decode ${r.decode_tok_s} tok/s  samples ${r.prefill_samples} | ${r.decode_samples}`)' "$f" |
        tee -a "$S"
}
step models && for m in "${MODELS[@]}"; do
    IFS=: read -r tag text mmproj <<<"$m"
    if [ "${tag#a3b-}" != "$tag" ]; then # big: short lengths, no llama.cpp Vulkan (hours on lavapipe)
        moevk_run "$tag" "$text" "" "${A3B_PROMPT:-32}" "${A3B_DECODE:-32}"
        for t in $THREADS; do llama_run "$tag" "$text" "${A3B_PROMPT:-32}" "${A3B_DECODE:-32}" false "$t"; done
        continue
    fi
    moevk_run "$tag" "$text" "$mmproj" 128 64
    for t in $THREADS; do llama_run "$tag" "$text" 128 64 false "$t"; done
    if [ -z "${SKIP_VULKAN:-}" ]; then
        if [ "$tag" = goldens-a ]; then vp=128 vn=64; else vp=$VK_PROMPT vn=$VK_DECODE; fi
        [ "$vp" = 128 ] || moevk_run "$tag" "$text" "$mmproj" "$vp" "$vn"
        llama_run "$tag" "$text" "$vp" "$vn" vulkan 1
    fi
done

# ---- 6: llama.cpp's image encoder -------------------------------------------------------------------------
if step mtmd; then
    MT="${MTMD_DIR:-$OUT/mtmd}"
    [ -x "$MT/mtmd_ref" ] || bash "$SRC/bench/node/mtmd/build_mtmd.sh" "$MT" >"$OUT/mtmd-build.log" 2>&1
    /usr/bin/python3 -c 'import numpy as np,sys; np.random.default_rng(7).integers(0,256,448*448*3,dtype=np.uint8).tofile(sys.argv[1])' "$OUT/img448.u8"
    for m in "${MODELS[@]}"; do
        IFS=: read -r tag text mmproj <<<"$m"
        [ -n "$mmproj" ] || continue
        for t in $THREADS; do
            say "== mtmd encode $tag 448x448 threads=$t runs=$REPS (load $(load))"
            "$MT/mtmd_ref" "$text" "$mmproj" "$OUT/img448.u8" 448 448 "$OUT/mtmd-$tag.f32" "$t" -1 "$REPS" \
                2>"$OUT/mtmd-$tag.log" | tee "$OUT/mtmd-$tag-t$t.json" | sed 's/^/   /' | tee -a "$S"
        done
    done
fi

# ---- 7: per-op GPU time of a real forward pass ------------------------------------------------------------
step profile && for m in "${MODELS[@]}"; do
    IFS=: read -r tag text mmproj <<<"$m"
    case "$tag" in goldens-a | bench-f32) ;; *) continue ;; esac
    img="$GOLDENS/qwen3vlmoe-tiny-a/image.png"
    [ -f "$img" ] || continue
    say "== MOEVK_PROFILE=1 caption $tag (load $(load))"
    MOEVK_PROFILE=1 "$MOEVK" caption -m "$text" --mmproj "$mmproj" --image "$img" -n 16 \
        >"$OUT/profile-$tag.out" 2>"$OUT/profile-$tag.txt" || true
    if [ "$tag" = goldens-a ]; then # a 448x448 image (196 image tokens): the vision tower's share
        /usr/bin/python3 -c 'import numpy as np,sys; from PIL import Image; Image.fromarray(np.random.default_rng(7).integers(0,256,(448,448,3),dtype=np.uint8)).save(sys.argv[1])' "$OUT/img448.png"
        say "== MOEVK_PROFILE=1 caption $tag, 448x448 image (load $(load))"
        MOEVK_PROFILE=1 "$MOEVK" caption -m "$text" --mmproj "$mmproj" --image "$OUT/img448.png" -n 16 \
            >"$OUT/profile448-$tag.out" 2>"$OUT/profile448-$tag.txt" || true
    fi
done
# ---- 8: the a3b race, every run alone (issue 19) ----------------------------------------------------------
# STEPS=race (with A3B=1): per ftype of $A3B_FTYPES, each run a separate `solo` command ($SOLO), so that no
# run holds the machine for more than a few minutes; solo's verdict (quiet / NOISY) is kept per run:
#   moevk bench model    P=$RACE_P N=$RACE_N (128/64) and the short P=$VK_PROMPT N=$VK_DECODE (32/16),
#                        --device-mem $RACE_DEVMEM (4096: fully resident), median of $REPS
#   llama.cpp CPU        P=128 N=64, $RACE_THREADS threads (2), median of $REPS
#   llama.cpp Vulkan     on lavapipe, P=32 N=16 only (its prefill is far too slow at 128; said in the table),
#                        median of $RACE_VK_REPS (default $REPS; 1 keeps each solo run to minutes)
# A run whose solo gave up (lock or load never free) shows "no-run" and "-" figures.
# race.md gets the issue's table, the ratios, and each figure's verdict. Quote only rows marked quiet.
if step race; then
    SOLO="${SOLO:-$SRC/../shared/tools/solo}"
    RP="${RACE_P:-128}" RN="${RACE_N:-64}" RT="${RACE_THREADS:-2}" RD="${RACE_DEVMEM:-4096}"
    R="$OUT/race.md"
    solo_verdict() { local v; v=$(grep -Eo 'quiet|NOISY|giving up' "$1" | tail -1); [ "$v" = "giving up" ] && v=no-run; echo "${v:-no-run}"; }
    num() { [ -n "$1" ] && echo "$1" || echo -; } # a missing figure stays a column
    race_moevk() { # tag text P N -> "prefill decode verdict"
        local f="$OUT/race-moevk-$1-p$3-n$4.txt" lg="$OUT/race-moevk-$1-p$3-n$4.solo"
        : >"$lg"
        SOLO_LOG="$lg" "$SOLO" "$MOEVK" bench model -m "$2" -p "$3" -n "$4" --reps "$REPS" --device-mem "$RD" >"$f" 2>&1
        echo "$(num "$(sed -n 's/^prefill: .*: \([0-9.]*\) tokens\/s.*/\1/p' "$f")") $(num "$(sed -n 's/^decode: .*: \([0-9.]*\) tokens\/s.*/\1/p' "$f")") $(solo_verdict "$lg")"
    }
    race_llama() { # tag text P N gpu threads [runs] -> "prefill decode verdict"
        local f="$OUT/race-llama-$1-$5-t$6-p$3-n$4.json" lg="$OUT/race-llama-$1-$5-t$6-p$3-n$4.solo"
        : >"$lg"
        SOLO_LOG="$lg" "$SOLO" node "$SRC/bench/llama_bench.mjs" --model "$2" --prompt "$3" --decode "$4" --gpu "$5" \
            --threads "$6" --runs "${7:-$REPS}" >"$f" 2>"$f.log"
        echo "$(node -e 'const r=require(process.argv[1]);console.log(`${r.prefill_tok_s} ${r.decode_tok_s}`)' "$f" 2>/dev/null || echo "- -") $(solo_verdict "$lg")"
    }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.3gx", a / b; else printf "-" }'; }
    {
        echo "commit $COMMIT, $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo "| | moevk prefill t/s | llama.cpp CPU ($RT thr) | ratio | moevk decode t/s | llama.cpp CPU | ratio | solo (moevk, llama.cpp) |"
        echo "|---|---|---|---|---|---|---|---|"
    } >"$R"
    VKROWS=()
    for m in "${MODELS[@]}"; do
        IFS=: read -r tag text mmproj <<<"$m"
        [ "${tag#a3b-}" != "$tag" ] || continue
        read -r mp md mv <<<"$(race_moevk "$tag" "$text" "$RP" "$RN")"
        read -r lp ld lv <<<"$(race_llama "$tag" "$text" "$RP" "$RN" false "$RT")"
        echo "| ${tag#a3b-} P=$RP N=$RN | $mp | $lp | $(ratio "$mp" "$lp") | $md | $ld | $(ratio "$md" "$ld") | $mv, $lv |" | tee -a "$S" >>"$R"
        if [ -z "${SKIP_VULKAN:-}" ]; then
            read -r sp sd sv <<<"$(race_moevk "$tag" "$text" "$VK_PROMPT" "$VK_DECODE")"
            read -r vp vd vv <<<"$(race_llama "$tag" "$text" "$VK_PROMPT" "$VK_DECODE" vulkan 1 "${RACE_VK_REPS:-$REPS}")"
            VKROWS+=("| ${tag#a3b-} P=$VK_PROMPT N=$VK_DECODE | $sp | $vp | $(ratio "$sp" "$vp") | $sd | $vd | $(ratio "$sd" "$vd") | $sv, $vv |")
        fi
    done
    if [ ${#VKROWS[@]} -gt 0 ]; then
        {
            echo
            echo "llama.cpp's Vulkan build on the same lavapipe device, at the short lengths (its prefill is too slow for P=128):"
            echo
            echo "| | moevk prefill t/s | llama.cpp Vulkan | ratio | moevk decode t/s | llama.cpp Vulkan | ratio | solo (moevk, llama.cpp) |"
            echo "|---|---|---|---|---|---|---|---|"
            printf '%s\n' "${VKROWS[@]}"
        } | tee -a "$S" >>"$R"
    fi
    say "race table: $R"
fi
say "results in $OUT"
