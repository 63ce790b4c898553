/* camera_convert.c — camera frame bytes to RGB8 (see camera_convert.h). */
#include "camera_convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int view_camera_convert(const view_frame_desc *d, const uint8_t *data, size_t used, view_image *out, const char *name,
                        char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (d->fmt == VIEW_PIXFMT_MJPEG) return view_image_decode_jpeg(data, used, out, err, err_cap);
    // Checked before touching the bytes (fuzz_camera found the first two missing):
    // a row is whole Y0 U Y1 V pairs, the stride holds a row, the frame holds
    // h-1 strides plus the last row, and the size is one we would display.
    if (d->w <= 0 || d->h <= 0 || d->w > VIEW_CAMERA_MAX_SIDE || d->h > VIEW_CAMERA_MAX_SIDE) {
        snprintf(err, err_cap, "camera %s: bad YUYV frame size %dx%d (1..%d a side)", name, d->w, d->h,
                 VIEW_CAMERA_MAX_SIDE);
        return 0;
    }
    size_t row = ((size_t)d->w + 1) / 2 * 4;
    if (d->stride < 0 || (size_t)d->stride < row) {
        snprintf(err, err_cap, "camera %s: YUYV stride %d is shorter than a row of %d pixels (%zu bytes)", name,
                 d->stride, d->w, row);
        return 0;
    }
    if (used < (size_t)d->stride * (size_t)(d->h - 1) + row) {
        snprintf(err, err_cap, "camera %s: short YUYV frame (%zu bytes for %dx%d, stride %d)", name, used, d->w, d->h,
                 d->stride);
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
