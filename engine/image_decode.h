/* image_decode.h — the image decoders behind mvk_image_load_memory: one row
 * per format in image_decode.c's table, each through the library Debian ships
 * for it (libjpeg-turbo, libpng, libwebp, giflib, libheif), EXIF orientation
 * applied (libexif). Every decoder checks our limits from the header, before
 * it allocates pixels, and names the file and the reason when it refuses.
 * Internal to engine/; the public entry points are moevk_image_* (moevk.h). */
#ifndef MVK_IMAGE_DECODE_H
#define MVK_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

typedef struct mvk_decode_limits {
    int max_side;            /* longest side accepted */
    int64_t max_pixels;      /* w*h accepted */
    int jpeg_only;           /* refuse anything but a JPEG (a camera's MJPEG frame) */
    int tolerate_damage;     /* JPEG: decode despite recoverable corruption (libjpeg warnings), as
                                webcams' MJPEG frames need; 0: a damaged file is refused */
} mvk_decode_limits;

/* The library's limits: MVK_IMAGE_MAX_SIDE, MVK_IMAGE_MAX_PIXELS, any format, damage refused. */
mvk_decode_limits mvk_decode_default_limits(void);

/* Decodes data[0..size) (name is for messages) within lim, EXIF orientation
 * applied: out->rgb is malloc'd [h][w][3]. On failure *out is zeroed and the
 * message names the file, the format and the reason. */
moevk_status mvk_image_decode(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                              mvk_image *out);

/* Reads a file and decodes it (MOEVK_ERR_IO if it cannot be read). */
moevk_status mvk_image_load_file_lim(const char *path, const mvk_decode_limits *lim, mvk_image *out);

/* One decoder (image_jpeg.c, image_png.c, ...). *orientation gets the EXIF
 * orientation 1..8 the file asks for (1 if none). */
typedef moevk_status (*mvk_decode_fn)(const uint8_t *data, size_t size, const char *name,
                                      const mvk_decode_limits *lim, mvk_image *out, int *orientation);
moevk_status mvk_decode_jpeg(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation);
moevk_status mvk_decode_png(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                            mvk_image *out, int *orientation);
moevk_status mvk_decode_webp(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation);
moevk_status mvk_decode_gif(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                            mvk_image *out, int *orientation);
moevk_status mvk_decode_heif(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation);

/* Helpers shared by the decoders (image_decode.c). */
/* MOEVK_OK if w x h is within lim (and positive), else MOEVK_ERR_IMAGE naming the file and format. */
moevk_status mvk_decode_check_size(const char *name, const char *format, int64_t w, int64_t h,
                                   const mvk_decode_limits *lim);
/* The orientation (1..8) an EXIF block asks for; 1 if absent or unreadable. tiff: the block as a JPEG APP1
 * holds it ("Exif\0\0" then TIFF), or bare TIFF ("II*\0" / "MM\0*") as PNG's eXIf and WebP's EXIF chunks do. */
int mvk_exif_orientation(const uint8_t *exif, size_t size);
/* Applies an EXIF orientation in place (1: nothing; 5..8 swap the sides). */
moevk_status mvk_image_orient(mvk_image *img, int orientation, const char *name);

#endif
