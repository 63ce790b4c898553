/* draw_chat.c — the conversation panel (earlier turns, the streaming answer,
 * the question box), the per-patch overlay on the frame (each image token's
 * merged patch block tinted with its top-1 expert at the selected layer, a
 * legend, a tooltip with every layer's experts) and the token trace (layers x
 * tokens of the current turn, coloured by top-1 expert). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static const SDL_Color C_PANEL = {33, 36, 43, 255};
static const SDL_Color C_TEXT = {232, 232, 232, 255};
static const SDL_Color C_DIM = {150, 156, 168, 255};
static const SDL_Color C_ACCENT = {96, 172, 255, 255};
static const SDL_Color C_ERR = {255, 120, 110, 255};
static const SDL_Color C_THINK = {118, 124, 140, 255};     /* reasoning (thinking on): dimmer than C_DIM */
static const SDL_Color C_THINK_BAR = {236, 176, 64, 255};  /* marks a reasoning token in the trace */

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

/* ---------------------------------------------------------------- conversation */

typedef struct chat_line {
    const char *s;
    int n;
    SDL_Color c;
    int indent;
} chat_line;

static int add_wrapped(view_app *app, chat_line *out, int n, int cap, const char *text, int w, SDL_Color c, int indent) {
    int starts[64], lens[64];
    int k = view_text_wrap(app->text, VIEW_FONT_NORMAL, text, w - indent, starts, lens, 64);
    for (int i = 0; i < k && n < cap; i++) out[n++] = (chat_line){text + starts[i], lens[i], c, indent};
    return n;
}

/* The reasoning of a turn (thinking on), apart from its answer: a "thinking" label, then the text dimmed. */
static int add_reasoning(view_app *app, chat_line *out, int n, int cap, const char *label, const char *text, int w,
                         int indent) {
    if (!text || !text[0]) return n;
    if (n < cap) out[n++] = (chat_line){label, -1, C_THINK, indent};
    return add_wrapped(app, out, n, cap, text, w, C_THINK, indent + 12);
}

void view_draw_chat(view_app *app) {
    SDL_Renderer *r = app->ren;
    view_rects *rc = &app->rc;
    SDL_Rect cr = rc->chat;
    fill(r, cr, C_PANEL);
    const view_caption *c = &app->cap;
    char head[160];
    if (c->n_turns)
        snprintf(head, sizeof head, "Questions about this frame — %d turn%s (Enter sends, Esc clears, wheel scrolls)",
                 c->n_turns, c->n_turns > 1 ? "s" : "");
    else
        snprintf(head, sizeof head, "Questions about this frame (click the box or press Enter, type, Enter sends)");
    view_text_draw(app->text, VIEW_FONT_SMALL, head, cr.x + 10, cr.y + 5, C_DIM);
    // history: every turn, wrapped; the newest lines in view unless scrolled back
    static chat_line lines[VIEW_MAX_CHAT_LINES];
    int n = 0, w = cr.w - 20;
    n = add_reasoning(app, lines, n, VIEW_MAX_CHAT_LINES, "the caption's thinking:", c->reasoning, w, 0);
    for (int t = 0; t < c->n_turns && n < VIEW_MAX_CHAT_LINES; t++) {
        const view_turn *tu = &c->turns[t];
        n = add_wrapped(app, lines, n, VIEW_MAX_CHAT_LINES, tu->user ? tu->user : "", w, C_ACCENT, 0);
        n = add_reasoning(app, lines, n, VIEW_MAX_CHAT_LINES, "thinking:", tu->reasoning, w, 16);
        const char *ans = tu->answer && tu->answer[0] ? tu->answer : NULL;
        if (ans) n = add_wrapped(app, lines, n, VIEW_MAX_CHAT_LINES, ans, w, C_TEXT, 16);
        if (tu->failed) n = add_wrapped(app, lines, n, VIEW_MAX_CHAT_LINES, tu->error, w, C_ERR, 16);
        else if (!tu->done && n < VIEW_MAX_CHAT_LINES)
            lines[n++] = (chat_line){tu->t_first_token ? "…" : "reading the question…", -1, C_DIM, 16};
        else if (!ans && n < VIEW_MAX_CHAT_LINES) lines[n++] = (chat_line){"(no answer: the model ended the turn)", -1, C_DIM, 16};
    }
    if (app->wst.asking && (c->n_turns == 0 || c->turns[c->n_turns - 1].done) && n < VIEW_MAX_CHAT_LINES)
        lines[n++] = (chat_line){"waiting for the caption to finish…", -1, C_DIM, 0};
    int lh = view_text_line_height(app->text, VIEW_FONT_NORMAL);
    int top = cr.y + 24, bottom = rc->qbox.y - 6;
    int fit = (bottom - top) / (lh > 0 ? lh : 1);
    if (fit < 1) fit = 1;
    int max_scroll = n > fit ? n - fit : 0;
    if (app->chat_scroll > max_scroll) app->chat_scroll = max_scroll;
    if (app->chat_scroll < 0) app->chat_scroll = 0;
    int first = n - fit - app->chat_scroll;
    if (first < 0) first = 0;
    for (int i = first, y = top; i < n && i < first + fit; i++, y += lh) {
        char buf[1024];
        if (lines[i].n < 0) snprintf(buf, sizeof buf, "%s", lines[i].s);
        else snprintf(buf, sizeof buf, "%.*s", lines[i].n < 1000 ? lines[i].n : 1000, lines[i].s);
        view_text_draw(app->text, VIEW_FONT_NORMAL, buf, cr.x + 10 + lines[i].indent, y, lines[i].c);
    }
    if (app->chat_scroll > 0) {
        char s[64];
        snprintf(s, sizeof s, "↓ %d newer line%s", app->chat_scroll, app->chat_scroll > 1 ? "s" : "");
        int sw = view_text_width(app->text, VIEW_FONT_SMALL, s);
        view_text_draw(app->text, VIEW_FONT_SMALL, s, cr.x + cr.w - sw - 10, cr.y + 5, C_ACCENT);
    }
    // the question box
    SDL_Rect q = rc->qbox;
    fill(r, q, (SDL_Color){22, 24, 29, 255});
    outline(r, q, app->q_focus ? C_ACCENT : (SDL_Color){70, 76, 90, 255});
    int tx = q.x + 8, ty = q.y + (q.h - lh) / 2;
    if (!app->q_len) {
        view_text_draw(app->text, VIEW_FONT_NORMAL, app->q_focus ? "" : "Ask about the image…", tx, ty, C_DIM);
        if (app->q_focus) fill(r, (SDL_Rect){tx, ty + 2, 2, lh - 4}, C_ACCENT);
        return;
    }
    // the tail of a long question stays in view
    const char *s = app->question;
    int avail = q.w - 24;
    while (*s && view_text_width(app->text, VIEW_FONT_NORMAL, s) > avail) {
        s++;
        while (((uint8_t)*s & 0xC0) == 0x80) s++;
    }
    int tw = view_text_draw(app->text, VIEW_FONT_NORMAL, s, tx, ty, C_TEXT);
    if (app->q_focus) fill(r, (SDL_Rect){tx + tw + 1, ty + 2, 2, lh - 4}, C_ACCENT);
}

/* ---------------------------------------------------------------- overlay */

/* The conversation's image on screen: the last one a turn added (its grid once
 * that turn is done), else the caption's, image 0. */
static int shown_image(const view_app *app, int *gx, int *gy) {
    for (int i = app->cap.n_turns - 1; i >= 0; i--) {
        const view_turn *t = &app->cap.turns[i];
        if (t->image >= 0) {
            *gx = t->img_nx;
            *gy = t->img_ny;
            return t->image;
        }
    }
    *gx = app->cap.img_nx;
    *gy = app->cap.img_ny;
    return 0;
}

/* Collects the top-1 expert of every token of the image on screen (in order:
 * row-major over its grid) at the selected layer. */
void view_update_overlay(view_app *app) {
    const view_routing *rt = &app->cap.routing;
    int gx = 0, gy = 0, L = rt->n_layers;
    int shown = shown_image(app, &gx, &gy);
    app->overlay_n = 0;
    app->overlay_gx = gx;
    app->overlay_gy = gy;
    if (L > 0) {
        if (app->overlay_layer >= L) app->overlay_layer = L - 1;
        if (app->overlay_layer < 0) app->overlay_layer = 0;
    }
    if (gx <= 0 || gy <= 0 || L <= 0 || rt->k <= 0) return;
    if (app->overlay_cap < gx * gy) {
        int *p = realloc(app->overlay_experts, sizeof(int) * (size_t)(gx * gy));
        if (!p) return;
        app->overlay_experts = p;
        app->overlay_cap = gx * gy;
    }
    int n = 0;
    for (int i = 0; i < rt->n_tok && n < gx * gy; i++)
        if (rt->kind[i] == MOEVK_TOKEN_IMAGE && rt->image[i] == shown)
            app->overlay_experts[n++] = rt->ids[((size_t)i * L + (size_t)app->overlay_layer) * rt->k];
    app->overlay_n = n == gx * gy ? n : 0;  // all or nothing: a partial grid would misplace regions
}

// Region (cell) i of the overlay grid on screen.
static SDL_Rect region_rect(const view_app *app, int i) {
    SDL_Rect im = app->rc.image;
    int gx = app->overlay_gx, gy = app->overlay_gy, cx = i % gx, cy = i / gx;
    int x0 = im.x + cx * im.w / gx, x1 = im.x + (cx + 1) * im.w / gx;
    int y0 = im.y + cy * im.h / gy, y1 = im.y + (cy + 1) * im.h / gy;
    return (SDL_Rect){x0, y0, x1 - x0, y1 - y0};
}

int view_overlay_region_at(const view_app *app, int x, int y) {
    if (!app->overlay_on || app->overlay_n <= 0 || !in_rect(app->rc.image, x, y)) return -1;
    SDL_Rect im = app->rc.image;
    int cx = (x - im.x) * app->overlay_gx / im.w, cy = (y - im.y) * app->overlay_gy / im.h;
    if (cx < 0 || cy < 0 || cx >= app->overlay_gx || cy >= app->overlay_gy) return -1;
    return cy * app->overlay_gx + cx;
}

/* The centre of region i, where an opaque dot of its expert's colour sits. */
void view_overlay_center(const view_app *app, int i, int *x, int *y) {
    SDL_Rect rr = region_rect(app, i);
    *x = rr.x + rr.w / 2;
    *y = rr.y + rr.h / 2;
}

#define TINT_ALPHA 110 /* of 255 */

SDL_Texture *view_overlay_texture(view_app *app) {
    const view_image *sc = &app->frame_scaled;
    if (!app->overlay_on || app->overlay_n <= 0 || !sc->rgb || !app->frame_tex) return NULL;
    int gx = app->overlay_gx, gy = app->overlay_gy;
    // FNV-1a over what the tinted pixels depend on
    uint64_t key = 1469598103934665603ull;
    uint64_t parts[5] = {app->frame_tex_seq, (uint64_t)sc->w, (uint64_t)sc->h, (uint64_t)gx, (uint64_t)gy};
    for (int i = 0; i < 5; i++) key = (key ^ parts[i]) * 1099511628211ull;
    for (int i = 0; i < app->overlay_n; i++) key = (key ^ (uint64_t)(uint32_t)app->overlay_experts[i]) * 1099511628211ull;
    if (app->ovl_tex && key == app->ovl_key) return app->ovl_tex;
    if (app->ovl_tex) SDL_DestroyTexture(app->ovl_tex);
    app->ovl_tex = NULL;
    uint8_t *rgb = malloc((size_t)sc->w * sc->h * 3);
    uint32_t *px = malloc((size_t)sc->w * sc->h * 4);
    Uint32 fmt = app->surf->format->format;
    if (rgb && px) {
        // each region: out = (colour * a + pixel * (255 - a)) / 255, region bounds as region_rect
        for (int i = 0; i < app->overlay_n; i++) {
            int cx = i % gx, cy = i / gx;
            int x0 = cx * sc->w / gx, x1 = (cx + 1) * sc->w / gx, y0 = cy * sc->h / gy, y1 = (cy + 1) * sc->h / gy;
            SDL_Color c = view_expert_color(app->overlay_experts[i]);
            const int a = TINT_ALPHA;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) {
                    const uint8_t *s = sc->rgb + ((size_t)y * sc->w + x) * 3;
                    uint8_t *d = rgb + ((size_t)y * sc->w + x) * 3;
                    d[0] = (uint8_t)((c.r * a + s[0] * (255 - a) + 127) / 255);
                    d[1] = (uint8_t)((c.g * a + s[1] * (255 - a) + 127) / 255);
                    d[2] = (uint8_t)((c.b * a + s[2] * (255 - a) + 127) / 255);
                }
        }
        app->ovl_tex = SDL_CreateTexture(app->ren, fmt, SDL_TEXTUREACCESS_STATIC, sc->w, sc->h);
        if (app->ovl_tex &&
            SDL_ConvertPixels(sc->w, sc->h, SDL_PIXELFORMAT_RGB24, rgb, sc->w * 3, fmt, px, sc->w * 4) == 0)
            SDL_UpdateTexture(app->ovl_tex, NULL, px, sc->w * 4);
    }
    free(rgb);
    free(px);
    app->ovl_key = key;
    return app->ovl_tex;
}

void view_draw_overlay(view_app *app) {
    if (!app->overlay_on || !app->frame.rgb) return;
    SDL_Renderer *r = app->ren;
    SDL_Rect fr = app->rc.frame;
    if (app->overlay_n <= 0) {
        const char *msg = app->cap.started && !app->cap.done ? "overlay: waiting for the image tokens…"
                                                             : "overlay: no image tokens recorded for this frame";
        int w = view_text_width(app->text, VIEW_FONT_SMALL, msg);
        fill(r, (SDL_Rect){fr.x, fr.y, w + 12, 20}, (SDL_Color){0, 0, 0, 170});
        view_text_draw(app->text, VIEW_FONT_SMALL, msg, fr.x + 6, fr.y + 2, C_TEXT);
        return;
    }
    // legend: the layer, then the experts present, most regions first
    int E = app->cap.routing.n_expert > 0 ? app->cap.routing.n_expert : 1;
    int *cnt = calloc((size_t)E, sizeof *cnt);
    if (!cnt) return;
    for (int i = 0; i < app->overlay_n; i++)
        if (app->overlay_experts[i] >= 0 && app->overlay_experts[i] < E) cnt[app->overlay_experts[i]]++;
    char head[128];
    snprintf(head, sizeof head, "top-1 expert, layer %d%s  ([ ] step, O hides)", app->overlay_layer,
             view_layer_kind(app, app->overlay_layer));
    int hw = view_text_width(app->text, VIEW_FONT_SMALL, head);
    // two passes: lay the swatches out (at most two rows), then draw the band they need and them
    enum { MAX_SW = 64 };
    int sw_e[MAX_SW], sw_x[MAX_SW], sw_y[MAX_SW], n_sw = 0;
    int x = fr.x + 6 + hw + 12, y = fr.y + 2;
    while (n_sw < MAX_SW) {
        int best = -1;
        for (int e = 0; e < E; e++)
            if (cnt[e] > 0 && (best < 0 || cnt[e] > cnt[best])) best = e;
        if (best < 0) break;
        char s[24];
        snprintf(s, sizeof s, "e%d", best);
        int sw = view_text_width(app->text, VIEW_FONT_SMALL, s) + 18;
        if (x + sw > fr.x + fr.w - 4) {
            if (y > fr.y + 2) break;  // two rows at most
            x = fr.x + 6;
            y += 19;
        }
        sw_e[n_sw] = best;
        sw_x[n_sw] = x;
        sw_y[n_sw++] = y;
        x += sw + 6;
        cnt[best] = 0;
    }
    fill(r, (SDL_Rect){fr.x, fr.y, fr.w, y - fr.y + 20}, (SDL_Color){0, 0, 0, 170});
    view_text_draw(app->text, VIEW_FONT_SMALL, head, fr.x + 6, fr.y + 2, C_TEXT);
    for (int i = 0; i < n_sw; i++) {
        char s[24];
        snprintf(s, sizeof s, "e%d", sw_e[i]);
        fill(r, (SDL_Rect){sw_x[i], sw_y[i] + 3, 12, 12}, view_expert_color(sw_e[i]));
        view_text_draw(app->text, VIEW_FONT_SMALL, s, sw_x[i] + 15, sw_y[i], C_TEXT);
    }
    free(cnt);
    // an opaque dot of the expert's colour at each region's centre, over the legend band
    for (int i = 0; i < app->overlay_n; i++) {
        SDL_Rect rr = region_rect(app, i);
        int d = rr.w < rr.h ? rr.w : rr.h;
        d = d / 3 < 8 ? d / 3 : 8;
        if (d < 2) d = 2;
        int cx, cy;
        view_overlay_center(app, i, &cx, &cy);
        fill(r, (SDL_Rect){cx - d / 2, cy - d / 2, d, d}, view_expert_color(app->overlay_experts[i]));
    }
    if (app->hover_region >= 0 && app->hover_region < app->overlay_n)
        outline(r, region_rect(app, app->hover_region), (SDL_Color){255, 255, 255, 255});
}

/* Tooltip over a hovered region: the token's experts and weights at every layer. */
void view_draw_region_tooltip(view_app *app) {
    app->n_tooltip = 0;
    int i = app->hover_region;
    if (i < 0 || i >= app->overlay_n) return;
    const view_routing *rt = &app->cap.routing;
    int L = rt->n_layers, k = rt->k, rec = -1, gx, gy;
    int shown = shown_image(app, &gx, &gy);
    for (int j = 0, n = 0; j < rt->n_tok; j++)
        if (rt->kind[j] == MOEVK_TOKEN_IMAGE && rt->image[j] == shown && n++ == i) {
            rec = j;
            break;
        }
    if (rec < 0) return;
    // one entry per layer, laid out in columns
    char (*entries)[128] = app->tooltip;
    int ne = L < 256 ? L : 256, ew = 0;
    app->n_tooltip = ne;
    for (int l = 0; l < ne; l++) {
        int off = snprintf(entries[l], sizeof entries[l], "L%d", l);
        for (int j = 0; j < k && off < (int)sizeof entries[l] - 16; j++)
            off += snprintf(entries[l] + off, sizeof entries[l] - (size_t)off, " e%d %.3f", rt->ids[((size_t)rec * L + l) * k + j],
                            rt->weights[((size_t)rec * L + l) * k + j]);
        int w = view_text_width(app->text, VIEW_FONT_SMALL, entries[l]);
        if (w > ew) ew = w;
    }
    int lh = view_text_line_height(app->text, VIEW_FONT_SMALL);
    int max_w = app->W - 40, colw = ew + 16;
    int cols = max_w / colw;
    if (cols < 1) cols = 1;
    int rows = (ne + cols - 1) / cols;
    while (cols > 1 && (ne + cols - 2) / (cols - 1) * lh < app->H / 2) {  // fewer, taller columns while they fit
        cols--;
        rows = (ne + cols - 1) / cols;
    }
    char title[128];
    snprintf(title, sizeof title, "image token %d (col %d, row %d): experts and weights per layer", i, i % app->overlay_gx,
             i / app->overlay_gx);
    int tw = view_text_width(app->text, VIEW_FONT_SMALL, title);
    int bw = cols * colw + 12 > tw + 16 ? cols * colw + 12 : tw + 16, bh = (rows + 1) * lh + 14;
    int bx = app->mouse_x + 16, by = app->mouse_y + 16;
    if (bx + bw > app->W - 4) bx = app->W - 4 - bw;
    if (by + bh > app->H - 4) by = app->H - 4 - bh;
    if (bx < 4) bx = 4;
    if (by < 4) by = 4;
    fill(app->ren, (SDL_Rect){bx, by, bw, bh}, (SDL_Color){12, 13, 16, 240});
    outline(app->ren, (SDL_Rect){bx, by, bw, bh}, C_DIM);
    view_text_draw(app->text, VIEW_FONT_SMALL, title, bx + 8, by + 6, C_ACCENT);
    for (int l = 0; l < ne; l++) {
        int cx = l / rows, cy = l % rows;
        int x = bx + 8 + cx * colw, y = by + 6 + (cy + 1) * lh;
        fill(app->ren, (SDL_Rect){x, y + 3, 8, lh - 6}, view_expert_color(rt->ids[((size_t)rec * L + l) * k]));
        view_text_draw(app->text, VIEW_FONT_SMALL, entries[l], x + 11, y, C_TEXT);
    }
}

/* ---------------------------------------------------------------- token trace */

void view_draw_trace(view_app *app) {
    view_rects *rc = &app->rc;
    SDL_Rect tr = rc->trace;
    rc->trace_n = 0;
    rc->trace_first = -1;
    if (tr.w <= 0 || tr.h <= 0) return;
    const view_routing *rt = &app->cap.routing;
    int L = rt->n_layers, k = rt->k;
    int turn = 0;  // the newest turn with records (0 is the caption; a refused question has none)
    for (int i = 0; i < rt->n_tok; i++)
        if (rt->turn[i] > turn) turn = rt->turn[i];
    rc->trace_turn = turn;
    int thinking = 0; /* the turn holds reasoning tokens (marked above their columns) */
    for (int i = 0; i < rt->n_tok && !thinking; i++) thinking = rt->turn[i] == turn && rt->reasoning[i];
    char title[200];
    snprintf(title, sizeof title, "Token trace — turn %d (%s): layers x tokens, top-1 expert%s", turn,
             turn ? "question and answer" : "caption prompt and caption", thinking ? "; amber bar: reasoning" : "");
    view_text_draw(app->text, VIEW_FONT_SMALL, title, tr.x - 34, tr.y - 20, C_TEXT);
    fill(app->ren, tr, (SDL_Color){22, 24, 29, 255});
    if (L <= 0 || k <= 0) return;
    int n = 0, first = -1;
    for (int i = 0; i < rt->n_tok; i++)
        if (rt->kind[i] != MOEVK_TOKEN_IMAGE && rt->turn[i] == turn) {
            if (first < 0) first = i;
            n++;
        }
    if (!n) return;
    int cw = tr.w / n;
    if (cw > 12) cw = 12;
    if (cw < 3) cw = 3; /* a long turn: its newest tokens, each column at least 3 px */
    int cols = tr.w / cw, skip = n > cols ? n - cols : 0;  // a long turn: its newest tokens in view
    int rh = tr.h / L;
    if (rh < 1) rh = 1;
    int gap = cw >= 5 ? 1 : 0;
    rc->trace_cell_w = cw;
    rc->trace_row_h = rh;
    int col = 0, seen = 0;
    for (int i = first; i < rt->n_tok; i++) {
        if (rt->kind[i] == MOEVK_TOKEN_IMAGE || rt->turn[i] != turn) continue;
        if (seen++ < skip) continue;
        if (rc->trace_first < 0) rc->trace_first = i;
        for (int l = 0; l < L; l++)
            fill(app->ren, (SDL_Rect){tr.x + col * cw, tr.y + l * rh, cw - gap, rh}, view_expert_color(rt->ids[((size_t)i * L + l) * k]));
        if (rt->reasoning[i]) /* a token of the reasoning (thinking on): a bar just above its column */
            fill(app->ren, (SDL_Rect){tr.x + col * cw, tr.y - 4, cw - gap > 1 ? cw - gap : 1, 3}, C_THINK_BAR);
        col++;
    }
    rc->trace_n = col;
    // layer ticks, thinned to the font height
    int lh = view_text_line_height(app->text, VIEW_FONT_SMALL), step = 1;
    while (step * rh < lh) step *= 2;
    for (int l = 0; l < L; l += step) {
        char s[16];
        snprintf(s, sizeof s, "%d", l);
        int w = view_text_width(app->text, VIEW_FONT_SMALL, s);
        view_text_draw(app->text, VIEW_FONT_SMALL, s, tr.x - 6 - w, tr.y + l * rh + (rh - lh) / 2, C_DIM);
    }
}
