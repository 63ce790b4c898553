/* cmd_eval.c — `moevk eval`: the verification interface (exact contract in
 * issue 3 / docs/CLI.md): evaluates prompt token ids, optionally with an
 * image, and dumps the vision rows, logits, routing and greedy tokens as raw
 * little-endian arrays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "moevk.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: moevk eval -m TEXT.gguf [--mmproj MMPROJ.gguf]\n"
            "                  [--image IMG | --pixels FILE.f32 --pixels-hw H,W]\n"
            "                  --tokens FILE.i32\n"
            "                  [--dump-vision FILE.f32] [--dump-logits FILE.f32]\n"
            "                  [--dump-routing-ids FILE.i32] [--dump-routing-weights FILE.f32]\n"
            "                  [--greedy N --dump-tokens FILE.i32] [--kv-type f16|f32]\n"
            "                  [--image-min-tokens N] [--image-max-tokens N] [--validation]\n"
            "                  [--device-mem MIB] [-ub N] [--layers]\n\n"
            "  --pixels         float32 [3][H][W], already normalised (bypasses image preprocessing)\n"
            "  --tokens         int32 LE prompt ids; a run of <|image_pad|> ids marks where image embeddings go\n"
            "  --dump-vision    float32 [n_image_tokens][n_embd*(1+n_deepstack)] (merger, then DeepStack)\n"
            "  --dump-logits    float32 [n_prompt][n_vocab], logits at every prompt position\n"
            "  --dump-routing-* [n_moe_layers][n_prompt][k], ascending layer, then position, then rank\n"
            "  --greedy N       N greedy tokens after the prompt, written with --dump-tokens\n"
            "  --kv-type        KV cache element type (default f16)\n"
            "  --validation     enable the Khronos validation layer; any message makes eval fail\n"
            "  --device-mem     device-memory budget in MiB (default: $MOEVK_DEVICE_MEM, else the device's less 10%%);\n"
            "                   experts that do not fit stream from the GGUF, with the same results\n"
            "  -ub, --ubatch-size  prefill micro-batch in tokens (default 512): the prompt is prefilled that many\n"
            "                   tokens at a time, with the same results\n"
            "  --layers         print each MoE layer (a routing row) before the eval: its layer, its token mixer and\n"
            "                   what runs beside its experts (moevk_moe_layer_info, moevk_moe_layer_ffn)\n");
}

int cmd_eval(int argc, char **argv) {
    const char *model = NULL, *mmproj = NULL, *image = NULL, *pixels = NULL, *tokens = NULL;
    const char *d_vis = NULL, *d_log = NULL, *d_rid = NULL, *d_rw = NULL, *d_tok = NULL;
    long greedy = 0, hh = 0, ww = 0, min_t = 0, max_t = 0, dmem = 0, ubatch = 0;
    moevk_kv_type kv = MOEVK_KV_F16;
    int validation = 0, layers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED() do { if (!v) { fprintf(stderr, "moevk eval: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(); model = v; }
        else if (!strcmp(a, "--mmproj")) { NEED(); mmproj = v; }
        else if (!strcmp(a, "--image")) { NEED(); image = v; }
        else if (!strcmp(a, "--pixels")) { NEED(); pixels = v; }
        else if (!strcmp(a, "--pixels-hw")) {
            NEED();
            if (sscanf(v, "%ld,%ld", &hh, &ww) != 2 || hh <= 0 || ww <= 0 || hh > 65536 || ww > 65536) {
                fprintf(stderr, "moevk eval: --pixels-hw expects H,W (positive), got '%s'\n", v);
                return 2;
            }
        }
        else if (!strcmp(a, "--tokens")) { NEED(); tokens = v; }
        else if (!strcmp(a, "--validation")) validation = 1;
        else if (!strcmp(a, "--layers")) layers = 1;
        else if (!strcmp(a, "--device-mem")) { NEED(); if (cli_int(a, v, 1, 1L << 30, &dmem)) return 2; }
        else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) { NEED(); if (cli_int(a, v, 1, 1L << 24, &ubatch)) return 2; }
        else if (!strcmp(a, "--dump-vision")) { NEED(); d_vis = v; }
        else if (!strcmp(a, "--dump-logits")) { NEED(); d_log = v; }
        else if (!strcmp(a, "--dump-routing-ids")) { NEED(); d_rid = v; }
        else if (!strcmp(a, "--dump-routing-weights")) { NEED(); d_rw = v; }
        else if (!strcmp(a, "--dump-tokens")) { NEED(); d_tok = v; }
        else if (!strcmp(a, "--greedy")) { NEED(); if (cli_int(a, v, 0, 1 << 20, &greedy)) return 2; }
        else if (!strcmp(a, "--image-min-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &min_t)) return 2; }
        else if (!strcmp(a, "--image-max-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &max_t)) return 2; }
        else if (!strcmp(a, "--kv-type")) {
            NEED();
            if (!strcmp(v, "f16")) kv = MOEVK_KV_F16;
            else if (!strcmp(v, "f32")) kv = MOEVK_KV_F32;
            else { fprintf(stderr, "moevk eval: --kv-type must be f16 or f32, got '%s'\n", v); return 2; }
        }
        else { fprintf(stderr, "moevk eval: unknown option '%s'\n\n", a); usage(stderr); return 2; }
#undef NEED
    }
    if (!model || !tokens) { fprintf(stderr, "moevk eval: -m and --tokens are required\n\n"); usage(stderr); return 2; }
    if (image && pixels) { fprintf(stderr, "moevk eval: give --image or --pixels, not both\n"); return 2; }
    if (pixels && (!hh || !ww)) { fprintf(stderr, "moevk eval: --pixels needs --pixels-hw H,W\n"); return 2; }
    if ((image || pixels) && !mmproj) { fprintf(stderr, "moevk eval: an image needs --mmproj\n"); return 2; }
    if (greedy && !d_tok) { fprintf(stderr, "moevk eval: --greedy needs --dump-tokens FILE\n"); return 2; }

    size_t tsz = 0, psz = 0;
    int32_t *tok = cli_read_file(tokens, &tsz);
    if (!tok) return 1;
    if (tsz == 0 || tsz % 4) {
        fprintf(stderr, "moevk eval: %s: %zu bytes is not a non-empty int32 array\n", tokens, tsz);
        free(tok);
        return 1;
    }
    float *px = NULL;
    if (pixels) {
        px = cli_read_file(pixels, &psz);
        if (!px) { free(tok); return 1; }
        if (psz != (size_t)(3 * hh * ww * 4)) {
            fprintf(stderr, "moevk eval: %s holds %zu bytes but 3x%ldx%ld float32 needs %ld\n", pixels, psz, hh, ww, 12 * hh * ww);
            free(tok); free(px);
            return 1;
        }
    }
    moevk_model_params mp = moevk_model_default_params();
    {   /* the KV cache must hold the prompt and the greedy tokens (a 4096-token image alone fills the default 4096) */
        size_t need = tsz / 4 + (size_t)greedy;
        if (need > 4096) mp.n_ctx = need < (size_t)1 << 30 ? (int)need : 1 << 30;
    }
    mp.model_path = model;
    mp.mmproj_path = mmproj;
    mp.kv_type = kv;
    mp.validation = validation;
    mp.device_mem_mib = (uint64_t)dmem;
    mp.n_ubatch = (int)ubatch;
    mp.progress = cli_progress;
    moevk_model *m = NULL;
    moevk_status s = moevk_model_load(&mp, &m);
    if (s != MOEVK_OK) { cli_error("eval", s); free(tok); free(px); return 1; }
    moevk_model_info info;
    moevk_model_get_info(m, &info);
    for (int l = 0; layers && l < info.n_moe_layers; l++) {
        static const char *const mixers[] = {"attention", "Gated DeltaNet", "sliding-window attention"};
        static const char *const ffns[] = {"the routed experts", "the routed experts and a shared expert",
                                           "the routed experts beside a dense GeGLU MLP"};
        int il = -1;
        moevk_mixer mx = MOEVK_MIXER_ATTENTION;
        moevk_moe_ffn fx = MOEVK_FFN_EXPERTS;
        if (moevk_moe_layer_info(m, l, &il, &mx) != MOEVK_OK || moevk_moe_layer_ffn(m, l, &fx) != MOEVK_OK ||
            (unsigned)mx > 2 || (unsigned)fx > 2) {
            cli_error("eval", MOEVK_ERR_INTERNAL);
            free(tok); free(px); moevk_model_free(m);
            return 1;
        }
        printf("MoE layer %d: layer %d, %s, %s\n", l, il, mixers[mx], ffns[fx]);
    }
    int n = (int)(tsz / 4);
    size_t n_out = (size_t)info.n_embd * (size_t)(1 + info.n_deepstack);
    size_t V = (size_t)info.n_vocab, R = (size_t)info.n_moe_layers * (size_t)n * (size_t)info.n_expert_used;
    moevk_eval_params ep = {0};
    ep.tokens = tok;
    ep.n_tokens = n;
    ep.pixels = px;
    ep.pixels_w = (int)ww;
    ep.pixels_h = (int)hh;
    ep.image_path = image;
    ep.image_min_tokens = (int)min_t;
    ep.image_max_tokens = (int)max_t;
    /* vision rows: at most one per prompt token */
    ep.vision_cap = d_vis ? (size_t)n * n_out : 0;
    ep.vision_out = d_vis ? malloc(ep.vision_cap * 4 + 4) : NULL;
    ep.logits_cap = d_log ? (size_t)n * V : 0;
    ep.logits = d_log ? malloc(ep.logits_cap * 4 + 4) : NULL;
    ep.routing_cap = (d_rid || d_rw) ? R : 0;
    ep.routing_ids = d_rid ? malloc(R * 4 + 4) : NULL;
    ep.routing_weights = d_rw ? malloc(R * 4 + 4) : NULL;
    ep.n_greedy = (int)greedy;
    ep.greedy_tokens = greedy ? malloc((size_t)greedy * 4) : NULL;
    int rc = 0;
    if ((d_vis && !ep.vision_out) || (d_log && !ep.logits) || (d_rid && !ep.routing_ids) || (d_rw && !ep.routing_weights) ||
        (greedy && !ep.greedy_tokens)) {
        fprintf(stderr, "moevk eval: out of host memory\n");
        rc = 1;
    } else if ((s = moevk_eval(m, &ep)) != MOEVK_OK) {
        cli_error("eval", s);
        rc = 1;
    } else {
        if (d_vis && cli_write_file(d_vis, ep.vision_out, (size_t)ep.n_image_tokens * n_out * 4)) rc = 1;
        if (d_log && cli_write_file(d_log, ep.logits, (size_t)n * V * 4)) rc = 1;
        if (d_rid && cli_write_file(d_rid, ep.routing_ids, R * 4)) rc = 1;
        if (d_rw && cli_write_file(d_rw, ep.routing_weights, R * 4)) rc = 1;
        if (d_tok && cli_write_file(d_tok, ep.greedy_tokens, (size_t)greedy * 4)) rc = 1;
        moevk_timings t;
        moevk_get_timings(m, &t);
        fprintf(stderr, "eval: %d tokens (%d image), image encode %.1f ms, prefill %.1f ms, %d greedy tokens in %.1f ms\n", n,
                ep.n_image_tokens, t.image_encode_ms, t.prefill_ms, (int)greedy, t.decode_ms);
        moevk_model_get_info(m, &info);
        if (info.weight_ilv) fprintf(stderr, "eval: quantised weights stored with rows interleaved by %u\n", info.weight_ilv);
        if (info.weight_widened)
            fprintf(stderr, "eval: %d q6_K matrices stored as q6_K8 (+%.1f MiB)\n", info.weight_widened,
                    (double)info.weight_widened_bytes / 1048576.0);
        if (info.validation_messages) {
            fprintf(stderr, "moevk eval: %u Vulkan validation message(s): failing\n", info.validation_messages);
            rc = 1;
        }
    }
    free(ep.vision_out); free(ep.logits); free(ep.routing_ids); free(ep.routing_weights); free(ep.greedy_tokens);
    moevk_model_free(m);
    free(tok);
    free(px);
    return rc;
}
