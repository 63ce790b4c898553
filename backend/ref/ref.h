/* ref.h — plain, obviously-correct CPU references for every op (backend/ref/).
 * Tests compare the Vulkan ops against these on random data. Tensors are
 * contiguous float arrays in ggml order (ne[0] fastest) unless said.
 * Each op group adds its declarations in its own section below. */
#ifndef MVK_REF_H
#define MVK_REF_H

#include <stdint.h>

#include "mvk_types.h"

/* ---- binary (ref_binary.c): y = a + b / a * b, b broadcast (b.ne[i] divides a.ne[i]) */
void ref_add(float *y, const float *a, const int64_t ane[4], const float *b, const int64_t bne[4]);
void ref_mul(float *y, const float *a, const int64_t ane[4], const float *b, const int64_t bne[4]);

/* ---- norms (ref_norm.c): row-wise over ne0, nrows contiguous rows; w, b may be NULL */
void ref_rms_norm(float *y, const float *x, const float *w, int64_t ne0, int64_t nrows, float eps);
void ref_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t ne0, int64_t nrows, float eps);

#endif
