/* camera_convert.h — one captured camera frame (YUYV or MJPEG bytes as the
 * driver hands them over) to RGB8. No device involved: camera.c calls it for
 * V4L2 buffers, the synthetic test camera for its frames, and
 * tests/fuzz/fuzz_camera.c with arbitrary bytes, sizes and strides. */
#ifndef MOEVK_VIEW_CAMERA_CONVERT_H
#define MOEVK_VIEW_CAMERA_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "view_image.h"

/* Largest side accepted (V4L2 reports sizes; anything beyond is refused). */
#define VIEW_CAMERA_MAX_SIDE VIEW_FRAME_MAX_SIDE

typedef enum view_pixfmt {
    VIEW_PIXFMT_YUYV = 1,   /* packed 4:2:2, Y0 U Y1 V, BT.601 limited range */
    VIEW_PIXFMT_MJPEG = 2,  /* one JPEG per frame */
} view_pixfmt;

typedef struct view_frame_desc {
    view_pixfmt fmt;
    int w, h;        /* negotiated size (YUYV; an MJPEG frame carries its own) */
    int stride;      /* bytes per YUYV row as the driver reports it */
} view_frame_desc;

/* Converts data[0..used) into *out (malloc'd RGB8). Returns 1 on success, else
 * 0 with a message in err (name is used in it, e.g. the device path). */
int view_camera_convert(const view_frame_desc *d, const uint8_t *data, size_t used, view_image *out, const char *name,
                        char *err, size_t err_cap);

#endif
