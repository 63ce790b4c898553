/* fuzz_image.c — libFuzzer harness: arbitrary bytes as an image file (JPEG,
 * PNG, WebP, GIF, HEIC/AVIF through Debian's libraries, EXIF orientation, the
 * formats refused by name), decoded by mvk_image_load_memory and
 * preprocessed like moevk_generate does (smart
 * resize to a token budget, each resize mode, normalisation to planar f32).
 * The last byte picks the token budget and the resize mode, so small budgets
 * keep each run fast. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "image_decode.h"

// Images with more pixels than this are refused by the decoders' own size
// check (from the header, before decoding): decoding them is slow, not
// interesting. Headers beyond it still go in and must be refused cleanly.
#define FUZZ_MAX_PIXELS (1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t knob = data[size - 1];
    mvk_decode_limits lim = mvk_decode_default_limits();
    lim.max_pixels = FUZZ_MAX_PIXELS;
    lim.tolerate_damage = knob & 1; /* both the files' strict and the cameras' lenient JPEG path */
    mvk_image img = {0};
    if (mvk_image_decode(data, size - 1, "fuzz", &lim, &img) != MOEVK_OK) return 0;
    if ((int64_t)img.w * img.h > FUZZ_MAX_PIXELS) __builtin_trap();
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
