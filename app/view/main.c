/* main.c — moevk-view: caption images or a webcam on a worker thread and draw
 * the streaming caption and the live expert heatmap. The UI thread never calls
 * the engine; it copies what the worker publishes (worker.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "lavapipe_threads.h"

#define BANNER_SECONDS 12.0

void view_banner_add(view_app *app, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "moevk-view: %s\n", msg);
    for (int i = 0; i < app->n_banners; i++)
        if (!strcmp(app->banners[i].msg, msg)) {
            app->banners[i].t = view_now();
            return;
        }
    if (app->n_banners == VIEW_MAX_BANNERS) {
        memmove(app->banners, app->banners + 1, sizeof app->banners[0] * (VIEW_MAX_BANNERS - 1));
        app->n_banners--;
    }
    snprintf(app->banners[app->n_banners].msg, sizeof app->banners[0].msg, "%s", msg);
    app->banners[app->n_banners].t = view_now();
    app->n_banners++;
    app->n_banners_total++;
}

static void expire_banners(view_app *app) {
    double t = view_now();
    int j = 0;
    for (int i = 0; i < app->n_banners; i++)
        if (t - app->banners[i].t < BANNER_SECONDS) app->banners[j++] = app->banners[i];
    app->n_banners = j;
}

void view_set_frame(view_app *app, view_image *img, const char *name, int preempt) {
    view_image_free(&app->frame);
    app->frame = *img;
    memset(img, 0, sizeof *img);
    snprintf(app->frame_name, sizeof app->frame_name, "%s", name);
    app->frame_seq++;
    app->frame_preempt = preempt;
    app->t_frame = view_now();
}

int view_load_file(view_app *app, const char *path) {
    view_image img;
    char err[600];
    int dw = 0, dh = 0;
    if (!view_image_load(path, &img, err, sizeof err, &dw, &dh)) {
        view_banner_add(app, "%s", err);
        return 0;
    }
    if (dw) view_banner_add(app, "image %s is %dx%d: downscaled to %dx%d", path, dw, dh, img.w, img.h);
    const char *base = strrchr(path, '/');
    view_set_frame(app, &img, base ? base + 1 : path, 1);
    return 1;
}

int view_step_file(view_app *app, int delta) {
    view_files *f = &app->files;
    if (f->n == 0) return 0;
    int i = f->cur < 0 ? 0 : ((f->cur + delta) % f->n + f->n) % f->n;
    f->cur = i;
    if (app->use_camera) app->use_camera = 0;
    return view_load_file(app, f->paths[i]);
}

void view_toggle_camera(view_app *app, const char *dev) {
    if (dev) {
        view_camera_free(app->cam);
        app->cam = view_camera_new(dev, app->args.cam_w, app->args.cam_h);
        app->use_camera = app->cam != NULL;
        return;
    }
    if (app->use_camera) {
        app->use_camera = 0;
        return;
    }
    if (!app->cam) {
        view_camera_entry cams[4];
        if (view_camera_list(cams, 4) == 0) {
            view_banner_add(app, "no camera found (no /dev/video* capture device)");
            return;
        }
        app->cam = view_camera_new(cams[0].path, app->args.cam_w, app->args.cam_h);
    }
    app->use_camera = app->cam != NULL;
}

static void screenshot_key(view_app *app) {
    char path[1024];
    mkdir(app->args.out_dir, 0777);
    snprintf(path, sizeof path, "%s/moevk-view-%03d.png", app->args.out_dir, ++app->n_shots);
    if (view_save_screenshot(app, path)) view_banner_add(app, "saved %s (+ .routing.json)", path);
}

static void add_image(view_app *app);
static void start_over(view_app *app, const char *path);

void view_handle_key(view_app *app, SDL_Keycode key) {
    if (app->q_focus && view_question_key(app, key)) return;
    if (app->add_path[0]) {  // an image dropped during a conversation waits: A adds it, N starts over, Esc neither
        if (key == SDLK_a) {
            add_image(app);
            return;
        }
        if (key == SDLK_n) {
            char path[sizeof app->add_path];
            snprintf(path, sizeof path, "%s", app->add_path);
            app->add_path[0] = 0;
            start_over(app, path);
            return;
        }
        if (key == SDLK_ESCAPE) {
            app->add_path[0] = 0;
            view_banner_add(app, "the dropped image was left out");
            return;
        }
    }
    switch (key) {
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
    case SDLK_TAB: app->q_focus = 1; break;
    case SDLK_o: app->overlay_on = !app->overlay_on; break;
    case SDLK_LEFTBRACKET:
        if (app->overlay_layer > 0) app->overlay_layer--;
        break;
    case SDLK_RIGHTBRACKET:
        if (app->overlay_layer + 1 < app->grid_layers) app->overlay_layer++;
        break;
    case SDLK_F1:
    case SDLK_QUESTION: app->show_help = !app->show_help; break;
    case SDLK_ESCAPE:
        if (app->show_help)
            app->show_help = 0;
        else
            app->quit = 1;
        break;
    case SDLK_q: app->quit = 1; break;
    case SDLK_SPACE: app->paused = !app->paused; break;
    case SDLK_s: screenshot_key(app); break;
    case SDLK_LEFT:
    case SDLK_PAGEUP: view_step_file(app, -1); break;
    case SDLK_RIGHT:
    case SDLK_PAGEDOWN: view_step_file(app, +1); break;
    case SDLK_i: app->filter = VIEW_TOKENS_IMAGE; break;
    case SDLK_t: app->filter = VIEW_TOKENS_TEXT; break;
    case SDLK_b: app->filter = VIEW_TOKENS_BOTH; break;
    case SDLK_a: app->show_avg = !app->show_avg; break;
    case SDLK_e: app->show_resident = !app->show_resident; break;
    case SDLK_c: view_toggle_camera(app, NULL); break;
    case SDLK_r: app->submitted_seq = 0; break;
    default: break;
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

// A dropped .gguf: a text model (its mmproj is looked for next to it) or an mmproj.
static void drop_gguf(view_app *app, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strstr(base, "mmproj")) {
        view_worker_reload(app->worker, app->wst.model_path, path);
        return;
    }
    char guess[2048];
    snprintf(guess, sizeof guess, "%.*s-mmproj.gguf", (int)(strlen(path) - 5), path);
    FILE *f = fopen(guess, "rb");
    if (f) fclose(f);
    view_worker_reload(app->worker, path, f ? guess : NULL);
    if (!f) view_banner_add(app, "no %s next to the model: loading it without vision", guess);
}

/* A conversation is on: the frame on screen has a finished caption from a model that reads images. */
static int conversation_on(const view_app *app) {
    return app->frame.rgb && !app->use_camera && app->cap.frame_seq == app->frame_seq && app->cap.done &&
           !app->cap.failed && !app->cap.cancelled && app->wst.state == VIEW_MODEL_READY && app->wst.info.has_vision;
}

/* Adds the image waiting in add_path to the conversation: it goes on screen and
 * its caption is the conversation's next turn (the earlier images stay in it). */
static void add_image(view_app *app) {
    char path[sizeof app->add_path];
    snprintf(path, sizeof path, "%s", app->add_path);
    app->add_path[0] = 0;
    if (!conversation_on(app)) {
        view_banner_add(app, "the conversation ended before %s could join it: drop it again", path);
        return;
    }
    if (app->wst.asking) {
        view_banner_add(app, "still answering the last question: drop %s again when it is done", path);
        return;
    }
    view_image img;
    char err[600];
    int dw = 0, dh = 0;
    if (!view_image_load(path, &img, err, sizeof err, &dw, &dh)) {
        view_banner_add(app, "%s", err);
        return;
    }
    uint64_t next = app->frame_seq + 1;  // view_set_frame's sequence for the image
    if (!view_worker_add_image(app->worker, &img, NULL, app->frame_seq, next)) {
        view_image_free(&img);
        view_banner_add(app, "cannot add %s to the conversation now: drop it again", path);
        return;
    }
    const char *base = strrchr(path, '/');
    char name[256];  // the file name as the frame's name (a long one is cut)
    snprintf(name, sizeof name, "%.255s", base ? base + 1 : path);
    view_set_frame(app, &img, name, 0);
    app->submitted_seq = app->frame_seq;  // the worker has it, as part of the conversation
    app->wst.asking = 1;                  // until the next status poll says otherwise
    app->chat_scroll = 0;
}

static void handle_drop(view_app *app, const char *path) {
    if (ends_with(path, ".gguf")) {
        drop_gguf(app, path);
        return;
    }
    struct stat st;
    if (conversation_on(app) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {  // one image: ask what to do with it
        snprintf(app->add_path, sizeof app->add_path, "%s", path);
        const char *base = strrchr(path, '/');
        view_banner_add(app, "%s: A adds it to this conversation, N starts over with it", base ? base + 1 : path);
        return;
    }
    start_over(app, path);
}

static void start_over(view_app *app, const char *path) {
    int first = view_files_add(&app->files, path);
    if (first < 0) {
        view_banner_add(app, "nothing to show in %s", path);
        return;
    }
    app->files.cur = first;
    app->use_camera = 0;
    view_load_file(app, app->files.paths[first]);
}

static void handle_click(view_app *app, int x, int y) {
    SDL_Rect q = app->rc.qbox;
    app->q_focus = x >= q.x && y >= q.y && x < q.x + q.w && y < q.y + q.h;  // a click elsewhere gives the keys back
    if (app->q_focus) return;
    for (int i = 0; i < 5; i++) {
        SDL_Rect b = app->rc.btn[i];
        if (x >= b.x && y >= b.y && x < b.x + b.w && y < b.y + b.h) {
            if (i == 0) app->filter = VIEW_TOKENS_IMAGE;
            if (i == 1) app->filter = VIEW_TOKENS_TEXT;
            if (i == 2) app->filter = VIEW_TOKENS_BOTH;
            if (i == 3) app->show_avg = 0;
            if (i == 4) app->show_avg = 1;
            return;
        }
    }
    if (app->n_banners && y < app->banner_bottom) app->n_banners = 0;  // click a banner: dismiss
}

/* ---------------------------------------------------------------- rendering target */

static int make_target(view_app *app) {
    if (app->text) view_text_free(app->text);
    app->text = NULL;
    if (app->frame_tex) SDL_DestroyTexture(app->frame_tex);
    app->frame_tex = NULL;
    if (app->ovl_tex) SDL_DestroyTexture(app->ovl_tex);
    app->ovl_tex = NULL;
    app->ovl_key = 0;
    if (app->ren) SDL_DestroyRenderer(app->ren);
    app->ren = NULL;
    if (app->win) {
        app->surf = SDL_GetWindowSurface(app->win);
        if (!app->surf) {
            fprintf(stderr, "moevk-view: window surface: %s\n", SDL_GetError());
            return 0;
        }
    } else {
        if (app->surf) SDL_FreeSurface(app->surf);
        app->surf = SDL_CreateRGBSurfaceWithFormat(0, app->W, app->H, 32, SDL_PIXELFORMAT_XRGB8888);
        if (!app->surf) {
            fprintf(stderr, "moevk-view: offscreen surface: %s\n", SDL_GetError());
            return 0;
        }
    }
    app->W = app->surf->w;
    app->H = app->surf->h;
    app->ren = SDL_CreateSoftwareRenderer(app->surf);
    if (!app->ren) {
        fprintf(stderr, "moevk-view: software renderer: %s\n", SDL_GetError());
        return 0;
    }
    app->text = view_text_new(app->ren, app->args.font);
    return app->text != NULL;
}

/* ---------------------------------------------------------------- one UI frame */

/* Hands the newest frame to the worker if it has not seen it. The worker always gets the newest
 * frame; it drops frames it never started. */
static void submit_new_frame(view_app *app) {
    if (!app->paused && app->frame.rgb && app->submitted_seq != app->frame_seq && app->wst.state == VIEW_MODEL_READY &&
        app->wst.info.has_vision) {
        if (view_worker_submit(app->worker, &app->frame, app->frame_seq, app->t_frame, app->frame_preempt))
            app->submitted_seq = app->frame_seq;
    }
}

static void poll_sources_and_worker(view_app *app) {
    if (app->use_camera && app->cam && !app->paused) {
        view_image img;
        char err[512];
        int r = view_camera_poll(app->cam, &img, err, sizeof err);
        if (r > 0) {
            char name[128];
            snprintf(name, sizeof name, "camera %s", view_camera_format(app->cam));
            view_set_frame(app, &img, name, 0);
        } else if (r < 0) {
            view_banner_add(app, "%s", err);
        }
    }
    char msg[512];
    while (view_worker_pop_message(app->worker, msg, sizeof msg)) view_banner_add(app, "%s", msg);
    view_worker_get_status(app->worker, &app->wst);
    view_worker_snapshot(app->worker, &app->cap, &app->cap_version);
    submit_new_frame(app);
}

void view_render_frame(view_app *app) {
    poll_sources_and_worker(app);
    expire_banners(app);
    struct timespec c0, c1;  // the UI thread's own CPU time: a drawing cost that does not depend on the machine's load
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    view_draw(app);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    app->last_draw_cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
    if (app->win) SDL_UpdateWindowSurface(app->win);
    double t = view_now();
    double dt = app->t_last_frame > 0 ? t - app->t_last_frame : 0;
    app->t_last_frame = t;
    app->last_dt = dt;
    // fps: frames shown during the last second (a rate, not an average of 1/dt)
    app->frame_times[app->n_frames % VIEW_FPS_RING] = t;
    app->n_frames++;
    int n = 1;
    double oldest = t;
    for (uint64_t i = 1; i < app->n_frames && i < VIEW_FPS_RING; i++) {
        double ti = app->frame_times[(app->n_frames - 1 - i) % VIEW_FPS_RING];
        if (t - ti > 1.0) break;
        oldest = ti;
        n++;
    }
    if (n > 1 && t > oldest) app->fps = (n - 1) / (t - oldest);
}

static void handle_events(view_app *app) {
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        switch (ev.type) {
        case SDL_QUIT: app->quit = 1; break;
        case SDL_KEYDOWN: view_handle_key(app, ev.key.keysym.sym); break;
        case SDL_TEXTINPUT:
            if (app->q_focus)
                view_question_text(app, ev.text.text);
            else if (!strcmp(ev.text.text, "?"))
                view_handle_key(app, SDLK_QUESTION);
            break;
        case SDL_MOUSEWHEEL: {
            SDL_Rect c = app->rc.chat;
            if (app->mouse_x >= c.x && app->mouse_y >= c.y && app->mouse_x < c.x + c.w && app->mouse_y < c.y + c.h)
                app->chat_scroll += ev.wheel.y * 3;  // up: older lines
            break;
        }
        case SDL_MOUSEMOTION:
            app->mouse_x = ev.motion.x;
            app->mouse_y = ev.motion.y;
            break;
        case SDL_MOUSEBUTTONDOWN:
            if (ev.button.button == SDL_BUTTON_LEFT) handle_click(app, ev.button.x, ev.button.y);
            break;
        case SDL_DROPFILE:
            if (ev.drop.file) {
                handle_drop(app, ev.drop.file);
                SDL_free(ev.drop.file);
            }
            break;
        case SDL_WINDOWEVENT:
            if (ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED || ev.window.event == SDL_WINDOWEVENT_RESIZED) {
                if (!make_target(app)) app->quit = 1;
            }
            break;
        default: break;
        }
    }
}

/* Headless without a script: one PNG per finished caption, stepping through the inputs. */
static void headless_step(view_app *app) {
    int done_frame = app->frame.rgb && app->cap.frame_seq == app->frame_seq && app->cap.done;
    int model_dead = app->wst.state == VIEW_MODEL_FAILED || (app->wst.state == VIEW_MODEL_READY && !app->wst.info.has_vision);
    int no_frame_coming = !app->frame.rgb && !app->use_camera;
    if (app->wst.state == VIEW_MODEL_LOADING && !no_frame_coming) return;
    if (!done_frame && !model_dead && !no_frame_coming) return;
    if (app->headless_wait_frames > 0) {  // let a few frames render so banners and text settle
        app->headless_wait_frames--;
        return;
    }
    char path[1024];
    mkdir(app->args.out_dir, 0777);
    snprintf(path, sizeof path, "%s/frame_%04d.png", app->args.out_dir, app->n_written);
    if (view_save_screenshot(app, path)) printf("%s\n", path);
    app->n_written++;
    app->headless_wait_frames = 2;
    int target = app->args.frames > 0 ? app->args.frames : (app->files.n > 0 ? app->files.n : 1);
    if (model_dead) app->exit_code = 1;
    if (app->n_written >= target || model_dead || no_frame_coming) {
        app->quit = 1;
        return;
    }
    if (!app->use_camera) {
        if (app->files.cur + 1 >= app->files.n && app->args.frames == 0) {
            app->quit = 1;
            return;
        }
        // step on; an unreadable file keeps the old frame, so move past it explicitly
        uint64_t before = app->frame_seq;
        view_step_file(app, +1);
        if (app->frame_seq == before) app->frame_seq_failed = 1;
    }
}

int view_selftest(int argc, char **argv);  // selftest.c

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "--selftest")) return view_selftest(argc - 1, argv + 1);
    static view_app app_storage;
    view_app *app = &app_storage;
    int pr = view_args_parse(argc, argv, &app->args);
    if (pr) return pr == 1 ? 0 : 2;
    app->files.cur = -1;
    app->mouse_x = app->mouse_y = -1;
    app->hover_seg = app->hover_record = app->hover_layer = app->hover_expert = app->hover_region = -1;
    app->W = app->args.width;
    app->H = app->args.height;

    // model: the embedded pair unless -m/--mmproj
    char emb_model[4096], emb_mmproj[4096];
    view_worker_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    if (app->args.model_path) {
        cfg.model_path = app->args.model_path;
        cfg.mmproj_path = app->args.mmproj_path;
    } else {
        if (!view_find_embedded_model(emb_model, sizeof emb_model, emb_mmproj, sizeof emb_mmproj))
            view_banner_add(app, "embedded model not found (looked for %s); set MOEVK_ASSETS or use -m/--mmproj",
                            emb_model);
        cfg.model_path = emb_model;
        cfg.mmproj_path = emb_mmproj;
    }
    // lavapipe without its worker threads for small models (lavapipe_threads.h): before SDL and the worker
    // start threads, and before the worker creates the Vulkan instance
    if (mvk_app_lavapipe_threads(cfg.model_path, cfg.mmproj_path) && getenv("MOEVK_VERBOSE"))
        fprintf(stderr, "moevk-view: a small model: LP_NUM_THREADS=0 (lavapipe runs dispatches on the submitting thread)\n");

    if (app->args.headless) {
        if (SDL_Init(SDL_INIT_EVENTS) != 0) {  // events: scripts inject mouse and drop events
            fprintf(stderr, "moevk-view: SDL_Init: %s\n", SDL_GetError());
            return 1;
        }
    } else {
        // We draw with the software renderer into the window surface; without
        // this hint SDL would copy that surface through an OpenGL texture, which
        // on a CPU-only (llvmpipe) machine costs more than the drawing itself.
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
        if (SDL_Init(SDL_INIT_VIDEO) != 0) {
            fprintf(stderr, "moevk-view: cannot open a window (%s); use --headless, or run moevk caption\n",
                    SDL_GetError());
            return 1;
        }
        app->win = SDL_CreateWindow("moevk-view", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, app->W, app->H,
                                    SDL_WINDOW_RESIZABLE);
        if (!app->win) {
            fprintf(stderr, "moevk-view: cannot create a window: %s\n", SDL_GetError());
            SDL_Quit();
            return 1;
        }
        SDL_SetWindowMinimumSize(app->win, 640, 400);
        SDL_EventState(SDL_DROPFILE, SDL_ENABLE);
        SDL_StartTextInput();
    }
    if (!make_target(app)) return 1;

    cfg.device = app->args.device;
    cfg.device_mem_mib = app->args.device_mem_mib;
    cfg.prompt = app->args.prompt;
    cfg.n_predict = app->args.n_predict;
    cfg.image_max_tokens = app->args.image_max_tokens;
    cfg.n_ctx = app->args.n_ctx;
    cfg.think = app->args.think;
    cfg.reasoning_budget = app->args.reasoning_budget;
    app->worker = view_worker_start(&cfg);
    if (!app->worker) {
        fprintf(stderr, "moevk-view: cannot start the worker thread\n");
        return 1;
    }

    for (int i = 0; i < app->args.n_inputs; i++)
        if (view_files_add(&app->files, app->args.inputs[i]) < 0)
            view_banner_add(app, "no images in %s", app->args.inputs[i]);
    if (app->args.camera) view_toggle_camera(app, app->args.camera);
    if (app->files.n > 0 && !app->use_camera) view_step_file(app, 0);

    view_script *script = NULL;
    if (app->args.script) {
        char err[512];
        script = view_script_load(app->args.script, err, sizeof err);
        if (!script) {
            fprintf(stderr, "moevk-view: %s\n", err);
            app->quit = 1;
            app->exit_code = 2;
        }
    }
    view_bench *bench = app->args.bench ? view_bench_new(app->args.bench) : NULL;
    view_soak *soak = app->args.soak > 0 ? view_soak_new(app->args.soak) : NULL;
    app->headless_wait_frames = 2;

    double frame_budget = 1.0 / app->args.fps;
    while (!app->quit) {
        double t0 = view_now();
        handle_events(app);
        view_render_frame(app);
        if (script) {
            int r = view_script_step(script, app);
            if (r != 0) {
                if (r < 0) app->exit_code = 1;
                app->quit = 1;
            }
        } else if (bench) {
            if (view_bench_step(bench, app, app->last_dt)) app->quit = 1;
        } else if (soak) {
            if (view_soak_step(soak, app)) app->quit = 1;
        } else if (app->args.headless) {
            headless_step(app);
        }
        /* a frame the script / bench / soak step just set goes to the worker now, as one from an event or the
           camera does (both arrive before view_render_frame's submit), not after this frame's sleep */
        submit_new_frame(app);
        double spent = view_now() - t0;
        if (spent < frame_budget) SDL_Delay((Uint32)((frame_budget - spent) * 1000.0));
    }
    if (bench) {
        view_bench_report(bench, app);
        view_bench_free(bench);
    }
    if (soak) {
        view_soak_report(soak, app);
        view_soak_free(soak);
    }
    view_script_free(script);
    if (app->worker) { /* as the CLI: with validation on (MOEVK_VALIDATION=1, the tests), any message fails the run */
        view_worker_status end;
        view_worker_get_status(app->worker, &end);
        if (end.info.validation_messages) {
            fprintf(stderr, "moevk-view: %u Vulkan validation message(s): failing\n", end.info.validation_messages);
            if (!app->exit_code) app->exit_code = 1;
        }
    }
    view_worker_stop(app->worker);
    view_caption_free(&app->cap);
    view_camera_free(app->cam);
    view_files_free(&app->files);
    view_image_free(&app->frame);
    free(app->counts);
    free(app->shares);
    free(app->overlay_experts);
    for (int f = 0; f < 3; f++) free(app->avg_sum[f]);
    if (app->frame_tex) SDL_DestroyTexture(app->frame_tex);
    if (app->ovl_tex) SDL_DestroyTexture(app->ovl_tex);
    view_image_free(&app->frame_scaled);
    view_text_free(app->text);
    if (app->ren) SDL_DestroyRenderer(app->ren);
    if (!app->win && app->surf) SDL_FreeSurface(app->surf);
    if (app->win) SDL_DestroyWindow(app->win);
    free(app->args.inputs);
    SDL_Quit();
    return app->exit_code;
}
