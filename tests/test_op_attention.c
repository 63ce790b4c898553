/* test_op_attention.c — vk_op_attention (prefill and split-K decode paths; CPU devices decode through the
 * fused kernel up to 4096 keys, ctest's test_op_attention_splitk reruns the decode with
 * MOEVK_ATTN_DECODE_FUSED=0, the split-K) against
 * ref_attention (plain softmax in double). F32 KV: NMSE 1e-7. F16 KV: NMSE 1e-7
 * against the reference on the F16-rounded K/V (what the device sees), and the
 * NMSE to the unrounded reference is printed (expected ~1e-7..1e-6 < 5e-4).
 * Covers Tq 1/7/33/127, Tk up to 600, hd 16/64/72/128, GQA 1/2/8, causal and
 * full, n_kv from a GPU buffer below Tk (also on replay), strided q views;
 * full-mask Tq >= 64 with hd >= 48 takes the GEMM path (checked by its
 * dispatch count): Tq = Tk 64/127/257, Tq != Tk, hd 48/72, GQA 1/2, F16/F32.
 * Sliding window (prefill and decode, with n_kv from a buffer), the both-ways span inside a
 * causal mask (an image's rows on Gemma 4's sliding layers).
 * CPU devices' GEMM path for masked prefills (attn_lane) in test_attention_lane; ctest's
 * test_op_attention_fused reruns everything with MOEVK_ATTN_LANE=0 (the fused kernel). On CPU devices full
 * masks below the GEMM path's thresholds take attn_lane as well (MOEVK_ATTN_LANE_FULL=0: the fused kernel).
 * Head dims above 256 (attn_wide.comp: hd 258/320/384/512, prefill and split-K
 * decode, GQA 1/2/8, F16/F32, causal/full, n_kv, window and span, Tq/Tk
 * 1/7/33/129 and 1100 keys) in test_attention_wide; hd 514 is refused.
 * Debugging aid: ATTN_ONLY=<i> runs one prefill case, ATTN_CASE=hd,Hq,Hkv,Tq,Tk,nkv,causal,f16,fused
 * runs one custom case (Tq = 1 takes the decode path) instead of the prefill list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

typedef struct acase {
    int64_t hd, Hq, Hkv, Tq, Tk;
    int64_t nkv; /* < 0: no n_kv buffer */
    int causal, f16, fused_q;
    int window, nc_lo, nc_hi; /* vk_attn_params */
    int host;                 /* n_kv_host = nkv (the host knows n_kv): CPU devices may take attn_lane; decode chunks only those keys */
} acase;

static void run_case(const acase *c) {
    int64_t hd = c->hd, Hq = c->Hq, Hkv = c->Hkv, Tq = c->Tq, Tk = c->Tk;
    int64_t nq = hd * Hq * Tq, nk = hd * Hkv * Tk, row = hd * (Hq + 2 * Hkv);
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *kr = malloc(nk * 4), *vr = malloc(nk * 4);
    float *ref = malloc(nq * 4), *ref32 = malloc(nq * 4), *got = malloc(nq * 4), *qkv = malloc(row * Tq * 4);
    tu_fill(q, nq, -2, 2);
    tu_fill(k, nk, -2, 2);
    tu_fill(v, nk, -1, 1);
    if (c->f16) {
        tu_round_through(MVK_TYPE_F16, k, kr, nk);
        tu_round_through(MVK_TYPE_F16, v, vr, nk);
    } else {
        memcpy(kr, k, nk * 4);
        memcpy(vr, v, nk * 4);
    }
    float scale = 1.0f / sqrtf((float)hd);
    int64_t n_kv = c->nkv >= 0 ? c->nkv : Tk;
    ref_attention_ex(ref, q, kr, vr, hd, Hq, Tq, Hkv, Tk, n_kv, scale, c->causal, c->window, c->nc_lo, c->nc_hi);
    ref_attention_ex(ref32, q, k, v, hd, Hq, Tq, Hkv, Tk, n_kv, scale, c->causal, c->window, c->nc_lo, c->nc_hi);
    mvk_type kt = c->f16 ? MVK_TYPE_F16 : MVK_TYPE_F32;
    tu_tensor tk = tu_upload_as(kt, hd, Hkv, Tk, 1, k), tv = tu_upload_as(kt, hd, Hkv, Tk, 1, v);
    tu_tensor to = tu_upload(MVK_TYPE_F32, hd, Hq, Tq, 1, NULL), tq;
    mvk_tensor qv, vv = tv.t;
    int vrow = 0;
    if (c->fused_q) { /* q is the first part of a fused [hd*(Hq+2Hkv)][Tq] row */
        tu_fill(qkv, row * Tq, -2, 2);
        for (int64_t t = 0; t < Tq; t++) memcpy(qkv + t * row, q + t * Hq * hd, Hq * hd * 4);
        /* f32 self-attention: v too is read in place, the third part of the row (the vision tower's V) */
        vrow = !c->f16 && Tk == Tq;
        if (vrow)
            for (int64_t t = 0; t < Tq; t++) memcpy(qkv + t * row + (Hq + Hkv) * hd, v + t * Hkv * hd, Hkv * hd * 4);
        tq = tu_upload(MVK_TYPE_F32, row, Tq, 1, 1, qkv);
        int64_t ne[4] = {hd, Hq, Tq, 1}, nb[4] = {4, hd * 4, row * 4, row * Tq * 4};
        qv = mvk_tensor_view(&tq.t, 0, ne, nb);
        int64_t vne[4] = {hd, Hkv, Tk, 1};
        if (vrow) vv = mvk_tensor_view(&tq.t, (uint64_t)((Hq + Hkv) * hd * 4), vne, nb);
    } else {
        tq = tu_upload(MVK_TYPE_F32, hd, Hq, Tq, 1, q);
        qv = tq.t;
    }
    int32_t nkv32 = (int32_t)n_kv;
    tu_tensor tn = tu_upload(MVK_TYPE_I32, 1, 1, 1, 1, &nkv32);
    vk_attn_params p = {.scale = scale, .causal = c->causal, .window = c->window, .nc_lo = c->nc_lo, .nc_hi = c->nc_hi,
                        .n_kv_host = c->host && c->nkv >= 0 ? (int)c->nkv : 0};
    vk_stream *s = tu_begin();
    TU_OK(vk_op_attention(s, &to.t, &qv, &tk.t, &vv, c->nkv >= 0 ? &tn.t : NULL, &p));
    /* the full-mask Tq >= 64, hd >= 48 (CPU devices: 16 from Tq 256), Tk <= 8192 path runs three dispatches per head (Q·Kᵀ, softmax, P·V into
     * out's head slice) and one per KV head (V transposed); the fused kernel one */
    /* CPU devices' attn_vit (before every other path): full mask, no n_kv, F32 K/V, hd a multiple of 4 up to 16,
     * Tq >= 16, unless MOEVK_ATTN_VIT=0: one dispatch */
    const char *ve = getenv("MOEVK_ATTN_VIT");
    int vit = vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && !(ve && !strcmp(ve, "0")) && !c->causal && !c->window && c->nkv < 0 &&
              !c->f16 && hd % 4 == 0 && hd <= 16 && Tq >= 16;
    int cpu_hd = vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && Tq >= 256 && hd % 8 == 0 && hd >= 16; /* ATTN_GEMM_MIN_HD_CPU */
    int gemm = !vit && !c->causal && !c->window && c->nkv < 0 && Tq >= 64 && (hd >= 48 || cpu_hd) && Tk <= 8192;
    /* CPU devices' attn_lane (prefills the GEMM path does not take: ATTN_LANE_MIN_TQ 16, head dims multiples of
     * 8 up to 256, the number of keys known to the host, at most 8192 of them; full masks without n_kv unless
     * MOEVK_ATTN_LANE_FULL=0): Q and O copies, V transposed, and per query block and KV head Q·Kᵀ, the masked
     * softmax, P·V */
    const char *le = getenv("MOEVK_ATTN_LANE"), *lf = getenv("MOEVK_ATTN_LANE_FULL");
    int masked = c->causal || c->window || c->nkv >= 0;
    int lane = !vit && !gemm && !(le && !strcmp(le, "0")) && vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && Tq >= 16 && hd % 8 == 0 &&
               hd <= 256 && (masked ? c->nkv < 0 || (c->host && c->nkv > 0) : !(lf && !strcmp(lf, "0"))) && n_kv <= 8192;
    uint32_t nd = vk_stream_dispatch_count(s);
    if (Tq > 1 && (gemm ? nd < (uint32_t)(3 * Hq + Hkv) : lane ? nd < (uint32_t)(3 * Hkv + 3) : nd != 1))
        fail_msg("%u dispatches for a %s prefill case", nd, gemm ? "GEMM" : lane ? "lane" : vit ? "vit" : "fused");
    /* decode (hd <= 256): chunks of 128 over the keys it can see (Tk, or the n_kv the host knows); one chunk
     * writes the output itself (no attn_combine) unless MOEVK_ATTN_DIRECT=0 */
    const char *de = getenv("MOEVK_ATTN_DIRECT");
    int64_t dkeys = c->host && c->nkv > 0 && c->nkv < Tk ? c->nkv : Tk;
    uint32_t dexp = (dkeys + 127) / 128 <= 1 && !(de && !strcmp(de, "0")) ? 1 : 2;
    /* CPU devices: the fused kernel, one dispatch, up to 4096 keys, unless MOEVK_ATTN_DECODE_FUSED=0 */
    const char *fe = getenv("MOEVK_ATTN_DECODE_FUSED");
    if (vk_ctx_info(tu_vk)->kind == VK_KIND_CPU && !(fe && !strcmp(fe, "0")) && dkeys <= 4096 && Tk / 4 < 60000) dexp = 1;
    if (Tq == 1 && hd <= 256 && nd != dexp) fail_msg("%u dispatches for a decode case over %lld keys, expected %u", nd, (long long)dkeys, dexp);
    tu_end_submit(s);
    tu_download(&to, got, nq * 4);
    char label[192];
    snprintf(label, sizeof label, "attn hd %lld Hq %lld Hkv %lld Tq %lld Tk %lld n_kv %lld%s %s %s%s win %d span [%d,%d) %s", (long long)hd,
             (long long)Hq, (long long)Hkv, (long long)Tq, (long long)Tk, (long long)c->nkv, c->host ? " (host)" : "",
             c->causal ? "causal" : "full", c->f16 ? "f16" : "f32", c->fused_q ? (vrow ? " fused-qv" : " fused-q") : "", c->window,
             c->nc_lo, c->nc_hi, vit ? "vit" : gemm ? "gemm" : lane ? "lane" : Tq > 1 ? "fused" : "decode");
    double e = tu_nmse(ref, got, nq);
    printf("%-80s nmse %.2e", label, e);
    if (c->f16) printf("  (vs unrounded f32 KV %.2e)", tu_nmse(ref32, got, nq));
    printf("\n");
    tu_assert_nmse(label, ref, got, nq, 1e-7);
    if (c->f16) tu_assert_nmse(label, ref32, got, nq, 5e-4);
    tu_free(&tq); tu_free(&tk); tu_free(&tv); tu_free(&to); tu_free(&tn);
    free(q); free(k); free(v); free(kr); free(vr); free(ref); free(ref32); free(got); free(qkv);
}

static void test_attention_prefill(void **state) {
    (void)state;
    const acase cases[] = {
        {16, 4, 2, 30, 30, -1, 1, 0, 1, 0, 0, 0, 0},     /* golden text model shape */
        {72, 4, 4, 127, 127, -1, 0, 0, 1, 0, 0, 0, 0},   /* ViT: full attention, hd 72 */
        {64, 4, 4, 33, 33, -1, 1, 1, 0, 0, 0, 0, 0},
        {128, 8, 1, 7, 600, -1, 1, 1, 0, 0, 0, 0, 0},    /* GQA 8, few queries over a long KV */
        {72, 2, 2, 127, 600, 400, 0, 1, 0, 0, 0, 0, 0},  /* full, n_kv from a buffer */
        {64, 4, 2, 127, 200, 150, 1, 0, 0, 0, 0, 0, 0},  /* causal, n_kv from a buffer */
        {64, 1, 1, 65, 65, -1, 1, 0, 0, 0, 0, 0, 0},     /* 64-row block + 1 */
        {16, 2, 1, 7, 20, 3, 1, 0, 0, 0, 0, 0, 0},       /* n_kv < Tq: first rows see nothing -> 0 */
        {128, 2, 2, 33, 33, -1, 0, 0, 1, 0, 0, 0, 0},
        {16, 16, 2, 1 + 1, 17, -1, 1, 1, 0, 0, 0, 0, 0}, /* Tq 2 takes the prefill path */
        {128, 16, 2, 7, 33, -1, 0, 0, 0, 0, 0, 0, 0},
        {64, 8, 4, 127, 127, -1, 1, 1, 1, 0, 0, 0, 0},
        /* full mask, Tq >= 64, no n_kv: the GEMM path (matmul, softmax, matmul) */
        {72, 4, 4, 64, 64, -1, 0, 0, 0, 0, 0, 0, 0},
        {72, 4, 2, 64, 64, -1, 0, 1, 1, 0, 0, 0, 0},
        {48, 4, 4, 127, 127, -1, 0, 1, 0, 0, 0, 0, 0},   /* hd 48: the smallest head dim taking it */
        {48, 4, 2, 127, 127, -1, 0, 0, 1, 0, 0, 0, 0},
        {72, 2, 1, 257, 257, -1, 0, 1, 0, 0, 0, 0, 0},
        {72, 2, 2, 257, 257, -1, 0, 0, 0, 0, 0, 0, 0},
        {48, 2, 1, 65, 300, -1, 0, 1, 1, 0, 0, 0, 0},    /* Tq != Tk */
        {16, 4, 4, 127, 127, -1, 0, 1, 0, 0, 0, 0, 0},   /* hd 16 (below the GEMM threshold): attn_lane on CPU devices, else fused */
        {16, 4, 2, 257, 257, -1, 0, 0, 1, 0, 0, 0, 0},
        {16, 4, 4, 300, 300, -1, 0, 1, 0, 0, 0, 0, 0},   /* the goldens' tower (hd 16) at 300 patches, f16 K/V: CPU devices take the GEMM path */
        {46, 2, 2, 64, 64, -1, 0, 0, 0, 0, 0, 0, 0},     /* hd 46: fused kernel */
        {48, 1, 1, 1100, 8192, -1, 0, 1, 0, 0, 0, 0, 0}, /* GEMM path in two query chunks (S capped at 32 MiB) */
        {48, 1, 1, 64, 8193, -1, 0, 0, 0, 0, 0, 0, 0},   /* Tk above the GEMM cap: fused kernel */
    };
    const char *only = getenv("ATTN_ONLY"), *custom = getenv("ATTN_CASE");
    if (custom) { /* debugging aid: ATTN_CASE=hd,Hq,Hkv,Tq,Tk,nkv,causal,f16,fused */
        long long a[9] = {0};
        if (sscanf(custom, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8]) == 9) {
            acase c = {a[0], a[1], a[2], a[3], a[4], a[5], (int)a[6], (int)a[7], (int)a[8], 0, 0, 0, 0};
            run_case(&c);
        }
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!only || atoi(only) == (int)i) run_case(&cases[i]);
}

static void test_attention_decode(void **state) {
    (void)state;
    const acase cases[] = {
        {128, 8, 4, 1, 600, 517, 1, 1, 0, 0, 0, 0, 0},
        {128, 32, 4, 1, 300, -1, 1, 0, 1, 0, 0, 0, 0},   /* Qwen3-VL-30B head layout */
        {64, 2, 1, 1, 7, -1, 0, 0, 0, 0, 0, 0, 0},
        {16, 2, 2, 1, 1, -1, 1, 0, 0, 0, 0, 0, 0},
        {128, 2, 2, 1, 129, -1, 0, 1, 0, 0, 0, 0, 0},    /* chunk (128) + 1 */
        {72, 4, 4, 1, 33, 0, 1, 0, 0, 0, 0, 0, 0},       /* n_kv = 0: zeros */
        {16, 8, 1, 1, 127, 127, 1, 1, 1, 0, 0, 0, 0},
        {64, 64, 2, 1, 300, 257, 1, 1, 0, 0, 0, 0, 0},   /* GQA 32: heads split over workgroups */
        /* n_kv the host knows (the engine's steps): chunks over those keys only; one chunk: no combine */
        {64, 4, 2, 1, 600, 100, 1, 1, 0, 0, 0, 0, 1},    /* one chunk of a 600-key cache */
        {64, 4, 4, 1, 600, 128, 1, 0, 1, 0, 0, 0, 1},    /* exactly one chunk, strided q */
        {64, 4, 2, 1, 600, 300, 1, 0, 0, 0, 0, 0, 1},    /* 3 chunks, not 5 */
        {128, 8, 4, 1, 600, 117, 1, 1, 0, 100, 0, 0, 1}, /* one chunk with a window: keys 17..116 */
        {16, 4, 2, 1, 128, -1, 1, 0, 0, 0, 0, 0, 0},     /* Tk 128, no n_kv: one chunk */
        {32, 16, 1, 1, 600, 1, 1, 0, 0, 0, 0, 0, 1},     /* GQA 16, one key */
        {128, 32, 4, 1, 600, 160, 1, 1, 0, 0, 0, 0, 1},  /* the race's decode (P 128 + N 32) over the engine's cache */
        {16, 4, 2, 1, 4200, 4150, 1, 0, 0, 0, 0, 0, 1},  /* over 4096 keys: CPU devices keep the split-K too */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Gemma 4: sliding-window layers (a query sees the window keys up to itself), an image's rows attending to each
 * other both ways inside the causal mask. */
static void test_attention_window_span(void **state) {
    (void)state;
    const acase cases[] = {
        /* hd, Hq, Hkv, Tq, Tk, nkv, causal, f16, fused, window, nc_lo, nc_hi */
        {16, 4, 2, 48, 48, -1, 1, 0, 1, 16, 0, 0, 0},      /* the tiny gemma4 shape: 48 tokens, window 16 */
        {64, 4, 2, 33, 100, 80, 1, 1, 0, 5, 0, 0, 0},      /* a later micro-batch: queries at 47..79, n_kv from a buffer */
        {64, 2, 2, 127, 127, -1, 1, 0, 0, 1, 0, 0, 0},     /* window 1: each query sees itself only */
        {16, 2, 1, 7, 20, -1, 1, 0, 0, 100, 0, 0, 0},      /* window beyond the context: plain causal */
        {16, 4, 2, 40, 40, -1, 1, 0, 0, 8, 10, 25, 0},     /* image rows 10..24 both ways, window 8 */
        {72, 2, 1, 33, 33, -1, 1, 1, 1, 0, 5, 20, 0},      /* a span without a window */
        {64, 2, 2, 65, 90, 90, 1, 0, 0, 16, 40, 70, 0},    /* a span in a later micro-batch (positions 25..89) */
        {48, 4, 4, 64, 64, -1, 0, 0, 0, 9, 0, 0, 0},       /* full mask with a window: the fused kernel, not the GEMM */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    const acase dec[] = {
        {128, 8, 4, 1, 600, 517, 1, 1, 0, 100, 0, 0, 0},   /* keys 417..516 */
        {64, 2, 1, 1, 300, 257, 1, 0, 0, 1, 0, 0, 0},      /* the last key only */
        {16, 2, 2, 1, 129, -1, 1, 0, 0, 128, 0, 0, 0},     /* chunk 0 sees key 1.., chunk 1 all */
        {16, 4, 2, 1, 40, -1, 1, 0, 0, 500, 0, 0, 0},      /* window beyond the context */
    };
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) run_case(&dec[i]);
}

/* CPU devices' attn_lane (the GEMM path for causal / windowed / span masks and n_kv known to the host): the
 * a3b slice's prefill shape, an engine-like KV cache (Tk = n_ctx, n_kv from a buffer the host also knows), long
 * prompts in many query blocks (64 queries a block: blocks over a partial last one), keys not a multiple of 8,
 * windows and spans across block edges, n_kv < Tq (rows seeing nothing), head dims 8..256. Other devices run
 * the fused kernel on the same cases. */
static void test_attention_lane(void **state) {
    (void)state;
    const acase cases[] = {
        /* hd, Hq, Hkv, Tq, Tk, nkv, causal, f16, fused, window, nc_lo, nc_hi, host */
        {128, 32, 4, 128, 128, -1, 1, 1, 0, 0, 0, 0, 0},     /* the a3b8 slice's prefill (P 128) */
        {128, 32, 4, 128, 600, 128, 1, 1, 1, 0, 0, 0, 1},    /* same over the engine's cache: n_ctx 600, n_kv 128 */
        {128, 16, 2, 100, 600, 301, 1, 1, 0, 0, 0, 0, 1},    /* a later micro-batch: queries 201..300, keys 301 */
        {64, 4, 2, 1000, 1000, -1, 1, 0, 0, 0, 0, 0, 0},     /* a long prompt: 16 blocks, the last of 40 */
        {64, 8, 1, 333, 333, -1, 1, 1, 1, 0, 0, 0, 0},       /* GQA 8, strided q */
        {64, 4, 2, 300, 300, -1, 1, 0, 0, 37, 0, 0, 0},      /* window 37 across block edges */
        {64, 4, 2, 300, 500, 450, 1, 1, 0, 100, 0, 0, 1},    /* window, n_kv from the host: positions 150..449 */
        {64, 4, 2, 300, 300, -1, 1, 0, 0, 64, 50, 180, 0},   /* an image's rows 50..179 both ways, window 64 */
        {72, 2, 1, 200, 260, 250, 1, 1, 0, 0, 100, 230, 1},  /* span past the last query's block, n_kv 250 */
        {64, 2, 2, 130, 400, 390, 0, 0, 0, 0, 0, 0, 1},      /* full mask with n_kv: one block of all queries */
        {48, 2, 1, 70, 70, -1, 0, 1, 0, 20, 0, 0, 0},        /* full mask with a window */
        {32, 4, 4, 64, 64, -1, 0, 0, 1, 0, 0, 0, 0},         /* full mask, no n_kv: the embedded model's tower (64 patches) */
        {32, 4, 4, 16, 16, -1, 0, 0, 1, 0, 0, 0, 0},         /* the same at 16 patches (the smallest Tq taking it) */
        {24, 4, 2, 50, 50, -1, 0, 1, 0, 0, 0, 0, 0},         /* full mask, GQA 2, keys not a multiple of 8, f16 K/V */
        {16, 2, 1, 17, 20, 3, 1, 0, 0, 0, 0, 0, 1},          /* n_kv < Tq: the first 14 rows see nothing -> 0 */
        {8, 4, 4, 40, 40, -1, 1, 1, 0, 0, 0, 0, 0},          /* hd 8 */
        {256, 4, 1, 80, 80, -1, 1, 0, 0, 0, 0, 0, 0},        /* hd 256 (the largest taking it) */
        {128, 8, 1, 64, 8000, 7999, 1, 1, 0, 0, 0, 0, 1},    /* 8000 keys: the score scratch cap shrinks the block */
        {64, 2, 1, 40, 300, 250, 1, 0, 0, 0, 0, 0, 0},       /* n_kv the host does not know: the fused kernel */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* CPU devices' attn_vit (full mask, no n_kv, F32 K/V, hd a multiple of 4 up to 16, Tq >= 16): the goldens' tower
 * at 448 x 448 (784 patches, 4 heads of hd 16, q and V read in place from the fused QKV row), queries not a
 * multiple of a workgroup's (lanes past Tq), keys not a multiple of the 4-key block (the last block masked), GQA,
 * Tq != Tk, hd 4 / 12 (one and three vec4s). Other devices run their own paths on the same cases. */
static void test_attention_vit(void **state) {
    (void)state;
    const acase cases[] = {
        /* hd, Hq, Hkv, Tq, Tk, nkv, causal, f16, fused, window, nc_lo, nc_hi, host */
        {16, 4, 4, 784, 784, -1, 0, 0, 1, 0, 0, 0, 0},       /* the goldens' tower at 448 x 448 */
        {16, 4, 2, 50, 50, -1, 0, 0, 0, 0, 0, 0, 0},         /* GQA 2, 50 keys (a partial last block) */
        {16, 2, 2, 40, 130, -1, 0, 0, 1, 0, 0, 0, 0},        /* Tq != Tk */
        {12, 2, 2, 17, 33, -1, 0, 0, 0, 0, 0, 0, 0},         /* hd 12: three vec4s a row */
        {4, 3, 1, 16, 21, -1, 0, 0, 0, 0, 0, 0, 0},          /* hd 4, GQA 3, the smallest Tq taking it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Head dims above 256: attn_wide.comp (prefill: one dispatch; decode: split-K
 * over chunks of 128 keys + attn_combine), the output dims in blocks of 64
 * (hd 258 leaves a partial last block). Five pipelines (hd, KV type) only:
 * each costs 10-25 s to compile cold on lavapipe. */
static void test_attention_wide(void **state) {
    (void)state;
    const acase cases[] = {
        /* hd, Hq, Hkv, Tq, Tk, nkv, causal, f16, fused, window, nc_lo, nc_hi */
        /* prefill */
        {512, 2, 1, 7, 33, -1, 1, 0, 0, 0, 0, 0, 0},       /* GQA 2, causal */
        {512, 8, 1, 33, 129, 100, 1, 1, 0, 0, 0, 0, 0},    /* GQA 8 (Gemma 4 26B global layers: 16 q / 2 kv heads), n_kv */
        {384, 2, 2, 33, 33, -1, 1, 1, 1, 0, 0, 0, 0},      /* GQA 1, strided q */
        {320, 4, 2, 7, 129, 129, 0, 0, 0, 0, 0, 0, 0},     /* full mask with n_kv: wide kernel */
        {258, 2, 1, 7, 7, -1, 1, 0, 0, 0, 0, 0, 0},        /* last dim block holds 2 dims */
        {512, 2, 2, 129, 129, -1, 1, 1, 0, 0, 0, 0, 0},    /* rows > one 64-row block */
        {512, 2, 1, 65, 65, -1, 0, 0, 0, 0, 0, 0, 0},      /* full mask, Tq >= 64: the GEMM path at hd 512 */
        {512, 2, 1, 7, 1100, -1, 1, 0, 0, 0, 0, 0, 0},     /* 1100 keys: only the key loop iterates (lavapipe's 65535) */
        {512, 8, 1, 40, 40, -1, 1, 1, 0, 8, 10, 25, 0},    /* window 8, image rows 10..24 both ways */
        {384, 2, 2, 33, 33, -1, 1, 1, 1, 5, 0, 0, 0},      /* window */
        /* decode */
        {512, 16, 2, 1, 300, 257, 1, 1, 0, 0, 0, 0, 0},    /* GQA 8, three chunks, n_kv */
        {512, 16, 2, 1, 300, 257, 1, 1, 0, 100, 0, 0, 0},  /* window 100: the first chunk sees nothing */
        {512, 2, 2, 1, 1, -1, 1, 0, 0, 0, 0, 0, 0},
        {384, 4, 2, 1, 129, -1, 0, 1, 1, 0, 0, 0, 0},      /* chunk (128) + 1 */
        {320, 8, 1, 1, 7, -1, 1, 0, 0, 0, 0, 0, 0},
        {512, 2, 1, 1, 33, 0, 1, 0, 0, 0, 0, 0, 0},        /* n_kv = 0: zeros */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* Decode replay: one recording, n_kv grows in a host-visible buffer between submits. */
static void test_attention_decode_replay(void **state) {
    (void)state;
    const int64_t hd = 64, Hq = 4, Hkv = 2, Tk = 300, nq = hd * Hq, nk = hd * Hkv * Tk;
    float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *kr = malloc(nk * 4), *vr = malloc(nk * 4);
    float ref[256], got[256];
    tu_fill(q, nq, -2, 2);
    tu_fill(k, nk, -2, 2);
    tu_fill(v, nk, -1, 1);
    tu_round_through(MVK_TYPE_F16, k, kr, nk);
    tu_round_through(MVK_TYPE_F16, v, vr, nk);
    tu_tensor tq = tu_upload(MVK_TYPE_F32, hd, Hq, 1, 1, q), to = tu_upload(MVK_TYPE_F32, hd, Hq, 1, 1, NULL);
    tu_tensor tk = tu_upload_as(MVK_TYPE_F16, hd, Hkv, Tk, 1, k), tv = tu_upload_as(MVK_TYPE_F16, hd, Hkv, Tk, 1, v);
    int32_t *nm = NULL;
    tu_tensor tn = tu_host_i32(1, &nm); /* n_kv, set before each replay */
    vk_attn_params p = {.scale = 0.125f, .causal = 1};
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(tu_vk, &s));
    TU_OK(vk_stream_begin(s));
    TU_OK(vk_op_attention(s, &to.t, &tq.t, &tk.t, &tv.t, &tn.t, &p));
    TU_OK(vk_stream_end(s));
    const int32_t steps[] = {1, 2, 128, 129, 255, 300};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        *nm = steps[i];
        TU_OK(vk_stream_submit(s));
        tu_download(&to, got, nq * 4);
        ref_attention(ref, q, kr, vr, hd, Hq, 1, Hkv, Tk, steps[i], 0.125f, 1);
        char label[64];
        snprintf(label, sizeof label, "decode replay n_kv %d", steps[i]);
        tu_assert_nmse(label, ref, got, nq, 1e-7);
    }
    vk_stream_destroy(s);
    tu_free(&tn); tu_free(&tq); tu_free(&to); tu_free(&tk); tu_free(&tv);
    free(q); free(k); free(v); free(kr); free(vr);
}

static void test_attention_bad_input(void **state) {
    (void)state;
    mvk_tensor *q = tu_shape(MVK_TYPE_F32, 16, 3, 2, 1), *k = tu_shape(MVK_TYPE_F32, 16, 2, 5, 1);
    mvk_tensor *k1 = tu_shape(MVK_TYPE_F32, 16, 1, 5, 1), *k8 = tu_shape(MVK_TYPE_F32, 8, 1, 5, 1);
    mvk_tensor *kb = tu_shape(MVK_TYPE_BF16, 16, 1, 5, 1), *kh = tu_shape(MVK_TYPE_F16, 16, 1, 5, 1);
    mvk_tensor *nf = tu_shape(MVK_TYPE_F32, 1, 1, 1, 1), *n2 = tu_shape(MVK_TYPE_I32, 2, 1, 1, 1);
    mvk_tensor *qw = tu_shape(MVK_TYPE_F32, 514, 1, 2, 1), *kw = tu_shape(MVK_TYPE_F32, 514, 1, 5, 1);
    vk_attn_params p = {.scale = 0.25f, .causal = 1};
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_attention(s, q, q, k, k, NULL, &p), MOEVK_ERR_SHAPE, "GQA"); /* 3 % 2 */
    TU_REFUSES(vk_op_attention(s, q, q, k8, k8, NULL, &p), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_attention(s, q, q, kb, kb, NULL, &p), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_attention(s, q, q, k1, kh, NULL, &p), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_attention(s, q, q, k1, k1, nf, &p), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_attention(s, q, q, k1, k1, n2, &p), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_attention(s, q, q, k1, k1, NULL, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_attention(s, k1, q, k1, k1, NULL, &p), MOEVK_ERR_SHAPE, NULL);
    TU_REFUSES(vk_op_attention(s, qw, qw, kw, kw, NULL, &p), MOEVK_ERR_UNSUPPORTED, "head dim 514");
    vk_attn_params neg = {.scale = 0.25f, .causal = 1, .window = -1};
    TU_REFUSES(vk_op_attention(s, q, q, k1, k1, NULL, &neg), MOEVK_ERR_INVALID_ARG, "window");
    vk_attn_params full_span = {.scale = 0.25f, .causal = 0, .nc_lo = 0, .nc_hi = 2};
    TU_REFUSES(vk_op_attention(s, q, q, k1, k1, NULL, &full_span), MOEVK_ERR_INVALID_ARG, "span");
    tu_bad_end(s);
}

/* `--wide`: test_attention_wide alone (ctest test_op_attention_wide, labelled slow: its five hd 258-512
 * pipelines take minutes to compile cold on lavapipe, too long for every CI pass); otherwise the rest. */
int main(int argc, char **argv) {
    tu_seed(4);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attention_prefill, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_decode, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_window_span, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_lane, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_vit, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_decode_replay, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_bad_input, tu_test_setup, tu_test_teardown),
    };
    const struct CMUnitTest wide[] = {
        cmocka_unit_test_setup_teardown(test_attention_wide, tu_test_setup, tu_test_teardown),
    };
    const struct CMUnitTest decode[] = {
        cmocka_unit_test_setup_teardown(test_attention_decode, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_attention_decode_replay, tu_test_setup, tu_test_teardown),
    };
    if (argc > 1 && !strcmp(argv[1], "--decode")) /* the decode kernels alone (ctest's test_op_attention_sg32) */
        return tu_exit(cmocka_run_group_tests_name("attention, decode", decode, tu_group_setup, tu_group_teardown));
    if (argc > 1 && !strcmp(argv[1], "--wide"))
        return tu_exit(cmocka_run_group_tests_name("attention, head dims above 256", wide, tu_group_setup, tu_group_teardown));
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
