#!/usr/bin/python3
"""Independent CPU reference of the gemma4 text forward (numpy, float64).

    /usr/bin/python3 tools/gemma4_ref.py TEXT.gguf PROMPT.i32 OUT_LOGITS.f32 [--gelu-f16] [--dump-layer DIR]

Reads a GGUF with tools/gguf/gguf_reader.py (f32, f16, bf16, q8_0 weights), runs the prompt tokens (text
positions 0..n-1, one sequence, causal) and writes float32 logits [n_prompt][n_vocab].
--gelu-f16 evaluates GELU as llama.cpp's CPU backend does (GGML_GELU_FP16: x <= -10 -> 0, x >= 10 -> x, else
the input rounded to f16, GELU in f32, the result rounded to f16); the default is the exact tanh GELU in
float64. --dump-layer DIR writes per layer il float32 [n_prompt][d]: DIR/attn_out-<il>.f32 (h after the
attention residual), DIR/ffn-<il>.f32 (the FFN sum before post_ffw_norm) and DIR/l_out-<il>.f32.

Written from docs/families/gemma4.md section 3, in llama.cpp's order, without llama.cpp's code: embeddings x
sqrt(d); per layer QK-norm attention with a weightless V norm (V = the raw K projection where attn_v is
absent), NEOX RoPE with the layer kind's head dim, rotated dims and base (global layers divide each pair's
angle by rope_freqs), attention scale 1, the sliding window on sliding layers; post_attention_norm and the
residual; the dense GeGLU MLP (post_ffw_norm_1) beside the MoE (router on rms_norm(x)/sqrt(d)*scale, softmax
top-k renormalised, GeGLU experts times ffn_down_exps.scale, post_ffw_norm_2); post_ffw_norm, the residual,
layer_output_scale; the final norm, the (tied) LM head and the logit softcap.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf.gguf_reader import GGUFReader  # noqa: E402


def rms_norm(x, w, eps):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y if w is None else y * w


def gelu_exact(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * x * (1.0 + 0.044715 * x * x)))


def gelu_f16(x):
    """ggml_vec_gelu_f32 with GGML_GELU_FP16: the f16 table lookup of the f16-rounded input."""
    x32 = x.astype(np.float32)
    h = x32.astype(np.float16).astype(np.float32)
    c = np.float32(0.79788456080286535587989211986876)
    g = (np.float32(0.5) * h * (np.float32(1.0) + np.tanh(c * h * (np.float32(1.0) + np.float32(0.044715) * h * h))))
    g = g.astype(np.float32).astype(np.float16).astype(np.float64)
    return np.where(x32 <= -10.0, 0.0, np.where(x32 >= 10.0, x32.astype(np.float64), g))


class Model:
    def __init__(self, path, gelu):
        self.r = GGUFReader(path)
        kv = self.r.kv
        arch = kv["general.architecture"]
        if arch != "gemma4":
            raise SystemExit("gemma4_ref: %s is %s, not gemma4" % (path, arch))
        self.gelu = gelu

        def key(name, default=None):
            v = kv.get("gemma4." + name, default)
            if v is None:
                raise SystemExit("gemma4_ref: missing key gemma4.%s" % name)
            return v
        self.n_layer = key("block_count")
        self.d = key("embedding_length")
        self.n_head = key("attention.head_count")
        hkv = key("attention.head_count_kv")
        self.n_head_kv = list(hkv) if isinstance(hkv, (list, tuple, np.ndarray)) else [hkv] * self.n_layer
        self.hd_full = key("attention.key_length")
        self.hd_swa = key("attention.key_length_swa", self.hd_full)
        self.rot_full = key("rope.dimension_count", self.hd_full)
        self.rot_swa = key("rope.dimension_count_swa", self.rot_full)
        self.base_full = key("rope.freq_base", 10000.0)
        self.base_swa = key("rope.freq_base_swa", 10000.0)
        self.eps = key("attention.layer_norm_rms_epsilon")
        self.window = key("attention.sliding_window")
        self.swa = [bool(x) for x in key("attention.sliding_window_pattern")]
        self.cap = key("final_logit_softcapping", 30.0)  # absent: llama.cpp's default 30; 0: none
        self.k_used = key("expert_used_count")
        if key("embedding_length_per_layer_input", 0) or key("attention.shared_kv_layers", 0):
            raise SystemExit("gemma4_ref: per-layer embeddings / shared KV layers are not implemented")
        self.cache = {}

    def w(self, name):
        if name not in self.cache:
            self.cache[name] = self.r.tensor_array(name).astype(np.float64)
        return self.cache[name]

    def has(self, name):
        return name in self.r.tensors

    def rope(self, x, pos, n_rot, base, ff):
        # NEOX pairs (i, i + n_rot/2) over the first n_rot dims, pair i by pos * base^(-2i/n_rot) / ff[i]
        half = n_rot // 2
        inv = base ** (-2.0 * np.arange(half) / n_rot)
        if ff is not None:
            inv = inv / ff[:half]
        ang = pos[:, None] * inv[None, :]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x = x.copy()
        a, b = x[..., :half].copy(), x[..., half:n_rot].copy()
        x[..., :half] = a * c - b * s
        x[..., half:n_rot] = a * s + b * c
        return x

    def attention(self, il, a):
        p = "blk.%d." % il
        swa = self.swa[il]
        T, H, HKV = a.shape[0], self.n_head, self.n_head_kv[il]
        hd = self.hd_swa if swa else self.hd_full
        q = (a @ self.w(p + "attn_q.weight").T).reshape(T, H, hd)
        kraw = (a @ self.w(p + "attn_k.weight").T).reshape(T, HKV, hd)
        vraw = (a @ self.w(p + "attn_v.weight").T).reshape(T, HKV, hd) if self.has(p + "attn_v.weight") else kraw
        q = rms_norm(q, self.w(p + "attn_q_norm.weight"), self.eps)
        k = rms_norm(kraw, self.w(p + "attn_k_norm.weight"), self.eps)
        v = rms_norm(vraw, None, self.eps)
        pos = np.arange(T, dtype=np.float64)
        ff = None if swa else self.w("rope_freqs.weight")
        n_rot, base = (self.rot_swa, self.base_swa) if swa else (self.rot_full, self.base_full)
        q, k = self.rope(q, pos, n_rot, base, ff), self.rope(k, pos, n_rot, base, ff)
        i, j = np.arange(T)[:, None], np.arange(T)[None, :]
        visible = (j <= i) & ((i - j < self.window) if swa else True)
        mask = np.where(visible, 0.0, -np.inf)
        o = np.zeros((T, H, hd))
        for h in range(H):
            g = h // (H // HKV)
            s = q[:, h] @ k[:, g].T * 1.0 + mask
            s = np.exp(s - s.max(1, keepdims=True))
            o[:, h] = (s / s.sum(1, keepdims=True)) @ v[:, g]
        return o.reshape(T, H * hd) @ self.w(p + "attn_output.weight").T

    def geglu(self, x, gate, up, down):
        return (self.gelu(x @ gate.T) * (x @ up.T)) @ down.T

    def ffn(self, il, x):
        p = "blk.%d." % il
        mlp = self.geglu(rms_norm(x, self.w(p + "ffn_norm.weight"), self.eps), self.w(p + "ffn_gate.weight"),
                         self.w(p + "ffn_up.weight"), self.w(p + "ffn_down.weight"))
        if not self.has(p + "ffn_gate_inp.weight"):
            return mlp
        m1 = rms_norm(mlp, self.w(p + "post_ffw_norm_1.weight"), self.eps)
        r_in = rms_norm(x, None, self.eps) / np.sqrt(self.d) * self.w(p + "ffn_gate_inp.scale")
        logits = r_in @ self.w(p + "ffn_gate_inp.weight").T
        pr = np.exp(logits - logits.max(1, keepdims=True))
        pr /= pr.sum(1, keepdims=True)
        u = rms_norm(x, self.w(p + "pre_ffw_norm_2.weight"), self.eps)
        if self.has(p + "ffn_gate_up_exps.weight"):  # merged [E][2F][d]: each expert's gate rows, then its up rows
            gu = self.w(p + "ffn_gate_up_exps.weight")
            ge, ue = gu[:, : gu.shape[1] // 2], gu[:, gu.shape[1] // 2:]
        else:
            ge, ue = self.w(p + "ffn_gate_exps.weight"), self.w(p + "ffn_up_exps.weight")
        de = self.w(p + "ffn_down_exps.weight")
        ds = self.w(p + "ffn_down_exps.scale") if self.has(p + "ffn_down_exps.scale") else np.ones(ge.shape[0])
        out = np.zeros_like(x)
        for t in range(x.shape[0]):
            top = np.argsort(-pr[t], kind="stable")[:self.k_used]
            wt = pr[t, top] / max(pr[t, top].sum(), 6.103515625e-5)
            for e, we in zip(top, wt):
                out[t] += we * ds[e] * (de[e] @ (self.gelu(ge[e] @ u[t]) * (ue[e] @ u[t])))
        return m1 + rms_norm(out, self.w(p + "post_ffw_norm_2.weight"), self.eps)

    def forward(self, tokens, dump_dir=None):
        def dump(name, x):
            if dump_dir:
                x.astype("<f4").tofile(os.path.join(dump_dir, name + ".f32"))
        h = self.w("token_embd.weight")[tokens] * np.float64(np.float32(np.sqrt(np.float32(self.d))))
        for il in range(self.n_layer):
            p = "blk.%d." % il
            a = rms_norm(h, self.w(p + "attn_norm.weight"), self.eps)
            x = rms_norm(self.attention(il, a), self.w(p + "post_attention_norm.weight"), self.eps) + h
            f = self.ffn(il, x)
            h = rms_norm(f, self.w(p + "post_ffw_norm.weight"), self.eps) + x
            if self.has(p + "layer_output_scale.weight"):
                h = h * self.w(p + "layer_output_scale.weight")[0]
            dump("attn_out-%d" % il, x)
            dump("ffn-%d" % il, f)
            dump("l_out-%d" % il, h)
        head = self.w("output.weight") if self.has("output.weight") else self.w("token_embd.weight")
        logits = rms_norm(h, self.w("output_norm.weight"), self.eps) @ head.T
        if self.cap:
            logits = self.cap * np.tanh(logits / self.cap)
        return logits


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    dump = None
    if "--dump-layer" in argv:
        i = argv.index("--dump-layer")
        dump = argv[i + 1]
        os.makedirs(dump, exist_ok=True)
        argv = argv[:i] + argv[i + 2:]
    gelu = gelu_exact
    if "--gelu-f16" in argv:
        argv = [a for a in argv if a != "--gelu-f16"]
        gelu = gelu_f16
    model = Model(argv[0], gelu)
    tokens = np.fromfile(argv[1], "<i4")
    model.forward(tokens, dump).astype("<f4").tofile(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
