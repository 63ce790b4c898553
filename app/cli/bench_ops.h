/* bench_ops.h — op microbenchmarks behind `moevk bench ops`. Each family
 * prints, per op and shape, the median wall time of vk_stream_submit over
 * reps runs (after one warm-up), GFLOP/s and GB/s. */
#ifndef MOEVK_BENCH_OPS_H
#define MOEVK_BENCH_OPS_H

#include "vk_backend.h"

/* Shared helpers (bench_util.c). */
float bench_rnd(void);                    /* deterministic uniform in [-1, 1) */
double bench_median(double *v, int n);    /* sorts v */
/* One warm-up submit of a recorded stream, then reps timed submits; *median_s
 * gets the median wall time in seconds. */
moevk_status bench_time_submits(vk_stream *st, int reps, double *median_s);

/* --filter: only the weight-op cases whose name contains bench_filter run
 * (and the other ops are skipped); NULL runs everything. */
extern const char *bench_filter;
int bench_skip(const char *op);

/* Host and device read bandwidth, FMA peak, dispatch cost (bench_probe.c). */
void bench_probes(vk_ctx *ctx, int reps);

/* matmul (F32/F16/Q8_0, prefill and decode shapes) and mul_mat_id (prefill and decode). */
void bench_ops_matmul_family(vk_ctx *ctx, int reps);

#endif
