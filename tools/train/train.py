#!/usr/bin/python3
"""Train the embedded moevk-tiny model (Qwen3-VL MoE architecture, see model.py): captions
and answers on composed scenes drawn on the fly (tools/data/scenes.py), plus captions of the
Debian clip art and emoji (tools/data/build_dataset.py -> --data).

  /usr/bin/python3 tools/data/build_dataset.py --scenes 0     # clip art + emoji -> /tmp/moevk-data
  /usr/bin/python3 tools/train/train.py --init assets/models/moevk-tiny --time-limit 60
  /usr/bin/python3 tools/train/export.py                      # -> assets/models/*.gguf

Examples are chat conversations in the template the engine uses (engine/api.c):
  <|im_start|>user\\n<|vision_start|> 16 x image <|vision_end|>Q1<|im_end|>\\n<|im_start|>assistant\\nA1<|im_end|>
  [\\n<|im_start|>user\\nQ2<|im_end|>\\n<|im_start|>assistant\\nA2<|im_end|> ...]
Scenes get 1-3 turns (question types drawn without replacement), clip art and emoji one
caption turn. The loss covers every answer and its <|im_end|>.
Loss = cross-entropy + aux_w * Switch load-balancing loss (separately over image tokens and
text tokens, averaged over layers) + z_w * router z-loss.

--init DIR/NAME starts from an exported GGUF pair (NAME.gguf, NAME-mmproj.gguf), keeping its
configuration and tokenizer. The learning rate is a linear warm-up then a cosine over the
--time-limit wall-time budget; a checkpoint is written every --ckpt-every steps (RUN/ckpt.pt,
--resume continues from it), and RUN/best.pt keeps the weights with the best validation
answer accuracy (teacher-forced exact match of the whole answer, mean over question types).
"""
import os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: spinning OpenMP threads cost 10-50x on a shared CPU
import argparse
import csv
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "data"))
from common import caption_text, load_meta, normalise, positions  # noqa: E402
from check_golden import load_pair  # noqa: E402
from infer import tokenizer_from_kv  # noqa: E402
from model import Config, QwenVLMoE, _key  # noqa: E402
import scenes  # noqa: E402

IMG = 128


def switch_lb(probs, topi, n_expert, sel):
    """Switch-Transformer load balancing: E * sum_e f_e * P_e over the selected tokens."""
    if sel.sum() == 0:
        return probs.new_zeros(())
    p = probs[sel]
    t = topi[sel]
    f = torch.zeros(n_expert).index_add_(0, t.reshape(-1), torch.ones(t.numel())) / t.numel()
    return n_expert * (f * p.mean(0)).sum()


class Chat:
    """Token layout of a conversation about one image, exactly as the engine builds it."""

    def __init__(self, tok, n_img):
        self.tok = tok
        sp = tok.special
        self.head = tok.encode("<|im_start|>user\n") + [sp["<|vision_start|>"]] + [sp["<|image_pad|>"]] * n_img \
            + [sp["<|vision_end|>"]]
        self.n_before = len(tok.encode("<|im_start|>user\n")) + 1
        self.user = tok.encode("<|im_start|>user\n")
        self.asst = tok.encode("<|im_end|>\n<|im_start|>assistant\n")
        self.nl = tok.encode("\n")
        self.end = sp["<|im_end|>"]
        self._cache = {}

    def enc(self, s):
        if s not in self._cache:
            self._cache[s] = self.tok.encode(s, special=False)
        return self._cache[s]

    def build(self, turns):
        """turns [(question, answer)] -> (ids, target ids aligned to ids (-100 = no loss), answer spans)."""
        ids = list(self.head)
        tgt = []
        spans = []
        for i, (q, a) in enumerate(turns):
            if i:
                ids += self.nl + self.user
            ids += self.enc(q) + self.asst
            start = len(ids)
            ids += self.enc(a) + [self.end]
            spans.append((start, len(ids)))
        tgt = [-100] * len(ids)
        for s, e in spans:
            for j in range(s, e):
                tgt[j - 1] = ids[j]       # position j-1 predicts token j
        return ids, tgt, spans


def turn_count(rng):
    return int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))


def scene_example(seed, rng, types=None):
    spec = scenes.spec_of(seed)
    if types is None:
        types = list(rng.choice(scenes.QTYPES, turn_count(rng), replace=False))
    return scenes.render(spec), [(q, a) for q, a, _ in scenes.qa(spec, rng, types)], types, spec


NS, NC = len(scenes.SHAPES), len(scenes.COLOURS)


def vision_labels(spec, side):
    """Training-only targets for the auxiliary vision head, per image token of a side x side grid
    (raster order, as the merger emits them): the shape (0-4, NS = background) and the colour
    (0-9, NC = background) of the object nearest the token's cell centre if the cell reaches it
    (distance < r + half a cell; an object's own cell always does), and the object count (0-2 = 1-3)."""
    cell = float(scenes.S) / side
    shp = torch.full((side * side,), NS, dtype=torch.long)
    col = torch.full((side * side,), NC, dtype=torch.long)
    best = torch.full((side * side,), 1e9)
    for o in spec["objects"]:
        si, ci = scenes.SHAPES.index(o["shape"]), scenes.COLOUR_NAMES.index(o["colour"])
        own = min(side - 1, int(o["cy"] // cell)) * side + min(side - 1, int(o["cx"] // cell))
        for k in range(side * side):
            cy, cx = (k // side + 0.5) * cell, (k % side + 0.5) * cell
            d = math.hypot(cx - o["cx"], cy - o["cy"])
            if (d < o["r"] + 0.5 * cell or k == own) and d < best[k]:
                best[k], shp[k], col[k] = d, si, ci
    return shp, col, len(spec["objects"]) - 1


def stack_labels(labs):
    return tuple(torch.stack([l[i] for l in labs]) if i < 2 else torch.tensor([l[2] for l in labs]) for i in range(3))


class VisionHead(torch.nn.Module):
    """Training-only (not exported): from each image token the LM receives (the merger output,
    layer-normalised), a linear read-out of the shape and the colour of the object at that token
    (dense supervision: it asks every token to carry its object's shape and colour, bound together),
    and the object count from the mean and max of the tokens."""

    def __init__(self, d, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.shp = torch.nn.Linear(d, NS + 1)
        self.col = torch.nn.Linear(d, NC + 1)
        self.cnt = torch.nn.Linear(2 * d, 3)
        with torch.no_grad():
            for lin in (self.shp, self.col, self.cnt):
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.02)
                lin.bias.zero_()

    def forward(self, emb):
        """emb [B, n_img, D] -> shape logits [B, n_img, NS+1], colour logits [B, n_img, NC+1], count [B, 3]."""
        emb = F.layer_norm(emb, emb.shape[-1:])     # the merger's outputs are large (LM-embedding scale)
        return self.shp(emb), self.col(emb), self.cnt(torch.cat([emb.mean(1), emb.amax(1)], -1))

    def loss(self, emb, lab):
        shp, col, cnt = lab
        zs, zc, zn = self(emb)
        w = torch.where(shp < NS, 4.0, 1.0).reshape(-1)   # object tokens are few: weigh them up
        ls = (F.cross_entropy(zs.reshape(-1, NS + 1), shp.reshape(-1), reduction="none") * w).sum() / w.sum()
        lc = (F.cross_entropy(zc.reshape(-1, NC + 1), col.reshape(-1), reduction="none") * w).sum() / w.sum()
        return ls + lc + F.cross_entropy(zn, cnt)

    @torch.no_grad()
    def right(self, emb, lab):
        """Per image [B, 5] bool: object-token shapes all right, object-token colours all right,
        background tokens all right, the count, all of them."""
        shp, col, cnt = lab
        zs, zc, zn = self(emb)
        obj = shp < NS
        ps, pc = zs.argmax(-1), zc.argmax(-1)
        parts = [((ps == shp) | ~obj).all(1), ((pc == col) | ~obj).all(1), ((ps == shp) | obj).all(1),
                 zn.argmax(1) == cnt]
        return torch.stack(parts + [torch.stack(parts, 1).all(1)], 1)


def as_frame(img, mode, wide):
    """A 128x128 scene as the engine sees it inside a 4:3 camera frame under a 16-token budget
    (128x96; 96x128 when not wide): stretch = the scene scaled to fill the frame (bicubic);
    letterbox = the scene scaled to 96x96 in the middle, bars of its corner colour."""
    from PIL import Image
    W, H = (128, 96) if wide else (96, 128)
    im = Image.fromarray(img)
    if mode == "stretch":
        return np.asarray(im.resize((W, H), Image.BICUBIC))
    out = Image.new("RGB", (W, H), im.getpixel((0, 0)))
    out.paste(im.resize((96, 96), Image.BICUBIC), ((W - 96) // 2, (H - 96) // 2))
    return np.asarray(out)


def warm_start(model, init_model, name, cfg):
    """Copy tensor `name` from the --init model; when the architecture changed, carry it over:
    patch kernels re-sampled to the new patch size (a p-px patch seen as the old kernel at the
    scale p/old), the position table bilinearly resized (align corners, as the engine resizes it),
    new vision blocks left at their fresh init with the output projections zeroed (identity).
    Returns a note when it did not copy verbatim."""
    dst = model.params[_key(name)]
    k = _key(name)
    src = init_model.params[k].float() if k in init_model.params else None
    if src is not None and src.shape == dst.shape:
        dst.copy_(src)
        return ""
    if name.startswith("v.patch_embd.weight") and src is not None:
        p0, p1 = src.shape[-1], dst.shape[-1]
        w = F.interpolate(src, size=(p1, p1), mode="area" if p1 < p0 else "bilinear")
        dst.copy_(w * (p0 * p0) / (p1 * p1))       # same response to a flat colour
        return "re-sampled %s -> %s" % (tuple(src.shape), tuple(dst.shape))
    if name == "v.position_embd.weight" and src is not None:
        g0, g1 = init_model.cfg.v_pos_side, cfg.v_pos_side
        tab = src.reshape(g0, g0, -1).permute(2, 0, 1)[None]
        tab = F.interpolate(tab, size=(g1, g1), mode="bilinear", align_corners=True)
        dst.copy_(tab[0].permute(1, 2, 0).reshape(g1 * g1, -1))
        return "resized %dx%d -> %dx%d" % (g0, g0, g1, g1)
    if src is None and name.startswith("v.blk.") and (name.endswith("attn_out.weight")
                                                      or name.endswith("ffn_down.weight")):
        dst.zero_()
        return "new block, output zeroed (identity)"
    return "fresh init" if src is None else "fresh init (shape %s -> %s)" % (tuple(src.shape), tuple(dst.shape))


def vision_warmup(args, model, head, train_seeds, n_scenes):
    """Stage 1: only the vision tower + merger (the tensors of the mmproj) and the auxiliary head,
    trained on the scene labels for args.vision_warmup minutes; linear warm-up, cosine to 5 %.
    Logs the head's exact-label accuracy on 192 val-seed scenes. Returns the scenes drawn."""
    vparams = [model.params[_key(n)] for n in model.vision_names]
    opt = torch.optim.AdamW([{"params": [p for p in vparams if p.dim() >= 2], "weight_decay": args.wd},
                             {"params": [p for p in vparams if p.dim() < 2], "weight_decay": 0.0},
                             {"params": list(head.parameters()), "weight_decay": 0.0}],
                            lr=args.vwarm_lr, betas=(0.9, 0.98))
    vs = scenes.seeds_of("val", 192)
    v_pix = normalise(np.stack([scenes.render(scenes.spec_of(s)) for s in vs]))
    side = scenes.S // (model.cfg.patch * model.cfg.merge)
    v_y = stack_labels([vision_labels(scenes.spec_of(s), side) for s in vs])

    def val():
        model.eval()
        with torch.no_grad():
            ok = torch.cat([head.right(model.encode_image(v_pix[k:k + 64])[0], tuple(y[k:k + 64] for y in v_y))
                            for k in range(0, len(vs), 64)])
        model.train()
        return " ".join("%s %.3f" % (k, v) for k, v in zip(("shapes", "colours", "background", "count", "all"),
                                                             ok.float().mean(0).tolist()))

    t0, vstep, budget = time.time(), 0, args.vision_warmup * 60
    model.train()
    while True:
        el = time.time() - t0
        lr = args.vwarm_lr * min(1.0, (vstep + 1) / 30) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, el / budget))))
        for g in opt.param_groups:
            g["lr"] = lr
        specs = [scenes.spec_of(next(train_seeds)) for _ in range(args.vwarm_batch)]
        n_scenes += len(specs)
        pix = normalise(np.stack([scenes.render(sp) for sp in specs]))
        emb, _ = model.encode_image(pix)
        loss = head.loss(emb, stack_labels([vision_labels(sp, side) for sp in specs]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vparams + list(head.parameters()), 1.0)
        opt.step()
        vstep += 1
        done = time.time() - t0 > budget
        if vstep % 10 == 0 or done:
            print("vwarm %d %.0fs lr %.2e loss %.4f" % (vstep, time.time() - t0, lr, float(loss)), flush=True)
        if vstep % args.vwarm_val_every == 0 or done:
            print("vwarm %d val right: %s" % (vstep, val()), flush=True)
        if done:
            print("vision warm-up done: %d steps, %d scenes, %.1f s" % (vstep, n_scenes, time.time() - t0), flush=True)
            return n_scenes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/moevk-data", help="clip art + emoji (build_dataset.py)")
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "moevk-tiny"))
    ap.add_argument("--init", default="", help="start from this exported pair: DIR/NAME (NAME.gguf + NAME-mmproj.gguf)")
    ap.add_argument("--steps", type=int, default=1000000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--wd", type=float, default=0.02)
    ap.add_argument("--aux", type=float, default=0.02)
    ap.add_argument("--zloss", type=float, default=1e-3)
    ap.add_argument("--content-weight", type=float, default=3.0,
                    help="loss weight of answer tokens that spell colour, shape, number and yes/no words")
    ap.add_argument("--vision-aux", type=float, default=0.0,
                    help="weight of the auxiliary vision head loss (training only; 0 = off)")
    ap.add_argument("--clipart-share", type=float, default=0.15, help="share of clip-art/emoji caption examples")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--val-scenes", type=int, default=250)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--time-limit", type=float, default=60, help="minutes of training (then checkpoint and stop)")
    ap.add_argument("--frame-share", type=float, default=0.0,
                    help="share of batches whose scenes reach the model as a 4:3 (or 3:4) camera frame does "
                    "through the engine's token budget: 128x96, stretched or letterboxed (as_frame)")
    ap.add_argument("--patch", type=int, default=0, help="vision patch size (0 = the --init pair's); a new size "
                    "re-samples the patch kernels and the position table from the --init pair")
    ap.add_argument("--v-layer", type=int, default=0, help="vision blocks (0 = the --init pair's); extra blocks start "
                    "near the identity")
    ap.add_argument("--vision-warmup", type=float, default=0.0,
                    help="minutes of a first stage that trains only the vision tower + merger with the auxiliary "
                    "vision head (inside --time-limit; 0 = none)")
    ap.add_argument("--vwarm-batch", type=int, default=48, help="batch of the vision warm-up stage")
    ap.add_argument("--vwarm-val-every", type=int, default=100)
    ap.add_argument("--vwarm-lr", type=float, default=2e-3, help="peak learning rate of the vision warm-up stage")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.run, exist_ok=True)

    if not args.init:
        raise SystemExit("--init DIR/NAME is required (training from scratch is the previous recipe, see git history)")
    init_model, tkv, vkv = load_pair(args.init + ".gguf", args.init + "-mmproj.gguf", torch.float32)
    cfg = Config(**init_model.cfg.to_dict())
    if args.patch:
        cfg.patch = args.patch
        cfg.v_pos_side = IMG // args.patch
    if args.v_layer:
        cfg.v_layer = args.v_layer
    tok = tokenizer_from_kv(tkv)
    model = QwenVLMoE(cfg, seed=args.seed)
    with torch.no_grad():
        for n in model.text_names + model.vision_names:
            print_new = warm_start(model, init_model, n, cfg)
            if print_new:
                print("init:", n, print_new, flush=True)
    del init_model
    tok.save(os.path.join(args.run, "tokenizer.json"))
    nx = ny = IMG // cfg.patch // cfg.merge
    n_img = nx * ny
    chat = Chat(tok, n_img)
    n_before = chat.n_before
    json.dump({"config": cfg.to_dict(), "n_before": n_before, "args": vars(args)},
              open(os.path.join(args.run, "config.json"), "w"), indent=1)
    n_par = sum(p.numel() for p in model.parameters())
    exp_par = sum(model.w("blk.%d.%s" % (i, n)).numel() for i in range(cfg.n_layer)
                  for n in ("ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"))
    print("params total %.2fM active %.2fM" % (n_par / 1e6, (n_par - exp_par + exp_par * cfg.n_expert_used // cfg.n_expert) / 1e6), flush=True)

    if os.path.exists(os.path.join(args.data, "meta.jsonl")):
        meta = load_meta(args.data)
        images = np.load(os.path.join(args.data, "images.npy"), mmap_mode="r")
    else:
        print("WARNING: no clip art / emoji data in %s: scenes only" % args.data, flush=True)
        meta, images = [], None
    clip_train = [m["id"] for m in meta if m["split"] == "train" and m["kind"] != "scene"]
    clip_val = [m["id"] for m in meta if m["split"] == "val" and m["kind"] != "scene"][:64]
    print("clip art / emoji: %d train, %d val" % (len(clip_train), len(clip_val)), flush=True)

    decay = [p for n, p in model.params.items() if p.dim() >= 2 and "position_embd" not in n]
    nodecay = [p for n, p in model.params.items() if not (p.dim() >= 2 and "position_embd" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    # training-only auxiliary vision head (not exported): shapes/colours present + object count
    # from the merger output, a direct signal into the vision tower
    head = VisionHead(cfg.n_embd, args.seed + 1) if (args.vision_aux > 0 or args.vision_warmup > 0) else None
    rng = np.random.default_rng(args.seed)
    train_seeds = iter(s for s in range(10 ** 9) if scenes.split_of_seed(s) == "train")
    step, elapsed_before, best, n_scenes = 0, 0.0, -1.0, 0
    ck = os.path.join(args.run, "ckpt.pt")
    head_added = False
    if args.resume and os.path.exists(ck):
        st = torch.load(ck)
        if head is not None and len(st["opt"]["param_groups"]) == 3:
            opt.add_param_group({"params": list(head.parameters()), "weight_decay": 0.0})
            head_added = True
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        if head is not None and st.get("head"):
            head.load_state_dict(st["head"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        step, elapsed_before, best, n_scenes = st["step"], st["elapsed"], st["best"], st["n_scenes"]
        for _ in range(n_scenes):
            next(train_seeds)
        print("resumed at step", step, flush=True)
    if head is not None and not head_added:  # added after loading so that a run resumed without the head keeps its optimizer state
        opt.add_param_group({"params": list(head.parameters()), "weight_decay": 0.0})
    curve_path = os.path.join(args.run, "curve.csv")
    new_curve = not (args.resume and os.path.exists(curve_path))
    cf = open(curve_path, "w" if new_curve else "a", newline="")
    cw = csv.writer(cf)
    qt = scenes.QTYPES
    if new_curve:
        cw.writerow(["step", "elapsed_s", "lr", "loss", "ce", "aux_lb", "zloss", "val_ce"] + ["val_" + t for t in qt] + ["val_clip_ce"])

    # fixed validation set: val-seed scenes, one single-turn question each (types in turn) + clip art
    val_ex = []
    vr = np.random.default_rng(99)
    for k, s in enumerate(scenes.seeds_of("val", args.val_scenes)):
        img, turns, types, _ = scene_example(s, vr, [qt[k % len(qt)]])
        val_ex.append((img, turns, types[0]))
    for i in clip_val:
        val_ex.append((np.asarray(images[i]), [(scenes.CAPTION_Q, caption_text(meta[i]["caption"]))], "clip"))

    pad_id = tok.special["<|endoftext|>"]
    # tokens of the words that carry the answer (the rest is template): weighted in the loss
    content = list(scenes.COLOURS) + scenes.SHAPES + [scenes.plural(x) for x in scenes.SHAPES] + \
        ["one", "two", "three", "no", "Yes", "No", "Two", "Three", "A", "An"]
    tok_w = torch.ones(tok.n_vocab)
    for wd in content:
        for form in (" " + wd, wd, " " + wd.capitalize(), wd.capitalize()):
            for t in tok.encode(form, special=False):
                if tok.decode([t]).strip().lower() not in ("", "a", "an") or wd in ("A", "An"):
                    tok_w[t] = args.content_weight
    print("content-weighted tokens:", int((tok_w > 1).sum()), flush=True)
    pos_cache = {}

    chats = {n_img: chat}
    if args.frame_share > 0 and cfg.patch * cfg.merge != 32:
        raise SystemExit("--frame-share draws 128x96 frames: the 16-token budget of a 32-px merged patch")

    def run_batch(exs):
        pix = normalise(np.stack([e[0] for e in exs]))
        A = cfg.patch * cfg.merge
        bnx, bny = pix.shape[3] // A, pix.shape[2] // A     # token grid of this batch (all its images one size)
        bn = bnx * bny
        if bn not in chats:
            chats[bn] = Chat(tok, bn)
        seqs = [chats[bn].build(turns) for _, turns in exs]
        T = max(len(s[0]) for s in seqs)
        B = len(exs)
        toks = torch.full((B, T), pad_id, dtype=torch.long)
        tgt = torch.full((B, T), -100, dtype=torch.long)
        valid = torch.zeros((B, T), dtype=torch.bool)
        for b, (ids, tg, _) in enumerate(seqs):
            toks[b, :len(ids)] = torch.tensor(ids)
            tgt[b, :len(ids)] = torch.tensor(tg)
            valid[b, :len(ids)] = True
        img_mask = torch.zeros((B, T), dtype=torch.bool)
        img_mask[:, n_before:n_before + bn] = True
        if (T, bnx, bny) not in pos_cache:
            pos_cache[T, bnx, bny] = positions(n_before, bnx, bny, T)
        emb, ds = model.encode_image(pix)
        x = model.embed(toks, emb, img_mask)
        stats = {}
        h = model.text_forward(x, pos_cache[T, bnx, bny], img_mask, ds, stats)
        sel = tgt != -100
        logits = model.logits(h[sel])
        ce_tok = F.cross_entropy(logits, tgt[sel], reduction="none")
        flat_valid = valid.reshape(-1)
        flat_img = img_mask.reshape(-1)
        lb, zl = 0.0, 0.0
        for lg, pr, ti in zip(stats["logits"], stats["probs"], stats["topi"]):
            lb = lb + 0.5 * (switch_lb(pr, ti, cfg.n_expert, flat_img & flat_valid)
                             + switch_lb(pr, ti, cfg.n_expert, ~flat_img & flat_valid))
            zl = zl + (torch.logsumexp(lg[flat_valid], -1) ** 2).mean()
        return ce_tok, logits, tgt, sel, seqs, lb / cfg.n_layer, zl / cfg.n_layer, emb

    @torch.no_grad()
    def validate():
        model.eval()
        right = {t: [] for t in qt}
        ces, clip_ces = [], []
        for k in range(0, len(val_ex), 32):
            part = val_ex[k:k + 32]
            ce_tok, logits, tgt, sel, seqs, _, _, _ = run_batch([(e[0], e[1]) for e in part])
            pred = torch.full_like(tgt, -1)
            pred[sel] = logits.argmax(-1)
            ok = (pred == tgt) | (tgt == -100)
            per_ex = ok.all(1)
            n_t = sel.sum(1)
            off = 0
            for b, e in enumerate(part):
                c = float(ce_tok[off:off + int(n_t[b])].mean())
                off += int(n_t[b])
                if e[2] == "clip":
                    clip_ces.append(c)
                else:
                    ces.append(c)
                    right[e[2]].append(bool(per_ex[b]))
        model.train()
        acc = {t: float(np.mean(v)) if v else 0.0 for t, v in right.items()}
        return float(np.mean(ces)), acc, float(np.mean(clip_ces)) if clip_ces else 0.0

    def save_ckpt(el):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "step": step, "elapsed": el, "best": best,
                    "n_scenes": n_scenes, "head": head.state_dict() if head is not None else None}, ck + ".tmp")
        os.replace(ck + ".tmp", ck)

    budget = args.time_limit * 60
    if args.vision_warmup > 0 and step == 0:
        n_scenes = vision_warmup(args, model, head, train_seeds, n_scenes)
        budget -= args.vision_warmup * 60
    t0 = time.time()
    model.train()
    while step < args.steps:
        el = elapsed_before + time.time() - t0
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        else:
            p = min(1.0, el / budget)
            lr = args.lr * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * p)))
        for g in opt.param_groups:
            g["lr"] = lr
        exs, vlab = [], {}
        u = rng.random()
        frame = "stretch" if u < args.frame_share / 2 else ("letterbox" if u < args.frame_share else "")
        wide = bool(rng.random() < 0.75)
        for _ in range(args.batch):
            if clip_train and rng.random() < args.clipart_share:
                i = int(clip_train[int(rng.integers(len(clip_train)))])
                exs.append((np.asarray(images[i]), [(scenes.CAPTION_Q, caption_text(meta[i]["caption"]))]))
            else:
                img, turns, _, spec = scene_example(next(train_seeds), rng)
                n_scenes += 1
                if frame:
                    img = as_frame(img, frame, wide)
                exs.append((img, turns))
                if not frame:
                    vlab[len(exs) - 1] = vision_labels(spec, nx)
        ce_tok, _, tgt, sel, _, lb, zl, emb = run_batch(exs)
        w = tok_w[tgt[sel]]
        ce = (ce_tok * w).sum() / w.sum()
        loss = ce + args.aux * lb + args.zloss * zl
        vl = torch.zeros(())
        if head is not None and vlab:
            rows = sorted(vlab)
            vl = head.loss(emb[rows], stack_labels([vlab[r] for r in rows]))
            loss = loss + args.vision_aux * vl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        el = elapsed_before + time.time() - t0
        over = el > budget
        row = [step, "%.1f" % el, "%.6f" % lr, "%.4f" % float(loss), "%.4f" % float(ce), "%.4f" % float(lb),
               "%.3f" % float(zl)]
        if step % args.val_every == 0 or over or step == args.steps:
            vce, acc, cce = validate()
            score = float(np.mean(list(acc.values())))
            row += ["%.4f" % vce] + ["%.3f" % acc[t] for t in qt] + ["%.4f" % cce]
            print("step %d %.0fs val_ce %.3f clip_ce %.3f acc %s mean %.3f" % (step, el, vce, cce,
                  " ".join("%s=%.2f" % (t, acc[t]) for t in qt), score), flush=True)
            if score > best:
                best = score
                torch.save(model.state_dict(), os.path.join(args.run, "best.pt"))
                json.dump({"step": step, "elapsed_s": el, "val_acc": acc, "val_ce": vce, "val_clip_ce": cce},
                          open(os.path.join(args.run, "best.json"), "w"), indent=1)
        cw.writerow(row)
        if step % 10 == 0:
            cf.flush()
            print("step %d  %.0fs  lr %.2e loss %.3f ce %.3f lb %.3f z %.2f vis %.3f" % (step, el, lr, float(loss),
                  float(ce), float(lb), float(zl), float(vl)), flush=True)
        if step % args.ckpt_every == 0 or over or step == args.steps:
            save_ckpt(el)
        if over:
            print("time limit reached at step", step, flush=True)
            break
    cf.flush()
    torch.save(model.state_dict(), os.path.join(args.run, "final.pt"))
    print("done: %d steps, %.1f s, %d scenes, best val acc %.3f" % (step, elapsed_before + time.time() - t0, n_scenes, best),
          flush=True)


if __name__ == "__main__":
    main()
