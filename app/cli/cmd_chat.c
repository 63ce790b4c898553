/* cmd_chat.c — `moevk chat`: a conversation about images, llama-mtmd-cli
 * style. Questions are read line by line from stdin; each answer streams to
 * stdout and ends with a newline. Follow-ups reuse the KV cache (each image is
 * encoded once). /image PATH adds an image to the next question (as in
 * llama-mtmd-cli), /clear starts a new conversation on the --image, /new
 * [PATH] one about PATH (or no image), /quit (or end of input) ends.
 * --routing writes the whole (last) conversation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "moevk.h"
#include "routing_json.h"
#include "telemetry.h"
#include "lavapipe_threads.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: moevk chat -m TEXT.gguf [--mmproj MMPROJ.gguf --image IMG] [options] < questions.txt\n\n"
            "A conversation: reads one question per line from stdin and streams each answer to\n"
            "stdout (one line per answer). Follow-up questions reuse the KV cache: the image is\n"
            "encoded once and earlier turns are not prefilled again.\n"
            "Commands on a line of their own:\n"
            "  /image PATH   add an image to the conversation: the next question is about it too\n"
            "                (as in llama-mtmd-cli; several may precede one question)\n"
            "  /clear        a new conversation about the --image\n"
            "  /new [PATH]   a new conversation about PATH (or no image)\n"
            "  /quit         end (so does the end of input)\n\n"
            "model:\n"
            "  -m, --model FILE          text GGUF (qwen3vlmoe, qwen3vl, qwen3moe, qwen3, qwen35moe, qwen35, gemma4)\n"
            "  --mmproj FILE             vision projector GGUF (clip / qwen3vl_merger)\n"
            "  -c, --ctx-size N          KV cache length (default 4096, capped by the model)\n"
            "  -ub, --ubatch-size N      prefill micro-batch in tokens: the scratch memory's size (default 512)\n"
            "  --kv-type f16|f32         KV cache element type (default f16)\n"
            "  --device NAME|INDEX       Vulkan device (default: $MOEVK_DEVICE or the best)\n"
            "input:\n"
            "  --image FILE              the image the conversation starts with (optional)\n"
            "  --image-min-tokens N      image token budget, lower bound (default: the mmproj's, else 8)\n"
            "  --image-max-tokens N      image token budget, upper bound (default: the mmproj's, else 4096);\n"
            "                            the vision scratch is reserved for it (see `moevk plan`)\n"
            "sampling:\n"
            "  -n, --n-predict N         max new tokens per answer (default 64)\n"
            "  --temp T                  temperature; 0 = greedy (default 0)\n"
            "  --top-k K                 (default 40)\n"
            "  --top-p P                 (default 0.95)\n"
            "  -s, --seed S              sampling seed (default 0)\n"
            "thinking:\n" CLI_THINK_HELP
            "output:\n"
            "  --routing FILE.json       expert routing of the whole conversation, per token\n"
            "                            {pos, kind, token, turn, image, reasoning, layers:[{layer, experts, weights}]}\n"
            "  -q, --quiet               no timings on stderr\n\n"
            "Exit status: 0 when every question was answered, 1 if one failed (the others still run), 2 usage.\n");
}

/* strips trailing CR/LF and surrounding blanks in place */
static char *strip(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    while (*s == ' ' || *s == '\t') s++;
    return s;
}

static int write_routing(const moevk_model *m, const char *path, int quiet) {
    telemetry tm;
    moevk_status s = telemetry_collect(m, &tm);
    if (s != MOEVK_OK) {
        cli_error("chat", s);
        return 1;
    }
    int rc = 0;
    if (tm.n_layers == 0) {
        fprintf(stderr, "moevk chat: this model is dense: no routing to write\n");
    } else {
        routing_json_input ji = telemetry_json(&tm);
        if ((s = routing_json_write_file(path, &ji)) != MOEVK_OK) {
            cli_error("chat", s);
            rc = 1;
        } else if (!quiet) {
            fprintf(stderr, "routing: %zu tokens -> %s\n", tm.n_tokens, path);
        }
    }
    telemetry_free(&tm);
    return rc;
}

int cmd_chat(int argc, char **argv) {
    moevk_model_params mp = moevk_model_default_params();
    moevk_gen_params gp = moevk_gen_default_params();
    moevk_chat_params cp = moevk_chat_default_params();
    const char *routing = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
#define NEED() do { if (!v) { fprintf(stderr, "moevk chat: %s needs a value\n", a); return 2; } i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(); mp.model_path = v; }
        else if (!strcmp(a, "--mmproj")) { NEED(); mp.mmproj_path = v; }
        else if (!strcmp(a, "--image")) { NEED(); cp.image_path = v; }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { NEED(); if (cli_int(a, v, 0, 1 << 20, &x)) return 2; gp.n_predict = (int)x; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) { NEED(); if (cli_int(a, v, 0, 1 << 24, &x)) return 2; mp.n_ctx = (int)x; }
        else if (!strcmp(a, "-ub") || !strcmp(a, "--ubatch-size")) { NEED(); if (cli_int(a, v, 1, 1 << 24, &x)) return 2; mp.n_ubatch = (int)x; }
        else if (!strcmp(a, "--temp")) { NEED(); if (cli_float(a, v, &gp.temp)) return 2; }
        else if (!strcmp(a, "--top-k")) { NEED(); if (cli_int(a, v, 0, 1 << 30, &x)) return 2; gp.top_k = (int)x; }
        else if (!strcmp(a, "--top-p")) { NEED(); if (cli_float(a, v, &gp.top_p)) return 2; }
        else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) { NEED(); if (cli_int(a, v, 0, 0x7fffffffL, &x)) return 2; gp.seed = (uint64_t)x; }
        else if (!strcmp(a, "--image-min-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &x)) return 2; cp.image_min_tokens = (int)x; }
        else if (!strcmp(a, "--image-max-tokens")) { NEED(); if (cli_int(a, v, 1, 1 << 20, &x)) return 2; cp.image_max_tokens = mp.image_max_tokens = (int)x; }
        else if (!strcmp(a, "--device")) { NEED(); mp.device = v; }
        else if (!strcmp(a, "--kv-type")) {
            NEED();
            if (!strcmp(v, "f16")) mp.kv_type = MOEVK_KV_F16;
            else if (!strcmp(v, "f32")) mp.kv_type = MOEVK_KV_F32;
            else { fprintf(stderr, "moevk chat: --kv-type must be f16 or f32, got '%s'\n", v); return 2; }
        }
        else if (!strcmp(a, "--routing")) { NEED(); routing = v; }
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if ((x = cli_think_option("chat", argc, argv, &i, &cp.think, &gp.reasoning_budget)) != 0) { if (x < 0) return 2; }
        else { fprintf(stderr, "moevk chat: unknown option '%s'\n\n", a); usage(stderr); return 2; }
#undef NEED
    }
    if (!mp.model_path) { fprintf(stderr, "moevk chat: -m TEXT.gguf is required\n\n"); usage(stderr); return 2; }
    if (cp.image_path && !mp.mmproj_path) { fprintf(stderr, "moevk chat: --image needs --mmproj MMPROJ.gguf\n"); return 2; }
    if (cp.image_max_tokens > 0 && cp.image_min_tokens > cp.image_max_tokens) {
        fprintf(stderr, "moevk chat: --image-min-tokens %d exceeds --image-max-tokens %d\n", cp.image_min_tokens, cp.image_max_tokens);
        return 2;
    }
    /* the image leaves room for at least one question and answer, as in `moevk caption` */
    cp.text_reserve = 64 + gp.n_predict;
    mp.progress = cli_progress;
    moevk_model *m = NULL;
    mvk_app_lavapipe_threads(mp.model_path, mp.mmproj_path); /* small models: lavapipe without worker threads */
    moevk_status s = moevk_model_load(&mp, &m);
    if (s != MOEVK_OK) { cli_error("chat", s); return 1; }
    moevk_model_info info;
    moevk_model_get_info(m, &info);
    int rc = 0, tty = isatty(0);
    s = moevk_chat_start(m, &cp);
    if (s != MOEVK_OK) {
        cli_error("chat", s);
        moevk_model_free(m);
        return 1;
    }
    cli_reasoning rsn = {0};
    gp.on_token = cli_answer_piece;
    gp.on_reasoning = cli_reasoning_piece; /* the reasoning (--think) on stderr, the answers on stdout */
    gp.user = &rsn;
    char *line = NULL;
    size_t lcap = 0;
    for (;;) {
        if (tty) {
            fputs("> ", stderr);
            fflush(stderr);
        }
        if (getline(&line, &lcap, stdin) < 0) break;
        char *q = strip(line);
        if (!*q) continue;
        if (!strcmp(q, "/quit") || !strcmp(q, "/exit")) break;
        if (!strncmp(q, "/image", 6) && (q[6] == ' ' || q[6] == '\0')) {
            const char *path = strip(q + 6);
            if (!*path) { fprintf(stderr, "moevk chat: /image needs a file name\n"); rc = 1; continue; }
            if (!mp.mmproj_path) { fprintf(stderr, "moevk chat: /image needs --mmproj MMPROJ.gguf\n"); rc = 1; continue; }
            moevk_chat_image ci = {.image_path = path, .image_min_tokens = cp.image_min_tokens,
                                   .image_max_tokens = cp.image_max_tokens};
            s = moevk_chat_add_image(m, &ci);  // a bad image adds nothing: the conversation goes on
            if (s != MOEVK_OK) { cli_error("chat", s); rc = 1; continue; }
            if (!quiet) fprintf(stderr, "%s added: the next question is about it\n", path);
            continue;
        }
        if (!strncmp(q, "/new", 4) && (q[4] == ' ' || q[4] == '\0')) {
            const char *path = strip(q + 4);
            if (*path && !mp.mmproj_path) { fprintf(stderr, "moevk chat: /new PATH needs --mmproj MMPROJ.gguf\n"); rc = 1; continue; }
            moevk_chat_params np = cp;
            np.image_path = *path ? path : NULL;
            s = moevk_chat_start(m, &np);
            if (s != MOEVK_OK) {  // a bad image leaves no conversation: go back to the --image
                cli_error("chat", s);
                rc = 1;
                if (moevk_chat_start(m, &cp) != MOEVK_OK) { cli_error("chat", s); break; }
                continue;
            }
            if (!quiet) fprintf(stderr, "new conversation%s%s\n", *path ? " about " : "", path);
            continue;
        }
        if (!strcmp(q, "/clear")) {
            s = moevk_chat_start(m, &cp);
            if (s != MOEVK_OK) { cli_error("chat", s); rc = 1; break; }
            if (!quiet) fprintf(stderr, "new conversation\n");
            continue;
        }
        gp.prompt = q;
        s = moevk_chat_turn(m, &gp);
        cli_reasoning_end(&rsn);
        fputc('\n', stdout);
        fflush(stdout);
        moevk_timings t;
        moevk_get_timings(m, &t);
        if (s != MOEVK_OK) {
            cli_error("chat", s);
            if (s == MOEVK_ERR_CONTEXT_FULL) fprintf(stderr, "moevk chat: type /clear to start a new conversation\n");
            rc = 1;
        } else if (!quiet) {
            fprintf(stderr,
                    "turn %d: image encode %.1f ms (%d images, %d tokens), prefill %d tokens in %.1f ms, "
                    "decode %d tokens (%d of reasoning) in %.1f ms, context %d/%d\n",
                    t.turn, t.image_encode_ms, t.n_images, t.n_image_tokens, t.n_prompt_tokens, t.prefill_ms, t.n_generated,
                    t.n_reasoning, t.decode_ms, t.n_ctx_used, t.n_ctx);
        }
    }
    free(line);
    if (routing && write_routing(m, routing, quiet)) rc = 1;
    if (moevk_model_get_info(m, &info) == MOEVK_OK && info.validation_messages) {
        fprintf(stderr, "moevk chat: %u Vulkan validation message(s): failing\n", info.validation_messages);
        rc = 1;
    }
    moevk_model_free(m);
    return rc;
}
