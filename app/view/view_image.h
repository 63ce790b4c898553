/* view_image.h — image decoding (files, MJPEG), downscaling and PNG writing for
 * moevk-view. All pixels are RGB8, row-major, 3 bytes per pixel. */
#ifndef MOEVK_VIEW_IMAGE_H
#define MOEVK_VIEW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Largest side kept for a frame; bigger images are downscaled (aspect kept). */
#ifndef VIEW_IMAGE_MAX_SIDE  // the fuzz build lowers it, see below
#define VIEW_IMAGE_MAX_SIDE 2048
#endif
/* Images with more pixels than this are refused before decoding. */
#define VIEW_IMAGE_MAX_PIXELS (16384LL * 16384LL)

typedef struct view_image {
    uint8_t *rgb; // [h][w][3]
    int w, h;
} view_image;

/* Loads an image file. On failure returns 0 and writes a message naming the file
 * and the problem into err. If the image was larger than VIEW_IMAGE_MAX_SIDE it
 * is downscaled and *downscaled_from_w/h (if not NULL) get the original size,
 * else 0. */
int view_image_load(const char *path, view_image *out, char *err, size_t err_cap, int *downscaled_from_w,
                    int *downscaled_from_h);

/* Largest side and pixel count of a camera frame; larger ones are refused.
 * The fuzz build (tests/fuzz/fuzz.cmake) lowers these and VIEW_IMAGE_MAX_SIDE:
 * decoding and downscaling frames of up to 16 Mpixels from every mutated input
 * ran fuzz_camera at 24 executions a second; the code paths are the same below
 * and above each limit. */
#ifndef VIEW_FRAME_MAX_SIDE
#define VIEW_FRAME_MAX_SIDE 16384
#endif
#ifndef VIEW_FRAME_MAX_PIXELS
#define VIEW_FRAME_MAX_PIXELS (4096LL * 4096LL)
#endif

/* Decodes a JPEG (e.g. an MJPEG camera frame) held in memory. Anything but a
 * JPEG, and a frame beyond VIEW_FRAME_MAX_SIDE / VIEW_FRAME_MAX_PIXELS, is
 * refused before decoding. */
int view_image_decode_jpeg(const uint8_t *data, size_t len, view_image *out, char *err, size_t err_cap);

/* Converts packed YUYV 4:2:2 (BT.601, limited range) to RGB8. stride: bytes per
 * source row (>= 2*w). dst holds w*h*3 bytes. */
void view_yuyv_to_rgb(const uint8_t *src, int w, int h, int stride, uint8_t *dst);

/* Downscales in place so the longer side is at most max_side. Returns 1 if it
 * scaled, 0 if not needed, -1 on allocation failure. */
int view_image_fit(view_image *img, int max_side);

/* Resamples to exactly nw x nh (up or down). Returns 0 on allocation failure. */
int view_image_resize(view_image *img, int nw, int nh);

/* Writes RGB8 (stride in bytes) as a PNG file. Returns 1 on success. */
int view_png_write(const char *path, const uint8_t *rgb, int w, int h, int stride);

/* Encodes RGB8 as a JPEG in memory (malloc'd, *len bytes); NULL on failure. */
uint8_t *view_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, size_t *len);

void view_image_free(view_image *img);

#endif
