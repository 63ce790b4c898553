#!/usr/bin/env bash
# server_hostile.sh — `moevk serve` refuses what it must, with a 4xx and an OpenAI-style error body naming
# the problem, and stays up: malformed JSON, wrong types, out-of-range values, a body over the limit, a
# truncated body, bad base64, a non-image data URI, a remote URL, bytes that are no image, JSON nested too
# deep, too many messages, a wrong or missing API key (and /health without one), unknown routes and methods,
# a context overflow. After every case GET /health must still answer.
# ctest-labels: server
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
command -v curl >/dev/null 2>&1 || skip "curl is not installed (apt-get install curl)"
pick_model
new_workdir
KEY=test-key-123
start_server "$WORK/server" -m "$MODEL" --mmproj "$MMPROJ" -c 256 --api-key "$KEY" --max-body 200000 --max-messages 16
fails=0
# expect NAME STATUS CODE_OR_- NEEDLE CURL-ARGS...: status, error.code (or - for none) and a word of the message
expect() {
    local name=$1 want=$2 code=$3 needle=$4
    shift 4
    local got
    got=$(curl -sS --max-time 60 -o "$WORK/body" -w '%{http_code}' "$@" || echo "curl-failed")
    local msg
    msg=$("$PY" -c "
import json,sys
try:
    e=json.load(open('$WORK/body'))['error']; print((e.get('code') or '-')+'|'+e['message']+'|'+str(e.get('type')))
except Exception as x: print('no-error-body|'+open('$WORK/body',errors='replace').read()[:200]+'|')" 2>/dev/null)
    local gcode=${msg%%|*} rest=${msg#*|}
    if [ "$got" = "$want" ] && { [ "$code" = "*" ] || [ "$gcode" = "$code" ]; } && grep -qi -- "$needle" <<<"$rest"; then
        echo "ok   $name: $got $gcode: ${rest%|*}"
    else
        echo "FAIL $name: got $got $gcode '${rest}', want $want $code /$needle/"
        fails=$((fails + 1))
    fi
    curl -fsS --max-time 10 "$BASE/health" >/dev/null || { echo "FAIL the server stopped answering after: $name"; exit 1; }
}
AUTH=(-H "Authorization: Bearer $KEY")
URL=$BASE/v1/chat/completions
J=(-H "Content-Type: application/json")
post() { printf '%s' "$1" >"$WORK/req.json"; echo --data-binary "@$WORK/req.json"; }

expect "no key"            401 invalid_api_key "Bearer" -X POST "$URL" "${J[@]}" -d '{}'
expect "wrong key"         401 invalid_api_key "Bearer" -X POST "$URL" "${J[@]}" -H "Authorization: Bearer nope" -d '{}'
expect "models need a key" 401 invalid_api_key "Bearer" "$BASE/v1/models"
curl -fsS --max-time 10 "$BASE/health" | grep -q '"status":"ok"' && echo "ok   /health without a key" || { echo "FAIL /health"; fails=$((fails + 1)); }
expect "unknown route"     404 not_found "no such route" "${AUTH[@]}" "$BASE/v1/completions"
expect "wrong method"      405 - "POST" "${AUTH[@]}" "$URL"
expect "malformed JSON"    400 invalid_json "not valid JSON" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages": [}'
expect "not an object"     400 - "JSON object" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '[1,2]'
expect "no messages"       400 - "messages" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"model":"x"}'
expect "messages a string" 400 - "messages" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":"hi"}'
expect "bad role"          400 - "role" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"wizard","content":"hi"}]}'
expect "content a number"  400 - "content" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":7}]}'
expect "max_tokens string" 400 - "max_tokens" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":"9"}'
expect "temperature 5"     400 - "temperature" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":"hi"}],"temperature":5}'
expect "n = 2"             400 - "n = 1" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":"hi"}],"n":2}'
expect "last not user"     400 - "last message" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'
deep=$(printf '[%.0s' $(seq 1 40))$(printf ']%.0s' $(seq 1 40))
expect "JSON too deep"     400 - "deeper" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"x\":$deep}"
many=$("$PY" -c "import json; print(json.dumps({'messages':[{'role':'user','content':'a'}]*40}))")
expect "too many messages" 400 - "more than 16" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$many"
img() { printf '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"%s"}},{"type":"text","text":"what?"}]}],"max_tokens":2}' "$1"; }
expect "remote URL"        400 - "fetches nothing" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img https://example.com/cat.png)"
expect "not a data URI"    400 - "data: URI" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img ftp://x)"
expect "non-image URI"     400 - "not an image" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img 'data:text/plain;base64,aGVsbG8=')"
expect "bad base64"        400 - "base64" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img 'data:image/png;base64,@@@@')"
expect "not base64 URI"    400 - "base64" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img 'data:image/png,rawbytes')"
expect "bytes not an image" 400 invalid_image "image" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$(img 'data:image/png;base64,aGVsbG8gd29ybGQgdGhpcyBpcyBubyBpbWFnZQ==')"
head -c 300000 /dev/zero | tr '\0' 'a' >"$WORK/big.txt"
"$PY" -c "import json; print(json.dumps({'messages':[{'role':'user','content':open('$WORK/big.txt').read()}]}))" >"$WORK/big.json"
expect "body over the limit" 413 body_too_large "limit" "${AUTH[@]}" "${J[@]}" -X POST "$URL" --data-binary "@$WORK/big.json"
long=$("$PY" -c "import json; print(json.dumps({'messages':[{'role':'user','content':'word '*2000}],'max_tokens':4}))")
expect "context overflow"  400 context_length_exceeded "context" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d "$long"
# a truncated body: Content-Length says more than arrives, then the client hangs up
"$PY" - "${BASE#http://}" "$KEY" <<'PYEOF'
import socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "Content-Length: 5000\r\n\r\n{\"messages\": [" % sys.argv[2]).encode())
s.close()
PYEOF
curl -fsS --max-time 10 "$BASE/health" >/dev/null && echo "ok   truncated body: the server still answers" || { echo "FAIL truncated body"; fails=$((fails + 1)); }
# a valid request still works after all that
expect "valid after all"   200 "*" "" "${AUTH[@]}" "${J[@]}" -X POST "$URL" -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0}'
kill -0 "$SERVER_PID" || die "the server died"
[ "$fails" = 0 ] || die "$fails case(s) failed"
