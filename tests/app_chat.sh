#!/usr/bin/env bash
# app_chat.sh — questions about the frame in moevk-view, driven by
# tests/data/app_chat.txt, once under Xvfb and once --headless:
#   - a question while the model loads and an empty question are refused with
#     a banner (the app goes on);
#   - the question box: Enter focuses it, typed text goes in, a shortcut key
#     does nothing while typing, Esc clears it (and on an empty box gives
#     the keys back), Enter sends;
#   - a scripted question gets a non-empty answer; its timings show no image
#     encode and a prefill of only the new turn; earlier records are unchanged;
#   - after two questions the app's routing JSON (the whole conversation) equals
#     `moevk chat` given the caption prompt and the same two questions;
#   - the overlay's experts are the top-1 ids of the routing JSON's image tokens
#     at the selected layer, and the pixel at each region's centre has that
#     expert's palette colour (recomputed here); hovering a region lists every
#     layer; the token trace's cells have the top-1 colours of the newest turn;
#   - a question longer than the context fails with CONTEXT_FULL naming the
#     context size, and the next question is answered;
#   - a new image starts a new conversation;
#   - an image dropped during a conversation asks (a banner), and A adds it:
#     its caption is the next turn, which encodes that image alone; the routing
#     tags its tokens as the conversation's image 1 (the first keeps image 0);
#     the overlay shows the added image's regions.
# Model: the embedded model if present, else the golden tiny model (run with a
# 256-token context so the long question overflows it).
# ctest-labels: app
set -euo pipefail

. "$(dirname "$0")/lib.sh"
need_view
need_cli
need_xvfb
need_pil
pick_model
new_workdir
IMAGE2=""
[ "$MODEL" = "$EMBED_MODEL" ] && IMAGE2="$(ls "$SRC"/assets/samples/*.png 2>/dev/null | sort | sed -n 2p || true)"
if [ -z "$IMAGE2" ]; then
    IMAGE2="$WORK/second.png"
    $PY -c "from PIL import Image; Image.open('$IMAGE').convert('RGB').transpose(Image.Transpose.ROTATE_90).save('$IMAGE2')"
fi
CTX=256
NPRED=24  # answers of at most 24 tokens: three turns fit the context even with a random-weight model
echo "model $MODEL, images $IMAGE $IMAGE2, context $CTX"

export APP_IMAGE="$IMAGE" APP_IMAGE2="$IMAGE2" APP_Q1="What is in the picture?" APP_Q2="What colour is it?" APP_LAYER=1
APP_LONG="$($PY -c "print(' '.join(['word'] * 400))")"
export APP_LONG
# the same conversation through the CLI: the app's caption is turn 0 with the library's default prompt
printf '%s\n%s\n%s\n' "Describe this image in one sentence." "$APP_Q1" "$APP_Q2" |
    "$CLI" chat -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" -c $CTX -n $NPRED --routing "$WORK/cli.routing.json" \
    >"$WORK/cli.txt" 2>"$WORK/cli.err" || { cat "$WORK/cli.err"; echo "FAIL: moevk chat failed"; exit 1; }

run_app() {  # $1 = out dir, rest = a wrapper (xvfb-run ...) and/or --headless
    local out="$1"
    shift
    mkdir -p "$out"
    local wrap=() args=()
    for a in "$@"; do
        if [ "$a" = "--headless" ]; then args+=("$a"); else wrap+=("$a"); fi
    done
    if ! timeout 900 "${wrap[@]}" "$VIEW" "${args[@]}" -m "$MODEL" --mmproj "$MMPROJ" -c $CTX -n $NPRED \
        --script "$SRC/tests/data/app_chat.txt" --out "$out" >"$out/stdout.txt" 2>"$out/stderr.txt"; then
        cat "$out/stderr.txt"
        echo "FAIL: moevk-view ${wrap[*]} ${args[*]} exited with an error"
        exit 1
    fi
}
run_app "$WORK/xvfb" xvfb-run -a -s "-screen 0 1600x1000x24"
run_app "$WORK/headless" env --headless

$PY - "$WORK" "$CTX" xvfb headless <<'PYEOF'
import colorsys, json, os, sys
from PIL import Image

work, ctx, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
fails = []
def check(cond, msg):
    if not cond:
        fails.append(msg)
    return cond

TAB20 = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
         (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120), (152, 223, 138),
         (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141),
         (158, 218, 229)]
def palette(e):  # docs/APP.md: Tab20's strong colours, its light ones, then golden-ratio hues
    if e < 20:
        return TAB20[e]
    h = (e * 0.618033988749895) % 1.0
    return tuple(int(c * 255.0 + 0.5) for c in colorsys.hsv_to_rgb(h, 0.65, 0.95 if e % 2 == 0 else 0.75))

def near(a, b, tol=1):
    return max(abs(x - y) for x, y in zip(a[:3], b[:3])) <= tol

def same_routing(a, b):
    if len(a) != len(b):
        return f"{len(a)} tokens vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        for key in ("pos", "kind", "token", "turn"):
            if x[key] != y[key]:
                return f"token {i}: {key} {x[key]} vs {y[key]}"
        for la, lb in zip(x["layers"], y["layers"]):
            if la["experts"] != lb["experts"] or any(abs(p - q) > 1e-6 for p, q in zip(la["weights"], lb["weights"])):
                return f"token {i} layer {la['layer']}: {la} vs {lb}"
    return None

cli = json.load(open(os.path.join(work, "cli.routing.json")))
for run in runs:
    d = os.path.join(work, run)
    load = lambda n: (json.load(open(os.path.join(d, n + ".view.json"))), json.load(open(os.path.join(d, n + ".routing.json"))),
                      Image.open(os.path.join(d, n + ".png")).convert("RGB"))
    # refused questions
    lv, _, _ = load("loading")
    check(any("still loading" in b for b in lv["banners"]), f"{run}: no 'still loading' banner: {lv['banners']}")
    # the caption, then the first question
    cv, crt, _ = load("caption")
    v1, r1, img1 = load("turn1")
    chat = v1["chat"]
    check([c["role"] for c in chat] == ["user", "assistant"] * 2, f"{run}/turn1: chat roles {[c['role'] for c in chat]}")
    a1 = chat[3]
    check(a1["text"].strip() != "" and a1["done"] and not a1["failed"], f"{run}/turn1: answer {a1}")
    t1 = a1["timings"]
    check(t1["image_encode_ms"] == 0 and t1["n_image_tokens"] == 0, f"{run}/turn1: the follow-up encoded the image: {t1}")
    n0 = len(crt)
    check(same_routing(r1[:n0], crt) is None, f"{run}/turn1: the caption's records changed: {same_routing(r1[:n0], crt)}")
    pre = r1[n0:n0 + t1["n_prompt_tokens"]]
    kinds = [(t["kind"], t["turn"]) for t in pre]
    ok_pre = all(k == ("prompt", 1) for k in kinds[1:]) and kinds[0] in (("prompt", 1), ("generated", 0))
    check(ok_pre and len(pre) == t1["n_prompt_tokens"], f"{run}/turn1: the prefill of the follow-up is not only its own turn: {kinds}")
    check(not any(t["kind"] == "image" for t in r1[n0:]), f"{run}/turn1: image tokens after the caption")
    # the overlay: experts = top-1 ids of the image tokens at the layer; pixels = palette colours
    ov = v1["overlay"]
    layer = ov["layer"]
    img_tok = [t for t in r1 if t["kind"] == "image"]
    want = [t["layers"][layer]["experts"][0] for t in img_tok]
    gx, gy = ov["grid"]
    check(ov["on"] and layer == 1, f"{run}/turn1: overlay {ov['on']} at layer {layer}")
    check(gx * gy == len(img_tok), f"{run}/turn1: overlay grid {gx}x{gy}, {len(img_tok)} image tokens")
    check(ov["experts"] == want, f"{run}/turn1: overlay experts {ov['experts']}, routing JSON top-1 {want}")
    x, y, w, h = ov["image_rect"]
    checked = bad = 0
    for i, e in enumerate(ov["experts"]):
        cx, cy = i % gx, i // gx
        x0, x1 = x + cx * w // gx, x + (cx + 1) * w // gx
        y0, y1 = y + cy * h // gy, y + (cy + 1) * h // gy
        px, py = x0 + (x1 - x0) // 2, y0 + (y1 - y0) // 2
        if py < v1["banner_bottom"]:
            continue  # under a banner
        checked += 1
        got = img1.getpixel((px, py))
        if not near(got, palette(e)):
            bad += 1
            if bad <= 3:
                fails.append(f"{run}/turn1: region {i} centre ({px},{py}) is {got}, expert {e} is {palette(e)}")
    check(checked >= max(1, len(want) // 2), f"{run}/turn1: only {checked} of {len(want)} region centres visible")
    print(f"{run}: overlay {gx}x{gy} at layer {layer}: {checked} region centres checked, {bad} wrong")
    hv, _, _ = load("hover")
    check(hv["overlay"]["hover_region"] == 0, f"{run}/hover: hovered region {hv['overlay']['hover_region']}")
    # typing: Enter focused the box, the text went in, the shortcut did not fire, Esc cleared it
    tv, _, _ = load("typing")
    check(tv["question"]["focus"] and tv["question"]["text"] == "xyz" and tv["overlay"]["on"],
          f"{run}/typing: question {tv['question']}, overlay on {tv['overlay']['on']}")
    ev, _, _ = load("cleared")
    check(ev["question"]["focus"] and ev["question"]["text"] == "", f"{run}/cleared: question {ev['question']}")
    # two questions (the second typed and sent with Enter): the whole conversation equals `moevk chat`
    v2, r2, img2 = load("turn2")
    check(len(v2["chat"]) == 6 and v2["chat"][5]["text"].strip() != "", f"{run}/turn2: chat {v2['chat']}")
    diff = same_routing(r2, cli)
    check(diff is None, f"{run}/turn2: the app's routing JSON differs from moevk chat's: {diff}")
    # the token trace: turn 2's tokens, each layer's cell in its top-1 colour
    tr = v2["trace"]
    trace_tok = [t for t in r2 if t["kind"] != "image" and t["turn"] == 2]
    check(tr["turn"] == 2 and tr["n_tokens"] == len(trace_tok), f"{run}/turn2: trace {tr}, {len(trace_tok)} tokens of turn 2")
    tx, ty, _, _ = tr["rect"]
    bad = 0
    for j, t in enumerate(trace_tok[:tr["n_tokens"]]):
        for l, la in enumerate(t["layers"]):
            px, py = tx + j * tr["cell_w"] + (tr["cell_w"] - 1) // 2, ty + l * tr["row_h"] + tr["row_h"] // 2
            if not near(img2.getpixel((px, py)), palette(la["experts"][0])):
                bad += 1
    check(bad == 0, f"{run}/turn2: {bad} trace cells off their top-1 colour")
    # the long question: CONTEXT_FULL naming the context size; the app carried on
    lv, _, _ = load("long")
    last = lv["chat"][-1]
    check(last["failed"] and "CONTEXT_FULL" in last["error"] and str(ctx) in last["error"],
          f"{run}/long: last turn {last}")
    check(any("CONTEXT_FULL" in b for b in lv["banners"]), f"{run}/long: no CONTEXT_FULL banner")
    check(not lv["question"]["focus"], f"{run}/long: Esc on the empty box kept the focus")
    # a new image: a new conversation
    nv, nr, _ = load("newimage")
    check(len(nv["chat"]) == 2 and nv["caption"].strip() != "", f"{run}/newimage: chat {nv['chat']}")
    check(nr and all(t["turn"] == 0 for t in nr) and nr[0]["pos"] == 0, f"{run}/newimage: routing is not one new turn")
    check(nv["frame"]["seq"] != v2["frame"]["seq"], f"{run}/newimage: same frame")
    # the dropped image, added with A: turn 1 encodes it alone, its tokens are image 1, the overlay shows it
    av, ar, _ = load("added")
    check(len(av["chat"]) == 4, f"{run}/added: chat {av['chat']}")
    if len(av["chat"]) == 4:
        u, a = av["chat"][2], av["chat"][3]
        gx, gy = u["image_grid"]
        check(u["image"] == 1 and gx * gy > 0 and a["done"] and not a["failed"] and a["text"].strip() != "",
              f"{run}/added: turn {u} / {a}")
        check(a["timings"]["n_image_tokens"] == gx * gy and a["timings"]["image_encode_ms"] > 0,
              f"{run}/added: the turn encoded {a['timings']['n_image_tokens']} image tokens, grid {gx}x{gy}")
        im0 = [t for t in ar if t["kind"] == "image" and t["image"] == 0]
        im1 = [t for t in ar if t["kind"] == "image" and t["image"] == 1]
        check(im0 and all(t["turn"] == 0 for t in im0) and len(im1) == gx * gy and all(t["turn"] == 1 for t in im1),
              f"{run}/added: {len(im0)} tokens of image 0, {len(im1)} of image 1 (grid {gx}x{gy})")
        check(all(t["image"] == -1 for t in ar if t["kind"] != "image"), f"{run}/added: a text token tagged with an image")
        ov = av["overlay"]
        want = [t["layers"][ov["layer"]]["experts"][0] for t in im1]
        check(ov["grid"] == [gx, gy] and ov["experts"] == want, f"{run}/added: overlay {ov['grid']} {ov['experts']}, image 1's top-1 {want}")

if fails:
    print("FAIL:")
    for f in fails:
        print("  " + f)
    sys.exit(1)
print("PASS: questions, follow-up timings, overlay, trace, CONTEXT_FULL and a new conversation in", ", ".join(runs))
PYEOF
