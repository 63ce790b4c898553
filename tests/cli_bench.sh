#!/usr/bin/env bash
# cli_bench.sh — `moevk bench`: help, usage errors (exit 2 with a message), and
# `moevk bench ops` listed in the top-level help. The benchmark itself takes
# minutes on lavapipe, so it is not run here; `bench model` on the embedded model
# (a second) must report the device work of its prefill and decode step.
set -u
. "$(dirname "$0")/lib.sh"
need_cli
check listed 0 "bench ops" "$CLI" --help
check no-subcommand 2 "usage: moevk bench ops" "$CLI" bench
check help 0 "--reps N" "$CLI" bench --help
check unknown 2 "unknown benchmark 'nope'" "$CLI" bench nope
check bad-reps 2 "--reps expects an integer" "$CLI" bench ops --reps 0
check bad-option 2 "unknown option '--fast'" "$CLI" bench ops --fast
out=$("$CLI" bench model -m "$EMBED_MODEL" -p 8 -n 2 --reps 1 2>&1)
if echo "$out" | grep -Eq '^device work: prefill of 8 tokens [1-9][0-9]* dispatches, [0-9]+ barriers, [1-9][0-9]* submits; decode step [1-9][0-9]* dispatches, [0-9]+ barriers, 1 submits$'; then
    echo "ok   bench-model-device-work"
else
    echo "FAIL bench-model-device-work: no device-work line with counts in:"; echo "$out"; fails=$((fails + 1))
fi
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all bench CLI checks passed"
