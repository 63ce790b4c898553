/* cmd_bench.c — `moevk bench ops`: per-op microbenchmarks on the chosen device
 * (MOEVK_DEVICE respected). Each case is recorded once into a stream, submitted
 * once to warm up, then --reps times; it prints the median wall time of
 * vk_stream_submit (CLOCK_MONOTONIC), GFLOP/s (the op's useful arithmetic) and
 * GB/s (bytes the op must read and write at least). The weight ops (matmul,
 * mul_mat_id) come from bench_ops_mm.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_ops.h"
#include "commands.h"
#include "cli_util.h"

/* Up to 6 device buffers per case, freed together. */
typedef struct bench_bufs {
    vk_buffer *b[6];
    int n;
} bench_bufs;

static void bufs_free(bench_bufs *bb) {
    for (int i = 0; i < bb->n; i++) vk_buffer_destroy(bb->b[i]);
    bb->n = 0;
}

/* Random F32 / F16 tensor, or an I32 tensor of the values vals (n of them). */
static moevk_status make_tensor(vk_ctx *ctx, bench_bufs *bb, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, const int32_t *vals,
                                mvk_tensor *out) {
    int64_t n = ne0 * ne1 * ne2;
    uint64_t bytes = (uint64_t)mvk_row_bytes(t, ne0) * (uint64_t)(ne1 * ne2);
    void *host = malloc(bytes);
    if (!host) return MOEVK_ERR_OUT_OF_HOST_MEMORY;
    for (int64_t i = 0; i < n; i++) {
        if (t == MVK_TYPE_F16) ((uint16_t *)host)[i] = mvk_f32_to_f16(bench_rnd());
        else if (t == MVK_TYPE_I32) ((int32_t *)host)[i] = vals ? vals[i] : (int32_t)i;
        else ((float *)host)[i] = bench_rnd();
    }
    vk_buffer *b = NULL;
    moevk_status s = vk_buffer_create(ctx, bytes, VK_MEM_DEVICE, &b);
    if (s == MOEVK_OK) s = vk_upload(ctx, b, 0, host, bytes);
    free(host);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(b);
        return s;
    }
    bb->b[bb->n++] = b;
    *out = mvk_tensor_make(b, 0, t, ne0, ne1, ne2, 1);
    return MOEVK_OK;
}

static void report(vk_stream *st, const char *op, const char *shape, double flops, double bytes, int reps, moevk_status s) {
    if (s == MOEVK_OK) s = vk_stream_end(st);
    double med = 0.0;
    if (s == MOEVK_OK) s = bench_time_submits(st, reps, &med);
    if (s != MOEVK_OK)
        printf("  %-22s %-34s  failed: %s: %s\n", op, shape, moevk_status_str(s), moevk_last_error());
    else
        printf("  %-22s %-34s %10.3f ms %9.2f GFLOP/s %8.2f GB/s\n", op, shape, med * 1e3, flops / med * 1e-9, bytes / med * 1e-9);
    fflush(stdout);
}

static void bench_attention(vk_ctx *ctx, vk_stream *st, int64_t hd, int64_t Hq, int64_t Hkv, int64_t Tq, int64_t Tk, mvk_type kvt,
                            int causal, int reps) {
    bench_bufs bb = {.n = 0};
    mvk_tensor q, k, v, o;
    char op[40], shape[96];
    snprintf(op, sizeof op, "attention %s", Tq == 1 ? "(decode)" : "(prefill)");
    snprintf(shape, sizeof shape, "hd=%lld H=%lld/%lld Tq=%lld Tk=%lld %s %s", (long long)hd, (long long)Hq, (long long)Hkv,
             (long long)Tq, (long long)Tk, mvk_type_name(kvt), causal ? "causal" : "full");
    char full[160];
    snprintf(full, sizeof full, "%s %s", op, shape);
    if (bench_filter && !strstr(full, bench_filter)) return;
    /* visible (query, key) pairs: all, or the causal triangle ending at Tk */
    double pairs = causal ? (double)Tq * (double)Tk - (double)Tq * (double)(Tq - 1) / 2.0 : (double)Tq * (double)Tk;
    double flops = 4.0 * pairs * (double)hd * (double)Hq;
    double bytes = 2.0 * 4.0 * (double)(hd * Hq * Tq) + 2.0 * (double)mvk_row_bytes(kvt, hd) * (double)(Hkv * Tk);
    moevk_status s = make_tensor(ctx, &bb, MVK_TYPE_F32, hd, Hq, Tq, NULL, &q);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, kvt, hd, Hkv, Tk, NULL, &k);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, kvt, hd, Hkv, Tk, NULL, &v);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, hd, Hq, Tq, NULL, &o);
    vk_attn_params p = {.scale = 1.0f / 8.0f, .causal = causal};
    if (s == MOEVK_OK) s = vk_stream_begin(st);
    if (s == MOEVK_OK) s = vk_op_attention(st, &o, &q, &k, &v, NULL, &p);
    report(st, op, shape, flops, bytes, reps, s);
    bufs_free(&bb);
}

static void bench_rope(vk_ctx *ctx, vk_stream *st, vk_rope_mode mode, int64_t hd, int64_t H, int64_t T, int reps) {
    bench_bufs bb = {.n = 0};
    mvk_tensor x, y, pos;
    char shape[96];
    static const char *const names[] = {"neox", "mrope", "imrope", "vision"};
    snprintf(shape, sizeof shape, "%s hd=%lld H=%lld T=%lld", names[mode], (long long)hd, (long long)H, (long long)T);
    int64_t npos = mode == VK_ROPE_NEOX ? T : 4 * T;
    int32_t *pv = malloc(sizeof(int32_t) * (size_t)npos);
    if (!pv) return;
    for (int64_t i = 0; i < npos; i++) pv[i] = (int32_t)(i % T);
    vk_rope_params p = {.mode = mode, .n_dims = (int)hd, .freq_base = 5e6f, .sections = {24, 20, 20, 0}};
    if (mode == VK_ROPE_VISION) {
        p.n_dims = (int)hd / 2;
        p.freq_base = 10000.0f;
        for (int i = 0; i < 4; i++) p.sections[i] = (int)hd / 4;
    }
    double n = (double)(hd * H * T);
    moevk_status s = make_tensor(ctx, &bb, MVK_TYPE_F32, hd, H, T, NULL, &x);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, hd, H, T, NULL, &y);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_I32, npos, 1, 1, pv, &pos);
    free(pv);
    if (s == MOEVK_OK) s = vk_stream_begin(st);
    if (s == MOEVK_OK) s = vk_op_rope(st, &y, &x, &pos, &p);
    report(st, "rope", shape, 3.0 * n, 8.0 * n + 4.0 * (double)npos, reps, s);
    bufs_free(&bb);
}

static void bench_norm(vk_ctx *ctx, vk_stream *st, int ln, int64_t n0, int64_t rows, int reps) {
    bench_bufs bb = {.n = 0};
    mvk_tensor x, y, w, b;
    char shape[96];
    snprintf(shape, sizeof shape, "ne0=%lld rows=%lld", (long long)n0, (long long)rows);
    double n = (double)(n0 * rows);
    moevk_status s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, rows, 1, NULL, &x);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, rows, 1, NULL, &y);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, 1, 1, NULL, &w);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, 1, 1, NULL, &b);
    if (s == MOEVK_OK) s = vk_stream_begin(st);
    if (s == MOEVK_OK) s = ln ? vk_op_layer_norm(st, &y, &x, &w, &b, 1e-6f) : vk_op_rms_norm(st, &y, &x, &w, 1e-6f);
    report(st, ln ? "layer_norm" : "rms_norm", shape, (ln ? 7.0 : 4.0) * n, 8.0 * n + 4.0 * (double)n0 * (ln ? 2 : 1), reps, s);
    bufs_free(&bb);
}

static void bench_elementwise(vk_ctx *ctx, vk_stream *st, const char *op, int64_t n0, int64_t rows, int reps) {
    bench_bufs bb = {.n = 0};
    mvk_tensor x, u, y, ids;
    char shape[96];
    snprintf(shape, sizeof shape, "%lld x %lld", (long long)n0, (long long)rows);
    double n = (double)(n0 * rows), flops = n, bytes = 8.0 * n;
    moevk_status s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, rows, 1, NULL, &x);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, rows, 1, NULL, &u);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_F32, n0, rows, 1, NULL, &y);
    if (s == MOEVK_OK) s = make_tensor(ctx, &bb, MVK_TYPE_I32, rows, 1, 1, NULL, &ids);
    if (s == MOEVK_OK) s = vk_stream_begin(st);
    if (s == MOEVK_OK) {
        if (!strcmp(op, "silu")) { s = vk_op_silu(st, &y, &x); flops = 4.0 * n; }
        else if (!strcmp(op, "gelu (tanh)")) { s = vk_op_gelu(st, &y, &x, VK_GELU_TANH); flops = 8.0 * n; }
        else if (!strcmp(op, "swiglu")) { s = vk_op_swiglu(st, &y, &x, &u); flops = 5.0 * n; bytes = 12.0 * n; }
        else if (!strcmp(op, "softmax")) { s = vk_op_softmax(st, &y, &x, 1.0f); flops = 4.0 * n; }
        else { s = vk_op_argmax(st, &ids, &x); bytes = 4.0 * n; }
    }
    report(st, op, shape, flops, bytes, reps, s);
    bufs_free(&bb);
}

static void bench_ops_other(vk_ctx *ctx, int reps) {
    vk_stream *st = NULL;
    moevk_status s = vk_stream_create(ctx, &st);
    if (s != MOEVK_OK) {
        printf("  cannot create a stream: %s: %s\n", moevk_status_str(s), moevk_last_error());
        return;
    }
    printf("attention, rope, norms, activations on %s (median of %d runs, wall time of vk_stream_submit):\n", vk_ctx_info(ctx)->name, reps);
    bench_attention(ctx, st, 64, 16, 16, 256, 256, MVK_TYPE_F32, 0, reps);
    bench_attention(ctx, st, 64, 16, 16, 256, 256, MVK_TYPE_F16, 1, reps);
    bench_attention(ctx, st, 72, 16, 16, 1024, 1024, MVK_TYPE_F32, 0, reps); /* ViT, 1024 patches */
    bench_attention(ctx, st, 128, 32, 4, 128, 128, MVK_TYPE_F16, 1, reps);   /* the a3b slice's prefill, P 128 */
    bench_attention(ctx, st, 128, 32, 4, 1024, 1024, MVK_TYPE_F16, 1, reps); /* a long (image) prompt */
    bench_attention(ctx, st, 128, 32, 4, 1, 4096, MVK_TYPE_F16, 1, reps);
    bench_attention(ctx, st, 128, 32, 4, 1, 512, MVK_TYPE_F16, 1, reps);
    bench_attention(ctx, st, 128, 32, 4, 1, 160, MVK_TYPE_F16, 1, reps); /* the race's decode: P 128 + N 32-64 */
    bench_attention(ctx, st, 128, 32, 4, 1, 33, MVK_TYPE_F16, 1, reps);
    if (bench_filter) { /* --filter "attention...": the attention cases above only; "argmax": the LM head's argmax */
        if (strstr(bench_filter, "argmax")) bench_elementwise(ctx, st, "argmax", 151936, 1, reps);
        vk_stream_destroy(st);
        return;
    }
    bench_rope(ctx, st, VK_ROPE_IMROPE, 128, 32, 256, reps);
    bench_rope(ctx, st, VK_ROPE_IMROPE, 128, 32, 1, reps);
    bench_rope(ctx, st, VK_ROPE_VISION, 72, 16, 1024, reps);
    bench_norm(ctx, st, 0, 2048, 256, reps);
    bench_norm(ctx, st, 0, 2048, 1, reps);
    bench_norm(ctx, st, 0, 128, 32 * 256, reps); /* per-head Q norm */
    bench_norm(ctx, st, 1, 1152, 1024, reps);
    bench_elementwise(ctx, st, "silu", 768, 256, reps);
    bench_elementwise(ctx, st, "gelu (tanh)", 4304, 256, reps);
    bench_elementwise(ctx, st, "swiglu", 768, 256, reps);
    bench_elementwise(ctx, st, "softmax", 128, 256, reps);
    bench_elementwise(ctx, st, "argmax", 151936, 1, reps);
    vk_stream_destroy(st);
}

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: moevk bench ops [--reps N] [--filter S] [--no-probes]\n"
            "       moevk bench probe [--reps N]\n"
            "       moevk bench model -m TEXT.gguf [--mmproj MMPROJ.gguf] [-p N] [-n N] [--reps N]\n\n"
            "  model image encode ms, prefill tokens/s and decode tokens/s of a GGUF pair\n"
            "        (median of --reps runs, default 5; `moevk bench model --help`)\n"
            "  ops   per-op microbenchmarks on the chosen device (MOEVK_DEVICE): median wall time\n"
            "        of N submits after a warm-up, with GFLOP/s and GB/s; starts with the probes\n"
            "  probe host read bandwidth (1 and 2 threads), device read bandwidth (per-lane and\n"
            "        coalesced), FMA peak and the fixed cost of a dispatch: the roofline's limits\n"
            "options:\n"
            "  --reps N   runs per case (default 10)\n"
            "  --filter S ops: only the matmul / mul_mat_id cases whose name contains S, e.g. \"(decode)\"; with\n"
            "             \"attention\" in S: the attention cases whose name and shape contain S\n"
            "  --no-probes ops: skip the probes (A/B runs of one kernel)\n");
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        bench_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "model")) return bench_model(argc - 1, argv + 1);
    int probe_only = !strcmp(argv[1], "probe");
    if (!probe_only && strcmp(argv[1], "ops") != 0) {
        fprintf(stderr, "moevk bench: unknown benchmark '%s'\n\n", argv[1]);
        bench_usage(stderr);
        return 2;
    }
    long reps = 10;
    int probes = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            if (cli_int("--reps", argv[++i], 1, 100000, &reps) != 0) return 2;
        } else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
            bench_filter = argv[++i];
        } else if (!strcmp(argv[i], "--no-probes") && !probe_only) {
            probes = 0;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bench_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "moevk bench %s: unknown option '%s'\n\n", argv[1], argv[i]);
            bench_usage(stderr);
            return 2;
        }
    }
    vk_ctx *ctx = NULL;
    vk_ctx_params p = {.device = NULL};
    moevk_status s = vk_ctx_create(&p, &ctx);
    if (s != MOEVK_OK) {
        cli_error("bench", s);
        return 1;
    }
    if (probes) bench_probes(ctx, (int)reps);
    if (!probe_only) {
        if (!bench_filter || strstr(bench_filter, "attention") || strstr(bench_filter, "argmax")) bench_ops_other(ctx, (int)reps); /* with a filter: attention only */
        bench_ops_matmul_family(ctx, (int)reps);
    }
    vk_ctx_destroy(ctx);
    return 0;
}
