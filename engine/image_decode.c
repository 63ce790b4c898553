/* image_decode.c — which decoder reads a file: one table row per format,
 * recognised by its signature, never by the file name. Formats moevk reads go
 * through the library Debian ships for them (each fuzzed upstream for years);
 * formats it knows but does not read are refused by name, so a user learns
 * what to convert. After decoding, the EXIF orientation is applied, so a
 * portrait photo reaches the model upright (llama.cpp's mtmd ignores EXIF:
 * docs/IMAGE_PREPROCESSING.md says where our pixels differ from its). */
#include "image_decode.h"

#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>

#include "mvk_status.h"

mvk_decode_limits mvk_decode_default_limits(void) {
    mvk_decode_limits l = {MVK_IMAGE_MAX_SIDE, MVK_IMAGE_MAX_PIXELS, 0, 0};
    return l;
}

/* ---------------------------------------------------------------- signatures */

static int has(const uint8_t *d, size_t n, size_t at, const char *sig, size_t len) {
    return n >= at + len && memcmp(d + at, sig, len) == 0;
}
static int is_jpeg(const uint8_t *d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }
static int is_png(const uint8_t *d, size_t n) { return has(d, n, 0, "\x89PNG\r\n\x1a\n", 8); }
static int is_webp(const uint8_t *d, size_t n) { return has(d, n, 0, "RIFF", 4) && has(d, n, 8, "WEBP", 4); }
static int is_gif(const uint8_t *d, size_t n) { return has(d, n, 0, "GIF87a", 6) || has(d, n, 0, "GIF89a", 6); }
/* ISO base media file with an image brand: HEIC (phones' default), AVIF */
static int is_heif(const uint8_t *d, size_t n) {
    static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"};
    if (!has(d, n, 4, "ftyp", 4)) return 0;
    for (size_t i = 0; i < sizeof brands / sizeof *brands; i++)
        if (has(d, n, 8, brands[i], 4)) return 1;
    return 0;
}
static int is_bmp(const uint8_t *d, size_t n) { return has(d, n, 0, "BM", 2) && n >= 26; }
static int is_tiff(const uint8_t *d, size_t n) { return has(d, n, 0, "II*\0", 4) || has(d, n, 0, "MM\0*", 4); }
static int is_psd(const uint8_t *d, size_t n) { return has(d, n, 0, "8BPS", 4); }
static int is_hdr(const uint8_t *d, size_t n) { return has(d, n, 0, "#?RADIANCE", 10) || has(d, n, 0, "#?RGBE", 6); }
static int is_pnm(const uint8_t *d, size_t n) {
    return n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && (d[2] == ' ' || d[2] == '\n' || d[2] == '\r' || d[2] == '\t');
}
static int is_jxl(const uint8_t *d, size_t n) {
    return (n >= 2 && d[0] == 0xFF && d[1] == 0x0A) || has(d, n, 0, "\0\0\0\x0cJXL \r\n\x87\n", 12);
}
static int is_qoi(const uint8_t *d, size_t n) { return has(d, n, 0, "qoif", 4); }

/* A format moevk reads (decode != NULL) or knows and refuses (why). */
typedef struct format_row {
    const char *name;
    int (*sniff)(const uint8_t *d, size_t n);
    mvk_decode_fn decode;
    const char *why; /* refused formats: the reason */
} format_row;

static const format_row k_formats[] = {
    {"JPEG", is_jpeg, mvk_decode_jpeg, NULL},
    {"PNG", is_png, mvk_decode_png, NULL},
    {"WebP", is_webp, mvk_decode_webp, NULL},
    {"GIF", is_gif, mvk_decode_gif, NULL},
    {"HEIF/AVIF", is_heif, mvk_decode_heif, NULL},
    {"BMP", is_bmp, NULL, "BMP is not supported (moevk reads JPEG, PNG, WebP, GIF, HEIC and AVIF): convert it to PNG"},
    {"TIFF", is_tiff, NULL, "TIFF is not supported (moevk reads JPEG, PNG, WebP, GIF, HEIC and AVIF): convert it to PNG"},
    {"PSD", is_psd, NULL, "Photoshop documents are not supported: export a PNG or JPEG"},
    {"Radiance HDR", is_hdr, NULL, "HDR images are not supported: export a tone-mapped PNG or JPEG"},
    {"PNM", is_pnm, NULL, "PNM/PPM/PGM is not supported (moevk reads JPEG, PNG, WebP, GIF, HEIC and AVIF): convert it to PNG"},
    {"JPEG XL", is_jxl, NULL, "JPEG XL is not supported: convert it to PNG or JPEG"},
    {"QOI", is_qoi, NULL, "QOI is not supported: convert it to PNG"},
};

/* ---------------------------------------------------------------- limits */

moevk_status mvk_decode_check_size(const char *name, const char *format, int64_t w, int64_t h,
                                   const mvk_decode_limits *lim) {
    if (w <= 0 || h <= 0)
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': %s header gives an invalid size %lldx%lld", name, format,
                        (long long)w, (long long)h);
    if (w > lim->max_side || h > lim->max_side || w * h > lim->max_pixels)
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': %s of %lldx%lld is too large (limit %d per side, %lld pixels)",
                        name, format, (long long)w, (long long)h, lim->max_side, (long long)lim->max_pixels);
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- orientation */

int mvk_exif_orientation(const uint8_t *exif, size_t size) {
    if (!exif || size < 8 || size > (1u << 20)) return 1;
    ExifData *ed = NULL;
    if (has(exif, size, 0, "Exif\0\0", 6)) {
        ed = exif_data_new_from_data(exif, (unsigned int)size);
    } else if (has(exif, size, 0, "II*\0", 4) || has(exif, size, 0, "MM\0*", 4)) {
        /* libexif reads an EXIF block from its "Exif\0\0" header on */
        uint8_t *tmp = malloc(size + 6);
        if (!tmp) return 1;
        memcpy(tmp, "Exif\0\0", 6);
        memcpy(tmp + 6, exif, size);
        ed = exif_data_new_from_data(tmp, (unsigned int)(size + 6));
        free(tmp);
    }
    if (!ed) return 1;
    int o = 1;
    ExifEntry *e = exif_data_get_entry(ed, EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2) {
        int v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8) o = v;
    }
    exif_data_unref(ed);
    return o;
}

/* Output pixel (x, y) of an oriented image reads source pixel (sx, sy) of the
 * stored w x h image (EXIF 2.3 table of Orientation: the stored rows and
 * columns against the visual top and left). */
moevk_status mvk_image_orient(mvk_image *img, int o, const char *name) {
    if (o <= 1 || o > 8) return MOEVK_OK;
    const int w = img->w, h = img->h, swap = o >= 5;
    const int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst = malloc((size_t)w * (size_t)h * 3);
    if (!dst) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory applying EXIF orientation", name);
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;         /* mirrored */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break; /* rotated 180 */
            case 4: sx = x; sy = h - 1 - y; break;         /* mirrored vertically */
            case 5: sx = y; sy = x; break;                 /* transposed */
            case 6: sx = y; sy = h - 1 - x; break;         /* shown rotated 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break; /* transversed */
            default: sx = w - 1 - y; sy = x; break;        /* 8: shown rotated 90 counter-clockwise */
            }
            memcpy(dst + ((size_t)y * ow + x) * 3, img->rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    free(img->rgb);
    img->rgb = dst;
    img->w = ow;
    img->h = oh;
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- dispatch */

moevk_status mvk_image_decode(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                              mvk_image *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "mvk_image_decode: out is NULL");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    mvk_decode_limits dl = lim ? *lim : mvk_decode_default_limits();
    if (dl.max_side <= 0 || dl.max_side > MVK_IMAGE_MAX_SIDE) dl.max_side = MVK_IMAGE_MAX_SIDE;
    if (dl.max_pixels <= 0 || dl.max_pixels > MVK_IMAGE_MAX_PIXELS) dl.max_pixels = MVK_IMAGE_MAX_PIXELS;
    if (!data && size) return mvk_fail(MOEVK_ERR_INVALID_ARG, "image '%s': data is NULL", name);
    if (size == 0) return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': empty file", name);
    if (size > MVK_IMAGE_MAX_FILE_BYTES)
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': %zu bytes is larger than the %zu-byte limit", name, size,
                        (size_t)MVK_IMAGE_MAX_FILE_BYTES);
    /* a camera may pad a frame with fill bytes before SOI: JPEG allows them
     * before any marker, libjpeg wants SOI first */
    size_t skip = 0;
    while (skip + 1 < size && data[skip] == 0xFF && data[skip + 1] == 0xFF) skip++;
    const format_row *row = NULL;
    for (size_t i = 0; i < sizeof k_formats / sizeof *k_formats && !row; i++)
        if (k_formats[i].sniff(data + skip, size - skip)) row = &k_formats[i];
    if (dl.jpeg_only && (!row || row->decode != mvk_decode_jpeg))
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': not a JPEG%s%s", name, row ? " but a " : " (no SOI marker)",
                        row ? row->name : "");
    if (!row || (skip && row->decode != mvk_decode_jpeg))
        return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': not an image moevk reads (JPEG, PNG, WebP, GIF, HEIC, AVIF): "
                        "unknown signature %02x %02x %02x %02x", name, data[0], size > 1 ? data[1] : 0,
                        size > 2 ? data[2] : 0, size > 3 ? data[3] : 0);
    if (!row->decode) return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': %s", name, row->why);
    int orientation = 1;
    moevk_status s = row->decode(data + skip, size - skip, name, &dl, out, &orientation);
    if (s == MOEVK_OK && (!out->rgb || out->w <= 0 || out->h <= 0))
        s = mvk_fail(MOEVK_ERR_INTERNAL, "image '%s': the %s decoder returned no pixels", name, row->name);
    if (s == MOEVK_OK) s = mvk_image_orient(out, orientation, name);
    if (s != MOEVK_OK) mvk_image_free(out);
    return s;
}
