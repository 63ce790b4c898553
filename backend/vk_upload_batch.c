/* vk_upload_batch.c — uploads gathered into one submission (vk_backend.h,
 * "A batch of uploads"). The staging model packs the regions one after the
 * other into the context's staging buffer and copies them with one command
 * buffer; the unified model hands out the mapped device memory itself. */
#include <stdlib.h>
#include <string.h>

#include "mvk_status.h"
#include "vk_internal.h"

void vk_upload_batch_begin(vk_ctx *ctx, vk_upload_batch *b) {
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    b->status = MOEVK_OK;
}

/* Copies the pending regions from staging to their buffers: one command
 * buffer, one submission, one wait (the staging bytes are reused next). */
static moevk_status flush_pending(vk_upload_batch *b) {
    vk_ctx *ctx = b->ctx;
    if (b->n == 0) return MOEVK_OK;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_TRY(ctx->vkd.vkBeginCommandBuffer(ctx->xfer_cmd, &bi));
    /* Why: the copies overwrite device memory that shaders or copies of
     * earlier submissions read or wrote (an expert slot being reused); those
     * accesses must be complete first. */
    VkMemoryBarrier pre = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT};
    ctx->vkd.vkCmdPipelineBarrier(ctx->xfer_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &pre, 0, NULL, 0, NULL);
    for (int i = 0; i < b->n; i++) {
        VkBufferCopy region = {.srcOffset = b->r[i].src_off, .dstOffset = b->r[i].dst_off, .size = b->r[i].size};
        ctx->vkd.vkCmdCopyBuffer(ctx->xfer_cmd, ctx->staging->buffer, b->r[i].dst->buffer, 1, &region);
    }
    /* Why: the copied bytes must be visible to the compute that reads them. */
    VkMemoryBarrier post = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    ctx->vkd.vkCmdPipelineBarrier(ctx->xfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                                  &post, 0, NULL, 0, NULL);
    VK_TRY(ctx->vkd.vkEndCommandBuffer(ctx->xfer_cmd));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &ctx->xfer_cmd};
    VK_TRY(ctx->vkd.vkResetFences(ctx->device, 1, &ctx->xfer_fence));
    VK_TRY(vk_queue_submit(ctx, &si, ctx->xfer_fence));
    VK_TRY(vk_fence_wait(ctx, ctx->xfer_fence));
    b->submits++;
    b->n = 0;
    b->used = 0;
    return MOEVK_OK;
}

/* The oversized region the caller has written by now, copied in chunks. */
static moevk_status flush_big(vk_upload_batch *b) {
    if (!b->big) return MOEVK_OK;
    moevk_status s = vk_staged_copy(b->ctx, b->big_dst, b->big_off, b->big, b->big_size, 1);
    free(b->big);
    b->big = NULL;
    if (s == MOEVK_OK) /* vk_staged_copy submits once per staging-sized chunk */
        b->submits += (uint32_t)((b->big_size + b->ctx->staging->size - 1) / b->ctx->staging->size);
    return s;
}

static moevk_status keep(vk_upload_batch *b, moevk_status s) {
    if (b->status == MOEVK_OK) b->status = s;
    return s;
}

moevk_status vk_upload_batch_add(vk_upload_batch *b, vk_buffer *dst, uint64_t dst_off, uint64_t size, void **where) {
    *where = NULL;
    if (b->status != MOEVK_OK) return b->status;
    if (!dst || dst_off > vk_buffer_size(dst) || size > vk_buffer_size(dst) - dst_off)
        return keep(b, mvk_fail(MOEVK_ERR_INVALID_ARG, "upload batch: range [%llu, +%llu) outside buffer of %llu bytes",
                                (unsigned long long)dst_off, (unsigned long long)size,
                                (unsigned long long)vk_buffer_size(dst)));
    b->bytes += size;
    if (dst->mapped) { /* unified: write the device memory itself (coherent) */
        *where = (char *)dst->mapped + dst_off;
        return MOEVK_OK;
    }
    vk_ctx *ctx = b->ctx;
    if (!b->locked) {
        pthread_mutex_lock(&ctx->lock);
        b->locked = 1;
    }
    if (!ctx->staging || !ctx->staging->mapped)
        return keep(b, mvk_fail(MOEVK_ERR_VULKAN, "upload batch: no host-visible staging buffer"));
    MVK_TRY(keep(b, flush_big(b)));
    const uint64_t cap = ctx->staging->size, at = (b->used + 15) & ~(uint64_t)15;
    if (size > cap) { /* its own host buffer, copied by the next add or end */
        MVK_TRY(keep(b, flush_pending(b)));
        b->big = malloc(size ? size : 1);
        if (!b->big) return keep(b, mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "upload batch: %llu bytes", (unsigned long long)size));
        b->big_dst = dst;
        b->big_off = dst_off;
        b->big_size = size;
        *where = b->big;
        return MOEVK_OK;
    }
    if (at + size > cap || b->n == VK_UPLOAD_BATCH_MAX) MVK_TRY(keep(b, flush_pending(b)));
    const uint64_t off = b->n ? (b->used + 15) & ~(uint64_t)15 : 0;
    b->r[b->n].dst = dst;
    b->r[b->n].dst_off = dst_off;
    b->r[b->n].src_off = off;
    b->r[b->n].size = size;
    b->n++;
    b->used = off + size;
    *where = (char *)ctx->staging->mapped + off;
    return MOEVK_OK;
}

moevk_status vk_upload_batch_end(vk_upload_batch *b) {
    if (b->status == MOEVK_OK) keep(b, flush_big(b));
    if (b->status == MOEVK_OK) keep(b, flush_pending(b));
    free(b->big);
    b->big = NULL;
    b->n = 0;
    if (b->locked) {
        pthread_mutex_unlock(&b->ctx->lock);
        b->locked = 0;
    }
    return b->status;
}
