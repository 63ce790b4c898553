/* bench.c — --bench N: captions N frames in the live loop and measures what a
 * user feels: frame-to-first-token latency (frame arrival -> first streamed
 * piece), full caption latency (frame arrival -> caption finished) and the UI
 * frame rate while the worker is busy. Reports medians (and min/max). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

struct view_bench {
    int n, done;
    double *first_ms, *total_ms;  // [n]
    double *busy_dt;              // UI frame durations while captioning
    int n_dt, cap_dt;
    uint64_t recorded_seq;
    int warmed;                   // the first caption (waited for the model, cold caches) is not timed
    int failed;
};

view_bench *view_bench_new(int n) {
    view_bench *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->n = n;
    b->first_ms = calloc((size_t)n, sizeof(double));
    b->total_ms = calloc((size_t)n, sizeof(double));
    if (!b->first_ms || !b->total_ms) {
        view_bench_free(b);
        return NULL;
    }
    return b;
}

void view_bench_free(view_bench *b) {
    if (!b) return;
    free(b->first_ms);
    free(b->total_ms);
    free(b->busy_dt);
    free(b);
}

int view_bench_step(view_bench *b, view_app *app, double dt) {
    if (!b) return 1;
    if (app->wst.state == VIEW_MODEL_FAILED) {
        b->failed = 1;
        return 1;
    }
    if (app->wst.state != VIEW_MODEL_READY) return 0;
    if (!app->frame.rgb && !app->use_camera) {
        if (app->files.n == 0 || !view_step_file(app, +1)) {
            fprintf(stderr, "moevk-view: --bench needs a readable image (or --camera)\n");
            b->failed = 1;
            return 1;
        }
        return 0;
    }
    if (app->wst.busy && dt > 0) {
        if (b->n_dt == b->cap_dt) {
            int cap = b->cap_dt ? b->cap_dt * 2 : 1024;
            double *p = realloc(b->busy_dt, sizeof *p * (size_t)cap);
            if (!p) return 1;
            b->busy_dt = p;
            b->cap_dt = cap;
        }
        b->busy_dt[b->n_dt++] = dt;
    }
    const view_caption *c = &app->cap;
    if (c->done && c->frame_seq == app->submitted_seq && c->frame_seq != b->recorded_seq) {
        b->recorded_seq = c->frame_seq;
        if (c->failed) {
            b->failed = 1;
            return 1;
        }
        if (!b->warmed) {
            b->warmed = 1;
            b->n_dt = 0;
            fprintf(stderr, "moevk-view: bench warm-up caption: %s\n", c->text ? c->text : "");
        } else if (!c->cancelled && c->t_first_token > 0) {
            b->first_ms[b->done] = 1000.0 * (c->t_first_token - c->t_submit);
            b->total_ms[b->done] = 1000.0 * (c->t_done - c->t_submit);
            fprintf(stderr, "moevk-view: bench %d/%d: first token %.0f ms, caption %.0f ms, %d tokens: %s\n",
                    b->done + 1, b->n, b->first_ms[b->done], b->total_ms[b->done], c->timings.n_generated,
                    c->text ? c->text : "");
            b->done++;
        }
        if (b->done >= b->n) return 1;
        if (!app->use_camera) {
            if (app->files.n > 1)
                view_step_file(app, +1);
            else {  // the same image again, as a new frame
                app->frame_seq++;
                app->t_frame = view_now();
            }
        }
    }
    return 0;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void view_bench_report(view_bench *b, view_app *app) {
    if (!b) return;
    if (b->failed || b->done == 0) {
        fprintf(stderr, "moevk-view: benchmark failed (%d captions done)\n", b->done);
        app->exit_code = 1;
        return;
    }
    double first_min = 1e300, first_max = 0, tot_min = 1e300, tot_max = 0;
    for (int i = 0; i < b->done; i++) {
        if (b->first_ms[i] < first_min) first_min = b->first_ms[i];
        if (b->first_ms[i] > first_max) first_max = b->first_ms[i];
        if (b->total_ms[i] < tot_min) tot_min = b->total_ms[i];
        if (b->total_ms[i] > tot_max) tot_max = b->total_ms[i];
    }
    double first_med = median(b->first_ms, b->done), tot_med = median(b->total_ms, b->done);
    double dt_med = median(b->busy_dt, b->n_dt);
    double fps_med = dt_med > 0 ? 1.0 / dt_med : 0;
    // 95th percentile frame time: the slow frames a user would notice
    double dt_p95 = b->n_dt ? b->busy_dt[(int)(0.95 * (b->n_dt - 1))] : 0;
    printf("moevk-view benchmark: %d captions, model %s, device %s, %s\n", b->done, app->wst.info.name,
           app->wst.info.device, app->args.headless ? "headless" : "windowed");
    printf("  frame-to-first-token latency: median %.1f ms (min %.1f, max %.1f)\n", first_med, first_min, first_max);
    printf("  full caption latency:         median %.1f ms (min %.1f, max %.1f)\n", tot_med, tot_min, tot_max);
    printf("  UI while captioning:          median %.1f fps (frame time p95 %.1f ms, %d frames)\n", fps_med,
           1000.0 * dt_p95, b->n_dt);
    if (app->args.bench_out) {
        FILE *f = fopen(app->args.bench_out, "w");
        if (f) {
            fprintf(f,
                    "{\"captions\": %d, \"model\": \"%s\", \"device\": \"%s\", \"mode\": \"%s\",\n"
                    " \"first_token_ms_median\": %.3f, \"first_token_ms_min\": %.3f, \"first_token_ms_max\": %.3f,\n"
                    " \"caption_ms_median\": %.3f, \"caption_ms_min\": %.3f, \"caption_ms_max\": %.3f,\n"
                    " \"ui_fps_median\": %.2f, \"ui_frame_ms_p95\": %.3f, \"ui_frames\": %d}\n",
                    b->done, app->wst.info.name, app->wst.info.device, app->args.headless ? "headless" : "windowed",
                    first_med, first_min, first_max, tot_med, tot_min, tot_max, fps_med, 1000.0 * dt_p95, b->n_dt);
            fclose(f);
        }
    }
}
