/* ref_attention.c — CPU reference attention (spec §3.10): plain two-pass softmax in
 * double per (query, head), GQA h -> h / (Hq/Hkv), causal by absolute position
 * n_kv − Tq + i, keys >= n_kv ignored; rows with no visible key give 0.
 * ref_attention_ex adds the sliding window and the both-ways span (vk_attn_params). */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

void ref_attention(float *out, const float *q, const float *k, const float *v, int64_t hd, int64_t Hq, int64_t Tq, int64_t Hkv,
                   int64_t Tk, int64_t n_kv, float scale, int causal) {
    ref_attention_ex(out, q, k, v, hd, Hq, Tq, Hkv, Tk, n_kv, scale, causal, 0, 0, 0);
}

void ref_attention_ex(float *out, const float *q, const float *k, const float *v, int64_t hd, int64_t Hq, int64_t Tq,
                      int64_t Hkv, int64_t Tk, int64_t n_kv, float scale, int causal, int window, int nc_lo, int nc_hi) {
    double *s = malloc((size_t)(Tk > 0 ? Tk : 1) * sizeof(double));
    int64_t G = Hq / Hkv;
    if (n_kv > Tk) n_kv = Tk;
    for (int64_t t = 0; t < Tq; t++)
        for (int64_t h = 0; h < Hq; h++) {
            int64_t kh = h / G;
            int64_t qp = n_kv - Tq + t; /* the query's absolute position */
            int64_t lim = !causal ? n_kv : (qp >= nc_lo && qp < nc_hi) ? nc_hi : qp + 1;
            if (lim > n_kv) lim = n_kv;
            int64_t lo = window > 0 && qp - window + 1 > 0 ? qp - window + 1 : 0; /* sees j only if qp - j < window */
            const float *qr = q + (t * Hq + h) * hd;
            float *o = out + (t * Hq + h) * hd;
            double m = -INFINITY, l = 0;
            for (int64_t j = lo; j < lim; j++) {
                const float *kr = k + (j * Hkv + kh) * hd;
                double acc = 0;
                for (int64_t d = 0; d < hd; d++) acc += (double)qr[d] * kr[d];
                s[j] = acc * scale;
                if (s[j] > m) m = s[j];
            }
            for (int64_t j = lo; j < lim; j++) {
                s[j] = exp(s[j] - m);
                l += s[j];
            }
            for (int64_t d = 0; d < hd; d++) {
                double acc = 0;
                for (int64_t j = lo; j < lim; j++) acc += s[j] * v[(j * Hkv + kh) * hd + d];
                o[d] = lim > lo ? (float)(acc / l) : 0.0f;
            }
        }
    free(s);
}
