/* lavapipe_threads.c — see lavapipe_threads.h */
#include "lavapipe_threads.h"

#include <stdlib.h>
#include <sys/stat.h>

/* the size of a regular file, 0 for a missing path or anything else */
static long long file_bytes(const char *path) {
    struct stat st;
    if (!path || !*path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    return (long long)st.st_size;
}

int mvk_app_lavapipe_threads(const char *model_path, const char *mmproj_path) {
    if (getenv("LP_NUM_THREADS")) return 0; /* the user's choice stands */
    long long bytes = file_bytes(model_path) + file_bytes(mmproj_path);
    if (bytes <= 0 || bytes > MVK_APP_LP_INLINE_MAX_BYTES) return 0;
    return setenv("LP_NUM_THREADS", "0", 0) == 0;
}
