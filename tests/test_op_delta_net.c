/* test_op_delta_net.c — Gated DeltaNet's vk_op_gdn_gates and vk_op_delta_net against
 * ref_gdn_gates / ref_delta_net (double): awkward state sizes, head counts (Hv = r·Hk,
 * tiled V heads) and token counts across the kernel's staging blocks; q/k/v as views
 * into one conv output row with the output written over v; decode steps one token at a
 * time give the prefill's outputs and state; and the whole decode step (conv, L2 norm,
 * gates, delta rule) recorded once and replayed per token. NMSE on outputs and state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

static void fill_gates(float *g, float *beta, int64_t n) {
    tu_fill(g, n, -2.0f, 0.0f); /* log decay <= 0 */
    tu_fill(beta, n, 0.0f, 1.0f);
}

/* random q or k rows, L2-normalised as the layer feeds them */
static void fill_unit_rows(float *x, int64_t S, int64_t rows) {
    tu_fill(x, S * rows, -1, 1);
    ref_l2_norm(x, x, NULL, S, rows, 1e-6f);
}

static void test_gates(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) {
        int64_t H = tu_awkward[i], T = tu_awkward[3 - i];
        float *al = malloc(H * T * 4), *b = malloc(H * T * 4), *dt = malloc(H * 4), *a = malloc(H * 4);
        float *g = malloc(H * T * 4), *be = malloc(H * T * 4), *gg = malloc(H * T * 4), *gb = malloc(H * T * 4);
        tu_fill(al, H * T, -30, 30); /* both softplus branches (> 20: identity) and a tiny e^x */
        tu_fill(b, H * T, -100, 100);
        tu_fill(dt, H, -2, 2);
        tu_fill(a, H, -8, -0.01f);
        ref_gdn_gates(g, be, al, b, dt, a, H, T);
        tu_tensor tal = tu_upload(MVK_TYPE_F32, H, T, 1, 1, al), tb = tu_upload(MVK_TYPE_F32, H, T, 1, 1, b);
        tu_tensor tdt = tu_upload(MVK_TYPE_F32, H, 1, 1, 1, dt), ta = tu_upload(MVK_TYPE_F32, H, 1, 1, 1, a);
        tu_tensor tg = tu_upload_padded(NULL, H, T, 1, 1, 2), tbe = tu_upload(MVK_TYPE_F32, H, T, 1, 1, NULL);
        vk_stream *s = tu_begin();
        TU_OK(vk_op_gdn_gates(s, &tg.t, &tbe.t, &tal.t, &tb.t, &tdt.t, &ta.t));
        tu_end_submit(s);
        tu_download_padded(&tg, gg, H, T, 2);
        tu_download(&tbe, gb, H * T * 4);
        char label[96];
        snprintf(label, sizeof label, "gdn_gates H %lld T %lld", (long long)H, (long long)T);
        tu_assert_nmse(label, g, gg, H * T, 1e-10);
        tu_assert_nmse(label, be, gb, H * T, 1e-10);
        for (int64_t e = 0; e < H * T; e++)
            if (!isfinite(gg[e]) || !(gb[e] >= 0.0f && gb[e] <= 1.0f)) fail_msg("%s: bad gate at %lld", label, (long long)e);
        printf("%-40s nmse g %.2e beta %.2e\n", label, tu_nmse(g, gg, H * T), tu_nmse(be, gb, H * T));
        tu_free(&tal); tu_free(&tb); tu_free(&tdt); tu_free(&ta); tu_free(&tg); tu_free(&tbe);
        free(al); free(b); free(dt); free(a); free(g); free(be); free(gg); free(gb);
    }
}

/* contiguous q, k [T][Hk][S], v, o [T][Hv][S]; n_calls > 1 splits T into decode steps */
static void run_case(int64_t S, int64_t Hk, int64_t Hv, int64_t T, int decode_steps) {
    int64_t nq = S * Hk * T, nv = S * Hv * T, ns = S * S * Hv;
    float *q = malloc(nq * 4), *k = malloc(nq * 4), *v = malloc(nv * 4), *g = malloc(Hv * T * 4), *be = malloc(Hv * T * 4);
    float *st = malloc(ns * 4), *st_ref = malloc(ns * 4), *ref = malloc(nv * 4), *got = malloc(nv * 4), *st_got = malloc(ns * 4);
    fill_unit_rows(q, S, Hk * T);
    fill_unit_rows(k, S, Hk * T);
    tu_fill(v, nv, -1, 1);
    fill_gates(g, be, Hv * T);
    tu_fill(st, ns, -0.5f, 0.5f);
    memcpy(st_ref, st, ns * 4);
    float scale = 1.0f / sqrtf((float)S);
    ref_delta_net(ref, q, k, v, g, be, st_ref, S, Hk, Hv, T, scale);
    tu_tensor tq = tu_upload(MVK_TYPE_F32, S, Hk, T, 1, q), tk = tu_upload(MVK_TYPE_F32, S, Hk, T, 1, k);
    tu_tensor tv = tu_upload(MVK_TYPE_F32, S, Hv, T, 1, v), tg = tu_upload(MVK_TYPE_F32, Hv, T, 1, 1, g);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, Hv, T, 1, 1, be), ts = tu_upload(MVK_TYPE_F32, S, S, Hv, 1, st);
    tu_tensor to = tu_upload(MVK_TYPE_F32, S, Hv, T, 1, NULL);
    vk_stream *s = tu_begin();
    if (!decode_steps) {
        TU_OK(vk_op_delta_net(s, &to.t, &tq.t, &tk.t, &tv.t, &tg.t, &tb.t, &ts.t, scale));
    } else {
        for (int64_t t = 0; t < T; t++) { /* one token per dispatch: the recorded decode step */
            int64_t nek[4] = {S, Hk, 1, 1}, nbk[4] = {4, S * 4, S * Hk * 4, S * Hk * 4};
            int64_t nev[4] = {S, Hv, 1, 1}, nbv[4] = {4, S * 4, S * Hv * 4, S * Hv * 4};
            int64_t neg[4] = {Hv, 1, 1, 1}, nbg[4] = {4, Hv * 4, Hv * 4, Hv * 4};
            mvk_tensor qv = mvk_tensor_view(&tq.t, t * S * Hk * 4, nek, nbk), kv = mvk_tensor_view(&tk.t, t * S * Hk * 4, nek, nbk);
            mvk_tensor vv = mvk_tensor_view(&tv.t, t * S * Hv * 4, nev, nbv), ov = mvk_tensor_view(&to.t, t * S * Hv * 4, nev, nbv);
            mvk_tensor gv = mvk_tensor_view(&tg.t, t * Hv * 4, neg, nbg), bv = mvk_tensor_view(&tb.t, t * Hv * 4, neg, nbg);
            TU_OK(vk_op_delta_net(s, &ov, &qv, &kv, &vv, &gv, &bv, &ts.t, scale));
        }
    }
    tu_end_submit(s);
    tu_download(&to, got, nv * 4);
    tu_download(&ts, st_got, ns * 4);
    char label[128];
    snprintf(label, sizeof label, "delta_net S %lld Hk %lld Hv %lld T %lld%s", (long long)S, (long long)Hk, (long long)Hv,
             (long long)T, decode_steps ? " (decode steps)" : "");
    tu_assert_nmse(label, ref, got, nv, 1e-9);
    char lstate[160];
    snprintf(lstate, sizeof lstate, "%s state", label);
    tu_assert_nmse(lstate, st_ref, st_got, ns, 1e-9);
    printf("%-56s nmse o %.2e state %.2e\n", label, tu_nmse(ref, got, nv), tu_nmse(st_ref, st_got, ns));
    tu_free(&tq); tu_free(&tk); tu_free(&tv); tu_free(&tg); tu_free(&tb); tu_free(&ts); tu_free(&to);
    free(q); free(k); free(v); free(g); free(be); free(st); free(st_ref); free(ref); free(got); free(st_got);
}

static void test_delta_net_shapes(void **state) {
    (void)state;
    for (int i = 0; i < 4; i++) run_case(tu_awkward[i], 1, 2, tu_awkward[(i + 2) % 4] % 40, 0);
    run_case(7, 3, 6, 5, 0);
    run_case(33, 2, 4, 17, 0);    /* 17 tokens: a staging block + 1 */
    run_case(65, 1, 1, 3, 0);     /* value columns: workgroup + 1 */
    run_case(128, 2, 4, 33, 0);   /* Qwen3.5's state size, three blocks */
    run_case(16, 4, 4, 1, 0);     /* decode, Hv == Hk */
    run_case(256, 1, 1, 9, 0);    /* a larger state: fewer tokens staged per block */
}

static void test_delta_net_decode_steps(void **state) {
    (void)state;
    run_case(33, 2, 6, 9, 1);
    run_case(128, 1, 2, 4, 1);
}

/* The layer's layout: q|k|v are views into one conv output row u[conv_dim][T]
 * (conv_dim = 2·Hk·S + Hv·S), and o is written over v in place. */
static void test_delta_net_conv_views(void **state) {
    (void)state;
    const int64_t S = 33, Hk = 2, Hv = 4, T = 19, row = 2 * Hk * S + Hv * S, ns = S * S * Hv;
    float *u = malloc(row * T * 4), *q = malloc(S * Hk * T * 4), *k = malloc(S * Hk * T * 4), *v = malloc(S * Hv * T * 4);
    float *g = malloc(Hv * T * 4), *be = malloc(Hv * T * 4), *st = malloc(ns * 4), *ref = malloc(S * Hv * T * 4);
    float *got_u = malloc(row * T * 4), *got = malloc(S * Hv * T * 4), *st_got = malloc(ns * 4);
    fill_unit_rows(q, S, Hk * T);
    fill_unit_rows(k, S, Hk * T);
    tu_fill(v, S * Hv * T, -1, 1);
    for (int64_t t = 0; t < T; t++) {
        memcpy(u + t * row, q + t * Hk * S, Hk * S * 4);
        memcpy(u + t * row + Hk * S, k + t * Hk * S, Hk * S * 4);
        memcpy(u + t * row + 2 * Hk * S, v + t * Hv * S, Hv * S * 4);
    }
    fill_gates(g, be, Hv * T);
    memset(st, 0, ns * 4); /* a new sequence */
    tu_tensor tu_ = tu_upload(MVK_TYPE_F32, row, T, 1, 1, u), tg = tu_upload(MVK_TYPE_F32, Hv, T, 1, 1, g);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, Hv, T, 1, 1, be), ts = tu_upload(MVK_TYPE_F32, S, S, Hv, 1, st);
    float scale = 1.0f / sqrtf((float)S);
    ref_delta_net(ref, q, k, v, g, be, st, S, Hk, Hv, T, scale);
    int64_t nek[4] = {S, Hk, T, 1}, nbk[4] = {4, S * 4, row * 4, row * 4 * T};
    int64_t nev[4] = {S, Hv, T, 1};
    mvk_tensor qv = mvk_tensor_view(&tu_.t, 0, nek, nbk), kv = mvk_tensor_view(&tu_.t, Hk * S * 4, nek, nbk);
    mvk_tensor vv = mvk_tensor_view(&tu_.t, 2 * Hk * S * 4, nev, nbk);
    vk_stream *s = tu_begin();
    TU_OK(vk_op_delta_net(s, &vv, &qv, &kv, &vv, &tg.t, &tb.t, &ts.t, scale));
    tu_end_submit(s);
    tu_download(&tu_, got_u, row * T * 4);
    tu_download(&ts, st_got, ns * 4);
    for (int64_t t = 0; t < T; t++) {
        assert_memory_equal(got_u + t * row, u + t * row, 2 * Hk * S * 4); /* q and k untouched */
        memcpy(got + t * Hv * S, got_u + t * row + 2 * Hk * S, Hv * S * 4);
    }
    tu_assert_nmse("delta_net conv views, o over v", ref, got, S * Hv * T, 1e-9);
    tu_assert_nmse("delta_net conv views state", st, st_got, ns, 1e-9);
    tu_free(&tu_); tu_free(&tg); tu_free(&tb); tu_free(&ts);
    free(u); free(q); free(k); free(v); free(g); free(be); free(st); free(ref); free(got_u); free(got); free(st_got);
}

/* The decode step as the engine records it: ssm_conv (T = 1) -> l2_norm of q|k -> gdn_gates ->
 * delta_net, recorded once and replayed per token with new inputs uploaded into the same buffers;
 * the conv and delta states live in the bound buffers across replays. Against the references run
 * over the whole sequence. */
static void test_decode_replay(void **state) {
    (void)state;
    const int64_t S = 16, Hk = 2, Hv = 4, Kc = 4, T = 6, C = 2 * Hk * S + Hv * S;
    const float eps = 1e-6f, scale = 1.0f / sqrtf((float)S);
    float *x = malloc(C * T * 4), *w = malloc(C * Kc * 4), *al = malloc(Hv * T * 4), *b = malloc(Hv * T * 4);
    float *dt = malloc(Hv * 4), *a = malloc(Hv * 4), *cst = calloc(C * (Kc - 1), 4), *dst = calloc(S * S * Hv, 4);
    float *u = malloc(C * T * 4), *g = malloc(Hv * T * 4), *be = malloc(Hv * T * 4), *ref = malloc(S * Hv * T * 4);
    float *got = malloc(S * Hv * T * 4), *st_got = malloc(S * S * Hv * 4);
    tu_fill(x, C * T, -2, 2);
    tu_fill(w, C * Kc, -1, 1);
    tu_fill(al, Hv * T, -3, 3);
    tu_fill(b, Hv * T, -3, 3);
    tu_fill(dt, Hv, -1, 1);
    tu_fill(a, Hv, -4, -0.5f);
    /* references over the whole sequence */
    ref_ssm_conv(u, x, w, cst, C, T, Kc, 1);
    for (int64_t t = 0; t < T; t++) ref_l2_norm(u + t * C, u + t * C, NULL, S, 2 * Hk, eps);
    ref_gdn_gates(g, be, al, b, dt, a, Hv, T);
    float *q = malloc(S * Hk * T * 4), *k = malloc(S * Hk * T * 4), *v = malloc(S * Hv * T * 4);
    for (int64_t t = 0; t < T; t++) {
        memcpy(q + t * Hk * S, u + t * C, Hk * S * 4);
        memcpy(k + t * Hk * S, u + t * C + Hk * S, Hk * S * 4);
        memcpy(v + t * Hv * S, u + t * C + 2 * Hk * S, Hv * S * 4);
    }
    ref_delta_net(ref, q, k, v, g, be, dst, S, Hk, Hv, T, scale);
    /* device: one token's buffers, states zeroed (a new sequence) */
    tu_tensor tx = tu_upload(MVK_TYPE_F32, C, 1, 1, 1, NULL), tw = tu_upload(MVK_TYPE_F32, Kc, C, 1, 1, w);
    tu_tensor tcs = tu_upload(MVK_TYPE_F32, Kc - 1, C, 1, 1, NULL), tds = tu_upload(MVK_TYPE_F32, S, S, Hv, 1, NULL);
    tu_tensor tu_ = tu_upload(MVK_TYPE_F32, C, 1, 1, 1, NULL), tal = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, NULL);
    tu_tensor tb = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, NULL), tdt = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, dt);
    tu_tensor ta = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, a), tg = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, NULL);
    tu_tensor tbe = tu_upload(MVK_TYPE_F32, Hv, 1, 1, 1, NULL), to = tu_upload(MVK_TYPE_F32, S, Hv, 1, 1, NULL);
    int64_t neqk[4] = {S, 2 * Hk, 1, 1}, nbqk[4] = {4, S * 4, C * 4, C * 4};
    int64_t nek[4] = {S, Hk, 1, 1}, nev[4] = {S, Hv, 1, 1};
    mvk_tensor qk = mvk_tensor_view(&tu_.t, 0, neqk, nbqk);
    mvk_tensor qv = mvk_tensor_view(&tu_.t, 0, nek, nbqk), kv = mvk_tensor_view(&tu_.t, Hk * S * 4, nek, nbqk);
    mvk_tensor vv = mvk_tensor_view(&tu_.t, 2 * Hk * S * 4, nev, nbqk);
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(tu_vk, &s));
    TU_OK(vk_stream_begin(s));
    TU_OK(vk_op_ssm_conv(s, &tu_.t, &tx.t, &tw.t, &tcs.t, 1));
    TU_OK(vk_op_l2_norm(s, &qk, &qk, NULL, eps));
    TU_OK(vk_op_gdn_gates(s, &tg.t, &tbe.t, &tal.t, &tb.t, &tdt.t, &ta.t));
    TU_OK(vk_op_delta_net(s, &to.t, &qv, &kv, &vv, &tg.t, &tbe.t, &tds.t, scale));
    TU_OK(vk_stream_end(s));
    assert_int_equal(vk_stream_dispatch_count(s), 4);
    for (int64_t t = 0; t < T; t++) {
        TU_OK(vk_upload(tu_vk, tx.buf, tx.t.off, x + t * C, C * 4));
        TU_OK(vk_upload(tu_vk, tal.buf, tal.t.off, al + t * Hv, Hv * 4));
        TU_OK(vk_upload(tu_vk, tb.buf, tb.t.off, b + t * Hv, Hv * 4));
        TU_OK(vk_stream_submit(s));
        tu_download(&to, got + t * S * Hv, S * Hv * 4);
    }
    vk_stream_destroy(s);
    tu_download(&tds, st_got, S * S * Hv * 4);
    tu_assert_nmse("decode replay: outputs", ref, got, S * Hv * T, 1e-9);
    tu_assert_nmse("decode replay: delta state", dst, st_got, S * S * Hv, 1e-9);
    printf("decode replay %lld steps: nmse o %.2e state %.2e\n", (long long)T, tu_nmse(ref, got, S * Hv * T),
           tu_nmse(dst, st_got, S * S * Hv));
    tu_free(&tx); tu_free(&tw); tu_free(&tcs); tu_free(&tds); tu_free(&tu_); tu_free(&tal); tu_free(&tb);
    tu_free(&tdt); tu_free(&ta); tu_free(&tg); tu_free(&tbe); tu_free(&to);
    free(x); free(w); free(al); free(b); free(dt); free(a); free(cst); free(dst); free(u); free(g); free(be);
    free(ref); free(got); free(st_got); free(q); free(k); free(v);
}

static void test_delta_net_bad_input(void **state) {
    (void)state;
    mvk_tensor *q = tu_shape(MVK_TYPE_F32, 8, 2, 3, 1), *v = tu_shape(MVK_TYPE_F32, 8, 4, 3, 1), *v3 = tu_shape(MVK_TYPE_F32, 8, 3, 3, 1);
    mvk_tensor *g = tu_shape(MVK_TYPE_F32, 4, 3, 1, 1), *g2 = tu_shape(MVK_TYPE_F32, 4, 2, 1, 1);
    mvk_tensor *st = tu_shape(MVK_TYPE_F32, 8, 8, 4, 1), *st3 = tu_shape(MVK_TYPE_F32, 8, 8, 3, 1), *h = tu_shape(MVK_TYPE_F16, 8, 2, 3, 1);
    mvk_tensor *k7 = tu_shape(MVK_TYPE_F32, 7, 2, 3, 1), *hv = tu_shape(MVK_TYPE_F32, 4, 1, 1, 1), *hv3 = tu_shape(MVK_TYPE_F32, 3, 1, 1, 1);
    vk_stream *s = tu_begin();
    TU_REFUSES(vk_op_delta_net(s, v, q, k7, v, g, g, st, 0.35f), MOEVK_ERR_SHAPE, "k must");
    TU_REFUSES(vk_op_delta_net(s, v3, q, q, v3, g, g, st, 0.35f), MOEVK_ERR_SHAPE, "g must");
    TU_REFUSES(vk_op_delta_net(s, v, q, q, v, g2, g, st, 0.35f), MOEVK_ERR_SHAPE, "g must");
    TU_REFUSES(vk_op_delta_net(s, v, q, q, v, g, g, st3, 0.35f), MOEVK_ERR_SHAPE, "state");
    TU_REFUSES(vk_op_delta_net(s, v, h, q, v, g, g, st, 0.35f), MOEVK_ERR_UNSUPPORTED, NULL);
    TU_REFUSES(vk_op_delta_net(s, v, q, q, v, g, g, st, NAN), MOEVK_ERR_INVALID_ARG, "scale");
    TU_REFUSES(vk_op_delta_net(s, v, q, q, v, g, NULL, st, 0.35f), MOEVK_ERR_INVALID_ARG, "beta");
    TU_REFUSES(vk_op_gdn_gates(s, g, g, g, g2, hv, hv), MOEVK_ERR_SHAPE, "b must");
    TU_REFUSES(vk_op_gdn_gates(s, g, g, g, g, hv3, hv), MOEVK_ERR_SHAPE, "dt_bias");
    TU_REFUSES(vk_op_gdn_gates(s, g, g, g, g, hv, NULL), MOEVK_ERR_INVALID_ARG, NULL);
    TU_REFUSES(vk_op_gdn_gates(NULL, g, g, g, g, hv, hv), MOEVK_ERR_INVALID_ARG, NULL);
    tu_bad_end(s);
}

int main(void) {
    tu_seed(35);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gates, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_delta_net_shapes, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_delta_net_decode_steps, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_delta_net_conv_views, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_decode_replay, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_delta_net_bad_input, tu_test_setup, tu_test_teardown),
    };
    return tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
}
