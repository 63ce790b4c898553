/* image_api.c — the public image entry points (moevk.h): the engine's own
 * decoders (image_decode.c) for apps that show or send a user's images, so
 * moevk-view and the server read files exactly as the model input does. */
#include <string.h>

#include "image_decode.h"
#include "moevk.h"
#include "mvk_status.h"

static mvk_decode_limits to_limits(const moevk_image_limits *l) {
    mvk_decode_limits d = mvk_decode_default_limits();
    if (l) {
        if (l->max_side > 0 && l->max_side < d.max_side) d.max_side = l->max_side;
        if (l->max_pixels > 0 && l->max_pixels < d.max_pixels) d.max_pixels = l->max_pixels;
        d.jpeg_only = l->jpeg_only != 0;
        d.tolerate_damage = l->tolerate_damage != 0;
    }
    return d;
}

static void to_public(mvk_image *in, moevk_image *out) {
    out->w = in->w;
    out->h = in->h;
    out->rgb = in->rgb;
}

moevk_status moevk_image_decode(const void *data, size_t size, const char *name, const moevk_image_limits *lim,
                                moevk_image *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_image_decode: out is NULL");
    memset(out, 0, sizeof *out);
    mvk_decode_limits d = to_limits(lim);
    mvk_image img;
    MVK_TRY(mvk_image_decode(data, size, name, &d, &img));
    to_public(&img, out);
    return MOEVK_OK;
}

moevk_status moevk_image_load(const char *path, const moevk_image_limits *lim, moevk_image *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_image_load: out is NULL");
    memset(out, 0, sizeof *out);
    mvk_decode_limits d = to_limits(lim);
    mvk_image img;
    MVK_TRY(mvk_image_load_file_lim(path, &d, &img));
    to_public(&img, out);
    return MOEVK_OK;
}

void moevk_image_free(moevk_image *img) {
    if (!img) return;
    mvk_image m = {img->w, img->h, img->rgb};
    mvk_image_free(&m);
    memset(img, 0, sizeof *img);
}
