#!/usr/bin/python3
"""Build the moevk-tiny captioning dataset from Debian-packaged images.

Sources (all installed with apt; see assets/MODEL_CARD.md for licences):
  tuxpaint-stamps-default  /usr/share/tuxpaint/stamps/**.png + .txt (first line = English description)
  openclipart-png          /usr/share/openclipart/png/**.png (caption from folder + file name,
                           author names and numbering removed)
  fonts-noto-color-emoji   NotoColorEmoji.ttf CBDT bitmaps (single code points), names from the
                           CLDR English annotations (unicode-cldr-core), falling back to UnicodeData.txt
  composed scenes          procedurally drawn: 1-3 geometric shapes in named colours and/or emoji
                           "scene sprites" on plain or gradient backgrounds, with captions that say
                           colour, count and relative position.

Every image is rendered to 128x128 RGB (alpha composited on white, aspect kept, centred).
Splits are by SOURCE image: a source id is assigned to exactly one of train/val/test by a hash.
Composed scenes are their own sources (one per scene seed); the emoji used as scene sprites are a
fixed pool that is removed from the single-emoji data, so no single-emoji image appears in a scene.

Outputs (in --out, default /tmp/moevk-data, NOT committed):
  images.npy  uint8 [N,128,128,3]
  meta.jsonl  one JSON object per image: id, source, kind, split, caption, objects
and tools/data/splits.tsv (committed): source id <TAB> split, one line per source.

Usage: /usr/bin/python3 tools/data/build_dataset.py [--out DIR] [--scenes N]
"""
import argparse, glob, hashlib, io, json, os, random, re, sys, unicodedata
import xml.etree.ElementTree as ET
import numpy as np
from PIL import Image, ImageDraw

Image.MAX_IMAGE_PIXELS = None  # some openclipart PNGs are huge but trusted (Debian package)

S = 128
TUX = "/usr/share/tuxpaint/stamps"
OCA = "/usr/share/openclipart/png"
EMOJI_TTF = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
CLDR = "/usr/share/unicode/cldr/common/annotations/en.xml"
CLDR_DERIVED = "/usr/share/unicode/cldr/common/annotationsDerived/en.xml"
UNIDATA = "/usr/share/unicode/UnicodeData.txt"


def ascii_text(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if ord(c) < 128)
    return s


def clean_caption(s):
    s = ascii_text(s).lower().replace("_", " ")
    s = re.sub(r"\s+", " ", s).strip()
    s = s.rstrip(" .!")
    return s


def split_of(source):
    h = int(hashlib.sha1(source.encode()).hexdigest()[:8], 16) % 100
    return "test" if h < 8 else ("val" if h < 13 else "train")


def to_canvas(img, bg=(255, 255, 255)):
    img = img.convert("RGBA")
    w, h = img.size
    sc = (S - 8) / max(w, h)
    nw, nh = max(1, round(w * sc)), max(1, round(h * sc))
    img = img.resize((nw, nh), Image.LANCZOS)
    canvas = Image.new("RGBA", (S, S), bg + (255,))
    canvas.alpha_composite(img, ((S - nw) // 2, (S - nh) // 2))
    return canvas.convert("RGB")


def article(word):
    return "an" if word[:1] in "aeiou" else "a"


# ---------------------------------------------------------------- tuxpaint
def tuxpaint_items():
    out = []
    for png in sorted(glob.glob(TUX + "/**/*.png", recursive=True)):
        base = png[:-4]
        if base.endswith("_mirror") or base.endswith("_flip"):
            continue
        txt = base + ".txt"
        if not os.path.exists(txt):
            continue
        with open(txt, encoding="utf-8", errors="replace") as f:
            first = f.readline().strip()
        first = re.split(r"(?<=[.!?])\s", first)[0]  # first sentence only
        cap = clean_caption(first)
        if not cap or len(cap.split()) > 20:
            continue
        out.append(("tux:" + os.path.relpath(png, TUX), png, cap, "tuxpaint", []))
    return out


# ---------------------------------------------------------------- openclipart
OCA_SKIP = ("computer/", "shapes/stars", "special/", "signs_and_symbols/led", "shapes/flowchart",
            "shapes/callouts", "recreation/games", "unsorted/duplicates", "signs_and_symbols/map_symbols",
            "transportation/aiga-symbols", "shapes/jigsaw", "logos/")


def openclipart_items():
    files = sorted(glob.glob(OCA + "/**/*.png", recursive=True))
    rel = [os.path.relpath(f, OCA) for f in files]
    # author detection: suffixes (1-3 underscore tokens before the numbering) seen in >= 2 files
    def toks(r):
        stem = os.path.basename(r)[:-4]
        t = [x for x in stem.split("_")]
        while t and (t[-1] == "" or re.fullmatch(r"\d+|r", t[-1])):
            t.pop()
        return t
    from collections import Counter
    suf = Counter()
    for r in rel:
        t = toks(r)
        for k in (1, 2, 3):
            if len(t) > k:
                suf["_".join(t[-k:])] += 1
    out = []
    for f, r in zip(files, rel):
        if any(r.startswith(p) for p in OCA_SKIP):
            continue
        stem = os.path.basename(r)[:-4]
        t = toks(r)
        numbered = bool(re.search(r"_(\d\d|r)$", stem)) or stem.endswith("_")
        cut = 0
        for k in (3, 2, 1):
            if len(t) > k and suf["_".join(t[-k:])] >= 3:
                cut = k
                break
        if cut == 0 and numbered and len(t) >= 3:
            cut = 2  # "<title>_<first>_<last>_01": unknown author, drop the name
        title = t[:len(t) - cut] if cut else t
        words = " ".join(title).replace("-", " ")
        words = re.sub(r"\d+", " ", words)
        words = clean_caption(words)
        if not words or len(words) < 3:
            continue
        parts = r.split("/")
        if parts[0] == "signs_and_symbols" and len(parts) > 1 and parts[1] == "flags":
            cap = "the flag of " + words.replace("flag of ", "").replace(" flag", "")
        else:
            cap = "a drawing of " + words
        out.append(("oca:" + r, f, cap, "openclipart", []))
    return out


# ---------------------------------------------------------------- emoji
def cldr_names():
    names = {}
    for path in (CLDR_DERIVED, CLDR):
        if not os.path.exists(path):
            continue
        root = ET.parse(path).getroot()
        for a in root.iter("annotation"):
            if a.get("type") == "tts":
                names[a.get("cp")] = a.text
    return names


def unidata_names():
    n = {}
    with open(UNIDATA) as f:
        for line in f:
            p = line.split(";")
            n[int(p[0], 16)] = p[1].lower()
    return n


def emoji_bitmaps():
    from fontTools.ttLib import TTFont
    font = TTFont(EMOJI_TTF)
    cmap = font.getBestCmap()
    strike = font["CBDT"].strikeData[0]
    by_glyph = {}
    for cp, g in cmap.items():
        if cp < 0x2000 or 0x1F1E6 <= cp <= 0x1F1FF or 0x1F3FB <= cp <= 0x1F3FF:
            continue
        if g in strike and g not in by_glyph:
            by_glyph[g] = cp
    out = {}
    for g, cp in by_glyph.items():
        bm = strike[g]
        data = getattr(bm, "imageData", None)
        if data is None:
            continue
        out[cp] = data
    return out


SPRITES = {  # CLDR tts name -> (singular, plural) used in composed scenes only
    "red apple": ("red apple", "red apples"), "banana": ("banana", "bananas"),
    "carrot": ("carrot", "carrots"), "cat": ("cat", "cats"), "dog": ("dog", "dogs"),
    "fish": ("fish", "fish"), "bird": ("bird", "birds"), "snowman": ("snowman", "snowmen"),
    "sun": ("sun", "suns"), "automobile": ("car", "cars"), "house": ("house", "houses"),
    "soccer ball": ("soccer ball", "soccer balls"), "tulip": ("tulip", "tulips"),
    "red heart": ("red heart", "red hearts"), "deciduous tree": ("tree", "trees"),
    "rocket": ("rocket", "rockets"), "umbrella": ("umbrella", "umbrellas"),
    "mushroom": ("mushroom", "mushrooms"), "pizza": ("pizza", "pizzas"),
    "cherries": None, "lemon": ("lemon", "lemons"), "pear": ("pear", "pears"),
    "cow": ("cow", "cows"), "pig": ("pig", "pigs"), "horse": ("horse", "horses"),
    "turtle": ("turtle", "turtles"), "snail": ("snail", "snails"), "butterfly": ("butterfly", "butterflies"),
    "bicycle": ("bicycle", "bicycles"), "airplane": ("airplane", "airplanes"), "bus": ("bus", "buses"),
    "guitar": ("guitar", "guitars"), "key": ("key", "keys"), "light bulb": ("light bulb", "light bulbs"),
    "clock": None, "gift": ("gift", "gifts"), "balloon": ("balloon", "balloons"),
    "cactus": ("cactus", "cacti"), "duck": ("duck", "ducks"), "penguin": ("penguin", "penguins"),
    "frog": ("frog", "frogs"), "elephant": ("elephant", "elephants"), "moon": None,
    "cloud": ("cloud", "clouds"), "star": ("star", "stars"), "ice cream": ("ice cream", "ice creams"),
    "strawberry": ("strawberry", "strawberries"), "teddy bear": ("teddy bear", "teddy bears"),
}


def emoji_items():
    names = cldr_names()
    uni = unidata_names()
    bms = emoji_bitmaps()
    singles, sprites = [], {}
    for cp in sorted(bms):
        ch = chr(cp)
        name = names.get(ch) or names.get(ch + "\ufe0f") or uni.get(cp)
        if not name:
            continue
        name = clean_caption(name)
        img = Image.open(io.BytesIO(bms[cp]))
        if name in SPRITES and SPRITES[name]:
            sprites[name] = (img.convert("RGBA"), SPRITES[name])
            continue
        cap = name + " emoji"
        out_src = "emoji:U+%04X" % cp
        singles.append((out_src, img, cap, "emoji", []))
    return singles, sprites


# ---------------------------------------------------------------- composed scenes
COLOURS = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 70, 220), "yellow": (240, 210, 20),
           "orange": (245, 130, 20), "purple": (130, 50, 170), "pink": (245, 120, 180),
           "brown": (120, 70, 30), "black": (20, 20, 20), "gray": (128, 128, 128)}
SHAPES = ["circle", "square", "triangle", "star", "diamond"]
NUM = {2: "two", 3: "three"}


def draw_shape(d, kind, cx, cy, r, col):
    import math
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
    elif kind == "square":
        q = r * 0.85
        d.rectangle([cx - q, cy - q, cx + q, cy + q], fill=col)
    elif kind == "triangle":
        d.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)], fill=col)
    elif kind == "diamond":
        d.polygon([(cx, cy - r), (cx + r * 0.75, cy), (cx, cy + r), (cx - r * 0.75, cy)], fill=col)
    elif kind == "star":
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        d.polygon(pts, fill=col)


def background(rng):
    c1 = tuple(int(v) for v in rng.integers(200, 256, 3))
    img = Image.new("RGB", (S, S), c1)
    if rng.random() < 0.5:
        c2 = np.array(rng.integers(190, 256, 3), np.float32)
        t = np.linspace(0, 1, S, dtype=np.float32)[:, None, None]
        a = np.array(c1, np.float32)[None, None, :] * (1 - t) + c2[None, None, :] * t
        a = np.broadcast_to(a, (S, S, 3))
        if rng.random() < 0.5:
            a = a.transpose(1, 0, 2)
        img = Image.fromarray(np.ascontiguousarray(a).astype(np.uint8))
    return img


def layout(rng, n, rel):
    """Centres for n objects; rel in {'left','above',None}. Returns list of (cx, cy, r)."""
    r = int(rng.integers(16, 24)) if n > 1 else int(rng.integers(22, 40))
    if n == 1:
        return [(int(rng.integers(r + 4, S - r - 4)), int(rng.integers(r + 4, S - r - 4)), r)]
    if rel == "left":
        xs = np.linspace(r + 6, S - r - 6, n) + rng.integers(-4, 5, n)
        y0 = rng.integers(r + 6, S - r - 6)
        return [(int(x), int(np.clip(y0 + rng.integers(-10, 11), r + 2, S - r - 2)), r) for x in xs]
    ys = np.linspace(r + 6, S - r - 6, n) + rng.integers(-4, 5, n)
    x0 = rng.integers(r + 6, S - r - 6)
    return [(int(np.clip(x0 + rng.integers(-10, 11), r + 2, S - r - 2)), int(y), r) for y in ys]


def paste_sprite(img, sprite, cx, cy, r):
    sp = sprite.resize((2 * r, 2 * r), Image.LANCZOS)
    base = img.convert("RGBA")
    base.alpha_composite(sp, (cx - r, cy - r))
    return base.convert("RGB")


def scene(rng, sprites):
    """Returns (image, caption, objects)."""
    img = background(rng)
    d = ImageDraw.Draw(img)
    kind = rng.choice(["one_shape", "two", "count"], p=[0.2, 0.55, 0.25])
    sprite_names = sorted(sprites)

    def rand_obj():
        if rng.random() < 0.5:
            return ("shape", str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS))))
        return ("sprite", str(rng.choice(sprite_names)), None)

    def phrase(o, plural=False, n=1):
        if o[0] == "shape":
            noun = o[2] + " " + o[1] + ("s" if plural else "")
        else:
            sing, plu = sprites[o[1]][1]
            noun = plu if plural else sing
        return (NUM[n] + " " + noun) if plural else (article(noun) + " " + noun)

    def obj_word(o):
        return o[1] if o[0] == "shape" else sprites[o[1]][1][0]

    def draw(o, cx, cy, r):
        nonlocal img, d
        if o[0] == "shape":
            draw_shape(d, o[1], cx, cy, r, COLOURS[o[2]])
        else:
            img = paste_sprite(img, sprites[o[1]][0], cx, cy, r)
            d = ImageDraw.Draw(img)

    if kind == "one_shape":
        o = ("shape", str(rng.choice(SHAPES)), str(rng.choice(list(COLOURS))))
        (cx, cy, r), = layout(rng, 1, None)
        draw(o, cx, cy, r)
        return img, phrase(o), [obj_word(o)]
    if kind == "count":
        o = rand_obj()
        n = int(rng.integers(2, 4))
        for cx, cy, r in layout(rng, n, str(rng.choice(["left", "above"]))):
            draw(o, cx, cy, r)
        return img, phrase(o, True, n), [obj_word(o)]
    a, b = rand_obj(), rand_obj()
    while b[:2] == a[:2]:
        b = rand_obj()
    rel = str(rng.choice(["left", "above"]))
    (x1, y1, r), (x2, y2, _) = layout(rng, 2, rel)
    if rng.random() < 0.5:  # a first (left/top) or b first
        draw(a, x1, y1, r); draw(b, x2, y2, r)
        word = "to the left of" if rel == "left" else "above"
    else:
        draw(b, x1, y1, r); draw(a, x2, y2, r)
        word = "to the right of" if rel == "left" else "below"
    return img, phrase(a) + " " + word + " " + phrase(b), [obj_word(a), obj_word(b)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/moevk-data")
    ap.add_argument("--scenes", type=int, default=9000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--reuse", default="", help="take the rendered package images from an earlier run's DIR")
    ap.add_argument("--splits", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "splits.tsv"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    items = []
    if not args.reuse:
        print("tuxpaint...", flush=True)
        items += tuxpaint_items()
        print("openclipart...", flush=True)
        items += openclipart_items()
    print("emoji...", flush=True)
    singles, sprites = emoji_items()
    if not args.reuse:
        items += singles
    print("sources: %d (+%d scene sprites)" % (len(items), len(sprites)), flush=True)
    imgs, meta = [], []
    if args.reuse:
        old = [json.loads(l) for l in open(os.path.join(args.reuse, "meta.jsonl"))]
        old_imgs = np.load(os.path.join(args.reuse, "images.npy"))
        for m in old:
            if m["kind"] != "scene":
                m["id"] = len(meta)
                imgs.append(old_imgs[len(meta)])
                meta.append(m)
    for src, path, cap, kind, objs in items:
        try:
            im = path if isinstance(path, Image.Image) else Image.open(path)
            arr = np.asarray(to_canvas(im))
        except Exception as e:  # unreadable file: skip
            print("skip", src, e, file=sys.stderr)
            continue
        imgs.append(arr)
        meta.append({"id": len(meta), "source": src, "kind": kind, "split": split_of(src), "caption": cap,
                     "objects": objs})
    print("rendering %d scenes..." % args.scenes, flush=True)
    for i in range(args.scenes):
        img, cap, objs = scene(rng, sprites)
        src = "scene:%05d" % i
        imgs.append(np.asarray(img))
        meta.append({"id": len(meta), "source": src, "kind": "scene", "split": split_of(src), "caption": cap,
                     "objects": objs})
    np.save(os.path.join(args.out, "images.npy"), np.stack(imgs))
    with open(os.path.join(args.out, "meta.jsonl"), "w") as f:
        for m in meta:
            f.write(json.dumps(m) + "\n")
    with open(args.splits, "w") as f:
        f.write("# source\tsplit  (generated by tools/data/build_dataset.py; split = sha1(source) bucket)\n")
        f.write("# scene sprites (emoji used only inside composed scenes): %s\n" % ", ".join(sorted(sprites)))
        for m in meta:
            f.write("%s\t%s\n" % (m["source"], m["split"]))
    from collections import Counter
    print(Counter((m["kind"], m["split"]) for m in meta))


if __name__ == "__main__":
    main()
