/* mvk_types.c — scalar type conversions (IEEE half, bfloat16, GGUF Q8_0). */
#include "mvk_types.h"

#include <math.h>
#include <string.h>

const char *mvk_type_name(mvk_type t) {
    switch (t) {
    case MVK_TYPE_F32: return "f32";
    case MVK_TYPE_F16: return "f16";
    case MVK_TYPE_Q8_0: return "q8_0";
    case MVK_TYPE_I32: return "i32";
    case MVK_TYPE_BF16: return "bf16";
    }
    return NULL;
}

int mvk_type_supported(mvk_type t) { return mvk_type_name(t) != NULL; }

int64_t mvk_type_block_elems(mvk_type t) {
    if (!mvk_type_supported(t)) return 0;
    return t == MVK_TYPE_Q8_0 ? MVK_QK8_0 : 1;
}

int64_t mvk_type_block_bytes(mvk_type t) {
    switch (t) {
    case MVK_TYPE_F32: return 4;
    case MVK_TYPE_I32: return 4;
    case MVK_TYPE_F16: return 2;
    case MVK_TYPE_BF16: return 2;
    case MVK_TYPE_Q8_0: return (int64_t)sizeof(mvk_block_q8_0);
    }
    return 0;
}

int64_t mvk_row_bytes(mvk_type t, int64_t n) {
    int64_t be = mvk_type_block_elems(t);
    if (be == 0 || n < 0 || n % be != 0) return -1;
    return n / be * mvk_type_block_bytes(t);
}

float mvk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do { e++; man <<= 1; } while ((man & 0x400u) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t mvk_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or 0 */
        float a;
        memcpy(&a, &absx, 4);
        /* a * 2^24 rounded to nearest even gives the subnormal mantissa */
        float m = a * 16777216.0f;
        uint32_t r = (uint32_t)lrintf(m);
        return (uint16_t)(sign | r);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t man = absx & 0x7fffffu;
    uint32_t h = (e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* carries into exp correctly */
    return (uint16_t)(sign | h);
}

float mvk_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t mvk_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64u); /* quiet nan */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

void mvk_dequantize_row(mvk_type t, const void *src, float *dst, int64_t n) {
    switch (t) {
    case MVK_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case MVK_TYPE_I32: {
        const int32_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
        break;
    }
    case MVK_TYPE_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = mvk_f16_to_f32(s[i]);
        break;
    }
    case MVK_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = mvk_bf16_to_f32(s[i]);
        break;
    }
    case MVK_TYPE_Q8_0: {
        const mvk_block_q8_0 *b = src;
        for (int64_t i = 0; i < n / MVK_QK8_0; i++) {
            float d = mvk_f16_to_f32(b[i].d);
            for (int j = 0; j < MVK_QK8_0; j++) dst[i * MVK_QK8_0 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    }
}

void mvk_quantize_row_q8_0(const float *src, mvk_block_q8_0 *dst, int64_t n) {
    for (int64_t i = 0; i < n / MVK_QK8_0; i++) {
        float amax = 0.0f;
        for (int j = 0; j < MVK_QK8_0; j++) {
            float a = fabsf(src[i * MVK_QK8_0 + j]);
            if (a > amax) amax = a;
        }
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        dst[i].d = mvk_f32_to_f16(d);
        for (int j = 0; j < MVK_QK8_0; j++)
            dst[i].qs[j] = (int8_t)roundf(src[i * MVK_QK8_0 + j] * id);
    }
}
