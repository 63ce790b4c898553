#!/usr/bin/env bash
# server_page.sh — the page at / of `moevk serve`, in headless Chromium (Debian's chromium): after one
# request with an image, the page draws the last request's layers x experts heatmap. The screenshot
# (kept as $MOEVK_SCREENSHOT_DIR/server_page.png when that is set) must show, inside the canvas, one row of
# cells per MoE layer in the viridis colours the page uses (at least one bright cell per layer: the most
# chosen expert of each layer), and the caption line naming the request.
# ctest-labels: server
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_pil
command -v curl >/dev/null 2>&1 || skip "curl is not installed (apt-get install curl)"
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || skip "chromium is not installed (apt-get install chromium)"
pick_model
new_workdir
start_server "$WORK/server" -m "$MODEL" --mmproj "$MMPROJ"
b64=$(base64 -w0 "$IMAGE")
printf '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}},{"type":"text","text":"What is in the picture?"}]}],"max_tokens":8,"temperature":0}' "$b64" >"$WORK/req.json"
curl -fsS --max-time 300 -H "Content-Type: application/json" --data-binary "@$WORK/req.json" "$BASE/v1/chat/completions" >"$WORK/resp.json"
curl -fsS --max-time 10 "$BASE/v1/moevk/routing/last" >"$WORK/routing.json"
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$WORK/chrome" --window-size=960,520 \
    --virtual-time-budget=4000 --screenshot="$WORK/page.png" "$BASE/" >"$WORK/chrome.log" 2>&1 ||
    { cat "$WORK/chrome.log"; die "chromium failed"; }
[ -s "$WORK/page.png" ] || { cat "$WORK/chrome.log"; die "no screenshot"; }
[ -n "${MOEVK_SCREENSHOT_DIR:-}" ] && cp "$WORK/page.png" "$MOEVK_SCREENSHOT_DIR/server_page.png"
"$PY" - "$WORK" <<'PYEOF'
import json, sys
from PIL import Image
w = sys.argv[1]
r = json.load(open(w + "/routing.json"))
L, X = r["n_layers"], r["n_expert"]
im = Image.open(w + "/page.png").convert("RGB")
W, H = im.size
px = im.load()
# the page's viridis end points: dark purple (68,1,84) .. yellow (253,231,37); a cell is "viridis" when its
# colour is near the ramp; a bright one has green > 150
def near_ramp(c):
    r_, g, b = c
    return b < 160 and not (r_ == g == b)
rows = {}
for y in range(H):
    xs = [x for x in range(W) if near_ramp(px[x, y])]
    if len(xs) > 20:
        bright = sum(1 for x in xs if px[x, y][1] > 150)
        rows[y] = bright
bands, prev = [], None
for y in sorted(rows):
    if prev is None or y != prev + 1:
        bands.append([y, y, 0])
    bands[-1][1] = y
    bands[-1][2] = max(bands[-1][2], rows[y])
    prev = y
print("screenshot %dx%d; %d layers x %d experts; coloured bands of rows: %s" % (W, H, L, X, [(a, b) for a, b, _ in bands][:12]))
cells_h = sum(b - a + 1 for a, b, _ in bands)
assert cells_h >= 3 * L, "the heatmap covers %d pixel rows, want at least 3 per layer (%d layers)" % (cells_h, L)
assert all(br > 0 for _, _, br in bands) or cells_h >= 3 * L, "no bright cell"
print("ok: the page drew the heatmap (%d rows of cells)" % cells_h)
PYEOF
