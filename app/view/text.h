/* text.h — text drawing for moevk-view with SDL2_ttf (DejaVu Sans from
 * fonts-dejavu-core), with a cache of rendered strings. Without a TTF font the
 * app still runs and draws text with the 5x7 bitmap font of app/common/heatmap.h. */
#ifndef MOEVK_VIEW_TEXT_H
#define MOEVK_VIEW_TEXT_H

#include <SDL.h>
#include <stddef.h>

enum { VIEW_FONT_SMALL = 0, VIEW_FONT_NORMAL, VIEW_FONT_CAPTION, VIEW_FONT_LARGE, VIEW_FONT_COUNT };

typedef struct view_text view_text;

/* font_path NULL: $MOEVK_FONT, then DejaVu Sans and a few other Debian fonts.
 * Never returns NULL unless out of memory; check view_text_has_font. */
view_text *view_text_new(SDL_Renderer *r, const char *font_path);
void view_text_free(view_text *t);
int view_text_has_font(const view_text *t);
const char *view_text_font_path(const view_text *t);

/* Draws UTF-8 text with its top-left at (x, y); returns its width in pixels. */
int view_text_draw(view_text *t, int font, const char *s, int x, int y, SDL_Color c);
/* Width of the first n bytes of s (n < 0: all). */
int view_text_width_n(view_text *t, int font, const char *s, int n);
int view_text_width(view_text *t, int font, const char *s);
int view_text_line_height(view_text *t, int font);

/* Greedy word wrap of s into lines no wider than max_w. starts[i]/lens[i] are
 * byte ranges (trailing spaces excluded). Returns the line count (<= cap). */
int view_text_wrap(view_text *t, int font, const char *s, int max_w, int *starts, int *lens, int cap);

/* Call once per frame: frees cached strings not drawn for a while. */
void view_text_end_frame(view_text *t);

#endif
