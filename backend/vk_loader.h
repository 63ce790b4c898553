/* vk_loader.h — our small Vulkan meta-loader (the volk pattern).
 *
 * libvulkan.so.1 is opened with dlopen at run time: there is no link-time
 * dependency on it. vkGetInstanceProcAddr gives the global and instance
 * functions; vkGetDeviceProcAddr fills a per-device table so calls skip the
 * loader's dispatch trampoline. Only backend/ includes this header. */
#ifndef VK_LOADER_H
#define VK_LOADER_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "moevk.h"

#define VK_GLOBAL_FUNCS(X)                  \
    X(vkCreateInstance)                     \
    X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceLayerProperties)   \
    X(vkEnumerateInstanceVersion)

#define VK_INSTANCE_FUNCS(X)                 \
    X(vkDestroyInstance)                     \
    X(vkEnumeratePhysicalDevices)            \
    X(vkGetPhysicalDeviceProperties)         \
    X(vkGetPhysicalDeviceProperties2)        \
    X(vkGetPhysicalDeviceFeatures2)          \
    X(vkGetPhysicalDeviceFormatProperties)   \
    X(vkGetPhysicalDeviceMemoryProperties)   \
    X(vkGetPhysicalDeviceMemoryProperties2)  \
    X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkEnumerateDeviceExtensionProperties)  \
    X(vkCreateDevice)                        \
    X(vkGetDeviceProcAddr)                   \
    X(vkCreateDebugUtilsMessengerEXT)        \
    X(vkDestroyDebugUtilsMessengerEXT)       \
    X(vkSubmitDebugUtilsMessageEXT)

#define VK_DEVICE_FUNCS(X)               \
    X(vkDestroyDevice)                   \
    X(vkGetDeviceQueue)                  \
    X(vkDeviceWaitIdle)                  \
    X(vkQueueSubmit)                     \
    X(vkQueueWaitIdle)                   \
    X(vkAllocateMemory)                  \
    X(vkFreeMemory)                      \
    X(vkMapMemory)                       \
    X(vkUnmapMemory)                     \
    X(vkCreateBuffer)                    \
    X(vkDestroyBuffer)                   \
    X(vkGetBufferMemoryRequirements)     \
    X(vkBindBufferMemory)                \
    X(vkCreateBufferView)                \
    X(vkDestroyBufferView)               \
    X(vkCreateShaderModule)              \
    X(vkDestroyShaderModule)             \
    X(vkCreateDescriptorSetLayout)       \
    X(vkDestroyDescriptorSetLayout)      \
    X(vkCreatePipelineLayout)            \
    X(vkDestroyPipelineLayout)           \
    X(vkCreateComputePipelines)          \
    X(vkDestroyPipeline)                 \
    X(vkCreatePipelineCache)             \
    X(vkDestroyPipelineCache)            \
    X(vkGetPipelineCacheData)            \
    X(vkMergePipelineCaches)             \
    X(vkCreateCommandPool)               \
    X(vkDestroyCommandPool)              \
    X(vkResetCommandPool)                \
    X(vkAllocateCommandBuffers)          \
    X(vkFreeCommandBuffers)              \
    X(vkBeginCommandBuffer)              \
    X(vkEndCommandBuffer)                \
    X(vkCmdBindPipeline)                 \
    X(vkCmdPushConstants)                \
    X(vkCmdDispatch)                     \
    X(vkCmdPipelineBarrier)              \
    X(vkCmdCopyBuffer)                   \
    X(vkCmdFillBuffer)                   \
    X(vkCmdWriteTimestamp)               \
    X(vkCmdResetQueryPool)               \
    X(vkCreateQueryPool)                 \
    X(vkDestroyQueryPool)                \
    X(vkGetQueryPoolResults)             \
    X(vkCreateFence)                     \
    X(vkDestroyFence)                    \
    X(vkWaitForFences)                   \
    X(vkResetFences)                     \
    X(vkGetFenceStatus)                  \
    X(vkCmdPushDescriptorSetKHR)

#define VK_DECLARE_PFN(name) PFN_##name name;

typedef struct vk_instance_table {
    VK_INSTANCE_FUNCS(VK_DECLARE_PFN)
} vk_instance_table;

typedef struct vk_device_table {
    VK_DEVICE_FUNCS(VK_DECLARE_PFN)
} vk_device_table;

/* Global entry points, valid after vk_loader_init() succeeded. */
extern PFN_vkGetInstanceProcAddr vkl_GetInstanceProcAddr;
#define VK_DECLARE_EXTERN(name) extern PFN_##name vkl_##name;
VK_GLOBAL_FUNCS(VK_DECLARE_EXTERN)

/* Opens libvulkan.so.1 (or $MOEVK_VULKAN_LIBRARY) once; thread-safe.
 * MOEVK_ERR_NO_VULKAN with a message when the loader is missing. */
moevk_status vk_loader_init(void);
void vk_instance_table_load(VkInstance inst, vk_instance_table *t);
void vk_device_table_load(const vk_instance_table *it, VkDevice dev, vk_device_table *t);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY", ... */
const char *vk_result_str(VkResult r);
/* Maps a VkResult to a status and records "what: VK_ERROR_..." as the message. */
moevk_status vk_fail_result(VkResult r, const char *what, const char *file, int line);

/* The one place that checks VkResult: logs the expression, file, line and result name. */
#define VK_TRY(expr)                                                        \
    do {                                                                    \
        VkResult vk_try_r_ = (expr);                                        \
        if (vk_try_r_ != VK_SUCCESS) return vk_fail_result(vk_try_r_, #expr, __FILE__, __LINE__); \
    } while (0)

#endif
