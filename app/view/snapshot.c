/* snapshot.c — screenshots: the rendered view as PNG, that frame's routing
 * telemetry as JSON (app/common/routing_json) and a small .view.json that
 * describes what is on screen (caption text, view toggles, where the heatmap
 * cells are) so tests can check the pixels against the telemetry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

uint8_t *view_surface_rgb(view_app *app) {
    SDL_Surface *s = app->surf;
    uint8_t *rgb = malloc((size_t)s->w * s->h * 3);
    if (!rgb) return NULL;
    if (SDL_ConvertPixels(s->w, s->h, s->format->format, s->pixels, s->pitch, SDL_PIXELFORMAT_RGB24, rgb, s->w * 3) !=
        0) {
        free(rgb);
        return NULL;
    }
    return rgb;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_rect(FILE *f, SDL_Rect r) { fprintf(f, "[%d, %d, %d, %d]", r.x, r.y, r.w, r.h); }

// path with its .png suffix replaced
static void sibling(char *out, size_t cap, const char *png, const char *suffix) {
    size_t n = strlen(png);
    if (n > 4 && !strcmp(png + n - 4, ".png")) n -= 4;
    snprintf(out, cap, "%.*s%s", (int)n, png, suffix);
}

static int write_view_json(view_app *app, const char *png, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    const view_caption *c = &app->cap;
    const view_rects *rc = &app->rc;
    fprintf(f, "{\n  \"png\": ");
    json_str(f, png);
    fprintf(f, ",\n  \"width\": %d, \"height\": %d,\n  \"frame\": {\"name\": ", app->W, app->H);
    json_str(f, app->frame_name);
    fprintf(f, ", \"w\": %d, \"h\": %d, \"seq\": %llu, \"captioned_seq\": %llu},\n", app->frame.w, app->frame.h,
            (unsigned long long)app->frame_seq, (unsigned long long)c->frame_seq);
    fprintf(f, "  \"caption\": ");
    json_str(f, c->text ? c->text : "");
    fprintf(f, ",\n  \"caption_done\": %s, \"caption_failed\": %s, \"caption_error\": ", c->done ? "true" : "false",
            c->failed ? "true" : "false");
    json_str(f, c->error);
    fprintf(f, ",\n  \"caption_lines\": [");
    for (int i = 0; i < rc->n_lines; i++) {
        char line[1024];
        int n = rc->line_len[i] < (int)sizeof line - 1 ? rc->line_len[i] : (int)sizeof line - 1;
        memcpy(line, c->text + rc->line_start[i], (size_t)n);
        line[n] = 0;
        fprintf(f, "%s\n    {\"text\": ", i ? "," : "");
        json_str(f, line);
        fprintf(f, ", \"x\": %d, \"y\": %d, \"h\": %d}", rc->cap_x, rc->cap_y + i * rc->cap_line_h, rc->cap_line_h);
    }
    fprintf(f, "],\n  \"view\": {\"tokens\": \"%s\", \"average\": %s, \"average_frames\": %d, \"scrub_record\": %d, "
               "\"scrub_segment\": %d, \"hover_layer\": %d, \"hover_expert\": %d, \"help\": %s, \"paused\": %s},\n",
            app->filter == VIEW_TOKENS_IMAGE ? "image" : app->filter == VIEW_TOKENS_TEXT ? "text" : "both",
            app->show_avg ? "true" : "false", app->avg_n[app->filter], app->hover_record, app->hover_seg,
            app->hover_layer, app->hover_expert, app->show_help ? "true" : "false", app->paused ? "true" : "false");
    fprintf(f, "  \"info\": [");
    json_str(f, app->info_line[0]);
    fprintf(f, ", ");
    json_str(f, app->info_line[1]);
    fprintf(f, "],\n");
    fprintf(f, "  \"heatmap\": {\"n_layers\": %d, \"n_experts\": %d, \"n_tokens_selected\": %d, \"grid\": ",
            app->grid_layers, app->grid_experts, app->n_sel);
    json_rect(f, rc->grid);
    fprintf(f, ", \"cell_w\": %d, \"cell_h\": %d, \"cell_gap\": %d, \"label_step_expert\": %d, \"label_step_layer\": %d, "
               "\"label_w\": %d, \"label_h\": %d, \"legend\": ",
            rc->cell_w, rc->cell_h, rc->cell_gap, rc->label_step_e, rc->label_step_l, rc->label_w, rc->label_h);
    json_rect(f, rc->legend);
    fprintf(f, "},\n  \"rects\": {\"frame\": ");
    json_rect(f, rc->frame);
    fprintf(f, ", \"caption\": ");
    json_rect(f, rc->caption);
    fprintf(f, ", \"heat\": ");
    json_rect(f, rc->heat);
    fprintf(f, ", \"status\": ");
    json_rect(f, rc->status);
    fprintf(f, "},\n  \"model\": {\"path\": ");
    json_str(f, app->wst.model_path);
    fprintf(f, ", \"mmproj\": ");
    json_str(f, app->wst.mmproj_path);
    fprintf(f, ", \"state\": \"%s\", \"name\": ",
            app->wst.state == VIEW_MODEL_READY ? "ready" : app->wst.state == VIEW_MODEL_LOADING ? "loading" : "failed");
    json_str(f, app->wst.info.name);
    fprintf(f, ", \"arch\": ");
    json_str(f, app->wst.info.arch);
    fprintf(f, ", \"device\": ");
    json_str(f, app->wst.info.device);
    fprintf(f, "},\n  \"timings\": {\"image_encode_ms\": %.3f, \"n_image_tokens\": %d, \"n_prompt_tokens\": %d, "
               "\"prefill_ms\": %.3f, \"n_generated\": %d, \"decode_ms\": %.3f, \"first_token_ms\": %.3f, "
               "\"caption_ms\": %.3f},\n",
            c->timings.image_encode_ms, c->timings.n_image_tokens, c->timings.n_prompt_tokens, c->timings.prefill_ms,
            c->timings.n_generated, c->timings.decode_ms,
            c->t_first_token > 0 ? 1000.0 * (c->t_first_token - c->t_submit) : -1.0,
            c->t_done > 0 ? 1000.0 * (c->t_done - c->t_submit) : -1.0);
    // the conversation: turn 0 is the caption (its prompt, then the caption), then each question and answer
    fprintf(f, "  \"chat\": [\n    {\"role\": \"user\", \"text\": ");
    json_str(f, c->caption_prompt);
    fprintf(f, ", \"turn\": 0},\n    {\"role\": \"assistant\", \"text\": ");
    json_str(f, c->text ? c->text : "");
    fprintf(f, ", \"reasoning\": ");
    json_str(f, c->reasoning ? c->reasoning : "");
    fprintf(f, ", \"turn\": 0, \"done\": %s, \"failed\": %s}", c->done ? "true" : "false", c->failed ? "true" : "false");
    for (int i = 0; i < c->n_turns; i++) {
        const view_turn *t = &c->turns[i];
        fprintf(f, ",\n    {\"role\": \"user\", \"text\": ");
        json_str(f, t->user);
        fprintf(f, ", \"turn\": %d, \"image\": %d, \"image_grid\": [%d, %d]},\n    {\"role\": \"assistant\", \"text\": ",
                t->turn, t->image, t->img_nx, t->img_ny);
        json_str(f, t->answer ? t->answer : "");
        fprintf(f, ", \"reasoning\": ");
        json_str(f, t->reasoning ? t->reasoning : "");
        fprintf(f, ", \"turn\": %d, \"done\": %s, \"failed\": %s, \"error\": ", t->turn, t->done ? "true" : "false",
                t->failed ? "true" : "false");
        json_str(f, t->error);
        fprintf(f, ", \"timings\": {\"image_encode_ms\": %.3f, \"n_image_tokens\": %d, \"n_prompt_tokens\": %d, "
                   "\"prefill_ms\": %.3f, \"n_generated\": %d, \"decode_ms\": %.3f, \"n_ctx_used\": %d, \"n_ctx\": %d, "
                   "\"first_token_ms\": %.3f}}",
                t->timings.image_encode_ms, t->timings.n_image_tokens, t->timings.n_prompt_tokens, t->timings.prefill_ms,
                t->timings.n_generated, t->timings.decode_ms, t->timings.n_ctx_used, t->timings.n_ctx,
                t->t_first_token > 0 ? 1000.0 * (t->t_first_token - t->t_start) : -1.0);
    }
    fprintf(f, "\n  ],\n  \"question\": {\"text\": ");
    json_str(f, app->question);
    fprintf(f, ", \"focus\": %s, \"box\": ", app->q_focus ? "true" : "false");
    json_rect(f, rc->qbox);
    fprintf(f, ", \"chat_rect\": ");
    json_rect(f, rc->chat);
    fprintf(f, "},\n");
    // the overlay: the top-1 expert of every image token at the layer, row-major over the grid
    fprintf(f, "  \"overlay\": {\"on\": %s, \"layer\": %d, \"grid\": [%d, %d], \"image_rect\": ",
            app->overlay_on ? "true" : "false", app->overlay_layer, app->overlay_gx, app->overlay_gy);
    json_rect(f, rc->image);
    fprintf(f, ", \"layer_kind\": ");
    json_str(f, view_layer_kind(app, app->overlay_layer));
    fprintf(f, ", \"hover_region\": %d, \"tooltip\": [", app->hover_region);
    for (int i = 0; i < app->n_tooltip; i++) {
        if (i) fputs(", ", f);
        json_str(f, app->tooltip[i]);
    }
    fprintf(f, "], \"experts\": [");
    for (int i = 0; i < app->overlay_n; i++) fprintf(f, "%s%d", i ? ", " : "", app->overlay_experts[i]);
    fprintf(f, "]},\n  \"trace\": {\"rect\": ");
    json_rect(f, rc->trace);
    fprintf(f, ", \"turn\": %d, \"first_record\": %d, \"n_tokens\": %d, \"cell_w\": %d, \"row_h\": %d},\n", rc->trace_turn,
            rc->trace_first, rc->trace_n, rc->trace_cell_w, rc->trace_row_h);
    fprintf(f, "  \"ui_fps\": %.2f,\n  \"banner_bottom\": %d,\n  \"banners\": [", app->fps, app->n_banners ? app->banner_bottom : 0);
    for (int i = 0; i < app->n_banners; i++) {
        if (i) fputs(", ", f);
        json_str(f, app->banners[i].msg);
    }
    fprintf(f, "]\n}\n");
    return fclose(f) == 0;
}

int view_save_screenshot(view_app *app, const char *png_path) {
    uint8_t *rgb = view_surface_rgb(app);
    if (!rgb) {
        view_banner_add(app, "screenshot failed: %s", SDL_GetError());
        return 0;
    }
    int ok = view_png_write(png_path, rgb, app->W, app->H, app->W * 3);
    free(rgb);
    if (!ok) {
        view_banner_add(app, "cannot write %s", png_path);
        return 0;
    }
    char path[1100];
    sibling(path, sizeof path, png_path, ".routing.json");
    if (!view_write_routing_json(app, path)) {
        view_banner_add(app, "cannot write %s", path);
        return 0;
    }
    sibling(path, sizeof path, png_path, ".view.json");
    if (!write_view_json(app, png_path, path)) {
        view_banner_add(app, "cannot write %s", path);
        return 0;
    }
    return 1;
}
