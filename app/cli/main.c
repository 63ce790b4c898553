/* main.c — `moevk` command-line entry: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "moevk.h"

static const cli_command g_commands[] = {
    {"caption", "caption an image or answer a question about it (-m, --mmproj, --image, -p)", cmd_caption},
    {"chat", "a conversation about an image: questions from stdin, answers streamed (-m, --mmproj, --image)", cmd_chat},
    {"serve", "an OpenAI-compatible HTTP server with images and the routing (-m, --mmproj, --host, --port)", cmd_serve},
    {"plan", "what a load would place in device memory, and the largest -c that fits (-m, --device-mem, -c)", cmd_plan},
    {"eval", "verification: evaluate prompt token ids, dump vision rows, logits, routing", cmd_eval},
    {"devices", "list Vulkan devices with their limits and features", cmd_devices},
    {"info", "show a GGUF file: metadata, tensors, model hyper-parameters", cmd_info},
    {"tokenize", "print the token ids of a text (byte-level BPE from a GGUF)", cmd_tokenize},
    {"bench", "benchmarks: `bench ops` (per-op GFLOP/s, GB/s), `bench model` (encode, prefill, decode)", cmd_bench},
};
#define N_COMMANDS (sizeof g_commands / sizeof g_commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "moevk %s — sparse MoE vision-language models on Vulkan\n\n"
            "usage: moevk COMMAND [options]   (moevk COMMAND --help for details)\n\ncommands:\n",
            moevk_version());
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", g_commands[i].name, g_commands[i].summary);
    fprintf(f,
            "\nenvironment:\n"
            "  MOEVK_DEVICE=<index|name>  pick the Vulkan device (see `moevk devices`)\n"
            "  MOEVK_PROFILE=1            print GPU time per op (timestamp queries)\n"
            "  LP_NUM_THREADS=N           Mesa lavapipe's worker threads; caption, chat and serve set 0 (run dispatches\n"
            "                             on the calling thread) for model files up to 64 MiB unless it is set\n"
            "  MOEVK_WEIGHT_WIDE=0        keep q6_K matrices as in the file: on CPU devices they are stored a value a byte\n"
            "                             (q6_K8: 30 %% more memory on them, a faster decode) where the whole model fits\n"
            "  MOEVK_VALIDATION=1         enable the Khronos validation layer\n"
            "  MOEVK_FORCE_STAGING=1      use the discrete-GPU memory path (staging copies) on any device\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("moevk %s\n", moevk_version());
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], g_commands[i].name)) return g_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "moevk: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
