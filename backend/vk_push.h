/* vk_push.h — the push constants of every shader, as C structs.
 *
 * Each struct mirrors the `layout(push_constant) uniform P` block of the
 * shader named beside it: same fields, same order, same types (uint ->
 * uint32_t, float -> float; std430 packs them without padding). The
 * _Static_assert pins the size to the number of fields; at pipeline
 * creation vk_pipeline.c also compares sizeof the struct the op sends with
 * the block size reflected from the shader's SPIR-V (tools/embed_spv.c), so
 * a field added on one side only fails the first test that runs the shader.
 * Offsets are element offsets of a binding (vk_bind_elem_offset), strides are
 * in elements of the binding's unit unless said. */
#ifndef VK_PUSH_H
#define VK_PUSH_H

#include <stdint.h>

#define VK_PUSH_WORDS(T, n) _Static_assert(sizeof(T) == 4 * (n), #T " must mirror its shader's P block (" #n " words)")

/* shaders/binary.comp */
typedef struct pc_binary {
    uint32_t ne0, ne1, ne2, ne3;     /* shape of a and y */
    uint32_t sa1, sa2, sa3;          /* a strides */
    uint32_t bne0, bne1, bne2, bne3; /* shape of b */
    uint32_t sb1, sb2, sb3;
    uint32_t sy1, sy2, sy3;
    uint32_t oa, ob, oy;
    uint32_t nrows;                  /* ne1 * ne2 * ne3 */
    uint32_t cpr;                    /* workgroups per row: ceil(ne0 / workgroup size) */
} pc_binary;
VK_PUSH_WORDS(pc_binary, 22);

/* shaders/unary.comp */
typedef struct pc_unary {
    uint32_t ne0, ne1, ne2, ne3;
    uint32_t sx1, sx2, sx3;
    uint32_t su1, su2, su3;
    uint32_t sy1, sy2, sy3;
    uint32_t ox, ou, oy;
    uint32_t nrows, cpr;             /* rows (ne1*ne2*ne3), workgroups per row (vk_row_chunks) */
    float f;                         /* scale factor; clamp's lower bound */
    float f2;                        /* clamp's upper bound */
} pc_unary;
VK_PUSH_WORDS(pc_unary, 20);

/* shaders/norm.comp */
/* shaders/norm_ln_lane.comp (vk_op_norm.c, CPU devices' LayerNorm: one row a lane) */
typedef struct pc_norm_ln_lane {
    uint32_t n4, ne1, ne2, nrows;    /* vec4s a row; rows */
    uint32_t sx1, sx2, sx3;          /* x strides (vec4s) */
    uint32_t sy1, sy2, sy3;          /* y strides (vec4s) */
    uint32_t ox, ow, ob, oy;         /* offsets (vec4s): x, w, b in their texel views, y in its binding */
    uint32_t has_w, has_b;
    float eps;
} pc_norm_ln_lane;
VK_PUSH_WORDS(pc_norm_ln_lane, 17);

typedef struct pc_norm {
    uint32_t ne0, ne1, ne2, nrows;
    uint32_t sx1, sx2, sx3;
    uint32_t sy1, sy2, sy3;
    uint32_t ox, ow, ob, oy;
    uint32_t has_w, has_b;
    float eps;
    uint32_t wsplit; /* rms/l2: rows with i1 >= wsplit weighted by b (the second weight); >= ne1: none */
} pc_norm;
VK_PUSH_WORDS(pc_norm, 18);

/* shaders/ssm_conv.comp */
typedef struct pc_ssm_conv {
    uint32_t C, T;
    uint32_t sx1, sy1;               /* token strides, floats */
    uint32_t ox, ow, os, oy;
    uint32_t silu;
} pc_ssm_conv;
VK_PUSH_WORDS(pc_ssm_conv, 9);

/* shaders/gdn_gates.comp */
typedef struct pc_gdn_gates {
    uint32_t H, n;                   /* heads, H·T invocations */
    uint32_t sa1, sb1, sg1, sbe1;    /* token strides, floats */
    uint32_t oa, ob, odt, oaa, og, obe;
} pc_gdn_gates;
VK_PUSH_WORDS(pc_gdn_gates, 12);

/* shaders/delta_net.comp */
typedef struct pc_delta_net {
    uint32_t Hk, Hv, T, n_jt;        /* n_jt: value-column tiles per head */
    uint32_t sq1, sq2, sk1, sk2, sv1, sv2, sg1, sb1, so1, so2; /* head (…1) and token (…2) strides, floats */
    uint32_t oq, ok, ov, og, ob, os, oo;
    float scale;
} pc_delta_net;
VK_PUSH_WORDS(pc_delta_net, 22);

/* shaders/softmax.comp */
typedef struct pc_softmax {
    uint32_t ne0, ne1, ne2, nrows;
    uint32_t sx1, sx2, sx3;
    uint32_t sy1, sy2, sy3;
    uint32_t ox, oy;
    float scale;
} pc_softmax;
VK_PUSH_WORDS(pc_softmax, 13);

/* shaders/argmax.comp */
typedef struct pc_argmax {
    uint32_t ne0, ne1, ne2, nrows;
    uint32_t sx1, sx2, sx3;
    uint32_t ox, oi;
    uint32_t mode, nparts;
} pc_argmax;
VK_PUSH_WORDS(pc_argmax, 11);

/* shaders/argmax_lane.comp */
typedef struct pc_argmax_lane {
    uint32_t ne0, ne1, ne2, nrows;
    uint32_t sx1, sx2, sx3;
    uint32_t ox;
    uint32_t nparts, plen;
} pc_argmax_lane;
VK_PUSH_WORDS(pc_argmax_lane, 10);

/* shaders/rope.comp */
typedef struct pc_rope {
    uint32_t nh, H, T, cpr;          /* pair slots per head, heads, tokens, workgroups per (head, token) row */
    uint32_t sx1, sx2, sy1, sy2;
    uint32_t ox, op, oy;
    uint32_t mode, half_;
    uint32_t s0, s1, s2, s3;
    float l2s;                       /* log2(theta_scale) */
    uint32_t off, has_ff;            /* frequency factors: element offset, bound */
} pc_rope;
VK_PUSH_WORDS(pc_rope, 20);

/* shaders/norm.comp rms_rope: RMSNorm then RoPE (vk_op_rms_norm_rope_split): norm.comp's fields, then rope.comp's
 * angle fields */
typedef struct pc_norm_rope {
    pc_norm n;
    uint32_t op, mode, half_;
    uint32_t s0, s1, s2, s3;
    float l2s;
    uint32_t off, has_ff;
} pc_norm_rope;
VK_PUSH_WORDS(pc_norm_rope, 28);

/* shaders/attn_decode.comp */
typedef struct pc_attn_decode {
    uint32_t G, Tk, n_chunks;
    uint32_t sq1, sk1, sk2, sv1, sv2;
    uint32_t oq, ok, ov, on;
    uint32_t has_nkv;
    float scale;
    uint32_t window;                 /* 0: none; else keys < n_kv - window are not seen */
    uint32_t oo, so1;                /* DIRECT (spec id 4): the output's offset and head stride, floats */
} pc_attn_decode;
VK_PUSH_WORDS(pc_attn_decode, 17);

/* shaders/attn_combine.comp */
typedef struct pc_attn_combine {
    uint32_t HD, n_chunks, so1, oo;
} pc_attn_combine;
VK_PUSH_WORDS(pc_attn_combine, 4);

/* shaders/attn_prefill.comp */
typedef struct pc_attn_prefill {
    uint32_t Tq, G, Tk, nrows;       /* nrows = G·Tq rows per KV head */
    uint32_t sq1, sq2, sk1, sk2, sv1, sv2, so1, so2;
    uint32_t oq, ok, ov, oo, on;
    uint32_t has_nkv, causal;
    float scale;
    uint32_t window, nc_lo, nc_hi;   /* sliding window (0: none); both-ways span [nc_lo, nc_hi) */
} pc_attn_prefill;
VK_PUSH_WORDS(pc_attn_prefill, 23);

/* shaders/attn_vit.comp (vk_op_attention.c attn_vit, CPU devices: full-mask small heads) */
typedef struct pc_attn_vit {
    uint32_t Tq, Tk, G;              /* queries, keys, query heads a KV head */
    uint32_t sq1, sq2, sk1, sk2;     /* head / token strides of q and k (vec4s) */
    uint32_t sv1, sv2, so1, so2;     /* of v and out (vec4s) */
    uint32_t oq, ok, ov, oo;         /* offsets of q, k, v in their texel views and of out in its binding (vec4s) */
    float scale;
} pc_attn_vit;
VK_PUSH_WORDS(pc_attn_vit, 16);

/* shaders/attn_softmax.comp (vk_op_attention.c attn_lane, CPU devices) */
typedef struct pc_attn_softmax {
    uint32_t nrows, rpq;             /* rows; queries a head (row r: query q0 + r % rpq) */
    uint32_t q0, Tq, nkv;
    uint32_t klo, nk, kp4;           /* keys [klo, klo + nk) in columns [0, nk); row stride in vec4s */
    uint32_t os, op;                 /* S's offset in its texel view, P's in its binding (floats, multiples of 4) */
    uint32_t causal;
    float scale;
    uint32_t window, nc_lo, nc_hi;   /* vk_attn_params */
} pc_attn_softmax;
VK_PUSH_WORDS(pc_attn_softmax, 15);

/* shaders/attn_rows.comp (vk_op_attention.c attn_lane, CPU devices) */
typedef struct pc_attn_rows {
    uint32_t n4, ne1, ne2, nrows;    /* vec4s a row; rows = ne1 · ne2 · ne3 */
    uint32_t sx1, sx2, sx3, ox;      /* in vec4s */
    uint32_t sy1, sy2, sy3, oy;
} pc_attn_rows;
VK_PUSH_WORDS(pc_attn_rows, 12);

/* shaders/attn_wide.comp (head dims above 256) */
typedef struct pc_attn_wide {
    uint32_t Tq, G, Tk, nrows;       /* nrows = G·Tq rows per KV head */
    uint32_t sq1, sq2, sk1, sk2, sv1, sv2, so1, so2;
    uint32_t oq, ok, ov, oo, on;
    uint32_t has_nkv, causal;
    uint32_t CK, nd;                 /* keys per split-K chunk (0: no split), blocks of output dims */
    float scale;
    uint32_t window, nc_lo, nc_hi;   /* vk_attn_params */
} pc_attn_wide;
VK_PUSH_WORDS(pc_attn_wide, 25);

/* shaders/matmul.comp and shaders/matvec.comp without MUL_MAT_ID */
typedef struct pc_matmul {
    uint32_t M, N, K;
    uint32_t xs1, ws1, ys1;          /* row strides: floats, w units, floats */
    uint32_t ox, ow, oy, ob;
    uint32_t has_bias;
    uint32_t fast;                   /* aligned rows: vectorised loads */
} pc_matmul;
VK_PUSH_WORDS(pc_matmul, 12);

/* shaders/fuse_xq.comp (vk_op_norm.c, vk_op_unary.c): rms (x, w), swiglu and geglu (g, u) */
typedef struct pc_fuse_xq {
    uint32_t K, R1, nrows;           /* row length; rows along ne1; rows (R1 ne2) */
    uint32_t sa1, sa2;               /* x / g strides of ne1, ne2 (floats) */
    uint32_t sb1, sb2;               /* u strides (swiglu, geglu) */
    uint32_t sy1, sy2;               /* y strides */
    uint32_t oa, ob, oy, oq;         /* x / g, w / u, y (floats), xq (words) */
    uint32_t rq;                     /* xq row stride (words) */
    uint32_t has_w;                  /* rms: times w */
    float eps;                       /* rms */
} pc_fuse_xq;
VK_PUSH_WORDS(pc_fuse_xq, 16);

/* shaders/quant_x.comp (vk_op_quant_x.c) */
typedef struct pc_quant_x {
    uint32_t K, R1;                  /* row length; rows along ne1 */
    uint32_t sx1, sx2;               /* x strides of ne1, ne2 (floats) */
    uint32_t ox, oq;                 /* floats, words */
    uint32_t rq;                     /* output row stride (words) */
} pc_quant_x;
VK_PUSH_WORDS(pc_quant_x, 7);

/* shaders/matvec.comp with MUL_MAT_ID */
typedef struct pc_matvec_id {
    uint32_t N, K, nslot;
    uint32_t xs_slot, xs_tok;        /* floats; xs_slot = 0: one input per token */
    uint32_t ws1, ws2;               /* units */
    uint32_t ys_slot, ys_tok;
    uint32_t ox, ow, oy, oi;
    uint32_t is1;                    /* ids token stride in ints */
    uint32_t e0, e1, E, zero_invalid;
    uint32_t fast;
} pc_matvec_id;
VK_PUSH_WORDS(pc_matvec_id, 19);

/* shaders/matvec_lane.comp GATEUP (the fused gate+up mat-vec, vk_op_gateup.c): the plain kernel's
 * block for the gate weights, then the up weights' offset and strides (units) */
typedef struct pc_gateup {
    pc_matmul g;                     /* M = 1, has_bias = 0 */
    uint32_t owu, wsu1;
} pc_gateup;
VK_PUSH_WORDS(pc_gateup, 14);

typedef struct pc_gateup_id {
    pc_matvec_id g;
    uint32_t owu, wsu1, wsu2;
} pc_gateup_id;
VK_PUSH_WORDS(pc_gateup_id, 22);

/* shaders/matmul.comp with MUL_MAT_ID */
typedef struct pc_matmul_id {
    uint32_t N, K, nslot;
    uint32_t xs_slot, xs_tok;
    uint32_t ws1, ws2;
    uint32_t ys_slot, ys_tok;
    uint32_t ox, ow, oy, ometa, olist;
    uint32_t e0, e1, E;              /* experts [e0, e1) are bound */
    uint32_t fast;
} pc_matmul_id;
VK_PUSH_WORDS(pc_matmul_id, 18);

/* shaders/moe_group.comp */
typedef struct pc_moe_group {
    uint32_t nslot, T, is1, oi;
    uint32_t ometa, olist;
    uint32_t N, ys_slot, ys_tok, oy;
} pc_moe_group;
VK_PUSH_WORDS(pc_moe_group, 10);

/* shaders/moe_combine.comp */
typedef struct pc_moe_combine {
    uint32_t N, k, T;
    uint32_t xs1, xs2, ws1, ys1;
    uint32_t ox, ow, oy;
    uint32_t has_r, rs1, or_; /* y = r + the sum where has_r (r: the residual stream) */
} pc_moe_combine;
VK_PUSH_WORDS(pc_moe_combine, 13);

/* shaders/moe_gate.comp */
typedef struct pc_moe_gate {
    uint32_t T, k, mode, renorm;
    uint32_t ls1, is1, ws1;
    uint32_t ol, oi, ow;
} pc_moe_gate;
VK_PUSH_WORDS(pc_moe_gate, 10);

/* shaders/get_rows.comp */
typedef struct pc_get_rows {
    uint32_t D, T, ws1, is0, ys1;
    uint32_t ow, oi, oy;
    uint32_t v0, v1, V, zero_invalid;
} pc_get_rows;
VK_PUSH_WORDS(pc_get_rows, 12);

/* shaders/set_rows.comp */
typedef struct pc_set_rows {
    uint32_t D, T, ss1, is0, ds1;    /* ds1 in dst elements */
    uint32_t os, oi, od;
    uint32_t r0, r1, pairs;
    uint32_t two, D2, ss1b, ds1b, osb, odb, pairs2; /* the second pair (vk_op_set_rows2) */
} pc_set_rows;
VK_PUSH_WORDS(pc_set_rows, 18);

/* shaders/convert.comp */
typedef struct pc_convert {
    uint32_t ne0, ne1, ne2, ne3;
    uint32_t sx1, sx2, sx3;          /* source elements */
    uint32_t sy1, sy2, sy3;          /* destination elements */
    uint32_t ox, oy, cpr, pairs;     /* cpr: workgroups per row (of ne0 elements, or ne0/2 pairs) */
} pc_convert;
VK_PUSH_WORDS(pc_convert, 14);

/* shaders/im2col.comp */
typedef struct pc_im2col {
    uint32_t p, K, gx, np;           /* patch size (also the pipeline's spec constant P), p*p*C, patches per row, patches */
    uint32_t cpr;                    /* workgroups per column: ceil(K / workgroup size); 0: one element a lane (vkc_row_chunks) */
    uint32_t s1, s2, sc1;
    uint32_t oi, oc;
} pc_im2col;
VK_PUSH_WORDS(pc_im2col, 10);

/* shaders/resize.comp */
typedef struct pc_resize {
    uint32_t ne0, ne1, ne2, ne3;     /* shape of y */
    uint32_t in_a, in_b;
    uint32_t axis0;
    uint32_t sx1, sx2, sx3;
    uint32_t sy1, sy2, sy3;
    uint32_t ox, oy;
    uint32_t n;
    uint32_t align_corners;
} pc_resize;
VK_PUSH_WORDS(pc_resize, 17);

/* shaders/probe.comp (moevk bench probe) */
typedef struct pc_probe {
    uint32_t n4;      /* uvec4s in the source */
    uint32_t per;     /* uvec4s per invocation (read_lane) / iterations (fma) */
    uint32_t ninv;    /* invocations in all */
    float a, b;       /* fma: x <- x * a + b */
} pc_probe;
VK_PUSH_WORDS(pc_probe, 5);

#endif
