"""Caption metrics, small and self-contained (no external packages).

tokenize(s)   lower-case, punctuation removed, split on whitespace.

bleu4(cands, refs)
    Corpus BLEU-4 (Papineni et al. 2002): modified n-gram precisions p1..p4 with counts
    clipped to the reference counts, summed over the corpus; geometric mean with uniform
    weights; brevity penalty BP = exp(1 - r/c) if c < r (r = total reference length,
    c = total candidate length). refs[i] is a list of reference strings (closest reference
    length is used for r). No smoothing: a corpus with no matching 4-gram scores 0.

cider_d(cands, refs, sigma=6.0)
    CIDEr-D (Vedantam et al. 2015, as in the coco-caption implementation): for n = 1..4,
    TF-IDF vectors of n-grams with document frequencies computed over the reference sets
    of the evaluated corpus; similarity = sum over candidate n-grams of
    min(tfidf_cand, tfidf_ref) * tfidf_ref / (|cand| |ref|) (the "clipping" of CIDEr-D),
    times a Gaussian length penalty exp(-(len_c - len_r)^2 / (2 sigma^2)); averaged over
    references and over n, times 10. Reported as the corpus mean.

Both take cands: list[str], refs: list[list[str]].
"""
import math
import re
from collections import Counter


def tokenize(s):
    s = s.lower()
    s = re.sub(r"[^a-z0-9' ]+", " ", s)
    return s.split()


def _ngrams(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu4(cands, refs):
    match = [0] * 4
    total = [0] * 4
    c_len = r_len = 0
    for c, rs in zip(cands, refs):
        cw = tokenize(c)
        rws = [tokenize(r) for r in rs]
        c_len += len(cw)
        r_len += min((abs(len(r) - len(cw)), len(r)) for r in rws)[1]
        for n in range(1, 5):
            cn = _ngrams(cw, n)
            maxref = Counter()
            for r in rws:
                for g, k in _ngrams(r, n).items():
                    maxref[g] = max(maxref[g], k)
            match[n - 1] += sum(min(k, maxref[g]) for g, k in cn.items())
            total[n - 1] += max(0, len(cw) - n + 1)
    if min(match) == 0 or c_len == 0:
        return 0.0
    logp = sum(math.log(m / t) for m, t in zip(match, total)) / 4
    bp = 1.0 if c_len > r_len else math.exp(1 - r_len / c_len)
    return bp * math.exp(logp)


def cider_d(cands, refs, sigma=6.0):
    N = len(cands)
    ref_grams = [[[_ngrams(tokenize(r), n) for n in range(1, 5)] for r in rs] for rs in refs]
    df = Counter()
    for rg in ref_grams:
        seen = set()
        for r in rg:
            for n in range(4):
                seen.update(r[n].keys())
        df.update(seen)
    log_n = math.log(float(N))

    def vec(grams):
        v, norm = [], []
        for n in range(4):
            d = {g: tf * (log_n - math.log(max(1.0, df[g]))) for g, tf in grams[n].items()}
            v.append(d)
            norm.append(math.sqrt(sum(x * x for x in d.values())))
        return v, norm

    scores = []
    for c, rg in zip(cands, ref_grams):
        cw = tokenize(c)
        cv, cn = vec([_ngrams(cw, n) for n in range(1, 5)])
        acc = [0.0] * 4
        for r, rs in zip(rg, refs[len(scores)]):
            rv, rn = vec(r)
            delta = len(cw) - len(tokenize(rs))
            for n in range(4):
                val = sum(min(x, rv[n].get(g, 0.0)) * rv[n].get(g, 0.0) for g, x in cv[n].items())
                if cn[n] and rn[n]:
                    val /= cn[n] * rn[n]
                else:
                    val = 0.0
                acc[n] += val * math.exp(-(delta * delta) / (2 * sigma * sigma))
        scores.append(10.0 * sum(acc) / 4 / len(rg))
    return sum(scores) / max(1, N)


def _selftest():
    refs = [["a red circle to the left of a cat"], ["two blue squares"], ["a drawing of a potato"]]
    assert abs(bleu4([r[0] for r in refs], refs) - 1.0) < 1e-12
    assert bleu4(["x y z", "q", "w"], refs) == 0.0
    perfect = cider_d([r[0] for r in refs], refs)
    worse = cider_d(["a red circle to the left of a dog", "two blue squares", "a potato"], refs)
    assert perfect > worse > 0.0, (perfect, worse)
    # length penalty: identical n-grams but padded candidate scores lower
    assert cider_d(["two blue squares two blue squares"], [["two blue squares"]]) < 10.0
    print("caption_metrics selftest ok (perfect CIDEr-D on 3 captions = %.3f)" % perfect)


if __name__ == "__main__":
    _selftest()
