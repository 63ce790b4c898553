/* bench.c — --bench N: captions N frames in the live loop and measures what a
 * user feels: frame-to-first-token latency (frame arrival -> first streamed
 * piece), full caption latency (frame arrival -> caption finished) and the UI
 * frame rate while the worker is busy. After each caption it asks one
 * follow-up question (overlay on) and times it too: question-to-first-token,
 * the whole answer, and the UI frame rate while the answer streams. Reports
 * medians (and min/max). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

struct view_bench {
    int n, done;
    double *first_ms, *total_ms;  // [n]
    double *enc_ms, *pre_ms, *dec_ms;  // [n] the engine's own phase times of each caption (moevk_timings)
    double *queue_ms;             // [n] frame arrival -> the worker starts the caption
    moevk_timings last;           // the last timed caption's (its device work: dispatches, barriers, submits)
    double *busy_dt;              // UI frame durations while captioning
    int n_dt, cap_dt;
    uint64_t recorded_seq;
    int warmed;                   // the first caption (waited for the model, cold caches) is not timed
    int failed;
    int asking;                   // a follow-up question is being answered
    int n_ans;
    double *ans_first_ms, *ans_ms, *ans_prefill_ms;  // [n]
    double *ans_dt;               // UI frame durations while answering
    int n_adt, cap_adt;
    double *ans_cpu;              // UI thread CPU time per frame (drawing) while answering
    int n_acpu, cap_acpu;
};

#define BENCH_QUESTION "What colour is it?"

static int push_dt(double **v, int *n, int *cap, double dt) {
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 1024;
        double *p = realloc(*v, sizeof *p * (size_t)c);
        if (!p) return 0;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = dt;
    return 1;
}

view_bench *view_bench_new(int n) {
    view_bench *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->n = n;
    b->first_ms = calloc((size_t)n, sizeof(double));
    b->total_ms = calloc((size_t)n, sizeof(double));
    b->ans_first_ms = calloc((size_t)n, sizeof(double));
    b->ans_ms = calloc((size_t)n, sizeof(double));
    b->ans_prefill_ms = calloc((size_t)n, sizeof(double));
    b->enc_ms = calloc((size_t)n, sizeof(double));
    b->pre_ms = calloc((size_t)n, sizeof(double));
    b->dec_ms = calloc((size_t)n, sizeof(double));
    b->queue_ms = calloc((size_t)n, sizeof(double));
    if (!b->first_ms || !b->total_ms || !b->ans_first_ms || !b->ans_ms || !b->ans_prefill_ms || !b->enc_ms || !b->pre_ms ||
        !b->dec_ms || !b->queue_ms) {
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
    free(b->ans_first_ms);
    free(b->ans_ms);
    free(b->ans_prefill_ms);
    free(b->enc_ms);
    free(b->pre_ms);
    free(b->dec_ms);
    free(b->queue_ms);
    free(b->ans_dt);
    free(b->ans_cpu);
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
    const view_caption *c = &app->cap;
    if (b->asking) {
        if (app->wst.busy && dt > 0 && !push_dt(&b->ans_dt, &b->n_adt, &b->cap_adt, dt)) return 1;
        if (app->wst.busy && !push_dt(&b->ans_cpu, &b->n_acpu, &b->cap_acpu, app->last_draw_cpu)) return 1;
        if (app->wst.asking || c->n_turns == 0 || !c->turns[c->n_turns - 1].done) return 0;
        const view_turn *t = &c->turns[c->n_turns - 1];
        b->asking = 0;
        if (t->failed) {
            fprintf(stderr, "moevk-view: bench question failed: %s\n", t->error);
            b->failed = 1;
            return 1;
        }
        b->ans_first_ms[b->n_ans] = t->t_first_token > 0 ? 1000.0 * (t->t_first_token - t->t_start) : 0;
        b->ans_ms[b->n_ans] = 1000.0 * (t->t_done - t->t_start);
        b->ans_prefill_ms[b->n_ans] = t->timings.prefill_ms;
        fprintf(stderr, "moevk-view: bench %d/%d: follow-up first token %.0f ms (prefill %d tokens %.0f ms, encode %.0f ms), "
                        "answer %.0f ms: %s\n",
                b->n_ans + 1, b->n, b->ans_first_ms[b->n_ans], t->timings.n_prompt_tokens, t->timings.prefill_ms,
                t->timings.image_encode_ms, b->ans_ms[b->n_ans], t->answer ? t->answer : "");
        b->n_ans++;
        if (b->done >= b->n) return 1;
        if (!app->use_camera) {
            if (app->files.n > 1)
                view_step_file(app, +1);
            else {  // the same image again, as a new frame
                app->frame_seq++;
                app->t_frame = view_now();
            }
        }
        return 0;
    }
    if (app->wst.busy && dt > 0 && !push_dt(&b->busy_dt, &b->n_dt, &b->cap_dt, dt)) return 1;
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
            b->enc_ms[b->done] = c->timings.image_encode_ms;
            b->pre_ms[b->done] = c->timings.prefill_ms;
            b->dec_ms[b->done] = c->timings.decode_ms;
            b->queue_ms[b->done] = 1000.0 * (c->t_start - c->t_submit);
            b->last = c->timings;
            fprintf(stderr,
                    "moevk-view: bench %d/%d: first token %.0f ms, caption %.0f ms (queued %.1f ms, image encode %.1f ms, prefill %d tokens "
                    "%.1f ms, decode %d tokens %.1f ms): %s\n",
                    b->done + 1, b->n, b->first_ms[b->done], b->total_ms[b->done], b->queue_ms[b->done], c->timings.image_encode_ms,
                    c->timings.n_prompt_tokens, c->timings.prefill_ms, c->timings.n_generated, c->timings.decode_ms,
                    c->text ? c->text : "");
            b->done++;
            // a follow-up about this frame, with the overlay drawn while the answer streams
            app->overlay_on = 1;
            if (!app->use_camera && view_ask(app, BENCH_QUESTION)) {
                b->asking = 1;
                return 0;
            }
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
    double enc_med = median(b->enc_ms, b->done), pre_med = median(b->pre_ms, b->done), dec_med = median(b->dec_ms, b->done);
    double q_med = median(b->queue_ms, b->done);
    printf("  of which, in the engine:      image encode %.1f ms, prefill %.1f ms, decode %.1f ms (medians)\n", enc_med, pre_med,
           dec_med);
    printf("  frame waiting for the worker: median %.1f ms\n", q_med);
    const moevk_timings *lt = &b->last;
    printf("  device work per caption:      prefill %d dispatches, %d barriers, %d submits; decode step %d dispatches, "
           "%d barriers, %d submits\n", lt->prefill_dispatches, lt->prefill_barriers, lt->prefill_submits,
           lt->decode_dispatches, lt->decode_barriers, lt->decode_submits);
    printf("  UI while captioning:          median %.1f fps (frame time p95 %.1f ms, %d frames)\n", fps_med,
           1000.0 * dt_p95, b->n_dt);
    double a_first = median(b->ans_first_ms, b->n_ans), a_tot = median(b->ans_ms, b->n_ans);
    double a_pre = median(b->ans_prefill_ms, b->n_ans);
    double adt_med = median(b->ans_dt, b->n_adt), afps = adt_med > 0 ? 1.0 / adt_med : 0;
    double adt_p95 = b->n_adt ? b->ans_dt[(int)(0.95 * (b->n_adt - 1))] : 0;
    printf("  follow-up question (\"%s\", %d asked): first token median %.1f ms (prefill %.1f ms), answer %.1f ms\n",
           BENCH_QUESTION, b->n_ans, a_first, a_pre, a_tot);
    printf("  UI while an answer streams:   median %.1f fps (frame time p95 %.1f ms, %d frames)\n", afps, 1000.0 * adt_p95,
           b->n_adt);
    double cpu_med = median(b->ans_cpu, b->n_acpu);
    double cpu_p95 = b->n_acpu ? b->ans_cpu[(int)(0.95 * (b->n_acpu - 1))] : 0;
    printf("  UI drawing while it streams:  median %.2f ms CPU per frame (p95 %.2f ms): %.0f fps on a free core\n",
           1000.0 * cpu_med, 1000.0 * cpu_p95, cpu_med > 0 ? 1.0 / cpu_med : 0.0);
    if (app->args.bench_out) {
        FILE *f = fopen(app->args.bench_out, "w");
        if (f) {
            fprintf(f,
                    "{\"captions\": %d, \"model\": \"%s\", \"device\": \"%s\", \"mode\": \"%s\",\n"
                    " \"first_token_ms_median\": %.3f, \"first_token_ms_min\": %.3f, \"first_token_ms_max\": %.3f,\n"
                    " \"caption_ms_median\": %.3f, \"caption_ms_min\": %.3f, \"caption_ms_max\": %.3f,\n"
                    " \"image_encode_ms_median\": %.3f, \"prefill_ms_median\": %.3f, \"decode_ms_median\": %.3f,"
                    " \"queue_ms_median\": %.3f,\n"
                    " \"ui_fps_median\": %.2f, \"ui_frame_ms_p95\": %.3f, \"ui_frames\": %d,\n"
                    " \"followups\": %d, \"followup_first_token_ms_median\": %.3f, \"followup_prefill_ms_median\": %.3f,\n"
                    " \"followup_answer_ms_median\": %.3f, \"answer_ui_fps_median\": %.2f, \"answer_ui_frame_ms_p95\": %.3f,"
                    " \"answer_ui_frames\": %d, \"answer_draw_cpu_ms_median\": %.3f,\n"
                    " \"prefill_dispatches\": %d, \"prefill_barriers\": %d, \"prefill_submits\": %d,"
                    " \"decode_step_dispatches\": %d, \"decode_step_barriers\": %d, \"decode_step_submits\": %d}\n",
                    b->done, app->wst.info.name, app->wst.info.device, app->args.headless ? "headless" : "windowed",
                    first_med, first_min, first_max, tot_med, tot_min, tot_max, enc_med, pre_med, dec_med, q_med, fps_med, 1000.0 * dt_p95, b->n_dt,
                    b->n_ans, a_first, a_pre, a_tot, afps, 1000.0 * adt_p95, b->n_adt, 1000.0 * cpu_med,
                    lt->prefill_dispatches, lt->prefill_barriers, lt->prefill_submits, lt->decode_dispatches, lt->decode_barriers,
                    lt->decode_submits);
            fclose(f);
        }
    }
}
