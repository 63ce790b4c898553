/* view_image.c — image decoding (through libmoevk's decoders, moevk.h), and
 * downscaling, PNG and JPEG writing of our own pixels (stb_image_resize and
 * stb_image_write, Debian libstb-dev, compiled static here so they never clash
 * with the copy inside libmoevk). No input is parsed by stb. */
#include "view_image.h"

#include "moevk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
// stb declares static functions this file does not use; the warning fires at
// the end of the file, so it stays off for the whole (small) file.
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

void view_image_free(view_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

int view_image_resize(view_image *img, int nw, int nh) {
    if (!img->rgb || nw < 1 || nh < 1) return 0;
    if (nw == img->w && nh == img->h) return 1;
    uint8_t *dst = malloc((size_t)nw * nh * 3);
    if (!dst) return 0;
    stbir_resize_uint8(img->rgb, img->w, img->h, img->w * 3, dst, nw, nh, nw * 3, 3);
    free(img->rgb);
    img->rgb = dst;
    img->w = nw;
    img->h = nh;
    return 1;
}

int view_image_fit(view_image *img, int max_side) {
    if (!img->rgb || (img->w <= max_side && img->h <= max_side)) return 0;
    int nw, nh;
    if (img->w >= img->h) {
        nw = max_side;
        nh = (int)((long long)img->h * max_side / img->w);
    } else {
        nh = max_side;
        nw = (int)((long long)img->w * max_side / img->h);
    }
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    uint8_t *dst = malloc((size_t)nw * nh * 3);
    if (!dst) return -1;
    stbir_resize_uint8(img->rgb, img->w, img->h, img->w * 3, dst, nw, nh, nw * 3, 3);
    free(img->rgb);
    img->rgb = dst;
    img->w = nw;
    img->h = nh;
    return 1;
}

// Takes decoded pixels and shrinks them to VIEW_IMAGE_MAX_SIDE for display.
static int finish_decoded(moevk_image *img, view_image *out, char *err, size_t err_cap, const char *what, int *dw,
                          int *dh) {
    out->rgb = img->rgb;  // malloc'd by the library: view_image_free's free() releases it
    out->w = img->w;
    out->h = img->h;
    int w = img->w, h = img->h;
    if (dw) *dw = 0;
    if (dh) *dh = 0;
    int r = view_image_fit(out, VIEW_IMAGE_MAX_SIDE);
    if (r < 0) {
        view_image_free(out);
        snprintf(err, err_cap, "out of memory downscaling %s (%dx%d)", what, w, h);
        return 0;
    }
    if (r > 0) {
        if (dw) *dw = w;
        if (dh) *dh = h;
    }
    return 1;
}

int view_image_load(const char *path, view_image *out, char *err, size_t err_cap, int *dw, int *dh) {
    memset(out, 0, sizeof *out);
    // the engine's decoders (libjpeg-turbo, libpng, libwebp, giflib, libheif; EXIF orientation), so the app
    // shows exactly the pixels the model reads
    moevk_image_limits lim = {0, VIEW_IMAGE_MAX_PIXELS, 0, 0};
    moevk_image img;
    if (moevk_image_load(path, &lim, &img) != MOEVK_OK) {
        /* the library says "image 'PATH': why": the banner names the file once */
        const char *why = moevk_last_error();
        char prefix[600];
        snprintf(prefix, sizeof prefix, "image '%s': ", path);
        if (!strncmp(why, prefix, strlen(prefix))) why += strlen(prefix);
        snprintf(err, err_cap, "unreadable image %s: %s", path, why);
        return 0;
    }
    return finish_decoded(&img, out, err, err_cap, path, dw, dh);
}

int view_image_decode_jpeg(const uint8_t *data, size_t len, view_image *out, char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    // a camera's MJPEG frame: a JPEG and nothing else, decoded despite the recoverable damage webcams produce
    moevk_image_limits lim = {VIEW_FRAME_MAX_SIDE, VIEW_FRAME_MAX_PIXELS, 1, 1};
    moevk_image img;
    if (moevk_image_decode(data, len, "MJPEG frame", &lim, &img) != MOEVK_OK) {
        snprintf(err, err_cap, "cannot decode MJPEG frame: %s", moevk_last_error());
        return 0;
    }
    return finish_decoded(&img, out, err, err_cap, "MJPEG frame", NULL, NULL);
}

static uint8_t clamp_u8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

void view_yuyv_to_rgb(const uint8_t *src, int w, int h, int stride, uint8_t *dst) {
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *d = dst + (size_t)y * w * 3;
        for (int x = 0; x < w; x += 2) {
            int y0 = s[0] - 16, u = s[1] - 128, y1 = s[2] - 16, v = s[3] - 128;
            s += 4;
            // BT.601 limited range, fixed point (x256)
            int rv = 409 * v, guv = -100 * u - 208 * v, bu = 516 * u;
            int c0 = 298 * y0, c1 = 298 * y1;
            d[0] = clamp_u8((c0 + rv + 128) >> 8);
            d[1] = clamp_u8((c0 + guv + 128) >> 8);
            d[2] = clamp_u8((c0 + bu + 128) >> 8);
            d += 3;
            if (x + 1 < w) {
                d[0] = clamp_u8((c1 + rv + 128) >> 8);
                d[1] = clamp_u8((c1 + guv + 128) >> 8);
                d[2] = clamp_u8((c1 + bu + 128) >> 8);
                d += 3;
            }
        }
    }
}

int view_png_write(const char *path, const uint8_t *rgb, int w, int h, int stride) {
    return stbi_write_png(path, w, h, 3, rgb, stride) != 0;
}

typedef struct jpeg_buf {
    uint8_t *p;
    size_t n, cap;
    int failed;
} jpeg_buf;

static void jpeg_put(void *ctx, void *data, int size) {
    jpeg_buf *b = ctx;
    if (b->failed || size <= 0) return;
    if (b->n + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->n + (size_t)size) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

uint8_t *view_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, size_t *len) {
    jpeg_buf b = {0};
    if (!stbi_write_jpg_to_func(jpeg_put, &b, w, h, 3, rgb, quality) || b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}
