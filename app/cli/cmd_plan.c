/* cmd_plan.c — `moevk plan`: what a load would place on the device (moevk_model_plan), without uploading
 * a weight: resident weights, KV cache, recurrent state, scratch, expert slots, and the largest context that
 * fits the budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "moevk.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: moevk plan -m TEXT.gguf [--mmproj MMPROJ.gguf] [--device-mem MIB] [-c N] [-ub N]\n"
            "                  [--image-max-tokens N] [--kv-type f16|f32] [--device NAME|INDEX]\n\n"
            "Prints what `moevk caption` / `chat` / `serve` with the same options would place in device\n"
            "memory, computed from the files without uploading any weight (the device is opened for its\n"
            "budget): the resident weights (everything but the routed experts, the vision tower included),\n"
            "the KV cache for the context, the recurrent state of Qwen3.5/3.6 DeltaNet layers, the scratch\n"
            "reserve (one prefill micro-batch of -ub tokens, or the largest image's encode: it does not grow\n"
            "with -c), the step buffers, and how many experts per MoE layer stay on the device. When they do\n"
            "not all fit, the rest stream from the GGUF through the expert cache (docs/EXPERT_CACHE.md).\n"
            "It also gives the largest -c that fits the budget with these settings.\n\n"
            "  -m, --model FILE          text GGUF\n"
            "  --mmproj FILE             vision projector GGUF (its encoder and scratch are counted)\n"
            "  --device-mem MIB          device-memory budget (default: $MOEVK_DEVICE_MEM, else what the device\n"
            "                            reports, less 10%%)\n"
            "  -c, --ctx-size N          KV cache length (default 4096, capped by the model)\n"
            "  -ub, --ubatch-size N      prefill micro-batch in tokens (default 512)\n"
            "  --image-max-tokens N      the largest image in tokens (default: the mmproj's, else 4096): the\n"
            "                            vision scratch is sized for it; a lower cap leaves room for experts\n"
            "  --kv-type f16|f32         KV cache element type (default f16)\n"
            "  --device NAME|INDEX       Vulkan device (default: $MOEVK_DEVICE or the best)\n\n"
            "Exit status: 0 when the model fits the budget, 1 when it does not (or on an error), 2 usage.\n");
}

static double mib(uint64_t b) { return (double)b / 1048576.0; }

int cmd_plan(int argc, char **argv) {
    moevk_model_params mp = moevk_model_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define NEED() do { if (!v) { fprintf(stderr, "moevk plan: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(); mp.model_path = v; }
        else if (!strcmp(a, "--mmproj")) { NEED(); mp.mmproj_path = v; }
        else if (!strcmp(a, "--device")) { NEED(); mp.device = v; }
        else if (!strcmp(a, "--device-mem")) { NEED(); if (cli_int(a, v, 1, 1L << 30, &x)) return 2; mp.device_mem_mib = (uint64_t)x; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { NEED(); if (cli_int(a, v, 0, 1 << 24, &x)) return 2; mp.n_ctx = (int)x; }
        else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) { NEED(); if (cli_int(a, v, 1, 1 << 24, &x)) return 2; mp.n_ubatch = (int)x; }
        else if (!strcmp(a, "--image-max-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &x)) return 2; mp.image_max_tokens = (int)x; }
        else if (!strcmp(a, "--kv-type")) {
            NEED();
            if (!strcmp(v, "f16")) mp.kv_type = MOEVK_KV_F16;
            else if (!strcmp(v, "f32")) mp.kv_type = MOEVK_KV_F32;
            else { fprintf(stderr, "moevk plan: --kv-type must be f16 or f32, got '%s'\n", v); return 2; }
        }
        else { fprintf(stderr, "moevk plan: unknown option '%s'\n\n", a); usage(stderr); return 2; }
#undef NEED
    }
    if (!mp.model_path) { fprintf(stderr, "moevk plan: -m TEXT.gguf is required\n\n"); usage(stderr); return 2; }
    moevk_plan p;
    moevk_status s = moevk_model_plan(&mp, &p);
    if (s != MOEVK_OK) { cli_error("plan", s); return 1; }
    printf("device            %s\n", p.device);
    printf("budget            %10.1f MiB (%s)\n", mib(p.budget), p.budget_source);
    printf("context           %d tokens, prefill micro-batches of %d\n", p.n_ctx, p.n_ubatch);
    printf("resident          %10.1f MiB\n", mib(p.resident));
    printf("  weights         %10.1f MiB  (all but the routed experts)\n", mib(p.weights));
    printf("  KV cache        %10.1f MiB\n", mib(p.kv_cache));
    printf("  recurrent state %10.1f MiB\n", mib(p.recurrent_state));
    printf("  scratch         %10.1f MiB  (a micro-batch or the largest image; not -c)\n", mib(p.scratch));
    printf("  other           %10.1f MiB  (step buffers, allocator slack)\n", mib(p.other));
    if (p.experts) {
        printf("experts           %10.1f MiB  (%d layers x %d, %.2f MiB each, top-%d per token)\n", mib(p.experts),
               p.n_moe_layers, p.n_expert, mib(p.slot_bytes), p.n_expert_used);
        if (p.slots == p.n_expert) printf("  on the device   all of them\n");
        else if (p.slots > 0)
            printf("  on the device   %d of %d per layer (%.0f %% of the expert bytes): %.1f MiB; the rest stream\n", p.slots,
                   p.n_expert, 100.0 * p.expert_share, mib((uint64_t)p.slots * p.slot_bytes * (uint64_t)p.n_moe_layers));
        else printf("  on the device   not even top-%d per layer fit\n", p.n_expert_used);
    }
    uint64_t total = p.resident + (uint64_t)p.slots * p.slot_bytes * (uint64_t)p.n_moe_layers;
    printf("total             %10.1f MiB of %.1f\n", mib(total), mib(p.budget));
    printf("fits              %s\n", p.fits ? "yes" : "no");
    if (p.max_ctx > 0) printf("largest -c        %d tokens (with these settings)\n", p.max_ctx);
    else printf("largest -c        none: the budget does not hold the model at any context\n");
    return p.fits ? 0 : 1;
}
