/* app.h — the state of moevk-view shared by its parts: options (args.c), the
 * main loop (main.c), drawing (draw.c), scripted sessions (script.c),
 * screenshots (snapshot.c) and the benchmark (bench.c). */
#ifndef MOEVK_VIEW_APP_H
#define MOEVK_VIEW_APP_H

#include <SDL.h>
#include <stdint.h>

#include "camera.h"
#include "files.h"
#include "routing_view.h"
#include "text.h"
#include "view_image.h"
#include "worker.h"

#define VIEW_MAX_BANNERS 4
#define VIEW_MAX_CAPTION_LINES 64
#define VIEW_FPS_RING 256

typedef struct view_args {
    const char *model_path;     // NULL: embedded model
    const char *mmproj_path;
    const char *camera;         // V4L2 device or NULL
    int cam_w, cam_h;
    const char *prompt;
    int n_predict;
    int image_max_tokens;
    int n_ctx;                  // 0: library default
    int think;                  // --think: thinking on (families with a reasoning block)
    int reasoning_budget;       // --reasoning-budget N (-1: unlimited)
    const char *device;
    int device_mem_mib;         // 0: library default
    int headless;
    const char *out_dir;        // default "."
    int frames;                 // headless: PNGs to write (0: one per input)
    const char *script;
    int bench;                  // captions to time (0: off)
    double soak;                // headless: run this many seconds, printing soak.c's figures (0: off)
    const char *bench_out;      // JSON file for the bench figures, or NULL
    int width, height;
    int fps;                    // UI frame cap
    const char *font;
    const char **inputs;        // [n_inputs] images or folders
    int n_inputs;
} view_args;

/* Parses argv. Returns 0 to run, 1 if it printed help/version (exit 0), 2 on a
 * usage error (already printed). */
int view_args_parse(int argc, char **argv, view_args *a);
/* Finds the embedded model pair: $MOEVK_ASSETS, next to the executable, the
 * source tree (MOEVK_SOURCE_DIR), ./assets. Writes the paths (the first
 * candidate if none exists) and returns 1 if both files were found. */
int view_find_embedded_model(char *model, size_t model_cap, char *mmproj, size_t mmproj_cap);
/* The assets/ directory found the same way, or "" */
void view_find_assets_dir(char *out, size_t cap);

typedef struct view_banner {
    char msg[512];
    double t;  // when it appeared (monotonic seconds)
} view_banner;

#define VIEW_QUESTION_MAX 4096
#define VIEW_MAX_CHAT_LINES 512

typedef struct view_rects {
    SDL_Rect frame, caption, heat, status, grid, legend;
    SDL_Rect chat, qbox, trace;   // conversation, question box, token trace
    SDL_Rect image;               // where the frame's pixels are drawn (overlay regions)
    int trace_cell_w, trace_row_h, trace_first, trace_n;  // trace cells; first shown record index, count
    int trace_turn;               // the turn the trace shows (the newest with records)
    int label_step_e, label_step_l, label_w, label_h;  // heatmap labels: every Nth expert / layer, label size
    SDL_Rect btn[5];            // image, text, both, this frame, average
    int cell_w, cell_h, cell_gap;
    int cap_x, cap_y, cap_line_h, cap_w;  // caption text origin and line height
    int n_lines;
    int line_start[VIEW_MAX_CAPTION_LINES], line_len[VIEW_MAX_CAPTION_LINES];
} view_rects;

typedef struct view_app {
    view_args args;
    // rendering target: the window surface, or an offscreen surface when headless
    SDL_Window *win;
    SDL_Surface *surf;
    SDL_Renderer *ren;
    view_text *text;
    int W, H;
    // the current frame
    view_image frame;
    char frame_name[512];
    uint64_t frame_seq;         // bumps on every new frame
    int frame_preempt;          // 1: a newer frame cancels the running caption (files)
    int frame_seq_failed;       // headless: the last step could not load its file
    double t_frame;             // when the frame arrived (monotonic seconds)
    SDL_Texture *frame_tex;     // frame scaled to the frame rect
    uint64_t frame_tex_seq;
    SDL_Rect frame_tex_rect;
    view_image frame_scaled;    // the pixels of frame_tex (RGB8), kept for the overlay
    SDL_Texture *ovl_tex;       // frame_scaled with the overlay's tint baked in (blending per UI frame is slow)
    uint64_t ovl_key;           // what ovl_tex shows (hash of frame, size, grid, experts)
    // sources
    view_files files;
    view_camera *cam;
    int use_camera;
    // inference
    view_worker *worker;
    view_caption cap;
    uint64_t cap_version;
    view_worker_status wst;
    uint64_t submitted_seq;     // last frame handed to the worker
    // heatmap view state
    view_token_filter filter;
    int show_avg;
    int show_resident;          // E: mark the experts the cache holds on the device
    int show_help;
    int paused;
    int mouse_x, mouse_y;
    int hover_record;           // routing record under the mouse in the caption (-1)
    int hover_seg;              // caption segment under the mouse (-1)
    int hover_layer, hover_expert;  // heatmap cell under the mouse (-1)
    char info_line[2][512];     // the two info lines under the legend, as drawn
    int *counts;                // [n_layers][n_expert] for the frame view
    float *shares;              // [n_layers][n_expert] what the grid shows
    int n_sel;                  // tokens behind shares (frame view)
    float vmax;                 // colour scale top: largest share shown (heatmap.h convention)
    double *avg_sum[3];         // [filter][n_layers][n_expert] sum of finished frames' shares
    int avg_n[3];
    uint64_t avg_last_seq;
    int grid_layers, grid_experts;
    // conversation: the question box and the history under the caption
    char question[VIEW_QUESTION_MAX];
    int q_len;
    int q_focus;                // typing goes to the question box
    int chat_scroll;            // history lines scrolled back from the newest (0: follow)
    char add_path[1024];        // an image dropped during a conversation, waiting for A (add) / N (start over); "" none
    // per-patch overlay on the frame
    int overlay_on;
    int overlay_layer;
    int hover_region;           // image token under the mouse (row-major), or -1
    int *overlay_experts;       // [overlay_n] top-1 expert of each image token at overlay_layer
    int overlay_n, overlay_cap, overlay_gx, overlay_gy;
    char tooltip[256][128];     // the hovered region's tooltip, one line per layer, as drawn (8 experts of 3 digits fit)
    int n_tooltip;
    // banners
    view_banner banners[VIEW_MAX_BANNERS];
    int n_banners;
    uint64_t n_banners_total;   // banners shown so far (a repeated message counts once while shown)
    int banner_bottom;          // y below the last banner drawn (clicks above it dismiss)
    // timing
    double fps;                 // smoothed UI frames per second
    double t_last_frame;
    double frame_times[VIEW_FPS_RING];  // when the last frames were shown (ring)
    double last_dt;             // duration of the last UI frame
    double last_draw_cpu;       // CPU seconds the UI thread spent drawing the last frame
    uint64_t n_frames;
    // outputs
    int n_shots;
    int n_written;              // headless PNGs written
    int headless_wait_frames;
    int quit;
    int exit_code;
    view_rects rc;
} view_app;

/* main.c */
void view_banner_add(view_app *app, const char *fmt, ...);
int view_load_file(view_app *app, const char *path);   // 1 if the frame changed
int view_step_file(view_app *app, int delta);
void view_set_frame(view_app *app, view_image *img, const char *name, int preempt);  // takes ownership
void view_handle_key(view_app *app, SDL_Keycode key);
void view_toggle_camera(view_app *app, const char *dev);
void view_render_frame(view_app *app);  // one UI frame: update + draw + present

/* chat.c (the question box) */
/* Sends a question about the current frame; 0 (with a banner) if it cannot go now. */
int view_ask(view_app *app, const char *text);
/* Keyboard while the question box has the focus: 1 if the key was used. */
int view_question_key(view_app *app, SDL_Keycode key);
void view_question_text(view_app *app, const char *utf8);
/* The categorical colour of expert e (overlay, trace, legend). */
SDL_Color view_expert_color(int e);

/* draw_chat.c */
void view_draw_chat(view_app *app);
void view_update_overlay(view_app *app);
int view_overlay_region_at(const view_app *app, int x, int y);  // image token under (x, y), or -1
void view_overlay_center(const view_app *app, int i, int *x, int *y);
void view_draw_overlay(view_app *app);
/* The frame with the overlay's tint (built when the overlay changes), or NULL when the overlay is off. */
SDL_Texture *view_overlay_texture(view_app *app);
void view_draw_region_tooltip(view_app *app);
void view_draw_trace(view_app *app);

/* draw.c */
void view_draw(view_app *app);
/* " (Gated DeltaNet)", " (attention)" or " (sliding attention)" for MoE layer l of a model that mixes them (where
 * the app explains a layer), followed by "; a dense GeGLU MLP runs beside the MoE" where one does (gemma4: the
 * heatmap shows only the experts); "" for a model whose layers are all alike, experts only. */
const char *view_layer_kind(const view_app *app, int l);
void view_update_heat(view_app *app);
/* Generated-token index for a caption segment, or -1; routing record of it. */
int view_seg_record(const view_app *app, int seg);

/* snapshot.c: writes PNG + .routing.json + .view.json; returns 1 on success. */
int view_save_screenshot(view_app *app, const char *png_path);
/* Copies the rendered surface into RGB8 (w*h*3 bytes, malloc'd). */
uint8_t *view_surface_rgb(view_app *app);

/* routing_out.c: the caption's routing telemetry as JSON (moevk caption --routing form). */
int view_write_routing_json(view_app *app, const char *path);

/* script.c */
typedef struct view_script view_script;
view_script *view_script_load(const char *path, char *err, size_t err_cap);
/* Runs commands until one must wait; returns 0 while running, 1 when done,
 * -1 on a failure (message printed). */
int view_script_step(view_script *s, view_app *app);
void view_script_free(view_script *s);

/* soak.c */
typedef struct view_soak view_soak;
view_soak *view_soak_new(double seconds);
/* Called every UI frame; returns 1 when the time is up. */
int view_soak_step(view_soak *s, view_app *app);
void view_soak_report(view_soak *s, view_app *app);
void view_soak_free(view_soak *s);

/* bench.c */
typedef struct view_bench view_bench;
view_bench *view_bench_new(int n);
/* Called every UI frame; returns 1 when the benchmark finished. */
int view_bench_step(view_bench *b, view_app *app, double frame_dt);
void view_bench_report(view_bench *b, view_app *app);
void view_bench_free(view_bench *b);

#endif
