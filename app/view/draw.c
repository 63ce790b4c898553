/* draw.c — layout and drawing of the moevk-view window: frame, streaming
 * caption, expert heatmap with legend and toggles, status bar, banners, help
 * overlay and loading screen. The same code draws the window and the headless
 * PNGs: everything goes through an SDL software renderer into an SDL_Surface. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "heatmap.h"

#define MARGIN 10
#define STATUS_H 26

static const SDL_Color C_BG = {22, 24, 29, 255};
static const SDL_Color C_PANEL = {33, 36, 43, 255};
static const SDL_Color C_TEXT = {232, 232, 232, 255};
static const SDL_Color C_DIM = {150, 156, 168, 255};
static const SDL_Color C_ACCENT = {96, 172, 255, 255};
static const SDL_Color C_BANNER = {178, 40, 48, 255};
static const SDL_Color C_WHITE = {255, 255, 255, 255};

// Opaque colours are drawn without blending: the software renderer's blended
// fill is a per-pixel loop, many times slower than its plain fill.
static void set_color(SDL_Renderer *r, SDL_Color c) {
    SDL_SetRenderDrawBlendMode(r, c.a == 255 ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
}

static void fill(SDL_Renderer *r, SDL_Rect rc, SDL_Color c) {
    set_color(r, c);
    SDL_RenderFillRect(r, &rc);
}

static void outline(SDL_Renderer *r, SDL_Rect rc, SDL_Color c) {
    set_color(r, c);
    SDL_RenderDrawRect(r, &rc);
}

static int in_rect(SDL_Rect rc, int x, int y) { return x >= rc.x && y >= rc.y && x < rc.x + rc.w && y < rc.y + rc.h; }

const char *view_layer_kind(const view_app *app, int l) {
    if (!app->wst.mixed_layers || l < 0 || l >= VIEW_MAX_MOE_LAYERS) return "";
    static const char *const names[3][2] = {/* [moevk_mixer][a dense MLP beside the experts] */
                                            {" (attention)", " (global attention; a dense GeGLU MLP runs beside the MoE)"},
                                            {" (Gated DeltaNet)", " (Gated DeltaNet; a dense MLP runs beside the MoE)"},
                                            {" (sliding attention)", " (sliding attention; a dense GeGLU MLP runs beside the MoE)"}};
    const int mx = app->wst.mixer[l] < 3 ? app->wst.mixer[l] : 0;
    return names[mx][app->wst.ffn[l] == MOEVK_FFN_DENSE_MLP];
}

/* ---------------------------------------------------------------- layout */

static void layout(view_app *app) {
    view_rects *rc = &app->rc;
    int W = app->W, H = app->H;
    int hw = (int)(W * 0.42);
    if (hw < 360) hw = 360;
    /* many experts (Qwen3.6: 256) widen the heatmap panel so that a cell keeps at least 3 px: the grid starts
     * 44 px in (layer labels) and ends 12 px before the edge */
    if (app->grid_experts > 0 && hw < 56 + 3 * app->grid_experts) hw = 56 + 3 * app->grid_experts;
    if (hw > W - 300) hw = W - 300;
    int lw = W - hw - 3 * MARGIN;
    int cap_h = (int)(H * 0.16);
    if (cap_h < 96) cap_h = 96;
    int chat_h = (int)(H * 0.24);
    if (chat_h < 120) chat_h = 120;
    rc->status = (SDL_Rect){0, H - STATUS_H, W, STATUS_H};
    rc->frame = (SDL_Rect){MARGIN, MARGIN, lw, H - STATUS_H - cap_h - chat_h - 4 * MARGIN};
    rc->caption = (SDL_Rect){MARGIN, rc->frame.y + rc->frame.h + MARGIN, lw, cap_h};
    rc->chat = (SDL_Rect){MARGIN, rc->caption.y + cap_h + MARGIN, lw, chat_h};
    rc->qbox = (SDL_Rect){rc->chat.x + 8, rc->chat.y + chat_h - 36, lw - 16, 28};
    rc->heat = (SDL_Rect){2 * MARGIN + lw, MARGIN, hw, H - STATUS_H - 2 * MARGIN};

    // heatmap panel: title, toggle buttons, expert labels, grid, legend, info lines
    SDL_Rect h = rc->heat;
    int bx = h.x + 10, by = h.y + 34;
    const int bw[5] = {62, 52, 52, 92, 80};
    for (int i = 0; i < 5; i++) {
        if (i == 3) bx += 12;
        rc->btn[i] = (SDL_Rect){bx, by, bw[i], 24};
        bx += bw[i] + 4;
    }
    int L = app->grid_layers > 0 ? app->grid_layers : 1, E = app->grid_experts > 0 ? app->grid_experts : 1;
    int gx = h.x + 44, gy = by + 24 + 40;
    int gw = h.x + h.w - 12 - gx;
    // the token trace takes the bottom of the panel when it is tall enough
    int trace_h = h.h >= 420 ? (int)(h.h * 0.28) : 0;
    if (trace_h && trace_h < 90) trace_h = 90;
    rc->trace = trace_h ? (SDL_Rect){gx, h.y + h.h - trace_h + 26, gw, trace_h - 34} : (SDL_Rect){0, 0, 0, 0};
    int gh = h.y + h.h - 100 - trace_h - gy;
    int cw = gw / E, ch = gh / L;
    if (cw > 64) cw = 64;
    if (ch > (cw > 40 ? cw : 40)) ch = cw > 40 ? cw : 40;  // at most square, unless cells are thin
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    rc->cell_w = cw;
    rc->cell_h = ch;
    rc->cell_gap = (cw >= 6 && ch >= 6) ? 1 : 0;
    rc->grid = (SDL_Rect){gx, gy, cw * E, ch * L};
    int lgw = gw - 120 < 300 ? gw - 120 : 300;  // room for the label at its right
    rc->legend = (SDL_Rect){gx, gy + ch * L + 12, lgw > 60 ? lgw : 60, 12};
}

/* ---------------------------------------------------------------- heatmap data */

void view_update_heat(view_app *app) {
    const view_routing *r = &app->cap.routing;
    int L = r->n_layers, E = r->n_expert;
    if (L <= 0 || E <= 0) {
        L = app->wst.info.n_moe_layers;
        E = app->wst.info.n_expert;
    }
    if (L != app->grid_layers || E != app->grid_experts) {
        free(app->counts);
        free(app->shares);
        for (int f = 0; f < 3; f++) {
            free(app->avg_sum[f]);
            app->avg_sum[f] = L > 0 && E > 0 ? calloc((size_t)L * E, sizeof(double)) : NULL;
            app->avg_n[f] = 0;
        }
        app->counts = L > 0 && E > 0 ? calloc((size_t)L * E, sizeof(int)) : NULL;
        app->shares = L > 0 && E > 0 ? calloc((size_t)L * E, sizeof(float)) : NULL;
        app->grid_layers = app->counts ? L : 0;
        app->grid_experts = app->counts ? E : 0;
    }
    if (!app->counts || !app->shares) return;
    size_t n = (size_t)L * E;
    int usable = r->n_layers == L && r->n_expert == E;
    // A finished caption joins the running average once.
    if (usable && app->cap.done && !app->cap.failed && !app->cap.cancelled && app->cap.frame_seq != app->avg_last_seq) {
        for (int f = 0; f < 3; f++) {
            int n_sel = 0;
            view_routing_counts(r, (view_token_filter)f, app->counts, &n_sel);
            if (!n_sel || !app->avg_sum[f]) continue;
            for (size_t i = 0; i < n; i++) app->avg_sum[f][i] += (double)app->counts[i] / n_sel;
            app->avg_n[f]++;
        }
        app->avg_last_seq = app->cap.frame_seq;
    }
    app->n_sel = 0;
    if (usable)
        view_routing_counts(r, app->filter, app->counts, &app->n_sel);
    else
        memset(app->counts, 0, n * sizeof(int));
    for (size_t i = 0; i < n; i++) app->shares[i] = app->n_sel ? (float)app->counts[i] / app->n_sel : 0.0f;
    if (app->show_avg && app->avg_n[app->filter] > 0)
        for (size_t i = 0; i < n; i++) app->shares[i] = (float)(app->avg_sum[app->filter][i] / app->avg_n[app->filter]);
    // One colour scale over the shown matrix, as heatmap.h: [0, largest share].
    float vmax = 0;
    for (size_t i = 0; i < n; i++)
        if (app->shares[i] > vmax) vmax = app->shares[i];
    app->vmax = vmax > 0 ? vmax : 1.0f;
}

int view_seg_record(const view_app *app, int seg) {
    if (seg < 0 || seg >= app->cap.n_segs) return -1;
    // Generated token n is recorded when it is fed back, as the n-th generated
    // record; check the token id, and look nearby if the engine's order differs.
    const view_routing *r = &app->cap.routing;
    int32_t tok = app->cap.segs[seg].token;
    int rec = view_routing_nth_generated_of_turn(r, 0, seg);
    if (rec >= 0 && r->token[rec] == tok) return rec;
    for (int d = 1; d <= 2; d++) {
        int a = view_routing_nth_generated_of_turn(r, 0, seg - d), b = view_routing_nth_generated_of_turn(r, 0, seg + d);
        if (seg - d >= 0 && a >= 0 && r->token[a] == tok) return a;
        if (b >= 0 && r->token[b] == tok) return b;
    }
    return -1;
}

/* ---------------------------------------------------------------- panels */

static void draw_frame(view_app *app) {
    SDL_Renderer *r = app->ren;
    SDL_Rect fr = app->rc.frame;
    fill(r, fr, C_PANEL);
    if (!app->frame.rgb) {
        const char *msg = "Drop an image here, pass files or a folder, or --camera /dev/videoN.  F1: help";
        int w = view_text_width(app->text, VIEW_FONT_NORMAL, msg);
        view_text_draw(app->text, VIEW_FONT_NORMAL, msg, fr.x + (fr.w - w) / 2, fr.y + fr.h / 2 - 8, C_DIM);
        return;
    }
    // fit, aspect kept
    double s = fmin((double)fr.w / app->frame.w, (double)fr.h / app->frame.h);
    int dw = (int)(app->frame.w * s), dh = (int)(app->frame.h * s);
    if (dw < 1) dw = 1;
    if (dh < 1) dh = 1;
    SDL_Rect dst = {fr.x + (fr.w - dw) / 2, fr.y + (fr.h - dh) / 2, dw, dh};
    if (!app->frame_tex || app->frame_tex_seq != app->frame_seq || app->frame_tex_rect.w != dw ||
        app->frame_tex_rect.h != dh) {
        if (app->frame_tex) SDL_DestroyTexture(app->frame_tex);
        app->frame_tex = NULL;
        view_image scaled = {NULL, app->frame.w, app->frame.h};
        scaled.rgb = malloc((size_t)app->frame.w * app->frame.h * 3);
        if (scaled.rgb) {
            memcpy(scaled.rgb, app->frame.rgb, (size_t)app->frame.w * app->frame.h * 3);
            // resample once per frame and size; the per-UI-frame blit is then unscaled
            view_image_resize(&scaled, dw, dh);
            // in the target's own pixel format, so the per-frame blit is a plain copy
            Uint32 fmt = app->surf->format->format;
            uint32_t *px = malloc((size_t)scaled.w * scaled.h * 4);
            app->frame_tex = px ? SDL_CreateTexture(app->ren, fmt, SDL_TEXTUREACCESS_STATIC, scaled.w, scaled.h) : NULL;
            if (app->frame_tex &&
                SDL_ConvertPixels(scaled.w, scaled.h, SDL_PIXELFORMAT_RGB24, scaled.rgb, scaled.w * 3, fmt, px,
                                  scaled.w * 4) == 0)
                SDL_UpdateTexture(app->frame_tex, NULL, px, scaled.w * 4);
            free(px);
            dst.w = scaled.w;
            dst.h = scaled.h;
            view_image_free(&app->frame_scaled);
            app->frame_scaled = scaled;  // kept: the overlay tints these pixels
        }
        app->frame_tex_seq = app->frame_seq;
        app->frame_tex_rect = (SDL_Rect){0, 0, dw, dh};
    }
    if (app->frame_tex) {
        int tw = 0, th = 0;
        SDL_QueryTexture(app->frame_tex, NULL, NULL, &tw, &th);
        dst = (SDL_Rect){fr.x + (fr.w - tw) / 2, fr.y + (fr.h - th) / 2, tw, th};
        app->rc.image = dst;
        SDL_Texture *ovl = view_overlay_texture(app);
        SDL_RenderCopy(r, ovl ? ovl : app->frame_tex, NULL, &dst);
    }
    app->rc.image = dst;
    view_draw_overlay(app);
    // frame name, bottom left
    char label[600];
    snprintf(label, sizeof label, "%s  %dx%d%s", app->frame_name, app->frame.w, app->frame.h,
             app->paused ? "   [paused]" : "");
    int lw = view_text_width(app->text, VIEW_FONT_SMALL, label);
    SDL_Rect lb = {fr.x, fr.y + fr.h - 20, lw + 12, 20};
    fill(r, lb, (SDL_Color){0, 0, 0, 170});
    view_text_draw(app->text, VIEW_FONT_SMALL, label, lb.x + 6, lb.y + 2, C_TEXT);
}

// Byte offset in the caption under (x, y), or -1.
static int caption_hit(view_app *app, int x, int y) {
    view_rects *rc = &app->rc;
    if (!app->cap.text || !rc->n_lines || !in_rect(rc->caption, x, y)) return -1;
    int line = (y - rc->cap_y) / rc->cap_line_h;
    if (line < 0 || line >= rc->n_lines) return -1;
    const char *s = app->cap.text + rc->line_start[line];
    int n = rc->line_len[line];
    if (x < rc->cap_x) return -1;
    for (int i = 0; i < n;) {
        int next = i + 1;
        while (next < n && ((uint8_t)s[next] & 0xC0) == 0x80) next++;
        if (view_text_width_n(app->text, VIEW_FONT_CAPTION, s, next) > x - rc->cap_x)
            return rc->line_start[line] + i;
        i = next;
    }
    return -1;
}

static int seg_at_byte(const view_caption *c, int b) {
    for (int i = 0; i < c->n_segs; i++)
        if (b >= c->segs[i].start && b < c->segs[i].start + c->segs[i].len) return i;
    return -1;
}

static void draw_caption(view_app *app) {
    SDL_Renderer *r = app->ren;
    view_rects *rc = &app->rc;
    SDL_Rect cr = rc->caption;
    fill(r, cr, C_PANEL);
    char head[256];
    const view_caption *c = &app->cap;
    if (!c->started)
        snprintf(head, sizeof head, "Caption");
    else if (!c->done)
        snprintf(head, sizeof head, "Caption — %s", c->t_first_token ? "streaming…" : "reading the image…");
    else if (c->failed)
        snprintf(head, sizeof head, "Caption — failed");
    else if (c->cancelled)
        snprintf(head, sizeof head, "Caption — stopped for a newer frame");
    else
        snprintf(head, sizeof head, "Caption — done in %.2f s (first token after %.2f s)", c->t_done - c->t_submit,
                 c->t_first_token ? c->t_first_token - c->t_submit : 0.0);
    view_text_draw(app->text, VIEW_FONT_SMALL, head, cr.x + 10, cr.y + 6, C_DIM);

    rc->cap_x = cr.x + 10;
    rc->cap_y = cr.y + 28;
    rc->cap_w = cr.w - 20;
    rc->cap_line_h = view_text_line_height(app->text, VIEW_FONT_CAPTION);
    rc->n_lines = 0;
    if (!c->text || !c->text[0]) return;
    int max_lines = (cr.h - 34) / rc->cap_line_h;
    if (max_lines > VIEW_MAX_CAPTION_LINES) max_lines = VIEW_MAX_CAPTION_LINES;
    if (max_lines < 1) max_lines = 1;
    rc->n_lines = view_text_wrap(app->text, VIEW_FONT_CAPTION, c->text, rc->cap_w, rc->line_start, rc->line_len,
                                 VIEW_MAX_CAPTION_LINES);
    if (rc->n_lines > max_lines) {  // a long caption: keep its newest lines in view
        int drop = rc->n_lines - max_lines;
        memmove(rc->line_start, rc->line_start + drop, sizeof(int) * (size_t)max_lines);
        memmove(rc->line_len, rc->line_len + drop, sizeof(int) * (size_t)max_lines);
        rc->n_lines = max_lines;
    }

    // the token under the mouse (or forced by a script) is highlighted
    int hl_seg = app->hover_seg;
    for (int l = 0; l < rc->n_lines; l++) {
        int y = rc->cap_y + l * rc->cap_line_h;
        const char *s = c->text + rc->line_start[l];
        if (hl_seg >= 0 && hl_seg < c->n_segs) {
            int a = c->segs[hl_seg].start - rc->line_start[l], b = a + c->segs[hl_seg].len;
            if (a < 0) a = 0;
            if (b > rc->line_len[l]) b = rc->line_len[l];
            if (b > a) {
                int x0 = view_text_width_n(app->text, VIEW_FONT_CAPTION, s, a);
                int x1 = view_text_width_n(app->text, VIEW_FONT_CAPTION, s, b);
                fill(r, (SDL_Rect){rc->cap_x + x0, y, x1 - x0, rc->cap_line_h}, (SDL_Color){70, 90, 140, 255});
            }
        }
        char line[1024];
        int n = rc->line_len[l] < (int)sizeof line - 1 ? rc->line_len[l] : (int)sizeof line - 1;
        memcpy(line, s, (size_t)n);
        line[n] = 0;
        view_text_draw(app->text, VIEW_FONT_CAPTION, line, rc->cap_x, y, C_TEXT);
    }
}

static void draw_button(view_app *app, SDL_Rect b, const char *label, int on) {
    fill(app->ren, b, on ? C_ACCENT : (SDL_Color){52, 57, 68, 255});
    int w = view_text_width(app->text, VIEW_FONT_SMALL, label);
    view_text_draw(app->text, VIEW_FONT_SMALL, label, b.x + (b.w - w) / 2, b.y + 4, on ? (SDL_Color){10, 20, 30, 255} : C_TEXT);
}

static void draw_heat(view_app *app) {
    SDL_Renderer *r = app->ren;
    view_rects *rc = &app->rc;
    SDL_Rect h = rc->heat;
    fill(r, h, C_PANEL);
    int scrub = app->hover_record;
    const view_routing *rt = &app->cap.routing;
    char title[256];
    if (scrub >= 0)
        snprintf(title, sizeof title, "Expert routing — token #%d (gate weight)", rt->pos ? rt->pos[scrub] : scrub);
    else
        snprintf(title, sizeof title, "Expert routing — share of %s tokens, %s",
                 app->filter == VIEW_TOKENS_IMAGE ? "image" : app->filter == VIEW_TOKENS_TEXT ? "text" : "all",
                 app->show_avg ? "running average" : "this frame");
    view_text_draw(app->text, VIEW_FONT_NORMAL, title, h.x + 10, h.y + 8, C_TEXT);
    const char *labels[5] = {"Image", "Text", "Both", "This frame", "Average"};
    for (int i = 0; i < 5; i++) {
        int on = i < 3 ? (int)app->filter == (i == 0 ? VIEW_TOKENS_IMAGE : i == 1 ? VIEW_TOKENS_TEXT : VIEW_TOKENS_BOTH)
                       : (i == 3 ? !app->show_avg : app->show_avg);
        draw_button(app, rc->btn[i], labels[i], on);
    }
    int L = app->grid_layers, E = app->grid_experts;
    if (L <= 0 || E <= 0 || !app->shares) {
        const char *msg = app->wst.state == VIEW_MODEL_READY ? "this model has no MoE layers" : "no model loaded";
        view_text_draw(app->text, VIEW_FONT_NORMAL, msg, h.x + 10, rc->btn[0].y + 40, C_DIM);
        return;
    }
    SDL_Rect g = rc->grid;
    int cw = rc->cell_w, ch = rc->cell_h, gap = rc->cell_gap;
    // expert numbers above, layer numbers left (thinned to fit)
    int lab_w = view_text_width(app->text, VIEW_FONT_SMALL, "000") + 4;
    int step_e = 1;
    while (step_e * cw < lab_w) step_e *= 2;
    for (int e = 0; e < E; e += step_e) {
        char s[16];
        snprintf(s, sizeof s, "%d", e);
        int w = view_text_width(app->text, VIEW_FONT_SMALL, s);
        view_text_draw(app->text, VIEW_FONT_SMALL, s, g.x + e * cw + (cw - w) / 2, g.y - 18, C_DIM);
    }
    int lh = view_text_line_height(app->text, VIEW_FONT_SMALL);
    int step_l = 1;
    while (step_l * ch < lh) step_l *= 2;
    rc->label_step_e = step_e;
    rc->label_step_l = step_l;
    rc->label_w = lab_w;
    rc->label_h = lh;
    for (int l = 0; l < L; l += step_l) {
        char s[16];
        snprintf(s, sizeof s, "%d", l);
        int w = view_text_width(app->text, VIEW_FONT_SMALL, s);
        view_text_draw(app->text, VIEW_FONT_SMALL, s, g.x - 6 - w, g.y + l * ch + (ch - lh) / 2, C_DIM);
    }
    view_text_draw(app->text, VIEW_FONT_SMALL, "layer \\ expert", h.x + 4, g.y - 36, C_DIM);
    // cells
    float *vals = app->shares;
    float *scrub_vals = NULL;
    if (scrub >= 0 && scrub < rt->n_tok && rt->n_layers == L && rt->n_expert == E) {
        scrub_vals = calloc((size_t)L * E, sizeof(float));
        if (scrub_vals) {
            const int32_t *ids = rt->ids + (size_t)scrub * L * rt->k;
            const float *ws = rt->weights + (size_t)scrub * L * rt->k;
            for (int l = 0; l < L; l++)
                for (int j = 0; j < rt->k; j++) {
                    int e = ids[l * rt->k + j];
                    if (e >= 0 && e < E) scrub_vals[l * E + e] = ws[l * rt->k + j];
                }
            vals = scrub_vals;
        }
    }
    float vmax = scrub_vals ? 1.0f : app->vmax;  // gate weights are drawn on [0, 1]
    for (int l = 0; l < L; l++)
        for (int e = 0; e < E; e++) {
            uint8_t c[3];
            heatmap_color(vals[l * E + e] / vmax, c);
            fill(r, (SDL_Rect){g.x + e * cw, g.y + l * ch, cw - gap, ch - gap}, (SDL_Color){c[0], c[1], c[2], 255});
        }
    // E: a dot on each expert the cache holds on the device now
    const view_cache_view *xc = &app->wst.cache;
    if (app->show_resident && xc->L == L && xc->E == E)
        for (int l = 0; l < L; l++)
            for (int e = 0; e < E; e++)
                if (xc->resident[l * E + e]) {
                    int d = (cw < ch ? cw : ch) / 3;
                    if (d < 2) d = 2;
                    fill(r, (SDL_Rect){g.x + e * cw + (cw - gap - d) / 2, g.y + l * ch + (ch - gap - d) / 2, d, d}, C_WHITE);
                }
    if (app->hover_layer >= 0 && app->hover_expert >= 0 && app->hover_layer < L && app->hover_expert < E)
        outline(r, (SDL_Rect){g.x + app->hover_expert * cw - 1, g.y + app->hover_layer * ch - 1, cw + 1, ch + 1},
                C_WHITE);
    // legend: the colour scale
    SDL_Rect lg = rc->legend;
    for (int x = 0; x < lg.w; x++) {
        uint8_t c[3];
        heatmap_color((float)x / (lg.w - 1), c);
        set_color(r, (SDL_Color){c[0], c[1], c[2], 255});
        SDL_RenderDrawLine(r, lg.x + x, lg.y, lg.x + x, lg.y + lg.h - 1);
    }
    outline(r, (SDL_Rect){lg.x - 1, lg.y - 1, lg.w + 2, lg.h + 2}, C_DIM);
    for (int i = 0; i <= 4; i++) {
        char s[16];
        snprintf(s, sizeof s, "%.2g", vmax * i / 4);
        int w = view_text_width(app->text, VIEW_FONT_SMALL, s);
        int x = lg.x + (lg.w - 1) * i / 4;
        set_color(r, C_DIM);
        SDL_RenderDrawLine(r, x, lg.y + lg.h, x, lg.y + lg.h + 3);
        view_text_draw(app->text, VIEW_FONT_SMALL, s, x - w / 2, lg.y + lg.h + 4, C_DIM);
    }
    view_text_draw(app->text, VIEW_FONT_SMALL, scrub_vals ? "gate weight" : "share of tokens", lg.x + lg.w + 10,
                   lg.y - 2, C_DIM);
    // info lines: hovered cell, or the scrubbed token
    char info[512] = "";
    char info2[512] = "";
    int iy = lg.y + lg.h + 24;
    if (app->hover_layer >= 0 && app->hover_expert >= 0 && app->hover_layer < L && app->hover_expert < E) {
        int l = app->hover_layer, e = app->hover_expert;
        if (scrub_vals)
            snprintf(info, sizeof info, "layer %d%s, expert %d: gate weight %.3f for this token", l, view_layer_kind(app, l), e,
                     scrub_vals[l * E + e]);
        else if (app->show_avg && app->avg_n[app->filter] > 0)
            snprintf(info, sizeof info, "layer %d%s, expert %d: average share %.1f%% over %d frames", l,
                     view_layer_kind(app, l), e, 100.0 * vals[l * E + e], app->avg_n[app->filter]);
        else
            snprintf(info, sizeof info, "layer %d%s, expert %d: %d of %d tokens, share %.1f%%", l, view_layer_kind(app, l),
                     e, app->counts[l * E + e], app->n_sel, 100.0 * vals[l * E + e]);
    }
    if (scrub_vals) {
        int seg = app->hover_seg;
        char piece[64] = "";
        if (seg >= 0 && seg < app->cap.n_segs) {
            int n = app->cap.segs[seg].len < 60 ? app->cap.segs[seg].len : 60;
            memcpy(piece, app->cap.text + app->cap.segs[seg].start, (size_t)n);
            piece[n] = 0;
        }
        int off = snprintf(info2, sizeof info2, "token \"%s\" (id %d, pos %d): layer 0 ->", piece, rt->token[scrub],
                           rt->pos[scrub]);
        for (int j = 0; j < rt->k && off < (int)sizeof info2 - 32; j++)
            off += snprintf(info2 + off, sizeof info2 - (size_t)off, " e%d %.2f", rt->ids[(size_t)scrub * L * rt->k + j],
                            rt->weights[(size_t)scrub * L * rt->k + j]);
    } else if (app->hover_seg >= 0) {
        snprintf(info2, sizeof info2, "this token's routing is recorded when it is fed back (not yet)");
    } else if (!info[0]) {
        snprintf(info2, sizeof info2, "hover a cell for details; hover a caption word to scrub its routing");
    }
    snprintf(app->info_line[0], sizeof app->info_line[0], "%s", info);
    snprintf(app->info_line[1], sizeof app->info_line[1], "%s", info2);
    view_text_draw(app->text, VIEW_FONT_SMALL, info, h.x + 10, iy, C_TEXT);
    view_text_draw(app->text, VIEW_FONT_SMALL, info2, h.x + 10, iy + 18, C_DIM);
    free(scrub_vals);
}

static void draw_status(view_app *app) {
    SDL_Rect s = app->rc.status;
    fill(app->ren, s, (SDL_Color){14, 15, 18, 255});
    char buf[1024];
    const view_worker_status *w = &app->wst;
    const moevk_timings *t = &app->cap.timings;
    char dev[96], model[160], enc[48], pre[48], dec[64];
    snprintf(dev, sizeof dev, "%.90s", w->state == VIEW_MODEL_READY ? w->info.device : "-");
    if (w->state == VIEW_MODEL_READY)
        snprintf(model, sizeof model, "%.64s (%.31s, %d MoE layers, %d experts, top-%d)", w->info.name, w->info.arch,
                 w->info.n_moe_layers, w->info.n_expert, w->info.n_expert_used);
    else
        snprintf(model, sizeof model, "%s", w->state == VIEW_MODEL_LOADING ? "loading…" : "not loaded");
    int have_t = app->cap.done && !app->cap.failed && !app->cap.cancelled;
    snprintf(enc, sizeof enc, have_t ? "%.0f ms" : "-", t->image_encode_ms);
    snprintf(pre, sizeof pre, have_t ? "%.0f ms" : "-", t->prefill_ms);
    if (have_t && t->decode_ms > 0 && t->n_generated > 0)
        snprintf(dec, sizeof dec, "%.1f tok/s", t->n_generated * 1000.0 / t->decode_ms);
    else if (app->cap.started && !app->cap.done && app->cap.t_first_token > 0 && app->cap.n_segs > 1)
        snprintf(dec, sizeof dec, "%.1f tok/s…", (app->cap.n_segs - 1) / (view_now() - app->cap.t_first_token));
    else
        snprintf(dec, sizeof dec, "-");
    // UI fps (and pause/camera state) stay visible at the right; the rest
    // loses detail when the window is narrow.
    char right[128];
    snprintf(right, sizeof right, "%s%sUI %.0f fps", app->paused ? "PAUSED  |  " : "",
             app->use_camera && app->cam ? (view_camera_is_streaming(app->cam) ? "camera  |  " : "camera: waiting  |  ") : "",
             app->fps);
    int right_w = view_text_width(app->text, VIEW_FONT_SMALL, right);
    int avail = s.w - right_w - 40;
    for (int detail = 2; detail >= 0; detail--) {
        if (detail == 1 && w->state == VIEW_MODEL_READY)
            snprintf(model, sizeof model, "%.64s (%d x %d experts, top-%d)", w->info.name, w->info.n_moe_layers,
                     w->info.n_expert, w->info.n_expert_used);
        if (detail == 0) {
            if (w->state == VIEW_MODEL_READY) snprintf(model, sizeof model, "%.40s", w->info.name);
            dev[28] = 0;
        }
        char xc[96] = "";
        if (w->cache.streaming) {
            if (w->cache.hit_pct >= 0)
                snprintf(xc, sizeof xc, "  |  experts: %d/%d per layer, hit %.0f%%", w->cache.slots, w->info.n_expert, w->cache.hit_pct);
            else
                snprintf(xc, sizeof xc, "  |  experts: %d/%d per layer", w->cache.slots, w->info.n_expert);
        }
        snprintf(buf, sizeof buf, "device: %s  |  model: %s  |  image encode %s  |  prefill %s  |  decode %s%s", dev, model,
                 enc, pre, dec, xc);
        if (view_text_width(app->text, VIEW_FONT_SMALL, buf) <= avail) break;
    }
    SDL_Rect clip = {s.x, s.y, s.w - right_w - 24, s.h};
    SDL_RenderSetClipRect(app->ren, &clip);
    view_text_draw(app->text, VIEW_FONT_SMALL, buf, s.x + 8, s.y + 5, C_TEXT);
    SDL_RenderSetClipRect(app->ren, NULL);
    view_text_draw(app->text, VIEW_FONT_SMALL, right, s.x + s.w - right_w - 8, s.y + 5, C_TEXT);
}

static void draw_banners(view_app *app) {
    int y = 4;
    int lh = view_text_line_height(app->text, VIEW_FONT_NORMAL);
    for (int i = 0; i < app->n_banners; i++) {
        const char *m = app->banners[i].msg;
        int starts[3], lens[3];
        int n = view_text_wrap(app->text, VIEW_FONT_NORMAL, m, app->W - 44, starts, lens, 3);
        int w = 0;
        for (int l = 0; l < n; l++) {
            int lw = view_text_width_n(app->text, VIEW_FONT_NORMAL, m + starts[l], lens[l]);
            if (lw > w) w = lw;
        }
        w += 24;
        SDL_Rect b = {(app->W - w) / 2, y, w, n * lh + 8};
        fill(app->ren, b, C_BANNER);
        for (int l = 0; l < n; l++) {
            char line[512];
            snprintf(line, sizeof line, "%.*s", lens[l], m + starts[l]);
            view_text_draw(app->text, VIEW_FONT_NORMAL, line, b.x + 12, b.y + 4 + l * lh, C_WHITE);
        }
        y += b.h + 4;
    }
    app->banner_bottom = y;
}

static void draw_help(view_app *app) {
    SDL_Renderer *r = app->ren;
    fill(r, (SDL_Rect){0, 0, app->W, app->H}, (SDL_Color){0, 0, 0, 190});
    static const char *keys[][2] = {
        {"F1 or ?", "this help (Esc closes it)"},
        {"Space", "pause / resume captioning"},
        {"S", "save a screenshot PNG + that frame's routing JSON"},
        {"Left / Right", "previous / next image (files and folders)"},
        {"I  T  B", "heatmap of image tokens / text tokens / both"},
        {"A", "this frame / running average over frames"},
        {"E", "mark the experts on the device (when experts stream)"},
        {"C", "camera on / off"},
        {"R", "caption the current frame again"},
        {"Enter or click", "the question box: type, Enter asks about the frame"},
        {"Esc (in the box)", "clears the box; on an empty box, back to the keys"},
        {"O", "per-patch overlay: top-1 expert of each image region"},
        {"[  ]", "overlay layer down / up"},
        {"Esc or Q", "quit"},
        {"", ""},
        {"mouse", "hover a caption word: that token's routing (scrub)"},
        {"", "hover a heatmap cell: layer, expert, count, share"},
        {"", "hover an overlay region: its experts at every layer"},
        {"", "wheel over the questions: scroll the conversation"},
        {"", "drop images, folders or a .gguf model on the window"},
        {"", "an image dropped during a conversation: A adds it, N starts over"},
    };
    int x = app->W / 2 - 300, y = 60;
    fill(r, (SDL_Rect){x - 20, y - 20, 640, app->H - 100}, (SDL_Color){33, 36, 43, 245});
    view_text_draw(app->text, VIEW_FONT_LARGE, "moevk-view — keys", x, y, C_ACCENT);
    y += 44;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, y += 22) {
        view_text_draw(app->text, VIEW_FONT_NORMAL, keys[i][0], x, y, C_ACCENT);
        view_text_draw(app->text, VIEW_FONT_NORMAL, keys[i][1], x + 130, y, C_TEXT);
    }
    view_text_draw(app->text, VIEW_FONT_NORMAL, "cameras (--camera DEV)", x, y, C_ACCENT);
    y += 22;
    // probing /dev/video* opens devices: refresh the list every two seconds only
    static view_camera_entry cams[8];
    static int n;
    static double t_listed;
    if (view_now() - t_listed > 2.0) {
        n = view_camera_list(cams, 8);
        t_listed = view_now();
    }
    if (!n) view_text_draw(app->text, VIEW_FONT_NORMAL, "none found", x + 130, y, C_DIM);
    for (int i = 0; i < n; i++, y += 22) {
        char s[256];
        snprintf(s, sizeof s, "%.60s  %.120s", cams[i].path, cams[i].name);
        view_text_draw(app->text, VIEW_FONT_NORMAL, s, x + 130, y, C_DIM);
    }
}

static void draw_loading(view_app *app) {
    SDL_Renderer *r = app->ren;
    fill(r, (SDL_Rect){0, 0, app->W, app->H - STATUS_H}, (SDL_Color){22, 24, 29, 235});
    char s[700];
    const char *name = strrchr(app->wst.model_path, '/');
    snprintf(s, sizeof s, "Loading %s", name ? name + 1 : app->wst.model_path);
    int w = view_text_width(app->text, VIEW_FONT_LARGE, s);
    int cy = app->H / 2 - 40;
    view_text_draw(app->text, VIEW_FONT_LARGE, s, (app->W - w) / 2, cy - 40, C_TEXT);
    SDL_Rect bar = {app->W / 2 - 250, cy, 500, 18};
    outline(r, bar, C_DIM);
    float f = app->wst.frac < 0 ? 0 : app->wst.frac > 1 ? 1 : app->wst.frac;
    fill(r, (SDL_Rect){bar.x + 2, bar.y + 2, (int)((bar.w - 4) * f), bar.h - 4}, C_ACCENT);
    snprintf(s, sizeof s, "%s  %.0f%%", app->wst.stage, 100.0 * f);
    w = view_text_width(app->text, VIEW_FONT_NORMAL, s);
    view_text_draw(app->text, VIEW_FONT_NORMAL, s, (app->W - w) / 2, cy + 28, C_DIM);
}

/* ---------------------------------------------------------------- hover */

static void update_hover(view_app *app) {
    view_rects *rc = &app->rc;
    app->hover_seg = -1;
    app->hover_record = -1;
    app->hover_layer = app->hover_expert = -1;
    app->hover_region = view_overlay_region_at(app, app->mouse_x, app->mouse_y);
    int b = caption_hit(app, app->mouse_x, app->mouse_y);
    if (b >= 0) app->hover_seg = seg_at_byte(&app->cap, b);
    app->hover_record = view_seg_record(app, app->hover_seg);
    if (in_rect(rc->grid, app->mouse_x, app->mouse_y) && rc->cell_w > 0 && rc->cell_h > 0) {
        app->hover_layer = (app->mouse_y - rc->grid.y) / rc->cell_h;
        app->hover_expert = (app->mouse_x - rc->grid.x) / rc->cell_w;
    }
}

void view_draw(view_app *app) {
    SDL_Renderer *r = app->ren;
    view_update_heat(app);
    view_update_overlay(app);
    layout(app);
    set_color(r, C_BG);
    SDL_RenderClear(r);
    // each panel is clipped to its rectangle, so a narrow window never overlaps them
    SDL_RenderSetClipRect(r, &app->rc.frame);
    draw_frame(app);
    SDL_RenderSetClipRect(r, &app->rc.caption);
    draw_caption(app);  // wraps the caption lines the hover test needs
    update_hover(app);
    draw_caption(app);  // again, with the hovered token highlighted (cheap: strings are cached)
    SDL_RenderSetClipRect(r, &app->rc.chat);
    view_draw_chat(app);
    SDL_RenderSetClipRect(r, &app->rc.heat);
    draw_heat(app);
    view_draw_trace(app);
    SDL_RenderSetClipRect(r, NULL);
    view_draw_region_tooltip(app);
    draw_status(app);
    if (app->wst.state == VIEW_MODEL_LOADING) draw_loading(app);
    if (app->show_help) draw_help(app);
    draw_banners(app);
    SDL_RenderPresent(r);
    view_text_end_frame(app->text);
}
