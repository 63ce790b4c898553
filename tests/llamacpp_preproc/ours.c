/* ours.c — engine/image.c's mvk_image_preprocess (default: MVK_RESIZE_LLAMA,
 * mean/std 0.5) on raw RGB, for tests/image_vs_llamacpp.sh.
 * usage: ours IN.rgb W H MIN_TOKENS MAX_TOKENS OUT.f32
 * OUT.f32: int32 w, int32 h, then float32 planar [3][h][w]. */
#include <stdio.h>
#include <stdlib.h>

#include "image.h"

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s IN.rgb W H MIN_TOKENS MAX_TOKENS OUT.f32\n", argv[0]);
        return 2;
    }
    const int w = atoi(argv[2]), h = atoi(argv[3]);
    const size_t n = (size_t)w * h * 3;
    unsigned char *buf = malloc(n);
    FILE *f = fopen(argv[1], "rb");
    if (!buf || !f || fread(buf, 1, n, f) != n) return 3;
    fclose(f);
    mvk_image img;
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    pp.min_tokens = atoi(argv[4]);
    pp.max_tokens = atoi(argv[5]);
    mvk_image_prep out;
    if (mvk_image_from_rgb(buf, w, h, &img) != MOEVK_OK || mvk_image_preprocess(&img, &pp, &out) != MOEVK_OK) {
        fprintf(stderr, "ours: %s\n", moevk_last_error());
        return 1;
    }
    FILE *o = fopen(argv[6], "wb");
    if (!o) return 3;
    fwrite(&out.w, 4, 1, o);
    fwrite(&out.h, 4, 1, o);
    fwrite(out.pixels, 4, (size_t)3 * out.w * out.h, o);
    fclose(o);
    mvk_image_prep_free(&out);
    mvk_image_free(&img);
    free(buf);
    return 0;
}
