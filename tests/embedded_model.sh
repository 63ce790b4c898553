#!/usr/bin/env bash
# The embedded model (assets/models/moevk-tiny*.gguf) in the C engine:
#  1. `moevk eval` reproduces the PyTorch reference outputs exported with it
#     (assets/goldens/<sample>/: vision rows NMSE <= 1e-5, logits max|d| <= 1e-3,
#     routing ids and greedy tokens identical; F32 KV), and with the default F16
#     KV cache the routing ids and greedy tokens are still identical;
#  2. `moevk caption` on every sample image gives the caption the model card
#     shows (assets/samples/captions.tsv, made by the PyTorch model), and
#     `moevk caption -p QUESTION` gives each scene's answer in
#     assets/samples/questions.tsv (also PyTorch's); one of the reference outputs
#     is for a question prompt, so the question path is checked token by token too.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
M=$EMBED_MODEL
P=$EMBED_MMPROJ
[ -f "$M" ] && [ -f "$P" ] || die "the embedded model is missing ($M)"
new_workdir
t=$WORK
fail=0
cmp() { cmp_files "$@" || fail=1; }

n=0
for d in "$SRC"/assets/goldens/*/; do
  name=$(basename "$d")
  read -r H W NI NO <<<"$("$PY" -c "
import json,sys; m=json.load(open('$d/manifest.json'))['files']
h,w=m['pixels.f32']['shape'][1:]; ni,no=m['mmproj_out.f32']['shape']; print(h,w,ni,no)")"
  for kv in f32 f16; do
    echo "== $name ($W x $H, $NI image tokens), KV $kv"
    "$CLI" eval -m "$M" --mmproj "$P" --pixels "$d/pixels.f32" --pixels-hw "$H,$W" --tokens "$d/prompt_tokens.i32" \
      --kv-type $kv --validation --dump-vision "$t/vis.f32" --dump-logits "$t/logits.f32" \
      --dump-routing-ids "$t/rid.i32" --dump-routing-weights "$t/rw.f32" \
      --greedy "$("$PY" -c "import os; print(os.path.getsize('$d/greedy_tokens.i32')//4)")" --dump-tokens "$t/greedy.i32" 2>"$t/err" \
      || { cat "$t/err"; fail=1; continue; }
    cmp nmse "$t/vis.f32" "$d/mmproj_out.f32" 1e-5
    cmp exact-i32 "$t/rid.i32" "$d/router_topk_ids.i32"
    cmp exact-i32 "$t/greedy.i32" "$d/greedy_tokens.i32"
    if [ $kv = f32 ]; then
      cmp maxabs "$t/logits.f32" "$d/logits.f32" 1e-3
      cmp maxabs "$t/rw.f32" "$d/router_topk_weights.f32" 1e-4
    fi
  done
  n=$((n + 1))
done
[ $n -ge 3 ] || { echo "FAIL: expected reference outputs for 3 sample images, found $n"; fail=1; }
[ -f "$SRC/assets/samples/questions.tsv" ] || die "assets/samples/questions.tsv is missing"

echo "== captions of assets/samples match the model card"
while IFS=$'\t' read -r file src ref gen; do
  [ "$file" = file ] && continue
  got=$("$CLI" caption -m "$M" --mmproj "$P" --image "$SRC/assets/samples/$file" -q 2>"$t/err") || { cat "$t/err"; fail=1; continue; }
  if [ "$got" = "$gen" ]; then echo "ok  $file: $got"; else echo "FAIL $file: got '$got', model card says '$gen'"; fail=1; fi
done < "$SRC/assets/samples/captions.tsv"

echo "== answers to the sample questions match the model card"
nq=0
while IFS=$'\t' read -r file q ref gen; do
  [ "$file" = file ] && continue
  got=$("$CLI" caption -m "$M" --mmproj "$P" --image "$SRC/assets/samples/$file" -p "$q" -q 2>"$t/err") || { cat "$t/err"; fail=1; continue; }
  if [ "$got" = "$gen" ]; then echo "ok  $file: $q -> $got"; else echo "FAIL $file: $q -> got '$got', model card says '$gen'"; fail=1; fi
  nq=$((nq + 1))
done < "$SRC/assets/samples/questions.tsv"
[ $nq -ge 1 ] || { echo "FAIL: no sample questions were checked"; fail=1; }

[ $fail = 0 ] && echo "embedded_model: all checks passed" || echo "embedded_model: FAILED"
exit $fail
