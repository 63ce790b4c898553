/* cli_util.h — small helpers shared by the CLI subcommands. */
#ifndef MOEVK_CLI_UTIL_H
#define MOEVK_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"

/* Reads a whole file; NULL with a message on stderr on failure. */
void *cli_read_file(const char *path, size_t *size);
/* Writes bytes to a file; 0 on success, else prints why and returns -1. */
int cli_write_file(const char *path, const void *data, size_t size);
/* Parses an integer / float option value or prints an error naming the flag. */
int cli_int(const char *flag, const char *v, long lo, long hi, long *out);
int cli_float(const char *flag, const char *v, float *out);
/* Terminal progress bar for model loading (to stderr, only on a TTY). */
int cli_progress(const char *stage, float frac, void *user);
/* Prints "moevk <cmd>: <status>: <message>" to stderr. */
void cli_error(const char *cmd, moevk_status s);

/* Thinking options shared by caption, chat and serve (llama.cpp's names where it has one):
 * --think (= --reasoning on), -rea / --reasoning on|off, --reasoning-budget N. Returns 1 if argv[*i]
 * was one of them (*i advanced past its value; *think / *budget set), 0 if not, -1 after printing why
 * a value is bad. */
int cli_think_option(const char *cmd, int argc, char **argv, int *i, int *think, int *budget);
/* The --help lines of those options. */
#define CLI_THINK_HELP                                                                                        \
    "  --think                   thinking on (= --reasoning on): families whose template has a reasoning\n"  \
    "                            block (qwen35moe, qwen35) reason before answering; the reasoning is kept\n" \
    "                            apart from the answer (caption, chat: on stderr, dimmed on a terminal;\n"  \
    "                            serve: reasoning_content), its tokens tagged \"reasoning\" in the routing\n" \
    "  -rea, --reasoning on|off  as llama.cpp's: on = --think; off (default) = the template's empty reasoning\n" \
    "                            block (enable_thinking = false)\n"                                           \
    "  --reasoning-budget N      tokens the reasoning may take before its end tag is forced (llama.cpp's flag):\n" \
    "                            -1 unlimited (default), 0 ends it at once\n"

/* Shows a turn's reasoning apart from its answer: the reasoning on stderr after "thinking: " (dimmed
 * when stderr is a terminal), ended by a newline before the answer streams to stdout. Set
 * gp->on_reasoning = cli_reasoning_piece, gp->on_token = cli_answer_piece, gp->user = a zeroed
 * cli_reasoning; after the turn, cli_reasoning_end ends a block that no answer followed. */
typedef struct cli_reasoning {
    int shown; /* reasoning printed in this turn and not yet ended by a newline */
} cli_reasoning;
int cli_reasoning_piece(const char *piece, int32_t token, void *user);
int cli_answer_piece(const char *piece, int32_t token, void *user);
void cli_reasoning_end(cli_reasoning *r);

#endif
