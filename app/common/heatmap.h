/* heatmap.h — routing heatmap rendered into an RGB8 buffer (and PNG).
 *
 * Two panels side by side, IMAGE tokens (left) and TEXT tokens (right); in
 * each, row l = MoE layer (top = first), column e = expert (left = 0).
 *
 * Normalisation (what a colour means):
 *   share(l, e) = value[l][e] / n_tokens_of_the_group
 * where value is either the number of the group's tokens that selected expert
 * e in layer l (counts; a share is then the fraction of tokens that used the
 * expert, in [0, 1], and a row sums to k because each token picks k distinct
 * experts), or the summed routing weights (by_weight; a row then sums to 1).
 * Colours run over [0, vmax] with one scale for both panels so they can be
 * compared: vmax = the caller's value if > 0, else the largest share in either
 * panel (heatmap_auto_vmax). Shares above vmax saturate. A group with no
 * tokens is drawn in flat grey.
 *
 * The colormap is viridis (perceptually ordered, dark blue -> yellow),
 * interpolated from 17 stops of matplotlib's published (CC0) table.
 * Labels use a built-in 5x7 bitmap font: panel titles with token counts,
 * the first/last layer and expert index, and the colour bar's 0 and vmax. */
#ifndef MOEVK_HEATMAP_H
#define MOEVK_HEATMAP_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

typedef struct heatmap_input {
    int n_layers;              /* MoE layers (rows) */
    int n_experts;             /* experts per layer (columns) */
    int k;                     /* experts used per token (for the caption only) */
    const float *image_values; /* [n_layers][n_experts] counts or weight sums of image tokens; NULL = none */
    const float *text_values;  /* [n_layers][n_experts] same for text (prompt + generated) tokens; NULL = none */
    int64_t n_image_tokens;
    int64_t n_text_tokens;
    int by_weight;             /* values are weight sums, not counts (legend text only) */
} heatmap_input;

typedef struct heatmap_rect {
    int x, y, w, h;
} heatmap_rect;

enum { HEATMAP_IMAGE = 0, HEATMAP_TEXT = 1 };

typedef struct heatmap_layout {
    int n_layers, n_experts;
    int cell_w, cell_h;        /* pixels per cell */
    int width, height;         /* whole picture */
    heatmap_rect panel[2];     /* cell area of each panel (frame drawn just outside) */
    heatmap_rect legend;       /* colour bar */
    int font_scale;            /* 5x7 glyphs drawn at this integer scale */
} heatmap_layout;

/* Adds one token's routing to its group's values[n_layers][n_experts]: for
 * each layer l and rank r < k, values[l][ids[l*k + r]] += 1 (counts) or
 * += weights[l*k + r] (by_weight; weights may then not be NULL). Ids outside
 * [0, n_experts) and non-finite weights are ignored. The caller also counts
 * the token in n_image_tokens or n_text_tokens. */
void heatmap_accumulate(float *values, int n_layers, int n_experts, int k, const int32_t *ids, const float *weights,
                        int by_weight);

/* Computes the layout. cell_w/cell_h <= 0 pick sizes so a panel is about
 * 512x384 pixels (each cell 2..24 px). MOEVK_ERR_INVALID_ARG for
 * non-positive counts or a picture larger than 16384 px per side. */
moevk_status heatmap_layout_make(int n_layers, int n_experts, int cell_w, int cell_h, heatmap_layout *out);

/* Where cell (layer, expert) of a panel is drawn; 0 on success, -1 if out of range. */
int heatmap_cell_rect(const heatmap_layout *lay, int panel, int layer, int expert, heatmap_rect *out);

/* Inverse for mouse hover: the panel/layer/expert under pixel (x, y); 0 if
 * inside a cell, -1 otherwise. */
int heatmap_hit(const heatmap_layout *lay, int x, int y, int *panel, int *layer, int *expert);

/* Colormap: t in [0, 1] (clamped; NaN -> 0) to RGB8. */
void heatmap_color(float t, uint8_t rgb[3]);

/* share(l, e) of a panel as defined above; 0 if the group has no tokens. */
float heatmap_share(const heatmap_input *in, int panel, int layer, int expert);

/* The largest share over both panels, or 1 if all are 0. */
float heatmap_auto_vmax(const heatmap_input *in);

/* Renders into rgb[lay->height][lay->width][3] (caller-sized). vmax <= 0: auto. */
moevk_status heatmap_render(const heatmap_input *in, const heatmap_layout *lay, float vmax, uint8_t *rgb);

/* Lays out (cell sizes as heatmap_layout_make), renders and writes a PNG. */
moevk_status heatmap_write_png(const char *path, const heatmap_input *in, int cell_w, int cell_h, float vmax);

/* The 5x7 font used for the labels, exposed for other small drawings: draws
 * text (A-Z, 0-9, space . - ( ) % / : = ; lower case as upper) at (x, y)
 * clipped to the buffer. Returns the advance in pixels (6*scale per char). */
int heatmap_draw_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, int scale, const uint8_t color[3]);

#endif
