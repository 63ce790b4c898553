/* camera.h — webcam frames through V4L2 (libv4l2), YUYV or MJPEG, converted to
 * RGB8. The camera reopens itself after an unplug or a busy device. */
#ifndef MOEVK_VIEW_CAMERA_H
#define MOEVK_VIEW_CAMERA_H

#include <stddef.h>

#include "view_image.h"

typedef struct view_camera view_camera;

typedef struct view_camera_entry {
    char path[64];   // "/dev/video0"
    char name[128];  // driver card name
} view_camera_entry;

/* Lists capture devices /dev/video0..63; returns how many were written (<= cap). */
int view_camera_list(view_camera_entry *out, int cap);

/* Creates a camera for a device path; nothing is opened until the first poll. */
view_camera *view_camera_new(const char *path, int want_w, int want_h);

/* Opens the device if needed (retrying at most once a second after a failure)
 * and takes the newest queued frame. Returns 1 with a frame in *out, 0 when no
 * new frame is ready, -1 when a problem appeared (message in err, reported once
 * per problem until the camera works again). */
int view_camera_poll(view_camera *c, view_image *out, char *err, size_t err_cap);

/* 1 while the device is open and streaming. */
int view_camera_is_streaming(const view_camera *c);
/* The pixel format in use: "YUYV", "MJPG" or "" when closed. */
const char *view_camera_format(const view_camera *c);

void view_camera_free(view_camera *c);

#endif
