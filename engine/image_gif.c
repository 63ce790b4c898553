/* image_gif.c — the first frame of a GIF through giflib (Debian libgif7).
 * Kept because GIFs are common on the web (stickers, screenshots of old
 * sites) and giflib is small and long fuzzed. The frame is drawn on the
 * logical screen as stb_image (llama.cpp's decoder) does it: black where the
 * frame does not reach or a pixel is transparent. Only the records up to the
 * first image are read: the rest of an animation is never decoded. */
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "image_decode.h"
#include "mvk_status.h"

typedef struct gif_src {
    const uint8_t *data;
    size_t size, at;
} gif_src;

static int on_read(GifFileType *g, GifByteType *dst, int n) {
    gif_src *s = g->UserData;
    if (n < 0) return 0;
    size_t left = s->size - s->at, k = (size_t)n < left ? (size_t)n : left;
    memcpy(dst, s->data + s->at, k);
    s->at += k;
    return (int)k;
}

static moevk_status gif_fail(const char *name, int code) {
    const char *why = GifErrorString(code);
    return mvk_fail(MOEVK_ERR_IMAGE, "image '%s': damaged or unsupported GIF (%s)", name, why ? why : "unknown error");
}

moevk_status mvk_decode_gif(const uint8_t *data, size_t size, const char *name, const mvk_decode_limits *lim,
                            mvk_image *out, int *orientation) {
    *orientation = 1;
    gif_src src = {data, size, 0};
    int err = 0;
    GifFileType *g = DGifOpen(&src, on_read, &err);
    if (!g) return gif_fail(name, err);
    moevk_status st = mvk_decode_check_size(name, "GIF", g->SWidth, g->SHeight, lim);
    uint8_t *px = NULL, *line = NULL;
    int transparent = -1;
    while (st == MOEVK_OK) {
        GifRecordType rt;
        if (DGifGetRecordType(g, &rt) == GIF_ERROR) {
            st = gif_fail(name, g->Error);
            break;
        }
        if (rt == TERMINATE_RECORD_TYPE) {
            st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': GIF holds no image", name);
            break;
        }
        if (rt == EXTENSION_RECORD_TYPE) {
            int code = 0;
            GifByteType *ext = NULL;
            if (DGifGetExtension(g, &code, &ext) == GIF_ERROR) {
                st = gif_fail(name, g->Error);
                break;
            }
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
            while (ext) {
                if (DGifGetExtensionNext(g, &ext) == GIF_ERROR) {
                    st = gif_fail(name, g->Error);
                    break;
                }
            }
            continue;
        }
        if (rt != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(g) == GIF_ERROR) {
            st = gif_fail(name, g->Error);
            break;
        }
        const GifImageDesc *d = &g->Image;
        const ColorMapObject *cm = d->ColorMap ? d->ColorMap : g->SColorMap;
        if (!cm || !cm->Colors || cm->ColorCount <= 0) {
            st = mvk_fail(MOEVK_ERR_IMAGE, "image '%s': GIF frame without a colour table", name);
            break;
        }
        st = mvk_decode_check_size(name, "GIF frame", d->Width, d->Height, lim);
        if (st != MOEVK_OK) break;
        const int W = g->SWidth, H = g->SHeight;
        px = calloc((size_t)W * H, 3);
        line = malloc((size_t)d->Width);
        if (!px || !line) {
            st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "image '%s': out of memory for %dx%d pixels", name, W, H);
            break;
        }
        /* rows in file order; interlaced files store rows 0,8,16.. then 4,12.. then 2,6.. then 1,3.. */
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        const int passes = d->Interlace ? 4 : 1;
        for (int pass = 0; pass < passes && st == MOEVK_OK; pass++) {
            for (int r = d->Interlace ? start[pass] : 0; r < d->Height; r += d->Interlace ? step[pass] : 1) {
                if (DGifGetLine(g, line, d->Width) == GIF_ERROR) {
                    st = gif_fail(name, g->Error);
                    break;
                }
                const int y = d->Top + r;
                if (y < 0 || y >= H) continue;
                for (int c = 0; c < d->Width; c++) {
                    const int x = d->Left + c, idx = line[c];
                    if (x < 0 || x >= W || idx == transparent || idx >= cm->ColorCount) continue;
                    uint8_t *o = px + ((size_t)y * W + x) * 3;
                    o[0] = cm->Colors[idx].Red;
                    o[1] = cm->Colors[idx].Green;
                    o[2] = cm->Colors[idx].Blue;
                }
            }
        }
        if (st == MOEVK_OK) {
            out->rgb = px;
            out->w = W;
            out->h = H;
            px = NULL;
        }
        break;
    }
    DGifCloseFile(g, &err);
    free(px);
    free(line);
    return st;
}
