/* fuzz_image.c — libFuzzer harness: arbitrary bytes as an image file (PNG,
 * JPEG, BMP, GIF, PNM, ... whatever stb_image recognises), decoded by
 * mvk_image_load_memory and preprocessed like moevk_generate does (smart
 * resize to a token budget, each resize mode, normalisation to planar f32).
 * The last byte picks the token budget and the resize mode, so small budgets
 * keep each run fast. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <stb/stb_image.h>

#include "image.h"
#include "image_guard.h"

// Images within the library's limits but with more pixels than this are
// skipped: decoding them is slow, not interesting. Headers beyond the limits
// still go in (image.c must refuse them before allocating).
#define FUZZ_MAX_PIXELS (1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t knob = data[size - 1];
    int w = 0, h = 0, comp = 0;
    // (stbi_info is as exposed to stb's bugs as decoding: only after the guard the library applies)
    if (mvk_image_guard_ok(data, size - 1, NULL) && stbi_info_from_memory(data, (int)(size - 1), &w, &h, &comp) && (int64_t)w * h > FUZZ_MAX_PIXELS &&
        w <= MVK_IMAGE_MAX_SIDE && h <= MVK_IMAGE_MAX_SIDE && (int64_t)w * h <= MVK_IMAGE_MAX_PIXELS)
        return 0;
    mvk_image img = {0};
    if (mvk_image_load_memory(data, size - 1, "fuzz", &img) != MOEVK_OK) return 0;
    if (img.w <= 0 || img.h <= 0 || !img.rgb) __builtin_trap();
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    pp.min_tokens = 1 + (knob & 3);
    pp.max_tokens = 4 + ((knob >> 2) & 15);
    pp.mode = (mvk_resize_mode)((knob >> 6) % 3);
    mvk_image_prep prep = {0};
    if (mvk_image_preprocess(&img, &pp, &prep) == MOEVK_OK) {
        const int a = pp.patch * pp.merge;
        if (prep.w % a || prep.h % a || prep.nx * a != prep.w || prep.ny * a != prep.h) __builtin_trap();
        // normalised with mean = std = 0.5: every value in [-1, 1]
        for (size_t i = 0; i < (size_t)3 * prep.w * prep.h; i++)
            if (!(fabsf(prep.pixels[i]) <= 1.0f + 1e-6f)) __builtin_trap();
        mvk_image_prep_free(&prep);
    }
    mvk_image_free(&img);
    return 0;
}
