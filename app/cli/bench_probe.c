/* bench_probe.c — `moevk bench probe` (and the first section of `bench ops`):
 * the limits the roofline of docs/PERFORMANCE.md compares kernels against,
 * measured in the same run as the kernels:
 *   - host read bandwidth: a C read loop (4 independent 16-byte accumulators)
 *     over a 512 MiB buffer on 1 and 2 threads;
 *   - device read bandwidth (shaders/probe.comp): each invocation on its own
 *     contiguous run (read_lane) and all invocations striding together
 *     (read_coal), over 4 buffers of up to 120 MiB each per submit; and each
 *     invocation on a run of 2 KiB only, the length of one weight row a decode
 *     mat-vec lane walks (K = 2048 at one byte a weight);
 *   - the FMA peak of a plain kernel (1..16 independent vec4 chains), and
 *     with one operand read from shared memory each FMA (per-lane or
 *     uniform address: the tiled GEMM's inner loop);
 *   - the fixed cost of one dispatch (200 one-workgroup dispatches, each
 *     depending on the one before, as in a decode step).
 * Every probe's result is checked (a loop cut short reads impossibly fast). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_ops.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- host */
typedef uint64_t u64x2 __attribute__((vector_size(16)));

typedef struct host_job {
    const u64x2 *p;
    size_t n; /* u64x2 elements, a multiple of 4 */
    uint64_t sum;
} host_job;

static void *host_read(void *arg) {
    host_job *j = arg;
    u64x2 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < j->n; i += 4) {
        a0 += j->p[i];
        a1 += j->p[i + 1];
        a2 += j->p[i + 2];
        a3 += j->p[i + 3];
    }
    u64x2 t = a0 + a1 + a2 + a3;
    j->sum = t[0] + t[1];
    return NULL;
}

/* Median GB/s of reps reads of buf (n u64x2) split over nt threads; 0 on failure. */
static double host_bw(const u64x2 *buf, size_t n, int nt, int reps, uint64_t want) {
    double t[16];
    if (reps > 16) reps = 16;
    for (int r = 0; r < reps; r++) {
        host_job jobs[2];
        pthread_t th[2];
        size_t per = n / (size_t)nt;
        double t0 = now_s();
        for (int i = 0; i < nt; i++) {
            jobs[i] = (host_job){.p = buf + (size_t)i * per, .n = per};
            if (i > 0 && pthread_create(&th[i], NULL, host_read, &jobs[i]) != 0) return 0.0;
        }
        host_read(&jobs[0]);
        for (int i = 1; i < nt; i++) pthread_join(th[i], NULL);
        t[r] = now_s() - t0;
        uint64_t s = 0;
        for (int i = 0; i < nt; i++) s += jobs[i].sum;
        if (s != want) return 0.0;
    }
    return (double)n * 16.0 / bench_median(t, reps) * 1e-9;
}

static void probe_host(int reps) {
    size_t n = (size_t)32 << 20; /* 32 Mi x 16 B = 512 MiB */
    u64x2 *buf = aligned_alloc(64, n * sizeof *buf);
    if (!buf) {
        printf("  host read: cannot allocate 512 MiB\n");
        return;
    }
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (u64x2){i * 2654435761u, i ^ 0x9e3779b9u};
        want += buf[i][0] + buf[i][1];
    }
    for (int nt = 1; nt <= 2; nt++) {
        double gbs = host_bw(buf, n, nt, reps, want);
        if (gbs > 0.0) printf("  %-22s %-34s %10s    %8.2f GB/s\n", "host read (C)", nt == 1 ? "512 MiB, 1 thread" : "512 MiB, 2 threads", "", gbs);
        else printf("  host read (C), %d thread(s): failed (wrong sum or no thread)\n", nt);
    }
    free(buf);
}

/* ---------------------------------------------------------------- device */
#define NSRC 4

static void probe_read(vk_ctx *ctx, vk_stream *st, vk_buffer *const *src, uint64_t bytes, vk_buffer *yb, uint32_t ninv,
                       vk_probe_kind kind, const char *name, uint32_t want, int reps) {
    char shape[96];
    snprintf(shape, sizeof shape, "%d x %llu MiB, %u invocations", NSRC, (unsigned long long)(bytes >> 20), ninv);
    mvk_tensor y = mvk_tensor_make(yb, 0, MVK_TYPE_I32, ninv, NSRC, 1, 1);
    moevk_status s = vk_stream_begin(st);
    for (int i = 0; i < NSRC && s == MOEVK_OK; i++) {
        mvk_tensor x = mvk_tensor_make(src[i], 0, MVK_TYPE_I32, (int64_t)(bytes / 4), 1, 1, 1);
        mvk_tensor yv = mvk_tensor_make(yb, (uint64_t)i * ninv * 4, MVK_TYPE_I32, ninv, 1, 1, 1);
        s = vk_op_probe(st, kind, &yv, &x, ninv, 0, 1, 0.0f, 0.0f);
    }
    if (s == MOEVK_OK) s = vk_stream_end(st);
    double med = 0.0;
    if (s == MOEVK_OK) s = bench_time_submits(st, reps, &med);
    uint32_t *h = malloc((size_t)ninv * NSRC * 4);
    if (s == MOEVK_OK && !h) s = MOEVK_ERR_OUT_OF_HOST_MEMORY;
    if (s == MOEVK_OK) s = vk_download(ctx, yb, 0, h, (uint64_t)ninv * NSRC * 4);
    (void)y;
    if (s != MOEVK_OK) {
        printf("  %-22s %-34s  failed: %s: %s\n", name, shape, moevk_status_str(s), moevk_last_error());
    } else {
        int ok = 1;
        for (int i = 0; i < NSRC; i++) {
            uint32_t sum = 0;
            for (uint32_t k = 0; k < ninv; k++) sum += h[(size_t)i * ninv + k];
            if (sum != want) ok = 0;
        }
        if (ok) printf("  %-22s %-34s %10.3f ms %9s         %8.2f GB/s\n", name, shape, med * 1e3, "", (double)bytes * NSRC / med * 1e-9);
        else printf("  %-22s %-34s  WRONG RESULT (the probe's sum differs from the buffer's)\n", name, shape);
    }
    free(h);
}

/* read_lane through texel-buffer views of the same buffers, where the
 * device has the format: uniform (texelFetch) and storage (imageLoad)
 * texel buffers, 16-byte and 4-byte texels, long and 2 KiB runs. */
static void probe_texel(vk_ctx *ctx, vk_stream *st, vk_buffer *const *src, uint64_t bytes, vk_buffer *yb, uint32_t ninv,
                        uint32_t ninv_short, uint32_t want, int reps) {
    const vk_device_info *in = vk_ctx_info(ctx);
    printf("  texel buffers: maxTexelBufferElements %llu, minTexelBufferOffsetAlignment %u; uniform/storage R32 %s/%s, R32G32B32A32 %s/%s\n",
           (unsigned long long)in->max_texel_buffer_elements, in->min_texel_buffer_offset_alignment,
           in->texel_support[VK_TEXEL_U32 - 1] & VK_TEXEL_UNIFORM ? "yes" : "no", in->texel_support[VK_TEXEL_U32 - 1] & VK_TEXEL_STORAGE ? "yes" : "no",
           in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_UNIFORM ? "yes" : "no",
           in->texel_support[VK_TEXEL_U32X4 - 1] & VK_TEXEL_STORAGE ? "yes" : "no");
    static const struct { vk_probe_kind kind; int fmt, bit; const char *name, *name_short; } t[] = {
        {VK_PROBE_READ_TEX4, VK_TEXEL_U32X4, VK_TEXEL_UNIFORM, "read lane, texel rgba32", "texel rgba32, 2 KiB"},
        {VK_PROBE_READ_TEX1, VK_TEXEL_U32, VK_TEXEL_UNIFORM, "read lane, texel r32", "texel r32, 2 KiB"},
        {VK_PROBE_READ_IMG4, VK_TEXEL_U32X4, VK_TEXEL_STORAGE, "read lane, image rgba32", "image rgba32, 2 KiB"},
        {VK_PROBE_READ_IMG1, VK_TEXEL_U32, VK_TEXEL_STORAGE, "read lane, image r32", "image r32, 2 KiB"},
        {VK_PROBE_READ_ITEX4, VK_TEXEL_U32X4, VK_TEXEL_UNIFORM, "interleaved x8, rgba32", "interleaved, 2 KiB"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!(in->texel_support[t[i].fmt - 1] & t[i].bit) || bytes / vk_texel_bytes(t[i].fmt) > in->max_texel_buffer_elements) {
            printf("  %-22s (not supported at this size)\n", t[i].name);
            continue;
        }
        probe_read(ctx, st, src, bytes, yb, ninv, t[i].kind, t[i].name, want, reps);
        probe_read(ctx, st, src, bytes, yb, ninv_short, t[i].kind, t[i].name_short, want, reps);
    }
}

/* Closed form of the FMA probe's output: 4 lanes x sum over q of x_n from x_0 = q/8. */
static double fma_expect(uint32_t iters, uint32_t chains, double a, double b) {
    double an = pow(a, iters), t = 0.0;
    for (uint32_t q = 0; q < chains; q++) t += an * (q * 0.125) + b * (1.0 - an) / (1.0 - a);
    return 4.0 * t;
}

/* kind: VK_PROBE_FMA (operands in registers) or FMA_SH_* (one from shared memory). */
static void probe_fma(vk_ctx *ctx, vk_stream *st, vk_buffer *yb, vk_probe_kind kind, uint32_t ninv, uint32_t iters, uint32_t chains,
                      int reps) {
    char shape[96], name[32];
    snprintf(shape, sizeof shape, "%u inv x %u iters x %u vec4 chains", ninv, iters, chains);
    snprintf(name, sizeof name, "%s", kind == VK_PROBE_FMA ? "fma peak (vk)" : kind == VK_PROBE_FMA_SH_LANE ? "fma, shared per lane" : "fma, shared uniform");
    const float a = 0.9990234375f, b = 0.0009765625f;
    mvk_tensor y = mvk_tensor_make(yb, 0, MVK_TYPE_I32, ninv, 1, 1, 1);
    moevk_status s = vk_stream_begin(st);
    if (s == MOEVK_OK) s = vk_op_probe(st, kind, &y, NULL, ninv, iters, chains, a, b);
    if (s == MOEVK_OK) s = vk_stream_end(st);
    double med = 0.0;
    if (s == MOEVK_OK) s = bench_time_submits(st, reps, &med);
    float *h = malloc((size_t)ninv * 4);
    if (s == MOEVK_OK && !h) s = MOEVK_ERR_OUT_OF_HOST_MEMORY;
    if (s == MOEVK_OK) s = vk_download(ctx, yb, 0, h, (uint64_t)ninv * 4);
    if (s != MOEVK_OK) {
        printf("  %-22s %-34s  failed: %s: %s\n", name, shape, moevk_status_str(s), moevk_last_error());
    } else {
        double want = fma_expect(iters, chains, a, b);
        int ok = 1;
        for (uint32_t i = 0; i < ninv; i++)
            if (!(fabs(h[i] - want) <= 1e-3 * fabs(want))) ok = 0;
        double flops = (double)ninv * iters * chains * 4.0 * 2.0;
        if (ok) printf("  %-22s %-34s %10.3f ms %9.2f GFLOP/s\n", name, shape, med * 1e3, flops / med * 1e-9);
        else printf("  %-22s %-34s  WRONG RESULT (got %g, want %g)\n", name, shape, (double)h[0], want);
    }
    free(h);
}

static void probe_dispatch(vk_stream *st, vk_buffer *yb, int reps) {
    enum { ND = 200 };
    mvk_tensor y = mvk_tensor_make(yb, 0, MVK_TYPE_I32, 64, 1, 1, 1);
    moevk_status s = vk_stream_begin(st);
    for (int i = 0; i < ND && s == MOEVK_OK; i++) s = vk_op_probe(st, VK_PROBE_FMA, &y, NULL, 1, 8, 1, 1.0f, 0.0f);
    if (s == MOEVK_OK) s = vk_stream_end(st);
    double med = 0.0;
    if (s == MOEVK_OK) s = bench_time_submits(st, reps, &med);
    if (s != MOEVK_OK)
        printf("  %-22s  failed: %s: %s\n", "dispatch cost (vk)", moevk_status_str(s), moevk_last_error());
    else
        printf("  %-22s %-34s %10.3f ms  = %.1f us per dispatch (barrier between each)\n", "dispatch cost (vk)", "200 dependent 1-lane dispatches",
               med * 1e3, med / ND * 1e6);
}

void bench_probes(vk_ctx *ctx, int reps) {
    printf("probes: host and device limits (median of %d runs; checked results):\n", reps);
    probe_host(reps);
    uint64_t range = vk_ctx_info(ctx)->max_storage_buffer_range;
    uint64_t bytes = (uint64_t)120 << 20;
    if (bytes > range) bytes = range & ~(((uint64_t)1 << 20) - 1);
    const uint32_t ninv = 4096;
    uint64_t unit = (uint64_t)ninv * 16 * 4;
    bytes -= bytes % unit;
    vk_buffer *src[NSRC] = {NULL}, *yb = NULL;
    vk_stream *st = NULL;
    uint32_t *host = malloc(bytes);
    uint32_t want = 0;
    moevk_status s = host ? MOEVK_OK : MOEVK_ERR_OUT_OF_HOST_MEMORY;
    if (s == MOEVK_OK) {
        for (uint64_t i = 0; i < bytes / 4; i++) {
            host[i] = (uint32_t)(i * 2654435761u);
            want += host[i];
        }
    }
    for (int i = 0; i < NSRC && s == MOEVK_OK; i++) {
        s = vk_buffer_create(ctx, bytes, VK_MEM_DEVICE, &src[i]);
        if (s == MOEVK_OK) s = vk_upload(ctx, src[i], 0, host, bytes);
    }
    free(host);
    /* short runs: one invocation per 2 KiB (bytes is a multiple of 4096 * 64, so of 2048 * 128) */
    const uint32_t ninv_short = (uint32_t)(bytes / 2048);
    if (s == MOEVK_OK) s = vk_buffer_create(ctx, (uint64_t)ninv_short * NSRC * 4, VK_MEM_DEVICE, &yb);
    if (s == MOEVK_OK) s = vk_stream_create(ctx, &st);
    if (s != MOEVK_OK) {
        printf("  device probes: %s: %s\n", moevk_status_str(s), moevk_last_error());
    } else {
        probe_read(ctx, st, src, bytes, yb, ninv, VK_PROBE_READ_LANE, "read per lane (vk)", want, reps);
        probe_read(ctx, st, src, bytes, yb, ninv_short, VK_PROBE_READ_LANE, "read lane, 2 KiB (vk)", want, reps);
        probe_read(ctx, st, src, bytes, yb, ninv, VK_PROBE_READ_COAL, "read coalesced (vk)", want, reps);
        probe_texel(ctx, st, src, bytes, yb, ninv, ninv_short, want, reps);
        /* the arithmetic ceiling: 1..16 independent vec4 chains (4..64 SIMD accumulators of 8
         * lanes: the x86 register file holds 16), then the tiled GEMM's inner-loop pattern,
         * one operand from shared memory at a per-lane or a uniform address */
        static const uint32_t chains[5] = {1, 2, 4, 8, 16};
        for (int i = 0; i < 5; i++) probe_fma(ctx, st, yb, VK_PROBE_FMA, ninv, 32768 / chains[i], chains[i], reps);
        probe_fma(ctx, st, yb, VK_PROBE_FMA_SH_LANE, ninv, 2048, 4, reps);
        probe_fma(ctx, st, yb, VK_PROBE_FMA_SH_UNIF, ninv, 2048, 4, reps);
        probe_dispatch(st, yb, reps);
    }
    vk_stream_destroy(st);
    vk_buffer_destroy(yb);
    for (int i = 0; i < NSRC; i++) vk_buffer_destroy(src[i]);
    fflush(stdout);
}
