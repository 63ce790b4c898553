#!/usr/bin/env bash
# app_soak.sh — the short soak: moevk-view --headless on the synthetic camera
# (--camera test:on=20,off=4: it vanishes every 20 s for 4 s, as an unplugged
# webcam) with the embedded model for MOEVK_SOAK_SECONDS (default 120) with
# the validation layer on. tools/soak.sh checks: RSS and device memory flat
# after warm-up (bounds there), no validation message, no failed caption, no
# banner but the camera's "stopped", a caption after every reconnection.
# The 1-hour run for the record: docs/RELIABILITY.md.
# ctest-labels: app slow
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_view
MOEVK_VIEW="$VIEW" bash "$SRC/tools/soak.sh" "${MOEVK_SOAK_SECONDS:-120}"
