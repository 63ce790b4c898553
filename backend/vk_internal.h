/* vk_internal.h — backend-private structures and the dispatch interface that
 * op files (vk_op_*.c) use. Only backend/ includes this. */
#ifndef VK_INTERNAL_H
#define VK_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "mvk_status.h"
#include "vk_backend.h"
#include "vk_loader.h"

/* ------------------------------------------------------------ memory */

typedef struct vk_mem_block {
    VkDeviceMemory mem;
    uint64_t size;
    uint32_t type_index;
    vk_mem_kind kind;         /* blocks hold buffers of one kind only */
    void *mapped;             /* persistent mapping if host-visible (never for device blocks under staging) */
    /* free list of [off, size) ranges sorted by offset */
    uint64_t *free_off, *free_size;
    uint32_t n_free, cap_free;
    uint32_t n_live;          /* sub-allocations alive */
    int dedicated;
    struct vk_mem_block *next;
} vk_mem_block;

/* A texel-buffer view of a vk_buffer (vk_buffer_view), kept until the buffer is destroyed. */
typedef struct vk_texel_view {
    VkBufferView view;
    uint64_t off, range;
    uint8_t fmt;              /* vk_texel_fmt */
} vk_texel_view;

struct vk_buffer {
    vk_ctx *ctx;
    VkBuffer buffer;
    vk_mem_block *block;
    uint64_t mem_off;         /* offset of this buffer in block->mem */
    uint64_t alloc_size;      /* bytes reserved in the block */
    uint64_t size;            /* requested size */
    vk_mem_kind kind;
    void *mapped;             /* host pointer or NULL */
    vk_texel_view *views;     /* views made so far (under ctx->lock) */
    uint32_t n_views, cap_views;
};

/* ------------------------------------------------------------ pipelines */

#define VK_MAX_BINDINGS 8
#define VK_MAX_SPEC 12

typedef struct vk_pipeline {
    char name[64];
    uint32_t spec[VK_MAX_SPEC];
    uint32_t n_spec;
    uint32_t n_bindings;
    VkDescriptorType dtype[VK_MAX_BINDINGS]; /* per binding (vk_bind_type) */
    uint32_t push_size;
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    /* profiling */
    uint64_t prof_ns, prof_calls;
    struct vk_pipeline *next;
} vk_pipeline;

/* ------------------------------------------------------------ context */

struct vk_ctx {
    VkInstance instance;
    vk_instance_table vki;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    vk_device_table vkd;
    VkQueue queue;
    uint32_t queue_family;
    vk_device_info info;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t validation_count;
    char validation_last[128]; /* message id of the last counted message (under lock) */
    int profile;
    int profile_trace; /* MOEVK_PROFILE_TRACE=1: each dispatch's GPU time to stderr, in order (with MOEVK_PROFILE) */

    pthread_mutex_t lock;     /* guards allocator, pipeline cache, transfer state */
    vk_mem_block *blocks;
    uint64_t block_size;
    uint64_t allocated;
    /* device-memory budget (vk_budget.c): bytes of VkDeviceMemory moevk may
     * hold in device-local heaps, and what it holds now / at most so far */
    uint64_t budget;
    uint64_t committed, committed_peak;
    char budget_source[96];
    vk_pipeline *pipelines;

    /* persistent pipeline cache (vk_pipeline_cache.c); VK_NULL_HANDLE if disabled */
    VkPipelineCache pipeline_cache;
    char *pipeline_cache_dir;         /* NULL when there is no file to use */
    char *pipeline_cache_path;        /* <dir>/pipelines-<vendor>-<device>-<driver>-<uuid>.bin */
    uint32_t pipeline_cache_vendor, pipeline_cache_device;
    uint8_t pipeline_cache_uuid[VK_UUID_SIZE];
    size_t pipeline_cache_loaded;     /* bytes of driver data seeded from the file */
    uint64_t pipeline_cache_hash;     /* FNV-1a of the data last loaded or saved */
    int pipeline_cache_dirty;         /* pipelines created since the last save */

    /* one-shot transfers */
    VkCommandPool xfer_pool;
    VkCommandBuffer xfer_cmd;
    VkFence xfer_fence;
    vk_buffer *staging;       /* host-visible staging buffer, grown on demand */

    int device_lost;          /* a submit or wait returned VK_ERROR_DEVICE_LOST: every later submit fails */
    vk_run_counts run;        /* what was submitted so far (under lock): vk_ctx_run_counts */
};

/* The backend's one way to vkQueueSubmit (caller holds ctx->lock): refuses
 * once the device is lost, injects MOEVK_FAULT_SUBMIT (vk_fault.h), and
 * remembers VK_ERROR_DEVICE_LOST. vk_fence_wait does the same for waits. */
VkResult vk_queue_submit(vk_ctx *ctx, const VkSubmitInfo *si, VkFence fence);
VkResult vk_fence_wait(vk_ctx *ctx, VkFence fence);
/* Staged copy host <-> buf (vk_memory.c; caller holds ctx->lock). */
moevk_status vk_staged_copy(vk_ctx *ctx, vk_buffer *buf, uint64_t off, void *host, uint64_t size, int to_device);

/* ------------------------------------------------------------ streams */

typedef struct vk_range {
    VkBuffer buffer;
    uint64_t off, end;
} vk_range;

#define VK_MAX_TRACKED 48

struct vk_stream {
    vk_ctx *ctx;
    VkCommandPool pool;
    VkCommandBuffer cmd;      /* the segment being recorded (segs[n_seg-1]) */
    VkCommandBuffer *segs;    /* segments of the recording, vk_stream_cut */
    uint32_t n_seg, cap_seg;
    VkFence fence;
    int recording, pending, recorded;
    int pending_last;         /* the pending submit ends with the last segment */
    int test_no_barriers;     /* test hook: record hazards without their barriers */
    uint32_t n_dispatch, n_barrier;
    uint32_t *seg_dispatch;   /* [cap_seg] dispatches recorded in each segment (vk_run_counts on submit) */
    uint32_t *seg_barrier;    /* [cap_seg] barriers recorded in each segment */
    /* hazard tracking since the last barrier */
    vk_range written[VK_MAX_TRACKED];
    uint32_t n_written;
    vk_range read[VK_MAX_TRACKED];
    uint32_t n_read;
    /* scratch memory: list of buffers, bump-allocated, freed on begin */
    vk_buffer **scratch;
    uint32_t n_scratch, cap_scratch;
    uint32_t scratch_cur;     /* buffer being bump-allocated */
    uint64_t scratch_used;    /* bytes used in scratch[scratch_cur] */
    /* the int8 x memo (vk_stream_xq_find / vk_stream_xq_keep): the x that vk_op_quant_x last quantised
       into scratch on this recording and its xq, reused by the next lane mat-vec of the same x (q, k and v
       read one x) until something writes x's or xq's bytes, the scratch is reset below xq, or the
       recording ends or is cut (a cut keeps it where x is scratch too: vk_stream_cut) */
    int xq_valid;
    mvk_tensor xq_x, xq_q;
    vk_range xq_xr, xq_qr;    /* their byte ranges */
    uint32_t xq_idx;          /* xq's scratch buffer (index) and its end in it */
    uint64_t xq_end;
    /* profiling */
    VkQueryPool query_pool;
    uint32_t query_cap, n_query;
    vk_pipeline **query_pipe; /* [query_cap/2] pipeline of each timed dispatch */
};

/* One binding of a dispatch: a tensor view plus access. */
typedef struct vk_bind {
    const mvk_tensor *t;
    int write;
} vk_bind;

/* Dispatch description. Bindings are bound as storage buffers 0..n-1 starting
 * at the tensor's offset rounded down to minStorageBufferOffsetAlignment;
 * the remainder in elements of 4 bytes... is given back by vk_bind_elem_offset()
 * so the op can put it in its push constants. */
typedef struct vk_dispatch_desc {
    const char *shader;                 /* embedded shader name */
    const uint32_t *spec; uint32_t n_spec; /* specialization constants 0..n-1 */
    const vk_bind *binds; uint32_t n_binds;
    /* texel[i] = 0: binding i is a storage buffer; else (vk_texel_fmt) a
     * texel-buffer view of the tensor's bytes in that format: a uniform
     * texel buffer (texelFetch) or, with image[i] = 1, a storage texel
     * buffer (imageLoad / imageStore). */
    uint8_t texel[VK_MAX_BINDINGS], image[VK_MAX_BINDINGS];
    const void *push; uint32_t push_size;
    uint32_t groups[3];
} vk_dispatch_desc;

static inline VkDescriptorType vk_bind_type(const vk_dispatch_desc *d, uint32_t i) {
    if (!d->texel[i]) return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    return d->image[i] ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
}

/* Records one dispatch with automatic hazard barriers. Checks limits. */
moevk_status vk_dispatch(vk_stream *s, const vk_dispatch_desc *d);

/* Offset, in units of unit_bytes, of t's first element from where its binding
 * starts (the tensor offset rounded down to the device's storage offset
 * alignment). Shaders add it to their indices. */
uint32_t vk_bind_elem_offset(const vk_ctx *ctx, const mvk_tensor *t, uint32_t unit_bytes);
/* Bytes a binding of t spans (alignment slack + extent); ops split work when
 * this exceeds info.max_storage_buffer_range. */
uint64_t vk_bind_span(const vk_ctx *ctx, const mvk_tensor *t);
/* The same two for a texel-buffer binding (vk_bind.texel), which starts at
 * the tensor offset rounded down to minTexelBufferOffsetAlignment. */
uint32_t vk_bind_texel_offset(const vk_ctx *ctx, const mvk_tensor *t, uint32_t unit_bytes);
uint64_t vk_bind_texel_span(const vk_ctx *ctx, const mvk_tensor *t);

/* Splits a dispatch count into groups within maxComputeWorkGroupCount[0]:
 * returns gx, gy with gx*gy >= n. Shaders recompute the linear id. */
void vk_split_groups(const vk_ctx *ctx, uint32_t n, uint32_t out[3]);

/* Test-only hook (tests/test_sync_validation.c): on = 1 makes the stream
 * skip the hazard barriers it would insert, so that synchronization
 * validation has a real hazard to report. Never used outside tests. */
void vk_stream_test_suppress_barriers(vk_stream *s, int on);

/* Hazard tracking for transfer commands recorded into a stream. */
void vk_stream_access(vk_stream *s, VkBuffer b, uint64_t off, uint64_t size, int write);
/* The int8 x memo (vk_quant_x_shared): *xq = the xq kept for this view of x (same buffer, offset, type,
 * shape and strides, so the same xq shape), if it is still valid (see struct vk_stream); keep remembers
 * x and its just-recorded quantisation xq (stream scratch only). */
int vk_stream_xq_find(const vk_stream *s, const mvk_tensor *x, mvk_tensor *xq);
void vk_stream_xq_keep(vk_stream *s, const mvk_tensor *x, const mvk_tensor *xq);

/* Budget (vk_budget.c): sets ctx->budget from want (bytes; 0: what the
 * device reports less a margin). Call before vk_alloc_init. */
void vk_budget_init(vk_ctx *ctx, uint64_t want);
/* 1 if memory type index counts against the budget (its heap is device-local). */
int vk_budget_counts(const vk_ctx *ctx, uint32_t type_index);
/* Memory (vk_memory.c) */
/* The memory type for a buffer of `kind` among the types in `bits`, under
 * the staging (1) or unified (0) model; -1 if none fits. */
/* 1 if the driver's subgroup arithmetic is known wrong at this subgroup size (vk_device.c table). */
int vk_subgroup_arith_broken(VkDriverId driver, uint32_t subgroup_size);
int vk_pick_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, vk_mem_kind kind, int staging);
moevk_status vk_alloc_init(vk_ctx *ctx);
/* The view of b's bytes [off, off + range) in format fmt (vk_texel_fmt),
 * made on first use and kept until b is destroyed (takes ctx->lock). off and
 * range must meet the device's texel-buffer limits (vk_dispatch checks). */
moevk_status vk_buffer_view(vk_buffer *b, int fmt, uint64_t off, uint64_t range, VkBufferView *out);
void vk_alloc_destroy(vk_ctx *ctx);
/* Pipelines (vk_pipeline.c) */
moevk_status vk_pipeline_get(vk_ctx *ctx, const vk_dispatch_desc *d, vk_pipeline **out);
void vk_pipelines_destroy(vk_ctx *ctx);
/* Pipeline cache (vk_pipeline_cache.c). init never fails: without a usable
 * file or directory the context simply starts cold. destroy saves first. */
void vk_pipeline_cache_init(vk_ctx *ctx);
void vk_pipeline_cache_save(vk_ctx *ctx);
void vk_pipeline_cache_destroy(vk_ctx *ctx);

#endif
