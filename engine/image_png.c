/* image_png.c — PNG through libpng (Debian libpng16). Every PNG type becomes
 * RGB8 as stb_image (and so llama.cpp's mtmd) makes it: palettes and low bit
 * depths expanded, greyscale copied to three channels, 16-bit samples reduced
 * to their high byte, alpha dropped (not composited), no gamma correction —
 * so an 8-bit RGB PNG gives the same bytes through both. Interlaced files are
 * read whole. The size is checked from IHDR before any pixel buffer, and
 * libpng's own limits cap ancillary chunks. An eXIf chunk's orientation is
 * applied. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image_decode.h"
#include "mvk_status.h"

typedef struct png_src {
    const uint8_t *data;
    size_t size, at;
} png_src;

typedef struct png_guard {
    char msg[256];
} png_guard;

static void on_read(png_structp p, png_bytep dst, png_size_t n) {
    png_src *s = png_get_io_ptr(p);
    if (n > s->size - s->at) png_error(p, "file truncated");
    memcpy(dst, s->data + s->at, n);
    s->at += n;
}

static void on_error(png_structp p, png_const_charp msg) {
    png_guard *g = png_get_error_ptr(p);
    snprintf(g->msg, sizeof g->msg, "%s", msg);
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg) { (void)p, (void)msg; }

moevk_status mvk_decode_png(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                            mvk_image *out, int *orientation) {
    png_guard g = {{0}};
    png_src src = {data, size, 0};
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    volatile moevk_status st = MOEVK_OK;
    *orientation = 1;
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &g, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_read_struct(p ? &p : NULL, NULL, NULL);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory starting the PNG decoder", name);
    }
    if (setjmp(png_jmpbuf(p))) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged or unsupported PNG (%s)", name, g.msg);
        goto done;
    }
    png_set_read_fn(p, &src, on_read);
    png_set_user_limits(p, (png_uint_32)lim->max_side, (png_uint_32)lim->max_side);
    png_set_chunk_cache_max(p, 1000);            /* ancillary chunks kept */
    png_set_chunk_malloc_max(p, (png_alloc_size_t)8 << 20); /* bytes of one ancillary chunk */
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    st = mvk_decode_check_size(name, "PNG", w, h, lim);
    if (st != MOEVK_OK) goto done;
    {
        png_uint_32 n_exif = 0;
        png_bytep exif = NULL;
        if (png_get_eXIf_1(p, info, &n_exif, &exif) && exif) *orientation = mvk_exif_orientation(exif, n_exif);
    }
    int type = png_get_color_type(p, info), depth = png_get_bit_depth(p, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(p);
    if (depth == 16) png_set_strip_16(p);  /* high byte, as stb's 16-to-8 conversion */
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(p); /* tRNS never becomes a channel (no png_set_tRNS_to_alpha) */
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(p);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    if (png_get_rowbytes(p, info) != (size_t)w * 3) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': PNG of color type %d, depth %d does not convert to RGB8", name,
                      type, depth);
        goto done;
    }
    px = malloc((size_t)w * h * 3);
    rows = malloc((size_t)h * sizeof *rows);
    if (!px || !rows) {
        st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory for %ux%u pixels", name, w, h);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = px + (size_t)y * w * 3;
    png_read_image(p, rows);
    png_read_end(p, NULL);
    out->rgb = px;
    out->w = (int)w;
    out->h = (int)h;
    px = NULL;
done:
    png_destroy_read_struct(&p, &info, NULL);
    free(px);
    free(rows);
    return st;
}
