#!/usr/bin/env bash
# gemma4_wide_agreement.sh — tests/gemma4_agreement.sh's case c: a tiny gemma4 file with the released
# 26B-A4B's head dims (global layers 512, through attn_wide.comp; sliding 256) against the exact-GELU numpy
# oracle (NMSE <= 1e-6) and llama.cpp (<= 2e-4, with the oracle at llama.cpp's f16-table GELU within 1e-6 of
# llama.cpp: the distance is llama.cpp's own rounding), top-1 everywhere, 16 greedy tokens identical.
# Labelled slow: the hd-512 pipelines take minutes to compile cold on lavapipe.
# ctest-labels: slow e2e
GEMMA4_CASES=c exec bash "$(dirname "$0")/gemma4_agreement.sh"
