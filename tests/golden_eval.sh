#!/usr/bin/env bash
# End-to-end: `moevk eval` on the golden Qwen3-VL MoE pair (tests/goldens, a copy of ../shared/goldens)
# must reproduce the independent reference outputs:
#   F32 KV:  merger + DeepStack NMSE <= 1e-5, every logit max|d| <= 1e-3,
#            routing ids identical, routing weights max|d| <= 1e-4, greedy identical;
#   F16 KV (default): routing ids and greedy tokens identical, logits <= 2e-2;
#   text-only prompt: the same checks on the text_* files.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_goldens
G=$GOLD_A
new_workdir
t=$WORK
fail=0
V=302

for kv in f32 f16; do
  echo "== multimodal prompt, KV $kv"
  "$CLI" eval -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 \
    --validation --tokens "$G/prompt_tokens.i32" --kv-type $kv --dump-vision "$t/vis.f32" --dump-logits "$t/logits.f32" \
    --dump-routing-ids "$t/rid.i32" --dump-routing-weights "$t/rw.f32" --greedy 8 --dump-tokens "$t/greedy.i32"
  # mmproj rows [6][128] = merger [6][64] | deepstack [6][64]
  "$PY" - "$t/vis.f32" "$t" <<'PY'
import sys, numpy as np
v = np.fromfile(sys.argv[1], "<f4").reshape(6, 128)
v[:, :64].tofile(sys.argv[2] + "/vis_embd.f32"); v[:, 64:].tofile(sys.argv[2] + "/vis_ds.f32")
PY
  cmp_files nmse "$t/vis_embd.f32" "$G/vision_embd.f32" 1e-5 || fail=1
  cmp_files nmse "$t/vis_ds.f32" "$G/vision_deepstack.f32" 1e-5 || fail=1
  cmp_files nmse "$t/vis.f32" "$G/mmproj_out.f32" 1e-5 || fail=1
  cmp_files exact-i32 "$t/rid.i32" "$G/router_topk_ids.i32" || fail=1
  cmp_files exact-i32 "$t/greedy.i32" "$G/greedy_tokens.i32" || fail=1
  if [ $kv = f32 ]; then
    cmp_files maxabs "$t/logits.f32" "$G/logits.f32" 1e-3 || fail=1
    cmp_files maxabs "$t/rw.f32" "$G/router_topk_weights.f32" 1e-4 || fail=1
  else
    cmp_files maxabs "$t/logits.f32" "$G/logits.f32" 2e-2 || fail=1
  fi

  echo "== text-only prompt, KV $kv"
  "$CLI" eval -m "$G/text.gguf" --validation --tokens "$G/text_prompt_tokens.i32" --kv-type $kv --dump-logits "$t/tlogits.f32" \
    --dump-routing-ids "$t/trid.i32" --dump-routing-weights "$t/trw.f32" --greedy 8 --dump-tokens "$t/tgreedy.i32"
  cmp_files exact-i32 "$t/trid.i32" "$G/text_router_topk_ids.i32" || fail=1
  cmp_files exact-i32 "$t/tgreedy.i32" "$G/text_greedy_tokens.i32" || fail=1
  if [ $kv = f32 ]; then
    cmp_files maxabs "$t/tlogits.f32" "$G/text_logits.f32" 1e-3 || fail=1
    cmp_files maxabs "$t/trw.f32" "$G/text_router_topk_weights.f32" 1e-4 || fail=1
  else
    cmp_files maxabs "$t/tlogits.f32" "$G/text_logits.f32" 2e-2 || fail=1
  fi
done

echo "== mismatched image-pad count is a clear error"
"$PY" -c "
import numpy as np; t = np.fromfile('$G/prompt_tokens.i32', '<i4'); t = np.delete(t, np.nonzero(t == 301)[0][0]); t.tofile('$t/bad.i32')"
if "$CLI" eval -m "$G/text.gguf" --mmproj "$G/mmproj.gguf" --pixels "$G/pixels.f32" --pixels-hw 64,96 \
     --tokens "$t/bad.i32" 2>"$t/err.txt"; then
  echo "FAIL: a prompt with 5 image-pad ids for a 6-token image was accepted"; fail=1
elif ! grep -q "image_pad" "$t/err.txt"; then
  echo "FAIL: the error does not name the image-pad mismatch:"; cat "$t/err.txt"; fail=1
else
  echo "ok: $(tail -1 "$t/err.txt")"
fi

[ $fail = 0 ] && echo "golden_eval: all checks passed" || echo "golden_eval: FAILED"
exit $fail
