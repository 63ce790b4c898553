/* ref_binary.c — CPU reference for add / mul with broadcast (contiguous). */
#include "ref.h"

static void binary(float *y, const float *a, const int64_t ane[4], const float *b, const int64_t bne[4], int mul) {
    for (int64_t i3 = 0; i3 < ane[3]; i3++)
        for (int64_t i2 = 0; i2 < ane[2]; i2++)
            for (int64_t i1 = 0; i1 < ane[1]; i1++)
                for (int64_t i0 = 0; i0 < ane[0]; i0++) {
                    int64_t ia = ((i3 * ane[2] + i2) * ane[1] + i1) * ane[0] + i0;
                    int64_t ib = (((i3 % bne[3]) * bne[2] + i2 % bne[2]) * bne[1] + i1 % bne[1]) * bne[0] + i0 % bne[0];
                    y[ia] = mul ? a[ia] * b[ib] : a[ia] + b[ib];
                }
}

void ref_add(float *y, const float *a, const int64_t ane[4], const float *b, const int64_t bne[4]) { binary(y, a, ane, b, bne, 0); }
void ref_mul(float *y, const float *a, const int64_t ane[4], const float *b, const int64_t bne[4]) { binary(y, a, ane, b, bne, 1); }
