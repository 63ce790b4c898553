/* image_heif.c — HEIC and AVIF (phones' and browsers' defaults) through
 * libheif (Debian libheif1 with libde265 and dav1d). The primary image only;
 * libheif applies the file's own rotation and mirroring (irot/imir), which
 * HEIF makes authoritative, so the EXIF orientation is not applied again.
 * The size is checked from the image handle before decoding. */
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "image_decode.h"
#include "mvk_status.h"

static moevk_status heif_fail(const char *name, struct heif_error e) {
    return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged or unsupported HEIF/AVIF (%s)", name,
                    e.message ? e.message : "unknown error");
}

moevk_status mvk_decode_heif(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation) {
    *orientation = 1;
    moevk_status st = MOEVK_OK;
    struct heif_image_handle *hd = NULL;
    struct heif_image *img = NULL;
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory starting the HEIF decoder", name);
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (e.code == heif_error_Ok) e = heif_context_get_primary_image_handle(ctx, &hd);
    if (e.code != heif_error_Ok) {
        st = heif_fail(name, e);
        goto done;
    }
    st = mvk_decode_check_size(name, "HEIF/AVIF", heif_image_handle_get_width(hd), heif_image_handle_get_height(hd), lim);
    if (st != MOEVK_OK) goto done;
    e = heif_decode_image(hd, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
    if (e.code != heif_error_Ok) {
        st = heif_fail(name, e);
        goto done;
    }
    const int w = heif_image_get_width(img, heif_channel_interleaved), h = heif_image_get_height(img, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *src = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    st = mvk_decode_check_size(name, "HEIF/AVIF", w, h, lim);
    if (st != MOEVK_OK) goto done;
    if (!src || stride < w * 3) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': HEIF/AVIF decoded to no RGB plane", name);
        goto done;
    }
    out->rgb = malloc((size_t)w * h * 3);
    if (!out->rgb) {
        st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory for %dx%d pixels", name, w, h);
        goto done;
    }
    for (int y = 0; y < h; y++) memcpy(out->rgb + (size_t)y * w * 3, src + (size_t)y * stride, (size_t)w * 3);
    out->w = w;
    out->h = h;
done:
    heif_image_release(img);
    heif_image_handle_release(hd);
    heif_context_free(ctx);
    return st;
}
