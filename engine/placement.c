/* placement.c — what goes on the device, decided before anything is
 * uploaded (docs/EXPERT_CACHE.md).
 *
 * Resident first: every weight but the routed experts (attention, norms,
 * routers, embeddings, LM head, vision tower), the KV cache and the
 * recurrent state of the Gated DeltaNet layers, the decode
 * step's buffers and a scratch reserve for the largest prefill micro-batch
 * (n_ubatch tokens, lm.c) and the largest image the vision tower encodes
 * (the image-token cap): neither grows with n_ctx.
 * If the budget also holds every expert, everything is uploaded as before.
 * Otherwise the rest of the budget becomes expert slots, the same number in
 * every MoE layer, at least top-k (a decode step needs k experts of a layer
 * at once). A budget below resident + top-k slots per layer is an
 * OUT_OF_DEVICE_MEMORY error giving both sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/layers.h"
#include "engine_internal.h"
#include "mvk_status.h"

#define MIB(x) ((double)(x) / 1048576.0)

static uint64_t al(uint64_t b) { return (b + 255) / 256 * 256; }

/* Attention's scratch for Tq queries over Tk keys (vk_op_attention.c: score
 * blocks S and P of at most 32 MiB each, V transposed, one output block). */
static uint64_t attn_scratch(uint64_t Tq, uint64_t Tk, uint64_t hd, uint64_t H) {
    uint64_t sp = Tq * Tk * 4;
    if (sp > (32ull << 20)) sp = 32ull << 20;
    uint64_t dec = (hd + 2) * ((Tk + 127) / 128) * H * 4;
    return 2 * al(sp) + al(Tk * hd * 4) + al(hd * Tq * 4) + al(dec);
}

/* The decode step's split-K attention partials over Tk keys (vk_op_attention.c:
 * hd + 2 floats per chunk of 128 keys and query head): memory that grows with
 * the context, so the plan counts it with the KV cache, not the scratch. */
static uint64_t attn_decode_partials(uint64_t Tk, uint64_t hd, uint64_t H) { return al((hd + 2) * ((Tk + 127) / 128) * H * 4); }

/* Upper estimate of the LM prefill's scratch for a micro-batch of T tokens
 * (record_layers: one layer's intermediates at a time, plus what lives across
 * layers). The LM's attention is causal: the fused kernel reads the KV cache
 * in place and takes no scratch (the score blocks of attn_scratch are the
 * full-mask vision path's), so nothing here grows with the context. */
static uint64_t lm_scratch(const mvk_text_hparams *hp, uint64_t T) {
    const uint64_t E = (uint64_t)hp->n_embd, hd = (uint64_t)hp->head_dim, hdv = (uint64_t)hp->head_dim_v;
    const uint64_t Hq = (uint64_t)hp->n_head, Hk = (uint64_t)hp->n_head_kv, V = (uint64_t)hp->n_vocab;
    const uint64_t L = (uint64_t)hp->n_moe_layers, k = (uint64_t)(hp->n_expert_used > 0 ? hp->n_expert_used : 1);
    uint64_t layer = 3 * al(E * T * 4) + 3 * al(Hq * hd * T * 4) + 3 * al(Hk * hd * T * 4) + al(Hk * hdv * T * 4) +
                     al(Hq * hdv * T * 4);
    if (hp->is_moe) {
        const uint64_t X = (uint64_t)hp->n_expert, F = (uint64_t)hp->n_ff_exp;
        layer += al(X * T * 4) + 2 * al(F * k * T * 4) + 2 * al(E * k * T * 4) + al(E * T * 4) + al((2 * X + 2) * 4) +
                 al(k * T * 4) + 3 * al(E * 4 + X * 4);
    } else {
        layer += 2 * al((uint64_t)hp->n_ff * T * 4) + al(E * T * 4);
    }
    if (hp->n_recur_layers) { /* qwen35: the Gated DeltaNet mixer (layers.c), the gates of attn_q, the shared expert */
        const uint64_t S = (uint64_t)hp->ssm_state, Hv = (uint64_t)hp->ssm_heads_v, D = (uint64_t)hp->ssm_inner;
        const uint64_t C = 2 * S * (uint64_t)hp->ssm_groups + D, Fs = (uint64_t)hp->n_ff_shexp;
        layer += 2 * al(E * T * 4) + al(C * T * 4) + 2 * al(D * T * 4) + 4 * al(Hv * T * 4); /* a, o; qkv; z, n; gates */
        layer += al(Hq * hd * T * 4);                                                     /* attn_q's gate half */
        if (hp->is_moe) layer += 2 * al(Fs * T * 4) + al(E * T * 4) + al(T * 4);          /* shared expert */
    }
    if (hp->n_swa) { /* gemma4 (layers.c mvk_attn_gemma4, mvk_ffn_gemma4): a sliding layer's own Q/K/V rows, the V
                        norm, the post-norms, the dense GeGLU MLP beside the MoE, the router input, the scaled weights */
        const uint64_t hs = (uint64_t)hp->head_dim_swa, Hks = (uint64_t)hp->n_head_kv_swa;
        layer += 3 * al(Hq * hs * T * 4) + 4 * al(Hks * hs * T * 4) + al(Hk * hd * T * 4);
        layer += 2 * al((uint64_t)hp->n_ff * T * 4) + 8 * al(E * T * 4) + 2 * al(k * T * 4);
    }
    uint64_t rows = V * T * 4 <= (64ull << 20) ? T : 1; /* eval may ask for every row's logits */
    uint64_t keep = al(E * T * 4) + 2 * al(k * T * L * 4) + al(E * rows * 4) + al(V * rows * 4) + al((7 * T + 2) * 4);
    return layer + keep;
}

/* Upper estimate of the vision encoder's scratch for N patches (vision.c). */
static uint64_t vision_scratch(const mvk_vision_hparams *v, uint64_t N) {
    const uint64_t d = (uint64_t)v->n_embd, d4 = (uint64_t)v->n_merged, To = (uint64_t)v->n_mmproj_embd;
    const uint64_t mm = (uint64_t)(v->spatial_merge * v->spatial_merge), n_img = N / (mm ? mm : 1) + 1;
    const uint64_t p = (uint64_t)v->patch_size;
    if (v->proj == MVK_PROJ_GEMMA4V) { /* clip_gemma4v.c: the residual and a table row; per block 21 [d][N] (norms,
                                          q/k/v, their clamped inputs, RoPE, attention, output, post-norms), the MLP's
                                          gate, up and clamped down input; then the pool, its norm and the projection */
        uint64_t keep = 2 * al(d * N * 4) + al(p * p * 3 * N * 4);
        uint64_t block = 21 * al(d * N * 4) + 3 * al((uint64_t)v->n_ff * N * 4) +
                         attn_scratch(N, N, (uint64_t)v->head_dim, (uint64_t)v->n_head);
        return keep + block + 3 * al(d * n_img * 4) + 2 * al(To * n_img * 4);
    }
    uint64_t keep = 5 * al(d * N * 4) + al(p * p * 3 * N * 4);
    uint64_t block = 8 * al(d * N * 4) + al(3 * d * N * 4) + al((uint64_t)v->n_ff * N * 4) +
                     attn_scratch(N, N, (uint64_t)v->head_dim, (uint64_t)v->n_head) + 2 * al(d4 * n_img * 4) + al(To * n_img * 4);
    return keep + block;
}

static uint64_t env_mib(const char *name, int *bad) {
    const char *e = getenv(name);
    *bad = 0;
    if (!e || !e[0]) return 0;
    char *end = NULL;
    unsigned long long v = strtoull(e, &end, 10);
    if (*end || v == 0) {
        *bad = 1;
        return 0;
    }
    return v;
}

moevk_status mvk_device_mem_request(const moevk_model_params *p, uint64_t *bytes) {
    *bytes = 0;
    if (p->device_mem_mib) {
        *bytes = p->device_mem_mib << 20;
        return MOEVK_OK;
    }
    int bad = 0;
    uint64_t mib = env_mib("MOEVK_DEVICE_MEM", &bad);
    if (bad)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "MOEVK_DEVICE_MEM='%s' is not a positive whole number of MiB", getenv("MOEVK_DEVICE_MEM"));
    *bytes = mib << 20;
    return MOEVK_OK;
}

/* What the resident set holds for a context of n_ctx tokens prefilled in micro-batches of n_ubatch. */
typedef struct plan_sizes {
    uint64_t kv, state, fixed, scratch, slack, resident;
} plan_sizes;

static void sizes_for(const moevk_model *m, uint64_t n_ctx, uint64_t n_ubatch, plan_sizes *z) {
    const mvk_text_hparams *hp = &m->hp;
    /* KV caches: the attention layers (below); routing and expert slots: the MoE layers */
    const uint64_t L = (uint64_t)hp->n_moe_layers;
    const uint64_t k = (uint64_t)(hp->n_expert_used > 0 ? hp->n_expert_used : 1);
    memset(z, 0, sizeof *z);
    for (int il = 0; il < hp->n_layer; il++) { /* each attention layer's KV rows in its own geometry (gemma4: two) */
        const uint8_t kind = hp->fam->layer_kind(hp, il);
        if (!(kind & MVK_LAYER_ATTN)) continue;
        const mvk_attn_geom g = mvk_layer_geom(hp, kind);
        uint64_t kv_row = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hd);
        uint64_t kv_rowv = (uint64_t)mvk_row_bytes(m->seq.kv_type, g.Hkv * g.hdv);
        uint64_t rows = (uint64_t)mvk_kv_rows(hp, kind, (int64_t)n_ctx, (int64_t)n_ubatch); /* sliding: window + ub */
        z->kv += al(kv_row * rows) + al(kv_rowv * rows);
    }
    uint64_t hd_max = (uint64_t)(hp->head_dim > hp->head_dim_v ? hp->head_dim : hp->head_dim_v);
    if ((uint64_t)hp->head_dim_swa > hd_max) hd_max = (uint64_t)hp->head_dim_swa; /* gemma4's sliding layers */
    if (hp->n_attn_layers) z->kv += attn_decode_partials(n_ctx, hd_max, (uint64_t)hp->n_head);
    if (hp->n_recur_layers) { /* the recurrent state of each Gated DeltaNet layer, beside the KV cache (lm.c) */
        uint64_t conv = 0, all = mvk_lm_recur_state_bytes(hp, &conv);
        z->state = (uint64_t)hp->n_recur_layers * (al(conv) + al(all - conv));
    }
    z->fixed = al((uint64_t)hp->n_vocab * 4) + 4 * al((L ? L : 1) * k * 8) + 4 * 256;
    const uint64_t T = n_ubatch < n_ctx ? n_ubatch : n_ctx;
    uint64_t scratch = lm_scratch(hp, T);
    if (m->has_vision) {
        /* the largest image: the image-token cap (the mmproj's key, else llama.cpp's 4096), or the context if shorter */
        const mvk_vision_hparams *v = &m->vis.hp;
        int min_t = 0, max_t = 0;
        mvk_image_budget(v, 0, 0, &min_t, &max_t);
        uint64_t I = (uint64_t)max_t < n_ctx ? (uint64_t)max_t : n_ctx;
        uint64_t N = I * (uint64_t)(v->spatial_merge * v->spatial_merge);
        uint64_t vs = vision_scratch(v, N) + al(I * (uint64_t)v->n_embd_out * 4); /* + the image rows */
        if (vs > scratch) scratch = vs;
    }
    /* bump allocation in chunks: tails and the last chunk */
    uint64_t block = vk_ctx_block_size(m->ctx);
    z->scratch = scratch + scratch / 4 + 2 * block;
    z->slack = 2 * block; /* a partly used block per memory type */
    z->resident = m->w.size_resident + z->kv + z->state + z->fixed + z->scratch + z->slack;
}

/* The sizing pass of the loaders: device bytes of the resident weights and of the routed experts. */
static moevk_status sizing_pass(moevk_model *m) {
    m->w.sizing = 1;
    m->w.size_resident = m->w.size_experts = m->w.size_wide_extra = m->w.size_wide_extra_x = 0;
    m->w.no_wide = 0;
    uint64_t dummy = 0;
    moevk_status s = mvk_weights_load_text(m, NULL, NULL, 0, &dummy);
    if (s == MOEVK_OK && m->has_vision) s = mvk_weights_load_vision(m, NULL, NULL, 0, &dummy);
    m->w.sizing = 0;
    return s;
}

/* The least the budget must hold: the resident set, plus top-k expert slots per MoE layer when the
 * experts do not all fit. */
static uint64_t least_needed(const moevk_model *m, const plan_sizes *z) {
    const mvk_text_hparams *hp = &m->hp;
    if (!hp->is_moe || m->w.size_experts == 0) return z->resident;
    const uint64_t L = (uint64_t)hp->n_moe_layers, X = (uint64_t)hp->n_expert, k = (uint64_t)hp->n_expert_used;
    uint64_t slot = m->w.size_experts / (L * X);
    uint64_t all = z->resident + m->w.size_experts;
    uint64_t topk = z->resident + L * k * slot;
    return all < topk ? all : topk;
}

/* The device-only types (vk_weight_type: Q6_K stored as Q6_K8 on CPU devices, +30 % on those tensors) stay only
 * where the whole model is resident with them (every expert of a MoE): a faster LM head is not worth expert slots or
 * a model that no longer fits. Else m->w.no_wide makes the loader keep the file's types, and the sizes lose the
 * extra bytes. */
static void drop_wide(moevk_model *m, plan_sizes *z, uint64_t budget) {
    if ((!m->w.size_wide_extra && !m->w.size_wide_extra_x) || z->resident + m->w.size_experts <= budget) return;
    m->w.no_wide = 1;
    m->w.size_resident -= m->w.size_wide_extra;
    m->w.size_experts -= m->w.size_wide_extra_x;
    z->resident -= m->w.size_wide_extra;
    m->w.size_wide_extra = m->w.size_wide_extra_x = 0;
}

moevk_status mvk_placement_plan(moevk_model *m) {
    const mvk_text_hparams *hp = &m->hp;
    MVK_TRY(sizing_pass(m));
    const uint64_t L = (uint64_t)hp->n_moe_layers;
    const uint64_t k = (uint64_t)(hp->n_expert_used > 0 ? hp->n_expert_used : 1);
    plan_sizes z;
    sizes_for(m, (uint64_t)m->seq.n_ctx, (uint64_t)m->seq.n_ubatch, &z);
    drop_wide(m, &z, vk_ctx_budget(m->ctx));
    const uint64_t scratch = z.scratch, resident = z.resident;
    /* the parts of the resident set, each named: the KV cache and the recurrent state apart */
    char parts[256];
    int np = snprintf(parts, sizeof parts, "weights %.1f, KV cache %.1f for %d tokens (%d attention layers)",
                      MIB(m->w.size_resident), MIB(z.kv), m->seq.n_ctx, hp->n_attn_layers);
    if (hp->n_recur_layers && np > 0 && (size_t)np < sizeof parts)
        np += snprintf(parts + np, sizeof parts - (size_t)np, ", recurrent state %.1f (%d Gated DeltaNet layers, any context)",
                       MIB(z.state), hp->n_recur_layers);
    if (np > 0 && (size_t)np < sizeof parts)
        snprintf(parts + np, sizeof parts - (size_t)np, ", scratch reserve %.1f for micro-batches of %d tokens",
                 MIB(scratch), m->seq.n_ubatch);
    uint64_t budget = vk_ctx_budget(m->ctx);
    m->xc.resident_bytes = resident;
    m->xc.expert_bytes = m->w.size_experts;
    m->w.stream_experts = 0;
    if (!hp->is_moe || m->w.size_experts == 0) {
        if (resident > budget)
            return mvk_fail(MOEVK_ERR_OUT_OF_DEVICE_MEMORY, "the model needs %.1f MiB of device memory (%s) but the budget is "
                            "%.1f MiB (%s)", MIB(resident), parts, MIB(budget), vk_ctx_budget_source(m->ctx));
        return MOEVK_OK;
    }
    const uint64_t X = (uint64_t)hp->n_expert;
    uint64_t slot = m->w.size_experts / (L * X);
    m->xc.slot_bytes = slot;
    if (resident + m->w.size_experts <= budget) return MOEVK_OK; /* every expert resident */
    uint64_t need = resident + L * k * slot;
    if (need > budget)
        return mvk_fail(MOEVK_ERR_OUT_OF_DEVICE_MEMORY,
                        "device-memory budget of %.1f MiB (%s) is below this model's minimum of %.1f MiB: the resident set "
                        "is %.1f MiB (%s) and top-%d expert slots per layer are %.1f MiB more (all %llu experts: %.1f MiB)",
                        MIB(budget), vk_ctx_budget_source(m->ctx), MIB(need), MIB(resident), parts, (int)k,
                        MIB(L * k * slot), (unsigned long long)(L * X), MIB(m->w.size_experts));
    uint64_t S = (budget - resident) / (slot * L);
    if (S >= X) S = X - 1; /* cannot happen (all would fit), kept for safety */
    m->xc.L = NULL;
    m->w.xsrc = calloc((size_t)(L * 3), sizeof *m->w.xsrc);
    if (!m->w.xsrc) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    m->w.stream_experts = (int)S;
    return MOEVK_OK;
}

moevk_status mvk_placement_report(moevk_model *m, moevk_plan *o) {
    const mvk_text_hparams *hp = &m->hp;
    MVK_TRY(sizing_pass(m));
    plan_sizes z;
    sizes_for(m, (uint64_t)m->seq.n_ctx, (uint64_t)m->seq.n_ubatch, &z);
    memset(o, 0, sizeof *o);
    snprintf(o->device, sizeof o->device, "%s", vk_ctx_info(m->ctx)->name);
    o->budget = vk_ctx_budget(m->ctx);
    drop_wide(m, &z, o->budget);
    snprintf(o->budget_source, sizeof o->budget_source, "%s", vk_ctx_budget_source(m->ctx));
    o->weights = m->w.size_resident;
    o->experts = m->w.size_experts;
    o->kv_cache = z.kv;
    o->recurrent_state = z.state;
    o->scratch = z.scratch;
    o->other = z.fixed + z.slack;
    o->resident = z.resident;
    o->n_ctx = m->seq.n_ctx;
    o->n_ubatch = m->seq.n_ubatch;
    o->n_moe_layers = hp->n_moe_layers;
    o->n_expert = hp->n_expert;
    o->n_expert_used = hp->n_expert_used;
    o->expert_share = 1.0;
    o->fits = least_needed(m, &z) <= o->budget;
    if (hp->is_moe && m->w.size_experts) {
        const uint64_t L = (uint64_t)hp->n_moe_layers, X = (uint64_t)hp->n_expert;
        o->slot_bytes = m->w.size_experts / (L * X);
        if (z.resident + m->w.size_experts <= o->budget) o->slots = hp->n_expert;
        else if (o->fits) {
            uint64_t S = (o->budget - z.resident) / (o->slot_bytes * L);
            o->slots = (int)(S >= X ? X - 1 : S);
        }
        o->expert_share = (double)o->slots / (double)hp->n_expert;
    }
    /* the largest context that fits: the plan grows with n_ctx (KV cache, attention's keys), so bisect */
    uint64_t lo = 0, hi = hp->n_ctx_train > 0 ? (uint64_t)hp->n_ctx_train : (1u << 20);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        plan_sizes w;
        sizes_for(m, mid, (uint64_t)m->seq.n_ubatch_req, &w);
        if (least_needed(m, &w) <= o->budget) lo = mid;
        else hi = mid - 1;
    }
    o->max_ctx = (int)lo;
    return MOEVK_OK;
}

moevk_status mvk_placement_finish(moevk_model *m) {
    if (!m->w.stream_experts) return MOEVK_OK;
    /* the KV cache before the pools: the resident set is what must fit */
    MVK_TRY(mvk_lm_kv_alloc(m));
    return mvk_xc_init(&m->xc, m->ctx, m->w.xsrc, m->hp.n_moe_layers, m->hp.n_expert, m->hp.n_expert_used, m->w.stream_experts);
}
