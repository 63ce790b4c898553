/* bench_ops_mm.c — microbenchmarks of the weight ops: matmul with F32, F16
 * and Q8_0 weights (prefill M=128, K=N=1024, also Q4_K and Q6_K; decode M=1,
 * K=2048, N=8192), the decode mat-vec (M=1, K=N=2048) of every weight type,
 * mul_mat_id prefill (T=128, E=16, k=2, K=N=512; F16, Q8_0, Q4_K, Q6_K) and the decode
 * mul_mat_id (T=1, E=128, k=8, K=2048, N=768) of every weight type but F32,
 * and the models' shapes ("(a3b)": Qwen3-VL-30B-A3B's prefill; "(vit)": its
 * vision tower's f16 GEMMs and per-head attention GEMMs).
 * Quantised weights are random blocks (mvk_random_blocks). Each case is recorded once into a stream, submitted
 * once to warm up, then reps times; the median wall time of vk_stream_submit
 * (CLOCK_MONOTONIC) gives GFLOP/s = 2·rows·N·K / t and GB/s = bytes the op
 * must move (weights it reads + activations in and out) / t. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_ops.h"

/* A device tensor of type t filled with random values in [-1, 1). */
static moevk_status rand_tensor(vk_ctx *ctx, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, vk_buffer **buf, mvk_tensor *out) {
    int64_t rows = ne1 * ne2, rb = mvk_row_bytes(t, ne0);
    uint64_t bytes = (uint64_t)rb * (uint64_t)rows;
    if (mvk_type_is_quant(t)) { /* random ggml blocks with sane scales, repacked into the device layout */
        uint64_t dev = (uint64_t)mvk_dev_row_bytes(t, ne0) * (uint64_t)rows;
        uint8_t *blk = malloc(dev), *d = malloc(dev); /* dev >= bytes: blk also holds a slice of device rows below */
        if (!blk || !d) {
            free(blk);
            free(d);
            return MOEVK_ERR_OUT_OF_HOST_MEMORY;
        }
        mvk_random_blocks(t, blk, (int64_t)(bytes / (uint64_t)mvk_type_block_bytes(t)), (uint64_t)(ne0 * 7 + rows));
        mvk_repack_rows(t, blk, d, ne0, rows);
        /* the rows of each [K][N] slice interleaved as the engine uploads them (vk_weight_ilv; MOEVK_WEIGHT_ILV=0: plain) */
        uint32_t g = vk_weight_ilv(ctx, t);
        int64_t drow = mvk_dev_row_bytes(t, ne0);
        if (g)
            for (int64_t e = 0; e < ne2; e++) { /* blk holds the slice's plain rows meanwhile */
                memcpy(blk, d + e * ne1 * drow, (size_t)(ne1 * drow));
                mvk_interleave_rows(d + e * ne1 * drow, blk, drow, ne1, g);
            }
        moevk_status s = vk_buffer_create(ctx, dev, VK_MEM_DEVICE, buf);
        if (s == MOEVK_OK) s = vk_upload(ctx, *buf, 0, d, dev);
        free(blk);
        free(d);
        if (s == MOEVK_OK) {
            *out = mvk_tensor_make(*buf, 0, t, ne0, ne1, ne2, 1);
            out->ilv = g;
        }
        return s;
    }
    char *host = malloc(bytes);
    float *row = malloc(sizeof(float) * (size_t)ne0);
    if (!host || !row) {
        free(host);
        free(row);
        return MOEVK_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < ne0; i++) row[i] = bench_rnd();
        char *dst = host + r * rb;
        switch (t) {
        case MVK_TYPE_F16:
            for (int64_t i = 0; i < ne0; i++) ((uint16_t *)dst)[i] = mvk_f32_to_f16(row[i]);
            break;
        case MVK_TYPE_BF16:
            for (int64_t i = 0; i < ne0; i++) ((uint16_t *)dst)[i] = mvk_f32_to_bf16(row[i]);
            break;
        case MVK_TYPE_Q8_0: mvk_quantize_row_q8_0(row, (mvk_block_q8_0 *)dst, ne0); break;
        default: memcpy(dst, row, (size_t)rb); break;
        }
    }
    free(row);
    moevk_status s = vk_buffer_create(ctx, bytes, VK_MEM_DEVICE, buf);
    if (s == MOEVK_OK) s = vk_upload(ctx, *buf, 0, host, bytes);
    free(host);
    if (s == MOEVK_OK) *out = mvk_tensor_make(*buf, 0, t, ne0, ne1, ne2, 1);
    return s;
}

typedef struct bench_case {
    const char *op;
    char shape[96];
    double flops, bytes;
} bench_case;

/* Records rec(...) once, then times reps submits. Prints one line. */
static void run_timed(vk_ctx *ctx, vk_stream *st, const bench_case *c, int reps, moevk_status rec_status) {
    if (rec_status != MOEVK_OK) {
        printf("  %-22s %-34s  failed: %s: %s\n", c->op, c->shape, moevk_status_str(rec_status), moevk_last_error());
        return;
    }
    (void)ctx;
    double med = 0.0;
    moevk_status s = bench_time_submits(st, reps, &med);
    if (s != MOEVK_OK) {
        printf("  %-22s %-34s  failed: %s: %s\n", c->op, c->shape, moevk_status_str(s), moevk_last_error());
        return;
    }
    printf("  %-22s %-34s %10.3f ms %9.2f GFLOP/s %8.2f GB/s\n", c->op, c->shape, med * 1e3, c->flops / med * 1e-9,
           c->bytes / med * 1e-9);
    fflush(stdout);
}

/* tag: the case's group in its name ("prefill", "a3b", "vit", ...); NULL: by M */
static void bench_matmul(vk_ctx *ctx, vk_stream *st, mvk_type wt, int64_t M, int64_t N, int64_t K, const char *tag, int reps) {
    vk_buffer *bx = NULL, *bw = NULL, *by = NULL;
    mvk_tensor x, w, y;
    bench_case c = {.op = NULL};
    char opname[40];
    snprintf(opname, sizeof opname, "matmul %s (%s)", mvk_type_name(wt), tag ? tag : M <= 8 ? "decode" : "prefill");
    if (bench_skip(opname)) return;
    c.op = opname;
    snprintf(c.shape, sizeof c.shape, "M=%lld K=%lld N=%lld", (long long)M, (long long)K, (long long)N);
    c.flops = 2.0 * (double)M * (double)N * (double)K;
    c.bytes = (double)mvk_row_bytes(wt, K) * (double)N + 4.0 * (double)M * (double)(K + N);
    moevk_status s = rand_tensor(ctx, MVK_TYPE_F32, K, M, 1, &bx, &x);
    if (s == MOEVK_OK) s = rand_tensor(ctx, wt, K, N, 1, &bw, &w);
    if (s == MOEVK_OK) s = rand_tensor(ctx, MVK_TYPE_F32, N, M, 1, &by, &y);
    if (s == MOEVK_OK) s = vk_stream_begin(st);
    if (s == MOEVK_OK) s = vk_op_matmul(st, &y, &x, &w, NULL);
    if (s == MOEVK_OK) s = vk_stream_end(st);
    run_timed(ctx, st, &c, reps, s);
    vk_buffer_destroy(bx);
    vk_buffer_destroy(bw);
    vk_buffer_destroy(by);
}

static void bench_mul_mat_id(vk_ctx *ctx, vk_stream *st, mvk_type wt, int64_t T, int64_t E, int64_t k, int64_t K, int64_t N,
                             const char *tag, int reps) {
    vk_buffer *bx = NULL, *bw = NULL, *by = NULL, *bi = NULL;
    mvk_tensor x, w, y, ids;
    bench_case c = {.op = NULL};
    char opname[40];
    snprintf(opname, sizeof opname, "mul_mat_id %s (%s)", mvk_type_name(wt), tag ? tag : T <= 8 ? "decode" : "prefill");
    if (bench_skip(opname)) return;
    c.op = opname;
    snprintf(c.shape, sizeof c.shape, "T=%lld E=%lld k=%lld K=%lld N=%lld", (long long)T, (long long)E, (long long)k, (long long)K,
             (long long)N);
    int32_t *h = malloc(sizeof(int32_t) * (size_t)(k * T));
    char *used = calloc((size_t)E, 1);
    if (!h || !used) {
        free(h);
        free(used);
        return;
    }
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            int32_t e;
            int again;
            do { /* distinct experts per token, as a top-k router gives */
                e = (int32_t)((bench_rnd() * 0.5f + 0.5f) * (float)E) % (int32_t)E;
                again = 0;
                for (int64_t i = 0; i < j; i++) again |= h[t * k + i] == e;
            } while (again);
            h[t * k + j] = e;
            used[e] = 1;
        }
    int64_t n_used = 0;
    for (int64_t e = 0; e < E; e++) n_used += used[e];
    c.flops = 2.0 * (double)T * (double)k * (double)N * (double)K;
    c.bytes = (double)mvk_row_bytes(wt, K) * (double)N * (double)n_used + 4.0 * (double)T * ((double)K + (double)k * (double)N);
    moevk_status s = rand_tensor(ctx, MVK_TYPE_F32, K, T, 1, &bx, &x);
    if (s == MOEVK_OK) s = rand_tensor(ctx, wt, K, N, E, &bw, &w);
    if (s == MOEVK_OK) s = rand_tensor(ctx, MVK_TYPE_F32, N, k, T, &by, &y);
    if (s == MOEVK_OK) s = vk_buffer_create(ctx, sizeof(int32_t) * (uint64_t)(k * T), VK_MEM_DEVICE, &bi);
    if (s == MOEVK_OK) s = vk_upload(ctx, bi, 0, h, sizeof(int32_t) * (uint64_t)(k * T));
    if (s == MOEVK_OK) {
        ids = mvk_tensor_make(bi, 0, MVK_TYPE_I32, k, T, 1, 1);
        s = vk_stream_begin(st);
    }
    if (s == MOEVK_OK) s = vk_op_mul_mat_id(st, &y, &x, &w, &ids);
    if (s == MOEVK_OK) s = vk_stream_end(st);
    run_timed(ctx, st, &c, reps, s);
    free(h);
    free(used);
    vk_buffer_destroy(bx);
    vk_buffer_destroy(bw);
    vk_buffer_destroy(by);
    vk_buffer_destroy(bi);
}

void bench_ops_matmul_family(vk_ctx *ctx, int reps) {
    if (!ctx) return;
    if (reps < 1) reps = 1;
    vk_stream *st = NULL;
    moevk_status s = vk_stream_create(ctx, &st);
    if (s != MOEVK_OK) {
        printf("  matmul family: cannot create a stream: %s: %s\n", moevk_status_str(s), moevk_last_error());
        return;
    }
    printf("matmul family on %s (median of %d runs, wall time of vk_stream_submit):\n", vk_ctx_info(ctx)->name, reps);
    mvk_type types[3] = {MVK_TYPE_F32, MVK_TYPE_F16, MVK_TYPE_Q8_0};
    for (int i = 0; i < 3; i++) bench_matmul(ctx, st, types[i], 128, 1024, 1024, NULL, reps);
    bench_matmul(ctx, st, MVK_TYPE_Q4_K, 128, 1024, 1024, NULL, reps); /* the k-quants' tile loads (Q4_K_M files) */
    bench_matmul(ctx, st, MVK_TYPE_Q6_K, 128, 1024, 1024, NULL, reps);
    for (int i = 0; i < 3; i++) bench_matmul(ctx, st, types[i], 1, 8192, 2048, NULL, reps);
    int nt;
    const mvk_type_info *all = mvk_type_all(&nt);
    /* decode mat-vec and decode mul_mat_id of every weight type (mvk_type_table.h) */
    for (int i = 0; i < nt; i++)
        if (all[i].suffix) bench_matmul(ctx, st, all[i].type, 1, 2048, 2048, NULL, reps);
    for (int i = 1; i < 3; i++) bench_mul_mat_id(ctx, st, types[i], 128, 16, 2, 512, 512, NULL, reps);
    bench_mul_mat_id(ctx, st, MVK_TYPE_Q4_K, 128, 16, 2, 512, 512, NULL, reps);
    bench_mul_mat_id(ctx, st, MVK_TYPE_Q6_K, 128, 16, 2, 512, 512, NULL, reps);
    for (int i = 0; i < nt; i++)
        if (all[i].suffix && all[i].type != MVK_TYPE_F32) bench_mul_mat_id(ctx, st, all[i].type, 1, 128, 8, 2048, 768, NULL, reps);
    /* The models' own shapes, so that the microbenchmark and the in-model profile agree
     * (docs/PERFORMANCE.md section 12). a3b: Qwen3-VL-30B-A3B's layer at a 128-token
     * prefill (d 2048; q 4096 = 32 x 128, k and v 512 = 4 x 128; 128 experts top-8 of
     * 768, the a3b8 slice's 32). vit: its vision tower at 448 x 448 (784 patches,
     * width 1152: qkv 3456, ffn 4304; per-head attention, head 72, f32 operands). */
    static const struct { mvk_type t; int64_t M, N, K; const char *tag; } model[] = {
        {MVK_TYPE_Q8_0, 128, 4096, 2048, "a3b"}, {MVK_TYPE_Q8_0, 128, 512, 2048, "a3b"}, {MVK_TYPE_Q8_0, 128, 2048, 4096, "a3b"},
        {MVK_TYPE_Q4_K, 128, 4096, 2048, "a3b"}, {MVK_TYPE_Q6_K, 128, 512, 2048, "a3b"},
        {MVK_TYPE_F16, 784, 3456, 1152, "vit"},  {MVK_TYPE_F16, 784, 1152, 1152, "vit"}, {MVK_TYPE_F16, 784, 4304, 1152, "vit"},
        {MVK_TYPE_F16, 784, 1152, 4304, "vit"},  {MVK_TYPE_F32, 784, 784, 72, "vit attn"}, {MVK_TYPE_F32, 784, 72, 784, "vit attn"},
        /* vit16: the goldens' tower (qwen3vlmoe-tiny-a) at 448 x 448: width 64, ffn 128, head 16, f32 weights;
           the patch embedding (K 768) */
        {MVK_TYPE_F32, 784, 192, 64, "vit16"},   {MVK_TYPE_F32, 784, 64, 64, "vit16"},     {MVK_TYPE_F32, 784, 128, 64, "vit16"},
        {MVK_TYPE_F32, 784, 64, 128, "vit16"},   {MVK_TYPE_F32, 784, 64, 768, "vit16"},    {MVK_TYPE_F32, 784, 784, 16, "vit16 attn"},
        {MVK_TYPE_F32, 784, 16, 784, "vit16 attn"},
    };
    for (size_t i = 0; i < sizeof model / sizeof model[0]; i++)
        bench_matmul(ctx, st, model[i].t, model[i].M, model[i].N, model[i].K, model[i].tag, reps);
    bench_mul_mat_id(ctx, st, MVK_TYPE_Q8_0, 128, 32, 8, 2048, 768, "a3b", reps);
    bench_mul_mat_id(ctx, st, MVK_TYPE_Q8_0, 128, 32, 8, 768, 2048, "a3b", reps);
    vk_stream_destroy(st);
}
