#!/usr/bin/env bash
# cli_chat.sh — `moevk chat`: questions from stdin, one streamed answer each.
#   - --help and usage errors;
#   - a follow-up does not re-encode the image ("image encode 0.0 ms (0 images, 0 tokens)")
#     and prefills only its own turn;
#   - --routing covers the whole conversation: positions 0..n-1, every token
#     tagged with its turn, image tokens only in turn 0, and turn 0 equal to
#     what `moevk caption` records for the same question (ids and weights);
#   - a question longer than the context is CONTEXT_FULL naming the context
#     size, and the next question is still answered; /clear starts over;
#     /image PATH adds an image to the next question (llama-mtmd-cli's
#     command): that turn encodes it alone, the routing tags its tokens as the
#     conversation's second image; a bad path is reported and the conversation
#     goes on; /new PATH starts a conversation about another image.
# Model: the embedded model (assets/models/) if present, else the golden tiny
# model (tests/goldens); neither: skip (77), a failure under CI=true.
# ctest-labels: e2e
set -u
. "$(dirname "$0")/lib.sh"
need_cli
new_workdir
T=$WORK
if [ -f "$EMBED_MODEL" ] && [ -f "$EMBED_MMPROJ" ]; then
    M=(-m "$EMBED_MODEL" --mmproj "$EMBED_MMPROJ")
    IMG=$(ls "$SRC"/assets/samples/*.png | sort | head -1)
    BUDGET=(--image-max-tokens 16)
elif have_goldens; then
    M=(-m "$GOLD_A/text.gguf" --mmproj "$GOLD_A/mmproj.gguf")
    IMG="$GOLD_A/image.png"
    BUDGET=(--image-min-tokens 1)
else
    skip "no model: $EMBED_MODEL and $GOLD_A are missing"
fi
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails+1)); }

"$CLI" chat --help >"$T/help" 2>&1 && grep -q "usage: moevk chat" "$T/help" && ok help || bad help
"$CLI" chat </dev/null >"$T/o" 2>&1; [ $? = 2 ] && grep -q -- "-m TEXT.gguf is required" "$T/o" && ok no-model || bad no-model
"$CLI" chat "${M[@]}" --bogus </dev/null >"$T/o" 2>&1; [ $? = 2 ] && grep -q "unknown option" "$T/o" && ok bad-option || bad bad-option

Q1="What is in the picture?"
Q2="What colour is it?"
printf '%s\n\n%s\n' "$Q1" "$Q2" | "$CLI" chat "${M[@]}" --image "$IMG" "${BUDGET[@]}" -n 12 --routing "$T/chat.json" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] && ok "two-turns rc" || { bad "two-turns rc=$rc"; cat "$T/err"; }
grep -q "^turn 0: image encode [1-9][0-9.]* ms\|^turn 0: image encode 0\.[1-9]" "$T/err" && ok "turn 0 encodes" || { bad "turn 0 encodes"; cat "$T/err"; }
grep -q "^turn 1: image encode 0.0 ms (0 images, 0 tokens)" "$T/err" && ok "follow-up does not re-encode" || { bad "follow-up re-encodes"; cat "$T/err"; }
"$CLI" caption "${M[@]}" --image "$IMG" "${BUDGET[@]}" -n 12 -p "$Q1" --routing "$T/cap.json" -q >"$T/cap.txt" 2>"$T/caperr" || { bad "caption"; cat "$T/caperr"; }
"$PY" - "$T/chat.json" "$T/cap.json" "$T/err" <<'EOF' || fails=$((fails+1))
import json, re, sys
chat = json.load(open(sys.argv[1])); cap = json.load(open(sys.argv[2])); err = open(sys.argv[3]).read()
bad = []
if [t["pos"] for t in chat] != list(range(len(chat))): bad.append("positions are not 0..n-1")
turns = [t["turn"] for t in chat]
if sorted(set(turns)) != [0, 1]: bad.append(f"turns {sorted(set(turns))}, want [0, 1]")
if any(t["kind"] == "image" and t["turn"] != 0 for t in chat): bad.append("image tokens outside turn 0")
if not any(t["kind"] == "image" for t in chat): bad.append("no image tokens")
# the first turn is what `moevk caption` records for the same question
n_cap = len(cap)
if chat[:n_cap] != cap: bad.append(f"turn 0 ({n_cap} tokens of caption) differs from `moevk caption --routing`")
# turn 1 prefilled only its own tokens: its prompt count in the timings = turn-1 prompt records
m = re.search(r"^turn 1: .*prefill (\d+) tokens", err, re.M)
n1_prompt = sum(1 for i, t in enumerate(chat) if t["turn"] == 1 and t["kind"] == "prompt")
fed_prev = sum(1 for i, t in enumerate(chat) if i >= n_cap and t["turn"] == 0)  # last answer token, fed by turn 1
if not m or int(m.group(1)) != n1_prompt + fed_prev:
    bad.append(f"turn 1 prefill {m.group(1) if m else '?'} tokens, records show {n1_prompt} + {fed_prev}")
for b in bad: print("FAIL routing:", b)
if not bad: print(f"ok   routing: {len(chat)} tokens, 2 turns, turn 0 equals moevk caption, turn 1 prefill {n1_prompt + fed_prev} tokens")
sys.exit(1 if bad else 0)
EOF
[ "$(wc -l <"$T/out")" -ge 2 ] && ok "two answers" || { bad "answers: $(cat "$T/out")"; }

# a question longer than the context, then a short one; /clear starts over
LONG=$("$PY" -c "print(' '.join(['word'] * 3000))")
printf '%s\n%s\n%s\n/clear\n%s\n' "$Q1" "$LONG" "$Q2" "$Q1" | "$CLI" chat "${M[@]}" --image "$IMG" "${BUDGET[@]}" -c 256 -n 8 --routing "$T/c2.json" >"$T/out2" 2>"$T/err2"
rc=$?
[ $rc = 1 ] && ok "context-full rc 1" || bad "context-full rc=$rc"
grep -q "MOEVK_ERR_CONTEXT_FULL.*256" "$T/err2" && ok "context-full names the context size" || { bad "context-full message"; cat "$T/err2"; }
grep -q "^turn 1: " "$T/err2" && ok "next question answered after CONTEXT_FULL" || { bad "no turn after CONTEXT_FULL"; cat "$T/err2"; }
[ "$(grep -c '^turn 0: ' "$T/err2")" = 2 ] && grep -q "^new conversation" "$T/err2" && ok "/clear starts a new conversation" || bad "/clear"
"$PY" -c "
import json,sys; r=json.load(open('$T/c2.json'))
sys.exit(0 if r and set(t['turn'] for t in r) == {0} and r[0]['pos'] == 0 else 1)" && ok "routing after /clear is the new conversation" || bad "routing after /clear"

# /image PATH: the next question is about a second image too (encoded by that turn alone);
# a bad path is reported and changes nothing; /new PATH starts over about PATH
printf '%s\n/image %s\n%s\n/image %s\n%s\n/new %s\n%s\n' "$Q1" "$IMG" "$Q2" "$T/none.png" "$Q2" "$IMG" "$Q1" |
    "$CLI" chat "${M[@]}" --image "$IMG" "${BUDGET[@]}" -n 4 --routing "$T/c3.json" >"$T/out3" 2>"$T/err3"
rc=$?
[ $rc = 1 ] && grep -q "^turn 1: image encode [0-9.]* ms (1 images, [1-9]" "$T/err3" &&
    grep -q "^turn 2: image encode 0.0 ms (0 images, 0 tokens)" "$T/err3" && grep -q "none.png" "$T/err3" &&
    grep -q "new conversation about $IMG" "$T/err3" && [ "$(grep -c '^turn 0: image encode [0-9.]* ms (1 images, [1-9]' "$T/err3")" = 2 ] &&
    ok "/image adds an image to the next question, a bad one is reported, /new starts over" ||
    { bad "/image"; cat "$T/err3"; }
# the routing of the last conversation (after /new) holds one image; run again without /new to see two
printf '%s\n/image %s\n%s\n' "$Q1" "$IMG" "$Q2" |
    "$CLI" chat "${M[@]}" --image "$IMG" "${BUDGET[@]}" -n 4 --routing "$T/c4.json" >"$T/out4" 2>"$T/err4"
"$PY" -c "
import json,sys; r=json.load(open('$T/c4.json'))
img=[t for t in r if t['kind']=='image']
first=[t for t in img if t['image']==0]; second=[t for t in img if t['image']==1]
ok = first and len(first)==len(second) and {t['turn'] for t in first}=={0} and {t['turn'] for t in second}=={1} \
     and all(t['image']==-1 for t in r if t['kind']!='image')
sys.exit(0 if ok else 1)" && ok "routing tags each image token with its image (0 in turn 0, 1 in turn 1)" ||
    { bad "routing image tags"; cat "$T/err4"; }

[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all cli_chat checks passed"
