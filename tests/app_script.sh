#!/usr/bin/env bash
# app_script.sh — moevk-view, the SDL2 app, driven by tests/data/app_script.txt:
# once for real under Xvfb (xvfb-run, Debian's xvfb) and once --headless.
# For each run the screenshots are checked against what the CLI produces for
# the same image (`moevk caption --routing`):
#   - the caption the app shows is the caption the CLI prints, and the caption
#     area holds it: per wrapped line, the ink spans the width DejaVu Sans
#     gives that text (PIL measures it independently);
#   - heatmap cells (text tokens, image tokens, both; and the scrub of the
#     first generated token) have, at their centres, the viridis colour of the
#     share computed here from the CLI's routing JSON (share = tokens of the
#     group that chose the expert / tokens of the group, scaled by the largest
#     share; scrub: the gate weight);
#   - the app's routing JSON equals the CLI's (same ids and weights);
#   - hovering a cell names its layer, expert, count and share (from the CLI);
#   - the status bar holds text and names the device;
#   - `--headless --frames 2 IMAGE IMAGE2` writes exactly two PNGs with the
#     two captions;
#   - after a second image, the "running average" view shows the mean of the
#     two frames' shares (each from the CLI's routing for that image).
# Model: the embedded model (assets/models/) if present, else the golden tiny
# model (tests/goldens). Skips (exit 77) when moevk-view is not built, or
# outside CI when something external is missing (under CI=true a failure).
# ctest-labels: app
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_view
need_xvfb
need_pil
pick_model
echo "model $MODEL, image $IMAGE"

new_workdir

"$CLI" caption -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" --routing "$WORK/cli.routing.json" \
    >"$WORK/cli.txt" 2>"$WORK/cli.err" || { cat "$WORK/cli.err"; echo "FAIL: moevk caption failed"; exit 1; }
echo "CLI caption: $(cat "$WORK/cli.txt")"
# the second frame: the first image turned a quarter
IMAGE2="$WORK/second.png"
$PY -c "from PIL import Image; Image.open('$IMAGE').convert('RGB').transpose(Image.Transpose.ROTATE_90).save('$IMAGE2')"
"$CLI" caption -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE2" --routing "$WORK/cli2.routing.json" \
    >"$WORK/cli2.txt" 2>"$WORK/cli2.err" || { cat "$WORK/cli2.err"; echo "FAIL: moevk caption failed"; exit 1; }

export APP_IMAGE="$IMAGE" APP_IMAGE2="$IMAGE2"
run_app() {  # $1 = out dir, rest = extra args
    local out="$1"
    shift
    mkdir -p "$out"
    if ! timeout 900 "$@" "$VIEW" -m "$MODEL" --mmproj "$MMPROJ" --script "$SRC/tests/data/app_script.txt" \
        --out "$out" >"$out/stdout.txt" 2>"$out/stderr.txt"; then
        cat "$out/stderr.txt"
        echo "FAIL: moevk-view $* exited with an error"
        exit 1
    fi
}
run_app "$WORK/xvfb" xvfb-run -a -s "-screen 0 1600x1000x24"
# the same session --headless: no window, same drawing code
mkdir -p "$WORK/headless2"
timeout 900 "$VIEW" --headless -m "$MODEL" --mmproj "$MMPROJ" --script "$SRC/tests/data/app_script.txt" \
    --out "$WORK/headless2" >"$WORK/headless2/stdout.txt" 2>"$WORK/headless2/stderr.txt" ||
    { cat "$WORK/headless2/stderr.txt"; echo "FAIL: moevk-view --headless failed"; exit 1; }

# plain --headless --frames: one PNG per finished caption, stepping through the inputs
timeout 900 "$VIEW" --headless --out "$WORK/frames" --frames 2 -m "$MODEL" --mmproj "$MMPROJ" "$IMAGE" "$IMAGE2" \
    >"$WORK/frames.txt" 2>"$WORK/frames.err" || { cat "$WORK/frames.err"; echo "FAIL: moevk-view --headless --frames failed"; exit 1; }

$PY - "$WORK" xvfb headless2 <<'PYEOF'
import json, os, sys
from PIL import Image, ImageFont

work = sys.argv[1]
runs = sys.argv[2:]
# viridis: matplotlib's table (CC0) at indices 0, 16, ..., 240, 255, times 255, linearly interpolated
STOPS = [(68, 1, 84), (72, 24, 106), (71, 45, 123), (66, 64, 134), (59, 82, 139), (51, 99, 141),
         (44, 114, 142), (38, 130, 142), (33, 145, 140), (31, 160, 136), (40, 174, 128), (63, 188, 115),
         (94, 201, 98), (132, 212, 75), (173, 220, 48), (216, 226, 25), (253, 231, 37)]

def viridis(t):
    t = min(max(t, 0.0), 1.0)
    idx = t * 255.0
    seg = min(int(idx / 16.0), 15)
    lo = seg * 16.0
    hi = 255.0 if seg == 15 else lo + 16.0
    f = (idx - lo) / (hi - lo)
    return tuple(a + (b - a) * f for a, b in zip(STOPS[seg], STOPS[seg + 1]))

fails = []
def check(cond, msg):
    if not cond:
        fails.append(msg)
    return cond

cli_caption = open(os.path.join(work, "cli.txt"), encoding="utf-8", errors="replace").read().strip()
cli_routing = json.load(open(os.path.join(work, "cli.routing.json")))
cli2_caption = open(os.path.join(work, "cli2.txt"), encoding="utf-8", errors="replace").read().strip()
cli2_routing = json.load(open(os.path.join(work, "cli2.routing.json")))
check(len(cli_routing) > 0, "the CLI's routing JSON is empty")

def groups(tokens, which):
    if which == "image":
        return [t for t in tokens if t["kind"] == "image"]
    if which == "text":
        return [t for t in tokens if t["kind"] != "image"]
    return list(tokens)

def expected_shares(tokens, which, L, E):
    sel = groups(tokens, which)
    counts = [[0] * E for _ in range(L)]
    for t in sel:
        for li, layer in enumerate(t["layers"]):
            for e in set(layer["experts"]):
                counts[li][e] += 1
    n = len(sel)
    shares = [[(c / n if n else 0.0) for c in row] for row in counts]
    vmax = max(max(r) for r in shares)
    return shares, (vmax if vmax > 0 else 1.0)

def cell_centre(hm, l, e):
    x, y, w, h = hm["grid"]
    cw, ch, gap = hm["cell_w"], hm["cell_h"], hm["cell_gap"]
    return x + e * cw + (cw - gap) // 2, y + l * ch + (ch - gap) // 2

def check_cells(run, name, img, hm, want):  # want[l][e] = value in [0, 1]
    bad = 0
    for l in range(hm["n_layers"]):
        for e in range(hm["n_experts"]):
            px = img.getpixel(cell_centre(hm, l, e))[:3]
            exp = viridis(want[l][e])
            if max(abs(a - b) for a, b in zip(px, exp)) > 4:
                if bad < 5:
                    fails.append(f"{run}/{name}: cell layer {l} expert {e} is {px}, expected {tuple(round(v) for v in exp)}")
                bad += 1
    print(f"{run}/{name}: {hm['n_layers']}x{hm['n_experts']} cells checked, {bad} wrong")
    return bad == 0

def ink_columns(img, x0, y0, x1, y1, bg, thresh=60):
    cols = []
    for x in range(x0, x1):
        for y in range(y0, y1):
            p = img.getpixel((x, y))[:3]
            if sum(abs(a - b) for a, b in zip(p, bg)) > thresh:
                cols.append(x)
                break
    return cols

font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
font = ImageFont.truetype(font_path, 19) if os.path.exists(font_path) else None

for run in runs:
    d = os.path.join(work, run)
    for name in ("text", "image", "both", "scrub", "cell", "help", "average"):
        check(os.path.exists(os.path.join(d, name + ".png")), f"{run}: {name}.png was not written")
    if fails:
        break
    view = json.load(open(os.path.join(d, "text.view.json")))
    app_routing = json.load(open(os.path.join(d, "text.routing.json")))
    img = Image.open(os.path.join(d, "text.png")).convert("RGB")
    check(img.size == (view["width"], view["height"]), f"{run}: PNG size differs from the view")

    # caption: the text
    check(view["caption"].strip() == cli_caption,
          f"{run}: caption {view['caption']!r} differs from the CLI's {cli_caption!r}")
    # the wrapped lines, put back together, spell the caption (wrapping drops
    # the spaces and newlines it breaks at, and may cut a word too long for a
    # line; a caption longer than the area shows its newest lines)
    squeeze = lambda s: "".join(ch for ch in s if ch not in " \n")
    shown = squeeze("".join(l["text"] for l in view["caption_lines"]))
    check(shown and squeeze(view["caption"]).endswith(shown), f"{run}: wrapped lines do not spell the caption")
    # caption: the pixels (panel background 33,36,43)
    cx, cy, cw, ch = view["rects"]["caption"]
    for ln in view["caption_lines"]:
        cols = ink_columns(img, cx, ln["y"], cx + cw, min(ln["y"] + ln["h"], cy + ch), (33, 36, 43))
        if not check(len(cols) > 0, f"{run}: caption line {ln['text']!r} has no ink"):
            continue
        if font and ln["text"].isascii() and ln["text"].isprintable():
            want = font.getlength(ln["text"])
            got = cols[-1] - ln["x"] + 1
            print(f"{run}: caption line {ln['text']!r}: {got} px of ink, DejaVu Sans 19 px measures {want:.0f}")
            check(abs(got - want) <= max(6, 0.04 * want),
                  f"{run}: caption line {ln['text']!r} is {got} px wide on screen, DejaVu Sans 19 px gives {want:.0f}")
    below = view["caption_lines"][-1]["y"] + view["caption_lines"][-1]["h"] + 2 if view["caption_lines"] else cy + 28
    if below < cy + ch - 4:
        check(not ink_columns(img, cx + 2, below, cx + cw - 2, cy + ch - 2, (33, 36, 43)),
              f"{run}: ink below the caption's last line")

    # routing: the app's telemetry is the CLI's
    check(len(app_routing) == len(cli_routing),
          f"{run}: app recorded {len(app_routing)} tokens, CLI {len(cli_routing)}")
    same = all(a["kind"] == b["kind"] and
               all(la["experts"] == lb["experts"] and
                   all(abs(x - y) <= 1e-6 for x, y in zip(la["weights"], lb["weights"]))
                   for la, lb in zip(a["layers"], b["layers"]))
               for a, b in zip(app_routing, cli_routing))
    check(same, f"{run}: the app's routing JSON differs from the CLI's")

    # heatmap cells for each token group
    for name, which in (("text", "text"), ("image", "image"), ("both", "both")):
        v = json.load(open(os.path.join(d, name + ".view.json")))
        hm = v["heatmap"]
        check(v["view"]["tokens"] == which, f"{run}/{name}: view says tokens={v['view']['tokens']}")
        L, E = hm["n_layers"], hm["n_experts"]
        check(L == len(cli_routing[0]["layers"]), f"{run}/{name}: {L} heatmap rows, CLI has {len(cli_routing[0]['layers'])} MoE layers")
        shares, vmax = expected_shares(cli_routing, which, L, E)
        check(hm["n_tokens_selected"] == len(groups(cli_routing, which)),
              f"{run}/{name}: {hm['n_tokens_selected']} tokens counted, CLI has {len(groups(cli_routing, which))}")
        im = Image.open(os.path.join(d, name + ".png")).convert("RGB")
        check_cells(run, name, im, hm, [[s / vmax for s in row] for row in shares])

    # scrub: the first generated token's gate weights
    v = json.load(open(os.path.join(d, "scrub.view.json")))
    gen = [t for t in cli_routing if t["kind"] == "generated"]
    if gen:
        rec = v["view"]["scrub_record"]
        check(rec >= 0 and cli_routing[rec] is not None and cli_routing[rec]["kind"] == "generated",
              f"{run}/scrub: scrub record {rec} is not a generated token")
        if rec >= 0:
            tok = cli_routing[rec]
            L, E = v["heatmap"]["n_layers"], v["heatmap"]["n_experts"]
            want = [[0.0] * E for _ in range(L)]
            for li, layer in enumerate(tok["layers"]):
                for e, w in zip(layer["experts"], layer["weights"]):
                    want[li][e] = w
            check_cells(run, "scrub", Image.open(os.path.join(d, "scrub.png")).convert("RGB"), v["heatmap"], want)
    else:
        print(f"{run}/scrub: the caption has no fed-back generated token; scrub not checked")

    # hovering cell (layer 0, expert 1) names its count and share (all tokens)
    cv = json.load(open(os.path.join(d, "cell.view.json")))
    check((cv["view"]["hover_layer"], cv["view"]["hover_expert"]) == (0, 1),
          f"{run}/cell: hovered {cv['view']['hover_layer']}, {cv['view']['hover_expert']}")
    n_all = len(cli_routing)
    c01 = sum(1 for t in cli_routing if 1 in t["layers"][0]["experts"])
    want = f"layer 0, expert 1: {c01} of {n_all} tokens, share {100.0 * c01 / n_all:.1f}%"
    check(cv["info"][0] == want, f"{run}/cell: info line {cv['info'][0]!r}, expected {want!r}")

    # status bar: text present, device named
    sx, sy, sw, sh = view["rects"]["status"]
    cols = ink_columns(img, sx, sy, sx + sw, sy + sh, (14, 15, 18))
    check(len(cols) > 200, f"{run}: the status bar has little or no text ({len(cols)} ink columns)")
    check(view["model"]["device"] != "", f"{run}: no device name")
    check(view["model"]["state"] == "ready", f"{run}: model state {view['model']['state']}")
    hv = json.load(open(os.path.join(d, "help.view.json")))
    check(hv["view"]["help"], f"{run}: the help overlay was not on")

    # running average over the two frames (all tokens)
    av = json.load(open(os.path.join(d, "average.view.json")))
    if run == "xvfb":
        check((av["width"], av["height"]) == (1000, 700), f"{run}/average: window not resized ({av['width']}x{av['height']})")
    check(av["view"]["average"] and av["view"]["average_frames"] == 2,
          f"{run}/average: view says average={av['view']['average']} over {av['view']['average_frames']} frames")
    check(av["caption"].strip() == cli2_caption, f"{run}/average: second caption {av['caption']!r} differs from the CLI's")
    L, E = av["heatmap"]["n_layers"], av["heatmap"]["n_experts"]
    s1, _ = expected_shares(cli_routing, "both", L, E)
    s2, _ = expected_shares(cli2_routing, "both", L, E)
    mean = [[(a + b) / 2 for a, b in zip(r1, r2)] for r1, r2 in zip(s1, s2)]
    vmax = max(max(r) for r in mean) or 1.0
    check_cells(run, "average", Image.open(os.path.join(d, "average.png")).convert("RGB"), av["heatmap"],
                [[v / vmax for v in row] for row in mean])

# --headless --frames 2 IMAGE IMAGE2: frame_0000 and frame_0001 hold the two captions
for i, want in enumerate((cli_caption, cli2_caption)):
    p = os.path.join(work, "frames", f"frame_{i:04d}")
    if check(os.path.exists(p + ".png") and os.path.exists(p + ".view.json"), f"frames: {p}.png missing"):
        fv = json.load(open(p + ".view.json"))
        check(fv["caption"].strip() == want, f"frames: frame {i} caption {fv['caption']!r}, CLI {want!r}")
        check(Image.open(p + ".png").size == (fv["width"], fv["height"]), f"frames: frame {i} size")
check(not os.path.exists(os.path.join(work, "frames", "frame_0002.png")), "frames: more than --frames 2 written")

if fails:
    print("FAIL:")
    for f in fails:
        print("  " + f)
    sys.exit(1)
print("PASS: caption, heatmap cells, routing and status bar agree with the CLI in", ", ".join(runs))
PYEOF
