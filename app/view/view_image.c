/* view_image.c — image decoding, downscaling and PNG writing (stb, Debian libstb-dev).
 * The stb implementations are compiled static here so they never clash with the
 * copies inside libmoevk. */
#include "view_image.h"

#include "image_guard.h"

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
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
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

static int finish_decoded(uint8_t *px, int w, int h, view_image *out, char *err, size_t err_cap, const char *what,
                          int *dw, int *dh) {
    if (!px) {
        snprintf(err, err_cap, "cannot decode %s: %s", what, stbi_failure_reason());
        return 0;
    }
    out->rgb = px;
    out->w = w;
    out->h = h;
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

// Decodes an encoded image in memory (size checked before stb allocates).
static int decode_memory(const uint8_t *data, size_t len, view_image *out, char *err, size_t err_cap, const char *what,
                         long long max_side, long long max_pixels, int *dw, int *dh) {
    memset(out, 0, sizeof *out);
    if (!data || len < 4 || len > 0x7fffffff) {
        snprintf(err, err_cap, "cannot decode %s: %s", what, len < 4 ? "empty or truncated" : "too large");
        return 0;
    }
    const char *why = NULL;
    if (!mvk_image_guard_ok(data, len, &why)) {
        snprintf(err, err_cap, "cannot decode %s: %s", what, why);
        return 0;
    }
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(data, (int)len, &w, &h, &c)) {
        snprintf(err, err_cap, "unreadable image %s: %s", what, stbi_failure_reason());
        return 0;
    }
    if ((long long)w * h > max_pixels || w > max_side || h > max_side) {
        snprintf(err, err_cap, "image %s is too large to decode (%dx%d)", what, w, h);
        return 0;
    }
    uint8_t *px = stbi_load_from_memory(data, (int)len, &w, &h, &c, 3);
    return finish_decoded(px, w, h, out, err, err_cap, what, dw, dh);
}

int view_image_load(const char *path, view_image *out, char *err, size_t err_cap, int *dw, int *dh) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_cap, "cannot open image %s", path);
        return 0;
    }
    uint8_t *data = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len >= 0 && len <= 0x7fffffff && fseek(f, 0, SEEK_SET) == 0) data = malloc(len ? (size_t)len : 1);
    int ok = data && fread(data, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    if (!ok) {
        free(data);
        snprintf(err, err_cap, "cannot read image %s", path);
        return 0;
    }
    ok = decode_memory(data, (size_t)len, out, err, err_cap, path, VIEW_IMAGE_MAX_PIXELS, VIEW_IMAGE_MAX_PIXELS, dw, dh);
    free(data);
    return ok;
}

int view_image_decode_jpeg(const uint8_t *data, size_t len, view_image *out, char *err, size_t err_cap) {
    // a camera's MJPEG frame is a JPEG (SOI after any fill bytes), never another format stb knows
    size_t i = 0;
    while (data && i < len && data[i] == 0xFF) i++;
    if (!data || i == 0 || i >= len || data[i] != 0xD8) {
        memset(out, 0, sizeof *out);
        snprintf(err, err_cap, "cannot decode MJPEG frame: not a JPEG (no SOI marker)");
        return 0;
    }
    return decode_memory(data, len, out, err, err_cap, "MJPEG frame", VIEW_FRAME_MAX_SIDE, VIEW_FRAME_MAX_PIXELS, NULL,
                         NULL);
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
