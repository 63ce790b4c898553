#!/usr/bin/env bash
# server_openai.sh — `moevk serve` against the official openai npm package, unchanged client code
# (tests/server/openai_client.mjs), on the embedded model (else the golden pair):
#   - /v1/models lists the model;
#   - a question about an image (greedy, max_tokens N) answers exactly what `moevk caption -p Q -n N` prints;
#   - the same request streamed gives the same text, a finish_reason and a usage chunk;
#   - a follow-up that sends the history back continues from the KV cache (timings: cache hit, no image
#     encoded, image_encode_ms 0) and answers what `moevk chat` answers to the same two questions;
#   - return_routed_experts gives base64 int32 [tokens][layers][top_k] with ids inside the expert range, and
#     moevk_routing the per-token kinds (image0, text, generated);
#   - a follow-up bringing a second image hits the cache and encodes only that image, answering what
#     `moevk chat` answers after `/image IMAGE2`; a message with two images holds both images' tokens
#     (timings, usage, kinds image0 and image1 with one image's count each);
#   - a prompt over the context is a 400 with code context_length_exceeded.
# ctest-labels: server
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
need_server_clients
pick_model
new_workdir
IMAGE2=$(ls "$SRC"/assets/samples/*.png 2>/dev/null | sort | sed -n 2p || true)
[ -n "$IMAGE2" ] && [ "$MODEL" = "$EMBED_MODEL" ] || IMAGE2=$IMAGE
Q1="What is in the picture?"
Q2="What colour is it?"
N=12
"$CLI" caption -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" -p "$Q1" -n $N -q >"$WORK/cli1.txt" 2>"$WORK/cli1.err" ||
    { cat "$WORK/cli1.err"; die "moevk caption failed"; }
printf '%s\n%s\n' "$Q1" "$Q2" | "$CLI" chat -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" -n $N -q >"$WORK/chat.txt" 2>"$WORK/chat.err" ||
    { cat "$WORK/chat.err"; die "moevk chat failed"; }
printf '%s\n/image %s\n%s\n' "$Q1" "$IMAGE2" "$Q2" | "$CLI" chat -m "$MODEL" --mmproj "$MMPROJ" --image "$IMAGE" -n $N -q \
    >"$WORK/chat2.txt" 2>"$WORK/chat2.err" || { cat "$WORK/chat2.err"; die "moevk chat with /image failed"; }
start_server "$WORK/server" -m "$MODEL" --mmproj "$MMPROJ"
node "$SRC/tests/server/openai_client.mjs" "$BASE" "$IMAGE" "$Q1" "$Q2" $N "$IMAGE2" >"$WORK/client.json" ||
    { cat "$WORK/server.err"; die "the openai client failed"; }
"$PY" - "$WORK" <<'PYEOF'
import json, sys
w = sys.argv[1]
r = json.load(open(w + "/client.json"))
cli1 = open(w + "/cli1.txt").read().rstrip("\n")
chat = open(w + "/chat.txt").read().rstrip("\n").split("\n")
fails = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: fails.append(what)
check(len(r["models"]) == 1, "/v1/models lists one model: %s" % r["models"])
check(r["a1"] == cli1, "answer == moevk caption: %r vs %r" % (r["a1"], cli1))
check(r["finish1"] in ("stop", "length"), "finish_reason %s" % r["finish1"])
check(r["timings1"]["image_tokens"] > 0 and r["timings1"]["image_encode_ms"] > 0, "first request encodes the image: %s" % r["timings1"])
s = r["stream"]
check(s["text"] == r["a1"], "streamed text == non-streamed: %r" % s["text"])
check(s["finish"] == r["finish1"] and s["chunks"] >= 3, "stream finish_reason %s in %d chunks" % (s["finish"], s["chunks"]))
check(s["usage"] is not None and s["usage"]["completion_tokens"] > 0, "stream usage chunk: %s" % s["usage"])
t2 = r["timings2"]
check(t2["cache_hit"] and t2["image_tokens"] == 0 and t2["image_encode_ms"] == 0, "follow-up hits the prompt cache: %s" % t2)
check(r["usage2"]["prompt_tokens_details"]["cached_tokens"] > 0, "follow-up usage reports cached tokens: %s" % r["usage2"])
check(len(chat) == 2 and r["a1"] == chat[0] and r["a2"] == chat[1], "answers == moevk chat: %r vs %r" % ([r["a1"], r["a2"]], chat))
m = r["routing"]["moevk"]
check(m is not None, "moevk_routing present")
if m:
    n, L, K, X = m["n_tokens"], m["n_layers"], m["top_k"], m["n_expert"]
    check(r["routing"]["bytes"] == n * L * K * 4, "routed_experts holds %d bytes = %d tokens x %d layers x %d x 4" % (r["routing"]["bytes"], n, L, K))
    check(0 <= r["routing"]["min_id"] and r["routing"]["max_id"] < X, "expert ids within [0, %d)" % X)
    kinds = m["kinds"]
    check(len(kinds) == n and "image0" in kinds and "text" in kinds and "generated" in kinds, "kinds per token: %s" % sorted(set(kinds)))
chat2 = open(w + "/chat2.txt").read().rstrip("\n").split("\n")
t4 = r["timings4"]
n_img = r["timings1"]["image_tokens"]
check(t4["cache_hit"] and t4["image_tokens"] == n_img and t4["image_encode_ms"] > 0,
      "a follow-up with a second image hits the cache and encodes that image only: %s" % t4)
check(len(chat2) == 2 and r["a4"] == chat2[1], "its answer == moevk chat after /image: %r vs %r" % (r["a4"], chat2))
t5, k5 = r["timings5"], r["kinds5"] or []
check(t5["image_tokens"] == 2 * n_img, "a two-image message encodes both: %d image tokens (one image: %d)" % (t5["image_tokens"], n_img))
u5 = r["usage5"]
check(k5.count("image0") == n_img and k5.count("image1") == n_img and k5.count("text") == u5["prompt_tokens"] - 2 * n_img
      and k5.count("generated") in (u5["completion_tokens"], u5["completion_tokens"] - 1),
      "its routing: image0 and image1 with %d tokens each, then the text and the generated tokens: %s" % (n_img, u5))
check(r["overflow"] == {"status": 400, "code": "context_length_exceeded"}, "context overflow: %s" % r["overflow"])
sys.exit(1 if fails else 0)
PYEOF
kill -0 "$SERVER_PID" || die "the server died"
