/* fuzz_camera.c — libFuzzer harness: camera frames (app/view/camera_convert.c).
 * Input: byte 0 picks YUYV or MJPEG, bytes 1-6 the width, height and stride
 * (16 bits each, so any size a driver could report, including odd widths and
 * strides shorter than a row), the rest is the frame as the driver filled it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "camera_convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 7) return 0;
    view_frame_desc d;
    d.fmt = data[0] & 1 ? VIEW_PIXFMT_MJPEG : VIEW_PIXFMT_YUYV;
    d.w = data[1] | data[2] << 8;
    d.h = data[3] | data[4] << 8;
    d.stride = data[5] | data[6] << 8;
    // the frame in a buffer of its own size, so any read past it is caught
    size_t used = size - 7;
    uint8_t *frame = malloc(used ? used : 1);
    if (!frame) return 0;
    memcpy(frame, data + 7, used);
    view_image out;
    char err[256];
    if (view_camera_convert(&d, frame, used, &out, "fuzz", err, sizeof err)) {
        if (!out.rgb || out.w <= 0 || out.h <= 0) __builtin_trap();
        volatile uint8_t last = out.rgb[(size_t)out.w * out.h * 3 - 1];
        (void)last;
        view_image_free(&out);
    } else if (!err[0]) {
        __builtin_trap();  // a failure names its reason
    }
    free(frame);
    return 0;
}
