/* gguf.c — GGUF v2/v3 reader: mmap, validate everything up front, then
 * serve metadata and tensor views without further checks.
 *
 * Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 * Hardening rules (each has a case in tests/test_gguf.c):
 *  - every read goes through a cursor that knows the file size;
 *  - counts (n_kv, n_tensors, array lengths) are compared with the bytes
 *    left before anything is allocated, using the smallest possible
 *    encoding of one item, so a lying count cannot trigger a huge malloc;
 *  - arrays may nest at most GGUF_MAX_ARRAY_DEPTH deep (bounded recursion);
 *  - tensor dims must be 1..4, each ne > 0, the product must not overflow,
 *    rows must hold whole blocks, and data must lie aligned inside the
 *    data section without overlapping another tensor;
 *  - duplicate keys and tensor names are rejected. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mvk_status.h"

typedef struct kv_entry {
    char *key;             /* NUL-terminated copy */
    gguf_vtype type;
    const uint8_t *val;    /* value payload in the file (for arrays: the u32 elem type) */
    uint64_t *str_index;   /* string arrays: byte offset of element j from the first element */
} kv_entry;

struct gguf_file {
    const uint8_t *base;   /* [size] the file */
    uint64_t size;
    int mapped;            /* 1: base is our mmap */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_off;     /* start of the data section (may equal size) */
    int64_t n_kv;
    kv_entry *kv;          /* [n_kv] */
    int64_t n_tensors;
    gguf_tensor_info *tensors; /* [n_tensors] */
    int64_t *kv_hash;      /* [hash_cap] kv index or -1 */
    int64_t *t_hash;       /* [hash_cap] tensor index or -1 */
    uint64_t kv_hash_cap, t_hash_cap; /* powers of two */
};

/* ------------------------------------------------------------ names */

static const char *const g_vtype_names[GGUF_VTYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
};

const char *gguf_vtype_name(gguf_vtype t) {
    return ((unsigned)t < GGUF_VTYPE_COUNT) ? g_vtype_names[t] : "?";
}

/* ggml's type names by id (ggml.h enum ggml_type); NULL for retired ids. */
static const char *const g_ggml_names[] = {
    "f32", "f16", "q4_0", "q4_1", NULL, NULL, "q5_0", "q5_1", "q8_0", "q8_1",
    "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
    "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m",
    "bf16", NULL, NULL, NULL, "tq1_0", "tq2_0", NULL, NULL, NULL, "mxfp4",
};
#define N_GGML_NAMES (sizeof g_ggml_names / sizeof g_ggml_names[0])
/* Ids at or above this are not a ggml type at all (corrupt file), not merely unsupported. */
#define GGML_TYPE_ID_LIMIT 64u

const char *gguf_ggml_type_name(uint32_t t) { return t < N_GGML_NAMES ? g_ggml_names[t] : NULL; }

/* The weight types of mvk_type_table.h are the tensor types moevk loads, but its device-only ones (made at load,
 * never in a file). */
static int supported_type(uint32_t t) { return t < GGML_TYPE_ID_LIMIT && mvk_type_in_files((mvk_type)t); }

/* "f32, f16, ..., mxfp4": the supported types, for error messages. */
static const char *supported_list(void) {
    static char buf[256];
    if (!buf[0]) {
        int n;
        const mvk_type_info *all = mvk_type_all(&n);
        size_t used = 0;
        for (int i = 0; i < n; i++) {
            if (!mvk_type_in_files(all[i].type)) continue;
            int w = snprintf(buf + used, sizeof buf - used, "%s%s", used ? ", " : "", all[i].name);
            if (w < 0 || (size_t)w >= sizeof buf - used) break;
            used += (size_t)w;
        }
    }
    return buf;
}

/* ------------------------------------------------------------ cursor */

typedef struct cursor {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static moevk_status need(const cursor *c, uint64_t n, const char *what) {
    if (n > left(c))
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "truncated: %s needs %" PRIu64 " bytes at offset %" PRIu64 " but the file ends at %" PRIu64,
                        what, n, c->pos, c->size);
    return MOEVK_OK;
}

static uint32_t ld_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld_u64(const uint8_t *p) { return (uint64_t)ld_u32(p) | (uint64_t)ld_u32(p + 4) << 32; }
static uint16_t ld_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static moevk_status rd_u32(cursor *c, uint32_t *v, const char *what) {
    MVK_TRY(need(c, 4, what));
    *v = ld_u32(c->p + c->pos);
    c->pos += 4;
    return MOEVK_OK;
}

static moevk_status rd_u64(cursor *c, uint64_t *v, const char *what) {
    MVK_TRY(need(c, 8, what));
    *v = ld_u64(c->p + c->pos);
    c->pos += 8;
    return MOEVK_OK;
}

/* A string: u64 length + bytes. */
static moevk_status rd_str(cursor *c, const uint8_t **s, uint64_t *len, const char *what) {
    MVK_TRY(rd_u64(c, len, what));
    if (*len > left(c))
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "truncated: %s has length %" PRIu64 " at offset %" PRIu64
                        " but only %" PRIu64 " bytes remain in the file",
                        what, *len, c->pos - 8, left(c));
    *s = c->p + c->pos;
    c->pos += *len;
    return MOEVK_OK;
}

/* Fixed encoded size of a value type, 0 for string/array, -1 for unknown. */
static int vtype_size(uint32_t t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    case GGUF_STRING: case GGUF_ARRAY: return 0;
    }
    return -1;
}

/* Smallest encoding of one value of type t (for bounding counts). */
static uint64_t vtype_min_size(uint32_t t) {
    if (t == GGUF_STRING) return 8;
    if (t == GGUF_ARRAY) return 12;
    return (uint64_t)vtype_size(t);
}

/* Validates one value of type t at the cursor and moves past it. If index is
 * not NULL and the value is a string array, fills *index with element offsets. */
static moevk_status parse_value(cursor *c, uint32_t t, int depth, uint64_t **index) {
    int sz = vtype_size(t);
    if (sz < 0) return mvk_fail(MOEVK_ERR_FORMAT, "unknown value type %u at offset %" PRIu64, t, c->pos - 4);
    if (sz > 0) {
        MVK_TRY(need(c, (uint64_t)sz, "value"));
        c->pos += (uint64_t)sz;
        return MOEVK_OK;
    }
    if (t == GGUF_STRING) {
        const uint8_t *s;
        uint64_t len;
        return rd_str(c, &s, &len, "string value");
    }
    /* array */
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return mvk_fail(MOEVK_ERR_FORMAT, "arrays nested deeper than %d levels at offset %" PRIu64,
                        GGUF_MAX_ARRAY_DEPTH, c->pos);
    uint32_t et;
    uint64_t n;
    MVK_TRY(rd_u32(c, &et, "array element type"));
    if (vtype_size(et) < 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "unknown array element type %u at offset %" PRIu64, et, c->pos - 4);
    MVK_TRY(rd_u64(c, &n, "array length"));
    uint64_t mn = vtype_min_size(et);
    if (n > left(c) / mn)
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "array of %" PRIu64 " %s elements at offset %" PRIu64
                        " cannot fit in the %" PRIu64 " bytes left (truncated or corrupt length)",
                        n, gguf_vtype_name((gguf_vtype)et), c->pos - 8, left(c));
    if (et != GGUF_STRING && et != GGUF_ARRAY) {
        c->pos += n * mn;
        return MOEVK_OK;
    }
    uint64_t *idx = NULL;
    if (index && et == GGUF_STRING && n > 0) {
        idx = malloc(n * sizeof *idx);
        if (!idx) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "string array index of %" PRIu64 " entries", n);
    }
    uint64_t start = c->pos;
    if (et == GGUF_STRING) { /* fast path: token and merge lists have ~150k entries */
        for (uint64_t j = 0; j < n; j++) {
            if (idx) idx[j] = c->pos - start;
            uint64_t len;
            if (left(c) < 8 || (len = ld_u64(c->p + c->pos)) > left(c) - 8) {
                free(idx);
                moevk_status s = left(c) < 8 ? need(c, 8, "string length")
                                             : mvk_fail(MOEVK_ERR_FORMAT,
                                                        "truncated: string of length %" PRIu64 " at offset %" PRIu64
                                                        " runs past the end of the file (%" PRIu64 " bytes)",
                                                        ld_u64(c->p + c->pos), c->pos, c->size);
                return mvk_fail_ctx(s, "array element %" PRIu64, j);
            }
            c->pos += 8 + len;
        }
        if (index) *index = idx;
        return MOEVK_OK;
    }
    for (uint64_t j = 0; j < n; j++) {
        if (idx) idx[j] = c->pos - start;
        moevk_status s = parse_value(c, et, depth + 1, NULL);
        if (s != MOEVK_OK) {
            free(idx);
            return mvk_fail_ctx(s, "array element %" PRIu64, j);
        }
    }
    if (index) *index = idx;
    return MOEVK_OK;
}

/* Size of an already validated value of type t at p. */
static uint64_t value_size(const uint8_t *p, uint32_t t) {
    int sz = vtype_size(t);
    if (sz > 0) return (uint64_t)sz;
    if (t == GGUF_STRING) return 8 + ld_u64(p);
    uint32_t et = ld_u32(p);
    uint64_t n = ld_u64(p + 4);
    int esz = vtype_size(et);
    if (esz > 0) return 12 + n * (uint64_t)esz;
    uint64_t off = 12;
    for (uint64_t j = 0; j < n; j++) off += value_size(p + off, et);
    return off;
}

/* ------------------------------------------------------------ hashing */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static uint64_t hash_cap_for(int64_t n) {
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) cap <<= 1;
    return cap;
}

/* Inserts index i (named name) into table; returns the existing index on a
 * duplicate, else -1. */
static int64_t hash_insert(int64_t *table, uint64_t cap, const char *name, int64_t i,
                           const char *(*name_of)(const gguf_file *, int64_t), const gguf_file *f) {
    uint64_t h = hash_str(name) & (cap - 1);
    for (;;) {
        if (table[h] < 0) {
            table[h] = i;
            return -1;
        }
        if (!strcmp(name_of(f, table[h]), name)) return table[h];
        h = (h + 1) & (cap - 1);
    }
}

static int64_t hash_find(const int64_t *table, uint64_t cap, const char *name,
                         const char *(*name_of)(const gguf_file *, int64_t), const gguf_file *f) {
    if (!table || !name) return -1;
    uint64_t h = hash_str(name) & (cap - 1);
    for (;;) {
        if (table[h] < 0) return -1;
        if (!strcmp(name_of(f, table[h]), name)) return table[h];
        h = (h + 1) & (cap - 1);
    }
}

static const char *kv_name_of(const gguf_file *f, int64_t i) { return f->kv[i].key; }
static const char *t_name_of(const gguf_file *f, int64_t i) { return f->tensors[i].name; }

/* ------------------------------------------------------------ parsing */

/* A key or tensor name: non-empty, no NUL bytes; copied with a NUL. */
static moevk_status rd_name(cursor *c, char **out, const char *what, int64_t i) {
    const uint8_t *s = NULL;
    uint64_t len;
    char desc[64];
    snprintf(desc, sizeof desc, "%s #%" PRId64, what, i);
    MVK_TRY(rd_str(c, &s, &len, desc));
    if (len == 0) return mvk_fail(MOEVK_ERR_FORMAT, "%s is empty", desc);
    if (memchr(s, 0, (size_t)len)) return mvk_fail(MOEVK_ERR_FORMAT, "%s contains a NUL byte", desc);
    char *n = malloc((size_t)len + 1);
    if (!n) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "%s of %" PRIu64 " bytes", desc, len);
    memcpy(n, s, (size_t)len);
    n[len] = '\0';
    *out = n;
    return MOEVK_OK;
}

static moevk_status parse_kvs(gguf_file *f, cursor *c, uint64_t n_kv) {
    /* smallest kv: 8 (key len) + 1 (key) + 4 (type) + 1 (u8 value) */
    if (n_kv > left(c) / 14)
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "n_kv = %" PRIu64 " key/value pairs cannot fit in the %" PRIu64
                        " bytes left (truncated or corrupt count)",
                        n_kv, left(c));
    f->kv = calloc(n_kv ? n_kv : 1, sizeof *f->kv);
    f->kv_hash_cap = hash_cap_for((int64_t)n_kv);
    f->kv_hash = malloc(f->kv_hash_cap * sizeof *f->kv_hash);
    if (!f->kv || !f->kv_hash) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "metadata table");
    memset(f->kv_hash, 0xff, f->kv_hash_cap * sizeof *f->kv_hash);
    for (uint64_t i = 0; i < n_kv; i++) {
        kv_entry *e = &f->kv[i];
        MVK_TRY(rd_name(c, &e->key, "key", (int64_t)i));
        f->n_kv = (int64_t)i + 1; /* so gguf_close frees it */
        uint32_t t;
        moevk_status s = rd_u32(c, &t, "value type");
        if (s != MOEVK_OK) return mvk_fail_ctx(s, "key '%s'", e->key);
        if (vtype_size(t) < 0)
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s': unknown value type %u", e->key, t);
        e->type = (gguf_vtype)t;
        e->val = c->p + c->pos;
        s = parse_value(c, t, 0, &e->str_index);
        if (s != MOEVK_OK) return mvk_fail_ctx(s, "key '%s'", e->key);
        int64_t dup = hash_insert(f->kv_hash, f->kv_hash_cap, e->key, (int64_t)i, kv_name_of, f);
        if (dup >= 0) return mvk_fail(MOEVK_ERR_FORMAT, "duplicate key '%s' (#%" PRId64 " and #%" PRIu64 ")", e->key, dup, i);
    }
    return MOEVK_OK;
}

static moevk_status parse_tensor_info(gguf_file *f, cursor *c, int64_t i, unsigned flags) {
    gguf_tensor_info *t = &f->tensors[i];
    char *name = NULL;
    MVK_TRY(rd_name(c, &name, "tensor name", i));
    t->name = name;
    f->n_tensors = i + 1;
    uint32_t nd, type;
    uint64_t off;
    moevk_status s = rd_u32(c, &nd, "n_dims");
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "tensor '%s'", name);
    if (nd < 1 || nd > GGUF_MAX_DIMS)
        return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': n_dims = %u (must be 1..%d)", name, nd, GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    int64_t n_elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        s = rd_u64(c, &v, "ne");
        if (s != MOEVK_OK) return mvk_fail_ctx(s, "tensor '%s'", name);
        if (v == 0 || v > (uint64_t)INT64_MAX)
            return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': ne[%u] = %" PRId64 " (must be > 0)", name, d, (int64_t)v);
        t->ne[d] = (int64_t)v;
        if (n_elems > INT64_MAX / (int64_t)v)
            return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': element count overflows (ne[%u] = %" PRIu64 ")", name, d, v);
        n_elems *= (int64_t)v;
    }
    t->n_elems = n_elems;
    s = rd_u32(c, &type, "tensor type");
    if (s == MOEVK_OK) s = rd_u64(c, &off, "tensor offset");
    if (s != MOEVK_OK) return mvk_fail_ctx(s, "tensor '%s'", name);
    t->ggml_type = type;
    t->offset = off;
    if (type >= GGML_TYPE_ID_LIMIT)
        return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': invalid ggml type id %u", name, type);
    t->supported = supported_type(type);
    if (!t->supported) {
        if (!(flags & GGUF_OPEN_ANY_TYPE)) {
            const char *tn = gguf_ggml_type_name(type);
            if (tn)
                return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s' has type %s (id %u); moevk supports %s", name, tn, type,
                                supported_list());
            return mvk_fail(MOEVK_ERR_UNSUPPORTED, "tensor '%s' has unknown ggml type %u; moevk supports %s", name, type,
                            supported_list());
        }
        t->type = MVK_TYPE_F32; /* placeholder; check t->supported */
        t->size = 0;
        return MOEVK_OK;
    }
    t->type = (mvk_type)type;
    int64_t be = mvk_type_block_elems(t->type), bb = mvk_type_block_bytes(t->type);
    if (t->ne[0] % be != 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': row of %" PRId64 " elements is not a multiple of the %s block size %" PRId64,
                        name, t->ne[0], mvk_type_name(t->type), be);
    uint64_t blocks = (uint64_t)(n_elems / be);
    if (blocks > UINT64_MAX / (uint64_t)bb)
        return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': byte size overflows", name);
    t->size = blocks * (uint64_t)bb;
    return MOEVK_OK;
}

static int cmp_by_offset(const void *a, const void *b) {
    const gguf_tensor_info *x = *(const gguf_tensor_info *const *)a, *y = *(const gguf_tensor_info *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static moevk_status read_alignment(gguf_file *f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_find_key(f, "general.alignment");
    if (i < 0) return MOEVK_OK;
    gguf_value v;
    MVK_TRY(gguf_kv_value(f, i, &v));
    if (v.type == GGUF_F32 || v.type == GGUF_F64 || v.type == GGUF_BOOL || v.type == GGUF_STRING || v.type == GGUF_ARRAY)
        return mvk_fail(MOEVK_ERR_FORMAT, "general.alignment has type %s, expected u32", gguf_vtype_name(v.type));
    if (v.is_neg || v.u == 0 || v.u > (1u << 30) || (v.u & (v.u - 1)))
        return mvk_fail(MOEVK_ERR_FORMAT, "general.alignment = %s%" PRIu64 " is not a nonzero power of two (<= 2^30)",
                        v.is_neg ? "-" : "", v.is_neg ? (uint64_t)(-(v.i + 1)) + 1 : v.u);
    f->alignment = (uint32_t)v.u;
    return MOEVK_OK;
}

static moevk_status parse(gguf_file *f, unsigned flags) {
    cursor c = {f->base, f->size, 0};
    if (f->size < 4)
        return mvk_fail(MOEVK_ERR_FORMAT, "truncated: file is %" PRIu64 " bytes, too short for the GGUF magic", f->size);
    if (memcmp(f->base, "GGUF", 4) != 0)
        return mvk_fail(MOEVK_ERR_FORMAT, "bad magic %02x %02x %02x %02x (expected \"GGUF\"): not a GGUF file",
                        f->base[0], f->base[1], f->base[2], f->base[3]);
    c.pos = 4;
    uint32_t ver;
    MVK_TRY(rd_u32(&c, &ver, "version"));
    f->version = ver;
    if (ver != 2 && ver != 3) {
        uint32_t sw = __builtin_bswap32(ver);
        if (sw >= 1 && sw <= 3)
            return mvk_fail(MOEVK_ERR_FORMAT, "big-endian GGUF (version %u byte-swapped) is not supported", sw);
        return mvk_fail(MOEVK_ERR_FORMAT, "unsupported GGUF version %u (moevk reads versions 2 and 3)", ver);
    }
    uint64_t n_tensors, n_kv;
    MVK_TRY(rd_u64(&c, &n_tensors, "n_tensors"));
    MVK_TRY(rd_u64(&c, &n_kv, "n_kv"));
    /* smallest tensor info: 8 + 1 (name) + 4 (n_dims) + 8 (ne) + 4 (type) + 8 (offset) */
    if (n_tensors > left(&c) / 33)
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "n_tensors = %" PRIu64 " tensor infos cannot fit in the %" PRIu64
                        " bytes left (truncated or corrupt count)",
                        n_tensors, left(&c));
    MVK_TRY(parse_kvs(f, &c, n_kv));
    MVK_TRY(read_alignment(f));

    if (n_tensors > left(&c) / 33)
        return mvk_fail(MOEVK_ERR_FORMAT,
                        "n_tensors = %" PRIu64 " tensor infos cannot fit in the %" PRIu64
                        " bytes left after the metadata (truncated or corrupt count)",
                        n_tensors, left(&c));
    f->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *f->tensors);
    f->t_hash_cap = hash_cap_for((int64_t)n_tensors);
    f->t_hash = malloc(f->t_hash_cap * sizeof *f->t_hash);
    if (!f->tensors || !f->t_hash) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tensor table");
    memset(f->t_hash, 0xff, f->t_hash_cap * sizeof *f->t_hash);
    for (uint64_t i = 0; i < n_tensors; i++) {
        MVK_TRY(parse_tensor_info(f, &c, (int64_t)i, flags));
        int64_t dup = hash_insert(f->t_hash, f->t_hash_cap, f->tensors[i].name, (int64_t)i, t_name_of, f);
        if (dup >= 0)
            return mvk_fail(MOEVK_ERR_FORMAT, "duplicate tensor name '%s' (#%" PRId64 " and #%" PRIu64 ")",
                            f->tensors[i].name, dup, i);
    }

    /* data section: header end rounded up to the alignment */
    uint64_t a = f->alignment;
    uint64_t data_off = (c.pos + a - 1) / a * a;
    if (data_off > f->size) {
        if (n_tensors > 0)
            return mvk_fail(MOEVK_ERR_FORMAT,
                            "truncated: data section would start at %" PRIu64 " but the file ends at %" PRIu64,
                            data_off, f->size);
        data_off = f->size;
    }
    f->data_off = data_off;
    uint64_t data_size = f->size - data_off;
    if (n_tensors == 0) return MOEVK_OK;

    gguf_tensor_info **order = malloc(n_tensors * sizeof *order);
    if (!order) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "tensor order");
    uint64_t n_sized = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        gguf_tensor_info *t = &f->tensors[i];
        if (t->offset % a != 0) {
            free(order);
            return mvk_fail(MOEVK_ERR_FORMAT, "tensor '%s': data offset %" PRIu64 " is misaligned (alignment %" PRIu64 ")",
                            t->name, t->offset, a);
        }
        if (!t->supported) continue;
        if (t->offset > data_size || t->size > data_size - t->offset) {
            free(order);
            return mvk_fail(MOEVK_ERR_FORMAT,
                            "tensor '%s': data [%" PRIu64 ", +%" PRIu64 ") is out of bounds of the %" PRIu64
                            "-byte data section (truncated or corrupt offset)",
                            t->name, t->offset, t->size, data_size);
        }
        t->data = f->base + data_off + t->offset;
        order[n_sized++] = t;
    }
    qsort(order, n_sized, sizeof *order, cmp_by_offset);
    for (uint64_t i = 1; i < n_sized; i++) {
        if (order[i - 1]->offset + order[i - 1]->size > order[i]->offset) {
            moevk_status s = mvk_fail(MOEVK_ERR_FORMAT, "tensors '%s' and '%s' overlap in the data section",
                                      order[i - 1]->name, order[i]->name);
            free(order);
            return s;
        }
    }
    free(order);
    return MOEVK_OK;
}

/* ------------------------------------------------------------ open / close */

static int host_is_little_endian(void) {
    const uint16_t x = 1;
    uint8_t b;
    memcpy(&b, &x, 1);
    return b == 1;
}

moevk_status gguf_open_memory_ex(const void *data, size_t size, unsigned flags, gguf_file **out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size) return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_open_memory: data is NULL");
    if (!host_is_little_endian()) return mvk_fail(MOEVK_ERR_UNSUPPORTED, "GGUF reader needs a little-endian host");
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "gguf_file");
    f->base = data;
    f->size = size;
    moevk_status s = parse(f, flags);
    if (s != MOEVK_OK) {
        gguf_close(f);
        return s;
    }
    *out = f;
    return MOEVK_OK;
}

moevk_status gguf_open_memory(const void *data, size_t size, gguf_file **out) {
    return gguf_open_memory_ex(data, size, 0, out);
}

moevk_status gguf_open_ex(const char *path, unsigned flags, gguf_file **out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_open: out is NULL");
    *out = NULL;
    if (!path) return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_open: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mvk_fail(MOEVK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        moevk_status s = mvk_fail(MOEVK_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mvk_fail(MOEVK_ERR_IO, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < 4) {
        close(fd);
        return mvk_fail(MOEVK_ERR_FORMAT, "%s: truncated: file is %" PRIu64 " bytes, too short for the GGUF magic", path, size);
    }
    if (size > (uint64_t)SIZE_MAX) {
        close(fd);
        return mvk_fail(MOEVK_ERR_IO, "%s: too large to map", path);
    }
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED) return mvk_fail(MOEVK_ERR_IO, "%s: cannot mmap: %s", path, strerror(err));
    gguf_file *f = NULL;
    moevk_status s = gguf_open_memory_ex(m, (size_t)size, flags, &f);
    if (s != MOEVK_OK) {
        munmap(m, (size_t)size);
        return mvk_fail_ctx(s, "%s", path);
    }
    f->mapped = 1;
    *out = f;
    return MOEVK_OK;
}

moevk_status gguf_open(const char *path, gguf_file **out) { return gguf_open_ex(path, 0, out); }

void gguf_close(gguf_file *f) {
    if (!f) return;
    if (f->kv)
        for (int64_t i = 0; i < f->n_kv; i++) {
            free(f->kv[i].key);
            free(f->kv[i].str_index);
        }
    if (f->tensors)
        for (int64_t i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->kv);
    free(f->tensors);
    free(f->kv_hash);
    free(f->t_hash);
    if (f->mapped) munmap((void *)f->base, (size_t)f->size);
    free(f);
}

uint32_t gguf_version(const gguf_file *f) { return f->version; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->data_off; }
uint64_t gguf_file_size(const gguf_file *f) { return f->size; }
const void *gguf_file_data(const gguf_file *f) { return f->base; }

/* ------------------------------------------------------------ metadata access */

int64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }

const char *gguf_key_name(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_kv) ? f->kv[i].key : NULL;
}

gguf_vtype gguf_kv_type(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_kv) ? f->kv[i].type : (gguf_vtype)-1;
}

int64_t gguf_find_key(const gguf_file *f, const char *key) {
    return hash_find(f->kv_hash, f->kv_hash_cap, key, kv_name_of, f);
}

int gguf_has_key(const gguf_file *f, const char *key) { return gguf_find_key(f, key) >= 0; }

/* Decodes the value of type t whose payload starts at p. */
static void decode(const uint8_t *p, gguf_vtype t, const uint64_t *index, gguf_value *v) {
    memset(v, 0, sizeof *v);
    v->type = t;
    switch (t) {
    case GGUF_U8: case GGUF_BOOL: v->u = p[0]; break;
    case GGUF_U16: v->u = ld_u16(p); break;
    case GGUF_U32: v->u = ld_u32(p); break;
    case GGUF_U64: v->u = ld_u64(p); break;
    case GGUF_I8: v->i = (int8_t)p[0]; break;
    case GGUF_I16: v->i = (int16_t)ld_u16(p); break;
    case GGUF_I32: v->i = (int32_t)ld_u32(p); break;
    case GGUF_I64: v->i = (int64_t)ld_u64(p); break;
    case GGUF_F32: {
        uint32_t b = ld_u32(p);
        float x;
        memcpy(&x, &b, 4);
        v->f = x;
        return;
    }
    case GGUF_F64: {
        uint64_t b = ld_u64(p);
        memcpy(&v->f, &b, 8);
        return;
    }
    case GGUF_STRING:
        v->len = ld_u64(p);
        v->str = (const char *)p + 8;
        return;
    case GGUF_ARRAY:
        v->elem = (gguf_vtype)ld_u32(p);
        v->n = ld_u64(p + 4);
        v->raw_ = p + 12;
        v->index_ = index;
        return;
    }
    if (t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64) {
        v->is_neg = v->i < 0;
        v->u = v->is_neg ? 0 : (uint64_t)v->i;
        v->f = (double)v->i;
    } else {
        v->i = v->u <= (uint64_t)INT64_MAX ? (int64_t)v->u : INT64_MAX;
        v->f = (double)v->u;
    }
}

moevk_status gguf_kv_value(const gguf_file *f, int64_t i, gguf_value *out) {
    if (!f || !out || i < 0 || i >= f->n_kv)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_kv_value: index %" PRId64 " out of range", i);
    decode(f->kv[i].val, f->kv[i].type, f->kv[i].str_index, out);
    return MOEVK_OK;
}

moevk_status gguf_arr_elem(const gguf_file *f, const gguf_value *arr, uint64_t j, gguf_value *out) {
    (void)f;
    if (!arr || !out || arr->type != GGUF_ARRAY || !arr->raw_)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_arr_elem: not an array value");
    if (j >= arr->n)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf_arr_elem: index %" PRIu64 " >= length %" PRIu64, j, arr->n);
    int sz = vtype_size(arr->elem);
    const uint8_t *p;
    if (sz > 0) {
        p = arr->raw_ + j * (uint64_t)sz;
    } else if (arr->index_) {
        p = arr->raw_ + arr->index_[j];
    } else {
        p = arr->raw_;
        for (uint64_t k = 0; k < j; k++) p += value_size(p, arr->elem);
    }
    decode(p, arr->elem, NULL, out);
    return MOEVK_OK;
}

static int is_int_type(gguf_vtype t) {
    return t == GGUF_U8 || t == GGUF_I8 || t == GGUF_U16 || t == GGUF_I16 || t == GGUF_U32 || t == GGUF_I32 ||
           t == GGUF_U64 || t == GGUF_I64;
}
static int is_float_type(gguf_vtype t) { return t == GGUF_F32 || t == GGUF_F64; }

static moevk_status get(const gguf_file *f, const char *key, gguf_value *v) {
    if (!f || !key) return mvk_fail(MOEVK_ERR_INVALID_ARG, "gguf getter: NULL argument");
    int64_t i = gguf_find_key(f, key);
    if (i < 0) return mvk_fail(MOEVK_ERR_FORMAT, "missing required key '%s'", key);
    return gguf_kv_value(f, i, v);
}

static moevk_status wrong_type(const char *key, gguf_vtype have, const char *want) {
    return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' has type %s, expected %s", key, gguf_vtype_name(have), want);
}

moevk_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out) {
    gguf_value v;
    MVK_TRY(get(f, key, &v));
    if (!is_int_type(v.type)) return wrong_type(key, v.type, "an unsigned integer");
    if (v.is_neg) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %" PRId64 " is negative, expected an unsigned integer", key, v.i);
    *out = v.u;
    return MOEVK_OK;
}

moevk_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    uint64_t u = 0;
    MVK_TRY(gguf_get_u64(f, key, &u));
    if (u > UINT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %" PRIu64 " does not fit u32", key, u);
    *out = (uint32_t)u;
    return MOEVK_OK;
}

moevk_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out) {
    gguf_value v;
    MVK_TRY(get(f, key, &v));
    if (!is_int_type(v.type)) return wrong_type(key, v.type, "an integer");
    if (!v.is_neg && v.u > (uint64_t)INT64_MAX)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %" PRIu64 " does not fit i64", key, v.u);
    *out = v.i;
    return MOEVK_OK;
}

moevk_status gguf_get_i32(const gguf_file *f, const char *key, int32_t *out) {
    int64_t x = 0;
    MVK_TRY(gguf_get_i64(f, key, &x));
    if (x < INT32_MIN || x > INT32_MAX) return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' = %" PRId64 " does not fit i32", key, x);
    *out = (int32_t)x;
    return MOEVK_OK;
}

moevk_status gguf_get_f64(const gguf_file *f, const char *key, double *out) {
    gguf_value v;
    MVK_TRY(get(f, key, &v));
    if (!is_float_type(v.type) && !is_int_type(v.type)) return wrong_type(key, v.type, "a number (f32)");
    *out = v.f;
    return MOEVK_OK;
}

moevk_status gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    double d = 0;
    MVK_TRY(gguf_get_f64(f, key, &d));
    *out = (float)d;
    return MOEVK_OK;
}

moevk_status gguf_get_bool(const gguf_file *f, const char *key, int *out) {
    gguf_value v;
    MVK_TRY(get(f, key, &v));
    if (v.type != GGUF_BOOL) return wrong_type(key, v.type, "bool");
    *out = v.u != 0;
    return MOEVK_OK;
}

moevk_status gguf_get_str(const gguf_file *f, const char *key, const char **s, size_t *len) {
    gguf_value v;
    MVK_TRY(get(f, key, &v));
    if (v.type != GGUF_STRING) return wrong_type(key, v.type, "string");
    *s = v.str;
    *len = (size_t)v.len;
    return MOEVK_OK;
}

moevk_status gguf_get_u32_opt(const gguf_file *f, const char *key, uint32_t def, uint32_t *out) {
    if (!gguf_has_key(f, key)) {
        *out = def;
        return MOEVK_OK;
    }
    return gguf_get_u32(f, key, out);
}

moevk_status gguf_get_f32_opt(const gguf_file *f, const char *key, float def, float *out) {
    if (!gguf_has_key(f, key)) {
        *out = def;
        return MOEVK_OK;
    }
    return gguf_get_f32(f, key, out);
}

moevk_status gguf_get_bool_opt(const gguf_file *f, const char *key, int def, int *out) {
    if (!gguf_has_key(f, key)) {
        *out = def;
        return MOEVK_OK;
    }
    return gguf_get_bool(f, key, out);
}

int gguf_str_eq(const gguf_file *f, const char *key, const char *want) {
    int64_t i = gguf_find_key(f, key);
    if (i < 0 || f->kv[i].type != GGUF_STRING) return 0;
    gguf_value v;
    decode(f->kv[i].val, GGUF_STRING, NULL, &v);
    size_t n = strlen(want);
    return v.len == n && memcmp(v.str, want, n) == 0;
}

static moevk_status get_arr(const gguf_file *f, const char *key, gguf_value *v) {
    MVK_TRY(get(f, key, v));
    if (v->type != GGUF_ARRAY) return wrong_type(key, v->type, "an array");
    return MOEVK_OK;
}

moevk_status gguf_get_arr_info(const gguf_file *f, const char *key, gguf_vtype *elem, uint64_t *n) {
    gguf_value v;
    MVK_TRY(get_arr(f, key, &v));
    if (elem) *elem = v.elem;
    if (n) *n = v.n;
    return MOEVK_OK;
}

moevk_status gguf_get_arr_i32(const gguf_file *f, const char *key, int32_t *out, uint64_t cap, uint64_t *n) {
    gguf_value v, e;
    MVK_TRY(get_arr(f, key, &v));
    if (!is_int_type(v.elem) && v.elem != GGUF_BOOL)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' is an array of %s, expected an integer array", key,
                        gguf_vtype_name(v.elem));
    if (n) *n = v.n;
    uint64_t m = out ? (v.n < cap ? v.n : cap) : 0;
    for (uint64_t j = 0; j < m; j++) {
        MVK_TRY(gguf_arr_elem(f, &v, j, &e));
        if ((e.is_neg && e.i < INT32_MIN) || (!e.is_neg && e.u > INT32_MAX))
            return mvk_fail(MOEVK_ERR_FORMAT, "key '%s'[%" PRIu64 "] = %s%" PRIu64 " does not fit i32", key, j,
                            e.is_neg ? "-" : "", e.is_neg ? (uint64_t)(-(e.i + 1)) + 1 : e.u);
        out[j] = (int32_t)e.i;
    }
    return MOEVK_OK;
}

moevk_status gguf_get_arr_f32(const gguf_file *f, const char *key, float *out, uint64_t cap, uint64_t *n) {
    gguf_value v, e;
    MVK_TRY(get_arr(f, key, &v));
    if (!is_int_type(v.elem) && !is_float_type(v.elem))
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' is an array of %s, expected a number array", key,
                        gguf_vtype_name(v.elem));
    if (n) *n = v.n;
    uint64_t m = out ? (v.n < cap ? v.n : cap) : 0;
    for (uint64_t j = 0; j < m; j++) {
        MVK_TRY(gguf_arr_elem(f, &v, j, &e));
        out[j] = (float)e.f;
    }
    return MOEVK_OK;
}

moevk_status gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, const char **s, size_t *len) {
    gguf_value v, e;
    MVK_TRY(get_arr(f, key, &v));
    if (v.elem != GGUF_STRING)
        return mvk_fail(MOEVK_ERR_FORMAT, "key '%s' is an array of %s, expected a string array", key,
                        gguf_vtype_name(v.elem));
    if (i >= v.n)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "key '%s': index %" PRIu64 " >= length %" PRIu64, key, i, v.n);
    MVK_TRY(gguf_arr_elem(f, &v, i, &e));
    *s = e.str;
    *len = (size_t)e.len;
    return MOEVK_OK;
}

/* ------------------------------------------------------------ tensors */

int64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor_info *gguf_tensor(const gguf_file *f, int64_t i) {
    return (i >= 0 && i < f->n_tensors) ? &f->tensors[i] : NULL;
}

const gguf_tensor_info *gguf_find_tensor(const gguf_file *f, const char *name) {
    int64_t i = hash_find(f->t_hash, f->t_hash_cap, name, t_name_of, f);
    return i >= 0 ? &f->tensors[i] : NULL;
}
