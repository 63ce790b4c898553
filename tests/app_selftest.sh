#!/usr/bin/env bash
# app_selftest.sh — moevk-view's camera frame conversions without a camera:
# YUYV -> RGB on BT.601 limited-range reference colours (odd width, padded
# rows), and an MJPEG frame (a solid-colour JPEG made here with PIL) decoded
# from memory to the colour it was made with; truncated frames fail cleanly.
# ctest-labels: app
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_view
need_pil
new_workdir
"$PY" -c "
from PIL import Image
Image.new('RGB', (640, 480), (200, 40, 90)).save('$WORK/frame.jpg', quality=95)"
"$VIEW" --selftest "$WORK/frame.jpg" 200 40 90
# --help lists the cameras (or says there are none)
"$VIEW" --help | grep -A3 '^cameras:'
