/* chat.c — the question box of moevk-view: asking about the current frame
 * (a follow-up turn of its caption's conversation, answered by the worker),
 * the box's keyboard handling, and the categorical expert palette shared by
 * the overlay, the token trace and their legends. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

/* Tab20's strong colours first (distinct for the small models), then its
 * light ones; beyond 20 experts hues step by the golden ratio. tests/app_chat.sh
 * recomputes this to check overlay pixels. */
static const uint8_t k_tab20[20][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},   {148, 103, 189}, {140, 86, 75},   {227, 119, 194},
    {127, 127, 127}, {188, 189, 34}, {23, 190, 207}, {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150},
    {197, 176, 213}, {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};

SDL_Color view_expert_color(int e) {
    if (e < 0) return (SDL_Color){0, 0, 0, 255};
    if (e < 20) return (SDL_Color){k_tab20[e][0], k_tab20[e][1], k_tab20[e][2], 255};
    // HSV as Python's colorsys.hsv_to_rgb
    double h = fmod(e * 0.618033988749895, 1.0), s = 0.65, v = e % 2 == 0 ? 0.95 : 0.75;
    int i = (int)(h * 6.0);
    double f = h * 6.0 - i, p = v * (1.0 - s), q = v * (1.0 - s * f), t = v * (1.0 - s * (1.0 - f));
    double r, g, b;
    switch (i % 6) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
    }
    return (SDL_Color){(uint8_t)(r * 255.0 + 0.5), (uint8_t)(g * 255.0 + 0.5), (uint8_t)(b * 255.0 + 0.5), 255};
}

int view_ask(view_app *app, const char *text) {
    char q[VIEW_QUESTION_MAX];
    snprintf(q, sizeof q, "%s", text ? text : "");
    size_t n = strlen(q);
    while (n && (q[n - 1] == ' ' || q[n - 1] == '\t' || q[n - 1] == '\n' || q[n - 1] == '\r')) q[--n] = 0;
    const char *p = q;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) {
        view_banner_add(app, "the question is empty: type a question about the image first");
        return 0;
    }
    if (app->wst.state == VIEW_MODEL_LOADING) {
        view_banner_add(app, "the model is still loading: ask again when it is ready");
        return 0;
    }
    if (app->wst.state != VIEW_MODEL_READY || !app->wst.info.has_vision) {
        view_banner_add(app, "no model that reads images is loaded: the question cannot be answered");
        return 0;
    }
    if (!app->frame.rgb) {
        view_banner_add(app, "no image to ask about: load or drop one first");
        return 0;
    }
    if (app->wst.asking) {
        view_banner_add(app, "still answering the last question");
        return 0;
    }
    if (app->use_camera && !app->paused) {  // a question freezes the camera on the current frame
        app->paused = 1;
        view_banner_add(app, "camera frozen on this frame for the question (Space resumes)");
    }
    // the question is about the frame on screen: make sure the worker has it
    if (app->submitted_seq != app->frame_seq &&
        view_worker_submit(app->worker, &app->frame, app->frame_seq, app->t_frame, app->frame_preempt))
        app->submitted_seq = app->frame_seq;
    if (!view_worker_ask(app->worker, p, app->frame_seq)) {
        view_banner_add(app, "still answering the last question");
        return 0;
    }
    app->wst.asking = 1;  // until the next status poll says otherwise
    app->chat_scroll = 0;
    return 1;
}

static void question_backspace(view_app *app) {
    if (app->q_len == 0) return;
    int n = app->q_len - 1;
    while (n > 0 && ((uint8_t)app->question[n] & 0xC0) == 0x80) n--;  // a whole UTF-8 character
    app->q_len = n;
    app->question[n] = 0;
}

void view_question_text(view_app *app, const char *utf8) {
    size_t n = strlen(utf8);
    if (app->q_len + n + 1 > sizeof app->question) return;  // full: further typing is dropped
    memcpy(app->question + app->q_len, utf8, n + 1);
    app->q_len += (int)n;
}

int view_question_key(view_app *app, SDL_Keycode key) {
    switch (key) {
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
        if (view_ask(app, app->question)) {
            app->q_len = 0;
            app->question[0] = 0;
        }
        return 1;
    case SDLK_BACKSPACE: question_backspace(app); return 1;
    case SDLK_ESCAPE:
        if (app->q_len) {  // Esc clears the box; on an empty box it gives the keys back
            app->q_len = 0;
            app->question[0] = 0;
        } else {
            app->q_focus = 0;
        }
        return 1;
    case SDLK_F1: return 0;
    default: return 1;  // letters arrive as text input; no shortcut fires while typing
    }
}
