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
