/* expert_cache.c — the routing-aware expert cache (see expert_cache.h and
 * docs/EXPERT_CACHE.md). Host side only: the slot table, eviction, fetches
 * from the mmap'd GGUF into the device pools (a layer's misses in one upload
 * batch: written in place on UMA devices and lavapipe, one staged submission
 * on discrete GPUs) and the counters. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expert_cache.h"
#include "mvk_status.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void mvk_xc_free(mvk_xcache *c) {
    if (!c->L) return;
    for (int il = 0; il < c->n_layer; il++) {
        mvk_xc_layer *l = &c->L[il];
        for (int p = 0; p < 3; p++) vk_buffer_destroy(l->pool[p]);
        free(l->slot_of);
        free(l->expert_of);
        free(l->last_use);
        free(l->freq);
        free(l->pinned);
        free(l->pred);
        free(l->pf_new);
        free(l->pf_victim);
        free(l->miss_e);
        free(l->miss_s);
    }
    free(c->L);
    c->L = NULL;
    c->active = 0;
}

moevk_status mvk_xc_init(mvk_xcache *c, vk_ctx *ctx, const gguf_tensor_info *const *srcs, int n_layer, int n_expert, int k, int S) {
    if (S < k || S < 1 || n_expert < 1)
        return mvk_fail(MOEVK_ERR_INTERNAL, "expert cache: %d slots per layer for top-%d of %d experts", S, k, n_expert);
    c->n_layer = n_layer;
    c->n_expert = n_expert;
    c->k = k;
    c->L = calloc((size_t)n_layer, sizeof *c->L);
    if (!c->L) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    const char *pol = getenv("MOEVK_CACHE_POLICY");
    c->policy = pol && !strcmp(pol, "lfu") ? MVK_XC_LFU : MVK_XC_LRU;
    const char *pf = getenv("MOEVK_PREFETCH");
    c->prefetch = pf && pf[0] == '0' ? MVK_PF_OFF : pf && pf[0] == '1' ? MVK_PF_ON : MVK_PF_AUTO;
    const char *bt = getenv("MOEVK_XC_BATCH");
    c->batch = !(bt && bt[0] == '0');
    c->slot_bytes = 0;
    for (int il = 0; il < n_layer; il++) {
        mvk_xc_layer *l = &c->L[il];
        l->S = S;
        l->slot_of = malloc((size_t)n_expert * sizeof *l->slot_of);
        l->freq = calloc((size_t)n_expert, sizeof *l->freq);
        l->expert_of = malloc((size_t)S * sizeof *l->expert_of);
        l->last_use = calloc((size_t)S, sizeof *l->last_use);
        l->pinned = calloc((size_t)S, 1);
        l->pred = malloc((size_t)k * sizeof *l->pred);
        l->pf_new = malloc((size_t)k * sizeof *l->pf_new);
        l->pf_victim = malloc((size_t)k * sizeof *l->pf_victim);
        l->miss_e = malloc((size_t)S * sizeof *l->miss_e);
        l->miss_s = malloc((size_t)S * sizeof *l->miss_s);
        if (!l->slot_of || !l->freq || !l->expert_of || !l->last_use || !l->pinned || !l->pred || !l->pf_new || !l->pf_victim ||
            !l->miss_e || !l->miss_s) {
            mvk_xc_free(c);
            return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        }
        for (int e = 0; e < n_expert; e++) l->slot_of[e] = -1;
        for (int s = 0; s < S; s++) l->expert_of[s] = -1;
        for (int j = 0; j < k; j++) l->pred[j] = l->pf_new[j] = l->pf_victim[j] = -1;
        uint64_t sb = 0;
        const int merged = srcs[il * 3] == srcs[il * 3 + 1]; /* one [K][2N][E] tensor: gate rows, then up rows */
        for (int p = 0; p < 3; p++) {
            const gguf_tensor_info *ti = srcs[il * 3 + p];
            l->src[p] = ti;
            /* [K][N][E]: expert e is the contiguous byte range [e, e+1) * part, in the file and on the device; of a
             * merged [K][2N][E], its first or its last N rows */
            l->rows[p] = merged && p < 2 ? ti->ne[1] / 2 : ti->ne[1];
            l->src_bytes[p] = ti->size / (uint64_t)ti->ne[2];
            l->src_off[p] = merged && p == 1 ? (uint64_t)mvk_row_bytes(ti->type, ti->ne[0]) * (uint64_t)l->rows[p] : 0;
            l->part_bytes[p] = (uint64_t)mvk_dev_row_bytes(ti->type, ti->ne[0]) * (uint64_t)l->rows[p];
            sb += l->part_bytes[p];
            moevk_status s = vk_buffer_create(ctx, l->part_bytes[p] * (uint64_t)S, VK_MEM_DEVICE, &l->pool[p]);
            if (s != MOEVK_OK) {
                mvk_xc_free(c);
                return mvk_fail_ctx(s, "expert cache: pool of %d slots for '%s'", S, ti->name);
            }
            l->view[p] = mvk_tensor_make(l->pool[p], 0, ti->type, ti->ne[0], l->rows[p], S, 1);
            /* each slot's rows interleaved on their own where the matmuls read that (fetch_into) */
            const char *ie = getenv("MOEVK_WEIGHT_ILV"); /* =dense: the experts stay plain (weights.c) */
            l->view[p].ilv = mvk_type_is_quant(ti->type) && !(ie && !strcmp(ie, "dense")) ? vk_weight_ilv(ctx, ti->type) : 0;
        }
        if (sb > c->slot_bytes) c->slot_bytes = sb;
    }
    c->active = 1;
    return MOEVK_OK;
}

/* The copy of expert e of layer l into slot s, in batch b. The pools hold
 * the device layout: the file's bytes for F32/F16/BF16, quantised rows
 * repacked (mvk_repack_rows) straight into the place the batch gives, or (the pool's view interleaved,
 * mvk_tensor.ilv) repacked on the host and interleaved into it. */
static moevk_status fetch_into(vk_upload_batch *b, mvk_xc_layer *l, int e, int s, mvk_xc_count *cnt) {
    for (int p = 0; p < 3; p++) {
        const gguf_tensor_info *ti = l->src[p];
        const char *src = (const char *)ti->data + (uint64_t)e * l->src_bytes[p] + l->src_off[p];
        void *dst = NULL;
        moevk_status st = vk_upload_batch_add(b, l->pool[p], (uint64_t)s * l->part_bytes[p], l->part_bytes[p], &dst);
        if (st != MOEVK_OK) return mvk_fail_ctx(st, "expert cache: fetching expert %d of '%s'", e, ti->name);
        if (mvk_type_is_quant(ti->type) && l->view[p].ilv) {
            uint8_t *tmp = malloc(l->part_bytes[p]);
            if (!tmp) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "expert cache: out of host memory interleaving '%s'", ti->name);
            mvk_repack_rows(ti->type, src, tmp, ti->ne[0], l->rows[p]);
            mvk_interleave_rows(dst, tmp, mvk_dev_row_bytes(ti->type, ti->ne[0]), l->rows[p], l->view[p].ilv);
            free(tmp);
        } else if (mvk_type_is_quant(ti->type)) {
            mvk_repack_rows(ti->type, src, dst, ti->ne[0], l->rows[p]);
        } else {
            memcpy(dst, src, l->part_bytes[p]);
        }
        cnt->bytes += l->part_bytes[p];
    }
    return MOEVK_OK;
}

/* Fetches experts es[0..n) of layer l into slots ss[0..n): one upload batch
 * (one submission under the staging model) for all of them, or one batch
 * per expert when batching is off (MOEVK_XC_BATCH=0, for comparisons). The
 * slot table is updated first; a failed copy leaves those slots empty. */
static moevk_status fetch_many(const mvk_xcache *c, vk_ctx *ctx, mvk_xc_layer *l, const int *es, const int *ss, int n,
                               mvk_xc_count *cnt) {
    for (int i = 0; i < n; i++) {
        int old = l->expert_of[ss[i]];
        if (old >= 0) l->slot_of[old] = -1;
        l->expert_of[ss[i]] = es[i];
        l->slot_of[es[i]] = ss[i];
    }
    moevk_status st = MOEVK_OK;
    for (int i0 = 0; i0 < n && st == MOEVK_OK;) {
        int i1 = c->batch ? n : i0 + 1;
        vk_upload_batch b;
        vk_upload_batch_begin(ctx, &b);
        for (int i = i0; i < i1 && st == MOEVK_OK; i++) st = fetch_into(&b, l, es[i], ss[i], cnt);
        moevk_status e = vk_upload_batch_end(&b);
        if (st == MOEVK_OK && e != MOEVK_OK) st = mvk_fail_ctx(e, "expert cache: copying %d experts", i1 - i0);
        cnt->batches++;
        cnt->submits += b.submits;
        i0 = i1;
    }
    if (st != MOEVK_OK)
        for (int i = 0; i < n; i++) {
            l->slot_of[es[i]] = -1;
            l->expert_of[ss[i]] = -1;
        }
    return st;
}

/* The unpinned slot to reuse: an empty one, else the least recently used
 * (LRU) or the one whose expert was used least often (LFU, ties to LRU). */
static int victim(const mvk_xcache *c, const mvk_xc_layer *l) {
    int best = -1;
    for (int s = 0; s < l->S; s++) {
        if (l->pinned[s]) continue;
        if (l->expert_of[s] < 0) return s;
        if (best < 0) { best = s; continue; }
        if (c->policy == MVK_XC_LFU) {
            uint64_t fs = l->freq[l->expert_of[s]], fb = l->freq[l->expert_of[best]];
            if (fs < fb || (fs == fb && l->last_use[s] < l->last_use[best])) best = s;
        } else if (l->last_use[s] < l->last_use[best]) {
            best = s;
        }
    }
    return best;
}

moevk_status mvk_xc_resolve(mvk_xcache *c, vk_ctx *ctx, int il, const int32_t *ids, int32_t *slots, int n, int decode) {
    mvk_xc_layer *l = &c->L[il];
    mvk_xc_count *cnt = decode ? &l->dec : &l->pre;
    c->tick++;
    /* score the last prefetch (made or not): its experts used, its victims needed */
    if (l->pf_new[0] >= 0 || l->pf_victim[0] >= 0) {
        l->pf_gain *= 0.95;
        l->pf_loss *= 0.95;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c->k && ids[i] >= 0; j++) {
                l->pf_gain += l->pf_new[j] == ids[i];
                l->pf_loss += l->pf_victim[j] == ids[i];
            }
        for (int j = 0; j < c->k; j++) l->pf_new[j] = l->pf_victim[j] = -1;
    }
    /* prediction accuracy: how many of the experts used were predicted */
    int has_pred = l->pred[0] >= 0;
    /* pass 1: pin what is resident (hits), so no miss evicts it */
    for (int i = 0; i < n; i++) {
        int e = ids[i];
        if (e < 0) continue;
        if (e >= c->n_expert) return mvk_fail(MOEVK_ERR_INTERNAL, "expert cache: layer %d routed to expert %d of %d", il, e, c->n_expert);
        int s = l->slot_of[e];
        if (s >= 0 && !l->pinned[s]) {
            l->pinned[s] = 1;
            cnt->uses++;
            cnt->hits++;
            l->freq[e]++;
            if (has_pred) {
                cnt->pred_total++;
                for (int j = 0; j < c->k; j++) cnt->pred_hits += l->pred[j] == e;
            }
        }
    }
    /* pass 2: the misses, each given an unpinned slot, then fetched together */
    int *miss_e = l->miss_e, *miss_s = l->miss_s, nm = 0; /* at most S distinct misses */
    for (int i = 0; i < n; i++) {
        int e = ids[i];
        if (e < 0 || l->slot_of[e] >= 0) continue;
        int dup = 0;
        for (int j = 0; j < nm; j++) dup |= miss_e[j] == e;
        if (dup) continue;
        int s = victim(c, l);
        if (s < 0 || nm == l->S) return mvk_fail(MOEVK_ERR_INTERNAL, "expert cache: layer %d needs more than its %d slots at once", il, l->S);
        l->pinned[s] = 1;
        miss_e[nm] = e;
        miss_s[nm++] = s;
        cnt->uses++;
        cnt->misses++;
        l->freq[e]++;
        if (has_pred) {
            cnt->pred_total++;
            for (int j = 0; j < c->k; j++) cnt->pred_hits += l->pred[j] == e;
        }
    }
    if (nm) {
        double t0 = now_ms();
        moevk_status st = fetch_many(c, ctx, l, miss_e, miss_s, nm, cnt);
        cnt->stall_ms += now_ms() - t0;
        if (st != MOEVK_OK) {
            mvk_xc_unpin(c, il);
            return st;
        }
    }
    for (int i = 0; i < n; i++) {
        int e = ids[i];
        slots[i] = e < 0 ? -1 : l->slot_of[e];
        if (e >= 0) l->last_use[l->slot_of[e]] = c->tick;
    }
    for (int j = 0; j < c->k; j++) l->pred[j] = -1; /* a prediction serves one step */
    /* Pins only keep this call's misses off its hits: nothing else writes the
     * layer's pool before the step that reads these slots has run. */
    mvk_xc_unpin(c, il);
    return MOEVK_OK;
}

void mvk_xc_unpin(mvk_xcache *c, int il) { memset(c->L[il].pinned, 0, (size_t)c->L[il].S); }

moevk_status mvk_xc_prefetch(mvk_xcache *c, vk_ctx *ctx, int il, const int32_t *pred, int n, int decode) {
    mvk_xc_layer *l = &c->L[il];
    mvk_xc_count *cnt = decode ? &l->dec : &l->pre;
    if (n > c->k) n = c->k;
    for (int j = 0; j < c->k; j++) l->pred[j] = j < n ? pred[j] : -1;
    if (c->prefetch == MVK_PF_OFF) return MOEVK_OK;
    /* plan: the predicted experts that are missing, and the slots the policy
     * would give them (the predicted experts already resident are kept) */
    int slot[64], m = 0;
    for (int j = 0; j < c->k; j++) l->pf_new[j] = l->pf_victim[j] = -1;
    for (int j = 0; j < n; j++)
        if (pred[j] >= 0 && pred[j] < c->n_expert && l->slot_of[pred[j]] >= 0) l->pinned[l->slot_of[pred[j]]] = 1;
    for (int j = 0; j < n && m < 64; j++) {
        int e = pred[j], dup = 0;
        if (e < 0 || e >= c->n_expert || l->slot_of[e] >= 0) continue;
        for (int i = 0; i < m; i++) dup |= l->pf_new[i] == e;
        if (dup) continue;
        int s = victim(c, l);
        if (s < 0) break;
        l->pinned[s] = 1;
        l->pf_new[m] = e;
        l->pf_victim[m] = l->expert_of[s];
        slot[m++] = s;
    }
    mvk_xc_unpin(c, il);
    int on = c->prefetch == MVK_PF_ON || l->pf_gain >= l->pf_loss;
    if (!on || m == 0) return MOEVK_OK;
    int es[64];
    for (int i = 0; i < m; i++) es[i] = l->pf_new[i];
    MVK_TRY(fetch_many(c, ctx, l, es, slot, m, cnt));
    for (int i = 0; i < m; i++) {
        l->last_use[slot[i]] = c->tick;
        cnt->prefetches++;
    }
    return MOEVK_OK;
}

int mvk_xc_plan_rounds(const mvk_xcache *c, int il, const int32_t *ids, int n, int32_t *round_of) {
    const mvk_xc_layer *l = &c->L[il];
    for (int e = 0; e < c->n_expert; e++) round_of[e] = -2; /* -2: not used by the batch */
    int n_used = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < c->n_expert && round_of[ids[i]] == -2) {
            round_of[ids[i]] = -1;
            n_used++;
        }
    /* resident experts first: round 0 reuses what is there */
    int placed = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int e = 0; e < c->n_expert; e++) {
            if (round_of[e] != -1) continue;
            if (pass == 0 && l->slot_of[e] < 0) continue;
            round_of[e] = placed / l->S;
            placed++;
        }
    for (int e = 0; e < c->n_expert; e++)
        if (round_of[e] == -2) round_of[e] = -1;
    return n_used ? (n_used + l->S - 1) / l->S : 0;
}
