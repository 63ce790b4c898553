// common.glsl — helpers shared by the compute shaders.
// Include with: #extension GL_GOOGLE_include_directive : require
//
// Conventions (see backend/vk_internal.h):
//  - local_size_x comes from specialization constant 0 (set per device);
//  - tensors are bound as storage buffers from an aligned offset; the
//    element offset of the first element is passed in push constants;
//  - very large dispatches are split into gl_NumWorkGroups.x * .y groups:
//    use linear_group_id().

uint linear_group_id() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

// Element-wise kernels over a strided [ne0][ne1][ne2][ne3] tensor: a workgroup
// covers consecutive elements of ONE row (cpr workgroups per row, the host's
// vkc_row_chunks), so the row's split into (i1, i2, i3) -- the divisions -- is
// the same in every lane: done once, not per element. CPU devices have no
// vector integer division: a per-lane div or mod is a scalar loop over the lanes.
// cpr == 0 (rows shorter than 32, where a workgroup a row would idle most
// lanes): one element a lane, its index split per lane.
// Returns false for the lanes past the row's end or the last row. wg: pass
// gl_WorkGroupSize.x from the shader (here, before the shader's local_size
// declaration, it would read as 1).
bool row_chunk_index(uint wg, uint cpr, uint nrows, uint ne0, uint ne1, uint ne2, out uvec4 idx) {
    uint g = linear_group_id();
    uint row;
    if (cpr == 0u) {
        uint i = g * wg + gl_LocalInvocationID.x;
        row = i / ne0;
        idx.x = i - row * ne0;
    } else {
        row = g / cpr;
        idx.x = (g - row * cpr) * wg + gl_LocalInvocationID.x;
    }
    idx.y = row % ne1;
    uint r = row / ne1;
    idx.z = r % ne2;
    idx.w = r / ne2;
    return row < nrows && idx.x < ne0;
}
