/* camera_test.c — the synthetic camera (see camera_test.h). */
#include "camera_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera_convert.h"

struct view_test_camera {
    int w, h, fps, mjpeg;
    double on_s, off_s;   // schedule: up for on_s, gone for off_s, repeated (on_s 0: always up)
    double t0, next_frame;
    int up;
    uint64_t n_frames, connects;
    uint8_t *yuyv;        // [h][w/2][4] the frame as the "driver" fills it
};

static int parse_opts(view_test_camera *c, const char *opts, char *err, size_t err_cap) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(err, err_cap, "camera test: option '%s' is not key=value (fps, on, off, fmt)", tok);
            return 0;
        }
        *eq = 0;
        const char *v = eq + 1;
        char *end = NULL;
        double x = strtod(v, &end);
        int num_ok = end && end != v && !*end && x >= 0 && x < 1e6;
        if (!strcmp(tok, "fps") && num_ok && x >= 1 && x <= 240) c->fps = (int)x;
        else if (!strcmp(tok, "on") && num_ok) c->on_s = x;
        else if (!strcmp(tok, "off") && num_ok) c->off_s = x;
        else if (!strcmp(tok, "fmt") && (!strcmp(v, "yuyv") || !strcmp(v, "mjpeg"))) c->mjpeg = !strcmp(v, "mjpeg");
        else {
            snprintf(err, err_cap, "camera test: bad option %s=%s (fps=1..240, on=S, off=S, fmt=yuyv|mjpeg)", tok, v);
            return 0;
        }
    }
    return 1;
}

view_test_camera *view_test_camera_new(const char *opts, int w, int h, double t0, char *err, size_t err_cap) {
    view_test_camera *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    c->w = w > 1 ? w & ~1 : 2;  // YUYV: whole pixel pairs
    c->h = h > 0 ? h : 1;
    c->fps = 30;
    c->off_s = 3;
    c->t0 = t0;
    if (!parse_opts(c, opts ? opts : "", err, err_cap)) {
        free(c);
        return NULL;
    }
    c->yuyv = malloc((size_t)c->w * c->h * 2);
    if (!c->yuyv) {
        view_test_camera_free(c);
        snprintf(err, err_cap, "out of memory for the test camera's frames");
        return NULL;
    }
    return c;
}

static void rgb_to_yuv(int r, int g, int b, uint8_t *y, uint8_t *u, uint8_t *v) {
    // BT.601 limited range, the inverse of view_yuyv_to_rgb
    *y = (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
    *u = (uint8_t)(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
    *v = (uint8_t)(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
}

// Frame n of the pattern, as RGB of pixel (x, y).
static void pattern(const view_test_camera *c, uint64_t n, int x, int y, int *r, int *g, int *b) {
    static const uint8_t bars[8][3] = {{235, 235, 235}, {235, 235, 16}, {16, 235, 235}, {16, 235, 16},
                                       {235, 16, 235},  {235, 16, 16},  {16, 16, 235},  {16, 16, 16}};
    int shift = (int)(n / (uint64_t)c->fps) % 8;  // the bars move on by one every second
    int bar = (x * 8 / c->w + shift) % 8;
    *r = bars[bar][0], *g = bars[bar][1], *b = bars[bar][2];
    int side = c->h / 4 > 8 ? c->h / 4 : 8;      // a white square crossing the frame in 4 s
    int period = 4 * c->fps;
    int sx = (int)((n % (uint64_t)period) * (uint64_t)(c->w + side) / (uint64_t)period) - side;
    int sy = c->h / 2 - side / 2;
    if (x >= sx && x < sx + side && y >= sy && y < sy + side) *r = *g = *b = 250;
    if (y >= c->h - 8 && x < (int)(n % 600) * c->w / 600) *r = 255, *g = 128, *b = 0;  // frame counter
}

static void fill_frame(view_test_camera *c, uint64_t n) {
    for (int y = 0; y < c->h; y++) {
        uint8_t *row = c->yuyv + (size_t)y * c->w * 2;
        for (int x = 0; x < c->w; x += 2) {
            int r0, g0, b0, r1, g1, b1;
            pattern(c, n, x, y, &r0, &g0, &b0);
            pattern(c, n, x + 1, y, &r1, &g1, &b1);
            uint8_t y0, u0, v0, y1, u1, v1;
            rgb_to_yuv(r0, g0, b0, &y0, &u0, &v0);
            rgb_to_yuv(r1, g1, b1, &y1, &u1, &v1);
            uint8_t *p = row + x * 2;
            p[0] = y0, p[1] = (uint8_t)((u0 + u1) / 2), p[2] = y1, p[3] = (uint8_t)((v0 + v1) / 2);
        }
    }
}

int view_test_camera_poll(view_test_camera *c, double t, view_image *out, char *err, size_t err_cap) {
    memset(out, 0, sizeof *out);
    double el = t - c->t0;
    int up = 1;
    if (c->on_s > 0) up = fmod(el, c->on_s + c->off_s) < c->on_s;
    if (!up) {
        c->up = 0;
        snprintf(err, err_cap, "camera test: stopped: No such device (unplugged by the test schedule) — retrying");
        return -1;
    }
    if (!c->up) {  // (back) on: the first frame is due now
        c->up = 1;
        c->connects++;
        c->next_frame = t;
    }
    if (t < c->next_frame) return 0;
    c->next_frame += 1.0 / c->fps;
    if (c->next_frame < t) c->next_frame = t + 1.0 / c->fps;  // late (a slow UI frame): no burst of frames
    fill_frame(c, c->n_frames++);
    view_frame_desc d = {VIEW_PIXFMT_YUYV, c->w, c->h, c->w * 2};
    if (!c->mjpeg) return view_camera_convert(&d, c->yuyv, (size_t)c->w * c->h * 2, out, "test", err, err_cap) ? 1 : -1;
    // MJPEG: the same pattern encoded as a JPEG, then decoded like a camera's frame
    view_image rgb;
    if (!view_camera_convert(&d, c->yuyv, (size_t)c->w * c->h * 2, &rgb, "test", err, err_cap)) return -1;
    size_t n = 0;
    uint8_t *jpg = view_jpeg_encode(rgb.rgb, rgb.w, rgb.h, 85, &n);
    view_image_free(&rgb);
    if (!jpg) {
        snprintf(err, err_cap, "camera test: cannot encode an MJPEG frame");
        return -1;
    }
    view_frame_desc dj = {VIEW_PIXFMT_MJPEG, c->w, c->h, 0};
    int ok = view_camera_convert(&dj, jpg, n, out, "test", err, err_cap);
    free(jpg);
    return ok ? 1 : -1;
}

int view_test_camera_is_up(const view_test_camera *c) { return c && c->up; }
const char *view_test_camera_format(const view_test_camera *c) { return c && c->mjpeg ? "MJPG" : "YUYV"; }
uint64_t view_test_camera_connects(const view_test_camera *c) { return c ? c->connects : 0; }

void view_test_camera_free(view_test_camera *c) {
    if (!c) return;
    free(c->yuyv);
    free(c);
}
