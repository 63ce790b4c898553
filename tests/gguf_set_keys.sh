#!/usr/bin/env bash
# tools/gguf/set_keys.py adds our keys to a GGUF and changes nothing else: on the golden mmproj, the
# data section (every tensor's bytes) is identical, every other key reads back the same, and the
# engine loads the result and reports the key's range. The embedded mmproj carries the image-token
# range its model was trained for (moevk.vision.image_{min,max}_tokens = 16, docs/GGUF.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$PY" -c "import numpy" 2>/dev/null || skip "$PY lacks numpy"
[ -f "$GOLD_A/mmproj.gguf" ] || skip "golden mmproj missing ($GOLD_A)"
new_workdir
out=$WORK/mm.gguf
"$PY" "$SRC/tools/gguf/set_keys.py" "$GOLD_A/mmproj.gguf" "$out" --u32 moevk.vision.image_min_tokens=3 \
  --u32 moevk.vision.image_max_tokens=7
"$PY" - "$SRC/tools" "$GOLD_A/mmproj.gguf" "$out" "$EMBED_MMPROJ" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
a, b, e = GGUFReader(sys.argv[2]), GGUFReader(sys.argv[3]), GGUFReader(sys.argv[4])
fail = []
if a.buf[a.data_start:] != b.buf[b.data_start:]:
    fail.append("the data section changed")
if [k for k in b.kv if k not in a.kv] != ["moevk.vision.image_min_tokens", "moevk.vision.image_max_tokens"]:
    fail.append("keys added: %r" % [k for k in b.kv if k not in a.kv])
for k, v in a.kv.items():
    if b.kv.get(k) != v or b.kv_types[k] != a.kv_types[k]:
        fail.append("key %s changed" % k)
    if b.buf[slice(*b.kv_spans[k])] != a.buf[slice(*a.kv_spans[k])]:
        fail.append("key record %s not byte-identical" % k)
if (b.kv.get("moevk.vision.image_min_tokens"), b.kv.get("moevk.vision.image_max_tokens")) != (3, 7):
    fail.append("written range reads back as %r" % [b.kv.get(k) for k in ("moevk.vision.image_min_tokens", "moevk.vision.image_max_tokens")])
for k in ("moevk.vision.image_min_tokens", "moevk.vision.image_max_tokens"):
    if e.kv.get(k) != 16 or e.kv_types.get(k) != "u32":
        fail.append("embedded mmproj: %s = %r (%s), expected u32 16" % (k, e.kv.get(k), e.kv_types.get(k)))
print("\n".join("FAIL " + f for f in fail) or "set_keys: data, other keys identical; embedded mmproj says 16..16")
sys.exit(1 if fail else 0)
PYEOF
need_cli
# the engine loads the rewritten pair and uses the file's range (64x96 image: 6 tokens native, max 7)
"$CLI" caption -m "$GOLD_A/text.gguf" --mmproj "$out" --image "$GOLD_A/image.png" -n 1 >"$WORK/o" 2>&1 || { cat "$WORK/o"; die "caption failed"; }
grep -q "image encode: .*(6 tokens)" "$WORK/o" || { cat "$WORK/o"; die "expected 6 image tokens (min 3 max 7)"; }
echo "gguf_set_keys: passed"
