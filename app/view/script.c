/* script.c — scripted sessions (--script FILE), one command a line:
 *
 *   load PATH                 show an image (or the first image of a folder)
 *   camera DEV                switch to a V4L2 camera
 *   wait model [SECONDS]      until the model is loaded (or failed)
 *   wait caption [SECONDS]    until the caption of the current frame is finished
 *   wait banner TEXT          until a banner containing TEXT is shown (10 s)
 *   wait frames N             let N UI frames pass
 *   view image|text|both      which tokens the heatmap counts
 *   mode frame|average        this frame or the running average
 *   help on|off               the help overlay
 *   hover caption N | hover cell L E | hover none   (a mouse-motion event there)
 *   click image|text|both|frame|average            (a click on that toggle)
 *   drop PATH                 a file dropped on the window (image, folder, .gguf)
 *   resize W H                resize the window (ignored headless)
 *   key NAME                  a key press: space, left, right, s, a, i, t, b, f1, ...
 *   screenshot PATH           PNG + .routing.json + .view.json (relative to --out)
 *   expect caption-nonempty | expect banner TEXT   (fail otherwise)
 *   ask TEXT                  a question about the current frame (as typed + Enter)
 *   type TEXT                 text-input events, as typed on the keyboard (the question box takes them when focused)
 *   wait answer [SECONDS]     until the last question is answered (or failed)
 *   expect answer-nonempty    the last answer finished, did not fail and has text
 *   overlay on|off            the per-patch overlay (key O)
 *   layer N                   the overlay's layer (keys [ and ])
 *   hover region N            the mouse on overlay region N (row-major image token)
 *   sleep MS
 *   quit
 *
 * '#' starts a comment; ${VAR} is replaced by the environment variable VAR.
 * A failed wait or expect ends the app with exit code 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"

#include "script_parse.h"

struct view_script {
    char *lines[VIEW_SCRIPT_MAX_LINES];
    int n, pc;
    double wait_start;    // when the current wait began (0: not waiting)
    int wait_frames;
    char path[1024];
};

view_script *view_script_load(const char *path, char *err, size_t err_cap) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_cap, "cannot open script %s", path);
        return NULL;
    }
    view_script *s = calloc(1, sizeof *s);
    char *text = malloc(VIEW_SCRIPT_MAX_BYTES + 1);
    if (!s || !text) {
        fclose(f);
        free(s);
        free(text);
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    size_t len = fread(text, 1, VIEW_SCRIPT_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int ok = 0;
    if (bad)
        snprintf(err, err_cap, "cannot read script %s", path);
    else if (len > VIEW_SCRIPT_MAX_BYTES)
        snprintf(err, err_cap, "script %s is larger than %d bytes", path, VIEW_SCRIPT_MAX_BYTES);
    else
        ok = view_script_parse_text(text, len, path, s->lines, VIEW_SCRIPT_MAX_LINES, &s->n, err, err_cap);
    free(text);
    if (!ok) {
        view_script_free(s);
        return NULL;
    }
    return s;
}

void view_script_free(view_script *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->lines[i]);
    free(s);
}

static SDL_Keycode key_named(const char *n) {
    if (!strcmp(n, "space")) return SDLK_SPACE;
    if (!strcmp(n, "left")) return SDLK_LEFT;
    if (!strcmp(n, "right")) return SDLK_RIGHT;
    if (!strcmp(n, "f1")) return SDLK_F1;
    if (!strcmp(n, "?")) return SDLK_QUESTION;
    if (!strcmp(n, "escape") || !strcmp(n, "esc")) return SDLK_ESCAPE;
    if (!strcmp(n, "enter") || !strcmp(n, "return")) return SDLK_RETURN;
    if (!strcmp(n, "backspace")) return SDLK_BACKSPACE;
    if (strlen(n) == 1 && ((n[0] >= 'a' && n[0] <= 'z') || n[0] == '[' || n[0] == ']')) return (SDL_Keycode)n[0];
    return SDLK_UNKNOWN;
}

static void push_motion(int x, int y) {
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEMOTION;
    ev.motion.x = x;
    ev.motion.y = y;
    SDL_PushEvent(&ev);
}

static void push_click(int x, int y) {
    push_motion(x, y);
    SDL_Event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = SDL_MOUSEBUTTONDOWN;
    ev.button.button = SDL_BUTTON_LEFT;
    ev.button.state = SDL_PRESSED;
    ev.button.x = x;
    ev.button.y = y;
    SDL_PushEvent(&ev);
    ev.type = SDL_MOUSEBUTTONUP;
    ev.button.state = SDL_RELEASED;
    SDL_PushEvent(&ev);
}

// The screen point in the middle of caption segment n (as last drawn).
static int caption_point(view_app *app, int n, int *x, int *y) {
    const view_caption *c = &app->cap;
    const view_rects *rc = &app->rc;
    if (n < 0 || n >= c->n_segs || !c->text) return 0;
    int start = c->segs[n].start, len = c->segs[n].len;
    // skip a leading space: the mouse should be on the word
    while (len > 1 && c->text[start] == ' ') start++, len--;
    for (int l = 0; l < rc->n_lines; l++) {
        int ls = rc->line_start[l], le = ls + rc->line_len[l];
        if (start < ls || start >= le) continue;
        int end = start + len < le ? start + len : le;
        int x0 = view_text_width_n(app->text, VIEW_FONT_CAPTION, c->text + ls, start - ls);
        int x1 = view_text_width_n(app->text, VIEW_FONT_CAPTION, c->text + ls, end - ls);
        *x = rc->cap_x + (x0 + x1) / 2;
        *y = rc->cap_y + l * rc->cap_line_h + rc->cap_line_h / 2;
        return 1;
    }
    return 0;
}

static int has_banner(view_app *app, const char *text) {
    for (int i = 0; i < app->n_banners; i++)
        if (strstr(app->banners[i].msg, text)) return 1;
    return 0;
}

static int fail(view_script *s, const char *line, const char *why) {
    fprintf(stderr, "moevk-view: script %s, command %d \"%s\": %s\n", s->path, s->pc + 1, line, why);
    return -1;
}

// One command: 1 done (go on), 0 still waiting, -1 failed.
static int run_one(view_script *s, view_app *app, const char *line) {
    view_script_words wd;
    view_script_split(line, &wd);
    const char *cmd = wd.cmd, *a1 = wd.a1, *a2 = wd.a2, *rest = wd.rest;
    double now = view_now();
    if (!strcmp(cmd, "load")) {
        int first = view_files_add(&app->files, rest);
        if (first < 0) {
            view_banner_add(app, "nothing to show in %s", rest);
            return 1;
        }
        app->files.cur = first;
        app->use_camera = 0;
        view_load_file(app, app->files.paths[first]);
        return 1;
    }
    if (!strcmp(cmd, "camera")) {
        view_toggle_camera(app, rest);
        return 1;
    }
    if (!strcmp(cmd, "wait")) {
        if (!s->wait_start) s->wait_start = now;
        double limit = a2[0] ? atof(a2) : 900.0;  // seconds, for model and caption
        if (!strcmp(a1, "model")) {
            if (app->wst.state != VIEW_MODEL_LOADING) return 1;
        } else if (!strcmp(a1, "caption")) {
            if (app->frame.rgb && app->cap.frame_seq == app->frame_seq && app->cap.done) return 1;
            if (app->wst.state == VIEW_MODEL_FAILED) return fail(s, line, "the model failed to load");
        } else if (!strcmp(a1, "banner")) {
            if (!wd.tail[0]) return fail(s, line, "expected wait banner TEXT");
            if (has_banner(app, wd.tail)) return 1;
            limit = 10.0;
        } else if (!strcmp(a1, "answer")) {
            const view_caption *c = &app->cap;
            if (!app->wst.asking && c->n_turns > 0 && c->turns[c->n_turns - 1].done) return 1;
            if (!app->wst.asking && c->n_turns == 0 && now - s->wait_start > 2.0)
                return fail(s, line, "no question was asked (or it was dropped)");
        } else if (!strcmp(a1, "frames")) {
            if (s->wait_frames == 0) s->wait_frames = atoi(a2[0] ? a2 : "1") + 1;
            if (--s->wait_frames <= 0) return 1;
            return 0;
        } else {
            return fail(s, line, "unknown wait");
        }
        if (now - s->wait_start > limit) return fail(s, line, "timed out");
        return 0;
    }
    if (!strcmp(cmd, "view")) {
        if (!strcmp(a1, "image")) app->filter = VIEW_TOKENS_IMAGE;
        else if (!strcmp(a1, "text")) app->filter = VIEW_TOKENS_TEXT;
        else if (!strcmp(a1, "both")) app->filter = VIEW_TOKENS_BOTH;
        else return fail(s, line, "expected image, text or both");
        return 1;
    }
    if (!strcmp(cmd, "mode")) {
        if (!strcmp(a1, "frame")) app->show_avg = 0;
        else if (!strcmp(a1, "average")) app->show_avg = 1;
        else return fail(s, line, "expected frame or average");
        return 1;
    }
    if (!strcmp(cmd, "help")) {
        app->show_help = !strcmp(a1, "on");
        return 1;
    }
    if (!strcmp(cmd, "hover")) {
        // A real mouse-motion event at the token's / cell's place on screen, so
        // the app's own hit testing runs as it does for a user.
        int x = -1, y = -1;
        if (!strcmp(a1, "caption")) {
            if (!caption_point(app, atoi(a2), &x, &y)) return fail(s, line, "no such token on screen");
        } else if (!strcmp(a1, "cell")) {
            int l = -1, e = -1;
            if (sscanf(rest, "cell %d %d", &l, &e) != 2) return fail(s, line, "expected hover cell L E");
            if (l < 0 || e < 0 || l >= app->grid_layers || e >= app->grid_experts) return fail(s, line, "no such cell");
            x = app->rc.grid.x + e * app->rc.cell_w + app->rc.cell_w / 2;
            y = app->rc.grid.y + l * app->rc.cell_h + app->rc.cell_h / 2;
        } else if (!strcmp(a1, "region")) {
            int i = atoi(a2);
            if (i < 0 || i >= app->overlay_n || !app->overlay_on) return fail(s, line, "no such overlay region on screen");
            view_overlay_center(app, i, &x, &y);
        } else if (strcmp(a1, "none")) {
            return fail(s, line, "expected caption N, cell L E, region N or none");
        }
        push_motion(x, y);
        return 1;
    }
    if (!strcmp(cmd, "click")) {  // a toggle button: image text both frame average
        static const char *names[5] = {"image", "text", "both", "frame", "average"};
        for (int i = 0; i < 5; i++)
            if (!strcmp(a1, names[i])) {
                SDL_Rect b = app->rc.btn[i];
                push_click(b.x + b.w / 2, b.y + b.h / 2);
                return 1;
            }
        return fail(s, line, "expected image, text, both, frame or average");
    }
    if (!strcmp(cmd, "resize")) {  // the window (windowed mode only)
        int w = atoi(a1), h = atoi(a2);
        if (w < 640 || h < 400) return fail(s, line, "expected resize W H (at least 640 400)");
        if (app->win) SDL_SetWindowSize(app->win, w, h);  // SDL reports the change as an event
        return 1;
    }
    if (!strcmp(cmd, "drop")) {  // as if the file were dropped on the window
        SDL_Event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = SDL_DROPFILE;
        ev.drop.file = SDL_strdup(rest);
        if (!ev.drop.file || SDL_PushEvent(&ev) != 1) return fail(s, line, "cannot queue the drop event");
        return 1;
    }
    if (!strcmp(cmd, "key")) {
        SDL_Keycode k = key_named(a1);
        if (k == SDLK_UNKNOWN) return fail(s, line, "unknown key");
        view_handle_key(app, k);
        return 1;
    }
    if (!strcmp(cmd, "screenshot")) {
        char path[2048];
        if (rest[0] == '/')
            snprintf(path, sizeof path, "%s", rest);
        else {
            mkdir(app->args.out_dir, 0777);
            snprintf(path, sizeof path, "%s/%s", app->args.out_dir, rest);
        }
        view_draw(app);  // the surface shows the state after this script step (not counted as a UI frame)
        if (!view_save_screenshot(app, path)) return fail(s, line, "could not save");
        printf("%s\n", path);
        fflush(stdout);
        return 1;
    }
    if (!strcmp(cmd, "expect")) {
        if (!strcmp(a1, "caption-nonempty")) {
            if (!app->cap.text || !app->cap.text[0]) return fail(s, line, "the caption is empty");
            return 1;
        }
        if (!strcmp(a1, "banner")) {
            if (!wd.tail[0]) return fail(s, line, "expected expect banner TEXT");
            if (!has_banner(app, wd.tail)) return fail(s, line, "no such banner");
            return 1;
        }
        if (!strcmp(a1, "resident-marks")) {  // experts stream and E marks the resident ones
            const view_cache_view *xc = &app->wst.cache;
            if (!xc->streaming) return fail(s, line, "experts do not stream (every expert is resident)");
            if (xc->L != app->grid_layers || xc->E != app->grid_experts) return fail(s, line, "no residency marks");
            if (!app->show_resident) return fail(s, line, "the resident-expert marks are off (key e)");
            return 1;
        }
        if (!strcmp(a1, "answer-nonempty")) {
            const view_caption *c = &app->cap;
            if (c->n_turns == 0) return fail(s, line, "no question was answered");
            const view_turn *t = &c->turns[c->n_turns - 1];
            if (!t->done) return fail(s, line, "the answer is not finished");
            if (t->failed) return fail(s, line, t->error);
            if (!t->answer || !t->answer[0]) return fail(s, line, "the answer is empty");
            return 1;
        }
        return fail(s, line, "unknown expectation");
    }
    if (!strcmp(cmd, "type")) {  // SDL_TEXTINPUT events, whole UTF-8 characters, as a keyboard sends them
        const char *p = rest;
        while (*p) {
            SDL_Event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = SDL_TEXTINPUT;
            size_t n = 0;
            while (p[n] && n < sizeof ev.text.text - 5) {
                n++;
                while (((uint8_t)p[n] & 0xC0) == 0x80) n++;
            }
            memcpy(ev.text.text, p, n);
            ev.text.text[n] = 0;
            if (SDL_PushEvent(&ev) != 1) return fail(s, line, "cannot queue the text event");
            p += n;
        }
        return 1;
    }
    if (!strcmp(cmd, "ask")) {
        view_ask(app, rest);  // a refusal shows a banner, as for a user; scripts check it with expect banner
        return 1;
    }
    if (!strcmp(cmd, "overlay")) {
        if (!strcmp(a1, "on")) app->overlay_on = 1;
        else if (!strcmp(a1, "off")) app->overlay_on = 0;
        else return fail(s, line, "expected overlay on or off");
        return 1;
    }
    if (!strcmp(cmd, "layer")) {
        char *end = NULL;
        long l = strtol(a1, &end, 10);
        if (!a1[0] || *end || l < 0 || l >= (app->grid_layers > 0 ? app->grid_layers : 1))
            return fail(s, line, "expected layer N with N a MoE layer of the model");
        app->overlay_layer = (int)l;
        return 1;
    }
    if (!strcmp(cmd, "sleep")) {
        if (!s->wait_start) s->wait_start = now;
        return now - s->wait_start >= atof(a1) / 1000.0;
    }
    if (!strcmp(cmd, "quit")) {
        s->pc = s->n;
        return 1;
    }
    return fail(s, line, "unknown command");
}

int view_script_step(view_script *s, view_app *app) {
    while (s->pc < s->n) {
        int r = run_one(s, app, s->lines[s->pc]);
        if (r < 0) return -1;
        if (r == 0) return 0;
        s->wait_start = 0;
        s->wait_frames = 0;
        if (s->pc < s->n) s->pc++;
        return 0;  // one command per UI frame, so every state change gets drawn
    }
    return 1;
}
