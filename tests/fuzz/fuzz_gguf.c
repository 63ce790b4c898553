/* fuzz_gguf.c — libFuzzer harness: arbitrary bytes as a GGUF file, read the way
 * `moevk info` reads one: open (with and without GGUF_OPEN_ANY_TYPE), every
 * metadata value including nested array elements, the tensor table, then the
 * text or vision hyper-parameters and tensor checks, and the tokenizer keys. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"
#include "model_hparams.h"
#include "tokenizer.h"

static volatile uint64_t sink;

static void walk_value(const gguf_file *f, const gguf_value *v, int depth) {
    switch (v->type) {
    case GGUF_STRING:
        if (v->len) sink += (unsigned char)v->str[0] + (unsigned char)v->str[v->len - 1];
        break;
    case GGUF_ARRAY: {
        // first, last and a middle element; recursing like `moevk info` does
        uint64_t js[3] = {0, v->n / 2, v->n ? v->n - 1 : 0};
        for (int k = 0; k < 3 && v->n; k++) {
            gguf_value e;
            if (gguf_arr_elem(f, v, js[k], &e) != MOEVK_OK) break;
            if (depth < 4) walk_value(f, &e, depth + 1);
        }
        gguf_value e;
        if (gguf_arr_elem(f, v, v->n, &e) == MOEVK_OK) __builtin_trap();  // one past the end must fail
        break;
    }
    default: sink += v->u + (uint64_t)v->i; break;
    }
}

static void walk(const gguf_file *f) {
    sink += gguf_version(f) + gguf_alignment(f) + gguf_data_offset(f);
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const char *k = gguf_key_name(f, i);
        if (!k || gguf_find_key(f, k) != i) __builtin_trap();  // names are unique and found again
        gguf_value v;
        if (gguf_kv_value(f, i, &v) == MOEVK_OK) walk_value(f, &v, 0);
        uint32_t u32;
        float f32;
        const char *s;
        size_t len;
        uint64_t n;
        gguf_vtype et;
        (void)gguf_get_u32(f, k, &u32);
        (void)gguf_get_f32(f, k, &f32);
        (void)gguf_get_str(f, k, &s, &len);
        if (gguf_get_arr_info(f, k, &et, &n) == MOEVK_OK && n) {
            int32_t i32[4];
            float fl[4];
            (void)gguf_get_arr_i32(f, k, i32, 4, &n);
            (void)gguf_get_arr_f32(f, k, fl, 4, &n);
            (void)gguf_get_arr_str(f, k, n - 1, &s, &len);
        }
    }
    const uint8_t *base = gguf_file_data(f);
    uint64_t size = gguf_file_size(f);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        if (!t || gguf_find_tensor(f, t->name) != t) __builtin_trap();
        if (t->supported && t->size) {
            const uint8_t *d = t->data;
            if (d < base || d + t->size > base + size) __builtin_trap();  // data inside the file
            sink += d[0] + d[t->size - 1];
        }
    }
    if (gguf_str_eq(f, "general.architecture", "clip")) {
        mvk_vision_hparams vh;
        if (mvk_vision_hparams_load(f, &vh) == MOEVK_OK) (void)mvk_vision_check_tensors(f, &vh);
    } else {
        mvk_text_hparams th;
        if (mvk_text_hparams_load(f, &th) == MOEVK_OK) (void)mvk_text_check_tensors(f, &th);
        mvk_tokenizer *tok = NULL;
        if (mvk_tokenizer_from_gguf(f, &tok) == MOEVK_OK) {
            int32_t ids[64];
            size_t n = 0;
            (void)mvk_tokenize(tok, "<|im_start|>user hi", 19, MVK_TOK_PARSE_SPECIAL, ids, 64, &n);
        }
        mvk_tokenizer_free(tok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *f = NULL;
    if (gguf_open_memory_ex(data, size, GGUF_OPEN_ANY_TYPE, &f) == MOEVK_OK) {
        walk(f);
        gguf_close(f);
    }
    f = NULL;
    if (gguf_open_memory(data, size, &f) == MOEVK_OK) gguf_close(f);
    return 0;
}
