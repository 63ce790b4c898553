#!/usr/bin/env bash
# server_load.sh — a bounded load on loopback: 8 clients x 25 requests each (short answers) against a server
# whose queue holds 4. Every request must be answered (200) or refused at once (503 with Retry-After);
# nothing may hang (each request has a 120 s limit); among the 200s, a streamed request and a
# non-streamed one; afterwards RSS and device memory are flat (RSS within 25% + 16 MiB of its value after
# warm-up, device bytes equal) and the server still answers.
# ctest-labels: server
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
command -v curl >/dev/null 2>&1 || skip "curl is not installed (apt-get install curl)"
pick_model
new_workdir
start_server "$WORK/server" -m "$MODEL" --mmproj "$MMPROJ" -c 512 --queue 4
URL=$BASE/v1/chat/completions
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
dev() { curl -fsS --max-time 10 "$BASE/health" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['device_bytes'])"; }
body='{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":3,"temperature":0}'
for i in 1 2 3; do curl -fsS --max-time 120 -H "Content-Type: application/json" -d "$body" "$URL" >/dev/null; done
rss0=$(rss)
dev0=$(dev)
client() { # ID: 25 requests, one line per request: status and whether Retry-After came with a 503
    local c=$1 i
    for i in $(seq 1 25); do
        local b=$body
        [ $((i % 5)) = 0 ] && b='{"messages":[{"role":"user","content":"Say hello."}],"max_tokens":3,"temperature":0,"stream":true}'
        curl -sS --max-time 120 -D "$WORK/h.$c" -o "$WORK/b.$c" -w '%{http_code}' -H "Content-Type: application/json" -d "$b" "$URL" \
            >"$WORK/s.$c" 2>/dev/null || echo -n "timeout" >"$WORK/s.$c"
        local s
        s=$(cat "$WORK/s.$c")
        if [ "$s" = 503 ]; then grep -qi '^retry-after:' "$WORK/h.$c" && s="503+retry" || s="503-no-retry"; fi
        if [ "$s" = 200 ] && [ $((i % 5)) = 0 ]; then grep -q 'data: \[DONE\]' "$WORK/b.$c" && s="200-stream" || s="200-stream-broken"; fi
        echo "$s"
    done >"$WORK/client.$c"
}
t0=$SECONDS
pids=()
for c in $(seq 1 8); do
    client "$c" &
    pids+=($!)
done
wait "${pids[@]}" # the clients only (a plain wait would also wait for the server)
cat "$WORK"/client.* | sort | uniq -c
total=$(cat "$WORK"/client.* | wc -l)
good=$(cat "$WORK"/client.* | grep -cE '^(200|200-stream|503\+retry)$' || true)
ok200=$(cat "$WORK"/client.* | grep -cE '^200' || true)
echo "$total requests in $((SECONDS - t0)) s: $good answered or refused properly, $ok200 answered"
[ "$total" = 200 ] || die "expected 200 requests, got $total"
[ "$good" = "$total" ] || die "some requests hung, failed or were refused without Retry-After (see above)"
grep -qx 200-stream "$WORK"/client.* 2>/dev/null || cat "$WORK"/client.* | grep -qx 200-stream || die "no streamed request was answered"
[ "$ok200" -ge 8 ] || die "only $ok200 requests were answered"
for i in 1 2 3; do curl -fsS --max-time 120 -H "Content-Type: application/json" -d "$body" "$URL" >/dev/null; done
rss1=$(rss)
dev1=$(dev)
echo "RSS after warm-up ${rss0} KiB, after the load ${rss1} KiB; device bytes ${dev0} -> ${dev1}"
[ "$rss1" -le $((rss0 + rss0 / 4 + 16384)) ] || die "RSS grew from $rss0 to $rss1 KiB"
[ "$dev1" = "$dev0" ] || die "device memory changed from $dev0 to $dev1 bytes"
kill -0 "$SERVER_PID" || die "the server died"
