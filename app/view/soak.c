/* soak.c — `moevk-view --headless --soak SECONDS`: runs the app for SECONDS
 * (normally on the synthetic camera, --camera test:on=S,off=S) and prints one
 * JSON line every 10 s and a last one at the end, for tools/soak.sh:
 *
 *   {"soak": t, "model": "ready", "captions": N, "failed": N, "frames": N,
 *    "rss_kb": N, "device_bytes": N, "validation": N, "banners": N,
 *    "reconnects": N, "reconnects_captioned": N, "reconnects_missed": N}
 *
 * rss_kb is the process's resident set (/proc/self/statm), device_bytes the
 * model's device memory (moevk_model_info), validation the Khronos layer's
 * findings, banners the banners shown. A reconnection (the camera coming
 * back while the model is ready) is "captioned" once a caption of a frame
 * taken after it finished; one that vanishes again before that is "missed". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app.h"

#define SOAK_REPORT_SECONDS 10.0

struct view_soak {
    double seconds, t0, next_report;
    int was_up, seen_down;
    uint64_t seq_at_connect;   // frame_seq when the camera came (back)
    int waiting;               // a (re)connection without its caption yet
    uint64_t connects, captioned, missed;
};

view_soak *view_soak_new(double seconds) {
    view_soak *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->seconds = seconds;
    s->t0 = view_now();
    s->next_report = s->t0 + SOAK_REPORT_SECONDS;
    return s;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void report(view_soak *s, view_app *app, double t) {
    const view_worker_status *w = &app->wst;
    const char *state = w->state == VIEW_MODEL_READY ? "ready" : w->state == VIEW_MODEL_FAILED ? "failed" : "loading";
    printf("{\"soak\": %.1f, \"model\": \"%s\", \"captions\": %llu, \"failed\": %llu, \"frames\": %llu, \"rss_kb\": %ld, "
           "\"device_bytes\": %llu, \"validation\": %u, \"banners\": %llu, \"reconnects\": %llu, "
           "\"reconnects_captioned\": %llu, \"reconnects_missed\": %llu}\n",
           t - s->t0, state, (unsigned long long)w->n_captions, (unsigned long long)w->n_failed,
           (unsigned long long)app->frame_seq, rss_kb(), (unsigned long long)w->info.device_bytes,
           w->info.validation_messages, (unsigned long long)app->n_banners_total, (unsigned long long)s->connects,
           (unsigned long long)s->captioned, (unsigned long long)s->missed);
    fflush(stdout);
}

int view_soak_step(view_soak *s, view_app *app) {
    double t = view_now();
    // A reconnection: the camera comes back while the model is ready (the
    // first connection, usually made while the model loads, is not one).
    int up = app->use_camera && view_camera_is_streaming(app->cam);
    int ready = app->wst.state == VIEW_MODEL_READY;
    if (up && !s->was_up && ready && s->seen_down) {
        s->connects++;
        s->seq_at_connect = app->frame_seq;
        s->waiting = 1;
    }
    if (!up && s->was_up && s->waiting) {  // gone again before a caption of it
        s->missed++;
        s->waiting = 0;
    }
    if (!up && ready) s->seen_down = 1;
    s->was_up = up;
    // (the worker's count, not app->cap: with a camera the next caption starts
    // at once, so a finished one may never be seen by the UI thread)
    if (s->waiting && app->wst.last_ok_seq > s->seq_at_connect) {
        s->captioned++;
        s->waiting = 0;
    }
    if (t >= s->next_report) {
        report(s, app, t);
        s->next_report += SOAK_REPORT_SECONDS;
    }
    if (app->wst.state == VIEW_MODEL_FAILED) {
        app->exit_code = 1;
        return 1;
    }
    return t - s->t0 >= s->seconds;
}

void view_soak_report(view_soak *s, view_app *app) { report(s, app, view_now()); }

void view_soak_free(view_soak *s) { free(s); }
