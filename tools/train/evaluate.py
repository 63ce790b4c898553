#!/usr/bin/python3
"""Evaluate the EXPORTED model (GGUF pair, stored weights, float32 compute) on the held-out
test split: BLEU-4 and CIDEr-D (tools/metrics/caption_metrics.py), exact-match of the object
word(s) for composed scenes, and per-expert load for image tokens vs text tokens.

Usage: evaluate.py [--data /tmp/moevk-data] [--split test] [--models assets/models]
                   [--compare TEXT.gguf MMPROJ.gguf] [--out FILE.json]
--compare decodes the same images with a second pair (e.g. an all-F32 export) and reports
how many greedy captions are identical (the cost of F16 storage).
"""
import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "metrics"))
sys.path.insert(0, os.path.join(HERE, "..", "data"))
from caption_metrics import bleu4, cider_d  # noqa: E402
from common import caption_text, load_meta  # noqa: E402
from infer import Captioner  # noqa: E402


def object_vocab():
    import build_dataset as bd
    names = {}
    for s in bd.SHAPES:
        names[s] = s
        names[s + "s"] = s
    for v in bd.SPRITES.values():
        if v:
            names[v[0]] = v[0]
            names[v[1]] = v[0]
    return names


def objects_in(text, vocab):
    t = " " + re.sub(r"[^a-z ]", " ", text.lower()) + " "
    found = []
    for form in sorted(vocab, key=len, reverse=True):
        pat = " " + form + " "
        while pat in t:
            found.append(vocab[form])
            t = t.replace(pat, " # ", 1)
    return sorted(found)


def run(cap, images, ids, bs):
    texts, loads = [], {"image": None, "text": None}
    cfg = cap.model.cfg
    L, E = cfg.n_layer, cfg.n_expert
    cnt = {"image": np.zeros((L, E)), "text": np.zeros((L, E))}
    for k in range(0, len(ids), bs):
        b = ids[k:k + bs]
        t, info = cap.caption(np.ascontiguousarray(images[b]))
        texts += t
        r = info["routes"].numpy()                   # [L, B, T, k]
        P, nb, ni = len(info["prompt"]), info["n_before"], info["n_img"]
        for j, toks in enumerate(info["tokens"]):
            n_valid = P + max(0, len(toks) - 1)      # the last generated token is never fed back
            for l in range(L):
                img = r[l, j, nb:nb + ni].reshape(-1)
                txt = np.concatenate([r[l, j, :nb].reshape(-1), r[l, j, nb + ni:n_valid].reshape(-1)])
                cnt["image"][l] += np.bincount(img, minlength=E)
                cnt["text"][l] += np.bincount(txt, minlength=E)
        print("  %d/%d" % (min(k + bs, len(ids)), len(ids)), flush=True)
    for kind in cnt:
        loads[kind] = (cnt[kind] / cnt[kind].sum(1, keepdims=True)).tolist()
    return texts, loads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/moevk-data")
    ap.add_argument("--split", default="test")
    ap.add_argument("--models", default=os.path.join(HERE, "..", "..", "assets", "models"))
    ap.add_argument("--name", default="moevk-tiny")
    ap.add_argument("--compare", nargs=2, default=None)
    ap.add_argument("--compare-n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="evaluate only every k-th image so that at most LIMIT remain")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta = load_meta(args.data)
    images = np.load(os.path.join(args.data, "images.npy"), mmap_mode="r")
    ids = [m["id"] for m in meta if m["split"] == args.split]
    if args.limit and len(ids) > args.limit:
        ids = ids[:: -(-len(ids) // args.limit)]
    cap = Captioner(os.path.join(args.models, args.name + ".gguf"),
                    os.path.join(args.models, args.name + "-mmproj.gguf"))
    t0 = time.time()
    texts, loads = run(cap, images, ids, args.batch)
    el = time.time() - t0
    refs = [[caption_text(meta[i]["caption"])] for i in ids]
    res = {"split": args.split, "n_images": len(ids), "decode_seconds": round(el, 1),
           "bleu4": bleu4(texts, refs), "cider_d": cider_d(texts, refs), "by_kind": {}}
    kinds = defaultdict(list)
    for j, i in enumerate(ids):
        kinds[meta[i]["kind"]].append(j)
    for k, js in sorted(kinds.items()):
        res["by_kind"][k] = {"n": len(js), "bleu4": bleu4([texts[j] for j in js], [refs[j] for j in js]),
                             "cider_d": cider_d([texts[j] for j in js], [refs[j] for j in js]),
                             "exact_caption": float(np.mean([texts[j].lower() == refs[j][0].lower() for j in js]))}
    vocab = object_vocab()
    sc = kinds.get("scene", [])
    if sc:
        ok = [objects_in(texts[j], vocab) == sorted(meta[ids[j]]["objects"]) for j in sc]
        res["scene_object_exact_match"] = float(np.mean(ok))
    res["expert_load"] = loads
    for kind in ("image", "text"):
        a = np.array(loads[kind])
        res["expert_load_%s_min" % kind] = float(a.min())
        res["expert_load_%s_max" % kind] = float(a.max())
    res["samples"] = [{"id": ids[j], "ref": refs[j][0], "gen": texts[j]} for j in range(0, len(ids), max(1, len(ids) // 40))]
    if args.compare:
        c2 = Captioner(*args.compare)
        sub = ids[:: max(1, len(ids) // args.compare_n)][:args.compare_n]
        t2, _ = run(c2, images, sub, args.batch)
        t1 = [texts[ids.index(i)] for i in sub]
        res["f16_vs_f32_identical_captions"] = "%d/%d" % (sum(a == b for a, b in zip(t1, t2)), len(sub))
    out = json.dumps(res, indent=1)
    print(out[:3000])
    if args.out:
        open(args.out, "w").write(out + "\n")


if __name__ == "__main__":
    main()
