/* text.c — SDL2_ttf fonts and a small cache of rendered strings. */
#include "text.h"

#include <SDL_ttf.h>
#include <stdio.h>

#include "heatmap.h"  // heatmap_draw_text: the 5x7 bitmap font used when no TTF font exists
#include <stdlib.h>
#include <string.h>

#define CACHE_SIZE 512
#define CACHE_MAX_AGE 120  // frames an unused string stays cached

static const int k_font_px[VIEW_FONT_COUNT] = {13, 15, 19, 26};
static const int k_bitmap_scale[VIEW_FONT_COUNT] = {1, 2, 2, 3};  // 5x7 fallback glyph scale

typedef struct cache_entry {
    uint32_t hash;
    int font;
    uint32_t rgba;
    char *str;            // owned copy (NULL: empty slot)
    SDL_Texture *tex;
    int w, h;
    uint64_t last_used;   // frame number
} cache_entry;

struct view_text {
    SDL_Renderer *r;
    TTF_Font *font[VIEW_FONT_COUNT];
    char path[512];
    int ttf_inited;
    uint64_t frame;
    cache_entry cache[CACHE_SIZE];
};

static const char *k_font_candidates[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
};

static int open_fonts(view_text *t, const char *path) {
    for (int i = 0; i < VIEW_FONT_COUNT; i++) {
        t->font[i] = TTF_OpenFont(path, k_font_px[i]);
        if (!t->font[i]) {
            for (int j = 0; j < i; j++) {
                TTF_CloseFont(t->font[j]);
                t->font[j] = NULL;
            }
            return 0;
        }
    }
    snprintf(t->path, sizeof t->path, "%s", path);
    return 1;
}

view_text *view_text_new(SDL_Renderer *r, const char *font_path) {
    view_text *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->r = r;
    if (TTF_Init() != 0) {
        fprintf(stderr, "moevk-view: SDL_ttf: %s; text is not drawn\n", TTF_GetError());
        return t;
    }
    t->ttf_inited = 1;
    const char *env = getenv("MOEVK_FONT");
    if (font_path && !strcmp(font_path, "none")) return t;  // the bitmap font, on purpose
    if (font_path && open_fonts(t, font_path)) return t;
    if (env && env[0] && open_fonts(t, env)) return t;
    for (size_t i = 0; i < sizeof k_font_candidates / sizeof k_font_candidates[0]; i++)
        if (open_fonts(t, k_font_candidates[i])) return t;
    fprintf(stderr, "moevk-view: no TTF font found (apt-get install fonts-dejavu-core, or set MOEVK_FONT); "
                    "using a built-in 5x7 font\n");
    return t;
}

void view_text_free(view_text *t) {
    if (!t) return;
    for (int i = 0; i < CACHE_SIZE; i++) {
        if (t->cache[i].tex) SDL_DestroyTexture(t->cache[i].tex);
        free(t->cache[i].str);
    }
    for (int i = 0; i < VIEW_FONT_COUNT; i++)
        if (t->font[i]) TTF_CloseFont(t->font[i]);
    if (t->ttf_inited) TTF_Quit();
    free(t);
}

int view_text_has_font(const view_text *t) { return t && t->font[0] != NULL; }
const char *view_text_font_path(const view_text *t) { return t && t->font[0] ? t->path : ""; }

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

// Renders with the 5x7 bitmap font (upper case, digits, some punctuation).
static SDL_Surface *render_bitmap(const char *s, int font, SDL_Color c) {
    int scale = k_bitmap_scale[font];
    int w = (int)strlen(s) * 6 * scale, h = 8 * scale;
    if (w <= 0) return NULL;
    uint8_t *rgb = calloc((size_t)w * h, 3);
    SDL_Surface *surf = rgb ? SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888) : NULL;
    if (!surf) {
        free(rgb);
        return NULL;
    }
    const uint8_t white[3] = {255, 255, 255};
    heatmap_draw_text(rgb, w, h, 0, 0, s, scale, white);
    for (int yy = 0; yy < h; yy++) {
        uint32_t *row = (uint32_t *)((uint8_t *)surf->pixels + (size_t)yy * surf->pitch);
        for (int xx = 0; xx < w; xx++) {
            uint32_t a = rgb[((size_t)yy * w + xx) * 3] ? c.a : 0;
            row[xx] = a << 24 | (uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b;
        }
    }
    free(rgb);
    return surf;
}

int view_text_draw(view_text *t, int font, const char *s, int x, int y, SDL_Color c) {
    if (!s || !s[0]) return 0;
    if (font < 0 || font >= VIEW_FONT_COUNT) font = VIEW_FONT_NORMAL;
    uint32_t h = hash_str(s);
    uint32_t rgba = (uint32_t)c.r << 24 | (uint32_t)c.g << 16 | (uint32_t)c.b << 8 | c.a;
    cache_entry *e = NULL, *victim = &t->cache[h % CACHE_SIZE];
    for (int i = 0; i < CACHE_SIZE; i++) {
        cache_entry *ce = &t->cache[i];
        if (ce->str && ce->hash == h && ce->font == font && ce->rgba == rgba && !strcmp(ce->str, s)) {
            e = ce;
            break;
        }
        if (!ce->str)
            victim = ce;
        else if (victim->str && ce->last_used < victim->last_used)
            victim = ce;
    }
    if (!e) {
        SDL_Surface *surf = t->font[0] ? TTF_RenderUTF8_Blended(t->font[font], s, c) : render_bitmap(s, font, c);
        if (!surf) return 0;
        SDL_SetSurfaceBlendMode(surf, SDL_BLENDMODE_BLEND);
        SDL_Texture *tex = SDL_CreateTextureFromSurface(t->r, surf);
        int w = surf->w, hh = surf->h;
        SDL_FreeSurface(surf);
        if (!tex) return 0;
        char *copy = malloc(strlen(s) + 1);
        if (!copy) {
            SDL_DestroyTexture(tex);
            return 0;
        }
        strcpy(copy, s);
        e = victim;
        if (e->tex) SDL_DestroyTexture(e->tex);
        free(e->str);
        *e = (cache_entry){h, font, rgba, copy, tex, w, hh, t->frame};
    }
    e->last_used = t->frame;
    SDL_Rect dst = {x, y, e->w, e->h};
    SDL_RenderCopy(t->r, e->tex, NULL, &dst);
    return e->w;
}

int view_text_width_n(view_text *t, int font, const char *s, int n) {
    if (!s) return 0;
    size_t len = strlen(s);
    if (n >= 0 && (size_t)n < len) len = (size_t)n;
    if (!t->font[0]) return (int)len * 6 * k_bitmap_scale[font];
    char stackbuf[512];
    char *buf = len < sizeof stackbuf ? stackbuf : malloc(len + 1);
    if (!buf) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    int w = 0, h = 0;
    TTF_SizeUTF8(t->font[font], buf, &w, &h);
    if (buf != stackbuf) free(buf);
    return w;
}

int view_text_width(view_text *t, int font, const char *s) { return view_text_width_n(t, font, s, -1); }

int view_text_line_height(view_text *t, int font) {
    if (!t->font[0]) return 8 * k_bitmap_scale[font] + 4;
    return TTF_FontLineSkip(t->font[font]);
}

int view_text_wrap(view_text *t, int font, const char *s, int max_w, int *starts, int *lens, int cap) {
    int n = 0, len = (int)strlen(s), i = 0;
    while (i < len && n < cap) {
        while (i < len && s[i] == ' ') i++;
        if (i >= len) break;
        int line_start = i, best_end = -1, j = i;
        for (;;) {
            // next word end (a run of non-spaces, or a newline)
            if (j < len && s[j] == '\n') break;
            int k = j;
            while (k < len && s[k] == ' ') k++;
            while (k < len && s[k] != ' ' && s[k] != '\n') k++;
            if (k == j) break;
            int w = view_text_width_n(t, font, s + line_start, k - line_start);
            if (w > max_w && best_end >= 0) break;
            if (w > max_w) {
                // one word wider than the line: cut it at a character boundary
                int cut = line_start + 1;
                while (cut < k) {
                    int next = cut + 1;
                    while (next < k && ((uint8_t)s[next] & 0xC0) == 0x80) next++;
                    if (view_text_width_n(t, font, s + line_start, next - line_start) > max_w) break;
                    cut = next;
                }
                while (cut < k && ((uint8_t)s[cut] & 0xC0) == 0x80) cut++;
                best_end = cut;
                break;
            }
            best_end = k;
            j = k;
            if (j >= len) break;
        }
        if (best_end < 0) best_end = j;
        starts[n] = line_start;
        lens[n] = best_end - line_start;
        n++;
        i = best_end;
        if (i < len && s[i] == '\n') i++;
        if (lens[n - 1] == 0 && i == line_start) i++;  // never loop in place
    }
    return n;
}

void view_text_end_frame(view_text *t) {
    t->frame++;
    for (int i = 0; i < CACHE_SIZE; i++) {
        cache_entry *e = &t->cache[i];
        if (e->str && t->frame - e->last_used > CACHE_MAX_AGE) {
            SDL_DestroyTexture(e->tex);
            free(e->str);
            memset(e, 0, sizeof *e);
        }
    }
}
