#!/usr/bin/env bash
# cli_info.sh — `moevk info`: help, usage errors, hostile files (exit 1 with a
# message naming the problem) and the golden pair (values from the goldens' README).
set -u
. "$(dirname "$0")/lib.sh"
need_cli
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
check help 0 "usage: moevk info" "$CLI" info --help
check no-args 2 "usage: moevk info" "$CLI" info
check bad-option 2 "unknown option" "$CLI" info --bogus x.gguf
check missing-file 1 "cannot open" "$CLI" info "$T/none.gguf"
printf 'GGML\3\0\0\0' >"$T/magic.gguf"
check bad-magic 1 "magic" "$CLI" info "$T/magic.gguf"
printf 'GGUF\4\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$T/v4.gguf"
check version-4 1 "version 4" "$CLI" info "$T/v4.gguf"
printf 'GGUF\3\0\0\0\0\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0' >"$T/cut.gguf"
check truncated 1 "truncated" "$CLI" info "$T/cut.gguf"
# a valid GGUF with no architecture and no tensors
printf 'GGUF\3\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$T/empty.gguf"
check empty-valid 0 "GGUF v3" "$CLI" info "$T/empty.gguf"

# one iq2_xxs tensor [256]: listed (exit 0) with its ggml type name, flagged unsupported
{ printf 'GGUF\3\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
  printf '\1\0\0\0\0\0\0\0w\1\0\0\0\0\1\0\0\0\0\0\0\20\0\0\0\0\0\0\0\0\0\0\0'
  head -c 7 /dev/zero; head -c 66 /dev/zero; } >"$T/iq2.gguf"
check iq2_xxs-listed 0 "iq2_xxs" "$CLI" info "$T/iq2.gguf"
check iq2_xxs-flagged 0 "unsupported type" "$CLI" info "$T/iq2.gguf"
check type-summary 0 "tensor types:" "$CLI" info "$T/iq2.gguf"

G=$GOLD_A
if [ -f "$G/text.gguf" ] && [ -f "$G/mmproj.gguf" ]; then
    check golden-text 0 "MoE: 8 experts, top-2, n_ff_exp 32" "$CLI" info "$G/text.gguf"
    check golden-text-sections 0 "sections [3, 3, 2, 0]" "$CLI" info "$G/text.gguf"
    check golden-text-heads 0 "heads 4 (kv 2), head_dim 16" "$CLI" info "$G/text.gguf"
    check golden-text-tensor 0 "blk.2.ffn_down_exps.weight" "$CLI" info "$G/text.gguf"
    check golden-text-shapes 0 "all text tensors present" "$CLI" info --no-tensors "$G/text.gguf"
    check golden-mmproj 0 "deepstack taps 1 [1]" "$CLI" info "$G/mmproj.gguf"
    check golden-mmproj-width 0 "width 64, ffn 128, depth 3, heads 4" "$CLI" info "$G/mmproj.gguf"
    check golden-pair 0 "belong together (image rows of 128 floats)" "$CLI" info --no-tensors "$G/text.gguf" "$G/mmproj.gguf"
    head -c 100000 "$G/text.gguf" >"$T/text-cut.gguf"
    check golden-truncated 1 "truncated" "$CLI" info "$T/text-cut.gguf"
else
    skip_part "golden checks: $G/{text,mmproj}.gguf not found (set MOEVK_GOLDENS)"
fi
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all cli_info checks passed"
finish
