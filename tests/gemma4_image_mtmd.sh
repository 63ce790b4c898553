#!/usr/bin/env bash
# ctest-labels: e2e slow
# gemma4_image_mtmd.sh — an image inside a gemma4 prompt against llama.cpp through libmtmd
# (tools/gemma4_image_vs_mtmd.sh), in two masks:
#   1. window 128 over the 80-token image: an image row sees its whole image both ways on the sliding layers and
#      the rows before it causally on the global one, as llama.cpp's SWA_ONLY mask;
#   2. the tiny window (16) under the 80-token image: an image row sees every later row of its image and only the
#      earlier rows within the window (llama.cpp's is_masked_swa applies to past keys only), with every expert
#      active (--top-k 8 of 8): with top-2 routing a few text rows flip a near-tied expert under llama.cpp's
#      f16-table GELU and land 1e-2 away (seeds 5, 6), with no selection there is nothing to flip and every row
#      agrees (measured 4.9e-6 .. 1.1e-5 at seeds 5-7), which shows the mask itself is llama.cpp's.
# Each must hold: the text after the image within NMSE 1e-4 of llama.cpp (measured 1.2e-5 and 4.9e-6: the text
# model's f16-table GELU in llama.cpp; with causal image attention the same file is 4.8e-2 away, 400x the bound),
# the same top-1 at every text position after the image, the same 16 greedy tokens. Labelled slow: it builds
# libmtmd when missing.
set -euo pipefail
T="$(dirname "$0")/../tools/gemma4_image_vs_mtmd.sh"
G4IMG_NMSE=1e-4 bash "$T" --window 128
G4IMG_NMSE=1e-4 bash "$T" --top-k 8
