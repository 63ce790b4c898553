// attn_kv.glsl — K/V loads shared by the attention shaders: F32 or F16
// (16-bit data read through uint words + unpackHalf2x16, works without
// storageBuffer16BitAccess). Indices are in elements and must be even.
#ifdef KV_F16
layout(std430, binding = 1) readonly buffer Kb { uint k_[]; };
layout(std430, binding = 2) readonly buffer Vb { uint v_[]; };
vec2 load_k2(uint i) { return unpackHalf2x16(k_[i >> 1]); }
vec2 load_v2(uint i) { return unpackHalf2x16(v_[i >> 1]); }
#else
layout(std430, binding = 1) readonly buffer Kb { float k_[]; };
layout(std430, binding = 2) readonly buffer Vb { float v_[]; };
vec2 load_k2(uint i) { return vec2(k_[i], k_[i + 1]); }
vec2 load_v2(uint i) { return vec2(v_[i], v_[i + 1]); }
#endif
