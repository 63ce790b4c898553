#version 450
// variants: silu:OP_SILU gelu_tanh:OP_GELU_TANH gelu_erf:OP_GELU_ERF swiglu:OP_SWIGLU scale:OP_SCALE sigmoid:OP_SIGMOID sigmoid_mul:OP_SIGMOID_MUL geglu:OP_GEGLU softcap:OP_SOFTCAP geglu_quick:OP_GEGLU_QUICK clamp:OP_CLAMP
// unary.comp — element-wise activations over strided F32 views (ggml's unary ops):
//   silu:       y = x / (1 + e^-x)                         (Elfwing et al. 2017, "SiLU")
//   gelu_tanh:  y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))  (Hendrycks & Gimpel 2016, "GELU", tanh form)
//   gelu_erf:   y = ½x(1 + erf(x/√2))                      (exact GELU; erf below)
//   swiglu:     y = silu(x) · u                            (Shazeer 2020, "GLU Variants")
//   scale:      y = f · x
//   sigmoid:    y = 1 / (1 + e^-x)
//   sigmoid_mul: y = x · sigmoid(u)                        (Qwen3.5's gated attention output)
//   geglu:      y = gelu_tanh(x) · u                       (Shazeer 2020; Gemma's MLP and experts)
//   softcap:    y = f · tanh(x / f)                        (Gemma's final logit soft-capping)
//   geglu_quick: y = x·σ(1.702x) · u                       (gelu_quick gate: ggml_geglu_quick; gemma4v's MLP)
//   clamp:      y = max(min(x, f2), f)                      (ggml_clamp; gemma4v's clippable linear layers)
// Binding 1 (u) is only read by swiglu, sigmoid_mul and geglu; the op binds x there for the others.
// In-place use (y aliasing x or u) is fine: each invocation reads its own
// element(s) before writing them.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;   // shape of x, u and y
    uint sx1, sx2, sx3;        // strides in elements (dim 0 contiguous)
    uint su1, su2, su3;
    uint sy1, sy2, sy3;
    uint ox, ou, oy;           // element offsets of the bindings
    uint nrows, cpr;           // rows (ne1*ne2*ne3), workgroups per row (common.glsl row_chunk_index)
    float f;                   // scale factor; clamp's lower bound
    float f2;                  // clamp's upper bound
} p;

#ifdef OP_GELU_ERF
// erf(z): Maclaurin series for |z| < 0.5 (truncation < 3e-9 relative), else
// 1 - erfc(|z|) with the Chebyshev-fitted erfc of Press et al., Numerical
// Recipes 2nd ed. §6.2 (erfcc, fractional error < 1.2e-7).
float erf_approx(float z) {
    float a = abs(z);
    if (a < 0.5) {
        float z2 = z * z;
        // 2/√π · (z − z³/3 + z⁵/10 − z⁷/42 + z⁹/216 − z¹¹/1320)
        float s = 1.0 + z2 * (-1.0 / 3.0 + z2 * (1.0 / 10.0 + z2 * (-1.0 / 42.0 + z2 * (1.0 / 216.0 + z2 * (-1.0 / 1320.0)))));
        return 1.1283791670955126 * z * s;
    }
    if (a > 9.0) return sign(z);
    float t = 1.0 / (1.0 + 0.5 * a);
    float e = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
              t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return sign(z) * (1.0 - e);
}
#endif

#include "act.glsl"

#ifdef OP_SOFTCAP
// tanh(z) = sign(z)·(1 − e^(−2|z|))/(1 + e^(−2|z|)): e^(−2|z|) <= 1 never overflows; below |z| = 1e-2,
// where 1 − e^(−2|z|) cancels, the series z − z³/3 + 2z⁵/15 (error < 1e-11 relative).
float tanh_stable(float z) {
    float a = abs(z);
    if (a < 1e-2) return z * (1.0 - a * a * (1.0 / 3.0 - a * a * (2.0 / 15.0)));
    float e = exp(-2.0 * a);
    return sign(z) * (1.0 - e) / (1.0 + e);
}
#endif

void main() {
    uvec4 ix; // rows in workgroup chunks: no per-lane division (common.glsl)
    if (!row_chunk_index(gl_WorkGroupSize.x, p.cpr, p.nrows, p.ne0, p.ne1, p.ne2, ix)) return;
    uint i0 = ix.x, i1 = ix.y, i2 = ix.z, i3 = ix.w;
    float v = x[p.ox + i0 + i1 * p.sx1 + i2 * p.sx2 + i3 * p.sx3];
#if defined(OP_SILU)
    float o = silu(v);
#elif defined(OP_GELU_TANH)
    float o = gelu_tanh(v);
#elif defined(OP_GEGLU)
    float o = gelu_tanh(v) * u[p.ou + i0 + i1 * p.su1 + i2 * p.su2 + i3 * p.su3];
#elif defined(OP_SOFTCAP)
    float o = p.f * tanh_stable(v / p.f);
#elif defined(OP_GEGLU_QUICK)
    float o = x_sigmoid(v, -1.702 * v) * u[p.ou + i0 + i1 * p.su1 + i2 * p.su2 + i3 * p.su3];
#elif defined(OP_CLAMP)
    float o = max(min(v, p.f2), p.f);
#elif defined(OP_GELU_ERF)
    float o = 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476));
#elif defined(OP_SWIGLU)
    float o = silu(v) * u[p.ou + i0 + i1 * p.su1 + i2 * p.su2 + i3 * p.su3];
#elif defined(OP_SIGMOID)
    float o = x_sigmoid(1.0, -v);
#elif defined(OP_SIGMOID_MUL)
    float o = x_sigmoid(v, -u[p.ou + i0 + i1 * p.su1 + i2 * p.su2 + i3 * p.su3]);
#else
    float o = p.f * v;
#endif
    y[p.oy + i0 + i1 * p.sy1 + i2 * p.sy2 + i3 * p.sy3] = o;
}
