/* vk_loader.c — dlopen of libvulkan and function-table loading (volk pattern). */
#include "vk_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>

#include "mvk_status.h"

PFN_vkGetInstanceProcAddr vkl_GetInstanceProcAddr;
#define VK_DEFINE_GLOBAL(name) PFN_##name vkl_##name;
VK_GLOBAL_FUNCS(VK_DEFINE_GLOBAL)

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void *g_lib;
static char g_err[512];

static void loader_open(void) {
    const char *path = getenv("MOEVK_VULKAN_LIBRARY");
    const char *names[] = {path, "libvulkan.so.1", "libvulkan.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !g_lib; i++)
        if (names[i] && names[i][0]) g_lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!g_lib) {
        const char *e = dlerror();
        snprintf(g_err, sizeof g_err, "%s", e ? e : "unknown dlopen error");
        return;
    }
    /* POSIX allows converting the void* from dlsym to a function pointer. */
    *(void **)&vkl_GetInstanceProcAddr = dlsym(g_lib, "vkGetInstanceProcAddr");
    if (!vkl_GetInstanceProcAddr) {
        snprintf(g_err, sizeof g_err, "libvulkan has no vkGetInstanceProcAddr");
        return;
    }
#define VK_LOAD_GLOBAL(name) vkl_##name = (PFN_##name)vkl_GetInstanceProcAddr(NULL, #name);
    VK_GLOBAL_FUNCS(VK_LOAD_GLOBAL)
}

moevk_status vk_loader_init(void) {
    pthread_once(&g_once, loader_open);
    if (!g_lib || !vkl_GetInstanceProcAddr || !vkl_vkCreateInstance)
        return mvk_fail(MOEVK_ERR_NO_VULKAN,
                        "cannot load the Vulkan loader (libvulkan.so.1): %s. Install a Vulkan loader and driver, "
                        "e.g. `apt-get install libvulkan1 mesa-vulkan-drivers`",
                        g_err[0] ? g_err : "vkCreateInstance missing");
    return MOEVK_OK;
}

void vk_instance_table_load(VkInstance inst, vk_instance_table *t) {
#define VK_LOAD_INSTANCE(name) t->name = (PFN_##name)vkl_GetInstanceProcAddr(inst, #name);
    VK_INSTANCE_FUNCS(VK_LOAD_INSTANCE)
}

void vk_device_table_load(const vk_instance_table *it, VkDevice dev, vk_device_table *t) {
#define VK_LOAD_DEVICE(name) t->name = (PFN_##name)it->vkGetDeviceProcAddr(dev, #name);
    VK_DEVICE_FUNCS(VK_LOAD_DEVICE)
}

const char *vk_result_str(VkResult r) {
    switch (r) {
#define R(x) case x: return #x;
        R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_EVENT_SET) R(VK_EVENT_RESET) R(VK_INCOMPLETE)
        R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY) R(VK_ERROR_INITIALIZATION_FAILED)
        R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED) R(VK_ERROR_LAYER_NOT_PRESENT)
        R(VK_ERROR_EXTENSION_NOT_PRESENT) R(VK_ERROR_FEATURE_NOT_PRESENT) R(VK_ERROR_INCOMPATIBLE_DRIVER)
        R(VK_ERROR_TOO_MANY_OBJECTS) R(VK_ERROR_FORMAT_NOT_SUPPORTED) R(VK_ERROR_FRAGMENTED_POOL)
        R(VK_ERROR_UNKNOWN) R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        R(VK_ERROR_FRAGMENTATION) R(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) R(VK_PIPELINE_COMPILE_REQUIRED)
#undef R
    default: return "VK_RESULT_UNKNOWN";
    }
}

moevk_status vk_fail_result(VkResult r, const char *what, const char *file, int line) {
    moevk_status s;
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: s = MOEVK_ERR_OUT_OF_HOST_MEMORY; break;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: s = MOEVK_ERR_OUT_OF_DEVICE_MEMORY; break;
    case VK_ERROR_DEVICE_LOST: s = MOEVK_ERR_DEVICE_LOST; break;
    case VK_ERROR_INCOMPATIBLE_DRIVER: s = MOEVK_ERR_NO_DEVICE; break;
    default: s = MOEVK_ERR_VULKAN; break;
    }
    return mvk_fail(s, "%s failed: %s (%d) at %s:%d", what, vk_result_str(r), (int)r, file, line);
}
