/* tensor_walk.c — the one walker over a family's tensor table (family.h): the shape check, the
 * sizing pass, the upload and the expert sources all go through here, so a tensor's name and
 * shape are written once, in its family's table. */
#include <stdio.h>

#include "family.h"
#include "model_hparams.h"
#include "mvk_status.h"

moevk_status mvk_walk_tensors(const gguf_file *f, const mvk_tensor_group *groups, int n_groups, const int64_t *dims,
                              mvk_tensor_visit visit, void *user) {
    for (int g = 0; g < n_groups; g++) {
        const mvk_tensor_group *G = &groups[g];
        for (int i = 0; i < G->count; i++) {
            uint8_t kind = G->kind ? G->kind(G->kind_ctx, i) : 0xff;
            int no = G->name_no ? G->name_no[i] : i;
            int64_t own[MVK_D_COUNT];
            const int64_t *D = dims;
            if (G->dims_of) { /* this block's own shapes */
                for (int d = 0; d < MVK_D_COUNT; d++) own[d] = dims[d];
                G->dims_of(G->kind_ctx, i, own);
                D = own;
            }
            for (int r = 0; r < G->n_spec; r++) {
                const mvk_tensor_spec *s = &G->spec[r];
                if (s->layers && !(s->layers & kind)) continue;
                if ((s->flags & (MVK_T_TIED | MVK_T_OPTIONAL)) && !mvk_find_tensorf(f, s->name, no)) continue;
                int64_t ne[4];
                for (int d = 0; d < 4; d++) ne[d] = D[s->ne[d] < MVK_D_COUNT ? s->ne[d] : MVK_D_1];
                const gguf_tensor_info *ti = NULL;
                MVK_TRY(mvk_require_tensor(f, ne, s->n_dims, &ti, s->name, no));
                if (!visit) continue;
                mvk_tensor *out = G->dst ? (mvk_tensor *)((char *)G->dst + (size_t)i * G->stride + s->dst) : NULL;
                MVK_TRY(visit(user, s, i, ti, out));
            }
        }
    }
    return MOEVK_OK;
}

void mvk_text_dims(const mvk_text_hparams *hp, int64_t *d) {
    for (int i = 0; i < MVK_D_COUNT; i++) d[i] = 1;
    d[MVK_D_EMBD] = hp->n_embd;
    d[MVK_D_VOCAB] = hp->n_vocab;
    d[MVK_D_Q] = (int64_t)hp->n_head * hp->head_dim;
    d[MVK_D_K] = (int64_t)hp->n_head_kv * hp->head_dim;
    d[MVK_D_V] = (int64_t)hp->n_head_kv * hp->head_dim_v;
    d[MVK_D_O] = (int64_t)hp->n_head * hp->head_dim_v;
    d[MVK_D_HEAD] = hp->head_dim;
    d[MVK_D_FF] = hp->n_ff;
    d[MVK_D_FF_EXP] = hp->n_ff_exp;
    d[MVK_D_FF_EXP2] = 2 * (int64_t)hp->n_ff_exp;
    d[MVK_D_EXPERT] = hp->n_expert;
    d[MVK_D_QG] = 2 * (int64_t)hp->n_head * hp->head_dim;
    d[MVK_D_FF_SHEXP] = hp->n_ff_shexp;
    d[MVK_D_SSM_CONV] = hp->ssm_conv;
    d[MVK_D_SSM_CH] = 2 * (int64_t)hp->ssm_state * hp->ssm_groups + hp->ssm_inner;
    d[MVK_D_SSM_INNER] = hp->ssm_inner;
    d[MVK_D_SSM_HV] = hp->ssm_heads_v;
    d[MVK_D_SSM_S] = hp->ssm_state;
    d[MVK_D_HALF_HEAD] = hp->head_dim / 2;
}

/* A sliding-window layer's attention shapes (gemma4): its own head dim and KV heads. */
static void text_layer_dims(const void *ctx, int il, int64_t *d) {
    const mvk_text_hparams *hp = ctx;
    if (!(hp->fam->layer_kind(hp, il) & MVK_LAYER_SWA)) return;
    const int64_t hd = hp->head_dim_swa, H = hp->n_head, Hk = hp->n_head_kv_swa;
    d[MVK_D_Q] = d[MVK_D_O] = H * hd;
    d[MVK_D_K] = d[MVK_D_V] = Hk * hd;
    d[MVK_D_HEAD] = hd;
}

void mvk_text_tensor_groups(const mvk_text_hparams *hp, void *globals, void *layers, size_t layer_stride,
                            mvk_tensor_group *g) {
    const mvk_family *F = hp->fam;
    g[0] = (mvk_tensor_group){.spec = F->globals, .n_spec = F->n_globals, .count = 1, .dst = globals};
    g[1] = (mvk_tensor_group){.spec = F->layer, .n_spec = F->n_layer_spec, .count = hp->n_layer, .kind = F->layer_kind,
                              .kind_ctx = hp, .dims_of = hp->n_swa ? text_layer_dims : NULL, .dst = layers,
                              .stride = layer_stride};
}
