/* image.c — reading image files, smart resize, resize filters and normalisation
 * (the decoders themselves: image_decode.c).
 * See image.h for what llama.cpp does and which mode reproduces it. */
#include "image.h"
#include "image_decode.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvk_status.h"

/* ---------------------------------------------------------------- buffers */

static moevk_status check_dims(int w, int h, const char *what) {
    if (w <= 0 || h <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: invalid size %dx%d", what, w, h);
    if (w > MVK_IMAGE_MAX_SIDE || h > MVK_IMAGE_MAX_SIDE || (int64_t)w * h > MVK_IMAGE_MAX_PIXELS)
        return mvk_fail(MOEVK_ERR_IMAGE, "%s: %dx%d is too large (limit %d per side, %lld pixels)", what, w, h,
                        MVK_IMAGE_MAX_SIDE, (long long)MVK_IMAGE_MAX_PIXELS);
    return MOEVK_OK;
}

moevk_status mvk_image_alloc(int w, int h, mvk_image *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_alloc: out is NULL");
    memset(out, 0, sizeof *out);
    MVK_TRY(check_dims(w, h, "image"));
    out->rgb = calloc((size_t)w * (size_t)h, 3);
    if (!out->rgb) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image %dx%d: out of memory", w, h);
    out->w = w;
    out->h = h;
    return MOEVK_OK;
}

moevk_status mvk_image_from_rgb(const uint8_t *rgb, int w, int h, mvk_image *out) {
    if (!rgb || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_from_rgb: NULL argument");
    MVK_TRY(mvk_image_alloc(w, h, out));
    memcpy(out->rgb, rgb, (size_t)w * (size_t)h * 3);
    return MOEVK_OK;
}

void mvk_image_free(mvk_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

/* ---------------------------------------------------------------- decoding */

moevk_status mvk_image_load_memory(const void *data, size_t size, const char *name, mvk_image *out) {
    mvk_decode_limits lim = mvk_decode_default_limits();
    return mvk_image_decode(data, size, name, &lim, out);
}

moevk_status mvk_image_load_file(const char *path, mvk_image *out) {
    mvk_decode_limits lim = mvk_decode_default_limits();
    return mvk_image_load_file_lim(path, &lim, out);
}

moevk_status mvk_image_load_file_lim(const char *path, const mvk_decode_limits *lim, mvk_image *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_load_file: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_load_file: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return mvk_fail(MOEVK_ERR_IO, "image '%s': cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    moevk_status st = MOEVK_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= MVK_IMAGE_MAX_FILE_BYTES) {
                st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': file larger than %zu bytes", path,
                              (size_t)MVK_IMAGE_MAX_FILE_BYTES);
                break;
            }
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap > MVK_IMAGE_MAX_FILE_BYTES) ncap = MVK_IMAGE_MAX_FILE_BYTES;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory reading the file", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) st = mvk_fail(MOEVK_ERR_IO, "image '%s': read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == MOEVK_OK) st = mvk_image_decode(buf, len, path, lim, out);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- smart size */

/* llama.cpp computes these in float: round/ceil/floor of x / (float)A. */
static int64_t round_by(float x, int a) { return (int64_t)roundf(x / (float)a) * a; }
static int64_t ceil_by(float x, int a) { return (int64_t)ceilf(x / (float)a) * a; }
static int64_t floor_by(float x, int a) { return (int64_t)floorf(x / (float)a) * a; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

moevk_status mvk_image_smart_size(int w, int h, int patch, int merge, int min_tokens, int max_tokens, int *ow,
                                  int *oh) {
    if (!ow || !oh) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_smart_size: NULL output");
    *ow = *oh = 0;
    if (w <= 0 || h <= 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "smart size: invalid image size %dx%d", w, h);
    if (patch <= 0 || merge <= 0 || patch > 1024 || merge > 64)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "smart size: invalid patch %d / merge %d", patch, merge);
    if (min_tokens <= 0) min_tokens = MVK_IMAGE_MIN_TOKENS_DEFAULT;
    if (max_tokens <= 0) max_tokens = MVK_IMAGE_MAX_TOKENS_DEFAULT;
    const int a = patch * merge;
    const int64_t min_px = (int64_t)min_tokens * a * a;
    const int64_t max_px = (int64_t)max_tokens * a * a;

    int64_t wb = max64(a, round_by((float)w, a));
    int64_t hb = max64(a, round_by((float)h, a));
    if (hb * wb > max_px) {
        const float beta = sqrtf((float)h * (float)w / (float)max_px);
        hb = max64(a, floor_by((float)h / beta, a));
        wb = max64(a, floor_by((float)w / beta, a));
    } else if (hb * wb < min_px) {
        const float beta = sqrtf((float)min_px / ((float)h * (float)w));
        hb = ceil_by((float)h * beta, a);
        wb = ceil_by((float)w * beta, a);
    }
    if (wb <= 0 || hb <= 0 || wb > MVK_IMAGE_MAX_SIDE || hb > MVK_IMAGE_MAX_SIDE)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "smart size: %dx%d with %d..%d tokens gives %lldx%lld (limit %d)", w,
                        h, min_tokens, max_tokens, (long long)wb, (long long)hb, MVK_IMAGE_MAX_SIDE);
    *ow = (int)wb;
    *oh = (int)hb;
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- bilinear */

static float lerpf(float s, float e, float t) { return s + (e - s) * t; }

moevk_status mvk_image_resize_bilinear_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    if (!src || !dst) return mvk_fail(MOEVK_ERR_INVALID_ARG, "bilinear resize: NULL buffer");
    MVK_TRY(check_dims(sw, sh, "bilinear resize source"));
    MVK_TRY(check_dims(dw, dh, "bilinear resize target"));
    const float xr = (float)(sw - 1) / (float)dw;
    const float yr = (float)(sh - 1) / (float)dh;
    for (int y = 0; y < dh; y++) {
        const float py = yr * (float)y;
        int y0 = (int)floorf(py);
        if (y0 > sh - 2) y0 = sh - 2;
        if (y0 < 0) y0 = 0;
        const int y1 = sh > 1 ? y0 + 1 : y0;
        const float ty = sh > 1 ? py - (float)y0 : 0.0f;
        for (int x = 0; x < dw; x++) {
            const float px = xr * (float)x;
            int x0 = (int)floorf(px);
            if (x0 > sw - 2) x0 = sw - 2;
            if (x0 < 0) x0 = 0;
            const int x1 = sw > 1 ? x0 + 1 : x0;
            const float tx = sw > 1 ? px - (float)x0 : 0.0f;
            const uint8_t *p00 = src + ((size_t)y0 * sw + x0) * 3, *p01 = src + ((size_t)y0 * sw + x1) * 3;
            const uint8_t *p10 = src + ((size_t)y1 * sw + x0) * 3, *p11 = src + ((size_t)y1 * sw + x1) * 3;
            uint8_t *d = dst + ((size_t)y * dw + x) * 3;
            for (int c = 0; c < 3; c++) {
                const float top = lerpf(p00[c], p01[c], tx);
                const float bot = lerpf(p10[c], p11[c], tx);
                float v = lerpf(top, bot, ty);
                if (v < 0.0f) v = 0.0f;
                if (v > 255.0f) v = 255.0f;
                d[c] = (uint8_t)v; /* truncation, as llama.cpp */
            }
        }
    }
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- Pillow bicubic */

/* Pillow's Resample.c, as followed by llama.cpp resize_pillow: separable,
 * weights normalised in double, then fixed point with 22 fraction bits. */
enum { PREC_BITS = 32 - 8 - 2 };

static double bicubic_filter(double x) {
    const double a = -0.5; /* Pillow's choice (PyTorch/ggml use -0.75) */
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

typedef struct resample_coeffs {
    int ksize;
    int *bounds;     /* [out][2]: first input index, count */
    int32_t *kk;     /* [out][ksize] fixed-point weights */
} resample_coeffs;

static void coeffs_free(resample_coeffs *c) {
    free(c->bounds);
    free(c->kk);
    memset(c, 0, sizeof *c);
}

static moevk_status coeffs_make(int in_size, int out_size, resample_coeffs *c) {
    memset(c, 0, sizeof *c);
    const double support_base = 2.0; /* bicubic */
    const double scale = (double)in_size / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = support_base * filterscale;
    const int ksize = (int)ceil(support) * 2 + 1;
    double *pre = malloc((size_t)ksize * sizeof *pre);
    c->bounds = malloc((size_t)out_size * 2 * sizeof *c->bounds);
    c->kk = malloc((size_t)out_size * ksize * sizeof *c->kk);
    if (!pre || !c->bounds || !c->kk) {
        free(pre);
        coeffs_free(c);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "bicubic resize: out of memory for %d taps", ksize);
    }
    c->ksize = ksize;
    const double ss = 1.0 / filterscale;
    const double fxp = ldexp(1.0, PREC_BITS);
    for (int xx = 0; xx < out_size; xx++) {
        const double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5); /* truncation toward zero, as Pillow */
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) xmax = ksize; /* cannot happen; keeps writes in bounds */
        double ww = 0.0;
        int x;
        for (x = 0; x < xmax; x++) {
            const double wgt = bicubic_filter((x + xmin - center + 0.5) * ss);
            pre[x] = wgt;
            ww += wgt;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) pre[x] /= ww;
        for (; x < ksize; x++) pre[x] = 0.0;
        for (x = 0; x < ksize; x++) /* +-0.5 then truncate, as Pillow */
            c->kk[(size_t)xx * ksize + x] = (int32_t)(pre[x] * fxp + (pre[x] < 0.0 ? -0.5 : 0.5));
        c->bounds[xx * 2 + 0] = xmin;
        c->bounds[xx * 2 + 1] = xmax;
    }
    free(pre);
    return MOEVK_OK;
}

/* Accumulators are int32 as in Pillow/llama.cpp: the weights of one output
 * sum to 2^22 and their absolute values to under 1.25 * 2^22 (bicubic a = -0.5
 * has small negative lobes), so |sum| < 255 * 1.25 * 2^22 + 2^21 < 2^31. */
static uint8_t clip8_fx(int32_t ss) {
    if (ss < 0) return 0; /* floor(ss / 2^22) < 0 */
    ss >>= PREC_BITS;
    return ss > 255 ? 255 : (uint8_t)ss;
}

/* src [h][in_w][3] -> dst [h][out_w][3] */
static void resample_h(const uint8_t *src, int in_w, int h, uint8_t *dst, int out_w, const resample_coeffs *c) {
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * in_w * 3;
        uint8_t *drow = dst + (size_t)y * out_w * 3;
        for (int xx = 0; xx < out_w; xx++) {
            const int xmin = c->bounds[xx * 2], xcnt = c->bounds[xx * 2 + 1];
            const int32_t *k = c->kk + (size_t)xx * c->ksize;
            int32_t s0 = 1 << (PREC_BITS - 1), s1 = s0, s2 = s0;
            const uint8_t *p = row + (size_t)xmin * 3;
            for (int x = 0; x < xcnt; x++, p += 3) {
                s0 += p[0] * k[x];
                s1 += p[1] * k[x];
                s2 += p[2] * k[x];
            }
            drow[xx * 3 + 0] = clip8_fx(s0);
            drow[xx * 3 + 1] = clip8_fx(s1);
            drow[xx * 3 + 2] = clip8_fx(s2);
        }
    }
}

/* src [in_h][w][3] -> dst [out_h][w][3]; accumulates whole rows (acc holds w*3). */
static void resample_v(const uint8_t *src, int w, uint8_t *dst, int out_h, const resample_coeffs *c, int32_t *acc) {
    const size_t row = (size_t)w * 3;
    for (int yy = 0; yy < out_h; yy++) {
        const int ymin = c->bounds[yy * 2], ycnt = c->bounds[yy * 2 + 1];
        const int32_t *k = c->kk + (size_t)yy * c->ksize;
        for (size_t i = 0; i < row; i++) acc[i] = 1 << (PREC_BITS - 1);
        for (int y = 0; y < ycnt; y++) {
            const uint8_t *srow = src + (size_t)(ymin + y) * row;
            const int32_t wgt = k[y];
            for (size_t i = 0; i < row; i++) acc[i] += srow[i] * wgt;
        }
        uint8_t *drow = dst + (size_t)yy * row;
        for (size_t i = 0; i < row; i++) drow[i] = clip8_fx(acc[i]);
    }
}

moevk_status mvk_image_resize_bicubic_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    if (!src || !dst) return mvk_fail(MOEVK_ERR_INVALID_ARG, "bicubic resize: NULL buffer");
    MVK_TRY(check_dims(sw, sh, "bicubic resize source"));
    MVK_TRY(check_dims(dw, dh, "bicubic resize target"));
    const int need_h = dw != sw, need_v = dh != sh;
    if (!need_h && !need_v) {
        memcpy(dst, src, (size_t)sw * sh * 3);
        return MOEVK_OK;
    }
    resample_coeffs ch = {0}, cv = {0};
    moevk_status st = MOEVK_OK;
    uint8_t *tmp = NULL;
    int32_t *acc = NULL;
    if (need_h && (st = coeffs_make(sw, dw, &ch)) != MOEVK_OK) goto done;
    if (need_v && (st = coeffs_make(sh, dh, &cv)) != MOEVK_OK) goto done;
    if (need_v && !(acc = malloc((size_t)dw * 3 * sizeof *acc))) {
        st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "bicubic resize: out of memory");
        goto done;
    }
    if (need_h && need_v) {
        tmp = malloc((size_t)dw * sh * 3);
        if (!tmp) {
            st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "bicubic resize: out of memory");
            goto done;
        }
        resample_h(src, sw, sh, tmp, dw, &ch);
        resample_v(tmp, dw, dst, dh, &cv, acc);
    } else if (need_h) {
        resample_h(src, sw, sh, dst, dw, &ch);
    } else {
        resample_v(src, sw, dst, dh, &cv, acc);
    }
done:
    free(acc);
    free(tmp);
    coeffs_free(&ch);
    coeffs_free(&cv);
    return st;
}

/* ---------------------------------------------------------------- resize modes */

moevk_status mvk_image_resize(const mvk_image *src, int tw, int th, mvk_resize_mode mode, mvk_image *out) {
    if (!src || !src->rgb || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_resize: NULL argument");
    memset(out, 0, sizeof *out);
    MVK_TRY(check_dims(src->w, src->h, "resize source"));
    MVK_TRY(mvk_image_alloc(tw, th, out));
    moevk_status st = MOEVK_OK;
    if (tw == src->w && th == src->h) { /* llama.cpp: no resize needed, plain copy */
        memcpy(out->rgb, src->rgb, (size_t)tw * th * 3);
        return MOEVK_OK;
    }
    switch (mode) {
    case MVK_RESIZE_BILINEAR_STRETCH:
        st = mvk_image_resize_bilinear_u8(src->rgb, src->w, src->h, out->rgb, tw, th);
        break;
    case MVK_RESIZE_BICUBIC_STRETCH:
        st = mvk_image_resize_bicubic_u8(src->rgb, src->w, src->h, out->rgb, tw, th);
        break;
    case MVK_RESIZE_LLAMA: {
        /* PAD_CEIL letterbox, in float as llama.cpp img_tool::resize. */
        const float sx = (float)tw / (float)src->w, sy = (float)th / (float)src->h;
        const float s = sx < sy ? sx : sy;
        int nw = (int)ceilf((float)src->w * s), nh = (int)ceilf((float)src->h * s);
        if (nw > tw) nw = tw;
        if (nh > th) nh = th;
        if (nw < 1) nw = 1;
        if (nh < 1) nh = 1;
        mvk_image tmp;
        st = mvk_image_alloc(nw, nh, &tmp);
        if (st != MOEVK_OK) break;
        st = mvk_image_resize_bicubic_u8(src->rgb, src->w, src->h, tmp.rgb, nw, nh);
        if (st == MOEVK_OK) {
            /* out is already black (0,0,0), llama.cpp's default pad colour */
            const int ox = (tw - nw) / 2, oy = (th - nh) / 2;
            for (int y = 0; y < nh; y++)
                memcpy(out->rgb + ((size_t)(y + oy) * tw + ox) * 3, tmp.rgb + (size_t)y * nw * 3, (size_t)nw * 3);
        }
        mvk_image_free(&tmp);
        break;
    }
    default:
        st = mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_resize: unknown mode %d", (int)mode);
    }
    if (st != MOEVK_OK) mvk_image_free(out);
    return st;
}

/* ---------------------------------------------------------------- normalise */

moevk_status mvk_image_to_planar_f32(const mvk_image *img, const float mean[3], const float std[3], float *out) {
    if (!img || !img->rgb || !mean || !std || !out)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_to_planar_f32: NULL argument");
    MVK_TRY(check_dims(img->w, img->h, "normalise"));
    for (int c = 0; c < 3; c++)
        if (!(std[c] != 0.0f) || !isfinite(std[c]) || !isfinite(mean[c]))
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "normalise: bad mean/std for channel %d (%g, %g)", c,
                            (double)mean[c], (double)std[c]);
    const size_t n = (size_t)img->w * img->h;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            const float v = (float)img->rgb[i * 3 + c] / 255.0f; /* llama.cpp clip_image_f32::from_u8 */
            out[(size_t)c * n + i] = (v - mean[c]) / std[c];   /* clip_image_f32::normalize */
        }
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- preprocess */

mvk_image_prep_params mvk_image_prep_default_params(void) {
    mvk_image_prep_params p;
    memset(&p, 0, sizeof p);
    p.patch = 16;
    p.merge = 2;
    p.min_tokens = MVK_IMAGE_MIN_TOKENS_DEFAULT;
    p.max_tokens = MVK_IMAGE_MAX_TOKENS_DEFAULT;
    p.mode = MVK_RESIZE_LLAMA;
    for (int c = 0; c < 3; c++) p.mean[c] = p.std[c] = 0.5f;
    return p;
}

void mvk_image_prep_free(mvk_image_prep *p) {
    if (!p) return;
    free(p->pixels);
    memset(p, 0, sizeof *p);
}

moevk_status mvk_image_preprocess(const mvk_image *src, const mvk_image_prep_params *p, mvk_image_prep *out) {
    if (!src || !src->rgb || !p || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_preprocess: NULL argument");
    memset(out, 0, sizeof *out);
    int tw = 0, th = 0;
    MVK_TRY(mvk_image_smart_size(src->w, src->h, p->patch, p->merge, p->min_tokens, p->max_tokens, &tw, &th));
    mvk_image r;
    MVK_TRY(mvk_image_resize(src, tw, th, p->mode, &r));
    out->pixels = malloc((size_t)3 * tw * th * sizeof *out->pixels);
    if (!out->pixels) {
        mvk_image_free(&r);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "preprocess: out of memory for %dx%d pixels", tw, th);
    }
    moevk_status st = mvk_image_to_planar_f32(&r, p->mean, p->std, out->pixels);
    mvk_image_free(&r);
    if (st != MOEVK_OK) {
        mvk_image_prep_free(out);
        return st;
    }
    const int a = p->patch * p->merge;
    out->w = tw;
    out->h = th;
    out->nx = tw / a;
    out->ny = th / a;
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- downscale */

moevk_status mvk_image_downscale_fit(const mvk_image *src, int max_w, int max_h, mvk_image *out) {
    if (!src || !src->rgb || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_downscale_fit: NULL argument");
    memset(out, 0, sizeof *out);
    if (max_w <= 0 || max_h <= 0)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "downscale: invalid bound %dx%d", max_w, max_h);
    MVK_TRY(check_dims(src->w, src->h, "downscale source"));
    if (src->w <= max_w && src->h <= max_h) return mvk_image_from_rgb(src->rgb, src->w, src->h, out);
    const double s = fmin((double)max_w / src->w, (double)max_h / src->h);
    int nw = (int)floor(src->w * s + 0.5), nh = (int)floor(src->h * s + 0.5);
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    if (nw > max_w) nw = max_w;
    if (nh > max_h) nh = max_h;
    MVK_TRY(mvk_image_alloc(nw, nh, out));
    /* Output pixel (x, y) averages source columns [x*W/nw, (x+1)*W/nw) and rows
     * likewise; since nw <= W every box holds at least one pixel. */
    for (int y = 0; y < nh; y++) {
        const int y0 = (int)((int64_t)y * src->h / nh), y1 = (int)((int64_t)(y + 1) * src->h / nh);
        for (int x = 0; x < nw; x++) {
            const int x0 = (int)((int64_t)x * src->w / nw), x1 = (int)((int64_t)(x + 1) * src->w / nw);
            uint64_t acc[3] = {0, 0, 0};
            for (int yy = y0; yy < y1; yy++) {
                const uint8_t *p = src->rgb + ((size_t)yy * src->w + x0) * 3;
                for (int xx = x0; xx < x1; xx++, p += 3) {
                    acc[0] += p[0];
                    acc[1] += p[1];
                    acc[2] += p[2];
                }
            }
            const uint64_t n = (uint64_t)(y1 - y0) * (uint64_t)(x1 - x0);
            uint8_t *d = out->rgb + ((size_t)y * nw + x) * 3;
            for (int c = 0; c < 3; c++) d[c] = (uint8_t)((acc[c] + n / 2) / n);
        }
    }
    return MOEVK_OK;
}
