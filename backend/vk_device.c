/* vk_device.c — instance, device discovery and selection, the context.
 *
 * Choice: MOEVK_DEVICE=<index|name substring> or vk_ctx_params.device wins;
 * otherwise the first device of the best kind: discrete > integrated >
 * virtual > cpu. Every limit the ops depend on is queried here and kept in
 * vk_device_info; nothing is hard-coded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

const char *vk_device_kind_name(vk_device_kind k) {
    switch (k) {
    case VK_KIND_DISCRETE: return "discrete";
    case VK_KIND_INTEGRATED: return "integrated";
    case VK_KIND_VIRTUAL: return "virtual";
    case VK_KIND_CPU: return "cpu";
    default: return "other";
    }
}

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL debug_cb(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                               VkDebugUtilsMessageTypeFlagsEXT type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    vk_ctx *ctx = user;
    /* Count validation and performance findings; GENERAL messages are the
     * loader's own notes (e.g. "VK_INSTANCE_LAYERS is set"), not findings. */
    int finding = (type & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT)) != 0;
    if (finding && (sev & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT))) {
        __atomic_add_fetch(&ctx->validation_count, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&ctx->lock);
        snprintf(ctx->validation_last, sizeof ctx->validation_last, "%s",
                 data && data->pMessageIdName ? data->pMessageIdName : "(no message id)");
        pthread_mutex_unlock(&ctx->lock);
        fprintf(stderr, "moevk: validation %s: %s\n",
                (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning",
                data && data->pMessage ? data->pMessage : "(no message)");
    }
    return VK_FALSE;
}

static int has_layer(const char *name) {
    uint32_t n = 0;
    if (vkl_vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vkl_vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].layerName, name);
    free(p);
    return found;
}

static int has_instance_ext(const char *layer, const char *name) {
    uint32_t n = 0;
    if (vkl_vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vkl_vkEnumerateInstanceExtensionProperties(layer, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static moevk_status create_instance(vk_ctx *ctx, int validation, int sync_validation) {
    MVK_TRY(vk_loader_init());
    uint32_t api = VK_API_VERSION_1_0;
    if (vkl_vkEnumerateInstanceVersion) vkl_vkEnumerateInstanceVersion(&api);
    if (api < VK_API_VERSION_1_2)
        return mvk_fail(MOEVK_ERR_NO_DEVICE, "the Vulkan loader supports only API %u.%u; moevk needs 1.2",
                        VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
    const char *layers[1];
    uint32_t n_layers = 0;
    const char *exts[2];
    uint32_t n_exts = 0;
    int debug_utils = 0;
    if (validation) {
        if (!has_layer(VALIDATION_LAYER))
            return mvk_fail(MOEVK_ERR_NO_VULKAN, "validation was requested but %s is not installed "
                            "(apt-get install vulkan-validationlayers)", VALIDATION_LAYER);
        layers[n_layers++] = VALIDATION_LAYER;
        if (has_instance_ext(VALIDATION_LAYER, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
            has_instance_ext(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
            exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
            debug_utils = 1;
        }
    }
    /* Synchronization validation on request (the layer also reads
     * VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT). */
    VkValidationFeatureEnableEXT sync_enable = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync_enable};
    if (validation && sync_validation) {
        if (!has_instance_ext(VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME))
            return mvk_fail(MOEVK_ERR_NO_VULKAN, "synchronization validation was requested but %s lacks %s", VALIDATION_LAYER,
                            VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
        exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "moevk",
                             .pEngineName = "moevk",
                             .apiVersion = VK_API_VERSION_1_2};
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = debug_cb,
        .pUserData = ctx};
    /* instance pNext: [validation features ->] [messenger info] (the messenger
     * info also catches create/destroy messages) */
    features.pNext = debug_utils ? &dbg : NULL;
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = validation && sync_validation ? (const void *)&features
                                        : debug_utils                ? (const void *)&dbg
                                                                     : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = n_layers,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vkl_vkCreateInstance(&ci, NULL, &ctx->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return mvk_fail(MOEVK_ERR_NO_DEVICE, "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); "
                        "install one, e.g. mesa-vulkan-drivers");
    VK_TRY(r);
    vk_instance_table_load(ctx->instance, &ctx->vki);
    if (debug_utils && ctx->vki.vkCreateDebugUtilsMessengerEXT)
        VK_TRY(ctx->vki.vkCreateDebugUtilsMessengerEXT(ctx->instance, &dbg, NULL, &ctx->messenger));
    /* $MOEVK_INJECT_VALIDATION_MESSAGE=1 (validation on): one validation error
     * through the layer's own message path, so a test can prove that a program
     * fails on a validation message (tests/app_validation_fails.sh) without a
     * real bug to provoke one */
    if (validation && ctx->messenger && ctx->vki.vkSubmitDebugUtilsMessageEXT && env_on("MOEVK_INJECT_VALIDATION_MESSAGE")) {
        VkDebugUtilsMessengerCallbackDataEXT msg = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT,
                                                    .pMessageIdName = "moevk-injected",
                                                    .pMessage = "moevk: injected validation message (MOEVK_INJECT_VALIDATION_MESSAGE)"};
        ctx->vki.vkSubmitDebugUtilsMessageEXT(ctx->instance, VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
                                              VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT, &msg);
    }
    return MOEVK_OK;
}

static int device_has_ext(vk_ctx *ctx, VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
    VkExtensionProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].extensionName, name);
    free(p);
    return found;
}

static int compute_queue_family(vk_ctx *ctx, VkPhysicalDevice pd, uint32_t *ts_bits) {
    uint32_t n = 0;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties q[32];
    if (n > 32) n = 32;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        /* prefer a dedicated compute queue (no graphics) */
        if (best < 0 || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) best = (int)i;
    }
    if (best >= 0 && ts_bits) *ts_bits = q[best].timestampValidBits;
    return best;
}

/* Drivers whose subgroup arithmetic is known wrong at some subgroup sizes
 * (docs/LAVAPIPE_QUIRKS.md). llvmpipe (Mesa 22.3.6, LLVM 15, AVX-512 host):
 * with LP_NATIVE_VECTOR_WIDTH=1024 or 2048 (subgroup 32 or 64) subgroupAdd
 * returns the sum over lanes 0..15 only, even in straight-line code with every
 * lane active; 4, 8 and 16 are right. */
static const struct { VkDriverId driver; uint32_t max_ok_size; } k_subgroup_arith_quirks[] = {
    {VK_DRIVER_ID_MESA_LLVMPIPE, 16},
};

int vk_subgroup_arith_broken(VkDriverId driver, uint32_t subgroup_size) {
    for (size_t i = 0; i < sizeof k_subgroup_arith_quirks / sizeof k_subgroup_arith_quirks[0]; i++)
        if (k_subgroup_arith_quirks[i].driver == driver && subgroup_size > k_subgroup_arith_quirks[i].max_ok_size)
            return 1;
    return 0;
}

static void fill_info(vk_ctx *ctx, VkPhysicalDevice pd, uint32_t index, vk_device_info *o) {
    memset(o, 0, sizeof *o);
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, .pNext = &sub};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &drv};
    ctx->vki.vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    const VkPhysicalDeviceLimits *l = &p->limits;
    snprintf(o->name, sizeof o->name, "%s", p->deviceName);
    snprintf(o->driver, sizeof o->driver, "%.120s %.120s", drv.driverName, drv.driverInfo);
    o->index = index;
    switch (p->deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: o->kind = VK_KIND_DISCRETE; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: o->kind = VK_KIND_INTEGRATED; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: o->kind = VK_KIND_VIRTUAL; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: o->kind = VK_KIND_CPU; break;
    default: o->kind = VK_KIND_OTHER; break;
    }
    o->api_version = p->apiVersion;
    o->vendor_id = p->vendorID;
    o->device_id = p->deviceID;
    o->subgroup_size = sub.subgroupSize;
    o->subgroup_arith = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                        (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    o->subgroup_ballot = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                         (sub.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT);
    /* Known-wrong subgroup arithmetic: no shader gets the subgroup variants there. */
    if (o->subgroup_arith && vk_subgroup_arith_broken(drv.driverID, o->subgroup_size)) o->subgroup_arith = 0;
    o->max_shared_memory = l->maxComputeSharedMemorySize;
    o->max_storage_buffer_range = l->maxStorageBufferRange;
    o->min_storage_buffer_offset_alignment = (uint32_t)l->minStorageBufferOffsetAlignment;
    o->max_texel_buffer_elements = l->maxTexelBufferElements;
    o->min_texel_buffer_offset_alignment = (uint32_t)l->minTexelBufferOffsetAlignment;
    static const VkFormat texel_formats[3] = {VK_FORMAT_R32_UINT, VK_FORMAT_R32G32_UINT, VK_FORMAT_R32G32B32A32_UINT};
    for (int i = 0; i < 3; i++) {
        VkFormatProperties fp = {0};
        ctx->vki.vkGetPhysicalDeviceFormatProperties(pd, texel_formats[i], &fp);
        o->texel_support[i] = (uint8_t)(((fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) ? VK_TEXEL_UNIFORM : 0u) |
                                        ((fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) ? VK_TEXEL_STORAGE : 0u));
    }
    for (int i = 0; i < 3; i++) {
        o->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
        o->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
    }
    o->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    o->max_push_constants_size = l->maxPushConstantsSize;
    o->timestamp_period_ns = l->timestampPeriod;

    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    ctx->vki.vkGetPhysicalDeviceProperties2(pd, &p3);
    o->max_memory_allocation_size = m3.maxMemoryAllocationSize;
    o->max_buffer_size = m3.maxMemoryAllocationSize; /* maxBufferSize needs 1.3 / maintenance4 */

    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
    if (p->apiVersion >= VK_API_VERSION_1_2) ctx->vki.vkGetPhysicalDeviceFeatures2(pd, &f2);
    o->fp16 = f12.shaderFloat16;
    o->int8 = f12.shaderInt8;
    o->storage16 = f11.storageBuffer16BitAccess;
    o->storage8 = f12.storageBuffer8BitAccess;

    uint32_t ts_bits = 0;
    compute_queue_family(ctx, pd, &ts_bits);
    o->timestamps = ts_bits > 0 && l->timestampComputeAndGraphics;

    VkPhysicalDeviceMemoryProperties mp;
    ctx->vki.vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if ((mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp.memoryHeaps[i].size > o->device_local_bytes)
            o->device_local_bytes = mp.memoryHeaps[i].size;
    int uma = 0;
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
            (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) && mp.memoryHeaps[mp.memoryTypes[i].heapIndex].size >= o->device_local_bytes)
            uma = 1;
    }
    o->uma = uma;
    o->staging_forced = uma && env_on("MOEVK_FORCE_STAGING");
    o->staging = !uma || o->staging_forced;
}

const char *vk_memory_model_name(const vk_device_info *info) {
    if (!info) return "?";
    return !info->staging ? "unified" : info->staging_forced ? "staging (forced)" : "staging";
}

static int kind_rank(vk_device_kind k) {
    switch (k) {
    case VK_KIND_DISCRETE: return 4;
    case VK_KIND_INTEGRATED: return 3;
    case VK_KIND_VIRTUAL: return 2;
    case VK_KIND_CPU: return 1;
    default: return 0;
    }
}

/* Usable = Vulkan 1.2, a compute queue, push descriptors. */
static const char *unusable_reason(vk_ctx *ctx, VkPhysicalDevice pd, const vk_device_info *info) {
    if (info->api_version < VK_API_VERSION_1_2) return "Vulkan 1.2 is required";
    if (compute_queue_family(ctx, pd, NULL) < 0) return "no compute queue";
    if (!device_has_ext(ctx, pd, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME)) return "VK_KHR_push_descriptor is required";
    return NULL;
}

static moevk_status enumerate(vk_ctx *ctx, VkPhysicalDevice **pds, uint32_t *n) {
    *n = 0;
    VK_TRY(ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, n, NULL));
    if (*n == 0) return MOEVK_OK;
    *pds = calloc(*n, sizeof **pds);
    if (!*pds) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory listing devices");
    VkResult r = ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, n, *pds);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return vk_fail_result(r, "vkEnumeratePhysicalDevices", __FILE__, __LINE__);
    return MOEVK_OK;
}

moevk_status vk_list_devices(vk_device_info *infos, uint32_t cap, uint32_t *n_out) {
    if (!n_out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_list_devices: n_out is NULL");
    *n_out = 0;
    vk_ctx tmp;
    memset(&tmp, 0, sizeof tmp);
    moevk_status s = create_instance(&tmp, 0, 0);
    if (s != MOEVK_OK) return s;
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    s = enumerate(&tmp, &pds, &n);
    if (s == MOEVK_OK) {
        for (uint32_t i = 0; i < n && i < cap; i++) fill_info(&tmp, pds[i], i, &infos[i]);
        *n_out = n;
    }
    free(pds);
    tmp.vki.vkDestroyInstance(tmp.instance, NULL);
    return s;
}

static moevk_status pick_device(vk_ctx *ctx, const char *want, VkPhysicalDevice *out) {
    VkPhysicalDevice *pds = NULL;
    uint32_t n = 0;
    moevk_status s = enumerate(ctx, &pds, &n);
    if (s != MOEVK_OK) return s;
    if (n == 0) {
        free(pds);
        return mvk_fail(MOEVK_ERR_NO_DEVICE, "no Vulkan device found (is a driver such as mesa-vulkan-drivers installed?)");
    }
    int best = -1, best_rank = -1;
    const char *why = NULL;
    for (uint32_t i = 0; i < n; i++) {
        vk_device_info info;
        fill_info(ctx, pds[i], i, &info);
        const char *bad = unusable_reason(ctx, pds[i], &info);
        if (want && want[0]) {
            char *end;
            long idx = strtol(want, &end, 10);
            int match = (*end == '\0') ? (idx == (long)i) : (strstr(info.name, want) != NULL);
            if (!match) continue;
            if (bad) {
                free(pds);
                return mvk_fail(MOEVK_ERR_NO_DEVICE, "device %u '%s' cannot be used: %s", i, info.name, bad);
            }
            best = (int)i;
            break;
        }
        if (bad) { why = bad; continue; }
        if (kind_rank(info.kind) > best_rank) { best_rank = kind_rank(info.kind); best = (int)i; }
    }
    if (best < 0) {
        free(pds);
        if (want && want[0]) return mvk_fail(MOEVK_ERR_NO_DEVICE, "no Vulkan device matches MOEVK_DEVICE='%s' (see `moevk devices`)", want);
        return mvk_fail(MOEVK_ERR_NO_DEVICE, "no usable Vulkan device: %s", why ? why : "none found");
    }
    *out = pds[best];
    fill_info(ctx, pds[best], (uint32_t)best, &ctx->info);
    free(pds);
    return MOEVK_OK;
}

static moevk_status create_device(vk_ctx *ctx) {
    int qf = compute_queue_family(ctx, ctx->phys, NULL);
    ctx->queue_family = (uint32_t)qf;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = (uint32_t)qf, .queueCount = 1, .pQueuePriorities = &prio};
    /* Enable only what the device has; shaders are chosen accordingly. */
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
    f12.shaderFloat16 = (VkBool32)ctx->info.fp16;
    f12.shaderInt8 = (VkBool32)ctx->info.int8;
    f12.storageBuffer8BitAccess = (VkBool32)ctx->info.storage8;
    f11.storageBuffer16BitAccess = (VkBool32)ctx->info.storage16;
    VkPhysicalDeviceFeatures2 have = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    ctx->vki.vkGetPhysicalDeviceFeatures2(ctx->phys, &have);
    f2.features.shaderInt64 = have.features.shaderInt64;
    const char *exts[] = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f2,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = 1,
                              .ppEnabledExtensionNames = exts};
    VK_TRY(ctx->vki.vkCreateDevice(ctx->phys, &dci, NULL, &ctx->device));
    vk_device_table_load(&ctx->vki, ctx->device, &ctx->vkd);
    ctx->vkd.vkGetDeviceQueue(ctx->device, (uint32_t)qf, 0, &ctx->queue);
    ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->phys, &ctx->mem_props);
    return MOEVK_OK;
}

moevk_status vk_ctx_create(const vk_ctx_params *p, vk_ctx **out) {
    if (!out) return mvk_fail(MOEVK_ERR_INVALID_ARG, "vk_ctx_create: out is NULL");
    *out = NULL;
    vk_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return mvk_fail(MOEVK_ERR_OUT_OF_HOST_MEMORY, "out of host memory creating the Vulkan context");
    /* recursive: the staging path creates its buffer while holding the lock */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&ctx->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    int validation = (p && p->validation) || env_on("MOEVK_VALIDATION");
    ctx->profile = (p && p->profile) || env_on("MOEVK_PROFILE");
    ctx->profile_trace = ctx->profile && env_on("MOEVK_PROFILE_TRACE");
    const char *want = (p && p->device) ? p->device : getenv("MOEVK_DEVICE");
    moevk_status s = create_instance(ctx, validation, p && p->sync_validation);
    if (s == MOEVK_OK) s = pick_device(ctx, want, &ctx->phys);
    if (s == MOEVK_OK) s = create_device(ctx);
    if (s == MOEVK_OK) vk_budget_init(ctx, p ? p->device_mem : 0);
    if (s == MOEVK_OK) s = vk_alloc_init(ctx);
    if (s == MOEVK_OK) vk_pipeline_cache_init(ctx);
    if (s != MOEVK_OK) {
        vk_ctx_destroy(ctx);
        return s;
    }
    if (ctx->profile && !ctx->info.timestamps) {
        fprintf(stderr, "moevk: MOEVK_PROFILE ignored: device '%s' has no compute timestamps\n", ctx->info.name);
        ctx->profile = 0;
    }
    *out = ctx;
    return MOEVK_OK;
}

void vk_ctx_destroy(vk_ctx *ctx) {
    if (!ctx) return;
    if (ctx->device) {
        ctx->vkd.vkDeviceWaitIdle(ctx->device);
        if (ctx->profile) vk_ctx_profile_report(ctx);
        vk_pipelines_destroy(ctx);
        vk_pipeline_cache_destroy(ctx);
        vk_alloc_destroy(ctx);
        ctx->vkd.vkDestroyDevice(ctx->device, NULL);
    }
    if (ctx->messenger) ctx->vki.vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
    if (ctx->instance) ctx->vki.vkDestroyInstance(ctx->instance, NULL);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

const vk_device_info *vk_ctx_info(const vk_ctx *ctx) { return ctx ? &ctx->info : NULL; }

uint32_t vk_ctx_validation_count(const vk_ctx *ctx) {
    return ctx ? __atomic_load_n(&ctx->validation_count, __ATOMIC_RELAXED) : 0;
}

void vk_ctx_last_validation_id(vk_ctx *ctx, char *out, size_t cap) {
    if (!out || !cap) return;
    out[0] = 0;
    if (!ctx) return;
    pthread_mutex_lock(&ctx->lock);
    snprintf(out, cap, "%s", ctx->validation_last);
    pthread_mutex_unlock(&ctx->lock);
}
