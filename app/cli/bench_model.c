/* bench_model.c — `moevk bench model`: image encode ms, prefill tokens/s and
 * decode tokens/s of a GGUF pair, each the median of --reps runs (default 5)
 * after one warm-up. Prompts are random token ids (no tokenizer in the
 * loop); the image is a random normalised picture of --image-size pixels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops.h"
#include "cli_util.h"
#include "commands.h"
#include "moevk.h"

/* three significant digits for slow runs (a big model on lavapipe decodes at ~0.1 tokens/s) */
static int tps_decimals(double v) { return v < 1 ? 3 : v < 10 ? 2 : 1; }

static void usage(FILE *f) {
    fprintf(f, "usage: moevk bench model -m TEXT.gguf [--mmproj MMPROJ.gguf] [-p N_PROMPT] [-n N_GEN]\n"
               "                         [--image-size PX] [--reps N] [--kv-type f16|f32] [-c N_CTX] [--device-mem MIB]\n\n"
               "Reports medians over --reps runs (default 5) of: image encode ms (with --mmproj; a random\n"
               "PX x PX image, default 448), prefill tokens/s (-p random tokens, default 128) and decode\n"
               "tokens/s (-n greedy steps, default 64). Runs on the device moevk picks ($MOEVK_DEVICE).\n"
               "--device-mem sets the device-memory budget (default: $MOEVK_DEVICE_MEM, else the device's less\n"
               "10%%); the expert cache line gives the decode runs' hit rate, MiB streamed and ms stalled per token.\n"
               "-c sets the KV cache length (default: what the runs need).\n");
}

/* "expert cache: hit rate X%, Y MiB streamed per token, Z ms stalled per token"
 * over the decode runs, then the placement and the prediction accuracy. */
static void bench_cache_report(const moevk_model *m, const moevk_model_info *info) {
    moevk_cache_stats cs;
    if (moevk_cache_get_stats(m, &cs, NULL, 0) != MOEVK_OK || !info->n_expert) return;
    const moevk_cache_counters *d = &cs.decode;
    double tok = cs.decode_tokens ? (double)cs.decode_tokens : 1.0;
    double hit = d->uses ? 100.0 * (double)d->hits / (double)d->uses : 100.0;
    printf("expert cache: hit rate %.1f%%, %.2f MiB streamed per token, %.2f ms stalled per token\n", hit,
           (double)d->bytes_streamed / 1048576.0 / tok, d->stall_ms / tok);
    if (!cs.streaming) {
        printf("expert cache: all %d experts x %d layers resident (budget %.0f MiB, %.1f MiB in use)\n", info->n_expert,
               info->n_moe_layers, (double)cs.budget_bytes / 1048576.0, (double)cs.peak_bytes / 1048576.0);
        return;
    }
    printf("expert cache: %d of %d slots per layer (%.0f%% of %.1f MiB of experts), %s, prefetch %s, prediction %.1f%% right, "
           "budget %.0f MiB, peak %.1f MiB in use\n",
           cs.slots_per_layer, info->n_expert, 100.0 * cs.slots_per_layer / info->n_expert, (double)cs.expert_bytes / 1048576.0,
           cs.policy ? "LFU" : "LRU", cs.prefetch == 2 ? "auto" : cs.prefetch ? "on" : "off",
           d->pred_total ? 100.0 * (double)d->pred_hits / (double)d->pred_total : 0.0, (double)cs.budget_bytes / 1048576.0,
           (double)cs.peak_bytes / 1048576.0);
    const moevk_cache_counters *pf = &cs.prefill;
    double ptok = cs.prefill_tokens ? (double)cs.prefill_tokens : 1.0;
    printf("expert cache: decode %.2f copy batches and %.2f device submissions per token; prefill %.2f MiB streamed and "
           "%.2f ms stalled per prompt token in %.2f batches per prompt token\n",
           (double)d->fetch_batches / tok, (double)d->copy_submits / tok, (double)pf->bytes_streamed / 1048576.0 / ptok,
           pf->stall_ms / ptok, (double)pf->fetch_batches / ptok);
    moevk_cache_counters lc[256];
    int n = info->n_moe_layers < 256 ? info->n_moe_layers : 256;
    if (moevk_cache_get_stats(m, &cs, lc, (size_t)n) != MOEVK_OK) return;
    printf("expert cache per layer (hit %%, MiB/token, ms stalled/token):");
    for (int l = 0; l < n; l++)
        printf(" %d: %.0f%% %.2f %.2f%s", l, lc[l].uses ? 100.0 * (double)lc[l].hits / (double)lc[l].uses : 100.0,
               (double)lc[l].bytes_streamed / 1048576.0 / tok, lc[l].stall_ms / tok, l + 1 < n ? "," : "\n");
}

int bench_model(int argc, char **argv) {
    moevk_model_params mp = moevk_model_default_params();
    long n_prompt = 128, n_gen = 64, reps = 5, px = 448;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED() do { if (!v) { fprintf(stderr, "moevk bench model: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(); mp.model_path = v; }
        else if (!strcmp(a, "--mmproj")) { NEED(); mp.mmproj_path = v; }
        else if (!strcmp(a, "-p")) { NEED(); if (cli_int(a, v, 1, 1 << 16, &n_prompt)) return 2; }
        else if (!strcmp(a, "-n")) { NEED(); if (cli_int(a, v, 1, 1 << 16, &n_gen)) return 2; }
        else if (!strcmp(a, "--reps")) { NEED(); if (cli_int(a, v, 1, 1000, &reps)) return 2; }
        else if (!strcmp(a, "--image-size")) { NEED(); if (cli_int(a, v, 32, 8192, &px)) return 2; }
        else if (!strcmp(a, "--kv-type")) { NEED(); mp.kv_type = !strcmp(v, "f32") ? MOEVK_KV_F32 : MOEVK_KV_F16; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { NEED(); long x; if (cli_int(a, v, 1, 1 << 24, &x)) return 2; mp.n_ctx = (int)x; }
        else if (!strcmp(a, "--device-mem")) { NEED(); long x; if (cli_int(a, v, 1, 1L << 30, &x)) return 2; mp.device_mem_mib = (uint64_t)x; }
        else { fprintf(stderr, "moevk bench model: unknown option '%s'\n", a); usage(stderr); return 2; }
#undef NEED
    }
    if (!mp.model_path) { usage(stderr); return 2; }
    mp.progress = cli_progress;
    /* the KV cache the runs need (not more: the scratch reserve of a device-memory budget grows with n_ctx) */
    long need = n_prompt > 8 + n_gen + 1 ? n_prompt : 8 + n_gen + 1;
    if (mp.mmproj_path && (px / 32) * (px / 32) + 2 > need) need = (px / 32) * (px / 32) + 2; /* the image prompt must fit too */
    if (!mp.n_ctx) mp.n_ctx = (int)(need + 16);
    else if (mp.n_ctx < need) { fprintf(stderr, "moevk bench model: -c %d is below the %ld tokens the runs need\n", mp.n_ctx, need); return 2; }
    moevk_model *m = NULL;
    moevk_status s = moevk_model_load(&mp, &m);
    if (s != MOEVK_OK) { cli_error("bench model", s); return 1; }
    moevk_model_info info;
    moevk_model_get_info(m, &info);
    char wide[64] = "";
    if (info.weight_widened)
        snprintf(wide, sizeof wide, " (%d q6_K as q6_K8, +%.1f MiB)", info.weight_widened, (double)info.weight_widened_bytes / 1048576.0);
    printf("model: %s (%s), %d layers, n_embd %d, %d experts top-%d, vocab %d, weights %.1f MiB%s%s\ndevice: %s\n", info.name,
           info.arch, info.n_layer, info.n_embd, info.n_expert, info.n_expert_used, info.n_vocab,
           (double)info.weight_bytes / 1048576.0, info.weight_ilv ? " (rows interleaved)" : "", wide, info.device);
    int rc = 0;
    int32_t *tok = malloc((size_t)(n_prompt + 8) * sizeof *tok);
    int32_t *greedy = malloc((size_t)(n_gen + 1) * sizeof *greedy);
    double *enc = calloc((size_t)reps, sizeof *enc), *pre = calloc((size_t)reps, sizeof *pre), *dec = calloc((size_t)reps, sizeof *dec);
    float *pix = NULL;
    int32_t *itok = NULL;
    if (!tok || !greedy || !enc || !pre || !dec) { fprintf(stderr, "out of memory\n"); rc = 1; goto out; }
    uint64_t rng = 0x1234567;
    for (long i = 0; i < n_prompt + 8; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        tok[i] = (int32_t)((rng >> 33) % (uint64_t)(info.n_vocab > 256 ? 256 : info.n_vocab)); /* byte tokens: never special */
    }
    moevk_timings t;
    if (info.has_vision) {
        size_t n = 0;
        int32_t pad = -1;
        if (moevk_tokenize(m, "<|image_pad|>", 1, &pad, 1, &n) != MOEVK_OK || n != 1) {
            fprintf(stderr, "moevk bench model: the vocabulary has no <|image_pad|> token\n");
            rc = 1;
            goto out;
        }
        long side = px / 32 * 32, n_img = (side / 32) * (side / 32);
        pix = malloc((size_t)(3 * side * side) * sizeof *pix);
        itok = malloc((size_t)(n_img + 2) * sizeof *itok);
        if (!pix || !itok) { rc = 1; goto out; }
        for (long i = 0; i < 3 * side * side; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            pix[i] = (float)((rng >> 40) % 2001) / 1000.0f - 1.0f;
        }
        itok[0] = tok[0];
        for (long i = 0; i < n_img; i++) itok[1 + i] = pad;
        itok[n_img + 1] = tok[1];
        for (long r = -1; r < reps; r++) {
            moevk_eval_params ep = {.tokens = itok, .n_tokens = (int)n_img + 2, .pixels = pix, .pixels_w = (int)side, .pixels_h = (int)side};
            if ((s = moevk_eval(m, &ep)) != MOEVK_OK) { cli_error("bench model", s); rc = 1; goto out; }
            moevk_get_timings(m, &t);
            if (r >= 0) enc[r] = t.image_encode_ms;
        }
        printf("image encode: %ldx%ld px, %ld image tokens: %.1f ms (median of %ld)\n", side, side, n_img, bench_median(enc, (int)reps), reps);
    }
    for (long r = -1; r < reps; r++) {
        moevk_eval_params ep = {.tokens = tok, .n_tokens = (int)n_prompt};
        if ((s = moevk_eval(m, &ep)) != MOEVK_OK) { cli_error("bench model", s); rc = 1; goto out; }
        moevk_get_timings(m, &t);
        if (r >= 0) pre[r] = 1e3 * (double)n_prompt / t.prefill_ms;
    }
    double v = bench_median(pre, (int)reps);
    printf("prefill: %ld tokens: %.*f tokens/s (median of %ld)\n", n_prompt, tps_decimals(v), v, reps);
    const moevk_timings tp = t; /* the last prefill's device work */
    moevk_cache_reset_stats(m); /* the cache line covers the decode runs */
    for (long r = -1; r < reps; r++) {
        moevk_eval_params ep = {.tokens = tok, .n_tokens = 8, .n_greedy = (int)n_gen + 1, .greedy_tokens = greedy};
        if ((s = moevk_eval(m, &ep)) != MOEVK_OK) { cli_error("bench model", s); rc = 1; goto out; }
        moevk_get_timings(m, &t);
        if (r >= 0) dec[r] = 1e3 * (double)n_gen / t.decode_ms;
    }
    v = bench_median(dec, (int)reps);
    printf("decode: %ld tokens: %.*f tokens/s (median of %ld)\n", n_gen, tps_decimals(v), v, reps);
    printf("device work: prefill of %ld tokens %d dispatches, %d barriers, %d submits; decode step %d dispatches, "
           "%d barriers, %d submits\n", n_prompt, tp.prefill_dispatches, tp.prefill_barriers, tp.prefill_submits,
           t.decode_dispatches, t.decode_barriers, t.decode_submits);
    bench_cache_report(m, &info);
out:
    free(tok); free(greedy); free(enc); free(pre); free(dec); free(pix); free(itok);
    moevk_model_free(m);
    return rc;
}
