/* gguf_writer.c — the tests' GGUF writer (see gguf_writer.h). */
#include "gguf_writer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gguf.h"

/* ------------------------------------------------------------ bytes */

void gw_put(gw_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
void gw_u8(gw_buf *b, uint8_t v) { gw_put(b, &v, 1); }
void gw_u16(gw_buf *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    gw_put(b, x, 2);
}
void gw_u32(gw_buf *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    gw_put(b, x, 4);
}
void gw_u64(gw_buf *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    gw_put(b, x, 8);
}
void gw_f32(gw_buf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    gw_u32(b, u);
}
void gw_f64(gw_buf *b, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    gw_u64(b, u);
}
void gw_str(gw_buf *b, const char *s) {
    gw_u64(b, strlen(s));
    gw_put(b, s, strlen(s));
}
void gw_pad_to(gw_buf *b, size_t a) {
    while (b->n % a) gw_u8(b, 0);
}
void gw_set_u32(gw_buf *b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) b->p[at + i] = (uint8_t)(v >> (8 * i));
}
void gw_set_u64(gw_buf *b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; i++) b->p[at + i] = (uint8_t)(v >> (8 * i));
}
void gw_free(gw_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

void gw_header(gw_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gw_put(b, "GGUF", 4);
    gw_u32(b, version);
    gw_u64(b, n_tensors);
    gw_u64(b, n_kv);
}
void gw_key(gw_buf *b, const char *k, uint32_t t) {
    gw_str(b, k);
    gw_u32(b, t);
}
void gw_kv_u32(gw_buf *b, const char *k, uint32_t v) {
    gw_key(b, k, GGUF_U32);
    gw_u32(b, v);
}
void gw_kv_str(gw_buf *b, const char *k, const char *v) {
    gw_key(b, k, GGUF_STRING);
    gw_str(b, v);
}
void gw_tensor_info(gw_buf *b, const char *name, int nd, const int64_t *ne, uint32_t type, uint64_t off) {
    gw_str(b, name);
    gw_u32(b, (uint32_t)nd);
    for (int d = 0; d < nd; d++) gw_u64(b, (uint64_t)ne[d]);
    gw_u32(b, type);
    gw_u64(b, off);
}

/* ------------------------------------------------------------ model description */

gm_kv *gm_add_kv(gm_model *m, int type, const char *fmt, ...) {
    assert_true(m->n_kv < (int)(sizeof m->kv / sizeof m->kv[0]));
    gm_kv *k = &m->kv[m->n_kv++];
    memset(k, 0, sizeof *k);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->key, sizeof k->key, fmt, ap);
    va_end(ap);
    k->type = type;
    return k;
}
void gm_u32(gm_model *m, const char *key, uint32_t v) { gm_add_kv(m, GGUF_U32, "%s", key)->u = v; }
void gm_f32(gm_model *m, const char *key, double v) { gm_add_kv(m, GGUF_F32, "%s", key)->f = v; }
void gm_bool(gm_model *m, const char *key, int v) { gm_add_kv(m, GGUF_BOOL, "%s", key)->u = (uint64_t)v; }
void gm_str(gm_model *m, const char *key, const char *v) {
    snprintf(gm_add_kv(m, GGUF_STRING, "%s", key)->s, sizeof m->kv[0].s, "%s", v);
}
void gm_arr(gm_model *m, const char *key, int elem, int n, const double *v) {
    gm_kv *k = gm_add_kv(m, GGUF_ARRAY, "%s", key);
    assert_true(n <= (int)(sizeof k->arr / sizeof k->arr[0]) || elem == GGUF_STRING);
    k->elem = elem;
    k->n = n;
    for (int i = 0; v && i < n && i < 8; i++) k->arr[i] = v[i];
}
gm_kv *gm_find_kv(gm_model *m, const char *key) {
    for (int i = 0; i < m->n_kv; i++)
        if (!strcmp(m->kv[i].key, key)) return &m->kv[i];
    return NULL;
}
void gm_drop_kv(gm_model *m, const char *key) {
    gm_kv *k = gm_find_kv(m, key);
    if (!k) fail_msg("no key %s to drop", key);
    *k = m->kv[--m->n_kv];
}

void gm_add_t(gm_model *m, int nd, int64_t a, int64_t b, int64_t c, int64_t d, const char *fmt, ...) {
    assert_true(m->n_t < (int)(sizeof m->t / sizeof m->t[0]));
    gm_tensor *t = &m->t[m->n_t++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->nd = nd;
    t->ne[0] = a, t->ne[1] = b, t->ne[2] = c, t->ne[3] = d;
}
gm_tensor *gm_find_t(gm_model *m, const char *name) {
    for (int i = 0; i < m->n_t; i++)
        if (!strcmp(m->t[i].name, name)) return &m->t[i];
    return NULL;
}
void gm_drop_t(gm_model *m, const char *name) {
    gm_tensor *t = gm_find_t(m, name);
    if (!t) fail_msg("no tensor %s to drop", name);
    *t = m->t[--m->n_t];
}
void gm_reshape_t(gm_model *m, const char *name, int nd, int64_t a, int64_t b, int64_t c) {
    gm_tensor *t = gm_find_t(m, name);
    if (!t) fail_msg("no tensor %s to reshape", name);
    t->nd = nd;
    t->ne[0] = a, t->ne[1] = b, t->ne[2] = c, t->ne[3] = 1;
}

static void put_scalar(gw_buf *b, int type, double v) {
    if (type == GGUF_F32) gw_f32(b, (float)v);
    else if (type == GGUF_BOOL) gw_u8(b, v != 0);
    else if (type == GGUF_I32) gw_u32(b, (uint32_t)(int32_t)v);
    else gw_u32(b, (uint32_t)v);
}

gw_buf gm_serialise(const gm_model *m) {
    gw_buf b = {0};
    gw_header(&b, 3, (uint64_t)m->n_t, (uint64_t)m->n_kv);
    for (int i = 0; i < m->n_kv; i++) {
        const gm_kv *k = &m->kv[i];
        gw_key(&b, k->key, (uint32_t)k->type);
        if (k->type == GGUF_STRING) {
            gw_str(&b, k->s);
        } else if (k->type == GGUF_ARRAY) {
            gw_u32(&b, (uint32_t)k->elem);
            gw_u64(&b, (uint64_t)k->n);
            for (int j = 0; j < k->n; j++) {
                if (k->elem == GGUF_STRING) {
                    char s[16];
                    snprintf(s, sizeof s, "t%d", j);
                    gw_str(&b, s);
                } else {
                    put_scalar(&b, k->elem, k->arr[j]);
                }
            }
        } else {
            put_scalar(&b, k->type, k->type == GGUF_F32 ? k->f : (double)k->u);
        }
    }
    uint64_t off = 0;
    for (int i = 0; i < m->n_t; i++) {
        const gm_tensor *t = &m->t[i];
        uint64_t n = 1;
        for (int d = 0; d < t->nd; d++) n *= (uint64_t)t->ne[d];
        gw_tensor_info(&b, t->name, t->nd, t->ne, 0 /* F32 */, off);
        off += (n * 4 + 31) / 32 * 32;
    }
    gw_pad_to(&b, 32);
    size_t data = b.n;
    /* the zeroed tensor data */
    if (data + off > b.cap) {
        b.p = realloc(b.p, data + off);
        assert_non_null(b.p);
        b.cap = data + off;
    }
    memset(b.p + data, 0, off);
    b.n = data + off;
    return b;
}
