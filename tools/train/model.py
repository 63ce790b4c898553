"""PyTorch reference of the Qwen3-VL MoE family exactly as llama.cpp computes it
(text GGUF `qwen3vlmoe` + mmproj `clip`/`qwen3vl_merger`, see ../shared/docs/qwen3vl-moe.md).

The same code is used to train the embedded model (float32 parameters) and to run
GGUF weights in float64 (golden checks, reference outputs).  Parameters are kept
under their GGUF tensor names, in PyTorch row-major shape = reversed ggml ne, so the
exporter writes them unchanged.

Semantics reproduced (llama.cpp):
  vision  conv2d(W0)+conv2d(W1)+bias on the same image; 2x2 merge-block token order;
          learned position table bilinearly resized with align_corners; 2-D RoPE
          (NEOX pairs, rows on the first half of the pairs, columns on the second);
          full attention; tanh-GELU MLP; deepstack taps = block output -> group 4 ->
          LN(4C) -> fc1 -> tanh-GELU -> fc2; merger = post_ln(C) -> group 4 -> mm.0 ->
          tanh-GELU -> mm.2.
  text    RMSNorm; Q/K per-head RMSNorm before RoPE; IMROPE (pair i, sector i % sum(sec):
          h if i%3==1 and i<3*s1, w if i%3==2 and i<3*s2, t if i%3==0 and i<3*s0, else e=0);
          causal GQA; MoE = softmax over all experts -> top-k -> renormalise (sum clamped
          >= 6.103515625e-5) -> SwiGLU experts, summed in top-k order; deepstack slice il
          added after layer il at image positions only.
"""
import math
from dataclasses import dataclass, field, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    # vision
    v_embd: int = 128
    v_head: int = 4
    v_ff: int = 512
    v_layer: int = 3
    patch: int = 16
    merge: int = 2
    v_pos_side: int = 8          # learned position table is v_pos_side^2 rows
    deepstack: list = field(default_factory=lambda: [1, 2])
    v_eps: float = 1e-6
    image_mean: list = field(default_factory=lambda: [0.5, 0.5, 0.5])
    image_std: list = field(default_factory=lambda: [0.5, 0.5, 0.5])
    # text
    n_vocab: int = 2048
    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int = 64           # != n_embd / n_head on purpose (as in Qwen3-VL-30B-A3B)
    n_expert: int = 8
    n_expert_used: int = 2
    n_ff_exp: int = 256
    sections: list = field(default_factory=lambda: [12, 10, 10, 0])
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    n_ctx: int = 256

    def to_dict(self):
        return asdict(self)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return w * (x - mu) / torch.sqrt(var + eps) + b


def rotate(x, ang):
    """NEOX split-half rotation. x [..., n, d], ang [n, d/2] (broadcast over leading dims)."""
    h = x.shape[-1] // 2
    c, s = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    x0, x1 = x[..., :h], x[..., h:]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], -1)


def block_order_rc(py, px):
    """(row, col) patch coordinates of vision token k in 2x2 merge-block order."""
    rows, cols = [], []
    for by in range(py // 2):
        for bx in range(px // 2):
            for dy in range(2):
                for dx in range(2):
                    rows.append(2 * by + dy)
                    cols.append(2 * bx + dx)
    return torch.tensor(rows), torch.tensor(cols)


def to_block_order(x):
    """x [B, py, px, C] -> [B, N, C] in merge-block order."""
    B, py, px, C = x.shape
    x = x.reshape(B, py // 2, 2, px // 2, 2, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, py * px, C)


def vision_rope_angles(py, px, head_dim, dtype):
    rows, cols = block_order_rc(py, px)
    nd = head_dim // 2                      # number of rotated pairs
    q = nd // 2                             # pairs per axis
    theta = torch.tensor(10000.0, dtype=torch.float64) ** (-2.0 / nd)
    i = torch.arange(q, dtype=torch.float64)
    f = theta ** i
    ang = torch.cat([rows[:, None].double() * f[None], cols[:, None].double() * f[None]], 1)
    return ang.to(dtype)                    # [N, nd]


def imrope_angles(pos, head_dim, sections, base, dtype):
    """pos [4, T] int (t, h, w, e) -> angles [T, head_dim/2]."""
    npair = head_dim // 2
    sec_sum = sum(sections)
    comp = []
    for i in range(npair):
        s = i % sec_sum
        if s % 3 == 1 and s < 3 * sections[1]:
            comp.append(1)
        elif s % 3 == 2 and s < 3 * sections[2]:
            comp.append(2)
        elif s % 3 == 0 and s < 3 * sections[0]:
            comp.append(0)
        else:
            comp.append(3)
    comp = torch.tensor(comp)
    p = pos.double()[comp]                  # [npair, T]
    f = torch.tensor(float(base), dtype=torch.float64) ** (-2.0 * torch.arange(npair, dtype=torch.float64) / head_dim)
    return (p * f[:, None]).t().contiguous().to(dtype)


def mm_positions(n_before, nx, ny, n_after):
    """M-RoPE positions (4, T) for text[n_before] + image(nx*ny) + text[n_after] as mtmd assigns them."""
    t, h, w = [], [], []
    for p in range(n_before):
        t.append(p); h.append(p); w.append(p)
    P = n_before
    for r in range(ny):
        for c in range(nx):
            t.append(P); h.append(P + r); w.append(P + c)
    P += max(nx, ny)
    for k in range(n_after):
        t.append(P + k); h.append(P + k); w.append(P + k)
    T = len(t)
    return torch.tensor([t, h, w, [0] * T], dtype=torch.long)


def tensor_shapes(cfg: Config):
    """GGUF tensor name -> PyTorch shape (reversed ne), text and vision."""
    D, hd, E, Fe = cfg.n_embd, cfg.head_dim, cfg.n_expert, cfg.n_ff_exp
    txt = {"token_embd.weight": (cfg.n_vocab, D)}
    for i in range(cfg.n_layer):
        b = "blk.%d." % i
        txt.update({
            b + "attn_norm.weight": (D,),
            b + "attn_q.weight": (cfg.n_head * hd, D),
            b + "attn_k.weight": (cfg.n_head_kv * hd, D),
            b + "attn_v.weight": (cfg.n_head_kv * hd, D),
            b + "attn_output.weight": (D, cfg.n_head * hd),
            b + "attn_q_norm.weight": (hd,),
            b + "attn_k_norm.weight": (hd,),
            b + "ffn_norm.weight": (D,),
            b + "ffn_gate_inp.weight": (E, D),
            b + "ffn_gate_exps.weight": (E, Fe, D),
            b + "ffn_up_exps.weight": (E, Fe, D),
            b + "ffn_down_exps.weight": (E, D, Fe),
        })
    txt["output_norm.weight"] = (D,)
    txt["output.weight"] = (cfg.n_vocab, D)
    C, p, C4 = cfg.v_embd, cfg.patch, cfg.v_embd * cfg.merge * cfg.merge
    vis = {
        "v.patch_embd.weight": (C, 3, p, p),
        "v.patch_embd.weight.1": (C, 3, p, p),
        "v.patch_embd.bias": (C,),
        "v.position_embd.weight": (cfg.v_pos_side * cfg.v_pos_side, C),
    }
    for l in range(cfg.v_layer):
        b = "v.blk.%d." % l
        vis.update({
            b + "ln1.weight": (C,), b + "ln1.bias": (C,),
            b + "attn_qkv.weight": (3 * C, C), b + "attn_qkv.bias": (3 * C,),
            b + "attn_out.weight": (C, C), b + "attn_out.bias": (C,),
            b + "ln2.weight": (C,), b + "ln2.bias": (C,),
            b + "ffn_up.weight": (cfg.v_ff, C), b + "ffn_up.bias": (cfg.v_ff,),
            b + "ffn_down.weight": (C, cfg.v_ff), b + "ffn_down.bias": (C,),
        })
    for L in cfg.deepstack:
        b = "v.deepstack.%d." % L
        vis.update({
            b + "norm.weight": (C4,), b + "norm.bias": (C4,),
            b + "fc1.weight": (C4, C4), b + "fc1.bias": (C4,),
            b + "fc2.weight": (D, C4), b + "fc2.bias": (D,),
        })
    vis.update({"v.post_ln.weight": (C,), "v.post_ln.bias": (C,),
                "mm.0.weight": (C4, C4), "mm.0.bias": (C4,),
                "mm.2.weight": (D, C4), "mm.2.bias": (D,)})
    return txt, vis


def _key(name):
    return name.replace(".", "__")


class QwenVLMoE(nn.Module):
    def __init__(self, cfg: Config, seed=0):
        super().__init__()
        self.cfg = cfg
        txt, vis = tensor_shapes(cfg)
        self.text_names, self.vision_names = list(txt), list(vis)
        g = torch.Generator().manual_seed(seed)
        self.params = nn.ParameterDict()
        for name, shape in {**txt, **vis}.items():
            self.params[_key(name)] = nn.Parameter(self._init(name, shape, g))

    def _init(self, name, shape, g):
        if name.endswith("norm.weight") or name.endswith("ln1.weight") or name.endswith("ln2.weight") \
                or name.endswith("post_ln.weight"):
            return torch.ones(shape)
        if name.endswith(".bias"):
            return torch.zeros(shape)
        if name == "token_embd.weight":
            return torch.randn(shape, generator=g) * 0.02
        if name == "v.position_embd.weight":
            return torch.randn(shape, generator=g) * 0.02
        fan_in = shape[-1] if len(shape) != 4 else shape[1] * shape[2] * shape[3]
        std = 1.0 / math.sqrt(fan_in)
        if name.endswith("attn_output.weight") or name.endswith("ffn_down_exps.weight") \
                or name.endswith("attn_out.weight") or name.endswith("ffn_down.weight"):
            std *= 0.5
        if name.startswith("v.patch_embd.weight"):
            std *= 0.7
        if name.endswith("ffn_gate_inp.weight"):
            std *= 0.1
        return torch.randn(shape, generator=g) * std

    def w(self, name):
        return self.params[_key(name)]

    def load_numpy(self, tensors, dtype=torch.float64):
        """Load GGUF tensors (dict name -> np array, row-major = reversed ne)."""
        for name in self.text_names + self.vision_names:
            if name not in tensors:
                raise KeyError("missing tensor " + name)
            t = torch.from_numpy(tensors[name].astype("float64")).to(dtype)
            if tuple(t.shape) != tuple(self.params[_key(name)].shape):
                raise ValueError("shape mismatch %s %s vs %s" % (name, tuple(t.shape), tuple(self.params[_key(name)].shape)))
            self.params[_key(name)] = nn.Parameter(t, requires_grad=False)

    # ------------------------------------------------------------------ vision
    def encode_image(self, pix, return_patch=False):
        """pix [B, 3, H, W] normalised -> (embd [B, n_img, D], deepstack [n_ds, B, n_img, D])."""
        cfg, W = self.cfg, self.w
        B, _, H, Wd = pix.shape
        p, C = cfg.patch, cfg.v_embd
        py, px = H // p, Wd // p
        x = F.conv2d(pix, W("v.patch_embd.weight"), stride=p) + F.conv2d(pix, W("v.patch_embd.weight.1"), stride=p)
        x = to_block_order(x.permute(0, 2, 3, 1))
        x = x + W("v.patch_embd.bias")
        G = cfg.v_pos_side
        tab = W("v.position_embd.weight").reshape(G, G, C).permute(2, 0, 1)[None]
        if (py, px) != (G, G):
            tab = F.interpolate(tab, size=(py, px), mode="bilinear", align_corners=True)
        pe = to_block_order(tab.permute(0, 2, 3, 1))
        x = x + pe
        patch = x
        N = py * px
        nh = cfg.v_head
        hd = C // nh
        ang = vision_rope_angles(py, px, hd, x.dtype)
        ds = []
        for l in range(cfg.v_layer):
            b = "v.blk.%d." % l
            a = layer_norm(x, W(b + "ln1.weight"), W(b + "ln1.bias"), cfg.v_eps)
            qkv = F.linear(a, W(b + "attn_qkv.weight"), W(b + "attn_qkv.bias"))
            q, k, v = qkv.split(C, -1)
            q = q.reshape(B, N, nh, hd).transpose(1, 2)
            k = k.reshape(B, N, nh, hd).transpose(1, 2)
            v = v.reshape(B, N, nh, hd).transpose(1, 2)
            q, k = rotate(q, ang), rotate(k, ang)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1)
            o = (att @ v).transpose(1, 2).reshape(B, N, C)
            x = x + F.linear(o, W(b + "attn_out.weight"), W(b + "attn_out.bias"))
            m = layer_norm(x, W(b + "ln2.weight"), W(b + "ln2.bias"), cfg.v_eps)
            x = x + F.linear(gelu_tanh(F.linear(m, W(b + "ffn_up.weight"), W(b + "ffn_up.bias"))),
                             W(b + "ffn_down.weight"), W(b + "ffn_down.bias"))
            if l in cfg.deepstack:
                d = "v.deepstack.%d." % l
                z = x.reshape(B, N // 4, 4 * C)
                z = layer_norm(z, W(d + "norm.weight"), W(d + "norm.bias"), cfg.v_eps)
                z = F.linear(gelu_tanh(F.linear(z, W(d + "fc1.weight"), W(d + "fc1.bias"))),
                             W(d + "fc2.weight"), W(d + "fc2.bias"))
                ds.append(z)
        y = layer_norm(x, W("v.post_ln.weight"), W("v.post_ln.bias"), cfg.v_eps).reshape(B, N // 4, 4 * C)
        y = F.linear(gelu_tanh(F.linear(y, W("mm.0.weight"), W("mm.0.bias"))), W("mm.2.weight"), W("mm.2.bias"))
        out = (y, torch.stack(ds) if ds else None)
        return out + (patch,) if return_patch else out

    # ------------------------------------------------------------------ text
    def moe(self, u, b, stats=None):
        """u [M, D] -> [M, D]; records router info into stats (dict) if given."""
        cfg, W = self.cfg, self.w
        logits = F.linear(u, W(b + "ffn_gate_inp.weight"))
        probs = torch.softmax(logits.float() if u.dtype != torch.float64 else logits, -1)
        topv, topi = probs.topk(cfg.n_expert_used, -1)
        wts = (topv / topv.sum(-1, keepdim=True).clamp(min=6.103515625e-5)).to(u.dtype)
        out = torch.zeros_like(u)
        G, U, Dn = W(b + "ffn_gate_exps.weight"), W(b + "ffn_up_exps.weight"), W(b + "ffn_down_exps.weight")
        if u.dtype == torch.float64 or not self.training:
            # exact llama.cpp order: y = sum_k w_k * expert_{S_k}(u), left to right
            for k in range(cfg.n_expert_used):
                for e in topi[:, k].unique().tolist():
                    rows = (topi[:, k] == e).nonzero(as_tuple=True)[0]
                    x = u[rows]
                    y = F.linear(F.silu(F.linear(x, G[e])) * F.linear(x, U[e]), Dn[e])
                    out[rows] += wts[rows, k:k + 1] * y
        else:
            flat_e = topi.reshape(-1)
            flat_w = wts.reshape(-1, 1)
            tok = torch.arange(u.shape[0]).repeat_interleave(cfg.n_expert_used)
            for e in range(cfg.n_expert):
                sel = (flat_e == e).nonzero(as_tuple=True)[0]
                if sel.numel() == 0:
                    continue
                rows = tok[sel]
                x = u[rows]
                y = F.linear(F.silu(F.linear(x, G[e])) * F.linear(x, U[e]), Dn[e])
                out = out.index_add(0, rows, y * flat_w[sel])
        if stats is not None:
            stats.setdefault("logits", []).append(logits)
            stats.setdefault("probs", []).append(probs)
            stats.setdefault("topi", []).append(topi)
            stats.setdefault("topw", []).append(wts)
        return out

    def text_forward(self, emb, pos, img_mask=None, deepstack=None, stats=None, layer_out=None,
                     cache=None):
        """emb [B, T, D] input rows (text embeddings with image rows spliced in); pos [4, T];
        img_mask [B, T] bool; deepstack [n_ds, B, n_img, D] (rows in image order).
        cache: None, or a list that receives/extends per-layer [K, V] (after RoPE) for
        incremental decoding; pos then holds the positions of the new tokens only.
        Returns hidden after output_norm [B, T, D]."""
        cfg, W = self.cfg, self.w
        B, T, D = emb.shape
        hd, nh, nkv = cfg.head_dim, cfg.n_head, cfg.n_head_kv
        ang = imrope_angles(pos, hd, cfg.sections, cfg.rope_theta, emb.dtype)
        past = cache[0][0].shape[2] if cache else 0
        mask = torch.full((T, past + T), float("-inf"), dtype=emb.dtype).triu(past + 1)
        x = emb
        for i in range(cfg.n_layer):
            b = "blk.%d." % i
            a = rms_norm(x, W(b + "attn_norm.weight"), cfg.rms_eps)
            q = F.linear(a, W(b + "attn_q.weight")).reshape(B, T, nh, hd).transpose(1, 2)
            k = F.linear(a, W(b + "attn_k.weight")).reshape(B, T, nkv, hd).transpose(1, 2)
            v = F.linear(a, W(b + "attn_v.weight")).reshape(B, T, nkv, hd).transpose(1, 2)
            q = rms_norm(q, W(b + "attn_q_norm.weight"), cfg.rms_eps)
            k = rms_norm(k, W(b + "attn_k_norm.weight"), cfg.rms_eps)
            q, k = rotate(q, ang), rotate(k, ang)
            if cache is not None:
                if len(cache) > i:
                    k = torch.cat([cache[i][0], k], 2)
                    v = torch.cat([cache[i][1], v], 2)
                    cache[i] = [k, v]
                else:
                    cache.append([k, v])
            rep = nh // nkv
            k = k.repeat_interleave(rep, 1)
            v = v.repeat_interleave(rep, 1)
            s = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask
            o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, nh * hd)
            x = x + F.linear(o, W(b + "attn_output.weight"))
            u = rms_norm(x, W(b + "ffn_norm.weight"), cfg.rms_eps)
            x = x + self.moe(u.reshape(B * T, D), b, stats).reshape(B, T, D)
            if deepstack is not None and i < deepstack.shape[0]:
                add = torch.zeros_like(x)
                add[img_mask] = deepstack[i].reshape(-1, D)
                x = x + add
            if layer_out is not None:
                layer_out.append(x)
        return rms_norm(x, W("output_norm.weight"), cfg.rms_eps)

    def logits(self, h):
        return F.linear(h, self.w("output.weight"))

    def embed(self, tokens, img_embd=None, img_mask=None):
        e = F.embedding(tokens, self.w("token_embd.weight"))
        if img_embd is not None:
            e = e.clone()
            e[img_mask] = img_embd.reshape(-1, e.shape[-1]).to(e.dtype)
        return e
