/* vk_budget.c — the device-memory budget.
 *
 * moevk holds at most ctx->budget bytes of VkDeviceMemory in device-local
 * heaps (vk_memory.c counts every block it allocates there and refuses one
 * that would go over with MOEVK_ERR_OUT_OF_DEVICE_MEMORY). Host-visible
 * memory in a heap that is not device-local (a discrete GPU's staging and
 * read-back buffers, in system RAM) does not count. On UMA devices and
 * lavapipe the one heap is device-local, so everything counts.
 *
 * The default is what the device reports, less a margin of 10% for the
 * driver, other applications and the desktop:
 *   - VK_EXT_memory_budget's heapBudget of the largest device-local heap
 *     where the device has the extension (it already subtracts what other
 *     processes use), else
 *   - that heap's size.
 * A budget given by the caller (--device-mem, MOEVK_DEVICE_MEM,
 * moevk_model_params.device_mem_mib) is used as given, even above the heap:
 * the driver then has the last word. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

#define MARGIN_PERCENT 10

static int has_ext(vk_ctx *ctx, const char *name) {
    uint32_t n = 0;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(ctx->phys, NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(ctx->phys, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

int vk_budget_counts(const vk_ctx *ctx, uint32_t type_index) {
    if (type_index >= ctx->mem_props.memoryTypeCount) return 1;
    uint32_t heap = ctx->mem_props.memoryTypes[type_index].heapIndex;
    return (ctx->mem_props.memoryHeaps[heap].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
}

void vk_budget_init(vk_ctx *ctx, uint64_t want) {
    if (want) {
        ctx->budget = want;
        snprintf(ctx->budget_source, sizeof ctx->budget_source, "requested");
        return;
    }
    const VkPhysicalDeviceMemoryProperties *mp = &ctx->mem_props;
    int heap = -1;
    for (uint32_t i = 0; i < mp->memoryHeapCount; i++)
        if ((mp->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            (heap < 0 || mp->memoryHeaps[i].size > mp->memoryHeaps[heap].size))
            heap = (int)i;
    if (heap < 0) heap = 0; /* no device-local heap: the first one */
    uint64_t figure = mp->memoryHeaps[heap].size;
    const char *src = "heap size";
    if (ctx->vki.vkGetPhysicalDeviceMemoryProperties2 && has_ext(ctx, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME)) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT bp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
        VkPhysicalDeviceMemoryProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &bp};
        ctx->vki.vkGetPhysicalDeviceMemoryProperties2(ctx->phys, &p2);
        if (bp.heapBudget[heap] > 0 && bp.heapBudget[heap] <= figure) {
            figure = bp.heapBudget[heap];
            src = "VK_EXT_memory_budget";
        }
    }
    ctx->budget = figure - figure / 100 * MARGIN_PERCENT;
    snprintf(ctx->budget_source, sizeof ctx->budget_source, "%s %llu MiB less %d%%", src,
             (unsigned long long)(figure >> 20), MARGIN_PERCENT);
}

uint64_t vk_ctx_budget(const vk_ctx *ctx) { return ctx ? ctx->budget : 0; }
uint64_t vk_ctx_committed(const vk_ctx *ctx) { return ctx ? ctx->committed : 0; }
uint64_t vk_ctx_committed_peak(const vk_ctx *ctx) { return ctx ? ctx->committed_peak : 0; }
const char *vk_ctx_budget_source(const vk_ctx *ctx) { return ctx ? ctx->budget_source : ""; }
uint64_t vk_ctx_block_size(const vk_ctx *ctx) { return ctx ? ctx->block_size : 0; }
