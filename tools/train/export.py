#!/usr/bin/python3
"""Export a trained run to the llama.cpp GGUF pair, with the project's own writer
(tools/gguf/gguf_writer.py):

  assets/models/moevk-tiny.gguf         general.architecture = qwen3vlmoe (text + tokenizer)
  assets/models/moevk-tiny-mmproj.gguf  general.architecture = clip, projector qwen3vl_merger,
                                        moevk.vision.image_{min,max}_tokens = the tokens of a 128x128 input

Key names and value types mirror ../shared/goldens/qwen3vlmoe-tiny-a (manifest gguf_inventory).
Storage: 2-D+ weights F16 (incl. v.patch_embd.weight / .weight.1, as the converter does for
F16 output), except the router ffn_gate_inp (F32, as llama.cpp's converter keeps it) and
v.position_embd.weight (F32, interpolated at load); 1-D tensors F32.
--all-f32 writes everything F32 (used to measure what F16 storage costs).

Usage: export.py [--run tools/train/runs/moevk-tiny] [--weights best|final|ckpt] [--out assets/models]
                 [--name moevk-tiny] [--all-f32]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gguf"))
from bpe import Tokenizer  # noqa: E402
from gguf_writer import GGUFWriter  # noqa: E402
from model import Config, QwenVLMoE, _key  # noqa: E402

ARCH = "qwen3vlmoe"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def storage_type(name, arr, all_f32):
    if all_f32 or arr.ndim < 2:
        return "f32"
    if name.endswith("ffn_gate_inp.weight") or name == "v.position_embd.weight":
        return "f32"
    return "f16"


def load_run(run, weights=""):
    """weights: best | final | ckpt; default: best.pt, else final.pt, else ckpt.pt."""
    meta = json.load(open(os.path.join(run, "config.json")))
    cfg = Config(**meta["config"])
    model = QwenVLMoE(cfg)
    names = [weights] if weights else ["best", "final", "ckpt"]
    path = next((os.path.join(run, n + ".pt") for n in names if os.path.exists(os.path.join(run, n + ".pt"))), None)
    if path is None:
        raise SystemExit("no %s.pt in %s" % ("/".join(names), run))
    sd = torch.load(path)
    if "model" in sd and "opt" in sd:
        sd = sd["model"]
    model.load_state_dict(sd)
    tok = Tokenizer.load(os.path.join(run, "tokenizer.json"))
    return cfg, model, tok, path


def export(cfg, model, tok, out_dir, name, all_f32=False):
    if len(set(tok.tokens)) != len(tok.tokens):
        raise ValueError("tokenizer has duplicate token strings; llama.cpp would map them to one id")
    os.makedirs(out_dir, exist_ok=True)
    text_path = os.path.join(out_dir, name + ".gguf")
    mm_path = os.path.join(out_dir, name + "-mmproj.gguf")
    ftype = 0 if all_f32 else 1
    w = GGUFWriter(text_path, ARCH)
    w.add_string("general.type", "model")
    w.add_string("general.name", name)
    w.add_u32("general.file_type", ftype)
    w.add_u32(ARCH + ".block_count", cfg.n_layer)
    w.add_u32(ARCH + ".context_length", cfg.n_ctx)
    w.add_u32(ARCH + ".embedding_length", cfg.n_embd)
    w.add_u32(ARCH + ".feed_forward_length", cfg.n_ff_exp * cfg.n_expert_used)
    w.add_u32(ARCH + ".attention.head_count", cfg.n_head)
    w.add_u32(ARCH + ".attention.head_count_kv", cfg.n_head_kv)
    w.add_array(ARCH + ".rope.dimension_sections", cfg.sections, "i32")
    w.add_f32(ARCH + ".rope.freq_base", cfg.rope_theta)
    w.add_f32(ARCH + ".attention.layer_norm_rms_epsilon", cfg.rms_eps)
    w.add_u32(ARCH + ".expert_count", cfg.n_expert)
    w.add_u32(ARCH + ".expert_used_count", cfg.n_expert_used)
    w.add_u32(ARCH + ".attention.key_length", cfg.head_dim)
    w.add_u32(ARCH + ".attention.value_length", cfg.head_dim)
    w.add_u32(ARCH + ".expert_feed_forward_length", cfg.n_ff_exp)
    w.add_u32(ARCH + ".n_deepstack_layers", len(cfg.deepstack))
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", tok.tokens, "string")
    w.add_array("tokenizer.ggml.token_type", tok.types, "i32")
    w.add_array("tokenizer.ggml.merges", [a + " " + b for a, b in tok.merges], "string")
    w.add_u32("tokenizer.ggml.eos_token_id", tok.special["<|im_end|>"])
    w.add_u32("tokenizer.ggml.padding_token_id", tok.special["<|endoftext|>"])
    w.add_u32("tokenizer.ggml.bos_token_id", tok.special["<|endoftext|>"])
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)
    for n in model.text_names:
        a = model.params[_key(n)].detach().float().numpy()
        w.add_tensor(n, np.ascontiguousarray(a), storage_type(n, a, all_f32))
    w.write()

    v = GGUFWriter(mm_path, "clip")
    v.add_string("general.type", "mmproj")
    v.add_string("general.name", name + "-mmproj")
    v.add_u32("general.file_type", ftype)
    v.add_bool("clip.has_vision_encoder", True)
    v.add_u32("clip.vision.projection_dim", cfg.n_embd)
    v.add_u32("clip.vision.image_size", cfg.v_pos_side * cfg.patch)
    v.add_u32("clip.vision.patch_size", cfg.patch)
    v.add_u32("clip.vision.embedding_length", cfg.v_embd)
    v.add_u32("clip.vision.feed_forward_length", cfg.v_ff)
    v.add_u32("clip.vision.block_count", cfg.v_layer)
    v.add_u32("clip.vision.attention.head_count", cfg.v_head)
    v.add_array("clip.vision.image_mean", cfg.image_mean, "f32")
    v.add_array("clip.vision.image_std", cfg.image_std, "f32")
    v.add_string("clip.projector_type", "qwen3vl_merger")
    v.add_bool("clip.use_gelu", True)
    v.add_u32("clip.vision.spatial_merge_size", cfg.merge)
    v.add_f32("clip.vision.attention.layer_norm_epsilon", cfg.v_eps)
    v.add_array("clip.vision.is_deepstack_layers", [l in cfg.deepstack for l in range(cfg.v_layer)], "bool")
    # the image-token range it was trained for (docs/GGUF.md): a 128x128 scene; the engine resizes
    # any input to it unless the caller overrides the budget
    n_tok = (128 // (cfg.patch * cfg.merge)) ** 2
    v.add_u32("moevk.vision.image_min_tokens", n_tok)
    v.add_u32("moevk.vision.image_max_tokens", n_tok)
    for n in model.vision_names:
        a = model.params[_key(n)].detach().float().numpy()
        v.add_tensor(n, np.ascontiguousarray(a), storage_type(n, a, all_f32))
    v.write()
    return text_path, mm_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=os.path.join(HERE, "runs", "moevk-tiny"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "assets", "models"))
    ap.add_argument("--name", default="moevk-tiny")
    ap.add_argument("--all-f32", action="store_true")
    ap.add_argument("--weights", default="", choices=["", "best", "final", "ckpt"])
    args = ap.parse_args()
    cfg, model, tok, path = load_run(args.run, args.weights)
    t, m = export(cfg, model, tok, args.out, args.name, args.all_f32)
    print("from", path)
    for p in (t, m):
        print("%s  %.2f MB" % (p, os.path.getsize(p) / 1e6))


if __name__ == "__main__":
    main()
