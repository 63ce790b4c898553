"""Composed scenes for moevk-tiny: simple shapes drawn from a specification, with the
caption and question-answer pairs generated from that specification.

    from scenes import render, spec_of, caption, qa, split_of_seed
    spec = spec_of(seed)              # deterministic in the seed
    u8 = render(spec)                 # uint8 [128, 128, 3]
    caption(spec)                     # "Two red circles."
    qa(spec, rng)                     # [(question, answer, type), ...] one per question type

World: 5 shapes (circle, square, triangle, star, diamond) x 10 named colours (each a range
of shades in HSV), counts 1-3, relations left/right/above/below. Scene kinds:
  one   one shape                                  "A red circle."
  same  2-3 copies of one shape in one colour      "Three blue stars."
  two   two different shapes, one relation         "A red circle to the left of a blue square."
Variation: size, position, aspect ratio, rotations, star inner radius, diamond width, triangle
and square proportions, outlines (darker, black or gray, 1-3 px), anti-aliasing (none, 2x or 4x
supersampling, or a slight blur); plain (incl. pure white), linear or radial gradient, pixel noise
or soft blotchy backgrounds, all light; optional clutter (thin lines, small dots) that is never named.
(The generator before this variety, commit c5bb9b2, draws the 200 frozen held-out scenes:
tools/data/frozen_scenes.py.)

Held out by seed: split_of_seed(seed) hashes "scene:<seed>" like build_dataset.split_of
(8 % test, 5 % val, 87 % train), so a scene seed is in exactly one split.
"""
import colorsys
import hashlib
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

S = 128
SHAPES = ["circle", "square", "triangle", "star", "diamond"]
# name -> (hue ranges in degrees, saturation range, value range)
COLOURS = {
    "red": ([(350, 360), (0, 6)], (0.75, 1.0), (0.65, 0.95)),
    "orange": ([(20, 34)], (0.8, 1.0), (0.9, 1.0)),
    "yellow": ([(48, 60)], (0.8, 1.0), (0.88, 1.0)),
    "green": ([(95, 145)], (0.55, 1.0), (0.45, 0.8)),
    "blue": ([(205, 235)], (0.65, 1.0), (0.6, 0.95)),
    "purple": ([(265, 290)], (0.5, 0.8), (0.45, 0.75)),
    "pink": ([(320, 345)], (0.35, 0.65), (0.9, 1.0)),
    "brown": ([(18, 32)], (0.6, 0.85), (0.33, 0.52)),
    "black": ([(0, 360)], (0.0, 0.3), (0.0, 0.14)),
    "gray": ([(0, 360)], (0.0, 0.06), (0.42, 0.62)),
}
COLOUR_NAMES = list(COLOURS)
NUM = {0: "no", 1: "one", 2: "two", 3: "three"}
CAPTION_Q = "Describe this image in one sentence."
QTYPES = ["caption", "color", "shape", "count", "yesno"]


def split_of_seed(seed):
    h = int(hashlib.sha1(("scene:%d" % seed).encode()).hexdigest()[:8], 16) % 100
    return "test" if h < 8 else ("val" if h < 13 else "train")


def seeds_of(split, n, start=0):
    out, s = [], start
    while len(out) < n:
        if split_of_seed(s) == split:
            out.append(s)
        s += 1
    return out


def plural(shape):
    return shape + "s"


def article(word):
    return "an" if word[:1] in "aeiou" else "a"


def shade(rng, name):
    hues, sr, vr = COLOURS[name]
    lo, hi = hues[int(rng.integers(len(hues)))]
    h = rng.uniform(lo, hi) / 360.0
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, rng.uniform(*sr), rng.uniform(*vr))
    return (int(r * 255), int(g * 255), int(b * 255))


# ------------------------------------------------------------------ specification
def _place(rng, rs, rel):
    """Centres for objects of radii rs without overlap; rel orders them (left/above) or None."""
    n = len(rs)
    for _ in range(200):
        if rel == "left":
            xs = sorted(rng.uniform(r + 3, S - r - 3) for r in rs)
            ys = [rng.uniform(r + 3, S - r - 3) for r in rs]
            if n == 2 and abs(ys[1] - ys[0]) > 0.6 * abs(xs[1] - xs[0]):
                continue
        elif rel == "above":
            ys = sorted(rng.uniform(r + 3, S - r - 3) for r in rs)
            xs = [rng.uniform(r + 3, S - r - 3) for r in rs]
            if n == 2 and abs(xs[1] - xs[0]) > 0.6 * abs(ys[1] - ys[0]):
                continue
        else:
            xs = [rng.uniform(r + 3, S - r - 3) for r in rs]
            ys = [rng.uniform(r + 3, S - r - 3) for r in rs]
        ok = all(math.hypot(xs[i] - xs[j], ys[i] - ys[j]) > rs[i] + rs[j] + 4
                 for i in range(n) for j in range(i))
        if ok:
            return list(zip(xs, ys))
    return None


def _obj(rng, shape, colour, r, cx, cy):
    rgb = shade(rng, colour)
    o = {"shape": shape, "colour": colour, "rgb": rgb, "r": float(r), "cx": float(cx),
         "cy": float(cy), "aspect": float(rng.uniform(0.82, 1.22)),
         "rot": float(rng.uniform(-12, 12) if shape == "square" else rng.uniform(-18, 18)),
         "inner": float(rng.uniform(0.36, 0.52)), "dwidth": float(rng.uniform(0.55, 0.85)),
         "fill": float(rng.uniform(0.8, 0.95)), "tri": [float(rng.uniform(0.6, 0.85)), float(rng.uniform(0.85, 1.05))],
         "outline": bool(rng.random() < 0.25)}
    # outline: darker shade of the fill, black or gray; 1-3 px
    u = rng.random()
    o["line_rgb"] = [max(0, v - int(rng.integers(60, 130))) for v in rgb] if u < 0.6 else \
        ([int(rng.integers(0, 40))] * 3 if u < 0.85 else [int(rng.integers(70, 130))] * 3)
    o["line_w"] = float(rng.uniform(1.0, 3.0))
    return o


def spec_of(seed):
    rng = np.random.default_rng([seed, 1313])
    u = rng.random()
    kind = "one" if u < 0.36 else ("same" if u < 0.66 else "two")
    for _ in range(50):
        if kind == "one":
            r = rng.uniform(10, 46)
            objs = [_obj(rng, str(rng.choice(SHAPES)), str(rng.choice(COLOUR_NAMES)), r,
                         rng.uniform(r + 3, S - r - 3), rng.uniform(r + 3, S - r - 3))]
            rel = None
            break
        if kind == "same":
            n = int(rng.integers(2, 4))
            base = rng.uniform(11, 25 if n == 2 else 21)
            rs = [base * rng.uniform(0.85, 1.15) for _ in range(n)]
            pos = _place(rng, rs, None)
            if pos is None:
                continue
            sh, co = str(rng.choice(SHAPES)), str(rng.choice(COLOUR_NAMES))
            objs = [_obj(rng, sh, co, r, x, y) for r, (x, y) in zip(rs, pos)]
            rel = None
            break
        rel = str(rng.choice(["left", "above"]))
        base = rng.uniform(12, 27)
        rs = [base * rng.uniform(0.8, 1.2) for _ in range(2)]
        pos = _place(rng, rs, rel)
        if pos is None:
            continue
        a, b = rng.choice(SHAPES, 2, replace=False)
        objs = [_obj(rng, str(a), str(rng.choice(COLOUR_NAMES)), rs[0], *pos[0]),
                _obj(rng, str(b), str(rng.choice(COLOUR_NAMES)), rs[1], *pos[1])]
        break
    bg = {"kind": str(rng.choice(["plain", "white", "gradient", "noise", "radial", "blotch"],
                                 p=[0.22, 0.18, 0.2, 0.16, 0.12, 0.12])),
          "c1": [int(v) for v in rng.integers(190, 256, 3)], "c2": [int(v) for v in rng.integers(185, 256, 3)],
          "vertical": bool(rng.random() < 0.5), "sigma": float(rng.uniform(3, 14)),
          "centre": [float(v) for v in rng.uniform(0, S, 2)]}
    clutter = int(rng.integers(1, 7)) if rng.random() < 0.35 else 0
    ss = int(rng.choice([1, 2, 4], p=[0.35, 0.45, 0.2]))
    return {"seed": int(seed), "kind": kind, "rel": rel, "objects": objs, "bg": bg, "clutter": clutter,
            "aa": ss > 1, "ss": ss, "blur": float(rng.uniform(0.4, 0.9)) if rng.random() < 0.15 else 0.0}


# ------------------------------------------------------------------ rendering
def _poly(o, k):
    cx, cy, r = o["cx"] * k, o["cy"] * k, o["r"] * k
    ax, ay = (o["aspect"], 1.0) if o["aspect"] >= 1 else (1.0, 1.0 / o["aspect"])
    ax, ay = ax / max(ax, ay), ay / max(ax, ay)      # the longer side spans r
    s = o["shape"]
    if s == "square":
        q = o.get("fill", 0.85)
        pts = [(-q, -q), (q, -q), (q, q), (-q, q)]
    elif s == "triangle":
        by, hw = o.get("tri", (0.78, 0.97))
        pts = [(0, -1.0), (hw, by), (-hw, by)]
    elif s == "diamond":
        w = o["dwidth"]
        pts = [(0, -1.0), (w, 0), (0, 1.0), (-w, 0)]
        ax, ay = 1.0, 1.0
    elif s == "star":
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = 1.0 if i % 2 == 0 else o["inner"]
            pts.append((rr * math.cos(a), rr * math.sin(a)))
        ax, ay = 1.0, 1.0
    else:
        return None
    t = math.radians(o["rot"] if s != "diamond" else o["rot"] * 0.5)
    c, sn = math.cos(t), math.sin(t)
    return [(cx + r * (x * ax * c - y * ay * sn), cy + r * (x * ax * sn + y * ay * c)) for x, y in pts]


def _draw(d, o, k):
    col = tuple(o["rgb"])
    if o["outline"]:
        line = tuple(o.get("line_rgb", [max(0, v - 90) for v in col]))
        wid = max(1, int(round(o.get("line_w", 1.5) * k)))
    else:
        line, wid = None, 0
    if o["shape"] == "circle":
        cx, cy, r = o["cx"] * k, o["cy"] * k, o["r"] * k
        ax, ay = (1.0, 1.0 / o["aspect"]) if o["aspect"] >= 1 else (o["aspect"], 1.0)
        d.ellipse([cx - r * ax, cy - r * ay, cx + r * ax, cy + r * ay], fill=col, outline=line, width=wid)
    else:
        d.polygon(_poly(o, k), fill=col, outline=line, width=wid) if line else d.polygon(_poly(o, k), fill=col)


def _background(bg, rng):
    c1 = np.array(bg["c1"], np.float32)
    if bg["kind"] == "white":
        a = np.full((S, S, 3), 255.0, np.float32)
    elif bg["kind"] == "plain":
        a = np.broadcast_to(c1, (S, S, 3)).copy()
    elif bg["kind"] == "gradient":
        t = np.linspace(0, 1, S, dtype=np.float32)[:, None, None]
        a = c1 * (1 - t) + np.array(bg["c2"], np.float32) * t
        a = np.broadcast_to(a, (S, S, 3))
        a = np.ascontiguousarray(a.transpose(1, 0, 2) if bg["vertical"] else a)
    elif bg["kind"] == "radial":
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
        cx, cy = bg["centre"]
        t = np.clip(np.hypot(xx - cx, yy - cy) / (1.2 * S), 0, 1)[:, :, None]
        a = c1 * (1 - t) + np.array(bg["c2"], np.float32) * t
    elif bg["kind"] == "blotch":  # soft low-frequency blotches of +-2 sigma around a light colour
        g = rng.normal(0, 2 * bg["sigma"], (4, 4, 3)).astype(np.float32)
        up = np.asarray(Image.fromarray(np.clip(g + 128, 0, 255).astype(np.uint8)).resize((S, S), Image.BICUBIC),
                        np.float32) - 128
        a = c1 + up
    else:  # noise: pixel noise on a light colour, optionally blurred blobs
        a = c1 + rng.normal(0, bg["sigma"], (S, S, 1 if bg["vertical"] else 3)).astype(np.float32)
        a = np.broadcast_to(a, (S, S, 3)).copy()
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def render(spec):
    rng = np.random.default_rng([spec["seed"], 77])
    img = _background(spec["bg"], rng)
    k = spec.get("ss", 2 if spec["aa"] else 1)
    if k > 1:
        img = img.resize((S * k, S * k), Image.NEAREST)
    d = ImageDraw.Draw(img)
    for _ in range(spec["clutter"]):
        col = tuple(int(v) for v in rng.integers(60, 200, 3))
        if rng.random() < 0.5:
            x0, y0 = rng.uniform(0, S, 2) * k
            ang, ln = rng.uniform(0, 2 * math.pi), rng.uniform(8, 30) * k
            d.line([x0, y0, x0 + ln * math.cos(ang), y0 + ln * math.sin(ang)], fill=col, width=max(1, k))
        else:
            x0, y0 = rng.uniform(0, S, 2) * k
            rr = rng.uniform(1, 2.5) * k
            d.ellipse([x0 - rr, y0 - rr, x0 + rr, y0 + rr], fill=col)
    for o in spec["objects"]:
        _draw(d, o, k)
    if k > 1:
        img = img.resize((S, S), Image.LANCZOS)
    if spec.get("blur", 0) > 0:
        img = img.filter(ImageFilter.GaussianBlur(spec["blur"]))
    return np.asarray(img, dtype=np.uint8)


# ------------------------------------------------------------------ language
def _ordered(spec):
    """Objects in reading order (left to right, or top to bottom for 'above')."""
    ob = spec["objects"]
    return sorted(ob, key=lambda o: o["cy"] if spec["rel"] == "above" else o["cx"])


def caption(spec, rng=None):
    ob = spec["objects"]
    if spec["kind"] == "one":
        o = ob[0]
        return "%s %s %s." % (article(o["colour"]).capitalize(), o["colour"], o["shape"])
    if spec["kind"] == "same":
        o = ob[0]
        return "%s %s %s." % (NUM[len(ob)].capitalize(), o["colour"], plural(o["shape"]))
    a, b = _ordered(spec)
    flip = bool(rng.random() < 0.5) if rng is not None else False
    if spec["rel"] == "left":
        word = "to the right of" if flip else "to the left of"
    else:
        word = "below" if flip else "above"
    if flip:
        a, b = b, a
    return "%s %s %s %s %s %s %s." % (article(a["colour"]).capitalize(), a["colour"], a["shape"], word,
                                      article(b["colour"]), b["colour"], b["shape"])


def count_of(spec, shape):
    return sum(o["shape"] == shape for o in spec["objects"])


def has(spec, colour, shape):
    return any(o["shape"] == shape and o["colour"] == colour for o in spec["objects"])


def q_color(spec, rng):
    ob = spec["objects"]
    if spec["kind"] == "same":
        s = ob[0]["shape"]
        if rng.random() < 0.7:
            return "What color are the %s?" % plural(s), "The %s are %s." % (plural(s), ob[0]["colour"])
        return "What color is the %s?" % s, "The %s are %s." % (plural(s), ob[0]["colour"])
    o = ob[int(rng.integers(len(ob)))]
    if spec["kind"] == "one" and rng.random() < 0.15:
        return "What color is the shape?", "The %s is %s." % (o["shape"], o["colour"])
    return "What color is the %s?" % o["shape"], "The %s is %s." % (o["shape"], o["colour"])


def q_shape(spec, rng):
    ob = spec["objects"]
    if spec["kind"] == "one":
        return "What shape is this?", "It is %s %s." % (article(ob[0]["shape"]), ob[0]["shape"])
    if spec["kind"] == "same":
        return "What shapes are these?", "They are %s %s." % (NUM[len(ob)], plural(ob[0]["shape"]))
    a, b = _ordered(spec)
    return "What shapes are these?", "They are %s %s and %s %s." % (article(a["shape"]), a["shape"],
                                                                    article(b["shape"]), b["shape"])


def q_count(spec, rng):
    present = sorted({o["shape"] for o in spec["objects"]})
    if rng.random() < 0.2:
        s = str(rng.choice([x for x in SHAPES if x not in present]))
    else:
        s = str(rng.choice(present))
    n = count_of(spec, s)
    q = "How many %s are there?" % plural(s)
    if n == 1:
        return q, "There is one %s." % s
    return q, "There are %s %s." % (NUM[n], plural(s))


def q_yesno(spec, rng):
    ob = spec["objects"]
    if rng.random() < 0.5:
        o = ob[int(rng.integers(len(ob)))]
        c, s = o["colour"], o["shape"]
    else:
        o = ob[int(rng.integers(len(ob)))]
        for _ in range(100):
            u = rng.random()
            if u < 0.4:    # right shape, other colour
                c, s = str(rng.choice(COLOUR_NAMES)), o["shape"]
            elif u < 0.8:  # right colour, other shape
                c, s = o["colour"], str(rng.choice(SHAPES))
            else:
                c, s = str(rng.choice(COLOUR_NAMES)), str(rng.choice(SHAPES))
            if not has(spec, c, s):
                break
    q = "Is there %s %s %s?" % (article(c), c, s)
    if has(spec, c, s):
        return q, "Yes, there is %s %s %s." % (article(c), c, s)
    return q, "No, there is no %s %s." % (c, s)


def qa(spec, rng, types=QTYPES):
    out = []
    for t in types:
        if t == "caption":
            out.append((CAPTION_Q, caption(spec, rng), t))
        else:
            q, a = {"color": q_color, "shape": q_shape, "count": q_count, "yesno": q_yesno}[t](spec, rng)
            out.append((q, a, t))
    return out


# ------------------------------------------------------------------ scoring (answers of a model)
def words(text):
    return [w.strip(".,!?;:").lower() for w in text.split()]


def shape_words(text):
    """Shape names in the text, in order, singular."""
    out = []
    for w in words(text):
        for s in SHAPES:
            if w == s or w == plural(s):
                out.append(s)
    return out


def colour_words(text):
    return [w for w in words(text) if w in COLOURS]


def number_words(text):
    inv = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "no": 0}
    return [inv[w] for w in words(text) if w in inv]


def caption_right(spec, text):
    """Issue 13's criterion: colour and shape named (one object, or each of two objects), or
    count and shape (copies); nothing wrong named (no extra colour or shape)."""
    ob = spec["objects"]
    sw, cw = shape_words(text), colour_words(text)
    if spec["kind"] == "one":
        return sw == [ob[0]["shape"]] and cw == [ob[0]["colour"]]
    if spec["kind"] == "same":
        nw = [w for w in words(text) if w in ("two", "three")]
        return sw == [ob[0]["shape"]] and nw == [NUM[len(ob)]] and set(cw) <= {ob[0]["colour"]}
    want = sorted((o["colour"], o["shape"]) for o in ob)
    got = sorted(zip(cw, sw)) if len(cw) == len(sw) == 2 else None
    return got == want


def answer_right(spec, qtype, question, text):
    ob = spec["objects"]
    if qtype == "caption":
        return caption_right(spec, text)
    if qtype == "color":
        sq = shape_words(question)
        want = {o["colour"] for o in ob if not sq or o["shape"] == sq[0]}
        return set(colour_words(text)) == want and len(colour_words(text)) >= 1
    if qtype == "shape":
        want = sorted(o["shape"] for o in _ordered(spec)) if spec["kind"] == "two" else [ob[0]["shape"]]
        got = sorted(set(shape_words(text))) if spec["kind"] != "two" else sorted(shape_words(text))
        if spec["kind"] == "same":
            nw = [w for w in words(text) if w in ("two", "three")]
            return got == want and nw in ([], [NUM[len(ob)]])
        return got == sorted(set(want)) if spec["kind"] == "one" else got == want
    if qtype == "count":
        s = shape_words(question)[0]
        n = count_of(spec, s)
        nums = number_words(text)
        return len(nums) >= 1 and nums[0] == n
    if qtype == "yesno":
        c, s = colour_words(question)[0], shape_words(question)[0]
        w = words(text)
        return bool(w) and w[0] == ("yes" if has(spec, c, s) else "no")
    raise ValueError(qtype)
