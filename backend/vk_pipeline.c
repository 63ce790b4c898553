/* vk_pipeline.c — compute pipelines as lazily created, cached records:
 * {module, set layout, layout, pipeline} keyed by shader name, specialization
 * constants, binding types and push-constant size. Every binding is a storage
 * buffer or a texel buffer (vk_dispatch_desc.texel) bound with push descriptors
 * (VK_KHR_push_descriptor), so recording a
 * dispatch needs no descriptor pools. Pipelines are compiled through the
 * context's VkPipelineCache, which vk_pipeline_cache.c keeps on disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"
#include "vk_shaders.h"

static const vk_shader_blob *find_blob(const char *name) {
    for (const vk_shader_blob *b = vk_shader_blobs; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return NULL;
}

static int same_key(const vk_pipeline *p, const vk_dispatch_desc *d) {
    if (strcmp(p->name, d->shader) || p->n_spec != d->n_spec || p->n_bindings != d->n_binds || p->push_size != d->push_size ||
        (d->n_spec && memcmp(p->spec, d->spec, d->n_spec * sizeof(uint32_t))))
        return 0;
    for (uint32_t i = 0; i < d->n_binds; i++)
        if (p->dtype[i] != vk_bind_type(d, i)) return 0;
    return 1;
}

static void pipeline_free(vk_ctx *ctx, vk_pipeline *p) {
    if (p->pipeline) ctx->vkd.vkDestroyPipeline(ctx->device, p->pipeline, NULL);
    if (p->layout) ctx->vkd.vkDestroyPipelineLayout(ctx->device, p->layout, NULL);
    if (p->set_layout) ctx->vkd.vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, NULL);
    if (p->module) ctx->vkd.vkDestroyShaderModule(ctx->device, p->module, NULL);
    free(p);
}

static moevk_status pipeline_create(vk_ctx *ctx, const vk_dispatch_desc *d, vk_pipeline **out) {
    const vk_shader_blob *blob = find_blob(d->shader);
    if (!blob) return mvk_fail(MOEVK_ERR_INTERNAL, "no embedded shader named '%s'", d->shader);
    if (d->n_spec > VK_MAX_SPEC || d->n_binds > VK_MAX_BINDINGS)
        return mvk_fail(MOEVK_ERR_INTERNAL, "shader '%s': too many bindings or constants", d->shader);
    /* The op's push-constant struct must mirror the shader's P block exactly
     * (a short struct leaves fields undefined, a long one hides a field-order
     * drift); blob->push_size is reflected from the SPIR-V at build time. */
    if (d->push_size != blob->push_size)
        return mvk_fail(MOEVK_ERR_INTERNAL, "shader '%s': the op sends %u bytes of push constants but the shader's P block has %u",
                        d->shader, d->push_size, blob->push_size);
    if (d->push_size > ctx->info.max_push_constants_size)
        return mvk_fail(MOEVK_ERR_DEVICE_LIMIT, "shader '%s' needs %u bytes of push constants; the device allows %u",
                        d->shader, d->push_size, ctx->info.max_push_constants_size);
    vk_pipeline *p = calloc(1, sizeof *p);
    if (!p) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory");
    snprintf(p->name, sizeof p->name, "%s", d->shader);
    p->n_spec = d->n_spec;
    if (d->n_spec) memcpy(p->spec, d->spec, d->n_spec * sizeof(uint32_t));
    p->n_bindings = d->n_binds;
    for (uint32_t i = 0; i < d->n_binds; i++) p->dtype[i] = vk_bind_type(d, i);
    p->push_size = d->push_size;

    moevk_status s = MOEVK_OK;
    VkResult r;
    VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = blob->size, .pCode = blob->code};
    r = ctx->vkd.vkCreateShaderModule(ctx->device, &mci, NULL, &p->module);
    if (r != VK_SUCCESS) { s = vk_fail_result(r, "vkCreateShaderModule", __FILE__, __LINE__); goto fail; }

    VkDescriptorSetLayoutBinding lb[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < d->n_binds; i++)
        lb[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = p->dtype[i],
                                               .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR,
                                           .bindingCount = d->n_binds, .pBindings = lb};
    r = ctx->vkd.vkCreateDescriptorSetLayout(ctx->device, &dci, NULL, &p->set_layout);
    if (r != VK_SUCCESS) { s = vk_fail_result(r, "vkCreateDescriptorSetLayout", __FILE__, __LINE__); goto fail; }

    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = d->push_size};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                       .pSetLayouts = &p->set_layout, .pushConstantRangeCount = d->push_size ? 1 : 0,
                                       .pPushConstantRanges = &pr};
    r = ctx->vkd.vkCreatePipelineLayout(ctx->device, &plci, NULL, &p->layout);
    if (r != VK_SUCCESS) { s = vk_fail_result(r, "vkCreatePipelineLayout", __FILE__, __LINE__); goto fail; }

    VkSpecializationMapEntry me[VK_MAX_SPEC];
    for (uint32_t i = 0; i < d->n_spec; i++)
        me[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4, .size = 4};
    VkSpecializationInfo si = {.mapEntryCount = d->n_spec, .pMapEntries = me, .dataSize = d->n_spec * 4, .pData = p->spec};
    VkComputePipelineCreateInfo cci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = p->module, .pName = "main", .pSpecializationInfo = d->n_spec ? &si : NULL},
        .layout = p->layout};
    r = ctx->vkd.vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &cci, NULL, &p->pipeline);
    if (r != VK_SUCCESS) { s = vk_fail_result(r, "vkCreateComputePipelines", __FILE__, __LINE__); goto fail; }
    *out = p;
    return MOEVK_OK;
fail:
    mvk_fail_ctx(s, "creating pipeline '%s'", d->shader);
    pipeline_free(ctx, p);
    return s;
}

moevk_status vk_pipeline_get(vk_ctx *ctx, const vk_dispatch_desc *d, vk_pipeline **out) {
    pthread_mutex_lock(&ctx->lock);
    moevk_status s = MOEVK_OK;
    vk_pipeline *p = ctx->pipelines;
    while (p && !same_key(p, d)) p = p->next;
    if (!p) {
        s = pipeline_create(ctx, d, &p);
        if (s == MOEVK_OK) {
            p->next = ctx->pipelines;
            ctx->pipelines = p;
            ctx->pipeline_cache_dirty = 1;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    *out = p;
    return s;
}

void vk_pipelines_destroy(vk_ctx *ctx) {
    for (vk_pipeline *p = ctx->pipelines, *n; p; p = n) {
        n = p->next;
        pipeline_free(ctx, p);
    }
    ctx->pipelines = NULL;
}

void vk_ctx_profile_report(vk_ctx *ctx) {
    if (!ctx) return;
    pthread_mutex_lock(&ctx->lock);
    uint64_t total = 0;
    for (vk_pipeline *p = ctx->pipelines; p; p = p->next) total += p->prof_ns;
    if (total) {
        fprintf(stderr, "moevk profile (GPU time per op, device '%s'):\n", ctx->info.name);
        fprintf(stderr, "  %-28s %8s %12s %10s %6s\n", "shader", "calls", "total ms", "avg us", "%");
        for (vk_pipeline *p = ctx->pipelines; p; p = p->next) {
            if (!p->prof_calls) continue;
            fprintf(stderr, "  %-28s %8llu %12.3f %10.1f %6.1f\n", p->name, (unsigned long long)p->prof_calls,
                    p->prof_ns / 1e6, p->prof_ns / 1e3 / (double)p->prof_calls, 100.0 * (double)p->prof_ns / (double)total);
            p->prof_ns = p->prof_calls = 0;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
}
