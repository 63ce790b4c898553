/* image_jpeg.c — JPEG through libjpeg-turbo (Debian libjpeg62-turbo), the
 * camera's MJPEG frames included. Greyscale, YCbCr and RGB come out as RGB
 * from libjpeg itself; CMYK and YCCK (Adobe, stored inverted) are converted
 * here. The size is checked after jpeg_read_header, before any pixel buffer;
 * a progressive file may hold at most MAX_SCANS scans (a file of thousands of
 * tiny scans costs minutes of CPU: the known libjpeg "scan bomb"). libjpeg's
 * errors longjmp back here; its warnings (recoverable corruption) refuse the
 * file unless the caller tolerates damage (webcams). The APP1 EXIF block is
 * kept for the orientation. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image_decode.h"
#include "mvk_status.h"

#define MAX_SCANS 256
#define MAX_DECODER_MEMORY (512L << 20) /* libjpeg's own work memory (coefficients of a progressive file) */

typedef struct jpeg_guard {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int warnings;
} jpeg_guard;

static void on_error(j_common_ptr c) {
    jpeg_guard *g = (jpeg_guard *)c->err;
    c->err->format_message(c, g->msg);
    longjmp(g->jump, 1);
}

static void on_message(j_common_ptr c, int level) {
    jpeg_guard *g = (jpeg_guard *)c->err;
    if (level < 0) { /* a warning: corrupt data that libjpeg worked around */
        if (!g->warnings) c->err->format_message(c, g->msg);
        g->warnings++;
    }
}

static void on_progress(j_common_ptr c) {
    if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > MAX_SCANS) {
        jpeg_guard *g = (jpeg_guard *)c->err;
        snprintf(g->msg, sizeof g->msg, "more than %d progressive scans", MAX_SCANS);
        longjmp(g->jump, 2);
    }
}

static int clamp8(int v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* Adobe CMYK is stored inverted (255 = no ink): R = C*K/255 on the stored values. */
static void cmyk_row_to_rgb(const uint8_t *src, uint8_t *dst, int w, int inverted) {
    for (int x = 0; x < w; x++, src += 4, dst += 3) {
        int c = src[0], m = src[1], y = src[2], k = src[3];
        if (!inverted) {
            c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
        }
        dst[0] = (uint8_t)clamp8((c * k + 127) / 255);
        dst[1] = (uint8_t)clamp8((m * k + 127) / 255);
        dst[2] = (uint8_t)clamp8((y * k + 127) / 255);
    }
}

moevk_status mvk_decode_jpeg(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                             mvk_image *out, int *orientation) {
    struct jpeg_decompress_struct cinfo;
    jpeg_guard g;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&g, 0, sizeof g);
    /* volatile: modified between setjmp and longjmp */
    uint8_t *volatile px = NULL;
    uint8_t *volatile row4 = NULL;
    volatile moevk_status st = MOEVK_OK;
    *orientation = 1;
    cinfo.err = jpeg_std_error(&g.pub);
    g.pub.error_exit = on_error;
    g.pub.emit_message = on_message;
    if (setjmp(g.jump)) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged or unsupported JPEG (%s)", name, g.msg);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = MAX_DECODER_MEMORY;
    g.progress.progress_monitor = on_progress;
    cinfo.progress = &g.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    st = mvk_decode_check_size(name, "JPEG", cinfo.image_width, cinfo.image_height, lim);
    if (st != MOEVK_OK) goto done;
    for (jpeg_saved_marker_ptr mk = cinfo.marker_list; mk; mk = mk->next)
        if (mk->marker == JPEG_APP0 + 1 && mk->data_length > 6 && memcmp(mk->data, "Exif\0\0", 6) == 0) {
            *orientation = mvk_exif_orientation(mk->data, mk->data_length);
            break;
        }
    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if ((int)cinfo.output_components != (cmyk ? 4 : 3) || w != (int)cinfo.image_width || h != (int)cinfo.image_height) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': JPEG decodes to an unexpected layout (%d components, %dx%d)", name,
                      cinfo.output_components, w, h);
        goto done;
    }
    px = malloc((size_t)w * (size_t)h * 3);
    if (cmyk) row4 = malloc((size_t)w * 4);
    if (!px || (cmyk && !row4)) {
        st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory for %dx%d pixels", name, w, h);
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION y = cinfo.output_scanline;
        JSAMPROW rowp = cmyk ? (JSAMPROW)row4 : (JSAMPROW)(px + (size_t)y * w * 3);
        if (jpeg_read_scanlines(&cinfo, &rowp, 1) != 1) {
            st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': JPEG ended at row %u of %d", name, (unsigned)y, h);
            goto done;
        }
        if (cmyk) cmyk_row_to_rgb(row4, px + (size_t)y * w * 3, w, cinfo.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&cinfo);
    if (g.warnings && !lim->tolerate_damage) {
        st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged JPEG (%s)", name, g.msg);
        goto done;
    }
    out->rgb = px;
    out->w = w;
    out->h = h;
    px = NULL;
done:
    jpeg_destroy_decompress(&cinfo);
    free(px);
    free(row4);
    return st;
}
