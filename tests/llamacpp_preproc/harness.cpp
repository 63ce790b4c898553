// harness.cpp — runs the bundled llama.cpp's OWN Qwen-VL image preprocessor
// (tools/mtmd/mtmd-image.cpp, mtmd_image_preprocessor_dyn_size, compiled from
// node-llama-cpp's gitRelease.bundle by tests/image_vs_llamacpp.sh) on raw RGB
// and writes the normalised result, so engine/image.c can be compared with it.
// Only this file is ours; nothing from llama.cpp is copied into the repository.
//
// usage: harness IN.rgb W H MIN_TOKENS MAX_TOKENS OUT.f32
// OUT.f32: int32 w, int32 h, then float32 [h][w][3] (clip_image_f32 layout).
#include "mtmd-image.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

// The two symbols mtmd-image.cpp needs from the rest of libmtmd / ggml.
static void log_cb(enum ggml_log_level, const char * text, void *) { fputs(text, stderr); }
struct clip_logger_state g_logger_state = {log_cb, nullptr};
extern "C" void ggml_abort(const char * file, int line, const char * fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

// hparams as clip.cpp sets them for PROJECTOR_TYPE_QWEN3VL (patch 16, merge 2,
// bicubic, default padding, 8..4096 tokens unless overridden), mean/std 0.5.
static clip_hparams g_hp;
const clip_hparams * clip_get_hparams(const clip_ctx *) { return &g_hp; }

int main(int argc, char ** argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s IN.rgb W H MIN_TOKENS MAX_TOKENS OUT.f32\n", argv[0]);
        return 2;
    }
    const int w = atoi(argv[2]), h = atoi(argv[3]);
    g_hp.patch_size = 16;
    g_hp.n_merge = 2;
    g_hp.image_resize_algo = RESIZE_ALGO_BICUBIC;
    g_hp.custom_image_min_tokens = atoi(argv[4]);
    g_hp.custom_image_max_tokens = atoi(argv[5]);
    g_hp.set_limit_image_tokens(8, 4096);
    for (int c = 0; c < 3; c++) {
        g_hp.image_mean[c] = 0.5f;
        g_hp.image_std[c] = 0.5f;
    }
    std::vector<uint8_t> buf((size_t) w * h * 3);
    FILE * f = fopen(argv[1], "rb");
    if (!f || fread(buf.data(), 1, buf.size(), f) != buf.size()) return 3;
    fclose(f);
    clip_image_u8 img;
    img.set_size({w, h}, false);
    img.cpy_buf(buf);
    mtmd_image_preprocessor_dyn_size pp(nullptr);
    const mtmd_image_preproc_out out = pp.preprocess(img);
    const clip_image_f32 & e = out.entries.at(0);
    const int ow = e.nx(), oh = e.ny();
    FILE * o = fopen(argv[6], "wb");
    if (!o) return 3;
    fwrite(&ow, 4, 1, o);
    fwrite(&oh, 4, 1, o);
    fwrite(e.get_ro_buf().data(), 4, e.get_ro_buf().size(), o);
    fclose(o);
    return 0;
}
