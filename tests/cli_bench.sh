#!/usr/bin/env bash
# cli_bench.sh — `moevk bench`: help, usage errors (exit 2 with a message), and
# `moevk bench ops` listed in the top-level help. The benchmark itself takes
# minutes on lavapipe, so it is not run here.
set -u
CLI=${MOEVK_CLI:?MOEVK_CLI must point at the moevk binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # check NAME WANT_RC NEEDLE CMD...
    local name=$1 want=$2 needle=$3; shift 3
    "$@" >"$T/out" 2>&1
    local rc=$?
    if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" "$T/out"; then
        echo "FAIL $name: rc=$rc (want $want), output lacks '$needle':"; head -20 "$T/out"; fails=$((fails+1))
    else
        echo "ok   $name"
    fi
}
check listed 0 "bench ops" "$CLI" --help
check no-subcommand 2 "usage: moevk bench ops" "$CLI" bench
check help 0 "--reps N" "$CLI" bench --help
check unknown 2 "unknown benchmark 'nope'" "$CLI" bench nope
check bad-reps 2 "--reps expects an integer" "$CLI" bench ops --reps 0
check bad-option 2 "unknown option '--fast'" "$CLI" bench ops --fast
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all bench CLI checks passed"
