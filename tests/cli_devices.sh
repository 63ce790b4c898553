#!/usr/bin/env bash
# cli_devices.sh — `moevk devices` names the memory model of each device:
# "unified" or "staging" by default (whichever the device's memory allows),
# and "staging (forced)" for a unified device under MOEVK_FORCE_STAGING=1.
set -u
. "$(dirname "$0")/lib.sh"
out=$(env -u MOEVK_FORCE_STAGING "$CLI" devices 2>&1)
rc=$?
if [ $rc != 0 ]; then
    if printf '%s\n' "$out" | grep -q "no Vulkan"; then skip "no Vulkan device ($out)"; fi
    echo "FAIL: moevk devices exited $rc:"; printf '%s\n' "$out"; exit 1
fi
fails=0
n_dev=$(printf '%s\n' "$out" | grep -cE '^[ *] [0-9]+: ')
n_model=$(printf '%s\n' "$out" | grep -cE 'memory model: (unified|staging)')
if [ "$n_dev" -lt 1 ] || [ "$n_dev" != "$n_model" ]; then
    echo "FAIL: $n_dev device(s) but $n_model memory-model line(s):"; printf '%s\n' "$out"; fails=1
else
    echo "ok   default: every device names its memory model"
fi
forced=$(MOEVK_FORCE_STAGING=1 "$CLI" devices 2>&1)
n_uni=$(printf '%s\n' "$out" | grep -c 'memory model: unified')
n_forced=$(printf '%s\n' "$forced" | grep -c 'memory model: staging (forced)')
if printf '%s\n' "$forced" | grep -q 'memory model: unified' || [ "$n_uni" != "$n_forced" ]; then
    echo "FAIL: MOEVK_FORCE_STAGING=1: $n_uni unified device(s) but $n_forced 'staging (forced)':"; printf '%s\n' "$forced"; fails=1
else
    echo "ok   MOEVK_FORCE_STAGING=1: the $n_uni unified device(s) show 'staging (forced)'"
fi
exit $fails
