#!/usr/bin/env bash
# Issue 21: a 640x480 webcam-sized frame of a held-out scene is captioned by the embedded model as
# its 128x128 version is. tools/eval/webcam_frames.py takes the sample scenes the model card shows
# captioned right (assets/samples/captions.tsv), makes a 640x480 frame of each (stretched to 4:3,
# and letterboxed: the scene in the middle, bars of its corner colour), and captions both through
# `moevk caption` with the pair's own image-token budget; it fails unless every frame's caption
# equals the 128x128 one. At least 3 scenes must take part, so that the check is not empty.
# ctest-labels: e2e
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_cli
"$PY" -c "import PIL" 2>/dev/null || skip "$PY lacks PIL"
[ -f "$EMBED_MODEL" ] && [ -f "$EMBED_MMPROJ" ] || die "the embedded model is missing ($EMBED_MODEL)"
new_workdir
"$PY" "$SRC/tools/eval/webcam_frames.py" --engine "$CLI" --min-scenes 3 | tee "$WORK/out"
