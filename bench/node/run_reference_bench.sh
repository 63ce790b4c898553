#!/usr/bin/env bash
# run_reference_bench.sh — the llama.cpp throughput matrix reported in docs/LLAMACPP.md.
#
#   bash bench/node/run_reference_bench.sh [OUT_DIR]      (default /tmp/moevk-llama-bench)
#
# Generates the synthetic "bench" model (tools/gen_synthetic_model.py, seed 1234) in f32, f16 and q8_0,
# then runs bench/llama_bench.mjs (median of 5) on those and on goldens/qwen3vlmoe-tiny-a/text.gguf,
# CPU build and Vulkan build. One JSON file per run in OUT_DIR, plus summary.txt.
# Env: THREADS (CPU-build thread counts, default "1 2"), BUILDS (default "cpu vulkan"), RUNS (default 5),
# VK_PROMPT / VK_DECODE (Vulkan prompt/decode tokens for the bench models, default 32 / 16).
# Takes tens of minutes on a 2-core machine with lavapipe; run it on an otherwise idle machine.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-/tmp/moevk-llama-bench}"
GOLDENS="${MOEVK_GOLDENS:-$SRC/../shared/goldens}"
THREADS="${THREADS:-1 2}"   # CPU-build thread counts to measure
BUILDS="${BUILDS:-cpu vulkan}"
RUNS="${RUNS:-5}"
mkdir -p "$OUT"
export UV_THREADPOOL_SIZE=1

for dt in f32 f16 q8_0; do
    [ -f "$OUT/bench-$dt/text.gguf" ] ||
        /usr/bin/python3 "$SRC/tools/gen_synthetic_model.py" --dtype "$dt" --text-only --out-prefix "$OUT/bench-$dt/"
done

run() { # tag model prompt decode gpu threads
    local f="$OUT/$1-$5-t$6.json"
    echo "== $1 gpu=$5 threads=$6 (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/summary.txt"
    node "$SRC/bench/llama_bench.mjs" --model "$2" --prompt "$3" --decode "$4" --gpu "$5" --threads "$6" \
        --runs "$RUNS" >"$f"
    node -e 'const r=require(process.argv[1]);console.log(`   prefill ${r.prefill_tok_s} tok/s  decode ${r.decode_tok_s} tok/s  (${r.prompt_tokens}/${r.decode_tokens} tokens, kv ${r.kv})`)' "$f" |
        tee -a "$OUT/summary.txt"
}

cpu_threads=$THREADS
case " $BUILDS " in *" cpu "*) ;; *) cpu_threads="" ;; esac
for t in $cpu_threads; do
    [ -f "$GOLDENS/qwen3vlmoe-tiny-a/text.gguf" ] && run goldens-a "$GOLDENS/qwen3vlmoe-tiny-a/text.gguf" 128 64 false "$t"
    for dt in f32 f16 q8_0; do run "bench-$dt" "$OUT/bench-$dt/text.gguf" 512 64 false "$t"; done
done
# Vulkan: ggml's CPU threads barely matter (lavapipe does the work with its own threads)
case " $BUILDS " in *" vulkan "*) ;; *) echo "results in $OUT"; exit 0 ;; esac
# On lavapipe llama.cpp's batched matmul shaders are very slow (a 512-token prefill of the bench model took
# ~9 min per run on the busy 2-core machine), hence the short prompt for the bench models.
[ -f "$GOLDENS/qwen3vlmoe-tiny-a/text.gguf" ] && run goldens-a "$GOLDENS/qwen3vlmoe-tiny-a/text.gguf" 128 64 vulkan 1
for dt in f32 f16 q8_0; do run "bench-$dt" "$OUT/bench-$dt/text.gguf" "${VK_PROMPT:-32}" "${VK_DECODE:-16}" vulkan 1; done
echo "results in $OUT"
