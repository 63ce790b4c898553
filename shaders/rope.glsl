// rope.glsl — the rotation angle of a RoPE pair slot, shared by rope.comp and norm.comp's rms_rope (RMSNorm then
// RoPE in one pass). The includer declares the push constants p.mode, p.s0..s3, p.op (positions' element offset),
// p.l2s, p.has_ff, p.off and the buffers pos (I32) and ff (F32); see rope.comp for the modes.
const uint NEOX = 0, MROPE = 1, IMROPE = 2, VISION = 3;

// the angle of pair slot j (< half) of token t of T
float rope_theta(uint j, uint t, uint T) {
    uint comp = 0;
    uint e = j;
    if (p.mode == MROPE) {
        uint sector = j % (p.s0 + p.s1 + p.s2 + p.s3);
        comp = sector < p.s0 ? 0 : sector < p.s0 + p.s1 ? 1 : sector < p.s0 + p.s1 + p.s2 ? 2 : 3;
    } else if (p.mode == IMROPE) {
        uint sector = j % (p.s0 + p.s1 + p.s2 + p.s3);
        if (sector % 3 == 1 && sector < 3 * p.s1) comp = 1;
        else if (sector % 3 == 2 && sector < 3 * p.s2) comp = 2;
        else if (sector % 3 == 0 && sector < 3 * p.s0) comp = 0;
        else comp = 3;
    } else if (p.mode == VISION) {
        uint sector = j % (p.s0 + p.s1);
        comp = sector < p.s0 ? 0 : 1;
        e = sector < p.s0 ? sector : sector - p.s0;
    }
    int ps = pos[p.op + comp * T + t];
    float theta = float(ps) * exp2(float(e) * p.l2s);
    if (p.has_ff != 0) theta /= ff[p.off + e];
    return theta;
}
