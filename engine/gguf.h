/* gguf.h — a bounds-checked reader for GGUF v2/v3 files (llama.cpp's model format).
 *
 *     gguf_file *f = NULL;
 *     if (gguf_open("model.gguf", &f) != MOEVK_OK) { puts(moevk_last_error()); ... }
 *     uint32_t n_layer;
 *     MVK_TRY(gguf_get_u32(f, "qwen3vlmoe.block_count", &n_layer));
 *     const gguf_tensor_info *t = gguf_find_tensor(f, "token_embd.weight");
 *     ... t->data points into the read-only mapping, t->size bytes ...
 *     gguf_close(f);
 *
 * Layout (all little-endian):
 *     "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *     n_kv    x { string key; u32 vtype; value }
 *     n_tensors x { string name; u32 n_dims; u64 ne[n_dims]; u32 ggml_type; u64 offset }
 *     padding to `general.alignment` (default 32), then the data section;
 *     tensor data at data_start + offset.
 *     string = u64 length + bytes (no NUL); array = u32 elem vtype + u64 n + n values.
 *
 * gguf_open validates the WHOLE header before returning: every length, count
 * and offset is checked against the file size, so afterwards no accessor can
 * read outside the file. Hostile or corrupt files give MOEVK_ERR_FORMAT with a
 * message (moevk_last_error()) naming the problem: "bad magic", "truncated",
 * the key or tensor name, ... Valid files with a tensor type moevk cannot
 * compute with (anything but the weight types of mvk_type_table.h) give MOEVK_ERR_UNSUPPORTED
 * naming the tensor and the ggml type ("q4_K"), unless GGUF_OPEN_ANY_TYPE is
 * passed to gguf_open_ex (used by `moevk info`).
 *
 * Strings returned by the getters point into the file: they are NOT
 * NUL-terminated (use the length). Key and tensor names ARE NUL-terminated
 * (the reader copies them). All pointers live until gguf_close.
 * A gguf_file is immutable after open and may be read from several threads. */
#ifndef MVK_GGUF_H
#define MVK_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "moevk.h"
#include "mvk_types.h"

typedef struct gguf_file gguf_file;

/* Metadata value types, numbered as in the file. */
typedef enum gguf_vtype {
    GGUF_U8 = 0,
    GGUF_I8 = 1,
    GGUF_U16 = 2,
    GGUF_I16 = 3,
    GGUF_U32 = 4,
    GGUF_I32 = 5,
    GGUF_F32 = 6,
    GGUF_BOOL = 7,
    GGUF_STRING = 8,
    GGUF_ARRAY = 9,
    GGUF_U64 = 10,
    GGUF_I64 = 11,
    GGUF_F64 = 12,
} gguf_vtype;
#define GGUF_VTYPE_COUNT 13

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_ARRAY_DEPTH 8 /* arrays of arrays nested deeper are rejected */

typedef struct gguf_tensor_info {
    const char *name;        /* NUL-terminated copy */
    mvk_type type;           /* a weight type of mvk_type_table.h (else see ggml_type) */
    uint32_t ggml_type;      /* raw type id from the file (== type when supported) */
    int supported;           /* 1 if type is one moevk computes with */
    int n_dims;              /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS]; /* fastest-varying first; unused dims are 1 */
    int64_t n_elems;         /* product of ne */
    uint64_t offset;         /* from the data section start; multiple of the alignment */
    uint64_t size;           /* bytes (0 if !supported: size unknown) */
    const void *data;        /* into the mapping (NULL if !supported) */
} gguf_tensor_info;

/* One metadata value (filled by gguf_kv_value / gguf_arr_elem).
 *  - integers and bool: u = the value if >= 0 (else 0), i = the value if
 *    <= INT64_MAX (else INT64_MAX), is_neg = value < 0, f = (double)value;
 *  - f32/f64: f;
 *  - GGUF_STRING: str/len (points into the file, NOT NUL-terminated);
 *  - GGUF_ARRAY: elem/n; read element j with gguf_arr_elem (nested arrays work). */
typedef struct gguf_value {
    gguf_vtype type;
    uint64_t u;
    int64_t i;
    int is_neg;
    double f;
    const char *str;
    uint64_t len;
    gguf_vtype elem;
    uint64_t n;
    /* internal: where the array payload starts and its string index, if any */
    const uint8_t *raw_;
    const uint64_t *index_;
} gguf_value;

/* ------------------------------------------------------------ opening */

enum {
    GGUF_OPEN_ANY_TYPE = 1, /* accept tensors of types moevk cannot compute with (for listing) */
};

/* Maps the file read-only and validates it. MOEVK_ERR_IO if it cannot be
 * opened/mapped, MOEVK_ERR_FORMAT if corrupt, MOEVK_ERR_UNSUPPORTED for an
 * unsupported tensor type. On failure *out is NULL. */
moevk_status gguf_open(const char *path, gguf_file **out);
moevk_status gguf_open_ex(const char *path, unsigned flags, gguf_file **out);
/* Same over a caller buffer, which must outlive the gguf_file (not copied). */
moevk_status gguf_open_memory(const void *data, size_t size, gguf_file **out);
moevk_status gguf_open_memory_ex(const void *data, size_t size, unsigned flags, gguf_file **out);
void gguf_close(gguf_file *f); /* accepts NULL */

uint32_t gguf_version(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f); /* byte offset of the data section in the file */
uint64_t gguf_file_size(const gguf_file *f);
const void *gguf_file_data(const gguf_file *f);  /* the whole mapping */
const char *gguf_vtype_name(gguf_vtype t);       /* "u32", "string", ... ; "?" if unknown */
/* ggml's name for a tensor type id ("f32", "q4_K", ...), or NULL if unknown. */
const char *gguf_ggml_type_name(uint32_t ggml_type);

/* ------------------------------------------------------------ metadata */

int64_t gguf_n_kv(const gguf_file *f);
const char *gguf_key_name(const gguf_file *f, int64_t i); /* NULL if i out of range */
gguf_vtype gguf_kv_type(const gguf_file *f, int64_t i);   /* -1 cast if out of range */
int64_t gguf_find_key(const gguf_file *f, const char *key); /* index, or -1 if absent; O(1) */
int gguf_has_key(const gguf_file *f, const char *key);

/* The value of key i. MOEVK_ERR_INVALID_ARG if i is out of range. */
moevk_status gguf_kv_value(const gguf_file *f, int64_t i, gguf_value *out);
/* Element j of an array value (from gguf_kv_value or a previous gguf_arr_elem,
 * so nested arrays work). O(1) for fixed-size elements and for strings of a
 * top-level array; nested string/array elements are found by a walk. */
moevk_status gguf_arr_elem(const gguf_file *f, const gguf_value *arr, uint64_t j, gguf_value *out);

/* Typed getters. A missing key gives MOEVK_ERR_FORMAT "missing required key
 * '<key>'"; a present key of an incompatible type or a value out of range
 * gives MOEVK_ERR_FORMAT naming the key, its type and what was expected.
 *  - integer getters accept any integer type (u8..i64) whose value fits;
 *  - gguf_get_f32/f64 accept f32 and f64 (and integers, converted);
 *  - gguf_get_bool accepts bool only.
 * The *_opt variants return MOEVK_OK and store def when the key is absent. */
moevk_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
moevk_status gguf_get_i32(const gguf_file *f, const char *key, int32_t *out);
moevk_status gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
moevk_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
moevk_status gguf_get_f32(const gguf_file *f, const char *key, float *out);
moevk_status gguf_get_f64(const gguf_file *f, const char *key, double *out);
moevk_status gguf_get_bool(const gguf_file *f, const char *key, int *out);
moevk_status gguf_get_str(const gguf_file *f, const char *key, const char **s, size_t *len);
moevk_status gguf_get_u32_opt(const gguf_file *f, const char *key, uint32_t def, uint32_t *out);
moevk_status gguf_get_f32_opt(const gguf_file *f, const char *key, float def, float *out);
moevk_status gguf_get_bool_opt(const gguf_file *f, const char *key, int def, int *out);
/* Compares a string value with a C string; 0 if absent or not a string. */
int gguf_str_eq(const gguf_file *f, const char *key, const char *want);

/* Arrays. gguf_get_arr_info: element type and count (MOEVK_ERR_FORMAT if the
 * key is missing or not an array).
 * gguf_get_arr_i32: integer (or bool) arrays, converted; every value must fit
 * int32. Writes min(n, cap) values; *n gets the full count (out may be NULL
 * with cap 0 to query it). gguf_get_arr_f32: f32/f64/integer arrays.
 * gguf_get_arr_str: element i of a string array, O(1). */
moevk_status gguf_get_arr_info(const gguf_file *f, const char *key, gguf_vtype *elem, uint64_t *n);
moevk_status gguf_get_arr_i32(const gguf_file *f, const char *key, int32_t *out, uint64_t cap, uint64_t *n);
moevk_status gguf_get_arr_f32(const gguf_file *f, const char *key, float *out, uint64_t cap, uint64_t *n);
moevk_status gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i, const char **s, size_t *len);

/* ------------------------------------------------------------ tensors */

int64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor_info *gguf_tensor(const gguf_file *f, int64_t i); /* NULL if out of range */
const gguf_tensor_info *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent; O(1) */

#endif
