#!/usr/bin/python3
"""The 200 frozen held-out scenes (issue 21, item 4): today's generator, fixed seeds, kept reproducible
after tools/data/scenes.py changes.

    /usr/bin/python3 tools/data/frozen_scenes.py --check tests/data/frozen_scenes_200.tsv   # the test
    /usr/bin/python3 tools/data/frozen_scenes.py --write DIR     # DIR/s<seed>.png + DIR/frozen_scenes_200.tsv

The set: the first 200 test-split seeds (scenes.seeds_of("test", 200): seeds 9 .. 2296; training never
draws a test-split seed), drawn by tools/data/scenes.py as of commit GENERATOR_COMMIT (sha256
GENERATOR_SHA256). While the working tree's scenes.py is that file it is imported; once it changes, the
frozen one is taken from git (`git show GENERATOR_COMMIT:tools/data/scenes.py`), so the history must be
there (a clone, not a shallow one).

Per scene, the questions are qa(spec, default_rng([seed, 4242])), as tools/eval/scenes_eval.py asks
them. tests/data/frozen_scenes_200.tsv holds, per scene: the seed, the sha256 of its raw RGB pixels
(uint8 [128][128][3], row-major: independent of the PNG encoder), its kind, and the five
question/answer pairs (caption, color, shape, count, yesno). --check regenerates all of it and fails on
any difference.
"""
import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GENERATOR_COMMIT = "c5bb9b218195a4ee1df1027b7d784799a71b1d68"
GENERATOR_SHA256 = "85b877239bf3ae415356cb858c6ee77f1e696d3e7bdd400f3682ddc38865bef2"
N = 200
QSEED = 4242  # the questions' rng: default_rng([seed, QSEED]), as scenes_eval.items
HEADER = ["seed", "pixels_sha256", "kind"] + ["%s_%s" % (t, x) for t in
                                             ("caption", "color", "shape", "count", "yesno") for x in ("q", "a")]


def _sha256(b):
    return hashlib.sha256(b).hexdigest()


def generator():
    """The scenes module of GENERATOR_COMMIT."""
    path = os.path.join(HERE, "scenes.py")
    src = open(path, "rb").read() if os.path.exists(path) else b""
    if _sha256(src) != GENERATOR_SHA256:
        try:
            src = subprocess.run(["git", "-C", ROOT, "show", GENERATOR_COMMIT + ":tools/data/scenes.py"],
                                 check=True, capture_output=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise SystemExit("frozen_scenes: tools/data/scenes.py changed and git cannot give the frozen one "
                             "(commit %s): %s" % (GENERATOR_COMMIT, getattr(e, "stderr", b"").decode().strip() or e))
        if _sha256(src) != GENERATOR_SHA256:
            raise SystemExit("frozen_scenes: scenes.py of %s has sha256 %s, expected %s"
                             % (GENERATOR_COMMIT, _sha256(src), GENERATOR_SHA256))
        tmp = tempfile.NamedTemporaryFile("wb", suffix="_scenes_frozen.py", delete=False)
        tmp.write(src)
        tmp.close()
        path = tmp.name
    spec = importlib.util.spec_from_file_location("scenes_frozen", path)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    finally:
        if path != os.path.join(HERE, "scenes.py"):
            os.unlink(path)
    return mod


def scenes(gen=None):
    """[(seed, spec, pixels uint8 [128][128][3], [(question, answer, type)] * 5)] of the frozen set."""
    gen = gen or generator()
    out = []
    for s in gen.seeds_of("test", N):
        spec = gen.spec_of(s)
        img = gen.render(spec)
        qa = gen.qa(spec, np.random.default_rng([s, QSEED]))
        if [t for _, _, t in qa] != ["caption", "color", "shape", "count", "yesno"]:
            raise SystemExit("frozen_scenes: unexpected question types %r" % [t for _, _, t in qa])
        out.append((s, spec, img, qa))
    return out


def rows(items):
    for s, spec, img, qa in items:
        px = np.ascontiguousarray(img, dtype=np.uint8)
        if px.shape != (128, 128, 3):
            raise SystemExit("frozen_scenes: seed %d renders %r, expected (128, 128, 3)" % (s, px.shape))
        cells = [str(s), _sha256(px.tobytes()), spec["kind"]]
        for q, a, _ in qa:
            if "\t" in q + a or "\n" in q + a:
                raise SystemExit("frozen_scenes: seed %d: a tab or newline in %r / %r" % (s, q, a))
            cells += [q, a]
        yield cells


def write_tsv(path, items):
    with open(path, "w") as f:
        f.write("\t".join(HEADER) + "\n")
        for cells in rows(items):
            f.write("\t".join(cells) + "\n")


def check(path, items):
    want = [line.rstrip("\n").split("\t") for line in open(path)]
    if not want or want[0] != HEADER:
        print("FAIL %s: header %r, expected %r" % (path, want[:1], HEADER))
        return 1
    got = list(rows(items))
    bad = 0
    if len(want) - 1 != len(got):
        print("FAIL %s: %d scenes, regenerated %d" % (path, len(want) - 1, len(got)))
        bad += 1
    for w, g in zip(want[1:], got):
        if w != g:
            diff = [HEADER[i] for i in range(len(HEADER)) if i >= len(w) or i >= len(g) or w[i] != g[i]]
            print("FAIL seed %s: %s differ (file %r, regenerated %r)" % (g[0], ", ".join(diff), w, g))
            bad += 1
    if bad:
        return 1
    print("frozen_scenes: %d scenes regenerate identically (pixels, captions, questions, answers)" % len(got))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", metavar="TSV", help="regenerate and compare with TSV")
    ap.add_argument("--write", metavar="DIR", help="write the PNGs and the TSV into DIR")
    a = ap.parse_args(argv)
    if not a.check and not a.write:
        ap.error("give --check TSV or --write DIR")
    items = scenes()
    if a.write:
        from PIL import Image
        os.makedirs(a.write, exist_ok=True)
        for s, _, img, _ in items:
            Image.fromarray(img).save(os.path.join(a.write, "s%d.png" % s))
        write_tsv(os.path.join(a.write, "frozen_scenes_%d.tsv" % N), items)
        print("frozen_scenes: %d scenes -> %s" % (len(items), a.write))
    return check(a.check, items) if a.check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
