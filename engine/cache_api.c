/* cache_api.c — the expert-cache part of include/moevk.h: counters and
 * residency (engine/expert_cache.c keeps them). */
#include <string.h>

#include "engine_internal.h"
#include "mvk_status.h"

static void add(moevk_cache_counters *o, const mvk_xc_count *c) {
    o->uses += c->uses;
    o->hits += c->hits;
    o->misses += c->misses;
    o->prefetches += c->prefetches;
    o->bytes_streamed += c->bytes;
    o->pred_total += c->pred_total;
    o->pred_hits += c->pred_hits;
    o->fetch_batches += c->batches;
    o->copy_submits += c->submits;
    o->stall_ms += c->stall_ms;
}

moevk_status moevk_cache_get_stats(const moevk_model *m, moevk_cache_stats *o, moevk_cache_counters *layers, size_t cap) {
    if (!m || !o) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_cache_get_stats: NULL argument");
    memset(o, 0, sizeof *o);
    const mvk_xcache *c = &m->xc;
    o->streaming = c->active;
    o->slots_per_layer = c->active ? c->L[0].S : m->hp.n_expert;
    o->policy = (int)c->policy;
    o->prefetch = c->active ? c->prefetch : 0;
    o->budget_bytes = vk_ctx_budget(m->ctx);
    o->committed_bytes = vk_ctx_committed(m->ctx);
    o->peak_bytes = vk_ctx_committed_peak(m->ctx);
    o->resident_bytes = c->resident_bytes;
    o->expert_bytes = c->expert_bytes;
    o->slot_bytes = c->slot_bytes;
    o->decode_tokens = c->dec_tokens;
    o->prefill_tokens = c->pre_tokens;
    int n = m->hp.n_moe_layers;
    for (int il = 0; il < n && c->active; il++) {
        add(&o->decode, &c->L[il].dec);
        add(&o->prefill, &c->L[il].pre);
    }
    if (layers)
        for (int il = 0; il < n && (size_t)il < cap; il++) {
            memset(&layers[il], 0, sizeof layers[il]);
            if (c->active) add(&layers[il], &c->L[il].dec);
        }
    return MOEVK_OK;
}

moevk_status moevk_cache_reset_stats(moevk_model *m) {
    if (!m) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_cache_reset_stats: NULL model");
    mvk_xcache *c = &m->xc;
    c->dec_tokens = c->pre_tokens = 0;
    for (int il = 0; c->active && il < c->n_layer; il++) {
        memset(&c->L[il].dec, 0, sizeof c->L[il].dec);
        memset(&c->L[il].pre, 0, sizeof c->L[il].pre);
    }
    return MOEVK_OK;
}

moevk_status moevk_cache_resident(const moevk_model *m, int layer, uint8_t *mask, size_t cap) {
    if (!m || !mask) return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_cache_resident: NULL argument");
    if (layer < 0 || layer >= m->hp.n_moe_layers)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_cache_resident: layer %d is not a MoE layer (0..%d)", layer,
                        m->hp.n_moe_layers - 1);
    if (cap < (size_t)m->hp.n_expert)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "moevk_cache_resident: need %d entries, cap is %zu", m->hp.n_expert, cap);
    for (int e = 0; e < m->hp.n_expert; e++) mask[e] = m->xc.active ? m->xc.L[layer].slot_of[e] >= 0 : 1;
    return MOEVK_OK;
}
