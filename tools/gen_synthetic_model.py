#!/usr/bin/python3
"""Write a random-weight Qwen3-VL MoE model pair (or a relative) in llama.cpp's GGUF form.

  PREFIX + "text.gguf"    general.architecture = --arch (text model + gpt2/qwen2 tokenizer)
  PREFIX + "mmproj.gguf"  general.architecture = clip, clip.projector_type = qwen3vl_merger

--arch (default qwen3vlmoe) picks the text architecture (qwen3vl-moe.md sections 1.2 / 2.1, and the
loaders in llama.cpp's src/models/<arch>.cpp):
  qwen3vlmoe  MoE FFN (router + *_exps, expert_* keys), IMROPE: rope.dimension_sections, n_deepstack_layers
  qwen3vl     dense SwiGLU FFN (blk.i.ffn_gate/ffn_up/ffn_down, feed_forward_length = --ff), IMROPE keys
  qwen3moe    MoE FFN as qwen3vlmoe, NEOX RoPE: no rope.dimension_sections / n_deepstack_layers; text only
  qwen3       dense FFN as qwen3vl, NEOX RoPE, text only
  qwen35moe   Qwen3.5/3.6 MoE (docs/families/qwen35.md): Gated DeltaNet layers (attn_qkv, attn_gate, ssm_*) with a
              gated full-attention layer every --full-attn-interval (attn_q carries a per-head gate), routed
              experts plus a sigmoid-gated shared expert, post_attention_norm as the FFN norm, partial IMROPE
              (rope.dimension_count = --rope-dim), optional MTP blocks (--nextn), tokenizer.ggml.pre = qwen35
  qwen35      the same with a dense SwiGLU FFN
  gemma4      Gemma 4 (docs/families/gemma4.md): sliding-window and global attention layers in the
              attention.sliding_window_pattern (--swa-period: every n-th layer global), each kind with its own
              head dim and KV heads (--head-dim-swa/--kv-heads-swa), no attn_v on global layers (V = K), proportional
              RoPE (rope_freqs), a dense GeGLU MLP beside the MoE with their post-norms, ffn_gate_inp.scale,
              ffn_down_exps.scale, layer_output_scale, final logit softcap, tied embeddings; tokenizer.ggml.model
              = gemma4 (SPM-style BPE over raw UTF-8 with spaces as U+2581); its mmproj is a gemma4v tower
              (write_mmproj_gemma4: RMSNorm ViT, Q/K norms, post-norms, GeGLU, layer out_scale, x/y position tables,
              std_bias/std_scale, mm.input_projection, the clamp scalars of Gemma4ClippableLinear on every linear)
The text-only archs (qwen3moe, qwen3) never get an mmproj; qwen35moe / qwen35 get one without DeepStack.

Keys, key types, tensor names and ne shapes follow /work/shared/docs/qwen3vl-moe.md sections 1-2 and
mirror the golden set (goldens/qwen3vlmoe-tiny-a manifest.json gguf_inventory). The default is the
"bench" configuration (8 layers x 16 experts top-2, d=512, 8/2 heads of 64, vision depth 4 width 256).

  /usr/bin/python3 tools/gen_synthetic_model.py --out-prefix /tmp/bench/ --dtype q8_0
  /usr/bin/python3 tools/gen_synthetic_model.py --preset tiny --out-prefix /tmp/tiny-

Weights: N(0, gain / sqrt(fan_in)) so every projection keeps unit-scale activations; residual-branch
output projections get an extra 1/sqrt(2 * n_layer); norm weights 1 + N(0, 0.05^2). The router and LM
head gains (--router-gain, --output-gain) make routing and next-token choices decisive rather than
flat. 1-D tensors are always f32; --dtype applies to the 2-D+ weights (q8_0 falls back to f16 for a
tensor whose ne0 is not a multiple of 32; the conv patch kernels are f16 for q8_0/bf16, as in real mmproj files, and
v.position_embd.weight is always f32 because llama.cpp's ggml_interpolate accepts only F32).
"""

import argparse
import collections
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf.gguf_writer import GGUFWriter  # noqa: E402

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>"]
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 3, 4, 5, 6
# Qwen3.5's vocabulary adds these after the six above: video/vision pads are control tokens, the
# think and tool-call tags are added non-special tokens (user-defined in llama.cpp's GGUF)
QWEN35_EXTRA_TOKENS = [("<|video_pad|>", TOKEN_CONTROL), ("<|vision_pad|>", TOKEN_CONTROL), ("<think>", TOKEN_USER_DEFINED),
                       ("</think>", TOKEN_USER_DEFINED), ("<tool_call>", TOKEN_USER_DEFINED),
                       ("</tool_call>", TOKEN_USER_DEFINED)]

CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
                 "{{ '<|im_start|>assistant\\n' }}{% endif %}")

# Qwen3.5's generation prompt opens a think block; enable_thinking=false gives the empty one
# (the format of llama.cpp's models/templates/Qwen3.5-4B.jinja, reduced to text turns)
CHAT_TEMPLATE_QWEN35 = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
                        "{{ '<|im_start|>assistant\\n' }}{% if enable_thinking is defined and enable_thinking is false %}"
                        "{{ '<think>\\n\\n</think>\\n\\n' }}{% else %}{{ '<think>\\n' }}{% endif %}{% endif %}")

# Fixed corpus for the BPE merges (so the vocabulary is deterministic and has real-looking merges).
CORPUS = """\
Describe this image. What is in the picture? Please answer the question in one short sentence.
The image shows a red circle, a blue square and a green triangle on a white background.
There is a cat sitting on the table next to a cup of coffee. The dog is running in the park.
A person is riding a bicycle along the river. The sky is clear and the sun is shining.
In the picture there are three apples, two bananas and one orange in a bowl.
The quick brown fox jumps over the lazy dog. This is a test of the tokenizer merges.
Mixture of experts models route every token to a small number of expert networks.
The vision encoder turns the image into patches, and the merger projects them into the text space.
Which experts fired for this token? The router picked the two experts with the highest scores.
"""

# Qwen2-like pre-tokenizer approximation, only used to split the training corpus into words.
PRETOKEN_RE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+")


def bytes_to_unicode():
    """GPT-2 byte -> printable unicode char table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def train_merges(n_merges):
    """Plain BPE on CORPUS; ties broken by the pair's text so the result is deterministic."""
    b2u = bytes_to_unicode()
    words = collections.Counter()
    for w in PRETOKEN_RE.findall(CORPUS):
        words[tuple(b2u[b] for b in w.encode("utf-8"))] += 1
    merges = []
    while len(merges) < n_merges:
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] += c
        words = nw
    return merges


def build_vocab(n_merges, vocab_size, extra=()):
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    merges = train_merges(n_merges)
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            seen.add(a + b)
    types = [TOKEN_NORMAL] * len(tokens)
    special = {}
    for s in SPECIAL_TOKENS:
        special[s] = len(tokens)
        tokens.append(s)
        types.append(TOKEN_CONTROL)
    for tok, typ in extra:
        special[tok] = len(tokens)
        tokens.append(tok)
        types.append(typ)
    while len(tokens) < vocab_size:  # unused padding ids, as in the real 151936-entry vocab
        tokens.append("[PAD%d]" % len(tokens))
        types.append(TOKEN_UNUSED)
    return tokens, types, ["%s %s" % m for m in merges], special


ARCHS = ["qwen3vlmoe", "qwen3vl", "qwen3moe", "qwen3", "qwen35moe", "qwen35", "gemma4"]
MOE_ARCHS = ("qwen3vlmoe", "qwen3moe", "qwen35moe", "gemma4")
VL_ARCHS = ("qwen3vlmoe", "qwen3vl", "qwen35moe", "qwen35")  # IMROPE with rope.dimension_sections, mmproj
HYBRID_ARCHS = ("qwen35moe", "qwen35")  # Gated DeltaNet + gated attention; mmproj without DeepStack

PRESETS = {
    # the default benchmark model
    "bench": dict(layers=8, experts=16, top_k=2, embd=512, heads=8, kv_heads=2, head_dim=64, ff_exp=512,
                  vocab_merges=250, vocab_size=0, ctx=4096, rope_sections="12,10,10,0",
                  vision_depth=4, vision_width=256, vision_heads=4, vision_ff=1024, vision_patch=16,
                  vision_pos_side=16, deepstack="1,2",
                  ssm_k_heads=4, ssm_v_heads=8, ssm_state=64, conv_kernel=4, full_attn_interval=4, rope_dim=16,
                  ff_shexp=512, nextn=0, swa_period=6, window=64),
    # golden-sized model (same shapes as goldens/qwen3vlmoe-tiny-a)
    "tiny": dict(layers=3, experts=8, top_k=2, embd=64, heads=4, kv_heads=2, head_dim=16, ff_exp=32,
                 vocab_merges=40, vocab_size=0, ctx=256, rope_sections="3,3,2,0",
                 vision_depth=3, vision_width=64, vision_heads=4, vision_ff=128, vision_patch=16,
                 vision_pos_side=4, deepstack="1",
                 ssm_k_heads=2, ssm_v_heads=4, ssm_state=16, conv_kernel=4, full_attn_interval=4, rope_dim=8,
                 ff_shexp=48, nextn=0, swa_period=3, window=16),
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="bench",
                   help="starting configuration; the flags below override it (default: bench)")
    p.add_argument("--out-prefix", required=True,
                   help="output path prefix: writes PREFIX+'text.gguf' and PREFIX+'mmproj.gguf' "
                        "(a prefix ending in '/' is a directory, created if needed)")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16", "q8_0"], default="f32",
                   help="storage type of the 2-D+ weights (default f32)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--text-only", action="store_true", help="do not write the mmproj GGUF")
    p.add_argument("--arch", choices=ARCHS, default="qwen3vlmoe",
                   help="text architecture (default qwen3vlmoe); qwen3moe and qwen3 are text only")
    p.add_argument("--tie-embeddings", action="store_true",
                   help="omit output.weight (LM head = token_embd, drawn with the --output-gain scale)")
    p.add_argument("--name", default=None, help="general.name (default: synthetic-<arch>-<preset>)")
    g = p.add_argument_group("text model")
    g.add_argument("--layers", type=int)
    g.add_argument("--experts", type=int)
    g.add_argument("--top-k", type=int)
    g.add_argument("--embd", type=int)
    g.add_argument("--heads", type=int)
    g.add_argument("--kv-heads", type=int)
    g.add_argument("--head-dim", type=int)
    g.add_argument("--ff-exp", type=int, help="per-expert FFN width (MoE archs)")
    g.add_argument("--ff", type=int, help="dense FFN width, feed_forward_length (dense archs; default 4 * ff-exp)")
    g.add_argument("--ctx", type=int, help="context_length")
    g.add_argument("--rope-sections", help="M-RoPE sections t,h,w,e (sum <= head_dim/2)")
    g.add_argument("--rope-base", type=float, default=10000.0)
    g.add_argument("--rms-eps", type=float, default=1e-6)
    g.add_argument("--vocab-merges", type=int, help="number of BPE merges (vocab = 256 + merges + 6 specials)")
    g.add_argument("--vocab-size", type=int, help="pad the vocabulary with [PADi] unused tokens up to this size")
    g.add_argument("--router-gain", type=float, default=4.0)
    g.add_argument("--output-gain", type=float, default=3.0)
    h = p.add_argument_group("qwen35moe / qwen35 (Gated DeltaNet hybrid)")
    h.add_argument("--ssm-k-heads", type=int, help="DeltaNet key heads (ssm.group_count)")
    h.add_argument("--ssm-v-heads", type=int, help="DeltaNet value heads (ssm.time_step_rank), a multiple of the key heads")
    h.add_argument("--ssm-state", type=int, help="DeltaNet head dim (ssm.state_size)")
    h.add_argument("--conv-kernel", type=int, help="ssm.conv_kernel")
    h.add_argument("--full-attn-interval", type=int, help="every n-th layer is full attention")
    h.add_argument("--rope-dim", type=int, help="rotated dims per attention head (rope.dimension_count)")
    h.add_argument("--ff-shexp", type=int, help="shared-expert FFN width (qwen35moe)")
    h.add_argument("--nextn", type=int, help="MTP blocks appended after the trunk (nextn_predict_layers)")
    h.add_argument("--no-recurrent-array", action="store_true",
                   help="omit attention.recurrent_layers (loaders then derive the pattern from full_attention_interval)")
    m = p.add_argument_group("gemma4 (--head-dim / --kv-heads are the sliding layers')")
    m.add_argument("--swa-period", type=int, help="every n-th layer is global attention, the others sliding-window")
    m.add_argument("--window", type=int, help="attention.sliding_window")
    m.add_argument("--head-dim-global", type=int, help="head dim of the global layers (default 2 * --head-dim)")
    m.add_argument("--kv-heads-global", type=int, help="KV heads of the global layers (default max(1, kv-heads / 2))")
    m.add_argument("--softcap", type=float, default=30.0,
                   help="final_logit_softcapping (0: no capping; negative: key omitted, llama.cpp then uses 30)")
    m.add_argument("--rope-base-swa", type=float, default=10000.0, help="rope.freq_base_swa (rope.freq_base: --rope-base)")
    m.add_argument("--global-v", action="store_true", help="write attn_v on global layers too (default: V = K there)")
    m.add_argument("--merged-gate-up", action="store_true",
                   help="write each MoE layer's gate and up experts as one ffn_gate_up_exps [d, 2*ff_exp, experts] (same "
                        "weights as without)")
    v = p.add_argument_group("vision tower")
    v.add_argument("--vision-depth", type=int)
    v.add_argument("--vision-width", type=int)
    v.add_argument("--vision-heads", type=int)
    v.add_argument("--vision-ff", type=int)
    v.add_argument("--vision-patch", type=int)
    v.add_argument("--vision-pos-side", type=int, help="learned position grid side (image_size = side * patch)")
    v.add_argument("--deepstack", help="comma-separated vision layers tapped for DeepStack (may be empty)")
    v.add_argument("--vision-act", choices=["quick", "gelu", "silu"], default="quick",
                   help="gemma4v MLP gate: quick = no clip.use_gelu/use_silu key, as converted files (llama.cpp runs "
                        "gelu_quick); gelu / silu write clip.use_gelu / clip.use_silu")
    a = p.parse_args(argv)
    cfg = dict(PRESETS[a.preset])
    for k in list(cfg):
        val = getattr(a, k, None)
        if val is not None:
            cfg[k] = val
    if a.arch in HYBRID_ARCHS and a.rope_dim is None and a.head_dim is not None:
        cfg["rope_dim"] = max(2, cfg["head_dim"] // 4 // 2 * 2)  # Qwen3.5's partial_rotary_factor 0.25
    if a.rope_sections is None and (a.head_dim is not None or a.arch in HYBRID_ARCHS):
        # preset sections scaled to the rotated dims in Qwen3-VL's 24:20:20 proportion (sum = rotated/2)
        half = (cfg["rope_dim"] if a.arch in HYBRID_ARCHS else cfg["head_dim"]) // 2
        hw = (half - round(half * 24 / 64)) // 2
        cfg["rope_sections"] = "%d,%d,%d,0" % (half - 2 * hw, hw, hw)
    cfg["rope_sections"] = [int(x) for x in str(cfg["rope_sections"]).split(",")]
    cfg["deepstack"] = [int(x) for x in str(cfg["deepstack"]).split(",") if x.strip() != ""]
    cfg["ff"] = a.ff if a.ff is not None else 4 * cfg["ff_exp"]
    if a.arch in HYBRID_ARCHS:
        cfg["deepstack"] = []  # Qwen3.5's qwen3vl_merger has no DeepStack taps
    if a.arch not in VL_ARCHS and a.arch != "gemma4":
        a.text_only = True  # qwen3moe / qwen3 take no image input
    cfg["head_dim_global"] = a.head_dim_global or 2 * cfg["head_dim"]
    cfg["kv_heads_global"] = a.kv_heads_global or max(1, cfg["kv_heads"] // 2)
    return a, cfg


def check_cfg(cfg, arch):
    errs = []
    vl, moe = arch in VL_ARCHS, arch in MOE_ARCHS
    if vl and len(cfg["rope_sections"]) != 4:
        errs.append("--rope-sections needs 4 values")
    rot = cfg["rope_dim"] if arch in HYBRID_ARCHS else cfg["head_dim"]
    if vl and sum(cfg["rope_sections"]) > rot // 2:
        errs.append("sum(rope sections) must be <= rotated dims / 2")
    if arch in HYBRID_ARCHS:
        if cfg["ssm_v_heads"] % cfg["ssm_k_heads"]:
            errs.append("--ssm-v-heads must be a multiple of --ssm-k-heads")
        if not 2 <= cfg["conv_kernel"] <= 16:
            errs.append("--conv-kernel must be in 2..16")
        if cfg["rope_dim"] % 2 or not 0 < cfg["rope_dim"] <= cfg["head_dim"]:
            errs.append("--rope-dim must be even and in (0, head_dim]")
        if cfg["full_attn_interval"] < 1 or cfg["nextn"] < 0:
            errs.append("--full-attn-interval must be >= 1 and --nextn >= 0")
    if cfg["head_dim"] % 2:
        errs.append("head_dim must be even (RoPE)")
    if arch == "gemma4":
        if cfg["head_dim_global"] % 8 or cfg["heads"] % cfg["kv_heads_global"]:
            errs.append("--head-dim-global must be a multiple of 8 and --kv-heads-global divide --heads")
        if cfg["swa_period"] < 1 or cfg["window"] < 1:
            errs.append("--swa-period and --window must be >= 1")
    if cfg["heads"] % cfg["kv_heads"]:
        errs.append("heads must be a multiple of kv-heads")
    if moe and not 0 < cfg["top_k"] <= cfg["experts"]:
        errs.append("need 0 < top-k <= experts")
    if not moe and cfg["ff"] <= 0:
        errs.append("--ff must be > 0")
    if cfg["vision_width"] % cfg["vision_heads"]:
        errs.append("vision width must be a multiple of vision heads")
    if (cfg["vision_width"] // cfg["vision_heads"]) % 4:
        errs.append("vision head dim must be a multiple of 4 (2-D RoPE)")
    if any(not 0 <= d < cfg["vision_depth"] for d in cfg["deepstack"]):
        errs.append("deepstack layers must be in [0, vision_depth)")
    if vl and len(cfg["deepstack"]) > cfg["layers"]:
        errs.append("more deepstack taps than text layers")
    if errs:
        raise SystemExit("gen_synthetic_model: " + "; ".join(errs))


class Gen:
    def __init__(self, seed, dtype):
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype

    def normal(self, shape, std):
        return (self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def norm_w(self, n):
        return (1.0 + self.normal((n,), 0.05)).astype(np.float32)

    def wtype(self, shape, allow_q8=True):
        if len(shape) == 1:
            return "f32"
        if self.dtype == "q8_0" and shape[-1] % 32:
            return "f16"
        if not allow_q8 and self.dtype in ("q8_0", "bf16"):
            return "f16"  # conv kernels: llama.cpp's im2col path takes f32/f16 only
        return self.dtype


def write_text(path, cfg, args, gen):
    L, E, K, D = cfg["layers"], cfg["experts"], cfg["top_k"], cfg["embd"]
    H, HKV, HD, FF = cfg["heads"], cfg["kv_heads"], cfg["head_dim"], cfg["ff_exp"]
    tokens, types, merges, special = build_vocab(cfg["vocab_merges"], cfg["vocab_size"])
    V = len(tokens)
    arch = args.arch
    moe, vl = arch in MOE_ARCHS, arch in VL_ARCHS
    w = GGUFWriter(path, arch)
    w.add_string("general.type", "model")
    w.add_string("general.name", args.name or "synthetic-%s-%s" % (arch, args.preset))
    w.add_u32("general.file_type", {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[args.dtype])
    w.add_u32(arch + ".block_count", L)
    w.add_u32(arch + ".context_length", cfg["ctx"])
    w.add_u32(arch + ".embedding_length", D)
    # MoE: informational only (llama.cpp's fallback for a missing expert_feed_forward_length); dense: n_ff
    w.add_u32(arch + ".feed_forward_length", FF * 4 if moe else cfg["ff"])
    w.add_u32(arch + ".attention.head_count", H)
    w.add_u32(arch + ".attention.head_count_kv", HKV)
    if vl:  # IMROPE sections; qwen3moe / qwen3 use plain NEOX RoPE and have no such key
        w.add_array(arch + ".rope.dimension_sections", cfg["rope_sections"], "i32")
    w.add_f32(arch + ".rope.freq_base", args.rope_base)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", args.rms_eps)
    if moe:
        w.add_u32(arch + ".expert_count", E)
        w.add_u32(arch + ".expert_used_count", K)
    w.add_u32(arch + ".attention.key_length", HD)
    w.add_u32(arch + ".attention.value_length", HD)
    if moe:
        w.add_u32(arch + ".expert_feed_forward_length", FF)
    if vl:
        w.add_u32(arch + ".n_deepstack_layers", len(cfg["deepstack"]))
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", tokens, "string")
    w.add_array("tokenizer.ggml.token_type", types, "i32")
    w.add_array("tokenizer.ggml.merges", merges, "string")
    w.add_u32("tokenizer.ggml.eos_token_id", special["<|im_end|>"])
    w.add_u32("tokenizer.ggml.padding_token_id", special["<|endoftext|>"])
    w.add_u32("tokenizer.ggml.bos_token_id", special["<|endoftext|>"])
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)

    res = 1.0 / np.sqrt(2.0 * L)  # residual-branch scale

    def t(name, a):
        w.add_tensor(name, a, gen.wtype(a.shape))

    # tied: token_embd is also the LM head, so it gets the head's scale (RMSNorm makes the input scale moot)
    t("token_embd.weight", gen.normal((V, D), args.output_gain / np.sqrt(D) if args.tie_embeddings else 1.0))
    for i in range(L):
        p = "blk.%d." % i
        t(p + "attn_norm.weight", gen.norm_w(D))
        t(p + "attn_q.weight", gen.normal((H * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_k.weight", gen.normal((HKV * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_v.weight", gen.normal((HKV * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_output.weight", gen.normal((D, H * HD), res / np.sqrt(H * HD)))
        t(p + "attn_q_norm.weight", gen.norm_w(HD))
        t(p + "attn_k_norm.weight", gen.norm_w(HD))
        t(p + "ffn_norm.weight", gen.norm_w(D))
        if moe:
            t(p + "ffn_gate_inp.weight", gen.normal((E, D), args.router_gain / np.sqrt(D)))
            t(p + "ffn_gate_exps.weight", gen.normal((E, FF, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_up_exps.weight", gen.normal((E, FF, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_down_exps.weight", gen.normal((E, D, FF), 2.0 * res / np.sqrt(FF)))
        else:  # dense SwiGLU: ne [n_embd, n_ff] for gate/up, [n_ff, n_embd] for down
            FD = cfg["ff"]
            t(p + "ffn_gate.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_up.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_down.weight", gen.normal((D, FD), 2.0 * res / np.sqrt(FD)))
    t("output_norm.weight", gen.norm_w(D))
    if not args.tie_embeddings:
        t("output.weight", gen.normal((V, D), args.output_gain / np.sqrt(D)))
    w.write()
    return V, special


def is_recurrent(cfg, i):
    """llama.cpp's default pattern: trunk layer i is Gated DeltaNet unless (i + 1) % interval == 0."""
    return i < cfg["layers"] and (i + 1) % cfg["full_attn_interval"] != 0


def write_text_qwen35(path, cfg, args, gen):
    """qwen35moe / qwen35 (docs/families/qwen35.md sections 1-2): names, keys and ne shapes of llama.cpp's loader."""
    L, N, D = cfg["layers"], cfg["nextn"], cfg["embd"]
    H, HKV, HD = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    E, K, FF, FS = cfg["experts"], cfg["top_k"], cfg["ff_exp"], cfg["ff_shexp"]
    HK, HV, S, KC = cfg["ssm_k_heads"], cfg["ssm_v_heads"], cfg["ssm_state"], cfg["conv_kernel"]
    key_dim, value_dim = HK * S, HV * S
    conv_dim = 2 * key_dim + value_dim
    tokens, types, merges, special = build_vocab(cfg["vocab_merges"], cfg["vocab_size"], QWEN35_EXTRA_TOKENS)
    V = len(tokens)
    arch = args.arch
    moe = arch in MOE_ARCHS
    w = GGUFWriter(path, arch)
    w.add_string("general.type", "model")
    w.add_string("general.name", args.name or "synthetic-%s-%s" % (arch, args.preset))
    w.add_u32("general.file_type", {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[args.dtype])
    w.add_u32(arch + ".block_count", L + N)
    if N:
        w.add_u32(arch + ".nextn_predict_layers", N)
    w.add_u32(arch + ".context_length", cfg["ctx"])
    w.add_u32(arch + ".embedding_length", D)
    w.add_u32(arch + ".feed_forward_length", FF * 4 if moe else cfg["ff"])
    w.add_u32(arch + ".attention.head_count", H)
    w.add_u32(arch + ".attention.head_count_kv", HKV)
    w.add_u32(arch + ".attention.key_length", HD)
    w.add_u32(arch + ".attention.value_length", HD)
    w.add_array(arch + ".rope.dimension_sections", cfg["rope_sections"], "i32")
    w.add_u32(arch + ".rope.dimension_count", cfg["rope_dim"])
    w.add_f32(arch + ".rope.freq_base", args.rope_base)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", args.rms_eps)
    if moe:
        w.add_u32(arch + ".expert_count", E)
        w.add_u32(arch + ".expert_used_count", K)
        w.add_u32(arch + ".expert_feed_forward_length", FF)
        w.add_u32(arch + ".expert_shared_feed_forward_length", FS)
    w.add_u32(arch + ".ssm.conv_kernel", KC)
    w.add_u32(arch + ".ssm.state_size", S)
    w.add_u32(arch + ".ssm.group_count", HK)
    w.add_u32(arch + ".ssm.time_step_rank", HV)
    w.add_u32(arch + ".ssm.inner_size", value_dim)
    if not args.no_recurrent_array:  # the converter writes it from HF layer_types; MTP blocks are never recurrent
        w.add_array(arch + ".attention.recurrent_layers", [is_recurrent(cfg, i) for i in range(L + N)], "bool")
    w.add_u32(arch + ".full_attention_interval", cfg["full_attn_interval"])
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen35")
    w.add_array("tokenizer.ggml.tokens", tokens, "string")
    w.add_array("tokenizer.ggml.token_type", types, "i32")
    w.add_array("tokenizer.ggml.merges", merges, "string")
    w.add_u32("tokenizer.ggml.eos_token_id", special["<|im_end|>"])
    w.add_u32("tokenizer.ggml.padding_token_id", special["<|endoftext|>"])
    w.add_u32("tokenizer.ggml.bos_token_id", special["<|endoftext|>"])
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE_QWEN35)

    res = 1.0 / np.sqrt(2.0 * L)  # residual-branch scale

    def t(name, a):
        w.add_tensor(name, a, gen.wtype(a.shape))

    def attention(p):
        # attn_q rows: per head hd query rows then hd gate rows (numpy shape (2*H*HD, D) = ne [D, 2*H*HD])
        t(p + "attn_q.weight", gen.normal((2 * H * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_k.weight", gen.normal((HKV * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_v.weight", gen.normal((HKV * HD, D), 1.0 / np.sqrt(D)))
        t(p + "attn_output.weight", gen.normal((D, H * HD), res / np.sqrt(H * HD)))
        t(p + "attn_q_norm.weight", gen.norm_w(HD))
        t(p + "attn_k_norm.weight", gen.norm_w(HD))

    def ffn(p):
        if moe:
            t(p + "ffn_gate_inp.weight", gen.normal((E, D), args.router_gain / np.sqrt(D)))
            t(p + "ffn_gate_exps.weight", gen.normal((E, FF, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_up_exps.weight", gen.normal((E, FF, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_down_exps.weight", gen.normal((E, D, FF), 2.0 * res / np.sqrt(FF)))
            t(p + "ffn_gate_inp_shexp.weight", gen.normal((D,), 1.0 / np.sqrt(D)))  # 1-D: one gate logit per token
            t(p + "ffn_gate_shexp.weight", gen.normal((FS, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_up_shexp.weight", gen.normal((FS, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_down_shexp.weight", gen.normal((D, FS), 2.0 * res / np.sqrt(FS)))
        else:
            FD = cfg["ff"]
            t(p + "ffn_gate.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_up.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
            t(p + "ffn_down.weight", gen.normal((D, FD), 2.0 * res / np.sqrt(FD)))

    t("token_embd.weight", gen.normal((V, D), args.output_gain / np.sqrt(D) if args.tie_embeddings else 1.0))
    for i in range(L + N):
        p = "blk.%d." % i
        t(p + "attn_norm.weight", gen.norm_w(D))
        t(p + "post_attention_norm.weight", gen.norm_w(D))
        if is_recurrent(cfg, i):
            t(p + "attn_qkv.weight", gen.normal((conv_dim, D), 1.0 / np.sqrt(D)))   # rows q | k | v (tiled V heads)
            t(p + "attn_gate.weight", gen.normal((value_dim, D), 1.0 / np.sqrt(D)))  # z
            # ne [K, conv_dim]; always f32: ggml_ssm_conv reads f32 only (the converter and llama-quantize keep it so)
            w.add_tensor(p + "ssm_conv1d.weight", gen.normal((conv_dim, KC), 1.0 / np.sqrt(KC)), "f32")
            # HF init: dt = exp(U(log 1e-3, log 0.1)), dt_bias = softplus^-1(dt); A = U(1, 16), ssm_a = -A
            dt = np.exp(gen.rng.uniform(np.log(1e-3), np.log(0.1), HV))
            t(p + "ssm_dt.bias", (dt + np.log(-np.expm1(-dt))).astype(np.float32))
            t(p + "ssm_a", (-gen.rng.uniform(1.0, 16.0, HV)).astype(np.float32))
            t(p + "ssm_beta.weight", gen.normal((HV, D), 1.0 / np.sqrt(D)))
            t(p + "ssm_alpha.weight", gen.normal((HV, D), 1.0 / np.sqrt(D)))
            t(p + "ssm_norm.weight", gen.norm_w(S))
            t(p + "ssm_out.weight", gen.normal((D, value_dim), res / np.sqrt(value_dim)))
        else:
            attention(p)
        ffn(p)
        if i >= L:  # MTP block: llama.cpp loads it only for drafting; a main-pass loader must skip it
            t(p + "nextn.eh_proj.weight", gen.normal((D, 2 * D), 1.0 / np.sqrt(2 * D)))
            t(p + "nextn.enorm.weight", gen.norm_w(D))
            t(p + "nextn.hnorm.weight", gen.norm_w(D))
            t(p + "nextn.shared_head_norm.weight", gen.norm_w(D))
    t("output_norm.weight", gen.norm_w(D))
    if not args.tie_embeddings:
        t("output.weight", gen.normal((V, D), args.output_gain / np.sqrt(D)))
    w.write()
    return V, special


# Gemma 4's special tokens: the four Gemma ids first, then the turn / channel / image markers
# (docs/families/gemma4.md section 5; the converter makes the channel and tool markers user-defined)
GEMMA4_SPECIAL = [("<pad>", TOKEN_CONTROL), ("<eos>", TOKEN_CONTROL), ("<bos>", TOKEN_CONTROL), ("<unk>", TOKEN_CONTROL)]
GEMMA4_MARKERS = [("<|turn>", TOKEN_CONTROL), ("<turn|>", TOKEN_CONTROL), ("<|channel>", TOKEN_USER_DEFINED),
                  ("<channel|>", TOKEN_USER_DEFINED), ("<|think|>", TOKEN_CONTROL), ("<|image>", TOKEN_CONTROL),
                  ("<image|>", TOKEN_CONTROL), ("<|image|>", TOKEN_CONTROL)]
# the template's turns with the generation prompt's empty thought channel when thinking is off (the default),
# reduced from models/templates/google-gemma-4-31B-it.jinja to text turns
CHAT_TEMPLATE_GEMMA4 = ("{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
                        "else message['role'] %}{{ '<|turn>' + role + '\\n' + message['content'] | trim + '<turn|>\\n' }}"
                        "{% endfor %}{% if add_generation_prompt %}{{ '<|turn>model\\n' }}{% if not enable_thinking | "
                        "default(false) %}{{ '<|channel>thought\\n<channel|>' }}{% endif %}{% endif %}")
SPM_SPACE = "\u2581"


def build_vocab_gemma4(n_merges, vocab_size):
    """Gemma 4's tokenizer shape (tokenizer.ggml.model = gemma4): spaces become U+2581, the text splits only at
    newline runs, BPE merges run over raw UTF-8 characters (no byte mapping). Merges trained on CORPUS lines."""
    words = collections.Counter()
    for line in CORPUS.split("\n"):
        if line:
            words[tuple(line.replace(" ", SPM_SPACE))] += 1
    merges = []
    while len(merges) < n_merges:
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        nw = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] += c
        words = nw
    tokens, types, special = [], [], {}
    for tok, typ in GEMMA4_SPECIAL + GEMMA4_MARKERS:
        special[tok] = len(tokens)
        tokens.append(tok)
        types.append(typ)
    for b in range(256):  # byte fallback tokens, as in Gemma's vocabulary (llama.cpp looks up <0xXX> for unknown bytes)
        tokens.append("<0x%02X>" % b)
        types.append(TOKEN_BYTE)
    base = ["\n", "\n\n", SPM_SPACE] + [chr(c) for c in range(33, 127)]  # printable ASCII, the space mark, newline runs
    seen = set(tokens)
    for s in base:
        tokens.append(s)
        types.append(TOKEN_NORMAL)
        seen.add(s)
    for a, b in merges:
        if a + b not in seen:
            tokens.append(a + b)
            types.append(TOKEN_NORMAL)
            seen.add(a + b)
    while len(tokens) < vocab_size:
        tokens.append("<unused%d>" % len(tokens))
        types.append(TOKEN_UNUSED)
    return tokens, types, ["%s %s" % m for m in merges], special


def is_swa(cfg, i):
    """The gemma4 pattern: every --swa-period-th layer is global (26B-A4B: 5 sliding then 1 global)."""
    return (i + 1) % cfg["swa_period"] != 0


def write_text_gemma4(path, cfg, args, gen):
    """gemma4 (docs/families/gemma4.md sections 1-2): names, keys and ne shapes of llama.cpp's loader, every optional
    tensor of the 26B-A4B layout (layer_output_scale, ffn_down_exps.scale; attn_v only on sliding layers)."""
    L, D, H = cfg["layers"], cfg["embd"], cfg["heads"]
    E, K, F, FD = cfg["experts"], cfg["top_k"], cfg["ff_exp"], cfg["ff"]
    hd_s, kv_s, hd_g, kv_g = cfg["head_dim"], cfg["kv_heads"], cfg["head_dim_global"], cfg["kv_heads_global"]
    tokens, types, merges, special = build_vocab_gemma4(cfg["vocab_merges"], cfg["vocab_size"])
    V = len(tokens)
    arch = "gemma4"
    swa = [is_swa(cfg, i) for i in range(L)]
    w = GGUFWriter(path, arch)
    w.add_string("general.type", "model")
    w.add_string("general.name", args.name or "synthetic-%s-%s" % (arch, args.preset))
    w.add_u32("general.file_type", {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[args.dtype])
    w.add_u32(arch + ".block_count", L)
    w.add_u32(arch + ".context_length", cfg["ctx"])
    w.add_u32(arch + ".embedding_length", D)
    w.add_u32(arch + ".embedding_length_per_layer_input", 0)
    w.add_u32(arch + ".feed_forward_length", FD)
    w.add_u32(arch + ".attention.head_count", H)
    w.add_array(arch + ".attention.head_count_kv", [kv_s if s else kv_g for s in swa], "u32")
    w.add_u32(arch + ".attention.key_length", hd_g)
    w.add_u32(arch + ".attention.value_length", hd_g)
    w.add_u32(arch + ".attention.key_length_swa", hd_s)
    w.add_u32(arch + ".attention.value_length_swa", hd_s)
    w.add_u32(arch + ".rope.dimension_count", hd_g)
    w.add_u32(arch + ".rope.dimension_count_swa", hd_s)
    w.add_f32(arch + ".rope.freq_base", args.rope_base if args.rope_base != 10000.0 else 1e6)
    w.add_f32(arch + ".rope.freq_base_swa", args.rope_base_swa)
    w.add_f32(arch + ".attention.layer_norm_rms_epsilon", args.rms_eps)
    w.add_u32(arch + ".attention.sliding_window", cfg["window"])
    w.add_array(arch + ".attention.sliding_window_pattern", swa, "bool")
    w.add_u32(arch + ".attention.shared_kv_layers", 0)
    if args.softcap >= 0:  # 0: written as 0, no capping (an absent key means llama.cpp's default of 30)
        w.add_f32(arch + ".final_logit_softcapping", args.softcap)
    w.add_u32(arch + ".expert_count", E)
    w.add_u32(arch + ".expert_used_count", K)
    w.add_u32(arch + ".expert_feed_forward_length", F)
    w.add_string("tokenizer.ggml.model", "gemma4")
    w.add_array("tokenizer.ggml.tokens", tokens, "string")
    w.add_array("tokenizer.ggml.scores", [0.0] * V, "f32")
    w.add_array("tokenizer.ggml.token_type", types, "i32")
    w.add_array("tokenizer.ggml.merges", merges, "string")
    w.add_u32("tokenizer.ggml.bos_token_id", special["<bos>"])
    w.add_u32("tokenizer.ggml.eos_token_id", special["<eos>"])
    w.add_u32("tokenizer.ggml.unknown_token_id", special["<unk>"])
    w.add_u32("tokenizer.ggml.padding_token_id", special["<pad>"])
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_space_prefix", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE_GEMMA4)

    def t(name, a):
        w.add_tensor(name, a, gen.wtype(a.shape))

    def f32(name, a):  # norms, scales, rope_freqs: always f32
        w.add_tensor(name, a.astype(np.float32), "f32")

    def scale(n, lo, hi):
        return gen.rng.uniform(lo, hi, n).astype(np.float32)

    # always tied (no output.weight, as in the released files): token_embd carries the LM head's scale; the graph
    # multiplies the input rows by sqrt(D)
    t("token_embd.weight", gen.normal((V, D), args.output_gain / np.sqrt(D)))
    n_p = hd_g // 4 // 2  # proportional RoPE: partial_rotary_factor 0.25 of the global head's pairs rotate
    f32("rope_freqs.weight", np.array([1.0] * n_p + [1e30] * (hd_g // 2 - n_p), dtype=np.float32))
    for i in range(L):
        p = "blk.%d." % i
        hd, kv = (hd_s, kv_s) if swa[i] else (hd_g, kv_g)
        f32(p + "attn_norm.weight", gen.norm_w(D))
        t(p + "attn_q.weight", gen.normal((H * hd, D), 1.0 / np.sqrt(D)))
        t(p + "attn_k.weight", gen.normal((kv * hd, D), 1.0 / np.sqrt(D)))
        if swa[i] or args.global_v:  # the 26B's global layers have none: V is the raw K projection
            t(p + "attn_v.weight", gen.normal((kv * hd, D), 1.0 / np.sqrt(D)))
        t(p + "attn_output.weight", gen.normal((D, H * hd), 1.0 / np.sqrt(H * hd)))
        f32(p + "attn_q_norm.weight", gen.norm_w(hd))
        f32(p + "attn_k_norm.weight", gen.norm_w(hd))
        f32(p + "post_attention_norm.weight", gen.norm_w(D))
        f32(p + "layer_output_scale.weight", scale(1, 0.6, 1.0))
        # dense GeGLU MLP beside the MoE
        f32(p + "ffn_norm.weight", gen.norm_w(D))
        t(p + "ffn_gate.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
        t(p + "ffn_up.weight", gen.normal((FD, D), 1.0 / np.sqrt(D)))
        t(p + "ffn_down.weight", gen.normal((D, FD), 1.0 / np.sqrt(FD)))
        f32(p + "post_ffw_norm_1.weight", gen.norm_w(D))
        # the MoE: its router reads rms_norm(x) / sqrt(D) * ffn_gate_inp.scale
        t(p + "ffn_gate_inp.weight", gen.normal((E, D), args.router_gain))
        f32(p + "ffn_gate_inp.scale", scale(D, 0.5, 1.5))
        f32(p + "pre_ffw_norm_2.weight", gen.norm_w(D))
        ge, ue = gen.normal((E, F, D), 1.0 / np.sqrt(D)), gen.normal((E, F, D), 1.0 / np.sqrt(D))
        if args.merged_gate_up:  # [E][2F][D]: expert e's gate rows, then its up rows (the same draws as unmerged)
            t(p + "ffn_gate_up_exps.weight", np.concatenate([ge, ue], axis=1))
        else:
            t(p + "ffn_gate_exps.weight", ge)
            t(p + "ffn_up_exps.weight", ue)
        t(p + "ffn_down_exps.weight", gen.normal((E, D, F), 1.0 / np.sqrt(F)))
        f32(p + "ffn_down_exps.scale", scale(E, 0.5, 1.5))
        f32(p + "post_ffw_norm_2.weight", gen.norm_w(D))
        f32(p + "post_ffw_norm.weight", gen.norm_w(D))
    f32("output_norm.weight", gen.norm_w(D))
    w.write()
    return V, special


def write_mmproj(path, cfg, args, gen):
    C, NL, NH, FFV = cfg["vision_width"], cfg["vision_depth"], cfg["vision_heads"], cfg["vision_ff"]
    P, S, D = cfg["vision_patch"], cfg["vision_pos_side"], cfg["embd"]
    C4 = 4 * C
    ds = cfg["deepstack"]
    w = GGUFWriter(path, "clip")
    w.add_string("general.type", "mmproj")
    w.add_string("general.name", (args.name or "synthetic-%s-%s" % (args.arch, args.preset)) + "-mmproj")
    w.add_u32("general.file_type", {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[args.dtype])
    w.add_bool("clip.has_vision_encoder", True)
    w.add_u32("clip.vision.projection_dim", D)
    w.add_u32("clip.vision.image_size", S * P)
    w.add_u32("clip.vision.patch_size", P)
    w.add_u32("clip.vision.embedding_length", C)
    w.add_u32("clip.vision.feed_forward_length", FFV)
    w.add_u32("clip.vision.block_count", NL)
    w.add_u32("clip.vision.attention.head_count", NH)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5], "f32")
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5], "f32")
    w.add_string("clip.projector_type", "qwen3vl_merger")
    w.add_bool("clip.use_gelu", True)
    w.add_u32("clip.vision.spatial_merge_size", 2)
    w.add_f32("clip.vision.attention.layer_norm_epsilon", args.rms_eps)
    w.add_array("clip.vision.is_deepstack_layers", [l in ds for l in range(NL)], "bool")

    def t(name, a, allow_q8=True):
        w.add_tensor(name, a, gen.wtype(a.shape, allow_q8))

    def bias(n):
        return gen.normal((n,), 0.02)

    kin = 3 * P * P * 2  # both temporal frames feed the same patch
    # conv kernels, torch shape (OC, C, KH, KW) -> ne [KW, KH, C, OC]; never q8_0 (im2col path)
    t("v.patch_embd.weight", gen.normal((C, 3, P, P), 1.0 / np.sqrt(kin)), allow_q8=False)
    t("v.patch_embd.weight.1", gen.normal((C, 3, P, P), 1.0 / np.sqrt(kin)), allow_q8=False)
    t("v.patch_embd.bias", bias(C))
    # always f32: llama.cpp resizes it with ggml_interpolate, which asserts an F32 input
    w.add_tensor("v.position_embd.weight", gen.normal((S * S, C), 0.5), "f32")
    res = 1.0 / np.sqrt(2.0 * NL)
    for l in range(NL):
        p = "v.blk.%d." % l
        t(p + "ln1.weight", gen.norm_w(C))
        t(p + "ln1.bias", bias(C))
        t(p + "attn_qkv.weight", gen.normal((3 * C, C), 1.0 / np.sqrt(C)))
        t(p + "attn_qkv.bias", bias(3 * C))
        t(p + "attn_out.weight", gen.normal((C, C), res / np.sqrt(C)))
        t(p + "attn_out.bias", bias(C))
        t(p + "ln2.weight", gen.norm_w(C))
        t(p + "ln2.bias", bias(C))
        t(p + "ffn_up.weight", gen.normal((FFV, C), 1.0 / np.sqrt(C)))
        t(p + "ffn_up.bias", bias(FFV))
        t(p + "ffn_down.weight", gen.normal((C, FFV), 2.0 * res / np.sqrt(FFV)))
        t(p + "ffn_down.bias", bias(C))
    for l in ds:
        p = "v.deepstack.%d." % l
        t(p + "norm.weight", gen.norm_w(C4))
        t(p + "norm.bias", bias(C4))
        t(p + "fc1.weight", gen.normal((C4, C4), 1.0 / np.sqrt(C4)))
        t(p + "fc1.bias", bias(C4))
        t(p + "fc2.weight", gen.normal((D, C4), 1.0 / np.sqrt(C4)))
        t(p + "fc2.bias", bias(D))
    t("v.post_ln.weight", gen.norm_w(C))
    t("v.post_ln.bias", bias(C))
    t("mm.0.weight", gen.normal((C4, C4), 1.0 / np.sqrt(C4)))
    t("mm.0.bias", bias(C4))
    t("mm.2.weight", gen.normal((D, C4), 1.0 / np.sqrt(C4)))
    t("mm.2.bias", bias(D))
    w.write()


def write_mmproj_gemma4(path, cfg, args, gen):
    """A gemma4v mmproj (docs/families/gemma4.md section 7) with llama.cpp's names and keys (conversion/gemma.py
    Gemma4VisionAudioModel, gguf-py tensor_mapping, tools/mtmd/clip.cpp): every optional tensor a real file may carry
    (Q/K norms, the post-norms, out_scale, std_bias/std_scale) and the Gemma4ClippableLinear scalars
    (<linear>.input_min/.input_max/.output_min/.output_max, f32 [1]) on every linear layer but layer 0's attn_v
    (absent: llama.cpp's +-FLT_MAX, no clamp). No clip.use_gelu, as in converted files: llama.cpp then runs the MLP
    as GeGLU with gelu_quick. No clip.vision.projector.scale_factor: the pooling kernel is llama.cpp's default 3."""
    C, NL, NH, FFV = cfg["vision_width"], cfg["vision_depth"], cfg["vision_heads"], cfg["vision_ff"]
    P, D = cfg["vision_patch"], cfg["embd"]
    POS = max(64, cfg["vision_pos_side"] ** 2)  # rows of each (x and y) position table: patches per side
    hd = C // NH
    w = GGUFWriter(path, "clip")
    w.add_string("general.type", "mmproj")
    w.add_string("general.name", (args.name or "synthetic-%s-%s" % (args.arch, args.preset)) + "-mmproj")
    w.add_u32("general.file_type", {"f32": 0, "f16": 1, "q8_0": 7, "bf16": 32}[args.dtype])
    w.add_bool("clip.has_vision_encoder", True)
    w.add_u32("clip.vision.projection_dim", D)
    w.add_u32("clip.vision.image_size", 224)  # the converter's placeholder (unused)
    w.add_u32("clip.vision.patch_size", P)
    w.add_u32("clip.vision.embedding_length", C)
    w.add_u32("clip.vision.feed_forward_length", FFV)
    w.add_u32("clip.vision.block_count", NL)
    w.add_u32("clip.vision.attention.head_count", NH)
    w.add_array("clip.vision.image_mean", [0.0, 0.0, 0.0], "f32")
    w.add_array("clip.vision.image_std", [1.0, 1.0, 1.0], "f32")
    w.add_string("clip.projector_type", "gemma4v")
    w.add_f32("clip.vision.attention.layer_norm_epsilon", args.rms_eps)
    if args.vision_act != "quick":
        w.add_bool("clip.use_" + args.vision_act, True)

    def t(name, a, allow_q8=True):
        w.add_tensor(name, a, gen.wtype(a.shape, allow_q8))

    def f32(name, a):
        w.add_tensor(name, np.asarray(a, dtype=np.float32), "f32")

    def clamps(base, scale_out):
        """the four scalars of one clippable linear: wide enough to keep most values, narrow enough to bite"""
        lo, hi = gen.rng.uniform(1.8, 2.6, 2), gen.rng.uniform(1.6, 2.4, 2) * scale_out
        f32(base + ".input_min", [-lo[0]])
        f32(base + ".input_max", [lo[1]])
        f32(base + ".output_min", [-hi[0]])
        f32(base + ".output_max", [hi[1]])

    # conv kernel, torch (C, 3, P, P) -> ne [P, P, 3, C]; never q8_0 (im2col path); no patch bias
    t("v.patch_embd.weight", gen.normal((C, 3, P, P), 1.0 / np.sqrt(3 * P * P)), allow_q8=False)
    # the x table then the y table: torch (2, POS, C) -> ne [C, POS, 2]; always f32 (converter's tensor_force_quant)
    f32("v.position_embd.weight", gen.normal((2, POS, C), 0.5))
    for l in range(NL):
        p = "v.blk.%d." % l
        f32(p + "ln1.weight", gen.norm_w(C))
        for nm in ("attn_q", "attn_k", "attn_v"):
            t(p + nm + ".weight", gen.normal((C, C), 1.0 / np.sqrt(C)))
            if not (l == 0 and nm == "attn_v"):
                clamps(p + nm, 1.0)
        f32(p + "attn_q_norm.weight", gen.norm_w(hd))
        f32(p + "attn_k_norm.weight", gen.norm_w(hd))
        t(p + "attn_out.weight", gen.normal((C, C), 1.0 / np.sqrt(C)))
        clamps(p + "attn_out", 1.0)
        f32(p + "attn_post_norm.weight", gen.norm_w(C))
        f32(p + "ln2.weight", gen.norm_w(C))
        t(p + "ffn_gate.weight", gen.normal((FFV, C), 1.0 / np.sqrt(C)))
        clamps(p + "ffn_gate", 1.0)
        t(p + "ffn_up.weight", gen.normal((FFV, C), 1.0 / np.sqrt(C)))
        clamps(p + "ffn_up", 1.0)
        t(p + "ffn_down.weight", gen.normal((C, FFV), 2.0 / np.sqrt(FFV)))
        clamps(p + "ffn_down", 0.5)
        f32(p + "ffn_post_norm.weight", gen.norm_w(C))
        f32(p + "out_scale.weight", gen.rng.uniform(0.6, 1.0, 1))  # HF layer_scalar
    f32("v.std_bias", gen.normal((C,), 0.3))  # (pooled - std_bias) * std_scale; no .weight suffix (clip.cpp TN_STD_BIAS)
    f32("v.std_scale", gen.rng.uniform(0.5, 1.5, C))
    t("mm.input_projection.weight", gen.normal((D, C), 1.0 / np.sqrt(C)))
    clamps("mm.input_projection", 1.0)
    w.write()


def main(argv):
    args, cfg = parse_args(argv)
    check_cfg(cfg, args.arch)
    prefix = args.out_prefix
    if prefix.endswith("/"):
        os.makedirs(prefix, exist_ok=True)
    gen = Gen(args.seed, args.dtype)
    text_path = prefix + "text.gguf"
    writer = write_text_qwen35 if args.arch in HYBRID_ARCHS else write_text_gemma4 if args.arch == "gemma4" else write_text
    V, special = writer(text_path, cfg, args, gen)
    print("wrote %s (n_vocab %d, %s)" % (text_path, V, ", ".join("%s=%d" % kv for kv in special.items())))
    if not args.text_only:
        mm_path = prefix + "mmproj.gguf"
        (write_mmproj_gemma4 if args.arch == "gemma4" else write_mmproj)(mm_path, cfg, args, gen)
        print("wrote %s" % mm_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
