#!/usr/bin/python3
"""Train the embedded moevk-tiny captioner (Qwen3-VL MoE architecture, see model.py).

  /usr/bin/python3 tools/data/build_dataset.py              # -> /tmp/moevk-data
  /usr/bin/python3 tools/train/train.py --threads 2         # -> tools/train/runs/moevk-tiny
  /usr/bin/python3 tools/train/export.py                    # -> assets/models/*.gguf

Seeded (torch + numpy), resumable (--resume continues from RUN/ckpt.pt, saved every
--ckpt-every steps and at the end), training curve in RUN/curve.csv.
Loss = cross-entropy on caption tokens (+ final <|im_end|>)
     + aux_w * Switch load-balancing loss (computed separately over image tokens and text
       tokens, averaged over layers) + z_w * router z-loss.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer, train as bpe_train  # noqa: E402
from common import (USER_PROMPT, caption_text, load_meta, normalise, positions, prompt_tokens,  # noqa: E402
                    prompt_text_after, prompt_text_before)
from model import Config, QwenVLMoE  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def switch_lb(probs, topi, n_expert, sel):
    """Switch-Transformer load balancing: E * sum_e f_e * P_e over the selected tokens."""
    if sel.sum() == 0:
        return probs.new_zeros(())
    p = probs[sel]
    t = topi[sel]
    f = torch.zeros(n_expert).index_add_(0, t.reshape(-1), torch.ones(t.numel())) / t.numel()
    return n_expert * (f * p.mean(0)).sum()


def make_batch(idx, images, cap_ids, prefix, n_before, img_slots, pad_id, end_id):
    caps = [cap_ids[i] + [end_id] for i in idx]
    L = max(len(c) for c in caps)
    P = len(prefix)
    toks = torch.full((len(idx), P + L), pad_id, dtype=torch.long)
    tgt = torch.full((len(idx), P + L), -100, dtype=torch.long)
    for b, c in enumerate(caps):
        toks[b, :P] = torch.tensor(prefix)
        toks[b, P:P + len(c)] = torch.tensor(c)
        # position j predicts token j+1: the last prompt token predicts the first caption token
        tgt[b, P - 1:P - 1 + len(c)] = torch.tensor(c)
    valid = torch.zeros_like(toks, dtype=torch.bool)
    for b, c in enumerate(caps):
        valid[b, :P + len(c)] = True
    img_mask = torch.zeros_like(toks, dtype=torch.bool)
    img_mask[:, n_before:n_before + img_slots] = True
    pix = normalise(images[idx])
    return pix, toks, tgt, valid, img_mask


def lr_at(step, total, base, warm):
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/moevk-data")
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "moevk-tiny"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--wd", type=float, default=0.02)
    ap.add_argument("--aux", type=float, default=0.02)
    ap.add_argument("--zloss", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--ckpt-every", type=int, default=200)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--time-limit", type=float, default=0, help="stop (and checkpoint) after this many minutes")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.run, exist_ok=True)

    meta = load_meta(args.data)
    images = np.load(os.path.join(args.data, "images.npy"), mmap_mode="r")
    images = np.ascontiguousarray(images)
    train_ids = [m["id"] for m in meta if m["split"] == "train"]
    val_ids = [m["id"] for m in meta if m["split"] == "val"]

    tok_path = os.path.join(args.run, "tokenizer.json")
    if os.path.exists(tok_path):
        tok = Tokenizer.load(tok_path)
    else:
        texts = [caption_text(meta[i]["caption"]) for i in train_ids]
        texts += [prompt_text_before().replace("<|im_start|>", "").replace("<|vision_start|>", ""),
                  USER_PROMPT, "\n", "user", "assistant"] * 50
        merges = bpe_train(texts, args.vocab - 256 - 6)
        tok = Tokenizer(merges)
        tok.save(tok_path)
    print("vocab", tok.n_vocab, flush=True)

    cfg = Config(n_vocab=tok.n_vocab)
    n_img = (128 // cfg.patch // cfg.merge) ** 2
    nx = ny = 128 // cfg.patch // cfg.merge
    prefix, n_before = prompt_tokens(tok, n_img)
    cap_ids = {m["id"]: tok.encode(caption_text(m["caption"]), special=False) for m in meta}
    json.dump({"config": cfg.to_dict(), "prefix": prefix, "n_before": n_before, "args": vars(args)},
              open(os.path.join(args.run, "config.json"), "w"), indent=1)

    model = QwenVLMoE(cfg, seed=args.seed)
    n_par = sum(p.numel() for p in model.parameters())
    exp_par = sum(model.w("blk.%d.%s" % (i, n)).numel() for i in range(cfg.n_layer)
                  for n in ("ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"))
    active = n_par - exp_par + exp_par * cfg.n_expert_used // cfg.n_expert
    print("params total %.2fM active %.2fM" % (n_par / 1e6, active / 1e6), flush=True)

    decay = [p for n, p in model.params.items() if p.dim() >= 2 and "position_embd" not in n]
    nodecay = [p for n, p in model.params.items() if not (p.dim() >= 2 and "position_embd" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    rng = np.random.default_rng(args.seed)
    step, elapsed_before = 0, 0.0
    ck = os.path.join(args.run, "ckpt.pt")
    if args.resume and os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        step, elapsed_before = st["step"], st["elapsed"]
        print("resumed at step", step, flush=True)
    curve_path = os.path.join(args.run, "curve.csv")
    new_curve = not (args.resume and os.path.exists(curve_path))
    cf = open(curve_path, "w" if new_curve else "a", newline="")
    cw = csv.writer(cf)
    if new_curve:
        cw.writerow(["step", "elapsed_s", "lr", "loss", "ce", "aux_lb", "zloss", "val_ce"])

    order = []
    pad_id, end_id = tok.special["<|endoftext|>"], tok.special["<|im_end|>"]
    pos_cache = {}

    def run_batch(idx, train=True):
        pix, toks, tgt, valid, img_mask = make_batch(idx, images, cap_ids, prefix, n_before, n_img, pad_id, end_id)
        T = toks.shape[1]
        if T not in pos_cache:
            pos_cache[T] = positions(n_before, nx, ny, T)
        emb, ds = model.encode_image(pix)
        x = model.embed(toks, emb, img_mask)
        stats = {}
        h = model.text_forward(x, pos_cache[T], img_mask, ds, stats)
        sel = tgt != -100
        logits = model.logits(h[sel])
        ce = F.cross_entropy(logits, tgt[sel])
        flat_valid = valid.reshape(-1)
        flat_img = img_mask.reshape(-1)
        lb, zl = 0.0, 0.0
        for lg, pr, ti in zip(stats["logits"], stats["probs"], stats["topi"]):
            lb = lb + 0.5 * (switch_lb(pr, ti, cfg.n_expert, flat_img & flat_valid)
                             + switch_lb(pr, ti, cfg.n_expert, ~flat_img & flat_valid))
            zl = zl + (torch.logsumexp(lg[flat_valid], -1) ** 2).mean()
        lb = lb / cfg.n_layer
        zl = zl / cfg.n_layer
        return ce, lb, zl

    t0 = time.time()
    model.train()
    while step < args.steps:
        if not order:
            order = list(rng.permutation(train_ids))
        idx = [order.pop() for _ in range(min(args.batch, len(order)))]
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        elif args.time_limit:  # cosine over the wall-time budget: progress = elapsed / budget
            p = min(1.0, (elapsed_before + time.time() - t0) / (args.time_limit * 60))
            lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
        else:
            lr = lr_at(step, args.steps, args.lr, args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        ce, lb, zl = run_batch(np.array(idx))
        loss = ce + args.aux * lb + args.zloss * zl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        el = elapsed_before + time.time() - t0
        val_ce = ""
        if step % args.val_every == 0 or step == args.steps:
            model.eval()
            with torch.no_grad():
                vs = []
                for k in range(0, min(len(val_ids), 512), 64):
                    vs.append(float(run_batch(np.array(val_ids[k:k + 64]), False)[0]))
                val_ce = "%.4f" % float(np.mean(vs))
            model.train()
        cw.writerow([step, "%.1f" % el, "%.6f" % lr, "%.4f" % float(loss), "%.4f" % float(ce), "%.4f" % float(lb),
                     "%.3f" % float(zl), val_ce])
        if step % 10 == 0 or val_ce:
            cf.flush()
            print("step %d  %.0fs  loss %.3f ce %.3f lb %.3f z %.2f %s" % (step, el, float(loss), float(ce),
                  float(lb), float(zl), ("val_ce " + val_ce) if val_ce else ""), flush=True)
        over = args.time_limit and el > args.time_limit * 60
        if step % args.ckpt_every == 0 or step == args.steps or over:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state(), "step": step, "elapsed": el}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
        if over:
            print("time limit reached at step", step, flush=True)
            break
    torch.save(model.state_dict(), os.path.join(args.run, "final.pt"))
    print("done: %d steps, %.1f s" % (step, elapsed_before + time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
