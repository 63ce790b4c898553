#!/usr/bin/env bash
# gemma4_tokenizer.sh — moevk's gemma4 tokenizer (tokenizer.ggml.model = gemma4: spaces escaped to U+2581,
# the text split into newline / non-newline runs, BPE merges over raw UTF-8 characters, <0xXX> byte fallback,
# a newline run that is a token taken whole) against llama.cpp itself (npm node-llama-cpp's CPU library,
# tests/js/llamacpp_tok.mjs), on the vocabulary tools/gen_synthetic_model.py --arch gemma4 writes (printable
# ASCII, U+2581, "\n", "\n\n", the 256 <0xXX> byte tokens, merges trained on its corpus, Gemma 4's turn /
# channel / image markers).
#   corpus "ascii": sentences, runs of spaces and newlines, the chat markers inside text: every string gives
#     llama.cpp's ids with and without --special, and detokenizes back byte for byte (--check-roundtrip);
#   corpus "other": characters outside the vocabulary (accents, CJK, emoji, tabs): the same ids as llama.cpp
#     (their bytes as <0xXX> tokens; no round trip: a literal U+2581 comes back as a space, as in llama.cpp).
# Then every token's piece (`--dump-pieces`, U+2581 shown as a space) against llama.cpp's detokenization.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_node_llama_cpp
NLC="$NODE_DIR/node_modules/node-llama-cpp"
new_workdir
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch gemma4 --preset tiny --layers 6 --out-prefix "$WORK/g-" >/dev/null
"$PY" - "$WORK" <<'EOF'
import random, sys
d = sys.argv[1]
rng = random.Random(4)
words = "the cat sat on mat dog is running in park The image shows a red circle blue square green triangle".split()
ascii_ = ["Hello world", " leading space", "trailing space ", "two  spaces   three", "\n", "\n\n", "\n\n\n", "a\nb",
          "line one\n\nline two\n", "<|turn>user\nWhat is in the picture?<turn|>\n<|turn>model\n",
          "<|channel>thought\n<channel|>The answer", "x<|image|>y", "<bos>text<eos>", "punctuation: (a), [b]; {c}!?",
          "The quick brown fox jumps over the lazy dog.", "   ", " ", "", "Describe this image.\n"]
for _ in range(300):
    n = rng.randint(1, 12)
    s = ""
    for _ in range(n):
        s += rng.choice(words) + rng.choice([" ", " ", "  ", "\n", ". ", ", ", "\n\n", "!"])
    ascii_.append(s[:rng.randint(0, len(s))])
for _ in range(200):
    ascii_.append("".join(rng.choice("ab \n.<|>turn") for _ in range(rng.randint(0, 20))))
other = ["café au lait", "naïve résumé", "日本語のテキスト", "emoji 🙂 here", "tab\there", "mixed é\n\nand ü",
         "\u2581already escaped", "\r\nwindows"]
for _ in range(200):
    other.append("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0xA0, 0x2FF), rng.randint(0x4E00, 0x4E50),
                                         0x2581, 10, 9]))
                         for _ in range(rng.randint(0, 16))))
for name, texts in (("ascii", ascii_), ("other", other)):
    open("%s/%s.bin" % (d, name), "w", encoding="utf-8").write("\0".join(texts))
EOF
GGUF="$WORK/g-text.gguf"
"$CLI" tokenize -m "$GGUF" --special --check-roundtrip --batch0 "$WORK/ascii.bin" >"$WORK/ascii_moevk_special.txt"
"$CLI" tokenize -m "$GGUF" --check-roundtrip --batch0 "$WORK/ascii.bin" >"$WORK/ascii_moevk_plain.txt"
"$CLI" tokenize -m "$GGUF" --special --batch0 "$WORK/other.bin" >"$WORK/other_moevk_special.txt"
"$CLI" tokenize -m "$GGUF" --batch0 "$WORK/other.bin" >"$WORK/other_moevk_plain.txt"
"$CLI" tokenize -m "$GGUF" --dump-pieces >"$WORK/pieces_moevk.txt"
env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/tests/js/llamacpp_tok.mjs" "$NLC" "$GGUF" "$WORK" ascii other 2>&1 |
    grep -v "failed to load model" || true
fails=0
for name in ascii other; do
    for mode in special plain; do
        a="$WORK/${name}_moevk_$mode.txt" b="$WORK/${name}_llama_$mode.txt"
        [ -f "$b" ] || die "llama.cpp wrote no $b"
        n=$(wc -l <"$b")
        if d=$(diff "$a" "$b" | head -6) && [ -z "$d" ]; then
            echo "ok   $name/$mode: $n strings, the same ids as llama.cpp"
        else
            echo "FAIL $name/$mode: ids differ from llama.cpp:"
            echo "$d"
            fails=$((fails + 1))
        fi
    done
done
grep -q OK "$WORK/pieces_result.txt" 2>/dev/null && echo "ok   token pieces equal llama.cpp's" ||
    { echo "FAIL token pieces (see above)"; fails=$((fails + 1)); }
[ "$fails" = 0 ] || die "$fails check(s) failed"
echo "PASS: the gemma4 tokenizer gives llama.cpp's ids and pieces"
