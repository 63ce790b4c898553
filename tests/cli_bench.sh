#!/usr/bin/env bash
# cli_bench.sh — `moevk bench`: help, usage errors (exit 2 with a message), and
# `moevk bench ops` listed in the top-level help. The benchmark itself takes
# minutes on lavapipe, so it is not run here.
set -u
. "$(dirname "$0")/lib.sh"
need_cli
check listed 0 "bench ops" "$CLI" --help
check no-subcommand 2 "usage: moevk bench ops" "$CLI" bench
check help 0 "--reps N" "$CLI" bench --help
check unknown 2 "unknown benchmark 'nope'" "$CLI" bench nope
check bad-reps 2 "--reps expects an integer" "$CLI" bench ops --reps 0
check bad-option 2 "unknown option '--fast'" "$CLI" bench ops --fast
[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all bench CLI checks passed"
