/* bench_util.c — helpers shared by the benchmarks: random data, medians,
 * timed submits of a recorded stream. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_ops.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

float bench_rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n) {
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

moevk_status bench_time_submits(vk_stream *st, int reps, double *median_s) {
    if (reps < 1) reps = 1;
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!t) return MOEVK_ERR_OUT_OF_HOST_MEMORY;
    moevk_status s = vk_stream_submit(st); /* warm-up (pipelines are built at record time) */
    for (int i = 0; i < reps && s == MOEVK_OK; i++) {
        double t0 = now_s();
        s = vk_stream_submit(st);
        t[i] = now_s() - t0;
    }
    if (s == MOEVK_OK) *median_s = bench_median(t, reps);
    free(t);
    return s;
}

const char *bench_filter = NULL;

int bench_skip(const char *op) { return bench_filter && !strstr(op, bench_filter); }
