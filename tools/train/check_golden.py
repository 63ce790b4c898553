#!/usr/bin/python3
"""Self-check: run tools/train/model.py (float64) on a golden set's GGUF weights and compare
with its reference outputs. Usage: check_golden.py [GOLDEN_DIR]"""
import json, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_read import read_gguf
from model import Config, QwenVLMoE, mm_positions


def config_from_gguf(tkv, vkv, tt, vt):
    a = tkv["general.architecture"]
    ds = sorted(int(n.split(".")[2]) for n in vt if n.startswith("v.deepstack.") and n.endswith("fc1.weight"))
    G = int(round(vt["v.position_embd.weight"].shape[0] ** 0.5))
    return Config(
        v_embd=vkv["clip.vision.embedding_length"], v_head=vkv["clip.vision.attention.head_count"],
        v_ff=vkv["clip.vision.feed_forward_length"], v_layer=vkv["clip.vision.block_count"],
        patch=vkv["clip.vision.patch_size"], merge=vkv.get("clip.vision.spatial_merge_size", 2),
        v_pos_side=G, deepstack=ds, v_eps=vkv["clip.vision.attention.layer_norm_epsilon"],
        image_mean=vkv["clip.vision.image_mean"], image_std=vkv["clip.vision.image_std"],
        n_vocab=tt["token_embd.weight"].shape[0], n_embd=tkv[a + ".embedding_length"],
        n_layer=tkv[a + ".block_count"], n_head=tkv[a + ".attention.head_count"],
        n_head_kv=tkv[a + ".attention.head_count_kv"], head_dim=tkv[a + ".attention.key_length"],
        n_expert=tkv[a + ".expert_count"], n_expert_used=tkv[a + ".expert_used_count"],
        n_ff_exp=tkv[a + ".expert_feed_forward_length"], sections=list(tkv[a + ".rope.dimension_sections"]),
        rope_theta=tkv.get(a + ".rope.freq_base", 10000.0), rms_eps=tkv[a + ".attention.layer_norm_rms_epsilon"],
        n_ctx=tkv[a + ".context_length"])


def load_pair(text_path, mmproj_path, dtype=torch.float64):
    tkv, tt, _ = read_gguf(text_path)
    vkv, vt, _ = read_gguf(mmproj_path)
    cfg = config_from_gguf(tkv, vkv, tt, vt)
    m = QwenVLMoE(cfg)
    m.load_numpy({**tt, **vt}, dtype)
    m.eval()
    return m, tkv, vkv


def f32(path, shape):
    return np.fromfile(path, "<f4").reshape(shape)


def main():
    gd = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/goldens/qwen3vlmoe-tiny-a"
    man = json.load(open(os.path.join(gd, "manifest.json")))
    fs = man["files"]
    m, tkv, vkv = load_pair(os.path.join(gd, "text.gguf"), os.path.join(gd, "mmproj.gguf"))
    cfg = m.cfg
    pix = torch.from_numpy(f32(os.path.join(gd, "pixels.f32"), fs["pixels.f32"]["shape"])).double()[None]
    toks = torch.from_numpy(np.fromfile(os.path.join(gd, "prompt_tokens.i32"), "<i4").astype(np.int64))
    pad = man["vocab"]["special"]["<|image_pad|>"]
    img_mask = (toks == pad)[None]
    ny, nx = man["prompts"]["image_tokens"]["ny"], man["prompts"]["image_tokens"]["nx"]
    first = int(img_mask[0].nonzero()[0])
    n_img = int(img_mask.sum())
    pos = mm_positions(first, nx, ny, len(toks) - first - n_img)
    gpos = np.fromfile(os.path.join(gd, "prompt_positions.i32"), "<i4").reshape(4, -1)
    res = {"positions_equal": bool((pos.numpy() == gpos).all())}
    with torch.no_grad():
        emb, ds, patch = m.encode_image(pix, return_patch=True)
        ref_patch = f32(os.path.join(gd, "vision_patch_embd.f32"), fs["vision_patch_embd.f32"]["shape"])
        ref_emb = f32(os.path.join(gd, "vision_embd.f32"), fs["vision_embd.f32"]["shape"])
        ref_ds = f32(os.path.join(gd, "vision_deepstack.f32"), fs["vision_deepstack.f32"]["shape"])
        res["patch_embd_maxabs"] = float(np.abs(patch[0].numpy() - ref_patch).max())
        res["vision_embd_maxabs"] = float(np.abs(emb[0].numpy() - ref_emb).max())
        res["deepstack_maxabs"] = float(np.abs(ds[:, 0].permute(1, 0, 2).numpy() - ref_ds).max())
        stats, lo = {}, []
        x = m.embed(toks[None], emb, img_mask)
        h = m.text_forward(x, pos, img_mask, ds, stats, lo)
        lg = m.logits(h)[0].numpy()
        ref_lg = f32(os.path.join(gd, "logits.f32"), fs["logits.f32"]["shape"])
        res["logits_maxabs"] = float(np.abs(lg - ref_lg).max())
        ref_lo = f32(os.path.join(gd, "layer_out.f32"), fs["layer_out.f32"]["shape"])
        res["layer_out_maxabs"] = float(np.abs(torch.stack(lo)[:, 0].numpy() - ref_lo).max())
        ids = torch.stack(stats["topi"]).numpy()
        wts = torch.stack(stats["topw"]).numpy()
        ref_ids = np.fromfile(os.path.join(gd, "router_topk_ids.i32"), "<i4").reshape(ids.shape)
        ref_w = f32(os.path.join(gd, "router_topk_weights.f32"), ids.shape)
        res["router_ids_equal"] = bool((ids == ref_ids).all())
        res["router_w_maxabs"] = float(np.abs(wts - ref_w).max())
        # greedy continuation (full recompute each step)
        g_ref = np.fromfile(os.path.join(gd, "greedy_tokens.i32"), "<i4")
        seq = toks.clone()
        out = []
        for _ in range(len(g_ref)):
            T = len(seq)
            msk = torch.zeros(1, T, dtype=torch.bool); msk[0, :len(toks)] = img_mask[0]
            p = mm_positions(first, nx, ny, T - first - n_img)
            hh = m.text_forward(m.embed(seq[None], emb, msk), p, msk, ds)
            nt = int(m.logits(hh[0, -1]).argmax())
            out.append(nt)
            seq = torch.cat([seq, torch.tensor([nt])])
        res["greedy_equal"] = out == g_ref.tolist()
        # text-only prompt
        tt = torch.from_numpy(np.fromfile(os.path.join(gd, "text_prompt_tokens.i32"), "<i4").astype(np.int64))
        hh = m.text_forward(m.embed(tt[None]), mm_positions(len(tt), 0, 0, 0)[:, :len(tt)])
        ref_tl = f32(os.path.join(gd, "text_logits.f32"), fs["text_logits.f32"]["shape"])
        res["text_logits_maxabs"] = float(np.abs(m.logits(hh)[0].numpy() - ref_tl).max())
    print(json.dumps(res, indent=1))
    ok = res["logits_maxabs"] <= 1e-3 and res["router_ids_equal"] and res["greedy_equal"] and res["text_logits_maxabs"] <= 1e-3
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
