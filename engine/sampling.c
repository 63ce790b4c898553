/* sampling.c — greedy / temperature / top-k / top-p sampling (see sampling.h). */
#include "sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvk_status.h"

/* ---------------------------------------------------------------- RNG */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mvk_rng_seed(mvk_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t mvk_rng_next(mvk_rng *r) { /* xoshiro256** (Blackman & Vigna) */
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mvk_rng_uniform(mvk_rng *r) { return (double)(mvk_rng_next(r) >> 11) * 0x1.0p-53; }

/* ---------------------------------------------------------------- greedy */

/* NaN compares as -inf */
static float clean(float v) { return isnan(v) ? -INFINITY : v; }

int32_t mvk_sample_greedy(const float *logits, int n) {
    if (!logits || n <= 0) return -1;
    int32_t best = 0;
    float bv = clean(logits[0]);
    for (int i = 1; i < n; i++) {
        const float v = clean(logits[i]);
        if (v > bv) { /* strict: ties stay with the lower id */
            bv = v;
            best = i;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- sampler */

moevk_status mvk_sampler_init(mvk_sampler *s, const mvk_sampler_params *p, int n_vocab) {
    if (!s || !p) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_sampler_init: NULL argument");
    memset(s, 0, sizeof *s);
    if (n_vocab <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "sampler: n_vocab %d must be positive", n_vocab);
    if (isnan(p->temp) || isnan(p->top_p))
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "sampler: temperature and top_p must not be NaN");
    s->idx = malloc((size_t)n_vocab * sizeof *s->idx);
    s->prob = malloc((size_t)n_vocab * sizeof *s->prob);
    if (!s->idx || !s->prob) {
        mvk_sampler_free(s);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "sampler: out of memory for %d candidates", n_vocab);
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    mvk_rng_seed(&s->rng, p->seed);
    return MOEVK_OK;
}

void mvk_sampler_free(mvk_sampler *s) {
    if (!s) return;
    free(s->idx);
    free(s->prob);
    memset(s, 0, sizeof *s);
}

void mvk_sampler_reset(mvk_sampler *s, uint64_t seed) {
    if (!s) return;
    s->p.seed = seed;
    mvk_rng_seed(&s->rng, seed);
}

/* "a before b": larger logit first, ties to the lower id. */
static int before(const float *l, int32_t a, int32_t b) {
    const float va = clean(l[a]), vb = clean(l[b]);
    return va > vb || (va == vb && a < b);
}

/* Binary heap helpers over idx[0..n): the root is the WORST kept candidate. */
static void heap_down(const float *l, int32_t *h, int n, int i) {
    for (;;) {
        int w = i;
        const int a = 2 * i + 1, b = a + 1;
        if (a < n && before(l, h[w], h[a])) w = a;
        if (b < n && before(l, h[w], h[b])) w = b;
        if (w == i) return;
        const int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Sorts idx[0..n) best-first: heap sort with the worst-at-root heap, each
 * extracted worst element going to the back. O(n log n), no recursion. */
static void sort_best_first(const float *l, int32_t *idx, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) heap_down(l, idx, n, i);
    for (int end = n - 1; end > 0; end--) {
        const int32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t; /* the worst goes to the back */
        heap_down(l, idx, end, 0);
    }
}

moevk_status mvk_sampler_sample(mvk_sampler *s, const float *logits, int n, int32_t *out) {
    if (!s || !logits || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_sampler_sample: NULL argument");
    *out = -1;
    if (n <= 0 || n > s->n_vocab)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "sampler: %d logits for a sampler sized %d", n, s->n_vocab);
    const mvk_sampler_params *p = &s->p;
    if (!(p->temp > 0.0f) || p->top_k == 1) {
        *out = mvk_sample_greedy(logits, n);
        return MOEVK_OK;
    }

    /* 1. candidates: top-k (kept in a worst-at-root heap) or everything */
    int32_t *idx = s->idx;
    int m;
    if (p->top_k > 0 && p->top_k < n) {
        m = p->top_k;
        for (int i = 0; i < m; i++) idx[i] = i;
        for (int i = m / 2 - 1; i >= 0; i--) heap_down(logits, idx, m, i);
        for (int i = m; i < n; i++)
            if (before(logits, i, idx[0])) {
                idx[0] = i;
                heap_down(logits, idx, m, 0);
            }
    } else {
        m = n;
        for (int i = 0; i < n; i++) idx[i] = i;
    }
    sort_best_first(logits, idx, m);

    const double lmax = clean(logits[idx[0]]);
    if (!isfinite(lmax)) { /* everything -inf/NaN (or +inf): take the best */
        *out = idx[0];
        return MOEVK_OK;
    }

    /* 2. top-p on the unscaled softmax */
    double *pr = s->prob;
    if (p->top_p < 1.0f) {
        double sum = 0.0;
        for (int i = 0; i < m; i++) sum += (pr[i] = exp((double)clean(logits[idx[i]]) - lmax));
        double cum = 0.0;
        int keep = m;
        for (int i = 0; i < m; i++) {
            cum += pr[i] / sum;
            if (cum >= (double)p->top_p) {
                keep = i + 1;
                break;
            }
        }
        m = keep;
    }

    /* 3. temperature softmax and the draw */
    const double inv_t = 1.0 / (double)p->temp;
    double sum = 0.0;
    for (int i = 0; i < m; i++) sum += (pr[i] = exp(((double)clean(logits[idx[i]]) - lmax) * inv_t));
    const double u = mvk_rng_uniform(&s->rng) * sum;
    double cum = 0.0;
    for (int i = 0; i < m; i++) {
        cum += pr[i];
        if (u < cum) {
            *out = idx[i];
            return MOEVK_OK;
        }
    }
    /* rounding left u at the very end: take the last candidate with mass */
    for (int i = m - 1; i >= 0; i--)
        if (pr[i] > 0.0) {
            *out = idx[i];
            return MOEVK_OK;
        }
    *out = idx[0];
    return MOEVK_OK;
}
