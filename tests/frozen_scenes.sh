#!/usr/bin/env bash
# The 200 frozen held-out scenes (tools/data/frozen_scenes.py, issue 21): regenerating them from the
# frozen generator gives, scene by scene, the pixels (sha256 of the raw RGB), captions, questions and
# answers recorded in tests/data/frozen_scenes_200.tsv.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$PY" -c "import numpy, PIL" 2>/dev/null || skip "$PY lacks numpy or PIL"
n=$(($(wc -l <"$SRC/tests/data/frozen_scenes_200.tsv") - 1))
[ "$n" = 200 ] || die "tests/data/frozen_scenes_200.tsv holds $n scenes, expected 200"
"$PY" "$SRC/tools/data/frozen_scenes.py" --check "$SRC/tests/data/frozen_scenes_200.tsv"
