/* cli_util.c — file I/O, option parsing and the load progress bar. */
#include "cli_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *cli_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "moevk: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    void *buf = malloc(n ? (size_t)n : 1);
    if (buf && n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "moevk: cannot read '%s'\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *size = (size_t)n;
    return buf;
}

int cli_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "moevk: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) {
        fprintf(stderr, "moevk: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

int cli_int(const char *flag, const char *v, long lo, long hi, long *out) {
    char *end;
    if (!v) {
        fprintf(stderr, "moevk: %s needs a value\n", flag);
        return -1;
    }
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "moevk: %s expects an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_float(const char *flag, const char *v, float *out) {
    char *end;
    if (!v) {
        fprintf(stderr, "moevk: %s needs a value\n", flag);
        return -1;
    }
    float x = strtof(v, &end);
    if (*end || end == v) {
        fprintf(stderr, "moevk: %s expects a number, got '%s'\n", flag, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cli_progress(const char *stage, float frac, void *user) {
    (void)user;
    if (!isatty(2)) return 0;
    int w = 30, n = (int)(frac * (float)w + 0.5f);
    if (n < 0) n = 0;
    if (n > w) n = w;
    char bar[64];
    memset(bar, '#', (size_t)n);
    memset(bar + n, '-', (size_t)(w - n));
    bar[w] = '\0';
    fprintf(stderr, "\rloading [%s] %3d%% %-16s", bar, (int)(frac * 100.0f + 0.5f), stage);
    if (frac >= 1.0f) fprintf(stderr, "\n");
    fflush(stderr);
    return 0;
}

void cli_error(const char *cmd, moevk_status s) {
    fprintf(stderr, "moevk %s: %s: %s\n", cmd, moevk_status_str(s), moevk_last_error());
}
