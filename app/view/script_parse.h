/* script_parse.h — the text side of --script files (no SDL, no app state):
 * splitting a script into commands and a command into words. script.c runs
 * the commands; tests/fuzz/fuzz_script.c feeds these functions arbitrary bytes. */
#ifndef MOEVK_VIEW_SCRIPT_PARSE_H
#define MOEVK_VIEW_SCRIPT_PARSE_H

#include <stddef.h>

#define VIEW_SCRIPT_MAX_LINES 512
#define VIEW_SCRIPT_MAX_BYTES (1 << 20)  /* larger script files are refused */

/* Splits text[0..len) into commands: one a line, '#' starts a comment, blank
 * lines are skipped, leading and trailing blanks are cut, ${VAR} is replaced by
 * the environment variable VAR ("" if unset). Writes malloc'd NUL-terminated
 * lines to lines[0..*n). Returns 1, or 0 with a message in err (too many
 * commands, out of memory; what was parsed is freed). name is for messages. */
int view_script_parse_text(const char *text, size_t len, const char *name, char **lines, int cap, int *n, char *err,
                           size_t err_cap);

/* One command split into words: cmd, a1, a2 are the first three
 * blank-separated words (truncated to their buffers, "" if absent); rest
 * points into the line after cmd and its blanks, tail after a1 and its blanks
 * (both "" at the end of the line, never past it). */
typedef struct view_script_words {
    char cmd[64], a1[1024], a2[256];
    const char *rest, *tail;
} view_script_words;

void view_script_split(const char *line, view_script_words *w);

#endif
