/* camera_convert.c — camera frame bytes to RGB8 (see camera_convert.h). */
#include "camera_convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int view_camera_convert(const view_frame_desc *d, const uint8_t *data, size_t used, view_image *out, const char *name,
                        char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (d->fmt == VIEW_PIXFMT_MJPEG) return view_image_decode_jpeg(data, used, out, err, err_cap);
    if (used < (size_t)d->stride * d->h) {
        snprintf(err, err_cap, "camera %s: short YUYV frame (%zu bytes)", name, used);
        return 0;
    }
    out->rgb = malloc((size_t)d->w * d->h * 3);
    if (!out->rgb) {
        snprintf(err, err_cap, "out of memory for a camera frame");
        return 0;
    }
    out->w = d->w;
    out->h = d->h;
    view_yuyv_to_rgb(data, d->w, d->h, d->stride, out->rgb);
    return 1;
}
