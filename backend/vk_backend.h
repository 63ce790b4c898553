/* vk_backend.h — what the engine sees of the Vulkan backend.
 *
 * No Vulkan types appear here: the engine speaks in contexts, buffers,
 * tensors, streams and ops. Everything Vulkan lives in backend/vk_*.c.
 *
 * Model of execution:
 *   vk_ctx     one device, its queue, the pipeline cache and allocator.
 *   vk_buffer  a region of device memory (device-local, or host-visible for
 *              small parameter / readback buffers).
 *   mvk_tensor a typed view into a buffer: byte offset, ne[4] (ggml order,
 *              ne[0] fastest) and byte strides nb[4].
 *   vk_stream  a command buffer that ops are recorded into. Barriers are
 *              inserted automatically, only where a dispatch touches memory
 *              an earlier dispatch of the same stream wrote (or read, for a
 *              write). A recorded stream can be submitted again and again;
 *              what changes between submits lives in buffers (positions,
 *              token ids, KV length), never in re-recording.
 *
 * Every op validates shapes and types and returns a moevk_status naming the
 * problem; nothing aborts. */
#ifndef VK_BACKEND_H
#define VK_BACKEND_H

#include <stdint.h>
#include <stddef.h>

#include "moevk.h"
#include "mvk_types.h"

typedef struct vk_ctx vk_ctx;
typedef struct vk_buffer vk_buffer;
typedef struct vk_stream vk_stream;

/* ------------------------------------------------------------ devices */

typedef enum vk_device_kind {
    VK_KIND_OTHER = 0, VK_KIND_INTEGRATED, VK_KIND_DISCRETE, VK_KIND_VIRTUAL, VK_KIND_CPU
} vk_device_kind;

/* Formats of the texel-buffer views a binding can use (vk_bind.texel): a
 * buffer read through texelFetch (uniform texel buffer) or imageLoad
 * (storage texel buffer) instead of as a storage buffer. On lavapipe a
 * texel fetch gathers all lanes at once where a storage-buffer load whose
 * address differs per lane is a scalar loop (docs/PERFORMANCE.md). */
typedef enum vk_texel_fmt {
    VK_TEXEL_NONE = 0,  /* a storage buffer */
    VK_TEXEL_U32,       /* R32_UINT: one 4-byte word a texel */
    VK_TEXEL_U32X2,     /* R32G32_UINT: 8 bytes */
    VK_TEXEL_U32X4,     /* R32G32B32A32_UINT: 16 bytes */
} vk_texel_fmt;
#define VK_TEXEL_UNIFORM 1u /* texel_support bit: uniform texel buffer (texelFetch) */
#define VK_TEXEL_STORAGE 2u /* texel_support bit: storage texel buffer (imageLoad) */
/* Bytes of one texel of fmt (vk_texel_fmt), 0 for VK_TEXEL_NONE. */
uint32_t vk_texel_bytes(int fmt);

typedef struct vk_device_info {
    char name[256];
    char driver[256];
    uint32_t index;              /* index in vkEnumeratePhysicalDevices order */
    vk_device_kind kind;
    uint32_t api_version;        /* packed VK_MAKE_API_VERSION */
    uint32_t vendor_id, device_id;
    uint32_t subgroup_size;
    uint32_t max_shared_memory;  /* maxComputeSharedMemorySize, bytes */
    uint64_t max_storage_buffer_range;
    uint32_t min_storage_buffer_offset_alignment;
    /* Texel buffers (vk_texel_fmt: views of a buffer read with texelFetch /
     * imageLoad): maxTexelBufferElements, minTexelBufferOffsetAlignment, and
     * per format a bit mask of the descriptor kinds the device supports
     * (1: uniform texel buffer, 2: storage texel buffer). */
    uint64_t max_texel_buffer_elements;
    uint32_t min_texel_buffer_offset_alignment;
    uint8_t texel_support[3];    /* indexed by vk_texel_fmt - 1 */
    uint64_t max_memory_allocation_size;
    uint64_t max_buffer_size;
    uint32_t max_workgroup_count[3];
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_invocations;
    uint32_t max_push_constants_size;
    uint64_t device_local_bytes; /* largest device-local heap */
    int fp16;                    /* shaderFloat16 */
    int int8;                    /* shaderInt8 */
    int storage16;               /* storageBuffer16BitAccess */
    int storage8;                /* storageBuffer8BitAccess */
    int subgroup_arith;          /* subgroup arithmetic in compute */
    int subgroup_ballot;         /* subgroup ballot (subgroupBroadcast) in compute */
    int timestamps;              /* timestamp queries on the compute queue */
    float timestamp_period_ns;
    int uma;                     /* device-local memory is host-visible */
    /* Memory model in use. unified (staging = 0): device buffers in
     * host-visible device-local memory are mapped and copied into directly.
     * staging (1): device buffers are never mapped; every upload and readback
     * goes through a host-visible staging buffer, as on a discrete GPU.
     * staging_forced: staging only because MOEVK_FORCE_STAGING=1 on a device
     * that could map (tests the discrete-GPU path on UMA devices). */
    int staging;
    int staging_forced;
} vk_device_info;

/* "unified", "staging" or "staging (forced)". */
const char *vk_memory_model_name(const vk_device_info *info);

const char *vk_device_kind_name(vk_device_kind k);

/* Lists the devices (without creating a context). *n_out gets the number of
 * devices; at most cap infos are written. */
moevk_status vk_list_devices(vk_device_info *infos, uint32_t cap, uint32_t *n_out);

typedef struct vk_ctx_params {
    /* NULL: the MOEVK_DEVICE environment variable (index or name substring),
     * else the best device: discrete > integrated > virtual > cpu. */
    const char *device;
    /* Enable VK_LAYER_KHRONOS_validation and count its messages
     * (also turned on by MOEVK_VALIDATION=1). */
    int validation;
    /* Per-dispatch GPU timestamps (also MOEVK_PROFILE=1). */
    int profile;
    /* Device-memory budget in bytes; 0: VK_EXT_memory_budget's figure where
     * the device has it, else the device-local heap size, less 10%
     * (vk_budget.c). Every block allocated in a device-local heap counts;
     * one that would go over fails with MOEVK_ERR_OUT_OF_DEVICE_MEMORY. */
    uint64_t device_mem;
    /* With validation: also the layer's synchronization validation (hazards
     * between commands are reported as validation messages). */
    int sync_validation;
} vk_ctx_params;

moevk_status vk_ctx_create(const vk_ctx_params *p, vk_ctx **out);
void vk_ctx_destroy(vk_ctx *ctx); /* accepts NULL and half-built contexts */
const vk_device_info *vk_ctx_info(const vk_ctx *ctx);
/* Number of validation-layer messages (warnings and errors) seen so far. */
uint32_t vk_ctx_validation_count(const vk_ctx *ctx);
/* The message id of the last counted message (e.g. "SYNC-HAZARD-READ-AFTER-WRITE"), "" if none. */
void vk_ctx_last_validation_id(vk_ctx *ctx, char *out, size_t cap);
/* Prints the per-op profile (MOEVK_PROFILE=1) to stderr and resets it. */
void vk_ctx_profile_report(vk_ctx *ctx);
/* Persistent pipeline cache ($MOEVK_CACHE_DIR, else $XDG_CACHE_HOME/moevk,
 * else ~/.cache/moevk; MOEVK_PIPELINE_CACHE=0 disables). Bytes of driver
 * cache data the context was seeded with (0: cold start), and an explicit
 * save (also done by vk_ctx_destroy); saving never fails loudly. */
size_t vk_ctx_pipeline_cache_loaded(const vk_ctx *ctx);
void vk_ctx_pipeline_cache_save(vk_ctx *ctx);

/* ------------------------------------------------------------ memory */

typedef enum vk_mem_kind {
    VK_MEM_DEVICE = 0, /* device-local; filled by vk_upload / read by vk_download */
    VK_MEM_HOST,       /* host-visible + coherent, mappable: parameters, readback;
                        * always in allocations of its own, apart from device memory */
} vk_mem_kind;

moevk_status vk_buffer_create(vk_ctx *ctx, uint64_t size, vk_mem_kind kind, vk_buffer **out);
void vk_buffer_destroy(vk_buffer *b); /* accepts NULL */
uint64_t vk_buffer_size(const vk_buffer *b);
/* Keeps *b if it holds at least size bytes, else destroys it and creates one of size bytes of the given kind
 * (the old contents are not kept). On failure *b is NULL. */
moevk_status vk_buffer_reserve(vk_ctx *ctx, vk_buffer **b, uint64_t size, vk_mem_kind kind);
/* Host pointer of a VK_MEM_HOST buffer (or of a device buffer under the
 * unified memory model, see vk_device_info.staging); NULL otherwise. */
void *vk_buffer_map(vk_buffer *b);

/* Synchronous copies between host memory and a buffer (through staging when needed). */
moevk_status vk_upload(vk_ctx *ctx, vk_buffer *dst, uint64_t dst_off, const void *src, uint64_t size);
moevk_status vk_download(vk_ctx *ctx, vk_buffer *src, uint64_t src_off, void *dst, uint64_t size);

/* A batch of uploads that reaches the device in one submission (the expert
 * cache fetches a layer's missing experts this way: docs/EXPERT_CACHE.md).
 * vk_upload_batch_add says where to write a region's bytes; the caller
 * writes them there (e.g. repacks straight into it); vk_upload_batch_end
 * makes every region visible to later compute. Unified memory model: `where`
 * is the device buffer itself, nothing is submitted. Staging model: `where`
 * is a place in the context's staging buffer; the regions are copied by one
 * command buffer when the batch ends (and by one more each time the staging
 * buffer fills); a region larger than the staging buffer gets a host buffer
 * of its own, copied in chunks.
 * Contract: between begin and end the context's transfer state is held
 * (other uploads, downloads, buffer creations and submits of this context
 * wait): write the bytes, nothing else. end follows every begin, also after
 * an error; the first error is the one end returns. */
enum { VK_UPLOAD_BATCH_MAX = 96 }; /* regions per submission */
typedef struct vk_upload_batch {
    vk_ctx *ctx;
    int locked;               /* the staging model holds ctx->lock from the first add to end */
    moevk_status status;      /* first error */
    uint64_t used;            /* staging bytes taken by the pending regions */
    int n;                    /* pending regions */
    struct { vk_buffer *dst; uint64_t dst_off, src_off, size; } r[VK_UPLOAD_BATCH_MAX];
    vk_buffer *big_dst;       /* a region larger than staging, written by the caller into big */
    uint64_t big_off, big_size;
    void *big;
    uint32_t submits;         /* submissions made (0 under the unified model) */
    uint64_t bytes;           /* bytes of every region added */
} vk_upload_batch;

void vk_upload_batch_begin(vk_ctx *ctx, vk_upload_batch *b);
moevk_status vk_upload_batch_add(vk_upload_batch *b, vk_buffer *dst, uint64_t dst_off, uint64_t size, void **where);
moevk_status vk_upload_batch_end(vk_upload_batch *b);

/* Device bytes currently allocated through the sub-allocator. */
uint64_t vk_ctx_allocated_bytes(const vk_ctx *ctx);
/* The budget (bytes), the VkDeviceMemory held in device-local heaps now and
 * at most so far, and where the budget came from ("requested",
 * "heap size 2048 MiB less 10%", ...). */
uint64_t vk_ctx_budget(const vk_ctx *ctx);
uint64_t vk_ctx_committed(const vk_ctx *ctx);
uint64_t vk_ctx_committed_peak(const vk_ctx *ctx);
const char *vk_ctx_budget_source(const vk_ctx *ctx);
/* Granularity of the sub-allocator's blocks (<= budget/32, see vk_memory.c). */
uint64_t vk_ctx_block_size(const vk_ctx *ctx);
/* 1 once a submit or wait returned VK_ERROR_DEVICE_LOST (then every submit
 * fails with MOEVK_ERR_DEVICE_LOST; the context must be destroyed). */
int vk_ctx_device_lost(const vk_ctx *ctx);

/* What the context's queue was given so far, counted when submitted (a
 * recorded stream replayed n times counts n times): compute dispatches and
 * barriers of the submitted stream segments, and vkQueueSubmit calls (the
 * streams' and the transfers'). The engine reports the differences per decode
 * step and per prefill (moevk_timings). */
typedef struct vk_run_counts {
    uint64_t dispatches, barriers, submits;
} vk_run_counts;
void vk_ctx_run_counts(vk_ctx *ctx, vk_run_counts *out);

/* ------------------------------------------------------------ tensors */

typedef struct mvk_tensor {
    vk_buffer *buf;
    uint64_t off;    /* byte offset of element 0 in buf */
    mvk_type type;
    int64_t ne[4];   /* elements, ggml order: ne[0] fastest */
    int64_t nb[4];   /* byte strides; nb[0] = bytes of one block (Q4_K: 144 per 256 elements); quantised rows
                      * are in the device layout (mvk_types.h), nb[1] >= mvk_dev_row_bytes */
    uint32_t ilv;    /* 0: plain rows. G > 0: the rows of each [K][N] slice interleaved in groups of G (core/mvk_types.h
                      * mvk_interleave_rows; quantised weights on CPU devices, nb[1] = mvk_dev_row_bytes). Views copy
                      * it; a row-range view must start on a group boundary and end on one or at the slice's end.
                      * Ops that do not read the layout refuse such a tensor (vk_op_check.h vkc_layout). */
} mvk_tensor;

/* A contiguous tensor at buf+off. Unused trailing dims are 1. */
mvk_tensor mvk_tensor_make(vk_buffer *buf, uint64_t off, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
/* A view of tensor t: new shape ne/nb, starting offset bytes further. */
mvk_tensor mvk_tensor_view(const mvk_tensor *t, uint64_t offset, const int64_t ne[4], const int64_t nb[4]);
int64_t mvk_tensor_nelements(const mvk_tensor *t);
/* Bytes from the first to one past the last byte the view touches. */
uint64_t mvk_tensor_extent(const mvk_tensor *t);
int mvk_tensor_is_contiguous(const mvk_tensor *t);

/* ------------------------------------------------------------ streams */

moevk_status vk_stream_create(vk_ctx *ctx, vk_stream **out);
void vk_stream_destroy(vk_stream *s); /* accepts NULL; waits for pending work */
/* Starts recording (discards a previous recording and its scratch). */
moevk_status vk_stream_begin(vk_stream *s);
moevk_status vk_stream_end(vk_stream *s);
/* Submits the recording and waits for it to finish. May be called again
 * without re-recording (replay). */
moevk_status vk_stream_submit(vk_stream *s);
/* Submits without waiting; vk_stream_wait blocks until done. */
moevk_status vk_stream_submit_async(vk_stream *s);
moevk_status vk_stream_wait(vk_stream *s);
/* Segments: vk_stream_cut ends the segment being recorded and starts the
 * next (each segment is its own command buffer; scratch and the recording go
 * on across the cut). vk_stream_submit runs all segments in order; a closed
 * segment can also be submitted alone, so the host can act between two
 * (read routing ids, fetch experts, write slot tables). The profile
 * (MOEVK_PROFILE) is collected after the last segment. */
moevk_status vk_stream_cut(vk_stream *s);
uint32_t vk_stream_segment_count(const vk_stream *s);
moevk_status vk_stream_submit_segment(vk_stream *s, uint32_t i);
moevk_status vk_stream_submit_segment_async(vk_stream *s, uint32_t i);
/* Number of dispatches and barriers in the current recording. */
uint32_t vk_stream_dispatch_count(const vk_stream *s);
uint32_t vk_stream_barrier_count(const vk_stream *s);
vk_ctx *vk_stream_ctx(const vk_stream *s);

/* Temporary device tensor that lives until the next vk_stream_begin. */
moevk_status vk_stream_scratch(vk_stream *s, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, mvk_tensor *out);

/* Scratch reuse: memory handed out after a mark is handed out again after a
 * reset to it. Safe within one recording because barriers are derived from
 * buffer ranges: a reused range gets a write-after-read barrier. The engine
 * marks before a layer and resets after it, so all layers share one set of
 * intermediates. */
typedef struct vk_scratch_mark { uint32_t index; uint64_t used; } vk_scratch_mark;
vk_scratch_mark vk_stream_scratch_mark(const vk_stream *s);
void vk_stream_scratch_reset(vk_stream *s, vk_scratch_mark m);

/* Recorded transfers. */
moevk_status vk_op_copy_bytes(vk_stream *s, vk_buffer *dst, uint64_t dst_off, vk_buffer *src, uint64_t src_off, uint64_t size);
moevk_status vk_op_fill_u32(vk_stream *s, vk_buffer *dst, uint64_t off, uint64_t size, uint32_t value);

/* Device probes for the roofline (`moevk bench probe`, shaders/probe.comp).
 * READ_LANE / READ_COAL: y[i] (U32 words, one per invocation, ninv of them)
 * = the word sum of what invocation i read from src (n4 uvec4s: a multiple
 * of 2*ninv, and of 4*ninv for READ_LANE); the words of y sum to src's word
 * sum mod 2^32. FMA: y[i] = bits of the sum of `chains` (1..16) vec4 chains
 * x <- x*a + b run iters (a multiple of 8) times from x = q/8 (q = 0..chains-1); FMA_SH_LANE /
 * FMA_SH_UNIF read a from shared memory each time, at a per-lane / a uniform
 * address (ninv a multiple of the workgroup, 64 or the device's limit). */
typedef enum vk_probe_kind {
    VK_PROBE_READ_LANE, VK_PROBE_READ_COAL, VK_PROBE_FMA, VK_PROBE_FMA_SH_LANE, VK_PROBE_FMA_SH_UNIF,
    /* READ_LANE through a texel-buffer view of src: uniform (TEX) or storage
     * (IMG) texel buffer of R32G32B32A32_UINT (4) or R32_UINT (1) texels */
    VK_PROBE_READ_TEX4, VK_PROBE_READ_TEX1, VK_PROBE_READ_IMG4, VK_PROBE_READ_IMG1,
    /* READ_TEX4 with the runs interleaved by uvec4 across each 8 invocations (ninv a multiple of 8):
     * invocation 8g + l reads uvec4 8k + l of group g's span of 8 runs */
    VK_PROBE_READ_ITEX4
} vk_probe_kind;
moevk_status vk_op_probe(vk_stream *s, vk_probe_kind kind, const mvk_tensor *y, const mvk_tensor *src, uint32_t ninv, uint32_t iters,
                         uint32_t chains, float a, float b);

/* ------------------------------------------------------------ ops
 * Notation: x[K][M] means ne = [K, M]. All activations are F32 unless said. */

/* y[N][M] = x[K][M] · w[K][N]ᵀ (+ bias[N]). w: any weight type of mvk_type_table.h; x, y, bias F32.
 * M <= 8 takes the mat-vec path, larger M the tiled path. Weights larger than
 * the device's storage-buffer range are processed in row ranges.
 * x may have row stride nb[1] != K*4; y must be contiguous. */
moevk_status vk_op_matmul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *bias);

/* vk_op_matmul with an epilogue: VK_MM_EPI_GELU: y = gelu_tanh(x·wᵀ + bias); VK_MM_EPI_ACC: y += x·wᵀ + bias
 * (a residual add; y is read, so it must not alias x). One of them, or 0 (= vk_op_matmul). CPU devices' lane
 * GEMM (matmul_lane.comp) applies it in its store; the other paths run vk_op_gelu / vk_op_add after the
 * product (ACC: the product in stream scratch). Same values either way, up to the order of the adds. */
enum { VK_MM_EPI_ACC = 1, VK_MM_EPI_GELU = 2 };
moevk_status vk_op_matmul_ex(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *bias,
                             unsigned epi);

/* The row interleave (mvk_tensor.ilv; docs/QUANT_LAYOUTS.md "Interleaved rows") a weight of type t gets where it
 * is uploaded for the matmuls on this device: the group size (the lane kernels' SIMD width, the subgroup size), or 0
 * for plain rows. Only CPU devices where every kernel that may read the weight reads the layout (vk_op_mm.h
 * mm_ilv_readers: the lane mat-vec and lane GEMMs through texel views; an A/B switch that picks another kernel
 * keeps the rows plain), only quantised types. On by default there (docs/PERFORMANCE.md section 43);
 * MOEVK_WEIGHT_ILV=0 keeps plain rows; =dense: the engine interleaves the dense weights only, the routed experts
 * stay plain (A/B profiles normalised by the untouched expert kernel). */
uint32_t vk_weight_ilv(const vk_ctx *ctx, mvk_type t);

/* The type a weight of file type t is stored as on this device where the engine uploads the text model's dense
 * matmul weights: the device-only type made from t (mvk_type_widened: Q6_K -> Q6_K8, docs/QUANT_LAYOUTS.md
 * "Device-only types") on CPU devices whose decode mat-vec is the lane kernel's texel variant (where it is faster
 * a weight: docs/PERFORMANCE.md section 44), else t. Every kernel takes either type; the values are the
 * same, bit for bit. MOEVK_WEIGHT_WIDE=0 keeps t (A/B, tests). */
mvk_type vk_weight_type(const vk_ctx *ctx, mvk_type t);

/* MoE expert matmul. w[K][N][E]; ids I32 [k][T] (expert of slot j for token t);
 *   x[K][T]      (same input for all k slots) or x[K][k][T] (one input per slot);
 *   y[N][k][T]   per-slot outputs.
 * T <= 8 takes the mat-vec-per-selected-expert path; larger T groups tokens
 * per expert on the GPU (count, offsets, gather), runs a grouped GEMM and
 * scatters results back. The CPU never reads ids. */
moevk_status vk_op_mul_mat_id(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *ids);

/* The gate and up projections of a gated FFN and its activation in one op (decode: one pass over
 * both weights sharing the reads of x on CPU devices, shaders/matvec_lane.comp GATEUP):
 *   vk_op_gateup:    y[F][T]    = act(x[K][T] · wg[K][F]ᵀ) * (x · wu[K][F]ᵀ)
 *   vk_op_gateup_id: y[F][k][T] = act(x · wg[e]ᵀ) * (x · wu[e]ᵀ), e = ids[j][t] (mul_mat_id's ids and x
 *                    shapes; an entry with an invalid id gets a zero row)
 * act: VK_GLU_SWIGLU (silu) or VK_GLU_GEGLU (tanh gelu). wg and wu have the same shape. Where the fused
 * kernel does not apply (GPUs, T > 1, wg and wu of different types, views that do not fit) or is
 * not chosen (by default float weights, F32 / F16 / BF16, and Q4_K take it; MOEVK_FUSE_GATEUP=1 / 0 forces it on /
 * off), the op records the separate matmuls and swiglu / geglu: y is
 * bit-identical either way where the fused kernel's sums match the plain lane mat-vec's. */
typedef enum vk_glu { VK_GLU_SWIGLU = 0, VK_GLU_GEGLU = 1 } vk_glu;
moevk_status vk_op_gateup(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *wg, const mvk_tensor *wu,
                          vk_glu act);
moevk_status vk_op_gateup_id(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *wg, const mvk_tensor *wu,
                             const mvk_tensor *ids, vk_glu act);

/* y[N][T] = Σ_j weights[j][t] · x[N][j][T], summed in slot order j = 0..k-1. */
moevk_status vk_op_moe_combine(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *weights);
/* y[N][T] = r[N][T] + that sum (the combine and the residual add in one dispatch; y may be r itself):
 * the same value as vk_op_add(y, r, combine). */
moevk_status vk_op_moe_combine_add(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *weights,
                                   const mvk_tensor *r);

typedef enum vk_gate_mode {
    VK_GATE_SOFTMAX_TOPK = 0, /* softmax over all experts (f32), then top-k */
    VK_GATE_TOPK_SOFTMAX,     /* top-k logits, then softmax over the k */
    VK_GATE_SIGMOID_TOPK,     /* sigmoid scores, then top-k */
} vk_gate_mode;
/* logits[E][T] -> ids I32 [k][T], weights F32 [k][T]; ranks by descending
 * score, ties to the lower expert id. renorm: divide the k weights by
 * max(sum, 6.103515625e-5). */
moevk_status vk_op_moe_gate(vk_stream *s, const mvk_tensor *ids, const mvk_tensor *weights, const mvk_tensor *logits, int k, vk_gate_mode mode, int renorm);

/* Row-wise over ne[0]. w (and b) are F32 [ne0] or NULL. x, y may be strided views. */
moevk_status vk_op_rms_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps);
/* RMSNorm whose rows with i1 (ne[1] index) >= split are weighted by w2, the others by w: the q and k heads
 * of a token laid out [hd][Hq + Hk] normed in one dispatch (split = Hq). */
moevk_status vk_op_rms_norm_split(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w,
                                  const mvk_tensor *w2, int64_t split, float eps);
moevk_status vk_op_layer_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *b, float eps);
/* Row-wise L2 normalisation over ne[0]: y = x / sqrt(Σx² + eps) (w: NULL or an extra [ne0] multiplier).
 * Gated DeltaNet's q/k norm; llama.cpp's build_gdn_l2_norm with eps = layer_norm_rms_epsilon. */
moevk_status vk_op_l2_norm(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps);

typedef enum vk_rope_mode {
    VK_ROPE_NEOX = 0,  /* pos I32 [T]; pairs (i, i + n_dims/2) */
    VK_ROPE_MROPE,     /* pos I32 [4*T] planar t|h|w|e; contiguous sections */
    VK_ROPE_IMROPE,    /* pos I32 [4*T] planar; interleaved sections (Qwen3-VL) */
    VK_ROPE_VISION,    /* pos I32 [4*T] planar row|col|..; 2-D vision RoPE */
} vk_rope_mode;
/* n_dims and sections follow ggml_rope_multi. NEOX/MROPE/IMROPE: pairs
 * (i, i + n_dims/2) for i < n_dims/2, angle pos_c * base^(-2i/n_dims), sector
 * = i % (s0+s1+s2+s3) picks the component c. VISION: pairs (i, i + n_dims)
 * for i < n_dims (so 2*n_dims <= hd; Qwen3-VL ViT: hd 72, n_dims 36,
 * sections {18,18,18,18}); sector = i % (s0+s1): sector < s0 uses row
 * (plane 0) with exponent sector, else column (plane 1) with exponent
 * sector - s0. Dims beyond the rotated ones are copied unchanged. */
typedef struct vk_rope_params {
    vk_rope_mode mode;
    int n_dims;          /* rotated dims (<= head dim) */
    float freq_base;
    int sections[4];     /* MROPE / IMROPE / VISION */
    const mvk_tensor *freq_factors; /* NULL, or NEOX only: F32 [>= n_dims/2], pair i's angle divided by
                                       freq_factors[i] (ggml_rope_ext's src2: Gemma 4's proportional RoPE) */
} vk_rope_params;
/* x[hd][H][T] (may be a strided view, e.g. into a fused QKV row) -> y same shape. */
moevk_status vk_op_rope(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *pos, const vk_rope_params *p);
/* vk_op_rms_norm_split then vk_op_rope: y[hd][H][T] = rope(rms_norm(x) * (head < split ? w : w2)), the same values
 * (bit for bit on CPU devices, where one dispatch does both: norm.comp rms_rope; elsewhere the two ops, through
 * stream scratch). A decode step's q and k heads side by side, each normed with its weight, then rotated. y must not
 * overlap x. */
moevk_status vk_op_rms_norm_rope_split(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w,
                                       const mvk_tensor *w2, int64_t split, float eps, const mvk_tensor *pos,
                                       const vk_rope_params *p);

typedef struct vk_attn_params {
    float scale;         /* usually 1/sqrt(hd) */
    int causal;          /* query i (absolute position n_kv - Tq + i) sees keys <= it */
    int window;          /* 0, or a sliding window: query position i sees key j only if i - j < window */
    int nc_lo, nc_hi;    /* nc_hi > nc_lo: causal queries at positions in [nc_lo, nc_hi) see every key < nc_hi
                            (an image's rows attending to each other both ways; prefill only) */
    int n_kv_host;       /* 0, or the value the n_kv tensor holds, known to the host when it records a prefill:
                            CPU devices then take the GEMM path (attn_lane), which walks only the keys visible */
} vk_attn_params;
/* q[hd][Hq][Tq] F32 (strided views allowed), k/v[hd][Hkv][Tk] F32 or F16
 * (KV cache), out[hd][Hq][Tq] F32 contiguous. Hq % Hkv == 0 (GQA).
 * n_kv: NULL (all Tk keys valid) or an I32 [1] tensor holding the number of
 * valid keys, read on the GPU (decode replay). Tq == 1 takes the decode path. */
moevk_status vk_op_attention(vk_stream *s, const mvk_tensor *out, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v, const mvk_tensor *n_kv, const vk_attn_params *p);

/* Element-wise. a, b, y same type F32; b broadcasts when each b->ne[i] divides a->ne[i]. */
moevk_status vk_op_add(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b);
moevk_status vk_op_mul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *a, const mvk_tensor *b);
moevk_status vk_op_scale(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float f);
moevk_status vk_op_silu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x);
typedef enum vk_gelu_kind { VK_GELU_TANH = 0, VK_GELU_ERF } vk_gelu_kind;
moevk_status vk_op_gelu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, vk_gelu_kind kind);
/* y = silu(g) * u, element-wise. */
moevk_status vk_op_swiglu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u);
/* y = 1 / (1 + e^-x), element-wise. */
moevk_status vk_op_sigmoid(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x);
/* y = x * sigmoid(u), element-wise (a gated attention output: x = attention, u = gate). */
moevk_status vk_op_sigmoid_mul(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *u);
/* y = gelu_tanh(g) * u (GeGLU: Gemma's MLP and experts). Shapes and aliasing as swiglu. */
moevk_status vk_op_geglu(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u);
/* y = cap * tanh(x / cap) (Gemma's final logit soft-capping); cap > 0. */
moevk_status vk_op_softcap(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float cap);
/* y = gelu_quick(g) * u, gelu_quick(x) = x * sigmoid(1.702 x) (ggml_geglu_quick: gemma4v's MLP, whose mmprojs set
 * neither clip.use_gelu nor clip.use_silu). Shapes and aliasing as swiglu. */
moevk_status vk_op_geglu_quick(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u);
/* y = max(min(x, hi), lo) (ggml_clamp: gemma4v's clippable linear layers); lo <= hi, either may be +-FLT_MAX. */
moevk_status vk_op_clamp(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float lo, float hi);

/* ---- Gated DeltaNet (docs/families/qwen35.md §4.1) */
/* Depthwise causal conv1d with a carried state, in place on the state:
 * x[C][T] (ggml ne = [C, T]: channels contiguous per token, token stride free), w[K][C] F32 contiguous
 * (ne = [K, C], one K-tap kernel per channel), state[K-1][C] F32 contiguous (ne = [K-1, C]: each
 * channel's K-1 taps contiguous; the left context, overwritten with the last K-1 inputs),
 * y[C][T] (may alias x). silu != 0 applies SiLU to the output. 2 <= K <= 16. */
moevk_status vk_op_ssm_conv(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, const mvk_tensor *state,
                            int silu);
/* Gates of the delta rule: g[H][T] = softplus(alpha + dt_bias) * a, beta[H][T] = sigmoid(b).
 * alpha, b [H][T] (token stride free); dt_bias, a F32 contiguous [H]; g, beta [H][T]. */
moevk_status vk_op_gdn_gates(vk_stream *s, const mvk_tensor *g, const mvk_tensor *beta, const mvk_tensor *alpha,
                             const mvk_tensor *b, const mvk_tensor *dt_bias, const mvk_tensor *a);
/* The gated delta rule over T tokens (T = 1: the decode step), state updated in place:
 * q, k [S][Hk][T]; v [S][Hv][T]; g, beta [Hv][T] (from vk_op_gdn_gates); state F32 contiguous
 * [S][S][Hv] (ggml ne order; per head row j = value column, contiguous over the key index);
 * o [S][Hv][T] (may alias v). Views with contiguous rows and free head/token strides (e.g. into
 * the conv output). V head h reads K head h % Hk. scale: usually 1/sqrt(S). One dispatch. */
moevk_status vk_op_delta_net(vk_stream *s, const mvk_tensor *o, const mvk_tensor *q, const mvk_tensor *k, const mvk_tensor *v,
                             const mvk_tensor *g, const mvk_tensor *beta, const mvk_tensor *state, float scale);

/* y[D][T] F32 = table[D][V] (any weight type) rows ids[t] (I32 [T]). Out-of-range ids give zeros. */
moevk_status vk_op_get_rows(vk_stream *s, const mvk_tensor *y, const mvk_tensor *table, const mvk_tensor *ids);
/* dst[D][R] (F32 or F16) rows idx[t] (I32 [T]) = src[D][T] (F32), converting.
 * Used to write the KV cache at positions held in a buffer. Out-of-range rows are skipped. */
moevk_status vk_op_set_rows(vk_stream *s, const mvk_tensor *dst, const mvk_tensor *src, const mvk_tensor *idx);
/* Both writes at the same rows idx, in one dispatch where dst and dst2 have one type and row count and are
 * bound whole (a layer's K and V cache); otherwise as two vk_op_set_rows. Reference: ref_set_rows of each. */
moevk_status vk_op_set_rows2(vk_stream *s, const mvk_tensor *dst, const mvk_tensor *src, const mvk_tensor *dst2,
                             const mvk_tensor *src2, const mvk_tensor *idx);
/* x F32 [K][R1][R2] (K a multiple of 32; rows of any 4-byte stride) quantised to int8 blocks of 32 with an
 * f32 scale each (d = max|x| / 127, q = roundEven(x / d)): xq I32 [RQ][R1][R2], contiguous, RQ = K/4 +
 * 4 ceil(K/128) words a row: K/4 words of quants (byte k of word w: element 4w + k), then K/32 scales and
 * zeros to a 16-byte boundary. The x of the lane mat-vec's int8 path (vk_op_matmul / vk_op_mul_mat_id on
 * CPU devices, shaders/matvec_lane.comp XQ). Reference: ref_quant_x. */
moevk_status vk_op_quant_x(vk_stream *s, const mvk_tensor *xq, const mvk_tensor *x);
/* Words of one row of vk_op_quant_x's output for rows of K. */
static inline int64_t vk_quant_x_row_words(int64_t K) { return K / 4 + 4 * ((K + 127) / 128); }
/* x [K][ne1][ne2] quantised as vk_op_quant_x does, into *xq [RQ][ne1][ne2] in stream scratch, or the xq
 * this recording made of the same view of x already, while nothing has written x's or xq's bytes since
 * (the lane mat-vecs of q, k and v, of gate and up, read one x: one quantisation). MOEVK_XQ_SHARE=0: a new
 * quantisation every time (A/B, tests). */
moevk_status vk_quant_x_shared(vk_stream *s, const mvk_tensor *x, mvk_tensor *xq);
/* The producers of a mat-vec's x with x's int8 form in the same dispatch (shaders/fuse_xq.comp): y as
 * vk_op_rms_norm (x, y F32 [K][R1][R2], w NULL or contiguous [K]) / vk_op_swiglu / vk_op_geglu (g, u, y F32 [K][R1][R2]) writes
 * it, bit for bit, and xq I32 [RQ][R1][R2] (contiguous) = vk_op_quant_x of that y, bit for bit; K a multiple of 32.
 * References: ref_rms_norm / ref_swiglu / ref_geglu, then ref_quant_x. */
moevk_status vk_op_rms_norm_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *x, const mvk_tensor *w,
                               float eps);
moevk_status vk_op_swiglu_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *g, const mvk_tensor *u);
moevk_status vk_op_geglu_xq(vk_stream *s, const mvk_tensor *y, const mvk_tensor *xq, const mvk_tensor *g, const mvk_tensor *u);
/* vk_op_rms_norm / vk_op_swiglu / vk_op_geglu of the x a lane mat-vec reads next: where that mat-vec takes int8 x (CPU devices,
 * vk_quant_x_shared's conditions: MOEVK_LANE_XQ, MOEVK_XQ_SHARE) the fused op, writing y and its quantisation into
 * stream scratch, kept as vk_quant_x_shared's quantisation of y (so the mat-vec records no quant_x); elsewhere,
 * and with MOEVK_FUSE_XQ=0 (A/B, tests), the plain op. y is the same either way. */
moevk_status vk_rms_norm_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, const mvk_tensor *w, float eps);
moevk_status vk_swiglu_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u);
moevk_status vk_geglu_xq_shared(vk_stream *s, const mvk_tensor *y, const mvk_tensor *g, const mvk_tensor *u);

/* y = x with type conversion F32 <-> F16 (or same-type strided copy). Same ne. */
moevk_status vk_op_convert(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x);

/* Row-wise softmax over ne[0] of scale*x. */
moevk_status vk_op_softmax(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, float scale);
/* ids I32 [T] = argmax over ne[0] of x[V][T]; ties to the lower index. */
moevk_status vk_op_argmax(vk_stream *s, const mvk_tensor *ids, const mvk_tensor *x);

/* Patch embedding (conv2d, stride = kernel = p, no padding) as im2col + matmul:
 * img F32 [W][H][C] planar, w [p][p][C][OC] (F32/F16), bias F32 [OC] or NULL,
 * y F32 [OC][n_patches] with patches in raster order (row-major over the
 * (H/p) x (W/p) grid). */
moevk_status vk_op_patch_embed(vk_stream *s, const mvk_tensor *y, const mvk_tensor *img, const mvk_tensor *w, const mvk_tensor *bias);
/* y = conv(w0) + conv(w1) + bias over the same patches (Qwen-VL's two temporal kernels), one im2col for both:
 * the second product is added in its store (vk_op_matmul_ex ACC). w1: w0's shape and type, contiguous. */
moevk_status vk_op_patch_embed2(vk_stream *s, const mvk_tensor *y, const mvk_tensor *img, const mvk_tensor *w0, const mvk_tensor *w1,
                                const mvk_tensor *bias);
/* im2col alone: cols F32 [p*p*C][n_patches], element (kx + p*ky + p*p*c). */
moevk_status vk_op_im2col(vk_stream *s, const mvk_tensor *cols, const mvk_tensor *img, int p);

/* Bilinear resize of the two spatial axes (axis0, axis0+1) of x into y; other
 * axes must agree. align_corners: src = dst*(in-1)/(out-1); else half-pixel
 * centres, clamped. Images: x[W][H][C], axis0 = 0. Position tables:
 * x[D][Gx][Gy], axis0 = 1. */
moevk_status vk_op_resize_bilinear(vk_stream *s, const mvk_tensor *y, const mvk_tensor *x, int axis0, int align_corners);

#endif
