/* cmd_caption.c — `moevk caption`: caption an image or answer a question
 * about it. Flags follow llama.cpp's llama-mtmd-cli. The text streams to
 * stdout; timings go to stderr. --routing / --heatmap write the expert
 * routing telemetry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "heatmap.h"
#include "moevk.h"
#include "routing_json.h"
#include "telemetry.h"
#include "lavapipe_threads.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: moevk caption -m TEXT.gguf --mmproj MMPROJ.gguf --image IMG [options]\n\n"
            "Captions an image (or answers -p about it) and streams the answer to stdout.\n\n"
            "model:\n"
            "  -m, --model FILE          text GGUF (qwen3vlmoe, qwen3vl, qwen3moe, qwen3, qwen35moe, qwen35)\n"
            "  --mmproj FILE             vision projector GGUF (clip / qwen3vl_merger)\n"
            "  -c, --ctx-size N          KV cache length (default 4096, capped by the model)\n"
            "  -ub, --ubatch-size N      prefill micro-batch in tokens: the scratch memory's size (default 512)\n"
            "  --kv-type f16|f32         KV cache element type (default f16)\n"
            "  --device NAME|INDEX       Vulkan device (default: $MOEVK_DEVICE or the best; see `moevk devices`)\n"
            "  --device-mem MIB          device-memory budget (default: $MOEVK_DEVICE_MEM, else what the device\n"
            "                            reports less 10%%); experts that do not fit stream from the GGUF\n"
            "input:\n"
            "  --image FILE              JPEG, PNG, WebP, GIF, HEIC, AVIF (BMP, TIFF, PNM ... are refused by name)\n"
            "  -p, --prompt TEXT         question (default: \"Describe this image in one sentence.\")\n"
            "  --image-min-tokens N      image token budget, lower bound (default: the mmproj's, else 8)\n"
            "  --image-max-tokens N      image token budget, upper bound (default: the mmproj's, else 4096);\n"
            "                            the vision scratch is reserved for it (see `moevk plan`)\n"
            "sampling:\n"
            "  -n, --n-predict N         max new tokens (default 64)\n"
            "  --temp T                  temperature; 0 = greedy (default 0)\n"
            "  --top-k K                 (default 40)\n"
            "  --top-p P                 (default 0.95)\n"
            "  -s, --seed S              sampling seed (default 0)\n"
            "thinking:\n" CLI_THINK_HELP
            "output:\n"
            "  --routing FILE.json       per-token expert routing: {pos, kind, layers:[{layer, experts, weights}]}\n"
            "  --heatmap FILE.png        layers x experts routing shares, image | text tokens side by side\n"
            "  -q, --quiet               no timings on stderr\n");
}

int cmd_caption(int argc, char **argv) {
    moevk_model_params mp = moevk_model_default_params();
    moevk_gen_params gp = moevk_gen_default_params();
    const char *routing = NULL, *heat = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define NEED() do { if (!v) { fprintf(stderr, "moevk caption: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(); mp.model_path = v; }
        else if (!strcmp(a, "--mmproj")) { NEED(); mp.mmproj_path = v; }
        else if (!strcmp(a, "--image")) { NEED(); gp.image_path = v; }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { NEED(); gp.prompt = v; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { NEED(); if (cli_int(a, v, 0, 1 << 20, &x)) return 2; gp.n_predict = (int)x; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { NEED(); if (cli_int(a, v, 0, 1 << 24, &x)) return 2; mp.n_ctx = (int)x; }
        else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) { NEED(); if (cli_int(a, v, 1, 1 << 24, &x)) return 2; mp.n_ubatch = (int)x; }
        else if (!strcmp(a, "--temp")) { NEED(); if (cli_float(a, v, &gp.temp)) return 2; }
        else if (!strcmp(a, "--top-k")) { NEED(); if (cli_int(a, v, 0, 1 << 30, &x)) return 2; gp.top_k = (int)x; }
        else if (!strcmp(a, "--top-p")) { NEED(); if (cli_float(a, v, &gp.top_p)) return 2; }
        else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) { NEED(); if (cli_int(a, v, 0, 0x7fffffffL, &x)) return 2; gp.seed = (uint64_t)x; }
        else if (!strcmp(a, "--image-min-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &x)) return 2; gp.image_min_tokens = (int)x; }
        else if (!strcmp(a, "--image-max-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &x)) return 2; gp.image_max_tokens = mp.image_max_tokens = (int)x; }
        else if (!strcmp(a, "--device")) { NEED(); mp.device = v; }
        else if (!strcmp(a, "--device-mem")) { NEED(); if (cli_int(a, v, 1, 1L << 30, &x)) return 2; mp.device_mem_mib = (uint64_t)x; }
        else if (!strcmp(a, "--kv-type")) {
            NEED();
            if (!strcmp(v, "f16")) mp.kv_type = MOEVK_KV_F16;
            else if (!strcmp(v, "f32")) mp.kv_type = MOEVK_KV_F32;
            else { fprintf(stderr, "moevk caption: --kv-type must be f16 or f32, got '%s'\n", v); return 2; }
        }
        else if (!strcmp(a, "--routing")) { NEED(); routing = v; }
        else if (!strcmp(a, "--heatmap")) { NEED(); heat = v; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if ((x = cli_think_option("caption", argc, argv, &i, &gp.think, &gp.reasoning_budget)) != 0) { if (x < 0) return 2; }
        else { fprintf(stderr, "moevk caption: unknown option '%s'\n\n", a); usage(stderr); return 2; }
#undef NEED
    }
    if (!mp.model_path) { fprintf(stderr, "moevk caption: -m TEXT.gguf is required\n\n"); usage(stderr); return 2; }
    if (gp.image_path && !mp.mmproj_path) { fprintf(stderr, "moevk caption: --image needs --mmproj MMPROJ.gguf\n"); return 2; }
    if (gp.image_max_tokens > 0 && gp.image_min_tokens > gp.image_max_tokens) {
        fprintf(stderr, "moevk caption: --image-min-tokens %d exceeds --image-max-tokens %d\n", gp.image_min_tokens, gp.image_max_tokens);
        return 2;
    }
    mp.progress = cli_progress;
    moevk_model *m = NULL;
    mvk_app_lavapipe_threads(mp.model_path, mp.mmproj_path); /* small models: lavapipe without worker threads */
    moevk_status s = moevk_model_load(&mp, &m);
    if (s != MOEVK_OK) { cli_error("caption", s); return 1; }
    cli_reasoning rsn = {0};
    gp.on_token = cli_answer_piece;
    gp.on_reasoning = cli_reasoning_piece; /* the reasoning (--think) on stderr, never in the caption */
    gp.user = &rsn;
    s = moevk_generate(m, &gp);
    cli_reasoning_end(&rsn);
    fputc('\n', stdout);
    fflush(stdout);
    int rc = 0;
    if (s != MOEVK_OK) {
        cli_error("caption", s);
        rc = 1;
    } else {
        moevk_timings t;
        moevk_get_timings(m, &t);
        moevk_model_info info;
        moevk_model_get_info(m, &info);
        if (!quiet)
            fprintf(stderr,
                    "device: %s\nimage encode: %.1f ms (%d tokens)\nprefill: %d tokens in %.1f ms (%.1f tokens/s)\n"
                    "decode: %d tokens in %.1f ms (%.1f tokens/s)%s\n",
                    info.device, t.image_encode_ms, t.n_image_tokens, t.n_prompt_tokens, t.prefill_ms,
                    t.prefill_ms > 0 ? 1e3 * t.n_prompt_tokens / t.prefill_ms : 0.0, t.n_generated, t.decode_ms,
                    t.decode_ms > 0 ? 1e3 * (t.n_generated > 1 ? t.n_generated - 1 : 0) / t.decode_ms : 0.0,
                    gp.think ? ", reasoning included" : "");
        if (!quiet && gp.think) fprintf(stderr, "reasoning: %d tokens\n", t.n_reasoning);
        if (routing || heat) {
            telemetry tm;
            if ((s = telemetry_collect(m, &tm)) != MOEVK_OK) {
                cli_error("caption", s);
                rc = 1;
            } else {
                if (info.n_moe_layers == 0) fprintf(stderr, "moevk caption: this model is dense: no routing to write\n");
                if (routing && info.n_moe_layers) {
                    routing_json_input ji = telemetry_json(&tm);
                    if ((s = routing_json_write_file(routing, &ji)) != MOEVK_OK) { cli_error("caption", s); rc = 1; }
                    else if (!quiet) fprintf(stderr, "routing: %zu tokens -> %s\n", tm.n_tokens, routing);
                }
                if (heat && info.n_moe_layers) {
                    heatmap_input hi = telemetry_heatmap(&tm);
                    if ((s = heatmap_write_png(heat, &hi, 0, 0, 0.0f)) != MOEVK_OK) { cli_error("caption", s); rc = 1; }
                    else if (!quiet) fprintf(stderr, "heatmap: %d layers x %d experts -> %s\n", tm.n_layers, tm.n_experts, heat);
                }
                telemetry_free(&tm);
            }
        }
    }
    moevk_model_info vinfo;
    if (moevk_model_get_info(m, &vinfo) == MOEVK_OK && vinfo.validation_messages) {
        /* only when validation is on (MOEVK_VALIDATION=1, as in the tests) */
        fprintf(stderr, "moevk caption: %u Vulkan validation message(s): failing\n", vinfo.validation_messages);
        rc = 1;
    }
    moevk_model_free(m);
    return rc;
}
