/* mvk_type_table.h — THE list of element types moevk knows, one row each.
 * Everything that knows types reads it: the mvk_type enum and mvk_type_info
 * (mvk_types.h/.c), the GGUF reader, the weight ops' checks, the tests, and
 * CMakeLists.txt, which reads the MVK_WTYPE rows to generate the shader
 * variants ({w} in a shader's "// variants:" line, define W_<ID>).
 *
 * MVK_WTYPE(ID, name, suffix, ggml_id, block_elems, block_bytes, s_off, s_bytes, n_f16, deq)
 *   a weight type: usable by matmul, mul_mat_id and get_rows.
 *   name    ggml's name (as gguf and llama.cpp print it)
 *   suffix  shader-variant suffix (lower case; the GLSL block is #if W_<ID>)
 *   s_off, s_bytes  device layout (docs/QUANT_LAYOUTS.md): the block's scale
 *           part, bytes [s_off, s_off + s_bytes) of the ggml block, moves to
 *           the scale area at the end of the row; the rest of the block (its
 *           quants, a multiple of 4 bytes) stays in the quant area. 0, 0: the
 *           type is stored as in the file (F32, F16, BF16).
 *   n_f16   leading f16 values of the scale part (d, m/dmin); tests use it
 *   deq     CPU dequantiser (core/mvk_dequant.c), ggml's to_float
 * MVK_DTYPE(ID, name, suffix, id, block_elems, block_bytes, s_off, s_bytes, n_f16, deq, from, widen)
 *   a device-only weight type: never in a file (its id is past ggml's, >= 128), made on the host at
 *   load from weights of file type `from` by `widen` (core/mvk_dequant.c; mvk_widen_rows), for kernels
 *   that read it faster (docs/QUANT_LAYOUTS.md, "Device-only types"). Its values are bit for bit those
 *   of `from`. Includers that do not define MVK_DTYPE see it as an MVK_WTYPE row.
 * MVK_OTYPE(ID, name, ggml_id, elem_bytes): a non-weight element type.
 *
 * Adding a weight type: one MVK_WTYPE (or MVK_DTYPE) row here, one GLSL block in
 * shaders/wquant.glsl, one CPU dequantiser, and its test rows. */
#ifndef MVK_DTYPE
#define MVK_DTYPE(ID, name, sfx, gid, be, bb, so, sb, nf, deq, from, widen) MVK_WTYPE(ID, name, sfx, gid, be, bb, so, sb, nf, deq)
#define MVK_DTYPE_AS_WTYPE
#endif
/* clang-format off */
MVK_WTYPE(F32,    "f32",    f32,     0,   1,   4,   0, 0, 0, mvk_deq_f32)
MVK_WTYPE(F16,    "f16",    f16,     1,   1,   2,   0, 0, 0, mvk_deq_f16)
MVK_WTYPE(BF16,   "bf16",   bf16,   30,   1,   2,   0, 0, 0, mvk_deq_bf16)
MVK_WTYPE(Q4_0,   "q4_0",   q4_0,    2,  32,  18,   0, 2, 1, mvk_deq_q4_0)
MVK_WTYPE(Q4_1,   "q4_1",   q4_1,    3,  32,  20,   0, 4, 2, mvk_deq_q4_1)
MVK_WTYPE(Q5_0,   "q5_0",   q5_0,    6,  32,  22,   0, 2, 1, mvk_deq_q5_0)
MVK_WTYPE(Q5_1,   "q5_1",   q5_1,    7,  32,  24,   0, 4, 2, mvk_deq_q5_1)
MVK_WTYPE(Q8_0,   "q8_0",   q8_0,    8,  32,  34,   0, 2, 1, mvk_deq_q8_0)
MVK_WTYPE(Q2_K,   "q2_K",   q2_k,   10, 256,  84,  80, 4, 2, mvk_deq_q2_k)
MVK_WTYPE(Q3_K,   "q3_K",   q3_k,   11, 256, 110, 108, 2, 1, mvk_deq_q3_k)
MVK_WTYPE(Q4_K,   "q4_K",   q4_k,   12, 256, 144,   0,16, 2, mvk_deq_q4_k)
MVK_WTYPE(Q5_K,   "q5_K",   q5_k,   13, 256, 176,   0, 4, 2, mvk_deq_q5_k)
MVK_WTYPE(Q6_K,   "q6_K",   q6_k,   14, 256, 210, 208, 2, 1, mvk_deq_q6_k)
MVK_WTYPE(IQ4_NL, "iq4_nl", iq4_nl, 20,  32,  18,   0, 2, 1, mvk_deq_iq4_nl)
MVK_WTYPE(IQ4_XS, "iq4_xs", iq4_xs, 23, 256, 136,   0, 4, 1, mvk_deq_iq4_xs)
MVK_WTYPE(MXFP4,  "mxfp4",  mxfp4,  39,  32,  17,   0, 1, 0, mvk_deq_mxfp4)
/* Q6_K with its 6-bit values one a byte (0..63, the + 32 kept) in element order, then its int8 scales[16] (one
 * per 16 values), then f16 d: 274 bytes a 256, the quant part (q[256], scales[16]) 17 whole 16-byte units.
 * The lane mat-vec reads a value word as is, where Q6_K's are assembled from ql and qh (section 44 of
 * docs/PERFORMANCE.md) */
MVK_DTYPE(Q6_K8,  "q6_K8",  q6_k8, 142, 256, 274, 272, 2, 1, mvk_deq_q6_k8, Q6_K, mvk_widen_q6_k8)
MVK_OTYPE(I32,    "i32",            26,            4)
/* clang-format on */
#ifdef MVK_DTYPE_AS_WTYPE
#undef MVK_DTYPE
#undef MVK_DTYPE_AS_WTYPE
#endif
