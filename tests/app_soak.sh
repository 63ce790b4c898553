#!/usr/bin/env bash
# app_soak.sh — the short soak: moevk-view --headless on the synthetic camera
# (--camera test:on=20,off=4: it vanishes every 20 s for 4 s, as an unplugged
# webcam) with the embedded model for MOEVK_SOAK_SECONDS (default 120) with
# the validation layer on. tools/soak.sh checks: RSS and device memory flat
# after warm-up (bounds there), no validation message, no failed caption, no
# banner but the camera's "stopped", a caption after every reconnection.
# The 1-hour run for the record: docs/RELIABILITY.md.
# ctest-labels: slow
set -euo pipefail
SRC="${MOEVK_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
BIN="${MOEVK_BINARY_DIR:-$SRC/build}"
VIEW="$BIN/moevk-view"
if [ ! -x "$VIEW" ]; then
  [ "${CI:-}" = true ] && { echo "FAIL: $VIEW is not built"; exit 1; }
  echo "SKIP: $VIEW is not built (MOEVK_BUILD_APP=OFF or SDL2 missing)"
  exit 77
fi
MOEVK_VIEW="$VIEW" bash "$SRC/tools/soak.sh" "${MOEVK_SOAK_SECONDS:-120}"
