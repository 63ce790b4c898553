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
/* x [ne0][ne1][n2] contiguous: rows with i1 >= split weighted by w2, the others by w (vk_op_rms_norm_split). */
void ref_rms_norm_split(float *y, const float *x, const float *w, const float *w2, int64_t ne0, int64_t ne1, int64_t n2,
                        int64_t split, float eps);
void ref_layer_norm(float *y, const float *x, const float *w, const float *b, int64_t ne0, int64_t nrows, float eps);
/* y = x / sqrt(Σx² + eps) (· w) */
void ref_l2_norm(float *y, const float *x, const float *w, int64_t ne0, int64_t nrows, float eps);

/* ---- rope (ref_rope.c): x, y contiguous [hd][H][T]; pos [T] (NEOX) or planar [4][T];
 * mode and n_dims/sections as vk_rope_params (VISION: pairs (i, i+n_dims)). */
enum { REF_ROPE_NEOX = 0, REF_ROPE_MROPE, REF_ROPE_IMROPE, REF_ROPE_VISION };
void ref_rope(float *y, const float *x, const int32_t *pos, int64_t hd, int64_t H, int64_t T, int mode, int n_dims, float base,
              const int sections[4]);
/* NEOX with frequency factors (ggml_rope_ext's src2): pair j's angle divided by ff[j], j < n_dims/2. */
void ref_rope_ff(float *y, const float *x, const int32_t *pos, int64_t hd, int64_t H, int64_t T, int n_dims, float base,
                 const float *ff);

/* ---- weight ops (ref_matmul.c, ref_moe.c, ref_rows.c); w, tables are the dequantised f32 values */
/* y[N][M] = x[K][M] · w[K][N]ᵀ (+ bias[N], may be NULL) */
void ref_matmul(float *y, const float *x, const float *w, const float *bias, int64_t M, int64_t N, int64_t K);
/* vk_op_quant_x: rows of x [K][rows] (contiguous, K a multiple of 32) as int8 blocks of 32 with an f32
 * scale d = max|x| / 127 each, q = rintf(x * (1 / d)) (ties to even; 0 where d = 0): xq rows of
 * vk_quant_x_row_words(K) words (quants 4 a word, then the scales, zero padded). xd (may be NULL) gets
 * the values the int8 mat-vec multiplies, q * d. */
void ref_quant_x(uint32_t *xq, float *xd, const float *x, int64_t K, int64_t rows);
/* The fused producers of int8 x (vk_op_rms_norm_xq, vk_op_swiglu_xq): y [K][rows] = ref_rms_norm (w may be NULL) /
 * ref_swiglu / ref_geglu of contiguous rows, and xq = ref_quant_x of that y. */
void ref_rms_norm_xq(float *y, uint32_t *xq, const float *x, const float *w, int64_t K, int64_t rows, float eps);
void ref_swiglu_xq(float *y, uint32_t *xq, const float *g, const float *u, int64_t K, int64_t rows);
void ref_geglu_xq(float *y, uint32_t *xq, const float *g, const float *u, int64_t K, int64_t rows);
/* y[N][k][T] = w[ids[j][t]] · x; x is [K][k][T] (x_per_slot) or [K][T]; w [K][N][E];
 * ids outside [0, E) give zero rows */
void ref_mul_mat_id(float *y, const float *x, int x_per_slot, const float *w, const int32_t *ids, int64_t K, int64_t N,
                    int64_t E, int64_t k, int64_t T);
/* The fused gate+up op (vk_op_gateup_id): y[N][k][T] = act(x·wg[e]) * (x·wu[e]), x, w, ids and an invalid
 * id as ref_mul_mat_id; act: geglu 0 silu (SwiGLU), 1 tanh gelu (GeGLU, ref_geglu's form). The dense
 * vk_op_gateup is E = k = 1 with ids = {0}. */
void ref_gateup_id(float *y, const float *x, int x_per_slot, const float *wg, const float *wu, const int32_t *ids, int64_t K,
                   int64_t N, int64_t E, int64_t k, int64_t T, int geglu);
/* y[N][T] = Σ_j weights[j][t] · x[N][j][T], j in slot order */
void ref_moe_combine(float *y, const float *x, const float *weights, int64_t N, int64_t k, int64_t T);
/* y = r + ref_moe_combine's sum (vk_op_moe_combine_add). */
void ref_moe_combine_add(float *y, const float *x, const float *weights, const float *r, int64_t N, int64_t k, int64_t T);
/* logits[E][T] -> ids[k][T], weights[k][T]; mode as vk_gate_mode (0 softmax-topk, 1 topk-softmax,
 * 2 sigmoid-topk); ties to the lower expert id; renorm divides by max(sum, 6.103515625e-5) */
void ref_moe_gate(int32_t *ids, float *weights, const float *logits, int64_t E, int64_t T, int k, int mode, int renorm);
/* y[D][T] = table[D][V] rows ids[t]; out-of-range ids give zeros */
void ref_get_rows(float *y, const float *table, int64_t D, int64_t V, const int32_t *ids, int64_t T);
/* dst[D][R] rows idx[t] = src[D][T] (rounded through f16 if to_f16); out-of-range rows skipped */
void ref_set_rows(float *dst, int64_t D, int64_t R, const float *src, const int32_t *idx, int64_t T, int to_f16);

/* ---- attention (ref_attention.c): q/out [hd][Hq][Tq], k/v [hd][Hkv][Tk] contiguous;
 * keys >= n_kv ignored; causal: query i sees keys <= n_kv - Tq + i. */
void ref_attention(float *out, const float *q, const float *k, const float *v, int64_t hd, int64_t Hq, int64_t Tq, int64_t Hkv,
                   int64_t Tk, int64_t n_kv, float scale, int causal);
/* window > 0: query position i sees key j only if i - j < window; nc_hi > nc_lo: causal queries at positions in
 * [nc_lo, nc_hi) see every key < nc_hi (vk_attn_params). */
void ref_attention_ex(float *out, const float *q, const float *k, const float *v, int64_t hd, int64_t Hq, int64_t Tq,
                      int64_t Hkv, int64_t Tk, int64_t n_kv, float scale, int causal, int window, int nc_lo, int nc_hi);

/* ---- unary (ref_unary.c): element-wise over n contiguous values, computed in double.
 * gelu: erf_form 0 = tanh approximation, 1 = exact erf. swiglu: y = silu(g) * u. */
void ref_silu(float *y, const float *x, int64_t n);
void ref_gelu(float *y, const float *x, int64_t n, int erf_form);
void ref_swiglu(float *y, const float *g, const float *u, int64_t n);
void ref_scale(float *y, const float *x, int64_t n, float f);
/* sigmoid: y = 1/(1+e^-x); sigmoid_mul: y = x * sigmoid(u) */
void ref_sigmoid(float *y, const float *x, int64_t n);
void ref_sigmoid_mul(float *y, const float *x, const float *u, int64_t n);
/* geglu: y = gelu_tanh(g) * u; softcap: y = cap * tanh(x / cap) */
void ref_geglu(float *y, const float *g, const float *u, int64_t n);
void ref_softcap(float *y, const float *x, int64_t n, float cap);
/* geglu_quick: y = g * sigmoid(1.702 g) * u; clamp: y = max(min(x, hi), lo) */
void ref_geglu_quick(float *y, const float *g, const float *u, int64_t n);
void ref_clamp(float *y, const float *x, int64_t n, float lo, float hi);

/* ---- Gated DeltaNet (ref_gdn.c), contiguous arrays, docs/families/qwen35.md §4.1.
 * ssm_conv: x, y [T][C]; w [C][K]; state [C][K-1] in/out (left context, then the last K-1 inputs).
 * gdn_gates: alpha, b, g, beta [T][H]; g = softplus(alpha + dt_bias[h]) * a[h], beta = sigmoid(b).
 * delta_net: q, k [T][Hk][S]; v, o [T][Hv][S]; g, beta [T][Hv]; state [Hv][S (j)][S (i)] in/out;
 *   V head h reads K head h % Hk; o = scale · M q after M = e^g M + k ⊗ (v − M k) beta. */
void ref_ssm_conv(float *y, const float *x, const float *w, float *state, int64_t C, int64_t T, int64_t K, int silu);
void ref_gdn_gates(float *g, float *beta, const float *alpha, const float *b, const float *dt_bias, const float *a, int64_t H,
                   int64_t T);
void ref_delta_net(float *o, const float *q, const float *k, const float *v, const float *g, const float *beta, float *state,
                   int64_t S, int64_t Hk, int64_t Hv, int64_t T, float scale);

/* ---- softmax / argmax (ref_softmax.c): row-wise over ne0, nrows contiguous rows.
 * softmax of scale*x in double; argmax ties to the lower index, NaN never wins, all-NaN row -> 0. */
void ref_softmax(float *y, const float *x, int64_t ne0, int64_t nrows, float scale);
void ref_argmax(int32_t *ids, const float *x, int64_t ne0, int64_t nrows);

/* ---- patch embedding (ref_conv.c): img planar [W][H][C]; patches in raster order (W/p per row).
 * im2col: cols [p*p*C][n_patches], element kx + p*ky + p*p*c.
 * conv2d_patch: direct conv, stride = kernel = p, no padding; w [p][p][C][OC]; y [OC][n_patches]; bias may be NULL. */
void ref_im2col(float *cols, const float *img, int64_t W, int64_t H, int64_t C, int p);
void ref_conv2d_patch(float *y, const float *img, int64_t W, int64_t H, int64_t C, const float *w, int p, int64_t OC,
                      const float *bias);

/* ---- resize (ref_resize.c): bilinear over axes axis0, axis0+1 of contiguous x -> y (other axes equal).
 * align_corners: src = d*(in-1)/(out-1) (out == 1 -> 0); else (d+0.5)*in/out-0.5 clamped to [0, in-1]. */
void ref_resize_bilinear(float *y, const int64_t yne[4], const float *x, const int64_t xne[4], int axis0, int align_corners);

#endif
