/* test_heatmap.c — routing heatmap rendering (app/common/heatmap.c).
 *
 * Expected colours: matplotlib's published viridis values at 0, 0.5 and 1
 * (#440154, #21918c, #fde725); expected shares worked by hand from a made-up
 * count matrix; the PNG is read back with stb_image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heatmap.h"
#include "image.h"
#include "test_util.h"

static void expect_rgb(const uint8_t *got, int r, int g, int b) {
    if (got[0] != r || got[1] != g || got[2] != b)
        fprintf(stderr, "  got (%d,%d,%d), want (%d,%d,%d)\n", got[0], got[1], got[2], r, g, b);
    assert_int_equal(got[0], r);
    assert_int_equal(got[1], g);
    assert_int_equal(got[2], b);
}

static void colormap_is_viridis(void **state) {
    (void)state;
    uint8_t c[3];
    heatmap_color(0.0f, c);
    expect_rgb(c, 0x44, 0x01, 0x54);
    heatmap_color(0.5f, c);
    expect_rgb(c, 0x21, 0x91, 0x8c);
    heatmap_color(1.0f, c);
    expect_rgb(c, 0xfd, 0xe7, 0x25);
    /* clamping */
    heatmap_color(-3.0f, c);
    expect_rgb(c, 0x44, 0x01, 0x54);
    heatmap_color(NAN, c);
    expect_rgb(c, 0x44, 0x01, 0x54);
    heatmap_color(7.0f, c);
    expect_rgb(c, 0xfd, 0xe7, 0x25);
    /* perceptually ordered: luminance never drops (1 unit of rounding slack) */
    double prev = -1;
    for (int i = 0; i <= 1000; i++) {
        heatmap_color(i / 1000.0f, c);
        const double lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        assert_true(lum >= prev - 1.0);
        prev = lum;
    }
}

/* 3 layers x 4 experts, k = 2; 10 image tokens, 5 text tokens. */
static const float k_img[12] = {10, 5, 5, 0, /**/ 2, 8, 6, 4, /**/ 0, 0, 10, 10};
static const float k_txt[12] = {0, 5, 0, 5, /**/ 1, 1, 4, 4, /**/ 5, 0, 5, 0};
/* shares by hand: count / tokens */
static const float k_img_share[12] = {1.0f, 0.5f, 0.5f, 0.0f, 0.2f, 0.8f, 0.6f, 0.4f, 0.0f, 0.0f, 1.0f, 1.0f};
static const float k_txt_share[12] = {0.0f, 1.0f, 0.0f, 1.0f, 0.2f, 0.2f, 0.8f, 0.8f, 1.0f, 0.0f, 1.0f, 0.0f};

static heatmap_input make_input(void) {
    heatmap_input in = {.n_layers = 3, .n_experts = 4, .k = 2, .image_values = k_img, .text_values = k_txt,
                        .n_image_tokens = 10, .n_text_tokens = 5};
    return in;
}

static void cell_centres_have_share_colours(void **state) {
    (void)state;
    heatmap_input in = make_input();
    for (int l = 0; l < 3; l++) { /* the matrix is a valid top-2 routing: rows sum to k */
        float si = 0, st = 0;
        for (int e = 0; e < 4; e++) {
            si += k_img_share[l * 4 + e];
            st += k_txt_share[l * 4 + e];
        }
        assert_float_equal(si, 2.0f, 1e-6);
        assert_float_equal(st, 2.0f, 1e-6);
    }
    heatmap_layout lay;
    assert_int_equal(heatmap_layout_make(3, 4, 10, 6, &lay), MOEVK_OK);
    uint8_t *rgb = malloc((size_t)lay.width * lay.height * 3);
    const float vmaxes[2] = {0.0f /* auto: 1.0 here */, 0.5f};
    for (int vi = 0; vi < 2; vi++) {
        const float vmax = vi == 0 ? 1.0f : 0.5f;
        assert_int_equal(heatmap_render(&in, &lay, vmaxes[vi], rgb), MOEVK_OK);
        for (int pi = 0; pi < 2; pi++)
            for (int l = 0; l < 3; l++)
                for (int e = 0; e < 4; e++) {
                    heatmap_rect r;
                    assert_int_equal(heatmap_cell_rect(&lay, pi, l, e, &r), 0);
                    assert_int_equal(r.w, 10);
                    assert_int_equal(r.h, 6);
                    const float share = (pi == HEATMAP_IMAGE ? k_img_share : k_txt_share)[l * 4 + e];
                    assert_float_equal(heatmap_share(&in, pi, l, e), share, 1e-6);
                    uint8_t want[3];
                    heatmap_color(share / vmax, want);
                    /* centre and the four corners of the cell: the whole cell is filled */
                    const int xs[5] = {r.x + r.w / 2, r.x, r.x + r.w - 1, r.x, r.x + r.w - 1};
                    const int ys[5] = {r.y + r.h / 2, r.y, r.y, r.y + r.h - 1, r.y + r.h - 1};
                    for (int q = 0; q < 5; q++)
                        expect_rgb(rgb + ((size_t)ys[q] * lay.width + xs[q]) * 3, want[0], want[1], want[2]);
                }
    }
    assert_float_equal(heatmap_auto_vmax(&in), 1.0f, 1e-6);
    free(rgb);
}

static void layout_rects_and_hit_test(void **state) {
    (void)state;
    heatmap_layout lay;
    assert_int_equal(heatmap_layout_make(48, 128, 0, 0, &lay), MOEVK_OK); /* a real model's shape */
    assert_true(lay.cell_w >= 2 && lay.cell_h >= 2);
    assert_true(lay.panel[1].x >= lay.panel[0].x + lay.panel[0].w + 2); /* panels do not touch */
    for (int pi = 0; pi < 2; pi++)
        for (int l = 0; l < 48; l += 7)
            for (int e = 0; e < 128; e += 9) {
                heatmap_rect r;
                assert_int_equal(heatmap_cell_rect(&lay, pi, l, e, &r), 0);
                assert_true(r.x >= 0 && r.y >= 0 && r.x + r.w <= lay.width && r.y + r.h <= lay.height);
                assert_true(r.y + r.h <= lay.legend.y);
                int hp, hl, he;
                assert_int_equal(heatmap_hit(&lay, r.x, r.y, &hp, &hl, &he), 0);
                assert_int_equal(hp, pi);
                assert_int_equal(hl, l);
                assert_int_equal(he, e);
                assert_int_equal(heatmap_hit(&lay, r.x + r.w - 1, r.y + r.h - 1, &hp, &hl, &he), 0);
                assert_int_equal(hl, l);
                assert_int_equal(he, e);
            }
    heatmap_rect r;
    assert_int_equal(heatmap_cell_rect(&lay, 2, 0, 0, &r), -1);
    assert_int_equal(heatmap_cell_rect(&lay, 0, 48, 0, &r), -1);
    assert_int_equal(heatmap_cell_rect(&lay, 0, 0, -1, &r), -1);
    assert_int_equal(heatmap_hit(&lay, 0, 0, NULL, NULL, NULL), -1); /* the margin */
    assert_int_equal(heatmap_layout_make(0, 4, 0, 0, &lay), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(heatmap_layout_make(4, 100000, 0, 0, &lay), MOEVK_ERR_INVALID_ARG);
}

static void empty_group_and_bad_input(void **state) {
    (void)state;
    heatmap_input in = make_input();
    in.n_text_tokens = 0;
    heatmap_layout lay;
    assert_int_equal(heatmap_layout_make(3, 4, 5, 5, &lay), MOEVK_OK);
    uint8_t *rgb = malloc((size_t)lay.width * lay.height * 3);
    assert_int_equal(heatmap_render(&in, &lay, 0.0f, rgb), MOEVK_OK);
    uint8_t first[3], c0[3];
    heatmap_color(0.0f, c0);
    for (int l = 0; l < 3; l++)
        for (int e = 0; e < 4; e++) {
            heatmap_rect r;
            heatmap_cell_rect(&lay, HEATMAP_TEXT, l, e, &r);
            const uint8_t *p = rgb + ((size_t)(r.y + 2) * lay.width + r.x + 2) * 3;
            if (l == 0 && e == 0) memcpy(first, p, 3);
            assert_memory_equal(p, first, 3); /* one flat colour ... */
            assert_memory_not_equal(p, c0, 3); /* ... that is not "share 0" */
            assert_float_equal(heatmap_share(&in, HEATMAP_TEXT, l, e), 0.0f, 0);
        }
    heatmap_layout other;
    assert_int_equal(heatmap_layout_make(3, 5, 5, 5, &other), MOEVK_OK);
    assert_int_equal(heatmap_render(&in, &other, 0.0f, rgb), MOEVK_ERR_SHAPE);
    assert_int_equal(heatmap_render(NULL, &lay, 0.0f, rgb), MOEVK_ERR_INVALID_ARG);
    free(rgb);
}

static void font_draws_glyph_bits(void **state) {
    (void)state;
    uint8_t buf[8 * 10 * 3];
    memset(buf, 0, sizeof buf);
    const uint8_t white[3] = {255, 255, 255};
    /* 'T' = top row full, then the middle column */
    assert_int_equal(heatmap_draw_text(buf, 8, 10, 1, 1, "T", 1, white), 6);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 8; x++) {
            const int on = (y == 1 && x >= 1 && x <= 5) || (y >= 2 && y <= 7 && x == 3);
            assert_int_equal(buf[(y * 8 + x) * 3], on ? 255 : 0);
        }
    /* clipping: drawing far outside changes nothing and does not crash */
    uint8_t copy[sizeof buf];
    memcpy(copy, buf, sizeof buf);
    heatmap_draw_text(buf, 8, 10, -100, 50, "IMAGE TEXT 0.25", 2, white);
    assert_memory_equal(buf, copy, sizeof buf);
}

static void png_round_trip(void **state) {
    (void)state;
    heatmap_input in = make_input();
    char path[] = "/tmp/moevk_test_heatmap_XXXXXX.png";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(heatmap_write_png(path, &in, 7, 9, 0.0f), MOEVK_OK);
    heatmap_layout lay;
    assert_int_equal(heatmap_layout_make(3, 4, 7, 9, &lay), MOEVK_OK);
    uint8_t *rgb = malloc((size_t)lay.width * lay.height * 3);
    assert_int_equal(heatmap_render(&in, &lay, 0.0f, rgb), MOEVK_OK);
    mvk_image img;
    assert_int_equal(mvk_image_load_file(path, &img), MOEVK_OK);
    assert_int_equal(img.w, lay.width);
    assert_int_equal(img.h, lay.height);
    assert_memory_equal(img.rgb, rgb, (size_t)lay.width * lay.height * 3);
    mvk_image_free(&img);
    free(rgb);
    unlink(path);
    assert_int_equal(heatmap_write_png("/nonexistent-dir/x.png", &in, 0, 0, 0.0f), MOEVK_ERR_IO);
}

static void accumulate_counts_and_weights(void **state) {
    (void)state;
    /* 2 layers x 3 experts, k = 2; two tokens */
    const int32_t t0[4] = {2, 0, /**/ 1, 2};
    const float w0[4] = {0.7f, 0.3f, 0.6f, 0.4f};
    const int32_t t1[4] = {2, 1, /**/ 1, 99}; /* 99: out of range, ignored */
    const float w1[4] = {0.5f, 0.5f, 0.9f, 0.1f};
    float cnt[6] = {0}, wsum[6] = {0};
    heatmap_accumulate(cnt, 2, 3, 2, t0, w0, 0);
    heatmap_accumulate(cnt, 2, 3, 2, t1, w1, 0);
    heatmap_accumulate(wsum, 2, 3, 2, t0, w0, 1);
    heatmap_accumulate(wsum, 2, 3, 2, t1, w1, 1);
    const float want_cnt[6] = {1, 1, 2, /**/ 0, 2, 1};
    const float want_w[6] = {0.3f, 0.5f, 1.2f, /**/ 0.0f, 1.5f, 0.4f};
    for (int i = 0; i < 6; i++) {
        assert_float_equal(cnt[i], want_cnt[i], 0);
        assert_float_equal(wsum[i], want_w[i], 1e-6);
    }
    heatmap_accumulate(cnt, 2, 3, 2, t0, NULL, 1); /* by weight without weights: no-op */
    assert_float_equal(cnt[2], 2.0f, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(colormap_is_viridis),
        cmocka_unit_test(cell_centres_have_share_colours),
        cmocka_unit_test(layout_rects_and_hit_test),
        cmocka_unit_test(empty_group_and_bad_input),
        cmocka_unit_test(font_draws_glyph_bits),
        cmocka_unit_test(png_round_trip),
        cmocka_unit_test(accumulate_counts_and_weights),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
