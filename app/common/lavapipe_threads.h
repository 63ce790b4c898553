/* lavapipe_threads.h — the thread setting the apps pick for Mesa's lavapipe (the CPU Vulkan driver) */
#ifndef MOEVK_LAVAPIPE_THREADS_H
#define MOEVK_LAVAPIPE_THREADS_H

/* Model files (text + mmproj) up to this size run lavapipe without its worker threads (see below). */
#define MVK_APP_LP_INLINE_MAX_BYTES (64ll << 20)

/* lavapipe hands every dispatch to a pool of worker threads and waits for them: on a 2-core VM that handoff
 * (a broadcast, the workers' wake-ups, the wait) cost ~80 us a dispatch, several times what a small model's
 * dispatch computes. With LP_NUM_THREADS=0 lavapipe runs the dispatch on the submitting thread: the embedded
 * model's warm caption in moevk-view went from 120-126 to 67-75 ms and the goldens' tiny model decoded 5-6x
 * faster, while the a3b8 slice (1.2-2 GB) decoded 1.4x slower without the second core (docs/PERFORMANCE.md
 * section 33). So: where the model's files (model_path + mmproj_path, either may be NULL) hold at most
 * MVK_APP_LP_INLINE_MAX_BYTES and the user has not set LP_NUM_THREADS, set it to 0. Only lavapipe (and
 * llvmpipe) read the variable; other drivers are unaffected. Call it before anything creates a Vulkan instance
 * and before other threads start (setenv). Returns 1 when it set the variable, else 0. */
int mvk_app_lavapipe_threads(const char *model_path, const char *mmproj_path);

#endif
