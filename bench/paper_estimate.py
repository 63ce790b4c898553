#!/usr/bin/env python3
"""paper_estimate.py — what moevk would place, stream and decode for a real MoE model on a GPU it has never run
on, from a random-weight slice of the same layer shape (issue 20, docs/PERFORMANCE.md "Paper estimate").

The slice (bench/make_a3b_model.sh, bench/make_qwen36_slice.sh) has the real model's tensors per layer at fewer
layers and experts, quantized by llama.cpp's own quantizer. This tool:
  - reads `moevk info SLICE` (every tensor's type and bytes) and scales it to the real model: tensors outside
    the blocks as they are, a block's non-expert tensors by layer kind (attention / Gated DeltaNet) times the
    real count of that kind, the routed experts per expert times the real layers x experts (blocks past the
    trunk, MTP, are left out as moevk leaves them out);
  - runs `moevk plan` on the slice at each GPU's budget (heap less 10%, moevk's default), optionally with an
    mmproj of the real vision tower's shape, and takes the scratch reserve and the step buffers/slack from it
    (they depend on the layer shape, the micro-batch, the image cap and the budget's block size, not on the
    layer or expert count); the KV cache and recurrent state scale by their layer counts;
  - gives the expert slots per layer that fit, the uniform-routing hit rate floor (slots / experts), the MB a
    token streams at that floor, and ms per token = copies at PCIE_GBS + reads at GPU_GBS (no overlap).
Everything is printed as a markdown table. It is an estimate: real routing is skewed (see PERFORMANCE.md).

  python3 bench/paper_estimate.py --moevk build/moevk --slice /work/models/a3b-Q4_K_M.gguf --layers 48 \\
      --experts 128 [--attn-layers N] [--mmproj M.gguf --vision-text T.gguf --image-max-tokens 1024] [-c 4096]
"""
import argparse
import re
import subprocess
import sys

MIB = 1048576.0


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 1):  # plan exits 1 when the model does not fit: still a report
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def info_tensors(moevk, path):
    """[(name, type, bytes)] and the MTP block count (nextn_predict_layers) from `moevk info`."""
    out = run([moevk, "info", path])
    m = re.search(r"\.nextn_predict_layers\s+\S+\s+(\d+)", out)
    nextn = int(m.group(1)) if m else 0
    t = []
    for line in out.splitlines():
        m = re.match(r"\s+(\S+)\s+(\S+)\s+\[[^\]]*\]\s+(\d+)\s+\d+\s*$", line)
        if m:
            t.append((m.group(1), m.group(2), int(m.group(3))))
    if not t:
        sys.exit("no tensor table in `moevk info %s`" % path)
    return t, nextn


def plan(moevk, args):
    out = run([moevk, "plan"] + args)
    v = {}
    for key, pat in [("weights", r"^\s+weights\s+([\d.]+)"), ("kv", r"^\s+KV cache\s+([\d.]+)"),
                     ("state", r"^\s+recurrent state\s+([\d.]+)"), ("scratch", r"^\s+scratch\s+([\d.]+)"),
                     ("other", r"^\s+other\s+([\d.]+)")]:
        m = re.search(pat, out, re.M)
        if not m:
            sys.exit("no '%s' in `moevk plan %s`:\n%s" % (key, " ".join(args), out))
        v[key] = float(m.group(1)) * MIB
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moevk", required=True)
    ap.add_argument("--slice", required=True, help="text GGUF of the real layer shape")
    ap.add_argument("--name", default="model")
    ap.add_argument("--layers", type=int, required=True, help="the real model's layers (trunk)")
    ap.add_argument("--attn-layers", type=int, help="of which full attention (hybrid families; default: all)")
    ap.add_argument("--experts", type=int, required=True, help="the real model's routed experts per layer")
    ap.add_argument("--top-k", type=int, default=8)
    ap.add_argument("--mmproj", help="an mmproj of the real vision tower's shape")
    ap.add_argument("--vision-text", help="a text GGUF that pairs with --mmproj (for its plan)")
    ap.add_argument("--image-max-tokens", default="0", help="image-token caps, comma-separated (0: the default)")
    ap.add_argument("-c", "--ctx", type=int, default=4096)
    ap.add_argument("--gpus", default="8,12,16,24", help="GPU memory sizes in GB (GiB of heap)")
    ap.add_argument("--pcie-gbs", type=float, default=25.0, help="host-to-device copy rate, GB/s (PCIe 4.0 x16)")
    ap.add_argument("--gpu-gbs", type=float, default=320.0, help="device read rate for decode, GB/s")
    a = ap.parse_args()

    T, nextn = info_tensors(a.moevk, a.slice)
    blk = re.compile(r"^blk\.(\d+)\.(.*)$")
    layers = {}
    glob = 0
    embd = 0
    for name, typ, nb in T:
        m = blk.match(name)
        if not m:
            glob += nb
            if name.startswith("token_embd"):
                embd += nb
            continue
        layers.setdefault(int(m.group(1)), []).append((m.group(2), nb))
    # the trunk: blocks with the routed experts (MTP blocks past it are skipped, as moevk skips them)
    trunk = sorted(i for i, ts in layers.items() if any(t.startswith("ffn_gate_exps") for t, _ in ts))
    trunk = trunk[:len(trunk) - nextn]  # the last nextn_predict_layers blocks are MTP
    ns = len(trunk)
    kind = {i: ("attn" if any(t.startswith("attn_q.") for t, _ in layers[i]) else "recur") for i in trunk}
    ne_slice = None
    exp_per_layer = []  # bytes of one expert, per slice layer
    dense = {"attn": [], "recur": []}
    for i in trunk:
        e = sum(nb for t, nb in layers[i] if "_exps." in t)
        d = sum(nb for t, nb in layers[i] if "_exps." not in t)
        dense[kind[i]].append(d)
        exp_per_layer.append(e)
    # experts per slice layer, from the info's ne (the last dim of ffn_gate_exps): read from plan instead
    p0 = run([a.moevk, "plan", "-m", a.slice, "-c", str(a.ctx), "--device-mem", "65536"])
    m = re.search(r"experts\s+[\d.]+ MiB\s+\((\d+) layers x (\d+),", p0)
    if not m:
        sys.exit("no expert count in the slice's plan")
    ne_slice = int(m.group(2))
    La = a.attn_layers if a.attn_layers is not None else a.layers
    Lr = a.layers - La
    sa, sr = len(dense["attn"]), len(dense["recur"])
    avg = lambda xs: sum(xs) / len(xs) if xs else 0.0
    expert = avg(exp_per_layer) / ne_slice  # one expert (gate + up + down), averaged over the layers' types
    weights = glob + La * avg(dense["attn"]) + Lr * avg(dense["recur"])
    experts = a.layers * a.experts * expert
    per_token_read = (weights - embd) + a.layers * a.top_k * expert  # decode reads (one embedding row aside)
    vis_w = 0.0
    if a.mmproj:
        pv_t = plan(a.moevk, ["-m", a.vision_text, "-c", str(a.ctx), "--device-mem", "65536"])
        pv_i = plan(a.moevk, ["-m", a.vision_text, "--mmproj", a.mmproj, "-c", str(a.ctx), "--device-mem", "65536"])
        vis_w = pv_i["weights"] - pv_t["weights"]
    print("%s: %d layers (%d attention, %d Gated DeltaNet), %d experts top-%d; from the slice %s (%d layers, %d "
          "experts)" % (a.name, a.layers, La, Lr, a.experts, a.top_k, a.slice, ns, ne_slice))
    print("resident weights %.2f GB (embeddings and head %.2f GB), one expert %.2f MB, all experts %.2f GB, a decode "
          "token reads %.2f GB%s" % (weights / 1e9, glob / 1e9, expert / 1e6, experts / 1e9, per_token_read / 1e9,
                                    ", mmproj %.2f GB" % (vis_w / 1e9) if a.mmproj else ""))
    print()
    print("| GPU | use | budget MiB | resident MiB (weights, KV, state, scratch, other) | slots / layer | hit-rate floor "
          "| MB streamed / token | ms / token (copy + reads) | t/s |")
    print("|---|---|---:|---|---:|---:|---:|---|---:|")
    for gb in [int(x) for x in a.gpus.split(",")]:
        budget = gb * 1024 * 0.9  # MiB: the heap less 10%
        uses = [("text", None)]
        if a.mmproj:
            for cap in [int(x) for x in a.image_max_tokens.split(",")]:
                uses.append(("text + image <= %s tok" % (cap if cap else "4096 (default)"), cap))
        for use, cap in uses:
            mm = a.mmproj if cap is not None else None
            args = ["-m", a.slice, "-c", str(a.ctx), "--device-mem", str(int(budget))]
            pt = plan(a.moevk, args)
            scratch = pt["scratch"]
            w = weights
            if mm:
                vargs = ["-m", a.vision_text, "--mmproj", mm, "-c", str(a.ctx), "--device-mem", str(int(budget))]
                if cap:
                    vargs += ["--image-max-tokens", str(cap)]
                scratch = max(scratch, plan(a.moevk, vargs)["scratch"])
                w += vis_w
            kv = pt["kv"] * (La / sa if sa else 0.0)
            state = pt["state"] * (Lr / sr if sr else 0.0)
            resident = w + kv + state + scratch + pt["other"]
            free = budget * MIB - resident
            S = int(free // (a.layers * expert)) if free > 0 else 0
            S = min(S, a.experts)
            if S < a.top_k:
                print("| %d GB | %s | %.0f | %.0f (%.0f, %.0f, %.0f, %.0f, %.0f) | < top-%d: does not load | | | | |" % (
                    gb, use, budget, resident / MIB, w / MIB, kv / MIB, state / MIB, scratch / MIB, pt["other"] / MIB,
                    a.top_k))
                continue
            hit = S / a.experts
            streamed = a.layers * a.top_k * (1 - hit) * expert
            copy_ms = streamed / (a.pcie_gbs * 1e9) * 1e3
            read_ms = per_token_read / (a.gpu_gbs * 1e9) * 1e3
            print("| %d GB | %s | %.0f | %.0f (%.0f, %.0f, %.0f, %.0f, %.0f) | %d (%.0f%%) | %.0f%% | %.0f | %.1f + %.1f | "
                  "%.0f |" % (gb, use, budget, resident / MIB, w / MIB, kv / MIB, state / MIB, scratch / MIB,
                             pt["other"] / MIB, S, 100 * hit, 100 * hit, streamed / 1e6, copy_ms, read_ms,
                             1e3 / (copy_ms + read_ms)))


if __name__ == "__main__":
    main()
