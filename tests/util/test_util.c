/* test_util.c — shared helpers for the cmocka tests (see test_util.h). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

vk_ctx *tu_vk;
static uint32_t g_validation_before;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static int g_skipped;

const int64_t tu_awkward[4] = {1, 7, 33, 127};

static int env_on(const char *n) {
    const char *v = getenv(n);
    return v && v[0] && strcmp(v, "0") != 0;
}

int tu_group_setup(void **state) {
    (void)state;
    vk_ctx_params p = {.validation = 1};
    moevk_status s = vk_ctx_create(&p, &tu_vk);
    if (s != MOEVK_OK) {
        tu_vk = NULL;
        if (env_on("MOEVK_REQUIRE_DEVICE")) {
            fprintf(stderr, "FAIL: MOEVK_REQUIRE_DEVICE=1 but no Vulkan device: %s: %s\n", moevk_status_str(s), moevk_last_error());
            return -1;
        }
        fprintf(stderr, "SKIP: no Vulkan device (%s); set MOEVK_REQUIRE_DEVICE=1 to make this a failure\n", moevk_last_error());
        exit(77); /* every test here needs the device; a skip() here would count as failures */
    }
    const vk_device_info *i = vk_ctx_info(tu_vk);
    fprintf(stderr, "device: %s (%s), subgroup %u, shared %u B, storage range %llu B\n", i->name, vk_device_kind_name(i->kind),
            i->subgroup_size, i->max_shared_memory, (unsigned long long)i->max_storage_buffer_range);
    return 0;
}

int tu_group_teardown(void **state) {
    (void)state;
    int bad = 0;
    if (tu_vk) {
        bad = vk_ctx_validation_count(tu_vk) != 0;
        if (bad) fprintf(stderr, "FAIL: %u validation message(s) in this test program\n", vk_ctx_validation_count(tu_vk));
        vk_ctx_destroy(tu_vk);
        tu_vk = NULL;
    }
    if (bad) exit(1); /* cmocka does not turn a failed group teardown into a failing exit code */
    return 0;
}

int tu_test_setup(void **state) {
    (void)state;
    if (!tu_vk) return -1; /* tu_group_setup exits when there is no device */
    g_validation_before = vk_ctx_validation_count(tu_vk);
    return 0;
}

int tu_test_teardown(void **state) {
    (void)state;
    if (!tu_vk) return 0;
    uint32_t n = vk_ctx_validation_count(tu_vk) - g_validation_before;
    if (n) {
        fprintf(stderr, "FAIL: %u validation message(s) during this test\n", n);
        return -1;
    }
    return 0;
}

void tu_seed(uint64_t seed) { g_rng = seed ? seed * 0x9e3779b97f4a7c15ull : 1; }

static uint64_t next_u64(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

float tu_randf(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * (1.0 / 16777216.0)); }

void tu_fill(float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = tu_randf(lo, hi);
}

void tu_fill_i32(int32_t *x, int64_t n, int32_t lo, int32_t hi_excl) {
    for (int64_t i = 0; i < n; i++) x[i] = lo + (int32_t)(next_u64() % (uint64_t)(hi_excl - lo));
}

double tu_nmse(const float *ref, const float *got, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)ref[i] - (double)got[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    if (isnan(num)) return INFINITY;
    return den > 0 ? num / den : num;
}

double tu_max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* also propagates NaN */
    }
    return m;
}

void tu_assert_nmse(const char *label, const float *ref, const float *got, int64_t n, double tol) {
    double e = tu_nmse(ref, got, n);
    if (!(e <= tol)) {
        int64_t worst = 0;
        double wd = -1;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)ref[i] - (double)got[i]);
            if (!(d <= wd)) { wd = d; worst = i; }
        }
        fail_msg("%s: nmse %.3e > %.1e (worst at %lld: ref %g got %g)", label, e, tol, (long long)worst, (double)ref[worst],
                 (double)got[worst]);
    }
}

tu_tensor tu_upload(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const void *data) {
    tu_tensor x;
    memset(&x, 0, sizeof x);
    int64_t row = mvk_dev_row_bytes(t, ne0);
    assert_true(row > 0);
    uint64_t bytes = (uint64_t)row * (uint64_t)(ne1 * ne2 * ne3);
    TU_OK(vk_buffer_create(tu_vk, bytes, VK_MEM_DEVICE, &x.buf));
    x.t = mvk_tensor_make(x.buf, 0, t, ne0, ne1, ne2, ne3);
    if (data && mvk_type_is_quant(t)) { /* file layout -> device layout */
        void *d = malloc(bytes);
        assert_non_null(d);
        mvk_repack_rows(t, data, d, ne0, ne1 * ne2 * ne3);
        TU_OK(vk_upload(tu_vk, x.buf, 0, d, bytes));
        free(d);
    } else if (data) {
        TU_OK(vk_upload(tu_vk, x.buf, 0, data, bytes));
    } else {
        void *z = calloc(1, bytes);
        assert_non_null(z);
        TU_OK(vk_upload(tu_vk, x.buf, 0, z, bytes));
        free(z);
    }
    return x;
}

static void *convert_rows(mvk_type t, const float *data, int64_t ne0, int64_t rows) {
    int64_t rb = mvk_row_bytes(t, ne0);
    char *out = malloc((size_t)(rb * rows));
    assert_non_null(out);
    for (int64_t r = 0; r < rows; r++) {
        const float *src = data + r * ne0;
        char *dst = out + r * rb;
        switch (t) {
        case MVK_TYPE_F32: memcpy(dst, src, (size_t)rb); break;
        case MVK_TYPE_F16:
            for (int64_t i = 0; i < ne0; i++) ((uint16_t *)dst)[i] = mvk_f32_to_f16(src[i]);
            break;
        case MVK_TYPE_BF16:
            for (int64_t i = 0; i < ne0; i++) ((uint16_t *)dst)[i] = mvk_f32_to_bf16(src[i]);
            break;
        case MVK_TYPE_Q8_0: mvk_quantize_row_q8_0(src, (mvk_block_q8_0 *)dst, ne0); break;
        default: fail_msg("tu_upload_as: unsupported type %d", (int)t);
        }
    }
    return out;
}

tu_tensor tu_upload_as(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, const float *data) {
    void *raw = convert_rows(t, data, ne0, ne1 * ne2 * ne3);
    tu_tensor x = tu_upload(t, ne0, ne1, ne2, ne3, raw);
    free(raw);
    return x;
}

void tu_round_through(mvk_type t, const float *src, float *dst, int64_t n) {
    void *raw = convert_rows(t, src, n, 1);
    mvk_dequantize_row(t, raw, dst, n);
    free(raw);
}

void tu_download(const tu_tensor *x, void *out, uint64_t bytes) { TU_OK(vk_download(tu_vk, x->buf, x->t.off, out, bytes)); }

tu_tensor tu_upload_padded(const float *x, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, int64_t pad) {
    int64_t rs = ne0 + pad, rows = ne1 * ne2 * ne3;
    float *h = malloc((size_t)(rs * rows) * 4);
    assert_non_null(h);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < rs; i++) h[r * rs + i] = TU_PAD_SENTINEL;
        if (x) memcpy(h + r * rs, x + r * ne0, (size_t)ne0 * 4);
    }
    tu_tensor t = tu_upload(MVK_TYPE_F32, rs, ne1, ne2, ne3, h);
    free(h);
    int64_t ne[4] = {ne0, ne1, ne2, ne3}, nb[4] = {4, rs * 4, rs * 4 * ne1, rs * 4 * ne1 * ne2};
    t.t = mvk_tensor_view(&t.t, 0, ne, nb);
    return t;
}

void tu_download_padded(const tu_tensor *t, float *out, int64_t ne0, int64_t rows, int64_t pad) {
    int64_t rs = ne0 + pad;
    float *h = malloc((size_t)(rs * rows) * 4);
    assert_non_null(h);
    tu_download(t, h, (uint64_t)(rs * rows) * 4);
    for (int64_t r = 0; r < rows; r++) {
        memcpy(out + r * ne0, h + r * rs, (size_t)ne0 * 4);
        for (int64_t i = ne0; i < rs; i++)
            if (h[r * rs + i] != TU_PAD_SENTINEL) {
                free(h);
                fail_msg("padding of row %lld overwritten", (long long)r);
            }
    }
    free(h);
}

void tu_free(tu_tensor *x) {
    vk_buffer_destroy(x->buf);
    memset(x, 0, sizeof *x);
}

tu_tensor tu_host_i32(int64_t n, int32_t **map) {
    tu_tensor x;
    memset(&x, 0, sizeof x);
    TU_OK(vk_buffer_create(tu_vk, (uint64_t)n * 4, VK_MEM_HOST, &x.buf));
    *map = vk_buffer_map(x.buf);
    assert_non_null(*map);
    x.t = mvk_tensor_make(x.buf, 0, MVK_TYPE_I32, n, 1, 1, 1);
    return x;
}

static tu_tensor g_shapes[32];
static int g_n_shapes;

mvk_tensor *tu_shape(mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    if (g_n_shapes == (int)(sizeof g_shapes / sizeof g_shapes[0])) fail_msg("tu_shape: more than 32 tensors before tu_bad_end");
    g_shapes[g_n_shapes] = tu_upload(t, ne0, ne1, ne2, ne3, NULL);
    return &g_shapes[g_n_shapes++].t;
}

void tu_refuses_(moevk_status got, moevk_status want, const char *needle, const char *expr) {
    if (got != want)
        fail_msg("%s -> %s (%s), want %s", expr, moevk_status_str(got), moevk_last_error(), moevk_status_str(want));
    if (needle && !strstr(moevk_last_error(), needle))
        fail_msg("%s -> %s, but the message '%s' does not mention '%s'", expr, moevk_status_str(got), moevk_last_error(), needle);
}

void tu_bad_end(vk_stream *s) {
    assert_int_equal(vk_stream_dispatch_count(s), 0); /* a refused call records nothing */
    tu_end_submit(s);
    for (int i = 0; i < g_n_shapes; i++) tu_free(&g_shapes[i]);
    g_n_shapes = 0;
}

vk_stream *tu_begin(void) {
    vk_stream *s = NULL;
    TU_OK(vk_stream_create(tu_vk, &s));
    TU_OK(vk_stream_begin(s));
    return s;
}

void tu_end_submit(vk_stream *s) {
    TU_OK(vk_stream_end(s));
    TU_OK(vk_stream_submit(s));
    vk_stream_destroy(s);
}

int tu_in_ci(void) {
    const char *v = getenv("CI");
    return v && strcmp(v, "true") == 0;
}

void tu_note_skip(int missing_input, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (missing_input && tu_in_ci()) fail_msg("%s (required under CI=true)", why);
    fprintf(stderr, "SKIP: %s\n", why);
    g_skipped++;
}

int tu_exit(int cmocka_rc) {
    if (cmocka_rc != 0) return cmocka_rc;
    if (g_skipped) {
        fprintf(stderr, "SKIPPED: %d test(s) did not run (see the SKIP lines); exit 77\n", g_skipped);
        return 77;
    }
    return 0;
}

const char *tu_goldens_dir(void) {
    static char path[4096];
    static char dflt[2048];
    const char *g = getenv("MOEVK_GOLDENS");
    if (!g || !g[0]) { /* the in-repository copy of ../shared/goldens */
        const char *src = getenv("MOEVK_SOURCE_DIR");
        snprintf(dflt, sizeof dflt, "%s/tests/goldens", src && src[0] ? src : ".");
        g = dflt;
    }
    snprintf(path, sizeof path, "%s/qwen3vlmoe-tiny-a/manifest.json", g);
    FILE *f = fopen(path, "rb");
    if (!f) {
        tu_note_skip(1, "goldens not found at %s (set MOEVK_GOLDENS)", path);
        return NULL;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s", g);
    return path;
}

int tu_embedded_model(char *text, size_t text_cap, char *mmproj, size_t mmproj_cap) {
    const char *src = getenv("MOEVK_SOURCE_DIR");
    if (!src || !src[0]) src = ".";
    snprintf(text, text_cap, "%s/assets/models/moevk-tiny.gguf", src);
    snprintf(mmproj, mmproj_cap, "%s/assets/models/moevk-tiny-mmproj.gguf", src);
    FILE *a = fopen(text, "rb"), *b = fopen(mmproj, "rb");
    int ok = a && b;
    if (a) fclose(a);
    if (b) fclose(b);
    return ok;
}

void *tu_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)n + 1); /* NUL-terminated: text files can be read as strings */
    if (buf) buf[n] = 0;
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf && size) *size = (size_t)n;
    return buf;
}
