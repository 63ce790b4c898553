#!/usr/bin/env bash
# qwen35_thinking.sh — thinking on and off for qwen35moe (the prompt format's think pieces,
# engine/arch/family.h; the reasoning split, engine/reasoning.c) on a tiny file
# tools/gen_synthetic_model.py writes, against references that are not moevk's:
#   A prompt: the tokens `moevk chat` prefills for a first question, thinking off (the default) and on
#     (--think), equal llama.cpp's tokenization of llama.cpp's Qwen3.5 chat template
#     (tests/data/Qwen3.5-4B.jinja = llama.cpp's models/templates/Qwen3.5-4B.jinja) rendered by
#     @huggingface/jinja (node-llama-cpp's template engine) with enable_thinking false / true.
#   B split (--think --reasoning-budget 3, two questions): in each turn the first three generated tokens
#     are the reasoning and the fourth the forced </think>; the routing record tags exactly those
#     "reasoning"; stderr is "thinking: " + llama.cpp's detokenization of the reasoning tokens (its edges'
#     whitespace dropped) and stdout llama.cpp's detokenization of the tokens after </think> (leading
#     whitespace dropped): the answer never holds the reasoning. The second turn opens with thinking on.
#   C thinking off: no token tagged, the answer is every generated token.
#   D `moevk serve`: chat_template_kwargs.enable_thinking + reasoning_budget_tokens give
#     message.reasoning_content and content equal to B's first turn, usage reasoning_tokens 4 and the
#     routing kinds "reasoning" x4; streamed, delta.reasoning_content and delta.content join to the
#     same; enable_thinking false gives C's answer and no reasoning_content.
#   E a family whose template has no thinking mode refuses --think, naming it.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
need_numpy
need_node_llama_cpp
new_workdir
GEN="$SRC/tools/gen_synthetic_model.py"
"$PY" "$GEN" --arch qwen35moe --preset tiny --layers 4 --text-only --seed 21 --out-prefix "$WORK/a-" >/dev/null ||
    die "gen qwen35moe"
"$PY" "$GEN" --arch qwen3moe --preset tiny --layers 2 --text-only --out-prefix "$WORK/q3-" >/dev/null || die "gen qwen3moe"
M="$WORK/a-text.gguf"
N=10

# B and C: two questions each, thinking on (budget 3) and off
printf 'the cat\nand the dog\n' | "$CLI" chat -m "$M" --temp 0 -n $N -q --think --reasoning-budget 3 \
    --routing "$WORK/on.json" >"$WORK/on.out" 2>"$WORK/on.err" || { cat "$WORK/on.err"; die "moevk chat --think failed"; }
printf 'the cat\nand the dog\n' | "$CLI" chat -m "$M" --temp 0 -n $N -q \
    --routing "$WORK/off.json" >"$WORK/off.out" 2>"$WORK/off.err" || { cat "$WORK/off.err"; die "moevk chat failed"; }

# the references: the template's tokens, and llama.cpp's detokenization of runs of generated tokens
"$PY" - "$WORK" <<'PYEOF' || die "writing the reference cases"
import json, sys
w = sys.argv[1]
user = [{"role": "user", "content": "the cat"}]
cases = [{"name": "off", "messages": user, "enable_thinking": False},
         {"name": "on", "messages": user, "enable_thinking": True},
         {"name": "default", "messages": user, "enable_thinking": None},
         {"name": "gen_on", "text": "<|im_end|>\n<|im_start|>assistant\n<think>\n"}]
det = []
for tag in ("on", "off"):
    r = json.load(open("%s/%s.json" % (w, tag)))
    g = [t["token"] for t in r if t["turn"] == 0 and t["kind"] == "generated"]
    det += [g[:3], g[4:], g]
cases.append({"name": "detok", "detok": [d for d in det if d]})
json.dump(cases, open(w + "/cases.json", "w"))
PYEOF
env -u VK_INSTANCE_LAYERS UV_THREADPOOL_SIZE=1 node "$SRC/tests/js/chat_template_tokens.mjs" "$NODE_DIR" \
    "$SRC/tests/data/Qwen3.5-4B.jinja" "$M" "$WORK/ref.json" "$WORK/cases.json" >"$WORK/ref.log" 2>&1 ||
    { tail -5 "$WORK/ref.log"; die "rendering the template with llama.cpp's tokenizer"; }

"$PY" - "$WORK" <<'PYEOF' || fails=$((fails + 1))
import json, sys
w = sys.argv[1]
ref = json.load(open(w + "/ref.json"))
WS = " \t\n\r\f\v"
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
def detok(ids):
    return ref["detok"][" ".join(map(str, ids))] if ids else ""
on, off = json.load(open(w + "/on.json")), json.load(open(w + "/off.json"))
prompt = lambda r, turn: [t["token"] for t in r if t["turn"] == turn and t["kind"] == "prompt"]
gen = lambda r, turn: [t for t in r if t["turn"] == turn and t["kind"] == "generated"]
# A: the first turn's prompt
check(prompt(off, 0) == ref["off"]["ids"], "A: thinking off = the template with enable_thinking false %r" % ref["off"]["text"])
check(prompt(on, 0) == ref["on"]["ids"], "A: --think = the template with enable_thinking true %r" % ref["on"]["text"])
check(ref["default"]["ids"] == ref["on"]["ids"], "A: (the template's own default is thinking on; moevk's is off)")
# B: per turn, the generated tokens (turn 1's last token is not fed back, so not recorded)
want = {}
for turn in (0, 1):
    g = gen(on, turn)
    ids = [t["token"] for t in g]
    if len(ids) < 5:
        check(False, "B: turn %d generated only %d tokens (the tiny model ended early: pick another seed)" % (turn, len(ids)))
        continue
    c = ids[3]
    check(c not in ids[:3] + ids[4:], "B: turn %d: token 3 (%d) is the forced close tag, alone" % (turn, c))
    check([bool(t["reasoning"]) for t in g] == [i <= 3 for i in range(len(g))],
          "B: turn %d: exactly the 3 reasoning tokens and the close tag are tagged reasoning" % turn)
    if turn == 0:
        want["reasoning"], want["answer"] = detok(ids[:3]).strip(WS), detok(ids[4:]).lstrip(WS)
if "answer" in want:
    err, out = open(w + "/on.err").read(), open(w + "/on.out").read()
    we = "thinking: %s\n" % want["reasoning"] if want["reasoning"] else ""
    check(err.startswith(we) and len(err) > len(we), "B: stderr shows the reasoning apart: %r" % err[:200])
    check(out.startswith(want["answer"] + "\n"), "B: stdout holds the answer alone: %r (want %r first)" % (out[:200], want["answer"]))
check(all(not t["reasoning"] for t in on if t["kind"] != "generated"), "B: no prompt token is tagged")
tail = ref["gen_on"]["ids"]
check(prompt(on, 1)[-len(tail):] == tail, "B: the second turn opens the assistant with thinking on")
# C: thinking off
check(not any(t["reasoning"] for t in off), "C: thinking off tags nothing")
want["off"] = detok([t["token"] for t in gen(off, 0)])
check(open(w + "/off.out").read().startswith(want["off"] + "\n"), "C: the first answer is every generated token: %r" % want["off"])
json.dump(want, open(w + "/want.json", "w"))
sys.exit(1 if bad else 0)
PYEOF

# D: the server
if command -v curl >/dev/null 2>&1 && [ -f "$WORK/want.json" ]; then
    start_server "$WORK/server" -m "$M"
    req() { # NAME JSON
        curl -sS --max-time 300 -H 'Content-Type: application/json' -d "$2" "$BASE/v1/chat/completions" >"$WORK/$1.json" ||
            echo "curl failed: $1"
    }
    body='"messages":[{"role":"user","content":"the cat"}],"max_tokens":'$N',"temperature":0'
    think='"chat_template_kwargs":{"enable_thinking":true},"reasoning_budget_tokens":3'
    req s_on "{$body,$think,\"return_routed_experts\":true}"
    req s_stream "{$body,$think,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
    req s_off "{$body,\"chat_template_kwargs\":{\"enable_thinking\":false}}"
    "$PY" - "$WORK" <<'PYEOF' || fails=$((fails + 1))
import json, sys
w = sys.argv[1]
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)
want = json.load(open(w + "/want.json"))
r = json.load(open(w + "/s_on.json"))
msg = r["choices"][0]["message"]
check(msg.get("content") == want["answer"] and msg.get("reasoning_content", "") == want["reasoning"],
      "D: content and reasoning_content = moevk chat --think's: %r / %r" % (msg.get("content"), msg.get("reasoning_content")))
check(r["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4, "D: usage reasoning_tokens %s" % r["usage"])
kinds = r.get("moevk_routing", {}).get("kinds", [])
i = kinds.index("reasoning") if "reasoning" in kinds else -1
check(i >= 0 and kinds[i:i + 4] == ["reasoning"] * 4 and kinds.count("reasoning") == 4 and "generated" not in kinds[:i],
      "D: routing kinds: the prompt, 4 reasoning, then generated: %s" % kinds[-12:])
rc, cc, usage = "", "", None
for line in open(w + "/s_stream.json").read().split("\n"):
    if not line.startswith("data: ") or line == "data: [DONE]":
        continue
    ev = json.loads(line[6:])
    if ev.get("usage"):
        usage = ev["usage"]
    for ch in ev.get("choices", []):
        d = ch.get("delta", {})
        rc += d.get("reasoning_content", "")
        cc += d.get("content", "")
check(rc == msg.get("reasoning_content", "") and cc == msg.get("content"), "D: streamed deltas join to the same: %r / %r" % (rc, cc))
check(usage is not None and usage["completion_tokens_details"]["reasoning_tokens"] == 4, "D: stream usage %s" % usage)
r = json.load(open(w + "/s_off.json"))
msg = r["choices"][0]["message"]
check(msg.get("content") == want["off"] and "reasoning_content" not in msg,
      "D: enable_thinking false = moevk chat's answer, no reasoning: %r" % msg)
sys.exit(1 if bad else 0)
PYEOF
else
    [ -f "$WORK/want.json" ] || fails=$((fails + 1))
    command -v curl >/dev/null 2>&1 || skip_part "D: curl is not installed"
fi

# E: no thinking mode
check "E: qwen3moe refuses --think" 1 "has no thinking mode" "$CLI" caption -m "$WORK/q3-text.gguf" -p hi -n 2 --think

[ $fails = 0 ] || { echo "FAIL: $fails check group(s)"; exit 1; }
echo "PASS: thinking on/off for qwen35moe agrees with llama.cpp's template; reasoning apart from the answer"
finish
