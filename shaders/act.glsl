// act.glsl — the gate activations shared by unary.comp and the fused gate+up mat-vec
// (matvec_lane.comp GATEUP), so that both compute the same float expression.
// x / (1 + e^t); for t > 88 (e^t near f32 overflow, where some drivers' exp
// misbehaves) the exact result x·e^-t is below |x|·1.7e-38: return 0.
float x_sigmoid(float v, float t) { return t > 88.0 ? 0.0 : v / (1.0 + exp(t)); }

float silu(float v) { return x_sigmoid(v, -v); }

// ½x(1 + tanh(a)) = x·σ(2a) = x / (1 + e^(−2a)): no tanh (whose exp-based
// implementations give inf/inf = NaN for large |a| on some drivers) and no
// cancellation in 1 + tanh(a) for negative x.
float gelu_tanh(float v) { return x_sigmoid(v, -2.0 * (0.7978845608028654 * (v + 0.044715 * v * v * v))); }
