/* expert_cache.h — routed experts that move: per-layer slot pools on the
 * device, a host-side slot table, LRU / LFU eviction, demand fetches and
 * predicted prefetches from the mmap'd GGUF, and the counters behind
 * moevk_cache_stats. Design and trade-offs: docs/EXPERT_CACHE.md.
 *
 * A slot holds one expert of one layer: its gate, up and down matrices, in
 * three pools per layer (gate pool [K][N][S], up pool, down pool; slot s of
 * each pool is the same expert). Each pool keeps the file tensor's expert
 * stride, so the expert matmul reads a pool exactly as it would read the
 * full tensor: the slot table turns routed expert ids into slot ids on the
 * host, and mul_mat_id gets the slot ids (ids outside [0, S) give zero rows;
 * prefill rounds use that). */
#ifndef MVK_EXPERT_CACHE_H
#define MVK_EXPERT_CACHE_H

#include <stdint.h>

#include "gguf.h"
#include "moevk.h"
#include "vk_backend.h"

typedef enum mvk_xc_policy { MVK_XC_LRU = 0, MVK_XC_LFU = 1 } mvk_xc_policy;
enum { MVK_PF_OFF = 0, MVK_PF_ON = 1, MVK_PF_AUTO = 2 };

/* Counters of one layer (decode and prefill kept apart). */
typedef struct mvk_xc_count {
    uint64_t uses;          /* (token, expert) uses of distinct experts per step / batch */
    uint64_t hits;          /* ... found resident (incl. prefetched) */
    uint64_t misses;        /* ... fetched on demand (the step waited) */
    uint64_t prefetches;    /* experts fetched ahead from a prediction */
    uint64_t bytes;         /* bytes copied into slots (demand + prefetch) */
    uint64_t pred_total;    /* experts used at this layer that had a prediction */
    uint64_t pred_hits;     /* ... and were in it */
    uint64_t batches;       /* upload batches the fetches took (a layer's misses together; MOEVK_XC_BATCH=0: one per expert) */
    uint64_t submits;       /* device submissions those batches made (0 under the unified memory model) */
    double stall_ms;        /* host time spent on demand fetches */
} mvk_xc_count;

typedef struct mvk_xc_layer {
    const gguf_tensor_info *src[3]; /* gate, up, down [K][N][E] in the mapping; gate and up may be one merged
                                       [K][2N][E] tensor (gemma4's ffn_gate_up_exps), each expert's rows gate then up */
    uint64_t part_bytes[3];         /* device bytes of one expert in each (the device layout, mvk_dev_row_bytes) */
    uint64_t src_bytes[3];          /* file bytes between two experts in each */
    uint64_t src_off[3];            /* file bytes from an expert's start to its part (the up half of a merged one) */
    int64_t rows[3];                /* N: rows of one expert in each part */
    vk_buffer *pool[3];
    mvk_tensor view[3];             /* [K][N][S] over each pool */
    int S;
    int32_t *slot_of;               /* [n_expert] slot, or -1 */
    int32_t *expert_of;             /* [S] expert, or -1 */
    uint64_t *last_use;             /* [S] tick of the last use (LRU) */
    uint64_t *freq;                 /* [n_expert] uses so far (LFU) */
    uint8_t *pinned;                /* [S] needed by the step being resolved */
    int32_t *pred;                  /* [k] experts predicted for this layer, -1: none */
    /* adaptive prefetch: what the last prefetch fetched (or, when off, would
     * have fetched) and whom it evicted (would have); scored at the next step */
    int32_t *pf_new, *pf_victim;    /* [k] each, -1: none */
    double pf_gain, pf_loss;        /* decayed: prefetched experts then used / victims then needed */
    int *miss_e, *miss_s;           /* [S] each: the misses of the call being resolved and their slots */
    mvk_xc_count dec, pre;
} mvk_xc_layer;

typedef struct mvk_xcache {
    int active;             /* 1: experts stream (some do not fit); 0: all resident */
    int n_layer, n_expert, k;
    mvk_xc_policy policy;
    int prefetch;           /* MVK_PF_OFF, MVK_PF_ON, MVK_PF_AUTO (per layer, while it gains more than it evicts) */
    int batch;              /* 1: a layer's fetches in one upload batch (default); 0: one batch per expert */
    uint64_t slot_bytes;    /* one expert's gate + up + down */
    uint64_t expert_bytes;  /* every routed expert of the model */
    uint64_t resident_bytes;/* the resident-set estimate placement used */
    uint64_t tick;
    uint64_t dec_tokens, pre_tokens;
    mvk_xc_layer *L;        /* [n_layer] */
} mvk_xcache;

/* Sets up the pools (S slots per layer, S in [k, n_expert)) and tables.
 * srcs: [n_layer][3] tensor infos. */
moevk_status mvk_xc_init(mvk_xcache *c, vk_ctx *ctx, const gguf_tensor_info *const *srcs, int n_layer, int n_expert, int k, int S);
void mvk_xc_free(mvk_xcache *c);

/* Makes experts ids[0..n) (entries < 0 ignored) of layer il resident and
 * writes their slots to slots[0..n) (-1 for entries < 0). At most S distinct
 * experts. decode: counters go to dec (else pre). The caller runs the step
 * that reads these slots before it resolves or prefetches layer il again. */
moevk_status mvk_xc_resolve(mvk_xcache *c, vk_ctx *ctx, int il, const int32_t *ids, int32_t *slots, int n, int decode);
void mvk_xc_unpin(mvk_xcache *c, int il);

/* Records the prediction for layer il (k ids) and fetches its misses ahead
 * (evicting what the policy would evict next). AUTO: only while, in this
 * layer, prefetched experts were used more often than their victims were
 * needed at the next step (both scored whether or not the fetch was made). */
moevk_status mvk_xc_prefetch(mvk_xcache *c, vk_ctx *ctx, int il, const int32_t *pred, int n, int decode);

/* Prefill planning: splits the distinct experts of ids[0..n) into rounds of
 * at most S experts, resident ones first. round_of[e] gets the round of
 * expert e (or -1); returns the number of rounds. */
int mvk_xc_plan_rounds(const mvk_xcache *c, int il, const int32_t *ids, int n, int32_t *round_of);

#endif
