/* vk_memory.c — device memory: a block sub-allocator, buffers, staging copies.
 *
 * Buffers are VkBuffers bound at offsets inside large VkDeviceMemory blocks
 * (one block list per memory type, first-fit over a sorted free list), so a
 * model with hundreds of tensors makes a handful of allocations. Requests
 * larger than half a block get a dedicated allocation. Device and host
 * buffers never share a block.
 *
 * Memory models (vk_device_info.staging): on UMA devices (and lavapipe)
 * device-local memory is also host-visible and is mapped directly, so
 * uploads skip the staging copy ("unified"). Otherwise, or with
 * MOEVK_FORCE_STAGING=1, device blocks are never mapped and every upload and
 * readback is a copy through the host-visible staging buffer ("staging"), as
 * on a discrete GPU. */
#include <stdlib.h>
#include <string.h>

#include "vk_fault.h"
#include "vk_internal.h"

#define STAGING_BYTES (32ull << 20)
#define HOST_BLOCK_BYTES (64ull << 20) /* host blocks: parameters, readback, staging */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Block size for buffers of a kind (host blocks are smaller: parameters,
 * readback and staging only), and the staging buffer: half a host block, so
 * that it is sub-allocated and stays within a small device-memory budget. */
static uint64_t kind_block_bytes(const vk_ctx *ctx, vk_mem_kind kind) {
    return kind == VK_MEM_HOST && HOST_BLOCK_BYTES < ctx->block_size ? HOST_BLOCK_BYTES : ctx->block_size;
}

/* Whether a block counts against the device-memory budget: blocks in a
 * device-local heap, except host blocks under forced staging, which stand
 * for the system memory they would be in on a discrete GPU. */
static int block_counts(const vk_ctx *ctx, uint32_t type, vk_mem_kind kind) {
    if (kind == VK_MEM_HOST && ctx->info.staging_forced) return 0;
    return vk_budget_counts(ctx, type);
}

static uint64_t staging_bytes(const vk_ctx *ctx) {
    uint64_t half = kind_block_bytes(ctx, VK_MEM_HOST) / 2;
    return STAGING_BYTES < half ? STAGING_BYTES : half;
}

moevk_status vk_alloc_init(vk_ctx *ctx) {
    uint64_t bs = 256ull << 20;
    if (ctx->info.max_memory_allocation_size && bs > ctx->info.max_memory_allocation_size)
        bs = ctx->info.max_memory_allocation_size;
    /* blocks of at most 1/32 of the budget (a power of two, >= 1 MiB), so
     * that a block's unused tail is a small part of a small budget */
    while (ctx->budget && bs > (1ull << 20) && bs > ctx->budget / 32) bs /= 2;
    ctx->block_size = bs;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = ctx->queue_family};
    VK_TRY(ctx->vkd.vkCreateCommandPool(ctx->device, &pci, NULL, &ctx->xfer_pool));
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = ctx->xfer_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VK_TRY(ctx->vkd.vkAllocateCommandBuffers(ctx->device, &ai, &ctx->xfer_cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_TRY(ctx->vkd.vkCreateFence(ctx->device, &fci, NULL, &ctx->xfer_fence));
    /* staging: every upload needs the staging buffer; make it now, so that
     * it is not mistaken for growth of the model's memory later */
    if (ctx->info.staging) MVK_TRY(vk_buffer_create(ctx, staging_bytes(ctx), VK_MEM_HOST, &ctx->staging));
    return MOEVK_OK;
}

static void block_free(vk_ctx *ctx, vk_mem_block *b) {
    if (block_counts(ctx, b->type_index, b->kind)) ctx->committed -= b->size;
    if (b->mapped) ctx->vkd.vkUnmapMemory(ctx->device, b->mem);
    ctx->vkd.vkFreeMemory(ctx->device, b->mem, NULL);
    free(b->free_off);
    free(b->free_size);
    free(b);
}

void vk_alloc_destroy(vk_ctx *ctx) {
    vk_buffer_destroy(ctx->staging);
    ctx->staging = NULL;
    if (ctx->xfer_fence) ctx->vkd.vkDestroyFence(ctx->device, ctx->xfer_fence, NULL);
    if (ctx->xfer_pool) ctx->vkd.vkDestroyCommandPool(ctx->device, ctx->xfer_pool, NULL);
    for (vk_mem_block *b = ctx->blocks, *n; b; b = n) {
        n = b->next;
        block_free(ctx, b);
    }
    ctx->blocks = NULL;
}

static int find_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want,
                     VkMemoryPropertyFlags avoid) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
        if ((bits & (1u << i)) && (f & want) == want && !(f & avoid)) return (int)i;
    }
    return -1;
}

/* Memory-type preferences, first match wins: {want, avoid}. Under staging
 * (discrete GPUs): device buffers in device-local memory that is not
 * host-visible (keeps the small BAR window free), host buffers in system
 * memory (not device-local), cached for fast readback. Unified: device
 * buffers in host-visible device-local memory (mapped), host buffers cached
 * if possible. Vulkan orders types so that, among matches, the first is the
 * plainest (e.g. device-local before device-local + host-visible). */
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define HK VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
typedef struct type_pref { VkMemoryPropertyFlags want, avoid; } type_pref;
static const type_pref pref_device_staging[] = {{DL, HV}, {DL, 0}, {0, 0}};
static const type_pref pref_device_unified[] = {{DL | HV | HC, 0}, {DL, 0}, {0, 0}};
static const type_pref pref_host_staging[] = {{HV | HC | HK, DL}, {HV | HC, DL}, {HV | HC | HK, 0}, {HV | HC, 0}};
static const type_pref pref_host_unified[] = {{HV | HC | HK, 0}, {HV | HC, 0}};
#undef HV
#undef HC
#undef HK
#undef DL

int vk_pick_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, vk_mem_kind kind, int staging) {
    const type_pref *p;
    size_t n;
    if (kind == VK_MEM_HOST) {
        p = staging ? pref_host_staging : pref_host_unified;
        n = staging ? sizeof pref_host_staging / sizeof *p : sizeof pref_host_unified / sizeof *p;
    } else {
        p = staging ? pref_device_staging : pref_device_unified;
        n = staging ? sizeof pref_device_staging / sizeof *p : sizeof pref_device_unified / sizeof *p;
    }
    for (size_t i = 0; i < n; i++) {
        int t = find_type(mp, bits, p[i].want, p[i].avoid);
        if (t >= 0) return t;
    }
    return -1;
}

/* First fit in a block's free list; returns 1 and the offset on success. */
static int block_take(vk_mem_block *b, uint64_t size, uint64_t align, uint64_t *off) {
    for (uint32_t i = 0; i < b->n_free; i++) {
        uint64_t start = align_up(b->free_off[i], align);
        uint64_t end = b->free_off[i] + b->free_size[i];
        if (start + size > end) continue;
        uint64_t head = start - b->free_off[i], tail = end - (start + size);
        if (head && tail) { /* split into two free ranges */
            if (b->n_free == b->cap_free) return 0; /* no room to split: try another block */
            memmove(&b->free_off[i + 2], &b->free_off[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
            memmove(&b->free_size[i + 2], &b->free_size[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
            b->free_size[i] = head;
            b->free_off[i + 1] = start + size;
            b->free_size[i + 1] = tail;
            b->n_free++;
        } else if (head) {
            b->free_size[i] = head;
        } else if (tail) {
            b->free_off[i] = start + size;
            b->free_size[i] = tail;
        } else {
            memmove(&b->free_off[i], &b->free_off[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
            memmove(&b->free_size[i], &b->free_size[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
            b->n_free--;
        }
        *off = start;
        b->n_live++;
        return 1;
    }
    return 0;
}

static void block_give(vk_mem_block *b, uint64_t off, uint64_t size) {
    uint32_t i = 0;
    while (i < b->n_free && b->free_off[i] < off) i++;
    /* merge with the previous and/or next range */
    int prev = i > 0 && b->free_off[i - 1] + b->free_size[i - 1] == off;
    int next = i < b->n_free && off + size == b->free_off[i];
    if (prev && next) {
        b->free_size[i - 1] += size + b->free_size[i];
        memmove(&b->free_off[i], &b->free_off[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
        memmove(&b->free_size[i], &b->free_size[i + 1], (b->n_free - i - 1) * sizeof(uint64_t));
        b->n_free--;
    } else if (prev) {
        b->free_size[i - 1] += size;
    } else if (next) {
        b->free_off[i] = off;
        b->free_size[i] += size;
    } else if (b->n_free < b->cap_free) {
        memmove(&b->free_off[i + 1], &b->free_off[i], (b->n_free - i) * sizeof(uint64_t));
        memmove(&b->free_size[i + 1], &b->free_size[i], (b->n_free - i) * sizeof(uint64_t));
        b->free_off[i] = off;
        b->free_size[i] = size;
        b->n_free++;
    } /* else: the range leaks until the block empties (free list full) */
    b->n_live--;
    if (b->n_live == 0) { /* whole block free again */
        b->n_free = 1;
        b->free_off[0] = 0;
        b->free_size[0] = b->size;
    }
}

static moevk_status block_new(vk_ctx *ctx, uint64_t size, uint32_t type, vk_mem_kind kind, int dedicated, vk_mem_block **out) {
    int counts = block_counts(ctx, type, kind);
    if (counts && ctx->budget && ctx->committed + size > ctx->budget)
        return mvk_fail(MOEVK_ERR_OUT_OF_DEVICE_MEMORY,
                        "device-memory budget exceeded: a block of %.1f MiB would bring moevk to %.1f MiB, over its budget of "
                        "%.1f MiB (%s; raise --device-mem / MOEVK_DEVICE_MEM)",
                        (double)size / 1048576.0, (double)(ctx->committed + size) / 1048576.0, (double)ctx->budget / 1048576.0,
                        ctx->budget_source);
    vk_mem_block *b = calloc(1, sizeof *b);
    if (!b) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    b->cap_free = 256;
    b->free_off = calloc(b->cap_free, sizeof(uint64_t));
    b->free_size = calloc(b->cap_free, sizeof(uint64_t));
    if (!b->free_off || !b->free_size) {
        free(b->free_off); free(b->free_size); free(b);
        return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = type};
    VkResult r = vk_fault_alloc();
    if (r == VK_SUCCESS) r = ctx->vkd.vkAllocateMemory(ctx->device, &ai, NULL, &b->mem);
    if (r != VK_SUCCESS) {
        free(b->free_off); free(b->free_size); free(b);
        moevk_status s = vk_fail_result(r, "vkAllocateMemory", __FILE__, __LINE__);
        return mvk_fail_ctx(s, "allocating %llu MiB of device memory", (unsigned long long)(size >> 20));
    }
    b->size = size;
    b->type_index = type;
    b->kind = kind;
    b->dedicated = dedicated;
    if (counts) {
        ctx->committed += size;
        if (ctx->committed > ctx->committed_peak) ctx->committed_peak = ctx->committed;
    }
    b->n_free = 1;
    b->free_size[0] = size;
    /* staging: device memory is treated as not host-visible, even where it is */
    int mappable = (ctx->mem_props.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0;
    if (mappable && (kind == VK_MEM_HOST || !ctx->info.staging)) {
        r = ctx->vkd.vkMapMemory(ctx->device, b->mem, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) b->mapped = NULL;
    }
    b->next = ctx->blocks;
    ctx->blocks = b;
    *out = b;
    return MOEVK_OK;
}

static void block_unlink(vk_ctx *ctx, vk_mem_block *b) {
    for (vk_mem_block **p = &ctx->blocks; *p; p = &(*p)->next)
        if (*p == b) { *p = b->next; break; }
    block_free(ctx, b);
}

moevk_status vk_buffer_create(vk_ctx *ctx, uint64_t size, vk_mem_kind kind, vk_buffer **out) {
    if (!ctx || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_buffer_create: NULL argument");
    *out = NULL;
    if (size == 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_buffer_create: size 0");
    if (ctx->info.max_memory_allocation_size && size > ctx->info.max_memory_allocation_size)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "buffer of %llu bytes exceeds the device's maxMemoryAllocationSize (%llu)",
                        (unsigned long long)size, (unsigned long long)ctx->info.max_memory_allocation_size);
    vk_buffer *b = calloc(1, sizeof *b);
    if (!b) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    b->ctx = ctx;
    /* whole 32-bit words: shaders read 16-bit and Q8_0 data through uint
     * words, so the last word of an odd-sized tensor must be bindable */
    size = (size + 3) & ~(uint64_t)3;
    b->size = size;
    b->kind = kind;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              /* texel usages: any buffer may be read through a texel view (vk_buffer_view) */
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                       VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vk_fault_alloc();
    if (r == VK_SUCCESS) r = ctx->vkd.vkCreateBuffer(ctx->device, &bci, NULL, &b->buffer);
    if (r != VK_SUCCESS) {
        free(b);
        return vk_fail_result(r, "vkCreateBuffer", __FILE__, __LINE__);
    }
    VkMemoryRequirements req;
    ctx->vkd.vkGetBufferMemoryRequirements(ctx->device, b->buffer, &req);
    int type = vk_pick_memory_type(&ctx->mem_props, req.memoryTypeBits, kind, ctx->info.staging);
    moevk_status s = MOEVK_OK;
    if (type < 0) s = mvk_fail(MOEVK_ERR_VULKAN, "no suitable memory type for a %s buffer", kind == VK_MEM_HOST ? "host" : "device");
    pthread_mutex_lock(&ctx->lock);
    if (s == MOEVK_OK) {
        uint64_t need = align_up(req.size, req.alignment);
        uint64_t off = 0;
        vk_mem_block *blk = NULL;
        uint64_t bsize = kind_block_bytes(ctx, kind);
        if (need <= bsize / 2) {
            for (vk_mem_block *it = ctx->blocks; it && !blk; it = it->next)
                if (!it->dedicated && it->type_index == (uint32_t)type && it->kind == kind && block_take(it, need, req.alignment, &off))
                    blk = it;
            if (!blk) {
                s = block_new(ctx, bsize, (uint32_t)type, kind, 0, &blk);
                if (s == MOEVK_OK && !block_take(blk, need, req.alignment, &off))
                    s = mvk_fail(MOEVK_ERR_INTERNAL, "sub-allocation failed in a fresh block");
            }
        } else {
            s = block_new(ctx, need, (uint32_t)type, kind, 1, &blk);
            if (s == MOEVK_OK) block_take(blk, need, req.alignment, &off);
        }
        if (s == MOEVK_OK) {
            b->block = blk;
            b->mem_off = off;
            b->alloc_size = need;
            r = ctx->vkd.vkBindBufferMemory(ctx->device, b->buffer, blk->mem, off);
            if (r != VK_SUCCESS) s = vk_fail_result(r, "vkBindBufferMemory", __FILE__, __LINE__);
            else {
                if (blk->mapped) b->mapped = (char *)blk->mapped + off;
                ctx->allocated += need;
            }
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (s != MOEVK_OK) {
        vk_buffer_destroy(b);
        return s;
    }
    *out = b;
    return MOEVK_OK;
}

uint32_t vk_texel_bytes(int fmt) {
    switch (fmt) {
    case VK_TEXEL_U32: return 4;
    case VK_TEXEL_U32X2: return 8;
    case VK_TEXEL_U32X4: return 16;
    default: return 0;
    }
}

moevk_status vk_buffer_view(vk_buffer *b, int fmt, uint64_t off, uint64_t range, VkBufferView *out) {
    static const VkFormat formats[] = {VK_FORMAT_UNDEFINED, VK_FORMAT_R32_UINT, VK_FORMAT_R32G32_UINT, VK_FORMAT_R32G32B32A32_UINT};
    if (!b || !out || fmt <= VK_TEXEL_NONE || fmt > VK_TEXEL_U32X4) return mvk_fail(MOEVK_ERR_INTERNAL, "vk_buffer_view: bad argument");
    vk_ctx *ctx = b->ctx;
    moevk_status s = MOEVK_OK;
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < b->n_views; i++)
        if (b->views[i].fmt == fmt && b->views[i].off == off && b->views[i].range == range) {
            *out = b->views[i].view;
            pthread_mutex_unlock(&ctx->lock);
            return MOEVK_OK;
        }
    if (b->n_views == b->cap_views) {
        uint32_t cap = b->cap_views ? 2 * b->cap_views : 4;
        vk_texel_view *v = realloc(b->views, cap * sizeof *v);
        if (!v) s = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        else {
            b->views = v;
            b->cap_views = cap;
        }
    }
    if (s == MOEVK_OK) {
        VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = b->buffer,
                                     .format = formats[fmt], .offset = off, .range = range};
        VkBufferView v = VK_NULL_HANDLE;
        VkResult r = ctx->vkd.vkCreateBufferView(ctx->device, &ci, NULL, &v);
        if (r != VK_SUCCESS) s = vk_fail_result(r, "vkCreateBufferView", __FILE__, __LINE__);
        else {
            b->views[b->n_views++] = (vk_texel_view){v, off, range, (uint8_t)fmt};
            *out = v;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

void vk_buffer_destroy(vk_buffer *b) {
    if (!b) return;
    vk_ctx *ctx = b->ctx;
    for (uint32_t i = 0; i < b->n_views; i++) ctx->vkd.vkDestroyBufferView(ctx->device, b->views[i].view, NULL);
    free(b->views);
    if (b->buffer) ctx->vkd.vkDestroyBuffer(ctx->device, b->buffer, NULL);
    if (b->block) {
        pthread_mutex_lock(&ctx->lock);
        block_give(b->block, b->mem_off, b->alloc_size);
        ctx->allocated -= b->alloc_size;
        if (b->block->dedicated) block_unlink(ctx, b->block);
        pthread_mutex_unlock(&ctx->lock);
    }
    free(b);
}

uint64_t vk_buffer_size(const vk_buffer *b) { return b ? b->size : 0; }

moevk_status vk_buffer_reserve(vk_ctx *ctx, vk_buffer **b, uint64_t size, vk_mem_kind kind) {
    if (*b && (*b)->size >= size) return MOEVK_OK;
    vk_buffer_destroy(*b);
    *b = NULL;
    return vk_buffer_create(ctx, size, kind, b);
}
void *vk_buffer_map(vk_buffer *b) { return b ? b->mapped : NULL; }
uint64_t vk_ctx_allocated_bytes(const vk_ctx *ctx) { return ctx ? ctx->allocated : 0; }

/* Copies between host memory and buf through the staging buffer and the
 * transfer command buffer, one chunk of staging at a time (caller holds ctx->lock). */
moevk_status vk_staged_copy(vk_ctx *ctx, vk_buffer *buf, uint64_t off, void *host, uint64_t size, int to_device) {
    if (!ctx->staging) MVK_TRY(vk_buffer_create(ctx, staging_bytes(ctx), VK_MEM_HOST, &ctx->staging));
    const uint64_t chunk = ctx->staging->size;
    if (!ctx->staging->mapped) return mvk_fail(MOEVK_ERR_VULKAN, "staging buffer is not host-visible");
    for (uint64_t done = 0; done < size;) {
        uint64_t n = size - done < chunk ? size - done : chunk;
        if (to_device) memcpy(ctx->staging->mapped, (char *)host + done, n);
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        VK_TRY(ctx->vkd.vkBeginCommandBuffer(ctx->xfer_cmd, &bi));
        /* Why: the copy reads (download) or overwrites (upload) memory that
         * shaders or copies of earlier submissions wrote or read; their
         * accesses must be complete and their writes visible to it. */
        VkMemoryBarrier pre = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                               .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
        ctx->vkd.vkCmdPipelineBarrier(ctx->xfer_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                      VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &pre, 0, NULL, 0, NULL);
        VkBufferCopy region = {.srcOffset = to_device ? 0 : off + done, .dstOffset = to_device ? off + done : 0, .size = n};
        ctx->vkd.vkCmdCopyBuffer(ctx->xfer_cmd, to_device ? ctx->staging->buffer : buf->buffer,
                                 to_device ? buf->buffer : ctx->staging->buffer, 1, &region);
        /* Why: the copy's writes must be visible to later compute (upload) or host reads (download). */
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                              .dstAccessMask = to_device ? VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT : VK_ACCESS_HOST_READ_BIT};
        ctx->vkd.vkCmdPipelineBarrier(ctx->xfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                      to_device ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT : VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb,
                                      0, NULL, 0, NULL);
        VK_TRY(ctx->vkd.vkEndCommandBuffer(ctx->xfer_cmd));
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &ctx->xfer_cmd};
        VK_TRY(ctx->vkd.vkResetFences(ctx->device, 1, &ctx->xfer_fence));
        VK_TRY(vk_queue_submit(ctx, &si, ctx->xfer_fence));
        VK_TRY(vk_fence_wait(ctx, ctx->xfer_fence));
        if (!to_device) memcpy((char *)host + done, ctx->staging->mapped, n);
        done += n;
    }
    return MOEVK_OK;
}

static moevk_status check_range(const char *what, vk_buffer *b, uint64_t off, const void *host, uint64_t size) {
    if (!b || (!host && size)) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL buffer or host pointer", what);
    if (off > b->size || size > b->size - off)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: range [%llu, +%llu) outside buffer of %llu bytes", what,
                        (unsigned long long)off, (unsigned long long)size, (unsigned long long)b->size);
    return MOEVK_OK;
}

moevk_status vk_upload(vk_ctx *ctx, vk_buffer *dst, uint64_t dst_off, const void *src, uint64_t size) {
    MVK_TRY(check_range("vk_upload", dst, dst_off, src, size));
    if (size == 0) return MOEVK_OK;
    if (dst->mapped) { /* host-visible (UMA): no staging needed; coherent memory */
        memcpy((char *)dst->mapped + dst_off, src, size);
        return MOEVK_OK;
    }
    pthread_mutex_lock(&ctx->lock);
    moevk_status s = vk_staged_copy(ctx, dst, dst_off, (void *)src, size, 1);
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

moevk_status vk_download(vk_ctx *ctx, vk_buffer *src, uint64_t src_off, void *dst, uint64_t size) {
    MVK_TRY(check_range("vk_download", src, src_off, dst, size));
    if (size == 0) return MOEVK_OK;
    if (src->mapped) {
        memcpy(dst, (char *)src->mapped + src_off, size);
        return MOEVK_OK;
    }
    pthread_mutex_lock(&ctx->lock);
    moevk_status s = vk_staged_copy(ctx, src, src_off, dst, size, 0);
    pthread_mutex_unlock(&ctx->lock);
    return s;
}
