/* test_pipeline_cache.c — the persistent VkPipelineCache (backend/vk_pipeline_cache.c):
 * a cold context writes the cache file on destroy, the next one is seeded from
 * it and computes the same results, damaged files are ignored silently and
 * rewritten, and MOEVK_PIPELINE_CACHE=0 touches nothing.
 *
 * Every test points MOEVK_CACHE_DIR at its own fresh directory under a
 * mkdtemp() root (set in main before any context exists), so the user's
 * ~/.cache/moevk is never read or written here. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static char g_root[256];
static int g_dir_counter;

/* A fresh, not yet existing cache dir two levels deep (exercises mkdir -p). */
static void new_cache_dir(char *out, size_t n) {
    snprintf(out, n, "%s/t%d/cache", g_root, ++g_dir_counter);
    setenv("MOEVK_CACHE_DIR", out, 1);
}

/* Path of the single pipelines-*.bin in dir (asserts there is exactly one
 * entry and no temporary file left behind); returns 0 when dir is missing/empty. */
static int cache_file(const char *dir, char *path, size_t n) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0, entries = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        entries++;
        size_t l = strlen(e->d_name);
        if (!strncmp(e->d_name, "pipelines-", 10) && l > 4 && !strcmp(e->d_name + l - 4, ".bin")) {
            snprintf(path, n, "%s/%s", dir, e->d_name);
            found++;
        }
    }
    closedir(d);
    assert_int_equal(entries, found); /* no stray temporary files */
    assert_true(found <= 1);
    return found;
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

enum { K = 64, M = 3, N = 40 };

typedef struct op_results {
    float add[N * M];
    float mm[N * M];
    double first_ms; /* first record + submit of add + matmul on this context */
} op_results;

/* Runs y = a + b and y = x · wᵀ on ctx (fresh pipelines) and checks them
 * against host references. */
static void run_ops(vk_ctx *ctx, op_results *r) {
    vk_ctx *saved = tu_vk;
    tu_vk = ctx; /* the tu_* helpers use tu_vk */
    static float a[N * M], b[N * M], x[K * M], w[K * N];
    tu_seed(7);
    tu_fill(a, N * M, -1, 1);
    tu_fill(b, N * M, -1, 1);
    tu_fill(x, K * M, -1, 1);
    tu_fill(w, K * N, -1, 1);
    tu_tensor ta = tu_upload_as(MVK_TYPE_F32, N, M, 1, 1, a), tb = tu_upload_as(MVK_TYPE_F32, N, M, 1, 1, b);
    tu_tensor tx = tu_upload_as(MVK_TYPE_F32, K, M, 1, 1, x), tw = tu_upload_as(MVK_TYPE_F32, K, N, 1, 1, w);
    tu_tensor ty = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL), tz = tu_upload(MVK_TYPE_F32, N, M, 1, 1, NULL);
    double t0 = now_ms();
    vk_stream *s = tu_begin();
    TU_OK(vk_op_add(s, &ty.t, &ta.t, &tb.t));
    TU_OK(vk_op_matmul(s, &tz.t, &tx.t, &tw.t, NULL));
    tu_end_submit(s);
    r->first_ms = now_ms() - t0;
    tu_download(&ty, r->add, sizeof r->add);
    tu_download(&tz, r->mm, sizeof r->mm);
    float ref_add[N * M], ref_mm[N * M];
    for (int i = 0; i < N * M; i++) ref_add[i] = a[i] + b[i];
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)x[m * K + k] * w[n * K + k];
            ref_mm[m * N + n] = (float)acc;
        }
    tu_assert_nmse("add", ref_add, r->add, N * M, 1e-12);
    tu_assert_nmse("matmul", ref_mm, r->mm, N * M, 1e-9);
    tu_free(&ta), tu_free(&tb), tu_free(&tx), tu_free(&tw), tu_free(&ty), tu_free(&tz);
    tu_vk = saved;
}

static vk_ctx *new_ctx(void) {
    vk_ctx *ctx = NULL;
    vk_ctx_params p = {.validation = 1};
    TU_OK(vk_ctx_create(&p, &ctx));
    return ctx;
}

static void destroy_ctx(vk_ctx *ctx) {
    assert_int_equal(vk_ctx_validation_count(ctx), 0);
    vk_ctx_destroy(ctx);
}

/* (a) + (b): cold context writes; the next one loads and matches. */
static void test_cold_writes_warm_loads(void **state) {
    (void)state;
    char dir[300], path[600];
    new_cache_dir(dir, sizeof dir);
    op_results cold, warm;

    vk_ctx *c1 = new_ctx();
    assert_int_equal(vk_ctx_pipeline_cache_loaded(c1), 0);
    run_ops(c1, &cold);
    assert_int_equal(cache_file(dir, path, sizeof path), 0); /* written on destroy, not before */
    destroy_ctx(c1);
    assert_int_equal(cache_file(dir, path, sizeof path), 1);
    long size = file_size(path);
    assert_true(size >= 64); /* our 32-byte header + at least the 32-byte Vulkan header (all lavapipe 22.3 stores) */
    size_t n = 0;
    unsigned char *bytes = tu_read_file(path, &n);
    assert_non_null(bytes);
    assert_memory_equal(bytes, "MOEVKPC1", 8);
    free(bytes);

    vk_ctx *c2 = new_ctx();
    assert_int_equal(vk_ctx_pipeline_cache_loaded(c2), (size_t)size - 32);
    run_ops(c2, &warm);
    destroy_ctx(c2);
    assert_memory_equal(cold.add, warm.add, sizeof cold.add);
    assert_memory_equal(cold.mm, warm.mm, sizeof cold.mm);
    assert_int_equal(cache_file(dir, path, sizeof path), 1);
    /* nothing new to add: the file is kept (unchanged on lavapipe, whose data is just the header) */
    assert_true(file_size(path) >= size);
    fprintf(stderr, "first add+matmul record+submit: cold cache %.1f ms, warm cache %.1f ms (%ld bytes)\n", cold.first_ms,
            warm.first_ms, size);
}

/* Runs a context against a damaged cache file with stderr captured; the file
 * must be ignored (cold start, no output, no validation messages) and rewritten. */
static void check_ignored(const char *dir, const char *path, long good_size, const op_results *ref) {
    char log[600];
    snprintf(log, sizeof log, "%s/../stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    vk_ctx *c = new_ctx();
    size_t loaded = vk_ctx_pipeline_cache_loaded(c);
    op_results r;
    run_ops(c, &r);
    uint32_t nval = vk_ctx_validation_count(c);
    vk_ctx_destroy(c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(loaded, 0);
    assert_int_equal(nval, 0);
    assert_int_equal(file_size(log), 0); /* silent without MOEVK_VERBOSE */
    assert_memory_equal(ref->add, r.add, sizeof r.add);
    assert_memory_equal(ref->mm, r.mm, sizeof r.mm);
    char again[600];
    assert_int_equal(cache_file(dir, again, sizeof again), 1);
    assert_string_equal(again, path);
    assert_int_equal(file_size(path), good_size); /* rewritten whole */
    /* and the rewritten file is good again */
    vk_ctx *c2 = new_ctx();
    assert_int_equal(vk_ctx_pipeline_cache_loaded(c2), (size_t)good_size - 32);
    destroy_ctx(c2);
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* (c) truncated, garbage, wrong-device and oversized-length files. */
static void test_damaged_file_ignored(void **state) {
    (void)state;
    unsetenv("MOEVK_VERBOSE");
    char dir[300], path[600];
    new_cache_dir(dir, sizeof dir);
    op_results ref;
    vk_ctx *c = new_ctx();
    run_ops(c, &ref);
    destroy_ctx(c);
    assert_int_equal(cache_file(dir, path, sizeof path), 1);
    size_t n = 0;
    unsigned char *good = tu_read_file(path, &n);
    assert_non_null(good);
    assert_true(n >= 64);
    unsigned char *bad = malloc(n);
    assert_non_null(bad);

    /* truncated: half the file, then just 10 bytes, then empty */
    write_bytes(path, good, n / 2);
    check_ignored(dir, path, (long)n, &ref);
    write_bytes(path, good, 10);
    check_ignored(dir, path, (long)n, &ref);
    write_bytes(path, good, 0);
    check_ignored(dir, path, (long)n, &ref);

    /* garbage of the right size */
    tu_seed(99);
    for (size_t i = 0; i < n; i++) bad[i] = (unsigned char)tu_randf(0, 256);
    write_bytes(path, bad, n);
    check_ignored(dir, path, (long)n, &ref);

    /* one payload byte flipped: the checksum catches it */
    memcpy(bad, good, n);
    bad[n - 1] ^= 0x5a;
    write_bytes(path, bad, n);
    check_ignored(dir, path, (long)n, &ref);

    /* a consistent file (checksum fixed up) whose Vulkan header names another device / UUID / version / length */
    for (int field = 0; field < 4; field++) {
        memcpy(bad, good, n);
        unsigned char *pl = bad + 32;
        if (field == 0) pl[12] ^= 1;      /* deviceID */
        else if (field == 1) pl[16] ^= 1; /* pipelineCacheUUID */
        else if (field == 2) pl[4] = 7;   /* headerVersion */
        else pl[0] = 0xff, pl[1] = 0xff;  /* headerSize beyond the data */
        uint64_t h = fnv1a64(pl, n - 32);
        for (int i = 0; i < 8; i++) bad[16 + i] = (unsigned char)(h >> (8 * i));
        write_bytes(path, bad, n);
        check_ignored(dir, path, (long)n, &ref);
    }

    /* our header claiming a huge payload */
    memcpy(bad, good, n);
    memset(bad + 8, 0xff, 8);
    write_bytes(path, bad, n);
    check_ignored(dir, path, (long)n, &ref);

    /* a directory where the file should be: ignored, and saving fails silently */
    remove(path);
    assert_int_equal(mkdir(path, 0755), 0);
    vk_ctx *c2 = new_ctx();
    assert_int_equal(vk_ctx_pipeline_cache_loaded(c2), 0);
    op_results r;
    run_ops(c2, &r);
    destroy_ctx(c2);
    assert_memory_equal(ref.mm, r.mm, sizeof r.mm);
    rmdir(path);
    free(bad);
    free(good);
}

/* (d) MOEVK_PIPELINE_CACHE=0: nothing is read or written. */
static void test_disabled_writes_nothing(void **state) {
    (void)state;
    char dir[300], path[600];
    new_cache_dir(dir, sizeof dir);
    setenv("MOEVK_PIPELINE_CACHE", "0", 1);
    op_results r1;
    vk_ctx *c = new_ctx();
    run_ops(c, &r1);
    destroy_ctx(c);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0); /* not even the directory */
    /* a warm file present is not read either */
    unsetenv("MOEVK_PIPELINE_CACHE");
    c = new_ctx();
    run_ops(c, &r1);
    destroy_ctx(c);
    assert_int_equal(cache_file(dir, path, sizeof path), 1);
    setenv("MOEVK_PIPELINE_CACHE", "0", 1);
    c = new_ctx();
    assert_int_equal(vk_ctx_pipeline_cache_loaded(c), 0);
    destroy_ctx(c);
    unsetenv("MOEVK_PIPELINE_CACHE");
}

/* Removes the temporary tree (depth <= 3 here). */
static void rm_tree(const char *p) {
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", p, e->d_name);
            rm_tree(sub);
        }
        closedir(d);
        rmdir(p);
    } else {
        remove(p);
    }
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/moevk-pcache-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 1;
    }
    /* before tu_group_setup creates the shared context */
    char shared[300];
    snprintf(shared, sizeof shared, "%s/shared", g_root);
    setenv("MOEVK_CACHE_DIR", shared, 1);
    unsetenv("MOEVK_PIPELINE_CACHE");
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cold_writes_warm_loads, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_ignored, tu_test_setup, tu_test_teardown),
        cmocka_unit_test_setup_teardown(test_disabled_writes_nothing, tu_test_setup, tu_test_teardown),
    };
    int rc = tu_exit(cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown));
    rm_tree(g_root);
    return rc;
}
