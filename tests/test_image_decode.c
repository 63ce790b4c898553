/* test_image_decode.c — the image decoders (engine/image_decode.c and one file
 * per format): each format against pixels known independently of the decoder
 * (lossless files written here by libpng, libwebp and stb_image_write, lossy
 * ones compared within their loss), EXIF orientation against rotations built
 * here from the EXIF specification's row/column table, CMYK and 16-bit inputs,
 * formats refused by name, a hostile set (damaged, truncated, absurd headers)
 * refused cleanly, and the public moevk_image_* API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <stb/stb_image_write.h>
#include <webp/encode.h>

#include "image.h"
#include "image_decode.h"
#include "moevk.h"
#include "test_util.h"

/* ---------------------------------------------------------------- encoders (test side) */

typedef struct membuf {
    uint8_t *p;
    size_t n;
} membuf;

static void membuf_put(void *ctx, void *data, int size) {
    membuf *m = ctx;
    m->p = realloc(m->p, m->n + (size_t)size);
    assert_non_null(m->p);
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

/* A JPEG of w x h pixels with `comps` components (3: RGB in, 4: CMYK in,
 * Adobe-inverted as Photoshop writes it), optionally with an APP1 block. */
static membuf jpeg_encode(const uint8_t *px, int w, int h, int comps, int quality, const uint8_t *app1, size_t app1_n) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    if (comps == 4) jpeg_set_colorspace(&c, JCS_CMYK); /* writes the Adobe marker */
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (app1) jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned int)app1_n);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    membuf m = {malloc(n), n};
    memcpy(m.p, out, n);
    free(out);
    return m;
}

static void png_put(png_structp p, png_bytep d, png_size_t n) { membuf_put(png_get_io_ptr(p), d, (int)n); }
static void png_flush_nop(png_structp p) { (void)p; }

/* A PNG of 8- or 16-bit samples, colour type RGB or RGBA, optional eXIf (bare TIFF). */
static membuf png_encode(const void *px, int w, int h, int depth, int rgba, const uint8_t *exif, size_t exif_n) {
    membuf m = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    assert_non_null(info);
    png_set_write_fn(p, &m, png_put, png_flush_nop);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, rgba ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (exif) png_set_eXIf_1(p, info, (png_uint_32)exif_n, (png_bytep)exif);
    png_write_info(p, info);
    if (depth == 16) png_set_swap(p); /* our 16-bit samples are host (little-endian) order */
    const size_t row = (size_t)w * (rgba ? 4 : 3) * (size_t)(depth / 8);
    for (int y = 0; y < h; y++) png_write_row(p, (png_const_bytep)px + (size_t)y * row);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    return m;
}

/* A TIFF (EXIF) block holding one IFD0 entry, Orientation = o; big-endian
 * ("MM") when be, else little-endian ("II"). */
static size_t tiff_orientation(uint8_t *t, int o, int be) {
    static const uint8_t ii[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t mm[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(t, be ? mm : ii, sizeof ii);
    t[be ? 19 : 18] = (uint8_t)o; /* the SHORT value, left-justified in the 4-byte value field */
    return sizeof ii;
}

/* the visual (upright) pattern: smooth, every pixel distinct enough to show a wrong orientation */
static void pattern(uint8_t *px, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = px + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(255 * x / (w > 1 ? w - 1 : 1));
            q[1] = (uint8_t)(255 * y / (h > 1 ? h - 1 : 1));
            q[2] = (uint8_t)((x < w / 3 && y < h / 4) ? 230 : 40); /* a block at the visual top-left */
        }
}

/* The stored image for EXIF orientation o of an upright vw x vh image, from the
 * specification's table (which visual side the stored row 0 / column 0 is). */
static void stored_for(const uint8_t *up, int vw, int vh, int o, uint8_t *st, int *sw, int *sh) {
    /* row0 side, col0 side: T top, B bottom, L left, R right */
    static const char *const sides[9] = {"", "TL", "TR", "BR", "BL", "LT", "RT", "RB", "LB"};
    const char row0 = sides[o][0], col0 = sides[o][1];
    const int swap = row0 == 'L' || row0 == 'R';
    *sw = swap ? vh : vw;
    *sh = swap ? vw : vh;
    for (int r = 0; r < *sh; r++)
        for (int c = 0; c < *sw; c++) {
            int x = 0, y = 0;
            if (row0 == 'T') y = r;
            if (row0 == 'B') y = vh - 1 - r;
            if (row0 == 'L') x = r;
            if (row0 == 'R') x = vw - 1 - r;
            if (col0 == 'L') x = c;
            if (col0 == 'R') x = vw - 1 - c;
            if (col0 == 'T') y = c;
            if (col0 == 'B') y = vh - 1 - c;
            memcpy(st + ((size_t)r * *sw + c) * 3, up + ((size_t)y * vw + x) * 3, 3);
        }
}

/* PNG's CRC-32 (ISO 3309), bit by bit */
static uint32_t crc32_png(const uint8_t *d, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void expect_refused(const void *data, size_t n, const char *name, const char *needle) {
    mvk_image img;
    memset(&img, 0xAB, sizeof img);
    moevk_status s = mvk_image_load_memory(data, n, name, &img);
    fprintf(stderr, "  %s (%zu bytes) -> %s: %s\n", name, n, moevk_status_str(s), moevk_last_error());
    assert_int_equal(s, MOEVK_ERR_IMAGE);
    assert_null(img.rgb);
    assert_int_equal(img.w, 0);
    assert_non_null(strstr(moevk_last_error(), name)); /* names the file */
    if (needle) assert_non_null(strstr(moevk_last_error(), needle));
}

/* ---------------------------------------------------------------- orientation */

/* Every orientation, lossless (PNG with eXIf, both byte orders): exact. */
static void png_exif_every_orientation(void **state) {
    (void)state;
    enum { VW = 7, VH = 5 };
    uint8_t up[VW * VH * 3], st[VW * VH * 3];
    pattern(up, VW, VH);
    for (int be = 0; be < 2; be++)
        for (int o = 1; o <= 8; o++) {
            int sw, sh;
            stored_for(up, VW, VH, o, st, &sw, &sh);
            uint8_t tiff[64];
            size_t tn = tiff_orientation(tiff, o, be);
            membuf f = png_encode(st, sw, sh, 8, 0, tiff, tn);
            mvk_image img;
            assert_int_equal(mvk_image_load_memory(f.p, f.n, "oriented.png", &img), MOEVK_OK);
            assert_int_equal(img.w, VW);
            assert_int_equal(img.h, VH);
            assert_memory_equal(img.rgb, up, sizeof up);
            mvk_image_free(&img);
            free(f.p);
        }
}

/* The case: a 4000x3000 JPEG whose EXIF says "orientation 6" (a
 * portrait phone photo) preprocesses to the same pixels as the upright
 * 3000x4000 JPEG, within JPEG loss; read without the orientation it would not. */
static void jpeg_exif_6_4000x3000_upright(void **state) {
    (void)state;
    const int VW = 3000, VH = 4000;
    uint8_t *up = malloc((size_t)VW * VH * 3), *st = malloc((size_t)VW * VH * 3);
    assert_non_null(up);
    assert_non_null(st);
    pattern(up, VW, VH);
    int sw, sh;
    stored_for(up, VW, VH, 6, st, &sw, &sh);
    assert_int_equal(sw, 4000);
    assert_int_equal(sh, 3000);
    uint8_t app1[64];
    memcpy(app1, "Exif\0\0", 6);
    size_t an = 6 + tiff_orientation(app1 + 6, 6, 1);
    membuf a = jpeg_encode(up, VW, VH, 3, 92, NULL, 0);
    membuf b = jpeg_encode(st, sw, sh, 3, 92, app1, an);
    mvk_image ia, ib;
    assert_int_equal(mvk_image_load_memory(a.p, a.n, "upright.jpg", &ia), MOEVK_OK);
    assert_int_equal(mvk_image_load_memory(b.p, b.n, "phone.jpg", &ib), MOEVK_OK);
    assert_int_equal(ib.w, VW);
    assert_int_equal(ib.h, VH);
    mvk_image_prep_params pp = mvk_image_prep_default_params();
    pp.max_tokens = 256;
    mvk_image_prep pa, pb;
    assert_int_equal(mvk_image_preprocess(&ia, &pp, &pa), MOEVK_OK);
    assert_int_equal(mvk_image_preprocess(&ib, &pp, &pb), MOEVK_OK);
    assert_int_equal(pa.w, pb.w);
    assert_int_equal(pa.h, pb.h);
    assert_true(pa.h > pa.w); /* portrait */
    const size_t n = (size_t)3 * pa.w * pa.h;
    double sum = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)pa.pixels[i] - pb.pixels[i]);
        sum += d;
        if (d > mx) mx = d;
    }
    fprintf(stderr, "  orientation 6: mean |diff| %.5f, max %.5f (normalised units, range 2)\n", sum / n, mx);
    assert_true(sum / n < 0.01);
    assert_true(mx < 0.1);
    mvk_image_prep_free(&pa);
    mvk_image_prep_free(&pb);
    mvk_image_free(&ia);
    mvk_image_free(&ib);
    free(a.p);
    free(b.p);
    free(up);
    free(st);
}

/* ---------------------------------------------------------------- formats */

static void webp_lossless_equals_png(void **state) {
    (void)state;
    enum { W = 33, H = 17 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i * 37 + (i >> 5));
    uint8_t *wp = NULL;
    size_t wn = WebPEncodeLosslessRGB(px, W, H, W * 3, &wp);
    assert_true(wn > 0);
    membuf png = {0};
    assert_true(stbi_write_png_to_func(membuf_put, &png, W, H, 3, px, W * 3));
    mvk_image a, b;
    assert_int_equal(mvk_image_load_memory(wp, wn, "a.webp", &a), MOEVK_OK);
    assert_int_equal(mvk_image_load_memory(png.p, png.n, "a.png", &b), MOEVK_OK);
    assert_int_equal(a.w, W);
    assert_int_equal(a.h, H);
    assert_memory_equal(a.rgb, px, sizeof px);
    assert_memory_equal(a.rgb, b.rgb, sizeof px);
    mvk_image_free(&a);
    mvk_image_free(&b);
    /* lossy WebP of a flat colour: within loss */
    uint8_t flat[W * H * 3];
    for (int i = 0; i < W * H; i++) flat[i * 3] = 200, flat[i * 3 + 1] = 100, flat[i * 3 + 2] = 30;
    uint8_t *lp = NULL;
    size_t ln = WebPEncodeRGB(flat, W, H, W * 3, 90.0f, &lp);
    assert_true(ln > 0);
    assert_int_equal(mvk_image_load_memory(lp, ln, "lossy.webp", &a), MOEVK_OK);
    for (int i = 0; i < W * H * 3; i++) assert_true(abs((int)a.rgb[i] - flat[i]) <= 6);
    mvk_image_free(&a);
    /* truncated */
    expect_refused(wp, wn / 2, "half.webp", "WebP");
    WebPFree(wp);
    WebPFree(lp);
    free(png.p);
}

static void cmyk_jpeg_converted(void **state) {
    (void)state;
    enum { W = 16, H = 8 };
    uint8_t cmyk[W * H * 4];
    /* left half red (magenta + yellow ink), right half blue (cyan + magenta ink);
     * Adobe (Photoshop) stores ink inverted: 255 = no ink */
    static const uint8_t red[4] = {255, 0, 0, 255}, blue[4] = {0, 0, 255, 255};
    for (int i = 0; i < W * H; i++) memcpy(cmyk + i * 4, i % W < W / 2 ? red : blue, 4);
    membuf j = jpeg_encode(cmyk, W, H, 4, 95, NULL, 0);
    mvk_image img;
    assert_int_equal(mvk_image_load_memory(j.p, j.n, "cmyk.jpg", &img), MOEVK_OK);
    const uint8_t *l = img.rgb + (4 * W + 2) * 3, *r = img.rgb + (4 * W + 13) * 3;
    fprintf(stderr, "  CMYK: left (%d,%d,%d) right (%d,%d,%d)\n", l[0], l[1], l[2], r[0], r[1], r[2]);
    assert_true(l[0] > 240 && l[1] < 15 && l[2] < 15);
    assert_true(r[0] < 15 && r[1] < 15 && r[2] > 240);
    mvk_image_free(&img);
    free(j.p);
}

static void png_16bit_and_alpha(void **state) {
    (void)state;
    enum { W = 9, H = 4 };
    uint16_t px16[W * H * 4];
    uint8_t want[W * H * 3];
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 4; c++) {
            uint16_t v = (uint16_t)((i * 977 + c * 4099) & 0xFFFF);
            px16[i * 4 + c] = v;
            if (c < 3) want[i * 3 + c] = (uint8_t)(v >> 8); /* the high byte, as stb (llama.cpp) keeps it */
        }
    membuf f = png_encode(px16, W, H, 16, 1, NULL, 0);
    mvk_image img;
    assert_int_equal(mvk_image_load_memory(f.p, f.n, "rgba16.png", &img), MOEVK_OK);
    assert_int_equal(img.w, W);
    assert_memory_equal(img.rgb, want, sizeof want);
    mvk_image_free(&img);
    free(f.p);
}

static void other_formats_refused_by_name(void **state) {
    (void)state;
    enum { W = 5, H = 3 };
    uint8_t px[W * H * 3] = {0};
    membuf bmp = {0}, tga = {0};
    assert_true(stbi_write_bmp_to_func(membuf_put, &bmp, W, H, 3, px));
    assert_true(stbi_write_tga_to_func(membuf_put, &tga, W, H, 3, px));
    expect_refused(bmp.p, bmp.n, "a.bmp", "BMP is not supported");
    expect_refused(tga.p, tga.n, "a.tga", "not an image moevk reads");
    free(bmp.p);
    free(tga.p);
    static const struct { const char *name, *data, *needle; size_t n; } k[] = {
        {"a.ppm", "P6\n2 2\n255\nabcdefghijkl", "PNM", 23},
        {"a.tif", "II*\0\x08\0\0\0\0\0", "TIFF", 10},
        {"a.psd", "8BPS\0\x01\0\0\0\0\0\0", "Photoshop", 12},
        {"a.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n", "HDR", 34},
        {"a.jxl", "\xff\x0a\x00\x00", "JPEG XL", 4},
        {"a.qoi", "qoif\0\0\0\x01\0\0\0\x01\x03\0", "QOI", 14},
        {"a.avif", "\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf", "HEIF/AVIF", 28},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) expect_refused(k[i].data, k[i].n, k[i].name, k[i].needle);
}

/* ---------------------------------------------------------------- hostile set */

static uint8_t *read_data(const char *name, size_t *n) {
    const char *src = getenv("MOEVK_SOURCE_DIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/tests/data/%s", src ? src : ".", name);
    uint8_t *d = tu_read_file(p, n);
    assert_non_null(d);
    return d;
}

/* A real file of each format cut at many lengths, and with its bytes damaged:
 * refused with a message, never a crash (this test also runs under ASan/UBSan). */
static void damaged_files_refused(void **state) {
    (void)state;
    enum { W = 48, H = 40 };
    uint8_t px[W * H * 3];
    pattern(px, W, H);
    membuf jpg = jpeg_encode(px, W, H, 3, 90, NULL, 0), png = {0};
    assert_true(stbi_write_png_to_func(membuf_put, &png, W, H, 3, px, W * 3));
    uint8_t *webp = NULL;
    size_t webp_n = WebPEncodeRGB(px, W, H, W * 3, 80.0f, &webp);
    size_t gif_n = 0;
    uint8_t *gif = read_data("pattern_5x3.gif", &gif_n);
    struct { const char *name; const uint8_t *d; size_t n; } f[] = {
        {"cut.jpg", jpg.p, jpg.n}, {"cut.png", png.p, png.n}, {"cut.webp", webp, webp_n}, {"cut.gif", gif, gif_n}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        for (size_t cut = 1; cut + 1 < f[i].n; cut += 1 + f[i].n / 23) expect_refused(f[i].d, cut, f[i].name, NULL);
        /* flipped bytes after the signature: decoded or refused, both cleanly */
        uint8_t *c = malloc(f[i].n);
        assert_non_null(c);
        for (size_t at = 12; at < f[i].n; at += 1 + f[i].n / 17) {
            memcpy(c, f[i].d, f[i].n);
            c[at] ^= 0x5A;
            mvk_image img;
            moevk_status s = mvk_image_load_memory(c, f[i].n, f[i].name, &img);
            assert_true(s == MOEVK_OK || s == MOEVK_ERR_IMAGE);
            if (s == MOEVK_OK) assert_true(img.w > 0 && img.h > 0 && img.rgb);
            else assert_non_null(strstr(moevk_last_error(), f[i].name));
            mvk_image_free(&img);
        }
        free(c);
    }
    /* a PNG with a bad CRC in IHDR */
    uint8_t *bad = malloc(png.n);
    memcpy(bad, png.p, png.n);
    bad[29] ^= 1; /* the IHDR CRC: 8 signature + 4 length + 4 type + 13 data */
    expect_refused(bad, png.n, "crc.png", "PNG");
    free(bad);
    free(jpg.p);
    free(png.p);
    WebPFree(webp);
    free(gif);
}

/* Headers claiming absurd sizes: refused from the header, before any pixel buffer. */
static void absurd_sizes_refused_before_decoding(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *j = read_data("flat_21x11.jpg", &n);
    for (size_t i = 0; i + 9 < n; i++)
        if (j[i] == 0xFF && (j[i + 1] == 0xC0 || j[i + 1] == 0xC2)) { /* SOF: length, precision, height, width */
            j[i + 5] = 0x80, j[i + 6] = 0x00, j[i + 7] = 0x80, j[i + 8] = 0x00; /* 32768 x 32768 */
            break;
        }
    expect_refused(j, n, "huge.jpg", "too large");
    free(j);
    /* PNG IHDR of 100000 x 100000 (libpng's own limit or ours, both name the size problem) */
    uint8_t ihdr_only[8 + 25];
    membuf tiny = {0};
    uint8_t one[3] = {1, 2, 3};
    assert_true(stbi_write_png_to_func(membuf_put, &tiny, 1, 1, 3, one, 3));
    memcpy(ihdr_only, tiny.p, sizeof ihdr_only);
    const uint32_t big = 100000;
    for (int k = 0; k < 2; k++) {
        uint8_t *q = ihdr_only + 16 + 4 * k;
        q[0] = (uint8_t)(big >> 24), q[1] = (uint8_t)(big >> 16), q[2] = (uint8_t)(big >> 8), q[3] = (uint8_t)big;
    }
    /* fix the CRC so the size itself is what is refused */
    uint32_t crc = crc32_png(ihdr_only + 12, 17);
    uint8_t *cq = ihdr_only + 29;
    cq[0] = (uint8_t)(crc >> 24), cq[1] = (uint8_t)(crc >> 16), cq[2] = (uint8_t)(crc >> 8), cq[3] = (uint8_t)crc;
    expect_refused(ihdr_only, sizeof ihdr_only, "huge.png", NULL);
    free(tiny.p);
    /* GIF logical screen 65535 x 65535 */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, ';'};
    expect_refused(gif, sizeof gif, "huge.gif", "too large");
    /* limits given by a caller (a camera frame of at most 64 pixels a side) */
    moevk_image_limits lim = {64, 0, 1, 1};
    moevk_image img;
    size_t jn = 0;
    uint8_t *ok = read_data("flat_21x11.jpg", &jn);
    assert_int_equal(moevk_image_decode(ok, jn, "frame", &lim, &img), MOEVK_OK);
    moevk_image_free(&img);
    lim.max_side = 16;
    assert_int_equal(moevk_image_decode(ok, jn, "frame", &lim, &img), MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "too large"));
    free(ok);
}

/* The two stb_image 2.27 JPEG faults the fuzzers found (out-of-bounds Huffman
 * index and a negative shift, stb_image.h:2115) came from Huffman tables that
 * declare more codes than symbols or symbols beyond 16 bits. Both kinds, as
 * files and as camera frames: refused or decoded cleanly (ASan/UBSan pass). */
static void stb_jpeg_findings_are_clean(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *j = read_data("flat_21x11.jpg", &n);
    size_t dht = 0;
    for (size_t i = 2; i + 21 < n && !dht; i++)
        if (j[i] == 0xFF && j[i + 1] == 0xC4) dht = i;
    assert_true(dht > 0);
    uint8_t *c = malloc(n);
    /* 1: every count 20 (320 codes in a table of at most 256) */
    memcpy(c, j, n);
    for (int k = 0; k < 16; k++) c[dht + 5 + k] = 20;
    expect_refused(c, n, "huffman_320.jpg", "Huffman");
    moevk_image_limits cam = {0, 0, 1, 1};
    moevk_image img;
    assert_int_equal(moevk_image_decode(c, n, "frame", &cam, &img), MOEVK_ERR_IMAGE);
    /* 2: the table's symbols (the bit sizes of DC differences) set beyond 16 */
    int total = 0;
    memcpy(c, j, n);
    for (int k = 0; k < 16; k++) total += c[dht + 5 + k];
    for (int k = 0; k < total && dht + 21 + (size_t)k < n; k++) c[dht + 21 + k] = (uint8_t)(0x1F - k % 3);
    mvk_image mi;
    moevk_status s = mvk_image_load_memory(c, n, "dc_size_31.jpg", &mi);
    assert_true(s == MOEVK_OK || s == MOEVK_ERR_IMAGE);
    mvk_image_free(&mi);
    s = moevk_image_decode(c, n, "frame", &cam, &img);
    assert_true(s == MOEVK_OK || s == MOEVK_ERR_IMAGE);
    moevk_image_free(&img);
    free(c);
    free(j);
}

static void public_api(void **state) {
    (void)state;
    size_t n = 0;
    uint8_t *gif = read_data("pattern_5x3.gif", &n);
    moevk_image img;
    assert_int_equal(moevk_image_decode(gif, n, "p.gif", NULL, &img), MOEVK_OK);
    assert_int_equal(img.w, 5);
    assert_int_equal(img.h, 3);
    moevk_image_free(&img);
    assert_null(img.rgb);
    moevk_image_limits jo = {0, 0, 1, 0};
    assert_int_equal(moevk_image_decode(gif, n, "p.gif", &jo, &img), MOEVK_ERR_IMAGE);
    assert_non_null(strstr(moevk_last_error(), "not a JPEG but a GIF"));
    assert_int_equal(moevk_image_decode(NULL, 4, "x", NULL, &img), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_image_decode(gif, n, "x", NULL, NULL), MOEVK_ERR_INVALID_ARG);
    assert_int_equal(moevk_image_load("/nonexistent/x.png", NULL, &img), MOEVK_ERR_IO);
    moevk_image_free(NULL);
    free(gif);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(png_exif_every_orientation),
        cmocka_unit_test(jpeg_exif_6_4000x3000_upright),
        cmocka_unit_test(webp_lossless_equals_png),
        cmocka_unit_test(cmyk_jpeg_converted),
        cmocka_unit_test(png_16bit_and_alpha),
        cmocka_unit_test(other_formats_refused_by_name),
        cmocka_unit_test(damaged_files_refused),
        cmocka_unit_test(absurd_sizes_refused_before_decoding),
        cmocka_unit_test(stb_jpeg_findings_are_clean),
        cmocka_unit_test(public_api),
    };
    return tu_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
