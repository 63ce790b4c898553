// swar.glsl — the SWAR packings of int8 x and Q4_K nibbles (two products a 32-bit integer multiply, in
// 16-bit fields), shared by the lane mat-vec (matvec_lane.comp q4kx_swar, q6kx_xpairs) and the lane GEMM
// (matmul_lane.comp XQ). The bounds that keep the fields exact are matvec_lane.comp's (SWAR comments there).

// x's int8 word a (signed bytes x0..x3) as the SWAR pairs (X0, X1) = (x2 + x0 2^16, x3 + x1 2^16) (SWAR: q4kx_swar,
// q6kx_xpairs)
ivec2 xpair(uint a) {
    const ivec2 v = ivec2(int(a));
    return (((v << ivec2(24, 16)) >> 8) & int(0xffff0000u)) + ((v << ivec2(8, 0)) >> 24);
}
// x word a of the low block and h of the high block as (X0, X1) of a, (X0, X1) of h
ivec4 xswar(uint a, uint h) { return ivec4(xpair(a), xpair(h)); }
// Q4_K weight word q as (P0, P1, H0, H1): its low nibbles' pairs w0 + w2 2^16, w1 + w3 2^16 for x's (X0, X1) of
// the low block, the high nibbles' for the high block's
ivec4 wswar(uint q) { return ivec4((uvec4(q) >> uvec4(0u, 8u, 4u, 12u)) & 0x000f000fu); }
