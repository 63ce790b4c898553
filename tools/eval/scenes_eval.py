#!/usr/bin/python3
"""Held-out evaluation of the embedded model on composed scenes: captions and answers.

    /usr/bin/python3 tools/eval/scenes_eval.py --engine build/app/cli/moevk --n 250 \\
        --out tools/metrics/moevk-tiny-scenes.json --routing-out tools/metrics/moevk-tiny-experts.json

Scenes: the first N test-split seeds of tools/data/scenes.py (held out by seed; training only
draws train-split seeds). Every scene is asked all five question types in a single turn, with
the question generated from its specification (fixed per seed):
  caption  "Describe this image in one sentence."   right = colour and shape named (each object),
                                                    or count and shape; no other colour/shape
  color    "What color is the X?"                    right = exactly the colour(s) of the X
  shape    "What shape is this?" / "What shapes are these?"  right = the shape name(s)
  count    "How many Xs are there?"                  right = first number word is the count (0-3)
  yesno    "Is there a C X?"                         right = first word is Yes / No correctly
--style plain draws the same specifications a second, simpler way (canonical colour, no
rotation or aspect change, white or plain light background, no clutter, no anti-aliasing):
a check that the model is not tied to the training renderer. --style frozen takes the 200 frozen
held-out scenes (tools/data/frozen_scenes.py: today's generator, kept after scenes.py changes).

Backends: --engine BIN runs the C engine: one `moevk chat -m M --mmproj P --image PNG -q -n 24`
per scene with its five questions separated by /clear (each a fresh single-turn conversation,
the prompt `moevk caption -p Q` builds; --check-caption K reruns K answers with `moevk caption
-p Q` and counts identical texts), greedy, F16 KV cache; --routing-out summarises the routing
JSON (--routing) of the last conversation per scene: which experts take image vs text tokens
and colour/shape/number words; without --engine the PyTorch reference (tools/train/infer.py, exported GGUF weights,
float32) answers. --both runs both and reports how many answers are identical.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "data"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import scenes  # noqa: E402

CANON = {"red": (220, 30, 30), "green": (30, 160, 50), "blue": (30, 70, 220), "yellow": (240, 210, 20),
         "orange": (245, 130, 20), "purple": (130, 50, 170), "pink": (245, 120, 180),
         "brown": (120, 70, 30), "black": (20, 20, 20), "gray": (128, 128, 128)}


def render_plain(spec):
    """The same objects drawn plainly: canonical colour, upright, square proportions."""
    bgc = (255, 255, 255) if spec["seed"] % 2 else tuple(int(v) for v in spec["bg"]["c1"])
    img = Image.new("RGB", (scenes.S, scenes.S), bgc)
    d = ImageDraw.Draw(img)
    for o in spec["objects"]:
        cx, cy, r, col = o["cx"], o["cy"], o["r"], CANON[o["colour"]]
        s = o["shape"]
        if s == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        elif s == "square":
            q = r * 0.85
            d.rectangle([cx - q, cy - q, cx + q, cy + q], fill=col)
        elif s == "triangle":
            d.polygon([(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)], fill=col)
        elif s == "diamond":
            d.polygon([(cx, cy - r), (cx + r * 0.7, cy), (cx, cy + r), (cx - r * 0.7, cy)], fill=col)
        else:
            import math
            pts = [(cx + (r if i % 2 == 0 else r * 0.45) * math.cos(-math.pi / 2 + i * math.pi / 5),
                    cy + (r if i % 2 == 0 else r * 0.45) * math.sin(-math.pi / 2 + i * math.pi / 5)) for i in range(10)]
            d.polygon(pts, fill=col)
    return np.asarray(img)


def items(n, style):
    out = []
    if style == "frozen":  # the 200 frozen held-out scenes, drawn by the frozen generator
        import frozen_scenes
        for s, spec, img, qa in frozen_scenes.scenes()[:n]:
            for q, a, t in qa:
                out.append({"seed": s, "spec": spec, "img": img, "q": q, "ref": a, "type": t})
        return out
    for s in scenes.seeds_of("test", n):
        spec = scenes.spec_of(s)
        img = scenes.render(spec) if style == "train" else render_plain(spec)
        rng = np.random.default_rng([s, 4242])
        for q, a, t in scenes.qa(spec, rng):
            out.append({"seed": s, "spec": spec, "img": img, "q": q, "ref": a, "type": t})
    return out


def run_torch(its, text, mm):
    import torch
    from infer import Captioner
    torch.set_num_threads(2)
    cap = Captioner(text, mm, torch.float32)
    by_q = defaultdict(list)
    for k, it in enumerate(its):
        by_q[it["q"]].append(k)
    out = [None] * len(its)
    for q, ks in by_q.items():
        for j in range(0, len(ks), 64):
            part = ks[j:j + 64]
            texts, _ = cap.caption(np.stack([its[k]["img"] for k in part]), max_new=24, question=q)
            for k, t in zip(part, texts):
                out[k] = t.strip()
    return out, cap.tok


def run_engine(its, text, mm, cli, tmp, routing, check_caption=0):
    """One `moevk chat` process per scene: its questions separated by /clear, so every
    answer is a fresh single-turn conversation (the prompt `moevk caption -p Q` builds).
    The routing JSON holds the last conversation: the question asked last rotates over the
    types from scene to scene. check_caption: for that many answers also run
    `moevk caption -p Q` and require the identical text."""
    by_seed = defaultdict(list)
    for k, it in enumerate(its):
        by_seed[it["seed"]].append(k)
    out, routes = [None] * len(its), []
    t0 = time.time()
    done = 0
    for j, (seed, ks) in enumerate(by_seed.items()):
        png = os.path.join(tmp, "s%d.png" % seed)
        Image.fromarray(its[ks[0]]["img"]).save(png)
        r = j % len(ks)
        ks = ks[r + 1:] + ks[:r + 1]
        rj = os.path.join(tmp, "r.json")
        cmd = [cli, "chat", "-m", text, "--mmproj", mm, "--image", png, "-q", "-n", "24"]
        if routing:
            cmd += ["--routing", rj]
        stdin = "\n/clear\n".join(its[k]["q"] for k in ks) + "\n"
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
        lines = p.stdout.split("\n")
        if p.returncode != 0 or len(lines) < len(ks):
            raise SystemExit("engine failed on seed %d: rc %d, %s" % (seed, p.returncode, p.stderr.strip()))
        for k, line in zip(ks, lines):
            out[k] = line.strip()
        if routing:
            routes.append(json.load(open(rj)))
        done += len(ks)
        if (j + 1) % 25 == 0:
            print("  engine %d/%d answers  %.2f s/answer" % (done, len(its), (time.time() - t0) / done), flush=True)
    same = None
    if check_caption:
        same = 0
        step = max(1, len(its) // check_caption)
        sub = list(range(0, len(its), step))[:check_caption]
        for k in sub:
            it = its[k]
            png = os.path.join(tmp, "c.png")
            Image.fromarray(it["img"]).save(png)
            p = subprocess.run([cli, "caption", "-m", text, "--mmproj", mm, "--image", png, "-p", it["q"], "-q",
                                "-n", "24"], capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit("moevk caption failed: " + p.stderr.strip())
            same += p.stdout.strip() == out[k]
        same = (same, len(sub))
    return out, routes, same


def score(its, answers):
    per = defaultdict(list)
    per_kind = defaultdict(list)
    for it, a in zip(its, answers):
        ok = scenes.answer_right(it["spec"], it["type"], it["q"], a)
        per[it["type"]].append(ok)
        per_kind["%s/%s" % (it["type"], it["spec"]["kind"])].append(ok)
    res = {t: {"n": len(v), "right": int(sum(v)), "share": sum(v) / len(v)} for t, v in per.items()}
    res["by_scene_kind"] = {k: {"n": len(v), "share": sum(v) / len(v)} for k, v in sorted(per_kind.items())}
    return res


WORD_CLASSES = {"colour": set(scenes.COLOURS),
                "shape": set(scenes.SHAPES) | {scenes.plural(s) for s in scenes.SHAPES},
                "number": {"one", "two", "three", "no"}}


def expert_summary(routes, tok, n_layer, n_expert):
    """Share of top-k assignments per expert, per layer, for token classes."""
    counts = {c: np.zeros((n_layer, n_expert)) for c in ["image", "text"] + list(WORD_CLASSES)}
    ntok = Counter()
    for rr in routes:
        for e in rr:
            cls = ["image"] if e["kind"] == "image" else ["text"]
            if e["kind"] != "image":
                w = tok.decode([e["token"]]).strip().lower()
                cls += [c for c, ws in WORD_CLASSES.items() if w in ws]
            for c in cls:
                ntok[c] += 1
                for L in e["layers"]:
                    for x in L["experts"]:
                        counts[c][L["layer"], x] += 1
    out = {}
    for c, m in counts.items():
        s = m.sum(1, keepdims=True)
        out[c] = {"tokens": ntok[c], "share_percent": np.round(100 * m / np.maximum(s, 1), 1).tolist()}
    return out


def expert_markdown(summ):
    """Per layer: each class's share (%) of the top-k assignments per expert, as markdown."""
    cls = list(summ)
    L = len(summ["image"]["share_percent"])
    E = len(summ["image"]["share_percent"][0])
    lines = ["| layer | tokens | " + " | ".join("e%d" % e for e in range(E)) + " | top-2 |",
             "|---|---|" + "---|" * E + "---|"]
    for l in range(L):
        for c in cls:
            row = summ[c]["share_percent"][l]
            top = sorted(range(E), key=lambda e: -row[e])[:2]
            cells = [("**%.1f**" % v) if e in top else "%.1f" % v for e, v in enumerate(row)]
            lines.append("| %d | %s (%d) | %s | e%d+e%d |" % (l, c, summ[c]["tokens"], " | ".join(cells), top[0], top[1]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=250, help="held-out scenes (each asked 5 questions)")
    ap.add_argument("--style", default="train", choices=["train", "plain", "frozen"],
                    help="frozen: the 200 frozen held-out scenes (tools/data/frozen_scenes.py), --n <= 200")
    ap.add_argument("--models", default=os.path.join(ROOT, "assets", "models"))
    ap.add_argument("--name", default="moevk-tiny")
    ap.add_argument("--engine", default="", help="moevk binary: answer with the C engine")
    ap.add_argument("--both", action="store_true", help="with --engine: also PyTorch, and compare")
    ap.add_argument("--engine-questions", default="all", choices=["all", "rotate", "caption"],
                    help="with --engine: all five questions per scene, the caption + one other (type rotating), "
                         "or the caption only")
    ap.add_argument("--check-caption", type=int, default=20,
                    help="with --engine: also run `moevk caption -p Q` on this many answers, expect identical text")
    ap.add_argument("--out", default="")
    ap.add_argument("--routing-out", default="", help="with --engine: expert shares per token class (JSON)")
    ap.add_argument("--show", type=int, default=12, help="print this many wrong answers per type")
    args = ap.parse_args()
    text = os.path.join(args.models, args.name + ".gguf")
    mm = os.path.join(args.models, args.name + "-mmproj.gguf")
    its = items(args.n, args.style)
    res = {"scenes": args.n, "style": args.style, "model": [os.path.relpath(text, ROOT), os.path.relpath(mm, ROOT)]}
    t0 = time.time()
    answers = None
    eng_idx = list(range(len(its)))
    if args.engine and args.engine_questions == "caption":
        eng_idx = [k for k, it in enumerate(its) if it["type"] == "caption"]
    if args.engine and args.engine_questions == "rotate":
        # caption + one other question per scene, the type rotating with the scene's index
        others = [t for t in scenes.QTYPES if t != "caption"]
        eng_idx = [k for k, it in enumerate(its) if it["type"] == "caption"
                   or it["type"] == others[(k // len(scenes.QTYPES)) % len(others)]]
    if args.engine:
        eng_its = [its[k] for k in eng_idx]
        with tempfile.TemporaryDirectory() as tmp:
            answers, routes, same = run_engine(eng_its, text, mm, args.engine, tmp, bool(args.routing_out),
                                               args.check_caption)
        if same:
            res["caption_cli_identical"] = "%d/%d" % same
            print("moevk caption -p == moevk chat answers: %d/%d" % same)
        res["backend"] = "engine: %s chat -q -n 24, one conversation per question (/clear), greedy, F16 KV; " \
            "questions: %s" % (os.path.basename(args.engine), args.engine_questions)
        res["engine"] = score(eng_its, answers)
        res["engine_seconds"] = time.time() - t0
        if args.routing_out:
            from infer import tokenizer_from_kv
            from gguf_read import read_gguf
            tkv, _, _ = read_gguf(text)
            a = tkv["general.architecture"]
            summ = expert_summary(routes, tokenizer_from_kv(tkv), tkv[a + ".block_count"], tkv[a + ".expert_count"])
            json.dump(summ, open(args.routing_out, "w"), indent=1)
            print(expert_markdown(summ))
            print("expert shares ->", args.routing_out)
    ta = None
    if not args.engine or args.both:
        t1 = time.time()
        ta, _ = run_torch(its, text, mm)
        res["torch"] = score(its, ta)
        res["torch_seconds"] = time.time() - t1
        if answers is not None:
            res["engine_torch_identical"] = sum(answers[j] == ta[k] for j, k in enumerate(eng_idx))
            res["answers_total"] = len(eng_idx)
    for key in ("engine", "torch"):
        if key not in res:
            continue
        print("== %s" % key)
        for t in scenes.QTYPES:
            if t not in res[key]:
                continue
            r = res[key][t]
            print("%-8s %4d/%4d  %5.1f %%" % (t, r["right"], r["n"], 100 * r["share"]))
    if "engine_torch_identical" in res:
        print("engine == torch: %d / %d answers" % (res["engine_torch_identical"], res["answers_total"]))
    if ta is not None:
        shown_its, shown_ans = its, ta
    else:
        shown_its, shown_ans = [its[k] for k in eng_idx], answers
    shown = Counter()
    for it, a in zip(shown_its, shown_ans):
        if not scenes.answer_right(it["spec"], it["type"], it["q"], a) and shown[it["type"]] < args.show:
            shown[it["type"]] += 1
            print("WRONG %-7s seed %d (%s) %s -> %r (ref %r)" % (it["type"], it["seed"], it["spec"]["kind"], it["q"], a,
                                                                 it["ref"]))
    answers = shown_ans
    its = shown_its
    res["examples"] = [{"seed": it["seed"], "type": it["type"], "q": it["q"], "ref": it["ref"], "answer": a}
                       for it, a in list(zip(its, answers))[:50]]
    if args.out:
        json.dump(res, open(args.out, "w"), indent=1)
        print("->", args.out)


if __name__ == "__main__":
    main()
