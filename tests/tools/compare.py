#!/usr/bin/env python3
"""compare.py — compares raw little-endian arrays written by `moevk eval`
with reference arrays (goldens). Used by the shell tests.

usage: compare.py KIND GOT REF [TOL]
  KIND: nmse (f32, NMSE <= TOL), maxabs (f32, max |a-b| <= TOL),
        exact-i32 (int32 arrays identical), probs (f32 logits [n][V]: softmax
        per row, max |p-q| <= TOL), argmax (f32 logits [n][V]: same argmax per row),
        rows (f32 [n][V] as 5th arg V: every row's NMSE <= TOL and the same argmax in every row;
        prints the whole-array NMSE, the worst row's NMSE and the top-1 agreement)
Exits 1 with a message naming the worst element on failure."""
import sys

import numpy as np


def main():
    kind, got_p, ref_p = sys.argv[1:4]
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    dt = np.int32 if kind == "exact-i32" else np.float32
    got = np.fromfile(got_p, dtype="<" + np.dtype(dt).str[1:])
    ref = np.fromfile(ref_p, dtype="<" + np.dtype(dt).str[1:])
    if got.size != ref.size:
        print(f"FAIL {kind}: {got_p} has {got.size} elements, {ref_p} has {ref.size}")
        return 1
    if kind == "exact-i32":
        bad = np.nonzero(got != ref)[0]
        if bad.size:
            print(f"FAIL exact: {bad.size} of {got.size} differ; first at {bad[0]}: got {got[bad[0]]} want {ref[bad[0]]}")
            return 1
        print(f"ok exact: {got.size} ids identical")
        return 0
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    if not np.all(np.isfinite(g)):
        print(f"FAIL {kind}: non-finite values in {got_p}")
        return 1
    if kind == "nmse":
        e = float(np.sum((g - r) ** 2) / max(np.sum(r ** 2), 1e-30))
        ok = e <= tol
        print(f"{'ok' if ok else 'FAIL'} nmse {e:.3e} (tol {tol:.1e}) max|d| {np.max(np.abs(g - r)):.3e}")
        return 0 if ok else 1
    if kind == "maxabs":
        d = np.abs(g - r)
        i = int(np.argmax(d))
        ok = d[i] <= tol
        print(f"{'ok' if ok else 'FAIL'} max|d| {d[i]:.3e} at {i} (tol {tol:.1e}) got {g[i]:.6g} want {r[i]:.6g}")
        return 0 if ok else 1
    n_vocab = int(sys.argv[5]) if len(sys.argv) > 5 else None
    if kind in ("probs", "argmax", "rows"):
        if n_vocab is None or g.size % n_vocab:
            print(f"{kind} needs n_vocab as 5th argument, dividing the array size")
            return 2
        g = g.reshape(-1, n_vocab)
        r = r.reshape(-1, n_vocab)
        if kind == "rows":
            rn = np.sum((g - r) ** 2, 1) / np.maximum(np.sum(r ** 2, 1), 1e-30)
            top = np.argmax(g, 1) == np.argmax(r, 1)
            e = float(np.sum((g - r) ** 2) / max(np.sum(r ** 2), 1e-30))
            w = int(np.argmax(rn))
            ok = rn[w] <= tol and bool(top.all())
            print(f"{'ok' if ok else 'FAIL'} rows: nmse {e:.3e}, worst row {rn[w]:.3e} at {w} (tol {tol:.1e}), "
                  f"top-1 {int(top.sum())}/{g.shape[0]}")
            return 0 if ok else 1
        if kind == "argmax":
            bad = np.nonzero(np.argmax(g, 1) != np.argmax(r, 1))[0]
            print(f"{'ok' if not bad.size else 'FAIL'} argmax: {g.shape[0] - bad.size}/{g.shape[0]} rows agree")
            return 0 if not bad.size else 1
        def sm(x):
            x = x - x.max(1, keepdims=True)
            e = np.exp(x)
            return e / e.sum(1, keepdims=True)
        d = np.abs(sm(g) - sm(r))
        ok = d.max() <= tol
        print(f"{'ok' if ok else 'FAIL'} probs max|d| {d.max():.3e} (tol {tol:.1e})")
        return 0 if ok else 1
    print("unknown kind", kind)
    return 2


if __name__ == "__main__":
    sys.exit(main())
