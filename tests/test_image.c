/* test_image.c — decoding, smart size, resize filters, normalisation, and
 * clean failures on hostile files (engine/image.c; every decoder in detail:
 * test_image_decode.c).
 *
 * Expected values come from: the goldens (image_rgb.u8, pixels.f32 made
 * independently), sizes worked by hand from the spec formulas (§3.1, §4.8),
 * bilinear outputs worked by hand, and PIL's own BICUBIC resize (which the
 * bundled llama.cpp's resize_pillow reproduces) run through /usr/bin/python3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "image.h"
#include "test_util.h"

static char g_tmp[256];

static int setup_tmp(void **state) {
    (void)state;
    snprintf(g_tmp, sizeof g_tmp, "/tmp/moevk_test_image_XXXXXX");
    return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown_tmp(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_tmp, name); }

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* goldens directory (qwen3vlmoe-tiny-a) or NULL (a skip is recorded; the caller skips) */
static const char *goldens_a(char *buf, size_t cap) {
    const char *g = tu_goldens_dir();
    if (!g) return NULL;
    snprintf(buf, cap, "%s/qwen3vlmoe-tiny-a", g);
    return buf;
}

static const float k_half[3] = {0.5f, 0.5f, 0.5f};

/* ---------------------------------------------------------------- goldens */

static void golden_png_decodes_to_image_rgb(void **state) {
    (void)state;
    char dir[512], p[600];
    if (!goldens_a(dir, sizeof dir)) skip();
    snprintf(p, sizeof p, "%s/image.png", dir);
    mvk_image img;
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    assert_int_equal(img.w, 96); /* manifest: [64, 96, 3] HxWx3 */
    assert_int_equal(img.h, 64);
    snprintf(p, sizeof p, "%s/image_rgb.u8", dir);
    size_t n = 0;
    uint8_t *ref = tu_read_file(p, &n);
    assert_non_null(ref);
    assert_int_equal(n, 96 * 64 * 3);
    assert_memory_equal(img.rgb, ref, n);
    free(ref);
    mvk_image_free(&img);
}

static void golden_pixels_f32_match(void **state) {
    (void)state;
    char dir[512], p[600];
    if (!goldens_a(dir, sizeof dir)) skip();
    snprintf(p, sizeof p, "%s/image.png", dir);
    mvk_image img;
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    snprintf(p, sizeof p, "%s/pixels.f32", dir);
    size_t n = 0;
    uint8_t *raw = tu_read_file(p, &n);
    assert_non_null(raw);
    assert_int_equal(n, 3 * 64 * 96 * sizeof(float));
    const float *ref = (const float *)raw;

    /* direct normalisation */
    float *out = malloc(n);
    assert_int_equal(mvk_image_to_planar_f32(&img, k_half, k_half, out), MOEVK_OK);
    double maxd = 0;
    for (size_t i = 0; i < 3 * 64 * 96; i++) maxd = fmax(maxd, fabs((double)out[i] - ref[i]));
    assert_true(maxd == 0.0); /* bit-exact: the goldens also normalise in float32 */

    /* the whole preprocess with min tokens 6 (the goldens' setting) keeps 96x64 */
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    pp.min_tokens = 6;
    mvk_image_prep prep;
    assert_int_equal(mvk_image_preprocess(&img, &pp, &prep), MOEVK_OK);
    assert_int_equal(prep.w, 96);
    assert_int_equal(prep.h, 64);
    assert_int_equal(prep.nx, 3);
    assert_int_equal(prep.ny, 2);
    maxd = 0;
    for (size_t i = 0; i < 3 * 64 * 96; i++) maxd = fmax(maxd, fabs((double)prep.pixels[i] - ref[i]));
    assert_true(maxd == 0.0); /* bit-exact: the goldens also normalise in float32 */
    mvk_image_prep_free(&prep);
    free(out);
    free(raw);
    mvk_image_free(&img);
}

/* With llama.cpp's default min of 8 tokens the 96x64 image goes to 128x96
 * (goldens README: "64x96 -> 96x128, HxW"), letterboxed: scale =
 * min(128/96, 96/64) = 4/3, inner size min(ceil(96*4/3),128) = 128 by
 * ceil(64*4/3) = 86, offset ((128-128)/2, (96-86)/2) = (0, 5). */
static void golden_default_min_tokens_letterbox(void **state) {
    (void)state;
    char dir[512], p[600];
    if (!goldens_a(dir, sizeof dir)) skip();
    snprintf(p, sizeof p, "%s/image.png", dir);
    mvk_image img;
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    mvk_image_prep prep;
    assert_int_equal(mvk_image_preprocess(&img, &pp, &prep), MOEVK_OK);
    assert_int_equal(prep.w, 128);
    assert_int_equal(prep.h, 96);
    assert_int_equal(prep.nx * prep.ny, 12);
    const size_t plane = 128 * 96;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 96; y++) {
            const int pad = y < 5 || y >= 91;
            for (int x = 0; x < 128; x++) {
                const float v = prep.pixels[c * plane + (size_t)y * 128 + x];
                if (pad) assert_true(v == -1.0f); /* black: (0/255 - .5)/.5 */
            }
        }
    mvk_image_prep_free(&prep);
    mvk_image_free(&img);
}

/* ---------------------------------------------------------------- smart size */

static void expect_size(int w, int h, int mn, int mx, int ew, int eh) {
    int ow = -1, oh = -1;
    assert_int_equal(mvk_image_smart_size(w, h, 16, 2, mn, mx, &ow, &oh), MOEVK_OK);
    if (ow != ew || oh != eh) fprintf(stderr, "%dx%d [%d,%d] -> %dx%d, expected %dx%d\n", w, h, mn, mx, ow, oh, ew, eh);
    assert_int_equal(ow, ew);
    assert_int_equal(oh, eh);
}

static void smart_size_worked_examples(void **state) {
    (void)state;
    /* spec §4.8: 1024x768 stays (32x24 = 768 tokens) */
    expect_size(1024, 768, 0, 0, 1024, 768);
    /* goldens: 96x64 -> min 8 tokens pushes it up; with min 6 it stays */
    expect_size(96, 64, 0, 0, 128, 96);
    expect_size(96, 64, 6, 0, 96, 64);
    /* tiny: 1x1 -> 32x32 (1024 px < 8192): b = sqrt(8192) = 90.5, ceil(90.5/32) = 3 -> 96x96 */
    expect_size(1, 1, 0, 0, 96, 96);
    /* huge: 8000x6000: b = sqrt(48e6/4194304) = 3.383; 6000/b = 1773.6 -> 55*32 = 1760;
     * 8000/b = 2364.8 -> 73*32 = 2336 (4015 tokens <= 4096) */
    expect_size(8000, 6000, 0, 0, 2336, 1760);
    /* max clamp: 1024x768 with 256 tokens: b = sqrt(3); 768/b = 443.4 -> 416; 1024/b = 591.2 -> 576 */
    expect_size(1024, 768, 8, 256, 576, 416);
    /* min clamp: 100x60 with 64 tokens: 96x64 = 6144 < 65536; b = sqrt(65536/6000) = 3.305;
     * 60b = 198.3 -> 7*32 = 224; 100b = 330.5 -> 11*32 = 352 */
    expect_size(100, 60, 64, 0, 352, 224);
    /* round half away from zero (C round, not Python's half-to-even): 80/32 = 2.5 -> 3 -> 96 */
    expect_size(80, 80, 1, 0, 96, 96);
    /* extreme aspect: the short side is held at one block */
    expect_size(32768, 1, 0, 0, 32768, 32);
}

static void smart_size_rejects_bad_args(void **state) {
    (void)state;
    int ow, oh;
    assert_int_equal(mvk_image_smart_size(0, 10, 16, 2, 8, 4096, &ow, &oh), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_image_smart_size(10, -1, 16, 2, 8, 4096, &ow, &oh), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_image_smart_size(10, 10, 0, 2, 8, 4096, &ow, &oh), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_image_smart_size(10, 10, 16, 2, 8, 4096, NULL, &oh), MOEVK_ERR_INVALID_ARG);
    /* a min budget so large the result exceeds the side limit */
    assert_int_equal(mvk_image_smart_size(32768, 1, 16, 2, 1 << 20, 1 << 21, &ow, &oh), MOEVK_ERR_INVALID_ARG);
}

/* ---------------------------------------------------------------- bilinear */

static void gray(uint8_t *rgb, const uint8_t *v, int n) {
    for (int i = 0; i < n; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = v[i];
}

static void bilinear_hand_cases(void **state) {
    (void)state;
    /* 2x1 -> 4x1: ratio (2-1)/4 = 0.25, px = 0, .25, .5, .75 -> 0, 25, 50, 75 */
    uint8_t s1[6], d1[12];
    gray(s1, (const uint8_t[]){0, 100}, 2);
    assert_int_equal(mvk_image_resize_bilinear_u8(s1, 2, 1, d1, 4, 1), MOEVK_OK);
    const uint8_t e1[4] = {0, 25, 50, 75};
    for (int i = 0; i < 4; i++) assert_int_equal(d1[i * 3 + 1], e1[i]);

    /* 2x2 [[0,100],[200,40]] -> 4x4: ratios 0.25. (2,1): top 50, bottom 120, 50+70*.25 = 67.5 -> 67;
     * (3,3): top 75, bottom 80, 75+5*.75 = 78.75 -> 78; (1,2): top 25, bottom 160, 92.5 -> 92. */
    uint8_t s2[12], d2[48];
    gray(s2, (const uint8_t[]){0, 100, 200, 40}, 4);
    assert_int_equal(mvk_image_resize_bilinear_u8(s2, 2, 2, d2, 4, 4), MOEVK_OK);
    assert_int_equal(d2[(1 * 4 + 2) * 3], 67);
    assert_int_equal(d2[(3 * 4 + 3) * 3], 78);
    assert_int_equal(d2[(2 * 4 + 1) * 3], 92);
    assert_int_equal(d2[0], 0);

    /* downscale 4x1 [0,40,80,120] -> 2x1: ratio 3/2, px = 0, 1.5 -> 0, 60 */
    uint8_t s3[12], d3[6];
    gray(s3, (const uint8_t[]){0, 40, 80, 120}, 4);
    assert_int_equal(mvk_image_resize_bilinear_u8(s3, 4, 1, d3, 2, 1), MOEVK_OK);
    assert_int_equal(d3[0], 0);
    assert_int_equal(d3[3], 60);

    /* 1x1 source repeats its pixel */
    const uint8_t s4[3] = {7, 8, 9};
    uint8_t d4[3 * 6];
    assert_int_equal(mvk_image_resize_bilinear_u8(s4, 1, 1, d4, 3, 2), MOEVK_OK);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(d4[i * 3], 7);
        assert_int_equal(d4[i * 3 + 1], 8);
        assert_int_equal(d4[i * 3 + 2], 9);
    }
}

/* ---------------------------------------------------------------- bicubic */

static void bicubic_constant_and_identity(void **state) {
    (void)state;
    enum { SW = 13, SH = 7 };
    uint8_t src[SW * SH * 3], dst[40 * 3 * 30];
    for (int i = 0; i < SW * SH; i++) {
        src[i * 3] = 200;
        src[i * 3 + 1] = 3;
        src[i * 3 + 2] = 255;
    }
    /* normalised weights: a flat image stays flat (up and down) */
    assert_int_equal(mvk_image_resize_bicubic_u8(src, SW, SH, dst, 40, 30), MOEVK_OK);
    for (int i = 0; i < 40 * 30; i++) {
        assert_int_equal(dst[i * 3], 200);
        assert_int_equal(dst[i * 3 + 1], 3);
        assert_int_equal(dst[i * 3 + 2], 255);
    }
    assert_int_equal(mvk_image_resize_bicubic_u8(src, SW, SH, dst, 5, 2), MOEVK_OK);
    for (int i = 0; i < 5 * 2; i++) assert_int_equal(dst[i * 3 + 1], 3);
    for (int i = 0; i < SW * SH * 3; i++) src[i] = (uint8_t)(i * 37);
    assert_int_equal(mvk_image_resize_bicubic_u8(src, SW, SH, dst, SW, SH), MOEVK_OK);
    assert_memory_equal(src, dst, sizeof src);
}

static int have_pil(void) {
    return system("/usr/bin/python3 -c 'import PIL.Image' >/dev/null 2>&1") == 0;
}

/* Our bicubic against PIL's BICUBIC on a deterministic pattern, for up-,
 * down- and mixed scaling. PIL is the reference the bundled llama.cpp's
 * resize_pillow is written to match byte for byte. */
static void bicubic_matches_pil(void **state) {
    (void)state;
    if (!have_pil()) {
        TU_SKIP_MISSING("/usr/bin/python3 with PIL not available (apt-get install python3-pil)");
    }
    static const int cases[][4] = {{96, 64, 128, 86}, {300, 200, 97, 61}, {50, 120, 80, 37}, {33, 17, 33, 40},
                                   {64, 48, 17, 48}, {7, 5, 200, 3}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int sw = cases[t][0], sh = cases[t][1], dw = cases[t][2], dh = cases[t][3];
        uint8_t *src = malloc((size_t)sw * sh * 3), *dst = malloc((size_t)dw * dh * 3);
        /* a pattern with sharp edges (ringing, clamping) and gradients */
        for (int y = 0; y < sh; y++)
            for (int x = 0; x < sw; x++) {
                uint8_t *p = src + ((size_t)y * sw + x) * 3;
                p[0] = (uint8_t)((x * 255) / (sw > 1 ? sw - 1 : 1));
                p[1] = ((x / 3 + y / 2) & 1) ? 255 : 0;
                p[2] = (uint8_t)((x * 7 + y * 13 + x * y) & 255);
            }
        char in[400], out[400], cmd[1400];
        tmp_path(in, sizeof in, "pil_in.rgb");
        tmp_path(out, sizeof out, "pil_out.rgb");
        write_file(in, src, (size_t)sw * sh * 3);
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import PIL.Image as I; "
                 "im = I.frombytes('RGB', (%d, %d), open('%s', 'rb').read()); "
                 "open('%s', 'wb').write(im.resize((%d, %d), I.BICUBIC).tobytes())\"",
                 sw, sh, in, out, dw, dh);
        assert_int_equal(system(cmd), 0);
        size_t n = 0;
        uint8_t *ref = tu_read_file(out, &n);
        assert_non_null(ref);
        assert_int_equal(n, (size_t)dw * dh * 3);
        assert_int_equal(mvk_image_resize_bicubic_u8(src, sw, sh, dst, dw, dh), MOEVK_OK);
        size_t ndiff = 0;
        for (size_t i = 0; i < n; i++) ndiff += dst[i] != ref[i];
        if (ndiff) fprintf(stderr, "%dx%d -> %dx%d: %zu bytes differ from PIL\n", sw, sh, dw, dh, ndiff);
        assert_int_equal(ndiff, 0);
        free(ref);
        free(src);
        free(dst);
    }
}

/* MVK_RESIZE_LLAMA letterbox geometry on a white 30x10 image into 64x64:
 * scale = min(64/30, 64/10) = 2.1333; inner 64 x ceil(21.33) = 22; offset (0, 21). */
static void llama_mode_letterbox_geometry(void **state) {
    (void)state;
    mvk_image src, out;
    assert_int_equal(mvk_image_alloc(30, 10, &src), MOEVK_OK);
    memset(src.rgb, 255, 30 * 10 * 3);
    assert_int_equal(mvk_image_resize(&src, 64, 64, MVK_RESIZE_LLAMA, &out), MOEVK_OK);
    for (int y = 0; y < 64; y++) {
        const int inside = y >= 21 && y < 43;
        for (int x = 0; x < 64; x++) assert_int_equal(out.rgb[((size_t)y * 64 + x) * 3], inside ? 255 : 0);
    }
    mvk_image_free(&out);
    /* stretch modes fill the whole target */
    assert_int_equal(mvk_image_resize(&src, 64, 64, MVK_RESIZE_BICUBIC_STRETCH, &out), MOEVK_OK);
    for (int i = 0; i < 64 * 64 * 3; i++) assert_int_equal(out.rgb[i], 255);
    mvk_image_free(&out);
    assert_int_equal(mvk_image_resize(&src, 64, 64, MVK_RESIZE_BILINEAR_STRETCH, &out), MOEVK_OK);
    for (int i = 0; i < 64 * 64 * 3; i++) assert_int_equal(out.rgb[i], 255);
    mvk_image_free(&out);
    mvk_image_free(&src);
}

static void normalise_formula(void **state) {
    (void)state;
    mvk_image img;
    assert_int_equal(mvk_image_alloc(2, 1, &img), MOEVK_OK);
    const uint8_t px[6] = {0, 255, 51, 102, 204, 153};
    memcpy(img.rgb, px, 6);
    const float mean[3] = {0.25f, 0.5f, 0.75f}, sd[3] = {0.5f, 0.25f, 2.0f};
    float out[6];
    assert_int_equal(mvk_image_to_planar_f32(&img, mean, sd, out), MOEVK_OK);
    /* planar: out[c*2 + x]; (u/255 - mean)/std, e.g. R(0) = -0.5, G(255) = 2, B(51) = (0.2-0.75)/2 */
    assert_float_equal(out[0], -0.5f, 1e-6);
    assert_float_equal(out[1], (102.0f / 255 - 0.25f) / 0.5f, 1e-6);
    assert_float_equal(out[2], 2.0f, 1e-6);
    assert_float_equal(out[3], (204.0f / 255 - 0.5f) / 0.25f, 1e-6);
    assert_float_equal(out[4], (0.2f - 0.75f) / 2.0f, 1e-6);
    assert_float_equal(out[5], (0.6f - 0.75f) / 2.0f, 1e-6);
    const float zero[3] = {1, 0, 1};
    assert_int_equal(mvk_image_to_planar_f32(&img, mean, zero, out), MOEVK_ERR_INVALID_ARG);
    mvk_image_free(&img);
}

static void downscale_fit_box(void **state) {
    (void)state;
    mvk_image src, out;
    assert_int_equal(mvk_image_alloc(8, 4, &src), MOEVK_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 8; x++) src.rgb[(y * 8 + x) * 3] = (uint8_t)(x < 4 ? 10 : 20 + y);
    /* fit into 4x4: scale 0.5 -> 4x2, each output the mean of a 2x2 box */
    assert_int_equal(mvk_image_downscale_fit(&src, 4, 4, &out), MOEVK_OK);
    assert_int_equal(out.w, 4);
    assert_int_equal(out.h, 2);
    assert_int_equal(out.rgb[0], 10);
    assert_int_equal(out.rgb[(0 * 4 + 2) * 3], 21); /* (20+20+21+21)/4 = 20.5 -> 21 (rounded) */
    assert_int_equal(out.rgb[(1 * 4 + 3) * 3], 23); /* (22+22+23+23)/4 = 22.5 -> 23 */
    mvk_image_free(&out);
    /* already small: a copy */
    assert_int_equal(mvk_image_downscale_fit(&src, 100, 100, &out), MOEVK_OK);
    assert_int_equal(out.w, 8);
    assert_memory_equal(out.rgb, src.rgb, 8 * 4 * 3);
    mvk_image_free(&out);
    mvk_image_free(&src);
}

/* ---------------------------------------------------------------- formats and hostile files */

typedef struct membuf {
    uint8_t *p;
    size_t n;
} membuf;

static void membuf_writer(void *ctx, void *data, int size) {
    membuf *m = ctx;
    m->p = realloc(m->p, m->n + (size_t)size);
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

static void formats_round_trip(void **state) {
    (void)state;
    enum { W = 21, H = 11 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i * 31 + 7);
    char p[400];
    mvk_image img;
    /* PNG is lossless: exact (other formats: test_image_decode.c) */
    tmp_path(p, sizeof p, "a.png");
    assert_true(stbi_write_png(p, W, H, 3, px, W * 3));
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    assert_int_equal(img.w, W);
    assert_int_equal(img.h, H);
    assert_memory_equal(img.rgb, px, sizeof px);
    mvk_image_free(&img);
    /* grey+alpha PNG is expanded to RGB */
    uint8_t ga[W * H * 2];
    for (int i = 0; i < W * H; i++) {
        ga[i * 2] = (uint8_t)i;
        ga[i * 2 + 1] = 128;
    }
    tmp_path(p, sizeof p, "ga.png");
    assert_true(stbi_write_png(p, W, H, 2, ga, W * 2));
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    for (int i = 0; i < W * H; i++) assert_int_equal(img.rgb[i * 3 + 2], (uint8_t)i);
    mvk_image_free(&img);
}

/* tests/data holds files made by PIL (see tests/data/README.md) */
static void data_path(char *out, size_t cap, const char *name) {
    const char *src = getenv("MOEVK_SOURCE_DIR");
    if (src) {
        snprintf(out, cap, "%s/tests/data/%s", src, name);
    } else { /* __FILE__ is absolute in CMake builds */
        snprintf(out, cap, "%s", __FILE__);
        char *slash = strrchr(out, '/');
        if (slash) snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "data/%s", name);
    }
}

static void jpeg_and_gif_from_pil(void **state) {
    (void)state;
    char p[600];
    mvk_image img;
    /* JPEG (from memory): PIL wrote a flat (120, 60, 200) 21x11 at quality 90; lossy, so +-3 */
    data_path(p, sizeof p, "flat_21x11.jpg");
    size_t n = 0;
    uint8_t *jpg = tu_read_file(p, &n);
    assert_non_null(jpg);
    assert_int_equal(mvk_image_load_memory(jpg, n, "flat_21x11.jpg", &img), MOEVK_OK);
    assert_int_equal(img.w, 21);
    assert_int_equal(img.h, 11);
    const int want[3] = {120, 60, 200};
    for (int i = 0; i < 21 * 11; i++)
        for (int c = 0; c < 3; c++) assert_true(abs((int)img.rgb[i * 3 + c] - want[c]) <= 3);
    mvk_image_free(&img);
    free(jpg);
    /* GIF (palette): pixel (x, y) = colours[(x + y) % 5], exact */
    static const uint8_t cols[5][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {10, 20, 30}};
    data_path(p, sizeof p, "pattern_5x3.gif");
    assert_int_equal(mvk_image_load_file(p, &img), MOEVK_OK);
    assert_int_equal(img.w, 5);
    assert_int_equal(img.h, 3);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) assert_memory_equal(img.rgb + (y * 5 + x) * 3, cols[(x + y) % 5], 3);
    mvk_image_free(&img);
}

static void expect_fail(const char *path, moevk_status want, const char *needle) {
    mvk_image img;
    memset(&img, 0xAB, sizeof img);
    moevk_status st = mvk_image_load_file(path, &img);
    fprintf(stderr, "  %s -> %s: %s\n", path, moevk_status_str(st), moevk_last_error());
    assert_int_equal(st, want);
    assert_null(img.rgb);
    assert_int_equal(img.w, 0);
    assert_non_null(strstr(moevk_last_error(), path)); /* names the file */
    if (needle) assert_non_null(strstr(moevk_last_error(), needle));
    mvk_image_free(&img);
}

/* fuzz_image, crash 1: a JPEG whose Huffman table (DHT) declares more than
 * 256 codes. Debian's stb_image 2.27 then writes past the table's arrays
 * (UBSan: index 257 out of bounds for 'stbi_uc[257]' in stbi__build_huffman).
 * Made here from tests/data/flat_21x11.jpg: every count of its first DHT
 * table set to 20 (320 codes); the segment length is kept. */
static void jpeg_oversized_huffman_table_refused(void **state) {
    (void)state;
    char src[400], p[400];
    data_path(src, sizeof src, "flat_21x11.jpg");
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t dht = 0;
    for (size_t i = 2; i + 21 < n && !dht; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC4) dht = i;
    assert_true(dht > 0);
    for (int k = 0; k < 16; k++) buf[dht + 5 + k] = 20;  // FF C4, 2 length bytes, class/id, then the 16 counts
    tmp_path(p, sizeof p, "huffman_320.jpg");
    write_file(p, buf, n);
    expect_fail(p, MOEVK_ERR_IMAGE, "Huffman");
    mvk_image img;
    assert_int_equal(mvk_image_load_memory(buf, n, "mem.jpg", &img), MOEVK_ERR_IMAGE);
    assert_null(img.rgb);
    /* fuzz_camera, crash 3: the same behind fill bytes (stb skips FFs before SOI) */
    uint8_t filled[8192 + 24];
    memset(filled, 0xFF, 24);
    memcpy(filled + 24, buf, n);
    assert_int_equal(mvk_image_load_memory(filled, n + 24, "filled.jpg", &img), MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "Huffman"));
}

/* fuzz_image, crash 4: a PNM header number beyond INT_MAX (stb 2.27's
 * stbi__pnm_getinteger overflowed a signed int: UBSan "333333333 * 10").
 * PNM is no longer read at all: these inputs are refused by name. */
static void pnm_header_number_overflow_refused(void **state) {
    (void)state;
    static const char *const heads[] = {"P5\n33333333333333333 2\n255\n", "P6\n2 #c\n 4294967299\n255\n",
                                        "P5 2 2 99999999999\n"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        uint8_t buf[128];
        size_t n = strlen(heads[i]);
        memcpy(buf, heads[i], n);
        memset(buf + n, 7, 16);
        mvk_image img;
        assert_int_equal(mvk_image_load_memory(buf, n + 16, "big.pgm", &img), MOEVK_ERR_IMAGE);
        assert_non_null(strstr(moevk_last_error(), "PNM"));
    }
}

/* fuzz_image, crash 5 (tests/fuzz/open/image-crash-ae807...): a 16-bit PGM
 * (maxval > 255); stb 2.27 converted it to RGB with its 8-bit converter and
 * then read twice the converted buffer (heap-buffer-overflow under ASan).
 * Refused by name now that PNM is not read. */
static void pnm_16bit_refused(void **state) {
    (void)state;
    static const uint8_t crash[] = {0x50, 0x35, 0x0a, 0x32, 0x32, 0x35, 0x32, 0x20, 0x35, 0x32, 0x20,
                                    0x34, 0x32, 0x35, 0x32, 0x20, 0x34, 0x00, 0x0a, 0x5c, 0xc3};
    mvk_image img;
    assert_int_equal(mvk_image_load_memory(crash, sizeof crash, "crash.pgm", &img), MOEVK_ERR_IMAGE);
    assert_null(img.rgb);
    assert_non_null(strstr(moevk_last_error(), "PNM"));
    uint8_t buf[64] = "P6\n2 2\n65535\n";
    memset(buf + 14, 9, 24);
    assert_int_equal(mvk_image_load_memory(buf, 38, "wide.ppm", &img), MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "PNM"));
}

static void hostile_files_fail_cleanly(void **state) {
    (void)state;
    char p[400];
    /* missing file: I/O */
    tmp_path(p, sizeof p, "does_not_exist.png");
    expect_fail(p, MOEVK_ERR_IO, "cannot open");
    /* a directory: I/O on read */
    expect_fail(g_tmp, MOEVK_ERR_IO, NULL);
    /* empty file */
    tmp_path(p, sizeof p, "empty.png");
    write_file(p, "", 0);
    expect_fail(p, MOEVK_ERR_IMAGE, "empty");
    /* random bytes */
    uint8_t junk[4096];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        junk[i] = (uint8_t)(x >> 56);
    }
    tmp_path(p, sizeof p, "random.png");
    write_file(p, junk, sizeof junk);
    expect_fail(p, MOEVK_ERR_IMAGE, NULL);
    /* truncated PNG: a real PNG cut at several lengths */
    enum { W = 64, H = 48 };
    uint8_t *px = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i ^ (i >> 7));
    membuf m = {0};
    assert_true(stbi_write_png_to_func(membuf_writer, &m, W, H, 3, px, W * 3));
    const uint8_t *png = m.p;
    const int len = (int)m.n;
    assert_true(len > 100);
    const int cuts[] = {4, 8, 20, 33, 50, len / 2, len - 13};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tmp_path(p, sizeof p, "truncated.png");
        write_file(p, png, (size_t)cuts[i]);
        expect_fail(p, MOEVK_ERR_IMAGE, NULL);
    }
    free(m.p);
    free(px);
    /* headers that claim absurd sizes: refused before allocating */
    static const uint8_t big_side[] = {'G', 'I', 'F', '8', '9', 'a', 0x40, 0x9C, 16, 0, 0, 0, 0, ';'}; /* 40000 x 16 */
    tmp_path(p, sizeof p, "big_side.gif");
    write_file(p, big_side, sizeof big_side);
    expect_fail(p, MOEVK_ERR_IMAGE, "too large");
    static const uint8_t big_area[] = {'G', 'I', 'F', '8', '9', 'a', 0x20, 0x4E, 0x20, 0x4E, 0, 0, 0, ';'}; /* 20000^2 */
    tmp_path(p, sizeof p, "big_area.gif");
    write_file(p, big_area, sizeof big_area);
    expect_fail(p, MOEVK_ERR_IMAGE, "too large");
    /* memory API: NULL and zero-length */
    mvk_image img;
    assert_int_equal(mvk_image_load_memory(NULL, 10, "x", &img), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(mvk_image_load_memory(junk, 0, "x", &img), MOEVK_ERR_IMAGE);
    assert_int_equal(mvk_image_load_file(NULL, &img), MOEVK_ERR_INVALID_ARG);
    mvk_image_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_png_decodes_to_image_rgb),
        cmocka_unit_test(golden_pixels_f32_match),
        cmocka_unit_test(golden_default_min_tokens_letterbox),
        cmocka_unit_test(smart_size_worked_examples),
        cmocka_unit_test(smart_size_rejects_bad_args),
        cmocka_unit_test(bilinear_hand_cases),
        cmocka_unit_test(bicubic_constant_and_identity),
        cmocka_unit_test(bicubic_matches_pil),
        cmocka_unit_test(llama_mode_letterbox_geometry),
        cmocka_unit_test(normalise_formula),
        cmocka_unit_test(downscale_fit_box),
        cmocka_unit_test(formats_round_trip),
        cmocka_unit_test(jpeg_and_gif_from_pil),
        cmocka_unit_test(hostile_files_fail_cleanly),
        cmocka_unit_test(jpeg_oversized_huffman_table_refused),
        cmocka_unit_test(pnm_header_number_overflow_refused),
        cmocka_unit_test(pnm_16bit_refused),
    };
    return tu_exit(cmocka_run_group_tests(tests, setup_tmp, teardown_tmp));
}
