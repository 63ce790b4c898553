/* ref_resize.c — CPU reference for bilinear resize of two adjacent axes, in double. */
#include <math.h>

#include "ref.h"

static void coord(int64_t d, int64_t in, int64_t out, int align, int64_t *lo, int64_t *hi, double *f) {
    double s;
    if (align)
        s = out == 1 ? 0.0 : (double)d * (double)(in - 1) / (double)(out - 1);
    else
        s = ((double)d + 0.5) * (double)in / (double)out - 0.5;
    if (s < 0) s = 0;
    if (s > (double)(in - 1)) s = (double)(in - 1);
    *lo = (int64_t)floor(s);
    *hi = *lo + 1 < in ? *lo + 1 : in - 1;
    *f = s - (double)*lo;
}

void ref_resize_bilinear(float *y, const int64_t yne[4], const float *x, const int64_t xne[4], int axis0, int align_corners) {
    int a = axis0, b = axis0 + 1;
    int64_t xs[4] = {1, xne[0], xne[0] * xne[1], xne[0] * xne[1] * xne[2]};
    int64_t i[4];
    int64_t o = 0;
    for (i[3] = 0; i[3] < yne[3]; i[3]++)
        for (i[2] = 0; i[2] < yne[2]; i[2]++)
            for (i[1] = 0; i[1] < yne[1]; i[1]++)
                for (i[0] = 0; i[0] < yne[0]; i[0]++) {
                    int64_t base = 0;
                    for (int d = 0; d < 4; d++)
                        if (d != a && d != b) base += i[d] * xs[d];
                    int64_t a0, a1, b0, b1;
                    double fa, fb;
                    coord(i[a], xne[a], yne[a], align_corners, &a0, &a1, &fa);
                    coord(i[b], xne[b], yne[b], align_corners, &b0, &b1, &fb);
                    double v00 = x[base + a0 * xs[a] + b0 * xs[b]], v10 = x[base + a1 * xs[a] + b0 * xs[b]];
                    double v01 = x[base + a0 * xs[a] + b1 * xs[b]], v11 = x[base + a1 * xs[a] + b1 * xs[b]];
                    y[o++] = (float)((1 - fb) * ((1 - fa) * v00 + fa * v10) + fb * ((1 - fa) * v01 + fa * v11));
                }
}
