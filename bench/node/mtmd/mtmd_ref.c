/* mtmd_ref.c — run llama.cpp's multimodal encoder (libmtmd, built from the source bundled in npm
 * node-llama-cpp, see build_mtmd.sh) on one RGB image, and write what clip/mtmd hands to the LM.
 *
 *   mtmd_ref TEXT.gguf MMPROJ.gguf IMAGE_RGB.u8 W H OUT.f32 [threads] [min_tokens] [runs]
 *
 * IMAGE_RGB.u8 is raw HWC RGB bytes. OUT.f32 = float32 [n_img_tokens][n_embd_inp]
 * (merger output concatenated with the DeepStack features). Prints JSON to stdout: token count,
 * embedding width, whether every value is finite, and the median image-encode time over `runs`.
 * Exit status 0 only if encoding succeeded and every output value is finite. CPU only.
 * GGML_BACKEND_DIR = directory of the prebuilt libggml-cpu-*.so (build_mtmd.sh's wrapper sets it). */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-backend.h"
#include "llama.h"
#include "mtmd.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s TEXT.gguf MMPROJ.gguf IMAGE_RGB.u8 W H OUT.f32 [threads] [min_tokens] [runs]\n",
                argv[0]);
        return 2;
    }
    const char *text_path = argv[1], *mmproj_path = argv[2], *img_path = argv[3], *out_path = argv[6];
    int w = atoi(argv[4]), h = atoi(argv[5]);
    int threads = argc > 7 ? atoi(argv[7]) : 1;
    int min_tokens = argc > 8 ? atoi(argv[8]) : -1;
    int runs = argc > 9 ? atoi(argv[9]) : 1;
    if (w <= 0 || h <= 0 || threads <= 0 || runs <= 0 || runs > 100) {
        fprintf(stderr, "bad W/H/threads/runs\n");
        return 2;
    }
    size_t nbytes = (size_t)w * (size_t)h * 3;
    unsigned char *rgb = malloc(nbytes);
    FILE *f = fopen(img_path, "rb");
    if (!rgb || !f || fread(rgb, 1, nbytes, f) != nbytes) {
        fprintf(stderr, "cannot read %zu bytes from %s\n", nbytes, img_path);
        return 1;
    }
    fclose(f);

    /* node-llama-cpp's prebuilt ggml loads its CPU backend variants (libggml-cpu-*.so) at run time */
    const char *bdir = getenv("GGML_BACKEND_DIR");
    if (bdir) ggml_backend_load_all_from_path(bdir);
    else ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(text_path, mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", text_path);
        return 1;
    }
    struct mtmd_context_params cp = mtmd_context_params_default();
    cp.use_gpu = false;
    cp.n_threads = threads;
    cp.print_timings = false;
    cp.warmup = false;
    cp.flash_attn_type = getenv("MTMD_FLASH_ATTN") ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (min_tokens > 0) cp.image_min_tokens = min_tokens;
    mtmd_context *ctx = mtmd_init_from_file(mmproj_path, model, cp);
    if (!ctx) {
        fprintf(stderr, "mtmd_init_from_file failed for %s\n", mmproj_path);
        return 1;
    }
    mtmd_bitmap *bmp = mtmd_bitmap_init((uint32_t)w, (uint32_t)h, rgb);
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    mtmd_input_text txt;
    txt.text = mtmd_default_marker();
    txt.text_len = strlen(txt.text);
    txt.add_special = false;
    txt.parse_special = true;
    const mtmd_bitmap *bmps[1] = {bmp};
    if (mtmd_tokenize(ctx, chunks, &txt, bmps, 1) != 0) {
        fprintf(stderr, "mtmd_tokenize failed\n");
        return 1;
    }
    const mtmd_input_chunk *img = NULL;
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk *c = mtmd_input_chunks_get(chunks, i);
        if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_IMAGE) img = c;
    }
    if (!img) {
        fprintf(stderr, "no image chunk\n");
        return 1;
    }
    size_t n_tok = mtmd_input_chunk_get_n_tokens(img);
    int n_embd = llama_model_n_embd_inp(model);
    double t[100];
    for (int r = 0; r < runs; r++) {
        double t0 = now_s();
        if (mtmd_encode_chunk(ctx, img) != 0) {
            fprintf(stderr, "mtmd_encode_chunk failed\n");
            return 1;
        }
        t[r] = now_s() - t0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_d);
    const float *e = mtmd_get_output_embd(ctx);
    size_t n = n_tok * (size_t)n_embd;
    size_t n_bad = 0;
    double amax = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(e[i])) n_bad++;
        else if (fabs(e[i]) > amax) amax = fabs(e[i]);
    }
    FILE *o = fopen(out_path, "wb");
    if (!o || fwrite(e, sizeof(float), n, o) != n) {
        fprintf(stderr, "cannot write %s\n", out_path);
        return 1;
    }
    fclose(o);
    printf("{\"image_w\": %d, \"image_h\": %d, \"n_img_tokens\": %zu, \"n_embd_inp\": %d, \"non_finite\": %zu, "
           "\"max_abs\": %.6g, \"threads\": %d, \"runs\": %d, \"encode_s_median\": %.6f}\n",
           w, h, n_tok, n_embd, n_bad, amax, threads, runs, t[runs / 2]);
    mtmd_input_chunks_free(chunks);
    mtmd_bitmap_free(bmp);
    mtmd_free(ctx);
    llama_model_free(model);
    free(rgb);
    return n_bad == 0 ? 0 : 1;
}
