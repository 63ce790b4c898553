/* test_expert_cache.c — the device-memory budget and the expert cache:
 * results never depend on the budget. At every budget from the smallest
 * that works (top-k slots per layer) up to "all experts resident", the
 * logits at every prompt position, the greedy tokens and the routing of a
 * generation must be bit-identical to the fully resident run, on the
 * embedded model (image + text, vision tower, prefill rounds, decode) and
 * on a synthetic model whose slot level is over 1 MiB (so each MiB budget
 * lands on exactly the slot count it targets). A budget below the minimum
 * is OUT_OF_DEVICE_MEMORY naming both sizes; the allocator refuses blocks
 * past the budget and gives them back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moevk.h"
#include "test_util.h"

#define MAXTOK 64
#define NGREEDY 12

static char g_src[4096];
static char g_syn_dir[256];
static int g_syn_ok;
static int g_unbatched; /* MOEVK_XC_BATCH=0 set for the run being checked */

/* MOEVK_FORCE_STAGING=1: uploads go through the staging buffer (submissions to count) */
static int forced_staging(void) {
    const char *v = getenv("MOEVK_FORCE_STAGING");
    return v && v[0] == '1';
}

typedef struct run_out {
    int n_vocab, n_tok, n_layer, k;
    float *logits;            /* [n_tok][n_vocab] */
    int32_t greedy[NGREEDY];
    char text[512];
    int32_t *route_ids;       /* generate: [n_routes][n_layer*k] */
    float *route_w;
    size_t n_routes;
    moevk_cache_stats cs;
} run_out;

static void run_free(run_out *r) {
    free(r->logits);
    free(r->route_ids);
    free(r->route_w);
    memset(r, 0, sizeof *r);
}

static moevk_status load(const char *text, const char *mmproj, uint64_t mib, moevk_model **m) {
    moevk_model_params p = moevk_model_default_params();
    p.model_path = text;
    p.mmproj_path = mmproj;
    p.validation = 1;
    p.device_mem_mib = mib;
    return moevk_model_load(&p, m);
}

/* eval (text prompt: logits everywhere + greedy), then generate (image if
 * any) with its routing, then the cache counters. */
static void run(moevk_model *m, const char *image, run_out *o) {
    moevk_model_info info;
    TU_OK(moevk_model_get_info(m, &info));
    o->n_vocab = info.n_vocab;
    o->n_layer = info.n_moe_layers;
    o->k = info.n_expert_used;
    int32_t tok[MAXTOK];
    size_t n = 0;
    TU_OK(moevk_tokenize(m, "<|im_start|>user\nWhat is in the picture? Three umbrellas and a pear.<|im_end|>\n<|im_start|>assistant\n",
                         1, tok, MAXTOK, &n));
    o->n_tok = (int)n;
    o->logits = malloc(n * (size_t)info.n_vocab * sizeof *o->logits);
    assert_non_null(o->logits);
    moevk_eval_params ep = {.tokens = tok, .n_tokens = (int)n, .logits = o->logits, .logits_cap = n * (size_t)info.n_vocab,
                            .n_greedy = NGREEDY, .greedy_tokens = o->greedy};
    TU_OK(moevk_eval(m, &ep));
    moevk_gen_params gp = moevk_gen_default_params();
    gp.image_path = image;
    gp.prompt = image ? NULL : "Tell me about experts.";
    gp.n_predict = 10;
    TU_OK(moevk_generate(m, &gp));
    TU_OK(moevk_get_text(m, o->text, sizeof o->text, NULL));
    o->n_routes = moevk_routing_count(m);
    size_t S = (size_t)o->n_layer * (size_t)o->k;
    o->route_ids = malloc(o->n_routes * S * sizeof *o->route_ids);
    o->route_w = malloc(o->n_routes * S * sizeof *o->route_w);
    assert_non_null(o->route_ids);
    assert_non_null(o->route_w);
    for (size_t i = 0; i < o->n_routes; i++) {
        moevk_token_route r;
        TU_OK(moevk_routing_get(m, i, &r, o->route_ids + i * S, o->route_w + i * S, S));
    }
    TU_OK(moevk_cache_get_stats(m, &o->cs, NULL, 0));
}

static void expect_same(const run_out *ref, const run_out *got, uint64_t mib) {
    assert_int_equal(ref->n_tok, got->n_tok);
    size_t nl = (size_t)ref->n_tok * (size_t)ref->n_vocab;
    for (size_t i = 0; i < nl; i++)
        if (memcmp(&ref->logits[i], &got->logits[i], sizeof(float)))
            fail_msg("budget %llu MiB (%d slots/layer): logit %zu (pos %zu) is %.9g, resident run %.9g", (unsigned long long)mib,
                     got->cs.slots_per_layer, i, i / (size_t)ref->n_vocab, got->logits[i], ref->logits[i]);
    for (int i = 0; i < NGREEDY; i++)
        if (ref->greedy[i] != got->greedy[i])
            fail_msg("budget %llu MiB: greedy token %d is %d, resident run %d", (unsigned long long)mib, i, got->greedy[i], ref->greedy[i]);
    assert_string_equal(ref->text, got->text);
    assert_int_equal(ref->n_routes, got->n_routes);
    size_t S = (size_t)ref->n_layer * (size_t)ref->k * ref->n_routes;
    if (memcmp(ref->route_ids, got->route_ids, S * sizeof(int32_t)) || memcmp(ref->route_w, got->route_w, S * sizeof(float)))
        fail_msg("budget %llu MiB: the routing of the generation differs from the resident run", (unsigned long long)mib);
}

/* Loads at `mib`, runs, compares with ref; returns the slots per layer. */
static int check_budget_stats(const char *text, const char *mmproj, const char *image, uint64_t mib, const run_out *ref,
                              moevk_cache_stats *cs_out) {
    moevk_model *m = NULL;
    moevk_status s = load(text, mmproj, mib, &m);
    if (s != MOEVK_OK) fail_msg("budget %llu MiB: %s: %s", (unsigned long long)mib, moevk_status_str(s), moevk_last_error());
    run_out o = {0};
    run(m, image, &o);
    expect_same(ref, &o, mib);
    int S = o.cs.slots_per_layer;
    if (cs_out) *cs_out = o.cs;
    if (o.cs.streaming) {
        /* something moved, the budget held, and the counters add up */
        assert_true(o.cs.decode.uses > 0);
        assert_int_equal(o.cs.decode.uses, o.cs.decode.hits + o.cs.decode.misses);
        assert_int_equal(o.cs.decode.uses, (uint64_t)o.n_layer * (uint64_t)o.k * o.cs.decode_tokens);
        assert_true(o.cs.prefill.bytes_streamed > 0);
        assert_true(o.cs.peak_bytes <= o.cs.budget_bytes);
        assert_true(o.cs.decode.pred_total > 0);
        assert_true(o.cs.decode.pred_hits <= o.cs.decode.pred_total);
        /* copies go a layer at a time: at most one batch per resolve and one per prefetch (decode: 2 per layer
         * and step), and a prefill round's misses share a batch; MOEVK_XC_BATCH=0: one batch per expert
         * (test_unbatched_copies compares the two) */
        const moevk_cache_counters *d = &o.cs.decode, *p = &o.cs.prefill;
        if (g_unbatched) {
            assert_int_equal(d->fetch_batches, d->misses + d->prefetches);
            assert_int_equal(p->fetch_batches, p->misses + p->prefetches);
        } else {
            assert_true(d->fetch_batches <= 2 * (uint64_t)o.n_layer * o.cs.decode_tokens);
            assert_true(p->fetch_batches > 0 && p->misses + p->prefetches > p->fetch_batches);
        }
        if (forced_staging()) /* every batch that copied something submitted at least once */
            assert_true(d->copy_submits >= d->fetch_batches && p->copy_submits >= p->fetch_batches);
        moevk_model_info mi;
        TU_OK(moevk_model_get_info(m, &mi));
        uint8_t mask[256];
        assert_true(mi.n_expert <= 256);
        int resident = 0;
        TU_OK(moevk_cache_resident(m, 0, mask, sizeof mask));
        for (int e = 0; e < mi.n_expert; e++) resident += mask[e] == 1;
        assert_true(resident >= mi.n_expert_used && resident <= S); /* the last step's experts are there */
        printf("  budget %3llu MiB: %d slots/layer, decode hit rate %.1f%%, %.3f MiB/token, prediction %.1f%%, peak %.1f MiB\n",
               (unsigned long long)mib, S, 100.0 * (double)o.cs.decode.hits / (double)o.cs.decode.uses,
               (double)o.cs.decode.bytes_streamed / 1048576.0 / (double)o.cs.decode_tokens,
               100.0 * (double)o.cs.decode.pred_hits / (double)o.cs.decode.pred_total, (double)o.cs.peak_bytes / 1048576.0);
    }
    run_free(&o);
    moevk_model_info info;
    moevk_model_get_info(m, &info);
    assert_int_equal(info.validation_messages, 0);
    moevk_model_free(m);
    return S;
}

static int check_budget(const char *text, const char *mmproj, const char *image, uint64_t mib, const run_out *ref) {
    return check_budget_stats(text, mmproj, image, mib, ref, NULL);
}

/* The smallest budget that works, from the error of one that cannot. */
static uint64_t minimum_mib(const char *text, const char *mmproj) {
    moevk_model *m = (moevk_model *)0x1;
    moevk_status s = load(text, mmproj, 1, &m);
    assert_int_equal(s, MOEVK_ERR_OUT_OF_DEVICE_MEMORY);
    assert_null(m);
    const char *msg = moevk_last_error();
    const char *p = strstr(msg, "minimum of ");
    if (!p || !strstr(msg, "resident set is") || !strstr(msg, "expert slots per layer"))
        fail_msg("the error does not give both sizes: %s", msg);
    double need = atof(p + strlen("minimum of "));
    assert_true(need > 1.0);
    return (uint64_t)ceil(need);
}

static void budgets(const char *text, const char *mmproj, const char *image, int exact) {
    run_out ref = {0};
    moevk_model *m = NULL;
    TU_OK(load(text, mmproj, 0, &m)); /* default budget: everything resident */
    run(m, image, &ref);
    moevk_model_info info;
    moevk_model_get_info(m, &info);
    moevk_model_free(m);
    assert_int_equal(ref.cs.streaming, 0);
    uint64_t lo = minimum_mib(text, mmproj);
    /* one MiB less than the minimum is refused */
    m = (moevk_model *)0x1;
    assert_int_equal(load(text, mmproj, lo - 1, &m), MOEVK_ERR_OUT_OF_DEVICE_MEMORY);
    assert_null(m);
    int first = 1, seen_k = 0;
    for (uint64_t mib = lo; mib < lo + 64; mib++) {
        int S = check_budget(text, mmproj, image, mib, &ref);
        if (first) {
            /* the minimum holds top-k per layer (one more when a MiB holds more than one slot per layer) */
            if (exact) assert_int_equal(S, info.n_expert_used);
            else assert_in_range(S, info.n_expert_used, info.n_expert_used + 1);
            first = 0;
        }
        /* top-k per layer seen (for a model whose MiB holds several slots a layer, the whole-MiB minimum may
         * already hold k + 1: that is the fewest slots a budget in MiB can give) */
        seen_k |= S == info.n_expert_used || (!exact && mib == lo && S == info.n_expert_used + 1);
        if (S >= info.n_expert) break; /* all resident again */
        mib++; /* every other MiB: still several slot counts per model, and a bounded run time (ASan in CI) */
    }
    assert_true(seen_k);
    run_free(&ref);
}

static void test_embedded_model_budgets(void **state) {
    (void)state;
    char text[4300], mmproj[4300], image[4300];
    snprintf(text, sizeof text, "%s/assets/models/moevk-tiny.gguf", g_src);
    snprintf(mmproj, sizeof mmproj, "%s/assets/models/moevk-tiny-mmproj.gguf", g_src);
    snprintf(image, sizeof image, "%s/assets/samples/03-scene-two-orange-circles.png", g_src);
    budgets(text, mmproj, image, 0);
}

static void test_synthetic_model_budgets(void **state) {
    (void)state;
    if (!g_syn_ok) TU_SKIP_MISSING("the synthetic model could not be generated (tools/gen_synthetic_model.py: python3 with numpy)");
    char text[400];
    snprintf(text, sizeof text, "%s/text.gguf", g_syn_dir);
    budgets(text, NULL, NULL, 1);
}

/* MOEVK_XC_BATCH=0 (one upload batch per expert: the baseline the batched
 * copies are compared with, docs/EXPERT_CACHE.md) gives the same results,
 * one batch per fetched expert, and more batches (under staging: more
 * submissions) than the batched default on the same work. */
static void test_unbatched_copies(void **state) {
    (void)state;
    if (!g_syn_ok) TU_SKIP_MISSING("the synthetic model could not be generated (tools/gen_synthetic_model.py: python3 with numpy)");
    char text[400];
    snprintf(text, sizeof text, "%s/text.gguf", g_syn_dir);
    run_out ref = {0};
    moevk_model *m = NULL;
    TU_OK(load(text, NULL, 0, &m));
    run(m, NULL, &ref);
    moevk_model_free(m);
    uint64_t lo = minimum_mib(text, NULL);
    for (uint64_t mib = lo; mib <= lo + 3; mib += 3) {
        moevk_cache_stats batched, single;
        check_budget_stats(text, NULL, NULL, mib, &ref, &batched);
        setenv("MOEVK_XC_BATCH", "0", 1);
        g_unbatched = 1;
        check_budget_stats(text, NULL, NULL, mib, &ref, &single);
        g_unbatched = 0;
        unsetenv("MOEVK_XC_BATCH");
        /* the same work (the same results, so the same misses), fewer batches */
        assert_int_equal(batched.prefill.misses, single.prefill.misses);
        assert_int_equal(batched.decode.misses + batched.decode.prefetches, single.decode.misses + single.decode.prefetches);
        assert_true(batched.prefill.fetch_batches < single.prefill.fetch_batches);
        assert_true(batched.decode.fetch_batches <= single.decode.fetch_batches);
        assert_true(batched.prefill.copy_submits <= single.prefill.copy_submits);
        if (forced_staging()) assert_true(batched.prefill.copy_submits < single.prefill.copy_submits);
        printf("  budget %3llu MiB: prefill %llu experts fetched in %llu batches (%llu one by one), %llu submissions "
               "(%llu)\n", (unsigned long long)mib, (unsigned long long)batched.prefill.misses,
               (unsigned long long)batched.prefill.fetch_batches, (unsigned long long)single.prefill.fetch_batches,
               (unsigned long long)batched.prefill.copy_submits, (unsigned long long)single.prefill.copy_submits);
    }
    run_free(&ref);
}

static void test_bad_budget_env(void **state) {
    (void)state;
    char text[4300];
    snprintf(text, sizeof text, "%s/assets/models/moevk-tiny.gguf", g_src);
    setenv("MOEVK_DEVICE_MEM", "12abc", 1);
    moevk_model *m = (moevk_model *)0x1;
    assert_int_equal(load(text, NULL, 0, &m), MOEVK_ERR_INVALID_ARG);
    assert_null(m);
    assert_non_null(strstr(moevk_last_error(), "MOEVK_DEVICE_MEM"));
    setenv("MOEVK_DEVICE_MEM", "2", 1); /* the environment applies when the parameter is 0 */
    assert_int_equal(load(text, NULL, 0, &m), MOEVK_ERR_OUT_OF_DEVICE_MEMORY);
    unsetenv("MOEVK_DEVICE_MEM");
}

/* The allocator itself: blocks past the budget are refused and given back. */
static void test_allocator_budget(void **state) {
    (void)state;
    vk_ctx_params cp = {.validation = 1, .device_mem = 8ull << 20};
    vk_ctx *ctx = NULL;
    moevk_status s = vk_ctx_create(&cp, &ctx);
    if (s == MOEVK_ERR_NO_VULKAN || s == MOEVK_ERR_NO_DEVICE) TU_SKIP_NA("no Vulkan device: %s", moevk_last_error());
    TU_OK(s);
    assert_int_equal(vk_ctx_budget(ctx), 8ull << 20);
    assert_true(vk_ctx_block_size(ctx) <= (8ull << 20) / 8);
    vk_buffer *a = NULL, *b = NULL;
    TU_OK(vk_buffer_create(ctx, 6ull << 20, VK_MEM_DEVICE, &a));
    assert_true(vk_ctx_committed(ctx) >= 6ull << 20);
    s = vk_buffer_create(ctx, 4ull << 20, VK_MEM_DEVICE, &b);
    assert_int_equal(s, MOEVK_ERR_OUT_OF_DEVICE_MEMORY);
    assert_null(b);
    assert_non_null(strstr(moevk_last_error(), "budget"));
    vk_buffer_destroy(a);
    assert_int_equal(vk_ctx_committed(ctx), 0);
    TU_OK(vk_buffer_create(ctx, 4ull << 20, VK_MEM_DEVICE, &b)); /* the room came back */
    vk_buffer_destroy(b);
    assert_true(vk_ctx_committed_peak(ctx) <= 8ull << 20);
    assert_int_equal(vk_ctx_validation_count(ctx), 0);
    vk_ctx_destroy(ctx);
}

int main(void) {
    const char *src = getenv("MOEVK_SOURCE_DIR");
    snprintf(g_src, sizeof g_src, "%s", src ? src : ".");
    /* a synthetic text model: 2 layers x 8 experts top-2, d 256, expert FFN
     * 512, f16 -> one slot per layer is 1.5 MiB over both layers */
    snprintf(g_syn_dir, sizeof g_syn_dir, "/tmp/moevk-xcache-XXXXXX");
    if (mkdtemp(g_syn_dir)) {
        char cmd[8800];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 %s/tools/gen_synthetic_model.py --preset tiny --out-prefix %s/ --dtype f16 --layers 2 "
                 "--experts 8 --top-k 2 --embd 256 --ff-exp 512 --text-only >/dev/null",
                 g_src, g_syn_dir);
        g_syn_ok = system(cmd) == 0;
        if (!g_syn_ok) fprintf(stderr, "SKIP (synthetic model): tools/gen_synthetic_model.py failed (python3 with numpy needed)\n");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_budget),
        cmocka_unit_test(test_bad_budget_env),
        cmocka_unit_test(test_synthetic_model_budgets),
        cmocka_unit_test(test_unbatched_copies),
        cmocka_unit_test(test_embedded_model_budgets),
    };
    int rc = tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_syn_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_syn_dir);
    return rc;
}
