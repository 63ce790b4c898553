/* gguf_writer.h — the one GGUF writer of the C tests, independent of
 * engine/gguf.c (the reader under test). Two layers:
 *
 *  - bytes (gw_*): a growing buffer and little-endian puts of every GGUF
 *    field, for files built field by field and patched afterwards (hostile
 *    files: test_gguf.c);
 *  - a model description (gm_*): lists of keys and tensor shapes, edited
 *    (dropped, reshaped, retyped) and serialised as GGUF v3 with zeroed F32
 *    tensors (hyper-parameter checks: test_model_hparams.c).
 *
 * Allocation failures fail the running cmocka test. */
#ifndef MOEVK_TEST_GGUF_WRITER_H
#define MOEVK_TEST_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ bytes */

typedef struct gw_buf {
    uint8_t *p;
    size_t n, cap;
} gw_buf;

void gw_put(gw_buf *b, const void *d, size_t n);
void gw_u8(gw_buf *b, uint8_t v);
void gw_u16(gw_buf *b, uint16_t v);
void gw_u32(gw_buf *b, uint32_t v);
void gw_u64(gw_buf *b, uint64_t v);
void gw_f32(gw_buf *b, float v);
void gw_f64(gw_buf *b, double v);
void gw_str(gw_buf *b, const char *s);              /* u64 length + bytes */
void gw_pad_to(gw_buf *b, size_t align);            /* zero bytes up to a multiple of align */
void gw_set_u32(gw_buf *b, size_t at, uint32_t v);  /* patch an already written field */
void gw_set_u64(gw_buf *b, size_t at, uint64_t v);
void gw_free(gw_buf *b);

void gw_header(gw_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
void gw_key(gw_buf *b, const char *key, uint32_t type); /* key string + value type */
void gw_kv_u32(gw_buf *b, const char *key, uint32_t v);
void gw_kv_str(gw_buf *b, const char *key, const char *v);
void gw_tensor_info(gw_buf *b, const char *name, int nd, const int64_t *ne, uint32_t type, uint64_t off);

/* ------------------------------------------------------------ model description */

typedef struct gm_kv {
    char key[96];
    int type;    /* GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY */
    uint64_t u;
    double f;
    char s[64];
    int elem, n; /* arrays: element type and count (string elements are written "t0", "t1", ...) */
    double arr[8];
} gm_kv;

typedef struct gm_tensor {
    char name[96];
    int nd;
    int64_t ne[4];
} gm_tensor;

typedef struct gm_model { /* ~50 KB: keep it off the stack */
    gm_kv kv[64];
    int n_kv;
    gm_tensor t[256];
    int n_t;
} gm_model;

gm_kv *gm_add_kv(gm_model *m, int type, const char *fmt, ...);
void gm_u32(gm_model *m, const char *key, uint32_t v);
void gm_f32(gm_model *m, const char *key, double v);
void gm_bool(gm_model *m, const char *key, int v);
void gm_str(gm_model *m, const char *key, const char *v);
void gm_arr(gm_model *m, const char *key, int elem, int n, const double *v);
gm_kv *gm_find_kv(gm_model *m, const char *key); /* NULL if absent */
void gm_drop_kv(gm_model *m, const char *key);   /* fails the test if absent */

void gm_add_t(gm_model *m, int nd, int64_t a, int64_t b, int64_t c, int64_t d, const char *fmt, ...);
gm_tensor *gm_find_t(gm_model *m, const char *name);
void gm_drop_t(gm_model *m, const char *name);
void gm_reshape_t(gm_model *m, const char *name, int nd, int64_t a, int64_t b, int64_t c);

/* GGUF v3, every tensor F32 and zero, alignment 32. Free with gw_free. */
gw_buf gm_serialise(const gm_model *m);

#endif
