/* image.h — image input: decoding (image_decode.c: libjpeg-turbo, libpng,
 * libwebp, giflib, libheif; EXIF orientation applied) and the Qwen-VL preprocessing
 * (smart resize to a token budget, resize filter, normalisation to planar f32).
 *
 * Reference: /work/shared/docs/qwen3vl-moe.md §3.1 and the llama.cpp bundled
 * in npm node-llama-cpp 3.22.1 (tools/mtmd/mtmd-image.cpp, clip.cpp, commit
 * de3ff815). What that llama.cpp does for projector qwen3vl_merger:
 *
 *  - target size: smart resize with align = patch*merge = 32 and a pixel
 *    budget of [min_tokens, max_tokens] * 32*32 (defaults 8 and 4096);
 *  - if the target equals the input size the pixels are copied unchanged;
 *  - otherwise, for BOTH up- and downscaling, a Pillow-compatible separable
 *    BICUBIC filter (a = -0.5, 22-bit fixed-point weights, horizontal pass
 *    then vertical pass, each rounded and clamped to uint8) — not the
 *    bilinear filter the spec describes (that was older clip.cpp);
 *  - with letterboxing ("PAD_CEIL", the hparams default that the Qwen branch
 *    does not clear): the image is scaled by min(tw/W, th/H) (float), the
 *    scaled size is min(ceil(W*scale), tw) x min(ceil(H*scale), th), it is
 *    centred at ((tw-nw)/2, (th-nh)/2) (integer division) on black (0,0,0).
 *
 * MVK_RESIZE_LLAMA (the default) reproduces that. MVK_RESIZE_BILINEAR_STRETCH
 * is the spec's older-llama.cpp variant (own bilinear, uint8 truncation, no
 * padding), kept for comparison with older builds.
 *
 * Pixel buffers are row-major RGB8: rgb[(y*w + x)*3 + c]. */
#ifndef MVK_IMAGE_H
#define MVK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

/* Limits checked before any pixel buffer is allocated. */
#define MVK_IMAGE_MAX_SIDE 32768
#define MVK_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
/* Largest encoded file we read (bytes). */
#define MVK_IMAGE_MAX_FILE_BYTES ((size_t)1 << 30)

/* llama.cpp's defaults for Qwen2/2.5/3-VL (clip.cpp set_limit_image_tokens). */
#define MVK_IMAGE_MIN_TOKENS_DEFAULT 8
#define MVK_IMAGE_MAX_TOKENS_DEFAULT 4096

typedef struct mvk_image {
    int w, h;
    uint8_t *rgb; /* [h][w][3] */
} mvk_image;

/* Decodes JPEG (greyscale, YCbCr, RGB, CMYK), PNG (every type; 16-bit
 * samples reduced to 8, alpha dropped), WebP (still), GIF (first frame), HEIC
 * and AVIF to RGB8, with the EXIF orientation applied. BMP, TIFF, PNM, PSD,
 * HDR, JPEG XL and QOI are refused by name. Failure: MOEVK_ERR_IO if the file
 * cannot be read, MOEVK_ERR_IMAGE if it is not an image moevk reads, damaged
 * or too large (the message names the file, the format and the reason). *out
 * is zeroed on failure. */
moevk_status mvk_image_load_file(const char *path, mvk_image *out);

/* Same from memory; name is used in messages only (may be NULL). */
moevk_status mvk_image_load_memory(const void *data, size_t size, const char *name, mvk_image *out);

/* Allocates a w x h image (contents zero). */
moevk_status mvk_image_alloc(int w, int h, mvk_image *out);

/* Copies caller-owned RGB8 pixels (row-major, 3 bytes per pixel). */
moevk_status mvk_image_from_rgb(const uint8_t *rgb, int w, int h, mvk_image *out);

/* Frees the pixels and zeroes the struct; accepts NULL and zeroed structs. */
void mvk_image_free(mvk_image *img);

/* smart_resize (llama.cpp img_tool::calc_size_preserved_ratio, in float):
 *   A = patch*merge; w' = max(A, round(w/A)*A), h' likewise;
 *   if w'h' > max_tokens*A^2: b = sqrt(h*w/max_px), w' = max(A, floor(w/b/A)*A) ...
 *   else if w'h' < min_tokens*A^2: b = sqrt(min_px/(h*w)), w' = ceil(w*b/A)*A ...
 * min_tokens/max_tokens <= 0 select the defaults (8, 4096). The result has
 * (ow/A)*(oh/A) image tokens. MOEVK_ERR_INVALID_ARG for non-positive sizes
 * or patch/merge, or a result beyond MVK_IMAGE_MAX_SIDE. */
moevk_status mvk_image_smart_size(int w, int h, int patch, int merge, int min_tokens, int max_tokens,
                                  int *ow, int *oh);

/* The spec's (older llama.cpp) bilinear filter: for output (x, y),
 * px = x * ((float)(sw-1)/dw), x0 = min(floor(px), sw-2), blend along x then
 * y with lerp(s,e,t) = s + (e-s)*t in float, store by truncation. A side of 1
 * repeats its only pixel. No aspect handling (stretch). dst holds dw*dh*3. */
moevk_status mvk_image_resize_bilinear_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

/* Pillow-compatible bicubic resize (as llama.cpp's resize_pillow with
 * RESIZE_ALGO_BICUBIC): identical bytes to PIL Image.resize(..., BICUBIC).
 * A dimension whose size does not change is not filtered. dst holds dw*dh*3. */
moevk_status mvk_image_resize_bicubic_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

typedef enum mvk_resize_mode {
    MVK_RESIZE_LLAMA = 0,          /* bundled llama.cpp: Pillow bicubic + black letterbox */
    MVK_RESIZE_BICUBIC_STRETCH,    /* Pillow bicubic, no padding (HF-like) */
    MVK_RESIZE_BILINEAR_STRETCH    /* the spec's older llama.cpp bilinear, no padding */
} mvk_resize_mode;

/* Resizes src to exactly tw x th with the given mode into *out (allocated).
 * Same size: a plain copy, as llama.cpp does. */
moevk_status mvk_image_resize(const mvk_image *src, int tw, int th, mvk_resize_mode mode, mvk_image *out);

/* f = ((float)u8/255 - mean[c]) / std[c] in f32, planar: out[c*w*h + y*w + x].
 * out holds 3*w*h floats. */
moevk_status mvk_image_to_planar_f32(const mvk_image *img, const float mean[3], const float std[3], float *out);

typedef struct mvk_image_prep_params {
    int patch;                /* ViT patch size (16) */
    int merge;                /* spatial merge (2) */
    int min_tokens;           /* <= 0: 8 */
    int max_tokens;           /* <= 0: 4096 */
    mvk_resize_mode mode;     /* default MVK_RESIZE_LLAMA */
    float mean[3], std[3];    /* from the mmproj (clip.vision.image_mean/std) */
} mvk_image_prep_params;

/* patch 16, merge 2, tokens 8..4096, MVK_RESIZE_LLAMA, mean = std = 0.5. */
mvk_image_prep_params mvk_image_prep_default_params(void);

typedef struct mvk_image_prep {
    int w, h;         /* resized size, multiples of patch*merge */
    int nx, ny;       /* image tokens per row / column: w/(patch*merge), h/(patch*merge) */
    float *pixels;    /* [3][h][w] normalised */
} mvk_image_prep;

/* smart size -> resize -> normalise. */
moevk_status mvk_image_preprocess(const mvk_image *src, const mvk_image_prep_params *p, mvk_image_prep *out);
void mvk_image_prep_free(mvk_image_prep *p);

/* For huge inputs (photos, camera frames) before preprocessing or display:
 * if src exceeds max_w x max_h, shrinks it preserving the aspect ratio
 * (each side at least 1) by area averaging (box filter, rounded); otherwise
 * copies. */
moevk_status mvk_image_downscale_fit(const mvk_image *src, int max_w, int max_h, mvk_image *out);

#endif
