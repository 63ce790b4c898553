#!/usr/bin/env bash
# app_scale.sh — moevk-view at the real models' shapes, --headless, on synthetic random-weight pairs
# (tools/gen_synthetic_model.py, tiny widths):
#   A Qwen3-VL MoE, 48 MoE layers x 128 experts, top-8;
#   B Qwen3.6-35B-A3B's shape (qwen35moe): 40 layers (30 Gated DeltaNet + 10 attention, every 4th) x 256
#     experts, top-8, shared expert, mmproj without DeepStack.
# For each:
#   - the heatmap has L x E cells of at least 2 px (A) / 3 px (B: every cell of the heatmap, the trace and
#     the overlay at least 3 px), its expert and layer labels are thinned so that they do not overlap, and
#     the hovered cell's info line gives the exact count and share (computed here from the routing JSON)
#     and, for B, whether the layer is attention or Gated DeltaNet (from the GGUF's interval);
#   - the overlay's experts are the routing JSON's top-1 ids at the chosen layer (B: a DeltaNet layer,
#     named so in the view), and the hovered region's tooltip has one line per layer with the exact ids
#     and weights (%.3f) of the routing JSON;
#   - the token trace has a row per layer (B: at least 3 px, columns too) and each cell is the top-1
#     expert's palette colour;
#   - B runs with thinking on (--think --reasoning-budget 2): the routing JSON tags each answer's
#     reasoning tokens, and the trace marks exactly those columns.
# ctest-labels: app
set -euo pipefail

. "$(dirname "$0")/lib.sh"
need_view
need_pil
need_numpy
IMAGE="$(ls "$SRC"/assets/samples/*.png 2>/dev/null | sort | sed -n 2p || true)"
[ -n "$IMAGE" ] || die "no sample image in assets/samples"
new_workdir
$PY "$SRC/tools/gen_synthetic_model.py" --preset tiny --out-prefix "$WORK/a-" --layers 48 --experts 128 --top-k 8 \
    --embd 64 --ff-exp 16 --ctx 1024 --name synth-48x128 >"$WORK/gen-a.txt" 2>&1 || { cat "$WORK/gen-a.txt"; die "model generation (A)"; }
$PY "$SRC/tools/gen_synthetic_model.py" --arch qwen35moe --preset tiny --out-prefix "$WORK/b-" --layers 40 --experts 256 \
    --top-k 8 --embd 64 --ff-exp 16 --ff-shexp 16 --ctx 1024 --name synth-qwen36-40x256 >"$WORK/gen-b.txt" 2>&1 ||
    { cat "$WORK/gen-b.txt"; die "model generation (B)"; }
run_view() { # TAG LAYER HOVER_LAYER HOVER_EXPERT [OPTIONS...]
    local tag=$1 layer=$2 hl=$3 he=$4
    shift 4
    mkdir -p "$WORK/$tag"
    cat >"$WORK/$tag/script.txt" <<EOF
wait model 900
load $IMAGE
wait caption 900
overlay on
layer $layer
hover cell $hl $he
screenshot cell.png
hover region 5
screenshot region.png
hover none
ask what is it?
wait answer 900
screenshot trace.png
quit
EOF
    timeout 900 "$VIEW" --headless -m "$WORK/$tag-text.gguf" --mmproj "$WORK/$tag-mmproj.gguf" -n 8 "$@" \
        --script "$WORK/$tag/script.txt" --out "$WORK/$tag" >"$WORK/$tag/stdout.txt" 2>"$WORK/$tag/stderr.txt" ||
        { cat "$WORK/$tag/stderr.txt"; die "moevk-view ($tag)"; }
}
run_view a 40 47 127
run_view b 37 39 255 --think --reasoning-budget 2

$PY - "$WORK" "$SRC/tools" <<'PYEOF'
import colorsys, json, os, sys
from PIL import Image
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from gguf.gguf_reader import GGUFReader
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

def run(tag, L, E, layer, hl, he, min_px, think=False):
    ld = lambda n: (json.load(open(os.path.join(d, tag, n + ".view.json"))), json.load(open(os.path.join(d, tag, n + ".routing.json"))),
                    Image.open(os.path.join(d, tag, n + ".png")).convert("RGB"))
    # the mixer of each layer from the file: qwen35moe's full_attention_interval (attention every interval-th)
    r = GGUFReader(os.path.join(d, tag + "-text.gguf"))
    interval = int(r.kv.get("qwen35moe.full_attention_interval", 0))
    kind = lambda l: "" if not interval else " (attention)" if (l + 1) % interval == 0 else " (Gated DeltaNet)"
    if interval:
        check(kind(hl) == " (attention)" and kind(layer) == " (Gated DeltaNet)", f"{tag}: the test should hover an attention layer and overlay a DeltaNet one")

    v, r, _ = ld("cell")
    hm = v["heatmap"]
    check((hm["n_layers"], hm["n_experts"]) == (L, E), f"{tag}: heatmap {hm['n_layers']}x{hm['n_experts']}")
    check(hm["cell_w"] >= min_px and hm["cell_h"] >= min_px, f"{tag}: cells {hm['cell_w']}x{hm['cell_h']} px, want >= {min_px}")
    gx, gy, gw, gh = hm["grid"]
    hx, hy, hw, hh = v["rects"]["heat"]
    check(gx + gw <= hx + hw and gy + gh <= hy + hh, f"{tag}: grid {hm['grid']} leaves the panel {v['rects']['heat']}")
    check(hm["label_step_expert"] * hm["cell_w"] >= hm["label_w"], f"{tag}: expert labels overlap: every {hm['label_step_expert']} of {hm['cell_w']} px, label {hm['label_w']} px")
    check(hm["label_step_layer"] * hm["cell_h"] >= hm["label_h"], f"{tag}: layer labels overlap: every {hm['label_step_layer']} of {hm['cell_h']} px, label {hm['label_h']} px")
    check(hm["label_step_expert"] > 1, f"{tag}: expert labels are not thinned at {E} experts")
    n = len(r)
    c = sum(1 for t in r if he in t["layers"][hl]["experts"])
    want = f"layer {hl}{kind(hl)}, expert {he}: {c} of {n} tokens, share {100.0 * c / n:.1f}%"
    check(v["info"][0] == want, f"{tag}: hovered cell info {v['info'][0]!r}, expected {want!r}")

    v, r, _ = ld("region")
    ov = v["overlay"]
    img = [t for t in r if t["kind"] == "image"]
    check(ov["layer"] == layer and ov["experts"] == [t["layers"][layer]["experts"][0] for t in img], f"{tag}: overlay experts at layer {ov['layer']}")
    check(ov["layer_kind"] == kind(layer), f"{tag}: overlay layer named {ov['layer_kind']!r}, want {kind(layer)!r}")
    ix, iy, iw, ih = ov["image_rect"]
    check(iw // ov["grid"][0] >= min_px and ih // ov["grid"][1] >= min_px, f"{tag}: overlay regions of {iw}x{ih} / {ov['grid']}")
    tip = ov["tooltip"]
    check(len(tip) == L, f"{tag}: tooltip has {len(tip)} lines, want one per layer ({L})")
    t5 = img[5]
    for l, la in enumerate(t5["layers"][:len(tip)]):
        want = f"L{l}" + "".join(f" e{e} {w:.3f}" for e, w in zip(la["experts"], la["weights"]))
        if tip[l] != want:
            fails.append(f"{tag}: tooltip line {l}: {tip[l]!r}, routing JSON gives {want!r}")
            break

    v, r, im = ld("trace")
    tr = v["trace"]
    turn = max(t["turn"] for t in r)
    toks = [t for t in r if t["kind"] != "image" and t["turn"] == turn]
    check(tr["turn"] == turn and tr["n_tokens"] > 0 and tr["row_h"] >= 1, f"{tag}: trace {tr}")
    check(tr["row_h"] >= (min_px if min_px >= 3 else 1) and tr["cell_w"] >= min_px, f"{tag}: trace cells {tr['cell_w']}x{tr['row_h']} px")
    check(tr["row_h"] * L <= tr["rect"][3], f"{tag}: trace rows {tr['row_h']} px x {L} exceed {tr['rect']}")
    shown = toks[len(toks) - tr["n_tokens"]:]
    bad = 0
    for j, t in enumerate(shown):
        for l, la in enumerate(t["layers"]):
            px = (tr["rect"][0] + j * tr["cell_w"] + max(tr["cell_w"] - 2, 0) // 2, tr["rect"][1] + l * tr["row_h"] + tr["row_h"] // 2)
            if max(abs(a - b) for a, b in zip(im.getpixel(px), palette(la["experts"][0]))) > 1:
                bad += 1
    check(bad == 0, f"{tag}: {bad} of {L * len(shown)} trace cells off their top-1 colour")
    if think:
        # thinking on, budget 2: each answer's first 2 generated tokens and the forced close tag are the
        # reasoning (tagged in the routing JSON), marked by an amber bar above their trace columns only
        for tn in sorted(set(t["turn"] for t in r)):
            g = [t for t in r if t["turn"] == tn and t["kind"] == "generated"]
            check(len(g) >= 4 and [t.get("reasoning") for t in g] == [i <= 2 for i in range(len(g))],
                  f"{tag}: turn {tn}: reasoning tags {[t.get('reasoning') for t in g]}")
        amber = [im.getpixel((tr["rect"][0] + j * tr["cell_w"], tr["rect"][1] - 3)) == (236, 176, 64) for j in range(len(shown))]
        check(any(amber) and amber == [bool(t.get("reasoning")) for t in shown], f"{tag}: the amber bars {amber} mark the reasoning tokens")
        chat = v["chat"]
        check(all("reasoning" in c for c in chat if c["role"] == "assistant"), f"{tag}: view.json has each answer's reasoning apart")
    print(f"{tag}: {L} x {E} heatmap ({hm['cell_w']}x{hm['cell_h']} px cells, labels every {hm['label_step_expert']} experts / "
          f"{hm['label_step_layer']} layers), overlay and {L}-line tooltip exact, trace {tr['n_tokens']} tokens x {L} rows of "
          f"{tr['row_h']} px")

run("a", 48, 128, 40, 47, 127, 2)
run("b", 40, 256, 37, 39, 255, 3, think=True)
if fails:
    print("FAIL:"); [print("  " + f) for f in fails]; sys.exit(1)
print("PASS")
PYEOF
