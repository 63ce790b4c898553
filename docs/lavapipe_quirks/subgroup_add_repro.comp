#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint K; } p;
void main() {
    // no loop, no branch: one element per lane (K <= WG) selected, then subgroupAdd
    const uint tid = gl_LocalInvocationID.x;
    float a = tid < p.K ? x[tid] : 0.0;
    float v = subgroupAdd(a);
    if (tid == 0u) y[0] = v;
}
