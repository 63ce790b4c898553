/* args.c — command-line options of moevk-view and where the embedded model lives. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "moevk.h"

#ifndef MOEVK_SOURCE_DIR
#define MOEVK_SOURCE_DIR "."
#endif

#define EMBEDDED_MODEL "models/moevk-tiny.gguf"
#define EMBEDDED_MMPROJ "models/moevk-tiny-mmproj.gguf"

static void usage(FILE *f) {
    fprintf(f,
            "moevk-view %s — caption images or a webcam and watch which experts fire\n\n"
            "usage: moevk-view [options] [IMAGE|FOLDER ...]\n\n"
            "sources:\n"
            "  IMAGE|FOLDER ...       images to caption (Left/Right step through them); drop files on the window\n"
            "  --camera DEV           capture from a V4L2 webcam, e.g. /dev/video0 (YUYV or MJPEG)\n"
            "  --camera test:[OPTS]   a synthetic moving test pattern, OPTS fps=N,on=S,off=S,fmt=yuyv|mjpeg\n"
            "                         (on/off: vanish after S seconds and come back, as if unplugged)\n"
            "  --camera-size WxH      requested camera size (default 640x480)\n"
            "model:\n"
            "  -m, --model FILE       text GGUF (default: the embedded model in assets/models/)\n"
            "  --mmproj FILE          vision GGUF (mmproj) for --model\n"
            "  -p, --prompt TEXT      prompt (default: the library's one-sentence description prompt)\n"
            "  -n, --n-predict N      at most N new tokens per caption\n"
            "  --image-max-tokens N   cap the image tokens per frame\n"
            "  -c, --ctx-size N       KV cache length: the room for a frame's conversation (default 4096, capped by the model)\n"
            "  --think                thinking on (qwen35moe, qwen35: the model reasons before it answers; the\n"
            "                         reasoning is shown dimmed apart from the answer, its tokens marked in the trace)\n"
            "  --reasoning-budget N   with --think: tokens the reasoning may take before its end is forced (-1: no limit)\n"
            "  --device NAME|INDEX    Vulkan device (default: $MOEVK_DEVICE, else the best one)\n"
            "  --device-mem MIB       device-memory budget (default: $MOEVK_DEVICE_MEM, else the device's less 10%%);\n"
            "                         experts that do not fit stream from the GGUF (docs/EXPERT_CACHE.md)\n"
            "display:\n"
            "  --size WxH             window / image size (default 1280x800)\n"
            "  --fps N                UI frame cap (default 60)\n"
            "  --font FILE|none       TTF font (default DejaVu Sans; also $MOEVK_FONT); none: built-in 5x7 font\n"
            "headless, scripts, benchmark:\n"
            "  --headless             render without a window (no display needed)\n"
            "  --out DIR              where headless frames and screenshots go (default .)\n"
            "  --frames N             headless: write N PNGs, one per finished caption (default: one per input)\n"
            "  --script FILE          run a scripted session (see docs/APP.md)\n"
            "  --bench N              caption N times and report frame-to-first-token latency,\n"
            "                         full caption latency and UI fps (medians)\n"
            "  --bench-out FILE       also write the benchmark figures as JSON\n"
            "  --soak SECONDS         headless: run that long, printing memory, captions and camera\n"
            "                         reconnections every 10 s as JSON lines (tools/soak.sh)\n"
            "  -h, --help             this help;  --version\n\n"
            "keys: F1 or ? help, Space pause/resume, S screenshot + routing JSON, Left/Right previous/next image,\n"
            "      I image tokens, T text tokens, B both, A this frame / running average, C camera on/off,\n"
            "      R caption again, Esc/Q quit. Hover a caption word to see that token's routing;\n"
            "      hover a heatmap cell for layer, expert, count and share.\n\n"
            "environment: MOEVK_ASSETS (assets dir), MOEVK_DEVICE, MOEVK_FONT,\n"
            "             MOEVK_VIEW_NO_WARMUP=1 (skip the warm-up caption after loading),\n"
            "             LP_NUM_THREADS (Mesa lavapipe's worker threads: set to 0 for model files up to\n"
            "             64 MiB, the embedded model's case, unless you set it)\n\n",
            moevk_version());
    view_camera_entry cams[16];
    int n = view_camera_list(cams, 16);
    fprintf(f, "cameras:\n");
    if (!n) fprintf(f, "  (none found)\n");
    for (int i = 0; i < n; i++) fprintf(f, "  %-14s %s\n", cams[i].path, cams[i].name);
}

static int parse_size(const char *s, int *w, int *h) {
    return sscanf(s, "%dx%d", w, h) == 2 && *w > 0 && *h > 0 && *w <= 16384 && *h <= 16384;
}

int view_args_parse(int argc, char **argv, view_args *a) {
    memset(a, 0, sizeof *a);
    a->width = 1280;
    a->height = 800;
    a->fps = 60;
    a->out_dir = ".";
    a->cam_w = 640;
    a->cam_h = 480;
    a->reasoning_budget = -1; // unlimited, as the library's default
    a->inputs = calloc((size_t)argc, sizeof *a->inputs);
    if (!a->inputs) return 2;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                    \
    do {                                                                \
        if (!v) {                                                       \
            fprintf(stderr, "moevk-view: %s needs a value\n", o);      \
            return 2;                                                   \
        }                                                               \
        i++;                                                            \
    } while (0)
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(o, "--version")) {
            printf("moevk-view %s\n", moevk_version());
            return 1;
        } else if (!strcmp(o, "-m") || !strcmp(o, "--model")) {
            NEED_VALUE();
            a->model_path = v;
        } else if (!strcmp(o, "--mmproj")) {
            NEED_VALUE();
            a->mmproj_path = v;
        } else if (!strcmp(o, "--camera")) {
            NEED_VALUE();
            a->camera = v;
        } else if (!strcmp(o, "--camera-size")) {
            NEED_VALUE();
            if (!parse_size(v, &a->cam_w, &a->cam_h)) goto bad;
        } else if (!strcmp(o, "-p") || !strcmp(o, "--prompt")) {
            NEED_VALUE();
            a->prompt = v;
        } else if (!strcmp(o, "-n") || !strcmp(o, "--n-predict")) {
            NEED_VALUE();
            a->n_predict = atoi(v);
            if (a->n_predict <= 0) goto bad;
        } else if (!strcmp(o, "-c") || !strcmp(o, "--ctx-size")) {
            NEED_VALUE();
            a->n_ctx = atoi(v);
            if (a->n_ctx <= 0) goto bad;
        } else if (!strcmp(o, "--image-max-tokens")) {
            NEED_VALUE();
            a->image_max_tokens = atoi(v);
            if (a->image_max_tokens <= 0) goto bad;
        } else if (!strcmp(o, "--device")) {
            NEED_VALUE();
            a->device = v;
        } else if (!strcmp(o, "--device-mem")) {
            NEED_VALUE();
            a->device_mem_mib = atoi(v);
            if (a->device_mem_mib <= 0) goto bad;
        } else if (!strcmp(o, "--size")) {
            NEED_VALUE();
            if (!parse_size(v, &a->width, &a->height) || a->width < 640 || a->height < 400) goto bad;
        } else if (!strcmp(o, "--fps")) {
            NEED_VALUE();
            a->fps = atoi(v);
            if (a->fps <= 0 || a->fps > 1000) goto bad;
        } else if (!strcmp(o, "--font")) {
            NEED_VALUE();
            a->font = v;
        } else if (!strcmp(o, "--headless")) {
            a->headless = 1;
        } else if (!strcmp(o, "--think")) {
            a->think = 1;
        } else if (!strcmp(o, "--reasoning-budget")) {
            NEED_VALUE();
            a->reasoning_budget = atoi(v);
            if (a->reasoning_budget < -1 || (a->reasoning_budget == 0 && strcmp(v, "0"))) goto bad;
        } else if (!strcmp(o, "--out")) {
            NEED_VALUE();
            a->out_dir = v;
        } else if (!strcmp(o, "--frames")) {
            NEED_VALUE();
            a->frames = atoi(v);
            if (a->frames <= 0) goto bad;
        } else if (!strcmp(o, "--script")) {
            NEED_VALUE();
            a->script = v;
        } else if (!strcmp(o, "--bench")) {
            NEED_VALUE();
            a->bench = atoi(v);
            if (a->bench <= 0) goto bad;
        } else if (!strcmp(o, "--soak")) {
            NEED_VALUE();
            a->soak = atof(v);
            if (!(a->soak > 0)) goto bad;
        } else if (!strcmp(o, "--bench-out")) {
            NEED_VALUE();
            a->bench_out = v;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "moevk-view: unknown option %s (see --help)\n", o);
            return 2;
        } else {
            a->inputs[a->n_inputs++] = o;
        }
        continue;
    bad:
        fprintf(stderr, "moevk-view: bad value for %s: %s\n", o, v);
        return 2;
#undef NEED_VALUE
    }
    if (a->soak > 0 && !a->headless) {
        fprintf(stderr, "moevk-view: --soak needs --headless\n");
        return 2;
    }
    if (a->mmproj_path && !a->model_path) {
        fprintf(stderr, "moevk-view: --mmproj needs -m/--model\n");
        return 2;
    }
    return 0;
}

static int file_exists(const char *p) { return access(p, R_OK) == 0; }

// Candidate assets/ directories, best first.
static int assets_candidates(char dirs[][PATH_MAX], int cap) {
    int n = 0;
    const char *env = getenv("MOEVK_ASSETS");
    if (env && env[0] && n < cap) snprintf(dirs[n++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        const char *rel[] = {"/assets", "/../assets", "/../share/moevk/assets", "/../../assets"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0] && n < cap; i++)
            snprintf(dirs[n++], PATH_MAX, "%.*s%s", PATH_MAX - 64, exe, rel[i]);
    }
    if (n < cap) snprintf(dirs[n++], PATH_MAX, "%s/assets", MOEVK_SOURCE_DIR);
    if (n < cap) snprintf(dirs[n++], PATH_MAX, "assets");
    return n;
}

int view_find_embedded_model(char *model, size_t model_cap, char *mmproj, size_t mmproj_cap) {
    char dirs[8][PATH_MAX];
    int n = assets_candidates(dirs, 8);
    for (int i = 0; i < n; i++) {
        char m[PATH_MAX + 64], p[PATH_MAX + 64];
        snprintf(m, sizeof m, "%.4000s/%s", dirs[i], EMBEDDED_MODEL);
        snprintf(p, sizeof p, "%.4000s/%s", dirs[i], EMBEDDED_MMPROJ);
        if (file_exists(m) && file_exists(p)) {
            snprintf(model, model_cap, "%s", m);
            snprintf(mmproj, mmproj_cap, "%s", p);
            return 1;
        }
    }
    // Not found: name the most likely place so the banner says where we looked.
    const char *best = n > 0 ? dirs[0] : "assets";
    for (int i = 0; i < n; i++)
        if (access(dirs[i], F_OK) == 0) {
            best = dirs[i];
            break;
        }
    snprintf(model, model_cap, "%s/%s", best, EMBEDDED_MODEL);
    snprintf(mmproj, mmproj_cap, "%s/%s", best, EMBEDDED_MMPROJ);
    return 0;
}

void view_find_assets_dir(char *out, size_t cap) {
    char dirs[8][PATH_MAX];
    int n = assets_candidates(dirs, 8);
    out[0] = 0;
    for (int i = 0; i < n; i++)
        if (access(dirs[i], F_OK) == 0) {
            snprintf(out, cap, "%s", dirs[i]);
            return;
        }
}
