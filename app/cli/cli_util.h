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

#endif
