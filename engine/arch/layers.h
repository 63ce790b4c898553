/* layers.h — the layer toolkit's table rows: the tensors of the standard blocks, written once and
 * listed by each family's table (engine/arch/<arch>.c) in the order it reads them. A row:
 * {name, {shape, mvk_dim per axis}, n_dims, layer kinds holding it (0: every layer), flags, expert
 * part, destination}. */
#ifndef MVK_ARCH_LAYERS_H
#define MVK_ARCH_LAYERS_H

#include <stddef.h>

#include "engine_internal.h"
#include "family.h"

/* token embedding, final norm, LM head (absent: tied to the embedding) -> mvk_lm_weights */
#define MVK_ROWS_LM_GLOBALS                                                                                          \
    {"token_embd.weight", {MVK_D_EMBD, MVK_D_VOCAB}, 2, 0, 0, 0, offsetof(mvk_lm_weights, tok_embd)},                \
    {"output_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_lm_weights, out_norm)},                    \
    {"output.weight", {MVK_D_EMBD, MVK_D_VOCAB}, 2, 0, MVK_T_TIED, 0, offsetof(mvk_lm_weights, output)}

/* pre-norm attention with separate Q/K/V and per-head QK RMSNorm (Qwen3) -> mvk_lm_layer */
#define MVK_ROWS_ATTN_QK_NORM                                                                                        \
    {"blk.%d.attn_norm.weight", {MVK_D_EMBD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, attn_norm)},   \
    {"blk.%d.attn_q.weight", {MVK_D_EMBD, MVK_D_Q}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wq)},            \
    {"blk.%d.attn_k.weight", {MVK_D_EMBD, MVK_D_K}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wk)},            \
    {"blk.%d.attn_v.weight", {MVK_D_EMBD, MVK_D_V}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wv)},            \
    {"blk.%d.attn_output.weight", {MVK_D_O, MVK_D_EMBD}, 2, MVK_LAYER_ATTN, 0, 0, offsetof(mvk_lm_layer, wo)},       \
    {"blk.%d.attn_q_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, q_norm)},    \
    {"blk.%d.attn_k_norm.weight", {MVK_D_HEAD}, 1, MVK_LAYER_ATTN, MVK_T_F32, 0, offsetof(mvk_lm_layer, k_norm)}

/* the FFN's pre-norm (every layer) */
#define MVK_ROWS_FFN_NORM                                                                                            \
    {"blk.%d.ffn_norm.weight", {MVK_D_EMBD}, 1, 0, MVK_T_F32, 0, offsetof(mvk_lm_layer, ffn_norm)}

/* routed experts: router, gate/up/down expert stacks (parts 0, 1, 2 of the expert cache) */
#define MVK_ROWS_MOE                                                                                                 \
    {"blk.%d.ffn_gate_inp.weight", {MVK_D_EMBD, MVK_D_EXPERT}, 2, MVK_LAYER_MOE, 0, 0,                               \
     offsetof(mvk_lm_layer, gate_inp)},                                                                             \
    {"blk.%d.ffn_gate_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 0,     \
     offsetof(mvk_lm_layer, gate_exps)},                                                                            \
    {"blk.%d.ffn_up_exps.weight", {MVK_D_EMBD, MVK_D_FF_EXP, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 1,       \
     offsetof(mvk_lm_layer, up_exps)},                                                                              \
    {"blk.%d.ffn_down_exps.weight", {MVK_D_FF_EXP, MVK_D_EMBD, MVK_D_EXPERT}, 3, MVK_LAYER_MOE, MVK_T_EXPERT, 2,     \
     offsetof(mvk_lm_layer, down_exps)}

/* dense SwiGLU FFN */
#define MVK_ROWS_DENSE_FFN                                                                                           \
    {"blk.%d.ffn_gate.weight", {MVK_D_EMBD, MVK_D_FF}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_gate)},  \
    {"blk.%d.ffn_up.weight", {MVK_D_EMBD, MVK_D_FF}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_up)},      \
    {"blk.%d.ffn_down.weight", {MVK_D_FF, MVK_D_EMBD}, 2, MVK_LAYER_DENSE, 0, 0, offsetof(mvk_lm_layer, ffn_down)}

#define MVK_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

#endif
