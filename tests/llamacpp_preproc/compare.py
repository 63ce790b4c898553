"""compare.py WORKDIR GOLDEN_PNG_OR_EMPTY — runs ./harness (llama.cpp) and ./ours
(moevk) from WORKDIR on the same inputs and requires identical sizes and
bit-identical normalised pixels. Exit 1 on any mismatch."""
import os
import subprocess
import sys

import numpy as np

work, golden = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""


def run(rgb, mn, mx):
    h, w, _ = rgb.shape
    inp = os.path.join(work, "in.rgb")
    rgb.astype(np.uint8).tofile(inp)
    res = {}
    for tool in ("harness", "ours"):
        out = os.path.join(work, tool + ".f32")
        subprocess.check_call([os.path.join(work, tool), inp, str(w), str(h), str(mn), str(mx), out])
        ow, oh = np.fromfile(out, dtype=np.int32, count=2)
        px = np.fromfile(out, dtype=np.float32)[2:]
        px = px.reshape(oh, ow, 3).transpose(2, 0, 1) if tool == "harness" else px.reshape(3, oh, ow)
        res[tool] = (int(ow), int(oh), px)
    (lw, lh, lp), (ow, oh, op) = res["harness"], res["ours"]
    same = (lw, lh) == (ow, oh) and np.array_equal(lp, op)
    detail = ""
    if not same and (lw, lh) == (ow, oh):
        detail = " max|d|=%g, %d values differ" % (np.abs(lp - op).max(), int((lp != op).sum()))
    print("%5dx%-5d tokens %d..%d: llama.cpp %dx%d, moevk %dx%d, identical=%s%s"
          % (w, h, mn, mx, lw, lh, ow, oh, same, detail))
    return same


rng = np.random.default_rng(5)
ok = True
if golden:
    from PIL import Image
    g = np.array(Image.open(golden).convert("RGB"))
    for mn in (8, 6, 1):  # 8: upscaled + letterboxed; 6 and 1: native size
        ok &= run(g, mn, 4096)
cases = [(1, 1, 8, 4096), (100, 60, 64, 4096), (1000, 700, 8, 4096), (3000, 2000, 8, 4096),
         (50, 400, 8, 4096), (640, 480, 8, 64), (333, 777, 8, 300), (31, 33, 8, 4096), (2, 2000, 8, 4096)]
for (w, h, mn, mx) in cases:
    # gradient, hard checkerboard edges (bicubic overshoot/clamping) and noise
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(w - 1, 1), ((xx // 7 + yy // 5) % 2) * 255, rng.integers(0, 256, (h, w))], -1)
    ok &= run(img, mn, mx)
print("ALL IDENTICAL" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
