#!/usr/bin/python3
"""Independent CPU reference of the qwen35moe / qwen35 text forward (numpy, float64).

    /usr/bin/python3 tools/qwen35_ref.py TEXT.gguf PROMPT.i32 OUT_LOGITS.f32 [--dump-layer DIR]

Reads a GGUF with tools/gguf/gguf_reader.py (f32, f16, bf16, q8_0 weights), runs the prompt tokens (text
positions p, one sequence, from an empty state) and writes float32 logits [n_prompt][n_vocab].
--dump-layer DIR also writes, per layer il, float32 [n_prompt][d]: DIR/mixer-<il>.f32 (the DeltaNet or
attention branch after its output projection, before the residual), DIR/ffn-<il>.f32 (the FFN branch: routed
experts + gated shared expert) and DIR/l_out-<il>.f32 (h after both residuals), plus DIR/result_norm.f32 (the
final RMSNorm's output): an oracle for intermediate values (llama.cpp's callback names: linear_attn_out /
attn_output, ffn_out, l_out, result_norm).

Written from docs/families/qwen35.md section 4, in llama.cpp's order, without llama.cpp's code: Gated DeltaNet
layers (qkv projection, causal conv with SiLU, L2-normalised q/k, gates, the delta rule token by token,
gated RMSNorm, ssm_out), gated full attention (q|gate per head, QK-norm, partial NEOX/IMROPE rotation of the
first rope.dimension_count dims: with text positions every IMROPE section uses p), and the FFN (routed top-k
softmax experts renormalised, plus the sigmoid-gated shared expert; or the dense SwiGLU of qwen35).
MTP blocks (nextn_predict_layers) are not run.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf.gguf_reader import GGUFReader  # noqa: E402


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


class Model:
    def __init__(self, path):
        self.r = GGUFReader(path)
        kv = self.r.kv
        self.arch = arch = kv["general.architecture"]
        if arch not in ("qwen35moe", "qwen35"):
            raise SystemExit("qwen35_ref: %s is %s, not qwen35moe / qwen35" % (path, arch))

        def key(name, default=None):
            v = kv.get(arch + "." + name, default)
            if v is None:
                raise SystemExit("qwen35_ref: missing key %s.%s" % (arch, name))
            return v
        self.n_layer = key("block_count") - key("nextn_predict_layers", 0)
        self.d = key("embedding_length")
        self.n_head, self.n_head_kv = key("attention.head_count"), key("attention.head_count_kv")
        self.hd = key("attention.key_length")
        self.eps = key("attention.layer_norm_rms_epsilon")
        self.n_rot = key("rope.dimension_count", self.hd)
        self.base = key("rope.freq_base", 10000.0)
        self.S, self.Hk, self.Hv = key("ssm.state_size"), key("ssm.group_count"), key("ssm.time_step_rank")
        self.K = key("ssm.conv_kernel")
        rec = kv.get(arch + ".attention.recurrent_layers")
        if rec is not None:
            self.recurrent = [bool(x) for x in rec[:self.n_layer]]
        else:
            iv = key("full_attention_interval", 4)
            self.recurrent = [(i + 1) % iv != 0 for i in range(self.n_layer)]
        if arch == "qwen35moe":
            self.k_used = key("expert_used_count")
        self.cache = {}

    def w(self, name):
        if name not in self.cache:
            self.cache[name] = self.r.tensor_array(name).astype(np.float64)
        return self.cache[name]

    def has(self, name):
        return name in self.r.tensors

    def delta_net(self, il, a):
        p = "blk.%d." % il
        T, S, Hk, Hv, K = a.shape[0], self.S, self.Hk, self.Hv, self.K
        kd = Hk * S
        qkv = a @ self.w(p + "attn_qkv.weight").T                       # [T][conv_dim]
        z = (a @ self.w(p + "attn_gate.weight").T).reshape(T, Hv, S)
        beta = sigmoid(a @ self.w(p + "ssm_beta.weight").T)              # [T][Hv]
        g = softplus(a @ self.w(p + "ssm_alpha.weight").T + self.w(p + "ssm_dt.bias")) * self.w(p + "ssm_a")
        cw = self.w(p + "ssm_conv1d.weight")                             # [conv_dim][K]
        win = np.concatenate([np.zeros((K - 1, qkv.shape[1])), qkv], 0)  # zero conv state ++ inputs
        y = np.zeros_like(qkv)
        for i in range(K):
            y += win[i:i + T] * cw[:, i]
        u = silu(y)
        q = u[:, :kd].reshape(T, Hk, S)
        k = u[:, kd:2 * kd].reshape(T, Hk, S)
        v = u[:, 2 * kd:].reshape(T, Hv, S)
        q = q / np.sqrt((q * q).sum(-1, keepdims=True) + self.eps)
        k = k / np.sqrt((k * k).sum(-1, keepdims=True) + self.eps)
        M = np.zeros((Hv, S, S))                                         # M[h][j][i] = S_h[i][j]
        o = np.zeros((T, Hv, S))
        for t in range(T):
            for h in range(Hv):
                hk = h % Hk                                               # tiled V heads
                M[h] *= np.exp(g[t, h])
                d = (v[t, h] - M[h] @ k[t, hk]) * beta[t, h]
                M[h] += np.outer(d, k[t, hk])
                o[t, h] = M[h] @ q[t, hk] / np.sqrt(S)
        n = rms_norm(o, self.w(p + "ssm_norm.weight"), self.eps) * silu(z)
        return n.reshape(T, Hv * S) @ self.w(p + "ssm_out.weight").T

    def rope(self, x, pos):
        # NEOX pairs (i, i + n_rot/2) over the first n_rot dims; dims >= n_rot pass through
        half = self.n_rot // 2
        inv = self.base ** (-2.0 * np.arange(half) / self.n_rot)
        ang = pos[:, None] * inv[None, :]                                # [T][half]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x = x.copy()
        a, b = x[..., :half].copy(), x[..., half:self.n_rot].copy()
        x[..., :half] = a * c - b * s
        x[..., half:self.n_rot] = a * s + b * c
        return x

    def attention(self, il, a):
        p = "blk.%d." % il
        T, H, HKV, hd = a.shape[0], self.n_head, self.n_head_kv, self.hd
        qg = (a @ self.w(p + "attn_q.weight").T).reshape(T, H, 2, hd)
        q, gate = qg[:, :, 0], qg[:, :, 1]
        k = (a @ self.w(p + "attn_k.weight").T).reshape(T, HKV, hd)
        v = (a @ self.w(p + "attn_v.weight").T).reshape(T, HKV, hd)
        q = rms_norm(q, self.w(p + "attn_q_norm.weight"), self.eps)
        k = rms_norm(k, self.w(p + "attn_k_norm.weight"), self.eps)
        pos = np.arange(T, dtype=np.float64)
        q, k = self.rope(q, pos), self.rope(k, pos)
        o = np.zeros((T, H, hd))
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for j in range(H):
            kv = j // (H // HKV)
            s = q[:, j] @ k[:, kv].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(1, keepdims=True))
            o[:, j] = (s / s.sum(1, keepdims=True)) @ v[:, kv]
        o = o.reshape(T, H * hd) * sigmoid(gate.reshape(T, H * hd))
        return o @ self.w(p + "attn_output.weight").T

    def ffn(self, il, x):
        p = "blk.%d." % il
        if self.arch == "qwen35":
            return (silu(x @ self.w(p + "ffn_gate.weight").T) * (x @ self.w(p + "ffn_up.weight").T)) @ self.w(p + "ffn_down.weight").T
        logits = x @ self.w(p + "ffn_gate_inp.weight").T                # [T][E]
        pr = np.exp(logits - logits.max(1, keepdims=True))
        pr /= pr.sum(1, keepdims=True)
        ge, ue, de = self.w(p + "ffn_gate_exps.weight"), self.w(p + "ffn_up_exps.weight"), self.w(p + "ffn_down_exps.weight")
        out = np.zeros_like(x)
        for t in range(x.shape[0]):
            top = np.argsort(-pr[t], kind="stable")[:self.k_used]      # ties: lower expert id
            wt = pr[t, top] / pr[t, top].sum()
            for e, we in zip(top, wt):
                out[t] += we * (de[e] @ (silu(ge[e] @ x[t]) * (ue[e] @ x[t])))
        sh = (silu(x @ self.w(p + "ffn_gate_shexp.weight").T) * (x @ self.w(p + "ffn_up_shexp.weight").T)) @ self.w(p + "ffn_down_shexp.weight").T
        sg = sigmoid(x @ self.w(p + "ffn_gate_inp_shexp.weight"))       # one gate per token
        return out + sg[:, None] * sh

    def forward(self, tokens, dump_dir=None):
        def dump(name, x):
            if dump_dir:
                x.astype("<f4").tofile(os.path.join(dump_dir, name + ".f32"))
        h = self.w("token_embd.weight")[tokens]
        for il in range(self.n_layer):
            a = rms_norm(h, self.w("blk.%d.attn_norm.weight" % il), self.eps)
            m = self.delta_net(il, a) if self.recurrent[il] else self.attention(il, a)
            h = h + m
            f = self.ffn(il, rms_norm(h, self.w("blk.%d.post_attention_norm.weight" % il), self.eps))
            h = h + f
            dump("mixer-%d" % il, m)
            dump("ffn-%d" % il, f)
            dump("l_out-%d" % il, h)
        head = self.w("output.weight") if self.has("output.weight") else self.w("token_embd.weight")
        hn = rms_norm(h, self.w("output_norm.weight"), self.eps)
        dump("result_norm", hn)
        return hn @ head.T


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    dump = None
    if "--dump-layer" in argv:
        i = argv.index("--dump-layer")
        dump = argv[i + 1]
        os.makedirs(dump, exist_ok=True)
        argv = argv[:i] + argv[i + 2:]
    model = Model(argv[0])
    tokens = np.fromfile(argv[1], "<i4")
    model.forward(tokens, dump).astype("<f4").tofile(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
