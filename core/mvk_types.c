/* mvk_types.c — the type table (mvk_type_table.h) as data, the device row
 * layout and its repacking, scalar conversions (IEEE half, bfloat16). */
#include "mvk_types.h"

#include <math.h>
#include <string.h>

static const mvk_type_info g_types[] = {
#define MVK_WTYPE(ID, nm, sfx, gid, be, bb, so, sb, nf, dq) \
    {MVK_TYPE_##ID, nm, #sfx, be, bb, so, sb, nf, (sb) ? 4u : (uint32_t)(bb), dq, -1, NULL},
#define MVK_DTYPE(ID, nm, sfx, gid, be, bb, so, sb, nf, dq, from, wd) \
    {MVK_TYPE_##ID, nm, #sfx, be, bb, so, sb, nf, (sb) ? 4u : (uint32_t)(bb), dq, MVK_TYPE_##from, wd},
#define MVK_OTYPE(ID, nm, gid, eb) {MVK_TYPE_##ID, nm, NULL, 1, eb, 0, 0, 0, eb, NULL, -1, NULL},
#include "mvk_type_table.h"
#undef MVK_WTYPE
#undef MVK_DTYPE
#undef MVK_OTYPE
};
#define N_TYPES ((int)(sizeof g_types / sizeof g_types[0]))

const mvk_type_info *mvk_type_get(mvk_type t) {
    for (int i = 0; i < N_TYPES; i++)
        if (g_types[i].type == t) return &g_types[i];
    return NULL;
}

const mvk_type_info *mvk_type_all(int *n_out) {
    *n_out = N_TYPES;
    return g_types;
}

const char *mvk_type_name(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti ? ti->name : NULL;
}

int mvk_type_supported(mvk_type t) { return mvk_type_get(t) != NULL; }

int mvk_type_is_weight(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti && ti->suffix;
}

int mvk_type_in_files(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti && ti->suffix && ti->from < 0;
}

mvk_type mvk_type_widened(mvk_type t) {
    for (int i = 0; i < N_TYPES; i++)
        if (g_types[i].from >= 0 && g_types[i].from == (int)t) return g_types[i].type;
    return t;
}

int mvk_widen_rows(mvk_type to, const void *src, void *dst, int64_t n, int64_t rows) {
    const mvk_type_info *ti = mvk_type_get(to);
    if (!ti || ti->from < 0 || !ti->widen || rows < 0) return -1;
    int64_t sb = mvk_row_bytes((mvk_type)ti->from, n), db = mvk_row_bytes(to, n);
    if (sb < 0 || db < 0 || mvk_type_block_elems((mvk_type)ti->from) != ti->block_elems) return -1;
    for (int64_t r = 0; r < rows; r++)
        ti->widen((const uint8_t *)src + r * sb, (uint8_t *)dst + r * db, n / ti->block_elems);
    return 0;
}

int mvk_type_is_quant(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti && ti->s_bytes > 0;
}

int64_t mvk_type_block_elems(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti ? ti->block_elems : 0;
}

int64_t mvk_type_block_bytes(mvk_type t) {
    const mvk_type_info *ti = mvk_type_get(t);
    return ti ? ti->block_bytes : 0;
}

int64_t mvk_row_bytes(mvk_type t, int64_t n) {
    int64_t be = mvk_type_block_elems(t);
    if (be == 0 || n < 0 || n % be != 0) return -1;
    return n / be * mvk_type_block_bytes(t);
}

int64_t mvk_dev_row_bytes(mvk_type t, int64_t n) {
    int64_t r = mvk_row_bytes(t, n);
    if (r < 0 || !mvk_type_is_quant(t)) return r;
    return (r + 15) / 16 * 16;
}

void mvk_repack_rows(mvk_type t, const void *src, void *dst, int64_t n, int64_t rows) {
    const mvk_type_info *ti = mvk_type_get(t);
    int64_t rb = mvk_row_bytes(t, n), db = mvk_dev_row_bytes(t, n);
    if (!ti || rb < 0) return;
    if (!ti->s_bytes) {
        memcpy(dst, src, (size_t)(rb * rows));
        return;
    }
    int64_t nb = n / ti->block_elems, bb = ti->block_bytes, sb = ti->s_bytes, qb = bb - sb;
    /* the scale part is a prefix (s_off 0) or a suffix of the block; the quant part is the rest */
    int64_t q_off = ti->s_off == 0 ? sb : 0;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *s = (const uint8_t *)src + r * rb;
        uint8_t *d = (uint8_t *)dst + r * db;
        for (int64_t b = 0; b < nb; b++) {
            memcpy(d + b * qb, s + b * bb + q_off, (size_t)qb);
            memcpy(d + nb * qb + b * sb, s + b * bb + ti->s_off, (size_t)sb);
        }
        memset(d + rb, 0, (size_t)(db - rb));
    }
}

/* unit j of row g k + l: plain at (g k + l) row_bytes + 16 j, interleaved at g k row_bytes + 16 (w j + l) */
static int ilv_perm(uint8_t *dst, const uint8_t *src, int64_t row_bytes, int64_t rows, int64_t g, int to_ilv) {
    if (row_bytes <= 0 || row_bytes % 16 || rows < 0 || g < 1) return -1;
    int64_t units = row_bytes / 16;
    for (int64_t r0 = 0; r0 < rows; r0 += g) {
        int64_t w = rows - r0 < g ? rows - r0 : g; /* the group's rows: the last group's may be fewer */
        uint8_t *gd = dst + r0 * row_bytes;
        const uint8_t *gs = src + r0 * row_bytes;
        for (int64_t l = 0; l < w; l++)
            for (int64_t j = 0; j < units; j++) {
                int64_t plain = l * row_bytes + 16 * j, ilv = 16 * (w * j + l);
                memcpy(gd + (to_ilv ? ilv : plain), gs + (to_ilv ? plain : ilv), 16);
            }
    }
    return 0;
}

int mvk_interleave_rows(void *dst, const void *src, int64_t row_bytes, int64_t rows, int64_t g) {
    return ilv_perm((uint8_t *)dst, (const uint8_t *)src, row_bytes, rows, g, 1);
}

int mvk_deinterleave_rows(void *dst, const void *src, int64_t row_bytes, int64_t rows, int64_t g) {
    return ilv_perm((uint8_t *)dst, (const uint8_t *)src, row_bytes, rows, g, 0);
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
    if (t == MVK_TYPE_I32) {
        const int32_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = (float)s[i];
        return;
    }
    const mvk_type_info *ti = mvk_type_get(t);
    if (ti && ti->deq) ti->deq(src, dst, n / ti->block_elems);
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
