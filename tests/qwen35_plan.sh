#!/usr/bin/env bash
# qwen35_plan.sh — the device-memory plan of a qwen35moe model names the recurrent state apart from the
# KV cache (engine/placement.c), on a tiny file tools/gen_synthetic_model.py writes:
#   - `moevk plan` prints a "KV cache" and a "recurrent state" line; each equals what the GGUF's keys give
#     (computed here from the keys alone: f16 K and V rows for the attention layers' n_ctx positions; per
#     Gated DeltaNet layer the f32 conv tail [2*S*H_k + d_inner][K-1] and delta-rule state [H_v][S][S],
#     each buffer rounded up to 256 bytes);
#   - doubling -c doubles the KV cache and leaves the recurrent state as it is;
#   - a budget that is too small fails with a message giving the KV cache and the recurrent state as two
#     figures, the plan's.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
new_workdir
"$PY" "$SRC/tools/gen_synthetic_model.py" --arch qwen35moe --preset tiny --layers 8 --ctx 8192 --ssm-state 64 --ssm-k-heads 2 \
    --ssm-v-heads 4 --text-only --out-prefix "$WORK/a-" \
    >/dev/null || die "gen qwen35moe"
M="$WORK/a-text.gguf"
"$CLI" plan -m "$M" -c 4096 >"$WORK/p4k.txt" 2>&1
"$CLI" plan -m "$M" -c 8192 >"$WORK/p8k.txt" 2>&1
"$CLI" caption -m "$M" -c 4096 -p hi -n 1 --device-mem 1 >"$WORK/oom.txt" 2>&1 && die "a 1 MiB budget was accepted"
"$PY" - "$SRC/tools" "$M" "$WORK" <<'PYEOF' || die "the plan does not name the recurrent state apart"
import re, sys
sys.path.insert(0, sys.argv[1])
from gguf.gguf_reader import GGUFReader
r, w = GGUFReader(sys.argv[2]), sys.argv[3]
arch = "qwen35moe"
def key(k):
    return int(r.kv[arch + "." + k])
n_layer, interval = key("block_count"), key("full_attention_interval")
S, Hk, Hv, K, inner = key("ssm.state_size"), key("ssm.group_count"), key("ssm.time_step_rank"), key("ssm.conv_kernel"), key("ssm.inner_size")
hkv, hd = key("attention.head_count_kv"), key("attention.key_length")
al = lambda b: (b + 255) // 256 * 256
n_attn = sum(1 for il in range(n_layer) if (il + 1) % interval == 0)
n_rec = n_layer - n_attn
state = n_rec * (al((K - 1) * (2 * S * Hk + inner) * 4) + al(Hv * S * S * 4))
kv = lambda c: n_attn * 2 * al(hkv * hd * 2 * c)
mib = lambda b: b / 1048576.0
def line(txt, name):
    m = re.search(r"^  %s\s+([0-9.]+) MiB" % name, txt, re.M)
    return float(m.group(1)) if m else None
bad = []
assert mib(kv(4096)) > 0.5 and mib(state) > 0.2, "the test model's KV cache and state are too small to tell apart"
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
p4k, p8k = open(w + "/p4k.txt").read(), open(w + "/p8k.txt").read()
for c, p in ((4096, p4k), (8192, p8k)):
    k, s = line(p, "KV cache"), line(p, "recurrent state")
    check(k is not None and abs(k - mib(kv(c))) < 0.06, "plan -c %d: KV cache %s MiB, the keys give %.2f (%d attention layers)" % (c, k, mib(kv(c)), n_attn))
    check(s is not None and abs(s - mib(state)) < 0.06, "plan -c %d: recurrent state %s MiB, the keys give %.2f (%d DeltaNet layers)" % (c, s, mib(state), n_rec))
check(line(p4k, "recurrent state") == line(p8k, "recurrent state"), "the recurrent state does not grow with -c")
oom = open(w + "/oom.txt").read()
m = re.search(r"KV cache ([0-9.]+) for 4096 tokens \((\d+) attention layers\), recurrent state ([0-9.]+) \((\d+) Gated DeltaNet", oom)
check(m is not None, "the out-of-memory message names both: %s" % oom.strip()[-400:])
if m:
    check(float(m.group(1)) == line(p4k, "KV cache") and float(m.group(3)) == line(p4k, "recurrent state")
          and int(m.group(2)) == n_attn and int(m.group(4)) == n_rec, "... with the plan's figures: %s" % m.group(0))
sys.exit(1 if bad else 0)
PYEOF
echo "PASS: the plan and the out-of-memory message give the recurrent state apart from the KV cache"
