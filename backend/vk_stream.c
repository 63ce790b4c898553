/* vk_stream.c — command streams: recording dispatches with hazard-tracked
 * barriers, scratch memory, submit/replay, and per-dispatch timestamps.
 *
 * Barrier policy: a stream remembers the buffer ranges read and written
 * since its last barrier. A new command gets a barrier in front of it only if
 * it reads or writes a range written since then (read-after-write,
 * write-after-write) or writes a range read since then (write-after-read).
 * Independent dispatches (e.g. the Q, K and V projections) therefore run
 * without barriers between them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

#define SCRATCH_CHUNK (64ull << 20) /* at most; never more than one allocator block */
#define QUERY_CAP 8192u

moevk_status vk_stream_create(vk_ctx *ctx, vk_stream **out) {
    if (!ctx || !out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_create: NULL argument");
    *out = NULL;
    vk_stream *s = calloc(1, sizeof *s);
    if (!s) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    s->ctx = ctx;
    moevk_status st = MOEVK_OK;
    VkResult r;
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = ctx->queue_family};
    r = ctx->vkd.vkCreateCommandPool(ctx->device, &pci, NULL, &s->pool);
    if (r != VK_SUCCESS) { st = vk_fail_result(r, "vkCreateCommandPool", __FILE__, __LINE__); goto fail; }
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = s->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    s->segs = calloc(4, sizeof *s->segs);
    s->seg_dispatch = calloc(4, sizeof *s->seg_dispatch);
    s->seg_barrier = calloc(4, sizeof *s->seg_barrier);
    if (!s->segs || !s->seg_dispatch || !s->seg_barrier) { st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"); goto fail; }
    s->cap_seg = 4;
    r = ctx->vkd.vkAllocateCommandBuffers(ctx->device, &ai, &s->segs[0]);
    if (r != VK_SUCCESS) { st = vk_fail_result(r, "vkAllocateCommandBuffers", __FILE__, __LINE__); goto fail; }
    s->cmd = s->segs[0];
    s->n_seg = 1;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = ctx->vkd.vkCreateFence(ctx->device, &fci, NULL, &s->fence);
    if (r != VK_SUCCESS) { st = vk_fail_result(r, "vkCreateFence", __FILE__, __LINE__); goto fail; }
    if (ctx->profile) {
        VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                     .queryCount = QUERY_CAP};
        r = ctx->vkd.vkCreateQueryPool(ctx->device, &qci, NULL, &s->query_pool);
        if (r != VK_SUCCESS) { st = vk_fail_result(r, "vkCreateQueryPool", __FILE__, __LINE__); goto fail; }
        s->query_cap = QUERY_CAP;
        s->query_pipe = calloc(QUERY_CAP / 2, sizeof *s->query_pipe);
        if (!s->query_pipe) { st = mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory"); goto fail; }
    }
    *out = s;
    return MOEVK_OK;
fail:
    vk_stream_destroy(s);
    return st;
}

static void scratch_release(vk_stream *s) {
    s->xq_valid = 0;
    for (uint32_t i = 0; i < s->n_scratch; i++) vk_buffer_destroy(s->scratch[i]);
    s->n_scratch = 0;
    s->scratch_cur = 0;
    s->scratch_used = 0;
}

void vk_stream_destroy(vk_stream *s) {
    if (!s) return;
    vk_ctx *ctx = s->ctx;
    if (s->pending) vk_stream_wait(s);
    scratch_release(s);
    free(s->scratch);
    free(s->segs);
    free(s->seg_dispatch);
    free(s->seg_barrier);
    free(s->query_pipe);
    if (s->query_pool) ctx->vkd.vkDestroyQueryPool(ctx->device, s->query_pool, NULL);
    if (s->fence) ctx->vkd.vkDestroyFence(ctx->device, s->fence, NULL);
    if (s->pool) ctx->vkd.vkDestroyCommandPool(ctx->device, s->pool, NULL);
    free(s);
}

vk_ctx *vk_stream_ctx(const vk_stream *s) { return s ? s->ctx : NULL; }
uint32_t vk_stream_dispatch_count(const vk_stream *s) { return s ? s->n_dispatch : 0; }
uint32_t vk_stream_barrier_count(const vk_stream *s) { return s ? s->n_barrier : 0; }

static void full_barrier(vk_stream *s, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = dst_access};
    s->ctx->vkd.vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

moevk_status vk_stream_begin(vk_stream *s) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_begin: NULL stream");
    if (s->pending) MVK_TRY(vk_stream_wait(s));
    vk_ctx *ctx = s->ctx;
    if (ctx->device_lost)
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "the Vulkan device was lost earlier (VK_ERROR_DEVICE_LOST); "
                        "free the model and load it again");
    scratch_release(s);
    VK_TRY(ctx->vkd.vkResetCommandPool(ctx->device, s->pool, 0));
    s->n_seg = 1;
    s->cmd = s->segs[0];
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_TRY(ctx->vkd.vkBeginCommandBuffer(s->cmd, &bi));
    s->recording = 1;
    s->recorded = 0;
    s->n_dispatch = s->n_barrier = 0;
    s->seg_dispatch[0] = s->seg_barrier[0] = 0;
    s->n_written = s->n_read = 0;
    s->n_query = 0;
    if (s->query_pool) ctx->vkd.vkCmdResetQueryPool(s->cmd, s->query_pool, 0, s->query_cap);
    /* Why: memory written by earlier submissions (a previous replay of this
     * stream, other streams, transfers) must be visible to this recording. */
    full_barrier(s, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    return MOEVK_OK;
}

moevk_status vk_stream_end(vk_stream *s) {
    if (!s || !s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_end: stream is not recording");
    /* Why: results are read by the host after the fence (downloads of mapped
     * memory, parameter read-back); make the device writes visible to it. */
    full_barrier(s, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    s->recording = 0;
    s->xq_valid = 0;
    VK_TRY(s->ctx->vkd.vkEndCommandBuffer(s->cmd));
    s->recorded = 1;
    return MOEVK_OK;
}

moevk_status vk_stream_cut(vk_stream *s) {
    if (!s || !s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_cut: stream is not recording");
    /* segments may be submitted apart, with host writes between (routing ids, slot tables, experts): the int8 x
       memo goes on across the cut only where x, like xq, is this stream's scratch, which the host never writes
       (device memory handed out by the recording alone) -- the MoE layer's normed x, quantised with its norm
       (vk_rms_norm_xq_shared) before the cut in front of the experts */
    if (s->xq_valid) {
        int x_scratch = 0;
        for (uint32_t i = 0; i < s->n_scratch; i++)
            if (s->scratch[i] == s->xq_x.buf) x_scratch = 1;
        if (!x_scratch) s->xq_valid = 0;
    }
    vk_ctx *ctx = s->ctx;
    if (s->n_seg == s->cap_seg) {
        uint32_t cap = s->cap_seg * 2;
        VkCommandBuffer *n = realloc(s->segs, cap * sizeof *n);
        if (!n) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        memset(n + s->cap_seg, 0, (cap - s->cap_seg) * sizeof *n);
        s->segs = n;
        uint32_t *nd = realloc(s->seg_dispatch, cap * sizeof *nd);
        if (!nd) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        s->seg_dispatch = nd;
        uint32_t *nbr = realloc(s->seg_barrier, cap * sizeof *nbr);
        if (!nbr) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
        s->seg_barrier = nbr;
        s->cap_seg = cap;
    }
    if (!s->segs[s->n_seg]) { /* command buffers are kept across begins (the pool reset recycles them) */
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = s->pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
        VK_TRY(ctx->vkd.vkAllocateCommandBuffers(ctx->device, &ai, &s->segs[s->n_seg]));
    }
    /* Why: the host reads this segment's results (routing ids) before the next one runs. */
    full_barrier(s, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    VK_TRY(ctx->vkd.vkEndCommandBuffer(s->cmd));
    s->seg_dispatch[s->n_seg] = s->seg_barrier[s->n_seg] = 0;
    s->cmd = s->segs[s->n_seg++];
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VK_TRY(ctx->vkd.vkBeginCommandBuffer(s->cmd, &bi));
    s->n_written = s->n_read = 0;
    /* Why: the previous segment's writes, and what the host wrote between the
     * two submits (slot tables, fetched experts), must be visible here. */
    full_barrier(s, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    return MOEVK_OK;
}

uint32_t vk_stream_segment_count(const vk_stream *s) { return s ? s->n_seg : 0; }

static moevk_status submit_cmds(vk_stream *s, uint32_t first, uint32_t n);

moevk_status vk_stream_submit_segment_async(vk_stream *s, uint32_t i) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_submit_segment: NULL stream");
    int closed = i < s->n_seg && (s->recorded || i + 1 < s->n_seg);
    if (!closed) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_submit_segment: segment %u of %u is not closed", i, s->n_seg);
    return submit_cmds(s, i, 1);
}

moevk_status vk_stream_submit_segment(vk_stream *s, uint32_t i) {
    MVK_TRY(vk_stream_submit_segment_async(s, i));
    return vk_stream_wait(s);
}

moevk_status vk_stream_submit_async(vk_stream *s) {
    if (!s || !s->recorded) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_submit: nothing recorded (call vk_stream_end)");
    return submit_cmds(s, 0, s->n_seg);
}

/* Submits segments [first, first+n) in order; the profile is collected when
 * the wait follows the last segment (earlier ones hold only part of it). */
static moevk_status submit_cmds(vk_stream *s, uint32_t first, uint32_t n) {
    if (s->pending) MVK_TRY(vk_stream_wait(s));
    vk_ctx *ctx = s->ctx;
    if (ctx->device_lost)
        return mvk_fail(MOEVK_ERR_DEVICE_LOST, "the Vulkan device was lost earlier (VK_ERROR_DEVICE_LOST); "
                        "free the model and load it again");
    s->pending_last = s->recorded && first + n == s->n_seg;
    VK_TRY(ctx->vkd.vkResetFences(ctx->device, 1, &s->fence));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = n, .pCommandBuffers = &s->segs[first]};
    pthread_mutex_lock(&ctx->lock); /* the queue is shared with transfers */
    VkResult r = vk_queue_submit(ctx, &si, s->fence);
    if (r == VK_SUCCESS)
        for (uint32_t i = first; i < first + n; i++) {
            ctx->run.dispatches += s->seg_dispatch[i];
            ctx->run.barriers += s->seg_barrier[i];
        }
    pthread_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS) return vk_fail_result(r, "vkQueueSubmit", __FILE__, __LINE__);
    s->pending = 1;
    return MOEVK_OK;
}

static void collect_profile(vk_stream *s) {
    vk_ctx *ctx = s->ctx;
    if (!s->query_pool || s->n_query == 0) return;
    uint64_t *ts = calloc(s->n_query, sizeof *ts);
    if (!ts) return;
    if (ctx->vkd.vkGetQueryPoolResults(ctx->device, s->query_pool, 0, s->n_query, s->n_query * sizeof *ts, ts,
                                       sizeof *ts, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
        pthread_mutex_lock(&ctx->lock);
        for (uint32_t i = 0; i + 1 < s->n_query; i += 2) {
            vk_pipeline *p = s->query_pipe[i / 2];
            if (!p || ts[i + 1] < ts[i]) continue;
            uint64_t ns = (uint64_t)((double)(ts[i + 1] - ts[i]) * ctx->info.timestamp_period_ns);
            p->prof_ns += ns;
            p->prof_calls++;
            if (ctx->profile_trace) fprintf(stderr, "moevk trace: %s %.1f us\n", p->name, (double)ns / 1e3);
        }
        pthread_mutex_unlock(&ctx->lock);
    }
    free(ts);
}

moevk_status vk_stream_wait(vk_stream *s) {
    if (!s) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_wait: NULL stream");
    if (!s->pending) return MOEVK_OK;
    vk_ctx *ctx = s->ctx;
    s->pending = 0;
    VK_TRY(vk_fence_wait(ctx, s->fence));
    if (s->pending_last) collect_profile(s);
    return MOEVK_OK;
}

moevk_status vk_stream_submit(vk_stream *s) {
    MVK_TRY(vk_stream_submit_async(s));
    return vk_stream_wait(s);
}

moevk_status vk_stream_scratch(vk_stream *s, mvk_type t, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, mvk_tensor *out) {
    if (!s || !out || !s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_stream_scratch: stream is not recording");
    int64_t row = mvk_row_bytes(t, ne0);
    if (row < 0 || ne1 <= 0 || ne2 <= 0 || ne3 <= 0)
        return mvk_fail(MOEVK_ERR_SHAPE, "vk_stream_scratch: bad shape [%lld, %lld, %lld, %lld] for %s", (long long)ne0,
                        (long long)ne1, (long long)ne2, (long long)ne3, mvk_type_name(t) ? mvk_type_name(t) : "?");
    uint64_t bytes = (uint64_t)row * (uint64_t)ne1 * (uint64_t)ne2 * (uint64_t)ne3;
    uint64_t align = s->ctx->info.min_storage_buffer_offset_alignment;
    if (align < 256) align = 256;
    /* bump-allocate in the current buffer, else move on to the next existing
     * one (kept after a vk_stream_scratch_reset), else make a new one */
    for (;;) {
        if (s->scratch_cur < s->n_scratch) {
            vk_buffer *b = s->scratch[s->scratch_cur];
            uint64_t off = (s->scratch_used + align - 1) / align * align;
            if (off + bytes <= vk_buffer_size(b)) {
                s->scratch_used = off + bytes;
                *out = mvk_tensor_make(b, off, t, ne0, ne1, ne2, ne3);
                return MOEVK_OK;
            }
            if (s->scratch_cur + 1 < s->n_scratch) {
                s->scratch_cur++;
                s->scratch_used = 0;
                continue;
            }
        }
        if (s->n_scratch == s->cap_scratch) {
            uint32_t cap = s->cap_scratch ? s->cap_scratch * 2 : 8;
            vk_buffer **nb = realloc(s->scratch, cap * sizeof *nb);
            if (!nb) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
            s->scratch = nb;
            s->cap_scratch = cap;
        }
        vk_buffer *b = NULL;
        uint64_t chunk = SCRATCH_CHUNK < s->ctx->block_size ? SCRATCH_CHUNK : s->ctx->block_size;
        MVK_TRY(vk_buffer_create(s->ctx, bytes > chunk ? bytes : chunk, VK_MEM_DEVICE, &b));
        /* insert right after the current buffer so allocation order stays linear */
        uint32_t at = s->n_scratch ? s->scratch_cur + 1 : 0;
        memmove(&s->scratch[at + 1], &s->scratch[at], (s->n_scratch - at) * sizeof *s->scratch);
        s->scratch[at] = b;
        s->n_scratch++;
        s->scratch_cur = at;
        s->scratch_used = 0;
    }
}

vk_scratch_mark vk_stream_scratch_mark(const vk_stream *s) {
    vk_scratch_mark m = {s ? s->scratch_cur : 0, s ? s->scratch_used : 0};
    return m;
}

void vk_stream_scratch_reset(vk_stream *s, vk_scratch_mark m) {
    if (!s) return;
    if (s->xq_valid && (m.index < s->xq_idx || (m.index == s->xq_idx && m.used < s->xq_end))) s->xq_valid = 0; /* xq's memory is free again */
    s->scratch_cur = m.index;
    s->scratch_used = m.used;
}

/* ---------------------------------------------------------------- hazards */

static int overlaps(const vk_range *a, VkBuffer b, uint64_t off, uint64_t end) {
    return a->buffer == b && off < a->end && a->off < end;
}

static int hazard(const vk_stream *s, VkBuffer b, uint64_t off, uint64_t end, int write) {
    for (uint32_t i = 0; i < s->n_written; i++)
        if (overlaps(&s->written[i], b, off, end)) return 1; /* RAW or WAW */
    if (write)
        for (uint32_t i = 0; i < s->n_read; i++)
            if (overlaps(&s->read[i], b, off, end)) return 1; /* WAR */
    return 0;
}

void vk_stream_test_suppress_barriers(vk_stream *s, int on) {
    if (s) s->test_no_barriers = on;
}

static void hazard_barrier(vk_stream *s) {
    s->n_written = s->n_read = 0;
    if (s->test_no_barriers) return;
    /* Why: this command reads or writes memory that a command recorded since
     * the last barrier wrote (RAW/WAW), or writes memory one of them still
     * reads (WAR); those earlier commands must finish and their writes be
     * visible first. */
    full_barrier(s, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
    s->n_barrier++;
    s->seg_barrier[s->n_seg - 1]++;
}

static void track(vk_stream *s, VkBuffer b, uint64_t off, uint64_t end, int write) {
    if (write && s->xq_valid && (overlaps(&s->xq_xr, b, off, end) || overlaps(&s->xq_qr, b, off, end))) s->xq_valid = 0;
    vk_range *set = write ? s->written : s->read;
    uint32_t *n = write ? &s->n_written : &s->n_read;
    if (*n == VK_MAX_TRACKED) { /* table full: be conservative */
        hazard_barrier(s);
        set = write ? s->written : s->read;
    }
    set[(*n)++] = (vk_range){b, off, end};
}

void vk_stream_access(vk_stream *s, VkBuffer b, uint64_t off, uint64_t size, int write) {
    if (hazard(s, b, off, off + size, write)) hazard_barrier(s);
    track(s, b, off, off + size, write);
}

/* ---------------------------------------------------------------- the int8 x memo */

static int same_view(const mvk_tensor *a, const mvk_tensor *b) {
    if (a->buf != b->buf || a->off != b->off || a->type != b->type) return 0;
    for (int i = 0; i < 4; i++)
        if (a->ne[i] != b->ne[i] || a->nb[i] != b->nb[i]) return 0;
    return 1;
}

int vk_stream_xq_find(const vk_stream *s, const mvk_tensor *x, mvk_tensor *xq) {
    if (!s || !s->recording || !s->xq_valid || !same_view(&s->xq_x, x)) return 0;
    *xq = s->xq_q;
    return 1;
}

void vk_stream_xq_keep(vk_stream *s, const mvk_tensor *x, const mvk_tensor *xq) {
    if (!s || !s->recording) return;
    s->xq_valid = 0;
    uint32_t idx = s->n_scratch;
    for (uint32_t i = 0; i < s->n_scratch; i++)
        if (s->scratch[i] == xq->buf) idx = i;
    if (idx == s->n_scratch) return; /* not in this stream's scratch: nothing tells when it is reused */
    s->xq_x = *x;
    s->xq_q = *xq;
    s->xq_xr = (vk_range){x->buf->buffer, x->off, x->off + mvk_tensor_extent(x)};
    s->xq_qr = (vk_range){xq->buf->buffer, xq->off, xq->off + mvk_tensor_extent(xq)};
    s->xq_idx = idx;
    s->xq_end = xq->off + mvk_tensor_extent(xq);
    s->xq_valid = 1;
}

/* ---------------------------------------------------------------- dispatch */

uint32_t vk_bind_elem_offset(const vk_ctx *ctx, const mvk_tensor *t, uint32_t unit_bytes) {
    uint64_t a = ctx->info.min_storage_buffer_offset_alignment ? ctx->info.min_storage_buffer_offset_alignment : 1;
    uint64_t base = t->off / a * a;
    return (uint32_t)((t->off - base) / unit_bytes);
}

uint64_t vk_bind_span(const vk_ctx *ctx, const mvk_tensor *t) {
    uint64_t a = ctx->info.min_storage_buffer_offset_alignment ? ctx->info.min_storage_buffer_offset_alignment : 1;
    return t->off - t->off / a * a + mvk_tensor_extent(t);
}

static uint64_t texel_align(const vk_ctx *ctx) {
    return ctx->info.min_texel_buffer_offset_alignment ? ctx->info.min_texel_buffer_offset_alignment : 1;
}

uint32_t vk_bind_texel_offset(const vk_ctx *ctx, const mvk_tensor *t, uint32_t unit_bytes) {
    uint64_t a = texel_align(ctx);
    return (uint32_t)((t->off - t->off / a * a) / unit_bytes);
}

uint64_t vk_bind_texel_span(const vk_ctx *ctx, const mvk_tensor *t) {
    uint64_t a = texel_align(ctx);
    return t->off - t->off / a * a + mvk_tensor_extent(t);
}

/* The view texel binding i of dispatch d binds: from the tensor offset
 * rounded down to minTexelBufferOffsetAlignment, over whole texels (cut to
 * the whole texels the buffer holds), within maxTexelBufferElements. *base
 * and *range get the bytes it covers. */
static moevk_status texel_bind(vk_ctx *ctx, const vk_dispatch_desc *d, uint32_t i, VkBufferView *view, uint64_t *base,
                               uint64_t *range) {
    const mvk_tensor *t = d->binds[i].t;
    const char *shader = d->shader;
    const int fmt = d->texel[i], image = d->image[i];
    uint32_t tb = vk_texel_bytes(fmt);
    if (!tb) return mvk_fail(MOEVK_ERR_INTERNAL, "%s: binding %u has texel format %d", shader, i, fmt);
    if (!(ctx->info.texel_support[fmt - 1] & (image ? VK_TEXEL_STORAGE : VK_TEXEL_UNIFORM)))
        return mvk_fail(MOEVK_ERR_UNSUPPORTED, "%s: binding %u: the device has no %s texel buffers of %u-byte texels", shader, i,
                        image ? "storage" : "uniform", tb);
    uint64_t a = texel_align(ctx);
    *base = t->off / a * a;
    if (*base >= t->buf->size)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: binding %u starts at %llu beyond its buffer (%llu bytes)", shader, i,
                        (unsigned long long)*base, (unsigned long long)t->buf->size);
    uint64_t span = (vk_bind_texel_span(ctx, t) + tb - 1) / tb * tb;
    if (*base + span > t->buf->size) span = (t->buf->size - *base) / tb * tb;
    if (span == 0) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: binding %u holds no whole %u-byte texel", shader, i, tb);
    if (span / tb > ctx->info.max_texel_buffer_elements)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: binding %u spans %llu texels, over the device's maxTexelBufferElements (%llu)", shader,
                        i, (unsigned long long)(span / tb), (unsigned long long)ctx->info.max_texel_buffer_elements);
    *range = span;
    return vk_buffer_view(t->buf, fmt, *base, span, view);
}

void vk_split_groups(const vk_ctx *ctx, uint32_t n, uint32_t out[3]) {
    uint32_t maxx = ctx->info.max_workgroup_count[0] ? ctx->info.max_workgroup_count[0] : 65535;
    if (n <= maxx) {
        out[0] = n ? n : 1;
        out[1] = 1;
    } else {
        out[1] = (n + maxx - 1) / maxx;
        out[0] = (n + out[1] - 1) / out[1];
    }
    out[2] = 1;
}

moevk_status vk_dispatch(vk_stream *s, const vk_dispatch_desc *d) {
    if (!s || !d) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_dispatch: NULL argument");
    if (!s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: stream is not recording (call vk_stream_begin)", d->shader);
    vk_ctx *ctx = s->ctx;
    for (int i = 0; i < 3; i++)
        if (d->groups[i] == 0 || d->groups[i] > ctx->info.max_workgroup_count[i])
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: %u workgroups in dimension %d (device allows 1..%u)", d->shader,
                            d->groups[i], i, ctx->info.max_workgroup_count[i]);
    VkDescriptorBufferInfo bi[VK_MAX_BINDINGS];
    VkBufferView views[VK_MAX_BINDINGS];
    VkWriteDescriptorSet w[VK_MAX_BINDINGS];
    if (d->n_binds > VK_MAX_BINDINGS) return mvk_fail(MOEVK_ERR_INTERNAL, "%s: too many bindings", d->shader);
    uint64_t a = ctx->info.min_storage_buffer_offset_alignment ? ctx->info.min_storage_buffer_offset_alignment : 1;
    int need_barrier = 0;
    for (uint32_t i = 0; i < d->n_binds; i++) {
        const mvk_tensor *t = d->binds[i].t;
        if (!t || !t->buf) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: binding %u has no buffer", d->shader, i);
        if (d->texel[i]) {
            uint64_t tbase = 0, trange = 0;
            MVK_TRY(texel_bind(ctx, d, i, &views[i], &tbase, &trange));
            bi[i] = (VkDescriptorBufferInfo){.buffer = t->buf->buffer, .offset = tbase, .range = trange}; /* for tracking */
            w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = i, .descriptorCount = 1,
                                          .descriptorType = vk_bind_type(d, i), .pTexelBufferView = &views[i]};
            need_barrier |= hazard(s, t->buf->buffer, tbase, tbase + trange, d->binds[i].write);
            continue;
        }
        uint64_t base = t->off / a * a;
        uint64_t span = t->off - base + mvk_tensor_extent(t);
        span = (span + 3) / 4 * 4; /* storage ranges cover whole 4-byte words */
        if (base + span > t->buf->size) span = t->buf->size - base;
        if (base >= t->buf->size)
            return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: binding %u starts at %llu beyond its buffer (%llu bytes)", d->shader, i,
                            (unsigned long long)base, (unsigned long long)t->buf->size);
        if (span > ctx->info.max_storage_buffer_range)
            return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "%s: binding %u spans %llu bytes, over the device's maxStorageBufferRange (%llu)",
                            d->shader, i, (unsigned long long)span, (unsigned long long)ctx->info.max_storage_buffer_range);
        bi[i] = (VkDescriptorBufferInfo){.buffer = t->buf->buffer, .offset = base, .range = span};
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = i, .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[i]};
        need_barrier |= hazard(s, t->buf->buffer, base, base + span, d->binds[i].write);
    }
    vk_pipeline *p;
    MVK_TRY(vk_pipeline_get(ctx, d, &p));
    if (need_barrier) hazard_barrier(s);
    for (uint32_t i = 0; i < d->n_binds; i++)
        track(s, bi[i].buffer, bi[i].offset, bi[i].offset + bi[i].range, d->binds[i].write);

    int timed = s->query_pool && s->n_query + 2 <= s->query_cap;
    if (timed) ctx->vkd.vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s->query_pool, s->n_query);
    ctx->vkd.vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    ctx->vkd.vkCmdPushDescriptorSetKHR(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, d->n_binds, w);
    if (d->push_size) ctx->vkd.vkCmdPushConstants(s->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_size, d->push);
    ctx->vkd.vkCmdDispatch(s->cmd, d->groups[0], d->groups[1], d->groups[2]);
    if (timed) {
        ctx->vkd.vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->query_pool, s->n_query + 1);
        s->query_pipe[s->n_query / 2] = p;
        s->n_query += 2;
    }
    s->n_dispatch++;
    s->seg_dispatch[s->n_seg - 1]++;
    return MOEVK_OK;
}

/* ---------------------------------------------------------------- transfers */

static moevk_status check_bytes(const char *what, vk_buffer *b, uint64_t off, uint64_t size) {
    if (!b) return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: NULL buffer", what);
    if (off > b->size || size > b->size - off)
        return mvk_fail(MOEVK_ERR_INVALID_ARG, "%s: range [%llu, +%llu) outside buffer of %llu bytes", what,
                        (unsigned long long)off, (unsigned long long)size, (unsigned long long)b->size);
    return MOEVK_OK;
}

moevk_status vk_op_copy_bytes(vk_stream *s, vk_buffer *dst, uint64_t dst_off, vk_buffer *src, uint64_t src_off, uint64_t size) {
    if (!s || !s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_copy_bytes: stream is not recording");
    MVK_TRY(check_bytes("vk_op_copy_bytes (src)", src, src_off, size));
    MVK_TRY(check_bytes("vk_op_copy_bytes (dst)", dst, dst_off, size));
    if (size == 0) return MOEVK_OK;
    int hz = hazard(s, src->buffer, src_off, src_off + size, 0) || hazard(s, dst->buffer, dst_off, dst_off + size, 1);
    if (hz) hazard_barrier(s);
    track(s, src->buffer, src_off, src_off + size, 0);
    track(s, dst->buffer, dst_off, dst_off + size, 1);
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
    s->ctx->vkd.vkCmdCopyBuffer(s->cmd, src->buffer, dst->buffer, 1, &region);
    return MOEVK_OK;
}

moevk_status vk_op_fill_u32(vk_stream *s, vk_buffer *dst, uint64_t off, uint64_t size, uint32_t value) {
    if (!s || !s->recording) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_fill_u32: stream is not recording");
    MVK_TRY(check_bytes("vk_op_fill_u32", dst, off, size));
    if (off % 4 || size % 4) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_op_fill_u32: offset and size must be multiples of 4");
    if (size == 0) return MOEVK_OK;
    vk_stream_access(s, dst->buffer, off, size, 1);
    s->ctx->vkd.vkCmdFillBuffer(s->cmd, dst->buffer, off, size, value);
    return MOEVK_OK;
}
