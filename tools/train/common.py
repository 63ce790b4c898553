"""Shared helpers: prompt layout (exactly what the engine feeds), pixel normalisation, data loading."""
import json
import os

import numpy as np
import torch

from model import mm_positions

USER_PROMPT = "Describe this image in one sentence."
IMAGE_SIZE = 128


def prompt_text_before():
    return "<|im_start|>user\n<|vision_start|>"


def prompt_text_after(question=USER_PROMPT):
    return "<|vision_end|>" + question + "<|im_end|>\n<|im_start|>assistant\n"


def caption_text(cap):
    """Dataset captions are lower-case without final stop; the model writes a sentence."""
    cap = cap.strip()
    return cap[:1].upper() + cap[1:] + "."


def prompt_tokens(tok, n_img, question=USER_PROMPT):
    """Token ids of the prompt with n_img <|image_pad|> slots; returns (ids, n_before).
    The question is user text: encoded on its own, special-token strings in it are not special
    (as the engine does)."""
    a = tok.encode(prompt_text_before())
    b = [tok.special["<|vision_end|>"]] + tok.encode(question, special=False) + \
        tok.encode("<|im_end|>\n<|im_start|>assistant\n")
    return a + [tok.special["<|image_pad|>"]] * n_img + b, len(a)


def normalise(u8, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
    """u8 [B,H,W,3] uint8 -> float32 [B,3,H,W]: (u8/255 - mean)/std computed in float32 (spec §3.1)."""
    x = torch.from_numpy(np.ascontiguousarray(u8)).float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32)
    s = torch.tensor(std, dtype=torch.float32)
    x = (x - m) / s
    return x.permute(0, 3, 1, 2).contiguous()


def load_meta(data_dir):
    with open(os.path.join(data_dir, "meta.jsonl")) as f:
        return [json.loads(l) for l in f]


def positions(n_before, nx, ny, n_total):
    return mm_positions(n_before, nx, ny, n_total - n_before - nx * ny)
