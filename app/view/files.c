/* files.c — image file lists. */
#include "files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* what libmoevk decodes (moevk_image_decode); other files in a folder are not offered */
static const char *k_exts[] = {".png", ".jpg", ".jpeg", ".jfif", ".webp", ".gif", ".heic", ".heif", ".avif"};

int view_is_image_name(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof k_exts / sizeof k_exts[0]; i++)
        if (!strcasecmp(dot, k_exts[i])) return 1;
    return 0;
}

int view_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int push(view_files *f, const char *path) {
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        char **p = realloc(f->paths, sizeof *p * (size_t)cap);
        if (!p) return 0;
        f->paths = p;
        f->cap = cap;
    }
    size_t n = strlen(path) + 1;
    char *s = malloc(n);
    if (!s) return 0;
    memcpy(s, path, n);
    f->paths[f->n++] = s;
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int view_files_add(view_files *f, const char *path) {
    int first = f->n;
    if (!view_is_dir(path)) return push(f, path) ? first : -1;
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !view_is_image_name(de->d_name)) continue;
        char full[4096];
        int len = snprintf(full, sizeof full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name);
        if (len <= 0 || (size_t)len >= sizeof full || view_is_dir(full)) continue;
        if (!push(f, full)) break;
    }
    closedir(d);
    if (f->n > first) qsort(f->paths + first, (size_t)(f->n - first), sizeof *f->paths, cmp_str);
    return f->n > first ? first : -1;
}

void view_files_free(view_files *f) {
    for (int i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->paths);
    memset(f, 0, sizeof *f);
    f->cur = -1;
}
