// xq.glsl — one block of 32 of the lane mat-vec's int8 x (quant_x.comp's format and rounding), shared by
// quant_x.comp and the fused producers (fuse_xq.comp), so that every int8 x is the same float expression:
//   d = max|v_i| / 127, q_i = clamp(roundEven(v_i / d), -127, 127) (q_i = 0 where d = 0).
// Row layout (RQ = K/4 + 4 ceil(K/128) words): words 0 .. K/4-1 the quants (4 a word, byte k = value
// 4w + k, two's complement), then K/32 f32 scales, zero padded to whole 16-byte texels.
// Needs the caller's writeonly buffer named q (uint words).

// Block j of the row whose first word is qb (K/32 = nb blocks in the row): its quants and scale.
void xq_store_block(const float v[32], uint qb, uint K, uint j) {
    float amax = 0.0;
    for (uint i = 0; i < 32u; i++) amax = max(amax, abs(v[i]));
    const float d = amax / 127.0;
    const float id = d != 0.0 ? 1.0 / d : 0.0;
    for (uint w = 0; w < 8u; w++) {
        uint word = 0u;
        for (uint k = 0; k < 4u; k++) {
            const int qi = clamp(int(roundEven(v[4u * w + k] * id)), -127, 127);
            word |= (uint(qi) & 0xffu) << (8u * k);
        }
        q[qb + 8u * j + w] = word;
    }
    q[qb + (K >> 2) + j] = floatBitsToUint(d);
}

// The scales' padding to a whole texel: word pj (< xq_pad_words(nb)) of it.
uint xq_pad_words(uint nb) { return ((nb + 3u) & ~3u) - nb; }
void xq_store_pad(uint qb, uint K, uint nb, uint pj) { q[qb + (K >> 2) + nb + pj] = 0u; }
