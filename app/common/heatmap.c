/* heatmap.c — routing heatmap rendering (see heatmap.h for the meaning of a colour). */
#include "heatmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "mvk_status.h"

/* ---------------------------------------------------------------- colormap */

/* viridis at indices 0, 16, ..., 240, 255 of matplotlib's 256-entry table
 * (_viridis_data, CC0, van der Walt & Smith), times 255, rounded. */
static const uint8_t k_viridis[17][3] = {
    {68, 1, 84},    {72, 24, 106},  {71, 45, 123},  {66, 64, 134},  {59, 82, 139},   {51, 99, 141},
    {44, 114, 142}, {38, 130, 142}, {33, 145, 140}, {31, 160, 136}, {40, 174, 128},  {63, 188, 115},
    {94, 201, 98},  {132, 212, 75}, {173, 220, 48}, {216, 226, 25}, {253, 231, 37},
};

void heatmap_color(float t, uint8_t rgb[3]) {
    if (!(t > 0.0f)) t = 0.0f; /* also NaN */
    if (t > 1.0f) t = 1.0f;
    const float idx = t * 255.0f; /* position in the 256-entry table */
    int seg = (int)(idx / 16.0f);
    if (seg > 15) seg = 15;
    const float lo = (float)(seg * 16), hi = seg == 15 ? 255.0f : lo + 16.0f;
    const float f = (idx - lo) / (hi - lo);
    for (int c = 0; c < 3; c++) {
        const float a = k_viridis[seg][c], b = k_viridis[seg + 1][c];
        rgb[c] = (uint8_t)(a + (b - a) * f + 0.5f);
    }
}

/* ---------------------------------------------------------------- 5x7 font */

typedef struct glyph {
    char ch;
    uint8_t rows[7]; /* bit 4 = leftmost column */
} glyph;

static const glyph k_font[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
};

static const uint8_t *glyph_rows(char ch) {
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    for (size_t i = 0; i < sizeof k_font / sizeof k_font[0]; i++)
        if (k_font[i].ch == ch) return k_font[i].rows;
    return NULL; /* space and unknown characters: blank */
}

static void put_px(uint8_t *rgb, int w, int h, int x, int y, const uint8_t c[3]) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    uint8_t *p = rgb + ((size_t)y * w + x) * 3;
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
}

int heatmap_draw_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, int scale, const uint8_t color[3]) {
    if (!rgb || !text || scale < 1) return 0;
    int cx = x;
    for (const char *s = text; *s; s++, cx += 6 * scale) {
        const uint8_t *g = glyph_rows(*s);
        if (!g) continue;
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (g[r] & (0x10 >> col))
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            put_px(rgb, w, h, cx + col * scale + dx, y + r * scale + dy, color);
    }
    return cx - x;
}

static int text_width(const char *s, int scale) { return (int)strlen(s) * 6 * scale - scale; }

/* ---------------------------------------------------------------- layout */

enum {
    MARGIN = 8,       /* outer margin */
    LABEL_W = 22,     /* left column for layer numbers */
    TITLE_H = 14,     /* title row above the panels */
    PANEL_GAP = 18,   /* between the two panels */
    AXIS_H = 12,      /* expert numbers under the panels */
    LEGEND_H = 10,    /* colour bar */
    CAPTION_H = 12,   /* labels under the colour bar */
    MAX_SIDE = 16384
};

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

moevk_status heatmap_layout_make(int n_layers, int n_experts, int cell_w, int cell_h, heatmap_layout *out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "heatmap: layout is NULL");
    memset(out, 0, sizeof *out);
    if (n_layers <= 0 || n_experts <= 0 || n_layers > MAX_SIDE || n_experts > MAX_SIDE)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "heatmap: %d layers x %d experts", n_layers, n_experts);
    if (cell_w <= 0) cell_w = clampi(512 / n_experts, 2, 24);
    if (cell_h <= 0) cell_h = clampi(384 / n_layers, 2, 24);
    const int64_t pw = (int64_t)cell_w * n_experts, ph = (int64_t)cell_h * n_layers;
    const int64_t width = MARGIN + LABEL_W + 2 * (pw + 2) + PANEL_GAP + MARGIN;
    const int64_t height = MARGIN + TITLE_H + ph + 2 + AXIS_H + LEGEND_H + 2 + CAPTION_H + MARGIN;
    if (width > MAX_SIDE || height > MAX_SIDE)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "heatmap: %lldx%lld pixels is too large", (long long)width,
                        (long long)height);
    out->n_layers = n_layers;
    out->n_experts = n_experts;
    out->cell_w = cell_w;
    out->cell_h = cell_h;
    out->font_scale = 1;
    out->width = (int)width;
    out->height = (int)height;
    /* cell areas; a 1-px frame sits just outside each */
    out->panel[0] = (heatmap_rect){MARGIN + LABEL_W + 1, MARGIN + TITLE_H + 1, (int)pw, (int)ph};
    out->panel[1] = (heatmap_rect){out->panel[0].x + (int)pw + 1 + PANEL_GAP + 1, out->panel[0].y, (int)pw, (int)ph};
    const int lx = out->panel[0].x, lr = out->panel[1].x + (int)pw;
    out->legend = (heatmap_rect){lx, out->panel[0].y + (int)ph + 1 + AXIS_H, lr - lx, LEGEND_H};
    return MOEVK_OK;
}

int heatmap_cell_rect(const heatmap_layout *lay, int panel, int layer, int expert, heatmap_rect *out) {
    if (!lay || !out || panel < 0 || panel > 1 || layer < 0 || layer >= lay->n_layers || expert < 0 ||
        expert >= lay->n_experts)
        return -1;
    const heatmap_rect *p = &lay->panel[panel];
    *out = (heatmap_rect){p->x + expert * lay->cell_w, p->y + layer * lay->cell_h, lay->cell_w, lay->cell_h};
    return 0;
}

int heatmap_hit(const heatmap_layout *lay, int x, int y, int *panel, int *layer, int *expert) {
    if (!lay) return -1;
    for (int pi = 0; pi < 2; pi++) {
        const heatmap_rect *p = &lay->panel[pi];
        if (x >= p->x && y >= p->y && x < p->x + p->w && y < p->y + p->h) {
            if (panel) *panel = pi;
            if (layer) *layer = (y - p->y) / lay->cell_h;
            if (expert) *expert = (x - p->x) / lay->cell_w;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- shares */

void heatmap_accumulate(float *values, int n_layers, int n_experts, int k, const int32_t *ids, const float *weights,
                        int by_weight) {
    if (!values || !ids || (by_weight && !weights) || n_layers <= 0 || n_experts <= 0 || k <= 0) return;
    for (int l = 0; l < n_layers; l++)
        for (int r = 0; r < k; r++) {
            const int32_t e = ids[(size_t)l * k + r];
            if (e < 0 || e >= n_experts) continue;
            const float add = by_weight ? weights[(size_t)l * k + r] : 1.0f;
            if (isfinite(add)) values[(size_t)l * n_experts + e] += add;
        }
}

static const float *panel_values(const heatmap_input *in, int panel, int64_t *n_tok) {
    *n_tok = panel == HEATMAP_IMAGE ? in->n_image_tokens : in->n_text_tokens;
    return panel == HEATMAP_IMAGE ? in->image_values : in->text_values;
}

float heatmap_share(const heatmap_input *in, int panel, int layer, int expert) {
    if (!in || layer < 0 || layer >= in->n_layers || expert < 0 || expert >= in->n_experts) return 0.0f;
    int64_t n = 0;
    const float *v = panel_values(in, panel, &n);
    if (!v || n <= 0) return 0.0f;
    const float x = v[(size_t)layer * in->n_experts + expert];
    return isfinite(x) && x > 0.0f ? (float)((double)x / (double)n) : 0.0f;
}

float heatmap_auto_vmax(const heatmap_input *in) {
    float m = 0.0f;
    if (!in) return 1.0f;
    for (int pi = 0; pi < 2; pi++)
        for (int l = 0; l < in->n_layers; l++)
            for (int e = 0; e < in->n_experts; e++) {
                const float s = heatmap_share(in, pi, l, e);
                if (s > m) m = s;
            }
    return m > 0.0f ? m : 1.0f;
}

/* ---------------------------------------------------------------- render */

static const uint8_t k_bg[3] = {20, 20, 24}, k_frame[3] = {110, 110, 110}, k_text[3] = {230, 230, 230},
                     k_empty[3] = {70, 70, 70};

static void fill_rect(uint8_t *rgb, int w, int h, int x, int y, int rw, int rh, const uint8_t c[3]) {
    for (int yy = y; yy < y + rh; yy++)
        for (int xx = x; xx < x + rw; xx++) put_px(rgb, w, h, xx, yy, c);
}

static void frame_rect(uint8_t *rgb, int w, int h, const heatmap_rect *r, const uint8_t c[3]) {
    fill_rect(rgb, w, h, r->x - 1, r->y - 1, r->w + 2, 1, c);
    fill_rect(rgb, w, h, r->x - 1, r->y + r->h, r->w + 2, 1, c);
    fill_rect(rgb, w, h, r->x - 1, r->y, 1, r->h, c);
    fill_rect(rgb, w, h, r->x + r->w, r->y, 1, r->h, c);
}

moevk_status heatmap_render(const heatmap_input *in, const heatmap_layout *lay, float vmax, uint8_t *rgb) {
    if (!in || !lay || !rgb) return mvk_fail(MOEVK_ERR_INVALID_ARG, "heatmap_render: NULL argument");
    if (in->n_layers != lay->n_layers || in->n_experts != lay->n_experts)
        return mvk_fail(MOEVK_ERR_SHAPE, "heatmap: input %dx%d but layout %dx%d", in->n_layers, in->n_experts,
                        lay->n_layers, lay->n_experts);
    if (!(vmax > 0.0f) || !isfinite(vmax)) vmax = heatmap_auto_vmax(in);
    const int W = lay->width, H = lay->height, s = lay->font_scale;
    fill_rect(rgb, W, H, 0, 0, W, H, k_bg);

    static const char *const names[2] = {"IMAGE", "TEXT"};
    char buf[96];
    for (int pi = 0; pi < 2; pi++) {
        const heatmap_rect *p = &lay->panel[pi];
        int64_t n = 0;
        const float *v = panel_values(in, pi, &n);
        snprintf(buf, sizeof buf, "%s  %lld TOKENS", names[pi], (long long)(v ? n : 0));
        heatmap_draw_text(rgb, W, H, p->x, p->y - 1 - 10 * s, buf, s, k_text);
        frame_rect(rgb, W, H, p, k_frame);
        const int empty = !v || n <= 0;
        for (int l = 0; l < lay->n_layers; l++)
            for (int e = 0; e < lay->n_experts; e++) {
                heatmap_rect r;
                if (heatmap_cell_rect(lay, pi, l, e, &r) != 0) continue;
                uint8_t c[3];
                if (empty)
                    memcpy(c, k_empty, 3);
                else
                    heatmap_color(heatmap_share(in, pi, l, e) / vmax, c);
                fill_rect(rgb, W, H, r.x, r.y, r.w, r.h, c);
            }
        /* expert axis: first and last index */
        heatmap_draw_text(rgb, W, H, p->x, p->y + p->h + 3, "0", s, k_text);
        snprintf(buf, sizeof buf, "E%d", lay->n_experts - 1);
        heatmap_draw_text(rgb, W, H, p->x + p->w - text_width(buf, s), p->y + p->h + 3, buf, s, k_text);
    }
    /* layer axis (left of the image panel): first and last layer */
    const heatmap_rect *p0 = &lay->panel[0];
    heatmap_draw_text(rgb, W, H, p0->x - 2 - text_width("L0", s), p0->y, "L0", s, k_text);
    snprintf(buf, sizeof buf, "L%d", lay->n_layers - 1);
    if (lay->n_layers > 1)
        heatmap_draw_text(rgb, W, H, p0->x - 2 - text_width(buf, s), p0->y + p0->h - 7 * s, buf, s, k_text);

    /* colour bar over [0, vmax] and its labels */
    const heatmap_rect *lg = &lay->legend;
    for (int x = 0; x < lg->w; x++) {
        uint8_t c[3];
        heatmap_color(lg->w > 1 ? (float)x / (float)(lg->w - 1) : 0.0f, c);
        fill_rect(rgb, W, H, lg->x + x, lg->y, 1, lg->h, c);
    }
    frame_rect(rgb, W, H, lg, k_frame);
    const int ly = lg->y + lg->h + 3;
    heatmap_draw_text(rgb, W, H, lg->x, ly, "0", s, k_text);
    snprintf(buf, sizeof buf, "%.3g", (double)vmax);
    heatmap_draw_text(rgb, W, H, lg->x + lg->w - text_width(buf, s), ly, buf, s, k_text);
    if (in->by_weight)
        snprintf(buf, sizeof buf, "ROUTING WEIGHT PER TOKEN (ROW SUM 1)");
    else
        snprintf(buf, sizeof buf, "SHARE OF TOKENS (ROW SUM %d)", in->k);
    heatmap_draw_text(rgb, W, H, lg->x + (lg->w - text_width(buf, s)) / 2, ly, buf, s, k_text);
    return MOEVK_OK;
}

moevk_status heatmap_write_png(const char *path, const heatmap_input *in, int cell_w, int cell_h, float vmax) {
    if (!path || !in) return mvk_fail(MOEVK_ERR_INVALID_ARG, "heatmap_write_png: NULL argument");
    heatmap_layout lay;
    MVK_TRY(heatmap_layout_make(in->n_layers, in->n_experts, cell_w, cell_h, &lay));
    uint8_t *rgb = malloc((size_t)lay.width * lay.height * 3);
    if (!rgb) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "heatmap: out of memory");
    moevk_status st = heatmap_render(in, &lay, vmax, rgb);
    if (st == MOEVK_OK && !stbi_write_png(path, lay.width, lay.height, 3, rgb, lay.width * 3))
        st = mvk_fail(MOEVK_ERR_IO, "heatmap: cannot write PNG '%s'", path);
    free(rgb);
    return st;
}
