/* test_sampling.c — greedy, temperature, top-k, top-p and the seeded RNG
 * (engine/sampling.c). Expected values are properties (reductions to greedy,
 * determinism) and frequencies against softmax probabilities computed here
 * from the definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampling.h"
#include "test_util.h"

static void fill_logits(float *l, int n, uint64_t seed) {
    mvk_rng r;
    mvk_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) l[i] = (float)(mvk_rng_uniform(&r) * 20.0 - 10.0);
}

static void rng_reference_values(void **state) {
    (void)state;
    /* splitmix64 from state 0: published first outputs of Vigna's reference
     * splitmix64.c are 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, ... — our
     * seeding must reproduce them */
    mvk_rng r;
    mvk_rng_seed(&r, 0);
    assert_true(r.s[0] == 0xe220a8397b1dcdafULL);
    assert_true(r.s[1] == 0x6e789e6aa1b965f4ULL);
    assert_true(r.s[2] == 0x06c45d188009454fULL);
    assert_true(r.s[3] == 0xf88bb8a8724c81ecULL);
    /* xoshiro256** from that state, values from an independent Python
     * transcription of Blackman & Vigna's xoshiro256starstar.c */
    assert_true(mvk_rng_next(&r) == 0x99ec5f36cb75f2b4ULL);
    assert_true(mvk_rng_next(&r) == 0xbf6e1f784956452aULL);
    assert_true(mvk_rng_next(&r) == 0x1a5f849d4933e6e0ULL);
    /* uniform stays in [0, 1) */
    for (int i = 0; i < 100000; i++) {
        const double u = mvk_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

static void greedy_argmax_ties_low(void **state) {
    (void)state;
    const float l[6] = {1.0f, 3.0f, -2.0f, 3.0f, NAN, 2.9f};
    assert_int_equal(mvk_sample_greedy(l, 6), 1);
    const float m[3] = {NAN, -INFINITY, -5.0f};
    assert_int_equal(mvk_sample_greedy(m, 3), 2);
    assert_int_equal(mvk_sample_greedy(l, 0), -1);
    assert_int_equal(mvk_sample_greedy(NULL, 3), -1);
}

static int sample_with(const float *l, int n, float temp, int k, float p, uint64_t seed) {
    mvk_sampler s;
    mvk_sampler_params sp = {.temp = temp, .top_k = k, .top_p = p, .seed = seed};
    assert_int_equal(mvk_sampler_init(&s, &sp, n), MOEVK_OK);
    int32_t t = -1;
    assert_int_equal(mvk_sampler_sample(&s, l, n, &t), MOEVK_OK);
    mvk_sampler_free(&s);
    return t;
}

static void reductions_to_greedy(void **state) {
    (void)state;
    enum { N = 1000 };
    float l[N];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        fill_logits(l, N, seed * 7919);
        const int g = mvk_sample_greedy(l, N);
        assert_int_equal(sample_with(l, N, 0.0f, 40, 0.95f, seed), g);    /* temp 0 */
        assert_int_equal(sample_with(l, N, 1.0f, 1, 1.0f, seed), g);      /* top-k 1 */
        assert_int_equal(sample_with(l, N, 1.0f, 0, 1e-6f, seed), g);     /* tiny top-p */
        assert_int_equal(sample_with(l, N, 1.0f, 50, 1e-6f, seed), g);
        assert_int_equal(sample_with(l, N, 1e-4f, 0, 1.0f, seed), g);     /* temp -> 0 */
        assert_int_equal(sample_with(l, N, 1e-4f, 100, 0.9f, seed), g);
    }
}

static void seed_determinism(void **state) {
    (void)state;
    enum { N = 500, T = 200 };
    float l[N];
    fill_logits(l, N, 42);
    mvk_sampler_params sp = {.temp = 1.5f, .top_k = 0, .top_p = 1.0f, .seed = 1234};
    mvk_sampler a, b;
    assert_int_equal(mvk_sampler_init(&a, &sp, N), MOEVK_OK);
    assert_int_equal(mvk_sampler_init(&b, &sp, N), MOEVK_OK);
    int32_t sa[T], sb[T];
    int distinct = 0;
    for (int i = 0; i < T; i++) {
        assert_int_equal(mvk_sampler_sample(&a, l, N, &sa[i]), MOEVK_OK);
        assert_int_equal(mvk_sampler_sample(&b, l, N, &sb[i]), MOEVK_OK);
        assert_int_equal(sa[i], sb[i]);
        distinct += i > 0 && sa[i] != sa[i - 1];
    }
    assert_true(distinct > 10); /* it is really sampling */
    /* reset replays the same stream; another seed gives another one */
    mvk_sampler_reset(&a, 1234);
    int32_t t;
    for (int i = 0; i < T; i++) {
        assert_int_equal(mvk_sampler_sample(&a, l, N, &t), MOEVK_OK);
        assert_int_equal(t, sa[i]);
    }
    mvk_sampler_reset(&b, 999);
    int same = 0;
    for (int i = 0; i < T; i++) {
        assert_int_equal(mvk_sampler_sample(&b, l, N, &t), MOEVK_OK);
        same += t == sa[i];
    }
    assert_true(same < T / 2);
    mvk_sampler_free(&a);
    mvk_sampler_free(&b);
}

/* frequencies over many draws vs softmax(l / T) */
static void frequencies(const float *l, int n, float temp, int k, float p, int draws, double *freq) {
    mvk_sampler s;
    mvk_sampler_params sp = {.temp = temp, .top_k = k, .top_p = p, .seed = 77};
    assert_int_equal(mvk_sampler_init(&s, &sp, n), MOEVK_OK);
    for (int i = 0; i < n; i++) freq[i] = 0;
    for (int i = 0; i < draws; i++) {
        int32_t t;
        assert_int_equal(mvk_sampler_sample(&s, l, n, &t), MOEVK_OK);
        assert_true(t >= 0 && t < n);
        freq[t] += 1.0 / draws;
    }
    mvk_sampler_free(&s);
}

static void empirical_matches_softmax(void **state) {
    (void)state;
    const float l[3] = {1.0f, 2.0f, 0.5f};
    const int draws = 200000;
    double f[3];
    const float temps[3] = {1.0f, 0.5f, 2.0f};
    for (int ti = 0; ti < 3; ti++) {
        const double t = temps[ti];
        double e[3], z = 0;
        for (int i = 0; i < 3; i++) z += (e[i] = exp(l[i] / t));
        frequencies(l, 3, temps[ti], 0, 1.0f, draws, f);
        for (int i = 0; i < 3; i++) {
            const double pr = e[i] / z, sigma = sqrt(pr * (1 - pr) / draws);
            fprintf(stderr, "  T=%.1f token %d: freq %.4f softmax %.4f\n", t, i, f[i], pr);
            assert_true(fabs(f[i] - pr) < 5 * sigma + 1e-9);
        }
    }
}

static void top_k_and_top_p_restrict(void **state) {
    (void)state;
    /* logits 3, 2, 1, 0: softmax (T=1) = 0.6439, 0.2369, 0.0871, 0.0321 */
    const float l[4] = {1.0f, 3.0f, 0.0f, 2.0f}; /* ids by rank: 1, 3, 0, 2 */
    const int draws = 100000;
    double f[4];
    /* top-k 2: only ids 1 and 3, renormalised: e^3/(e^3+e^2) = 0.7311 */
    frequencies(l, 4, 1.0f, 2, 1.0f, draws, f);
    assert_true(f[0] == 0 && f[2] == 0);
    assert_true(fabs(f[1] - 0.731059) < 0.01);
    /* top-p 0.85: cumulative 0.6439, 0.8808 -> keeps ids 1 and 3 */
    frequencies(l, 4, 1.0f, 0, 0.85f, draws, f);
    assert_true(f[0] == 0 && f[2] == 0);
    assert_true(fabs(f[1] - 0.731059) < 0.01);
    /* top-p 0.9: 0.8808 < 0.9 -> keeps three: e^3/(e^3+e^2+e^1) = 0.6652 */
    frequencies(l, 4, 1.0f, 0, 0.9f, draws, f);
    assert_true(f[2] == 0);
    assert_true(f[0] > 0);
    assert_true(fabs(f[1] - 0.665241) < 0.01);
    /* top-p is judged on the unscaled softmax, temperature applies after:
     * T=2 over ids {1,3}: e^1.5/(e^1.5+e^1) = 0.6225 */
    frequencies(l, 4, 2.0f, 0, 0.85f, draws, f);
    assert_true(f[0] == 0 && f[2] == 0);
    assert_true(fabs(f[1] - 0.622459) < 0.01);
}

static void bad_inputs(void **state) {
    (void)state;
    mvk_sampler s;
    mvk_sampler_params sp = {.temp = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 1};
    assert_int_equal(mvk_sampler_init(&s, &sp, 0), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_sampler_init(NULL, &sp, 10), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_sampler_init(&s, &sp, 4), MOEVK_OK);
    float l[8] = {0};
    int32_t t;
    assert_int_equal(mvk_sampler_sample(&s, l, 8, &t), MOEVK_ERR_INVALID_ARG); /* more than sized */
    assert_int_equal(mvk_sampler_sample(&s, NULL, 4, &t), MOEVK_ERR_INVALID_ARG);
    /* all -inf: still returns a valid id */
    const float ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(mvk_sampler_sample(&s, ninf, 4, &t), MOEVK_OK);
    assert_true(t >= 0 && t < 4);
    /* one finite logit among -inf / NaN is always chosen */
    const float one[4] = {-INFINITY, NAN, 0.5f, -INFINITY};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(mvk_sampler_sample(&s, one, 4, &t), MOEVK_OK);
        assert_int_equal(t, 2);
    }
    mvk_sampler_free(&s);
    mvk_sampler_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_reference_values),
        cmocka_unit_test(greedy_argmax_ties_low),
        cmocka_unit_test(reductions_to_greedy),
        cmocka_unit_test(seed_determinism),
        cmocka_unit_test(empirical_matches_softmax),
        cmocka_unit_test(top_k_and_top_p_restrict),
        cmocka_unit_test(bad_inputs),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
