"""Greedy captioning with the PyTorch reference, from the EXPORTED GGUF pair (stored weights).

    from infer import Captioner
    cap = Captioner("assets/models/moevk-tiny.gguf", "assets/models/moevk-tiny-mmproj.gguf")
    texts, info = cap.caption(u8_images)            # u8 [B,128,128,3]

The prompt is the one the engine feeds (common.py); generation stops at <|im_end|> or
<|endoftext|>. info holds the token ids and, per layer, the routed experts of every token
(prompt and generated), tagged image/text.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from check_golden import load_pair  # noqa: E402
from common import normalise, positions, prompt_tokens  # noqa: E402


def tokenizer_from_kv(kv):
    toks = kv["tokenizer.ggml.tokens"]
    merges = [m.split(" ") for m in kv["tokenizer.ggml.merges"]]
    tok = Tokenizer(merges)
    if tok.tokens != list(toks):
        raise ValueError("tokenizer in GGUF does not match its merges")
    return tok


class Captioner:
    def __init__(self, text_path, mmproj_path, dtype=torch.float32):
        self.model, self.tkv, self.vkv = load_pair(text_path, mmproj_path, dtype)
        self.dtype = dtype
        self.tok = tokenizer_from_kv(self.tkv)
        self.stop = {self.tok.special["<|im_end|>"], self.tok.special["<|endoftext|>"]}

    def prompt(self, n_img, question=None):
        return prompt_tokens(self.tok, n_img) if question is None else prompt_tokens(self.tok, n_img, question)

    @torch.no_grad()
    def caption(self, u8, max_new=24, want_logits=False, question=None):
        """u8 [B,H,W,3]; question: one string for all images (None: the caption prompt)."""
        m, cfg = self.model, self.model.cfg
        B, H, W, _ = u8.shape
        pix = normalise(u8, self.vkv["clip.vision.image_mean"], self.vkv["clip.vision.image_std"]).to(self.dtype)
        nx, ny = W // cfg.patch // cfg.merge, H // cfg.patch // cfg.merge
        n_img = nx * ny
        ids, n_before = self.prompt(n_img, question)
        T = len(ids)
        toks = torch.tensor(ids)[None].repeat(B, 1)
        img_mask = torch.zeros(B, T, dtype=torch.bool)
        img_mask[:, n_before:n_before + n_img] = True
        emb, ds = m.encode_image(pix)
        x = m.embed(toks, emb, img_mask)
        pos = positions(n_before, nx, ny, T)
        cache, stats = [], {}
        h = m.text_forward(x, pos, img_mask, ds, stats, cache=cache)
        lg = m.logits(h[:, -1])
        routes = [[torch.stack(stats["topi"])[l].reshape(B, T, -1)] for l in range(cfg.n_layer)]
        weights = [[torch.stack(stats["topw"])[l].reshape(B, T, -1)] for l in range(cfg.n_layer)]
        next_pos = int(pos[0, -1]) + 1
        out = [[] for _ in range(B)]
        step_logits = []
        done = torch.zeros(B, dtype=torch.bool)
        for s in range(max_new):
            if want_logits:
                step_logits.append(lg.clone())
            nt = lg.argmax(-1)
            for b in range(B):
                if not done[b]:
                    out[b].append(int(nt[b]))
                    if int(nt[b]) in self.stop:
                        done[b] = True
            if bool(done.all()):
                break
            stats = {}
            p = torch.full((4, 1), next_pos, dtype=torch.long)
            p[3] = 0
            h = m.text_forward(m.embed(nt[:, None]), p, None, None, stats, cache=cache)
            for l in range(cfg.n_layer):
                routes[l].append(stats["topi"][l].reshape(B, 1, -1))
                weights[l].append(stats["topw"][l].reshape(B, 1, -1))
            lg = m.logits(h[:, -1])
            next_pos += 1
        routes = torch.stack([torch.cat(r, 1) for r in routes])       # [L, B, T+gen, k]
        weights = torch.stack([torch.cat(r, 1) for r in weights])
        texts = [self.tok.decode([t for t in o if t not in self.stop]) for o in out]
        info = {"tokens": out, "prompt": ids, "n_before": n_before, "n_img": n_img, "routes": routes,
                "route_weights": weights, "step_logits": step_logits}
        return texts, info
