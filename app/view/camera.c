/* camera.c — V4L2 capture (memory-mapped streaming through libv4l2's wrappers).
 * Formats are negotiated natively (YUYV preferred, else MJPEG) and converted
 * by view_camera_convert (camera_convert.c): YUYV by hand, MJPEG with stb_image. */
#include "camera.h"
#include "camera_convert.h"
#include "camera_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef MOEVK_HAVE_V4L2
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#define CAM_N_BUFFERS 4

struct view_camera {
    char path[64];
    int want_w, want_h;
    int fd;           // -1 while closed
    int streaming;
    unsigned fourcc;  // V4L2_PIX_FMT_*
    int w, h, stride;
    void *buf[CAM_N_BUFFERS];     // mmapped driver buffers
    size_t buf_len[CAM_N_BUFFERS];
    int n_buf;
    double next_retry;            // monotonic seconds
    char last_err[256];           // the problem last reported (reported once)
    view_test_camera *test;       // "test:..." synthetic source (camera_test.c), or NULL
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int view_camera_is_streaming(const view_camera *c) {
    if (c && c->test) return view_test_camera_is_up(c->test);
    return c && c->streaming;
}

static int report(view_camera *c, const char *msg, char *err, size_t err_cap) {
    if (!strcmp(msg, c->last_err)) return 0;
    snprintf(c->last_err, sizeof c->last_err, "%s", msg);
    snprintf(err, err_cap, "%s", msg);
    return -1;
}

// The synthetic camera: a frame when one is due, a problem (reported once) while it is "unplugged".
static int test_poll(view_camera *c, view_image *out, char *err, size_t err_cap) {
    char msg[256];
    int r = view_test_camera_poll(c->test, now_s(), out, msg, sizeof msg);
    if (r < 0) return report(c, msg, err, err_cap);
    if (r > 0) c->last_err[0] = 0;
    return r;
}

#ifdef MOEVK_HAVE_V4L2

static int xioctl(int fd, unsigned long req, void *arg) {
    int r;
    do r = v4l2_ioctl(fd, req, arg);
    while (r == -1 && errno == EINTR);
    return r;
}

int view_camera_list(view_camera_entry *out, int cap) {
    int n = 0;
    for (int i = 0; i < 64 && n < cap; i++) {
        char path[64];
        snprintf(path, sizeof path, "/dev/video%d", i);
        int fd = open(path, O_RDWR | O_NONBLOCK);
        if (fd < 0) continue;
        struct v4l2_capability caps;
        memset(&caps, 0, sizeof caps);
        if (ioctl(fd, VIDIOC_QUERYCAP, &caps) == 0) {
            unsigned dc = (caps.capabilities & V4L2_CAP_DEVICE_CAPS) ? caps.device_caps : caps.capabilities;
            if ((dc & V4L2_CAP_VIDEO_CAPTURE) && (dc & V4L2_CAP_STREAMING)) {
                snprintf(out[n].path, sizeof out[n].path, "%s", path);
                snprintf(out[n].name, sizeof out[n].name, "%s", (const char *)caps.card);
                n++;
            }
        }
        close(fd);
    }
    return n;
}

static void cam_close(view_camera *c) {
    if (c->fd >= 0) {
        if (c->streaming) {
            enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            xioctl(c->fd, VIDIOC_STREAMOFF, &t);
        }
        for (int i = 0; i < c->n_buf; i++)
            if (c->buf[i] && c->buf[i] != MAP_FAILED) v4l2_munmap(c->buf[i], c->buf_len[i]);
        v4l2_close(c->fd);
    }
    memset(c->buf, 0, sizeof c->buf);
    c->n_buf = 0;
    c->fd = -1;
    c->streaming = 0;
    c->fourcc = 0;
}

static int try_format(view_camera *c, unsigned fourcc) {
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = (unsigned)c->want_w;
    fmt.fmt.pix.height = (unsigned)c->want_h;
    fmt.fmt.pix.pixelformat = fourcc;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(c->fd, VIDIOC_S_FMT, &fmt) < 0) return 0;
    if (fmt.fmt.pix.pixelformat != fourcc) return 0;
    c->fourcc = fourcc;
    c->w = (int)fmt.fmt.pix.width;
    c->h = (int)fmt.fmt.pix.height;
    c->stride = fmt.fmt.pix.bytesperline ? (int)fmt.fmt.pix.bytesperline : c->w * 2;
    return 1;
}

// Opens, negotiates and starts streaming; on failure writes why into err.
static int cam_open(view_camera *c, char *err, size_t err_cap) {
    c->fd = v4l2_open(c->path, O_RDWR | O_NONBLOCK);
    if (c->fd < 0) {
        int e = errno;
        snprintf(err, err_cap, "camera %s: %s%s", c->path, strerror(e),
                 e == ENOENT ? " (no such camera; unplugged?) — retrying" : e == EBUSY ? " (busy) — retrying" : " — retrying");
        return 0;
    }
    struct v4l2_capability caps;
    memset(&caps, 0, sizeof caps);
    if (xioctl(c->fd, VIDIOC_QUERYCAP, &caps) < 0 || !(caps.capabilities & V4L2_CAP_VIDEO_CAPTURE)) {
        snprintf(err, err_cap, "camera %s is not a video capture device", c->path);
        cam_close(c);
        return 0;
    }
    if (!try_format(c, V4L2_PIX_FMT_YUYV) && !try_format(c, V4L2_PIX_FMT_MJPEG)) {
        snprintf(err, err_cap, "camera %s offers neither YUYV nor MJPEG", c->path);
        cam_close(c);
        return 0;
    }
    struct v4l2_requestbuffers req;
    memset(&req, 0, sizeof req);
    req.count = CAM_N_BUFFERS;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (xioctl(c->fd, VIDIOC_REQBUFS, &req) < 0 || req.count < 1) {
        int e = errno;
        snprintf(err, err_cap, "camera %s: cannot get buffers: %s%s", c->path, strerror(e),
                 e == EBUSY ? " (busy) — retrying" : "");
        cam_close(c);
        return 0;
    }
    c->n_buf = req.count > CAM_N_BUFFERS ? CAM_N_BUFFERS : (int)req.count;
    for (int i = 0; i < c->n_buf; i++) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = (unsigned)i;
        if (xioctl(c->fd, VIDIOC_QUERYBUF, &b) < 0) goto fail;
        c->buf_len[i] = b.length;
        c->buf[i] = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
        if (c->buf[i] == MAP_FAILED) {
            c->buf[i] = NULL;
            goto fail;
        }
        if (xioctl(c->fd, VIDIOC_QBUF, &b) < 0) goto fail;
    }
    enum v4l2_buf_type t = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c->fd, VIDIOC_STREAMON, &t) < 0) goto fail;
    c->streaming = 1;
    return 1;
fail:
    snprintf(err, err_cap, "camera %s: cannot start streaming: %s — retrying", c->path, strerror(errno));
    cam_close(c);
    return 0;
}

// Converts one dequeued buffer into RGB.
static int cam_convert(view_camera *c, const uint8_t *data, size_t used, view_image *out, char *err, size_t err_cap) {
    view_frame_desc d = {c->fourcc == V4L2_PIX_FMT_MJPEG ? VIEW_PIXFMT_MJPEG : VIEW_PIXFMT_YUYV, c->w, c->h, c->stride};
    return view_camera_convert(&d, data, used, out, c->path, err, err_cap);
}

int view_camera_poll(view_camera *c, view_image *out, char *err, size_t err_cap) {
    char msg[256];
    memset(out, 0, sizeof *out);
    if (c->test) return test_poll(c, out, err, err_cap);
    if (c->fd < 0) {
        double t = now_s();
        if (t < c->next_retry) return 0;
        c->next_retry = t + 1.0;
        if (!cam_open(c, msg, sizeof msg)) return report(c, msg, err, err_cap);
        c->last_err[0] = 0;
    }
    // Drain the queue, keeping only the newest frame: stale frames are dropped.
    struct v4l2_buffer newest;
    int have = 0;
    for (;;) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        if (xioctl(c->fd, VIDIOC_DQBUF, &b) < 0) {
            if (errno == EAGAIN) break;
            snprintf(msg, sizeof msg, "camera %s stopped: %s (unplugged?) — retrying", c->path, strerror(errno));
            cam_close(c);
            c->next_retry = now_s() + 1.0;
            return report(c, msg, err, err_cap);
        }
        if (have) xioctl(c->fd, VIDIOC_QBUF, &newest);
        newest = b;
        have = 1;
    }
    if (!have) return 0;
    int ok = 0;
    if (newest.index < (unsigned)c->n_buf && newest.bytesused <= c->buf_len[newest.index])
        ok = cam_convert(c, c->buf[newest.index], newest.bytesused, out, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "camera %s returned a bad buffer", c->path);
    xioctl(c->fd, VIDIOC_QBUF, &newest);
    if (!ok) return report(c, msg, err, err_cap);
    c->last_err[0] = 0;
    return 1;
}

const char *view_camera_format(const view_camera *c) {
    if (c && c->test) return view_test_camera_is_up(c->test) ? view_test_camera_format(c->test) : "";
    if (!c || !c->streaming) return "";
    return c->fourcc == V4L2_PIX_FMT_MJPEG ? "MJPG" : "YUYV";
}

void view_camera_free(view_camera *c) {
    if (!c) return;
    if (!c->test) cam_close(c);
    view_test_camera_free(c->test);
    free(c);
}

#else /* !MOEVK_HAVE_V4L2 */

int view_camera_list(view_camera_entry *out, int cap) {
    (void)out;
    (void)cap;
    return 0;
}

int view_camera_poll(view_camera *c, view_image *out, char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    if (c->test) return test_poll(c, out, err, err_cap);
    if (c->last_err[0]) return 0;
    snprintf(c->last_err, sizeof c->last_err, "camera %s: moevk-view was built without V4L2 (libv4l-dev)", c->path);
    snprintf(err, err_cap, "%s", c->last_err);
    return -1;
}

const char *view_camera_format(const view_camera *c) {
    if (c && c->test) return view_test_camera_is_up(c->test) ? view_test_camera_format(c->test) : "";
    return "";
}

void view_camera_free(view_camera *c) {
    if (!c) return;
    view_test_camera_free(c->test);
    free(c);
}

#endif

view_camera *view_camera_new(const char *path, int want_w, int want_h) {
    view_camera *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->want_w = want_w > 0 ? want_w : 640;
    c->want_h = want_h > 0 ? want_h : 480;
    c->fd = -1;
    if (!strncmp(path, "test:", 5)) {
        char err[256];
        c->test = view_test_camera_new(path + 5, c->want_w, c->want_h, now_s(), err, sizeof err);
        if (!c->test) {
            fprintf(stderr, "moevk-view: %s\n", err);
            free(c);
            return NULL;
        }
    }
    return c;
}
