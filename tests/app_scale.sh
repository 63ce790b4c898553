#!/usr/bin/env bash
# app_scale.sh — moevk-view at the real model's shape: a synthetic random-weight
# Qwen3-VL MoE pair with 48 MoE layers x 128 experts, top-8
# (tools/gen_synthetic_model.py, tiny widths), --headless:
#   - the heatmap has 48 x 128 cells of at least 2 px, its expert and layer
#     labels are thinned so that they do not overlap, and the hovered cell's
#     info line gives the exact count and share (computed here from the
#     routing JSON);
#   - the overlay's experts are the routing JSON's top-1 ids at layer 40, and
#     the hovered region's tooltip has one line per layer with the exact ids
#     and weights (%.3f) of the routing JSON;
#   - the token trace has a row of at least 1 px per layer and each cell is
#     the top-1 expert's palette colour.
# ctest-labels: app
set -euo pipefail

. "$(dirname "$0")/lib.sh"
need_view
need_pil
need_numpy
IMAGE="$(ls "$SRC"/assets/samples/*.png 2>/dev/null | sort | sed -n 2p || true)"
[ -n "$IMAGE" ] || die "no sample image in assets/samples"
new_workdir
$PY "$SRC/tools/gen_synthetic_model.py" --preset tiny --out-prefix "$WORK/s-" --layers 48 --experts 128 --top-k 8 \
    --embd 64 --ff-exp 16 --ctx 1024 --name synth-48x128 >"$WORK/gen.txt" 2>&1 || { cat "$WORK/gen.txt"; echo "FAIL: model generation"; exit 1; }
cat >"$WORK/script.txt" <<EOF
wait model 900
load $IMAGE
wait caption 900
overlay on
layer 40
hover cell 47 127
screenshot cell.png
hover region 5
screenshot region.png
hover none
ask what is it?
wait answer 900
screenshot trace.png
quit
EOF
timeout 900 "$VIEW" --headless -m "$WORK/s-text.gguf" --mmproj "$WORK/s-mmproj.gguf" -n 8 --script "$WORK/script.txt" \
    --out "$WORK" >"$WORK/stdout.txt" 2>"$WORK/stderr.txt" || { cat "$WORK/stderr.txt"; echo "FAIL: moevk-view"; exit 1; }

$PY - "$WORK" <<'PYEOF'
import colorsys, json, os, sys
from PIL import Image
d = sys.argv[1]
fails = []
def check(c, m):
    if not c: fails.append(m)
TAB20 = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
         (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120), (152, 223, 138),
         (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141),
         (158, 218, 229)]
def palette(e):
    if e < 20: return TAB20[e]
    return tuple(int(c * 255.0 + 0.5) for c in colorsys.hsv_to_rgb((e * 0.618033988749895) % 1.0, 0.65, 0.95 if e % 2 == 0 else 0.75))
ld = lambda n: (json.load(open(os.path.join(d, n + ".view.json"))), json.load(open(os.path.join(d, n + ".routing.json"))),
                Image.open(os.path.join(d, n + ".png")).convert("RGB"))

v, r, _ = ld("cell")
hm = v["heatmap"]
check((hm["n_layers"], hm["n_experts"]) == (48, 128), f"heatmap {hm['n_layers']}x{hm['n_experts']}")
check(hm["cell_w"] >= 2 and hm["cell_h"] >= 2, f"cells {hm['cell_w']}x{hm['cell_h']} px")
gx, gy, gw, gh = hm["grid"]
hx, hy, hw, hh = v["rects"]["heat"]
check(gx + gw <= hx + hw and gy + gh <= hy + hh, f"grid {hm['grid']} leaves the panel {v['rects']['heat']}")
check(hm["label_step_expert"] * hm["cell_w"] >= hm["label_w"], f"expert labels overlap: every {hm['label_step_expert']} of {hm['cell_w']} px, label {hm['label_w']} px")
check(hm["label_step_layer"] * hm["cell_h"] >= hm["label_h"], f"layer labels overlap: every {hm['label_step_layer']} of {hm['cell_h']} px, label {hm['label_h']} px")
check(hm["label_step_expert"] > 1, "expert labels are not thinned at 128 experts")
n = len(r)
c = sum(1 for t in r if 127 in t["layers"][47]["experts"])
want = f"layer 47, expert 127: {c} of {n} tokens, share {100.0 * c / n:.1f}%"
check(v["info"][0] == want, f"hovered cell info {v['info'][0]!r}, expected {want!r}")

v, r, _ = ld("region")
ov = v["overlay"]
img = [t for t in r if t["kind"] == "image"]
check(ov["layer"] == 40 and ov["experts"] == [t["layers"][40]["experts"][0] for t in img], f"overlay experts at layer {ov['layer']}")
tip = ov["tooltip"]
check(len(tip) == 48, f"tooltip has {len(tip)} lines, want one per layer (48)")
t5 = img[5]
for l, la in enumerate(t5["layers"][:len(tip)]):
    want = f"L{l}" + "".join(f" e{e} {w:.3f}" for e, w in zip(la["experts"], la["weights"]))
    if tip[l] != want:
        fails.append(f"tooltip line {l}: {tip[l]!r}, routing JSON gives {want!r}")
        break

v, r, im = ld("trace")
tr = v["trace"]
turn = max(t["turn"] for t in r)
toks = [t for t in r if t["kind"] != "image" and t["turn"] == turn]
check(tr["turn"] == turn and tr["n_tokens"] > 0 and tr["row_h"] >= 1, f"trace {tr}")
check(tr["row_h"] * 48 <= tr["rect"][3], f"trace rows {tr['row_h']} px x 48 exceed {tr['rect']}")
shown = toks[len(toks) - tr["n_tokens"]:]
bad = 0
for j, t in enumerate(shown):
    for l, la in enumerate(t["layers"]):
        px = (tr["rect"][0] + j * tr["cell_w"] + max(tr["cell_w"] - 2, 0) // 2, tr["rect"][1] + l * tr["row_h"] + tr["row_h"] // 2)
        if max(abs(a - b) for a, b in zip(im.getpixel(px), palette(la["experts"][0]))) > 1:
            bad += 1
check(bad == 0, f"{bad} of {48 * len(shown)} trace cells off their top-1 colour")
if fails:
    print("FAIL:"); [print("  " + f) for f in fails]; sys.exit(1)
print(f"PASS: 48 x 128 heatmap ({hm['cell_w']}x{hm['cell_h']} px cells, labels every {hm['label_step_expert']} experts / "
      f"{hm['label_step_layer']} layers), overlay and 48-line tooltip exact, trace {tr['n_tokens']} tokens x 48 rows of {tr['row_h']} px")
PYEOF
