// xsub.glsl — 32 floats of x (8 vec4s) at an address uniform across the
// subgroup, read cooperatively where subgroup broadcast works (the lane
// kernels for CPU devices: matvec_lane.comp, matmul_lane.comp).
//
// gallivm loads a value whose address is not provably uniform (anything
// indexed by a loop counter) once per lane, so every lane reading the same 32
// floats costs 8 reads a lane. With XSG > 0 (the subgroup size, set by the
// host where subgroup broadcast works) lane l reads vec4 l of the 8 and
// subgroupBroadcast (one extract and splat in gallivm) hands every lane all 8.
// That needs every lane of the subgroup active: kernels clamp their rows
// instead of returning early. Before including, define XRD4(i) (vec4 i of x)
// and the spec constant XSG, and enable GL_KHR_shader_subgroup_ballot.

// xv[i] = XRD4(xb + i), i < 8
void x32(uint xb, out vec4 xv[8]) {
    const uint l = gl_SubgroupInvocationID;
    if (XSG >= 8u) {
        const vec4 a = XRD4(xb + (l & 7u));
        xv[0] = subgroupBroadcast(a, 0u); xv[1] = subgroupBroadcast(a, 1u);
        xv[2] = subgroupBroadcast(a, 2u); xv[3] = subgroupBroadcast(a, 3u);
        xv[4] = subgroupBroadcast(a, 4u); xv[5] = subgroupBroadcast(a, 5u);
        xv[6] = subgroupBroadcast(a, 6u); xv[7] = subgroupBroadcast(a, 7u);
    } else if (XSG == 4u) {
        const vec4 a = XRD4(xb + (l & 3u)), c = XRD4(xb + 4u + (l & 3u));
        xv[0] = subgroupBroadcast(a, 0u); xv[1] = subgroupBroadcast(a, 1u);
        xv[2] = subgroupBroadcast(a, 2u); xv[3] = subgroupBroadcast(a, 3u);
        xv[4] = subgroupBroadcast(c, 0u); xv[5] = subgroupBroadcast(c, 1u);
        xv[6] = subgroupBroadcast(c, 2u); xv[7] = subgroupBroadcast(c, 3u);
    } else {
        for (uint i = 0; i < 8u; i++) xv[i] = XRD4(xb + i);
    }
}
