#!/usr/bin/env bash
# app_validation_fails.sh — moevk-view fails its run on a Vulkan validation message, as the CLI does.
# With the validation layer on (MOEVK_VALIDATION=1, as in every test), MOEVK_INJECT_VALIDATION_MESSAGE=1
# makes libmoevk submit one validation error through the layer's own message path
# (vkSubmitDebugUtilsMessageEXT) when it creates its instance. A headless caption run must then exit
# non-zero and say why; the same run without the injection must pass (so the failure is the message's).
# ctest-labels: app
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_view
pick_model
new_workdir
run() { # $1: out dir; env before the command
    local out=$1
    shift
    mkdir -p "$out"
    env "$@" MOEVK_VALIDATION=1 VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation timeout 600 \
        "$VIEW" --headless -m "$MODEL" --mmproj "$MMPROJ" --frames 1 --out "$out" "$IMAGE" >"$out/stdout.txt" 2>"$out/stderr.txt"
}
rc=0
run "$WORK/clean" MOEVK_INJECT_VALIDATION_MESSAGE=0 || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/clean/stderr.txt"; die "moevk-view failed without an injected message (exit $rc)"; }
rc=0
run "$WORK/injected" MOEVK_INJECT_VALIDATION_MESSAGE=1 || rc=$?
cat "$WORK/injected/stderr.txt" | grep -i "validation" || true
[ "$rc" != 0 ] || die "moevk-view exited 0 although a validation message was reported"
grep -q "injected validation message" "$WORK/injected/stderr.txt" || die "the injected message was not reported"
grep -q "Vulkan validation message(s): failing" "$WORK/injected/stderr.txt" || die "moevk-view did not say why it failed"
echo "moevk-view: exit 0 without the message, exit $rc with it"
