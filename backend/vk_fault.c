/* vk_fault.c — MOEVK_FAULT_ALLOC / MOEVK_FAULT_SUBMIT (see vk_fault.h). The
 * counters are process-wide atomics: a test arms one fault and walks N over
 * every allocation or submit that a load plus a caption makes. */
#include "vk_fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vk_internal.h"

static atomic_uint_fast64_t n_alloc, n_submit;      // calls seen
static atomic_uint_fast64_t fail_alloc, fail_submit; // which call fails (0: none)
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static atomic_int armed;                             // vk_fault_arm was called: ignore the environment

static uint64_t env_u64(const char *name) {
    const char *v = getenv(name);
    return v && v[0] ? strtoull(v, NULL, 10) : 0;
}

static void read_env(void) {
    if (atomic_load(&armed)) return;
    atomic_store(&fail_alloc, env_u64("MOEVK_FAULT_ALLOC"));
    atomic_store(&fail_submit, env_u64("MOEVK_FAULT_SUBMIT"));
}

VkResult vk_fault_alloc(void) {
    pthread_once(&env_once, read_env);
    uint64_t i = atomic_fetch_add(&n_alloc, 1) + 1;
    return i == atomic_load(&fail_alloc) ? VK_ERROR_OUT_OF_DEVICE_MEMORY : VK_SUCCESS;
}

VkResult vk_fault_submit(void) {
    pthread_once(&env_once, read_env);
    uint64_t i = atomic_fetch_add(&n_submit, 1) + 1;
    return i == atomic_load(&fail_submit) ? VK_ERROR_DEVICE_LOST : VK_SUCCESS;
}

void vk_fault_arm(uint64_t alloc_n, uint64_t submit_n) {
    atomic_store(&armed, 1);
    pthread_once(&env_once, read_env);
    atomic_store(&fail_alloc, alloc_n);
    atomic_store(&fail_submit, submit_n);
    atomic_store(&n_alloc, 0);
    atomic_store(&n_submit, 0);
}

void vk_fault_counts(uint64_t *allocs, uint64_t *submits) {
    if (allocs) *allocs = atomic_load(&n_alloc);
    if (submits) *submits = atomic_load(&n_submit);
}

VkResult vk_queue_submit(vk_ctx *ctx, const VkSubmitInfo *si, VkFence fence) {
    if (ctx->device_lost) return VK_ERROR_DEVICE_LOST;
    VkResult r = vk_fault_submit();
    if (r == VK_SUCCESS) r = ctx->vkd.vkQueueSubmit(ctx->queue, 1, si, fence);
    if (r == VK_ERROR_DEVICE_LOST) ctx->device_lost = 1;
    if (r == VK_SUCCESS) ctx->run.submits++;
    return r;
}

void vk_ctx_run_counts(vk_ctx *ctx, vk_run_counts *out) {
    if (!out) return;
    *out = (vk_run_counts){0};
    if (!ctx) return;
    pthread_mutex_lock(&ctx->lock);
    *out = ctx->run;
    pthread_mutex_unlock(&ctx->lock);
}

VkResult vk_fence_wait(vk_ctx *ctx, VkFence fence) {
    VkResult r = ctx->vkd.vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX);
    if (r == VK_ERROR_DEVICE_LOST) ctx->device_lost = 1;
    return r;
}

int vk_ctx_device_lost(const vk_ctx *ctx) { return ctx && ctx->device_lost; }
