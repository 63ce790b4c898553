/* test_quant_ggml.c — the CPU dequantisers of the type table
 * (core/mvk_dequant.c) against ggml's own: libggml-base from
 * node-llama-cpp (bench/node/node_modules), loaded at run time, its
 * ggml_get_type_traits(type)->to_float on the same random blocks. Values
 * must be bit-identical (NaN matches NaN), including blocks whose f16
 * scales are Inf, NaN or subnormal and MXFP4 exponents 0, 1, 254, 255. The
 * table's block sizes are checked against ggml's traits too.
 * Skips (exit 77) when node-llama-cpp is not installed; with CI=true that
 * is a failure. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvk_types.h"
#include "tu_quant.h"

/* ggml.h struct ggml_type_traits (ggml 0.5.0, the bundled llama.cpp) */
struct ggml_type_traits {
    const char *type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    bool is_quantized;
    void (*to_float)(const void *x, float *y, int64_t k);
    void (*from_float_ref)(const float *x, void *y, int64_t k);
};

static const char *lib_path(void) {
    static char p[4096];
    const char *e = getenv("MOEVK_GGML_BASE");
    if (e && e[0]) return e;
    const char *src = getenv("MOEVK_SOURCE_DIR");
    snprintf(p, sizeof p, "%s/bench/node/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so", src ? src : ".");
    return p;
}

/* special scale patterns written into some blocks */
static void poke_specials(mvk_type t, uint8_t *blk, int64_t nb) {
    const mvk_type_info *ti = mvk_type_get(t);
    static const uint16_t f16s[] = {0x7c00, 0xfc00, 0x7e00, 0xfe01, 0x0001, 0x03ff, 0x8001, 0x0000, 0x7bff};
    static const uint8_t e8[] = {0, 1, 2, 254, 255, 127};
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *p = blk + b * ti->block_bytes + ti->s_off;
        if (t == MVK_TYPE_MXFP4) {
            p[0] = e8[b % 6];
            continue;
        }
        uint16_t h = f16s[b % 9];
        int k = (int)(b / 9) % (int)(ti->n_f16 ? ti->n_f16 : 1);
        p[2 * k] = (uint8_t)(h & 0xff);
        p[2 * k + 1] = (uint8_t)(h >> 8);
    }
}

/* A device-only type (mvk_type_info.from, made at load by mvk_widen_rows): random blocks of its file type, widened,
 * then dequantised by its own CPU dequantiser, must give ggml's to_float of the source blocks bit for bit (the
 * device kernels are checked against that dequantiser by test_op_quant). Returns the failures. */
static int check_widened(const struct ggml_type_traits *(*traits)(int), const mvk_type_info *ti, int *checked) {
    const mvk_type_info *fi = mvk_type_get((mvk_type)ti->from);
    const struct ggml_type_traits *g = fi ? traits((int)fi->type) : NULL;
    if (!g || !g->to_float) {
        fprintf(stderr, "FAIL %s: its file type %d has no ggml to_float\n", ti->name, ti->from);
        return 1;
    }
    const int64_t nb = 64, ne = nb * ti->block_elems;
    uint8_t *src = malloc((size_t)(nb * fi->block_bytes)), *wide = malloc((size_t)(nb * ti->block_bytes));
    float *a = malloc((size_t)ne * 4), *b = malloc((size_t)ne * 4);
    int fails = 0;
    for (int round = 0; round < 3; round++) {
        tu_rand_blocks(fi->type, src, nb, 300 + (uint64_t)round);
        if (round == 2) poke_specials(fi->type, src, nb);
        if (mvk_widen_rows(ti->type, src, wide, ne, 1)) {
            fprintf(stderr, "FAIL %s: mvk_widen_rows refused %lld values of %s\n", ti->name, (long long)ne, fi->name);
            fails++;
            break;
        }
        g->to_float(src, a, ne);
        mvk_dequantize_row(ti->type, wide, b, ne);
        int64_t d = tu_first_bit_diff(a, b, ne);
        (*checked)++;
        if (d >= 0) {
            fprintf(stderr, "FAIL %s round %d: element %lld: ggml %s %.9g ours %.9g\n", ti->name, round, (long long)d, fi->name,
                    (double)a[d], (double)b[d]);
            fails++;
        }
    }
    if (mvk_widen_rows(fi->type, src, wide, ne, 1) == 0) { /* a file type is not made from another */
        fprintf(stderr, "FAIL %s: mvk_widen_rows took file type %s as a target\n", ti->name, fi->name);
        fails++;
    }
    fprintf(stderr, "%-7s %lld values x 3 rounds (widened from %s): %s\n", ti->name, (long long)ne, fi->name,
            fails ? "DIFFERENT" : "bit-identical to ggml");
    free(src);
    free(wide);
    free(a);
    free(b);
    return fails;
}

int main(void) {
    const char *path = lib_path();
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *ci = getenv("CI");
        fprintf(stderr, "%s: cannot load %s (%s): node-llama-cpp not installed (cd bench/node && npm ci)\n",
                ci && !strcmp(ci, "true") ? "FAIL" : "SKIP", path, dlerror());
        return ci && !strcmp(ci, "true") ? 1 : 77;
    }
    const struct ggml_type_traits *(*traits)(int) = (const struct ggml_type_traits *(*)(int))dlsym(lib, "ggml_get_type_traits");
    if (!traits) {
        fprintf(stderr, "FAIL: ggml_get_type_traits not found in %s\n", path);
        return 1;
    }
    int n, fails = 0, checked = 0;
    const mvk_type_info *all = mvk_type_all(&n);
    for (int i = 0; i < n; i++) {
        const mvk_type_info *ti = &all[i];
        if (!ti->deq) continue;
        if (ti->from >= 0) { /* a device-only type: not ggml's; its values must be its file type's, bit for bit */
            fails += check_widened(traits, ti, &checked);
            continue;
        }
        const struct ggml_type_traits *g = traits((int)ti->type);
        if (g && !g->to_float && ti->type == MVK_TYPE_F32) continue; /* ggml has no f32 to_float (a copy) */
        if (!g || !g->to_float || g->blck_size != ti->block_elems || (int64_t)g->type_size != ti->block_bytes ||
            strcmp(g->type_name, ti->name)) {
            fprintf(stderr, "FAIL %s: ggml traits differ (name %s, block %lld elems %zu bytes)\n", ti->name, g ? g->type_name : "?",
                    g ? (long long)g->blck_size : 0, g ? g->type_size : 0);
            fails++;
            continue;
        }
        const int64_t nb = 64;
        int64_t ne = nb * ti->block_elems;
        uint8_t *blk = malloc((size_t)(nb * ti->block_bytes));
        float *a = malloc((size_t)ne * 4), *b = malloc((size_t)ne * 4);
        int fails0 = fails;
        for (int round = 0; round < 3; round++) {
            tu_rand_blocks(ti->type, blk, nb, 100 + (uint64_t)round * 7 + (uint64_t)i);
            if (round == 2 && ti->s_bytes) poke_specials(ti->type, blk, nb);
            g->to_float(blk, a, ne);
            mvk_dequantize_row(ti->type, blk, b, ne);
            int64_t d = tu_first_bit_diff(a, b, ne);
            checked++;
            if (d >= 0) {
                fprintf(stderr, "FAIL %s round %d: element %lld: ggml %.9g (0x%08x) ours %.9g\n", ti->name, round, (long long)d,
                        (double)a[d], *(uint32_t *)&a[d], (double)b[d]);
                fails++;
            }
        }
        fprintf(stderr, "%-7s %lld values x 3 rounds: %s\n", ti->name, (long long)ne, fails > fails0 ? "DIFFERENT" : "bit-identical to ggml");
        free(blk);
        free(a);
        free(b);
    }
    dlclose(lib);
    fprintf(stderr, "%d comparisons, %d failures\n", checked, fails);
    return fails ? 1 : 0;
}
