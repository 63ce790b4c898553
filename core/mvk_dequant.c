/* mvk_dequant.c — CPU dequantisers for every weight type of the table
 * (mvk_type_table.h), on ggml's block formats (ggml-common.h). Each reproduces
 * ggml's dequantize_row_* (ggml-quants.c) value for value: the same f32
 * operations in the same order (checked bit for bit against libggml by
 * tests/test_quant_ggml.c). Our own code, written from the formats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mvk_types.h"

static float h(const uint8_t *p) { return mvk_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static const int8_t k_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
static const int8_t k_fp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}; /* e2m1, doubled */

void mvk_deq_f32(const uint8_t *src, float *dst, int64_t nb) { memcpy(dst, src, (size_t)nb * 4); }

void mvk_deq_f16(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) dst[i] = h(src + 2 * i);
}

void mvk_deq_bf16(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) dst[i] = mvk_bf16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
}

/* Q4_0 {f16 d; u8 qs[16]}: v[j] = (lo(qs[j]) - 8) d, v[j+16] = (hi(qs[j]) - 8) d */
void mvk_deq_q4_0(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 18, dst += 32) {
        float d = h(src);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)((src[2 + j] & 15) - 8) * d;
            dst[j + 16] = (float)((src[2 + j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1 {f16 d, m; u8 qs[16]}: v = q d + m */
void mvk_deq_q4_1(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 20, dst += 32) {
        float d = h(src), m = h(src + 2);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(src[4 + j] & 15) * d + m;
            dst[j + 16] = (float)(src[4 + j] >> 4) * d + m;
        }
    }
}

static uint32_t u32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: 5th bit of v[j] is qh bit j, of v[j+16] bit j+16; v = (q - 16) d */
void mvk_deq_q5_0(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 22, dst += 32) {
        float d = h(src);
        uint32_t qh = u32le(src + 2);
        for (int j = 0; j < 16; j++) {
            int x0 = (int)((src[6 + j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            int x1 = (int)((src[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            dst[j] = (float)x0 * d;
            dst[j + 16] = (float)x1 * d;
        }
    }
}

/* Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}: v = q d + m */
void mvk_deq_q5_1(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 24, dst += 32) {
        float d = h(src), m = h(src + 2);
        uint32_t qh = u32le(src + 4);
        for (int j = 0; j < 16; j++) {
            int x0 = (int)((src[8 + j] & 15) | (((qh >> j) & 1) << 4));
            int x1 = (int)((src[8 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            dst[j] = (float)x0 * d + m;
            dst[j + 16] = (float)x1 * d + m;
        }
    }
}

/* Q8_0 {f16 d; i8 qs[32]}: v = q d */
void mvk_deq_q8_0(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 34, dst += 32) {
        float d = h(src);
        for (int j = 0; j < 32; j++) dst[j] = (float)(int8_t)src[2 + j] * d;
    }
}

/* Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}: 16 groups of 16; group g =
 * 8n + 2j + half uses qs[32n + 16 half + l] >> 2j & 3, scale lo(scales[g]) d,
 * min hi(scales[g]) dmin: v = (d sc) q - (dmin m) */
void mvk_deq_q2_k(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 84) {
        float d = h(src + 80), dmin = h(src + 82);
        for (int g = 0; g < 16; g++) {
            int n = g >> 3, j = (g >> 1) & 3, half = g & 1;
            uint8_t sc = src[g];
            float dl = d * (float)(sc & 15), ml = dmin * (float)(sc >> 4);
            const uint8_t *q = src + 16 + 32 * n + 16 * half;
            for (int l = 0; l < 16; l++) *dst++ = dl * (float)((q[l] >> (2 * j)) & 3) - ml;
        }
    }
}

/* 6-bit scale s of Q3_K's 12 packed bytes: low 4 bits in byte s%8 (nibble
 * s/8), high 2 bits in byte 8 + s%4 (bits 2(s/4)) */
static int q3_scale(const uint8_t *sc, int s) {
    int lo = (sc[s & 7] >> (4 * (s >> 3))) & 15, hi = (sc[8 + (s & 3)] >> (2 * (s >> 2))) & 3;
    return (lo | hi << 4) - 32;
}

/* Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: 16 groups of 16; group
 * g = 8n + 2j + half: q = (qs[32n + 16 half + l] >> 2j & 3) - (hmask[16 half + l]
 * bit 4n+j ? 0 : 4); v = (d s) q */
void mvk_deq_q3_k(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 110) {
        float d = h(src + 108);
        for (int g = 0; g < 16; g++) {
            int n = g >> 3, j = (g >> 1) & 3, half = g & 1, bit = 4 * n + j;
            float dl = d * (float)q3_scale(src + 96, g);
            const uint8_t *q = src + 32 + 32 * n + 16 * half, *hm = src + 16 * half;
            for (int l = 0; l < 16; l++) *dst++ = dl * (float)((int)((q[l] >> (2 * j)) & 3) - ((hm[l] >> bit) & 1 ? 0 : 4));
        }
    }
}

/* 6-bit scale and min of sub-block j of the Q4_K / Q5_K 12-byte packing */
static void k4_scale_min(const uint8_t *q, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: 8 sub-blocks of 32; sub-block
 * c uses the low (c even) or high nibbles of qs[32 (c/2) + l]: v = (d sc) q - (dmin m) */
void mvk_deq_q4_k(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 144) {
        float d = h(src), dmin = h(src + 2);
        for (int c = 0; c < 8; c++) {
            int sc, m;
            k4_scale_min(src + 4, c, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *q = src + 16 + 32 * (c >> 1);
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)((q[l] >> (4 * (c & 1))) & 15) - m1;
        }
    }
}

/* Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}: as Q4_K, 5th bit
 * of sub-block c is bit c of qh[l] */
void mvk_deq_q5_k(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 176) {
        float d = h(src), dmin = h(src + 2);
        for (int c = 0; c < 8; c++) {
            int sc, m;
            k4_scale_min(src + 4, c, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            const uint8_t *qh = src + 16, *q = src + 48 + 32 * (c >> 1);
            for (int l = 0; l < 32; l++)
                *dst++ = d1 * (float)(((q[l] >> (4 * (c & 1))) & 15) + ((qh[l] >> c) & 1 ? 16 : 0)) - m1;
        }
    }
}

/* Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: 8 sub-blocks of 32;
 * c = 4n + r: q = (nibble r/2 of ql[64n + 32(r&1) + l]) | (qh[32n + l] >> 2r & 3) << 4,
 * minus 32; v = (d sc[8n + 2r + l/16]) q */
void mvk_deq_q6_k(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 210) {
        float d = h(src + 208);
        const int8_t *sc = (const int8_t *)(src + 192);
        for (int c = 0; c < 8; c++) {
            int n = c >> 2, r = c & 3;
            const uint8_t *ql = src + 64 * n + 32 * (r & 1), *qh = src + 128 + 32 * n;
            for (int l = 0; l < 32; l++) {
                int q = (int)(((ql[l] >> (4 * (r >> 1))) & 15) | (((qh[l] >> (2 * r)) & 3) << 4)) - 32;
                *dst++ = d * (float)sc[8 * n + 2 * r + l / 16] * (float)q;
            }
        }
    }
}

/* Q6_K8 (device-only, made from Q6_K) {u8 q[256]; i8 scales[16]; f16 d}: value e = q[e] - 32 (q[e] 0..63),
 * scale scales[e / 16]; v = d sc (q - 32) in mvk_deq_q6_k's order, so bit for bit its values */
void mvk_deq_q6_k8(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 274, dst += 256) {
        float d = h(src + 272);
        const int8_t *sc = (const int8_t *)(src + 256);
        for (int e = 0; e < 256; e++) dst[e] = d * (float)sc[e / 16] * (float)((int)src[e] - 32);
    }
}

/* Q6_K -> Q6_K8: value e = 128 n + 32 r + l of a super-block (chunk r of half n) is nibble r/2 of
 * ql[64 n + 32 (r&1) + l] with bits 2r, 2r + 1 of qh[32 n + l] above it (mvk_deq_q6_k); scales and d copied */
void mvk_widen_q6_k8(const uint8_t *src, uint8_t *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 210, dst += 274) {
        for (int e = 0; e < 256; e++) {
            int n = e >> 7, r = (e >> 5) & 3, l = e & 31;
            uint8_t ql = src[64 * n + 32 * (r & 1) + l], qh = src[128 + 32 * n + l];
            dst[e] = (uint8_t)(((ql >> (4 * (r >> 1))) & 15) | (((qh >> (2 * r)) & 3) << 4));
        }
        memcpy(dst + 256, src + 192, 16); /* scales */
        memcpy(dst + 272, src + 208, 2);  /* d */
    }
}

/* IQ4_NL {f16 d; u8 qs[16]}: v = d kvalues[nibble] */
void mvk_deq_iq4_nl(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 18, dst += 32) {
        float d = h(src);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)k_iq4nl[src[2 + j] & 15];
            dst[j + 16] = d * (float)k_iq4nl[src[2 + j] >> 4];
        }
    }
}

/* IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: sub-block c's
 * 6-bit scale ls = nibble c%2 of scales_l[c/2] | (scales_h >> 2c & 3) << 4;
 * v = (d (ls - 32)) kvalues[nibble] */
void mvk_deq_iq4_xs(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 136) {
        float d = h(src);
        unsigned sh = (unsigned)(src[2] | src[3] << 8);
        for (int c = 0; c < 8; c++, dst += 32) {
            int ls = (int)(((src[4 + c / 2] >> (4 * (c % 2))) & 15) | (((sh >> (2 * c)) & 3) << 4));
            float dl = d * (float)(ls - 32);
            const uint8_t *q = src + 8 + 16 * c;
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * (float)k_iq4nl[q[j] & 15];
                dst[j + 16] = dl * (float)k_iq4nl[q[j] >> 4];
            }
        }
    }
}

/* E8M0 exponent e as 2^(e-127) / 2 (the kvalues are doubled): 2^(e-128),
 * denormal for e < 2 */
static float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* MXFP4 {u8 e; u8 qs[16]}: v[j] = kvalues_fp4[lo] d, v[j+16] = kvalues_fp4[hi] d */
void mvk_deq_mxfp4(const uint8_t *src, float *dst, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, src += 17, dst += 32) {
        float d = e8m0_half(src[0]);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)k_fp4[src[1 + j] & 15] * d;
            dst[j + 16] = (float)k_fp4[src[1 + j] >> 4] * d;
        }
    }
}

static uint64_t xs_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void mvk_random_blocks(mvk_type t, uint8_t *dst, int64_t nb, uint64_t seed) {
    const mvk_type_info *ti = mvk_type_get(t);
    if (!ti) return;
    if (ti->from >= 0) { /* a device-only type: random blocks of its file type, widened */
        int64_t fb = mvk_type_block_bytes((mvk_type)ti->from);
        uint8_t *tmp = malloc((size_t)(nb * fb));
        if (!tmp) {
            memset(dst, 0, (size_t)(nb * ti->block_bytes));
            return;
        }
        mvk_random_blocks((mvk_type)ti->from, tmp, nb, seed);
        ti->widen(tmp, dst, nb);
        free(tmp);
        return;
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    int64_t n = nb * ti->block_bytes;
    for (int64_t i = 0; i < n; i++) dst[i] = (uint8_t)(xs_next(&s) >> 24);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = dst + b * ti->block_bytes;
        if (t == MVK_TYPE_MXFP4) blk[ti->s_off] = (uint8_t)(118 + xs_next(&s) % 13);
        for (uint32_t k = 0; k < ti->n_f16; k++) {
            uint64_t r = xs_next(&s);
            float mag = ldexpf(1.0f + (float)(r % 1024) / 1024.0f, -9 + (int)((r >> 10) % 6));
            uint16_t h = mvk_f32_to_f16((r >> 20) & 1 ? -mag : mag);
            blk[ti->s_off + 2 * k] = (uint8_t)(h & 0xff);
            blk[ti->s_off + 2 * k + 1] = (uint8_t)(h >> 8);
        }
    }
}
