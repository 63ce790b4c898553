/* sampling.h — choosing the next token from logits: greedy, or temperature
 * with top-k and top-p (nucleus) and a seeded, platform-independent RNG.
 *
 * Order of operations, as llama.cpp's default sampler chain
 * (top_k -> top_p -> temperature -> dist):
 *   1. temp <= 0 (or top_k == 1): greedy argmax, ties to the lower id.
 *   2. top_k > 0: keep the k largest logits (ties to the lower id).
 *   3. top_p < 1: over the kept tokens, softmax of the UNscaled logits, sorted
 *      by descending probability; keep the shortest prefix whose cumulative
 *      probability reaches top_p (at least one token).
 *   4. softmax of logit/temp over what is left (in double), draw u in [0,1)
 *      and take the first token whose cumulative probability exceeds u.
 * Non-finite logits: -inf is never chosen (unless all are); NaN is treated as
 * -inf.
 *
 * The RNG is xoshiro256** seeded through splitmix64; uniform doubles use the
 * top 53 bits, so the same seed gives the same stream on every platform. */
#ifndef MVK_SAMPLING_H
#define MVK_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

typedef struct mvk_rng {
    uint64_t s[4];
} mvk_rng;

void mvk_rng_seed(mvk_rng *r, uint64_t seed);
uint64_t mvk_rng_next(mvk_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double mvk_rng_uniform(mvk_rng *r);

/* Argmax, ties to the lower id; NaN never wins. Returns -1 if n <= 0 or logits is NULL. */
int32_t mvk_sample_greedy(const float *logits, int n);

typedef struct mvk_sampler_params {
    float temp;     /* <= 0: greedy */
    int top_k;      /* <= 0 or >= n_vocab: off */
    float top_p;    /* >= 1: off */
    uint64_t seed;
} mvk_sampler_params;

typedef struct mvk_sampler {
    mvk_sampler_params p;
    mvk_rng rng;
    int n_vocab;
    int32_t *idx;   /* [n_vocab] candidate ids, scratch */
    double *prob;   /* [n_vocab] candidate probabilities, scratch */
} mvk_sampler;

/* Allocates scratch for n_vocab candidates and seeds the RNG. */
moevk_status mvk_sampler_init(mvk_sampler *s, const mvk_sampler_params *p, int n_vocab);
void mvk_sampler_free(mvk_sampler *s);
/* Re-seeds the RNG (same stream as a fresh init with this seed). */
void mvk_sampler_reset(mvk_sampler *s, uint64_t seed);

/* Samples one token from logits[n] (n <= n_vocab given to init). */
moevk_status mvk_sampler_sample(mvk_sampler *s, const float *logits, int n, int32_t *out);

#endif
